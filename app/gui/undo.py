"""The undo stack: ``QUndoCommand``s wrapping the reversible edits of ``app.edits``."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from app.document import Document, Scope, Snapshot
from app.edits import Edit, EditError


class EditCommand(QUndoCommand):
    """One edit on the undo stack. The edit is already applied when the command is pushed."""

    def __init__(self, doc: Document, edit: Edit) -> None:
        super().__init__(edit.text)
        self.doc, self.edit = doc, edit
        self._applied = True

    def redo(self) -> None:
        if not self._applied:
            self.edit.do(self.doc)
        self._applied = True

    def undo(self) -> None:
        self.edit.undo(self.doc)
        self._applied = False


class RecordedChange(Edit):
    """A change already made outside the edit system (a re-propagation), replayed from snapshots of its scope."""

    def __init__(self, text: str, before: Snapshot, after: Snapshot) -> None:
        self._text, self._after = text, after
        self._snapshot = before

    @property
    def text(self) -> str:
        return self._text

    def scope(self, doc: Document) -> Scope:
        return self._after.scope

    def apply(self, doc: Document) -> None:
        doc.revert_to(self._after)


class ImportLabels(Edit):
    """Add the tracks, observations and events of a read label file to the document.

    The labels are copied when the edit is made, so ``source`` may be closed afterwards. Categories
    are matched by name (a new name keeps the file's id when that id is free)."""

    def __init__(self, source: Document, name: str) -> None:
        self.name = name
        self._categories = source.categories()
        self._tracks = source.tracks()
        self._rows = source.observation_arrays(masks=True)
        self._events = source.events()

    @property
    def text(self) -> str:
        return f"Import {self.name}"

    def scope(self, doc: Document) -> Scope:
        return Scope(tuple(t.id for t in self._tracks))

    def apply(self, doc: Document) -> None:
        categories = {cid: self._category(doc, cid, name) for cid, name in self._categories.items()}
        for track in self._tracks:
            doc.set_track(replace(track, category_id=categories.get(track.category_id)))
        doc.add_observation_arrays(self._rows)
        doc.add_events(self._events)

    @staticmethod
    def _category(doc: Document, category_id: int, name: str) -> int:
        existing = {n: c for c, n in doc.categories().items()}
        if name in existing:
            return existing[name]
        if category_id not in doc.categories():
            doc.add_category(name, category_id)
            return category_id
        return doc.category_id(name)


class EditStack(QUndoStack):
    """Applies edits to the open document; a refused edit is reported, not pushed. ``guard`` may veto an
    edit before it is made (e.g. one touching a locked track): ``blocked`` then says why."""

    blocked = Signal(str)

    def __init__(self, report: Callable[[EditError], None], parent=None) -> None:
        super().__init__(parent)
        self.doc: Document | None = None
        self._report = report
        self.guard: Callable[[Edit, Document], str | None] | None = None

    def set_document(self, doc: Document | None) -> None:
        self.clear()
        self.doc = doc

    def apply(self, edit: Edit) -> bool:
        """Do ``edit`` and push it; on ``EditError`` nothing changes and the error is reported."""
        if self.doc is None:
            return False
        reason = None if self.guard is None else self.guard(edit, self.doc)
        if reason is not None:
            self.blocked.emit(reason)
            return False
        try:
            edit.do(self.doc)
        except EditError as exc:
            self._report(exc)
            return False
        self.push(EditCommand(self.doc, edit))
        return True

    def record(self, change: RecordedChange) -> None:
        """Push a change that is already in the document."""
        self.push(EditCommand(self.doc, change))

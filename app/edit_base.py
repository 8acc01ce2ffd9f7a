"""The reversible edit: what every change of a document made by hand is (do / undo).

Every edit names the rows it may touch (a ``Scope``: tracks and a frame range). ``do`` snapshots
that scope, then changes it inside one transaction; ``undo`` reverts to the snapshot. Checks run
before anything is written, so a refused edit (``EditError``) changes nothing.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from app.conflicts import refresh_conflicts
from app.document import Document, DocumentError, Scope, Snapshot



class EditError(DocumentError):
    """An edit that cannot be applied as asked (nothing was changed)."""


class Edit(ABC):
    """A reversible change. Subclasses define ``text``, ``scope`` and ``apply``."""

    _snapshot: Snapshot | None = None
    changes_boxes: ClassVar[bool] = False
    """Whether the edit adds, moves or removes boxes: the conflicts of its ``conflict_scope`` are then recomputed."""

    @property
    @abstractmethod
    def text(self) -> str:
        """What the Undo menu shows."""

    @abstractmethod
    def scope(self, doc: Document) -> Scope:
        """Every track and frame this edit may change."""

    @abstractmethod
    def apply(self, doc: Document) -> None:
        """Make the change (inside a transaction). Raise ``EditError`` before writing when impossible."""

    def conflict_scope(self, scope: Scope) -> Scope:
        """Where the applied edit changed boxes (within its ``scope``)."""
        return scope

    def do(self, doc: Document) -> None:
        """Apply the edit (again, for redo) and remember what to restore."""
        with doc.transaction():
            snapshot = doc.snapshot(self.scope(doc))
            self.apply(doc)
            if self.changes_boxes:
                refresh_conflicts(doc, self.conflict_scope(snapshot.scope))
        self._snapshot = snapshot
        doc.notify(snapshot.scope)

    def undo(self, doc: Document) -> None:
        """Put the rows back as they were before the last ``do``."""
        if self._snapshot is None:
            raise EditError(f"cannot undo '{self.text}': it was not applied")
        doc.revert_to(self._snapshot)
        self._snapshot = None

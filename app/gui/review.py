"""The review queue's controller: computes the queue from the open document (on open and after each
change), drives the queue widget and the timeline's reviewed marks, and marks items reviewed through the
undo stack. The queue is computed while it is shown."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.document import Document
from app.edits import MarkReviewed
from app.gui.undo import EditStack
from app.review import ReviewItem, review_queue, reviewed_ranges
from tracker.results import EventKind
from widgets.review_queue import QueueRow, ReviewQueueWidget
from widgets.timeline import TimelineWidget


class ReviewController(QObject):
    """``goto(item)`` is emitted with the item to show (its first frame, its tracks selected)."""

    goto = Signal(object)

    def __init__(self, stack: EditStack, widget: ReviewQueueWidget, timeline: TimelineWidget,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.stack, self.widget, self.timeline = stack, widget, timeline
        self.doc: Document | None = None
        self.items: list[ReviewItem] = []
        widget.itemActivated.connect(self.activate)
        widget.reviewRequested.connect(self.mark_reviewed)

    def set_document(self, doc: Document | None) -> None:
        self.doc, self.items = doc, []
        self.widget.set_rows([], 0)
        self.refresh()

    def refresh(self) -> None:
        """Recompute the queue, keeping the selection at the same place in it, and the timeline's reviewed marks.
        The queue reads every observation, so it is recomputed only while shown (``show`` catches up)."""
        if self.doc is None:
            self.items = []
            self.widget.set_rows([], 0)
            self.timeline.set_reviewed([])
            return
        marks = self.doc.events(kind=EventKind.REVIEWED)
        self.timeline.set_reviewed(reviewed_ranges(marks))
        if not self.widget.isVisible():
            return
        current = self.widget.current()
        self.items = review_queue(self.doc)
        rows = [QueueRow(i.risk, i.reason, " & ".join(map(str, i.tracks)), i.start, i.end) for i in self.items]
        self.widget.set_rows(rows, len(marks), current)
        self.widget.mark_button.setEnabled(bool(rows) and not self.doc.read_only)

    def show(self, visible: bool) -> None:
        """The queue's dock was shown or hidden."""
        if visible:
            self.refresh()

    def activate(self, row: int) -> None:
        if 0 <= row < len(self.items):
            self.goto.emit(self.items[row])

    def step(self, direction: int) -> None:
        """Go to the next (1) or previous (-1) item."""
        self.widget.step(direction)

    def mark_reviewed(self, row: int | None = None) -> bool:
        """Mark the selected item (or ``row``) reviewed, as one undoable edit."""
        row = self.widget.current() if row is None else row
        if self.doc is None or self.doc.read_only or not self.widget.isVisible() or row is None or \
                not 0 <= row < len(self.items):
            return False
        return self.stack.apply(MarkReviewed(self.items[row]))

"""The review queue: the places most likely wrong, most risky first. J / K move to the next / previous item,
Enter goes to the selected one; the button marks it reviewed. The widget only shows rows and emits intents."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableView, QVBoxLayout, QWidget,
)

from widgets.table_model import ColumnsModel, Index, set_up_rows

COLUMNS = ("Risk", "Reason", "Tracks", "Frames")
_KEYS = {Qt.Key.Key_J: 1, Qt.Key.Key_K: -1}
_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One item as the queue shows it; frames ``[start, end)``."""

    risk: float
    reason: str
    tracks: str
    start: int
    end: int


class ReviewQueueModel(ColumnsModel):
    COLUMNS = COLUMNS

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[QueueRow] = []

    def set_rows(self, rows: Sequence[QueueRow]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def row_count(self) -> int:
        return len(self.rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = self.rows[index.row()], COLUMNS[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and column == "Risk":
            return QColor("#f85149" if row.risk >= 0.75 else "#f0883e" if row.risk >= 0.5 else "#d6b02a")
        if role == Qt.ItemDataRole.TextAlignmentRole and column in ("Risk", "Frames"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        frames = str(row.start) if row.end - row.start == 1 else f"{row.start}–{row.end - 1}"
        return {"Risk": f"{row.risk:.2f}", "Reason": row.reason, "Tracks": row.tracks, "Frames": frames}[column]


class _QueueView(QTableView):
    """The table; J / K / Enter are the queue's keys here, before any window shortcut."""

    stepped = Signal(int)
    entered = Signal()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) and \
                not event.modifiers() and (event.key() in _KEYS or event.key() in _ENTER):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not event.modifiers() and event.key() in _KEYS:
            self.stepped.emit(_KEYS[Qt.Key(event.key())])
        elif event.key() in _ENTER:
            self.entered.emit()
        else:
            super().keyPressEvent(event)


class ReviewQueueWidget(QWidget):
    """A count, the queue table and a "Mark reviewed" button. ``itemActivated(row)``: go to that item;
    ``reviewRequested(row)``: mark it reviewed."""

    itemActivated = Signal(int)
    reviewRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ReviewQueueModel(self)
        self.view = _QueueView(self)
        self.view.setModel(self.model)
        set_up_rows(self.view, QAbstractItemView.SelectionMode.SingleSelection)
        self.view.horizontalHeader().setSectionResizeMode(COLUMNS.index("Reason"), QHeaderView.ResizeMode.Stretch)
        self.view.stepped.connect(self.step)
        self.view.entered.connect(self._activate_current)
        self.view.doubleClicked.connect(lambda index: self.itemActivated.emit(index.row()))
        self.summary = QLabel("No project")
        self.mark_button = QPushButton("Mark Reviewed")
        self.mark_button.setToolTip("The selected item is checked; it leaves the queue (undoable)")
        self.mark_button.clicked.connect(self._review_current)
        top = QHBoxLayout()
        top.setContentsMargins(4, 0, 4, 0)
        top.addWidget(self.summary, 1)
        top.addWidget(self.mark_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.view)

    def set_rows(self, rows: Sequence[QueueRow], reviewed: int, current: int | None = None) -> None:
        """Show the queue (``reviewed``: how many items are done) and select row ``current`` (clamped)."""
        self.model.set_rows(rows)
        self.view.resizeColumnsToContents()
        self.summary.setText(f"{len(rows)} to review · {reviewed} reviewed")
        self.mark_button.setEnabled(bool(rows))
        if current is not None and rows:
            self.select(min(current, len(rows) - 1))

    def current(self) -> int | None:
        rows = self.view.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def select(self, row: int) -> None:
        index = self.model.index(row, 0)
        self.view.selectRow(row)
        self.view.scrollTo(index)

    def step(self, direction: int) -> None:
        """Select the next (1) or previous (-1) item and go to it."""
        count = self.model.rowCount()
        if not count:
            return
        current = self.current()
        row = (0 if direction > 0 else count - 1) if current is None else current + direction
        if 0 <= row < count:
            self.select(row)
            self.itemActivated.emit(row)

    def _activate_current(self) -> None:
        if (row := self.current()) is not None:
            self.itemActivated.emit(row)

    def _review_current(self) -> None:
        if (row := self.current()) is not None:
            self.reviewRequested.emit(row)

"""The events panel: what the engines and the annotator recorded (added, removed, key frame, conflict, linked,
prompt), one row per event and one per conflict episode (its frame range and whether it is resolved). Filters
by kind and by the selected tracks; a click goes to the row's frame and tracks; the button marks the selected
conflict episode resolved. The widget only shows rows and emits intents."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSizePolicy, QTableView,
    QVBoxLayout, QWidget,
)

from widgets.style import CONFLICT_COLOR, RESOLVED_CONFLICT_COLOR
from widgets.table_model import ColumnsModel, Index, set_up_rows

COLUMNS = ("Frames", "Kind", "Tracks", "Detail")
ALL_KINDS = "All kinds"


@dataclass(frozen=True, slots=True)
class EventRow:
    """One event at ``frame``, or a conflict episode over ``frame … last`` (``resolved`` set)."""

    frame: int
    kind: str
    tracks: tuple[int, ...]
    detail: str = ""
    last: int | None = None
    resolved: bool | None = None

    @property
    def is_episode(self) -> bool:
        return self.resolved is not None

    def frames(self) -> str:
        return str(self.frame) if self.last is None or self.last == self.frame else f"{self.frame}–{self.last}"


class EventsModel(ColumnsModel):
    """The rows that pass the filters (``shown``: their indices in ``rows``)."""

    COLUMNS = COLUMNS

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[EventRow] = []
        self.shown: list[int] = []

    def set_rows(self, rows: Sequence[EventRow], shown: Sequence[int]) -> None:
        self.beginResetModel()
        self.rows, self.shown = list(rows), list(shown)
        self.endResetModel()

    def row_count(self) -> int:
        return len(self.shown)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = self.rows[self.shown[index.row()]], COLUMNS[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and row.is_episode:
            return QColor(RESOLVED_CONFLICT_COLOR if row.resolved else CONFLICT_COLOR)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == "Frames":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return {"Frames": row.frames(), "Kind": row.kind, "Tracks": " & ".join(map(str, row.tracks)),
                "Detail": row.detail}[column]


class EventsPanel(QWidget):
    """Filters, the events table and a "Mark Resolved" button. ``activated(frame, tracks)``: go there;
    ``resolveRequested(index)``: resolve the conflict episode at that index of the rows given."""

    activated = Signal(int, list)
    resolveRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._selection: set[int] = set()
        self.editable = True
        """Whether the project can be changed (the button is offered)."""
        self.model = EventsModel(self)
        self.view = QTableView(self)
        self.view.setModel(self.model)
        set_up_rows(self.view, QAbstractItemView.SelectionMode.SingleSelection)
        self.view.horizontalHeader().setSectionResizeMode(COLUMNS.index("Detail"), QHeaderView.ResizeMode.Stretch)
        self.view.clicked.connect(lambda index: self._activate(index.row()))
        self.view.activated.connect(lambda index: self._activate(index.row()))
        self.kind_filter = QComboBox()
        self.kind_filter.addItem(ALL_KINDS)
        self.kind_filter.currentIndexChanged.connect(self._filter)
        self.selected_only = QCheckBox("Selected tracks")
        self.selected_only.setToolTip("Only the events of the selected tracks")
        self.selected_only.toggled.connect(self._filter)
        self.summary = QLabel("No project")
        self.resolve_button = QPushButton("Mark Resolved")
        self.resolve_button.setToolTip("The selected conflict episode is checked: the conflict navigator skips it"
                                       " (undoable)")
        self.resolve_button.clicked.connect(self._resolve_current)
        self.view.selectionModel().selectionChanged.connect(self._update_button)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens the dock
        filters, actions = QHBoxLayout(), QHBoxLayout()
        filters.setContentsMargins(4, 0, 4, 0)
        filters.addWidget(self.kind_filter)
        filters.addWidget(self.selected_only)
        filters.addStretch(1)
        actions.setContentsMargins(4, 0, 4, 0)
        actions.addWidget(self.summary, 1)
        actions.addWidget(self.resolve_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(filters)
        layout.addLayout(actions)
        layout.addWidget(self.view)
        self._update_button()

    def set_rows(self, rows: Sequence[EventRow], kinds: Sequence[str]) -> None:
        """Show ``rows`` (by frame); ``kinds``: the kinds the filter offers. The selected row is kept when it is
        still there."""
        current = self.current()
        kind = self.kind_filter.currentText()
        self.kind_filter.blockSignals(True)
        self.kind_filter.clear()
        self.kind_filter.addItems([ALL_KINDS, *kinds])
        self.kind_filter.setCurrentIndex(max(self.kind_filter.findText(kind), 0))
        self.kind_filter.blockSignals(False)
        self.model.rows = list(rows)
        self._filter(keep=None if current is None else self.model.rows.index(current)
                     if current in self.model.rows else None)

    def set_selection(self, track_ids: Iterable[int]) -> None:
        self._selection = set(track_ids)
        if self.selected_only.isChecked():
            self._filter()

    def current(self) -> EventRow | None:
        """The selected row."""
        selected = self.view.selectionModel().selectedRows()
        return self.model.rows[self.model.shown[selected[0].row()]] if selected else None

    def _filter(self, *_: object, keep: int | None = None) -> None:
        kind = self.kind_filter.currentText()
        shown = [i for i, row in enumerate(self.model.rows)
                 if (kind == ALL_KINDS or row.kind == kind)
                 and (not self.selected_only.isChecked() or self._selection.intersection(row.tracks))]
        self.model.set_rows(self.model.rows, shown)
        self.view.resizeColumnToContents(COLUMNS.index("Frames"))
        episodes = [self.model.rows[i] for i in shown if self.model.rows[i].is_episode]
        resolved = sum(bool(row.resolved) for row in episodes)
        self.summary.setText(f"{len(shown)} of {len(self.model.rows)} · "
                             f"{len(episodes) - resolved} open conflicts, {resolved} resolved")
        if keep is not None and keep in shown:
            self.view.selectRow(shown.index(keep))
        self._update_button()

    def _activate(self, row: int) -> None:
        event = self.model.rows[self.model.shown[row]]
        self.activated.emit(event.frame, list(event.tracks))

    def _update_button(self) -> None:
        current = self.current()
        self.resolve_button.setEnabled(self.editable and current is not None and current.resolved is False)

    def _resolve_current(self) -> None:
        current = self.current()
        if current is not None and current.resolved is False:
            self.resolveRequested.emit(self.model.rows.index(current))

"""The track table: one row per track (id, category, frame span, conflicts, state at the current frame);
hidden tracks are greyed, hidden and locked ones marked by an icon in the State column."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import (
    QItemSelection, QItemSelectionModel, QModelIndex,
    QSortFilterProxyModel, Qt, Signal,
)
import qtawesome as qta
from PySide6.QtGui import QAction, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLineEdit, QTableView, QVBoxLayout, QWidget

from app.model import TrackSummary
from tracker.results import ObjectState
from widgets.style import STATE_COLORS
from widgets.table_model import ColumnsModel, Index, set_up_rows

COLUMNS = ("ID", "Category", "Span", "Frames", "Conflicts", "State")
"""``Span``: first–last frame (sorts by the first frame); ``Frames``: how many frames have a box."""
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
"""Raw values (numbers sort as numbers)."""
TRACK_ID_ROLE = Qt.ItemDataRole.UserRole + 2
FILTER_ROLE = Qt.ItemDataRole.UserRole + 3
"""What the filter box matches: the shown text, and in the State column every state the track has
(and "hidden", "locked")."""
HIDDEN_TEXT = "#6e7681"



class TrackTableModel(ColumnsModel):
    """Track summaries, plus each track's state at the current frame."""

    COLUMNS = COLUMNS

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tracks: list[TrackSummary] = []
        self._categories: dict[int, str] = {}
        self._states: dict[int, ObjectState] = {}
        self._rows: dict[int, int] = {}
        self._hidden: frozenset[int] = frozenset()
        self._locked: frozenset[int] = frozenset()
        self._icons = {"hidden": qta.icon("mdi6.eye-off-outline", color=HIDDEN_TEXT),
                       "locked": qta.icon("mdi6.lock-outline", color="#c9d1d9")}

    def set_tracks(self, tracks: Sequence[TrackSummary], categories: Mapping[int, str]) -> None:
        self.beginResetModel()
        self._tracks = list(tracks)
        self._categories = dict(categories)
        self._rows = {t.id: row for row, t in enumerate(self._tracks)}
        self.endResetModel()

    def set_states(self, states: Mapping[int, ObjectState]) -> None:
        """Each track's state at the current frame (tracks absent from ``states`` are not in the frame)."""
        states = dict(states)
        changed = [row for track_id, row in self._rows.items() if states.get(track_id) != self._states.get(track_id)]
        self._states = states
        column = COLUMNS.index("State")
        for row in changed:  # row by row: the proxy re-filters and re-sorts only what changed
            index = self.index(row, column)
            self.dataChanged.emit(index, index)

    def set_view_state(self, hidden: frozenset[int], locked: frozenset[int]) -> None:
        """Tracks hidden on the canvas (greyed) and locked against edits (a lock)."""
        changed = (hidden ^ self._hidden) | (locked ^ self._locked)
        self._hidden, self._locked = hidden, locked
        for track_id in changed:
            row = self._rows.get(track_id)
            if row is not None:
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def _marks(self, track_id: int) -> list[str]:
        return [mark for mark, ids in (("hidden", self._hidden), ("locked", self._locked)) if track_id in ids]

    def track_id(self, row: int) -> int:
        return self._tracks[row].id

    def row_of(self, track_id: int) -> int | None:
        return self._rows.get(track_id)

    def row_count(self) -> int:
        return len(self._tracks)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        track = self._tracks[index.row()]
        column = COLUMNS[index.column()]
        if role == TRACK_ID_ROLE:
            return track.id
        if role == Qt.ItemDataRole.DecorationRole and column == "ID":
            return QColor(track.color)
        state = self._states.get(track.id)
        marks = self._marks(track.id)
        if role == Qt.ItemDataRole.DecorationRole and column == "State" and marks:
            return self._icons[marks[-1]]
        if role == Qt.ItemDataRole.ToolTipRole and marks:
            return f"Track {track.id}: {' and '.join(marks)}"
        if role == Qt.ItemDataRole.FontRole and "hidden" in marks:
            font = QFont()
            font.setItalic(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and "hidden" in marks:
            return QColor(HIDDEN_TEXT)
        if role == Qt.ItemDataRole.ForegroundRole and column == "State" and state is not None:
            return QColor(STATE_COLORS[state])
        if role == Qt.ItemDataRole.ForegroundRole and column == "Conflicts" and track.conflict_count:
            return QColor("#ff5cd6")
        if role == Qt.ItemDataRole.TextAlignmentRole and column not in ("Category", "State"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == FILTER_ROLE:
            shown = self.data(index, Qt.ItemDataRole.DisplayRole)
            if column == "State":
                return " ".join([shown, *sorted(s.name.lower() for s in track.states), *marks])
            return shown
        if role not in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            return None
        category = self._categories.get(track.category_id, "") if track.category_id is not None else ""
        if column == "Span":
            if role == SORT_ROLE:
                return -1 if track.first_frame is None else track.first_frame
            return "" if track.first_frame is None else f"{track.first_frame}–{track.last_frame}"
        value = {
            "ID": track.id,
            "Category": category,
            "Frames": track.frame_count,
            "Conflicts": track.conflict_count,
            "State": "" if state is None else state.name.lower(),
        }[column]
        return value if role == SORT_ROLE else str(value)


class TrackTable(QWidget):
    """A filter box over a sortable table of tracks; emits the selected track ids."""

    tracksSelected = Signal(list)
    frameRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = TrackTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterRole(FILTER_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter tracks: id, category, state (now or at any frame)…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.view = QTableView(self)
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        set_up_rows(self.view, QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        # Sized to the contents on each reload, not live: live sizing re-reads every row on every change.
        # Category is as wide as its longest name; the last column takes the remaining width.
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.selectionModel().selectionChanged.connect(self._on_selection)
        self.view.doubleClicked.connect(self._on_double_click)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.filter)
        layout.addWidget(self.view)
        self._syncing = False

    def set_tracks(self, tracks: Sequence[TrackSummary], categories: Mapping[int, str]) -> None:
        selection = self.selected_ids()
        self.model.set_tracks(tracks, categories)
        self.view.resizeColumnsToContents()
        self.set_selection(selection)

    def set_states(self, states: Mapping[int, ObjectState]) -> None:
        self.model.set_states(states)

    def set_view_state(self, hidden: frozenset[int], locked: frozenset[int]) -> None:
        self.model.set_view_state(hidden, locked)

    def set_context_actions(self, actions: Iterable[QAction]) -> None:
        """The actions of the right-click menu (ID fixes, owned by the window)."""
        for action in self.view.actions():
            self.view.removeAction(action)
        self.view.addActions(list(actions))

    def selected_ids(self) -> list[int]:
        rows = self.view.selectionModel().selectedRows()
        return sorted(self.proxy.mapToSource(index).data(TRACK_ID_ROLE) for index in rows)

    def set_selection(self, track_ids: Iterable[int]) -> None:
        """Select the rows of these tracks (without emitting ``tracksSelected``) and show the first."""
        selection = QItemSelection()
        for track_id in track_ids:
            row = self.model.row_of(track_id)
            if row is not None:
                index = self.proxy.mapFromSource(self.model.index(row, 0))
                if index.isValid():
                    selection.select(index, index)
        self._syncing = True
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.view.selectionModel().select(selection, flags)
        self._syncing = False
        if not selection.isEmpty():
            self.view.scrollTo(selection.indexes()[0])

    def _on_selection(self) -> None:
        if not self._syncing:
            self.tracksSelected.emit(self.selected_ids())

    def _on_double_click(self, index: QModelIndex) -> None:
        first = self.proxy.mapToSource(index.siblingAtColumn(COLUMNS.index("Span"))).data(SORT_ROLE)
        if first is not None and first >= 0:
            self.frameRequested.emit(int(first))

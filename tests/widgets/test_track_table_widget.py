"""The track table widget: rows from the document, numeric sorting, filtering, selection, states."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from app.document import Document, Observation
from tracker.results import Event, EventKind, ObjectState
from widgets.track_table import COLUMNS, TrackTable


@pytest.fixture
def table(qtbot) -> TrackTable:
    doc = Document.in_memory()
    person, car = doc.category_id("person"), doc.category_id("car")
    doc.add_track(2, person)
    doc.add_track(10, car)
    doc.add_track(3, person)
    doc.add_observations([Observation(frame=f, track_id=2, box=(0, 0, 4, 4)) for f in range(5, 9)]
                         + [Observation(frame=f, track_id=10, box=(0, 0, 4, 4)) for f in range(0, 20)]
                         + [Observation(frame=1, track_id=3, box=(0, 0, 4, 4))])
    doc.add_events([Event(6, EventKind.CONFLICT, 2, other_id=10, loser_id=2)])
    widget = TrackTable()
    qtbot.addWidget(widget)
    widget.set_tracks(doc.track_summaries(), doc.categories())
    widget.show()
    return widget


def _column(table: TrackTable, name: str) -> list[str]:
    proxy, column = table.proxy, COLUMNS.index(name)
    return [proxy.index(row, column).data() for row in range(proxy.rowCount())]


def test_rows_show_span_frames_and_conflicts(table: TrackTable) -> None:
    assert _column(table, "ID") == ["2", "3", "10"]  # numeric order, not "10" < "2"
    assert _column(table, "Category") == ["person", "person", "car"]
    assert _column(table, "Span") == ["5–8", "1–1", "0–19"]
    assert _column(table, "Frames") == ["4", "1", "20"]
    assert _column(table, "Conflicts") == ["1", "0", "1"]


def test_sorting_by_a_numeric_column_sorts_numbers(table: TrackTable) -> None:
    table.view.sortByColumn(COLUMNS.index("Frames"), Qt.SortOrder.DescendingOrder)
    assert _column(table, "ID") == ["10", "2", "3"]
    table.view.sortByColumn(COLUMNS.index("Span"), Qt.SortOrder.AscendingOrder)
    assert _column(table, "ID") == ["10", "3", "2"]  # by first frame


def test_filter_matches_any_column(table: TrackTable) -> None:
    table.filter.setText("car")
    assert _column(table, "ID") == ["10"]
    table.filter.setText("")
    assert len(_column(table, "ID")) == 3


def test_state_filter_finds_tracks_with_that_state_at_any_frame(qtbot) -> None:
    doc = Document.in_memory()
    doc.add_observations([Observation(frame=0, track_id=1, box=(0, 0, 4, 4), state=ObjectState.PENDING),
                          Observation(frame=1, track_id=1, box=(0, 0, 4, 4), state=ObjectState.RELIABLE),
                          Observation(frame=0, track_id=2, box=(0, 0, 4, 4), state=ObjectState.RELIABLE)])
    table = TrackTable()
    qtbot.addWidget(table)
    table.set_tracks(doc.track_summaries(), doc.categories())
    table.set_states({1: ObjectState.RELIABLE, 2: ObjectState.RELIABLE})  # the current frame: both reliable
    table.filter.setText("pending")
    assert _column(table, "ID") == ["1"]
    table.filter.setText("reliable")
    assert _column(table, "ID") == ["1", "2"]


def test_category_column_shows_whole_names(qtbot) -> None:
    doc = Document.in_memory()
    doc.add_track(1, doc.category_id("articulated heavy goods vehicle"))
    table = TrackTable()
    qtbot.addWidget(table)
    table.resize(300, 200)
    table.show()
    table.set_tracks(doc.track_summaries(), doc.categories())
    column = COLUMNS.index("Category")
    needed = table.view.fontMetrics().horizontalAdvance("articulated heavy goods vehicle")
    assert table.view.columnWidth(column) >= needed


def test_selection_is_emitted_and_can_be_set_without_echo(table: TrackTable) -> None:
    emitted = []
    table.tracksSelected.connect(emitted.append)
    table.set_selection([10, 3])
    assert table.selected_ids() == [3, 10] and emitted == []
    table.view.selectRow(0)
    assert emitted[-1] == [2]


def test_states_at_the_current_frame(table: TrackTable) -> None:
    table.set_states({10: ObjectState.LOST, 2: ObjectState.PENDING})
    assert _column(table, "State") == ["pending", "", "lost"]
    table.filter.setText("lost")
    assert _column(table, "ID") == ["10"]


def test_context_menu_holds_the_given_actions(table: TrackTable) -> None:
    actions = [QAction("Swap"), QAction("Merge")]
    table.set_context_actions(actions)
    table.set_context_actions(actions[1:])
    assert [a.text() for a in table.view.actions()] == ["Merge"]
    assert table.view.contextMenuPolicy() == Qt.ContextMenuPolicy.ActionsContextMenu


def test_double_click_asks_for_the_first_frame(qtbot, table: TrackTable) -> None:
    frames = []
    table.frameRequested.connect(frames.append)
    index = table.proxy.index(2, 0)
    table.view.doubleClicked.emit(index)
    assert frames == [0]


def test_hidden_tracks_are_greyed_and_hidden_or_locked_ones_marked_and_filterable(table: TrackTable) -> None:
    def cell(track_id: int, column: str, role: Qt.ItemDataRole):
        return table.model.index(table.model.row_of(track_id), COLUMNS.index(column)).data(role)

    table.set_view_state(frozenset({3}), frozenset({10}))
    assert cell(3, "ID", Qt.ItemDataRole.ForegroundRole) is not None
    assert cell(3, "ID", Qt.ItemDataRole.FontRole).italic()
    assert cell(2, "ID", Qt.ItemDataRole.ForegroundRole) is None
    assert cell(10, "State", Qt.ItemDataRole.DecorationRole) is not None
    assert cell(2, "State", Qt.ItemDataRole.DecorationRole) is None
    assert cell(10, "Span", Qt.ItemDataRole.ToolTipRole) == "Track 10: locked"
    table.filter.setText("locked")
    assert _column(table, "ID") == ["10"]
    table.filter.setText("hidden")
    assert _column(table, "ID") == ["3"]
    table.set_view_state(frozenset(), frozenset())
    assert _column(table, "ID") == []

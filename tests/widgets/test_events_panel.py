"""The events panel: rows of events and conflict episodes, filters by kind and selected tracks, clicks, and the
Mark Resolved button."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from widgets.events_panel import ALL_KINDS, EventRow, EventsPanel

ROWS = [
    EventRow(0, "added", (1,), "confidence 0.91"),
    EventRow(4, "conflict", (1, 2), "open · 6 frames in conflict", last=12, resolved=False),
    EventRow(5, "added", (2,), "confidence 0.80"),
    EventRow(20, "conflict", (2, 3), "resolved · 2 frames in conflict", last=21, resolved=True),
    EventRow(30, "removed", (3,), "lost for 26 frames"),
]


@pytest.fixture
def panel(qtbot) -> EventsPanel:
    widget = EventsPanel()
    qtbot.addWidget(widget)
    widget.set_rows(ROWS, ["added", "removed", "conflict"])
    widget.show()
    return widget


def _shown(panel: EventsPanel) -> list[tuple[str, str, str]]:
    model = panel.model
    return [tuple(model.data(model.index(r, c)) for c in range(3)) for r in range(model.rowCount())]


def test_rows_show_frames_kinds_and_tracks(panel: EventsPanel) -> None:
    assert _shown(panel) == [("0", "added", "1"), ("4–12", "conflict", "1 & 2"), ("5", "added", "2"),
                             ("20–21", "conflict", "2 & 3"), ("30", "removed", "3")]
    assert panel.summary.text() == "5 of 5 · 1 open conflicts, 1 resolved"


def test_filters_by_kind_and_by_selected_tracks(panel: EventsPanel) -> None:
    panel.kind_filter.setCurrentText("conflict")
    assert [row[0] for row in _shown(panel)] == ["4–12", "20–21"]
    panel.kind_filter.setCurrentText(ALL_KINDS)
    panel.set_selection([3])
    assert len(_shown(panel)) == 5  # the track filter is off
    panel.selected_only.setChecked(True)
    assert [row[0] for row in _shown(panel)] == ["20–21", "30"]
    panel.set_selection([1])
    assert [row[0] for row in _shown(panel)] == ["0", "4–12"]
    panel.set_rows(ROWS[:2], ["added"])  # new rows keep the filters
    assert panel.selected_only.isChecked() and [row[0] for row in _shown(panel)] == ["0", "4–12"]


def test_a_click_goes_to_the_row_and_the_button_resolves_open_episodes_only(qtbot, panel: EventsPanel) -> None:
    view = panel.view
    with qtbot.waitSignal(panel.activated) as went:
        center = view.visualRect(panel.model.index(1, 1)).center()
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=center)
    assert went.args == [4, [1, 2]]
    assert panel.resolve_button.isEnabled()
    with qtbot.waitSignal(panel.resolveRequested) as asked:
        qtbot.mouseClick(panel.resolve_button, Qt.MouseButton.LeftButton)
    assert asked.args == [1]
    view.selectRow(3)  # resolved already
    assert not panel.resolve_button.isEnabled()
    view.selectRow(0)  # not a conflict
    assert not panel.resolve_button.isEnabled()
    panel.editable = False
    view.selectRow(1)
    assert not panel.resolve_button.isEnabled()

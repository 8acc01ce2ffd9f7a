"""The events dock in the main window: the recorded events and conflict episodes of the project, a click goes
there, Mark Resolved with undo, and the rows follow edits."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402

from app.document import Observation  # noqa: E402
from app.edits import DeleteObservation  # noqa: E402
from app.gui.main_window import MainWindow  # noqa: E402
from tests.app.test_gui_window import SEQUENCE, make_window  # noqa: E402
from tracker.results import Event, EventKind  # noqa: E402
from widgets.track_table import COLUMNS  # noqa: E402

BOX = (900.0, 500.0, 80.0, 200.0)


@pytest.fixture
def window(qtbot, tmp_path: Path, shared_data: Path) -> MainWindow:
    """MOT17-09 (4 frames) with tracks 901 (frames 0–3) and 902 (1–3) on one box: added, a key frame, and a
    conflict at frames 1–3; the events dock shown."""
    window = make_window(qtbot, tmp_path)
    assert window.sessions.open_path(shared_data / SEQUENCE)
    doc = window.session.doc
    doc.add_observations(Observation(f, 901, BOX) for f in range(4))
    doc.add_observations(Observation(f, 902, BOX) for f in range(1, 4))
    doc.add_events([Event(0, EventKind.ADDED, 901, detail="confidence 0.90"),
                    Event(1, EventKind.ADDED, 902, detail="confidence 0.70"),
                    Event(2, EventKind.KEYFRAME, 901, detail="refreshed")]
                   + [Event(f, EventKind.CONFLICT, 902, other_id=901, loser_id=902) for f in (1, 2, 3)])
    doc.notify()
    window.events_dock.show()
    window.events_dock.raise_()
    qtbot.waitUntil(lambda: len(_rows(window)) == 4)
    return window


def _rows(window: MainWindow) -> list[tuple[str, str, str, str]]:
    model = window.events_panel.model
    return [tuple(model.data(model.index(r, c)) for c in range(4)) for r in range(model.rowCount())]


def test_the_dock_lists_events_with_one_row_per_conflict_episode(window: MainWindow) -> None:
    assert _rows(window) == [("0", "added", "901", "confidence 0.90"),
                             ("1–3", "conflict", "901 & 902", "open · 3 frames in conflict"),
                             ("1", "added", "902", "confidence 0.70"), ("2", "keyframe", "901", "refreshed")]
    model, column = window.table.model, COLUMNS.index("Conflicts")
    assert [model.data(model.index(model.row_of(t), column)) for t in (901, 902)] == ["1", "1"]  # episodes, not frames
    panels = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    toggles = [a for m in panels.actions() if m.menu() for a in m.menu().actions()]
    assert window.events_dock.toggleViewAction() in toggles


def test_a_click_goes_to_the_frame_and_selects_the_tracks(qtbot, window: MainWindow) -> None:
    view = window.events_panel.view
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.visualRect(window.events_panel.model.index(1, 0)).center())
    assert (window.frame, window.selection) == (1, [901, 902])
    window.events_panel.selected_only.setChecked(True)
    window.set_selection([902])
    assert [row[1] for row in _rows(window)] == ["conflict", "added"]


def test_resolving_from_the_dock_is_undoable_and_the_rows_follow_edits(qtbot, window: MainWindow) -> None:
    window.events_panel.view.selectRow(1)
    qtbot.mouseClick(window.events_panel.resolve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _conflict(window) == ("1–3", "resolved · 3 frames in conflict"))
    assert window.stack.undoText().startswith("Mark reviewed: conflict")
    assert window.events.episodes[0].resolved
    window.stack.undo()
    qtbot.waitUntil(lambda: _conflict(window) == ("1–3", "open · 3 frames in conflict"))
    window.stack.apply(DeleteObservation(902, 1))  # track 902 has no box at frame 1 any more
    qtbot.waitUntil(lambda: _conflict(window) == ("2–3", "open · 2 frames in conflict"))
    window.stack.undo()
    qtbot.waitUntil(lambda: _conflict(window) == ("1–3", "open · 3 frames in conflict"))


def _conflict(window: MainWindow) -> tuple[str, str]:
    [(frames, _, _, detail)] = [row for row in _rows(window) if row[1] == "conflict"]
    return frames, detail

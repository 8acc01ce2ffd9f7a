"""The review dock in the main window: items in risk order, J / K / Enter, mark reviewed with undo and redo,
reviewed frames on the timeline, the queue after edits, and the next flagged frame of a track."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QColor  # noqa: E402

from app.document import Observation  # noqa: E402
from app.edits import DeleteTrack  # noqa: E402
from app.gui.main_window import MainWindow  # noqa: E402
from tests.app.test_gui_window import SEQUENCE, make_window  # noqa: E402
from tracker.results import Event, EventKind, ObjectState  # noqa: E402
from widgets.style import REVIEWED_COLOR  # noqa: E402


@pytest.fixture
def window(qtbot, tmp_path: Path, shared_data: Path) -> MainWindow:
    """MOT17-09 (4 frames): track 1 lost at frame 2, track 2 at the border, a conflict at frame 1; both tracks are
    short (under 10 frames)."""
    window = make_window(qtbot, tmp_path)
    assert window.sessions.open_path(shared_data / SEQUENCE)
    doc = window.session.doc
    doc.add_observations(Observation(f, 1, (900.0, 500.0, 80.0, 200.0),
                                     state=ObjectState.LOST if f == 2 else ObjectState.RELIABLE) for f in range(4))
    doc.add_observations(Observation(f, 2, (0.0, 500.0, 80.0, 200.0)) for f in (1, 2))
    doc.add_events([Event(1, EventKind.CONFLICT, 1, 2, 2, "overlap")])
    doc.notify()
    qtbot.waitUntil(lambda: window.review_queue.model.rowCount() == 4)
    return window


def _reasons(window: MainWindow) -> list[str]:
    return [row.reason for row in window.review_queue.model.rows]


def _has_color(window: MainWindow, color: str) -> bool:
    image = window.timeline.viewport().grab().toImage()
    wanted = QColor(color).rgb()
    return any(image.pixel(x, y) == wanted for x in range(0, image.width(), 2) for y in range(image.height()))


def test_the_dock_lists_items_in_risk_order_and_navigates_with_j_k_enter(qtbot, window: MainWindow) -> None:
    assert _reasons(window) == ["conflict", "lost", "short", "short"]
    assert [row.tracks for row in window.review_queue.model.rows] == ["1 & 2", "1", "2", "1"]
    assert window.review_queue.summary.text() == "4 to review · 0 reviewed"
    view = window.review_queue.view
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_J)
    assert (window.frame, window.selection) == (1, [1, 2])
    qtbot.keyClick(view, Qt.Key.Key_J)
    assert (window.frame, window.selection) == (2, [1])
    qtbot.keyClick(view, Qt.Key.Key_K)  # in the queue K goes back; elsewhere it splits a track
    assert (window.frame, window.selection) == (1, [1, 2])
    assert len(window.session.doc.tracks()) == 2  # not split
    window.playback.seek(3)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert window.frame == 1
    qtbot.keyClick(window, Qt.Key.Key_J)  # the window's J, with the focus anywhere
    assert window.review_queue.current() == 1 and window.frame == 2


def test_marking_reviewed_is_undoable_and_shows_on_the_timeline(qtbot, window: MainWindow) -> None:
    window.review_queue.select(0)
    assert not _has_color(window, REVIEWED_COLOR)
    qtbot.mouseClick(window.review_queue.mark_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _reasons(window) == ["lost", "short", "short"])
    assert window.review_queue.summary.text() == "3 to review · 1 reviewed"
    assert window.review_queue.current() == 0  # the next item is selected
    assert set(window.timeline.data.reviewed) == {1, 2}
    assert _has_color(window, REVIEWED_COLOR)
    window.stack.undo()
    qtbot.waitUntil(lambda: _reasons(window) == ["conflict", "lost", "short", "short"])
    assert window.timeline.data.reviewed == {}
    window.stack.redo()
    qtbot.waitUntil(lambda: _reasons(window) == ["lost", "short", "short"])
    qtbot.keyClick(window, Qt.Key.Key_V)  # marks the selected item, the lost run
    qtbot.waitUntil(lambda: _reasons(window) == ["short", "short"])
    assert window.stack.undoText().startswith("Mark reviewed: lost")


def test_the_queue_follows_edits_while_shown(qtbot, window: MainWindow) -> None:
    window.stack.apply(DeleteTrack(2))
    qtbot.waitUntil(lambda: _reasons(window) == ["lost", "short"])  # track 2 and its conflict are gone
    window.review_dock.hide()
    window.stack.undo()
    qtbot.wait(50)
    assert _reasons(window) == ["lost", "short"]  # hidden: not recomputed
    qtbot.keyClick(window, Qt.Key.Key_J)  # shows the queue, up to date, and goes to its first item
    assert window.review_dock.isVisible() and _reasons(window) == ["conflict", "lost", "short", "short"]
    assert window.frame == 1


def test_next_flagged_frame_of_the_selected_track(window: MainWindow) -> None:
    window.set_selection([1])
    window.playback.seek(0)
    window.act_next_flagged.trigger()
    assert window.frame == 2
    window.act_next_flagged.trigger()
    assert window.frame == 2 and "no more" in window.statusBar().currentMessage()
    window.playback.seek(3)
    window.act_prev_flagged.trigger()
    assert window.frame == 2

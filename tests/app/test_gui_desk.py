"""The annotator's desk in the window: hide/solo/lock through the actions, the legend, the labels toggle
kept in the settings, playback speed, and a project reopening at the frame it was closed at."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402

from app.document import Document  # noqa: E402
from app.gui.desk import LAST_FRAME_KEY  # noqa: E402
from app.gui.main_window import MainWindow  # noqa: E402
from exporters import mot  # noqa: E402
from tests.app.test_gui_window import SEQUENCE, make_window  # noqa: E402
from widgets.track_table import COLUMNS  # noqa: E402


@pytest.fixture
def window(qtbot, tmp_path: Path, shared_data: Path) -> MainWindow:
    window = make_window(qtbot, tmp_path)
    sequence = shared_data / SEQUENCE
    assert window.sessions.open_path(sequence)
    assert window.transfer.import_document(mot.read(sequence, Document.in_memory(window.session.doc.video)), "gt.txt")
    qtbot.waitUntil(lambda: window.table.model.rowCount() > 0)
    return window


def _drawn(window: MainWindow) -> set[int]:
    return {o.track_id for o in window.canvas.observations()}


def _row_text_colour(window: MainWindow, track_id: int):
    model = window.table.model
    return model.data(model.index(model.row_of(track_id), COLUMNS.index("ID")), Qt.ItemDataRole.ForegroundRole)


def test_hide_solo_and_show_all_through_the_actions(window: MainWindow) -> None:
    every = _drawn(window)
    a, b = sorted(every)[:2]
    window.set_selection([a])
    window.desk.act_hide.trigger()
    assert _drawn(window) == every - {a}
    assert window.timeline._hidden == {a} and _row_text_colour(window, a) is not None
    assert _row_text_colour(window, b) is None
    window.set_selection([b])
    window.desk.act_solo.trigger()
    assert _drawn(window) == {b} and window.timeline._hidden == set(every) - {b}
    window.desk.act_show_all.trigger()
    assert _drawn(window) == every and window.timeline._hidden == set()
    assert window.desk.act_hide in window.table.view.actions()  # in the table's right-click menu


def test_a_locked_track_refuses_edits_with_a_status_message(window: MainWindow) -> None:
    track = sorted(_drawn(window))[0]
    window.set_selection([track])
    window.desk.act_lock.trigger()
    count = window.stack.count()
    window.act_delete_track.trigger()
    assert window.session.doc.track(track) is not None and window.stack.count() == count
    assert window.statusBar().currentMessage() == f"Track {track} is locked: unlock it to edit (Ctrl+K)"
    window.desk.act_unlock_all.trigger()
    window.act_delete_track.trigger()
    assert window.session.doc.track(track) is None


def test_the_legend_shows_states_key_frames_and_interpolated_frames(window: MainWindow) -> None:
    legend = window.desk.legend
    assert legend.isVisible()
    assert window.timeline_dock.widget().isAncestorOf(legend)
    assert legend.entries()[:4] == ["reliable", "pending", "suspicious", "lost"]
    assert {"manual (key frame)", "interpolated"} <= set(legend.entries())


def test_speed_actions_and_the_fps_text(window: MainWindow) -> None:
    window.desk.act_faster.trigger()
    assert window.playback.speed == 1.5 and window.desk.speed_box.currentText() == "1.5×"
    assert window.desk.fps_text(24.04) == "24.0 fps at 1.5×"
    window.desk.act_normal_speed.trigger()
    assert window.desk.fps_text(24.04) == "24.0 fps"


def test_labels_toggle_and_last_frame_persist(qtbot, tmp_path: Path, shared_data: Path) -> None:
    window = make_window(qtbot, tmp_path)
    window.sessions.open_path(shared_data / SEQUENCE)
    assert window.canvas.layers.labels
    window.layer_actions["labels"].trigger()
    assert not window.canvas.layers.labels
    window.playback.seek(2)
    project = window.session.doc.path
    window.close()
    again = make_window(qtbot, tmp_path)
    assert not again.layer_actions["labels"].isChecked() and not again.canvas.layers.labels
    again.sessions.open_path(project)
    assert again.frame == 2 and again.frame_field.text() == "2 / 3"  # where it was left
    assert again.session.doc.get_meta(LAST_FRAME_KEY) == 2
    again.close()

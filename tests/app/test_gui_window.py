"""The main window on a real MOT17 sequence with its imported ground truth: open, seek, ID fixes through
the actions with undo/redo, refusals, conflicts, export and re-read, layout and recent files."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QInputDialog, QMessageBox  # noqa: E402

from app.document import Document  # noqa: E402
from app.gui.dialogs import ExportRequest  # noqa: E402
from app.gui import sessions  # noqa: E402
from app.gui.main_window import MainWindow  # noqa: E402
from app.gui.project import beside_path, data_path, project_path_for  # noqa: E402
from exporters import mot  # noqa: E402
from tracker.results import Event, EventKind  # noqa: E402
from widgets.video_canvas import Tool  # noqa: E402

SEQUENCE = "mot17-mini/MOT17-09-FRCNN"


def make_window(qtbot, tmp_path: Path) -> MainWindow:
    """A window whose settings and new projects live in ``tmp_path``."""
    window = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window.preferences.data_dir = tmp_path / "projects"
    window.preferences.projects_beside_video = False
    qtbot.addWidget(window)
    window.show()
    return window


@pytest.fixture
def window(qtbot, tmp_path: Path, shared_data: Path) -> MainWindow:
    window = make_window(qtbot, tmp_path)
    sequence = shared_data / SEQUENCE
    assert window.sessions.open_path(sequence)
    labels = mot.read(sequence, Document.in_memory(window.session.doc.video))
    assert window.transfer.import_document(labels, "gt.txt")
    qtbot.waitUntil(lambda: window.table.model.rowCount() > 0)
    return window


def _boxes(window: MainWindow, frame: int) -> dict[int, tuple]:
    return {obs.track_id: obs.box for obs in window.session.doc.observations_at(frame)}


def test_window_opens_a_sequence_with_its_ground_truth(window: MainWindow, tmp_path: Path) -> None:
    doc = window.session.doc
    assert doc.path.parent == tmp_path / "projects"
    assert window.playback.frame_count == 4
    assert len(doc.tracks()) == 13 == window.table.model.rowCount() == len(window.timeline.data.order)
    assert {o.track_id for o in window.canvas.observations()} == {t.id for t in doc.tracks()}
    assert window.frame_label.text() == "Frame 0 of 4"


def test_window_keyboard_playback_moves_the_frame(qtbot, window: MainWindow) -> None:
    for key, modifier, frame in ((Qt.Key.Key_Right, Qt.KeyboardModifier.NoModifier, 1),
                                 (Qt.Key.Key_End, Qt.KeyboardModifier.NoModifier, 3),
                                 (Qt.Key.Key_Left, Qt.KeyboardModifier.NoModifier, 2),
                                 (Qt.Key.Key_Home, Qt.KeyboardModifier.NoModifier, 0),
                                 (Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier, 3)):
        qtbot.keyClick(window, key, modifier)
        assert window.frame == frame
    assert window.slider.value() == 3
    assert window.timeline._current == 3


def test_window_space_plays_to_the_end_and_measures_fps(qtbot, window: MainWindow) -> None:
    shown, rates = [], []
    window.playback.frameChanged.connect(shown.append)
    window.playback.fpsChanged.connect(rates.append)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.playback.playing
    qtbot.waitUntil(lambda: not window.playback.playing, timeout=5000)
    assert shown[-1] == 3 and shown == sorted(shown)  # forward only, frames may be skipped, never repeated
    assert window.frame_field.text() == "3 / 3"
    assert rates and 0 < rates[-1] < 200  # the status bar's playback fps (30 fps video)
    assert window.fps_label.text() == ""  # stopped: no rate left behind


def test_window_swap_ids_action_with_undo_and_redo(window: MainWindow) -> None:
    window.playback.seek(2)
    a, b = sorted(_boxes(window, 2))[:2]
    before = {f: _boxes(window, f) for f in range(4)}
    window.set_selection([a, b])
    window.act_swap.trigger()
    after = {f: _boxes(window, f) for f in range(4)}
    assert after[1] == before[1]  # frames before the current one keep their ids
    for frame in (2, 3):
        assert after[frame][a] == before[frame][b] and after[frame][b] == before[frame][a]
    assert window.stack.count() == 2  # the import, then the swap
    window.act_undo.trigger()
    assert {f: _boxes(window, f) for f in range(4)} == before
    window.act_redo.trigger()
    assert {f: _boxes(window, f) for f in range(4)} == after


def test_window_refused_edit_shows_a_message_not_a_traceback(window: MainWindow, monkeypatch) -> None:
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append((title, text)))
    first, second = sorted(_boxes(window, 1))[:2]
    monkeypatch.setattr(QInputDialog, "getInt", lambda *args: (second, True))  # "reassign to an id in use"
    window.set_selection([first])
    count = window.stack.count()
    window.act_reassign.trigger()
    assert shown and shown[0][0] == "Edit refused" and "both have frame" in shown[0][1]
    assert window.stack.count() == count
    assert window.session.doc.track(first) is not None


def test_window_split_and_delete_actions_change_the_tracks(window: MainWindow) -> None:
    window.playback.seek(2)
    track = sorted(_boxes(window, 2))[0]
    window.set_selection([track])
    window.act_split.trigger()
    new_id = window.selection[0]
    assert new_id != track
    assert window.session.doc.track_timeline(new_id).frames.tolist() == [2, 3]
    window.act_delete_track.trigger()
    assert window.session.doc.track(new_id) is None
    window.act_undo.trigger()
    window.act_undo.trigger()
    assert window.session.doc.track_timeline(track).frames.tolist() == [0, 1, 2, 3]


def test_window_set_category_changes_every_selected_track_in_one_step(window: MainWindow, monkeypatch) -> None:
    doc = window.session.doc
    first, second = sorted(_boxes(window, 1))[:2]
    before = {t.id: t.category_id for t in doc.tracks()}
    monkeypatch.setattr(QInputDialog, "getItem", lambda *args: ("cyclist", True))
    window.set_selection([first, second])
    window.act_category.trigger()
    cyclist = doc.category_id("cyclist")
    assert {t.id: t.category_id for t in doc.tracks() if t.id in (first, second)} == {first: cyclist, second: cyclist}
    window.act_undo.trigger()
    assert {t.id: t.category_id for t in doc.tracks()} == before


def test_window_drawn_track_gets_a_category_and_the_table_follows_new_selections(qtbot, window: MainWindow) -> None:
    doc = window.session.doc
    track = sorted(_boxes(window, 1))[0]
    window.set_selection([track])
    window.editing.new_track_box(1, (10.0, 10.0, 30.0, 40.0))
    new_id = window.selection[0]
    assert new_id != track and doc.track(new_id).category_id == doc.track(track).category_id is not None
    qtbot.waitUntil(lambda: window.table.model.row_of(new_id) is not None)
    assert window.table.selected_ids() == [new_id]
    window.playback.seek(2)
    window.set_selection([track])
    window.act_split.trigger()
    qtbot.waitUntil(lambda: window.table.selected_ids() == window.selection != [track])


def test_window_conflict_navigator_stops_once_per_open_episode(window: MainWindow) -> None:
    """A conflict over frames 1–3 is one stop; a conflict with a track that has no box is none; a resolved
    episode is skipped, drawn as resolved, and comes back with undo."""
    doc = window.session.doc
    a, b, c = sorted(_boxes(window, 0))[:3]
    doc.add_events([Event(f, EventKind.CONFLICT, a, other_id=b, loser_id=b) for f in (1, 2, 3)]
                   + [Event(3, EventKind.CONFLICT, c, other_id=a, loser_id=c),
                      Event(2, EventKind.CONFLICT, c, other_id=99_999)])
    doc.notify()
    window._apply_changes()
    window.act_next_conflict.trigger()
    assert (window.frame, window.selection) == (1, [a, b])
    window.act_next_conflict.trigger()
    assert (window.frame, window.selection) == (3, [a, c])
    window.act_next_conflict.trigger()
    assert window.frame == 3  # no more conflicts
    window.act_prev_conflict.trigger()
    assert (window.frame, window.selection) == (1, [a, b])
    window.act_resolve_conflict.trigger()
    window._apply_changes()
    assert window.timeline.data.resolved_conflicts.tolist() == [[1, a, b]]
    assert window.timeline.data.conflicts.tolist() == [[3, a, c]]
    window.playback.seek(0)
    window.act_next_conflict.trigger()
    assert (window.frame, window.selection) == (3, [a, c])
    window.act_prev_conflict.trigger()
    assert window.frame == 3  # the resolved episode is skipped
    window.stack.undo()
    window._apply_changes()
    window.act_prev_conflict.trigger()
    assert (window.frame, window.selection) == (1, [a, b])


def test_window_export_then_reread_gives_the_edited_labels(window: MainWindow, tmp_path: Path) -> None:
    inside = [t for t, (x, y, w, h) in _boxes(window, 1).items() if min(x, y) >= 0 and x + w <= 1920 and y + h <= 1080]
    a, b = inside[:2]
    window.playback.seek(1)
    window.set_selection([a, b])
    window.act_swap.trigger()
    out = tmp_path / "MOT17-09-edited"
    assert window.transfer.export(ExportRequest(mot, out, None, None, None))
    reread = mot.read(out)
    for frame in range(4):
        boxes = {o.track_id: o.box for o in reread.observations_at(frame)}
        assert boxes.keys() == _boxes(window, frame).keys()
        for track in (a, b):
            assert boxes[track] == pytest.approx(_boxes(window, frame)[track])
    assert reread.observation(a, 1).box == pytest.approx(window.session.doc.observation(b, 0).box, abs=5)


def test_window_layout_and_recent_files_persist(qtbot, tmp_path: Path, shared_data: Path) -> None:
    window = make_window(qtbot, tmp_path)
    window.sessions.open_path(shared_data / SEQUENCE)
    project = window.session.doc.path
    window.resize(701, 523)
    window.timeline_dock.hide()
    window.close()
    again = make_window(qtbot, tmp_path)
    assert (again.width(), again.height()) == (701, 523)
    assert not again.timeline_dock.isVisible()
    assert again.preferences.recent[0] == str(project)
    assert again.recent_menu.actions()[0].text() == f"{project.name}  —  {project.parent}"
    again.recent_menu.actions()[0].trigger()
    assert again.session.doc.path == project  # reopening the video's project, not a new one
    assert str(project.parent) in again.windowTitle()
    again.close()


def test_relative_paths_are_remembered_absolute_and_dead_recent_entries_leave(
    qtbot, tmp_path: Path, shared_data: Path, monkeypatch
) -> None:
    video = tmp_path / "clip" / "highway.mp4"
    video.parent.mkdir()
    shutil.copy(shared_data / "highway" / "highway.mp4", video)
    window = make_window(qtbot, tmp_path)
    window.preferences.projects_beside_video = True
    monkeypatch.chdir(tmp_path)
    assert window.sessions.open_path(Path("clip/highway.mp4"))
    project = window.session.doc.path
    assert project.is_absolute() and window.preferences.recent[0] == str(video.parent / "highway.masklet")
    window.sessions.close_session()
    project.unlink()
    video.unlink()
    monkeypatch.setattr(sessions, "show_error", lambda parent, exc: None)
    window.sessions.rebuild_recent()
    window.recent_menu.actions()[0].trigger()
    assert str(project) not in window.preferences.recent
    window.close()


def test_project_location_beside_the_video_or_in_the_data_folder(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"")
    data = tmp_path / "data"
    assert project_path_for(video, data) == beside_path(video) == tmp_path / "clip.masklet"
    assert project_path_for(video, data, beside=False) == data_path(video, data)
    assert data_path(video, data) != data_path(tmp_path / "other" / "clip.mp4", data)
    beside_path(video).write_bytes(b"not a project")  # someone else's file: never reused, never replaced
    assert project_path_for(video, data) == data_path(video, data)


def test_project_moved_with_its_video_is_reopened(qtbot, tmp_path: Path, shared_data: Path) -> None:
    first = tmp_path / "a"
    first.mkdir()
    video = first / "highway.mp4"
    shutil.copy(shared_data / "highway" / "highway.mp4", video)
    window = make_window(qtbot, tmp_path)
    window.preferences.projects_beside_video = True
    assert window.sessions.open_path(video) and window.session.created
    window.sessions.close_session()
    moved = tmp_path / "b"
    first.rename(moved)
    assert project_path_for(moved / "highway.mp4", tmp_path / "projects") == moved / "highway.masklet"
    assert window.sessions.open_path(moved / "highway.mp4") and not window.session.created
    window.close()


def test_locating_a_moved_video_keeps_the_project_open(qtbot, tmp_path: Path, shared_data: Path, monkeypatch) -> None:
    """The project reopens without its video; the located video joins the same open document, which stays
    usable (it used to be closed under the window, so every later edit failed)."""
    from PySide6.QtWidgets import QFileDialog

    video = tmp_path / "highway.mp4"
    shutil.copy(shared_data / "highway" / "highway.mp4", video)
    window = make_window(qtbot, tmp_path)
    window.preferences.projects_beside_video = True
    assert window.sessions.open_path(video)
    project = window.session.doc.path
    window.sessions.close_session()
    moved = video.rename(tmp_path / "moved.mp4")
    monkeypatch.setattr(QMessageBox, "question", lambda *args: QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(moved), ""))
    assert window.sessions.open_path(project)
    assert window.session.source is not None and window.reader is not None
    doc = window.session.doc
    assert doc.video.path == moved.resolve() and doc.tracks() == []
    window.close()
    with Document.open(project, read_only=True) as reopened:
        assert reopened.video.path == moved.resolve()


def test_window_opens_a_project_another_process_writes_read_only(qtbot, tmp_path: Path, shared_data: Path) -> None:
    path = tmp_path / "p.masklet"
    sequence = shared_data / SEQUENCE
    with Document.create(path) as doc:
        doc.set_video(mot.read(sequence).video)
        mot.read(sequence, doc)
    ready = tmp_path / "ready"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import pathlib, sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from app.document import Document
        doc = Document.open({str(path)!r})
        pathlib.Path({str(ready)!r}).touch()
        time.sleep(120)
    """)])
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        window = make_window(qtbot, tmp_path)
        assert window.sessions.open_path(path)
        assert window.read_only and f"process {holder.pid}" in window.session.read_only_reason
        assert not window.read_only_label.isHidden() and "[read-only]" in window.windowTitle()
        window.set_selection([window.session.doc.tracks()[0].id])
        assert not any(action.isEnabled() for action in window.id_actions)
        assert not window.act_import.isEnabled() and window.act_export.isEnabled()
        assert [tool for tool, action in window.tool_actions.items() if action.isEnabled()] == [Tool.SELECT]
    finally:
        holder.kill()
        holder.wait()
    window.sessions.close_session()
    assert window.sessions.open_path(path) and not window.read_only  # the writer is gone: editable again
    assert window.read_only_label.isHidden()


def test_video_warnings_are_shown_in_the_window(qtbot, tmp_path: Path, shared_data: Path, monkeypatch) -> None:
    """MOT17-04's seqinfo.ini claims 1050 frames, 8 images exist: said in the app, not only in a terminal."""
    window = make_window(qtbot, tmp_path)
    assert window.sessions.open_path(shared_data / "mot17-mini" / "MOT17-04-FRCNN")
    assert window.warnings_button.isVisibleTo(window) and window.warnings_button.text() == "⚠ 1 warning"
    assert "claims 1050 frames" in window.warnings_button.toolTip()
    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box.informativeText()))
    window.warnings_button.click()
    assert "claims 1050 frames" in shown[0]
    window.close()


def test_start_page_before_anything_is_open(qtbot, tmp_path: Path, shared_data: Path) -> None:
    """An empty window shows how to start and the recent projects; the editing tools wait for a video."""
    from app.gui.main_window import GUIDE, masklet_version

    window = make_window(qtbot, tmp_path)
    assert window.start_page.isVisible() and not window.video_page.isVisible()
    assert not any(a.isEnabled() for t, a in window.tool_actions.items() if t is not Tool.SELECT)
    assert window.sessions.open_path(shared_data / SEQUENCE)
    assert window.video_page.isVisible() and window.tool_actions[Tool.EDIT_BOX].isEnabled()
    window.sessions.close_session()
    assert window.start_page.isVisible() and not window.video_page.isVisible()
    assert window.start_page.recent.count() == 1 and window.start_page.recent.item(0).toolTip() == str(
        window.preferences.recent[0])
    window.start_page.recent.itemActivated.emit(window.start_page.recent.item(0))
    assert window.session is not None and window.video_page.isVisible()
    assert GUIDE.is_file() and masklet_version() != "(not installed)"
    window.close()


def test_the_user_guide_lists_every_shortcut(qtbot, tmp_path: Path) -> None:
    """docs/guide.md (Help ▸ User Guide) stays true: every action's shortcut, as the shortcut sheet shows it."""
    from app.gui.shortcuts import shortcut_rows
    from app.gui.main_window import GUIDE

    window = make_window(qtbot, tmp_path)
    guide = GUIDE.read_text(encoding="utf-8")
    for menu, action, keys in shortcut_rows(window.menus):
        row = f"| {menu} | {action} | " + ", ".join(f"`{k}`" for k in keys.split(", ")) + " |"
        assert row in guide, row
    window.close()


def test_copy_box_to_next_frame_and_propagate_box(window: MainWindow, monkeypatch) -> None:
    doc = window.session.doc
    window.playback.seek(0)
    track = sorted(_boxes(window, 0))[0]
    box = doc.observation(track, 0).box
    window.set_selection([track])
    window.act_copy_next.trigger()
    assert window.frame == 1 and doc.observation(track, 1).box == box
    monkeypatch.setattr(QInputDialog, "getInt", lambda *args: (2, True))
    window.act_propagate_box.trigger()
    assert doc.observation(track, 3).box == doc.observation(track, 1).box == box
    window.act_undo.trigger()
    window.act_undo.trigger()
    assert doc.observation(track, 1).box != box or doc.observation(track, 1).source.name != "MANUAL"

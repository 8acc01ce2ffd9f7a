"""The annotator's desk in the main window: delete frames N..M (timeline range, dialog), merge several tracks,
the Categories dialog, colours by category, and configurable shortcuts kept across starts."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtGui import QKeySequence  # noqa: E402
from PySide6.QtWidgets import QDialog, QInputDialog, QPushButton  # noqa: E402

from app.document import Observation  # noqa: E402
from app.gui import track_edits  # noqa: E402
from app.gui.categories import CategoriesDialog  # noqa: E402
from app.gui.dialogs import PreferencesDialog  # noqa: E402
from app.gui.main_window import MainWindow  # noqa: E402
from app.gui.shortcuts import ShortcutEditor, shortcut_rows  # noqa: E402
from tests.app.test_gui_window import SEQUENCE, make_window  # noqa: E402
from widgets.timeline import FrameRange  # noqa: E402


@pytest.fixture
def window(qtbot, tmp_path: Path, shared_data: Path) -> MainWindow:
    """MOT17-09 (4 frames): track 1 (person) on frames 0–3, 2 (person) on 1–2, 3 (car) on 2–3."""
    window = make_window(qtbot, tmp_path)
    assert window.sessions.open_path(shared_data / SEQUENCE)
    doc = window.session.doc
    for track, name, frames in ((1, "person", range(4)), (2, "person", (1, 2)), (3, "car", (2, 3))):
        doc.add_track(track, doc.category_id(name))
        doc.add_observations(Observation(f, track, (100.0 * track, 50.0, 40.0, 90.0)) for f in frames)
    window.stack.clear()
    qtbot.waitUntil(lambda: window.table.model.rowCount() == 3)
    return window


def _frames(window: MainWindow, track: int) -> list[int]:
    return window.session.doc.track_timeline(track).frames.tolist()


def test_delete_the_timeline_range_or_frames_from_the_dialog(qtbot, window: MainWindow, monkeypatch) -> None:
    window.set_selection([1])
    window.timeline.set_frame_range(FrameRange(1, 1, 3))
    window.act_delete_track.trigger()  # Del deletes the selected range, not the track
    assert _frames(window, 1) == [0, 3] and window.timeline.frame_range is None
    assert window.stack.undoText() == "Delete track 1 frames 1–2"
    window.act_undo.trigger()
    assert _frames(window, 1) == [0, 1, 2, 3]
    window.timeline.deleteRangeRequested.emit(FrameRange(1, 3, 4))  # right-click ▸ Delete Frame 3 of Track 1
    assert _frames(window, 1) == [0, 1, 2]
    window.act_undo.trigger()

    shown = []

    def answer(dialog: track_edits.DeleteFramesDialog) -> int:
        shown.append((dialog.first.value(), dialog.last.value()))
        dialog.first.setValue(2)
        dialog.last.setValue(0)  # either order: frames 0 to 2
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(track_edits.DeleteFramesDialog, "exec", answer)
    window.playback.seek(2)
    window.act_delete_frames.trigger()
    assert shown == [(2, 2)]  # prefilled from the current frame
    assert _frames(window, 1) == [3]
    window.act_undo.trigger()
    window.timeline.set_frame_range(FrameRange(1, 0, 2))
    window.act_delete_frames.trigger()
    assert shown[-1] == (0, 1)  # prefilled from the timeline's range


def test_merge_several_selected_tracks_in_one_step(qtbot, window: MainWindow, monkeypatch) -> None:
    offered, asked = [], []
    monkeypatch.setattr(QInputDialog, "getItem", lambda *args: (offered.append(args[3]), (args[3][0], True))[1])
    monkeypatch.setattr(QInputDialog, "getInt", lambda *args: (0, False))  # the two-track merge's question
    monkeypatch.setattr(window.editing, "ask_overlap_winner",
                        lambda target, sources, frames: (asked.append((target, sources, frames)), "target")[1])
    window.set_selection([2, 3, 1])
    window.act_merge.trigger()
    assert offered == [["1  (4 frames)", "2  (2 frames)", "3  (2 frames)"]]  # the longest first
    assert asked == [(1, (2, 3), 3)]  # frames 1, 2 and 3 are shared
    doc = window.session.doc
    assert [t.id for t in doc.tracks()] == [1] and _frames(window, 1) == [0, 1, 2, 3]
    assert doc.observation(1, 2).box[0] == 100.0 and window.selection == [1]
    window.act_undo.trigger()  # one step
    assert [t.id for t in doc.tracks()] == [1, 2, 3] and _frames(window, 3) == [2, 3]


def test_categories_dialog_renames_merges_colours_and_sets_the_default(qtbot, window: MainWindow,
                                                                        monkeypatch) -> None:
    doc = window.session.doc
    person, car = doc.category_id("person"), doc.category_id("car")
    dialog = CategoriesDialog(window.stack, doc, window)
    qtbot.addWidget(dialog)

    def select(*ids: int) -> None:
        for row in range(dialog.list.count()):
            item = dialog.list.item(row)
            item.setSelected(item.data(0x0100) in ids)

    assert [dialog.list.item(r).text() for r in range(2)] == ["car  (1 tracks)", "person  (2 tracks)"]
    select(person)
    monkeypatch.setattr(QInputDialog, "getText", lambda *args, **kwargs: ("pedestrian", True))
    dialog.rename()
    assert doc.track_label(1) == "pedestrian" and "pedestrian  (2 tracks)" in dialog.list.item(1).text()
    dialog._set_colors("#ff8800")
    select(car)
    dialog.toggle_default()
    assert doc.category_colors() == {person: "#ff8800"} and doc.default_category() == car
    window.editing.new_track_box(0, (10.0, 10.0, 30.0, 30.0))  # a box drawn for a new track
    assert doc.track_label(4) == "car"  # the default, not the most common category
    window.act_category_colors.trigger()
    qtbot.waitUntil(lambda: window.canvas._colors.get(1) == "#ff8800")
    assert window.timeline.data.lanes[2].color == "#ff8800" and window.canvas._colors[3] == doc.track(3).color
    select(person, car)
    monkeypatch.setattr(QInputDialog, "getItem", lambda *args: (args[3][0], True))
    dialog.merge()
    assert {doc.track_label(t.id) for t in doc.tracks()} == {"car"} and dialog.list.count() == 1
    for _ in range(5):  # merge, new track, default, colour, rename
        window.act_undo.trigger()
    assert doc.categories() == {person: "person", car: "car"} and doc.category_colors() == {}
    assert doc.track_label(3) == "car" and doc.default_category() is None


def _row(editor: ShortcutEditor, name: str) -> int:
    return [a.text().replace("&", "") for a in editor.actions].index(name)


def test_shortcuts_are_edited_checked_for_conflicts_and_kept(qtbot, tmp_path: Path, monkeypatch) -> None:
    window = make_window(qtbot, tmp_path)
    opened = []
    monkeypatch.setattr(ShortcutEditor, "exec", lambda editor: opened.append(editor))
    preferences = PreferencesDialog(window.preferences, window, window.act_edit_shortcuts.trigger)
    qtbot.addWidget(preferences)
    next(b for b in preferences.findChildren(QPushButton) if b.text() == "Keyboard Shortcuts…").click()
    assert len(opened) == 1  # Preferences ▸ Keyboard Shortcuts… opens the editor
    window.act_category_colors.trigger()  # a view setting kept like the shortcuts
    editor = ShortcutEditor(window.menus, window.shortcuts, window)
    qtbot.addWidget(editor)
    split = editor.edits[_row(editor, "Split Here")][0]
    split.setKeySequence(QKeySequence("M"))  # Merge Into's key
    assert not editor.save_button.isEnabled() and "M is used by" in editor.problem.text()
    split.setKeySequence(QKeySequence("Ctrl+Alt+S"))
    assert editor.save_button.isEnabled() and editor.problem.text() == ""
    editor.accept()
    assert window.act_split.shortcuts() == [QKeySequence("Ctrl+Alt+S")]
    assert ("Edit", "Split Here", QKeySequence("Ctrl+Alt+S").toString(QKeySequence.SequenceFormat.NativeText)) \
        in shortcut_rows(window.menus)  # the shortcut sheet shows the keys in use
    window.close()

    again = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    assert again.act_split.shortcuts() == [QKeySequence("Ctrl+Alt+S")]  # applied at start
    assert again.act_merge.shortcuts() == [QKeySequence("M")]
    assert again.act_category_colors.isChecked() and again.canvas.color_by_category
    editor = ShortcutEditor(again.menus, again.shortcuts, again)
    qtbot.addWidget(editor)
    editor.reset_to_defaults()
    editor.accept()
    assert again.act_split.shortcuts() == [QKeySequence("K")]
    assert not any(k.startswith("shortcuts/") for k in again.preferences.qsettings.allKeys())

"""Dialogs and shortcuts: run options per engine, export and import requests, one action per key."""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtGui import QKeySequence  # noqa: E402

from app.gui.dialogs import ExportDialog, ImportDialog, RunDialog, ShortcutSheet  # noqa: E402
from app.gui.main_window import MainWindow  # noqa: E402
from exporters import cocovid, mot, registry  # noqa: E402


def test_run_dialog_gives_sam2_options_only_to_sam2_engines(qtbot) -> None:
    dialog = RunDialog("bytetrack", 100, 10, {"sam2": "small", "classes": ["car"], "image_size": 256})
    qtbot.addWidget(dialog)
    assert dialog.options() == {"detector": "yolo11n.pt", "classes": ["car"], "device": "auto"}
    assert dialog.frame_range() == (10, 100)
    dialog.engine.setCurrentIndex(dialog.engine.findData("sam2mot"))
    dialog.conf.setValue(0.4)
    dialog.last.setValue(19)
    assert dialog.options() == {"detector": "yolo11n.pt", "classes": ["car"], "conf": 0.4, "device": "auto",
                                "sam2": "small", "image_size": 256}
    assert dialog.frame_range() == (10, 20)


def test_run_dialog_offers_smot_with_its_linker_and_motion_switches(qtbot) -> None:
    dialog = RunDialog("smot", 100, 0, {})
    qtbot.addWidget(dialog)
    assert dialog.engine_name() == "smot"
    assert dialog.link.isChecked() and dialog.motion.isEnabled() and not dialog._sam2_row.isEnabled()
    assert dialog.options() == {"detector": "yolo11n.pt", "device": "auto"}  # the engine's defaults
    dialog.motion.setChecked(False)
    dialog.link.setChecked(False)
    assert dialog.options() == {"detector": "yolo11n.pt", "device": "auto", "link": False, "motion": False}
    dialog.engine.setCurrentIndex(dialog.engine.findData("bytetrack"))  # off by default for the baselines
    assert not dialog.link.isChecked() and not dialog.motion.isEnabled()
    dialog.link.setChecked(True)
    assert dialog.options() == {"detector": "yolo11n.pt", "device": "auto", "link": True}


def test_run_dialog_keeps_the_linker_choice_of_the_stored_run(qtbot) -> None:
    dialog = RunDialog("smot", 100, 0, {"link": False})
    qtbot.addWidget(dialog)
    assert not dialog.link.isChecked()
    assert dialog.options()["link"] is False


def test_export_dialog_builds_the_request(qtbot, tmp_path: Path) -> None:
    formats = {"mot": mot, "cocovid": cocovid}
    dialog = ExportDialog(formats, 50, {1: "person", 2: "car"}, [7, 9], tmp_path / "clip")
    qtbot.addWidget(dialog)
    assert dialog.request().path == tmp_path / "clip-mot"
    dialog.format.setCurrentIndex(1)
    request = dialog.request()
    assert (request.module, request.path, request.frames, request.track_ids, request.category_ids) == (
        cocovid, tmp_path / "clip-cocovid", None, None, None)
    dialog.some_frames.setChecked(True)
    dialog.first.setValue(5)
    dialog.selected_tracks.setChecked(True)
    dialog.classes.item(1).setCheckState(Qt.CheckState.Unchecked)
    request = dialog.request()
    assert (request.frames, request.track_ids, request.category_ids) == ((5, 49), [7, 9], [1])


def test_import_dialog_detects_the_format(qtbot, shared_data: Path) -> None:
    dialog = ImportDialog({name: registry.get(name) for name in registry.names()}, shared_data)
    qtbot.addWidget(dialog)
    dialog.path.setText(str(shared_data / "highway" / "gt.txt"))
    dialog.frame_base.setCurrentIndex(2)
    request = dialog.request()
    assert request.module is mot and request.options == {"frame_base": 0}


def test_every_shortcut_triggers_one_action_and_is_on_the_sheet(qtbot, tmp_path: Path) -> None:
    window = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    keys = Counter(s.toString() for a in window.actions() for s in a.shortcuts())
    assert [key for key, count in keys.items() if count > 1] == []  # Qt ignores ambiguous shortcuts
    for key in ("Space", "Left", "Shift+Right", "Home", "End", "Ctrl+G", "N", "Shift+N", "Ctrl+Z"):
        assert keys[QKeySequence(key).toString()] == 1, key
    sheet = ShortcutSheet(window.menus)
    qtbot.addWidget(sheet)
    listed = {sheet.table.item(row, 2).text() for row in range(sheet.table.rowCount())}
    assert {"Space", "N", "W", "Ctrl+G", "F1, ?"} <= listed

"""Dialogs and shortcuts: run options per engine, export and import requests, one action per key."""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtGui import QKeySequence  # noqa: E402

from app.gui.dialogs import ExportDialog, ImportDialog  # noqa: E402
from app.gui.run_dialog import RunDialog  # noqa: E402
from app.gui.shortcuts import ShortcutSheet  # noqa: E402
from app.gui.main_window import MainWindow  # noqa: E402
from exporters import cocovid, mot, registry  # noqa: E402
from tracker.engine_options import EngineOptions  # noqa: E402


def test_run_dialog_gives_sam2_options_only_to_sam2_engines(qtbot) -> None:
    dialog = RunDialog("bytetrack", 100, 10, {"sam2": "small", "classes": ["car"], "image_size": 256})
    qtbot.addWidget(dialog)
    assert dialog.options() == EngineOptions("bytetrack", detector="yolo11n.pt", classes=("car",))
    assert dialog.frame_range() == (10, 100)
    dialog.engine.setCurrentIndex(dialog.engine.findData("sam2mot"))
    dialog.conf.setValue(0.4)
    dialog.last.setValue(19)
    assert dialog.options() == EngineOptions("sam2mot", detector="yolo11n.pt", classes=("car",), conf=0.4,
                                             sam2="small", image_size=256)
    assert dialog.frame_range() == (10, 20)


def test_run_dialog_switches_sam2mot_modules(qtbot) -> None:
    dialog = RunDialog("smotracker", 100, 0, {"cross_object": False})
    qtbot.addWidget(dialog)
    assert not dialog._modules.isEnabled() and dialog.options().cross_object
    dialog.engine.setCurrentIndex(dialog.engine.findData("sam2mot"))
    assert dialog._modules.isEnabled() and not dialog.modules["cross_object"].isChecked()
    dialog.modules["reconstruction"].setChecked(False)
    options = dialog.options()
    assert (options.cross_object, options.reconstruction, options.addition_filter) == (False, False, True)


def test_run_dialog_remembers_sam2_settings_across_engines_and_offers_smotracker_options(qtbot) -> None:
    dialog = RunDialog("sam2mot", 100, 0, {})
    qtbot.addWidget(dialog)
    dialog.sam2.setCurrentText("/models/my-sam2.pt")
    dialog.image_size.setValue(512)
    dialog.engine.setCurrentIndex(dialog.engine.findData("bytetrack"))
    again = RunDialog("bytetrack", 100, 0, dialog.settings())
    qtbot.addWidget(again)
    assert (again.sam2.currentText(), again.image_size.value()) == ("/models/my-sam2.pt", 512)
    assert again.options().sam2 is None
    again.engine.setCurrentIndex(again.engine.findData("smotracker"))
    assert again._smotracker.isEnabled() and not again._modules.isEnabled()
    again.clip_len.setValue(8)
    again.tiles.setValue(640)
    options = again.options()
    assert (options.clip_len, options.tiles, options.tile_overlap) == (8, 640, 0.2)


def test_enter_in_the_run_dialog_runs_it_not_a_file_browser(qtbot) -> None:
    from PySide6.QtWidgets import QPushButton

    dialog = RunDialog("sam2mot", 100, 0, {})
    qtbot.addWidget(dialog)
    browse = [b for b in dialog.findChildren(QPushButton) if b.text() in ("File…", "Folder…", "Checkpoint…")]
    assert len(browse) == 3 and not any(b.autoDefault() or b.isDefault() for b in browse)
    assert [b.text() for b in dialog.findChildren(QPushButton) if b.isDefault()] == ["Run"]


def test_run_dialog_offers_smot_with_its_linker_and_motion_switches(qtbot) -> None:
    dialog = RunDialog("smot", 100, 0, {})
    qtbot.addWidget(dialog)
    assert dialog.engine_name() == "smot"
    assert dialog.link.isChecked() and dialog.motion.isEnabled() and not dialog._sam2_row.isEnabled()
    assert dialog.options() == EngineOptions("smot", detector="yolo11n.pt")  # the engine's defaults
    dialog.motion.setChecked(False)
    dialog.link.setChecked(False)
    assert dialog.options() == EngineOptions("smot", detector="yolo11n.pt", link=False, motion=False)
    dialog.engine.setCurrentIndex(dialog.engine.findData("bytetrack"))  # off by default for the baselines
    assert not dialog.link.isChecked() and not dialog.motion.isEnabled()
    dialog.link.setChecked(True)
    assert dialog.options() == EngineOptions("bytetrack", detector="yolo11n.pt", link=True)


def test_run_dialog_keeps_the_linker_choice_of_the_stored_run(qtbot) -> None:
    dialog = RunDialog("smot", 100, 0, {"link": False})
    qtbot.addWidget(dialog)
    assert not dialog.link.isChecked()
    assert dialog.options().link is False


def test_export_dialog_builds_the_request(qtbot, tmp_path: Path) -> None:
    formats = {"mot": mot, "cocovid": cocovid}
    dialog = ExportDialog(formats, 50, {1: "person", 2: "car"}, [7, 9], tmp_path / "clip")
    qtbot.addWidget(dialog)
    assert dialog.request().path == tmp_path / "clip-mot"
    dialog.format.setCurrentIndex(1)
    request = dialog.request()
    assert (request.module, request.path, request.frames, request.track_ids, request.category_ids) == (
        cocovid, tmp_path / "clip-cocovid.json", None, None, None)
    dialog.some_frames.setChecked(True)
    dialog.first.setValue(5)
    dialog.selected_tracks.setChecked(True)
    dialog.classes.item(1).setCheckState(Qt.CheckState.Unchecked)
    request = dialog.request()
    assert (request.frames, request.track_ids, request.category_ids) == ((5, 50), [7, 9], [1])


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


def test_dark_theme_styles_disabled_fields_checkboxes_and_arrows() -> None:
    """Fusion draws no check box or spin arrow once a style sheet styles those widgets: the theme must
    draw them itself (from files that exist), and grey out disabled fields."""
    import re

    import resources

    style = resources.path("dark.qss").read_text(encoding="utf-8")
    for selector in ("QCheckBox::indicator", "QSpinBox::up-arrow", "QSpinBox::down-arrow", "QLineEdit:disabled",
                     "QCheckBox::indicator:checked:disabled"):
        assert selector in style
    images = re.findall(r"url\(RESOURCES/([^)]+)\)", style)
    assert images and all(resources.path(name).is_file() for name in images)


def test_import_dialog_stays_open_on_an_empty_or_unknown_path(qtbot, tmp_path: Path, monkeypatch) -> None:
    from PySide6.QtWidgets import QMessageBox

    from app.gui.dialogs import ImportDialog

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    dialog = ImportDialog({"mot": mot, "cocovid": cocovid}, tmp_path)
    qtbot.addWidget(dialog)
    dialog.accept()
    assert dialog.result() != dialog.DialogCode.Accepted and "Choose the label file" in shown[-1]
    (tmp_path / "labels.bin").write_bytes(b"\0\1")
    dialog.path.setText(str(tmp_path / "labels.bin"))
    dialog.accept()
    assert dialog.result() != dialog.DialogCode.Accepted
    assert "cannot tell the label format" in shown[-1] and "--" not in shown[-1] and "Format list" in shown[-1]


def test_gui_messages_name_the_apps_controls_not_command_line_options() -> None:
    from app.gui.errors import explain
    from exporters.base import FormatError
    from tracker.errors import CheckpointError
    from tracker.models import ensure_checkpoint

    messages = [explain(FormatError(Path("gt.txt"), "frame 0 does not exist in a 1-based file (see --frame-base)")),
                explain(registry.UnknownFormatError("x: cannot tell the label format; give it with --format (mot)"))]
    try:
        ensure_checkpoint(Path("/nowhere/my-model.pt"))
    except CheckpointError as exc:
        messages.append(explain(exc))
    for explanation in messages:
        assert "--" not in explanation.text, explanation.text


def test_a_stopped_runs_options_come_back_from_the_dialog_so_running_again_continues_it(qtbot) -> None:
    """The window opens the run dialog with the stopped run's options: unchanged, they continue that run exactly
    (``TrackingRun.continues``)."""
    from app.tracking_run import TrackingRun

    stored = {"detector": "/data/det.txt", "classes": ["person"], "conf": 0.3, "device": "cpu"}
    for engine, options in (("bytetrack", stored), ("smot", {**stored, "motion": False}),
                            ("bytetrack", {**stored, "link": True}), ("smot", {**stored, "link": False})):
        dialog = RunDialog(engine, 100, 40, options)
        qtbot.addWidget(dialog)
        run = TrackingRun(EngineOptions.from_dict(engine, options), 0, 100, 40)
        assert run.continues(dialog.options(), dialog.frame_range()[0]), (engine, options)
        dialog.conf.setValue(0.5)
        assert not run.continues(dialog.options(), dialog.frame_range()[0])

"""Dialogs: run a tracker, import and export labels, preferences, the keyboard shortcut sheet."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
    QFormLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget, QListWidgetItem, QMessageBox,
    QPushButton, QRadioButton, QSlider, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from app.gui.errors import in_gui_words
from app.gui.settings import Preferences
from app.gui.tracking_worker import ENGINE_LABELS
from tracker.engine_options import SAM2_ENGINES, EngineOptions
from exporters import registry
from tracker.engines import LINKED_BY_DEFAULT
from tracker.errors import MaskletError

SAM2_MODELS = ("tiny", "small", "base_plus", "large")
DEVICES = ("auto", "cpu", "cuda", "mps")
DEFAULT_DETECTOR = "yolo11n.pt"


def _buttons(dialog: QDialog, ok_text: str) -> QDialogButtonBox:
    """OK (the default: Enter presses it wherever the focus is) and Cancel."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
    ok.setText(ok_text)
    ok.setDefault(True)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


def _browse_button(text: str) -> QPushButton:
    """A button that opens a file browser; never the dialog's default, so Enter does not reopen it."""
    button = QPushButton(text)
    button.setAutoDefault(False)
    return button


def _path_row(edit: QLineEdit, *choosers: tuple[str, Any]) -> QWidget:
    """A path field with "Browse" buttons (label, callable returning a path or "")."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    for text, choose in choosers:
        button = _browse_button(text)

        def pick(_: bool = False, choose: Any = choose) -> None:
            path = choose()
            if path:
                edit.setText(path)

        button.clicked.connect(pick)
        layout.addWidget(button)
    return row


def _add_formats(combo: QComboBox, formats: Mapping[str, ModuleType]) -> None:
    """One item per format, its description as the tooltip."""
    for name, module in formats.items():
        combo.addItem(name, name)
        combo.setItemData(combo.count() - 1, getattr(module, "DESCRIPTION", ""), Qt.ItemDataRole.ToolTipRole)


def _frame_range(frame_count: int) -> tuple[QSpinBox, QSpinBox]:
    first, last = QSpinBox(), QSpinBox()
    for spin in (first, last):
        spin.setRange(0, max(frame_count - 1, 0))
    last.setValue(max(frame_count - 1, 0))
    return first, last


# ---------------------------------------------------------------------------------------------- run
class RunDialog(QDialog):
    """Engine, detector, classes, SAM2 model, device and frame range of a tracking run."""

    def __init__(
        self, engine: str, frame_count: int, start: int, defaults: Mapping[str, Any], detectors: Iterable[str] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Run tracker")
        self.engine = QComboBox()
        for name, label in ENGINE_LABELS.items():
            self.engine.addItem(label, name)
        self.engine.setCurrentIndex(max(0, self.engine.findData(engine)))
        self.detector = QComboBox()
        self.detector.setEditable(True)
        for item in dict.fromkeys([defaults.get("detector") or DEFAULT_DETECTOR, *detectors, DEFAULT_DETECTOR]):
            self.detector.addItem(item)
        self.classes = QLineEdit(", ".join(defaults.get("classes") or []))
        self.classes.setPlaceholderText("all classes (e.g. person, car)")
        self.conf = QDoubleSpinBox()
        self.conf.setRange(0.0, 1.0)
        self.conf.setSingleStep(0.05)
        self.conf.setSpecialValueText("engine default")
        self.conf.setValue(float(defaults.get("conf") or 0.0))
        self.sam2 = QComboBox()
        self.sam2.setEditable(True)
        self.sam2.addItems(SAM2_MODELS)
        self.sam2.setCurrentText(str(defaults.get("sam2") or "tiny"))
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setCurrentText(str(defaults.get("device") or "auto"))
        self.first, self.last = _frame_range(frame_count)
        self.first.setValue(start)
        self.image_size = QSpinBox()
        self.image_size.setRange(0, 2048)
        self.image_size.setSingleStep(64)
        self.image_size.setSpecialValueText("model default")
        self.image_size.setValue(int(defaults.get("image_size") or 0))
        self.random_init = QCheckBox("untrained SAM2 (testing only: masks are meaningless)")
        self.random_init.setChecked(bool(defaults.get("random_init")))
        self.clip_len = QSpinBox()
        self.clip_len.setRange(0, 1000)
        self.clip_len.setSpecialValueText("engine default (13)")
        self.clip_len.setValue(int(defaults.get("clip_len") or 0))
        self.tiles = QSpinBox()
        self.tiles.setRange(0, 4096)
        self.tiles.setSingleStep(64)
        self.tiles.setSpecialValueText("whole frame only")
        self.tiles.setValue(int(defaults.get("tiles") or 0))
        self.tile_overlap = QDoubleSpinBox()
        self.tile_overlap.setRange(0.0, 0.9)
        self.tile_overlap.setSingleStep(0.05)
        self.tile_overlap.setValue(float(defaults.get("tile_overlap") or 0.2))
        self.modules = {
            key: QCheckBox(label) for key, label in (
                ("addition_filter", "Addition filter (confidence, untracked region)"),
                ("cross_object", "Cross-object interaction (occlusion conflicts)"),
                ("reconstruction", "Quality reconstruction (key-frame refresh)"),
            )
        }
        for key, box in self.modules.items():
            box.setChecked(defaults.get(key, True) is not False)
        self.link = QCheckBox("link tracklets after occlusions by appearance")
        self._link_default = defaults.get("link")
        self.motion = QCheckBox("motion assistance (optical flow)")
        self.motion.setChecked(defaults.get("motion", True) is not False)

        form = QFormLayout()
        form.addRow("Engine", self.engine)
        form.addRow("Detector", self._detector_row())
        form.addRow("Classes", self.classes)
        form.addRow("Confidence", self.conf)
        self._sam2_row = self._sam2_widget()
        form.addRow("SAM2 model", self._sam2_row)
        form.addRow("Device", self.device)
        form.addRow("Linking", self.link)
        form.addRow("SMOT", self.motion)
        frames = QHBoxLayout()
        frames.addWidget(self.first)
        frames.addWidget(QLabel("to"))
        frames.addWidget(self.last)
        form.addRow("Frames", frames)
        advanced = QGroupBox("Advanced")
        advanced_form = QFormLayout(advanced)
        advanced_form.addRow("SAM2 input size", self.image_size)
        advanced_form.addRow(self.random_init)
        self._advanced = advanced
        modules = QGroupBox("SAM2MOT modules (switch off for ablations)")
        modules_layout = QVBoxLayout(modules)
        for box in self.modules.values():
            modules_layout.addWidget(box)
        self._modules = modules
        clips = QGroupBox("SMOTracker")
        clips_form = QFormLayout(clips)
        clips_form.addRow("Clip length (frames)", self.clip_len)
        clips_form.addRow("Detection tiles (px)", self.tiles)
        clips_form.addRow("Tile overlap", self.tile_overlap)
        self._smotracker = clips
        note = QLabel("A run is saved frame by frame as it goes and is not undone by Undo: Stop keeps the finished "
                      "frames, and running again continues from the first unfinished one.")
        note.setWordWrap(True)
        note.setObjectName("hint")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(modules)
        layout.addWidget(clips)
        layout.addWidget(note)
        layout.addWidget(advanced)
        layout.addWidget(_buttons(self, "Run"))
        self.engine.currentIndexChanged.connect(self._update_enabled)
        self.engine.currentIndexChanged.connect(self._update_link)
        self._update_enabled()
        self._update_link()

    def _detector_row(self) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.detector, 1)
        for text, folder in (("File…", False), ("Folder…", True)):
            button = _browse_button(text)
            button.clicked.connect(lambda _=False, folder=folder: self._browse_detector(folder))
            layout.addWidget(button)
        return row

    def _sam2_widget(self) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.sam2, 1)
        button = _browse_button("Checkpoint…")
        button.clicked.connect(self._browse_checkpoint)
        layout.addWidget(button)
        return row

    def _browse_detector(self, folder: bool) -> None:
        if folder:
            path = QFileDialog.getExistingDirectory(self, "Exported detector folder (OpenVINO, …)")
        else:
            path, _ = QFileDialog.getOpenFileName(
                self, "Detector weights or detections", "", "Detectors (*.pt *.onnx *.engine *.txt);;All files (*)")
        if path:
            self.detector.setCurrentText(path)

    def _browse_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "SAM2 checkpoint", "", "Checkpoints (*.pt);;All files (*)")
        if path:
            self.sam2.setCurrentText(path)

    def _update_enabled(self) -> None:
        sam2 = self.engine.currentData() in SAM2_ENGINES
        self._sam2_row.setEnabled(sam2)
        self._advanced.setEnabled(sam2)
        self._modules.setEnabled(self.engine.currentData() == "sam2mot")
        self._smotracker.setEnabled(self.engine.currentData() == "smotracker")
        self.motion.setEnabled(self.engine.currentData() == "smot")

    def _update_link(self) -> None:
        """The linker as the project's run had it, else the engine's default."""
        default = self.engine.currentData() in LINKED_BY_DEFAULT
        self.link.setChecked(default if self._link_default is None else bool(self._link_default))
        self._link_default = None

    def engine_name(self) -> str:
        return str(self.engine.currentData())

    def frame_range(self) -> tuple[int, int]:
        """``(start, end)`` with ``end`` exclusive."""
        return self.first.value(), max(self.first.value(), self.last.value()) + 1

    def options(self) -> EngineOptions:
        """The chosen engine and its options; unset ones take the engine's defaults."""
        classes = tuple(c.strip() for c in self.classes.text().split(",") if c.strip())
        options: dict[str, Any] = {
            "detector": self.detector.currentText().strip() or DEFAULT_DETECTOR,
            "classes": classes or None,
            "conf": self.conf.value() or None,
            "device": self.device.currentText(),
        }
        if self.link.isChecked() != (self.engine_name() in LINKED_BY_DEFAULT):
            options["link"] = self.link.isChecked()
        if self.engine_name() == "smot" and not self.motion.isChecked():
            options["motion"] = False
        if self.engine_name() in SAM2_ENGINES:
            options |= {
                "sam2": self.sam2.currentText().strip() or "tiny",
                "image_size": self.image_size.value() or None,
                "random_init": self.random_init.isChecked() or None,
            }
        if self.engine_name() == "sam2mot":
            options |= {key: False for key, box in self.modules.items() if not box.isChecked()}
        if self.engine_name() == "smotracker":
            options |= self._smotracker_options()
        return EngineOptions(self.engine_name(), **{key: value for key, value in options.items() if value is not None})

    def _smotracker_options(self) -> dict[str, Any]:
        tiles = self.tiles.value() or None
        return {"clip_len": self.clip_len.value() or None, "tiles": tiles,
                "tile_overlap": self.tile_overlap.value() if tiles else None}

    def settings(self) -> dict[str, Any]:
        """Every field, whichever engine it applies to: remembered for the next run, so running ByteTrack
        keeps the SAM2 model, input size and module switches chosen earlier."""
        return {
            **self.options().to_dict(),
            "sam2": self.sam2.currentText().strip() or "tiny",
            "image_size": self.image_size.value() or None,
            "random_init": self.random_init.isChecked(),
            **{key: box.isChecked() for key, box in self.modules.items()},
            **self._smotracker_options(),
        }


# ------------------------------------------------------------------------------------ import/export
@dataclass(frozen=True)
class ExportRequest:
    module: ModuleType
    path: Path
    frames: tuple[int, int | None] | None
    track_ids: list[int] | None
    category_ids: list[int] | None


class ExportDialog(QDialog):
    """Format, output, frame range, tracks and classes of an export."""

    def __init__(
        self, formats: Mapping[str, ModuleType], frame_count: int, categories: Mapping[int, str],
        selected_tracks: list[int], base: Path, parent: QWidget | None = None,
    ) -> None:
        """``base``: the default output path without the format (``<folder>/<video name>``)."""
        super().__init__(parent)
        self.setWindowTitle("Export labels")
        self._formats = dict(formats)
        self._base = base
        self.format = QComboBox()
        _add_formats(self.format, self._formats)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setObjectName("hint")
        self.path = QLineEdit()
        self._path_edited = False
        self.path.textEdited.connect(lambda _: setattr(self, "_path_edited", True))
        self.all_frames = QRadioButton("All frames")
        self.some_frames = QRadioButton("Frames")
        self.all_frames.setChecked(True)
        self.first, self.last = _frame_range(frame_count)
        self.all_tracks = QRadioButton("All tracks")
        self.selected_tracks = QRadioButton(f"Selected tracks ({len(selected_tracks)})")
        self.selected_tracks.setEnabled(bool(selected_tracks))
        self.all_tracks.setChecked(True)
        self._selected = list(selected_tracks)
        for group in ((self.all_frames, self.some_frames), (self.all_tracks, self.selected_tracks)):
            buttons = QButtonGroup(self)
            for button in group:
                buttons.addButton(button)
        self.classes = QListWidget()
        self.classes.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.classes.setMaximumHeight(120)
        for category_id, name in sorted(categories.items()):
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, category_id)
            item.setCheckState(Qt.CheckState.Checked)
            self.classes.addItem(item)
        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("", self.description)
        form.addRow("Output", _path_row(self.path, ("Browse…", self._browse)))
        frames = QHBoxLayout()
        frames.addWidget(self.all_frames)
        frames.addWidget(self.some_frames)
        frames.addWidget(self.first)
        frames.addWidget(QLabel("to"))
        frames.addWidget(self.last)
        form.addRow("Frames", frames)
        tracks = QHBoxLayout()
        tracks.addWidget(self.all_tracks)
        tracks.addWidget(self.selected_tracks)
        form.addRow("Tracks", tracks)
        if categories:
            form.addRow("Classes", self.classes)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(_buttons(self, "Export"))
        self.format.currentIndexChanged.connect(self._on_format)
        self._on_format()

    def _on_format(self) -> None:
        name = self.format.currentData()
        self.description.setText(getattr(self._formats.get(name), "DESCRIPTION", ""))
        if not self._path_edited:
            self.path.setText(f"{self._base}-{name}{self._formats[name].OUTPUT_SUFFIX}")

    def _browse(self) -> str:
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text())
        self._path_edited = self._path_edited or bool(path)
        return path

    def request(self) -> ExportRequest:
        frames = (self.first.value(), self.last.value()) if self.some_frames.isChecked() else None
        tracks = self._selected if self.selected_tracks.isChecked() else None
        checked = [
            self.classes.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.classes.count())
            if self.classes.item(i).checkState() == Qt.CheckState.Checked
        ]
        categories = None if len(checked) == self.classes.count() else checked
        name = self.format.currentData()
        return ExportRequest(self._formats[name], Path(self.path.text()).expanduser(), frames, tracks, categories)


@dataclass(frozen=True)
class ImportRequest:
    module: ModuleType
    path: Path
    options: dict[str, Any]


class ImportDialog(QDialog):
    """A label file or folder, its format (detected by default) and its frame numbering."""

    AUTO = "detect"

    def __init__(self, formats: Mapping[str, ModuleType], start_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import labels")
        self._formats = dict(formats)
        self._start_dir = start_dir
        self.path = QLineEdit()
        self.format = QComboBox()
        self.format.addItem("detect from the file", self.AUTO)
        _add_formats(self.format, self._formats)
        self.frame_base = QComboBox()
        self.frame_base.addItem("detect (a frame 0 means 0-based)", None)
        self.frame_base.addItem("1-based (MOTChallenge)", 1)
        self.frame_base.addItem("0-based", 0)
        self.video_name = QLineEdit()
        self.video_name.setPlaceholderText("only for a COCO-VID file with several videos")
        form = QFormLayout()
        form.addRow("Labels", _path_row(self.path, ("File…", self._browse_file), ("Folder…", self._browse_folder)))
        form.addRow("Format", self.format)
        form.addRow("Frame numbers", self.frame_base)
        form.addRow("Video name", self.video_name)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        note = QLabel("Imported tracks keep their ids; an id already in the project gets the imported boxes too. "
                      "Undo removes the import.")
        note.setWordWrap(True)
        note.setObjectName("hint")
        layout.addWidget(note)
        layout.addWidget(_buttons(self, "Import"))

    def _browse_file(self) -> str:
        path, _ = QFileDialog.getOpenFileName(self, "Label file", str(self._start_dir),
                                              "Labels (*.txt *.json *.yaml);;All files (*)")
        return path

    def _browse_folder(self) -> str:
        return QFileDialog.getExistingDirectory(self, "Label folder (MOT sequence, YOLO…)", str(self._start_dir))

    def accept(self) -> None:
        """Close only on a label file that exists and whose format is known; else say why and stay open."""
        text = self.path.text().strip()
        problem = "Choose the label file or folder to import (Labels)." if not text else None
        if problem is None and not Path(text).expanduser().exists():
            problem = f"{text}: no such file or folder."
        if problem is None:
            try:
                self.request()
            except MaskletError as exc:
                problem = in_gui_words(str(exc))
        if problem is not None:
            QMessageBox.warning(self, "Import labels", problem)
            return
        super().accept()

    def request(self) -> ImportRequest:
        """The chosen file, format and reader options (``UnknownFormatError`` when detection fails)."""
        path = Path(self.path.text().strip()).expanduser()
        name = self.format.currentData()
        if name == self.AUTO:
            name = registry.guess_format(path)
        options = {"frame_base": self.frame_base.currentData(), "video_name": self.video_name.text().strip() or None}
        return ImportRequest(self._formats[name], path, {k: v for k, v in options.items() if v is not None})


# -------------------------------------------------------------------------------------- preferences
class PreferencesDialog(QDialog):
    """Where new projects go, how masks look, and (``edit_shortcuts``) a button to the shortcut editor."""

    def __init__(self, preferences: Preferences, parent: QWidget | None = None,
                 edit_shortcuts: Callable[[], object] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self._preferences = preferences
        self.beside = QCheckBox("Save a new project beside its video (when that folder is writable)")
        self.beside.setChecked(preferences.projects_beside_video)
        self.folder = QLineEdit(str(preferences.data_dir))
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(5, 95)
        self.opacity.setValue(round(preferences.mask_opacity * 100))
        form = QFormLayout()
        form.addRow(self.beside)
        browse = ("Browse…", lambda: QFileDialog.getExistingDirectory(self, "Projects folder", self.folder.text()))
        form.addRow("Other projects in", _path_row(self.folder, browse))
        form.addRow("Mask opacity", self.opacity)
        if edit_shortcuts is not None:
            shortcuts = QPushButton("Keyboard Shortcuts…")
            shortcuts.setAutoDefault(False)
            shortcuts.clicked.connect(lambda _=False: edit_shortcuts())
            form.addRow("Shortcuts", shortcuts)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(_buttons(self, "Save"))

    def accept(self) -> None:
        self._preferences.projects_beside_video = self.beside.isChecked()
        self._preferences.data_dir = Path(self.folder.text()).expanduser()
        self._preferences.mask_opacity = self.opacity.value() / 100
        super().accept()


# ------------------------------------------------------------------------------------------ shortcuts
def typed_keys(keys: Iterable[QKeySequence]) -> list[QKeySequence]:
    """The keys one types: without the dedicated keyboard keys that the platform's standard bindings add (Open,
    Save, Undo, Zoom In, F13 and up)."""
    return [s for s in keys if s.count() and s[0].key().value < Qt.Key.Key_F13.value]


def shortcut_rows(menus: Mapping[str, Iterable[QAction]]) -> list[tuple[str, str, str]]:
    """``(menu, action, keys)`` for every action with a shortcut one types (``typed_keys``)."""
    rows = []
    for menu, actions in menus.items():
        for action in actions:
            keys = [s.toString(QKeySequence.SequenceFormat.NativeText) for s in typed_keys(action.shortcuts())]
            if keys:
                rows.append((menu, action.text().replace("&", ""), ", ".join(keys)))
    return rows


class ShortcutSheet(QDialog):
    """Every action with a shortcut, by menu."""

    def __init__(self, menus: Mapping[str, Iterable[QAction]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(menus)
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Menu", "Action", "Shortcut"])
        for row, values in enumerate(rows):
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 620)

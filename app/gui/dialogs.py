"""Dialogs: import and export labels, preferences; the form helpers the other dialogs share."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
    QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QMessageBox, QPushButton, QRadioButton, QSlider,
    QSpinBox, QVBoxLayout, QWidget,
)

from app.gui.errors import in_gui_words
from app.gui.settings import Preferences
from exporters import registry
from tracker.errors import MaskletError


def dialog_buttons(dialog: QDialog, ok_text: str) -> QDialogButtonBox:
    """OK (the default: Enter presses it wherever the focus is) and Cancel."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
    ok.setText(ok_text)
    ok.setDefault(True)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


def browse_button(text: str) -> QPushButton:
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
        button = browse_button(text)

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


def frame_spin_boxes(frame_count: int) -> tuple[QSpinBox, QSpinBox]:
    first, last = QSpinBox(), QSpinBox()
    for spin in (first, last):
        spin.setRange(0, max(frame_count - 1, 0))
    last.setValue(max(frame_count - 1, 0))
    return first, last


# ------------------------------------------------------------------------------------ import/export
@dataclass(frozen=True)
class ExportRequest:
    module: ModuleType
    path: Path
    frames: tuple[int, int | None] | None  # half-open [start, stop)
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
        self.first, self.last = frame_spin_boxes(frame_count)
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
        layout.addWidget(dialog_buttons(self, "Export"))
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
        frames = (self.first.value(), self.last.value() + 1) if self.some_frames.isChecked() else None
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
        layout.addWidget(dialog_buttons(self, "Import"))

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
        layout.addWidget(dialog_buttons(self, "Save"))

    def accept(self) -> None:
        self._preferences.projects_beside_video = self.beside.isChecked()
        self._preferences.data_dir = Path(self.folder.text()).expanduser()
        self._preferences.mask_opacity = self.opacity.value() / 100
        super().accept()

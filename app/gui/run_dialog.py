"""The Run tracker dialog: engine, detector, classes, SAM2 model, device, engine modules and frame range."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
    QLineEdit, QSpinBox, QVBoxLayout, QWidget,
)

from app.gui.dialogs import browse_button, dialog_buttons, frame_spin_boxes
from app.gui.tracking_worker import ENGINE_LABELS
from tracker.engine_options import SAM2_ENGINES, EngineOptions
from tracker.engines import LINKED_BY_DEFAULT
from tracker.models import MODEL_NAMES

DEVICES = ("auto", "cpu", "cuda", "mps")
DEFAULT_DETECTOR = "yolo11n.pt"


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
        self.sam2.addItems(MODEL_NAMES)
        self.sam2.setCurrentText(str(defaults.get("sam2") or "tiny"))
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setCurrentText(str(defaults.get("device") or "auto"))
        self.first, self.last = frame_spin_boxes(frame_count)
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
        layout.addWidget(dialog_buttons(self, "Run"))
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
            button = browse_button(text)
            button.clicked.connect(lambda _=False, folder=folder: self._browse_detector(folder))
            layout.addWidget(button)
        return row

    def _sam2_widget(self) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.sam2, 1)
        button = browse_button("Checkpoint…")
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

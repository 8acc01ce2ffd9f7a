"""The corrections panel: the open prompt session (track, frame, clicks, the memory rebuilt so far), how far
a propagation reaches, and the speed settings (SAM2 model, input size, device). It shows state and emits
intents; it runs nothing."""
from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

REACHES = (("next key frame", "To the next key frame"), ("end", "To the end"), ("frame", "To frame…"))
"""Reach values (``app.correction.Reach``) → what the menu shows."""


class PromptPanel(QWidget):
    """Shows an interactive correction and its settings; emits what the annotator asks for."""

    propagateRequested = Signal()
    discardRequested = Signal()
    reachChanged = Signal(str, int)  # reach value, the frame for "frame"
    backwardChanged = Signal(bool)
    modelChanged = Signal(str)  # a model name or a checkpoint's path
    imageSizeChanged = Signal(int)  # 0: the model's own

    def __init__(self, model_names: Sequence[str], parent: QWidget | None = None) -> None:
        """``model_names``: the SAM2 models offered (a checkpoint's path can be typed too)."""
        super().__init__(parent)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.replay = QProgressBar()
        self.replay.setFormat("memory %v / %m frames")
        self.replay.hide()
        self.reach = QComboBox()
        for value, text in REACHES:
            self.reach.addItem(text, value)
        self.to_frame = QSpinBox()
        self.to_frame.setRange(0, 10_000_000)
        self.to_frame.setEnabled(False)
        self.backward = QCheckBox("Also backward")
        self.backward.setToolTip("Also track the object back to just after its previous key frame (or the start)")
        self.range = QLabel()
        self.propagate = QPushButton("Propagate")
        self.propagate.setToolTip("Propagate the corrected track over the frames shown (Enter)")
        self.discard = QPushButton("Discard")
        self.discard.setToolTip("Forget the prompts; nothing changes (Esc)")
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.addItems(list(model_names))
        self.model.setToolTip("SAM2 model: tiny is fastest; or the path of a .pt checkpoint")
        self.image_size = QSpinBox()
        self.image_size.setRange(0, 2048)
        self.image_size.setSingleStep(64)
        self.image_size.setSpecialValueText("model default")
        self.image_size.setSuffix(" px")
        self.image_size.setToolTip("SAM2 input size for corrections: smaller is faster")
        self.device = QLabel("…")
        for combo in (self.reach, self.model):  # the panel may be narrow
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(6)

        reach = QHBoxLayout()
        reach.addWidget(self.reach, 1)
        reach.addWidget(self.to_frame)
        buttons = QHBoxLayout()
        buttons.addWidget(self.propagate)
        buttons.addWidget(self.discard)
        form = QFormLayout()
        form.addRow("Propagate", reach)
        form.addRow("", self.backward)
        form.addRow("Frames", self.range)
        form.addRow("SAM2 model", self.model)
        form.addRow("Input size", self.image_size)
        form.addRow("Device", self.device)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.replay)
        layout.addLayout(buttons)
        layout.addLayout(form)
        layout.addStretch(1)

        self.propagate.clicked.connect(self.propagateRequested)
        self.discard.clicked.connect(self.discardRequested)
        self.reach.currentIndexChanged.connect(self._emit_reach)
        self.to_frame.valueChanged.connect(self._emit_reach)
        self.backward.toggled.connect(self.backwardChanged)
        self.model.currentTextChanged.connect(lambda text: self.modelChanged.emit(text.strip() or "tiny"))
        self.image_size.valueChanged.connect(self.imageSizeChanged)
        self.show_session(None)

    def _emit_reach(self) -> None:
        value = self.reach.currentData()
        self.to_frame.setEnabled(value == "frame")
        self.reachChanged.emit(value, self.to_frame.value())

    def set_speed(self, model: str, image_size: int | None) -> None:
        """Show the SAM2 model and input size corrections use (no signals)."""
        for widget, setter, value in ((self.model, self.model.setCurrentText, model),
                                      (self.image_size, self.image_size.setValue, image_size or 0)):
            widget.blockSignals(True)
            setter(value)
            widget.blockSignals(False)

    def set_device(self, text: str) -> None:
        self.device.setText(text)

    def show_session(self, text: str | None) -> None:
        """The open session in words (None: none is open)."""
        self.status.setText(text or "Select a track, pick a point tool (3, 4) and click on the object: green +"
                                    " adds, right or Shift click (red −) removes. Nothing selected: a new track.")
        self.propagate.setEnabled(text is not None)
        self.discard.setEnabled(text is not None)
        if text is None:
            self.replay.hide()

    def show_replay(self, done: int, total: int) -> None:
        """The track's memory rebuilt so far (hidden once complete)."""
        self.replay.setRange(0, total)
        self.replay.setValue(done)
        self.replay.setVisible(done < total)

    def show_range(self, first: int, last: int) -> None:
        """The frames a propagation covers (-1: no session)."""
        self.range.setText("–" if first < 0 else f"{first} → {last}")

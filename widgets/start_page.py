"""What the window shows before anything is open: how to start, and the recent projects."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QScrollArea, QVBoxLayout, QWidget,
)

HOW_TO = (
    "Open a video, an image folder or a MOTChallenge sequence: its project is created beside it and every "
    "change is saved as you make it. Run a tracker (Track menu) to pre-label it, or import labels you have "
    "(File ▸ Import). Then review: the timeline shows each track's state (reliable, pending, suspicious, lost) "
    "and its ID conflicts (N jumps to the next one); fix IDs from the Edit menu or the track table's right-click "
    "menu, draw or correct boxes, click on an object to correct its SAM2 mask. Export (File ▸ Export) writes "
    "MOTChallenge, MOTS, COCO-VID, YOLO or CVAT labels. Help ▸ User Guide has the whole workflow and every "
    "shortcut."
)


class StartPage(QScrollArea):
    """Buttons to open a video, a folder or a project, and the recent projects; emits what to open. It scrolls
    rather than setting a minimum width on the window."""

    openVideo = Signal()
    openFolder = Signal()
    openProject = Signal()
    openPath = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("Masklet")
        title.setObjectName("startTitle")
        title.setStyleSheet("font-size: 22pt; font-weight: 600")
        how_to = QLabel(HOW_TO)
        how_to.setWordWrap(True)
        how_to.setObjectName("hint")
        buttons = QHBoxLayout()
        for text, signal in (("Open Video…", self.openVideo), ("Open Image Folder…", self.openFolder),
                             ("Open Project…", self.openProject)):
            button = QPushButton(text)
            button.clicked.connect(signal.emit)
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.recent = QListWidget()
        self.recent.itemActivated.connect(lambda item: self.openPath.emit(item.data(Qt.ItemDataRole.UserRole)))
        content = QWidget()
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        column = QVBoxLayout(content)
        column.setContentsMargins(48, 40, 48, 40)
        column.setSpacing(14)
        column.addWidget(title)
        column.addWidget(how_to)
        column.addLayout(buttons)
        column.addWidget(QLabel("Recent projects"))
        column.addWidget(self.recent, 1)

    def set_recent(self, paths: Iterable[str]) -> None:
        """The recent projects, newest first (double-click or Enter opens one)."""
        self.recent.clear()
        for item in paths:
            path = Path(item)
            entry = QListWidgetItem(f"{path.name}    {path.parent}")
            entry.setData(Qt.ItemDataRole.UserRole, item)
            entry.setToolTip(item)
            self.recent.addItem(entry)

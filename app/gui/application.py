"""The application object, its dark theme, and ``run_app`` (what ``masklet open`` calls)."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

import resources
from app.gui.errors import install_excepthook
from app.gui.main_window import MainWindow
from app.gui.settings import APPLICATION, ORGANIZATION

_log = logging.getLogger(__name__)

_PALETTE = {
    QPalette.ColorRole.Window: "#0d1117",
    QPalette.ColorRole.WindowText: "#e6edf3",
    QPalette.ColorRole.Base: "#0d1117",
    QPalette.ColorRole.AlternateBase: "#121820",
    QPalette.ColorRole.ToolTipBase: "#161b22",
    QPalette.ColorRole.ToolTipText: "#e6edf3",
    QPalette.ColorRole.Text: "#e6edf3",
    QPalette.ColorRole.Button: "#21262d",
    QPalette.ColorRole.ButtonText: "#e6edf3",
    QPalette.ColorRole.BrightText: "#ffffff",
    QPalette.ColorRole.Highlight: "#1f6feb",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#58a6ff",
    QPalette.ColorRole.PlaceholderText: "#6e7681",
}


def apply_theme(app: QApplication) -> None:
    """Fusion style, a dark palette and ``resources/dark.qss``."""
    app.setStyle("Fusion")
    palette = QPalette()
    for role, color in _PALETTE.items():
        palette.setColor(role, QColor(color))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#6e7681"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#6e7681"))
    app.setPalette(palette)
    style = resources.path("dark.qss").read_text(encoding="utf-8")
    app.setStyleSheet(style.replace("url(RESOURCES/", f"url({resources.ROOT.as_posix()}/"))  # QSS urls are not relative


def create_application() -> QApplication:
    """The running ``QApplication`` (created, named and themed if there is none yet)."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    apply_theme(app)
    return app


def run_app(path: Path | None = None, *, frame: int | None = None, screenshot: Path | None = None) -> int:
    """Show the main window (opening ``path``: a video, an image folder or a project) until it closes,
    at ``frame`` (None: where the project was left).

    ``screenshot``: save a PNG of the window once it is shown, then close it.
    """
    app = create_application()
    window = MainWindow()
    if path is not None:
        window.sessions.open_path(path)
        if frame is not None:
            window.playback.seek(frame)
    window.show()
    if screenshot is None:
        install_excepthook()
        window.probe_device()
    else:
        def capture() -> None:
            window.save_screenshot(screenshot)
            window.close()  # the last window: the event loop ends

        QTimer.singleShot(500, capture)
    _log.info("Qt platform: %s", app.platformName())
    return app.exec()

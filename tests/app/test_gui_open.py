"""``masklet open``: the command starts the window on a video (with a new project beside it), and the Qt
environment is clean whatever order OpenCV and Qt are imported in."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, QStandardPaths  # noqa: E402

from app.cli import main  # noqa: E402
from tracker.opencv import clean_qt_environment, cv2  # noqa: E402


@pytest.fixture
def user_settings(tmp_path: Path):
    """Point the application's QSettings at ``tmp_path`` (they would go to ~/.config otherwise)."""
    home = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "config"))
    yield tmp_path / "config"
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, home)


def test_masklet_open_video_starts_the_window_with_a_new_project(qapp, tmp_path: Path, shared_data: Path,
                                                                 user_settings: Path) -> None:
    video = tmp_path / "highway.mp4"
    shutil.copy(shared_data / "highway" / "highway.mp4", video)
    screenshot = tmp_path / "window.png"
    assert main(["open", str(video), "--frame", "3", "--screenshot", str(screenshot)]) == 0
    assert screenshot.stat().st_size > 10_000
    assert (tmp_path / "highway.masklet").is_file()  # beside the video, saved by construction
    settings = list(user_settings.rglob("*.conf")) + list(user_settings.rglob("*.ini"))
    assert settings and "highway.masklet" in settings[0].read_text()  # the recent files, in the temp settings


def test_masklet_open_missing_path_is_a_one_line_error(capsys) -> None:
    assert main(["open", "/nowhere/video.mp4"]) == 2
    assert "no such file or folder" in capsys.readouterr().err


@pytest.mark.parametrize("first", ["cv2", "gui"])
def test_gui_starts_whatever_order_cv2_and_qt_are_imported_in(first: str) -> None:
    imports = "import cv2; import app.gui" if first == "cv2" else "import app.gui; import cv2"
    code = (f"{imports}; import os; from app.gui.application import create_application; "
            "app = create_application(); "
            "print(app.platformName(), *map(os.environ.get, ('QT_QPA_PLATFORM_PLUGIN_PATH', 'QT_QPA_FONTDIR')))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_QPA_PLATFORM_PLUGIN") and k != "QT_QPA_FONTDIR"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["offscreen", "None", "None"]


def test_clean_qt_environment_keeps_the_users_own_plugin_path(monkeypatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM_PLUGIN_PATH", "/opt/qt/plugins")
    monkeypatch.setenv("QT_QPA_FONTDIR", str(Path(cv2.__file__).parent / "qt" / "fonts"))
    clean_qt_environment()
    assert os.environ["QT_QPA_PLATFORM_PLUGIN_PATH"] == "/opt/qt/plugins"
    assert "QT_QPA_FONTDIR" not in os.environ

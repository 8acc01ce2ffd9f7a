"""OpenCV for the whole program, imported with its side effect on Qt undone.

The ``opencv-python`` wheel points ``QT_QPA_PLATFORM_PLUGIN_PATH`` (and ``QT_QPA_FONTDIR``) at its own
bundled Qt when ``cv2`` is first imported; PySide6 then fails to load its xcb platform plugin on Linux
desktops. Every module takes ``cv2`` from here, so the variables are cleaned whichever of OpenCV,
Ultralytics and Qt is imported first. Values the user set (not inside OpenCV's package) are kept.
"""
from __future__ import annotations

import os
from pathlib import Path

OPENCV_QT_VARIABLES = ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR")
_before_import = {name: os.environ.get(name) for name in OPENCV_QT_VARIABLES}

import cv2  # noqa: E402  (after recording the variables it may overwrite)


def clean_qt_environment(previous: dict[str, str | None] | None = None) -> None:
    """Restore ``previous`` values of the Qt variables, then drop any that point inside OpenCV."""
    os.environ.update({name: value for name, value in (previous or {}).items() if value is not None})
    opencv_dir = Path(cv2.__file__).resolve().parent
    for name in OPENCV_QT_VARIABLES:
        value = os.environ.get(name)
        if value and Path(value).resolve().is_relative_to(opencv_dir):
            del os.environ[name]


clean_qt_environment(_before_import)

__all__ = ["cv2", "clean_qt_environment"]

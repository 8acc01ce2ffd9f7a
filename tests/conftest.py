"""Shared fixtures. Real data lives in ``../shared`` (or ``$MASKLET_SHARED``); never copied here."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _shared_dir() -> Path | None:
    candidate = Path(os.environ.get("MASKLET_SHARED", ROOT.parent / "shared"))
    return candidate if (candidate / "data").is_dir() else None


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared real-data folder. Fails in CI when missing, skips elsewhere."""
    path = _shared_dir()
    if path is None:
        message = "shared data folder not found (set MASKLET_SHARED or place shared/ beside the project)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def shared_data(shared: Path) -> Path:
    """``shared/data``: mot17-mini, tud, bdd100k-track, tao-sample, bedroom, highway."""
    return shared / "data"


@pytest.fixture(scope="session")
def openvino_detector_path(shared: Path) -> Path:
    """The real YOLOv8n int8 OpenVINO COCO detector."""
    return shared / "models" / "yolov8n_int8_openvino_model"

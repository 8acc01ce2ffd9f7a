"""Benchmarks behind ``masklet bench``: scripts that print numbers, one module per topic.

Each module defines ``register(subparsers)`` like the command modules in ``app.commands``.
"""
from __future__ import annotations

import os
from pathlib import Path

from tracker.errors import MaskletError

BENCH_MODULES = (
    "io", "engine", "track", "engines", "calibration", "tiling", "gui", "formats", "batch", "resume", "correction",
)
PROJECT_ROOT = Path(__file__).resolve().parents[2]


SHARED_DETECTOR = "yolov8n_int8_openvino_model"
"""The shared detector the benchmarks default to (in ``shared/models``)."""


def shared_data(*relative: str) -> list[Path]:
    """Files of the shared real-data folder (``$MASKLET_SHARED`` or ``../shared``), e.g. ``"highway/highway.mp4"``."""
    return _shared("data", relative)


def shared_model(name: str = SHARED_DETECTOR) -> Path:
    """A model of the shared folder (``$MASKLET_SHARED/models`` or ``../shared/models``)."""
    return _shared("models", (name,))[0]


def _shared(folder: str, relative: tuple[str, ...]) -> list[Path]:
    root = Path(os.environ.get("MASKLET_SHARED", PROJECT_ROOT.parent / "shared")) / folder
    paths = [root / item for item in relative]
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise MaskletError(f"{', '.join(missing)}: not found; set MASKLET_SHARED or pass the file explicitly")
    return paths

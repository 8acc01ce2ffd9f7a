"""Benchmarks behind ``masklet bench``: scripts that print numbers, one module per topic.

Each module defines ``register(subparsers)`` like the command modules in ``app.commands``.
"""
from __future__ import annotations

import os
from pathlib import Path

from tracker.errors import MaskletError

BENCH_MODULES = ("io", "engine", "track", "tiling", "gui", "formats")
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def shared_data(*relative: str) -> list[Path]:
    """Files of the shared real-data folder (``$MASKLET_SHARED`` or ``../shared``), e.g. ``"highway/highway.mp4"``."""
    root = Path(os.environ.get("MASKLET_SHARED", PROJECT_ROOT.parent / "shared")) / "data"
    paths = [root / item for item in relative]
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise MaskletError(f"{', '.join(missing)}: not found; set MASKLET_SHARED or pass the file explicitly")
    return paths

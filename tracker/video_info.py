"""What a video source is, without its frames: a value the document, the formats and the sources share
(no OpenCV here, so label formats load without it)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_FPS = 30.0
"""Frame rate used for image folders and for videos whose container gives none."""


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What a source is, without its frames."""

    path: Path
    name: str
    frame_count: int
    fps: float
    width: int
    height: int

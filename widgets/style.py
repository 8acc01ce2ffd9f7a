"""Colours shared by every view, so that a state or a manual edit looks the same everywhere."""
from __future__ import annotations

from PySide6.QtGui import QColor

from tracker.results import ObjectState

STATE_COLORS: dict[ObjectState, str] = {
    ObjectState.RELIABLE: "#3fb950",
    ObjectState.PENDING: "#d6b02a",
    ObjectState.SUSPICIOUS: "#f0883e",
    ObjectState.LOST: "#f85149",
}
"""Per-frame state colours (worse states are warmer)."""

STATE_LETTERS: dict[ObjectState, str] = {
    ObjectState.RELIABLE: "R",
    ObjectState.PENDING: "P",
    ObjectState.SUSPICIOUS: "S",
    ObjectState.LOST: "L",
}

MANUAL_COLOR = "#e6edf3"
"""Marks frames edited by hand."""
CONFLICT_COLOR = "#ff5cd6"
"""Links the two tracks of a conflict."""
RESOLVED_CONFLICT_COLOR = "#6e7681"
"""Links the two tracks of a conflict an annotator resolved."""
REVIEWED_COLOR = "#39c5cf"
"""Marks frames an annotator reviewed."""
CURSOR_COLOR = "#58a6ff"
"""The current frame."""
SELECTION_COLOR = "#58a6ff"


def state_color(state: ObjectState) -> QColor:
    return QColor(STATE_COLORS[ObjectState(state)])


def argb(color: str | QColor) -> int:
    """A colour as an opaque 0xAARRGGBB integer (the pixel layout of ``QImage.Format_RGB32``)."""
    return QColor(color).rgb() | 0xFF000000

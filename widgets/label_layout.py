"""Where the canvas puts each track's label: beside its box, inside the view, off small objects and off
each other (no Qt: rectangles are ``(x, y, w, h)`` in screen pixels)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Rect = tuple[float, float, float, float]

LABEL_OVERLAP_COST = 1000.0
"""Per label's area covered by a label placed before it: labels never pile up while there is room."""
BOX_COVER_COST = 300.0
"""Per box's area covered: a label that hides most of a small object costs as much as a third of a label."""
INSIDE_MIN_HEIGHTS = 3.0
"""A label goes inside its box only when the box is this many label heights tall (big objects)."""
_PREFERENCE = np.arange(16.0)
"""Added to the cost of the n-th spot: ties go to the preferred spot."""


def _candidates(box: Rect, size: tuple[float, float], view: tuple[float, float]) -> np.ndarray:
    """Positions to try, preferred first: above, below, inside the top (big boxes), then further off."""
    x, y, w, h = box
    lw, lh = size
    right = x + w - lw
    spots = [(x, y - lh), (x, y + h), (right, y - lh), (right, y + h)]
    if h >= INSIDE_MIN_HEIGHTS * lh and w >= lw:
        spots += [(x, y), (x, y + h - lh)]
    spots += [(x, y - lh * (k + 1)) for k in (1, 2)] + [(x, y + h + lh * k) for k in (1, 2)]
    spots = np.array(spots, np.float64)
    spots[:, 0] = np.clip(spots[:, 0], 0, max(0.0, view[0] - lw))  # inside the view
    spots[:, 1] = np.clip(spots[:, 1], 0, max(0.0, view[1] - lh))
    return spots


def _overlap(spots: np.ndarray, size: tuple[float, float], rects: np.ndarray) -> np.ndarray:
    """``(len(spots), len(rects))`` overlap areas of a label at each spot with each rectangle."""
    if rects.size == 0:
        return np.zeros((len(spots), 0))
    x0 = np.maximum(spots[:, None, 0], rects[None, :, 0])
    y0 = np.maximum(spots[:, None, 1], rects[None, :, 1])
    x1 = np.minimum(spots[:, None, 0] + size[0], rects[None, :, 0] + rects[None, :, 2])
    y1 = np.minimum(spots[:, None, 1] + size[1], rects[None, :, 1] + rects[None, :, 3])
    return np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)


def place_labels(
    boxes: Sequence[Rect], sizes: Sequence[tuple[float, float]], view: tuple[float, float],
    order: Sequence[int] | None = None,
) -> list[tuple[float, float]]:
    """Top-left corner of each box's label (``sizes[i]`` for ``boxes[i]``) inside a ``view`` of
    ``(width, height)``. Labels are placed one by one in ``order`` (the first ones get the best spots):
    each at the spot, among a few around its box, that covers the fewest labels already placed and the
    smallest share of any box, its own included."""
    box_array = np.array(boxes, np.float64).reshape(-1, 4)
    areas = np.maximum(box_array[:, 2] * box_array[:, 3], 1.0)
    placed = np.zeros((len(boxes), 4))
    positions: list[tuple[float, float]] = [(0.0, 0.0)] * len(boxes)
    for count, index in enumerate(order if order is not None else range(len(boxes))):
        size = sizes[index]
        spots = _candidates(boxes[index], size, view)
        label_area = max(size[0] * size[1], 1.0)
        cost = (
            LABEL_OVERLAP_COST * _overlap(spots, size, placed[:count]).sum(axis=1) / label_area
            + BOX_COVER_COST * (_overlap(spots, size, box_array) / areas).sum(axis=1)
            + _PREFERENCE[:len(spots)]
        )
        x, y = spots[int(np.argmin(cost))]
        positions[index] = (float(x), float(y))
        placed[count] = (x, y, *size)
    return positions

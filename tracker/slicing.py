"""Sliced (tiled) detection for small objects: any :class:`~tracker.detectors.Detector` run on
overlapping tiles at full resolution, the boxes mapped back to the frame and merged.

A detector with a fixed input size (e.g. 640) shrinks a 1280×720 frame by half, and distant cars
of 10–20 pixels shrink below what it can find. Tiles of about the detector's input size keep them
at full resolution. Tiles cover the whole frame: along each axis they are spread evenly from the
first edge to the last (edge tiles shifted inward), at least ``overlap`` of a tile apart.

Merging, per class, greedily by decreasing confidence: a box joins a kept box when their IoU
exceeds ``nms_iou`` (ordinary NMS: the kept box stays), or when one of them is *cut* (touches a
tile border inside the frame) and their intersection over the smaller box exceeds ``merge_ios``:
the kept box then becomes the union of both, so the part of a car cut by a border and the whole
car seen by the next tile give one full box. Two uncut boxes are never merged by IoS, so a small
car in front of a truck survives.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from tracker.detectors import Detections, Detector
from tracker.geometry import box_area, box_intersection

CUT_MARGIN = 2.0
"""A box edge this close (pixels) to a tile border inside the frame counts as cut by it."""


def tile_starts(length: int, tile: int, overlap: float) -> list[int]:
    """Start offsets of tiles of size ``tile`` covering ``0 .. length`` with at least ``overlap``
    (fraction of a tile) between neighbours; the first starts at 0 and the last ends at ``length``."""
    if length <= tile:
        return [0]
    step = tile * (1.0 - overlap)
    count = math.ceil((length - tile) / step) + 1
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def tile_grid(height: int, width: int, tile: int, overlap: float) -> list[tuple[int, int, int, int]]:
    """Tiles ``(x1, y1, x2, y2)`` covering an image, row by row."""
    return [
        (x, y, min(x + tile, width), min(y + tile, height))
        for y in tile_starts(height, tile, overlap)
        for x in tile_starts(width, tile, overlap)
    ]


def _overlaps(box: np.ndarray, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """IoU and intersection over the smaller box of one ``xyxy`` box with N others."""
    inter = box_intersection(box, others)[0]
    area, areas = box_area(box)[0], box_area(others)
    union = area + areas - inter
    smaller = np.minimum(area, areas)
    return (
        np.divide(inter, union, out=np.zeros_like(inter), where=union > 0),
        np.divide(inter, smaller, out=np.zeros_like(inter), where=smaller > 0),
    )


def merge_boxes(
    xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray, cut: np.ndarray, nms_iou: float, merge_ios: float
) -> tuple[np.ndarray, np.ndarray]:
    """Merge duplicate boxes (see the module docstring). Returns the indices of the kept boxes (by
    decreasing confidence) and their merged ``xyxy`` boxes."""
    kept: list[int] = []
    boxes = np.zeros((0, 4))
    kept_cut = np.zeros(0, dtype=bool)
    for i in np.argsort(-conf, kind="stable"):
        box = xyxy[i].astype(np.float64)
        iou, ios = _overlaps(box, boxes)
        same = cls[kept] == cls[i]
        joins_cut = same & (kept_cut | cut[i]) & (ios > merge_ios)
        joins = (same & (iou > nms_iou)) | joins_cut
        if not joins.any():
            kept.append(int(i))
            boxes = np.vstack([boxes, box])
            kept_cut = np.append(kept_cut, cut[i])
            continue
        k = int(np.flatnonzero(joins)[0])
        if joins_cut[k]:
            boxes[k] = [*np.minimum(boxes[k, :2], box[:2]), *np.maximum(boxes[k, 2:], box[2:])]
            kept_cut[k] &= cut[i]
    return np.asarray(kept, dtype=np.int64), boxes


class SlicedDetector:
    """Run ``detector`` on overlapping ``tile_size`` tiles (``overlap``: fraction of a tile) and,
    with ``full_frame``, on the whole frame too (large objects; skipped when one tile is the whole
    frame); merge the boxes (module docstring).

    Wraps detectors that look at the image; precomputed detections (``MotFileDetector``) ignore it.
    """

    def __init__(
        self,
        detector: Detector,
        tile_size: int,
        overlap: float = 0.2,
        *,
        full_frame: bool = True,
        nms_iou: float = 0.5,
        merge_ios: float = 0.5,
    ) -> None:
        if tile_size < 32:
            raise ValueError(f"tile size must be at least 32 pixels, not {tile_size}")
        if not 0.0 <= overlap < 1.0:
            raise ValueError(f"tile overlap must be in [0, 1), not {overlap}")
        self.detector = detector
        self.names: Mapping[int, str] = detector.names
        self.tile_size = int(tile_size)
        self.overlap = float(overlap)
        self.full_frame = full_frame
        self.nms_iou = nms_iou
        self.merge_ios = merge_ios

    def __call__(self, rgb: np.ndarray, frame_index: int | None = None) -> Detections:
        height, width = rgb.shape[:2]
        parts: list[Detections] = []
        cuts: list[np.ndarray] = []
        tiles = tile_grid(height, width, self.tile_size, self.overlap)
        for x1, y1, x2, y2 in tiles:
            found = self.detector(np.ascontiguousarray(rgb[y1:y2, x1:x2]), frame_index)
            boxes = found.xyxy + np.array([x1, y1, x1, y1], dtype=np.float32)
            inner = np.array([x1 > 0, y1 > 0, x2 < width, y2 < height])
            near = np.abs(boxes - np.array([x1, y1, x2, y2], dtype=np.float32)) <= CUT_MARGIN
            parts.append(Detections(boxes, found.conf, found.cls, found.names))
            cuts.append((near & inner).any(axis=1))
        if self.full_frame and tiles != [(0, 0, width, height)]:
            found = self.detector(rgb, frame_index)
            parts.append(found)
            cuts.append(np.zeros(len(found), dtype=bool))
        xyxy = np.concatenate([p.xyxy for p in parts])
        conf = np.concatenate([p.conf for p in parts])
        cls = np.concatenate([p.cls for p in parts])
        keep, boxes = merge_boxes(xyxy, conf, cls, np.concatenate(cuts), self.nms_iou, self.merge_ios)
        return Detections(boxes, conf[keep], cls[keep], self.names)

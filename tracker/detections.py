"""Boxes without identities, column by column (in the manner of ``supervision.Detections``): what a detector
finds in one frame, and the identity-less rows of a label file (``det.txt``, YOLO files without track ids)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from tracker.geometry import xywh_to_xyxy, xyxy_to_xywh


@dataclass(frozen=True)
class Detections:
    """``xyxy`` float64 N×4 in pixels, ``conf`` float64 N, ``cls`` int64 N (-1: no class), class ``names``,
    and ``frame`` int64 N, the 0-based frame of each row when they span several (None: one frame's)."""

    xyxy: np.ndarray
    conf: np.ndarray
    cls: np.ndarray
    names: Mapping[int, str] = field(default_factory=dict)
    frame: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "xyxy", np.asarray(self.xyxy, dtype=np.float64).reshape(-1, 4))
        object.__setattr__(self, "conf", np.asarray(self.conf, dtype=np.float64).reshape(-1))
        object.__setattr__(self, "cls", np.asarray(self.cls, dtype=np.int64).reshape(-1))
        lengths = {len(self.xyxy), len(self.conf), len(self.cls)}
        if self.frame is not None:
            object.__setattr__(self, "frame", np.asarray(self.frame, dtype=np.int64).reshape(-1))
            lengths.add(len(self.frame))
        if len(lengths) != 1:
            raise ValueError("the columns of detections must have the same length")

    @classmethod
    def empty(cls, names: Mapping[int, str] | None = None) -> Detections:
        return cls(np.zeros((0, 4)), np.zeros(0), np.zeros(0), dict(names or {}))

    @classmethod
    def from_xywh(cls, frame: np.ndarray, xywh: np.ndarray, conf: np.ndarray, class_id: np.ndarray) -> Detections:
        """A label file's rows: 0-based frames, ``(x, y, w, h)`` boxes, scores and class ids."""
        return cls(xywh_to_xyxy(xywh), conf, class_id, frame=frame)

    def __len__(self) -> int:
        return len(self.conf)

    @property
    def xywh(self) -> np.ndarray:
        """Boxes as ``(x, y, w, h)`` (top-left corner and size), float64 N×4."""
        return xyxy_to_xywh(self.xyxy)

    def label(self, i: int) -> str:
        """Class name of detection ``i`` (its id as text when the name is unknown)."""
        cls_id = int(self.cls[i])
        return self.names.get(cls_id, str(cls_id))

    def select(self, keep: np.ndarray | Sequence[int]) -> Detections:
        """The detections picked by a boolean mask or an index array."""
        keep = np.asarray(keep)
        frame = None if self.frame is None else self.frame[keep]
        return Detections(self.xyxy[keep], self.conf[keep], self.cls[keep], self.names, frame)

    def above(self, conf: float) -> Detections:
        """Detections with confidence ``>= conf``."""
        return self.select(self.conf >= conf)

    def of_classes(self, class_ids: Iterable[int]) -> Detections:
        """Detections whose class id is in ``class_ids``."""
        return self.select(np.isin(self.cls, list(class_ids)))

"""What the SAM2 trackers (SAM2MOT, SMOTracker) share about their masklets: the segmenter they
drive, object states from SAM2's logits (``docs/engines.md``, SAM2MOT steps 2 and 3), the lost-frame
tolerance, and how an object is reported.
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from tracker.geometry import decode_mask, xywh_to_xyxy
from tracker.results import ObjectState, Prompt, Rle, TrackedObject

CONFLICT_IOU = 0.8
"""Mask IoU above which two objects conflict (SAM2MOT's cross-object interaction; ``app.conflicts``)."""


class SegmentOutput(Protocol):
    """One object's segmentation at one frame (``tracker.sam2_engine.ObjectOutput``)."""

    obj_id: int
    mask_logits: np.ndarray
    mask: np.ndarray
    box: tuple[float, float, float, float] | None
    object_score_logit: float


class Segmenter(Protocol):
    """The SAM2 engine methods the trackers use (``tracker.sam2_engine.SAM2Engine``). Prompts and
    memory decisions for a frame come after ``step`` for that frame. ``num_frames``: the video length."""

    num_frames: int | None

    def step(self, frame_index: int, rgb: np.ndarray) -> Mapping[int, SegmentOutput]: ...

    def add_object(
        self, obj_id: int, *, box: np.ndarray | None = None, mask: np.ndarray | None = None
    ) -> SegmentOutput: ...

    def refresh_keyframe(self, obj_id: int, box_xyxy: np.ndarray) -> SegmentOutput: ...

    def skip_memory(self, obj_id: int) -> None: ...

    def remove_object(self, obj_id: int) -> None: ...

    def take_prompts(self) -> list[Prompt]: ...


@dataclass(frozen=True)
class ObjectStateConfig:
    """State thresholds and lost tolerance (published SAM2MOT defaults); trackers' configs extend it.

    ``state_logit`` picks the logit the state thresholds apply to: ``"object_score"`` (SAM2's
    object score logit, published) or ``"mask"`` (the mean of the positive mask logits, 0.0 for an
    empty mask).

    ``memory_filter_logit`` is the low-confidence memory filter: a frame in which SAM2 still sees the
    object (object score logit > 0) but no more confidently than this is a severely degraded mask and
    is kept out of the object's memory. Frames where SAM2 judges the object absent (logit ≤ 0) are
    written as SAM2 writes them, with its learned no-object embedding: that is its occlusion memory.
    The default equals τs by value but is its own parameter; ``None`` turns the filter off.
    """

    tau_reliable: float = 8.0
    tau_pending: float = 6.0
    tau_suspicious: float = 2.0
    max_lost: int = 25  # removed once lost for more than this many consecutive frames
    memory_filter_logit: float | None = 2.0
    state_logit: Literal["object_score", "mask"] = "object_score"

    def __post_init__(self) -> None:
        if not self.tau_suspicious <= self.tau_pending <= self.tau_reliable:
            raise ValueError("state thresholds must satisfy tau_suspicious <= tau_pending <= tau_reliable")
        if self.state_logit not in ("object_score", "mask"):
            raise ValueError(f"state_logit must be 'object_score' or 'mask', not {self.state_logit!r}")
        if self.max_lost < 0:
            raise ValueError("max_lost must be >= 0")


def object_state(logit: float, config: ObjectStateConfig) -> ObjectState:
    """The state of an object whose logit is ``logit``."""
    if logit > config.tau_reliable:
        return ObjectState.RELIABLE
    if logit > config.tau_pending:
        return ObjectState.PENDING
    if logit > config.tau_suspicious:
        return ObjectState.SUSPICIOUS
    return ObjectState.LOST


def state_logit(output: SegmentOutput, config: ObjectStateConfig) -> float:
    """The logit an object's state is computed from (``ObjectStateConfig.state_logit``)."""
    if config.state_logit == "object_score":
        return float(output.object_score_logit)
    positive = output.mask_logits[output.mask_logits > 0]
    return float(positive.mean()) if positive.size else 0.0


def sigmoid(x: float) -> float:
    """The logistic function, without overflow."""
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


@dataclass
class LiveObject:
    """What a detection-prompted tracker (SAM2MOT, SMOTracker) remembers about one object it follows: its class
    label, its recent logits (SAM2MOT's conflict resolution reads them) and its consecutive lost frames."""

    label: str | None
    logit_history: deque[float] = field(default_factory=deque)
    lost_frames: int = 0


def age_lost(
    segmenter: Segmenter,
    tracks: Mapping[int, LiveObject],
    states: Mapping[int, ObjectState],
    config: ObjectStateConfig,
) -> dict[int, int]:
    """Count the consecutive lost frames of every object in ``states``.

    Objects lost for more than ``config.max_lost`` frames are removed from the segmenter and
    returned with their count (the caller drops its records and reports REMOVED). The other lost
    objects count on.
    """
    removed = {}
    for obj_id, state in states.items():
        track = tracks[obj_id]
        track.lost_frames = track.lost_frames + 1 if state is ObjectState.LOST else 0
        if track.lost_frames > config.max_lost:
            segmenter.remove_object(obj_id)
            removed[obj_id] = track.lost_frames
    return removed


def filter_memory(
    segmenter: Segmenter, object_scores: Mapping[int, float], config: ObjectStateConfig, kept: Collection[int] = ()
) -> list[int]:
    """The low-confidence memory filter (``ObjectStateConfig.memory_filter_logit``) over the propagated
    object score logits of this frame: keeps those frames out of memory, except for the objects in
    ``kept`` (already skipped, prompted or removed at this frame). Returns the filtered objects."""
    threshold = config.memory_filter_logit
    if threshold is None:
        return []
    filtered = sorted(i for i, logit in object_scores.items() if 0 < logit <= threshold and i not in kept)
    for obj_id in filtered:
        segmenter.skip_memory(obj_id)
    return filtered


class UntrackedRegion:
    """M_non: the pixels no tracked mask covers, updated as objects are added within a frame."""

    def __init__(self, masks: Iterable[np.ndarray], shape: tuple[int, int]) -> None:
        self.free = np.ones(shape, dtype=bool)
        for mask in masks:
            self.cover(mask)

    def cover(self, mask: np.ndarray) -> None:
        self.free &= ~mask

    def ratio(self, box_xyxy: np.ndarray) -> float:
        """Share of the box's pixels (clipped to the image) that no mask covers."""
        height, width = self.free.shape
        x1, y1, x2, y2 = np.round(np.asarray(box_xyxy, dtype=np.float64)).astype(int)
        x1, x2 = np.clip([x1, x2], 0, width)
        y1, y2 = np.clip([y1, y2], 0, height)
        area = (x2 - x1) * (y2 - y1)
        return float(self.free[y1:y2, x1:x2].sum()) / area if area > 0 else 0.0


def reported_object(
    obj_id: int, output: SegmentOutput, rle: Rle, config: ObjectStateConfig, label: str | None
) -> TrackedObject | None:
    """The reported form of a segmenter output (``None`` for an empty mask: tracked, not shown).
    ``score`` is the sigmoid of the object score logit; ``logit`` is the state logit."""
    if output.box is None:
        return None
    logit = state_logit(output, config)
    return TrackedObject(
        obj_id=obj_id,
        box=tuple(float(v) for v in output.box),
        state=object_state(logit, config),
        score=sigmoid(float(output.object_score_logit)),
        logit=logit,
        mask=rle,
        label=label,
    )


def prompt_stored(segmenter: Segmenter, obj: TrackedObject) -> SegmentOutput:
    """Prompt a stored object (a resumed run) into the segmenter with its mask, or its box when maskless."""
    if obj.mask is not None:
        return segmenter.add_object(obj.obj_id, mask=decode_mask(obj.mask))
    return segmenter.add_object(obj.obj_id, box=xywh_to_xyxy(obj.box)[0].astype(np.float32))

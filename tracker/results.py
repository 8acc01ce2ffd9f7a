"""The one per-frame result type every engine produces (SAM2MOT, SMOTracker, ByteTrack, BoT-SORT)."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum


class ObjectState(IntEnum):
    """Confidence state of a tracked object at one frame (SAM2MOT's four states)."""

    RELIABLE = 0
    PENDING = 1
    SUSPICIOUS = 2
    LOST = 3


class EventKind(str, Enum):
    """What happened to a track at a frame."""

    ADDED = "added"
    REMOVED = "removed"
    CONFLICT = "conflict"
    KEYFRAME = "keyframe"
    PROMPT = "prompt"
    LINKED = "linked"  # a new tracklet continues an earlier track (``tracker.linking``)


@dataclass(frozen=True, slots=True)
class Rle:
    """A COCO run-length-encoded binary mask (as produced by ``pycocotools.mask.encode``)."""

    height: int
    width: int
    counts: bytes

    def to_coco(self) -> dict:
        """The pycocotools form: ``{"size": [h, w], "counts": bytes}``."""
        return {"size": [self.height, self.width], "counts": self.counts}


@dataclass(frozen=True, slots=True)
class TrackedObject:
    """One object at one frame. ``box`` is ``(x, y, w, h)`` in pixels, top-left origin."""

    obj_id: int
    box: tuple[float, float, float, float]
    state: ObjectState = ObjectState.RELIABLE
    score: float = 1.0
    logit: float | None = None
    mask: Rle | None = None
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """An engine or annotator event at a frame (conflict: ``other_id`` and ``loser_id`` set)."""

    frame: int
    kind: EventKind
    track_id: int
    other_id: int | None = None
    loser_id: int | None = None
    detail: str = ""


@dataclass(slots=True)
class FrameResult:
    """Everything an engine reports for one frame (0-based ``frame`` index)."""

    frame: int
    objects: list[TrackedObject] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

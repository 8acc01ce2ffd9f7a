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
    REVIEWED = "reviewed"
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
    """A confidence in [0, 1] whose meaning depends on the engine: for SAM2 engines (SAM2MOT, SMOTracker,
    corrections) the sigmoid of SAM2's object-score logit (``logit``: how sure SAM2 is the object is visible); for
    ByteTrack, BoT-SORT and SMOT the detection confidence of the box; 1.0 for boxes drawn by hand."""
    logit: float | None = None
    """SAM2 engines only (None for the others): the logit the object's state thresholds apply to, SAM2's raw
    object-score logit by default (``ObjectStateConfig.state_logit``)."""
    mask: Rle | None = None
    label: str | None = None


class PromptKind(str, Enum):
    """What a recorded SAM2 prompt did to its object's memory (``tracker.sam2_engine``)."""

    ADD = "add"  # the object's first key frame (new, or resumed from its stored mask)
    REFRESH = "refresh"  # an automatic key frame replacing the earlier automatic ones
    CORRECT = "correct"  # a key frame from clicks, a box or a mask (an annotator's correction)
    SKIP = "skip"  # the frame kept out of the object's memory


@dataclass(frozen=True, slots=True)
class Prompt:
    """One input an engine gave SAM2 for an object at a frame, in the order given: replaying an
    object's prompts rebuilds its memory. ``box`` is ``xyxy``; ``points`` (x, y) with ``labels`` 1/0."""

    frame: int
    track_id: int
    kind: PromptKind
    box: tuple[float, float, float, float] | None = None
    points: tuple[tuple[float, float], ...] | None = None
    labels: tuple[int, ...] | None = None
    mask: Rle | None = None


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
    """Everything an engine reports for one frame (0-based ``frame`` index); ``prompts``: what it gave
    SAM2 since the previous result (SAM2 engines only)."""

    frame: int
    objects: list[TrackedObject] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    prompts: list[Prompt] = field(default_factory=list)

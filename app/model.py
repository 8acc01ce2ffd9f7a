"""The annotation model as everything outside the application layer sees it: its value types and the
read-only ``AnnotationModel`` protocol that views (``widgets``) and label writers (``exporters``) type against.
Only the application layer (``app``: the document, edits, tracking runs) changes a model; the concrete one is
the SQLite project, ``app.document.Document``. No Qt, no SQL here."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tracker.results import Event, EventKind, ObjectState, Rle
from tracker.video_info import VideoInfo


class Source(IntEnum):
    """Where an observation came from."""

    AUTO = 0
    MANUAL = 1
    IMPORTED = 2
    INTERPOLATED = 3  # between two manual boxes (key frames) of its track; made manual by an edit


@dataclass(frozen=True, slots=True)
class Track:
    """One object identity."""

    id: int
    category_id: int | None
    color: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class TrackSummary:
    """What the track table shows for a track."""

    id: int
    category_id: int | None
    color: str
    first_frame: int | None
    last_frame: int | None
    frame_count: int
    conflict_count: int
    states: frozenset[ObjectState] = frozenset()  # every state the track has at some frame


@dataclass(frozen=True, slots=True)
class Observation:
    """One track at one frame. ``box`` is ``(x, y, w, h)``; ``frame`` is 0-based."""

    frame: int
    track_id: int
    box: tuple[float, float, float, float]
    score: float = 1.0
    """As ``TrackedObject.score``: the sigmoid of SAM2's object-score logit for SAM2 engines, the detection
    confidence for ByteTrack, BoT-SORT and SMOT, 1.0 for boxes drawn by hand."""
    logit: float | None = None
    """As ``TrackedObject.logit``: the logit a SAM2 engine's state thresholds apply to (None for the others)."""
    state: ObjectState = ObjectState.RELIABLE
    source: Source = Source.AUTO
    visibility: float = 1.0
    mask: Rle | None = None

    def to_row(self) -> tuple:
        mask = self.mask
        return (
            self.track_id, self.frame, *map(float, self.box), float(self.score),
            None if self.logit is None else float(self.logit), int(self.state), int(self.source),
            float(self.visibility), mask and mask.height, mask and mask.width, mask and mask.counts,
        )

    @classmethod
    def from_row(cls, row: tuple) -> Observation:
        track_id, frame, x, y, w, h, score, logit, state, source, visibility, mh, mw, counts = row
        return cls(
            frame=frame, track_id=track_id, box=(x, y, w, h), score=score, logit=logit,
            state=ObjectState(state), source=Source(source), visibility=visibility,
            mask=None if counts is None else Rle(mh, mw, bytes(counts)),
        )


@dataclass(frozen=True, slots=True)
class ObservationArrays:
    """Many observations as columns (row ``i`` is one observation): the bulk path of importers/exporters."""

    frame: np.ndarray  # int64, 0-based
    track_id: np.ndarray  # int64
    box: np.ndarray  # float64, N×4 (x, y, w, h)
    score: np.ndarray  # float64
    visibility: np.ndarray  # float64
    masks: list[Rle | None] | None = None  # None: no masks (or not loaded)

    def __len__(self) -> int:
        return len(self.frame)

    def take(self, index: np.ndarray) -> ObservationArrays:
        """The rows selected by an index or boolean array."""
        index = np.asarray(index)
        rows = np.flatnonzero(index) if index.dtype == bool else index
        masks = None if self.masks is None else [self.masks[i] for i in rows.tolist()]
        return ObservationArrays(
            self.frame[rows], self.track_id[rows], self.box[rows], self.score[rows], self.visibility[rows], masks
        )


@dataclass(frozen=True, slots=True)
class Timeline:
    """One track's frames with their states, sorted by frame (the timeline lane's data)."""

    frames: np.ndarray  # int64
    states: np.ndarray  # int8, ObjectState values
    manual: np.ndarray  # bool: observation edited by hand (a key frame)
    interpolated: np.ndarray  # bool: observation interpolated between two key frames


@dataclass(frozen=True, slots=True)
class Scope:
    """Tracks and the half-open frame range ``[start, stop)`` (``stop=None``: to the last frame) touched by a
    change."""

    track_ids: tuple[int, ...]
    start: int = 0
    stop: int | None = None


class AnnotationModel(Protocol):
    """Read access to an annotation project: its video, categories, tracks, observations and events, and
    change notification (``listeners`` are called with the ``Scope`` that changed, or None: anything may
    have)."""

    listeners: list[Callable[[Scope | None], None]]

    @property
    def video(self) -> VideoInfo | None: ...

    def resolve_video_path(self) -> Path | None: ...

    def get_meta(self, key: str, default: Any = None) -> Any: ...

    def categories(self) -> dict[int, str]: ...

    def tracks(self) -> list[Track]: ...

    def track(self, track_id: int) -> Track | None: ...

    def track_summaries(self) -> list[TrackSummary]: ...

    def empty_track_ids(self) -> list[int]: ...

    def observations_at(self, frame: int) -> list[Observation]: ...

    def iter_observations(self, start: int = 0, stop: int | None = None) -> Iterator[Observation]: ...

    def observation_arrays(self, start: int = 0, stop: int | None = None, *, masks: bool = False) -> ObservationArrays: ...

    def track_timeline(self, track_id: int) -> Timeline: ...

    def frame_range(self) -> tuple[int, int] | None: ...

    def events(self, start: int = 0, stop: int | None = None, kind: EventKind | None = None) -> list[Event]: ...

"""Online tracklet linking (``docs/engines.md``, SMOT stage 2), for any engine.

An engine's ids are *tracklets*; the linker turns them into *tracks*. Each track keeps an identity embedding:
the mean of the appearance embeddings of its boxes, taken when a tracklet starts and refreshed every
``refresh`` frames while it is active. A track has an active tracklet while that tracklet is reported; the
others, seen at most ``max_gap`` frames ago, are the candidates. When new tracklets appear, their embeddings
are matched to the candidates (one-to-one, maximising cosine similarity, pairs farther apart than
``max_distance`` excluded): a match continues that track's id (a LINKED event), the rest start new tracks.

Embeddings come from the detector's own feature maps at the frame (``tracker.head_outputs``): the detector
runs anyway, so linking costs a few box averages per new tracklet. ``max_distance`` 0.1 is the cosine distance
below which about 1 % of pairs of different people fall on MOT17 frames (``masklet bench calibration``; same
person in another frame: about 83 %); ``max_gap`` 60 frames is about two seconds of video at 30 frames/s.

A linked engine's saved state (``LinkedEngine.save_state``) is the linker's (every track's embedding and last
frames, the tracklet map) with the engine's, so a linked run resumes exactly when its engine does.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from tracker.detectors import Detector, UltralyticsDetector
from tracker.engine_state import pack_state, unpack_state
from tracker.engines import Engine
from tracker.errors import MaskletError
from tracker.geometry import gated_assignment, xywh_to_xyxy
from tracker.results import Event, EventKind, FrameResult, TrackedObject

Embedder = Callable[[np.ndarray], "np.ndarray | None"]
"""Embeddings (N×D, L2-normalised) of N ``xyxy`` boxes at the current frame, or None when there are none."""


@dataclass(frozen=True)
class LinkerConfig:
    max_distance: float = 0.1  # cosine distance: a new tracklet links only to a track at least this similar
    max_gap: int = 60  # frames between a track's last box and a new tracklet it may link to
    refresh: int = 10  # frames between embedding updates of an active track

    def __post_init__(self) -> None:
        if self.max_gap < 1 or self.refresh < 1:
            raise ValueError("max_gap and refresh must be >= 1")


@dataclass
class _Track:
    track_id: int
    embedding_sum: np.ndarray | None = None
    samples: int = 0
    last_frame: int = -1
    last_sample: int = -1

    @property
    def embedding(self) -> np.ndarray | None:
        if self.embedding_sum is None:
            return None
        return self.embedding_sum / max(np.linalg.norm(self.embedding_sum), 1e-12)

    def add(self, embedding: np.ndarray, frame: int) -> None:
        self.embedding_sum = embedding.copy() if self.embedding_sum is None else self.embedding_sum + embedding
        self.samples += 1
        self.last_sample = frame


class TrackletLinker:
    """Maps an engine's tracklet ids to track ids, frame by frame (see the module docstring)."""

    def __init__(self, config: LinkerConfig | None = None, next_id: int = 1) -> None:
        self.config = config or LinkerConfig()
        self.next_id = next_id
        self._tracks: dict[int, _Track] = {}  # track id → track
        self._of_tracklet: dict[int, int] = {}  # tracklet id → track id

    def restore(self, track_ids: Sequence[int], next_id: int) -> None:
        """Continue with ``track_ids`` as active tracklets of the same ids (no embeddings yet)."""
        self._tracks = {i: _Track(i) for i in track_ids}
        self._of_tracklet = {i: i for i in track_ids}
        self.next_id = max([next_id, *(i + 1 for i in track_ids)])

    def state(self) -> dict[str, Any]:
        """The tracks (embedding sums, sample counts, last frames), the tracklet map and the id counter, as plain
        values (``load``)."""
        tracks = [(t.track_id, t.embedding_sum, t.samples, t.last_frame, t.last_sample) for t in self._tracks.values()]
        return {"tracks": tracks, "of_tracklet": self._of_tracklet, "next_id": self.next_id}

    def load(self, state: dict[str, Any]) -> None:
        """Continue from ``state`` (what ``state`` returned); ``ValueError``, ``TypeError`` or ``KeyError`` when it
        is not one."""
        tracks = {}
        for track_id, embedding_sum, samples, last_frame, last_sample in state["tracks"]:
            if embedding_sum is not None and not (isinstance(embedding_sum, np.ndarray) and embedding_sum.ndim == 1):
                raise TypeError(f"track {track_id}: embedding {type(embedding_sum).__name__}, not a vector")
            track_id = int(track_id)
            tracks[track_id] = _Track(track_id, embedding_sum, int(samples), int(last_frame), int(last_sample))
        of_tracklet = {int(tracklet): int(track) for tracklet, track in state["of_tracklet"].items()}
        self._tracks, self._of_tracklet, self.next_id = tracks, of_tracklet, int(state["next_id"])

    def update(self, result: FrameResult, embed: Embedder) -> FrameResult:
        """The frame with track ids: new tracklets linked or given new ids, events renamed (a linked tracklet's
        ADDED becomes LINKED)."""
        frame, cfg = result.frame, self.config
        active = {self._of_tracklet[o.obj_id] for o in result.objects if o.obj_id in self._of_tracklet}
        new = [o for o in result.objects if o.obj_id not in self._of_tracklet]
        links: dict[int, tuple[int, float]] = {}  # tracklet id → (track id, distance)
        embeddings = embed(xywh_to_xyxy(np.array([o.box for o in new]))) if new else None
        candidates = [
            t for t in self._tracks.values()
            if t.track_id not in active and t.embedding is not None and 0 < frame - t.last_frame <= cfg.max_gap
        ]
        if embeddings is not None and candidates:
            similarity = embeddings @ np.array([t.embedding for t in candidates]).T
            for row, col in gated_assignment(similarity, 1.0 - similarity <= cfg.max_distance):
                links[new[row].obj_id] = (candidates[col].track_id, float(1.0 - similarity[row, col]))
        events = [e for e in result.events if not (e.kind is EventKind.ADDED and e.track_id in links)]
        for i, obj in enumerate(new):
            if obj.obj_id in links:
                track_id, distance = links[obj.obj_id]
                gap = frame - self._tracks[track_id].last_frame
                events.append(Event(frame, EventKind.LINKED, track_id,
                                    detail=f"new tracklet after {gap} frames, appearance distance {distance:.3f}"))
            else:
                track_id = self._new_track()
            self._of_tracklet[obj.obj_id] = track_id
            if embeddings is not None:
                self._tracks[track_id].add(embeddings[i], frame)
        self._refresh(result, frame, embed, {o.obj_id for o in new})
        objects = [replace(o, obj_id=self._of_tracklet[o.obj_id]) for o in result.objects]
        for obj in objects:
            self._tracks[obj.obj_id].last_frame = frame
        return FrameResult(frame, sorted(objects, key=lambda o: o.obj_id), [self._renamed(e) for e in events])

    def _refresh(self, result: FrameResult, frame: int, embed: Embedder, fresh: set[int]) -> None:
        """Add the current embedding of active tracks not sampled for ``refresh`` frames."""
        due = [o for o in result.objects if o.obj_id not in fresh
               and frame - self._tracks[self._of_tracklet[o.obj_id]].last_sample >= self.config.refresh]
        if not due:
            return
        embeddings = embed(xywh_to_xyxy(np.array([o.box for o in due])))
        if embeddings is not None:
            for obj, embedding in zip(due, embeddings):
                self._tracks[self._of_tracklet[obj.obj_id]].add(embedding, frame)

    def _new_track(self) -> int:
        track_id = self.next_id
        self.next_id += 1
        self._tracks[track_id] = _Track(track_id)
        return track_id

    def _renamed(self, event: Event) -> Event:
        """An event with the engine's ids replaced by track ids (ids never reported get new tracks)."""
        if event.kind is EventKind.LINKED:
            return event

        def track(tracklet: int | None) -> int | None:
            if tracklet is None:
                return None
            if tracklet not in self._of_tracklet:
                self._of_tracklet[tracklet] = self._new_track()
            return self._of_tracklet[tracklet]

        return replace(event, track_id=track(event.track_id), other_id=track(event.other_id),
                       loser_id=track(event.loser_id))


def feature_detector(engine: Engine) -> UltralyticsDetector:
    """The Ultralytics detector whose feature maps give ``engine``'s embeddings (a tiled detector's own)."""
    from tracker.slicing import SlicedDetector

    detector: Detector | None = getattr(engine, "detector", None)
    if isinstance(detector, SlicedDetector) and detector.full_frame:
        detector = detector.detector
    if not isinstance(detector, UltralyticsDetector):
        raise MaskletError("--link needs an Ultralytics detector (its feature maps give the appearance embeddings); "
                           "precomputed detections have none")
    return detector


class LinkedEngine(Engine):
    """Any engine with its tracklets linked into tracks (``timings`` shared with it, plus ``link``)."""

    def __init__(self, engine: Engine, config: LinkerConfig | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.detector = feature_detector(engine)
        self.detector.keep_head_outputs(features=True)
        self.linker = TrackletLinker(config)
        self.timings = engine.timings

    @property  # type: ignore[override]
    def next_id(self) -> int:
        return self.linker.next_id

    @next_id.setter
    def next_id(self, value: int) -> None:
        if hasattr(self, "linker"):
            self.linker.next_id = value

    def set_video_length(self, num_frames: int) -> None:
        self.engine.set_video_length(num_frames)

    def process(self, frame_index: int, rgb: np.ndarray) -> FrameResult:
        result = self.engine.process(frame_index, rgb)
        with self.time_stage("link"), self.time_stage("total"):
            return self.linker.update(result, lambda xyxy: self.detector.embeddings(frame_index, rgb.shape, xyxy))

    def restore(self, frame_index: int, rgb: np.ndarray, objects: Sequence[TrackedObject], next_id: int) -> None:
        """Restore the engine with the stored tracks as its tracklets; tracks that had ended before
        ``frame_index`` are not linked to any more (their embeddings are not stored)."""
        self.engine.restore(frame_index, rgb, objects, next_id)
        self.linker.restore([obj.obj_id for obj in objects], next_id)

    def save_state(self) -> bytes | None:
        """The linker's state with the engine's (``tracker.engine_state``); None when the engine saves none (the
        SAM2 engines): then both continue from the stored objects (``restore``)."""
        inner = self.engine.save_state()
        return None if inner is None else pack_state({"engine": inner, "linker": self.linker.state()})

    def load_state(self, state: bytes) -> None:
        def read(loaded: dict) -> tuple[bytes, TrackletLinker]:
            if not isinstance(loaded["engine"], bytes):
                raise TypeError(f"engine state {type(loaded['engine']).__name__}")
            linker = TrackletLinker(self.linker.config)
            linker.load(loaded["linker"])
            return loaded["engine"], linker

        inner, linker = unpack_state(state, read)
        self.engine.load_state(inner)
        self.linker = linker

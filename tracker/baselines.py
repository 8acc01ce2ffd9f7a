"""Baselines: a detector plus Ultralytics' ByteTrack or BoT-SORT (Kalman filter + IoU association).

They report boxes only (no masks, no logits). ``score`` is the matched detection's confidence and
the state follows from it:

- RELIABLE: confidence ≥ 0.5 (SAM2MOT's high-confidence threshold);
- PENDING: ``track_high_thresh`` (0.25) ≤ confidence < 0.5, matched in the first association;
- SUSPICIOUS: confidence < ``track_high_thresh``, kept by ByteTrack's low-score second association.

Ultralytics reports only the tracks matched at the current frame, so LOST never appears. Events:
ADDED when a track is first reported.

Resuming is exact: ``save_state`` pickles the tracker (Kalman filters, lost tracks, BoT-SORT's motion compensation,
the id counters) and ``load_state`` reads it back with an unpickler that only builds the classes a tracker state
consists of (``tracker.engine_state``), so a resumed run reports what an uninterrupted one does.
"""
from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

from tracker.detectors import DEFAULT_DETECTOR, Detections, Detector, import_ultralytics, load_detector
from tracker.engine_options import EngineOptions
from tracker.engine_state import pack_state, unpack_state
from tracker.engines import Engine
from tracker.geometry import xywh_to_xyxy, xyxy_to_xywh
from tracker.results import Event, EventKind, FrameResult, ObjectState, TrackedObject

RELIABLE_CONF = 0.5


def tracker_config(tracker_type: str, **overrides: Any) -> SimpleNamespace:
    """Ultralytics' default configuration of a tracker (``ultralytics/cfg/trackers/<type>.yaml``)."""
    import_ultralytics()
    from ultralytics.utils import ROOT, YAML, IterableSimpleNamespace

    values = YAML.load(ROOT / "cfg" / "trackers" / f"{tracker_type}.yaml")
    unknown = set(overrides) - set(values)
    if unknown:
        raise ValueError(f"unknown {tracker_type} options: {', '.join(sorted(unknown))}")
    return IterableSimpleNamespace(**{**values, **overrides})


class UltralyticsTracker(Engine):
    """A detector followed by Ultralytics' ``bytetrack`` or ``botsort`` tracker.

    ``timings`` keys: ``total``, ``detector``, ``tracker``.
    """

    def __init__(self, detector: Detector, tracker_type: str = "bytetrack", **overrides: Any) -> None:
        super().__init__()
        self.detector = detector
        self.config = tracker_config(tracker_type, **overrides)
        from ultralytics.engine.results import Boxes
        from ultralytics.trackers.track import TRACKER_MAP

        self._boxes = Boxes
        self._tracker = TRACKER_MAP[tracker_type](args=self.config)
        self._ids: dict[int, int] = {}  # Ultralytics track id → Masklet track id

    def _update(self, detections: Detections, rgb: np.ndarray) -> np.ndarray:
        """Feed one frame's detections; rows ``[x1, y1, x2, y2, track_id, score, cls, det_index]``, boxes
        clipped to the image."""
        data = np.column_stack([detections.xyxy, detections.conf, detections.cls]).astype(np.float32)
        bgr = np.ascontiguousarray(rgb[..., ::-1])  # BoT-SORT's motion compensation reads BGR
        rows = np.asarray(self._tracker.update(self._boxes(data.reshape(-1, 6), rgb.shape[:2]), bgr), np.float64)
        rows = rows.reshape(-1, 8)
        height, width = rgb.shape[:2]  # Kalman boxes can run past the border: clipped, as YOLO.track reports them
        rows[:, [0, 2]] = rows[:, [0, 2]].clip(0, width)
        rows[:, [1, 3]] = rows[:, [1, 3]].clip(0, height)
        return rows

    def process(self, frame_index: int, rgb: np.ndarray) -> FrameResult:
        with self.time_stage("total"):
            with self.time_stage("detector"):
                detections = self.detector(rgb, frame_index)
            with self.time_stage("tracker"):
                rows = self._update(detections, rgb)
            result = FrameResult(frame_index)
            for row, box in zip(rows, xyxy_to_xywh(rows[:, :4])):
                internal, score, det_index = int(row[4]), float(row[5]), int(row[7])
                if internal not in self._ids:
                    self._ids[internal] = self.next_id
                    self.next_id += 1
                    result.events.append(Event(frame_index, EventKind.ADDED, self._ids[internal]))
                result.objects.append(
                    TrackedObject(
                        obj_id=self._ids[internal],
                        box=tuple(float(v) for v in box),
                        state=self._state(score),
                        score=score,
                        label=detections.label(det_index),
                    )
                )
            result.objects.sort(key=lambda obj: obj.obj_id)
            return result

    def _state(self, conf: float) -> ObjectState:
        if conf >= RELIABLE_CONF:
            return ObjectState.RELIABLE
        return ObjectState.PENDING if conf >= self.config.track_high_thresh else ObjectState.SUSPICIOUS

    def restore(self, frame_index: int, rgb: np.ndarray, objects: Sequence[TrackedObject], next_id: int) -> None:
        """Start tracks from the stored boxes at ``frame_index`` (fed as certain detections), keeping their
        ids. Kalman velocities start from zero."""
        boxes = xywh_to_xyxy(np.array([obj.box for obj in objects]))
        stored = Detections(boxes, np.ones(len(objects)), np.zeros(len(objects)))
        for row in self._update(stored, rgb):
            self._ids[int(row[4])] = objects[int(row[7])].obj_id
        self.next_id = max([next_id, *(obj.obj_id + 1 for obj in objects)])

    def save_state(self) -> bytes:
        """The tracker, the id map and the id counters, pickled and compressed (``tracker.engine_state``)."""
        from ultralytics.trackers.basetrack import BaseTrack

        state = {"tracker": self._tracker, "ids": self._ids, "next_id": self.next_id, "count": BaseTrack._count}
        return pack_state(state, getattr(self._tracker, "_ids", None))

    def load_state(self, state: bytes) -> None:
        from ultralytics.trackers.basetrack import BaseTrack

        tracker, ids, next_id, count = unpack_state(
            state, lambda loaded: (loaded["tracker"], loaded["ids"], loaded["next_id"], int(loaded["count"])))
        if type(tracker) is not type(self._tracker) or not isinstance(ids, dict) or not isinstance(next_id, int):
            raise ValueError(f"a state of another tracker ({type(tracker).__name__})")
        self._tracker, self._ids, self.next_id = tracker, ids, next_id
        BaseTrack._count = max(BaseTrack._count, count)


def build(options: EngineOptions) -> UltralyticsTracker:
    """ByteTrack or BoT-SORT (``options.engine``) over a detector (see ``load_detector``). ``conf`` defaults to the
    tracker's ``track_low_thresh`` (0.1) so that ByteTrack's low-score association sees the weak detections.
    BoT-SORT runs as Ultralytics configures it: no ReID, sparse optical-flow motion compensation."""
    low = tracker_config(options.engine).track_low_thresh
    found = load_detector(options.detector or DEFAULT_DETECTOR, classes=options.classes,
                          conf=low if options.conf is None else options.conf, imgsz=640, device=options.device)
    return UltralyticsTracker(found, options.engine)

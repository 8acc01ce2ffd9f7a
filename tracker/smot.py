"""SMOT: tracking by re-detection on a single-shot detector's own raw predictions (``docs/engines.md``, SMOT).

One detector forward per frame gives both the ordinary detections (after NMS) and the head's raw per-location
predictions before NMS (``tracker.head_outputs``). Per frame:

1. **motion** (switchable): every tracked box is shifted by the mean dense optical flow inside it (OpenCV
   Farnebäck between the previous and the current frame, both resized to 256×256, as the paper); without motion
   the box stays where it was (identity motion);
2. **re-detection with tracking anchors** (paper Eq. 1): among the raw predictions of the track's class near the
   predicted box B̂ (candidates: see below), the ``top_k`` best (K = 1: single assignment, K > 1: multi
   assignment), weighted by w = IoU(candidate, B̂), give the re-detected box Σ w·B / Σ w and confidence
   Σ w·c / Σ w. An anchor-free head has no prior anchors to rank by IoU, and ranking its locations by their
   predicted box's IoU picks locations at an object's edge that regress its box well but score ≈ 0 (on
   TUD-Campus' second frame the best-IoU location of 5 of 6 people scored below 0.1). So candidates are the
   locations whose anchor point lies inside B̂, ranked by the metric YOLOv8 assigns its training targets
   with (task-aligned: c · IoU⁶), which is the paper's "anchors the detector would match to B̂" for this head.
   A tracklet whose re-detected confidence is below σ_active (``active_conf``, 0.4) ends;
3. the surviving re-detected boxes are merged by NMS (IoU ``nms_iou``, 0.6): a suppressed tracklet ends;
4. detections with confidence ≥ ``det_conf`` that overlap no active tracklet with IoU ≥ ``new_iou`` (0.3) start
   new tracklets.

``det_conf`` defaults to 0.4: on MOT17 frames (``masklet bench calibration``, data the engine comparison does not
use) the shared YOLOv8n's person detections are ≥ 90 % correct from confidence 0.25 up and hardly more precise
above (0.90–0.95 up to 0.8, while fewer and fewer people are found), so the threshold is the lowest value with
that precision that is not below σ_active: a tracklet must start at least as confident as re-detection keeps it.

Each tracklet is a track here; joining tracklets of the same object after an occlusion is the linker's work
(``tracker.linking``, on by default for this engine). States from the re-detection confidence c (the detection
confidence at a tracklet's first frame): RELIABLE c ≥ 0.5 (as the baselines), PENDING c ≥ (σ_active + 0.5) / 2,
SUSPICIOUS below that (about to end); a track without an active tracklet is not reported, so LOST never appears.
Events: ADDED when a tracklet starts, REMOVED when it ends (its reason in ``detail``).

Resuming is exact: ``save_state`` keeps the tracklets (boxes, confidences, classes), the id counter and the flow's
previous frame (grey, 256², as a PNG: about 40 KiB), all the engine carries from one frame to the next.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from tracker.baselines import RELIABLE_CONF
from tracker.detectors import DEFAULT_DETECTOR, Detections, UltralyticsDetector, load_detector
from tracker.engine_options import EngineOptions
from tracker.engine_state import pack_state, unpack_state
from tracker.engines import Engine
from tracker.errors import DetectorError
from tracker.geometry import box_iou, xywh_to_xyxy, xyxy_to_xywh
from tracker.head_outputs import RawPredictions
from tracker.results import Event, EventKind, FrameResult, ObjectState, TrackedObject


ALIGNMENT_BETA = 6.0  # the IoU exponent of Ultralytics' TaskAlignedAssigner (its score exponent is 1)


@dataclass(frozen=True)
class SMOTConfig:
    """SMOT's thresholds (the paper's defaults except ``det_conf``, measured for Ultralytics confidences)."""

    det_conf: float = 0.4  # σ_det: detections that may start a tracklet
    active_conf: float = 0.4  # σ_active: a re-detection below this ends its tracklet
    nms_iou: float = 0.6  # NMS among re-detected boxes
    new_iou: float = 0.3  # a detection overlapping an active tracklet this much starts nothing
    top_k: int = 1  # tracking anchors per track: 1 single assignment, > 1 multi assignment
    motion: bool = True  # motion assistance by optical flow (else identity motion)
    flow_size: int = 256  # the flow is computed on frames resized to flow_size × flow_size

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, not {self.top_k}")
        if self.det_conf < self.active_conf:
            raise ValueError("det_conf must be >= active_conf: a tracklet would end on the frame after it starts")


def redetect(predicted_xyxy: np.ndarray, track_cls: np.ndarray, raw: RawPredictions, top_k: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Paper Eq. 1: each predicted box's re-detected box (T×4 ``xyxy``) and confidence (T).

    The tracking anchors of a predicted box B̂ are the ``top_k`` locations of its class whose anchor point lies
    inside B̂, ranked by YOLOv8's task-aligned assignment metric c · IoU(B, B̂)⁶ (the locations the detector
    was trained to make responsible for a box like B̂); each is weighted by w = IoU(B, B̂). A track without such a
    location gets confidence 0 and keeps its predicted box."""
    predicted_xyxy = np.asarray(predicted_xyxy, dtype=np.float64).reshape(-1, 4)
    boxes, conf = predicted_xyxy.copy(), np.zeros(len(predicted_xyxy))
    if len(raw) == 0 or len(predicted_xyxy) == 0:
        return boxes, conf
    iou = box_iou(predicted_xyxy, raw.xyxy)
    px, py = raw.points[:, 0], raw.points[:, 1]
    inside = ((px[None] > predicted_xyxy[:, :1]) & (px[None] < predicted_xyxy[:, 2:3])
              & (py[None] > predicted_xyxy[:, 1:2]) & (py[None] < predicted_xyxy[:, 3:4]))
    candidate = inside & (np.asarray(track_cls)[:, None] == raw.cls[None, :]) & (iou > 0)
    alignment = np.where(candidate, raw.conf[None].astype(np.float64) * iou**ALIGNMENT_BETA, -1.0)
    k = min(top_k, alignment.shape[1])
    top = np.argpartition(-alignment, k - 1, axis=1)[:, :k]
    weights = np.where(np.take_along_axis(candidate, top, axis=1), np.take_along_axis(iou, top, axis=1), 0.0)
    total = weights.sum(axis=1)
    found = total > 0
    boxes[found] = (weights[found, :, None] * raw.xyxy[top[found]]).sum(axis=1) / total[found, None]
    conf[found] = (weights[found] * raw.conf[top[found]]).sum(axis=1) / total[found]
    return boxes, conf


class FlowMotion:
    """Motion model H: boxes shifted by the mean Farnebäck flow inside them, on frames resized to ``size``²."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.previous: np.ndarray | None = None
        """The previous frame, grey, ``size``² (None before the first frame)."""

    def reset(self, rgb: np.ndarray) -> None:
        """Take ``rgb`` as the previous frame (no motion computed)."""
        self.previous = self._small(rgb)

    def saved_previous(self) -> bytes | None:
        """The previous frame as a PNG (lossless, about 40 KiB at 256²; None before the first frame)."""
        from tracker.opencv import cv2

        return None if self.previous is None else cv2.imencode(".png", self.previous)[1].tobytes()

    def load_previous(self, png: bytes | None) -> None:
        """Take a ``saved_previous`` PNG as the previous frame; ``ValueError`` for anything else."""
        from tracker.opencv import cv2

        if png is None:
            self.previous = None
            return
        previous = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED) if isinstance(png, bytes) else None
        if previous is None or previous.dtype != np.uint8 or previous.shape != (self.size, self.size):
            raise ValueError(f"not a {self.size}×{self.size} grey frame")
        self.previous = previous

    def _small(self, rgb: np.ndarray) -> np.ndarray:
        from tracker.opencv import cv2

        return cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (self.size, self.size), interpolation=cv2.INTER_AREA)

    def shift(self, rgb: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
        """The boxes (image pixels) moved by the flow from the previous frame to ``rgb`` (which becomes the
        previous frame). The mean over each box comes from integral images of the flow."""
        from tracker.opencv import cv2

        current = self._small(rgb)
        previous, self.previous = self.previous, current
        xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        if previous is None or len(xyxy) == 0:
            return xyxy.copy()
        flow = cv2.calcOpticalFlowFarneback(previous, current, None, 0.5, 3, 15, 3, 5, 1.2, 0)
        height, width = rgb.shape[:2]
        scale = np.array([self.size / width, self.size / height])
        integral = cv2.integral(np.ascontiguousarray(flow, dtype=np.float64))  # (size+1)² × 2
        small = np.round(xyxy * np.tile(scale, 2)).astype(int).clip(0, self.size)
        x1, y1 = small[:, 0], small[:, 1]
        x2, y2 = np.maximum(small[:, 2], x1 + 1).clip(max=self.size), np.maximum(small[:, 3], y1 + 1).clip(max=self.size)
        x1, y1 = np.minimum(x1, x2 - 1), np.minimum(y1, y2 - 1)
        sums = integral[y2, x2] - integral[y1, x2] - integral[y2, x1] + integral[y1, x1]
        mean = sums / ((x2 - x1) * (y2 - y1))[:, None]
        return xyxy + np.tile(mean / scale, 2)


@dataclass
class _Tracklet:
    obj_id: int
    xyxy: np.ndarray
    conf: float
    cls: int
    label: str | None


class SMOT(Engine):
    """SMOT's tracklet generator over an Ultralytics detector that keeps its raw predictions.

    ``timings`` keys: ``total``, ``detector`` (one forward: detections and raw predictions), ``motion``
    (optical flow), ``redetect`` (Eq. 1, NMS, new tracklets); the rest is bookkeeping.
    """

    def __init__(self, detector: UltralyticsDetector, config: SMOTConfig | None = None) -> None:
        super().__init__()
        self.detector = detector
        self.config = config or SMOTConfig()
        self.motion = FlowMotion(self.config.flow_size) if self.config.motion else None
        detector.keep_head_outputs()
        self._tracklets: list[_Tracklet] = []

    def process(self, frame_index: int, rgb: np.ndarray) -> FrameResult:
        cfg = self.config
        with self.time_stage("total"):
            with self.time_stage("detector"):
                detections = self.detector(rgb, frame_index)
                raw = self.detector.raw_predictions(frame_index, rgb.shape)
            assert raw is not None  # kept by keep_head_outputs for this very call
            previous = np.array([t.xyxy for t in self._tracklets]).reshape(-1, 4)
            with self.time_stage("motion"):
                predicted = self.motion.shift(rgb, previous) if self.motion else previous
            events: list[Event] = []
            with self.time_stage("redetect"):
                track_cls = np.array([t.cls for t in self._tracklets], dtype=np.int64)
                boxes, conf = redetect(predicted, track_cls, raw, cfg.top_k)
                kept = self._survivors(boxes, conf, frame_index, events)
                for i in kept:
                    self._tracklets[i].xyxy, self._tracklets[i].conf = boxes[i], float(conf[i])
                self._tracklets = [self._tracklets[i] for i in kept]
                self._start_tracklets(detections, frame_index, events)
            objects = [self._reported(t) for t in self._tracklets]
            return FrameResult(frame_index, sorted(objects, key=lambda o: o.obj_id), events)

    def _survivors(self, boxes: np.ndarray, conf: np.ndarray, frame_index: int, events: list[Event]) -> list[int]:
        """Indices of the tracklets re-detected with confidence ≥ σ_active and kept by NMS; REMOVED for the others."""
        import torch
        from torchvision.ops import nms

        cfg = self.config
        active = np.flatnonzero(conf >= cfg.active_conf)
        for i in np.flatnonzero(conf < cfg.active_conf):
            detail = f"re-detection confidence {conf[i]:.2f} < {cfg.active_conf}"
            events.append(Event(frame_index, EventKind.REMOVED, self._tracklets[i].obj_id, detail=detail))
        kept = nms(torch.from_numpy(boxes[active]), torch.from_numpy(conf[active]), cfg.nms_iou).numpy()
        survivors = sorted(int(i) for i in active[kept])
        for i in sorted(set(active.tolist()) - set(survivors)):
            iou = box_iou(boxes[i], boxes[survivors])[0]
            other = self._tracklets[survivors[int(iou.argmax())]].obj_id
            detail = f"merged by NMS into track {other} (IoU {iou.max():.2f})"
            events.append(Event(frame_index, EventKind.REMOVED, self._tracklets[i].obj_id, detail=detail))
        return survivors

    def _start_tracklets(self, detections: Detections, frame_index: int, events: list[Event]) -> None:
        """New tracklets for detections ≥ ``det_conf`` overlapping no active tracklet by ``new_iou`` or more."""
        cfg = self.config
        active = np.array([t.xyxy for t in self._tracklets]).reshape(-1, 4)
        for d in np.argsort(-detections.conf, kind="stable"):
            if detections.conf[d] < cfg.det_conf:
                continue
            box = detections.xyxy[d].astype(np.float64)
            if len(active) and box_iou(box, active).max() >= cfg.new_iou:
                continue
            tracklet = _Tracklet(self.next_id, box, float(detections.conf[d]), int(detections.cls[d]),
                                 detections.label(d))
            self.next_id += 1
            self._tracklets.append(tracklet)
            active = np.vstack([active, box])
            events.append(Event(frame_index, EventKind.ADDED, tracklet.obj_id,
                                detail=f"confidence {detections.conf[d]:.2f}"))

    def _reported(self, t: _Tracklet) -> TrackedObject:
        return TrackedObject(obj_id=t.obj_id, box=tuple(float(v) for v in xyxy_to_xywh(t.xyxy)[0]),
                             state=smot_state(t.conf, self.config), score=t.conf, label=t.label)

    def restore(self, frame_index: int, rgb: np.ndarray, objects: Sequence[TrackedObject], next_id: int) -> None:
        """Take the stored boxes at ``frame_index`` as active tracklets (their stored scores as confidences)."""
        by_name = {name: cls_id for cls_id, name in self.detector.names.items()}
        self._tracklets = [
            _Tracklet(obj.obj_id, xywh_to_xyxy(obj.box)[0], obj.score, by_name.get(obj.label or "", 0), obj.label)
            for obj in objects
        ]
        if self.motion:
            self.motion.reset(rgb)
        self.next_id = max([next_id, *(obj.obj_id + 1 for obj in objects)])

    def save_state(self) -> bytes:
        """The tracklets, the id counter and, with motion, the previous frame as the flow sees it (grey,
        ``flow_size``², as a PNG): plain values, pickled and compressed (``tracker.engine_state``)."""
        tracklets = [(t.obj_id, t.xyxy, t.conf, t.cls, t.label) for t in self._tracklets]
        previous = self.motion.saved_previous() if self.motion else None
        return pack_state({"tracklets": tracklets, "next_id": self.next_id, "previous": previous})

    def load_state(self, state: bytes) -> None:
        def read(loaded: dict) -> tuple[list[_Tracklet], int, bytes | None]:
            tracklets = [_Tracklet(int(obj_id), np.asarray(xyxy, np.float64).reshape(4), float(conf), int(cls),
                                   None if label is None else str(label))
                         for obj_id, xyxy, conf, cls, label in loaded["tracklets"]]
            return tracklets, int(loaded["next_id"]), loaded["previous"]

        tracklets, next_id, previous = unpack_state(state, read)
        if self.motion:
            self.motion.load_previous(previous)
        self._tracklets, self.next_id = tracklets, next_id


def smot_state(conf: float, config: SMOTConfig) -> ObjectState:
    """The state of a tracklet re-detected with confidence ``conf`` (see the module docstring)."""
    if conf >= RELIABLE_CONF:
        return ObjectState.RELIABLE
    if conf >= (config.active_conf + RELIABLE_CONF) / 2:
        return ObjectState.PENDING
    return ObjectState.SUSPICIOUS


def build(options: EngineOptions, config: SMOTConfig | None = None) -> SMOT:
    """SMOT over an Ultralytics detector (see ``load_detector``; precomputed detections have no raw predictions).
    ``options.conf``, ``top_k`` and ``motion`` override ``config``'s ``det_conf``, ``top_k`` and ``motion``."""
    overrides = {"det_conf": options.conf, "top_k": options.top_k, "motion": options.motion}
    config = replace(config or SMOTConfig(), **{k: v for k, v in overrides.items() if v is not None})
    detector = options.detector or DEFAULT_DETECTOR
    found = load_detector(detector, classes=options.classes, conf=config.det_conf, imgsz=640, device=options.device)
    if not isinstance(found, UltralyticsDetector):
        raise DetectorError(f"detector {detector}: SMOT re-detects with a detector's raw predictions; precomputed "
                            "detections have none (use Ultralytics weights)")
    return SMOT(found, config)

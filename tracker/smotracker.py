"""SMOTracker: SAM2 masklets for many small objects (``docs/engines.md``, SMOTracker section).

Identities belong to SAM2 masklets, not to detections. The video is processed in clips of K frames
over **one continuous SAM2 memory** (the published code re-initialises SAM2 per clip and re-prompts
every object with its last box; Masklet keeps each object's memory). Per frame:

1. SAM2 (the *segmenter*) propagates every object → masks, boxes, logits; states from the logits
   (reliable > τr ≥ pending > τp ≥ suspicious > τs ≥ lost, as in SAM2MOT);
2. at a clip start only (the first frame, then every K frames), the detector runs and its boxes with
   confidence ≥ ``det_conf`` are associated with the masklets: Hungarian matching maximising box IoU
   plus mask-box overlap |M∩B| / √(|M|·|B|) (the geometric mean of the share of the mask inside the
   box and the share of the box the mask covers: stable for tiny objects whose box IoU jumps with
   each pixel). A pair is allowed when its IoU ≥ ``match_iou`` or its overlap ≥ ``match_mask``.
   (The published association is an OC-SORT-style matcher on boxes; matching the masklets' own
   masks needs no motion model.) Matched detections keep the masklet's ID. Unmatched detections,
   by decreasing confidence, start new objects prompted with their box, unless no more than
   ``new_untracked`` of the box is free of masks (a detection that mostly lies on an existing
   masklet, or on one just added, is a duplicate);
3. objects lost for more than ``max_lost`` consecutive frames are removed; the low-confidence memory
   filter (``memory_filter_logit``) keeps severely degraded frames out of memory, as in SAM2MOT.

Objects whose mask is empty are tracked on but not reported. Events: ADDED, REMOVED.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from tracker.detectors import DEFAULT_DETECTOR, Detections, Detector, MotFileDetector, load_detector
from tracker.engine_options import EngineOptions
from tracker.engines import Engine
from tracker.errors import DetectorError
from tracker.geometry import box_iou, encode_mask, gated_assignment, xywh_to_xyxy
from tracker.object_states import (
    LiveObject,
    ObjectStateConfig,
    Segmenter,
    SegmentOutput,
    UntrackedRegion,
    age_lost,
    filter_memory,
    object_state,
    prompt_stored,
    reported_object,
    state_logit,
)
from tracker.results import Event, EventKind, FrameResult, Rle, TrackedObject
from tracker.slicing import SlicedDetector


@dataclass(frozen=True)
class SMOTrackerConfig(ObjectStateConfig):
    """SMOTracker parameters (state thresholds and lost tolerance from :class:`ObjectStateConfig`);
    ``clip_len`` and ``det_conf`` default to the published values."""

    clip_len: int = 13  # K: the detector runs at the first frame of every clip
    det_conf: float = 0.35
    match_iou: float = 0.3  # a masklet and a detection may match with this box IoU ...
    match_mask: float = 0.4  # ... or this mask-box overlap
    new_untracked: float = 0.7  # a new object needs more than this share of its box free of masks

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.clip_len < 1:
            raise ValueError(f"clip_len must be >= 1, not {self.clip_len}")


def mask_box_overlap(masks: Sequence[np.ndarray], mask_xyxy: np.ndarray, det_xyxy: np.ndarray) -> np.ndarray:
    """|M∩B| / √(|M|·|B|) of every mask M (``mask_xyxy``: its tight box) and every box B → N×M matrix."""
    overlap = np.zeros((len(masks), len(det_xyxy)))
    if overlap.size == 0:
        return overlap
    height, width = masks[0].shape
    pixels = np.round(np.asarray(det_xyxy, dtype=np.float64)).astype(int)
    pixels[:, [0, 2]] = np.clip(pixels[:, [0, 2]], 0, width)
    pixels[:, [1, 3]] = np.clip(pixels[:, [1, 3]], 0, height)
    box_areas = (pixels[:, 2] - pixels[:, 0]) * (pixels[:, 3] - pixels[:, 1])
    tight = np.asarray(mask_xyxy).astype(int)
    mask_areas = [int(mask[y1:y2, x1:x2].sum()) for mask, (x1, y1, x2, y2) in zip(masks, tight)]
    for t, d in zip(*np.nonzero(box_iou(mask_xyxy, det_xyxy) > 0)):
        x1, y1, x2, y2 = pixels[d]
        inside = int(masks[t][y1:y2, x1:x2].sum())
        if inside:
            overlap[t, d] = inside / math.sqrt(mask_areas[t] * int(box_areas[d]))
    return overlap


def match_masklets(iou: np.ndarray, overlap: np.ndarray, min_iou: float, min_overlap: float) -> list[tuple[int, int]]:
    """Hungarian matching maximising IoU + overlap over the allowed pairs (IoU ≥ ``min_iou`` or
    overlap ≥ ``min_overlap``); ``(masklet, detection)`` index pairs."""
    return gated_assignment(iou + overlap, (iou >= min_iou) | (overlap >= min_overlap))


class SMOTracker(Engine):
    """SMOTracker over a segmenter (the SAM2 engine) and a detector run once per clip.

    ``timings`` keys: ``total``, ``detector``, ``propagate`` (segmenter ``step``), ``prompt``
    (adding objects); the rest of ``total`` is bookkeeping.
    """

    def __init__(self, segmenter: Segmenter, detector: Detector, config: SMOTrackerConfig | None = None) -> None:
        super().__init__()
        self.segmenter = segmenter
        self.detector = detector
        self.config = config or SMOTrackerConfig()
        self._tracks: dict[int, LiveObject] = {}
        self._clip_start: int | None = None

    def set_video_length(self, num_frames: int) -> None:
        self.segmenter.num_frames = num_frames

    def process(self, frame_index: int, rgb: np.ndarray) -> FrameResult:
        cfg = self.config
        with self.time_stage("total"):
            with self.time_stage("propagate"):
                outputs = dict(self.segmenter.step(frame_index, rgb))
            rles = {obj_id: encode_mask(output.mask) for obj_id, output in outputs.items()}
            states = {obj_id: object_state(state_logit(out, cfg), cfg) for obj_id, out in outputs.items()}
            scores = {obj_id: float(out.object_score_logit) for obj_id, out in outputs.items()}
            events: list[Event] = []
            if self._clip_start is None or frame_index - self._clip_start >= cfg.clip_len:
                self._clip_start = frame_index
                with self.time_stage("detector"):
                    detections = self.detector(rgb, frame_index).above(cfg.det_conf)
                self._associate(frame_index, rgb.shape[:2], detections, outputs, rles, events)
            for obj_id, lost in age_lost(self.segmenter, self._tracks, states, cfg).items():
                del self._tracks[obj_id], outputs[obj_id], rles[obj_id], scores[obj_id]
                events.append(Event(frame_index, EventKind.REMOVED, obj_id, detail=f"lost for {lost} frames"))
            filter_memory(self.segmenter, scores, cfg)
            objects = [
                reported_object(obj_id, outputs[obj_id], rles[obj_id], cfg, self._tracks[obj_id].label)
                for obj_id in sorted(outputs)
            ]
            objects = [obj for obj in objects if obj is not None]
            return FrameResult(frame_index, objects, events, self.segmenter.take_prompts())

    def _associate(
        self,
        frame_index: int,
        shape: tuple[int, int],
        detections: Detections,
        outputs: dict[int, SegmentOutput],
        rles: dict[int, Rle],
        events: list[Event],
    ) -> None:
        """Match detections to masklets; start objects for the unmatched, non-duplicate ones (their
        outputs, masks and ADDED events go into ``outputs``, ``rles`` and ``events``)."""
        cfg = self.config
        boxed = [obj_id for obj_id, out in outputs.items() if out.box is not None]
        mask_xyxy = xywh_to_xyxy(np.array([outputs[obj_id].box for obj_id in boxed]))
        iou = box_iou(mask_xyxy, detections.xyxy)
        overlap = mask_box_overlap([outputs[obj_id].mask for obj_id in boxed], mask_xyxy, detections.xyxy)
        matched = {d for _, d in match_masklets(iou, overlap, cfg.match_iou, cfg.match_mask)}
        unmatched = [int(d) for d in np.argsort(-detections.conf, kind="stable") if d not in matched]
        if not unmatched:
            return
        region = UntrackedRegion((output.mask for output in outputs.values()), shape)
        for d in unmatched:
            box = detections.xyxy[d]
            if region.ratio(box) <= cfg.new_untracked:
                continue
            obj_id = self.next_id
            self.next_id += 1
            with self.time_stage("prompt"):
                output = self.segmenter.add_object(obj_id, box=box.astype(np.float32))
            self._tracks[obj_id] = LiveObject(detections.label(d))
            outputs[obj_id], rles[obj_id] = output, encode_mask(output.mask)
            region.cover(output.mask)
            events.append(Event(frame_index, EventKind.ADDED, obj_id, detail=f"confidence {detections.conf[d]:.2f}"))

    def restore(self, frame_index: int, rgb: np.ndarray, objects: Sequence[TrackedObject], next_id: int) -> None:
        """Re-prompt ``objects`` at ``frame_index`` with their stored masks (boxes when maskless).
        Expects a fresh segmenter; lost counts start anew and a new clip starts at the next frame."""
        self.segmenter.step(frame_index, rgb)
        for obj in objects:
            prompt_stored(self.segmenter, obj)
            self._tracks[obj.obj_id] = LiveObject(obj.label)
        self.next_id = max([next_id, *(obj.obj_id + 1 for obj in objects)])
        self._clip_start = None


def build(options: EngineOptions, config: SMOTrackerConfig | None = None) -> SMOTracker:
    """SMOTracker over :class:`tracker.sam2_engine.SAM2Engine` and a detector (see ``load_detector``), the
    detector at 1280 px (the published YOLO setting).

    ``options.conf`` (default 0.35) and ``clip_len`` (default 13) override ``config``'s ``det_conf`` and
    ``clip_len``. ``tiles``: detect on overlapping tiles of this size (``tile_overlap``: fraction of a tile,
    default 0.2) plus the full frame (:class:`tracker.slicing.SlicedDetector`). ``random_init`` / ``image_size``:
    an untrained SAM2 at a small resolution, for tests and benchmarks.
    """
    from tracker.sam2_engine import SAM2Engine

    overrides = {"det_conf": options.conf, "clip_len": options.clip_len}
    config = replace(config or SMOTrackerConfig(), **{k: v for k, v in overrides.items() if v is not None})
    found = load_detector(options.detector or DEFAULT_DETECTOR, classes=options.classes, conf=config.det_conf,
                          imgsz=1280, device=options.device)
    if options.tiles:
        if isinstance(found, MotFileDetector):
            raise DetectorError(f"detections file {found.path}: tiling does not apply to precomputed detections")
        overlap = 0.2 if options.tile_overlap is None else options.tile_overlap
        found = SlicedDetector(found, options.tiles, overlap)
    segmenter = SAM2Engine(**options.segmenter_options())
    return SMOTracker(segmenter, found, config)

"""SAM2MOT: tracking by segmentation (``docs/engines.md``, SAM2MOT section).

SAM2 (the *segmenter*) propagates every object; the detector only finds new objects. Per frame:

1. propagate → masks, boxes, object score logits; run the detector;
2. states from the logits (reliable > τr ≥ pending > τp ≥ suspicious > τs ≥ lost);
3. cross-object interaction: pairs with mask IoU > 0.8 are a conflict; the wrong object (stage 1:
   logit lower by more than 2.0, else stage 2: higher population variance of its last N logits)
   gets this frame kept out of its memory (``skip_memory``) and a CONFLICT event is emitted; its box
   is the other object's, so it takes no part in detection matching;
4. Hungarian matching (IoU, gated at 0.3 before solving) of detections with confidence ≥ 0.5 to
   tracking boxes;
5. quality reconstruction: a *pending* object matched to a (high-confidence) detection is
   re-prompted with that box, which replaces its key frame (``refresh_keyframe``);
6. object addition: unmatched detections, most confident first, whose box is more than r = 0.7
   untracked pixels (M_non: covered by no tracked mask, including the objects just added) become new
   objects prompted with their box;
7. removal after more than 25 consecutive lost frames; the low-confidence memory filter
   (``memory_filter_logit``) keeps severely degraded frames out of memory.

Ablations: ``addition_filter=False`` makes every unmatched detection a new object (no confidence
filter: the detector then runs at ``unfiltered_conf``; no untracked-region test); ``cross_object``
and ``reconstruction`` switch steps 3 and 5 off.

The reported object at a frame is the segmenter's final output (after a key-frame refresh, the
refreshed mask and logit); the logit history used by stage 2 holds the propagated logits. Objects
whose mask is empty are tracked on but not reported. ``score`` is the sigmoid of SAM2's object
score logit; ``logit`` is the logit the states are computed from (``state_logit``).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from tracker.detectors import DEFAULT_DETECTOR, Detector, load_detector
from tracker.engine_options import EngineOptions
from tracker.engines import Engine
from tracker.geometry import encode_mask, mask_iou, match_boxes, xywh_to_xyxy
from tracker.object_states import (
    CONFLICT_IOU,
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
from tracker.results import Event, EventKind, FrameResult, ObjectState, Rle, TrackedObject


@dataclass(frozen=True)
class SAM2MOTConfig(ObjectStateConfig):
    """SAM2MOT parameters (state thresholds, lost tolerance, ``state_logit`` and the low-confidence
    filter come from :class:`ObjectStateConfig`); the defaults are the published ones."""

    det_conf: float = 0.5  # addition filter 1; also what "high-confidence detection" means
    match_iou: float = 0.3  # Hungarian gate: pairs with a lower IoU stay unmatched
    untracked_ratio: float = 0.7  # r: a new object needs more than this share of untracked box pixels
    conflict_iou: float = CONFLICT_IOU
    logit_gap: float = 2.0  # stage 1: a gap larger than this decides the conflict
    variance_window: int = 10  # stage 2: N, the number of recent logits whose variance is compared
    addition_filter: bool = True  # off: every unmatched detection (any confidence) becomes an object
    cross_object: bool = True
    reconstruction: bool = True
    unfiltered_conf: float = 0.25  # the detector's own threshold when the addition filter is off (Ultralytics')

    @property
    def detector_conf(self) -> float:
        """What the detector must return: filter 1 drops below ``det_conf`` itself when it is on."""
        return self.det_conf if self.addition_filter else min(self.det_conf, self.unfiltered_conf)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.variance_window < 1:
            raise ValueError("variance_window must be >= 1")


@dataclass
class _Frame:
    """Working state of one frame: outputs (final), their RLEs, events."""

    index: int
    outputs: dict[int, SegmentOutput]
    rles: dict[int, Rle] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)

    def set_output(self, obj_id: int, output: SegmentOutput) -> None:
        self.outputs[obj_id] = output
        self.rles[obj_id] = encode_mask(output.mask)

    def event(self, kind: EventKind, track_id: int, **extra: object) -> None:
        self.events.append(Event(self.index, kind, track_id, **extra))


class SAM2MOT(Engine):
    """The SAM2MOT tracker over a segmenter (the SAM2 engine) and a detector.

    ``timings`` keys: ``total``, ``detector``, ``propagate`` (segmenter ``step``), ``prompt``
    (adding and re-prompting objects); the rest of ``total`` is bookkeeping.
    """

    def __init__(self, segmenter: Segmenter, detector: Detector, config: SAM2MOTConfig | None = None) -> None:
        super().__init__()
        self.segmenter = segmenter
        self.detector = detector
        self.config = config or SAM2MOTConfig()
        self._tracks: dict[int, LiveObject] = {}

    # ------------------------------------------------------------------ per frame
    def set_video_length(self, num_frames: int) -> None:
        self.segmenter.num_frames = num_frames

    def process(self, frame_index: int, rgb: np.ndarray) -> FrameResult:
        with self.time_stage("total"):
            with self.time_stage("propagate"):
                frame = _Frame(frame_index, dict(self.segmenter.step(frame_index, rgb)))
            with self.time_stage("detector"):
                detections = self.detector(rgb, frame_index)
            cfg = self.config
            for obj_id, output in frame.outputs.items():
                frame.rles[obj_id] = encode_mask(output.mask)
                self._tracks[obj_id].logit_history.append(self._logit(output))
            states = {obj_id: object_state(self._logit(out), cfg) for obj_id, out in frame.outputs.items()}
            scores = {obj_id: float(out.object_score_logit) for obj_id, out in frame.outputs.items()}

            losers = self._cross_object_interaction(frame) if cfg.cross_object else set()
            candidates = detections.above(cfg.det_conf) if cfg.addition_filter else detections
            boxed = [i for i, out in frame.outputs.items() if out.box is not None and i not in losers]
            track_xyxy = xywh_to_xyxy(np.array([frame.outputs[i].box for i in boxed]))
            matches = match_boxes(track_xyxy, candidates.xyxy, cfg.match_iou)

            refreshed = set()
            if cfg.reconstruction:
                for t, d in matches:
                    obj_id = boxed[t]
                    if states[obj_id] is ObjectState.PENDING and candidates.conf[d] >= cfg.det_conf:
                        with self.time_stage("prompt"):
                            frame.set_output(obj_id, self.segmenter.refresh_keyframe(obj_id, candidates.xyxy[d]))
                        refreshed.add(obj_id)
                        detail = f"detection confidence {candidates.conf[d]:.2f}"
                        frame.event(EventKind.KEYFRAME, obj_id, detail=detail)

            matched = {d for _, d in matches}
            unmatched = [int(d) for d in np.argsort(-candidates.conf, kind="stable") if d not in matched]
            region = None
            if unmatched and cfg.addition_filter:
                region = UntrackedRegion((out.mask for out in frame.outputs.values()), rgb.shape[:2])
            for d in unmatched:
                if region is None or region.ratio(candidates.xyxy[d]) > cfg.untracked_ratio:
                    added = self._add(frame, candidates.xyxy[d], candidates.label(d), f"confidence {candidates.conf[d]:.2f}")
                    if region is not None:
                        region.cover(added.mask)

            for obj_id, lost_frames in age_lost(self.segmenter, self._tracks, states, cfg).items():
                del self._tracks[obj_id], frame.outputs[obj_id], scores[obj_id]
                frame.event(EventKind.REMOVED, obj_id, detail=f"lost for {lost_frames} frames")
            filter_memory(self.segmenter, scores, cfg, kept=losers | refreshed)
            return FrameResult(frame_index, self._report(frame), frame.events, self.segmenter.take_prompts())

    def _logit(self, output: SegmentOutput) -> float:
        return state_logit(output, self.config)

    def _cross_object_interaction(self, frame: _Frame) -> set[int]:
        """Find conflicting pairs, emit CONFLICT events, keep the wrong objects' frame out of memory."""
        ids = sorted(obj_id for obj_id, out in frame.outputs.items() if out.box is not None)
        rles = [frame.rles[obj_id] for obj_id in ids]
        iou = mask_iou(rles, rles)
        losers: set[int] = set()
        for i, j in zip(*np.nonzero(np.triu(iou > self.config.conflict_iou, k=1))):
            a, b = ids[i], ids[j]
            loser, stage = self._wrong_object(a, b)
            losers.add(loser)
            detail = f"mask IoU {iou[i, j]:.2f}, decided at stage {stage}"
            frame.event(EventKind.CONFLICT, a, other_id=b, loser_id=loser, detail=detail)
        for obj_id in sorted(losers):
            self.segmenter.skip_memory(obj_id)
        return losers

    def _wrong_object(self, a: int, b: int) -> tuple[int, int]:
        """Which of two conflicting objects is wrong, and the stage (1 or 2) that decided it.
        Stage 2 ties go to the later-added object."""
        logit_a, logit_b = self._tracks[a].logit_history[-1], self._tracks[b].logit_history[-1]
        if abs(logit_a - logit_b) > self.config.logit_gap:
            return (a if logit_a < logit_b else b), 1
        var_a, var_b = (float(np.var(self._tracks[i].logit_history)) for i in (a, b))
        if var_a == var_b:
            return max(a, b), 2
        return (a if var_a > var_b else b), 2

    def _add(self, frame: _Frame, box_xyxy: np.ndarray, label: str | None, detail: str) -> SegmentOutput:
        """Start a new object prompted with a box at this frame."""
        obj_id = self.next_id
        self.next_id += 1
        with self.time_stage("prompt"):
            output = self.segmenter.add_object(obj_id, box=np.asarray(box_xyxy, dtype=np.float32))
        self._tracks[obj_id] = self._new_track(label, output)
        frame.set_output(obj_id, output)
        frame.event(EventKind.ADDED, obj_id, detail=detail)
        return output

    def _new_track(self, label: str | None, output: SegmentOutput) -> LiveObject:
        return LiveObject(label, deque([self._logit(output)], maxlen=self.config.variance_window))

    def _report(self, frame: _Frame) -> list[TrackedObject]:
        objects = (
            reported_object(obj_id, output, frame.rles[obj_id], self.config, self._tracks[obj_id].label)
            for obj_id, output in sorted(frame.outputs.items())
        )
        return [obj for obj in objects if obj is not None]

    # ------------------------------------------------------------------ resume
    def restore(self, frame_index: int, rgb: np.ndarray, objects: Sequence[TrackedObject], next_id: int) -> None:
        """Re-prompt ``objects`` at ``frame_index`` with their stored masks (boxes when maskless).
        Expects a fresh segmenter; logit histories and lost counts start anew."""
        self.segmenter.step(frame_index, rgb)
        for obj in objects:
            self._tracks[obj.obj_id] = self._new_track(obj.label, prompt_stored(self.segmenter, obj))
        self.next_id = max([next_id, *(obj.obj_id + 1 for obj in objects)])


def build(options: EngineOptions, config: SAM2MOTConfig | None = None) -> SAM2MOT:
    """SAM2MOT over :class:`tracker.sam2_engine.SAM2Engine` and a detector (see ``load_detector``).

    ``options.conf`` sets the detection confidence threshold (``SAM2MOTConfig.det_conf``, default 0.5) of the
    addition filter and of reconstruction. ``addition_filter``, ``cross_object``, ``reconstruction``: the module
    switches (ablations). ``random_init``/``image_size``: an untrained SAM2 at a small resolution, for tests and
    benchmarks.
    """
    from tracker.sam2_engine import SAM2Engine

    config = replace(config or SAM2MOTConfig(), addition_filter=options.addition_filter,
                     cross_object=options.cross_object, reconstruction=options.reconstruction)
    if options.conf is not None:
        config = replace(config, det_conf=options.conf)
    segmenter = SAM2Engine(**options.segmenter_options())
    found = load_detector(options.detector or DEFAULT_DETECTOR, classes=options.classes, conf=config.detector_conf,
                          imgsz=640, device=options.device)
    return SAM2MOT(segmenter, found, config)

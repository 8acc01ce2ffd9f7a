"""SAM2MOT: the published algorithm on a scripted fake segmenter and detector, then end to end with the
real OpenVINO detector and a randomly initialised SAM2 on real frames."""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pytest

from tracker.detectors import Detections
from tracker.engine_options import EngineOptions
from tracker.geometry import box_iou, decode_mask, mask_to_xywh, match_boxes, xywh_to_xyxy
from tracker.object_states import object_state
from tracker.results import EventKind, FrameResult, ObjectState, TrackedObject
from tracker.sam2mot import SAM2MOT, SAM2MOTConfig

SHAPE = (120, 240)
IMAGE = np.zeros((*SHAPE, 3), np.uint8)
ADD_LOGIT = 10.0


# ---------------------------------------------------------------------------------- test doubles
@dataclass
class FakeOutput:
    obj_id: int
    mask: np.ndarray
    object_score_logit: float
    mask_logit: float = 5.0

    @property
    def mask_logits(self) -> np.ndarray:
        return np.where(self.mask, self.mask_logit, -self.mask_logit).astype(np.float32)

    @property
    def box(self) -> tuple[float, float, float, float] | None:
        return mask_to_xywh(self.mask)


def box_mask(xyxy: Sequence[float]) -> np.ndarray:
    mask = np.zeros(SHAPE, bool)
    x1, y1, x2, y2 = (int(round(v)) for v in xyxy)
    mask[y1:y2, x1:x2] = True
    return mask


@dataclass
class FakeSegmenter:
    """Scripted SAM2: ``next[obj_id] = (mask, logit)`` sets what the next ``step`` reports for an
    object (unscripted objects repeat their last output); every call is recorded."""

    next: dict[int, tuple[np.ndarray, float]] = field(default_factory=dict)
    objects: dict[int, FakeOutput] = field(default_factory=dict)
    calls: list[tuple] = field(default_factory=list)
    refresh_logit: float = 10.0
    num_frames: int | None = None

    def step(self, frame_index: int, rgb: np.ndarray) -> Mapping[int, FakeOutput]:
        self.calls.append(("step", frame_index))
        for obj_id, (mask, logit) in self.next.items():
            self.objects[obj_id] = FakeOutput(obj_id, mask, logit)
        self.next = {}
        return dict(self.objects)

    def add_object(self, obj_id: int, *, box: np.ndarray | None = None, mask: np.ndarray | None = None) -> FakeOutput:
        self.calls.append(("add", obj_id, None if box is None else tuple(float(v) for v in box)))
        self.objects[obj_id] = FakeOutput(obj_id, box_mask(box) if mask is None else mask, ADD_LOGIT)
        return self.objects[obj_id]

    def refresh_keyframe(self, obj_id: int, box_xyxy: np.ndarray) -> FakeOutput:
        self.calls.append(("refresh", obj_id, tuple(float(v) for v in box_xyxy)))
        self.objects[obj_id] = FakeOutput(obj_id, box_mask(box_xyxy), self.refresh_logit)
        return self.objects[obj_id]

    def skip_memory(self, obj_id: int) -> None:
        self.calls.append(("skip", obj_id))

    def remove_object(self, obj_id: int) -> None:
        self.calls.append(("remove", obj_id))
        del self.objects[obj_id]

    def take_prompts(self) -> list:
        return []

    def of(self, kind: str) -> list[tuple]:
        return [call[1:] for call in self.calls if call[0] == kind]


@dataclass
class FakeDetector:
    """Returns ``next`` (a list of ``(xyxy, conf)``) once, then nothing."""

    names: dict[int, str] = field(default_factory=lambda: {0: "person"})
    next: list[tuple[Sequence[float], float]] = field(default_factory=list)
    frames: list[int | None] = field(default_factory=list)

    def __call__(self, rgb: np.ndarray, frame_index: int | None = None) -> Detections:
        self.frames.append(frame_index)
        found, self.next = self.next, []
        if not found:
            return Detections.empty(self.names)
        boxes, conf = zip(*found)
        return Detections(np.array(boxes), np.array(conf), np.zeros(len(found)), self.names)


class Harness:
    """A SAM2MOT over the fakes, with objects started from boxes at frame 0."""

    def __init__(self, boxes: Sequence[Sequence[float]] = (), **config: object) -> None:
        self.seg = FakeSegmenter()
        self.det = FakeDetector()
        config = SAM2MOTConfig(**config)
        self.tracker = SAM2MOT(self.seg, self.det, replace(config, untracked_ratio=-1.0))
        self.frame = -1
        self.step([(box, 0.9) for box in boxes])  # every box becomes an object, however they overlap
        self.tracker.config = config

    def step(
        self, detections: Sequence[tuple[Sequence[float], float]] = (), **objects: tuple[np.ndarray, float]
    ) -> FrameResult:
        """Next frame: objects given as ``o1=(mask, logit)``; detections as ``(xyxy, conf)``."""
        self.frame += 1
        self.det.next = list(detections)
        self.seg.next = {int(key[1:]): value for key, value in objects.items()}
        self.seg.calls.clear()
        return self.tracker.process(self.frame, IMAGE)

    def logits(self, **logits: float) -> FrameResult:
        """Next frame: the objects keep their masks, with these logits."""
        return self.step(**{key: (self.seg.objects[int(key[1:])].mask, value) for key, value in logits.items()})


def events(result: FrameResult, kind: EventKind) -> list:
    return [event for event in result.events if event.kind is kind]


A_BOX = (20, 20, 60, 60)
B_BOX = (120, 20, 160, 60)


# ---------------------------------------------------------------------------------- defaults
def test_sam2mot_config_defaults_are_the_published_values() -> None:
    cfg = SAM2MOTConfig()
    assert (cfg.det_conf, cfg.untracked_ratio, cfg.match_iou) == (0.5, 0.7, 0.3)
    assert (cfg.tau_reliable, cfg.tau_pending, cfg.tau_suspicious) == (8.0, 6.0, 2.0)
    assert (cfg.max_lost, cfg.conflict_iou, cfg.logit_gap, cfg.variance_window) == (25, 0.8, 2.0, 10)
    assert cfg.addition_filter and cfg.cross_object and cfg.reconstruction and cfg.memory_filter_logit == 2.0
    assert cfg.state_logit == "object_score"
    with pytest.raises(ValueError):
        SAM2MOTConfig(tau_pending=9.0)


# ---------------------------------------------------------------------------------- addition
def test_sam2mot_adds_detections_prompted_with_their_box() -> None:
    h = Harness([A_BOX, B_BOX])
    assert h.seg.of("add") == [(1, A_BOX), (2, B_BOX)]
    assert h.det.frames == [0]
    result = h.tracker.process(1, IMAGE)  # nothing new: no further additions
    assert [obj.obj_id for obj in result.objects] == [1, 2]
    obj = result.objects[0]
    assert obj.box == (20.0, 20.0, 40.0, 40.0) and obj.label == "person" and obj.state is ObjectState.RELIABLE
    assert decode_mask(obj.mask).sum() == 1600 and obj.logit == ADD_LOGIT


def test_sam2mot_drops_detections_below_confidence() -> None:
    h = Harness()
    result = h.step([(A_BOX, 0.49), (B_BOX, 0.5)])
    assert [e.track_id for e in events(result, EventKind.ADDED)] == [1]
    assert h.seg.of("add") == [(1, B_BOX)]


@pytest.mark.parametrize(("covered", "added"), [(31, False), (30, False), (29, True)])
def test_sam2mot_addition_needs_untracked_ratio_above_r(covered: int, added: bool) -> None:
    """A 10×10 detection box, ``covered`` pixels of it under a tracked mask: ratio 0.69 / 0.70 / 0.71."""
    h = Harness([(0, 0, 50, 60)])
    mask = box_mask((0, 0, 50, 60))
    ys, xs = np.divmod(np.arange(covered), 10)
    mask[50 + ys, 50 + xs] = True
    det = (50, 50, 60, 60)
    tracking_box = xywh_to_xyxy(mask_to_xywh(mask))
    assert box_iou(tracking_box, np.array([det]))[0, 0] < 0.3  # unmatched: only the ratio decides
    result = h.step([(det, 0.9)], o1=(mask, 9.0))
    assert bool(events(result, EventKind.ADDED)) is added


def test_sam2mot_addition_filter_off_adds_every_unmatched_detection() -> None:
    h = Harness([(0, 0, 50, 60)], addition_filter=False)
    inside = (10, 10, 20, 20)  # fully tracked region, low confidence, IoU with the tracked box < 0.3
    result = h.step([(inside, 0.2)])
    assert [e.track_id for e in events(result, EventKind.ADDED)] == [2]


def test_sam2mot_addition_filter_off_asks_the_detector_for_low_confidence_boxes() -> None:
    """Filter 1 is SAM2MOT's, not the detector's: off, the detector returns what it finds at its own
    threshold, so switching the filter off really lets low-confidence detections in."""
    assert SAM2MOTConfig().detector_conf == 0.5
    assert SAM2MOTConfig(addition_filter=False).detector_conf == 0.25
    assert SAM2MOTConfig(addition_filter=False, det_conf=0.1).detector_conf == 0.1


def test_sam2mot_untracked_region_includes_objects_added_in_the_same_frame() -> None:
    """Two overlapping new detections: the more confident one is added first, and the other then lies
    on its mask (M_non is updated after each addition), so it is a duplicate."""
    h = Harness()
    first, second = (102, 22, 142, 62), (100, 20, 140, 60)
    result = h.step([(second, 0.8), (first, 0.9)])
    assert h.seg.of("add") == [(1, first)] and len(events(result, EventKind.ADDED)) == 1


def test_sam2mot_matching_is_hungarian_where_greedy_fails() -> None:
    """Greedy would pair D1 with T1 (the best IoU) and leave D2/T2 below the gate; Hungarian pairs
    D1–T2 and D2–T1 (larger total IoU). Both tracks are pending, so the pairs show as key frames."""
    t1, t2 = (50, 10, 150, 30), (90, 10, 190, 30)
    d1, d2 = (65, 10, 165, 30), (10, 10, 110, 30)
    iou = box_iou(np.array([t1, t2]), np.array([d1, d2]))
    assert iou[0, 0] == iou.max() and iou[1, 1] < 0.3 and iou[0, 1] + iou[1, 0] > iou[0, 0] + iou[1, 1]
    assert match_boxes(np.array([t1, t2]), np.array([d1, d2]), 0.3) == [(0, 1), (1, 0)]

    h = Harness([t1, t2])
    result = h.step([(d1, 0.9), (d2, 0.9)], o1=(box_mask(t1), 7.0), o2=(box_mask(t2), 7.0))
    assert h.seg.of("refresh") == [(1, d2), (2, d1)]
    assert not events(result, EventKind.ADDED)


# ---------------------------------------------------------------------------------- states
@pytest.mark.parametrize(
    ("logit", "state"),
    [
        (8.0001, ObjectState.RELIABLE),
        (8.0, ObjectState.PENDING),
        (6.0001, ObjectState.PENDING),
        (6.0, ObjectState.SUSPICIOUS),
        (2.0001, ObjectState.SUSPICIOUS),
        (2.0, ObjectState.LOST),
        (-20.0, ObjectState.LOST),
    ],
)
def test_sam2mot_state_thresholds(logit: float, state: ObjectState) -> None:
    assert object_state(logit, SAM2MOTConfig()) is state
    result = Harness([A_BOX]).logits(o1=logit)
    assert result.objects[0].state is state and result.objects[0].logit == logit


def test_sam2mot_state_from_mask_logits() -> None:
    h = Harness([A_BOX], state_logit="mask")
    h.seg.next = {}
    output = FakeOutput(1, box_mask(A_BOX), 12.0, mask_logit=5.0)  # object score reliable, mask logits not
    h.seg.objects[1] = output
    result = h.tracker.process(1, IMAGE)
    assert result.objects[0].state is ObjectState.SUSPICIOUS and result.objects[0].logit == 5.0


# ---------------------------------------------------------------------------------- removal
def test_sam2mot_removes_after_more_than_25_lost_frames() -> None:
    h = Harness([A_BOX])
    for _ in range(25):
        result = h.logits(o1=1.0)
        assert result.objects[0].state is ObjectState.LOST
        assert h.seg.of("skip") == [(1,)] and not h.seg.of("remove")
    result = h.logits(o1=1.0)  # the 26th consecutive lost frame
    assert h.seg.of("remove") == [(1,)]
    assert not result.objects
    assert [(e.track_id, e.frame) for e in events(result, EventKind.REMOVED)] == [(1, 26)]


def test_sam2mot_lost_count_restarts_when_found() -> None:
    h = Harness([A_BOX])
    for logit in [1.0] * 25 + [3.0] + [1.0] * 25:
        h.logits(o1=logit)
    assert not h.seg.of("remove") and 1 in h.seg.objects


def test_sam2mot_low_confidence_filter_off_keeps_lost_frames_in_memory() -> None:
    h = Harness([A_BOX], memory_filter_logit=None)
    h.logits(o1=1.0)
    assert not h.seg.of("skip")


@pytest.mark.parametrize(
    ("logit", "skipped"),
    [(2.0001, False), (2.0, True), (0.5, True), (0.0, False), (-6.0, False)],
)
def test_sam2mot_memory_filter_keeps_degraded_frames_out_but_not_sam2s_occlusion_memory(
    logit: float, skipped: bool
) -> None:
    """Present but at most 2.0: kept out. Judged absent by SAM2 (≤ 0): written, as SAM2 writes it."""
    h = Harness([A_BOX])
    h.logits(o1=logit)
    assert h.seg.of("skip") == ([(1,)] if skipped else [])


def test_sam2mot_memory_filter_has_its_own_threshold() -> None:
    h = Harness([A_BOX], tau_suspicious=1.0)
    result = h.logits(o1=1.5)
    assert result.objects[0].state is ObjectState.SUSPICIOUS and h.seg.of("skip") == [(1,)]
    h = Harness([A_BOX], memory_filter_logit=0.5)
    result = h.logits(o1=1.5)
    assert result.objects[0].state is ObjectState.LOST and not h.seg.of("skip")


# ---------------------------------------------------------------------------------- cross-object interaction
def conflict_frame(h: Harness, logit_a: float, logit_b: float) -> FrameResult:
    """Object 2's mask latches onto object 1's."""
    mask = h.seg.objects[1].mask
    return h.step(o1=(mask, logit_a), o2=(mask.copy(), logit_b))


@pytest.mark.parametrize(("logit_a", "logit_b", "loser"), [(9.5, 7.4, 2), (7.0, 9.1, 1)])
def test_sam2mot_conflict_stage_1_lower_logit_is_wrong(logit_a: float, logit_b: float, loser: int) -> None:
    h = Harness([A_BOX, B_BOX])
    result = conflict_frame(h, logit_a, logit_b)
    [conflict] = events(result, EventKind.CONFLICT)
    assert (conflict.track_id, conflict.other_id, conflict.loser_id) == (1, 2, loser)
    assert "stage 1" in conflict.detail
    assert h.seg.of("skip") == [(loser,)]


@pytest.mark.parametrize("sudden", [1, 2])
def test_sam2mot_conflict_stage_2_sudden_drop_is_wrong(sudden: int) -> None:
    """Logits within 2.0: the object whose logits dropped suddenly (higher variance over the last 10
    frames) is wrong, the steadily declining one is right."""
    h = Harness([A_BOX, B_BOX])
    steady = [ADD_LOGIT - 0.3 * k for k in range(1, 11)]  # ends at 7.0
    drop = [ADD_LOGIT] * 9 + [6.7]
    histories = {sudden: drop, 3 - sudden: steady}
    for k in range(9):
        h.logits(o1=histories[1][k], o2=histories[2][k])
    window = {i: ([ADD_LOGIT] + histories[i])[-10:] for i in (1, 2)}
    assert np.var(window[sudden]) > np.var(window[3 - sudden])  # premise
    result = conflict_frame(h, histories[1][9], histories[2][9])
    [conflict] = events(result, EventKind.CONFLICT)
    assert conflict.loser_id == sudden and "stage 2" in conflict.detail
    assert h.seg.of("skip") == [(sudden,)]


def test_sam2mot_logit_gap_of_exactly_2_goes_to_stage_2() -> None:
    h = Harness([A_BOX, B_BOX])
    result = conflict_frame(h, 9.0, 7.0)
    assert "stage 2" in events(result, EventKind.CONFLICT)[0].detail


@pytest.mark.parametrize(("columns", "conflict"), [(32, False), (36, True)])
def test_sam2mot_conflict_needs_mask_iou_above_0_8(columns: int, conflict: bool) -> None:
    h = Harness([A_BOX, B_BOX])
    mask_b = box_mask((20, 20, 20 + columns, 60))  # IoU with A's 40 columns: 0.8 / 0.9
    result = h.step(o1=(box_mask(A_BOX), 9.0), o2=(mask_b, 9.0))
    assert bool(events(result, EventKind.CONFLICT)) is conflict


def test_sam2mot_cross_object_interaction_off() -> None:
    h = Harness([A_BOX, B_BOX], cross_object=False)
    result = conflict_frame(h, 9.5, 7.0)
    assert not events(result, EventKind.CONFLICT) and not h.seg.of("skip")


# ---------------------------------------------------------------------------------- quality reconstruction
@pytest.mark.parametrize(
    ("logit", "detections", "refreshed"),
    [
        (7.0, [((22, 22, 62, 62), 0.9)], True),  # pending and matched
        (9.0, [((22, 22, 62, 62), 0.9)], False),  # reliable
        (5.0, [((22, 22, 62, 62), 0.9)], False),  # suspicious
        (7.0, [], False),  # pending, unmatched
        (7.0, [((22, 22, 62, 62), 0.4)], False),  # pending, matched only to a low-confidence detection
    ],
)
def test_sam2mot_reconstruction_only_when_pending_and_matched(logit: float, detections: list, refreshed: bool) -> None:
    h = Harness([A_BOX])
    result = h.step(detections, o1=(box_mask(A_BOX), logit))
    assert bool(h.seg.of("refresh")) is refreshed
    assert bool(events(result, EventKind.KEYFRAME)) is refreshed
    if refreshed:
        assert h.seg.of("refresh") == [(1, (22.0, 22.0, 62.0, 62.0))]
        obj = result.objects[0]  # the refreshed output is what is reported
        assert obj.box == (22.0, 22.0, 40.0, 40.0) and obj.state is ObjectState.RELIABLE
    assert not events(result, EventKind.ADDED)


def test_sam2mot_reconstruction_off() -> None:
    h = Harness([A_BOX], reconstruction=False)
    h.step([((22, 22, 62, 62), 0.9)], o1=(box_mask(A_BOX), 7.0))
    assert not h.seg.of("refresh")


def test_sam2mot_conflict_loser_is_not_reconstructed() -> None:
    h = Harness([A_BOX, B_BOX])
    mask = box_mask(A_BOX)
    h.step([(A_BOX, 0.9), (A_BOX, 0.9)], o1=(mask, 9.5), o2=(mask.copy(), 7.0))
    assert h.seg.of("skip") == [(2,)] and not h.seg.of("refresh")


def test_sam2mot_conflict_loser_cannot_take_the_winners_detection() -> None:
    """Object 2 latched onto object 1 (mask IoU 0.82) and lost the conflict; its box fits the detection
    better (IoU 1.0 vs 0.82), but it takes no part in matching: the detection refreshes object 1."""
    h = Harness([A_BOX, B_BOX])
    shifted = (22, 22, 62, 62)
    h.step([(shifted, 0.9)], o1=(box_mask(A_BOX), 7.0), o2=(box_mask(shifted), 4.0))
    assert h.seg.of("skip") == [(2,)] and h.seg.of("refresh") == [(1, tuple(map(float, shifted)))]


# ---------------------------------------------------------------------------------- engine interface
def test_sam2mot_restore_reprompts_stored_objects_and_continues_ids() -> None:
    from tracker.geometry import encode_mask

    seg, det = FakeSegmenter(), FakeDetector()
    tracker = SAM2MOT(seg, det)
    stored = [TrackedObject(4, (20, 20, 40, 40), mask=encode_mask(box_mask(A_BOX)), label="person")]
    tracker.restore(9, IMAGE, stored, next_id=7)
    assert seg.of("step") == [(9,)] and seg.of("add") == [(4, None)]
    det.next = [(B_BOX, 0.9)]
    result = tracker.process(10, IMAGE)
    assert [(o.obj_id, o.label) for o in result.objects] == [(4, "person"), (7, "person")]


def test_sam2mot_run_reads_frames_and_keeps_timings() -> None:
    class Source:
        def __len__(self) -> int:
            return 5

        def frames(self, start: int = 0, end: int | None = None):
            return ((i, IMAGE) for i in range(start, 5 if end is None else end))

    seg, det = FakeSegmenter(), FakeDetector()
    tracker = SAM2MOT(seg, det)
    det.next = [(A_BOX, 0.9)]
    results = list(tracker.run(Source(), 2))
    assert [r.frame for r in results] == [2, 3, 4] and det.frames == [2, 3, 4]
    assert seg.num_frames == 5  # SAM2 normalises pointer positions by the video length
    assert {"total", "detector", "propagate", "prompt"} <= set(tracker.timings)
    assert tracker.timings["total"] >= tracker.timings["detector"] + tracker.timings["propagate"]


# ---------------------------------------------------------------------------------- end to end
@pytest.mark.slow
def test_sam2mot_end_to_end_on_real_frames(
    shared_data: Path, openvino_detector_path: Path, tmp_path: Path
) -> None:
    """Real OpenVINO detector + random-init SAM2 on 10 bedroom frames (5, then resumed to 10: the live
    objects are re-prompted with their stored masks) → project → MOT exports → eval."""
    from app.cli import main
    from app.document import Document

    video = str(shared_data / "bedroom" / "bedroom.mp4")
    project, sequence, results = tmp_path / "bedroom.masklet", tmp_path / "bedroom", tmp_path / "results.txt"
    code = main([
        "track", video, "--engine", "sam2mot", "--detector", str(openvino_detector_path), "--classes", "person",
        "--device", "cpu", "--sam2-random-init", "--image-size", "256", "--end", "5", "-o", str(project),
    ])
    assert code == 0
    with Document.open(project) as doc:
        assert doc.frame_range() == (0, 4)
        live = {obs.track_id for obs in doc.observations_at(4)}
    exports = ["--export", f"mot:{sequence}", "--export", f"mot-results:{results}"]
    assert main(["track", video, "-o", str(project), "--resume", "--end", "10", *exports]) == 0
    with Document.open(project) as doc:
        assert live and live <= {obs.track_id for obs in doc.observations_at(5)}
        assert doc.get_meta("engine") == {
            "name": "sam2mot",
            "options": {
                "detector": str(openvino_detector_path.resolve()), "classes": ["person"], "device": "cpu",
                "image_size": 256, "random_init": True,
            },
        }
        assert doc.get_meta("tracking") == {"start": 0, "end": 10, "next_frame": 10}
        assert doc.frame_range() == (0, 9)
        added = doc.events(kind=EventKind.ADDED)
        # Untrained SAM2's masks cover about half the frame, so the first child's mask can hide the
        # second (M_non); with trained weights both are added at frame 0.
        assert added and added[0].frame == 0
        for frame in range(10):
            for obs in doc.observations_at(frame):
                assert obs.mask is not None and obs.box[2] > 0 and obs.box[3] > 0
        assert {doc.categories()[track.category_id] for track in doc.tracks()} == {"person"}
    gt = np.loadtxt(sequence / "gt" / "gt.txt", delimiter=",", ndmin=2)
    assert gt[:, 0].min() == 1 and gt[:, 0].max() == 10  # MOTChallenge frames are 1-based
    assert np.loadtxt(results, delimiter=",", ndmin=2).shape == (len(gt), 10)
    report = tmp_path / "metrics.json"  # the exports read back by eval: the same boxes, a perfect score
    assert main(["eval", "--gt", str(sequence), "--pred", str(results), "--json", str(report)]) == 0
    metrics = json.loads(report.read_text())["combined"]
    assert metrics["IDF1"] == pytest.approx(1.0) and metrics["TP"] == len(gt)



def test_track_command_switches_sam2mot_modules(shared_data: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """``--no-addition-filter --no-cross-object --no-reconstruction`` reach SAM2MOT's config and the
    project's engine options (so ``--resume`` keeps them); other engines refuse them."""
    from app.cli import main
    from app.document import Document
    from tracker.sam2mot import build

    video, detections = shared_data / "highway" / "highway.mp4", shared_data / "highway" / "det.txt"
    project = tmp_path / "p.masklet"
    args = ["track", str(video), "--engine", "sam2mot", "--detector", str(detections), "--device", "cpu",
            "--sam2-random-init", "--image-size", "128", "--end", "2", "-o", str(project)]
    assert main([*args, "--no-addition-filter", "--no-cross-object", "--no-reconstruction"]) == 0
    with Document.open(project) as doc:
        options = doc.get_meta("engine")["options"]
    assert (options["addition_filter"], options["cross_object"], options["reconstruction"]) == (False, False, False)
    engine = build(EngineOptions.from_dict("sam2mot", options))
    assert not (engine.config.addition_filter or engine.config.cross_object or engine.config.reconstruction)
    assert engine.detector.conf == 0.25
    args[args.index("sam2mot")] = "bytetrack"
    assert main([*args[:-2], "-o", str(tmp_path / "b.masklet"), "--no-cross-object"]) == 2
    assert "; --no-cross-object (sam2mot only)" in capsys.readouterr().err

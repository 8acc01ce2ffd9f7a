"""SMOTracker (clips over one SAM2 memory, masklet–detection association) and sliced detection.

The unit tests drive the tracker with a scripted world: a fake segmenter that follows whichever
scripted object a box prompt lands on, and a fake detector that reports scripted boxes. The end-to-end
test (marked ``slow``) runs the real OpenVINO detector and a random-init SAM2 on highway.mp4.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import ClassVar

import numpy as np
import pytest

from tracker.detectors import Detections
from tracker.engine_options import EngineOptions
from tracker.geometry import box_iou, mask_to_xywh, xywh_to_xyxy
from tracker.results import EventKind, FrameResult, ObjectState
from tracker.slicing import SlicedDetector, tile_grid, tile_starts
from tracker.smotracker import SMOTracker, SMOTrackerConfig, mask_box_overlap, match_masklets

SHAPE = (120, 200)
Box = tuple[float, float, float, float]
Script = Callable[[int], tuple[Box | None, float]]  # frame → (xyxy box or None, object score logit)


@dataclass
class FakeOutput:
    obj_id: int
    mask_logits: np.ndarray
    mask: np.ndarray
    box: tuple[float, float, float, float] | None
    object_score_logit: float


class FakeSegmenter:
    """Follows scripted world objects: a box prompt binds the new id to the object it overlaps most."""

    def __init__(self, world: Mapping[str, Script]) -> None:
        self.world = world
        self.bound: dict[int, str] = {}
        self.frame = -1
        self.skipped: list[tuple[int, int]] = []
        self.removed: list[tuple[int, int]] = []

    def _output(self, obj_id: int) -> FakeOutput:
        box, logit = self.world[self.bound[obj_id]](self.frame)
        mask = np.zeros(SHAPE, dtype=bool)
        if box is not None:
            x1, y1, x2, y2 = (int(v) for v in box)
            mask[y1:y2, x1:x2] = True
        return FakeOutput(obj_id, np.where(mask, 5.0, -5.0), mask, mask_to_xywh(mask), logit)

    def step(self, frame_index: int, rgb: np.ndarray) -> dict[int, FakeOutput]:
        self.frame = frame_index
        return {obj_id: self._output(obj_id) for obj_id in self.bound}

    def add_object(self, obj_id: int, *, box: np.ndarray | None = None, mask: np.ndarray | None = None) -> FakeOutput:
        if box is None:
            box = xywh_to_xyxy(mask_to_xywh(mask))[0]
        names = [name for name in self.world if self.world[name](self.frame)[0] is not None]
        iou = box_iou(np.array([self.world[name](self.frame)[0] for name in names]), box)[:, 0]
        self.bound[obj_id] = names[int(np.argmax(iou))]
        return self._output(obj_id)

    def skip_memory(self, obj_id: int) -> None:
        self.skipped.append((self.frame, obj_id))

    def remove_object(self, obj_id: int) -> None:
        del self.bound[obj_id]
        self.removed.append((self.frame, obj_id))

    def take_prompts(self) -> list:
        return []


class FakeDetector:
    """Scripted detections: frame → list of (xyxy, confidence)."""

    names: ClassVar[dict[int, str]] = {0: "car"}

    def __init__(self, script: Callable[[int], list[tuple[Box, float]]]) -> None:
        self.script = script
        self.calls: list[int] = []

    def __call__(self, rgb: np.ndarray, frame_index: int | None = None) -> Detections:
        self.calls.append(frame_index)
        found = self.script(frame_index)
        if not found:
            return Detections.empty(self.names)
        return Detections([b for b, _ in found], [c for _, c in found], [0] * len(found), self.names)


def moving(x: float, y: float, w: float, h: float, vx: float = 0.0, logit: float = 9.0, start: int = 0) -> Script:
    """An object moving right by ``vx`` px a frame, present from frame ``start``."""
    return lambda f: ((x + vx * f, y, x + vx * f + w, y + h), logit) if f >= start else (None, logit)


def run_smotracker(
    world: Mapping[str, Script], detect: Callable[[int], list[tuple[Box, float]]], frames: int, **config: object
) -> tuple[list[FrameResult], FakeSegmenter, FakeDetector]:
    segmenter, detector = FakeSegmenter(world), FakeDetector(detect)
    tracker = SMOTracker(segmenter, detector, SMOTrackerConfig(**config))
    rgb = np.zeros((*SHAPE, 3), dtype=np.uint8)
    return [tracker.process(f, rgb) for f in range(frames)], segmenter, detector


def ids(result: FrameResult) -> list[int]:
    return [obj.obj_id for obj in result.objects]


def events(results: list[FrameResult], kind: EventKind) -> list[tuple[int, int]]:
    return [(e.frame, e.track_id) for r in results for e in r.events if e.kind is kind]


def sees(*names: str, world: Mapping[str, Script]) -> Callable[[int], list[tuple[Box, float]]]:
    """A detector that reports the exact boxes of the named objects whenever they are present."""
    return lambda f: [(world[n](f)[0], 0.9) for n in names if world[n](f)[0] is not None]


def test_smotracker_published_defaults_reach_the_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    """K = 13, confidence 0.35, detector image size 1280 (the published YOLO setting)."""
    from tracker import smotracker

    asked: dict = {}
    monkeypatch.setattr(smotracker, "load_detector", lambda detector, **kw: asked.update(kw) or FakeDetector(list))
    engine = smotracker.build(EngineOptions("smotracker", detector="weights.pt", device="cpu", random_init=True,
                                                  image_size=128))
    assert (asked["conf"], asked["imgsz"]) == (0.35, 1280)
    assert (engine.config.clip_len, engine.config.det_conf) == (13, 0.35)


@pytest.mark.parametrize(("conf", "added"), [(0.35, True), (0.3499, False)])
def test_smotracker_detection_confidence_boundary(conf: float, added: bool) -> None:
    world = {"car": moving(40, 40, 20, 20)}
    results, _, _ = run_smotracker(world, lambda f: [(world["car"](f)[0], conf)], 1)
    assert bool(events(results, EventKind.ADDED)) is added


def test_smotracker_keeps_id_across_clip_boundaries_and_detects_only_at_clip_starts() -> None:
    world = {"car": moving(10, 20, 20, 16, vx=3)}
    results, _, detector = run_smotracker(world, sees("car", world=world), 12, clip_len=5)
    assert detector.calls == [0, 5, 10]
    assert [ids(r) for r in results] == [[1]] * 12
    assert events(results, EventKind.ADDED) == [(0, 1)]
    assert results[0].objects[0].label == "car"
    assert results[11].objects[0].box == (43.0, 20.0, 20.0, 16.0)


def test_smotracker_new_object_gets_an_id_at_the_next_clip_start_not_before() -> None:
    world = {"a": moving(10, 10, 20, 20), "b": moving(120, 60, 20, 20, start=7)}
    results, _, _ = run_smotracker(world, sees("a", "b", world=world), 12, clip_len=5)
    assert [ids(r) for r in results[:10]] == [[1]] * 10
    assert [ids(r) for r in results[10:]] == [[1, 2]] * 2
    assert events(results, EventKind.ADDED) == [(0, 1), (10, 2)]


def test_smotracker_masklet_without_detections_survives_until_lost_tolerance() -> None:
    # present but degraded (logit 1.0) for frames 1-10, then judged absent by SAM2 (logit -3.0)
    lost_after_0 = lambda f: ((40, 40, 60, 60), 9.0 if f == 0 else 1.0 if f <= 10 else -3.0)
    world = {"lost": lost_after_0, "steady": moving(120, 60, 20, 20)}
    detect = lambda f: [(world[n](f)[0], 0.9) for n in world] if f == 0 else []
    results, segmenter, _ = run_smotracker(world, detect, 30)
    assert 1 in ids(results[25]) and results[25].objects[0].state is ObjectState.LOST  # lost for 25 frames
    assert ids(results[26]) == [2]  # lost for 26 > 25 frames: removed
    assert events(results, EventKind.REMOVED) == [(26, 1)]
    assert segmenter.removed == [(26, 1)]
    # the memory filter keeps degraded frames out; SAM2's own occlusion memory (logit <= 0) is written
    assert segmenter.skipped == [(f, 1) for f in range(1, 11)]
    assert all(2 in ids(r) for r in results)  # undetected but confident: tracked on


def test_smotracker_two_detections_on_one_masklet_do_not_create_a_duplicate() -> None:
    world = {"car": moving(40, 40, 20, 20, vx=1)}

    def detect(f: int) -> list[tuple[Box, float]]:
        x1, y1, x2, y2 = world["car"](f)[0]
        return [((x1, y1, x2, y2), 0.9), ((x1, y1, x2 - 8, y2), 0.6), ((x1 - 4, y1 - 4, x2 + 4, y2 + 4), 0.5)]

    results, _, _ = run_smotracker(world, detect, 12, clip_len=5)
    assert [ids(r) for r in results] == [[1]] * 12
    assert events(results, EventKind.ADDED) == [(0, 1)]


def test_smotracker_tiny_object_matches_by_mask_in_box_where_iou_fails() -> None:
    world = {"tiny": moving(50, 50, 4, 3)}
    loose = lambda f: [((49, 49, 56, 55), 0.9)]  # box IoU 12/42 < 0.3
    results, _, _ = run_smotracker(world, loose, 6, clip_len=5)
    assert [ids(r) for r in results] == [[1]] * 6
    strict, _, _ = run_smotracker(world, loose, 6, clip_len=5, match_mask=1.0)
    assert ids(strict[5]) == [1, 2]  # IoU alone: the same object twice


def test_smotracker_association_scores() -> None:
    mask = np.zeros((20, 20), dtype=bool)
    mask[5:9, 5:8] = True  # 12 pixels, box (5, 5, 8, 9)
    dets = np.array([[4, 4, 11, 10], [12, 12, 18, 18]], dtype=np.float64)
    overlap = mask_box_overlap([mask], np.array([[5, 5, 8, 9]]), dets)
    np.testing.assert_allclose(overlap, [[12 / np.sqrt(12 * 42), 0.0]])
    iou = box_iou(np.array([[5, 5, 8, 9]]), dets)
    assert match_masklets(iou, overlap, 0.3, 0.4) == [(0, 0)]
    assert match_masklets(iou, overlap, 0.3, 0.9) == []


def test_smotracker_restore_continues_ids_and_detects_at_the_next_frame() -> None:
    world = {"a": moving(10, 10, 20, 20), "b": moving(120, 60, 20, 20)}
    first, _, _ = run_smotracker(world, sees("a", "b", world=world), 3)
    segmenter, detector = FakeSegmenter(world), FakeDetector(sees("a", "b", world=world))
    tracker = SMOTracker(segmenter, detector)
    rgb = np.zeros((*SHAPE, 3), dtype=np.uint8)
    tracker.restore(2, rgb, first[2].objects[:1], next_id=5)  # "b" was deleted by the annotator
    result = tracker.process(3, rgb)
    assert detector.calls == [3]
    assert ids(result) == [1, 5]


# --------------------------------------------------------------------------- sliced detection
class BlobDetector:
    """Sees each coloured rectangle (red channel = object number) in the crop it is given: a box cut
    by the crop's border is partial, like a real detector's box of a car cut by a tile border."""

    names: ClassVar[dict[int, str]] = {0: "car"}

    def __call__(self, rgb: np.ndarray, frame_index: int | None = None) -> Detections:
        boxes, conf = [], []
        for value in np.unique(rgb[..., 0]):
            if value:
                ys, xs = np.nonzero(rgb[..., 0] == value)
                boxes.append((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
                conf.append(0.5 + value / 100)
        return Detections(np.array(boxes).reshape(-1, 4), conf, np.zeros(len(conf)), self.names)


def test_smotracker_tiles_cover_the_frame_with_edge_tiles_shifted_inward() -> None:
    for length, tile, overlap in [(1280, 640, 0.2), (720, 640, 0.2), (300, 100, 0.25), (100, 100, 0.2), (50, 64, 0.1)]:
        starts = tile_starts(length, tile, overlap)
        assert starts[0] == 0 and starts[-1] == max(length - tile, 0)
        assert all(b - a <= tile * (1 - overlap) for a, b in pairwise(starts))
    assert tile_grid(720, 1280, 640, 0.2) == [
        (x, y, x + 640, y + 640) for y in (0, 80) for x in (0, 320, 640)
    ]


@pytest.mark.parametrize("full_frame", [False, True])
def test_smotracker_tiling_merges_the_boxes_an_object_on_a_tile_border_produces(full_frame: bool) -> None:
    # 300 px wide, tiles of 100 with 25% overlap start at x = 0, 67, 133, 200.
    objects = {
        1: (90, 10, 110, 30),  # across the border at x = 100: partial in tile 0, whole in tile 1
        2: (140, 60, 160, 80),  # inside two tiles: whole in both
        3: (120, 110, 250, 130),  # wider than the overlap: only partial boxes, from three tiles
        4: (20, 60, 60, 95),  # a truck ...
        5: (30, 70, 40, 80),  # ... with a car in front of it: nested, uncut: both stay
    }
    rgb = np.zeros((150, 300, 3), dtype=np.uint8)
    for value, (x1, y1, x2, y2) in objects.items():
        rgb[y1:y2, x1:x2, 0] = value
    detector = SlicedDetector(BlobDetector(), tile_size=100, overlap=0.25, full_frame=full_frame)
    found = detector(rgb, 0)
    assert sorted(map(tuple, found.xyxy.astype(int).tolist())) == sorted(objects.values())
    assert found.names == {0: "car"}


def test_smotracker_tiling_keeps_separate_neighbours_apart() -> None:
    rgb = np.zeros((100, 200, 3), dtype=np.uint8)
    rgb[40:60, 90:99, 0] = 1  # two cars a pixel apart on both sides of a tile border
    rgb[40:60, 100:110, 0] = 2
    found = SlicedDetector(BlobDetector(), tile_size=100, overlap=0.0, full_frame=False)(rgb)
    assert sorted(found.xyxy.astype(int).tolist()) == [[90, 40, 99, 60], [100, 40, 110, 60]]


# --------------------------------------------------------------------------- end to end (slow)
@pytest.mark.slow
def test_smotracker_end_to_end_highway_project_and_mot_export(shared_data, openvino_detector_path, tmp_path) -> None:
    """END TO END (~15 s on 2 cores): 26 frames of highway.mp4 (two clips of 13), the real OpenVINO
    detector on 640 px tiles, a random-init SAM2 at 128 px → a project, and a MOT export that reads back."""
    from app.document import Document
    from exporters import registry
    from tracker.engines import build_engine
    from tracker.video import VideoSource

    engine = build_engine(EngineOptions(
        "smotracker", detector=str(openvino_detector_path), classes=["car", "truck", "bus"], device="cpu",
        image_size=128, random_init=True, tiles=640,
    ))
    assert isinstance(engine.detector, SlicedDetector)
    project = tmp_path / "highway.masklet"
    results = []
    with VideoSource.open(shared_data / "highway" / "highway.mp4") as source, Document.create(
        project, source.info()
    ) as doc:
        for result in engine.run(source, 0, 26):
            doc.write_frame(result)
            results.append(result)
    added = events(results, EventKind.ADDED)
    assert added and {frame for frame, _ in added} <= {0, 13}  # objects start at clip starts only
    boxes = {(r.frame, obj.obj_id): obj.box for r in results for obj in r.objects}
    assert boxes

    mot = registry.get("mot")
    with Document.open(project) as doc:
        assert {(o.frame, o.track_id) for o in doc.iter_observations()} == boxes.keys()
        mot.write(doc, tmp_path / "highway-mot")
    with mot.read(tmp_path / "highway-mot") as back:
        read = {(o.frame, o.track_id): o.box for o in back.iter_observations()}  # 1-based on disk, 0-based here
    assert read.keys() == boxes.keys()
    for key, box in boxes.items():
        np.testing.assert_allclose(read[key], box, atol=0.01)

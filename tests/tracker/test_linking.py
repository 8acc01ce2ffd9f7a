"""The online tracklet linker: matching, distance threshold and gap boundaries, events, and any engine."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tracker.linking import LinkedEngine, LinkerConfig, TrackletLinker
from tracker.results import Event, EventKind, FrameResult, TrackedObject


def unit(angle: float) -> np.ndarray:
    return np.array([np.cos(angle), np.sin(angle)], np.float32)


def at_distance(distance: float) -> np.ndarray:
    """A unit vector at cosine distance ``distance`` from (1, 0)."""
    return unit(float(np.arccos(1.0 - distance)))


class Scene:
    """Feeds a linker frames of tracklets (id → embedding); boxes are placeholders."""

    def __init__(self, config: LinkerConfig | None = None) -> None:
        self.linker = TrackletLinker(config or LinkerConfig())

    def frame(self, frame: int, tracklets: dict[int, np.ndarray], events: list[Event] | None = None,
              features: bool = True) -> FrameResult:
        objects = [TrackedObject(i, (10.0 * i, 0.0, 5.0, 5.0)) for i in tracklets]
        added = [Event(frame, EventKind.ADDED, i) for i in tracklets if i not in self.linker._of_tracklet]
        by_box = {10.0 * i: e for i, e in tracklets.items()}

        def embed(xyxy: np.ndarray) -> np.ndarray | None:
            return np.array([by_box[x] for x in xyxy[:, 0]]) if features else None

        return self.linker.update(FrameResult(frame, objects, added + (events or [])), embed)


def ids(result: FrameResult) -> list[int]:
    return [o.obj_id for o in result.objects]


def test_a_new_tracklet_continues_the_ended_track_it_resembles() -> None:
    scene = Scene()
    for frame in range(5):
        assert ids(scene.frame(frame, {1: unit(0.0)})) == [1]
    result = scene.frame(12, {7: unit(0.01)})
    assert ids(result) == [1]
    assert [(e.kind, e.track_id) for e in result.events] == [(EventKind.LINKED, 1)]  # no ADDED for it
    assert "after 8 frames" in result.events[0].detail
    assert ids(scene.frame(13, {7: unit(0.01)})) == [1]


@pytest.mark.parametrize(("distance", "linked"), [(0.0, True), (0.0999, True), (0.1001, False)])
def test_distance_threshold_boundary(distance: float, linked: bool) -> None:
    scene = Scene(LinkerConfig(max_distance=0.1))
    scene.frame(0, {1: unit(0.0)})
    result = scene.frame(5, {2: at_distance(distance)})
    assert ids(result) == ([1] if linked else [2])
    assert [e.kind for e in result.events] == [EventKind.LINKED if linked else EventKind.ADDED]


@pytest.mark.parametrize(("gap", "linked"), [(1, True), (60, True), (61, False)])
def test_gap_boundary(gap: int, linked: bool) -> None:
    scene = Scene(LinkerConfig(max_gap=60))
    scene.frame(10, {1: unit(0.0)})
    assert ids(scene.frame(10 + gap, {2: unit(0.0)})) == ([1] if linked else [2])


def test_a_track_with_an_active_tracklet_is_no_candidate() -> None:
    scene = Scene()
    scene.frame(0, {1: unit(0.0)})
    assert ids(scene.frame(1, {1: unit(0.0), 2: unit(0.0)})) == [1, 2]


def test_bipartite_matching_maximises_total_similarity() -> None:
    """Tracklet 5 is closer to track 1 (greedy matching would give it track 1), but 6 fits only track 1:
    the assignment maximising total similarity is 5 → 2, 6 → 1."""
    scene = Scene(LinkerConfig(max_distance=0.2))
    scene.frame(0, {1: unit(0.0), 2: unit(0.5)})
    result = scene.frame(3, {5: unit(0.2), 6: unit(-0.3)})
    assert {o.obj_id for o in result.objects} == {1, 2}
    assert {e.track_id for e in result.events} == {1, 2} and all(e.kind is EventKind.LINKED for e in result.events)
    assert scene.linker._of_tracklet[5] == 2 and scene.linker._of_tracklet[6] == 1


def test_embedding_is_the_mean_over_sampled_boxes_refreshed_sparsely() -> None:
    """Track 1 looks like (1, 0) for 10 frames, then like unit(1.0): the refresh at frame 10 moves its mean
    to unit(0.5), which a new tracklet at unit(0.5) then matches; without refresh it would not."""
    for refresh, linked in ((10, True), (100, False)):
        scene = Scene(LinkerConfig(max_distance=0.01, refresh=refresh))
        for frame in range(10):
            scene.frame(frame, {1: unit(0.0)})
        scene.frame(10, {1: unit(1.0)})
        assert ids(scene.frame(20, {2: unit(0.5)})) == ([1] if linked else [2])


def test_without_features_nothing_links_and_events_get_track_ids() -> None:
    scene = Scene()
    scene.frame(0, {1: unit(0.0)})
    result = scene.frame(2, {2: unit(0.0)}, [Event(2, EventKind.REMOVED, 1), Event(2, EventKind.ADDED, 9)],
                         features=False)
    assert ids(result) == [2]
    kinds = [(e.kind, e.track_id) for e in result.events]
    assert (EventKind.REMOVED, 1) in kinds and (EventKind.ADDED, 3) in kinds  # 9 was never reported: a new track


def test_restore_continues_the_stored_ids() -> None:
    linker = TrackletLinker()
    linker.restore([4, 9], next_id=12)
    result = linker.update(FrameResult(5, [TrackedObject(9, (0, 0, 1, 1)), TrackedObject(13, (0, 0, 1, 1))]),
                           lambda xyxy: None)
    assert ids(result) == [9, 12]


def test_any_engine_links_through_its_detector(openvino_detector_path: Path, shared_data: Path) -> None:
    """ByteTrack with ``link=True``: ids are the linker's, taken from the detector's own feature maps."""
    from tracker.engine_options import EngineOptions
    from tracker.engines import build_engine
    from tracker.video import VideoSource

    engine = build_engine(EngineOptions("bytetrack", link=True, detector=str(openvino_detector_path),
                                        classes=["person"], device="cpu"))
    assert isinstance(engine, LinkedEngine)
    engine.next_id = 40
    with VideoSource.open(shared_data / "sequences" / "TUD-Campus") as source:
        results = list(engine.run(source, 0, 3))
    assert results[0].objects and min(o.obj_id for o in results[0].objects) == 40
    assert engine.linker._tracks[40].embedding is not None and engine.timings["link"] > 0
    assert not isinstance(build_engine(EngineOptions("bytetrack", detector=str(openvino_detector_path))), LinkedEngine)


def test_linking_needs_detector_features(shared_data: Path) -> None:
    from tracker.engine_options import EngineOptions
    from tracker.engines import build_engine
    from tracker.errors import MaskletError

    with pytest.raises(MaskletError, match="--link needs an Ultralytics detector"):
        build_engine(EngineOptions("bytetrack", link=True, detector=str(shared_data / "highway" / "det.txt")))

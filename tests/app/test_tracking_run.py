"""A tracking run's bookkeeping: engine and range stored together, each frame stored with its progress,
and the stored objects an engine continues from."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from app.document import Document, Observation, Source
from app.tracking_run import RestorePoint, TrackingRun, stored_engine
from tracker.engine_options import EngineOptions
from tracker.results import Event, EventKind, FrameResult, ObjectState, TrackedObject


def frame(index: int, *ids: int, label: str | None = "car") -> FrameResult:
    objects = [TrackedObject(i, (10.0 * i, 5.0, 4.0, 8.0), ObjectState.RELIABLE, 0.9, 3.0, None, label) for i in ids]
    return FrameResult(index, objects, [Event(index, EventKind.ADDED, i) for i in ids])


def test_a_run_stores_its_engine_range_and_progress_with_each_frame() -> None:
    doc = Document.in_memory()
    assert TrackingRun.load(doc) is None and stored_engine(doc) is None
    run = TrackingRun.begin(doc, EngineOptions("bytetrack", device="cpu"), 2, 6)
    assert doc.get_meta("engine") == {"name": "bytetrack", "options": {"device": "cpu"}}
    assert doc.get_meta("tracking") == {"start": 2, "end": 6, "next_frame": 2}
    assert TrackingRun.load(doc) == run and not run.continued
    run = run.record(doc, frame(2, 1, 2))
    assert run.next_frame == 3 and run.continued
    assert doc.get_meta("tracking") == {"start": 2, "end": 6, "next_frame": 3}
    assert TrackingRun.load(doc) == run and stored_engine(doc) == EngineOptions("bytetrack", device="cpu")
    assert [o.track_id for o in doc.observations_at(2)] == [1, 2]


def test_an_older_projects_stored_options_load_typed_and_continue_only_with_the_same_options() -> None:
    """Projects store the options as a dict (``EngineOptions.to_dict``, the keys older versions wrote): they load as
    ``EngineOptions``, the same options on another device continue the run, other options start a new one."""
    from app.document import DamagedProjectError

    doc = Document.in_memory()
    stored = {"detector": "/data/det.txt", "classes": ["person"], "conf": 0.3, "device": "cuda", "link": True}
    doc.set_meta("engine", {"name": "smot", "options": stored})
    doc.set_meta("tracking", {"start": 0, "end": 10, "next_frame": 4})
    run = TrackingRun.load(doc)
    assert run.options == EngineOptions("smot", detector="/data/det.txt", classes=("person",), conf=0.3,
                                        device="cuda", link=True)
    assert run.continues(EngineOptions.from_dict("smot", {**stored, "device": "cpu"}), 4)
    assert not run.continues(EngineOptions.from_dict("smot", {**stored, "conf": 0.4}), 4)
    assert not run.continues(EngineOptions.from_dict("smot", stored), 3)
    doc.set_meta("engine", {"name": "smot", "options": {**stored, "top_k": "two"}})
    with pytest.raises(DamagedProjectError, match="option 'top_k' cannot be 'two'"):
        TrackingRun.load(doc)


def test_a_frame_and_its_progress_are_stored_together() -> None:
    doc = Document.in_memory()
    run = TrackingRun.begin(doc, EngineOptions("bytetrack"), 0, 4)
    broken = FrameResult(0, frame(0, 1).objects, [Event(0, "not a kind", 1)])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        run.record(doc, broken)
    assert doc.observation_count() == 0 and doc.get_meta("tracking")["next_frame"] == 0


def test_restore_point_holds_the_stored_objects_as_an_engine_reported_them() -> None:
    doc = Document.in_memory()
    run = TrackingRun.begin(doc, EngineOptions("sam2mot"), 0, 4)
    run = run.record(doc, frame(0, 1, 2))
    run.record(doc, frame(1, 3, label=None))
    doc.add_track(9)  # a track without observations still counts for the next free id
    point = RestorePoint.at(doc, 0)
    assert point.frame == 0 and point.next_id == 10
    assert point.objects == frame(0, 1, 2).objects
    assert RestorePoint.at(doc, 1).objects == frame(1, 3, label=None).objects
    assert doc.track_label(1) == "car" and doc.track_label(3) is None and doc.track_label(42) is None

    @dataclass
    class Recorder:
        calls: list = field(default_factory=list)

        def restore(self, frame_index, rgb, objects, next_id) -> None:
            self.calls.append((frame_index, rgb.shape, [o.obj_id for o in objects], next_id))

    engine = Recorder()
    point.apply(engine, {0: np.zeros((4, 6, 3), np.uint8)})  # type: ignore[arg-type]
    assert engine.calls == [(0, (4, 6, 3), [1, 2], 10)]


@dataclass
class StatefulEngine:
    """Records how ``TrackingRun.resume`` puts it back: a loaded state, or a restore from stored objects."""

    accepts: bool = True
    next_id: int = 1
    loaded: list = field(default_factory=list)
    restored: list = field(default_factory=list)

    def load_state(self, state: bytes) -> None:
        if not self.accepts:
            raise ValueError("not my state")
        self.loaded.append(state)

    def restore(self, frame_index, rgb, objects, next_id) -> None:
        self.restored.append((frame_index, [o.obj_id for o in objects]))


def test_resume_loads_the_state_saved_with_the_last_frame_else_restores_the_stored_objects() -> None:
    """SAM2 engines save no state: they continue from the stored objects (their masks as new prompts); detector
    engines continue from the state saved with the last frame, or, if it cannot be loaded, the stored objects."""
    doc = Document.in_memory()
    images = {f: np.zeros((4, 6, 3), np.uint8) for f in range(4)}
    run = TrackingRun.begin(doc, EngineOptions("bytetrack"), 0, 4)
    run = run.record(doc, frame(0, 1), b"after 0")
    run = run.record(doc, frame(1, 1, 2), b"after 1")
    exact = StatefulEngine()
    assert run.resume(doc, exact, images) and exact.loaded == [b"after 1"] and not exact.restored  # type: ignore[arg-type]
    assert exact.next_id == 3  # above the stored tracks (an engine's own counter is: tracks added by hand need not be)
    refusing = StatefulEngine(accepts=False)
    assert not run.resume(doc, refusing, images) and refusing.restored == [(1, [1, 2])]  # type: ignore[arg-type]
    doc.add_observations([Observation(1, 2, (1.0, 2.0, 3.0, 4.0), source=Source.MANUAL)])  # the annotator's fix
    edited = StatefulEngine()
    assert not run.resume(doc, edited, images) and edited.restored == [(1, [1, 2])]  # type: ignore[arg-type]
    run = run.record(doc, frame(2, 2))  # an engine without a state: the stale one is gone
    assert doc.get_meta("engine_state") is None
    stateless = StatefulEngine()
    assert not run.resume(doc, stateless, images) and stateless.restored == [(2, [2])]  # type: ignore[arg-type]
    TrackingRun.begin(doc, EngineOptions("bytetrack"), 0, 4).record(doc, frame(0, 1), b"new run")
    assert doc.get_meta("engine_state")["frame"] == 0

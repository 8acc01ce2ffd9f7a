"""A tracking run's bookkeeping: engine and range stored together, each frame stored with its progress,
and the stored objects an engine continues from."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from app.document import Document
from app.tracking_run import RestorePoint, TrackingRun, stored_engine
from tracker.results import Event, EventKind, FrameResult, ObjectState, TrackedObject


def frame(index: int, *ids: int, label: str | None = "car") -> FrameResult:
    objects = [TrackedObject(i, (10.0 * i, 5.0, 4.0, 8.0), ObjectState.RELIABLE, 0.9, 3.0, None, label) for i in ids]
    return FrameResult(index, objects, [Event(index, EventKind.ADDED, i) for i in ids])


def test_a_run_stores_its_engine_range_and_progress_with_each_frame() -> None:
    doc = Document.in_memory()
    assert TrackingRun.load(doc) is None and stored_engine(doc) is None
    run = TrackingRun.begin(doc, "bytetrack", {"device": "cpu"}, 2, 6)
    assert doc.get_meta("engine") == {"name": "bytetrack", "options": {"device": "cpu"}}
    assert doc.get_meta("tracking") == {"start": 2, "end": 6, "next_frame": 2}
    assert TrackingRun.load(doc) == run and not run.continued
    run = run.record(doc, frame(2, 1, 2))
    assert run.next_frame == 3 and run.continued
    assert doc.get_meta("tracking") == {"start": 2, "end": 6, "next_frame": 3}
    assert TrackingRun.load(doc) == run and stored_engine(doc) == ("bytetrack", {"device": "cpu"})
    assert [o.track_id for o in doc.observations_at(2)] == [1, 2]


def test_a_frame_and_its_progress_are_stored_together() -> None:
    doc = Document.in_memory()
    run = TrackingRun.begin(doc, "bytetrack", {}, 0, 4)
    broken = FrameResult(0, frame(0, 1).objects, [Event(0, "not a kind", 1)])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        run.record(doc, broken)
    assert doc.observation_count() == 0 and doc.get_meta("tracking")["next_frame"] == 0


def test_restore_point_holds_the_stored_objects_as_an_engine_reported_them() -> None:
    doc = Document.in_memory()
    run = TrackingRun.begin(doc, "sam2mot", {}, 0, 4)
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

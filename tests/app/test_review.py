"""Risk items from what a project holds, reviewed marks as undoable edits, the queue's frame order and recall,
and ``masklet review``."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.document import Document, Observation
from app.edits import EditError, MarkReviewed, ReassignId
from app.review import (
    RiskConfig, next_flagged_frame, queue_frames, recall, review_queue, reviewed_ranges, risk_items, track_items,
)
from tracker.results import Event, EventKind, ObjectState
from tracker.video import VideoInfo

ROOT = Path(__file__).resolve().parents[2]
R, P, S, L = ObjectState.RELIABLE, ObjectState.PENDING, ObjectState.SUSPICIOUS, ObjectState.LOST
SIZE = (200, 100)
MIDDLE = (90.0, 40.0, 10.0, 10.0)


def _items(frames, states=None, boxes=None, span=(0, 99), size=SIZE, **config) -> list[tuple[str, int, int]]:
    frames = np.asarray(frames, np.int64)
    states = np.zeros(frames.size, np.int8) if states is None else np.asarray(states, np.int8)
    boxes = np.tile(MIDDLE, (frames.size, 1)) if boxes is None else np.asarray(boxes, np.float64)
    return sorted((i.reason, i.start, i.end) for i in track_items(1, frames, states, boxes, span, size,
                                                                  RiskConfig(**config)))


def test_a_steady_track_over_the_whole_span_has_no_item() -> None:
    assert _items(range(100)) == []


def test_short_tracks_below_n_frames() -> None:
    assert _items(range(0, 9), span=(0, 8)) == [("short", 0, 9)]
    assert _items(range(0, 10), span=(0, 9)) == []
    assert _items(range(0, 10), span=(0, 9), short_track=11) == [("short", 0, 10)]


def test_state_runs_each_an_item() -> None:
    states = [R] * 10 + [P] * 3 + [S] * 2 + [L] * 5 + [R] * 80
    assert _items(range(100), states) == [("lost", 15, 20), ("pending", 10, 13), ("suspicious", 13, 15)]


def test_gaps_inside_a_track() -> None:
    assert _items([*range(50), *range(53, 100)]) == [("gap", 50, 53)]


def test_box_jumps_beyond_half_the_box_size_or_1_5_times_its_scale() -> None:
    boxes = np.tile(MIDDLE, (100, 1))
    boxes[40:, 0] += 5.0  # shift of exactly half the size: normal
    assert _items(range(100), boxes=boxes) == []
    boxes[60:, 0] += 5.1
    boxes[80:, 3] = 15.0 * 1.01  # height 1.515× (the centre moves 2.6, less than half the size)
    assert _items(range(100), boxes=boxes) == [("jump", 60, 61), ("jump", 80, 81)]
    gap = np.delete(boxes, 60, axis=0)  # across a gap no jump is judged, the gap is the item
    assert _items([*range(60), *range(61, 100)], boxes=gap) == [("gap", 60, 61), ("jump", 80, 81)]


def test_births_and_deaths_away_from_the_border_and_the_span_ends() -> None:
    assert _items(range(20, 60)) == [("birth", 20, 21), ("death", 59, 60)]
    at_border = np.tile((1.0, 40.0, 10.0, 10.0), (40, 1))  # within 2 % of the left border
    assert _items(range(20, 60), boxes=at_border) == []
    assert _items(range(0, 60), span=(0, 59)) == []  # starts and ends with the tracked frames
    assert _items(range(20, 60), size=None) == []  # image size unknown: not judged


def _project(path: Path | None = None) -> Document:
    video = VideoInfo(Path("v.mp4"), "v", 100, 25.0, *SIZE)
    doc = Document.in_memory(video) if path is None else Document.create(path, video)
    states = [R] * 30 + [L] * 5 + [R] * 65
    doc.add_observations(Observation(f, 1, MIDDLE, state=states[f]) for f in range(100))
    doc.add_observations(Observation(f, 2, (0.0, 0.0, 10.0, 10.0)) for f in range(40, 45))
    doc.add_events([Event(42, EventKind.CONFLICT, 1, 2, 2, "overlap")])
    return doc


def test_project_items_in_risk_order() -> None:
    items = risk_items(_project())
    assert [(i.reason, i.tracks, i.start, i.end, i.risk) for i in items] == [
        ("conflict", [1, 2], 42, 43, 0.9), ("lost", [1], 30, 35, 0.8), ("short", [2], 40, 45, 0.7)]


def test_marking_reviewed_drops_the_item_is_undoable_and_persists(tmp_path: Path) -> None:
    path = tmp_path / "p.masklet"
    with _project(path) as doc:
        conflict, lost = review_queue(doc)[:2]
        edit = MarkReviewed(conflict)
        edit.do(doc)
        assert [i.reason for i in review_queue(doc)] == ["lost", "short"]
        assert reviewed_ranges(doc.events(kind=EventKind.REVIEWED)) == [(1, 42, 43), (2, 42, 43)]
        with pytest.raises(EditError):
            MarkReviewed(conflict).do(doc)
        edit.undo(doc)
        assert review_queue(doc)[0] == conflict
        assert len(doc.events(kind=EventKind.CONFLICT)) == 1  # the undo restored only the mark
        edit.do(doc)
        MarkReviewed(lost).do(doc)
    with Document.open(path, read_only=True) as doc:
        assert [i.reason for i in review_queue(doc)] == ["short"]
        assert reviewed_ranges(doc.events(kind=EventKind.REVIEWED)) == [(1, 30, 35), (1, 42, 43), (2, 42, 43)]


def test_reviewed_marks_follow_their_frames_through_id_fixes() -> None:
    doc = _project()
    lost = review_queue(doc)[1]
    MarkReviewed(lost).do(doc)
    ReassignId(1, 9, 20).do(doc)  # the lost run moves to track 9, its mark with it
    assert [(i.reason, i.tracks, i.start) for i in review_queue(doc)] == [
        ("conflict", [2, 9], 42), ("short", [2], 40), ("death", [1], 19), ("birth", [9], 20)]
    assert (9, 30, 35) in reviewed_ranges(doc.events(kind=EventKind.REVIEWED))


def test_next_flagged_frame_of_a_track() -> None:
    doc = Document.in_memory()
    states = {3: P, 4: P, 10: L, 20: S}
    doc.add_observations(Observation(f, 1, MIDDLE, state=states.get(f, R)) for f in range(30))
    timeline = doc.track_timeline(1)
    assert [next_flagged_frame(timeline, f, 1) for f in (0, 3, 4, 10, 20)] == [3, 4, 10, 20, None]
    assert [next_flagged_frame(timeline, f, -1) for f in (29, 20, 10, 3)] == [20, 10, 4, None]


def test_queue_frames_and_recall() -> None:
    doc = _project()
    order = queue_frames(review_queue(doc), 100)
    assert order[:11].tolist() == [42, 30, 31, 32, 33, 34, 40, 41, 43, 44, 0]
    assert sorted(order.tolist()) == list(range(100))
    seconds = np.zeros(100)
    seconds[[31, 42, 90]] = 1.0
    assert recall(seconds, order, (0.1, 0.5, 1.0)) == pytest.approx([2 / 3, 2 / 3, 1.0])
    assert recall(seconds, np.arange(100), (0.1, 0.5, 1.0)) == pytest.approx([0.0, 2 / 3, 1.0])
    assert recall(np.zeros(100), order, (0.2,)) == [1.0]


def test_review_command_prints_the_queue_and_the_recall(tmp_path: Path) -> None:
    path = tmp_path / "p.masklet"
    _project(path).close()
    gt = tmp_path / "gt.txt"  # track 1 as predicted, plus an object missed at frames 30-34
    rows = [f"{f + 1},1,90,40,10,10,1,1,1" for f in range(100)] + [f"{f + 1},5,150,40,10,10,1,1,1" for f in range(30, 35)]
    gt.write_text("\n".join(rows) + "\n")
    out = tmp_path / "r.json"
    run = subprocess.run([sys.executable, "-m", "app.cli", "review", str(path), "--gt", str(gt), "--json", str(out)],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "3 items to review" in run.stdout and "conflict" in run.stdout
    assert "queue order: 100%, 100%, 100%" in run.stdout  # the missed object's prompt lies on the lost run
    result = json.loads(out.read_text())
    assert result["effort"]["additions"] == 1 and result["effort"]["deletions"] == 1
    assert result["recall"]["frame_order"][0] < 1.0
    bad = subprocess.run([sys.executable, "-m", "app.cli", "review", str(gt)], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1

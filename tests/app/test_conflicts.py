"""Conflicts recomputed from stored observations after edits, conflict episodes, resolving an episode."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from app.conflicts import conflict_rows, conflicting_pairs, group_episodes
from app.document import Document, Observation
from app.edits import DeleteObservation, EditBox, MarkReviewed, MergeTracks
from app.review import conflict_episodes, review_queue, step_episode
from tracker.geometry import encode_mask
from tracker.results import Event, EventKind, ObjectState
from tracker.video import VideoInfo

BOX = (100.0, 100.0, 50.0, 50.0)
FAR = (400.0, 300.0, 50.0, 50.0)


def _project(path: Path | None = None) -> Document:
    """Tracks 1 (frames 0–49) and 2 (10–49) on one box; the engine's conflicts at 10–35, 38 and 44–46, and
    where a track has no box: at frame 2 (track 2) and 60 (both)."""
    video = VideoInfo(Path("v.mp4"), "v", 100, 25.0, 640, 480)
    doc = Document.in_memory(video) if path is None else Document.create(path, video)
    doc.add_observations(Observation(f, 1, BOX) for f in range(50))
    doc.add_observations(Observation(f, 2, BOX) for f in range(10, 50))
    frames = [*range(10, 36), 38, 44, 45, 46, 60]
    doc.add_events(Event(f, EventKind.CONFLICT, 2, other_id=1, loser_id=2, detail="engine") for f in frames)
    doc.add_events([Event(2, EventKind.CONFLICT, 1, other_id=2), Event(2, EventKind.CONFLICT, 2, other_id=1)])
    return doc


def _conflicts(doc: Document) -> list[tuple[int, int, int, str]]:
    return [(e.frame, e.track_id, e.other_id, e.detail) for e in doc.events(kind=EventKind.CONFLICT)]


def _episodes(doc: Document) -> list[tuple[list[int], int, int, int, bool]]:
    return [(e.item.tracks, e.item.start, e.item.end, e.frames, e.resolved) for e in conflict_episodes(doc)]


def test_a_persistent_overlap_is_one_episode_and_boxless_conflicts_are_not_shown() -> None:
    doc = _project()
    assert conflict_rows(doc)[:, 2].tolist() == [*range(10, 36), 38, 44, 45, 46]  # not 2 or 60
    assert _episodes(doc) == [([1, 2], 10, 39, 27, False), ([1, 2], 44, 47, 3, False)]  # 36–37: a gap of 2
    assert sorted((i.start, i.end) for i in review_queue(doc) if i.reason == "conflict") == [(10, 39), (44, 47)]
    rows = np.array([[1, 2, 0], [1, 2, 6], [1, 3, 7], [1, 3, 8]])
    assert [(e.other_id, e.first, e.last, e.frames) for e in group_episodes(rows, gap=5)] == [
        (2, 0, 0, 1), (2, 6, 6, 1), (3, 7, 8, 2)]


def test_mask_iou_decides_when_both_tracks_have_masks() -> None:
    top, bottom = np.zeros((40, 40), bool), np.zeros((40, 40), bool)
    top[:20, :10], bottom[20:, :10] = True, True
    box = (0.0, 0.0, 10.0, 40.0)
    a, b = Observation(0, 1, box, mask=encode_mask(top)), Observation(0, 2, box, mask=encode_mask(bottom))
    assert conflicting_pairs([a, b]) == {}  # the same box, disjoint masks
    assert conflicting_pairs([Observation(0, 1, box), b]) == {(1, 2): "box IoU 1.00"}
    assert conflicting_pairs([a, Observation(0, 2, box, mask=encode_mask(top))]) == {(1, 2): "mask IoU 1.00"}


def test_editing_a_box_recomputes_its_conflicts_and_undo_restores_them() -> None:
    doc = _project()
    before = _conflicts(doc)
    away = EditBox(2, 20, FAR)
    away.do(doc)
    assert [c for c in _conflicts(doc) if c[0] == 20] == []
    assert len(_conflicts(doc)) == len(before) - 1  # other frames keep the engine's events
    back = EditBox(2, 20, (101.0, 100.0, 50.0, 50.0))
    back.do(doc)
    assert [c for c in _conflicts(doc) if c[0] == 20] == [(20, 1, 2, "box IoU 0.96, after an edit")]
    back.undo(doc)
    away.undo(doc)
    assert _conflicts(doc) == before


def test_merging_two_tracks_in_conflict_drops_their_conflicts_at_the_shared_frames() -> None:
    doc = _project()
    doc.add_observations([Observation(20, 2, FAR), Observation(20, 3, FAR)])
    doc.add_events([Event(20, EventKind.CONFLICT, 3, other_id=2)])  # on track 2's box, which the merge drops
    before = _conflicts(doc)
    merge = MergeTracks(1, 2, keep="target")
    merge.do(doc)
    assert [c for c in _conflicts(doc) if c[0] < 50] == []  # one box is left there: nothing to conflict with
    assert conflict_episodes(doc) == []
    merge.undo(doc)
    assert _conflicts(doc) == before


def test_a_box_drawn_by_hand_is_reliable() -> None:
    doc = _project()
    doc.add_observations([Observation(30, 1, BOX, logit=0.5, state=ObjectState.LOST)])
    EditBox(1, 30, FAR).do(doc)
    fixed = doc.observation(1, 30)
    assert (fixed.state, fixed.logit, fixed.box) == (ObjectState.RELIABLE, None, FAR)


def test_new_overlaps_from_an_edit_are_conflicts_and_deleting_a_box_drops_them() -> None:
    doc = _project()
    EditBox(7, 5, BOX).do(doc)  # a new track drawn on track 1 at frame 5
    assert [c for c in _conflicts(doc) if c[0] == 5] == [(5, 1, 7, "box IoU 1.00, after an edit")]
    DeleteObservation(7, 5).do(doc)
    delete = DeleteObservation(1, 12)
    delete.do(doc)
    assert [c for c in _conflicts(doc) if c[0] in (5, 12)] == []
    delete.undo(doc)
    assert [c for c in _conflicts(doc) if c[0] in (5, 12)] == [(12, 2, 1, "engine")]


def test_a_resolved_episode_is_skipped_stays_resolved_when_shortened_and_persists(tmp_path: Path) -> None:
    path = tmp_path / "p.masklet"
    with _project(path) as doc:
        first, second = conflict_episodes(doc)
        assert step_episode([first, second], -1, 0, 1) == 0
        assert step_episode([first, second], 0, 10, 1) == 1
        assert step_episode([first, second], 1, 44, -1) == 0
        resolve = MarkReviewed(first.item)
        resolve.do(doc)
        episodes = conflict_episodes(doc)
        assert [e.resolved for e in episodes] == [True, False]
        assert step_episode(episodes, -1, 0, 1) == 1 and step_episode(episodes, 1, 44, -1) is None
        resolve.undo(doc)
        assert [e.resolved for e in conflict_episodes(doc)] == [False, False]
        resolve.do(doc)
        DeleteObservation(2, 38).do(doc)  # the episode shrinks to 10–35: still resolved
        assert _episodes(doc)[0] == ([1, 2], 10, 36, 26, True)
    with Document.open(path, read_only=True) as doc:
        assert [e.resolved for e in conflict_episodes(doc)] == [True, False]
        assert [i.start for i in review_queue(doc) if i.reason == "conflict"] == [44]

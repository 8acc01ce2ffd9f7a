"""Reversible edits: each one changes what it should, undo restores the document exactly, redo agrees."""
from __future__ import annotations

import pytest

from app.document import Document, Observation, Source
from app.edits import (
    CopyBox,
    DeleteObservation,
    DeleteTrack,
    Edit,
    EditBox,
    EditError,
    MergeSeveral,
    MergeTracks,
    ReassignId,
    SetCategory,
    SplitTrack,
    SwapIds,
)
from tracker.results import Event, EventKind


def _doc() -> Document:
    """Track 1 on frames 0–9, track 2 on frames 5–14, track 3 on frames 20–24, one conflict 1/2 at 7."""
    doc = Document.in_memory()
    person = doc.category_id("person")
    for tid in (1, 2, 3):
        doc.add_track(tid, person)
    spans = {1: range(0, 10), 2: range(5, 15), 3: range(20, 25)}
    doc.add_observations(
        Observation(frame=f, track_id=t, box=(float(t), float(f), 4.0, 4.0)) for t, fs in spans.items() for f in fs
    )
    doc.add_events([Event(7, EventKind.CONFLICT, 1, other_id=2, loser_id=2)])
    return doc


def _state(doc: Document) -> tuple:
    return (
        doc.tracks(),
        [(o.frame, o.track_id, o.box, o.source) for o in doc.iter_observations()],
        doc.events(),
    )


def _frames(doc: Document, track_id: int) -> list[int]:
    return doc.track_timeline(track_id).frames.tolist()


def _check_reversible(doc: Document, edit: Edit) -> tuple:
    before = _state(doc)
    edit.do(doc)
    after = _state(doc)
    edit.undo(doc)
    assert _state(doc) == before
    edit.do(doc)  # redo
    assert _state(doc) == after
    return after


def test_reassign_from_frame_moves_later_frames_and_events() -> None:
    doc = _doc()
    _check_reversible(doc, ReassignId(1, 9, start=7))
    assert _frames(doc, 1) == list(range(7)) and _frames(doc, 9) == [7, 8, 9]
    assert doc.events()[0].track_id == 9
    assert doc.track(9).category_id == doc.track(1).category_id


def test_reassign_onto_overlapping_track_is_refused_without_change() -> None:
    doc = _doc()
    before = _state(doc)
    with pytest.raises(EditError, match="both have frame 5"):
        ReassignId(1, 2).do(doc)
    assert _state(doc) == before


def test_reassign_whole_track_onto_free_frames_of_existing_track() -> None:
    doc = _doc()
    _check_reversible(doc, ReassignId(3, 1))
    assert doc.track(3) is None and _frames(doc, 1) == [*range(10), *range(20, 25)]


def test_swap_from_frame() -> None:
    doc = _doc()
    _check_reversible(doc, SwapIds(1, 2, start=8))
    assert _frames(doc, 1) == [*range(8), *range(8, 15)]
    assert _frames(doc, 2) == [5, 6, 7, 8, 9]
    assert doc.observation(1, 12).box[0] == 2.0 and doc.observation(2, 9).box[0] == 1.0
    assert doc.events()[0].track_id == 1  # the conflict at frame 7 is before the swap


def test_merge_without_overlap_and_with_a_winner() -> None:
    doc = _doc()
    _check_reversible(doc, MergeTracks(1, 3))
    assert doc.track(3) is None and _frames(doc, 1)[-1] == 24

    doc = _doc()
    with pytest.raises(EditError, match="overlap on 5 frames"):
        MergeTracks(1, 2).do(doc)
    _check_reversible(doc, MergeTracks(1, 2, keep="target"))
    assert _frames(doc, 1) == list(range(15)) and doc.observation(1, 6).box[0] == 1.0
    doc = _doc()
    MergeTracks(1, 2, keep="source").do(doc)
    assert doc.observation(1, 6).box[0] == 2.0 and doc.observation(1, 2).box[0] == 1.0


def test_split_chooses_a_new_id_once() -> None:
    doc = _doc()
    split = SplitTrack(2, start=10)
    _check_reversible(doc, split)
    assert split.new_id == 4
    assert _frames(doc, 2) == [5, 6, 7, 8, 9] and _frames(doc, 4) == [10, 11, 12, 13, 14]


def test_delete_track_and_range() -> None:
    doc = _doc()
    _check_reversible(doc, DeleteTrack(2))
    assert doc.track(2) is None and doc.events() == []
    doc = _doc()
    _check_reversible(doc, DeleteTrack(2, start=10))
    assert _frames(doc, 2) == [5, 6, 7, 8, 9] and len(doc.events()) == 1
    doc = _doc()
    _check_reversible(doc, DeleteTrack(1, start=2, stop=5))
    assert _frames(doc, 1) == [0, 1, 5, 6, 7, 8, 9]


def test_delete_frames_is_a_half_open_range_shown_inclusive() -> None:
    doc = _doc()
    edit = DeleteTrack(2, start=6, stop=8)
    assert edit.text == "Delete track 2 frames 6–7"
    _check_reversible(doc, edit)
    assert _frames(doc, 2) == [5, 8, 9, 10, 11, 12, 13, 14]
    assert doc.events() == []  # the conflict at frame 7 went with the frames
    with pytest.raises(EditError, match="empty"):
        DeleteTrack(2, start=9, stop=9).do(doc)
    doc = _doc()
    _check_reversible(doc, DeleteTrack(3, start=20, stop=25))
    assert doc.track(3) is None


def test_merge_several_tracks_in_one_step() -> None:
    doc = _doc()
    with pytest.raises(EditError, match="overlap"):
        MergeSeveral(3, (1, 2)).do(doc)
    assert _frames(doc, 1) == list(range(10))  # refused: nothing changed
    edit = MergeSeveral(3, (1, 2), keep="source")
    _check_reversible(doc, edit)
    assert edit.text == "Merge 1, 2 into 3"
    assert doc.track(1) is None and doc.track(2) is None
    assert _frames(doc, 3) == [*range(15), *range(20, 25)]
    assert doc.observation(3, 7).box[0] == 2.0  # the later source wins where 1 and 2 overlap
    doc = _doc()
    MergeSeveral(3, (1, 2), keep="target").do(doc)
    assert doc.observation(3, 7).box[0] == 1.0
    with pytest.raises(EditError):
        MergeSeveral(3, ()).do(doc)


def test_set_category() -> None:
    doc = _doc()
    car = doc.category_id("car")
    _check_reversible(doc, SetCategory((3,), car))
    _check_reversible(doc, SetCategory((1, 3), car))
    assert doc.track(3).category_id == car
    with pytest.raises(EditError, match="category 99"):
        SetCategory((3,), 99).do(doc)


def test_edit_box_marks_manual_and_can_create_a_track() -> None:
    doc = _doc()
    _check_reversible(doc, EditBox(1, 3, (10.0, 11.0, 12.0, 13.0)))
    obs = doc.observation(1, 3)
    assert obs.box == (10.0, 11.0, 12.0, 13.0) and obs.source is Source.MANUAL
    assert doc.track_timeline(1).manual.sum() == 1
    _check_reversible(doc, EditBox(50, 0, (1.0, 1.0, 2.0, 2.0)))
    assert doc.track(50) is not None
    with pytest.raises(EditError, match="positive width"):
        EditBox(1, 3, (0.0, 0.0, 0.0, 5.0)).do(doc)


def test_manual_boxes_are_key_frames_interpolated_between() -> None:
    """Two boxes drawn 4 frames apart: the 3 frames between get linear boxes; a tracker's box there stays;
    editing an interpolated box makes it a key frame and re-interpolates both sides; one undo step each."""
    doc = Document.in_memory()
    doc.add_observations([Observation(frame=13, track_id=9, box=(0, 0, 1, 1))])  # a tracker's box
    EditBox(9, 10, (0.0, 0.0, 10.0, 10.0)).do(doc)
    assert _frames(doc, 9) == [10, 13]  # one key frame: nothing to interpolate
    edit = EditBox(9, 14, (40.0, 20.0, 10.0, 30.0))
    _check_reversible(doc, edit)
    boxes = {f: doc.observation(9, f) for f in range(10, 15)}
    assert boxes[11].source is Source.INTERPOLATED and boxes[11].box == (10.0, 5.0, 10.0, 15.0)
    assert boxes[12].box == (20.0, 10.0, 10.0, 20.0)
    assert boxes[13].source is Source.AUTO and boxes[13].box == (0, 0, 1, 1)
    EditBox(9, 12, (0.0, 0.0, 2.0, 2.0)).do(doc)
    assert doc.observation(9, 12).source is Source.MANUAL
    assert doc.observation(9, 11).box == (0.0, 0.0, 6.0, 6.0)  # between frame 10 and the new key frame 12


def test_copy_box_to_the_next_frames() -> None:
    doc = Document.in_memory()
    EditBox(4, 0, (1.0, 2.0, 3.0, 4.0)).do(doc)
    EditBox(4, 2, (9.0, 9.0, 9.0, 9.0)).do(doc)
    _check_reversible(doc, CopyBox(4, 0, 3))
    assert [doc.observation(4, f).box for f in range(4)] == [(1.0, 2.0, 3.0, 4.0), (1.0, 2.0, 3.0, 4.0),
                                                           (9.0, 9.0, 9.0, 9.0), (1.0, 2.0, 3.0, 4.0)]
    assert doc.observation(4, 1).source is Source.MANUAL
    with pytest.raises(EditError, match="no box at frame 7"):
        CopyBox(4, 7).do(doc)


def test_delete_observation() -> None:
    doc = _doc()
    _check_reversible(doc, DeleteObservation(3, 22))
    assert 22 not in _frames(doc, 3)
    with pytest.raises(EditError, match="no box at frame 22"):
        DeleteObservation(3, 22).do(doc)


def test_edits_on_missing_tracks_are_refused() -> None:
    doc = _doc()
    for edit in (ReassignId(42, 43), SwapIds(1, 42), MergeTracks(42, 1), DeleteTrack(42), SetCategory((42,), None)):
        with pytest.raises(EditError, match="42"):
            edit.do(doc)


def test_undo_before_do_is_an_error() -> None:
    with pytest.raises(EditError, match="not applied"):
        DeleteTrack(1).undo(_doc())

"""How far a correction propagates (to the next key frame, the end or frame N; backward to just after the
previous key frame) and when a faster SAM2 setting is proposed."""
from __future__ import annotations

from app.correction import Reach, backward_start, faster_setting, last_forward_frame
from app.document import Document, Observation, Source


def _doc() -> Document:
    """Track 1 on frames 0..20, edited by hand at 4 and 15."""
    doc = Document.in_memory()
    doc.add_observations([
        Observation(frame=f, track_id=1, box=(0, 0, 5, 5), source=Source.MANUAL if f in (4, 15) else Source.AUTO)
        for f in range(21)
    ])
    return doc


def test_forward_end_stops_before_the_next_key_frame_or_at_the_chosen_frame() -> None:
    doc = _doc()
    assert last_forward_frame(doc, 1, 8, Reach.NEXT_KEYFRAME, 20) == 14
    assert last_forward_frame(doc, 1, 16, Reach.NEXT_KEYFRAME, 20) == 20  # no key frame after 16
    assert last_forward_frame(doc, 1, 8, Reach.END, 20) == 20
    assert last_forward_frame(doc, 1, 8, Reach.FRAME, 20, 11) == 11
    assert last_forward_frame(doc, 1, 8, Reach.FRAME, 20, 99) == 20  # never past the last frame
    assert last_forward_frame(doc, 1, 8, Reach.FRAME, 20, 3) == 8  # nor before the corrected one


def test_backward_start_is_after_the_previous_key_frame_else_the_start() -> None:
    doc = _doc()
    assert (backward_start(doc, 1, 10), backward_start(doc, 1, 16), backward_start(doc, 1, 3)) == (5, 16, 0)


def test_a_faster_setting_is_proposed_only_on_the_cpu_for_long_etas_and_when_there_is_one() -> None:
    assert faster_setting("large", 1024, "cpu", 300.0) == ("tiny", 512)
    assert faster_setting("tiny", 1024, "cpu", 300.0) == ("tiny", 512)
    assert faster_setting("small", 256, "cpu", 300.0) == ("tiny", 256)
    assert faster_setting("tiny", 512, "cpu", 300.0) is None  # already the fast setting
    assert faster_setting("large", 1024, "cpu", 20.0) is None  # not long
    assert faster_setting("large", 1024, "cuda:0", 300.0) is None

"""Corrections on a track's own memory against SAM2's ``SAM2VideoPredictor``.

The history is what a tracking run records: a ``SAM2Engine`` tracks objects 1 and 2 online (box prompts,
memory skips), its prompts are stored in a project and read back; the app's correction path
(``app.correction.correction_history`` + ``tracker.correction.Correction``) replays them on a fresh engine,
applies the clicks at frame t and propagates. The reference is the predictor driven online with the same
prompts and skips (``add_all_frames_to_correct_as_cond=True``, as the engine mirrors), then the clicks at t
with ``clear_old_points=False``, then ``propagate_in_video`` from t.

Tolerance: none. The correction replays one object alone, so every forward pass has batch 1 and runs the
very operations of the reference: logits and object scores are bit-identical (hence so are the masks).
One random SAM2.1-tiny at image size 128 on CPU, real bedroom frames (same set-up as test_sam2_engine).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from sam2.sam2_video_predictor import SAM2VideoPredictor

from app.correction import correction_history
from app.document import Document
from tests.tracker.sam2_reference import (  # noqa: F401  (fixtures: used by name)
    _encode_each_frame_once,
    _one_thread,
    _reference_fills_holes,
    bedroom_frames,
    decode,
    feature_cache,
    reference_predictor,
)
from tracker.correction import Correction
from tracker.results import FrameResult
from tracker.sam2_engine import ObjectOutput, SAM2Engine

COUNT = 14
BOXES = {1: (300.0, 100.0, 500.0, 400.0), 2: (600.0, 200.0, 800.0, 500.0)}
Out = tuple[np.ndarray, float]



@pytest.fixture(scope="module")
def frame_files(shared_data: Path) -> list[Path]:
    return bedroom_frames(shared_data, COUNT)


@pytest.fixture(scope="module")
def frames(frame_files: list[Path]) -> list[np.ndarray]:
    return decode(frame_files)


@pytest.fixture(scope="module")
def sam() -> SAM2VideoPredictor:
    predictor = reference_predictor()
    predictor.add_all_frames_to_correct_as_cond = True
    return predictor


@dataclass
class Case:
    """Objects 1 and 2 boxed at frame 0, tracked online through ``tracked`` (inclusive) with object 1's
    memory skipping ``skips``; then ``calls`` on object 1 at ``frame`` (each: points, labels, box),
    propagated through ``end``."""

    frame: int
    calls: list[tuple[list | None, list | None, tuple | None]]
    tracked: int = 0
    end: int = COUNT - 1
    skips: tuple[int, ...] = ()
    prompts: dict[int, dict[int, tuple]] = field(default_factory=lambda: {0: dict(BOXES)})

    def __post_init__(self) -> None:
        self.tracked = max(self.tracked, self.frame)


def _score(state: dict, obj_id: int, frame: int) -> float:
    idx = state["obj_id_to_idx"][obj_id]
    for outputs in (state["temp_output_dict_per_obj"][idx], state["output_dict_per_obj"][idx]):
        for key in ("cond_frame_outputs", "non_cond_frame_outputs"):
            if frame in outputs[key]:
                return float(outputs[key][frame]["object_score_logits"])
    raise KeyError((obj_id, frame))


def _reference(sam: SAM2VideoPredictor, frame_files: list[Path], folder: Path, case: Case) -> tuple[list[Out], dict[int, Out]]:
    """Object 1 after each call at ``case.frame`` (its clicks given one by one) and at each propagated frame."""
    for path in frame_files:
        shutil.copy(path, folder / path.name)
    state = sam.init_state(str(folder))
    for f in range(case.tracked + 1):
        if state["obj_ids"]:
            list(sam.propagate_in_video(state, start_frame_idx=f, max_frame_num_to_track=0))
        for obj_id, box in case.prompts.get(f, {}).items():
            sam.add_new_points_or_box(state, f, obj_id, box=box)
        if f in case.skips:
            del state["output_dict_per_obj"][state["obj_id_to_idx"][1]]["non_cond_frame_outputs"][f]
    previews = []
    for points, labels, box in case.calls:  # the annotator clicks one point at a time
        steps = [{"box": box}] if box is not None else []
        steps += [{"points": [p], "labels": [label], "clear_old_points": False} for p, label in zip(points or [], labels or [])]
        for step in steps:
            _, ids, masks = sam.add_new_points_or_box(state, case.frame, 1, **step)
        previews.append((masks[list(ids).index(1), 0].numpy(), _score(state, 1, case.frame)))
    propagated = {}
    for f, ids, masks in sam.propagate_in_video(
        state, start_frame_idx=case.frame, max_frame_num_to_track=case.end - case.frame
    ):
        if f > case.frame:
            propagated[f] = (masks[list(ids).index(1), 0].numpy(), _score(state, 1, f))
    return previews, propagated


def _app(sam: SAM2VideoPredictor, frames: list[np.ndarray], case: Case) -> tuple[list[ObjectOutput], dict]:
    """The tracking run records its prompts into a project; the correction replays them."""
    run = SAM2Engine(sam, "cpu", num_frames=COUNT)
    doc = Document.in_memory()
    for f in range(case.tracked + 1):
        run.step(f, frames[f])
        for obj_id, box in case.prompts.get(f, {}).items():
            run.add_object(obj_id, box=box)
        if f in case.skips:
            run.skip_memory(1)
        doc.write_frame(FrameResult(f, prompts=run.take_prompts()))
    history = correction_history(doc, 1, case.frame)
    assert history.stored
    correction = Correction(SAM2Engine(sam, "cpu"), frames.__getitem__, COUNT, 1, case.frame, history.prompts)
    assert list(correction.replay()) == list(range(history.prompts[0].frame, case.frame + 1))
    previews = []
    for points, labels, box in case.calls:
        if box is not None:
            out = correction.set_box(box)
        for (x, y), label in zip(points or [], labels or []):
            out = correction.click(x, y, label == 1)
        previews.append(out)
    return previews, dict(correction.propagate(case.end))


def _check(sam, frames, frame_files, tmp_path, case: Case) -> list[ObjectOutput]:
    expected_previews, expected = _reference(sam, frame_files, tmp_path, case)
    previews, propagated = _app(sam, frames, case)
    assert len(previews) == len(expected_previews)
    for got, (logits, score) in zip(previews, expected_previews):
        np.testing.assert_array_equal(got.mask_logits, logits)
        assert got.object_score_logit == score
    assert sorted(propagated) == sorted(expected) == list(range(case.frame + 1, case.end + 1))
    for f, (logits, score) in expected.items():
        np.testing.assert_array_equal(propagated[f].mask_logits, logits, err_msg=f"frame {f}")
        assert propagated[f].object_score_logit == score, f"frame {f}"
        np.testing.assert_array_equal(propagated[f].mask, logits > 0)
    return previews


def test_correction_parity_positive_click_on_existing_track(sam, frames, frame_files, tmp_path) -> None:
    _check(sam, frames, frame_files, tmp_path, Case(frame=5, calls=[([[420.0, 260.0]], [1], None)]))


def test_correction_parity_negative_click_removes_a_region(sam, frames, frame_files, tmp_path) -> None:
    _check(sam, frames, frame_files, tmp_path, Case(frame=5, calls=[([[350.0, 150.0]], [0], None)]))


def test_correction_parity_box_on_existing_track(sam, frames, frame_files, tmp_path) -> None:
    _check(sam, frames, frame_files, tmp_path, Case(frame=4, calls=[(None, None, (320.0, 120.0, 520.0, 380.0))]))


def test_correction_parity_at_a_past_frame(sam, frames, frame_files, tmp_path) -> None:
    """The run went on to frame 11; frame 6 is corrected with a positive and a negative click."""
    case = Case(frame=6, tracked=11, calls=[([[420.0, 260.0], [330.0, 380.0]], [1, 0], None)])
    _check(sam, frames, frame_files, tmp_path, case)


def test_correction_parity_with_skipped_memory(sam, frames, frame_files, tmp_path) -> None:
    """Frames 2 and 3 were kept out of object 1's memory (memory filter, cross-object interaction)."""
    _check(sam, frames, frame_files, tmp_path, Case(frame=6, skips=(2, 3), calls=[([[420.0, 260.0]], [1], None)]))


def test_correction_parity_clicks_accumulate_on_one_frame(sam, frames, frame_files, tmp_path) -> None:
    """Three clicks, one at a time: each preview is SAM2's for every click so far plus the previous logits."""
    calls = [([[420.0, 260.0]], [1], None), ([[350.0, 150.0]], [0], None), ([[460.0, 330.0]], [1], None)]
    previews = _check(sam, frames, frame_files, tmp_path, Case(frame=5, calls=calls))
    assert not np.array_equal(previews[0].mask_logits, previews[1].mask_logits)


def test_correction_parity_box_then_clicks_on_a_track_added_later(sam, frames, frame_files, tmp_path) -> None:
    """Object 1 starts at frame 3 (its replay starts there); a box then a click at frame 7."""
    case = Case(frame=7, prompts={0: {2: BOXES[2]}, 3: {1: BOXES[1]}},
                calls=[(None, None, (320.0, 120.0, 520.0, 380.0)), ([[420.0, 260.0]], [1], None)])
    _check(sam, frames, frame_files, tmp_path, case)


def test_correction_backward_equals_sam2_reverse_tracking(sam, frames, frame_files, tmp_path) -> None:
    """``propagate_backward`` from a corrected frame t equals SAM2's ``propagate_in_video(reverse=True)`` from
    the same mask at t on a video ending at t (the predictor normalises pointer positions by its length)."""
    t = 6
    correction = Correction(SAM2Engine(sam, "cpu"), frames.__getitem__, t + 1, 1, t, [])
    list(correction.replay())
    correction.set_box(BOXES[1])
    mask = correction.output.mask
    got = dict(correction.propagate_backward(2))
    for path in frame_files[: t + 1]:
        shutil.copy(path, tmp_path / path.name)
    state = sam.init_state(str(tmp_path))
    sam.add_new_mask(state, t, 1, mask)
    expected = {f: masks[0, 0].numpy() for f, _, masks in sam.propagate_in_video(
        state, start_frame_idx=t, max_frame_num_to_track=t - 2, reverse=True) if f < t}
    assert sorted(got) == sorted(expected) == [2, 3, 4, 5]
    for f, logits in expected.items():
        np.testing.assert_array_equal(got[f].mask_logits, logits, err_msg=f"frame {f}")

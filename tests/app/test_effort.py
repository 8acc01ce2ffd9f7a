"""The effort metric on hand-made sequences (every action kind and its boundaries) and on the TUD data, where
its matching reproduces TrackEval's CLEAR counts."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.commands.eval import sequence_data
from app.document import Document, Observation
from app.effort import WEIGHTS, Effort, EffortConfig, EffortError, parse_weights, sequence_effort
from tracker.geometry import encode_mask

ROOT = Path(__file__).resolve().parents[2]
LEFT, RIGHT = (0.0, 0.0, 10.0, 10.0), (100.0, 0.0, 10.0, 10.0)


def _doc(tracks: dict[int, dict[int, tuple]]) -> Document:
    """A document of ``{track_id: {frame: box}}``."""
    doc = Document.in_memory()
    doc.add_observations(Observation(frame, tid, box) for tid, boxes in tracks.items() for frame, box in boxes.items())
    return doc


def _effort(gt: dict, pred: dict, propagate: bool = False, **config) -> Effort:
    return sequence_effort(sequence_data(_doc(gt), _doc(pred)), EffortConfig(**config), propagate)


def _at(box: tuple, frames: range) -> dict[int, tuple]:
    return {f: box for f in frames}


def _counts(e: Effort) -> dict[str, int]:
    return {k: v for k, v in e.summary().items() if isinstance(v, int) and not isinstance(v, bool) and v}


def test_a_perfect_prediction_costs_nothing_and_scratch_draws_every_box() -> None:
    gt = {1: _at(LEFT, range(10)), 2: _at(RIGHT, range(5))}
    e = _effort(gt, gt)
    assert _counts(e) == {"gt_boxes": 15}
    assert e.seconds == 0 and e.scratch_seconds == 15 * WEIGHTS["box"]


def test_an_id_switch_is_one_fix_at_its_frame() -> None:
    e = _effort({1: _at(LEFT, range(10))}, {1: _at(LEFT, range(5)), 2: _at(LEFT, range(5, 10))})
    assert _counts(e) == {"id_fixes": 1, "id_switches": 1, "gt_boxes": 10}
    assert e.seconds == WEIGHTS["id_fix"] and np.flatnonzero(e.frame_seconds).tolist() == [5]


def test_two_ids_exchanged_at_one_frame_are_one_swap() -> None:
    gt = {1: _at(LEFT, range(10)), 2: _at(RIGHT, range(10))}
    pred = {1: {**_at(LEFT, range(5)), **_at(RIGHT, range(5, 10))}, 2: {**_at(RIGHT, range(5)), **_at(LEFT, range(5, 10))}}
    e = _effort(gt, pred)
    assert (e.id_switches, e.swaps, e.splits, e.id_fixes) == (2, 1, 0, 1)
    # exchanged one frame apart (an occlusion): two fixes
    gt[2] = _at(RIGHT, [*range(5), *range(6, 10)])
    pred[1] = {**_at(LEFT, range(5)), **_at(RIGHT, range(6, 10))}
    pred[2] = {**_at(RIGHT, range(5)), **_at(LEFT, range(5, 10))}
    e = _effort(gt, pred)
    assert (e.id_switches, e.swaps, e.id_fixes) == (2, 0, 2)


def test_a_predicted_track_covering_two_objects_is_split() -> None:
    gt = {1: _at(LEFT, range(5)), 2: _at(RIGHT, range(5, 10))}
    e = _effort(gt, {7: {**_at(LEFT, range(5)), **_at(RIGHT, range(5, 10))}})
    assert (e.id_switches, e.splits, e.id_fixes) == (0, 1, 1)
    # the same change fixed by the reassign of an ID switch at that frame is not counted twice
    gt = {1: _at(LEFT, range(10)), 3: _at(RIGHT, range(5))}
    e = _effort(gt, {1: _at(LEFT, range(5)), 2: {**_at(RIGHT, range(5)), **_at(LEFT, range(5, 10))}})
    assert (e.id_switches, e.splits, e.id_fixes) == (1, 0, 1)


def test_deletions_are_runs_of_unmatched_boxes_broken_by_a_match() -> None:
    e = _effort({1: _at(LEFT, range(3))}, {1: _at(LEFT, range(3)), 2: _at(RIGHT, range(5))})
    assert (e.deletions, e.deleted_boxes) == (1, 5)
    pred = {2: {**_at(RIGHT, range(3)), **_at(LEFT, range(3, 6)), **_at(RIGHT, range(6, 10))}}
    e = _effort({1: _at(LEFT, range(3, 6))}, pred)
    assert (e.deletions, e.deleted_boxes, e.id_fixes) == (2, 7, 0)
    assert e.seconds == pytest.approx(2 * WEIGHTS["deletion"])
    assert np.flatnonzero(e.frame_seconds).tolist() == [0, 6]  # each at its run's first frame


@pytest.mark.parametrize(("length", "keyframes"), [(1, [0]), (2, [0, 1]), (10, [0, 9]), (11, [0, 10]),
                                                   (12, [0, 10, 11]), (21, [0, 10, 20])])
def test_additions_draw_key_frames_every_k_boxes(length: int, keyframes: list[int]) -> None:
    e = _effort({1: _at(LEFT, range(length))}, {})
    assert (e.additions, e.missed_boxes, e.addition_prompts) == (1, length, len(keyframes))
    assert np.flatnonzero(e.frame_seconds).tolist() == keyframes
    propagated = _effort({1: _at(LEFT, range(length))}, {}, propagate=True)
    assert propagated.addition_prompts == 1 and propagated.seconds == WEIGHTS["box"]
    every_frame = _effort({1: _at(LEFT, range(length))}, {}, keyframe_every=1)
    assert every_frame.addition_prompts == length


def test_missed_runs_are_broken_by_a_matched_box() -> None:
    e = _effort({1: _at(LEFT, range(10))}, {1: _at(LEFT, [4])})
    assert (e.additions, e.missed_boxes, e.addition_prompts) == (2, 9, 4)


@pytest.mark.parametrize(("height", "loose", "missed"), [(7.0, 0, 0), (6.9, 1, 0), (5.0, 1, 0), (4.9, 0, 1)])
def test_box_fixes_below_the_tight_iou_and_matches_from_iou_0_5(height: float, loose: int, missed: int) -> None:
    """A 10×height box inside a 10×10 one has IoU height/10: 0.7 is tight enough, 0.5 still matches."""
    e = _effort({1: _at(LEFT, range(3))}, {1: _at((0.0, 0.0, 10.0, height), range(3))})
    assert (e.box_fixes, e.additions, e.deletions) == (loose, missed, missed)
    assert e.loose_boxes == 3 * loose and e.box_fix_prompts == 2 * loose


def test_box_fix_runs_end_where_the_box_is_tight_again() -> None:
    loose = (0.0, 0.0, 10.0, 6.0)
    pred = {1: {**_at(loose, range(3)), **_at(LEFT, range(3, 5)), **_at(loose, range(5, 6))}}
    e = _effort({1: _at(LEFT, range(6))}, pred, propagate=True)
    assert (e.box_fixes, e.loose_boxes, e.box_fix_prompts) == (2, 4, 2)
    assert e.seconds == 2 * WEIGHTS["box"]


def test_weights_are_configurable_and_checked() -> None:
    assert parse_weights("id_fix=10, box=3") == {**WEIGHTS, "id_fix": 10.0, "box": 3.0}
    e = sequence_effort(sequence_data(_doc({1: _at(LEFT, range(2))}), _doc({})),
                        EffortConfig(weights=parse_weights("box=3")), False)
    assert e.seconds == 6.0 and e.scratch_seconds == 6.0
    for bad in ("nope=1", "box", "box=x", "box=-1"):
        with pytest.raises(EffortError):
            parse_weights(bad)


def test_propagation_follows_the_predictions_masks(tmp_path: Path) -> None:
    gt, pred = tmp_path / "gt.masklet", tmp_path / "pred.masklet"
    source = _doc({1: _at(LEFT, range(12))})
    source.save_as(gt)
    source.close()
    mask = np.zeros((20, 120), bool)
    mask[:10, :10] = True
    with Document.create(pred) as doc:
        doc.add_observations([Observation(0, 1, LEFT, mask=encode_mask(mask))])
    out = tmp_path / "e.json"
    assert main(["eval", "--gt", str(gt), "--pred", str(pred), "--effort", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["effort"]["combined"]["addition_prompts"] == 1  # frames 1-11, propagated
    assert main(["eval", "--gt", str(gt), "--pred", str(pred), "--effort", "--propagation", "no",
                 "--json", str(out)]) == 0
    assert json.loads(out.read_text())["effort"]["combined"]["addition_prompts"] == 2


def test_effort_matching_reproduces_trackeval_clear_on_tud(shared_data: Path, tmp_path: Path) -> None:
    tud = shared_data / "tud"
    out = tmp_path / "e.json"
    assert main(["eval", "--gt", str(tud / "TUD-Campus" / "gt.txt"), str(tud / "TUD-Stadtmitte" / "gt.txt"),
                 "--pred", str(tud / "TUD-Campus" / "test.txt"), str(tud / "TUD-Stadtmitte" / "test.txt"),
                 "--effort", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    for name, metrics in result["sequences"].items():
        effort = result["effort"]["sequences"][name]
        assert (effort["id_switches"], effort["deleted_boxes"], effort["missed_boxes"]) == (
            metrics["IDSW"], metrics["FP"], metrics["FN"]), name
        assert effort["gt_boxes"] == metrics["TP"] + metrics["FN"]
        assert 0 < effort["seconds"] < effort["scratch_seconds"]
    assert result["effort"]["tight_iou"] == 0.7 and result["effort"]["weights"] == WEIGHTS


def test_bad_effort_options_exit_2(shared_data: Path) -> None:
    gt = str(shared_data / "tud" / "TUD-Campus" / "gt.txt")
    for option in (["--effort-weights", "box=x"], ["--tight-iou", "0"], ["--keyframe-every", "0"]):
        run = subprocess.run([sys.executable, "-m", "app.cli", "eval", "--gt", gt, "--pred", gt, "--effort", *option],
                             cwd=ROOT, capture_output=True, text=True)
        assert run.returncode == 2 and "Traceback" not in run.stderr
        assert run.stderr.count("\n") == 1, run.stderr

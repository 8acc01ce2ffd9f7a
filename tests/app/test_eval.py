"""``masklet eval``: TrackEval metrics reproduce the published TUD numbers; inputs, modes and errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.commands.eval import evaluate, pair_sequences, sequence_data
from app.document import Document, Observation
from exporters import registry


@pytest.fixture(scope="module")
def expected(shared_data: Path) -> dict:
    return json.loads((shared_data / "tud" / "expected.json").read_text())


def _tud(shared_data: Path, sequence: str, name: str) -> str:
    return str(shared_data / "tud" / sequence / name)


def test_eval_reproduces_the_published_tud_numbers(
    shared_data: Path, expected: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "e.json"
    assert main([
     "eval", "--gt", _tud(shared_data, "TUD-Campus", "gt.txt"), _tud(shared_data, "TUD-Stadtmitte", "gt.txt"),
     "--pred", _tud(shared_data, "TUD-Campus", "test.txt"), _tud(shared_data, "TUD-Stadtmitte", "test.txt"),
     "--json", str(out),
 ]) == 0
    result = json.loads(out.read_text())
    for name, metrics in [*result["sequences"].items(), ("OVERALL", result["combined"])]:
        reference = expected[name]
        for key in ("IDF1", "IDP", "IDR", "MOTA", "Recall", "Precision"):
            assert metrics[key] == pytest.approx(reference[key], abs=5e-4), (name, key)
        for key in ("IDSW", "FP", "FN", "MT", "PT", "ML", "GT"):
            assert metrics[key] == reference[key] and isinstance(metrics[key], int), (name, key)
        assert metrics["Frag"] == reference["FM"]
        assert 1 - metrics["MOTP"] == pytest.approx(reference["MOTP_distance"], abs=5e-4)
    assert result["combined"]["HOTA"] == pytest.approx(expected["OVERALL"]["HOTA"], abs=5e-4)
    assert 0 < result["combined"]["DetA"] < 1 and 0 < result["combined"]["AssA"] < 1
    table = capsys.readouterr().out
    assert "TUD-Campus" in table and "COMBINED        0.400" in table


def test_one_sequence_and_folders(shared_data: Path, expected: dict, tmp_path: Path) -> None:
    assert main(["eval", "--gt", _tud(shared_data, "TUD-Campus", "gt.txt"), "--pred",
                 _tud(shared_data, "TUD-Campus", "test.txt"), "--json", str(tmp_path / "one.json")]) == 0
    one = json.loads((tmp_path / "one.json").read_text())["combined"]
    assert (round(one["IDF1"], 3), round(one["MOTA"], 3), one["IDSW"]) == (0.558, 0.526, 7)
    # two folders: sequences matched by name (the shared tud folder holds gt.txt and test.txt per sequence)
    assert main(["eval", "--gt", str(shared_data / "tud"), "--pred", str(shared_data / "tud"),
                 "--json", str(tmp_path / "both.json")]) == 0
    both = json.loads((tmp_path / "both.json").read_text())
    assert sorted(both["sequences"]) == ["TUD-Campus", "TUD-Stadtmitte"]
    assert round(both["combined"]["IDF1"], 3) == round(expected["OVERALL"]["IDF1"], 3)


def test_iou_threshold_applies_to_clear_and_identity(shared_data: Path) -> None:
    pairs = pair_sequences([Path(_tud(shared_data, "TUD-Campus", "gt.txt"))],
                           [Path(_tud(shared_data, "TUD-Campus", "test.txt"))])
    loose, strict = evaluate(pairs, iou=0.5)["combined"], evaluate(pairs, iou=0.8)["combined"]
    assert strict["MOTA"] < loose["MOTA"] and strict["IDF1"] < loose["IDF1"]
    assert strict["HOTA"] == loose["HOTA"]  # HOTA integrates over thresholds


def test_cocovid_and_project_inputs(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "bdd100k-track" / "cocoformat_track_sample_annotations.json"
    doc = registry.get("cocovid").read(source)
    doc.save_as(tmp_path / "pred.masklet")
    doc.close()
    assert main(["eval", "--gt", str(source), "--pred", str(tmp_path / "pred.masklet"),
                 "--json", str(tmp_path / "e.json")]) == 0
    metrics = json.loads((tmp_path / "e.json").read_text())["combined"]
    # plain mode: crowd boxes (iscrowd → score 0) are not ground truth (2 of the 144 tracks are only crowd),
    # so predicting them costs their 132 boxes as FP
    assert (metrics["FN"], metrics["IDSW"], metrics["FP"], metrics["GT"]) == (0, 0, 132, 142)
    assert main(["eval", "--gt", str(source), "--pred", str(tmp_path / "pred.masklet"), "--classes", "car",
                 "--json", str(tmp_path / "cars.json")]) == 0
    cars = json.loads((tmp_path / "cars.json").read_text())["combined"]
    assert cars["FN"] == 0 and cars["GT"] < metrics["GT"]


def _doc(rows: list[tuple[int, int, tuple[float, float, float, float]]], classes: dict[int, int]) -> Document:
    doc = Document.in_memory()
    doc.add_category("pedestrian", 1)
    doc.add_category("static_person", 7)
    for track_id, category in classes.items():
        doc.add_track(track_id, category)
    doc.add_observations([Observation(frame=f, track_id=t, box=box) for f, t, box in rows])
    return doc


def test_motchallenge_mode_removes_predictions_on_distractors() -> None:
    walker, statue = (10.0, 10.0, 20.0, 40.0), (100.0, 10.0, 20.0, 40.0)
    gt = _doc([(f, 1, walker) for f in range(3)] + [(f, 2, statue) for f in range(3)], {1: 1, 2: 7})
    pred = _doc([(f, 5, walker) for f in range(3)] + [(f, 6, statue) for f in range(3)], {})
    from trackeval.metrics import CLEAR, HOTA, Identity

    from app.commands.eval import summarise

    def metrics(mode: str) -> dict:
        data = sequence_data(gt, pred, preprocess=mode)
        return summarise({m.get_name(): m.eval_sequence(data) for m in (
            HOTA(), CLEAR({"PRINT_CONFIG": False}), Identity({"PRINT_CONFIG": False}))})

    plain, motchallenge = metrics("plain"), metrics("motchallenge")
    assert (plain["FP"], plain["GT"], plain["MOTA"]) == (0, 2, 1.0)
    assert (motchallenge["FP"], motchallenge["GT"], motchallenge["MOTA"]) == (0, 1, 1.0)
    pred_off = _doc([(f, 6, (50.0, 60.0, 20.0, 40.0)) for f in range(3)], {})
    data = sequence_data(gt, pred_off, preprocess="motchallenge")
    assert data["num_tracker_dets"] == 3 and data["num_gt_dets"] == 3


def test_input_errors_exit_2(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt = _tud(shared_data, "TUD-Campus", "gt.txt")
    assert main(["eval", "--gt", gt, gt, "--pred", _tud(shared_data, "TUD-Campus", "test.txt")]) == 2
    assert "give one --pred per --gt" in capsys.readouterr().err
    (tmp_path / "preds").mkdir()
    (tmp_path / "preds" / "other.txt").write_text("1,1,1,1,5,5,1,-1,-1,-1\n")
    (tmp_path / "preds" / "more.txt").write_text("1,1,1,1,5,5,1,-1,-1,-1\n")
    assert main(["eval", "--gt", str(shared_data / "tud"), "--pred", str(tmp_path / "preds")]) == 2
    assert "no predictions for TUD-Campus, TUD-Stadtmitte" in capsys.readouterr().err
    assert main(["eval", "--gt", gt, "--pred", str(tmp_path / "missing.txt")]) == 2
    assert main(["eval", "--gt", gt, "--pred", gt, "--preprocess", "motchallenge"]) == 2
    assert "TUD-Campus: the ground truth has no class pedestrian (its classes: none)" in capsys.readouterr().err


def test_frame_numbering_is_printed_checked_and_can_be_given(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gt, pred = _tud(shared_data, "TUD-Campus", "gt.txt"), Path(_tud(shared_data, "TUD-Campus", "test.txt"))
    assert main(["eval", "--gt", gt, "--pred", str(pred)]) == 0
    assert "frames 1-based (no frame 0)" in capsys.readouterr().out
    stray = tmp_path / "test.txt"
    stray.write_text("0,99,1,1,5,5,-1,-1,-1,-1\n" + pred.read_text())  # one stray frame-0 row
    assert main(["eval", "--gt", gt, "--pred", str(stray)]) == 2
    assert "better shifted by -1 frame" in capsys.readouterr().err
    assert main(["eval", "--gt", gt, "--pred", str(stray), "--frame-base", "1"]) == 2
    assert "frame 0 does not exist in a 1-based file" in capsys.readouterr().err
    zero_based = tmp_path / "zero.txt"  # a 0-based file without a frame-0 row: only the GT shows it
    rows = np.loadtxt(pred, delimiter=",")
    rows = rows[rows[:, 0] > 1]
    rows[:, 0] -= 1
    np.savetxt(zero_based, rows, delimiter=",", fmt="%g")
    assert main(["eval", "--gt", gt, "--pred", str(zero_based)]) == 2
    assert main(["eval", "--gt", gt, "--pred", str(zero_based), "--frame-base", "0", "--json",
                 str(tmp_path / "e.json")]) == 0
    assert "frames 0-based (given)" in capsys.readouterr().out


def test_sequence_folders_rows_past_the_end_and_distractors(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    preds = tmp_path / "preds"
    preds.mkdir()
    results = tmp_path / "r.txt"
    results.write_text(Path(_tud(shared_data, "TUD-Campus", "test.txt")).read_text() + "100,3,1,1,5,5,1,-1,-1,-1\n")
    assert main(["convert", str(results), str(preds / "TUD-Campus"), "--to", "mot"]) == 0  # a sequence folder
    assert main(["eval", "--gt", str(shared_data / "sequences" / "TUD-Campus"), "--pred", str(preds)]) == 0
    assert "1 predicted boxes lie past the sequence's 71 frames" in capsys.readouterr().out
    mot16 = str(shared_data / "sequences" / "MOT16-11")
    assert main(["eval", "--gt", mot16, "--pred", mot16]) == 0
    assert "--preprocess motchallenge" in capsys.readouterr().out
    assert main(["eval", "--gt", mot16, "--pred", mot16, "--preprocess", "motchallenge"]) == 0

"""``masklet import``, ``export`` and ``convert`` through ``app.cli.main``."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.document import Document
from exporters.base import read_report


def test_import_builds_a_project_from_labels_and_video(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    highway = shared_data / "highway"
    assert main(["import", str(highway / "gt.txt"), "--video", str(highway / "highway.mp4"),
                 "-o", str(tmp_path / "hw")]) == 0
    assert "frames 0-based" in capsys.readouterr().out
    with Document.open(tmp_path / "hw.masklet") as doc:
        assert doc.video is not None and doc.video.name == "highway" and doc.video.frame_count == 249
        assert doc.observation_count() == 1704 and read_report(doc).frame_base == 0
    assert main(["import", str(highway / "gt.txt"), "--video", str(highway / "highway.mp4"),
                 "-o", str(tmp_path / "hw.masklet")]) == 2
    assert "already exists" in capsys.readouterr().err


def test_failed_import_exits_2_and_leaves_no_project(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("1,1,10,10,5,5\n2,1,10,x,5,5\n")
    code = main(["import", str(bad), "--format", "mot", "--video", str(shared_data / "highway" / "highway.mp4"),
                 "-o", str(tmp_path / "p.masklet")])
    assert code == 2 and capsys.readouterr().err.strip() == f"masklet: error: {bad}:2: field 4 is not a number: 'x'"
    assert not (tmp_path / "p.masklet").exists()


def test_export_with_selection(shared_data: Path, tmp_path: Path) -> None:
    highway = shared_data / "highway"
    (tmp_path / "names.txt").write_text("bicycle\ncar\n")  # highway's class 2 is a car
    main(["import", str(highway / "gt.txt"), "--video", str(highway / "highway.mp4"), "-o", str(tmp_path / "p"),
          "--classes", str(tmp_path / "names.txt")])
    assert main(["export", str(tmp_path / "p.masklet"), "-f", "cocovid", "-o", str(tmp_path / "c.json"),
                 "--start", "10", "--end", "20", "--tracks", "1,2,3", "--classes", "car"]) == 0
    data = json.loads((tmp_path / "c.json").read_text())
    assert [image["frame_id"] for image in data["images"]] == list(range(10, 20))
    assert {a["track_id"] for a in data["annotations"]} <= {1, 2, 3} and data["annotations"]
    assert {c["name"] for c in data["categories"]} == {"car"}
    assert main(["export", str(tmp_path / "p.masklet"), "-f", "mot", "-o", str(tmp_path / "seq"),
                 "--classes", "truck"]) == 2


def test_convert_cocovid_to_mot_and_back(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = shared_data / "bdd100k-track" / "cocoformat_track_sample_annotations.json"
    assert main(["convert", str(source), str(tmp_path / "seq"), "--to", "mot"]) == 0
    assert "seqLength=202" in (tmp_path / "seq" / "seqinfo.ini").read_text()
    assert main(["convert", str(tmp_path / "seq"), str(tmp_path / "back.json"), "--from", "mot",
                 "--to", "cocovid"]) == 0
    back = json.loads((tmp_path / "back.json").read_text())
    assert (len(back["images"]), len(back["annotations"]), back["images"][0]["width"]) == (202, 3241, 1280)
    assert "wrote 3241 boxes" in capsys.readouterr().out


def test_convert_to_yolo_needs_an_image_size(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gt = shared_data / "tud" / "TUD-Campus" / "gt.txt"
    assert main(["convert", str(gt), str(tmp_path / "y"), "--to", "yolo"]) == 2
    assert "the document has no video" in capsys.readouterr().err
    assert main(["convert", str(gt), str(tmp_path / "y"), "--to", "yolo", "--image-size", "640x480"]) == 0
    assert main(["convert", str(tmp_path / "y"), str(tmp_path / "r.txt"), "--to", "mot-results",
                 "--image-size", "640x480"]) == 0
    assert len((tmp_path / "r.txt").read_text().splitlines()) == len(gt.read_text().splitlines())


def test_formats_benchmark_runs(shared: Path, capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MASKLET_SHARED", str(shared))  # its eval row reads the TUD files
    assert main(["bench", "formats", "--boxes", "2000", "--mask-boxes", "300"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("mot-results", "mots", "cocovid", "yolo", "document alone", "eval TUD"))

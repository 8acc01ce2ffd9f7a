"""Malformed files raise ``FormatError`` naming file and line; failed writes leave no partial output."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.document import Document, Observation
from exporters import registry
from exporters.base import ExportError, FormatError, load_detections
from exporters.registry import LabelFormat, UnknownFormatError
from tracker.geometry import encode_mask
from tracker.video import VideoInfo

VIDEO = VideoInfo(Path("clip.mp4"), "clip", 10, 30.0, 64, 48)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, line, message", [
    ("1,1,1,2,3,4,1,1,1\n2,1,1,2,3,4,1,1\n", 2, "expected 9 fields like line 1, found 8"),
    ("1,1,1,2,3,4\n\n3,1,1,2,x,4\n", 3, "field 5 is not a number: 'x'"),
    ("1,1,1,2\n", 1, "expected at least 6 fields, found 4"),
    ("1,1,1,2,3,4\n1.5,2,1,2,3,4\n", 2, "frame must be an integer, not 1.5"),
    ("1,1,1,2,3,4\n2,1,1,2,3,4\n1,1,5,5,5,5\n", 3, "second row for id 1 in frame 1"),
])
def test_malformed_mot_names_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = _write(tmp_path, "gt.txt", text)
    with pytest.raises(FormatError) as error:
        registry.get("mot").read(path)
    assert str(error.value) == f"{path}:{line}: {message}"


def test_bad_json_names_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.json", '{\n  "videos": [],\n  "images": [,]\n}')
    with pytest.raises(FormatError, match=rf"^{path}:3: invalid json"):
        registry.get("cocovid").read(path)


def test_malformed_cocovid_annotation_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.json", '{"images": [{"id": 1, "frame_id": 0}], "annotations": '
                                      '[{"id": 7, "image_id": 1, "category_id": 1, "instance_id": 1, "bbox": [1, 2]}]}')
    with pytest.raises(FormatError, match=r"annotations\[0\] \(id 7\): bbox must be \[x, y, w, h\]"):
        registry.get("cocovid").read(path)


@pytest.mark.parametrize("text, line, message", [
    ("1 2001 2 4 4 abc\n1 2002 2 4\n", 2, "expected 6 space-separated fields, found 4"),
    ("1 2001 2 4 4 abc\n1 x 2 4 4 abc\n", 2, "not an integer: 'x'"),
    ("1 2001 2 4 4 4<\n1 2002 2 4 4 zzzzzzzzzz\n", 2, "mask counts are not a COCO RLE string"),
])
def test_malformed_mots_names_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = _write(tmp_path, "m.txt", text)
    with pytest.raises(FormatError) as error:
        registry.get("mots").read(path)
    assert str(error.value) == f"{path}:{line}: {message}"


def test_malformed_yolo_and_missing_image_size(tmp_path: Path) -> None:
    label = _write(tmp_path / "y" / "labels", "000001.txt", "0 0.5 0.5 0.1 0.1 3\n0 0.5 0.5 0.1\n")
    with pytest.raises(FormatError, match="YOLO boxes are relative to the image size"):
        registry.get("yolo").read(tmp_path / "y")
    with pytest.raises(FormatError, match=rf"^{label}:2: expected 6 fields like line 1, found 4"):
        registry.get("yolo").read(tmp_path / "y", image_size=(64, 48))


def test_malformed_cvat_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.xml", "<annotations>\n<track id='1' label='car'>\n<box frame='x'/></track>\n")
    with pytest.raises(FormatError, match=rf"^{path}:4: invalid xml"):
        registry.get("cvat").read(path)
    path.write_text("<annotations><track id='1' label='car'><box frame='0' xtl='1'/></track></annotations>")
    with pytest.raises(FormatError, match="track 1: <box .*> needs frame, xtl, ytl, xbr and ybr numbers"):
        registry.get("cvat").read(path)


def test_malformed_seqinfo_names_line(tmp_path: Path) -> None:
    _write(tmp_path / "seq", "seqinfo.ini", "[Sequence]\nname=x\nthis line is wrong\n")
    _write(tmp_path / "seq" / "gt", "gt.txt", "1,1,1,2,3,4,1,1,1\n")
    with pytest.raises(FormatError, match=r"seqinfo.ini:3: expected a \[section\] or a key=value line"):
        registry.get("mot").read(tmp_path / "seq")


def _document() -> Document:
    doc = Document.in_memory(VIDEO)
    doc.add_observations([Observation(frame=f, track_id=1, box=(1.0, 2.0, 3.0, 4.0),
                                      mask=encode_mask(np.ones((48, 64), bool))) for f in range(5)])
    return doc


@pytest.mark.parametrize("name, out", [("mot", "seq"), ("mot-results", "r.txt"), ("mots", "m.txt"),
                                       ("cocovid", "c.json"), ("yolo", "y"), ("cvat", "a.xml")])
def test_a_write_failing_midway_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, out: str
) -> None:
    real_write_text = Path.write_text

    def fail_halfway(self: Path, data: str, *args: object, **kwargs: object) -> int:
        real_write_text(self, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", fail_halfway)
    with pytest.raises(ExportError, match="cannot write \\(disk full\\)"):  # one line, no traceback
        registry.get(name).write(_document(), tmp_path / out, class_map={"*": "pedestrian"})
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "m.txt"
    target.write_text("previous\n")
    doc = _document()
    doc.add_observations([Observation(frame=0, track_id=1000, box=(1, 1, 2, 2), mask=encode_mask(np.ones((48, 64))))])
    with pytest.raises(ExportError, match="tracks \\[1000\\] cannot be written"):
        registry.get("mots").write(doc, target, class_map={"*": "pedestrian"})
    assert target.read_text() == "previous\n" and [p.name for p in tmp_path.iterdir()] == ["m.txt"]


def test_writing_into_an_existing_sequence_folder_keeps_other_files(tmp_path: Path) -> None:
    image = _write(tmp_path / "seq" / "img1", "000001.jpg", "jpeg")
    registry.get("mot").write(_document(), tmp_path / "seq")
    assert image.read_text() == "jpeg" and (tmp_path / "seq" / "gt" / "gt.txt").read_text().count("\n") == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seq"]


@pytest.mark.parametrize("name", registry.names())
def test_every_format_is_a_label_format_whose_write_checks_the_output_folder(name: str, tmp_path: Path) -> None:
    label_format = registry.get(name)
    assert isinstance(label_format, LabelFormat)
    with pytest.raises(ExportError, match="does not exist"):
        label_format.write(_document(), tmp_path / "missing" / f"out{label_format.OUTPUT_SUFFIX}")
    report = label_format.write(_document(), tmp_path / f"out{label_format.OUTPUT_SUFFIX}", class_map={"*": "car"})
    assert report.format == name and report.boxes == 5


def test_registry_names_get_and_guess(shared_data: Path, tmp_path: Path) -> None:
    assert registry.names() == ["mot", "mot-results", "mots", "cocovid", "yolo", "cvat"]
    for name in registry.names():
        module = registry.get(name)
        assert module.NAME == name and module.DESCRIPTION
    with pytest.raises(UnknownFormatError, match="unknown format 'csv'"):
        registry.get("csv")
    assert registry.guess_format(shared_data / "tud" / "TUD-Campus" / "test.txt") == "mot-results"
    assert registry.guess_format(shared_data / "highway" / "gt.txt") == "mot"
    assert registry.guess_format(shared_data / "tao-sample" / "tao_ann.json") == "cocovid"
    registry.get("mots").write(_document(), tmp_path / "m.txt", class_map={"*": "car"})
    registry.get("yolo").write(_document(), tmp_path / "y")
    assert registry.guess_format(tmp_path / "m.txt") == "mots" and registry.guess_format(tmp_path / "y") == "yolo"
    with pytest.raises(UnknownFormatError, match="cannot tell the label format"):
        registry.guess_format(_write(tmp_path, "x.csv", "a"))


def test_yolo_without_track_ids_gives_detections(tmp_path: Path) -> None:
    _write(tmp_path / "y" / "labels", "000003.txt", "0 0.5 0.5 0.25 0.5\n1 0.25 0.25 0.1 0.1\n")
    _write(tmp_path / "y", "data.yaml", "names: [person, car]\n")
    doc = registry.get("yolo").read(tmp_path / "y", image_size=(64, 48))
    detections = load_detections(doc)
    assert doc.tracks() == [] and detections is not None and detections.frame.tolist() == [2, 2]
    assert detections.xywh[0].tolist() == [24.0, 12.0, 16.0, 24.0]
    assert [doc.categories()[c] for c in detections.cls.tolist()] == ["person", "car"]

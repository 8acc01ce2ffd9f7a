"""The catalogue of bad input, as case families: each case is refused with exit code 2 and one line naming the
file (and line or key), no traceback, nothing written; one number in a file never makes memory grow with it."""
from __future__ import annotations

import json
import sqlite3
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.document import Document, Observation
from tracker.engine_options import EngineOptions
from tracker.video import VideoInfo

from .conftest import Outcome, assert_one_line, leftovers, run_child, run_cli

W, H, N = 64, 48, 20
VIDEO = VideoInfo(Path("/videos/clip.mp4"), "clip", N, 25.0, W, H)


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 20-frame 64×48 video file."""
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (W, H))
    for index in range(N):
        writer.write(np.full((H, W, 3), 10 * index, np.uint8))
    writer.release()
    return path


def _coco(annotation: dict | None = None, image: dict | None = None, video: dict | None = None) -> str:
    data = {
        "videos": [{"id": 1, "name": "clip", "width": W, "height": H, **(video or {})}],
        "images": [{"id": 1, "video_id": 1, "frame_id": 0, "width": W, "height": H, **(image or {})}],
        "annotations": [{"id": 1, "image_id": 1, "video_id": 1, "instance_id": 1, "category_id": 1,
                         "bbox": [1, 2, 10, 8], **(annotation or {})}],
        "categories": [{"id": 1, "name": "car"}],
    }
    return json.dumps(data)


def _cvat(stop: str = "19", frame: str = "0", coordinate: str = "1", visibility: str = "1") -> str:
    return (f'<?xml version="1.0"?><annotations><version>1.1</version><meta><task><stop_frame>{stop}</stop_frame>'
            f"<original_size><width>{W}</width><height>{H}</height></original_size></task></meta>"
            f'<track id="1" label="car"><box frame="{frame}" outside="0" occluded="0" keyframe="1" xtl="{coordinate}" '
            f'ytl="2" xbr="11" ybr="10"><attribute name="visibility">{visibility}</attribute></box></track></annotations>')


GOOD_MOT = "1,1,1,2,10,8,1,1,1\n"
# (case id, {relative path: content}, the file the message names, what it says)
LABELS: list[tuple[str, dict[str, str | bytes], str, str]] = [
    ("coco-null-in-polygon", {"l.json": _coco({"segmentation": [[None, 1, 10, 1, 10, 10]]})}, "l.json", "polygon"),
    ("coco-huge-polygon", {"l.json": _coco({"segmentation": [[0, 0, 1e12, 0, 1e12, 1e12]]})}, "l.json", "polygon"),
    ("coco-odd-polygon", {"l.json": _coco({"segmentation": [[0, 0, 10, 0, 10]]})}, "l.json", "polygon"),
    ("coco-integer-segmentation", {"l.json": _coco({"segmentation": 5})}, "l.json", "segmentation"),
    ("coco-string-segmentation", {"l.json": _coco({"segmentation": "abc"})}, "l.json", "segmentation"),
    ("coco-rle-huge-size", {"l.json": _coco({"segmentation": {"size": [10**9, 10**9], "counts": "0"}})},
     "l.json", "mask size"),
    ("coco-rle-negative-counts", {"l.json": _coco({"segmentation": {"size": [H, W], "counts": [-1, 5]}})},
     "l.json", "segmentation counts"),
    ("coco-rle-wrong-sum", {"l.json": _coco({"segmentation": {"size": [H, W], "counts": [1, 5]}})},
     "l.json", "do not describe"),
    ("coco-nan-box", {"l.json": _coco({"bbox": [float("nan"), 2, 10, 8]})}, "l.json", "bbox"),
    ("coco-inf-box", {"l.json": _coco({"bbox": [float("inf"), 2, 10, 8]})}, "l.json", "bbox"),
    ("coco-list-id", {"l.json": _coco({"instance_id": [1]})}, "l.json", "instance_id"),
    ("coco-list-image-id", {"l.json": _coco(image={"id": [1]})}, "l.json", "images[0]"),
    ("coco-object-fps", {"l.json": _coco(video={"fps": {}})}, "l.json", "frame rate"),
    ("coco-text-width", {"l.json": _coco(image={"width": "text"})}, "l.json", "width"),
    ("coco-text-score", {"l.json": _coco({"score": "high"})}, "l.json", "score"),
    ("coco-list-score", {"l.json": _coco({"score": [1]})}, "l.json", "score"),
    ("coco-frame-1e9", {"l.json": _coco(image={"frame_id": 10**9})}, "l.json", "too large"),
    ("coco-not-json", {"l.json": b"\x89PNG\r\n\x1a\n\x00\x00"}, "l.json", "cannot read"),
    ("mot-nan", {"gt.txt": "1,1,nan,2,10,8,1,1,1\n"}, "gt.txt:1", "finite"),
    ("mot-inf", {"gt.txt": GOOD_MOT + "2,1,1,inf,10,8,1,1,1\n"}, "gt.txt:2", "finite"),
    ("mot-frame-1e9", {"gt.txt": GOOD_MOT + "1000000000,1,1,2,10,8,1,1,1\n"}, "gt.txt:2", "too large"),
    ("mot-frame-1e15", {"gt.txt": "1000000000000000,1,1,2,10,8,1,1,1\n"}, "gt.txt:1", "too large"),
    ("mot-binary", {"gt.txt": b"1,1,1,2,10,8,1,1,1\n\xff\xfe\x00\x01,\x02\n"}, "gt.txt", "gt.txt"),
    ("seqinfo-binary", {"gt/gt.txt": GOOD_MOT, "seqinfo.ini": b"\xff\xfe[Sequence]\x00\x9c"}, "seqinfo.ini",
     "not a text file"),
    ("seqinfo-length-1e9", {"gt/gt.txt": GOOD_MOT, "seqinfo.ini": "[Sequence]\nseqLength=1000000000\nimWidth=64\n"
                                                                   "imHeight=48\n"}, "seqinfo.ini", "frame count"),
    ("seqinfo-negative-size", {"gt/gt.txt": GOOD_MOT, "seqinfo.ini": "[Sequence]\nseqLength=20\nimWidth=-64\n"
                                                                       "imHeight=48\n"}, "seqinfo.ini", "image size"),
    ("mots-huge-size", {"m.txt": "1 2001 2 100000000 100000000 4<\n"}, "m.txt:1", "mask size"),
    ("mots-negative-size", {"m.txt": "1 2001 2 -4 4 4<\n"}, "m.txt:1", "not positive"),
    ("mots-overflow", {"m.txt": "1 2001 2 99999999999999999999999 4 4<\n"}, "m.txt:1", "too large"),
    ("mots-frame-1e9", {"m.txt": "1000000000 2001 2 4 4 4<\n"}, "m.txt:1", "too large"),
    ("yolo-string-names", {"y/data.yaml": "names: {car: 0}\n", "y/labels/000001.txt": "0 0.5 0.5 0.1 0.1\n"},
     "data.yaml", "names"),
    ("yolo-null-names", {"y/data.yaml": "names: {null: car}\n", "y/labels/000001.txt": "0 0.5 0.5 0.1 0.1\n"},
     "data.yaml", "names"),
    ("yolo-binary-yaml", {"y/data.yaml": b"\xff\xd8\xff\xe0\x00\x10JFIF", "y/labels/000001.txt": "0 .5 .5 .1 .1\n"},
     "data.yaml", "not a text file"),
    ("yolo-frame-1e9", {"y/labels/1000000000.txt": "0 0.5 0.5 0.1 0.1\n"}, "labels", "too large"),
    ("yolo-nan", {"y/labels/000001.txt": "0 nan 0.5 0.1 0.1\n"}, "000001.txt:1", "finite"),
    ("cvat-stop-1e9", {"c.xml": _cvat(stop="1000000000")}, "c.xml", "stop_frame"),
    ("cvat-frame-1e9", {"c.xml": _cvat(frame="1000000000")}, "c.xml", "frame"),
    ("cvat-nan", {"c.xml": _cvat(coordinate="nan")}, "c.xml", "numbers"),
    ("cvat-text-visibility", {"c.xml": _cvat(visibility="high")}, "c.xml", "visibility"),
]
FORMAT_OF = {"l.json": "cocovid", "gt.txt": "mot", "gt/gt.txt": "mot", "m.txt": "mots", "c.xml": "cvat"}


def _write(root: Path, files: dict[str, str | bytes]) -> tuple[Path, str]:
    """Write the case's files; the labels to read and their format."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    first = next(iter(files))
    if first.startswith("y/"):
        return root / "y", "yolo"
    if first == "gt/gt.txt":
        return root, "mot"
    return root / first, FORMAT_OF[first]


@pytest.mark.parametrize("files, names, says", [case[1:] for case in LABELS], ids=[case[0] for case in LABELS])
def test_convert_refuses_hostile_labels(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                        files: dict[str, str | bytes], names: str, says: str) -> None:
    labels, fmt = _write(tmp_path / "in", files)
    out = tmp_path / "out.txt"
    line = assert_one_line(run_cli(capsys, "convert", labels, out, "--from", fmt, "--to", "mot-results",
                                   "--image-size", f"{W}x{H}"), names)
    assert says in line
    assert not out.exists() and not leftovers(tmp_path)


@pytest.mark.parametrize("files, names, says", [case[1:] for case in LABELS if case[0].startswith(("coco", "mot-"))],
                         ids=[case[0] for case in LABELS if case[0].startswith(("coco", "mot-"))])
def test_import_refuses_hostile_labels(capsys: pytest.CaptureFixture[str], tmp_path: Path, video: Path,
                                       files: dict[str, str | bytes], names: str, says: str) -> None:
    labels, fmt = _write(tmp_path / "in", files)
    project = tmp_path / "p.masklet"
    assert_one_line(run_cli(capsys, "import", labels, "--format", fmt, "--video", video, "-o", project), names)
    assert not project.exists() and not leftovers(tmp_path)


def test_malformed_coco_polygon_in_a_child_process(tmp_path: Path, video: Path) -> None:
    """The case that made pycocotools crash the process (signal 11): exit 2 and one line."""
    labels, _ = _write(tmp_path, {"l.json": _coco({"segmentation": [[None, 1, 10, 1, 10, 10]]})})
    assert_one_line(run_child("import", labels, "--video", video, "-o", tmp_path / "p.masklet"), labels)
    assert_one_line(run_child("convert", labels, tmp_path / "out.txt", "--to", "mots"), labels)


# --------------------------------------------------------------------------- one number never takes the memory
def _peak_mib(action: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        action()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak / 2**20


@pytest.mark.parametrize("gt", ["1000000000,1,1,2,10,8,1,1,1\n", "999999999999,1,1,2,10,8,1,1,1\n"])
def test_a_huge_frame_number_is_refused_without_allocating_for_it(capsys: pytest.CaptureFixture[str],
                                                                  tmp_path: Path, gt: str) -> None:
    (tmp_path / "gt.txt").write_text("1,1,1,2,10,8,1,1,1\n" + gt)
    outcomes: list[Outcome] = []
    for target in ("cocovid", "yolo", "cvat"):
        peak = _peak_mib(lambda: outcomes.append(run_cli(capsys, "convert", tmp_path / "gt.txt", tmp_path / "out",
                                                         "--to", target, "--image-size", "64x48")))
        assert_one_line(outcomes[-1], "gt.txt:2", "too large")
        assert peak < 32, f"{peak:.0f} MiB allocated for one row"
    peak = _peak_mib(lambda: outcomes.append(run_cli(capsys, "eval", "--gt", tmp_path / "gt.txt", "--pred",
                                                     tmp_path / "gt.txt")))
    assert_one_line(outcomes[-1], "gt.txt:2")
    assert peak < 32


def test_export_end_far_past_the_video_writes_the_video(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    project = tmp_path / "p.masklet"
    with Document.create(project, VIDEO) as doc:
        doc.add_observations([Observation(frame=3, track_id=1, box=(1.0, 2.0, 10.0, 8.0))])
    peak = _peak_mib(lambda: run_cli(capsys, "export", project, "--format", "cocovid", "-o", tmp_path / "c.json",
                                     "--end", 10**12))
    assert peak < 32
    assert len(json.loads((tmp_path / "c.json").read_text())["images"]) == N


# --------------------------------------------------------------------------- damaged projects
def _damage(path: Path, sql: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.executescript(sql)


def _corrupt_page(path: Path) -> None:
    data = bytearray(path.read_bytes())
    page = 4096
    data[2 * page: 3 * page] = b"\xa5" * page  # a B-tree page of the tables, not the header
    path.write_bytes(bytes(data))


DAMAGES: list[tuple[str, Callable[[Path], None], str]] = [
    ("text-schema-version", lambda p: _damage(p, "UPDATE schema_version SET version = 'one'"), "schema version"),
    ("negative-schema-version", lambda p: _damage(p, "UPDATE schema_version SET version = -3"), "schema version"),
    ("meta-not-json", lambda p: _damage(p, "UPDATE meta SET value = '{not json' WHERE key = 'video'"), "meta 'video'"),
    ("video-meta-without-path", lambda p: _damage(p, "UPDATE meta SET value = '{\"name\": \"x\"}' WHERE key = 'video'"),
     "damaged project"),
    ("tracking-meta-without-keys", lambda p: _damage(p, "UPDATE meta SET value = '{}' WHERE key = 'tracking'"),
     "meta 'tracking'"),
    ("no-observations-table", lambda p: _damage(p, "DROP TABLE observations"), "observations"),
    ("text-in-a-number-column", lambda p: _damage(p, "UPDATE observations SET x = 'left' WHERE frame = 1"),
     "damaged project"),
    ("unknown-state", lambda p: _damage(p, "UPDATE observations SET state = 99"), "damaged project"),
    ("corrupt-page", _corrupt_page, "damaged project"),
    ("truncated", lambda p: p.write_bytes(p.read_bytes()[:3000]), "project"),
]


@pytest.fixture
def tracked_project(tmp_path: Path, video: Path) -> Path:
    """A project as ``masklet track`` leaves it (engine, progress, boxes over 12 of the video's frames)."""
    from app.tracking_run import TrackingRun
    from tracker.results import FrameResult, TrackedObject

    detections = tmp_path / "det.txt"
    detections.write_text("".join(f"{f},-1,1,2,10,8,0.9,-1,-1,-1\n" for f in range(1, N + 1)))
    path = tmp_path / "p.masklet"
    with Document.create(path, VideoInfo(video, "clip", N, 25.0, W, H)) as doc:
        run = TrackingRun.begin(doc, EngineOptions("bytetrack", detector=str(detections)), 0, N)
        for frame in range(12):
            run = run.record(doc, FrameResult(frame, [TrackedObject(t, (t, 2.0, 10.0, 8.0), score=0.9)
                                                      for t in range(1, 13)]))
    return path


@pytest.mark.parametrize("damage, says", [case[1:] for case in DAMAGES], ids=[case[0] for case in DAMAGES])
def test_damaged_projects_are_named_not_crashed_on(capsys: pytest.CaptureFixture[str], tmp_path: Path, video: Path,
                                                   tracked_project: Path, damage: Callable[[Path], None],
                                                   says: str) -> None:
    damage(tracked_project)
    refused = 0
    for command in (("info", tracked_project), ("export", tracked_project, "-f", "mot-results", "-o", tmp_path / "o.txt"),
                    ("eval", "--gt", tracked_project, "--pred", tracked_project),
                    ("track", video, "-o", tracked_project, "--resume")):
        outcome = run_cli(capsys, *command)
        if outcome.code == 0:  # a damage this command does not read (info does not read every observation)
            continue
        line = assert_one_line(outcome, tracked_project)
        assert says in line or "not a Masklet project" in line, line
        refused += 1
        if command[0] == "export":
            assert not (tmp_path / "o.txt").exists()
    assert refused  # at least the commands that read what is damaged

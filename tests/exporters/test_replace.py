"""Exports replace what a previous export wrote, never mix with it; temporary files of killed runs go away."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from app.document import Document, Observation
from exporters import registry
from exporters.base import ExportError, atomic_dir
from tracker.files import TEMP_SUFFIX, host_name, is_temp_name, remove_leftovers, temp_path
from tracker.video import VideoInfo

ROOT = Path(__file__).resolve().parents[2]
VIDEO = VideoInfo(Path("/videos/clip.mp4"), "clip", 50, 25.0, 64, 48)


def _doc(frames: range, track_id: int = 1) -> Document:
    doc = Document.in_memory(VIDEO)
    doc.add_observations(Observation(frame=f, track_id=track_id, box=(1.0, 2.0, 10.0, 8.0)) for f in frames)
    return doc


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_yolo_export_twice_into_one_folder_leaves_only_the_second(tmp_path: Path) -> None:
    out = tmp_path / "yolo"
    registry.get("yolo").write(_doc(range(0, 6)), out)
    assert len(list((out / "labels").iterdir())) == 6
    report = registry.get("yolo").write(_doc(range(10, 12), track_id=7), out)
    assert report.boxes == 2
    assert _files(out) == ["data.yaml", "images", "labels", "labels/000011.txt", "labels/000012.txt", "track_ids",
                           "track_ids/000011.txt", "track_ids/000012.txt"]
    read = registry.get("yolo").read(out, Document.in_memory(VIDEO))
    assert read.observation_count() == 2 and [t.id for t in read.tracks()] == [7]
    assert not [p for p in tmp_path.rglob("*") if is_temp_name(p.name)]


def test_mot_export_into_a_sequence_folder_keeps_its_images(tmp_path: Path) -> None:
    sequence = tmp_path / "seq"
    (sequence / "img1").mkdir(parents=True)
    (sequence / "img1" / "000001.jpg").write_bytes(b"jpeg")
    (sequence / "gt").mkdir()
    (sequence / "gt" / "old-notes.txt").write_text("from an earlier export")
    registry.get("mot").write(_doc(range(3)), sequence)
    assert _files(sequence) == ["gt", "gt/gt.txt", "gt/labels.txt", "img1", "img1/000001.jpg", "seqinfo.ini"]
    assert (sequence / "img1" / "000001.jpg").read_bytes() == b"jpeg"


def test_a_failed_export_changes_nothing_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    registry.get("yolo").write(_doc(range(3)), out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(RuntimeError), atomic_dir(out) as temp:
        (temp / "labels").mkdir()
        raise RuntimeError("writer failed")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_output_folder_blocked_by_a_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("not a folder")
    with pytest.raises(ExportError, match="a file is in the way"):
        registry.get("yolo").write(_doc(range(3)), tmp_path / "out")


def test_leftovers_of_dead_processes_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    target = tmp_path / "gt.txt"
    dead = tmp_path / f".gt.txt.{host_name()}-{_dead_pid()}-0a1b2c3d{TEMP_SUFFIX}"
    dead.mkdir()
    (dead / "labels.txt").write_text("partial")
    journal = Path(f"{tmp_path / f'.gt.txt.{host_name()}-{_dead_pid()}-00ff00ff{TEMP_SUFFIX}'}-journal")
    journal.write_text("j")
    live = temp_path(target)  # this process: alive
    live.write_text("in progress")
    elsewhere = tmp_path / f".gt.txt.otherhost-{_dead_pid()}-12345678{TEMP_SUFFIX}"
    elsewhere.write_text("another machine's, cannot tell")
    other = tmp_path / f".other.txt.{host_name()}-{_dead_pid()}-12345678{TEMP_SUFFIX}"
    other.write_text("another destination's")
    assert remove_leftovers(target) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, elsewhere.name, other.name])


def test_kill_9_mid_export_then_a_new_export_leaves_no_leftovers(tmp_path: Path) -> None:
    """A YOLO export killed while it writes its label files; the next export to the same folder removes the
    killed run's temporary folder and writes only its own files."""
    project, out, marker = tmp_path / "p.masklet", tmp_path / "yolo", tmp_path / "writing"
    with Document.create(project, VIDEO) as doc:
        doc.add_observations(Observation(frame=f, track_id=1, box=(1.0, 2.0, 10.0, 8.0)) for f in range(40))
    script = textwrap.dedent(f"""
        import pathlib, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from app.cli import main
        write_text = pathlib.Path.write_text
        def slow_write(self, *args, **kwargs):
            write_text(self, *args, **kwargs)
            if self.name == "000010.txt":  # some label files are written: stop here until killed
                pathlib.Path({str(marker)!r}).touch()
                time.sleep(60)
        pathlib.Path.write_text = slow_write
        main(["export", {str(project)!r}, "--format", "yolo", "-o", {str(out)!r}])
    """)
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the export did not start writing"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    leftovers = [p for p in tmp_path.iterdir() if is_temp_name(p.name)]
    assert len(leftovers) == 1 and (leftovers[0] / "labels" / "000010.txt").is_file()  # what kill -9 leaves
    assert not out.exists()  # never mistaken for output
    code = subprocess.run([sys.executable, "-m", "app.cli", "export", str(project), "--format", "yolo", "-o",
                           str(out), "--end", "5"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert code.returncode == 0, code.stderr
    assert not [p for p in tmp_path.rglob("*") if is_temp_name(p.name)]
    assert _files(out) == ["data.yaml", "images", "labels", *(f"labels/{f:06d}.txt" for f in range(1, 6)),
                           "track_ids", *(f"track_ids/{f:06d}.txt" for f in range(1, 6))]

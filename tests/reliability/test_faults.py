"""Faults of the machine, not of the input: full disks and read-only folders for every command that writes, a
tracking run that cannot commit, unexpected errors; and extremes that must simply work (one-frame videos,
unicode and long paths)."""
from __future__ import annotations

import json
import shlex
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.document import Document, Observation
from tracker.video import VideoInfo

from .conftest import (
    FILLER,
    Outcome,
    assert_one_line,
    can_mount,
    file_size_limit,
    in_read_only_folder,
    leftovers,
    masklet_command,
    on_full_disk,
    run_child,
    run_cli,
    run_script,
)

W, H = 64, 48
FULL_DISK = ["tmpfs", "file-size-limit"]
WRITERS = ["mot", "mot-results", "cocovid", "yolo", "cvat"]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose every export is larger than a 64 KiB disk (3000 boxes)."""
    path = tmp_path_factory.mktemp("project") / "p.masklet"
    with Document.create(path, VideoInfo(Path("/videos/clip.mp4"), "clip", 300, 25.0, W, H)) as doc:
        doc.add_observations(Observation(frame=f, track_id=t, box=(t + 0.25, 2.5, 10.0, 8.0))
                             for f in range(300) for t in range(1, 11))
    return path


@pytest.fixture(scope="module")
def labels(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's boxes as a MOT results file (for import, convert and eval)."""
    from exporters import registry

    path = tmp_path_factory.mktemp("labels") / "boxes.txt"
    with Document.open(project, read_only=True) as doc:
        registry.get("mot-results").write(doc, path)
    return path


def _video(path: Path, frames: int) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (W, H))
    for index in range(frames):
        writer.write(np.full((H, W, 3), 40 + 10 * index, np.uint8))
    writer.release()
    return path


def _on_full_disk(kind: str, folder: Path, *args: object, filled: bool = False) -> Outcome:
    """``masklet ARGS`` writing into ``folder`` when it cannot hold the output: a 64 KiB tmpfs, or a 64 KiB
    limit on every file the process writes (SQLite's shared-memory file takes 32 KiB)."""
    if kind == "tmpfs":
        if not can_mount():
            pytest.skip("no tmpfs can be mounted here")
        return on_full_disk(folder, *args, filled=filled)
    folder.mkdir(exist_ok=True)
    return run_child(*args, preexec_fn=file_size_limit(64 * 1024))


# --------------------------------------------------------------------------- full disks
@pytest.mark.parametrize("kind", FULL_DISK)
@pytest.mark.parametrize("fmt", WRITERS)
def test_export_onto_a_full_disk(tmp_path: Path, project: Path, kind: str, fmt: str) -> None:
    if kind == "file-size-limit" and fmt == "yolo":
        pytest.skip("a limit per file cannot stop YOLO's many small files")
    folder = tmp_path / "disk"
    out = folder / "out"
    line = assert_one_line(_on_full_disk(kind, folder, "export", project, "-f", fmt, "-o", out), out)
    assert "disk full" in line or "file too large" in line, line
    if kind == "file-size-limit":
        assert not out.exists() and not leftovers(folder)
    else:  # what the tmpfs held when the command ended
        assert not folder.with_name("disk.listing").read_text().strip()


@pytest.mark.parametrize("kind", FULL_DISK)
def test_import_convert_and_eval_onto_a_full_disk(tmp_path: Path, labels: Path, kind: str) -> None:
    video = _video(tmp_path / "clip.mp4", 3)
    folder = tmp_path / "disk"
    for args, named in (
        (("import", labels, "--video", video, "-o", folder / "p.masklet"), folder / "p.masklet"),
        (("convert", labels, folder / "c.json", "--to", "cocovid", "--image-size", "64x48"), folder / "c.json"),
        (("eval", "--gt", labels, "--pred", labels, "--json", folder / "m.json"), folder / "m.json"),
    ):
        outcome = _on_full_disk(kind, folder, *args, filled=True)
        if args[0] == "eval" and kind == "file-size-limit":  # metrics fit in 64 KiB: written
            assert outcome.code == 0 and json.loads(named.read_text())["sequences"]["boxes"]["HOTA"] == 1
            continue
        assert_one_line(outcome, named)
        if kind == "tmpfs":
            assert folder.with_name("disk.listing").read_text().split() == [FILLER]
        else:
            assert not named.exists() and not leftovers(folder)


def test_a_tracking_run_that_cannot_commit_stops_and_resumes(tmp_path: Path, shared_data: Path) -> None:
    """The disk fills during ``track``: it stops with one line saying how many frames are saved; once there is
    room, ``--resume`` finishes the run exactly as an uninterrupted one."""
    video, detections = shared_data / "highway" / "highway.mp4", shared_data / "highway" / "det.txt"
    track = ("track", video, "--engine", "bytetrack", "--detector", detections, "--end", 40)
    reference = tmp_path / "full.txt"
    assert run_child(*track, "-o", tmp_path / "full.masklet", "--export", f"mot-results:{reference}").code == 0
    resumed = tmp_path / "resumed.txt"
    if can_mount():
        disk = tmp_path / "disk"
        disk.mkdir()
        project = disk / "p.masklet"
        result = run_script(
            f"mount -t tmpfs -o size=192k tmpfs {disk} || exit 99; "
            f"{shlex.join(masklet_command(*track, '-o', project))} 2> {tmp_path / 'err.txt'}; echo $? > {tmp_path / 'code'}; "
            f"mount -o remount,size=8m {disk} && "
            + shlex.join(masklet_command("track", video, "-o", project, "--resume", "--export",
                                         f"mot-results:{resumed}")))
        assert result.returncode == 0, result.stderr
        code, stderr = int((tmp_path / "code").read_text()), (tmp_path / "err.txt").read_text()
    else:
        project = tmp_path / "p.masklet"
        stopped = run_child(*track, "-o", project, preexec_fn=file_size_limit(160 * 1024))
        code, stderr = stopped.code, stopped.stderr
        assert run_child("track", video, "-o", project, "--resume", "--export", f"mot-results:{resumed}").code == 0
    line = assert_one_line(type("Outcome", (), {"code": code, "stderr": stderr})(), project, "disk full")  # type: ignore[arg-type]
    assert "frames (0.." in line and "use --resume" in line, line
    assert resumed.read_bytes() == reference.read_bytes()


# --------------------------------------------------------------------------- read-only folders
@pytest.mark.parametrize("fmt", WRITERS)
def test_export_into_a_read_only_folder(tmp_path: Path, project: Path, fmt: str) -> None:
    folder = tmp_path / "ro"
    line = assert_one_line(in_read_only_folder(folder, "export", project, "-f", fmt, "-o", folder / "out"), folder)
    assert "cannot be written" in line or "read-only" in line, line
    assert not list(folder.iterdir())


def test_import_convert_eval_and_track_into_a_read_only_folder(tmp_path: Path, labels: Path, shared_data: Path) -> None:
    video = _video(tmp_path / "clip.mp4", 3)
    folder = tmp_path / "ro"
    for args in (
        ("import", labels, "--video", video, "-o", folder / "p.masklet"),
        ("convert", labels, folder / "c.json", "--to", "cocovid", "--image-size", "64x48"),
        ("eval", "--gt", labels, "--pred", labels, "--json", folder / "m.json"),
        ("track", video, "--engine", "bytetrack", "--detector", shared_data / "highway" / "det.txt",
         "-o", folder / "t.masklet"),
        ("track", video, "--engine", "bytetrack", "--detector", shared_data / "highway" / "det.txt",
         "-o", tmp_path / "t.masklet", "--export", f"mot:{folder / 'seq'}"),
    ):
        assert_one_line(in_read_only_folder(folder, *args), folder)
        assert not list(folder.iterdir())
    assert not (tmp_path / "t.masklet").exists()  # --export is checked before tracking starts


# --------------------------------------------------------------------------- unexpected errors
def test_an_unexpected_error_is_one_line_and_a_logged_traceback(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 _error_log: Path) -> None:
    import app.commands.info as info

    def broken(path: Path) -> str:
        raise RuntimeError("a bug")

    monkeypatch.setattr(info, "describe_video", broken)
    outcome = run_cli(capsys, "info", tmp_path / "clip.mp4")
    log = _error_log / "masklet.log"
    assert outcome.code == 1 and outcome.stderr.count("\n") == 1 and "Traceback" not in outcome.stderr
    assert f"details in {log}" in outcome.stderr
    assert "Traceback" in log.read_text() and "RuntimeError: a bug" in log.read_text()


# --------------------------------------------------------------------------- extremes that work
def test_a_one_frame_video_is_tracked(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    video = _video(tmp_path / "one.mp4", 1)
    detections = tmp_path / "det.txt"
    detections.write_text("1,-1,10,10,20,16,0.9,-1,-1,-1\n")
    outcome = run_cli(capsys, "track", video, "--engine", "bytetrack", "--detector", detections, "-o",
                      tmp_path / "one.masklet", "--export", f"mot-results:{tmp_path / 'one.txt'}")
    assert outcome.code == 0, outcome.stderr
    assert "claims" not in outcome.stderr
    assert (tmp_path / "one.txt").read_text().startswith("1,1,10,10,20,16,")


@pytest.mark.parametrize("name", ["données 映像 🎞", "x" * 200])
def test_unicode_and_long_paths(capsys: pytest.CaptureFixture[str], tmp_path: Path, labels: Path, name: str) -> None:
    folder = tmp_path / name
    folder.mkdir()
    video = _video(folder / f"{name[:40]}.mp4", 3)
    project = folder / f"{name}.masklet"
    assert run_cli(capsys, "import", labels, "--video", video, "-o", project).code == 0
    for fmt in WRITERS:
        out = folder / f"{name}.{fmt}"
        outcome = run_cli(capsys, "export", project, "-f", fmt, "-o", out)
        assert outcome.code == 0, outcome.stderr
        assert out.exists() and not leftovers(folder)
    assert "observations: 3000" in run_cli(capsys, "info", project).stdout

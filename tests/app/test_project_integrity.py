"""One writer per project (CLI×CLI, GUI×CLI), readers always; read-only projects open; files that are not
projects are refused untouched."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from app.document import Document, DocumentError, Observation
from app.gui.project import open_project
from app.project_lock import ProjectLockedError, ReadOnlyProjectError, lock_path
from tracker.files import host_name, is_temp_name
from tracker.video import VideoInfo

ROOT = Path(__file__).resolve().parents[2]
VIDEO = VideoInfo(Path("/videos/clip.mp4"), "clip", 20, 25.0, 64, 48)
HOLDER = "process {pid} on {host} since "


def _masklet(*args: str | Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a refused command (exit 2, no traceback)."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("masklet: error: "), result.stderr
    return lines[0]


def _project(path: Path, frames: int = 3) -> Path:
    with Document.create(path, VIDEO) as doc:
        doc.add_observations(Observation(frame=f, track_id=1, box=(1.0, 2.0, 10.0, 8.0)) for f in range(frames))
    return path


def _hold(project: Path, ready: Path) -> subprocess.Popen:
    """Another process that opens ``project`` for writing and keeps it open until killed."""
    script = textwrap.dedent(f"""
        import pathlib, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from app.document import Document
        doc = Document.open({str(project)!r})
        pathlib.Path({str(ready)!r}).touch()
        time.sleep(120)
    """)
    process = subprocess.Popen([sys.executable, "-c", script])
    _wait_for(ready, process)
    return process


def _wait_for(marker: Path, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the other process did not get ready"


def _kill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# --------------------------------------------------------------------------- the write lock
def test_a_second_writer_in_this_process_is_refused_and_readers_are_not(tmp_path: Path) -> None:
    path = _project(tmp_path / "p.masklet")
    with Document.open(path) as writer:
        with pytest.raises(ProjectLockedError, match=HOLDER.format(pid=os.getpid(), host=host_name())):
            Document.open(path)
        with pytest.raises(ProjectLockedError):
            Document.in_memory(VIDEO).save_as(path, overwrite=True)
        writer.add_observations([Observation(frame=5, track_id=2, box=(0.0, 0.0, 4.0, 4.0))])
        with Document.open(path, read_only=True) as reader:  # readers are always allowed, and see commits
            assert reader.observation_count() == 4
            with pytest.raises(DocumentError, match="opened read-only"):
                reader.add_track(9)
    with Document.open(path) as writer:  # released on close
        assert writer.observation_count() == 4
    assert not lock_path(path).exists()


def test_gui_session_and_cli_writer_exclude_each_other(shared_data: Path, tmp_path: Path) -> None:
    """GUI×CLI: while the app's session writes a project, CLI writers exit 2 naming it and CLI readers work;
    while another process writes it, the app opens it read-only and says who writes it."""
    path = _project(tmp_path / "p.masklet")
    labels, video = tmp_path / "gt.txt", shared_data / "highway" / "highway.mp4"
    labels.write_text("1,1,1,2,10,8,1,1,1\n")
    session = open_project(path)
    try:
        assert session.read_only_reason is None and not session.doc.read_only
        line = _one_line_error(_masklet("import", labels, "--format", "mot", "--classes", "mot17", "--video", video,
                                        "-o", path, "--overwrite"))
        assert f"{path}: being written by {HOLDER.format(pid=os.getpid(), host=host_name())}" in line
        line = _one_line_error(_masklet("track", video, "-o", path, "--resume"))
        assert HOLDER.format(pid=os.getpid(), host=host_name()) in line
        assert _masklet("info", path).returncode == 0
        assert session.doc.observation_count() == 3
    finally:
        session.close()
    holder = _hold(path, tmp_path / "ready")
    try:
        session = open_project(path)
        try:
            assert session.doc.read_only
            assert HOLDER.format(pid=holder.pid, host=host_name()) in session.read_only_reason
            with pytest.raises(DocumentError, match="read-only"):
                session.doc.add_track(5)
        finally:
            session.close()
    finally:
        _kill(holder)


def test_a_killed_writers_lock_is_taken_over(tmp_path: Path) -> None:
    path = _project(tmp_path / "p.masklet")
    holder = _hold(path, tmp_path / "ready")
    with pytest.raises(ProjectLockedError, match=f"process {holder.pid} "):
        Document.open(path)
    _kill(holder)
    assert json.loads(lock_path(path).read_text())["pid"] == holder.pid  # the dead holder's sidecar stays
    with Document.open(path) as doc:
        assert json.loads(lock_path(path).read_text())["pid"] == os.getpid()
        assert doc.observation_count() == 3


def test_two_concurrent_track_runs_the_second_exits_2_naming_the_first(shared_data: Path, tmp_path: Path) -> None:
    """CLI×CLI: ``masklet track`` writing a project; a second ``track --resume`` on it exits 2 naming the
    first; the project then equals a single uninterrupted run."""
    highway = shared_data / "highway"
    run = ["track", highway / "highway.mp4", "--engine", "bytetrack", "--detector", highway / "det.txt",
           "--device", "cpu", "--end", "25"]
    project, started, hold = tmp_path / "p.masklet", tmp_path / "started", tmp_path / "hold"
    hold.touch()
    script = textwrap.dedent(f"""
        import pathlib, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from app import tracking_run
        from app.cli import main
        record = tracking_run.TrackingRun.record
        def held_record(self, doc, result, state=None):  # the run is still going, however slow the second one starts
            pathlib.Path({str(started)!r}).touch()
            deadline = time.monotonic() + 120
            while pathlib.Path({str(hold)!r}).exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            return record(self, doc, result, state)
        tracking_run.TrackingRun.record = held_record
        sys.exit(main({[str(a) for a in [*run, "-o", project]]!r}))
    """)
    first = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(started, first)
        line = _one_line_error(_masklet("track", highway / "highway.mp4", "-o", project, "--resume"))
        assert HOLDER.format(pid=first.pid, host=host_name()) in line
        hold.unlink()
        assert first.wait(timeout=180) == 0, first.stderr.read()
    finally:
        if first.poll() is None:
            _kill(first)
    single = tmp_path / "single.masklet"
    assert _masklet(*run, "-o", single).returncode == 0
    with Document.open(project, read_only=True) as doc, Document.open(single, read_only=True) as reference:
        assert list(doc.iter_observations()) == list(reference.iter_observations())
        assert doc.events() == reference.events() and doc.tracks() == reference.tracks()


def test_two_concurrent_imports_to_one_path_one_wins_the_other_exits_2(shared_data: Path, tmp_path: Path) -> None:
    highway = shared_data / "highway"
    command = [sys.executable, "-m", "app.cli", "import", str(highway / "gt.txt"), "--video",
               str(highway / "highway.mp4"), "-o", str(tmp_path / "p.masklet")]
    processes = [subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                 for _ in range(2)]
    results = [(p.wait(timeout=180), p.stderr.read()) for p in processes]
    assert sorted(code for code, _ in results) == [0, 2], results
    assert all("Traceback" not in err for _, err in results)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.masklet"]
    with Document.open(tmp_path / "p.masklet", read_only=True) as doc:
        assert doc.observation_count() == 1704


# --------------------------------------------------------------------------- files that are not projects
@pytest.mark.parametrize("kind", ["empty", "foreign"])
def test_a_file_that_is_not_a_project_is_refused_untouched(shared_data: Path, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "x.masklet"
    if kind == "empty":
        path.touch()
    else:
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE people (name TEXT)")
            conn.execute("INSERT INTO people VALUES ('ada')")
        conn.close()
    before = _snapshot(tmp_path)
    for command in (["info", path], ["export", path, "--format", "mot", "-o", tmp_path / "out"],
                    ["track", shared_data / "highway" / "highway.mp4", "-o", path, "--resume"]):
        assert "not a Masklet project" in _one_line_error(_masklet(*command))
    with pytest.raises(DocumentError, match="not a Masklet project"):
        Document.open(path)
    assert _snapshot(tmp_path) == before  # byte-identical, no sidecar files, no output


# --------------------------------------------------------------------------- read-only folders and media
def _read_only_runner(folder: Path) -> list[str] | None:
    """A command prefix that runs a command with ``folder`` mounted read-only (a private mount namespace),
    or None where that is impossible."""
    script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"'
    prefix = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, str(folder)]
    try:
        probe = subprocess.run([*prefix, "sh", "-c", f"! touch {str(folder / 'probe')!r} 2>/dev/null"],
                               capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return prefix if probe.returncode == 0 and not (folder / "probe").exists() else None


def test_a_project_on_a_read_only_mount_opens_for_info_export_and_eval(shared_data: Path, tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    path = _project(media / "p.masklet", frames=4)
    runner = _read_only_runner(media)
    if runner is None:
        if os.geteuid() == 0:
            pytest.skip("no read-only mount possible here (unshare refused) and root ignores permissions")
        media.chmod(0o555)
        path.chmod(0o444)
        runner = []
    before = _snapshot(media)
    try:
        def masklet(*args: str | Path) -> subprocess.CompletedProcess[str]:
            return subprocess.run([*runner, sys.executable, "-m", "app.cli", *map(str, args)], cwd=ROOT,
                                  capture_output=True, text=True, timeout=180)

        info = masklet("info", path)
        assert info.returncode == 0, info.stderr
        assert "observations: 4 (frames 0–3)" in info.stdout
        exported = masklet("export", path, "--format", "mot-results", "-o", tmp_path / "r.txt")
        assert exported.returncode == 0, exported.stderr
        assert len((tmp_path / "r.txt").read_text().splitlines()) == 4
        evaluated = masklet("eval", "--gt", path, "--pred", tmp_path / "r.txt")
        assert evaluated.returncode == 0, evaluated.stderr
        highway = shared_data / "highway"
        assert "read-only here" in _one_line_error(masklet("track", highway / "highway.mp4", "-o", path,
                                                           "--resume"))
        assert "read-only here" in _one_line_error(masklet("track", highway / "highway.mp4", "--engine",
                                                           "bytetrack", "--detector", highway / "det.txt",
                                                           "-o", media / "new.masklet"))
    finally:
        media.chmod(0o755)
    assert _snapshot(media) == before


def test_a_read_only_project_opens_read_only_in_the_app_session(tmp_path: Path, monkeypatch) -> None:
    path = _project(tmp_path / "p.masklet")
    monkeypatch.setattr("app.project_file._writable", lambda p: False)  # as on a read-only medium
    with pytest.raises(ReadOnlyProjectError, match="read-only here"):
        Document.open(path)
    session = open_project(path)
    try:
        assert session.doc.read_only and "read-only here" in session.read_only_reason
        assert session.doc.observation_count() == 3
    finally:
        session.close()


def test_temporary_names_are_recognisable() -> None:
    assert is_temp_name(f".p.masklet.{host_name()}-12-0a0b0c0d.masklet-tmp-journal")
    assert not is_temp_name("p.masklet") and not is_temp_name(".hidden")

"""The ``masklet`` command line: help everywhere, ``info``, one-line errors with exit code 2."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import build_parser, main
from tracker.video import VideoInfo
from app.document import Document, Observation


def _masklet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, timeout=120)


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert {"open", "info", "import", "export", "convert", "eval", "track", "bench"} <= set(commands)
    for name in commands:
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0
        assert "usage: masklet " + name in capsys.readouterr().out


def test_info_video(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(shared_data / "highway" / "highway.mp4")]) == 0
    out = capsys.readouterr().out
    assert "249 frames" in out and "1280×720" in out


def test_info_mot_sequence_warns_about_seqinfo(shared_data: Path) -> None:
    proc = _masklet("info", str(shared_data / "mot17-mini" / "MOT17-04-FRCNN"))
    assert proc.returncode == 0
    assert "8 frames" in proc.stdout and "1920×1080" in proc.stdout
    assert "1050" in proc.stderr


def test_info_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.masklet"
    with Document.create(path, VideoInfo(Path("/v.mp4"), "v", 10, 25.0, 64, 48)) as doc:
        doc.add_observations(Observation(frame=f, track_id=t, box=(0, 0, 1, 1)) for f in range(3, 6) for t in (1, 2))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "tracks: 2" in out and "observations: 6 (frames 3–5)" in out


@pytest.mark.parametrize("name", ["missing.mp4", "missing.masklet"])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, name: str) -> None:
    proc = _masklet("info", str(tmp_path / name))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and name in proc.stderr and "Traceback" not in proc.stderr

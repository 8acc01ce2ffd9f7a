"""Resume is exact for the detector engines: a run killed (SIGKILL) at a random frame and resumed exports the same
file as an uninterrupted run; the engine state is saved with each frame, in the same transaction."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.document import Document
from app.tracking_run import STATE_META, TrackingRun
from tracker.baselines import build
from tracker.video import VideoSource

ROOT = Path(__file__).resolve().parents[2]
FRAMES = 40


def _masklet(*args: object, **kwargs: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "app.cli", *map(str, args)], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def _finish(process: subprocess.Popen[str]) -> None:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err


def _saved_frames(project: Path) -> int:
    """How many frames a running track has committed (0 before its project exists)."""
    if not project.exists():
        return 0
    try:
        with Document.open(project, read_only=True) as doc:
            run = TrackingRun.load(doc)
            return 0 if run is None else run.next_frame - run.start
    except Exception:  # the project is being renamed into place
        return 0


@pytest.mark.parametrize("engine", ["bytetrack", "botsort"])
def test_engine_state_resumes_exactly(shared_data: Path, engine: str) -> None:
    """In one process: saving the state after frame k and loading it into a new engine continues exactly as the
    uninterrupted engine, where restoring from the stored boxes does not."""
    video, detections = shared_data / "highway" / "highway.mp4", shared_data / "highway" / "det.txt"
    with VideoSource.open(video) as source:
        full = list(build(engine, detections).run(source, 0, 30))
        first = build(engine, detections)
        head = list(first.run(source, 0, 12))
        resumed = build(engine, detections)
        resumed.load_state(first.save_state())
        assert head + list(resumed.run(source, 12, 30)) == full
        approximate = build(engine, detections)
        approximate.restore(11, source[11], head[-1].objects, first.next_id)
        assert list(approximate.run(source, 12, 30)) != full[12:]


def test_a_damaged_state_is_refused(shared_data: Path) -> None:
    engine = build("bytetrack", shared_data / "highway" / "det.txt")
    for state in (b"", b"not zlib", __import__("zlib").compress(b"cos\nsystem\n(S'true'\ntR.")):
        with pytest.raises(ValueError):
            engine.load_state(state)


def test_bytetrack_killed_at_a_random_frame_resumes_to_the_uninterrupted_export(shared_data: Path,
                                                                                tmp_path: Path) -> None:
    video, detections = shared_data / "highway" / "highway.mp4", shared_data / "highway" / "det.txt"
    common = ("track", video, "--engine", "bytetrack", "--detector", detections, "--end", FRAMES)
    reference = _masklet(*common, "-o", tmp_path / "full.masklet", "--export", f"mot-results:{tmp_path / 'full.txt'}")
    kill_at = random.Random(os.environ.get("PYTEST_SEED", "19")).randrange(2, FRAMES - 2)
    project = tmp_path / "part.masklet"
    process = _masklet(*common, "-o", project)
    deadline = time.monotonic() + 600
    while _saved_frames(project) < kill_at and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    saved = _saved_frames(project)
    assert 0 < saved < FRAMES, f"killed after {saved} frames"
    with Document.open(project, read_only=True) as doc:
        assert doc.get_meta(STATE_META)["frame"] == saved - 1  # the state of the last saved frame, saved with it
    _finish(_masklet("track", video, "-o", project, "--resume", "--export", f"mot-results:{tmp_path / 'part.txt'}"))
    _finish(reference)
    assert (tmp_path / "part.txt").read_bytes() == (tmp_path / "full.txt").read_bytes()

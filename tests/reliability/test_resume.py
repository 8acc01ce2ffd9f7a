"""Resume is exact for the detector engines (ByteTrack, BoT-SORT, SMOT, and any of them linked): a run stopped or
killed (SIGKILL) at a frame and resumed exports the same file as an uninterrupted run; the engine state is saved with
each frame, in the same transaction."""
from __future__ import annotations

import os
import pickle
import random
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from app.document import Document
from app.tracking_run import STATE_META, RestorePoint, TrackingRun
from exporters import mot_results
from tracker.baselines import build
from tracker.engine_options import EngineOptions
from tracker.engine_state import pack_state
from tracker.engines import build_engine
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
        full = list(build(EngineOptions(engine, detections)).run(source, 0, 30))
        first = build(EngineOptions(engine, detections))
        head = list(first.run(source, 0, 12))
        resumed = build(EngineOptions(engine, detections))
        resumed.load_state(first.save_state())
        assert head + list(resumed.run(source, 12, 30)) == full
        approximate = build(EngineOptions(engine, detections))
        approximate.restore(11, source[11], head[-1].objects, first.next_id)
        assert list(approximate.run(source, 12, 30)) != full[12:]


def test_a_damaged_state_is_refused(shared_data: Path) -> None:
    engine = build(EngineOptions("bytetrack", shared_data / "highway" / "det.txt"))
    for state in (b"", b"not zlib", __import__("zlib").compress(b"cos\nsystem\n(S'true'\ntR.")):
        with pytest.raises(ValueError):
            engine.load_state(state)


def _export(doc: Document, path: Path) -> bytes:
    mot_results.write(doc, path)
    return path.read_bytes()


@pytest.mark.parametrize(("engine", "link", "frames", "stop"), [
    ("smot", None, 38, 28),  # links at frames 33 and 36 to tracks that ended at frames 12 and 8
    ("bytetrack", True, 40, 32),  # links at frame 38
])
def test_linked_and_smot_runs_stopped_and_resumed_export_the_uninterrupted_run(
        openvino_detector_path: Path, shared_data: Path, tmp_path: Path, engine: str, link: bool | None, frames: int,
        stop: int) -> None:
    """TUD-Campus through SMOT (motion and linker on) and linked ByteTrack: a run stopped after frame ``stop - 1``
    and resumed by a new engine from the state saved with that frame (``TrackingRun.resume``, as ``masklet track
    --resume`` does) exports the uninterrupted run's MOT results row for row; restoring from the stored boxes
    (without the linker's embeddings of ended tracks, the flow's previous frame, the tracklets' classes) does not."""
    def new_engine() -> object:
        return build_engine(EngineOptions(engine, link=link, detector=openvino_detector_path, classes=["person"],
                                          device="cpu"))

    with (VideoSource.open(shared_data / "sequences" / "TUD-Campus") as source,
          Document.in_memory(source.info()) as full, Document.in_memory(source.info()) as stopped):
        uninterrupted, run_full = new_engine(), TrackingRun.begin(full, EngineOptions(engine), 0, frames)
        run_stopped = TrackingRun.begin(stopped, EngineOptions(engine), 0, frames)
        for result in uninterrupted.run(source, 0, frames):
            state = uninterrupted.save_state()
            run_full = run_full.record(full, result, state)
            if result.frame < stop:
                run_stopped = run_stopped.record(stopped, result, state)
        assert run_stopped.next_frame == stop
        resumed, results = new_engine(), []
        assert run_stopped.resume(stopped, resumed, source)  # from the saved state
        for result in resumed.run(source, stop, frames):
            run_stopped = run_stopped.record(stopped, result, resumed.save_state())
            results.append(result)
        assert _export(stopped, tmp_path / "resumed.txt") == _export(full, tmp_path / "full.txt")
        approximate = new_engine()
        RestorePoint.at(full, stop - 1).apply(approximate, source)
        assert [r.objects for r in approximate.run(source, stop, frames)] != [r.objects for r in results]
        with pytest.raises(ValueError):
            resumed.load_state(build(EngineOptions("bytetrack", shared_data / "highway" / "det.txt")).save_state())


class _Creates:
    """Pickled, a call creating a file: what a hostile project could hide in its saved engine state."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (open, (str(self.path), "w"))


@pytest.mark.parametrize(("engine", "link"), [("smot", None), ("bytetrack", True)])
def test_a_hostile_or_foreign_state_is_refused_and_leaves_the_engine_as_it_was(
        openvino_detector_path: Path, shared_data: Path, tmp_path: Path, engine: str, link: bool | None) -> None:
    """SMOT and a linked engine read their states with the restricted unpickler: a state that would create a file
    when unpickled (as plain ``pickle`` shows it does) is refused with ``ValueError``, outside or inside the linked
    engine's own state, and so is a damaged flow frame; the engine keeps what it had."""
    tracker = build_engine(EngineOptions(engine, link=link, detector=openvino_detector_path, classes=["person"],
                                         device="cpu"))
    with VideoSource.open(shared_data / "sequences" / "TUD-Campus") as source:
        list(tracker.run(source, 0, 2))
    before = tracker.save_state()
    marker = tmp_path / "created"
    hostile = zlib.compress(pickle.dumps({"tracklets": [], "next_id": 1, "previous": None, "x": _Creates(marker)}))
    pickle.loads(zlib.decompress(hostile))
    assert marker.exists()  # the payload is real
    marker.unlink()
    linker = tracker.linker.state()
    damaged_flow = pack_state({"tracklets": [], "next_id": 1, "previous": b"\x89PNG not an image"})
    for state in (hostile, pack_state({"engine": hostile, "linker": linker}), pack_state({"engine": damaged_flow,
                                                                                          "linker": linker})):
        with pytest.raises(ValueError):
            tracker.load_state(state)
        assert not marker.exists()
        assert tracker.save_state() == before


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

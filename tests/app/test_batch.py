"""``masklet batch``: inputs and names, the driver's retries, end-to-end runs on local worker processes (Ctrl-C,
a failing video, a rerun) and on a real Ray cluster on loopback (equal to single-machine results; a killed worker,
then a rerun that completes). Real data and the real OpenVINO detector; few frames per video."""
from __future__ import annotations

import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest

from app import batch
from app.batch import BatchError, Job, Outcome
from app.cli import main as masklet
from app.commands.batch import _Driver
from app.document import Document
from app.tracking_run import TrackingRun

ROOT = Path(__file__).resolve().parents[2]
END = 30
"""Frames per video in the end-to-end runs (``--end``)."""


def environment(**extra: str) -> dict[str, str]:
    """This process's environment with this tree first on ``PYTHONPATH`` (subprocesses run this code)."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def batch_command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "app.cli", "batch", *map(str, args)]


def run_batch(*args: str | Path, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(batch_command(*args), capture_output=True, text=True, timeout=timeout,
                          env=env or environment(), cwd=ROOT)


def wait_for_progress(outdir: Path, name: str, frames: int, process: subprocess.Popen, timeout: float = 240) -> dict:
    """The first progress report of job ``name`` with at least ``frames`` frames done."""
    path = outdir / ".batch" / "progress" / f"{name}.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            report = None
        if report is not None and report["done"] >= frames:
            return report
        time.sleep(0.1)
    raise AssertionError(f"no progress of {name} within {timeout} s")


def manifest(outdir: Path) -> dict[str, dict]:
    return {video["name"]: video for video in json.loads((outdir / "batch.json").read_text())["videos"]}


def saved_frames(project: Path) -> tuple[int, int]:
    """The tracking run's ``next_frame`` and ``end``."""
    with Document.open(project, read_only=True) as doc:
        run = TrackingRun.load(doc)
        assert run is not None
        return run.next_frame, run.stop


def assert_same_project(a: Path, b: Path, end: int | None = None) -> None:
    """The two projects hold the same observations (frames before ``end``) and the same tracks."""
    with Document.open(a, read_only=True) as one, Document.open(b, read_only=True) as two:
        first = one.observation_arrays(0, None if end is None else end - 1)
        second = two.observation_arrays(0, None if end is None else end - 1)
        assert len(first.frame) > 0
        for column in ("frame", "track_id", "box", "score", "visibility"):
            np.testing.assert_array_equal(getattr(first, column), getattr(second, column), err_msg=column)
        if end is None:
            assert [(t.id, t.category_id) for t in one.tracks()] == [(t.id, t.category_id) for t in two.tracks()]


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return path


def _options(detector: Path, *extra: str) -> list[str]:
    return ["--engine", "bytetrack", "--detector", str(detector), "--classes", "person", "--end", str(END), *extra]


def test_inputs_are_roots_lists_videos_and_folders_with_unique_stable_names(tmp_path: Path, shared_data: Path) -> None:
    root = tmp_path / "root"
    clips = [_touch(root / folder / "clip.mp4") for folder in ("a", "b")]
    sequence = _touch(root / "seqs" / "MOT-02" / "seqinfo.ini").parent
    _touch(sequence / "img1" / "000001.jpg")
    frames = _touch(root / "frames" / "0001.jpg").parent
    _touch(root / "notes.md")
    out = root / "out"
    _touch(out / "mot" / "MOT-02" / "seqinfo.ini")  # an earlier export inside the searched root

    videos = batch.find_videos([root], exclude=out.resolve())
    assert videos == [path.resolve() for path in (*clips, frames, sequence)]
    assert batch.project_names(videos) == ["a_clip", "b_clip", "frames", "MOT-02"]
    assert batch.project_names(videos[::-1]) == ["MOT-02", "frames", "b_clip", "a_clip"]

    listing = tmp_path / "videos.txt"
    listing.write_text(f"# a dataset root and a file relative to the list\n{shared_data / 'sequences'}\n"
                       "root/a/clip.mp4  # comment\n\n")
    assert [path.name for path in batch.find_videos([listing, clips[0]])] == [
        "davis-dance-twirl", "KITTI-17", "MOT16-11", "TUD-Campus", "TUD-Stadtmitte", "clip.mp4"]
    listing.write_text("root/missing.mp4\n")
    with pytest.raises(BatchError, match=r"videos\.txt:1: .*missing\.mp4: no such file or folder"):
        batch.find_videos([listing])
    (tmp_path / "empty").mkdir()
    with pytest.raises(BatchError, match="empty: no video files, image folders or sequences found"):
        batch.find_videos([tmp_path / "empty"])



def test_ray_missing_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what an installation without the cluster extra sees
    video = _touch(tmp_path / "clip.mp4")
    assert masklet(["batch", str(video), "-o", str(tmp_path / "out"), "--engine", "bytetrack", "--ray"]) == 2
    assert capsys.readouterr().err == (
        "masklet: error: --ray needs Ray, which is not installed: pip install 'masklet[cluster]'\n")

class _Lost(Exception):
    """What the test backend raises for a job whose worker died."""


class _DyingBackend:
    """Test double of a backend: job NAME loses its worker on its first ``deaths[NAME]`` runs, after reporting
    progress (it had started) unless it is in ``queued`` (it had not)."""

    def __init__(self, deaths: dict[str, int], queued: set[str] = frozenset()) -> None:
        self.deaths, self.queued = deaths, queued
        self.runs: dict[str, int] = {}

    def submit(self, job: Job, settings: object, control: Path) -> Future[Outcome]:
        self.runs[job.name] = self.runs.get(job.name, 0) + 1
        future: Future[Outcome] = Future()
        if self.runs[job.name] <= self.deaths.get(job.name, 0):
            if job.name not in self.queued:
                report = {"video": job.name, "worker": "host:1", "done": 3, "total": 9}
                (control / "progress" / f"{job.name}.json").write_text(json.dumps(report))
            future.set_exception(_Lost())
        else:
            future.set_result(Outcome(job.name, batch.DONE, frames=9))
        return future

    def lost(self, exc: BaseException) -> bool:
        return isinstance(exc, _Lost)


def test_a_job_whose_worker_died_runs_again_up_to_retries_times(tmp_path: Path) -> None:
    jobs = [Job(name, tmp_path / name, tmp_path / f"{name}.masklet") for name in ("once", "always", "queued")]
    backend = _DyingBackend({"once": 1, "always": 9, "queued": 3}, queued={"queued"})
    args = type("Args", (), {"retries": 2, "json_progress": False})()
    outcomes = _Driver(backend, None, tmp_path / ".batch", args).run(jobs)
    assert outcomes["once"].status == batch.DONE
    assert (outcomes["always"].status, outcomes["always"].error) == (
        batch.FAILED, "its worker process died 3 times (killed, or out of memory)")
    assert backend.runs == {"once": 2, "always": 3, "queued": 4}  # a job that had not started is not to blame
    assert outcomes["queued"].status == batch.DONE


def test_local_batch_stops_on_ctrl_c_continues_reports_failures_and_skips_finished_videos(
    tmp_path: Path, shared_data: Path, openvino_detector_path: Path
) -> None:
    campus, stadtmitte = (shared_data / "sequences" / name for name in ("TUD-Campus", "TUD-Stadtmitte"))
    broken = _touch(tmp_path / "broken.mp4")
    out = tmp_path / "out"
    options = _options(openvino_detector_path, "--export", "mot")

    # As from a terminal: a test runner started in the background has SIGINT ignored, which its children inherit.
    process = subprocess.Popen(batch_command(campus, stadtmitte, broken, "-o", out, *options), text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment(), cwd=ROOT,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        wait_for_progress(out, "TUD-Campus", 1, process)
        process.send_signal(signal.SIGINT)  # Ctrl-C: the worker stops after its current frame
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "interrupted: run the same command again to continue" in stdout
    saved, end = saved_frames(out / "TUD-Campus.masklet")
    assert 0 < saved < end == END

    result = run_batch(campus, stadtmitte, broken, "-o", out, *options, "--json-progress")
    assert result.returncode == 2, result.stderr
    assert saved_frames(out / "TUD-Campus.masklet") == (END, END)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    videos = {line["name"]: line for line in lines if line["event"] == "video"}
    assert videos["broken"]["status"] == "failed"
    assert videos["broken"]["error"] == f"{broken}: the file is empty (0 bytes)"
    assert f"failed: broken: {broken}: the file is empty (0 bytes)" in result.stderr.splitlines()
    assert [videos[name]["models_loaded"] for name in ("TUD-Campus", "TUD-Stadtmitte")] == [1, 0]  # one worker
    assert any(line["event"] == "progress" and line["workers"] for line in lines)
    assert lines[-1] == {"event": "summary", "counts": {"done": 2, "failed": 1}, "manifest": str(out / "batch.json")}
    assert manifest(out)["TUD-Stadtmitte"]["exports"] == {"mot": str(out / "mot" / "TUD-Stadtmitte")}
    assert (out / "mot" / "TUD-Stadtmitte" / "gt" / "gt.txt").is_file()
    alone = tmp_path / "alone.masklet"
    assert masklet(["track", str(stadtmitte), "-o", str(alone), *_options(openvino_detector_path)]) == 0
    assert_same_project(out / "TUD-Stadtmitte.masklet", alone)

    written = (out / "batch.json").read_bytes()
    result = run_batch(campus, stadtmitte, "-o", out, *options)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("nothing to do: all 2 videos are done")
    assert (out / "batch.json").read_bytes() == written


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}
"""The test cluster's environment, for its head and its drivers: Ray binds to the loopback address it is given
(not this machine's network address), and head and drivers share a token of their own (nothing in ~/.ray)."""


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A real Ray head node on 127.0.0.1 with 2 CPUs, its workers running this tree; its address."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("Ray is not installed (the cluster extra: pip install 'masklet[cluster]')")
    port = _free_port()
    temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # Ray's socket paths must stay short
    command = [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block",
               "--node-ip-address", "127.0.0.1", "--port", str(port), "--ray-client-server-port", str(_free_port()),
               "--num-cpus", "2", "--num-gpus", "0", "--include-dashboard", "false", "--disable-usage-stats",
               "--temp-dir", str(temp)]
    with open(temp / "head.log", "w") as log:
        head = subprocess.Popen(command, env=environment(**RAY_ENV), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert head.poll() is None, (temp / "head.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the Ray head did not start within 120 s"
                time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            try:
                os.killpg(head.pid, sig)
            except ProcessLookupError:
                break
            try:
                head.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
        subprocess.run(["rm", "-rf", str(temp)], check=False)


def test_ray_batch_equals_single_machine_and_a_rerun_completes_a_killed_workers_video(
    ray_cluster: str, tmp_path: Path, shared_data: Path, openvino_detector_path: Path
) -> None:
    videos = [shared_data / "sequences" / name for name in ("TUD-Campus", "TUD-Stadtmitte")]
    for video in videos:  # the single-machine results
        assert masklet(["track", str(video), "-o", str(tmp_path / f"{video.name}.masklet"),
                        *_options(openvino_detector_path)]) == 0
    out = tmp_path / "ray"
    command = [*videos, "-o", out, *_options(openvino_detector_path), "--ray", ray_cluster]
    env = environment(**RAY_ENV)

    process = subprocess.Popen(batch_command(*command, "--retries", "0"), text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env, cwd=ROOT)
    try:
        report = wait_for_progress(out, "TUD-Stadtmitte", 2, process)
        os.kill(int(report["worker"].rsplit(":", 1)[1]), signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=300)
    finally:
        process.kill()
    assert process.returncode == 2, stderr
    assert "failed: TUD-Stadtmitte: its worker process died (killed, or out of memory)" in stdout.splitlines()
    saved, _ = saved_frames(out / "TUD-Stadtmitte.masklet")
    assert 0 < saved < END
    assert_same_project(out / "TUD-Campus.masklet", tmp_path / "TUD-Campus.masklet")
    assert_same_project(out / "TUD-Stadtmitte.masklet", tmp_path / "TUD-Stadtmitte.masklet", end=saved)

    result = run_batch(*command, env=env)
    assert result.returncode == 0, result.stderr
    assert "1 done, 1 skipped" in result.stdout
    assert saved_frames(out / "TUD-Stadtmitte.masklet") == (END, END)
    assert_same_project(out / "TUD-Stadtmitte.masklet", tmp_path / "TUD-Stadtmitte.masklet", end=saved)
    assert manifest(out)["TUD-Stadtmitte"]["worker"] != report["worker"]

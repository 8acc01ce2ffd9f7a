"""Pre-labelling a dataset (``masklet batch``): the videos of the inputs, one job per video with a stable project
name, what a rerun still has to do, the job a worker process runs (``masklet track``'s code path, continuing what
a stopped or killed run left) and the two ways to run jobs: local worker processes or Ray tasks.

OUTDIR holds, for each video NAME, ``NAME.masklet`` and ``FMT/NAME[.ext]`` per ``--export FMT``; ``batch.json``,
the manifest; and while a batch runs ``.batch/``: ``progress/NAME.json`` (the worker of a running job, frames done
of total) and ``stop`` (the driver asks every worker to stop after its current frame). Workers write OUTDIR, so
on a cluster it is storage every node mounts at the same path. No Qt here.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import multiprocessing
import os
import signal
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.document import PROJECT_SUFFIX, Document
from app.tracking_run import TrackingRun
from tracker import model_cache
from tracker.engine_options import SAM2_ENGINES
from tracker.errors import MaskletError
from tracker.files import host_name, remove
from tracker.video import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, natural_key

_log = logging.getLogger(__name__)

DONE, SKIPPED, FAILED, INTERRUPTED = "done", "skipped", "failed", "interrupted"
"""A job's outcome: tracked (and exported) now, already complete before, failed, stopped."""
MANIFEST = "batch.json"
CONTROL = ".batch"
PROGRESS_INTERVAL = 0.5
"""Seconds between a worker's progress reports (and its checks for a stop request)."""


class BatchError(MaskletError):
    """A batch cannot start: an input that does not exist, no videos found, no Ray, …"""


@dataclass(frozen=True)
class Job:
    """One video to track into ``project`` and export to each ``(format, path)``."""

    name: str
    video: Path
    project: Path
    exports: tuple[tuple[str, Path], ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What became of a job. ``frames`` and ``tracks``: what its project holds; ``seconds``: this run's time;
    ``worker``: ``host:pid`` of the process that ran it; ``models_loaded``: models it had to load (0 when its
    worker process had them from an earlier job)."""

    name: str
    status: str
    frames: int = 0
    tracks: int = 0
    seconds: float = 0.0
    error: str | None = None
    worker: str | None = None
    models_loaded: int = 0


# --------------------------------------------------------------------------------------------- inputs and jobs
def find_videos(inputs: Sequence[Path], exclude: Path | None = None) -> list[Path]:
    """The videos the inputs name, absolute, each once, in order. A file is a video, except a ``.txt``: a list of
    paths (one a line, relative to the list, ``#`` comments). A folder holding ``seqinfo.ini`` or images is one
    video; any other folder is a dataset root searched for such folders and video files (``exclude`` skipped)."""
    found: list[Path] = []
    for path in inputs:
        if path.suffix == ".txt" and path.is_file():
            for where, entry in _list_entries(path):
                try:
                    found += _expand(entry, exclude)
                except BatchError as exc:
                    raise BatchError(f"{where}: {exc}") from None
        else:
            found += _expand(path, exclude)
    videos = list(dict.fromkeys(path.resolve() for path in found))
    if not videos:
        raise BatchError(f"{', '.join(map(str, inputs))}: no video files, image folders or sequences found")
    return videos


def _list_entries(listing: Path) -> list[tuple[str, Path]]:
    entries = []
    for number, line in enumerate(listing.read_text(encoding="utf-8").splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if text:
            entries.append((f"{listing}:{number}", listing.parent / Path(text).expanduser()))
    return entries


def _expand(path: Path, exclude: Path | None) -> list[Path]:
    if not path.exists():
        raise BatchError(f"{path}: no such file or folder")
    if not path.is_dir() or _is_video_folder(path):
        return [path]
    videos = []
    for entry in sorted(path.iterdir(), key=lambda entry: natural_key(entry.name)):
        if entry.name.startswith(".") or (exclude is not None and entry.resolve() == exclude):
            continue
        if entry.is_dir():
            videos += _expand(entry, exclude)
        elif entry.suffix.lower() in VIDEO_EXTENSIONS:
            videos.append(entry)
    return videos


def _is_video_folder(folder: Path) -> bool:
    """A MOTChallenge sequence or an image folder (what ``VideoSource.open`` reads)."""
    return (folder / "seqinfo.ini").is_file() or any(
        entry.suffix.lower() in IMAGE_EXTENSIONS and entry.is_file() for entry in folder.iterdir()
    )


def project_names(videos: Sequence[Path]) -> list[str]:
    """A file name for each video's project: its name (without suffix), prefixed by as many parent folders as
    tell apart videos of the same name. The same inputs always give the same names."""
    depth = [0] * len(videos)
    while True:
        names = [_name(video, d) for video, d in zip(videos, depth)]
        counts = Counter(names)
        clashes = [i for i, name in enumerate(names) if counts[name] > 1]
        if not clashes:
            return names
        for i in clashes:
            depth[i] += 1


def _name(video: Path, depth: int) -> str:
    """The video's name with ``depth`` parent folders; with all of them, also a hash of the path."""
    parts = [*video.parent.parts[1:], video.stem if video.is_file() else video.name]
    name = "_".join("".join(c if c.isalnum() or c in "-." else "_" for c in part) for part in parts[-1 - depth:])
    return name if depth < len(parts) else f"{name}-{hashlib.sha1(str(video).encode()).hexdigest()[:8]}"


def make_jobs(videos: Sequence[Path], outdir: Path, formats: Sequence[str]) -> list[Job]:
    """One job per video, its project and exports under ``outdir``."""
    from exporters import registry

    suffixes = {fmt: registry.get(fmt).OUTPUT_SUFFIX for fmt in formats}
    return [
        Job(name, video, outdir / f"{name}{PROJECT_SUFFIX}",
            tuple((fmt, outdir / fmt / f"{name}{suffix}") for fmt, suffix in suffixes.items()))
        for name, video in zip(project_names(videos), videos)
    ]


def track_args(job: Job, settings: argparse.Namespace) -> argparse.Namespace:
    """``masklet track``'s arguments for a job: the engine ``settings``; ``--resume`` when its project exists."""
    exports = [f"{fmt}:{path}" for fmt, path in job.exports]
    return argparse.Namespace(**vars(settings), video=job.video, output=job.project, export=exports,
                              resume=job.project.exists())


def finished(job: Job, settings: argparse.Namespace) -> Outcome | None:
    """The outcome of a job with nothing left to do (its project tracked to the end with ``settings``, every
    export written); None when there is. ``MaskletError`` when its project cannot continue with ``settings``."""
    from app.commands.track import resume_plan

    if not job.project.exists():
        return None
    with Document.open(job.project, read_only=True) as doc:
        tracking, _ = resume_plan(track_args(job, settings), doc)
        if tracking.next_frame < tracking.stop or not all(path.exists() for _, path in job.exports):
            return None
        return Outcome(job.name, SKIPPED, tracking.next_frame - tracking.start, len(doc.tracks()))


def _project_counts(project: Path) -> tuple[int, int]:
    """Frames tracked and tracks in a project (zeros when there is none yet)."""
    if not project.is_file():
        return 0, 0
    with Document.open(project, read_only=True) as doc:
        tracking = TrackingRun.load(doc)
        return (0 if tracking is None else tracking.next_frame - tracking.start), len(doc.tracks())


# --------------------------------------------------------------------------------------------- worker side
def worker_id() -> str:
    return f"{host_name()}:{os.getpid()}"


class Reporter:
    """A worker's reports on its job, through ``control`` (the batch's ``.batch`` folder): its progress in
    ``progress/NAME.json`` (after the first frame, then at most every ``PROGRESS_INTERVAL`` seconds) and, after
    every frame, the driver's stop request, which raises ``KeyboardInterrupt`` in the frame loop: ``masklet
    track`` handles it as Ctrl-C (every finished frame is kept)."""

    def __init__(self, control: Path, name: str) -> None:
        self.stop_file = control / "stop"
        self.path = control / "progress" / f"{name}.json"
        self.name = name
        self._last: float | None = None
        self._write(0, None)

    def stop_requested(self) -> bool:
        return self.stop_file.exists()

    def __call__(self, tracking: TrackingRun) -> None:
        now = time.monotonic()
        if self._last is None or now - self._last >= PROGRESS_INTERVAL:
            self._last = now
            self._write(tracking.next_frame - tracking.start, tracking.stop - tracking.start)
        if self.stop_requested():
            raise KeyboardInterrupt

    def _write(self, done: int, total: int | None) -> None:
        from exporters.base import write_text

        write_text(self.path, json.dumps({"video": self.name, "worker": worker_id(), "done": done, "total": total}))

    def close(self) -> None:
        remove(self.path)


def run_job(job: Job, settings: argparse.Namespace, control: Path) -> Outcome:
    """Track one video in this worker process with ``masklet track``'s code (a new project, or the existing one
    continued). Models stay loaded for the process's next jobs. Errors become a failed outcome (one line)."""
    from app.cli import EXIT_INTERRUPTED
    from app.commands import track

    model_cache.keep_loaded()
    loads, begin = model_cache.loads, time.perf_counter()
    reporter = Reporter(control, job.name)
    error = None
    try:
        if reporter.stop_requested():
            status = INTERRUPTED
        else:
            status = INTERRUPTED if track.run(track_args(job, settings), on_frame=reporter) == EXIT_INTERRUPTED else DONE
    except MaskletError as exc:
        status, error = FAILED, str(exc)
    except Exception as exc:  # out of memory, a bug: this video fails, the others go on
        _log.exception("%s: tracking failed", job.video)
        status, error = FAILED, one_line(exc)
    finally:
        reporter.close()
    frames, tracks = _project_counts(job.project)
    seconds = round(time.perf_counter() - begin, 3)
    return Outcome(job.name, status, frames, tracks, seconds, error, worker_id(), model_cache.loads - loads)


def one_line(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    message = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def read_progress(control: Path) -> list[dict[str, Any]]:
    """The progress reports of the jobs running now."""
    reports = []
    for path in sorted((control / "progress").glob("*.json")):
        try:
            reports.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):  # the job just ended
            continue
    return reports


# --------------------------------------------------------------------------------------------- backends
class LocalBackend:
    """``workers`` processes on this machine. Ctrl-C reaches only the driver, which stops them through the
    stop file; their output goes to stderr; a pool broken by a killed worker is replaced at the next ``submit``."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.description = f"{workers} worker process{'es' if workers > 1 else ''} on this machine"
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        threads = max(1, (os.cpu_count() or 1) // self.workers)
        return ProcessPoolExecutor(self.workers, multiprocessing.get_context("spawn"),
                                   initializer=_start_local_worker, initargs=(threads,))

    def submit(self, job: Job, settings: argparse.Namespace, control: Path) -> Future[Outcome]:
        try:
            return self._pool.submit(run_job, job, settings, control)
        except BrokenProcessPool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._start()
            return self._pool.submit(run_job, job, settings, control)

    def lost(self, exc: BaseException) -> bool:
        """Whether ``exc`` says the job's worker process died."""
        return isinstance(exc, BrokenProcessPool)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _start_local_worker(threads: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.dup2(2, 1)  # what libraries print goes to stderr: stdout is the driver's (--json-progress)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))  # before torch is imported: workers share the cores


class RayBackend:
    """Each job a Ray task on the cluster at ``address`` (None: ``RAY_ADDRESS`` or a new local instance).
    A task asks for ``cpus`` CPUs and ``gpus`` GPUs (None: one for SAM2 engines when the cluster has GPUs).
    Worker processes run task after task (``max_calls=0``), so their models stay loaded; a task whose worker
    dies is not retried by Ray but by the driver, like a local one."""

    def __init__(self, address: str | None, engine: str, gpus: float | None, cpus: float) -> None:
        try:
            import ray
        except ImportError:
            raise BatchError("--ray needs Ray, which is not installed: pip install 'masklet[cluster]'") from None
        self._ray = ray
        try:
            ray.init(address=address, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise BatchError(f"--ray {address or '(local)'}: cannot reach or start a Ray cluster: {one_line(exc)}") from None
        resources = ray.cluster_resources()
        if gpus is None:
            gpus = 1 if engine in SAM2_ENGINES and resources.get("GPU", 0) >= 1 else 0
        self._task = ray.remote(num_cpus=cpus, num_gpus=gpus, max_calls=0, max_retries=0)(run_job)
        self.description = (f"Ray cluster of {resources.get('CPU', 0):g} CPUs and {resources.get('GPU', 0):g} GPUs, "
                            f"{cpus:g} CPU and {gpus:g} GPU per video")

    def submit(self, job: Job, settings: argparse.Namespace, control: Path) -> Future[Outcome]:
        return self._task.remote(job, settings, control).future()

    def lost(self, exc: BaseException) -> bool:
        errors = self._ray.exceptions
        return isinstance(exc, (errors.WorkerCrashedError, errors.NodeDiedError, errors.OutOfMemoryError,
                                errors.LocalRayletDiedError))

    def close(self) -> None:
        self._ray.shutdown()

"""``masklet batch INPUTS… -o OUTDIR --engine E``: pre-label every video of a dataset, one project each.

Each video runs ``masklet track``'s code in a worker process, local (``--workers N``) or a Ray task (``--ray``);
the driver here plans what is left, submits the jobs, retries jobs whose worker died, shows progress and writes
the summary and the manifest (``app.batch`` holds the jobs, the worker side and the backends).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from app import batch
from app.batch import DONE, FAILED, INTERRUPTED, SKIPPED, Job, Outcome
from app.commands.track import add_engine_arguments, given_options
from tracker.engine_options import EngineOptions
from tracker.errors import MaskletError
from tracker.files import remove

POLL_SECONDS = 0.5
STOP_TIMEOUT = 120.0
"""Seconds Ctrl-C waits for workers to finish their current frame before the driver quits anyway."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="pre-label many videos (one project each), resumable, on local processes or a Ray cluster",
        description="Track every video of INPUTS into OUTDIR/NAME.masklet (NAME: the video's name, with parent "
        "folders where names repeat) and export it to OUTDIR/FMT/NAME. A rerun skips finished videos and continues "
        "stopped ones; a failed video does not stop the others. Exit 0 when every video succeeded, 2 otherwise, "
        "130 after Ctrl-C (which stops after the current frames).",
    )
    parser.add_argument(
        "inputs", nargs="+", type=Path, metavar="INPUT",
        help="video file, image folder, MOTChallenge sequence, dataset root (every video and sequence under it) "
        "or a .txt list of such paths",
    )
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR",
                        help="folder for projects, exports and the manifest batch.json (shared storage with --ray)")
    parser.add_argument("--export", action="append", default=[], metavar="FMT",
                        help="also export each project in this format to OUTDIR/FMT/ (repeatable)")
    add_engine_arguments(parser, engine_help="tracking engine (required)")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="worker processes on this machine (default: 1; ignored with --ray)")
    parser.add_argument(
        "--ray", nargs="?", const="", metavar="ADDRESS",
        help="run each video as a Ray task: on the cluster at ADDRESS (auto, HOST:PORT, ray://HOST:10001), "
        "or without ADDRESS on RAY_ADDRESS's cluster or a new local one (needs masklet[cluster])",
    )
    parser.add_argument("--gpus-per-task", type=float, metavar="G",
                        help="--ray: GPUs per video, fractions allowed (default: 1 for SAM2 engines on a cluster "
                        "with GPUs, else 0)")
    parser.add_argument("--cpus-per-task", type=float, default=1, metavar="C", help="--ray: CPUs per video (default: 1)")
    parser.add_argument("--retries", type=int, default=2, metavar="N",
                        help="runs more for a video whose worker process died (killed, out of memory); default: 2")
    parser.add_argument("--json-progress", action="store_true",
                        help="progress, each finished video and the summary as JSON lines on stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.project_lock import ProjectLock
    from exporters import registry

    if args.engine is None:
        raise MaskletError("batch: --engine is required")
    if args.workers < 1 or args.retries < 0:
        raise MaskletError("batch: --workers must be at least 1 and --retries at least 0")
    formats = list(dict.fromkeys(args.export))
    for fmt in formats:
        registry.get(fmt)
    outdir = args.output.resolve()
    if outdir.exists() and not outdir.is_dir():
        raise MaskletError(f"{args.output}: not a folder")
    videos = batch.find_videos(args.inputs, exclude=outdir)
    settings = _engine_settings(args)
    EngineOptions(args.engine, **given_options(settings))  # a bad option fails once, not once per video
    jobs = batch.make_jobs(videos, outdir, formats)
    for path in (outdir, *(outdir / fmt for fmt in formats)):
        path.mkdir(parents=True, exist_ok=True)
    manifest = outdir / batch.MANIFEST
    lock = ProjectLock.acquire(manifest)  # one batch per OUTDIR at a time
    try:
        return _run_locked(args, settings, jobs, manifest)
    finally:
        lock.release()


def _run_locked(args: argparse.Namespace, settings: argparse.Namespace, jobs: list[Job], manifest: Path) -> int:
    from app.cli import EXIT_INTERRUPTED, EXIT_USER_ERROR

    outcomes: dict[str, Outcome] = {}
    todo = []
    for job in jobs:
        try:
            outcome = batch.finished(job, settings)
        except MaskletError as exc:
            outcome = Outcome(job.name, FAILED, error=str(exc))
        if outcome is None:
            todo.append(job)
        else:
            outcomes[job.name] = outcome
    out = sys.stderr if args.json_progress else sys.stdout
    if not todo and all(outcome.status == SKIPPED for outcome in outcomes.values()):
        print(f"nothing to do: all {len(jobs)} videos are done in {manifest.parent} (see {manifest})", file=out)
        return 0
    if todo:
        backend = _backend(args)
        print(f"masklet batch: {len(todo)} of {len(jobs)} videos to track ({len(jobs) - len(todo)} done or "
              f"refused), {backend.description}", file=sys.stderr)
        control = manifest.parent / batch.CONTROL
        try:
            outcomes.update(_Driver(backend, settings, control, args).run(todo))
        finally:
            backend.close()
            remove(control)
    ordered = [outcomes[job.name] for job in jobs]
    _write_manifest(manifest, args, jobs, ordered)
    _print_summary(ordered, manifest, out)
    statuses = Counter(outcome.status for outcome in ordered)
    if args.json_progress:
        _emit({"event": "summary", "counts": dict(statuses), "manifest": str(manifest)})
    return EXIT_INTERRUPTED if statuses[INTERRUPTED] else EXIT_USER_ERROR if statuses[FAILED] else 0


def _engine_settings(args: argparse.Namespace) -> argparse.Namespace:
    """The engine options ``masklet track`` takes, from ``args``; model paths absolute (workers run elsewhere)."""
    parser = argparse.ArgumentParser(add_help=False)
    add_engine_arguments(parser, engine_help="")
    settings = {key: getattr(args, key) for key in vars(parser.parse_args([]))}
    for key in ("detector", "sam2"):
        if settings[key] is not None and Path(settings[key]).exists():
            settings[key] = str(Path(settings[key]).resolve())
    return argparse.Namespace(**settings)


def _backend(args: argparse.Namespace) -> batch.LocalBackend | batch.RayBackend:
    if args.ray is None:
        return batch.LocalBackend(args.workers)
    return batch.RayBackend(args.ray or None, args.engine, args.gpus_per_task, args.cpus_per_task)


class _Driver:
    """Submits the jobs, collects their outcomes (a job whose worker died runs again, up to ``--retries``
    times), shows progress, and on Ctrl-C asks the workers to stop after their current frame."""

    def __init__(self, backend: Any, settings: argparse.Namespace, control: Path, args: argparse.Namespace) -> None:
        self.backend, self.settings, self.control, self.retries = backend, settings, control, args.retries
        self.json_progress = args.json_progress
        self.deaths: Counter[str] = Counter()

    def run(self, jobs: list[Job]) -> dict[str, Outcome]:
        """Run ``jobs``; the control folder stays (with the stop request) until the caller closed the backend."""
        remove(self.control)
        (self.control / "progress").mkdir(parents=True)
        self.display = _Display(len(jobs), self.json_progress)
        self.pending: dict[Future[Outcome], Job] = {}
        self.outcomes: dict[str, Outcome] = {}
        queued, deadline = list(jobs), None
        try:
            while (queued or self.pending) and (deadline is None or time.monotonic() < deadline):
                try:
                    while queued and deadline is None:
                        self.pending[self.backend.submit(queued[0], self.settings, self.control)] = queued[0]
                        queued.pop(0)
                    self._step(stopping=deadline is not None)
                except KeyboardInterrupt:
                    if deadline is not None:
                        raise  # a second Ctrl-C: quit now
                    deadline = time.monotonic() + STOP_TIMEOUT
                    (self.control / "stop").touch()
                    self.display.note("stopping after the current frames (Ctrl-C again to quit now)")
        finally:
            self.display.close()
        for job in queued:
            self.outcomes[job.name] = Outcome(job.name, INTERRUPTED)
        for job in self.pending.values():  # still running when the stop timed out
            self.outcomes[job.name] = Outcome(job.name, INTERRUPTED, error="did not stop in time")
        return self.outcomes

    def _step(self, stopping: bool) -> None:
        reports = batch.read_progress(self.control)  # before waiting: a job ending meanwhile is in both
        running = {report["video"] for report in reports}
        done, _ = wait(self.pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
        for future in done:
            job = self.pending.pop(future)
            try:
                outcome = future.result()
            except Exception as exc:
                if not self.backend.lost(exc):
                    outcome = Outcome(job.name, FAILED, error=batch.one_line(exc))
                else:
                    self.deaths[job.name] += job.name in running  # jobs that had not started yet are not to blame
                    if self.deaths[job.name] <= self.retries and not stopping:
                        self.pending[self.backend.submit(job, self.settings, self.control)] = job
                        continue
                    times = f" {self.deaths[job.name]} times" if self.deaths[job.name] > 1 else ""
                    outcome = Outcome(job.name, INTERRUPTED if stopping else FAILED,
                                      error=f"its worker process died{times} (killed, or out of memory)")
            self.outcomes[job.name] = outcome
            self.display.finished(outcome)
        pending = {job.name for job in self.pending.values()}
        self.display.update([report for report in reports if report["video"] in pending])


class _Display:
    """Progress on stderr: one bar over the videos (with frames done) and, on a terminal, one line per worker;
    with ``json_progress`` also JSON lines on stdout."""

    def __init__(self, videos: int, json_progress: bool) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self.json_progress = json_progress
        self.bar = tqdm(total=videos, unit="video", desc="batch", file=sys.stderr, dynamic_ncols=True)
        self.lines_enabled = sys.stderr.isatty()
        self.lines: dict[str, Any] = {}
        self.frames_finished = 0
        self.videos = videos
        self._last: Any = None

    def update(self, reports: list[dict[str, Any]]) -> None:
        frames = self.frames_finished + sum(report["done"] for report in reports)
        self.bar.set_postfix(frames=frames)
        busy = {report["worker"]: report for report in reports}
        if self.lines_enabled:
            for worker in busy.keys() - self.lines.keys():
                self.lines[worker] = self._tqdm(total=0, position=len(self.lines) + 1, bar_format="{desc}",
                                                file=sys.stderr, leave=False)
            for worker, line in self.lines.items():
                report = busy.get(worker)
                text = "idle" if report is None else f"{report['video']}: {report['done']}/{report['total'] or '?'} frames"
                line.set_description_str(f"  {worker}  {text}")
        state = (self.bar.n, frames, sorted((r["worker"], r["video"], r["done"]) for r in reports))
        if self.json_progress and state != self._last:
            workers = [{"worker": r["worker"], "video": r["video"], "frames_done": r["done"], "frames": r["total"]}
                       for r in reports]
            _emit({"event": "progress", "videos_done": self.bar.n, "videos": self.videos, "frames_done": frames,
                   "workers": workers})
        self._last = state

    def finished(self, outcome: Outcome) -> None:
        self.frames_finished += outcome.frames
        self.bar.update()
        if outcome.status == FAILED:
            self.note(f"{outcome.name}: failed: {outcome.error}")
        if self.json_progress:
            _emit({"event": "video", **asdict(outcome)})

    def note(self, text: str) -> None:
        self.bar.write(f"masklet batch: {text}", file=sys.stderr)

    def close(self) -> None:
        for line in self.lines.values():
            line.close()
        self.bar.close()


def _emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


def _write_manifest(path: Path, args: argparse.Namespace, jobs: list[Job], outcomes: list[Outcome]) -> None:
    from exporters.base import write_text

    videos = [
        {"video": str(job.video), "project": str(job.project), "exports": {fmt: str(out) for fmt, out in job.exports},
         **asdict(outcome)}
        for job, outcome in zip(jobs, outcomes)
    ]
    settings = {key: value for key, value in vars(_engine_settings(args)).items() if value is not None}
    record = {"settings": settings, "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "counts": dict(Counter(outcome.status for outcome in outcomes)), "videos": videos}
    write_text(path, json.dumps(record, indent=1) + "\n")


def _print_summary(outcomes: list[Outcome], manifest: Path, out: TextIO) -> None:
    width = max(len("video"), *(len(outcome.name) for outcome in outcomes))
    print(f"{'video':<{width}}  {'frames':>7}  {'tracks':>6}  {'seconds':>8}  status", file=out)
    for o in outcomes:
        print(f"{o.name:<{width}}  {o.frames:>7}  {o.tracks:>6}  {o.seconds:>8.1f}  {o.status}", file=out)
    counts = Counter(outcome.status for outcome in outcomes)
    print(", ".join(f"{counts[status]} {status}" for status in (DONE, SKIPPED, FAILED, INTERRUPTED) if counts[status])
          + f"; manifest: {manifest}", file=out)
    for o in outcomes:
        if o.status == FAILED:
            print(f"failed: {o.name}: {o.error}", file=out)
    if counts[INTERRUPTED]:
        print("interrupted: run the same command again to continue", file=out)
    if counts[FAILED] and out is not sys.stderr:
        print(f"masklet batch: {counts[FAILED]} of {len(outcomes)} videos failed", file=sys.stderr)

"""``masklet bench batch``: videos per hour of ``masklet batch`` on copies of one short clip, with 1 and 2 local
worker processes and with Ray on this machine, and the scaling ratio to one worker.

Each configuration runs the real command (this tree, in a subprocess) into a fresh folder, so its wall time holds
what a real batch pays besides tracking: starting the workers and loading their models once. The seconds per
video (in its worker, models loaded or not) come from the batch's manifest.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from app.benchmarks import PROJECT_ROOT, shared_data, shared_model
from tracker.errors import MaskletError

CONFIGS = {"workers=1": ["--workers", "1"], "workers=2": ["--workers", "2"], "ray": ["--ray"]}


@dataclass(frozen=True)
class BatchBench:
    """One configuration's numbers."""

    config: str
    videos: int
    seconds: float
    cold: list[float]  # seconds of the videos whose worker loaded the models first
    warm: list[float]  # seconds of the videos whose worker had them loaded

    @property
    def videos_per_hour(self) -> float:
        return 3600 * self.videos / self.seconds


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("batch", help="videos/hour of masklet batch with 1 and 2 workers and Ray")
    parser.add_argument("--video", type=Path, help="the clip to copy (default: shared TUD-Campus sequence)")
    parser.add_argument("--copies", type=int, default=6, help="copies of the clip, one video each (default: 6)")
    parser.add_argument("--frames", type=int, default=20, help="frames tracked per video (default: 20)")
    parser.add_argument("--engine", default="bytetrack", help="tracking engine (default: bytetrack)")
    parser.add_argument("--detector", type=Path, help="detector weights (default: the shared OpenVINO YOLOv8n)")
    parser.add_argument("--classes", default="person", help="detector classes (default: person)")
    parser.add_argument("--configs", default=",".join(CONFIGS), metavar="A,B",
                        help=f"configurations to run (default: {','.join(CONFIGS)}); ray needs masklet[cluster]")
    parser.add_argument("--ray-address", help="the cluster of the ray configuration (default: a local instance)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    configs = args.configs.split(",")
    unknown = sorted(set(configs) - CONFIGS.keys())
    if unknown:
        raise MaskletError(f"bench batch: unknown configuration {', '.join(unknown)} (choose from {', '.join(CONFIGS)})")
    clip = args.video or shared_data("sequences/TUD-Campus")[0]
    options = ["--engine", args.engine, "--detector", str(args.detector or shared_model()), "--classes", args.classes,
               "--end", str(args.frames)]
    with tempfile.TemporaryDirectory(prefix="masklet-bench-batch-") as temp:
        videos = _copies(clip, Path(temp) / "videos", args.copies)
        results = []
        for config in configs:
            extra = CONFIGS[config] + ([args.ray_address] if config == "ray" and args.ray_address else [])
            results.append(bench_config(config, videos, Path(temp) / config, options + extra))
    print(f"batch benchmark: {args.copies} copies of {clip.name}, {args.frames} frames each, {args.engine}, "
          "wall time includes starting workers and loading models")
    print(format_table(results))
    return 0


def _copies(clip: Path, folder: Path, copies: int) -> list[Path]:
    folder.mkdir()
    paths = [folder / f"clip{i:03d}{clip.suffix}" for i in range(copies)]
    for path in paths:
        (shutil.copytree if clip.is_dir() else shutil.copy)(clip, path)
    return paths


def bench_config(config: str, videos: list[Path], outdir: Path, options: list[str]) -> BatchBench:
    """Run ``masklet batch`` on ``videos`` with ``options`` and time it."""
    command = [sys.executable, "-m", "app.cli", "batch", *map(str, videos), "-o", str(outdir), *options]
    begin = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=PROJECT_ROOT)
    seconds = time.perf_counter() - begin
    if result.returncode != 0:
        raise MaskletError(f"bench batch: {config} failed: {(result.stderr.strip().splitlines() or ['?'])[-1]}")
    entries = json.loads((outdir / "batch.json").read_text())["videos"]
    cold = [entry["seconds"] for entry in entries if entry["models_loaded"]]
    warm = [entry["seconds"] for entry in entries if not entry["models_loaded"]]
    return BatchBench(config, len(entries), seconds, cold, warm)


def format_table(results: list[BatchBench]) -> str:
    """Wall time, videos/hour, mean seconds per video in its worker (loading the models / with them loaded) and
    the scaling ratio to one worker."""
    base = next((r.videos_per_hour for r in results if r.config == "workers=1"), None)
    lines = [f"{'config':<11}{'wall s':>8}{'videos/h':>10}{'s/video cold':>14}{'s/video warm':>14}{'× workers=1':>13}"]
    for r in results:
        ratio = f"{r.videos_per_hour / base:.2f}" if base else "–"
        lines.append(f"{r.config:<11}{r.seconds:>8.1f}{r.videos_per_hour:>10.0f}{_mean(r.cold):>14}{_mean(r.warm):>14}"
                     f"{ratio:>13}")
    return "\n".join(lines)


def _mean(values: list[float]) -> str:
    return f"{sum(values) / len(values):.1f}" if values else "–"

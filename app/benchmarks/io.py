"""``masklet bench io``: video decoding (sequential fps, cold random-access latency), then project files.

The video half is ``bench_video``; the project-file half lives in ``app.benchmarks.project_io``.
"""
from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.benchmarks import shared_data
from app.benchmarks.project_io import run_project_bench
from tracker.video import VideoSource

DEFAULT_VIDEOS = ("highway/highway.mp4", "bedroom/bedroom.mp4")
"""Relative to ``shared/data``."""


@dataclass(frozen=True, slots=True)
class VideoBenchResult:
    """One video's numbers: open time, sequential decode rate, cold random-access latency."""

    name: str
    frames: int
    width: int
    height: int
    open_ms: float
    decode_fps: float
    seek_p50_ms: float
    seek_p95_ms: float


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("io", help="video decoding and project file read/write speed")
    parser.add_argument(
        "--video",
        action="append",
        type=Path,
        metavar="PATH",
        help="video file or folder to measure (repeatable; default: highway.mp4 and bedroom.mp4 "
        "from the shared data folder)",
    )
    parser.add_argument("--seeks", type=int, default=50, help="random frames to read per video (default 50)")
    parser.add_argument(
        "--observations", type=int, default=1_000_000, help="observations inserted into the project (default 1M)"
    )
    parser.add_argument("--tracks", type=int, default=500, help="tracks they are spread over (default 500)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    bench_video(args.video or shared_data(*DEFAULT_VIDEOS), seeks=args.seeks)
    run_project_bench(args)
    return 0


def bench_video(paths: list[Path], seeks: int = 50, seed: int = 0) -> list[VideoBenchResult]:
    """Measure each video and print a table; the cache is off so every read decodes."""
    results = []
    for path in paths:
        started = time.perf_counter()
        with VideoSource.open(path, cache_size=0) as source:
            open_ms = (time.perf_counter() - started) * 1e3
            started = time.perf_counter()
            decoded = sum(1 for _ in source)
            decode_fps = decoded / (time.perf_counter() - started)
            indices = random.Random(seed).choices(range(len(source)), k=seeks)
            latencies = []
            for index in indices:
                started = time.perf_counter()
                source[index]
                latencies.append((time.perf_counter() - started) * 1e3)
            p50, p95 = np.percentile(latencies, [50, 95]) if latencies else (float("nan"),) * 2
            results.append(
                VideoBenchResult(
                    source.name, len(source), source.width, source.height,
                    open_ms, decode_fps, float(p50), float(p95),
                )
            )
    _print_table(results, seeks)
    return results


def _print_table(results: list[VideoBenchResult], seeks: int) -> None:
    header = (
        f"{'video':<16} {'frames':>6} {'size':>10} {'open ms':>8} {'decode fps':>10} "
        f"{'seek p50 ms':>11} {'seek p95 ms':>11}"
    )
    print(f"video decoding (sequential: whole file; random access: {seeks} frames, cache off)")
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:<16} {r.frames:>6} {f'{r.width}x{r.height}':>10} {r.open_ms:>8.1f} "
            f"{r.decode_fps:>10.1f} {r.seek_p50_ms:>11.1f} {r.seek_p95_ms:>11.1f}"
        )


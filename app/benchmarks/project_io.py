"""Project-file half of ``masklet bench io``: bulk insert and timeline queries on a large project."""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from app.document import Document, Observation
from tracker.results import ObjectState

TIMELINE_QUERIES = 50


def synthetic_observations(count: int, tracks: int, seed: int = 0) -> list[Observation]:
    """``count`` observations spread over ``tracks`` tracks, frame-major like an engine writes them."""
    rng = np.random.default_rng(seed)
    frames = count // tracks
    boxes = rng.uniform(0, 1000, size=(count, 4))
    states = rng.integers(0, 4, size=count)
    return [
        Observation(frame=i // tracks, track_id=i % tracks + 1, box=tuple(boxes[i]), score=0.9, logit=7.0,
                    state=ObjectState(int(states[i])))
        for i in range(frames * tracks)
    ]


def run_project_bench(args: argparse.Namespace) -> dict[str, float]:
    """Insert ``args.observations`` observations, then time per-track timeline loads; print and return."""
    count, tracks = args.observations, args.tracks
    observations = synthetic_observations(count, tracks)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.masklet"
        with Document.create(path) as doc:
            start = time.perf_counter()
            doc.add_observations(observations)
            insert_s = time.perf_counter() - start
        size_mb = path.stat().st_size / 1e6
        with Document.open(path) as doc:
            rng = np.random.default_rng(1)
            times = []
            for track_id in rng.integers(1, tracks + 1, size=TIMELINE_QUERIES):
                start = time.perf_counter()
                timeline = doc.track_timeline(int(track_id))
                times.append((time.perf_counter() - start) * 1000)
            assert timeline.frames.size == count // tracks
            start = time.perf_counter()
            doc.observations_at(count // tracks // 2)
            frame_ms = (time.perf_counter() - start) * 1000
    result = {
        "insert_s": insert_s,
        "insert_per_s": len(observations) / insert_s,
        "timeline_p50_ms": float(np.percentile(times, 50)),
        "timeline_p95_ms": float(np.percentile(times, 95)),
        "frame_query_ms": frame_ms,
    }
    print(f"project: {len(observations):,} observations over {tracks} tracks ({size_mb:.0f} MB file)")
    print(f"  insert            {insert_s:8.2f} s   ({result['insert_per_s']:,.0f} obs/s; target < 10 s)")
    print(f"  track timeline    p50 {result['timeline_p50_ms']:.1f} ms  p95 {result['timeline_p95_ms']:.1f} ms"
          f"   ({count // tracks} frames each; target < 50 ms)")
    print(f"  frame query       {frame_ms:8.2f} ms  ({tracks} observations)")
    return result

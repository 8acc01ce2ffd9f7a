"""``masklet bench correction``: how fast click-to-fix answers, as the GUI's prompt session does it.

An object is tracked online from a box at frame 0 through frame ``t`` (its prompts recorded, as a run stores
them). A correction at ``t`` then rebuilds its memory from those prompts (``Correction.replay``: the one-time
cost of a session's first click, reported on its own), takes ``--clicks`` clicks (positive and negative in
turn, inside the box), each answered by the decoder alone (the preview's latency: p50, p95, max), and
re-propagates the object forward through ``--propagate`` frames (frames/s). Real frames, a SAM2 with random
weights (``random_init``: no checkpoint is needed; the numbers measure compute, not segmentation quality).
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from app.benchmarks import shared_data
from app.correction import INTERACTIVE_SIZE
from tracker.errors import MaskletError
from tracker.models import MODEL_NAMES

DEFAULT_VIDEO = "bedroom/bedroom.mp4"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("correction", help="click-to-preview latency and re-propagation frames/s")
    parser.add_argument("--video", type=Path, help=f"video (default: shared {DEFAULT_VIDEO})")
    parser.add_argument("--frame", type=int, default=10, help="the corrected frame t (default 10)")
    parser.add_argument("--clicks", type=int, default=20, help="clicks at t (default 20)")
    parser.add_argument("--propagate", type=int, default=10, help="frames re-propagated after t (default 10)")
    parser.add_argument("--model", default="tiny", choices=MODEL_NAMES, help="SAM2 architecture (default tiny)")
    parser.add_argument("--image-size", type=int, default=INTERACTIVE_SIZE,
                        help=f"SAM2 input size (default {INTERACTIVE_SIZE}, the interactive size)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto (default cpu)")
    parser.set_defaults(func=run)


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from tracker.correction import Correction
    from tracker.sam2_engine import SAM2Engine
    from tracker.video import VideoSource

    if args.frame < 0 or args.clicks < 1 or args.propagate < 1:
        raise MaskletError("--frame must be >= 0, --clicks and --propagate >= 1")
    video = args.video or shared_data(DEFAULT_VIDEO)[0]
    with VideoSource.open(video, cache_size=args.frame + args.propagate + 2) as source:
        last = args.frame + args.propagate
        if len(source) <= last:
            raise MaskletError(f"{video}: {len(source)} frames, the benchmark needs {last + 1}")
        frames = source.__getitem__
        height, width = frames(0).shape[:2]
        box = np.array([width * 0.3, height * 0.2, width * 0.6, height * 0.8])
        engine = SAM2Engine(args.model, args.device, image_size=args.image_size, random_init=True)
        print(f"correction benchmark: {Path(video).name} ({width}×{height}), SAM2 {args.model} with random weights "
              f"at {engine.image_size} px on {engine.device}, correction at frame {args.frame}")
        engine.step(0, frames(0))
        engine.add_object(1, box=box)
        for frame in range(1, args.frame + 1):
            engine.step(frame, frames(frame))
        history = engine.take_prompts()

        correction = Correction(engine, frames, len(source), 1, args.frame, history)
        started = time.perf_counter()
        for _ in correction.replay():
            pass
        replay = time.perf_counter() - started
        rng = np.random.default_rng(0)
        latencies = []
        for index in range(args.clicks):
            x, y = rng.uniform(box[:2], box[2:])
            started = time.perf_counter()
            correction.click(x, y, positive=index % 2 == 0)
            latencies.append(time.perf_counter() - started)
        started = time.perf_counter()
        count = sum(1 for _ in correction.propagate(last))
        propagate = time.perf_counter() - started

    print(f"memory replay (once per session): {correction.replay_frames} frames in {replay:.2f} s")
    print(f"click → preview over {args.clicks} clicks: p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
    print(f"re-propagation: {count} frames in {propagate:.2f} s, {count / propagate:.2f} frames/s")
    return 0

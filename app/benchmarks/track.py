"""``masklet bench track``: frames/s of every tracking engine on the same frames with the same detector
instance, the ratio to ByteTrack, and where each engine spends its time.

Frames are decoded into memory first (decoding is not measured). The first frame of each engine is a
warm-up (lazy model compilation, the first prompts) and is not timed. SAM2 engines run an untrained
SAM2 (``random_init``) at ``--image-size``: the speed of the real model at that resolution, not its
output. Per-stage times come from each engine's ``timings`` (``total`` minus the stages is the
bookkeeping); SAM2MOT's ``propagate`` is ``SAM2Engine.step`` (image encoder plus per-object memory
attention and mask decoder), split further only when the engine reports its own ``timings``.

The SAM2 engines run with the low-confidence memory filter off, so every frame's memory is written and
the memory encoder is timed: an untrained SAM2 scores every object just above 0, inside the filter's
band, and would otherwise keep every frame out of memory (a step about 30 % cheaper than a real one).
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.benchmarks import SHARED_DETECTOR, shared_data, shared_model
from tracker.engine_options import EngineOptions
from tracker.engines import ENGINES, build_engine

BASELINE = "bytetrack"


@dataclass(frozen=True, slots=True)
class EngineBench:
    """One engine's numbers over the timed frames."""

    name: str
    frames: int
    seconds: float
    objects: int
    stages: dict[str, float]  # seconds per stage, "bookkeeping" = total minus the named stages
    segmenter_stages: dict[str, float] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("track", help="frames/s of each tracking engine with the same detector")
    parser.add_argument("--video", type=Path, help="video (default: shared bedroom/bedroom.mp4)")
    parser.add_argument("--start", type=int, default=0, help="first frame (default: 0)")
    parser.add_argument("--frames", type=int, default=20, help="frames per engine, warm-up included (default: 20)")
    parser.add_argument(
        "--engines", default=",".join(ENGINES), metavar="A,B", help=f"engines to compare (default: {','.join(ENGINES)})"
    )
    parser.add_argument(
        "--detector", type=Path, help=f"Ultralytics weights (default: the shared {SHARED_DETECTOR})"
    )
    parser.add_argument("--classes", metavar="A,B", help="detector classes (default: all)")
    parser.add_argument("--conf", type=float, default=0.1, help="detector confidence, shared by every engine "
                        "(default: 0.1, ByteTrack's low threshold; SAM2MOT still adds objects only from 0.5)")
    parser.add_argument("--image-size", type=int, default=256, help="SAM2 input size (default: 256)")
    parser.add_argument("--device", default="cpu", help="device for the detector and SAM2 (default: cpu)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tracker.detectors import UltralyticsDetector
    from tracker.video import VideoSource

    video = args.video or shared_data("bedroom/bedroom.mp4")[0]
    weights = args.detector or shared_model()
    classes = None if args.classes is None else args.classes.split(",")
    detector = UltralyticsDetector(weights, classes=classes, conf=args.conf, device=args.device)
    with VideoSource.open(video) as source:
        frames = [(i, source[i]) for i in range(args.start, min(args.start + args.frames, source.frame_count))]
        size = f"{source.width}×{source.height}"
    options = {"detector": detector, "device": args.device, "random_init": True, "image_size": args.image_size}
    names = args.engines.split(",")
    results = [bench_engine(name, frames, options, _every_memory_written(name)) for name in names]
    print(
        f"track benchmark: {Path(video).name} frames {frames[0][0]}..{frames[-1][0]} ({size}, first frame is "
        f"warm-up), detector {Path(weights).name}, device {args.device}, SAM2 random-init {args.image_size} px, "
        "memory filter off (every frame's memory is written)"
    )
    print(format_table(results))
    return 0


def _every_memory_written(name: str) -> Any:
    """The SAM2 engines' config with the low-confidence memory filter off (see the module docstring)."""
    from tracker.sam2mot import SAM2MOTConfig
    from tracker.smotracker import SMOTrackerConfig

    configs = {"sam2mot": SAM2MOTConfig, "smotracker": SMOTrackerConfig}
    return configs[name](memory_filter_logit=None) if name in configs else None


def bench_engine(
    name: str, frames: list[tuple[int, Any]], options: dict[str, Any], config: Any = None
) -> EngineBench:
    """Run one engine (with its ``config``, None: the default) over ``frames`` (options it does not take are left
    out); time all but the first."""
    engine = build_engine(EngineOptions.applicable(name, **options), config=config)
    segmenter_timings = getattr(getattr(engine, "segmenter", None), "timings", None)
    engine.process(*frames[0])
    engine.timings.clear()
    if segmenter_timings is not None:
        segmenter_timings.clear()
    objects = 0
    begin = time.perf_counter()
    for index, rgb in frames[1:]:
        objects += len(engine.process(index, rgb).objects)
    seconds = time.perf_counter() - begin
    stages = {key: value for key, value in engine.timings.items() if key != "total"}
    stages["bookkeeping"] = engine.timings["total"] - sum(stages.values())
    return EngineBench(name, len(frames) - 1, seconds, objects, stages, dict(segmenter_timings or {}))


def format_table(results: list[EngineBench]) -> str:
    """The fps table (ratios to ByteTrack) and each engine's time per frame by stage."""
    baseline = next((r.fps for r in results if r.name == BASELINE), None)
    lines = [f"{'engine':<12}{'frames/s':>10}{'× ' + BASELINE:>13}{'objects/frame':>15}"]
    for r in results:
        ratio = f"{r.fps / baseline:.3f}" if baseline else "–"
        lines.append(f"{r.name:<12}{r.fps:>10.2f}{ratio:>13}{r.objects / r.frames:>15.1f}")
    lines.append("time per frame (ms):")
    for r in results:
        parts = ", ".join(f"{stage} {1e3 * s / r.frames:.1f}" for stage, s in r.stages.items())
        lines.append(f"  {r.name:<10} {parts}")
        if r.segmenter_stages:
            split = ", ".join(f"{stage} {1e3 * s / r.frames:.1f}" for stage, s in r.segmenter_stages.items())
            lines.append(f"  {'':<10} segmenter: {split}")
        elif "propagate" in r.stages:
            lines.append(
                f"  {'':<10} (propagate = SAM2Engine.step as one number: the engine reports no image-encoder / "
                "per-object split)"
            )
    return "\n".join(lines)

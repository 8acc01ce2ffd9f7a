"""``masklet bench engine``: ``SAM2Engine`` against SAM2's ``SAM2VideoPredictor``: speed and peak memory.

Both track the same boxes (spread over the frame, all prompted at frame 0) through the same frames
with the same randomly initialised SAM2 (no checkpoint is needed; the numbers measure compute and
memory, not segmentation quality). Frames are first written as JPEGs, the reference's input format:
the reference loads a whole folder in ``init_state``, the engine streams it through ``VideoSource``
with a one-frame cache. Every measurement runs in a fresh process, because peak RSS is per process.
For each object count: one run of each with N frames (peak RSS), then ``--repeats`` pairs of 4N-frame
runs, engine and reference interleaved (A B A B …) so that load from other processes on a shared
machine falls on both alike. Frames/s of a run: one over the median time of a tracked frame (frames
after the prompted one); the reference's up-front frame loading is not counted. The speed ratio is
the median of the per-pair ratios, with their range. Every frame's memory is written by both (no
object is kept out of memory), so the memory encoder is part of every step.
"""
from __future__ import annotations

import argparse
import functools
import math
import os
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from app.benchmarks import shared_data
from tracker.errors import MaskletError
from tracker.models import MODEL_NAMES

DEFAULT_VIDEO = "bedroom/bedroom.mp4"
KINDS = ("engine", "reference")


@dataclass(frozen=True, slots=True)
class Measurement:
    """One run in a fresh process."""

    fps: float
    peak_rss_mb: float


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("engine", help="SAM2 engine vs SAM2VideoPredictor: frames/s and peak memory")
    parser.add_argument(
        "--objects", default="1,5,10", help="comma-separated object counts to measure (default 1,5,10)"
    )
    parser.add_argument("--frames", type=int, default=20, help="N: frames of the short run (default 20)")
    parser.add_argument("--image-size", type=int, default=None, help="model input size (default: the config's)")
    parser.add_argument("--video", type=Path, default=None, help="video to track (default: shared bedroom.mp4)")
    parser.add_argument("--model", default="tiny", choices=MODEL_NAMES, help="SAM2 architecture (default tiny)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    parser.add_argument("--threads", type=int, default=None, help="PyTorch CPU threads (default: PyTorch's)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved engine/reference pairs (default 3)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from PIL import Image

    from tracker.video import VideoSource

    objects = [int(item) for item in args.objects.split(",")]
    if args.frames < 1 or min(objects) < 1 or args.repeats < 1:
        raise MaskletError("--frames, --objects and --repeats must be positive")
    video = args.video or shared_data(DEFAULT_VIDEO)[0]
    os.environ["TQDM_DISABLE"] = "1"  # the reference's progress bars; read when the runs import tqdm
    lengths = (args.frames, 4 * args.frames)
    with tempfile.TemporaryDirectory(prefix="masklet-bench-") as tmp, VideoSource.open(video, cache_size=0) as source:
        if len(source) < lengths[1]:
            raise MaskletError(f"{video}: {len(source)} frames, the benchmark needs 4 x {args.frames}")
        folders = {length: Path(tmp) / str(length) for length in lengths}
        for folder in folders.values():
            folder.mkdir()
        for index, rgb in source.frames(0, lengths[1]):
            image = Image.fromarray(rgb)
            for length, folder in folders.items():
                if index < length:
                    image.save(folder / f"{index:05d}.jpg", quality=95)
        size = args.image_size or "config default"
        print(
            f"SAM2 engine vs SAM2VideoPredictor — RANDOM weights (untrained {args.model}, image size {size}), "
            f"device {args.device}, threads {args.threads or 'default'}, {source.name} "
            f"{source.width}x{source.height}, N={lengths[0]} and 4N={lengths[1]} frames, one fresh process per run, "
            f"{args.repeats} interleaved pairs of 4N runs; every frame's memory is written"
        )
        header = (
            f"{'objects':>7} {'engine fps':>10} {'ref fps':>8} {'ratio (median)':>14} {'range':>12}  "
            f"{'engine RSS MB N -> 4N':>22} {'growth':>7}  {'ref RSS MB N -> 4N':>19} {'growth':>7}"
        )
        print(header)
        print("-" * len(header), flush=True)
        ratios = []
        for count in objects:
            run = functools.partial(
                _in_fresh_process, objects=count, image_size=args.image_size, model=args.model, device=args.device,
                threads=args.threads,
            )
            short = {kind: run(kind, str(folders[lengths[0]])) for kind in KINDS}
            pairs = [tuple(run(kind, str(folders[lengths[1]])) for kind in KINDS) for _ in range(args.repeats)]
            pair_ratios = sorted(engine.fps / reference.fps for engine, reference in pairs)
            ratios.append(statistics.median(pair_ratios))
            engine_4n, ref_4n = pairs[0]
            print(
                f"{count:>7} {statistics.median(e.fps for e, _ in pairs):>10.2f} "
                f"{statistics.median(r.fps for _, r in pairs):>8.2f} {ratios[-1]:>13.2f}x "
                f"{pair_ratios[0]:>5.2f}-{pair_ratios[-1]:.2f}x  "
                f"{short['engine'].peak_rss_mb:>10.0f} -> {engine_4n.peak_rss_mb:>7.0f} "
                f"{_growth(short['engine'], engine_4n):>7}  "
                f"{short['reference'].peak_rss_mb:>8.0f} -> {ref_4n.peak_rss_mb:>7.0f} "
                f"{_growth(short['reference'], ref_4n):>7}",
                flush=True,
            )
    summary = ", ".join(f"{count} objects {ratio:.2f}x" for count, ratio in zip(objects, ratios))
    print(f"ratio (median) engine / SAM2VideoPredictor: {summary}")
    return 0


def _growth(short: Measurement, long: Measurement) -> str:
    return f"{100 * (long.peak_rss_mb / short.peak_rss_mb - 1):+.1f}%"


def _in_fresh_process(kind: str, folder: str, **options: object) -> Measurement:
    os.environ["TQDM_DISABLE"] = "1"  # inherited by the child: the reference's progress bars would garble the table
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(measure, kind, folder, **options).result()


def spread_boxes(count: int, width: int, height: int) -> list[tuple[float, float, float, float]]:
    """``count`` xyxy boxes on a grid covering the frame, each filling 60 % of its cell."""
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    cell_w, cell_h = width / cols, height / rows
    boxes = []
    for i in range(count):
        x, y = (i % cols) * cell_w, (i // cols) * cell_h
        boxes.append((x + 0.2 * cell_w, y + 0.2 * cell_h, x + 0.8 * cell_w, y + 0.8 * cell_h))
    return boxes


def measure(
    kind: str, folder: str, objects: int, image_size: int | None, model: str, device: str, threads: int | None
) -> Measurement:
    """Track ``objects`` boxes through the JPEG ``folder`` with ``kind`` (engine or reference);
    meant to run alone in its process so that its peak RSS is its own."""
    import resource
    import warnings

    import torch

    from tracker.models import checkpoint_info
    from tracker.sam2_engine import SAM2Engine
    from tracker.sam2_model import resolve_device
    from tracker.video import VideoSource

    if threads:
        torch.set_num_threads(threads)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"sam2\.")  # no hole-filling kernel
    frame_times = []
    with VideoSource.open(folder, cache_size=1) as video:
        boxes = spread_boxes(objects, video.width, video.height)
        if kind == "engine":
            engine = SAM2Engine(model, device, image_size=image_size, random_init=True, num_frames=len(video))
            for index, rgb in video.frames():
                started = time.perf_counter()
                engine.step(index, rgb)
                if index == 0:
                    for obj_id, box in enumerate(boxes):
                        engine.add_object(obj_id, box=box)
                frame_times.append(time.perf_counter() - started)
    if kind == "reference":
        from sam2.build_sam import build_sam2_video_predictor

        torch.manual_seed(0)
        predictor = build_sam2_video_predictor(
            checkpoint_info(model).config,
            None,
            device=str(resolve_device(device)),
            hydra_overrides_extra=[] if image_size is None else [f"++model.image_size={image_size}"],
        )
        cuda = predictor.device.type == "cuda"
        with torch.autocast(predictor.device.type, dtype=torch.bfloat16, enabled=cuda):
            state = predictor.init_state(folder)
            started = time.perf_counter()
            for obj_id, box in enumerate(boxes):
                predictor.add_new_points_or_box(state, 0, obj_id, box=box)
            for _ in predictor.propagate_in_video(state):
                frame_times.append(time.perf_counter() - started)
                started = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Measurement(1.0 / statistics.median(frame_times[1:] or frame_times), peak_mb)

"""``masklet bench resume``: how exactly each engine resumes a stopped run.

Each engine runs frames ``0 … N-1`` into a project uninterrupted, and again stopped after frame ``K - 1`` and
resumed by a new engine as ``masklet track --resume`` does (``TrackingRun.resume``: the engine state saved with
the last frame where the engine saves one, else the stored objects). Printed, over the resumed frames: the rows
(track id, box, state, score) equal to the uninterrupted run's, the (frame, track id) pairs both runs have, and
the size of the saved state. ``NAME+link`` is an engine with the tracklet linker on (SMOT has it on by default).
SAM2 engines
run an untrained SAM2 (``random_init``) at ``--image-size``: their rows are meaningless as labels, but whether a
resume reproduces them is not.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.benchmarks import shared_data, shared_model
from tracker.engine_options import EngineOptions
from tracker.engines import ENGINES, build_engine

DEFAULT_ENGINES = (*ENGINES, "bytetrack+link")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("resume", help="rows of a resumed run equal to an uninterrupted run, per engine")
    parser.add_argument("--video", type=Path, help="video (default: shared bedroom/bedroom.mp4)")
    parser.add_argument("--frames", type=int, default=16, help="frames per run, N (default: 16)")
    parser.add_argument("--stop", type=int, default=8, help="frames before the stop, K (default: 8)")
    parser.add_argument("--engines", default=",".join(DEFAULT_ENGINES), metavar="A,B",
                        help=f"engines, NAME+link: linked (default: {','.join(DEFAULT_ENGINES)})")
    parser.add_argument("--detector", type=Path, help="Ultralytics weights (default: the shared OpenVINO YOLOv8n)")
    parser.add_argument("--image-size", type=int, default=256, help="SAM2 input size (default: 256)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tracker.video import VideoSource

    video = args.video or shared_data("bedroom/bedroom.mp4")[0]
    options = {"detector": str(args.detector or shared_model()), "device": "cpu", "random_init": True,
               "image_size": args.image_size}
    print(f"resume benchmark: {Path(video).name}, frames 0..{args.frames - 1}, stopped after {args.stop - 1}, "
          f"SAM2 random-init {args.image_size} px")
    print(f"{'engine':<16}{'identical rows':>16}{'same ids':>10}{'resumed from':>16}{'state/frame':>13}")
    with VideoSource.open(video) as source:
        for name in args.engines.split(","):
            equal, ids, total, exact, size = compare(name, source, options, args.frames, args.stop)
            print(f"{name:<16}{f'{equal}/{total}':>16}{f'{ids}/{total}':>10}"
                  f"{'saved state' if exact else 'stored objects':>16}{f'{size / 1024:.1f} KiB' if size else '–':>13}")
    return 0


def compare(name: str, source: Any, options: dict[str, Any], frames: int, stop: int) -> tuple[int, int, int, bool, int]:
    """Over frames ``stop …``: (rows equal in both runs, (frame, track id) pairs in both, rows of the
    uninterrupted run, whether the resume loaded a saved state, that state's size in bytes). ``name``: an engine,
    ``NAME+link`` linked."""
    from app.document import Document
    from app.tracking_run import TrackingRun

    engine_name, linked = name.removesuffix("+link"), name.endswith("+link")

    def engine() -> Any:
        return build_engine(EngineOptions.applicable(engine_name, **options, link=True if linked else None))

    def track(doc: Document, run: TrackingRun, tracker: Any, start: int, end: int) -> TrackingRun:
        for result in tracker.run(source, start, end):
            run = run.record(doc, result, tracker.save_state())
        return run

    def rows(doc: Document) -> list[tuple]:
        return [(o.frame, o.track_id, o.box, int(o.state), o.score) for o in doc.iter_observations(stop)]

    with Document.in_memory(source.info()) as full, Document.in_memory(source.info()) as stopped:
        track(full, TrackingRun.begin(full, EngineOptions(engine_name), 0, frames), engine(), 0, frames)
        first = engine()
        run = track(stopped, TrackingRun.begin(stopped, EngineOptions(engine_name), 0, frames), first, 0, stop)
        state = first.save_state()
        resumed = engine()
        exact = run.resume(stopped, resumed, source)
        track(stopped, run, resumed, stop, frames)
        expected, got = rows(full), rows(stopped)
        same_rows, same_ids = set(got), {row[:2] for row in got}
        return (sum(row in same_rows for row in expected), sum(row[:2] in same_ids for row in expected), len(expected),
                exact, len(state or b""))

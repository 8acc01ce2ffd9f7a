"""``masklet track VIDEO --engine E -o PROJECT``: pre-label a video with a tracking engine.

Each frame is written to the project in its own transaction together with the progress, so Ctrl-C
(or a killed process) loses at most the frame in flight and ``--resume`` continues from there.
The project stores the engine, its options, the frame range and the progress (``app.tracking_run``).
"""
from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.document import Document
from app.tracking_run import TrackingRun
from tracker.engine_options import ENGINE_NAMES, EngineOptions
from tracker.engines import Engine, build_engine
from tracker.errors import DiskFullError, MaskletError

if TYPE_CHECKING:
    from tracker.video import VideoSource

_OPTION_NAMES = tuple(f.name for f in dataclasses.fields(EngineOptions)[1:])
"""The ``EngineOptions`` fields, each given by the flag of the same ``dest``."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "track",
        help="pre-label a video with a tracker and save the result as a project",
        description="Track every object the detector finds and store boxes, masks, states and events in PROJECT. "
        "Frames are 0-based; --start is inclusive and --end exclusive (--end 60 with --start 0 processes 60 "
        "frames). Ctrl-C stops after the current frame; every finished frame is saved; --resume continues.",
    )
    parser.add_argument("video", type=Path, help="video file, image folder or MOTChallenge sequence")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="PROJECT", help="project file to write")
    parser.add_argument(
        "--export", action="append", default=[], metavar="FMT:OUT",
        help="after tracking, export the project (repeatable), e.g. mot:out/gt.txt",
    )
    parser.add_argument("--resume", action="store_true", help="continue a stopped project from its last saved frame")
    add_engine_arguments(parser, engine_help="tracking engine (required unless --resume)")
    parser.set_defaults(func=run)


def add_engine_arguments(parser: argparse.ArgumentParser, engine_help: str) -> None:
    """The engine, its options and the frame range (shared with ``masklet batch``)."""
    parser.add_argument("--engine", choices=ENGINE_NAMES, help=engine_help)
    parser.add_argument(
        "--detector", metavar="NAME|PATH",
        help="Ultralytics weights (official name such as yolo11n.pt, .pt, .onnx, OpenVINO folder) or a "
        "MOTChallenge det.txt (default: yolo11n.pt)",
    )
    parser.add_argument("--classes", metavar="A,B", help="detector classes to keep, names or ids (default: all)")
    parser.add_argument(
        "--conf", type=float, metavar="C",
        help="detection confidence threshold (default: 0.5 for sam2mot, also its addition filter; 0.35 for "
        "smotracker; 0.1 for bytetrack/botsort, their low-score threshold; 0.4 for smot, its new-tracklet threshold)",
    )
    parser.add_argument(
        "--sam2", metavar="MODEL",
        help="SAM2.1 model: tiny, small, base_plus, large or a checkpoint path (default: tiny)",
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="compute device (default: auto)")
    parser.add_argument("--start", type=int, default=0, metavar="N", help="first frame, inclusive (default: 0)")
    parser.add_argument("--end", type=int, metavar="N", help="stop before this frame, exclusive (default: video end)")
    parser.add_argument(
        "--sam2-random-init", dest="random_init", action="store_true", default=None,
        help="testing and benchmarks only: an untrained SAM2 (no checkpoint needed); output is meaningless",
    )
    parser.add_argument(
        "--image-size", type=int, metavar="S", help="testing and benchmarks only: SAM2 input resolution (default: 1024)"
    )
    parser.add_argument(
        "--clip-len", type=int, metavar="K",
        help="smotracker: frames per clip; the detector runs at each clip start (default: 13)",
    )
    parser.add_argument(
        "--tiles", type=int, metavar="SIZE",
        help="smotracker: also detect on overlapping SIZE×SIZE tiles, for small objects (default: whole frame only)",
    )
    parser.add_argument(
        "--tile-overlap", type=float, metavar="F",
        help="smotracker: overlap of neighbouring tiles, a fraction (default: 0.2)",
    )
    for module, what in (
        ("addition-filter", "every unmatched detection becomes an object (no confidence filter, no untracked-region test)"),
        ("cross-object", "no cross-object interaction (conflicting objects both keep the frame in memory)"),
        ("reconstruction", "no quality reconstruction (pending objects keep their key frames)"),
    ):
        parser.add_argument(
            f"--no-{module}", dest=module.replace("-", "_"), action="store_false", default=None,
            help=f"sam2mot ablation: {what}",
        )
    parser.add_argument(
        "--link", action=argparse.BooleanOptionalAction,
        help="join tracklets of the same object after occlusions by appearance (detector features); "
        "default: on for smot, off for the others",
    )
    parser.add_argument("--no-motion", dest="motion", action="store_false", default=None,
                        help="smot: re-detect where a box was (identity motion), not where optical flow moves it")
    parser.add_argument("--top-k", type=int, metavar="K",
                        help="smot: tracking anchors per object, 1 single assignment (default), > 1 multi assignment")


def run(args: argparse.Namespace, on_frame: Callable[[TrackingRun], None] | None = None) -> int:
    """Track ``args.video`` into ``args.output``. ``on_frame``, called with the advanced run after each saved
    frame, replaces the progress bar (``masklet batch`` reports to its driver)."""
    from tracker.video import VideoSource

    exports = [_parse_export(spec) for spec in args.export]
    with VideoSource.open(args.video) as source:
        if args.resume:
            with _open_for_resume(args, source) as (doc, tracking, options):
                engine = build_engine(options)
                return _track(args, source, doc, engine, tracking, exports, on_frame)
        start, stop = _new_range(args, source)
        options = EngineOptions(args.engine, **given_options(args))
        engine = build_engine(options)  # before creating the project: a missing model leaves no file
        with _create_project(args.output, source) as doc:
            tracking = TrackingRun.begin(doc, options, start, stop)
            return _track(args, source, doc, engine, tracking, exports, on_frame)


def _track(
    args: argparse.Namespace,
    source: VideoSource,
    doc: Document,
    engine: Engine,
    tracking: TrackingRun,
    exports: list[tuple[Any, Path]],
    on_frame: Callable[[TrackingRun], None] | None,
) -> int:
    """Run the engine over the remaining frames, saving each; then export."""
    from tqdm import tqdm

    from app.cli import EXIT_INTERRUPTED

    first, stop = tracking.next_frame, tracking.stop
    if tracking.continued:
        tracking.resume(doc, engine, source)
    with tqdm(total=stop - first, unit="frame", desc=tracking.engine, file=sys.stderr, dynamic_ncols=True,
              disable=on_frame is not None) as progress:
        try:
            for result in engine.run(source, first, stop):
                tracking = tracking.record(doc, result, engine.save_state())
                progress.set_postfix(objects=len(result.objects), refresh=False)
                progress.update()
                if on_frame is not None:
                    on_frame(tracking)
        except KeyboardInterrupt:
            progress.close()
            _print_resume_hint(args, tracking)
            return EXIT_INTERRUPTED
        except DiskFullError as exc:  # the frame in flight is lost, every earlier one is saved
            progress.close()
            raise DiskFullError(f"{args.output}: disk full: {_saved(tracking)} saved, free space and use "
                                "--resume") from exc
    for exporter, out in exports:
        exporter.write(doc, out)
        print(f"exported {out}", file=sys.stderr)
    return 0


def given_options(args: argparse.Namespace) -> dict[str, Any]:
    """The engine options given on the command line, as ``EngineOptions`` fields (absent ones are left out)."""
    given = {name: getattr(args, name) for name in _OPTION_NAMES if getattr(args, name) is not None}
    if "detector" in given and Path(given["detector"]).exists():
        given["detector"] = str(Path(given["detector"]).resolve())
    if "classes" in given:
        given["classes"] = tuple(c.strip() for c in given["classes"].split(",") if c.strip()) or None
    return given


def _new_range(args: argparse.Namespace, source: VideoSource) -> tuple[int, int]:
    """The frame range ``(start, stop)`` of a new run: ``start`` inclusive, ``stop`` exclusive (``--end``)."""
    if args.engine is None:
        raise MaskletError(f"track: --engine is required ({', '.join(ENGINE_NAMES)})")
    stop = source.frame_count if args.end is None else min(args.end, source.frame_count)
    if not 0 <= args.start < stop:
        raise MaskletError(
            f"{args.video}: empty frame range {args.start}..{stop} (the video has {source.frame_count} frames)"
        )
    return args.start, stop


def _create_project(path: Path, source: VideoSource) -> Document:
    info = source.info()
    return Document.create(path, dataclasses.replace(info, path=Path(info.path).resolve()))


@contextmanager
def _open_for_resume(
    args: argparse.Namespace, source: VideoSource
) -> Iterator[tuple[Document, TrackingRun, EngineOptions]]:
    """The project to continue, its run (``stop`` as ``--end`` changes it) and the engine options to use."""
    with Document.open(args.output) as doc:
        tracking, options = resume_plan(args, doc)
        video = doc.video
        if video is not None and (video.frame_count, video.width, video.height) != (
            source.frame_count, source.width, source.height
        ):
            raise MaskletError(f"{args.video}: not the video of {args.output} ({video.path})")
        yield doc, tracking, options


def resume_plan(args: argparse.Namespace, doc: Document) -> tuple[TrackingRun, EngineOptions]:
    """What ``--resume`` continues in ``doc``: its run (``stop`` as ``--end`` changes it) and the engine options
    (the stored ones; only ``--device`` may change). ``MaskletError`` when ``args`` ask for something else."""
    tracking = TrackingRun.load(doc)
    if tracking is None:
        raise MaskletError(f"{args.output}: not made by 'masklet track', nothing to resume")
    name, options = tracking.engine, tracking.options
    if args.engine not in (None, name):
        raise MaskletError(f"{args.output}: tracked with --engine {name}; resume cannot switch to {args.engine}")
    given = given_options(args)
    changed = [key for key, value in given.items() if key != "device" and value != getattr(options, key)]
    if changed:
        flags = ", ".join(EngineOptions.flag(key) for key in changed)
        raise MaskletError(f"{args.output}: resume uses the engine options stored in the project; leave out {flags}")
    if "device" in given:
        options = options.with_changes(device=given["device"])
    if args.end is not None:
        tracking = dataclasses.replace(tracking, stop=min(args.end, doc.video.frame_count))
    return tracking, options


def _parse_export(spec: str) -> tuple[Any, Path]:
    """``FMT:OUT`` → (exporter, output path); unknown formats and outputs that cannot be written fail before
    tracking starts."""
    from exporters import registry
    from exporters.base import check_destination

    fmt, sep, out = spec.partition(":")
    if not sep or not fmt or not out:
        raise MaskletError(f"--export {spec!r}: expected FMT:OUT, e.g. mot:out/gt.txt")
    exporter = registry.get(fmt)
    check_destination(out)
    return exporter, Path(out)


def _saved(run: TrackingRun) -> str:
    """The frames a run has saved, in words."""
    count = run.next_frame - run.start
    return f"{count} frames ({run.start}..{run.next_frame - 1})" if count else "0 frames"


def _print_resume_hint(args: argparse.Namespace, done: TrackingRun) -> None:
    command = shlex.join(["masklet", "track", str(args.video), "-o", str(args.output), "--resume"])
    print(
        f"masklet: interrupted; frames {done.start}..{done.next_frame - 1} are saved in {args.output}.\n"
        f"Resume with: {command}",
        file=sys.stderr,
    )

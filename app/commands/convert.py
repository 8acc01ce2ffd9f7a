"""``masklet convert IN OUT --from FMT --to FMT``: convert labels between formats, without a project or video
(the image size and frame count come from the input where it has them)."""
from __future__ import annotations

import argparse
from pathlib import Path

from app.commands.export import add_write_arguments, write_options
from app.commands.import_labels import add_read_arguments, read_options
from exporters import registry


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("convert", help="convert labels between MOT, MOTS, COCO-VID and YOLO")
    parser.add_argument("input", type=Path, help="label file or folder")
    parser.add_argument("output", type=Path, help="output file or folder")
    parser.add_argument("--from", dest="source_format", choices=registry.names(),
                        help="input format (default: guessed)")
    parser.add_argument("--to", dest="target_format", choices=registry.names(), required=True, help="output format")
    parser.add_argument("--image-size", type=image_size, metavar="WxH",
                        help="image size when the input does not give it (YOLO input, YOLO output from MOT txt)")
    add_read_arguments(parser)
    add_write_arguments(parser)
    parser.set_defaults(func=run)


def image_size(text: str) -> tuple[int, int]:
    """``"1280x720"`` → ``(1280, 720)``."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 1280x720, not {text!r}") from None
    if width <= 0 or height <= 0:
        raise argparse.ArgumentTypeError(f"image size must be positive, not {text!r}")
    return width, height


def run(args: argparse.Namespace) -> int:
    from exporters.base import read_report

    source = args.source_format or registry.guess_format(args.input)
    doc = registry.get(source).read(args.input, None, **read_options(args))
    try:
        if doc.video is None and args.image_size is not None:
            from tracker.video_info import DEFAULT_FPS, VideoInfo

            span = doc.frame_range()
            width, height = args.image_size
            doc.set_video(VideoInfo(args.input, args.input.stem, 0 if span is None else span[1] + 1, DEFAULT_FPS,
                                    width, height))
        print(read_report(doc).summary())
        print(registry.get(args.target_format).write(doc, args.output, **write_options(args)).summary())
    finally:
        doc.close()
    return 0

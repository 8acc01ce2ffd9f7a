"""``masklet export PROJECT --format FMT -o OUT``: write a project's labels in a label format."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from exporters import registry
from tracker.errors import MaskletError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="write a project's labels as MOT, MOTS, COCO-VID, YOLO or CVAT")
    parser.add_argument("project", type=Path, help=".masklet project")
    parser.add_argument("--format", "-f", dest="target_format", required=True, choices=registry.names(),
                        help="label format")
    parser.add_argument("--output", "-o", type=Path, required=True,
                        help="output file or folder (mot, yolo: a folder; mot-results, mots, cocovid: a file)")
    parser.add_argument("--start", type=int, default=0, help="first frame (0-based, inclusive)")
    parser.add_argument("--end", type=int, help="stop before this frame (0-based, exclusive, as in masklet track; default: the last)")
    parser.add_argument("--tracks", type=int_list, help="only these track ids, e.g. 1,4,7")
    parser.add_argument("--classes", nargs="+", metavar="CLASS", help="only tracks of these category names or ids")
    add_write_arguments(parser)
    parser.set_defaults(func=run)


def add_write_arguments(parser: argparse.ArgumentParser) -> None:
    """The writer options shared by ``export`` and ``convert``."""
    parser.add_argument("--class-map", metavar="FILE|A=B,…",
                        help="write category A as the format's class B (e.g. person=pedestrian); *=B for every name "
                             "the format cannot hold; a file of A=B lines works too")
    parser.add_argument("--clip", action="store_true",
                        help="clip boxes to the image (default: as they are; YOLO always clips) and report how many")
    parser.add_argument("--yolo-track-ids", action="store_true",
                        help="yolo: track id as a 6th label column (MOT-style YOLO) instead of the track_ids/ files")


def write_options(args: argparse.Namespace) -> dict[str, Any]:
    """Writer keyword options from parsed arguments."""
    from exporters.categories import parse_class_map

    options: dict[str, Any] = {"clip": args.clip, "class_map": parse_class_map(args.class_map) if args.class_map else None}
    if args.yolo_track_ids:
        if args.target_format != "yolo":
            raise MaskletError(f"--yolo-track-ids is for --format yolo, not {args.target_format}")
        options["track_id_column"] = True
    return options


def int_list(text: str) -> list[int]:
    """``"1,4,7"`` → ``[1, 4, 7]``."""
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, not {text!r}") from None


def run(args: argparse.Namespace) -> int:
    from app.document import Document, DocumentError

    if args.end is not None and args.end <= args.start:
        raise DocumentError(f"--end {args.end} leaves no frame after --start {args.start}")
    with Document.open(args.project, read_only=True) as doc:
        category_ids = None
        if args.classes:
            by_name = {name: cid for cid, name in doc.categories().items()}
            unknown = [c for c in args.classes if c not in by_name and not c.isdigit()]
            if unknown:
                raise DocumentError(f"{args.project}: no categories named {', '.join(unknown)} "
                                    f"(categories: {', '.join(by_name) or 'none'})")
            category_ids = [int(c) if c.isdigit() else by_name[c] for c in args.classes]
        report = registry.get(args.target_format).write(
            doc, args.output, frames=(args.start, args.end), track_ids=args.tracks,
            category_ids=category_ids, **write_options(args),
        )
    print(report.summary())
    return 0

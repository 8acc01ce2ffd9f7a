"""``masklet open [PATH]``: the annotation window, on a video, an image folder or a project."""
from __future__ import annotations

import argparse
from pathlib import Path

from tracker.errors import MaskletError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "open",
        help="open the annotation window (a video or image folder opens with its project, created if new)",
        description="Open Masklet's window. A video file, an image folder or a MOTChallenge sequence opens with "
        "its project: the .masklet file beside it (or in Masklet's data folder when that folder is read-only) is "
        "reopened, or created. Every change is saved as it is made.",
    )
    parser.add_argument("path", nargs="?", type=Path, help="video file, image folder, MOT sequence or .masklet project")
    parser.add_argument("--frame", type=int, metavar="N",
                        help="start at frame N (0-based; default: the frame the project was closed at)")
    parser.add_argument(
        "--screenshot", type=Path, metavar="PNG", help="save a screenshot of the window once it is shown, then exit"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.path is not None and not args.path.exists():
        raise MaskletError(f"{args.path}: no such file or folder")
    from app.gui.display import check_display

    check_display()  # before Qt, which aborts the process when its platform plugin cannot load
    from app.gui.application import run_app

    return run_app(args.path, frame=args.frame, screenshot=args.screenshot)

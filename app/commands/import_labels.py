"""``masklet import LABELS --video VIDEO -o PROJECT``: a new project from existing labels (MOT, MOTS,
COCO-VID, YOLO) and the video they annotate."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from exporters import registry


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("import", help="create a project from MOT, MOTS, COCO-VID, YOLO or CVAT labels")
    parser.add_argument("labels", type=Path, help="label file or folder")
    parser.add_argument("--format", "-f", choices=registry.names(), help="label format (default: guessed)")
    parser.add_argument("--video", type=Path, required=True, help="video file, image folder or MOT sequence")
    parser.add_argument("--output", "-o", type=Path, required=True, help="the new .masklet project")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing project")
    add_read_arguments(parser)
    parser.set_defaults(func=run)


def add_read_arguments(parser: argparse.ArgumentParser) -> None:
    """The reader options shared by ``import`` and ``convert``."""
    parser.add_argument("--frame-base", type=int, choices=(0, 1),
                        help="frame numbering of text labels (default: 0 if a frame 0 exists, else 1)")
    parser.add_argument("--video-name", help="the video to read from a COCO-VID file with several")
    parser.add_argument("--classes", metavar="mot17|mot15|NAMES.txt",
                        help="class numbering of MOT/YOLO labels: mot17 (MOTChallenge MOT16/17/20 classes), mot15 "
                             "(no class column) or a names file, one per line (MOT: line 1 = class 1; YOLO: class 0); "
                             "default: labels.txt/classes.txt/data.yaml beside the labels, else 'class N'")


def read_options(args: argparse.Namespace) -> dict[str, Any]:
    """Reader keyword options from parsed arguments."""
    return {"frame_base": args.frame_base, "video_name": args.video_name,
            "image_size": getattr(args, "image_size", None), "classes": args.classes}


def run(args: argparse.Namespace) -> int:
    from app.document import PROJECT_SUFFIX, Document, DocumentError
    from app.project_lock import ProjectLock
    from exporters.base import read_report
    from tracker.video import VideoSource

    project: Path = args.output
    if project.suffix != PROJECT_SUFFIX:
        project = project.with_name(project.name + PROJECT_SUFFIX)
    if project.exists() and not args.overwrite:
        raise DocumentError(f"{project}: a file already exists there (use --overwrite)")
    if not project.parent.is_dir():
        raise DocumentError(f"{project}: folder {project.parent} does not exist")
    ProjectLock.acquire(project).release()  # refuse a read-only folder or a project being written before reading
    name = args.format or registry.guess_format(args.labels)
    with VideoSource.open(args.video) as source:
        video = source.info()
    doc = Document.in_memory(video)
    try:
        registry.get(name).read(args.labels, doc, **read_options(args))
        doc.save_as(project, overwrite=args.overwrite)  # written only now, atomically: a failed import leaves no project behind
        print(read_report(doc).summary())
        print(f"project: {project}")
    finally:
        doc.close()
    return 0

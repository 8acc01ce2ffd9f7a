"""``masklet info PATH``: what a video, image folder or project holds."""
from __future__ import annotations

import argparse
from pathlib import Path

from app.document import PROJECT_SUFFIX, Document


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info", help="show frames, fps and size of a video or folder, and the contents of a project"
    )
    parser.add_argument("path", type=Path, help="video file, image folder, MOTChallenge sequence or .masklet project")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.path.suffix == PROJECT_SUFFIX:
        print(describe_project(args.path))
    else:
        print(describe_video(args.path))
    return 0


def describe_video(path: Path) -> str:
    """Frames, fps and size of a video or image folder (warnings go to the log)."""
    from tracker.video import VideoSource

    with VideoSource.open(path) as source:
        return (
            f"{source.name}: {source.frame_count} frames, {source.fps:g} fps, {source.width}×{source.height}"
            f" ({path})"
        )


def describe_project(path: Path) -> str:
    """Video, tracks, observations, frame range and events of a project."""
    with Document.open(path, read_only=True) as doc:
        video = doc.video
        span = doc.frame_range()
        lines = [
            f"project: {path}",
            "video: none" if video is None else
            f"video: {video.path} ({video.frame_count} frames, {video.fps:g} fps, {video.width}×{video.height})",
            f"tracks: {len(doc.tracks())}",
            f"observations: {doc.observation_count()}"
            + ("" if span is None else f" (frames {span[0]}–{span[1]})"),
            f"events: {len(doc.events())}",
        ]
        engine = doc.get_meta("engine")
        if engine:
            lines.append(f"engine: {engine.get('name', engine) if isinstance(engine, dict) else engine}")
        return "\n".join(lines)

"""Where the project of a video lives, and opening videos and projects as documents.

Opening a video always gives a project file, so that work is saved by construction: the project
beside the video (``highway.mp4`` → ``highway.masklet``; a folder ``seq/`` → ``seq.masklet``) is
reopened when it exists; otherwise it is created there, or — when that folder is not writable — in
Masklet's data folder under a name made unique by the video's path. "Save as" moves it anywhere.
A project that another process is writing, or that cannot be written here (read-only file, folder or
medium), opens read-only, and the session says why.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

from app.document import PROJECT_SUFFIX, Document, DocumentError
from app.project_lock import ProjectLockedError, ReadOnlyProjectError
from tracker.errors import VideoError
from tracker.video import VideoSource


@dataclass
class Session:
    """An open project and its video (``source`` is None when the video cannot be found);
    ``read_only_reason`` says why the project was opened read-only (None: it can be edited)."""

    doc: Document
    source: VideoSource | None
    created: bool = False
    read_only_reason: str | None = None

    def close(self) -> None:
        if self.source is not None:
            self.source.close()
        self.doc.close()


def beside_path(video: Path) -> Path:
    """The project file next to a video file or folder."""
    video = video.resolve()
    stem = video.name if video.is_dir() else video.stem
    return video.parent / f"{stem}{PROJECT_SUFFIX}"


def data_path(video: Path, data_dir: Path) -> Path:
    """The project file of a video in Masklet's data folder (unique per video path)."""
    video = video.resolve()
    digest = hashlib.sha1(str(video).encode()).hexdigest()[:8]
    stem = video.name if video.is_dir() else video.stem
    return data_dir / f"{stem}-{digest}{PROJECT_SUFFIX}"


def _annotates(project: Path, video: Path) -> bool:
    """Whether an existing project file is the project of ``video`` (a project beside a video of the
    same file name counts: the two were moved together)."""
    try:
        with Document.open(project, read_only=True) as doc:
            info = doc.video
    except DocumentError:
        return False
    if info is None:
        return False
    recorded = Path(info.path)
    return recorded.resolve() == video.resolve() or (project == beside_path(video) and recorded.name == video.name)


def project_path_for(video: Path, data_dir: Path, *, beside: bool = True) -> Path:
    """The project of ``video``: an existing one beside it or in ``data_dir``; else a new path, beside
    the video when ``beside`` and its folder is writable, else in ``data_dir``."""
    candidates = [beside_path(video), data_path(video, data_dir)] if beside else [data_path(video, data_dir)]
    for candidate in candidates:
        if candidate.is_file() and _annotates(candidate, video):
            return candidate
    near = beside_path(video)
    if beside and not near.exists() and os.access(near.parent, os.W_OK):
        return near
    return data_path(video, data_dir)


def open_video(video: Path, data_dir: Path, *, beside: bool = True, cache_size: int = 32) -> Session:
    """Open a video or image folder with its project (created if new)."""
    source = VideoSource.open(video, cache_size=cache_size)
    try:
        path = project_path_for(video, data_dir, beside=beside)
        if path.is_file():
            doc, reason = open_document(path)
            return Session(doc, source, read_only_reason=reason)
        path.parent.mkdir(parents=True, exist_ok=True)
        info = source.info()  # with an absolute path: a project must find its video from anywhere
        return Session(Document.create(path, replace(info, path=Path(info.path).resolve())), source, created=True)
    except BaseException:
        source.close()
        raise


def open_document(path: Path) -> tuple[Document, str | None]:
    """A project opened for editing or, when another process writes it or it cannot be written here,
    read-only, with the reason."""
    try:
        return Document.open(path), None
    except (ProjectLockedError, ReadOnlyProjectError) as exc:
        return Document.open(path, read_only=True), str(exc)


def open_project(path: Path, cache_size: int = 32) -> Session:
    """Open a project and, when it can be found, its video."""
    doc, reason = open_document(path)
    video = doc.resolve_video_path()
    try:
        source = None if video is None else VideoSource.open(video, cache_size=cache_size)
    except VideoError:
        source = None
    return Session(doc, source, read_only_reason=reason)

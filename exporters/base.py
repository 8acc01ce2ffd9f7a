"""What every label format shares: errors, reports, atomic files and folders, and the reading half: the
``Reader`` protocol, integer columns, frame numbering, categories and storing what was read (the writing half
is ``exporters.writing``; MOTChallenge text tables are read by ``tracker.mot_files``).

Conventions of all readers: a malformed file raises ``FormatError`` naming the file and line; a
``ReadReport`` (what was read, the frame base used, warnings) is stored in the document's ``import``
meta; rows without identities (``det.txt``, YOLO files without the track column) are detections, not
tracks, and go to the ``detections`` meta (see ``store`` and ``load_detections``).
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from app.document import Document
from app.model import AnnotationModel, ObservationArrays
from exporters.categories import placeholder
from tracker.detections import Detections
from tracker.errors import FormatError, MaskletError, os_error
from tracker.mot_files import detected_frame_base, line_of_row
from tracker.files import remove, remove_leftovers, temp_path
from tracker.geometry import MAX_IMAGE_SIDE, rle_problem
from tracker.video_info import VideoInfo

_log = logging.getLogger(__name__)

FrameRange = tuple[int, int | None]
"""A half-open 0-based frame range ``(start, stop)``: frames ``start`` to ``stop - 1``; ``stop=None``: to the last
frame."""
MAX_EXACT_INTEGER = 2**53
"""Integers read as text numbers are kept exactly below this size."""
MAX_FRAMES = 1_000_000
"""The most frames labels may span without a video that long (9 hours at 30 fps): frame numbers are bounded so
that memory follows the data, never a number in it."""


def frame_limit(video: VideoInfo | None) -> int:
    """Frames ``0 … frame_limit - 1`` may hold labels: those of a video, and at least ``MAX_FRAMES``."""
    return max(MAX_FRAMES, video.frame_count if video is not None else 0)


class ExportError(MaskletError):
    """A document cannot be written in a format (missing output folder, ids the format cannot encode…)."""


@dataclass
class ReadOptions:
    """Options a reader may use (each ignores the ones it has no use for)."""

    frame_base: int | None = None  # 0 or 1; None: detect (a frame 0 present → 0-based)
    video_name: str | None = None  # which video of a multi-video file
    image_size: tuple[int, int] | None = None  # (width, height) when neither file nor document gives it
    classes: str | None = None  # class numbering: mot17, mot15 or a names file (see exporters.categories)

    def __post_init__(self) -> None:
        if self.frame_base not in (None, 0, 1):
            raise ValueError(f"frame_base must be 0 or 1, not {self.frame_base!r}")


@dataclass
class Report:
    """Counts and warnings of one read or write; warnings are also logged."""

    format: str
    path: str
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        _log.warning("%s: %s", self.path, message)
        self.warnings.append(message)


@dataclass
class WriteReport(Report):
    """What a writer did."""

    boxes: int = 0  # observations written
    files: int = 0
    clipped: int = 0  # boxes clipped to the image
    dropped: int = 0  # boxes left out: invalid or entirely outside the image
    skipped: int = 0  # observations the format cannot hold (e.g. no mask for MOTS)
    empty_tracks: int = 0  # selected tracks without any observation

    def summary(self) -> str:
        extras = [
            f"{value} {label}" for value, label in (
                (self.clipped, "clipped to the image"), (self.dropped, "dropped"),
                (self.skipped, "skipped"), (self.empty_tracks, "empty tracks left out"),
            ) if value
        ]
        return f"wrote {self.boxes} boxes to {self.path} ({self.format})" + (f"; {', '.join(extras)}" if extras else "")


@dataclass
class ReadReport(Report):
    """What a reader did; stored in the document's ``import`` meta."""

    observations: int = 0
    tracks: int = 0
    detections: int = 0
    frame_base: int | None = None  # the numbering of the file (text formats)
    frame_evidence: str | None = None  # why that numbering
    id_offset: int = 0  # added to the file's ids when they collided with the document's tracks
    classes: str | None = None  # where the class names came from

    def summary(self) -> str:
        parts = [f"{self.observations} observations", f"{self.tracks} tracks"]
        if self.detections:
            parts.append(f"{self.detections} detections")
        if self.frame_base is not None:
            parts.append(f"frames {self.frame_base}-based")
        if self.id_offset:
            parts.append(f"ids shifted by {self.id_offset}")
        if self.classes:
            parts.append(f"class names from {self.classes}")
        return f"read {', '.join(parts)} from {self.path} ({self.format})"


class Reader(Protocol):
    """A format's ``read``: a label file or folder into ``doc`` (a new in-memory document when None), in one
    transaction; ``options`` are ``ReadOptions``' fields; malformed input is a ``FormatError``."""

    def __call__(self, path: str | Path, doc: Document | None = None, **options: object) -> Document: ...


def read_report(doc: AnnotationModel) -> ReadReport | None:
    """The report of the last import into ``doc``."""
    value = doc.get_meta("import")
    return None if value is None else ReadReport(**value)


# --------------------------------------------------------------------------- atomic files and folders
def _check_parent(path: Path) -> None:
    """Refuse an output whose folder is missing or cannot be written, before anything is computed or written."""
    if not path.parent.is_dir():
        raise ExportError(f"{path}: folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK):
        raise ExportError(f"{path}: folder {path.parent} cannot be written (read-only or no permission)")


def check_destination(path: str | Path) -> None:
    """What a writer checks before it starts: the output's folder exists and can be written."""
    _check_parent(Path(path))


def _write_error(path: Path, exc: OSError) -> ExportError:
    """A failed write as one line naming the output and why ("disk full", "permission denied"…)."""
    return ExportError(str(os_error(exc, path)))


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; on success it replaces ``path``, on failure it is removed.
    Temporary files that killed runs left for ``path`` are removed first."""
    path = Path(path)
    _check_parent(path)
    remove_leftovers(path)
    temp = temp_path(path)
    try:
        yield temp
        os.replace(temp, path)
    except OSError as exc:
        raise _write_error(path, exc) from None
    finally:
        remove(temp)


def write_text(path: str | Path, text: str) -> None:
    """Write a text file atomically (never a partial file)."""
    with atomic_file(path) as temp:
        temp.write_text(text, encoding="utf-8")


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """An empty temporary folder beside ``path`` to fill; on success its content replaces that of ``path``.

    A new folder appears in one rename. In an existing folder each entry written (a file, or a folder such as
    ``labels/``) replaces the entry of that name as a whole, in one rename: nothing of a previous export is
    left inside it, and entries not written (a sequence folder's images) stay. On failure nothing changes.
    Temporary files and folders that killed runs left for ``path`` and its entries are removed first.
    """
    path = Path(path)
    _check_parent(path)
    if path.exists() and not path.is_dir():
        raise ExportError(f"{path}: a file is in the way of the output folder")
    remove_leftovers(path)
    temp = temp_path(path)
    try:
        temp.mkdir()
        yield temp
        if not path.exists():
            os.rename(temp, path)
            return
        for entry in sorted(temp.iterdir()):
            _replace_entry(entry, path / entry.name)
    except OSError as exc:
        raise _write_error(path, exc) from None
    finally:
        remove(temp)


def _replace_entry(source: Path, target: Path) -> None:
    """Put ``source`` in the place of ``target`` (a file or a whole folder), the old one out of the way first."""
    remove_leftovers(target)
    if os.path.lexists(target) and (source.is_dir() or (target.is_dir() and not target.is_symlink())):
        old = temp_path(target)
        os.rename(target, old)
        os.rename(source, target)
        remove(old)
    else:
        os.replace(source, target)


# --------------------------------------------------------------------------- reading text tables
def integer_column(table: np.ndarray, column: int, path: Path, name: str) -> np.ndarray:
    """A table column that must hold integers, as int64."""
    values = table[:, column]
    bad = np.flatnonzero(~np.isfinite(values) | (values != np.round(values)))
    if bad.size:
        raise FormatError(path, f"{name} must be an integer, not {values[bad[0]]:g}", line_of_row(path, int(bad[0])))
    huge = np.flatnonzero(np.abs(values) >= MAX_EXACT_INTEGER)
    if huge.size:
        raise FormatError(path, f"{name} {values[huge[0]]:.0f} is too large to keep exactly (below 2^53)",
                          line_of_row(path, int(huge[0])))
    return values.astype(np.int64)


def is_integer(value: Any) -> bool:
    """A json integer (not a boolean) that fits in 64 bits."""
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def is_number(value: Any) -> bool:
    """A finite json number (not a boolean)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(float(value)))


def first_duplicate(frame: np.ndarray, track_id: np.ndarray) -> int | None:
    """Index of the first row repeating an earlier row's (frame, track id), or None."""
    if len(frame) < 2:
        return None
    key = _pair_key(frame, track_id)
    if (np.diff(key) > 0).all():  # the usual sorted file: no duplicate, no sort needed
        return None
    order = np.argsort(key, kind="stable")
    repeated = order[1:][np.diff(key[order]) == 0]
    return int(repeated.min()) if repeated.size else None


def _pair_key(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One int64 per (a, b) pair, ordered like the pairs."""
    low = int(b.min()) if len(b) else 0
    span = (int(b.max()) - low + 1) if len(b) else 1
    return (a - int(a.min() if len(a) else 0)) * span + (b - low)


def zero_based_frames(frames: np.ndarray, options: ReadOptions, report: ReadReport, path: Path, *,
                      limit: int = MAX_FRAMES, line: Callable[[int], int | None] | None = None) -> np.ndarray:
    """Convert a file's frame numbers to 0-based: 1-based unless ``options.frame_base`` says otherwise or a
    frame 0 is present (then 0-based, with a warning). The base used goes into ``report``. Frames before 0 or
    from ``limit`` on (see ``frame_limit``) are refused, naming the line of row ``i`` (``line(i)``)."""
    base = options.frame_base
    if base is not None:
        report.frame_evidence = "given"
    else:
        zeros = int((frames == 0).sum())
        base = detected_frame_base(frames)
        report.frame_evidence = f"{zeros} rows in frame 0" if zeros else "no frame 0"
        if base == 0:
            report.warn("frames are numbered from 0: read as 0-based (use --frame-base 1 to force 1-based)")
    report.frame_base = base
    converted = frames - base
    if converted.size and converted.min() < 0:
        row = int(converted.argmin())
        raise FormatError(path, f"frame {frames[row]} does not exist in a {base}-based file (see --frame-base)",
                          line and line(row))
    if converted.size and converted.max() >= limit:
        row = int(converted.argmax())
        raise FormatError(path, f"frame {frames[row]} is too large: labels may use frames up to {limit - 1 + base} "
                                "(a video's frames, and at least that many without one)", line and line(row))
    return converted


# --------------------------------------------------------------------------- reading: into a document
def described_video(file: Path, folder: Path, name: str, frame_count: Any, fps: Any, width: Any, height: Any) -> VideoInfo:
    """The video a label file describes (a ``seqinfo.ini``, a json's image sizes), its values checked:
    ``FormatError`` naming ``file`` for a frame count beyond ``MAX_FRAMES``, a size that is no image's or a frame
    rate that is not a positive number."""
    for key, value in (("frame count", frame_count), ("width", width), ("height", height)):
        if not is_integer(value):
            raise FormatError(file, f"the video's {key} must be an integer, not {value!r}")
    if not 0 <= frame_count <= MAX_FRAMES:
        raise FormatError(file, f"the video's frame count {frame_count} is not 0–{MAX_FRAMES}")
    if not (0 < width <= MAX_IMAGE_SIDE and 0 < height <= MAX_IMAGE_SIDE):
        raise FormatError(file, f"image size {width}×{height} is no image's (1–{MAX_IMAGE_SIDE} pixels a side)")
    if not is_number(fps) or fps <= 0:
        raise FormatError(file, f"the frame rate {fps!r} is not a positive number")
    return VideoInfo(path=folder, name=name, frame_count=frame_count, fps=float(fps), width=width, height=height)


def ensure_category(doc: Document, category_id: int, name: str) -> int:
    """The document's id for a file's category: the category of that name if the document has one, else a new
    category with the file's id when that id is free, else with a new id."""
    existing = doc.categories()
    by_name = {n: c for c, n in existing.items()}
    if name in by_name:
        return by_name[name]
    if category_id in existing:
        return doc.category_id(name)
    doc.add_category(name, category_id)
    return category_id


def document_categories(doc: Document, file_category: np.ndarray, names: Mapping[int, str]) -> np.ndarray:
    """Per row, the document's category id for the file's category id (``ensure_category``; names from
    ``names``, else the placeholder ``class N``); ids ≤ 0 mean none and become -1."""
    result = np.full(len(file_category), -1, np.int64)
    for class_id in np.unique(file_category[file_category > 0]).tolist():
        result[file_category == class_id] = ensure_category(doc, class_id, names.get(class_id, placeholder(class_id)))
    return result


def store(
    doc: Document | None,
    rows: ObservationArrays,
    track_categories: dict[int, int | None],
    report: ReadReport,
    video: VideoInfo | None = None,
    detections: Detections | None = None,
) -> Document:
    """Put what a reader parsed into ``doc`` (a new in-memory document when None) in one transaction.

    Tracks get their categories; ids that collide with the document's tracks are all shifted above them;
    the video is set when the document has none; detections go to the ``detections`` meta (not tracks);
    the report goes into the ``import`` meta.
    """
    doc = doc if doc is not None else Document.in_memory()
    limit = frame_limit(doc.video)
    if doc.video is None and video is not None and video.frame_count > limit:
        raise FormatError(report.path, f"describes a video of {video.frame_count} frames, more than the {limit} "
                                       "labels may span without the video")
    validate(rows, detections, report.path, doc.video or video, limit)
    with doc.transaction():
        if doc.video is None and video is not None:
            doc.set_video(video)
        elif doc.video is not None and len(rows) and rows.frame.max() >= doc.video.frame_count:
            report.warn(f"frames up to {rows.frame.max()} exceed the video's {doc.video.frame_count} frames")
        existing = {t.id for t in doc.tracks()}
        if existing & set(track_categories):
            report.id_offset = doc.next_track_id() - min(track_categories)
            report.warn(f"track ids collide with the document's: shifted by {report.id_offset}")
            track_categories = {tid + report.id_offset: cid for tid, cid in track_categories.items()}
            rows = ObservationArrays(rows.frame, rows.track_id + report.id_offset, rows.box, rows.score,
                                     rows.visibility, rows.masks)
        for track_id, category_id in sorted(track_categories.items()):
            doc.add_track(track_id, category_id)
        doc.add_observation_arrays(rows)
        if detections is not None and len(detections):
            doc.set_meta("detections", {
                "source": report.path, "frame": detections.frame.tolist(), "box": detections.xywh.tolist(),
                "score": detections.conf.tolist(), "category": detections.cls.tolist(),
            })
            report.detections = len(detections)
            report.warn(f"{len(detections)} rows without a track id kept as detections (document meta 'detections')")
        report.observations += len(rows)
        report.tracks += len(track_categories)
        doc.set_meta("import", asdict(report))
    return doc


def validate(rows: ObservationArrays, detections: Detections | None, path: str | Path,
             video: VideoInfo | None, limit: int | None = None) -> None:
    """Refuse what a project could store but no export could write back: frames before 0 or from ``limit`` on
    (default: ``frame_limit(video)``), boxes, scores and visibilities that are not finite numbers, track ids
    outside 0 … 2^63 - 1 (not counting detections), and masks that are not decodable or not the video's size."""
    frames = np.concatenate([rows.frame, detections.frame if detections is not None else np.empty(0, np.int64)])
    if frames.size and frames.min() < 0:
        raise FormatError(path, f"frame {frames.min()} is before the first frame (frames count from 0)")
    limit = frame_limit(video) if limit is None else limit
    if frames.size and frames.max() >= limit:
        raise FormatError(path, f"frame {frames.max()} (0-based) is too large: labels may use frames 0–{limit - 1} "
                                "(a video's frames, and at least that many without one)")
    for name, values, frame, track in (
        ("box", rows.box, rows.frame, rows.track_id), ("score", rows.score, rows.frame, rows.track_id),
        ("visibility", rows.visibility, rows.frame, rows.track_id),
        *((("box", detections.xywh, detections.frame, None), ("score", detections.conf, detections.frame, None))
          if detections is not None else ()),
    ):
        finite = np.isfinite(values) if values.ndim == 1 else np.isfinite(values).all(axis=1)
        if not finite.all():
            row = int(np.flatnonzero(~finite)[0])
            what = f"frame {frame[row]}" + ("" if track is None else f", track {track[row]}")
            raise FormatError(path, f"{what}: {name} {values[row].tolist()} is not finite")
    if len(rows) and rows.track_id.min() < 0:
        raise FormatError(path, f"track id {rows.track_id.min()} is negative")
    for frame, track_id, mask in zip(rows.frame.tolist(), rows.track_id.tolist(), rows.masks or ()):
        if mask is None:
            continue
        problem = rle_problem(mask)
        if problem is None and video is not None and (mask.height, mask.width) != (video.height, video.width):
            problem = f"mask size {mask.width}×{mask.height} is not the video's {video.width}×{video.height}"
        if problem is not None:
            raise FormatError(path, f"frame {frame}, track {track_id}: {problem}")


def track_categories(track_id: np.ndarray, category: np.ndarray, report: ReadReport) -> dict[int, int | None]:
    """Track id → category id (None for -1) from per-row values; a track with several categories takes its
    most frequent one (warned)."""
    _, first, counts = np.unique(_pair_key(track_id, category), return_index=True, return_counts=True)
    result: dict[int, int | None] = {}
    mixed = 0
    for row in first[np.argsort(counts, kind="stable")].tolist():
        tid, cid = int(track_id[row]), int(category[row])
        mixed += tid in result
        result[tid] = None if cid < 0 else cid
    if mixed:
        report.warn(f"{mixed} tracks change class; each keeps its most frequent one")
    return dict(sorted(result.items()))


def load_detections(doc: AnnotationModel) -> Detections | None:
    """The detections an import stored in ``doc``, or None."""
    value: dict[str, Any] | None = doc.get_meta("detections")
    if value is None:
        return None
    return Detections.from_xywh(np.array(value["frame"], np.int64), np.array(value["box"], np.float64).reshape(-1, 4),
                                np.array(value["score"], np.float64), np.array(value["category"], np.int64))

"""YOLO (Ultralytics) labels: a folder with ``data.yaml`` and ``labels/<frame>.txt`` per annotated frame.

Each label row is ``class cx cy w h track_id``: class is an index into ``names`` of ``data.yaml``,
the box is normalised to the image (centre, size), and the 6th column — the track id, as in
Ultralytics' tracking output — is written unless ``track_id_column=False`` (plain detection labels).
Label files are named after the 1-based frame number, 6 digits (``000001.txt``), like MOTChallenge
images. Writing needs the image size (the document's video).

Reading takes such a folder (or the ``labels`` folder itself); frame numbers are the trailing digits of
the file names (1-based unless a ``0`` file exists or ``frame_base`` says); the image size comes from
the ``image_size`` option or the document's video (else ``FormatError``); classes become categories by
name; rows without the track column are detections (document meta ``detections``), not tracks.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import yaml

from app.document import Document, ObservationArrays
from exporters.base import (
    Detections,
    ExportError,
    FormatError,
    FrameRange,
    ReadOptions,
    ReadReport,
    WriteReport,
    atomic_dir,
    first_duplicate,
    format_lines,
    frame_groups,
    integer_column,
    line_of_row,
    read_table,
    select,
    store,
    track_categories,
    zero_based_frames,
)
from tracker.video import DEFAULT_FPS, VideoInfo

NAME = "yolo"
DESCRIPTION = "YOLO labels: data.yaml + labels/<frame>.txt of 'class cx cy w h track_id' (normalised)"

UNCATEGORISED = "object"
_TRAILING_NUMBER = re.compile(r"(\d+)$")


def detect(path: Path) -> bool:
    """A folder with ``data.yaml`` or ``labels/``."""
    return path.is_dir() and ((path / "data.yaml").is_file() or (path / "labels").is_dir())


def write(
    doc: Document,
    out_path: str | Path,
    *,
    frames: FrameRange | None = None,
    track_ids: list[int] | None = None,
    category_ids: list[int] | None = None,
    track_id_column: bool = True,
) -> WriteReport:
    """Write the folder ``out_path`` (``data.yaml`` and ``labels/``) atomically."""
    report = WriteReport(NAME, str(out_path))
    selection = select(doc, report, frames=frames, track_ids=track_ids, category_ids=category_ids)
    if selection.image_size is None:
        raise ExportError(f"{out_path}: YOLO boxes are relative to the image size, and the document has no video")
    width, height = selection.image_size
    rows = selection.rows
    names = list(selection.categories.values())
    index = np.searchsorted(np.fromiter(selection.categories, np.int64, len(names)), selection.category)
    if (selection.category < 0).any():
        index[selection.category < 0] = len(names)
        names.append(UNCATEGORISED)
    box = rows.box
    columns = [index, (box[:, 0] + box[:, 2] / 2) / width, (box[:, 1] + box[:, 3] / 2) / height,
               box[:, 2] / width, box[:, 3] / height] + ([rows.track_id] if track_id_column else [])
    lines = format_lines("%d %s %s %s %s" + (" %d" if track_id_column else ""), columns)
    groups = frame_groups(rows.frame)
    data = {"names": dict(enumerate(names)), "nc": len(names), "track_id_column": track_id_column}
    with atomic_dir(out_path) as temp:
        (temp / "labels").mkdir()
        for start, end in groups:
            text = "\n".join(lines[start:end]) + "\n"
            (temp / "labels" / f"{rows.frame[start] + 1:06d}.txt").write_text(text, encoding="utf-8")
        (temp / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    report.boxes, report.files = len(rows), len(groups) + 1
    return report


def read(path: str | Path, doc: Document | None = None, **options: object) -> Document:
    """Read a YOLO labels folder into ``doc`` (or a new in-memory document)."""
    path = Path(path)
    opts = ReadOptions(**options)  # type: ignore[arg-type]
    labels = path / "labels" if (path / "labels").is_dir() else path
    if not labels.is_dir():
        raise FormatError(path, "not a YOLO labels folder")
    report = ReadReport(NAME, str(path))
    video = doc.video if doc is not None else None
    size = opts.image_size or (video and (video.width, video.height))
    if not size:
        raise FormatError(path, "YOLO boxes are relative to the image size: give the video or --image-size")
    names = _names(labels)
    numbers, tables, ids = [], [], []
    for file in sorted(labels.glob("*.txt")):
        match = _TRAILING_NUMBER.search(file.stem)
        if match is None:
            raise FormatError(file, "the file name does not end in a frame number")
        table = read_table(file, min_columns=5, delimiter=None)
        if table.shape[1] > 6:
            raise FormatError(file, f"expected 5 or 6 fields (class cx cy w h [track_id]), found {table.shape[1]}",
                              line_of_row(file, 0))
        integer_column(table, 0, file, "class")
        track = integer_column(table, 5, file, "track id") if table.shape[1] == 6 else np.full(len(table), -1)
        duplicate = first_duplicate(np.zeros(len(track), np.int64), track) if table.shape[1] == 6 else None
        if duplicate is not None:
            raise FormatError(file, f"second box for track {track[duplicate]}", line_of_row(file, duplicate))
        numbers.append(int(match.group(1)))
        tables.append(table[:, :5])
        ids.append(track)
    file_frames = zero_based_frames(np.array(numbers, np.int64), opts, report, labels)
    frame = np.repeat(file_frames, [len(t) for t in tables])
    table = np.concatenate(tables) if tables else np.empty((0, 5))
    track_id = np.concatenate(ids) if ids else np.empty(0, np.int64)
    width, height = size
    w, h = table[:, 3] * width, table[:, 4] * height
    box = np.stack([table[:, 1] * width - w / 2, table[:, 2] * height - h / 2, w, h], axis=1)
    cls = table[:, 0].astype(np.int64)
    doc = doc if doc is not None else Document.in_memory()
    with doc.transaction():
        category = np.full(len(cls), -1, np.int64)
        for class_index in np.unique(cls).tolist():
            category[cls == class_index] = doc.category_id(names.get(class_index, f"class {class_index}"))
        tracked = track_id >= 0
        count, untracked = int(tracked.sum()), int((~tracked).sum())
        rows = ObservationArrays(frame[tracked], track_id[tracked], box[tracked], np.ones(count), np.ones(count))
        detections = Detections(frame[~tracked], box[~tracked], np.ones(untracked), category[~tracked])
        described = VideoInfo(path=path, name=path.name, frame_count=int(frame.max()) + 1 if len(frame) else 0,
                              fps=DEFAULT_FPS, width=int(width), height=int(height))
        return store(doc, rows, track_categories(track_id[tracked], category[tracked], report), report, described,
                     detections)


def _names(labels: Path) -> dict[int, str]:
    """Class index → name from ``data.yaml`` beside or above the labels folder (``{}`` without one)."""
    for folder in (labels, labels.parent):
        if (folder / "data.yaml").is_file():
            file = folder / "data.yaml"
            try:
                data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                raise FormatError(file, f"invalid yaml ({getattr(exc, 'problem', exc)})",
                                  None if mark is None else mark.line + 1) from None
            names = data.get("names", {}) if isinstance(data, dict) else {}
            if isinstance(names, list):
                names = dict(enumerate(names))
            if not isinstance(names, dict):
                raise FormatError(file, "'names' must be a list or a mapping of class index to name")
            return {int(k): str(v) for k, v in names.items()}
    return {}

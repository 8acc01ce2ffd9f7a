"""YOLO (Ultralytics) dataset: ``data.yaml``, ``images/``, ``labels/`` and the track-id sidecar ``track_ids/``.

Written so that Ultralytics trains on it as it is: ``labels/<frame>.txt`` rows are ``class cx cy w h``
(class an index into ``names``, the box normalised to the image and clipped to it, as Ultralytics requires;
clipped boxes are reported), ``images/<frame>.<ext>`` links to the video's image files or, for a video file,
its frames as JPEG, and ``data.yaml`` has ``path`` (the folder), ``train`` and ``val`` (both ``images``) and
``names``. Files are named after the 1-based frame number, 6 digits (``000001.txt``), like MOTChallenge images.
Track ids go to ``track_ids/<frame>.txt``: line k is the track of row k of ``labels/<frame>.txt``. With
``track_id_column`` they are written as a 6th label column instead (Ultralytics' tracking output, MOT-style
YOLO; Ultralytics' trainer rejects such labels). Writing needs the image size (the document's video).

Reading takes such a folder (or the ``labels`` folder itself); ``#`` starts a comment; frame numbers are the
trailing digits of the file names (1-based unless a ``0`` file exists or ``frame_base`` says); the image size
comes from the ``image_size`` option or the document's video (else ``FormatError``); class names from the
``classes`` option (a names file, line 1 = class 0), else ``data.yaml``, else ``classes.txt`` (X-AnyLabeling),
else ``class N``; track ids from ``track_ids/`` or the 6th column; rows without either are detections
(document meta ``detections``), not tracks.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import yaml

from app.document import Document
from app.model import AnnotationModel, ObservationArrays
from exporters.base import (
    MAX_EXACT_INTEGER,
    ExportError,
    FormatError,
    ReadOptions,
    ReadReport,
    WriteReport,
    first_duplicate,
    frame_limit,
    integer_column,
    is_integer,
    store,
    track_categories,
    zero_based_frames,
)
from exporters.writing import Selection, folder_writer, format_lines, frame_groups
from exporters.categories import XANYLABELING_CLASSES_FILE, ClassNames, read_numbering
from tracker.detections import Detections
from tracker.errors import VideoError
from tracker.mot_files import line_of_row, read_table
from tracker.opencv import cv2
from tracker.video import VideoSource
from tracker.video_info import DEFAULT_FPS, VideoInfo

NAME = "yolo"
OUTPUT_SUFFIX = ""  # what ``write`` makes: a dataset folder
DESCRIPTION = "YOLO dataset: data.yaml, images/, labels/<frame>.txt of 'class cx cy w h' (normalised), track_ids/"

TRACK_IDS = "track_ids"
_TRAILING_NUMBER = re.compile(r"(\d+)$")


def detect(path: Path) -> bool:
    """A folder with ``data.yaml`` or ``labels/``."""
    return path.is_dir() and ((path / "data.yaml").is_file() or (path / "labels").is_dir())


@folder_writer(NAME, clips=True)
def write(doc: AnnotationModel, selection: Selection, report: WriteReport, out_path: Path, folder: Path, *,
          track_id_column: bool = False) -> None:
    """Write the dataset folder ``out_path`` atomically. Boxes are always clipped (``clip`` is accepted for a
    uniform interface): YOLO coordinates lie in 0–1."""
    if selection.image_size is None:
        raise ExportError(f"{out_path}: YOLO boxes are relative to the image size, and the document has no video")
    width, height = selection.image_size
    rows = selection.rows
    names, index = selection.free_names()
    box = rows.box
    columns = [index, (box[:, 0] + box[:, 2] / 2) / width, (box[:, 1] + box[:, 3] / 2) / height,
               box[:, 2] / width, box[:, 3] / height] + ([rows.track_id] if track_id_column else [])
    lines = format_lines("%d %s %s %s %s" + (" %d" if track_id_column else ""), columns)
    groups = frame_groups(rows.frame)
    data = {"path": str(out_path.resolve()), "train": "images", "val": "images", "names": dict(enumerate(names)),
            TRACK_IDS: "column 6" if track_id_column else f"{TRACK_IDS}/"}
    for part in ("labels", "images") + (() if track_id_column else (TRACK_IDS,)):
        (folder / part).mkdir()
    for start, end in groups:
        stem = f"{rows.frame[start] + 1:06d}"
        (folder / "labels" / f"{stem}.txt").write_text("\n".join(lines[start:end]) + "\n", encoding="utf-8")
        if not track_id_column:
            (folder / TRACK_IDS / f"{stem}.txt").write_text(
                "".join(f"{tid}\n" for tid in rows.track_id[start:end].tolist()), encoding="utf-8")
    images = _write_images(doc, folder / "images", selection.first_frame, selection.last_frame, report)
    (folder / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    report.boxes, report.files = len(rows), len(groups) * (1 + (not track_id_column)) + images + 1


def _write_images(doc: AnnotationModel, folder: Path, first: int, last: int, report: WriteReport) -> int:
    """Frames ``first``–``last`` of the document's video into ``folder``: links to its image files, or JPEGs
    decoded from a video file. Returns the number written; a missing video is reported, not an error."""
    path = doc.resolve_video_path()
    try:
        source = VideoSource.open(path) if path is not None else None
    except VideoError as exc:
        source, path = None, f"{path} ({exc})"
    if source is None:
        report.warn(f"no images: the video {path} cannot be opened; put frame N's image in images/ as N.jpg "
                    "(1-based, 6 digits) before training")
        return 0
    with source:
        end = min(last + 1, source.frame_count)
        if end <= last:
            report.warn(f"frames {end}–{last} have labels but the video has only {source.frame_count} frames: "
                        "no images for them")
        for index in range(first, end):
            image = source.image_file(index)
            if image is not None:
                target = folder / f"{index + 1:06d}{image.suffix.lower()}"
                try:
                    os.symlink(image.resolve(), target)
                except OSError:  # no symlinks on this file system: copy
                    shutil.copyfile(image, target)
            else:
                ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(source[index], cv2.COLOR_RGB2BGR))
                if not ok:
                    raise ExportError(f"{path}: frame {index} cannot be encoded as JPEG")
                (folder / f"{index + 1:06d}.jpg").write_bytes(jpeg.tobytes())
    return max(end - first, 0)


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
    names = _names(labels, opts.classes)
    sidecar = labels.parent / TRACK_IDS
    numbers, tables, ids = [], [], []
    for file in sorted(labels.glob("*.txt")):
        match = _TRAILING_NUMBER.search(file.stem)
        if match is None:
            raise FormatError(file, "the file name does not end in a frame number")
        if len(match.group(1)) > len(str(MAX_EXACT_INTEGER)):
            raise FormatError(file, "the frame number of the file name is too large")
        table = read_table(file, min_columns=5, delimiter=None)
        if table.shape[1] > 6:
            raise FormatError(file, f"expected 5 or 6 fields (class cx cy w h [track_id]), found {table.shape[1]}",
                              line_of_row(file, 0))
        integer_column(table, 0, file, "class")
        track, where = _track_ids(table, file, sidecar / file.name)
        duplicate = first_duplicate(np.zeros(len(track), np.int64), track) if (track >= 0).all() else None
        if duplicate is not None:
            raise FormatError(where, f"second box for track {track[duplicate]}", line_of_row(where, duplicate))
        numbers.append(int(match.group(1)))
        tables.append(table[:, :5])
        ids.append(track)
    file_frames = zero_based_frames(np.array(numbers, np.int64), opts, report, labels, limit=frame_limit(video),
                                    line=None)
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
            category[cls == class_index] = doc.category_id(names.name(class_index))
        tracked = track_id >= 0
        count, untracked = int(tracked.sum()), int((~tracked).sum())
        rows = ObservationArrays(frame[tracked], track_id[tracked], box[tracked], np.ones(count), np.ones(count))
        detections = Detections.from_xywh(frame[~tracked], box[~tracked], np.ones(untracked), category[~tracked])
        described = VideoInfo(path=path, name=path.name, frame_count=int(frame.max()) + 1 if len(frame) else 0,
                              fps=DEFAULT_FPS, width=int(width), height=int(height))
        if names.source:
            report.classes = names.source
        return store(doc, rows, track_categories(track_id[tracked], category[tracked], report), report, described,
                     detections)


def _track_ids(table: np.ndarray, file: Path, sidecar: Path) -> tuple[np.ndarray, Path]:
    """A label file's track ids (from its 6th column, else its ``track_ids/`` file; -1: none) and the file
    they came from."""
    if table.shape[1] == 6:
        return integer_column(table, 5, file, "track id"), file
    if not sidecar.is_file():
        return np.full(len(table), -1, np.int64), file
    ids = read_table(sidecar, min_columns=1)
    if ids.shape[1] != 1 or len(ids) != len(table):
        raise FormatError(sidecar, f"expected one track id per row of {file} ({len(table)}), found {len(ids)} rows "
                                   f"of {ids.shape[1]} fields")
    return integer_column(ids, 0, sidecar, "track id"), sidecar


def _names(labels: Path, option: str | None) -> ClassNames:
    """Class index → name: the ``classes`` option, else ``data.yaml``, else ``classes.txt`` (beside or above the
    labels folder), else none."""
    folders = (labels, labels.parent)
    if option is None:
        for file in (folder / "data.yaml" for folder in folders):
            if file.is_file():
                return ClassNames(_yaml_names(file), str(file))
    sidecars = [(folder / XANYLABELING_CLASSES_FILE, 0) for folder in folders]
    return read_numbering(option, sidecars, ClassNames(None, ""), first_id=0)


def _yaml_names(file: Path) -> dict[int, str]:
    """Class index → name from a ``data.yaml``."""
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise FormatError(file, f"not a text file (byte {exc.start} is not UTF-8)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise FormatError(file, f"invalid yaml ({getattr(exc, 'problem', exc)})",
                          None if mark is None else mark.line + 1) from None
    names = data.get("names", {}) if isinstance(data, dict) else {}
    if isinstance(names, list):
        names = dict(enumerate(names))
    if not isinstance(names, dict):
        raise FormatError(file, "'names' must be a list or a mapping of class index to name")
    result = {}
    for key, value in names.items():
        index = key if is_integer(key) else int(key) if isinstance(key, str) and key.strip().isdigit() else None
        if index is None or not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise FormatError(file, f"'names' must map class indices to names, not {key!r} to {value!r}")
        result[index] = str(value)
    return result

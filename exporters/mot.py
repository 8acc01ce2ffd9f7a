"""MOTChallenge ground truth: a sequence folder with ``gt/gt.txt``, ``gt/labels.txt`` and ``seqinfo.ini``.

``gt.txt`` rows are ``frame,id,x,y,w,h,conf,class,visibility`` with 1-based frames. Writing: boxes exactly as
they are in the project (MOTChallenge ground truth extends past the image border; ``clip`` clips them and
reports how many), conf the observation's score (0 marks an ignored region), class the track's class in
MOTChallenge's numbering or in ``gt/labels.txt``'s (see ``exporters.categories``; -1 without a category),
visibility the observation's. ``seqinfo.ini`` describes the document's video.

The reader here reads every MOT txt (also for ``mot-results``): a sequence folder (``gt/gt.txt``, else
``gt.txt``), a gt or results txt, or ``det.txt``; ``#`` starts a comment.

- Frames: 1-based, unless a frame 0 is present (0-based, with a warning, recorded in the read report);
  the ``frame_base`` option forces either.
- conf → score, kept as it is (0: ignored region, -1: results without scores).
- class (column 8, value > 0) → the track's category, named by the ``classes`` option (``mot17``, ``mot15``:
  no classes, or a names file), else by ``labels.txt`` beside the file (CVAT MOT 1.1, class k = line k) or
  ``classes.txt`` (X-AnyLabeling, class k = line k + 1), else ``class N``. Only files of 8 or 9 columns have
  a class: 10 columns is MOT15's layout (columns 8–10 are world coordinates, -1 in results).
- visibility (column 9, 0–1) → the observation's visibility (1 otherwise).
- id -1: in ``det.txt``, or in a file whose ids are all -1, rows are detections, not tracks (the document's
  ``detections`` meta, ``exporters.base.load_detections``). In a ground-truth file, as CVAT and X-AnyLabeling
  write them, they are annotated boxes that belong to no track: each becomes a one-box track (reported).
- ``seqinfo.ini`` beside the file (or one folder up) gives the video when the document has none; its
  ``seqLength`` may exceed the annotated frames.
"""
from __future__ import annotations

import configparser
import io
from pathlib import Path

import numpy as np

from app.document import Document
from app.model import AnnotationModel, ObservationArrays
from exporters.base import (
    FormatError,
    ReadOptions,
    ReadReport,
    WriteReport,
    described_video,
    document_categories,
    first_duplicate,
    frame_limit,
    integer_column,
    store,
    track_categories,
    zero_based_frames,
)
from exporters.writing import Selection, folder_writer, format_rows
from exporters.categories import (
    CVAT_LABELS_FILE,
    MOT17_CLASSES,
    XANYLABELING_CLASSES_FILE,
    ClassNames,
    fixed_ids,
    placeholder_id,
    read_numbering,
)
from tracker.detections import Detections
from tracker.mot_files import line_of_row, read_seqinfo, read_table, sniff_delimiter
from tracker.video_info import DEFAULT_FPS, VideoInfo

NAME = "mot"
OUTPUT_SUFFIX = ""  # what ``write`` makes: a sequence folder
DESCRIPTION = "MOTChallenge ground truth: sequence folder with gt/gt.txt (frame,id,x,y,w,h,conf,class,visibility) and seqinfo.ini"

GT_ROW = "%d,%d,%s,%s,%s,%s,%s,%d,%s"


def detect(path: Path) -> bool:
    """A sequence folder or a comma-separated txt."""
    if path.is_dir():
        return sequence_file(path) is not None or (path / "seqinfo.ini").is_file()
    return path.suffix == ".txt" and sniff_delimiter(path) == ","


def sequence_file(folder: Path) -> Path | None:
    """The ground-truth txt of a sequence folder (``gt/gt.txt`` or ``gt.txt``), if any."""
    return next((p for p in (folder / "gt" / "gt.txt", folder / "gt.txt") if p.is_file()), None)


# --------------------------------------------------------------------------- writing
@folder_writer(NAME)
def write(doc: AnnotationModel, selection: Selection, report: WriteReport, out_path: Path, folder: Path) -> None:
    """Write a sequence folder ``out_path`` (``gt/gt.txt``, ``gt/labels.txt``, ``seqinfo.ini``) atomically."""
    rows = selection.rows
    class_of, labels = class_ids(selection, report)
    classes = np.array([class_of[c] for c in selection.category.tolist()], np.int64)
    gt = format_rows(GT_ROW, [rows.frame + 1, rows.track_id, *rows.box.T, rows.score, classes, rows.visibility])
    seqinfo = seqinfo_text(selection, out_path.name)
    (folder / "gt").mkdir()
    (folder / "gt" / "gt.txt").write_text(gt, encoding="utf-8")
    if labels is not None:
        (folder / "gt" / CVAT_LABELS_FILE).write_text("".join(f"{name}\n" for name in labels), encoding="utf-8")
    (folder / "seqinfo.ini").write_text(seqinfo, encoding="utf-8")
    report.boxes, report.files = len(rows), 2 + (labels is not None)


def class_ids(selection: Selection, report: WriteReport) -> tuple[dict[int, int], list[str] | None]:
    """Category id (-1: none) → MOT class, and the lines of ``labels.txt`` (None: the numbering is unknown).

    MOTChallenge's ids when every name is one of its classes (or a placeholder ``class N``, written as ``N``);
    otherwise, unless the class map's ``*`` names a MOTChallenge class for the rest, CVAT's numbering: the
    names in ``labels.txt``, class k = line k. No category: -1 (or the ``*`` name)."""
    named = {cid: name for cid, name in selection.names().items() if name is not None}
    unnamed = {n: name for name in named.values() if (n := placeholder_id(name)) is not None}
    foreign = [name for name in named.values() if name not in MOT17_CLASSES.values() and placeholder_id(name) is None]
    if foreign and selection.fallback is None:
        labels = list(dict.fromkeys(named.values()))
        report.warn(f"{', '.join(dict.fromkeys(foreign))}: not MOTChallenge classes, so class ids number the lines of "
                    f"gt/{CVAT_LABELS_FILE} (CVAT MOT 1.1)")
        numbering = dict(enumerate(labels, 1))
    else:
        numbering = {**unnamed, **MOT17_CLASSES}
        labels = None if unnamed else list(MOT17_CLASSES.values())
    class_of = fixed_ids({**named, -1: None} if selection.fallback else named, numbering, selection.fallback, NAME)
    class_of.setdefault(-1, -1)
    return class_of, labels


def seqinfo_text(selection: Selection, name: str) -> str:
    """``seqinfo.ini`` for the selection's video (name, length and, when known, rate and image size)."""
    video = selection.video
    info = {"name": video.name if video else name, "imDir": "img1"}
    if video is not None:
        info |= {"frameRate": f"{video.fps:g}", "seqLength": str(max(video.frame_count, selection.last_frame + 1)),
                 "imWidth": str(video.width), "imHeight": str(video.height)}
    else:
        info |= {"frameRate": f"{DEFAULT_FPS:g}", "seqLength": str(selection.last_frame + 1)}
    info["imExt"] = ".jpg"
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keep MOTChallenge's camelCase keys
    parser["Sequence"] = info
    text = io.StringIO()
    parser.write(text, space_around_delimiters=False)
    return text.getvalue()


# --------------------------------------------------------------------------- reading
def read(path: str | Path, doc: Document | None = None, **options: object) -> Document:
    """Read a sequence folder, a gt/results txt or a det.txt into ``doc`` (or a new in-memory document)."""
    return read_txt(Path(path), doc, ReadOptions(**options), NAME)  # type: ignore[arg-type]


def read_txt(path: Path, doc: Document | None, options: ReadOptions, name: str) -> Document:
    """The MOT txt reader shared by ``mot`` and ``mot-results`` (see the module docstring)."""
    if path.is_dir():
        txt = sequence_file(path)
        if txt is None:
            raise FormatError(path, "not a MOTChallenge sequence folder (no gt/gt.txt or gt.txt)")
        path = txt
    report = ReadReport(name, str(path))
    table = read_table(path, min_columns=6, delimiter=sniff_delimiter(path))
    frame = zero_based_frames(integer_column(table, 0, path, "frame"), options, report, path,
                              limit=frame_limit(doc.video if doc is not None else None),
                              line=lambda row: line_of_row(path, row))
    track_id = integer_column(table, 1, path, "id")
    columns = table.shape[1]
    names = read_numbering(options.classes, _sidecars(path), ClassNames(None, ""))
    score = table[:, 6] if columns > 6 else np.ones(len(table))
    category = (np.where(table[:, 7] > 0, integer_column(table, 7, path, "class"), -1)
                if columns in (8, 9) and not names.ignore_column else np.full(len(table), -1, np.int64))
    if names.source:
        report.classes = names.source
    elif (category > 0).any():
        report.warn(f"classes {', '.join(map(str, np.unique(category[category > 0]).tolist()))} have no names "
                    f"(no {CVAT_LABELS_FILE} or {XANYLABELING_CLASSES_FILE} beside the file): read as 'class N'; "
                    "give the numbering with --classes mot17|mot15|NAMES.txt")
    visibility = table[:, 8] if columns == 9 else np.ones(len(table))
    visibility = np.where((visibility >= 0) & (visibility <= 1), visibility, 1.0)
    no_id = track_id < 0
    is_detection = no_id if path.name == "det.txt" or no_id.all() else np.zeros(len(table), bool)
    if no_id.any() and not is_detection.any():
        first = int(track_id.max()) + 1
        track_id = track_id.copy()
        track_id[no_id] = np.arange(first, first + int(no_id.sum()))
        report.warn(f"{int(no_id.sum())} rows with id -1 (boxes without a track) became one-box tracks "
                    f"{first}–{int(track_id.max())}")
    tracked = ~is_detection
    duplicate = first_duplicate(frame[tracked], track_id[tracked])
    if duplicate is not None:
        row = int(np.flatnonzero(tracked)[duplicate])
        raise FormatError(path, f"second row for id {track_id[row]} in frame {table[row, 0]:g}", line_of_row(path, row))
    doc = doc if doc is not None else Document.in_memory()
    with doc.transaction():
        category = document_categories(doc, category, names.names or {})
        rows = ObservationArrays(frame[tracked], track_id[tracked], table[tracked, 2:6], score[tracked],
                                 visibility[tracked])
        detections = Detections.from_xywh(frame[is_detection], table[is_detection, 2:6], score[is_detection],
                                          category[is_detection])
        return store(doc, rows, track_categories(track_id[tracked], category[tracked], report), report,
                     sequence_video(path), detections)


def _sidecars(txt: Path) -> list[tuple[Path, int]]:
    """Names files that may describe a MOT txt's classes, with the class id of their first line."""
    folders = [txt.parent] + ([txt.parent.parent] if txt.parent.name == "gt" else [])
    return [(folder / file, first) for folder in folders
            for file, first in ((CVAT_LABELS_FILE, 1), (XANYLABELING_CLASSES_FILE, 0))]


def sequence_video(txt: Path) -> VideoInfo | None:
    """The video a ``seqinfo.ini`` beside ``txt`` (or one folder up) describes, if complete."""
    for folder in (txt.parent, txt.parent.parent):
        ini = folder / "seqinfo.ini"
        if ini.is_file():
            info = read_seqinfo(ini)
            if None in (info.length, info.width, info.height):
                return None
            fps = DEFAULT_FPS if info.frame_rate is None else info.frame_rate
            return described_video(ini, folder, info.name or folder.name, info.length, fps, info.width, info.height)
    return None

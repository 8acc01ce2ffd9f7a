"""MOTS (MOTSChallenge / KITTI MOTS): one txt of ``frame id class height width rle`` rows, space separated.

``id = class * 1000 + instance``; ``rle`` is the COCO compressed counts string of the mask. Writing uses
the document's masks (observations without one are skipped and counted; a selection without any mask is
an ``ExportError``), 1-based frames, the track's class in MOTS's numbering (1 car, 2 pedestrian, 10 ignore:
other names need the class map, see ``exporters.categories``) and the track id as instance, so track ids
must be below 1000 (ids that already encode their class, ``class * 1000 + instance``, are written as they
are). Masks lie in the image by construction. Masks of one frame must not overlap in MOTS: overlaps are
reported, not changed.

Reading (``#`` starts a comment line): frames 1-based unless a frame 0 is present (KITTI MOTS; warned) or ``frame_base`` says;
track id = the instance number when no instance number is used by two classes, else the full id;
class 10 (ignore regions) becomes category ``ignore`` with score 0; boxes come from the masks.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from app.document import Document
from app.model import AnnotationModel, ObservationArrays
from exporters.base import (
    MAX_EXACT_INTEGER,
    ExportError,
    FormatError,
    ReadOptions,
    ReadReport,
    WriteReport,
    described_video,
    document_categories,
    first_duplicate,
    frame_limit,
    store,
    track_categories,
    zero_based_frames,
)
from exporters.writing import Selection, file_writer, format_rows, frame_groups
from exporters.categories import MOTS_CLASSES, MOTS_IGNORE, fixed_ids
from tracker.geometry import rle_problem
from tracker.mot_files import first_line
from tracker.results import Rle
from tracker.video_info import DEFAULT_FPS

NAME = "mots"
OUTPUT_SUFFIX = ".txt"  # what ``write`` makes: one text file
DESCRIPTION = "MOTS txt: frame id class height width rle (id = class*1000 + instance, COCO RLE masks)"

ROW = "%d %d %d %d %d %s"


def detect(path: Path) -> bool:
    """A txt whose first row has six space-separated fields."""
    if path.suffix != ".txt" or not path.is_file():
        return False
    fields = first_line(path).split()
    return len(fields) == 6 and "," not in fields[0]


@file_writer(NAME, masks=True, clips=False)
def write(doc: AnnotationModel, selection: Selection, report: WriteReport, out_path: Path) -> str:
    """Write the selected observations that have masks as one MOTS txt, atomically (``clip`` is accepted for a
    uniform interface: masks lie in the image)."""
    has_mask = np.array([m is not None for m in selection.rows.masks], bool)
    if len(has_mask) and not has_mask.any():
        raise ExportError(f"{out_path}: MOTS holds masks, and none of the {len(has_mask)} selected boxes has one "
                          "(track with a SAM2 engine, or export mot)")
    report.skipped = int((~has_mask).sum())
    if report.skipped:
        report.warn(f"{report.skipped} observations have no mask and are left out")
    class_of = fixed_ids(selection.names(), MOTS_CLASSES, selection.fallback, "MOTS")
    rows = selection.rows.take(has_mask)
    classes = np.array([class_of[c] for c in selection.category[has_mask].tolist()], np.int64)
    encoded_already = rows.track_id // 1000 == classes
    encoded = np.where(encoded_already, rows.track_id, classes * 1000 + rows.track_id)
    bad = sorted(set(rows.track_id[(rows.track_id >= 1000) & ~encoded_already].tolist()))
    if bad:
        raise ExportError(f"{out_path}: MOTS ids hold instances 0–999 per class; tracks {bad[:5]} cannot be written")
    masks: list[Rle] = rows.masks  # type: ignore[assignment]
    overlapping = _frames_with_overlaps(rows.frame, masks)
    if overlapping:
        report.warn(f"masks overlap in {overlapping} frames (MOTS expects disjoint masks)")
    report.boxes, report.files = len(rows), 1
    return format_rows(ROW, [
        rows.frame + 1, encoded, classes, [m.height for m in masks], [m.width for m in masks],
        [m.counts.decode("ascii") for m in masks],
    ])


def _frames_with_overlaps(frames: np.ndarray, masks: list[Rle]) -> int:
    """Number of frames in which two masks share a pixel."""
    count = 0
    for start, end in frame_groups(frames):
        if end - start < 2:
            continue
        coco = [m.to_coco() for m in masks[start:end]]
        iou = mask_utils.iou(coco, coco, [0] * len(coco))  # pycocotools skips pairs whose boxes are apart
        np.fill_diagonal(iou, 0)
        count += bool((iou > 0).any())
    return count


def read(path: str | Path, doc: Document | None = None, **options: object) -> Document:
    """Read a MOTS txt into ``doc`` (or a new in-memory document)."""
    path = Path(path)
    opts = ReadOptions(**options)  # type: ignore[arg-type]
    report = ReadReport(NAME, str(path))
    numbers, masks, lines = [], [], []
    with open(path, encoding="utf-8", errors="replace") as file:
        for number, line in enumerate(file, 1):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            if len(fields) != 6:
                raise FormatError(path, f"expected 6 space-separated fields, found {len(fields)}", number)
            try:
                values = [int(f) for f in fields[:5]]
            except ValueError:
                bad = next(f for f in fields[:5] if not f.lstrip("-").isdigit())
                raise FormatError(path, f"not an integer: {bad!r}", number) from None
            if any(abs(v) >= MAX_EXACT_INTEGER for v in values):
                raise FormatError(path, f"a number is too large: {max(values, key=abs)}", number)
            numbers.append(values)
            masks.append(Rle(values[3], values[4], fields[5].encode("ascii", errors="replace")))
            lines.append(number)
    for mask, number in zip(masks, lines):
        problem = rle_problem(mask)  # before pycocotools reads it
        if problem is not None:
            raise FormatError(path, problem, number)
    table = np.array(numbers, np.int64).reshape(-1, 5)
    frame = zero_based_frames(table[:, 0], opts, report, path, limit=frame_limit(doc.video if doc is not None else None),
                              line=lines.__getitem__)
    full_id, category, height, width = table[:, 1], table[:, 2], table[:, 3], table[:, 4]
    duplicate = first_duplicate(frame, full_id)
    if duplicate is not None:
        raise FormatError(path, f"second mask for id {full_id[duplicate]} in the same frame", lines[duplicate])
    box = mask_utils.toBbox([m.to_coco() for m in masks]).reshape(-1, 4) if masks else np.empty((0, 4))
    instance = full_id % 1000
    pairs = np.unique(np.stack([instance, full_id], axis=1), axis=0)
    track_id = full_id if len(np.unique(pairs[:, 0])) < len(pairs) else instance
    score = np.where(category == MOTS_IGNORE, 0.0, 1.0)
    doc = doc if doc is not None else Document.in_memory()
    with doc.transaction():
        category = document_categories(doc, category, MOTS_CLASSES)
        video = None
        if len(masks):
            video = described_video(path, path.parent, path.stem, int(frame.max()) + 1, DEFAULT_FPS, int(width[0]),
                                    int(height[0]))
        rows = ObservationArrays(frame, track_id, box, score, np.ones(len(frame)), masks)
        return store(doc, rows, track_categories(track_id, category, report), report, video)

"""MOTChallenge tracker results: one txt of ``frame,id,x,y,w,h,conf,-1,-1,-1`` rows, 1-based frames.

Results are predictions: observations with score 0 (ignored regions of ground truth, MOTS ignore class,
COCO ``iscrowd``) are not written (counted in the report). Results have no classes. Boxes as they are
(``clip`` clips them to the image).

Read with the MOT reader (``exporters.mot``): results have no class or visibility, conf becomes the score.
"""
from __future__ import annotations

from pathlib import Path

from app.document import Document
from app.model import AnnotationModel
from exporters.base import (
    ReadOptions,
    WriteReport,
)
from exporters.writing import Selection, file_writer, format_rows
from exporters.mot import read_txt
from tracker.mot_files import first_line

NAME = "mot-results"
OUTPUT_SUFFIX = ".txt"  # what ``write`` makes: one text file
DESCRIPTION = "MOTChallenge tracker results: one txt of frame,id,x,y,w,h,conf,-1,-1,-1"

RESULT_ROW = "%d,%d,%s,%s,%s,%s,%s,-1,-1,-1"


def detect(path: Path) -> bool:
    """A comma-separated txt whose first row ends in ``-1,-1,-1`` after 10 fields."""
    if path.suffix != ".txt" or not path.is_file():
        return False
    fields = [field.strip() for field in first_line(path).split(",")]
    return len(fields) == 10 and fields[7:] == ["-1", "-1", "-1"]


@file_writer(NAME)
def write(doc: AnnotationModel, selection: Selection, report: WriteReport, out_path: Path) -> str:
    """Write one results txt atomically (``class_map`` is accepted for a uniform interface: results have no
    class)."""
    rows = selection.rows
    ignored = rows.score == 0
    if ignored.any():
        report.skipped += int(ignored.sum())
        report.warn(f"{int(ignored.sum())} ignored regions (score 0) are not predictions and are left out")
        rows = rows.take(~ignored)
    report.boxes, report.files = len(rows), 1
    return format_rows(RESULT_ROW, [rows.frame + 1, rows.track_id, *rows.box.T, rows.score])


def read(path: str | Path, doc: Document | None = None, **options: object) -> Document:
    """Read a results txt (any MOT txt) into ``doc`` (or a new in-memory document)."""
    return read_txt(Path(path), doc, ReadOptions(**options), NAME)  # type: ignore[arg-type]

"""The writing half of every label format: the ``Writer`` protocol, the one ``write()`` (selection, report,
atomic output) that ``file_writer`` and ``folder_writer`` make from a format's own rendering, and the
selection and number formatting they share."""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from app.model import AnnotationModel, ObservationArrays
from exporters.base import (
    ExportError,
    FrameRange,
    WriteReport,
    atomic_dir,
    check_destination,
    frame_limit,
    write_text,
)
from exporters.categories import FALLBACK, map_names, placeholder
from tracker.video_info import VideoInfo

UNCATEGORISED = "object"
"""The name formats that hold any name write for tracks without a category (unless ``--class-map *=NAME``)."""
CLIP_TOLERANCE = 1e-6
"""Boxes may exceed the image by this many pixels (rounding) before they are clipped."""


class Writer(Protocol):
    """A format's ``write``: the selected observations of ``doc`` to ``out_path``, atomically (never a partial
    output); what was written and left out in the report. Formats with options of their own take them as
    further keywords."""

    def __call__(
        self,
        doc: AnnotationModel,
        out_path: str | Path,
        *,
        frames: FrameRange | None = None,
        track_ids: Sequence[int] | None = None,
        category_ids: Sequence[int] | None = None,
        clip: bool = False,
        class_map: dict[str, str] | None = None,
    ) -> WriteReport: ...


FileRender = Callable[..., str]
"""``render(doc, selection, report, out_path, **format_options) -> text`` of a format written as one file."""
FolderRender = Callable[..., None]
"""``render(doc, selection, report, out_path, folder, **format_options)``: fills ``folder`` (a temporary folder
whose entries then replace those of ``out_path``)."""


def _writer(name: str, masks: bool, clips: bool | None, output: Callable[..., None]) -> Writer:
    """The ``write`` shared by every format: the output's folder checked, a report, the selection (``masks``
    loaded; boxes clipped as the caller asks, or always / never where ``clips`` says so), then
    ``output(doc, selection, report, out_path, **format_options)``."""

    def write(doc: AnnotationModel, out_path: str | Path, *, frames: FrameRange | None = None,
              track_ids: Sequence[int] | None = None, category_ids: Sequence[int] | None = None, clip: bool = False,
              class_map: dict[str, str] | None = None, **format_options: object) -> WriteReport:
        out_path = Path(out_path)
        check_destination(out_path)
        report = WriteReport(name, str(out_path))
        selection = select(doc, report, frames=frames, track_ids=track_ids, category_ids=category_ids, masks=masks,
                           clip=clip if clips is None else clips, class_map=class_map)
        output(doc, selection, report, out_path, **format_options)
        return report

    return write


def file_writer(name: str, *, masks: bool = False, clips: bool | None = None) -> Callable[[FileRender], Writer]:
    """Make a format's ``write`` from the function that renders its one file's text."""

    def decorate(render: FileRender) -> Writer:
        def output(doc: AnnotationModel, selection: Selection, report: WriteReport, out_path: Path, **options: object) -> None:
            write_text(out_path, render(doc, selection, report, out_path, **options))

        return functools.wraps(render)(_writer(name, masks, clips, output))

    return decorate


def folder_writer(name: str, *, masks: bool = False, clips: bool | None = None) -> Callable[[FolderRender], Writer]:
    """Make a format's ``write`` from the function that fills its output folder."""

    def decorate(render: FolderRender) -> Writer:
        def output(doc: AnnotationModel, selection: Selection, report: WriteReport, out_path: Path, **options: object) -> None:
            with atomic_dir(out_path) as folder:
                render(doc, selection, report, out_path, folder, **options)

        return functools.wraps(render)(_writer(name, masks, clips, output))

    return decorate


@dataclass(frozen=True)
class Selection:
    """The validated observations to write (by frame, then track id) and what describes them."""

    video: VideoInfo | None
    rows: ObservationArrays
    category: np.ndarray  # per row: the track's category id, -1 for none
    categories: dict[int, str]  # id → name to write (class map applied) of the selected tracks' categories
    track_categories: dict[int, int | None]  # selected tracks that have rows → category id
    first_frame: int  # inclusive span of the output (the video's frames, or the annotated ones)
    last_frame: int
    fallback: str | None = None  # the class map's ``*``: the name for names a format cannot hold, and for none

    @property
    def image_size(self) -> tuple[int, int] | None:
        return None if self.video is None else (self.video.width, self.video.height)

    def names(self) -> dict[int, str | None]:
        """Category id → name to write, with -1 → None when some track has no category."""
        names: dict[int, str | None] = dict(self.categories)
        if (self.category < 0).any():
            names[-1] = None
        return names

    def free_names(self) -> tuple[list[str], np.ndarray]:
        """For formats that hold any name: the distinct names to write (project order) and each row's index
        into them; tracks without a category get the fallback name, else ``UNCATEGORISED``."""
        names = {cid: name if name is not None else self.fallback or UNCATEGORISED for cid, name in self.names().items()}
        distinct = list(dict.fromkeys(names.values()))
        lookup = {cid: distinct.index(name) for cid, name in names.items()}
        index = np.array([lookup[c] for c in self.category.tolist()], np.int64)
        return distinct, index


def select(
    doc: AnnotationModel,
    report: WriteReport,
    *,
    frames: FrameRange | None = None,
    track_ids: Sequence[int] | None = None,
    category_ids: Sequence[int] | None = None,
    masks: bool = False,
    clip: bool = False,
    class_map: dict[str, str] | None = None,
) -> Selection:
    """The observations to write: filtered, invalid boxes dropped, with ``clip`` boxes clipped to the image
    (and boxes entirely outside dropped); counts in ``report``."""
    start, stop = frames if frames is not None else (0, None)
    wanted_tracks = None if track_ids is None else set(track_ids)
    wanted_categories = None if category_ids is None else set(category_ids)
    category_of = {
        t.id: t.category_id for t in doc.tracks()
        if (wanted_tracks is None or t.id in wanted_tracks)
        and (wanted_categories is None or t.category_id in wanted_categories)
    }
    report.empty_tracks = sum(tid in category_of for tid in doc.empty_track_ids())
    if report.empty_tracks:
        report.warn(f"{report.empty_tracks} tracks have no observations and are left out")
    ids = np.fromiter(category_of, np.int64, len(category_of))
    rows = doc.observation_arrays(start, stop, masks=masks)
    rows = rows.take(np.isin(rows.track_id, ids))
    box = rows.box
    valid = np.isfinite(box).all(axis=1) & (box[:, 2] > 0) & (box[:, 3] > 0)
    if not valid.all():
        report.dropped += int((~valid).sum())
        report.warn(f"{int((~valid).sum())} boxes with non-finite or non-positive size left out")
        rows = rows.take(valid)
    video = doc.video
    if clip:
        if video is None:
            raise ExportError(f"{report.path}: clipping needs the image size, and the document has no video")
        rows = _clip(rows, video.width, video.height, report)
    categories = np.array([-1 if c is None else c for c in category_of.values()], np.int64)
    row_category = categories[np.searchsorted(ids, rows.track_id)] if len(ids) else np.empty(0, np.int64)
    present = np.unique(rows.track_id).tolist()
    names = doc.categories()
    used = sorted({c for c in (category_of[t] for t in present) if c is not None})
    first, last = _span(rows, video, start, stop, explicit=frames is not None)
    if last - first >= frame_limit(video):
        raise ExportError(f"{report.path}: the labels span frames {first}–{last}, more than the {frame_limit(video)} "
                          "frames labels may span without a video that long")
    class_map = class_map or {}
    return Selection(
        video=video, rows=rows, category=row_category,
        categories=map_names({cid: names.get(cid, placeholder(cid)) for cid in used}, class_map),
        track_categories={t: category_of[t] for t in present}, first_frame=first, last_frame=last,
        fallback=class_map.get(FALLBACK),
    )


def _span(rows: ObservationArrays, video: VideoInfo | None, start: int, stop: int | None, explicit: bool,
          ) -> tuple[int, int]:
    """The first and last frame an output describes: the requested range ``[start, stop)``, else the video's
    frames, else the annotated ones; always covering the rows."""
    annotated = (int(rows.frame.min()), int(rows.frame.max())) if len(rows) else None
    first = start if explicit or video is not None or annotated is None else annotated[0]
    known = max(video.frame_count - 1 if video is not None else -1, annotated[1] if annotated else first)
    last = known if stop is None else min(stop - 1, known)  # an --end past everything: to the end
    return (first, last) if annotated is None else (min(first, annotated[0]), max(last, annotated[1]))


def _clip(rows: ObservationArrays, width: int, height: int, report: WriteReport) -> ObservationArrays:
    """Clip boxes to the image; boxes with nothing inside it are left out. Unchanged boxes keep their values."""
    box = rows.box
    x1 = np.maximum(box[:, 0], 0.0)
    y1 = np.maximum(box[:, 1], 0.0)
    x2 = np.minimum(box[:, 0] + box[:, 2], width)
    y2 = np.minimum(box[:, 1] + box[:, 3], height)
    outside = (x2 <= x1) | (y2 <= y1)
    low, high_x, high_y = -CLIP_TOLERANCE, width + CLIP_TOLERANCE, height + CLIP_TOLERANCE
    changed = ~outside & ((box[:, 0] < low) | (box[:, 1] < low) | (box[:, 0] + box[:, 2] > high_x)
                          | (box[:, 1] + box[:, 3] > high_y))
    if changed.any():
        box = box.copy()
        box[changed] = np.stack([x1, y1, x2 - x1, y2 - y1], axis=1)[changed]
        report.clipped = int(changed.sum())
        report.warn(f"{report.clipped} boxes extend beyond the {width}×{height} image and were clipped")
        rows = ObservationArrays(rows.frame, rows.track_id, box, rows.score, rows.visibility, rows.masks)
    if outside.any():
        report.dropped += int(outside.sum())
        report.warn(f"{int(outside.sum())} boxes lie entirely outside the {width}×{height} image and are left out")
        rows = rows.take(~outside)
    return rows


def frame_groups(frame: np.ndarray) -> list[tuple[int, int]]:
    """``(start, end)`` row ranges of equal frames in frame-sorted rows."""
    bounds = np.flatnonzero(np.diff(frame)) + 1
    return list(zip(np.r_[0, bounds].tolist(), np.r_[bounds, len(frame)].tolist())) if len(frame) else []


def format_lines(template: str, columns: Sequence[np.ndarray | list]) -> list[str]:
    """``template % row`` for each row of the columns. Float columns are written exactly and shortest
    (``repr``), integral values without a decimal point: use ``%s`` for them in the template."""
    values = [c if isinstance(c, list) else _exact(c) if c.dtype.kind == "f" else c.tolist() for c in columns]
    return list(map(template.__mod__, zip(*values)))


def format_rows(template: str, columns: Sequence[np.ndarray | list]) -> str:
    """The lines of ``format_lines``, each ending in a newline."""
    lines = format_lines(template, columns)
    return "\n".join(lines) + "\n" if lines else ""


def _exact(column: np.ndarray) -> list:
    """A float column as Python numbers: ints where the value is integral, floats elsewhere."""
    integral = np.isfinite(column) & (column == np.round(column)) & (np.abs(column) < 2**53)
    values = column.astype(object)
    values[integral] = column[integral].astype(np.int64)
    return values.tolist()

"""CVAT for video 1.1 XML: how annotators exchange video tracks with CVAT.

``<annotations><version>1.1</version><meta><task>…<labels>…<original_size>…</task></meta>`` then one
``<track id label source>`` per track with ``<box frame outside occluded keyframe xtl ytl xbr ybr z_order>``
children; frames are 0-based, like the project's.

Writing: every observation is a keyframe box (boxes as they are unless ``clip``); a box with
``outside="1"`` follows each run of frames, where the track leaves (a gap, or its end before the last
frame), so that CVAT does not interpolate across it. ``occluded`` is visibility < 0.5; a visibility other
than 1 is also kept exactly as the box's ``visibility`` attribute. Labels are the category names (any
name; the class map applies; tracks without a category get the ``*`` name, else ``object``).

Reading: each track's boxes; between two keyframes CVAT interpolates, so frames missing between a keyframe
and the next box are filled linearly; ``outside`` boxes end the track until its next box; a track whose
last box is not outside lasts to the task's ``stop_frame``. Labels become categories by name; the
``visibility`` attribute, else ``occluded`` (0), gives the visibility. ``<image>`` elements (CVAT for images)
are not tracks: they are counted and left out.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from app.document import Document
from app.model import AnnotationModel, ObservationArrays
from exporters.base import (
    MAX_EXACT_INTEGER,
    FormatError,
    ReadOptions,
    ReadReport,
    WriteReport,
    described_video,
    frame_limit,
    store,
)
from exporters.writing import Selection, file_writer
from tracker.errors import os_reason
from tracker.video_info import DEFAULT_FPS

NAME = "cvat"
OUTPUT_SUFFIX = ".xml"  # what ``write`` makes: one XML file
DESCRIPTION = "CVAT for video 1.1 XML: tracks of boxes with keyframes, outside, occluded and labels"

VERSION = "1.1"
OCCLUDED_BELOW = 0.5
"""A box whose visibility is below this is ``occluded``."""


def detect(path: Path) -> bool:
    """An xml file whose root element is ``annotations``."""
    if path.suffix.lower() != ".xml" or not path.is_file():
        return False
    with open(path, encoding="utf-8", errors="replace") as file:
        return "<annotations" in file.read(4096)


# --------------------------------------------------------------------------- writing
@file_writer(NAME)
def write(doc: AnnotationModel, selection: Selection, report: WriteReport, out_path: Path) -> str:
    """Write one CVAT for video 1.1 XML file atomically."""
    rows, video = selection.rows, selection.video
    names, index = selection.free_names()
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = VERSION
    task = ET.SubElement(ET.SubElement(root, "meta"), "task")
    for key, value in (("name", video.name if video else out_path.stem),
                       ("size", selection.last_frame - selection.first_frame + 1), ("mode", "interpolation"),
                       ("start_frame", selection.first_frame), ("stop_frame", selection.last_frame)):
        ET.SubElement(task, key).text = str(value)
    labels = ET.SubElement(task, "labels")
    for name in names:
        label = ET.SubElement(labels, "label")
        ET.SubElement(label, "name").text = name
        attribute = ET.SubElement(ET.SubElement(label, "attributes"), "attribute")
        for key, value in (("name", "visibility"), ("mutable", "True"), ("input_type", "number"),
                           ("default_value", "1"), ("values", "0;1;0")):
            ET.SubElement(attribute, key).text = value
    if video is not None:
        size = ET.SubElement(task, "original_size")
        ET.SubElement(size, "width").text = str(video.width)
        ET.SubElement(size, "height").text = str(video.height)
    order = np.lexsort((rows.frame, rows.track_id))
    track_rows = np.split(order, np.flatnonzero(np.diff(rows.track_id[order])) + 1) if len(order) else []
    for members in track_rows:
        track_id = int(rows.track_id[members[0]])
        track = ET.SubElement(root, "track", id=str(track_id), label=names[index[members[0]]], source="manual")
        for position, row in enumerate(members.tolist()):
            frame = int(rows.frame[row])
            _box(track, frame, rows.box[row], float(rows.visibility[row]), outside=False)
            following = int(rows.frame[members[position + 1]]) if position + 1 < len(members) else None
            if (following is None and frame < selection.last_frame) or (following is not None and following > frame + 1):
                _box(track, frame + 1, rows.box[row], float(rows.visibility[row]), outside=True)
    ET.indent(root)
    report.boxes, report.files = len(rows), 1
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _box(track: ET.Element, frame: int, box: np.ndarray, visibility: float, outside: bool) -> None:
    x, y, w, h = (float(v) for v in box)
    element = ET.SubElement(track, "box", frame=str(frame), outside=str(int(outside)),
                            occluded=str(int(visibility < OCCLUDED_BELOW)), keyframe="1", xtl=repr(x), ytl=repr(y),
                            xbr=repr(x + w), ybr=repr(y + h), z_order="0")
    if visibility != 1:
        ET.SubElement(element, "attribute", name="visibility").text = repr(visibility)


# --------------------------------------------------------------------------- reading
def read(path: str | Path, doc: Document | None = None, **options: object) -> Document:
    """Read a CVAT for video 1.1 XML file into ``doc`` (or a new in-memory document); keyframes interpolated."""
    path = Path(path)
    ReadOptions(**options)  # type: ignore[arg-type]  # the options all readers take; none changes CVAT
    report = ReadReport(NAME, str(path))
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise FormatError(path, f"invalid xml ({exc})", exc.position[0]) from None
    except ValueError as exc:  # an encoding expat cannot read
        raise FormatError(path, f"invalid xml ({exc})") from None
    except OSError as exc:
        raise FormatError(path, f"cannot read ({os_reason(exc)})") from None
    if root.tag != "annotations":
        raise FormatError(path, f"expected <annotations>, found <{root.tag}>")
    task = next((t for t in (root.find("meta/task"), root.find("meta/job")) if t is not None), None)
    stop = _int(task, "stop_frame", path) if task is not None else None
    limit = frame_limit(doc.video if doc is not None else None)
    if stop is not None and not 0 <= stop < limit:
        raise FormatError(path, f"<stop_frame> {stop} is not a frame 0–{limit - 1}")
    size = ((_int(task, "original_size/width", path), _int(task, "original_size/height", path))
            if task is not None else (None, None))
    images = root.findall("image")
    if images:
        report.warn(f"{len(images)} <image> elements (CVAT for images) are not tracks and are left out")
    frames, ids, boxes, visibility, labels = [], [], [], [], []
    for track in root.iter("track"):
        track_id, label = _track_header(track, path)
        for frame, box, seen in _interpolated(track, stop, limit, path):
            frames.append(frame)
            ids.append(track_id)
            boxes.append(box)
            visibility.append(seen)
        labels.append((track_id, label))
    doc = doc if doc is not None else Document.in_memory()
    with doc.transaction():
        category_of = {track_id: doc.category_id(label) for track_id, label in labels}
        frame = np.array(frames, np.int64)
        order = np.lexsort((np.array(ids, np.int64), frame)) if frames else np.empty(0, np.int64)
        rows = ObservationArrays(frame[order], np.array(ids, np.int64)[order],
                                 np.array(boxes, np.float64).reshape(-1, 4)[order], np.ones(len(frames)),
                                 np.array(visibility, np.float64)[order])
        video = None
        if None not in size:
            count = max(stop + 1 if stop is not None else 0, int(frame.max()) + 1 if len(frame) else 0)
            video = described_video(path, path.parent, path.stem, count, DEFAULT_FPS, size[0], size[1])
        return store(doc, rows, category_of, report, video)


def _int(element: ET.Element, key: str, path: Path) -> int | None:
    text = element.findtext(key)
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise FormatError(path, f"<{key}> must be an integer, not {text.strip()!r}") from None


def _track_header(track: ET.Element, path: Path) -> tuple[int, str]:
    try:
        track_id = int(track.attrib["id"])
        if not 0 <= track_id < MAX_EXACT_INTEGER:
            raise ValueError(track_id)
        return track_id, track.attrib["label"]
    except (KeyError, ValueError):
        raise FormatError(path, f"<track {dict(track.attrib)}> needs an id 0–2^53 and a label") from None


def _interpolated(track: ET.Element, stop: int | None, limit: int, path: Path) -> list[tuple[int, list[float], float]]:
    """(frame, box xywh, visibility) of every frame where the track is inside the image: its boxes, frames
    between a box and the next one filled linearly (CVAT's interpolation), outside boxes ending it. Frames must
    lie in ``0 … limit - 1``."""
    shapes = []
    for element in track.iter("box"):
        try:
            x1, y1, x2, y2 = (float(element.attrib[k]) for k in ("xtl", "ytl", "xbr", "ybr"))
            frame = int(element.attrib["frame"])
            seen = element.findtext("attribute[@name='visibility']")
            visibility = float(seen) if seen is not None else 0.0 if element.get("occluded") == "1" else 1.0
            if not all(math.isfinite(v) for v in (x1, y1, x2, y2, visibility)):
                raise ValueError("not finite")
        except (KeyError, ValueError):
            raise FormatError(path, f"track {track.get('id')}: <box {dict(element.attrib)}> needs frame, xtl, ytl, "
                                    "xbr and ybr numbers (and a number as visibility)") from None
        if not 0 <= frame < limit:
            raise FormatError(path, f"track {track.get('id')}: <box frame={frame}> is not a frame 0–{limit - 1}")
        shapes.append((frame, np.array([x1, y1, x2 - x1, y2 - y1]), visibility, element.get("outside") == "1"))
    shapes.sort(key=lambda shape: shape[0])
    result: list[tuple[int, list[float], float]] = []
    for (frame, box, seen, outside), following in zip(shapes, [*shapes[1:], None]):
        if outside:
            continue
        end = following[0] if following is not None else (stop + 1 if stop is not None else frame + 1)
        for step in range(frame, end):
            if following is not None and not following[3] and step > frame:
                t = (step - frame) / (following[0] - frame)
                result.append((step, ((1 - t) * box + t * following[1]).tolist(), seen))
            else:
                result.append((step, box.tolist(), seen))
    return result

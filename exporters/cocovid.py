"""COCO-VID json (also read by TAO, BDD100K, YouTube-VIS tools).

Written: ``videos``, ``images`` (id, video_id, 0-based frame_id, file_name ``<video>/<frame+1:06d>.jpg``,
width, height — every frame of the video, or of the annotated span), ``annotations`` (id, image_id,
video_id, category_id, instance_id = track_id = the track id, bbox, area, iscrowd, score, and a
``segmentation`` RLE with str counts when the observation has a mask), ``categories`` and TAO's
``tracks``. An observation with score 0 (an ignored region) is written with ``iscrowd: 1``; tracks
without a category get category 0 ``object`` (read back as no category).

What a file held beyond the project (TAO's ``frame_index``, ``neg_category_ids``, ``not_exhaustive_category_ids``,
category ``frequency`` and ``synonyms``, BDD's ``occluded``/``truncated``, original ids, ``file_name``s, string
instance ids, ``info``…) is kept in the document's ``cocovid`` meta when it is read, and written back: an
image, annotation, category or track the file had is written as it was, with the fields the project holds
(box, mask, score, category, frame) taken from the project; an unchanged box keeps its ``area``, an unchanged
mask its ``segmentation`` as written (polygons stay polygons).

Read: instance ids may be strings (BDD100K: numbered 1, 2, … in order of first appearance);
``instance_id`` or else TAO's ``track_id``; ``frame_id`` or else TAO's ``frame_index``; segmentation as
polygons, compressed or uncompressed RLE; ``iscrowd`` → score 0, ``score`` → score; with several videos
the ``video_name`` option picks one.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from app.document import Document
from app.model import AnnotationModel, ObservationArrays
from exporters.base import (
    MAX_FRAMES,
    FormatError,
    ReadOptions,
    ReadReport,
    WriteReport,
    described_video,
    document_categories,
    first_duplicate,
    is_integer,
    is_number,
    store,
    track_categories,
)
from exporters.writing import Selection, file_writer
from tracker.geometry import MAX_IMAGE_SIDE, mask_size_problem, rle_problem
from tracker.results import Rle
from tracker.video_info import DEFAULT_FPS, VideoInfo

NAME = "cocovid"
OUTPUT_SUFFIX = ".json"  # what ``write`` makes: one json file
DESCRIPTION = "COCO-VID json: videos, images, annotations (with instance_id/track_id, RLE masks), categories, tracks"

UNCATEGORISED = (0, "object")


def detect(path: Path) -> bool:
    """A json file."""
    return path.suffix == ".json" and path.is_file()


# --------------------------------------------------------------------------- writing
@file_writer(NAME, masks=True)
def write(doc: AnnotationModel, selection: Selection, report: WriteReport, out_path: Path) -> str:
    """Write one COCO-VID json (one video) atomically; boxes as they are unless ``clip``."""
    rows = selection.rows
    video = selection.video
    kept = Kept(doc.get_meta(META) or {})
    name = video.name if video is not None else out_path.stem
    size = {} if video is None else {"width": video.width, "height": video.height}
    video_entry = kept.video or {"id": 1, "name": name, **size, **({} if video is None else {"fps": video.fps})}
    video_id = video_entry.get("id")
    names = selection.names()
    if -1 in names:
        names[-1] = selection.fallback or UNCATEGORISED[1]
    category_of = {cid: UNCATEGORISED[0] if cid == -1 else cid for cid in names}
    images = {frame: kept.image(frame) for frame in range(selection.first_frame, selection.last_frame + 1)}
    next_id = max((i["id"] for i in kept.images.values() if isinstance(i.get("id"), int)), default=0) + 1
    for number, frame in enumerate(f for f, image in images.items() if image is None):
        images[frame] = {"id": next_id + number if kept.images else frame + 1, "video_id": video_id,
                         "frame_id": frame, "file_name": f"{name}/{frame + 1:06d}.jpg", **size}
    data = {
        **kept.top,
        "videos": [video_entry],
        "images": list(images.values()),
        "annotations": list(_annotations(rows, selection.category, category_of, images, video_id, kept)),
        "categories": kept.categories({category_of[cid]: names[cid] for cid in names}),
        "tracks": [
            {**kept.tracks.get(str(tid), {}), "id": tid, "category_id": category_of[-1 if cid is None else cid],
             "video_id": video_id}
            for tid, cid in selection.track_categories.items()
        ],
    }
    report.boxes, report.files = len(rows), 1
    return json.dumps(data, separators=(",", ":"))


def _annotations(
    rows: ObservationArrays, category: np.ndarray, category_of: dict[int, int], images: dict[int, dict[str, Any]],
    video_id: Any, kept: Kept,
) -> Iterable[dict[str, Any]]:
    masks = rows.masks or [None] * len(rows)
    next_id = kept.max_annotation_id + 1
    for frame, track_id, box, score, cid, mask in zip(
        rows.frame.tolist(), rows.track_id.tolist(), rows.box.tolist(), rows.score.tolist(), category.tolist(), masks,
    ):
        original = kept.annotations.get(f"{frame},{track_id}", {})
        annotation = {**original, "image_id": images[frame]["id"], "category_id": category_of[cid],
                      "instance_id": kept.instance(track_id), "bbox": box}
        for key, value in (("video_id", video_id), ("track_id", track_id)):  # TAO's keys, unless the file lacked them
            if key in original or not original:
                annotation[key] = value
        if not original:
            annotation["id"], next_id = next_id, next_id + 1
        crowd = score == 0
        annotation["iscrowd"] = crowd if isinstance(original.get("iscrowd"), bool) else int(crowd)
        if "score" in original or not original:
            annotation["score"] = score
        same_mask = mask is not None and original.get(MASK_KEY) == _digest(mask)
        if mask is not None and not same_mask:
            annotation["segmentation"] = {"size": [mask.height, mask.width], "counts": mask.counts.decode("ascii")}
        if mask is None:
            annotation.pop("segmentation", None)
        if not (original.get("bbox") == box and (mask is None or same_mask) and "area" in original):
            annotation["area"] = float(mask_utils.area(mask.to_coco())) if mask is not None else box[2] * box[3]
        annotation.pop(MASK_KEY, None)
        yield annotation


# --------------------------------------------------------------------------- what a read file held
META = "cocovid"
MASK_KEY = "_masklet_mask"


def _digest(mask: Rle) -> str:
    return hashlib.blake2b(mask.counts + f"{mask.height}x{mask.width}".encode(), digest_size=8).hexdigest()


class Kept:
    """The parts of a read COCO-VID file that the project does not hold (the document's ``cocovid`` meta)."""

    def __init__(self, meta: dict[str, Any]) -> None:
        self.top: dict[str, Any] = meta.get("top", {})
        self.video: dict[str, Any] = meta.get("video", {})
        self.images: dict[str, dict[str, Any]] = meta.get("images", {})
        self.annotations: dict[str, dict[str, Any]] = meta.get("annotations", {})
        self.tracks: dict[str, dict[str, Any]] = meta.get("tracks", {})
        self._categories: list[dict[str, Any]] = meta.get("categories", [])
        self._instances: dict[str, Any] = meta.get("instances", {})
        self.max_annotation_id = max((a["id"] for a in self.annotations.values() if isinstance(a.get("id"), int)),
                                     default=0)

    def image(self, frame: int) -> dict[str, Any] | None:
        image = self.images.get(str(frame))
        return None if image is None else dict(image)

    def instance(self, track_id: int) -> Any:
        """The file's instance id of a track (BDD100K's strings), else the track id."""
        return self._instances.get(str(track_id), track_id)

    def categories(self, written: dict[int, str]) -> list[dict[str, Any]]:
        """The file's categories as they were (names as the project has them now), then new ones."""
        result = [{**c, "name": written.get(c.get("id"), c.get("name"))} for c in self._categories]
        known = {c.get("id") for c in self._categories}
        return result + [{"id": cid, "name": name} for cid, name in written.items() if cid not in known]


def kept_meta(data: dict[str, Any], path: Path, video: dict[str, Any], images: dict[Any, tuple[int, Any, Any]],
              annotations: list[tuple[int, Any, dict[str, Any], Rle | None]], track_of: dict[Any, int]) -> dict[str, Any]:
    """The ``cocovid`` meta of a read file: what ``Kept`` gives back when writing."""
    image_entries = {image["id"]: image for image in data["images"] if _is_key(image.get("id"))}
    return {
        "top": {k: v for k, v in data.items() if k not in ("videos", "images", "annotations", "categories", "tracks")},
        "video": video,
        "images": {str(frame): image_entries[image_id] for image_id, (frame, _, _) in images.items()},
        "annotations": {f"{frame},{track_id}": {**ann, **({MASK_KEY: _digest(mask)} if mask is not None else {})}
                        for frame, track_id, ann, mask in annotations},
        "tracks": {str(track_of[t["id"]]): t for t in _list(data, "tracks", path, required=False)
                   if _is_key(t.get("id")) and t["id"] in track_of},
        "categories": [c for c in _list(data, "categories", path, required=False) if is_integer(c.get("id"))],
        "instances": {str(number): instance for instance, number in track_of.items() if instance != number},
    }


# --------------------------------------------------------------------------- reading
def read(path: str | Path, doc: Document | None = None, **options: object) -> Document:
    """Read one video of a COCO-VID json into ``doc`` (or a new in-memory document)."""
    path = Path(path)
    opts = ReadOptions(**options)  # type: ignore[arg-type]
    data = load_json(path)
    report = ReadReport(NAME, str(path))
    video_id, video = _pick_video(data, path, opts.video_name)
    images = _images(data, path, video_id, video)
    frames, instances, boxes, scores, classes, masks, originals = [], [], [], [], [], [], []
    for index, ann in enumerate(_list(data, "annotations", path)):
        if not _is_key(ann.get("image_id")) or ann.get("image_id") not in images:
            continue
        where = f"annotations[{index}] (id {ann.get('id')!r})"
        instance = ann.get("instance_id", ann.get("track_id"))
        if not isinstance(instance, (int, str)) or isinstance(instance, bool) or not is_integer(ann.get("category_id")):
            raise FormatError(path, f"{where}: needs an integer or string instance_id or track_id and an integer "
                                    "category_id")
        frame, width, height = images[ann["image_id"]]
        mask = _mask(ann.get("segmentation"), width, height, path, where)
        box = ann.get("bbox")
        if box is None and mask is not None:
            box = mask_utils.toBbox(mask.to_coco()).tolist()
        if not (isinstance(box, list) and len(box) == 4 and all(is_number(v) for v in box)):
            raise FormatError(path, f"{where}: bbox must be [x, y, w, h] of finite numbers, not {box!r}")
        score = ann.get("score", 1.0)
        if not is_number(score):
            raise FormatError(path, f"{where}: score must be a finite number, not {score!r}")
        frames.append(frame)
        instances.append(instance)
        boxes.append(box)
        scores.append(0.0 if ann.get("iscrowd") else float(score))
        classes.append(ann["category_id"])
        masks.append(mask)
        originals.append(ann)
    frame = np.array(frames, np.int64)
    track_id = np.array(_track_ids(instances, path), np.int64)
    duplicate = first_duplicate(frame, track_id)
    if duplicate is not None:
        raise FormatError(path, f"annotations: two boxes for instance {instances[duplicate]!r} in frame {frames[duplicate]}")
    doc = doc if doc is not None else Document.in_memory()
    with doc.transaction():
        names = {c["id"]: str(c["name"]) for c in _list(data, "categories", path, required=False)
                 if is_integer(c.get("id")) and isinstance(c.get("name"), (str, int, float))}
        category = document_categories(doc, np.array(classes, np.int64), names)
        rows = ObservationArrays(
            frame, track_id, np.array(boxes, np.float64).reshape(-1, 4), np.array(scores, np.float64),
            np.ones(len(frames)), masks if any(m is not None for m in masks) else None,
        )
        store(doc, rows, track_categories(track_id, category, report), report, _video_info(video, images, path))
        track_of = {instance: number + report.id_offset for instance, number in zip(instances, track_id.tolist())}
        doc.set_meta(META, kept_meta(data, path, video, images, list(zip(frames, (track_of[i] for i in instances),
                                                                      originals, masks)), track_of))
    return doc


def _images(data: dict[str, Any], path: Path, video_id: Any, video: dict[str, Any]) -> dict[Any, tuple[int, Any, Any]]:
    """Image id → (frame, width, height) for the images of the chosen video."""
    images = {}
    for index, image in enumerate(_list(data, "images", path)):
        if video_id is not None and image.get("video_id") != video_id:
            continue
        frame = image.get("frame_id", image.get("frame_index"))
        if not is_integer(frame) or not _is_key(image.get("id")):
            raise FormatError(path, f"images[{index}]: needs an integer or string id and an integer frame_id or "
                                    "frame_index")
        size = image.get("width", video.get("width")), image.get("height", video.get("height"))
        if any(v is not None and not (is_integer(v) and 0 < v <= MAX_IMAGE_SIDE) for v in size):
            raise FormatError(path, f"images[{index}]: width and height must be 1–{MAX_IMAGE_SIDE}, not {size}")
        images[image["id"]] = (frame, *size)
    return images


def _is_key(value: Any) -> bool:
    """An id a json file may use: an integer or a string."""
    return is_integer(value) or isinstance(value, str)


def _track_ids(instances: list[Any], path: Path) -> list[int]:
    """Integer instance ids as they are; with any string id, every id numbered 1, 2, … by first appearance."""
    if any(isinstance(i, str) for i in instances):
        numbers: dict[Any, int] = {}
        return [numbers.setdefault(i, len(numbers) + 1) for i in instances]
    if not all(is_integer(i) for i in instances):
        raise FormatError(path, "instance ids must be integers (64-bit) or strings")
    return instances


def load_json(path: Path) -> dict[str, Any]:
    """A json object, or ``FormatError`` naming the line of a syntax error."""
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except json.JSONDecodeError as exc:
        raise FormatError(path, f"invalid json: {exc.msg} (column {exc.colno})", exc.lineno) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(path, f"cannot read ({exc})") from None
    if not isinstance(data, dict):
        raise FormatError(path, "expected a json object with videos, images and annotations", 1)
    return data


def _list(data: dict[str, Any], key: str, path: Path, required: bool = True) -> list[dict[str, Any]]:
    value = data.get(key, None if required else [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise FormatError(path, f"'{key}' must be a list of objects")
    return value


def _pick_video(data: dict[str, Any], path: Path, name: str | None) -> tuple[Any, dict[str, Any]]:
    """(video id or None for a file without videos, the video's entry)."""
    videos = _list(data, "videos", path, required=False)
    if not all(_is_key(v.get("id", 0)) for v in videos):
        raise FormatError(path, "video ids must be integers or strings")
    if name is not None:
        chosen = [v for v in videos if v.get("name") == name]
        if not chosen:
            raise FormatError(path, f"no video named {name!r}; videos: {', '.join(str(v.get('name')) for v in videos)}")
        return chosen[0].get("id"), chosen[0]
    if len(videos) > 1:
        raise FormatError(path, f"{len(videos)} videos: pick one with --video-name "
                                f"({', '.join(str(v.get('name')) for v in videos)})")
    return (videos[0].get("id"), videos[0]) if videos else (None, {})


def video_names(path: Path) -> list[str]:
    """The names of the videos in a COCO-VID json (``[]`` when it has no ``videos``)."""
    data = load_json(path)
    return [str(v.get("name")) for v in _list(data, "videos", path, required=False)]


def _mask(segmentation: Any, width: int | None, height: int | None, path: Path, where: str) -> Rle | None:
    """A segmentation (polygons, compressed or uncompressed RLE) as an ``Rle``, checked before pycocotools reads
    it (which crashes or allocates without bound on malformed input)."""
    if segmentation is None or segmentation == [] or segmentation == {}:
        return None
    if isinstance(segmentation, dict):
        size, counts = segmentation.get("size"), segmentation.get("counts")
        if not (isinstance(size, list) and len(size) == 2 and all(is_integer(v) for v in size)):
            raise FormatError(path, f"{where}: segmentation size must be [height, width], not {size!r}")
        rle, problem = None, mask_size_problem(*size)
        if problem is None and isinstance(counts, str):
            rle = Rle(size[0], size[1], counts.encode("ascii", errors="replace"))
            problem = rle_problem(rle)
        elif problem is None and isinstance(counts, list) and all(is_integer(c) and c >= 0 for c in counts):
            if sum(counts) != size[0] * size[1]:
                problem = f"mask counts do not describe {size[0]}×{size[1]} pixels"
            else:
                rle = Rle(size[0], size[1], mask_utils.frPyObjects(segmentation, size[0], size[1])["counts"])
        elif problem is None:
            problem = "segmentation counts must be a string or a list of counts"
        if problem is not None or rle is None:
            raise FormatError(path, f"{where}: {problem}")
        return rle
    if not (isinstance(segmentation, list) and all(isinstance(p, list) for p in segmentation)):
        raise FormatError(path, f"{where}: segmentation must be polygons (lists of x, y numbers) or an RLE object")
    if width is None or height is None:
        raise FormatError(path, f"{where}: polygons need the image's width and height")
    for polygon in segmentation:
        if len(polygon) < 6 or len(polygon) % 2 or not all(is_number(v) for v in polygon):
            raise FormatError(path, f"{where}: a polygon must be at least 3 x, y pairs of finite numbers")
        x, y = np.array(polygon[0::2], np.float64), np.array(polygon[1::2], np.float64)
        if (x < -width).any() or (x > 2 * width).any() or (y < -height).any() or (y > 2 * height).any():
            raise FormatError(path, f"{where}: polygon points lie more than an image size outside the "
                                    f"{width}×{height} image")
    coco = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    return Rle(int(coco["size"][0]), int(coco["size"][1]), coco["counts"])


def _video_info(video: dict[str, Any], images: dict[Any, tuple[int, Any, Any]], path: Path) -> VideoInfo | None:
    """The video the json describes, when it gives an image size."""
    if not images:
        return None
    frame, width, height = max(images.values(), key=lambda image: image[0])
    if width is None or height is None or not 0 <= frame < MAX_FRAMES:  # frames out of bounds: refused by store
        return None
    return described_video(path, path.parent, str(video.get("name", path.stem)), frame + 1,
                           video.get("fps", DEFAULT_FPS), width, height)

"""Import refuses what a project could store but no export could write back, naming the file (and line)."""
from __future__ import annotations

import json
import sys
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.document import Document
from exporters import registry
from exporters.base import FormatError
from tracker.geometry import encode_mask
from tracker.video import VideoInfo

ROOT = Path(__file__).resolve().parents[2]
VIDEO = VideoInfo(Path("clip.mp4"), "clip", 10, 30.0, 64, 48)
GOOD_RLE = encode_mask(np.ones((48, 64), bool))


def _coco(tmp_path: Path, image: dict[str, Any] | None = None, annotation: dict[str, Any] | None = None) -> Path:
    data = {
        "videos": [{"id": 1, "name": "clip"}],
        "images": [{"id": 1, "video_id": 1, "frame_id": 0, "width": 64, "height": 48, **(image or {})}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "instance_id": 3, "bbox": [1, 2, 10, 8],
                         **(annotation or {})}],
        "categories": [{"id": 1, "name": "car"}],
    }
    path = tmp_path / "labels.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("image, annotation, message", [
    ({"frame_id": -4}, None, "frame -4 is before the first frame"),
    ({"frame_id": True}, None, "integer frame_id"),
    (None, {"instance_id": 2**63}, "instance ids must be integers \\(64-bit\\)"),
    (None, {"category_id": True}, "integer category_id"),
    (None, {"bbox": [True, 2, 10, 8]}, "bbox must be"),
    (None, {"segmentation": {"size": [-48, 64], "counts": GOOD_RLE.counts.decode()}}, "mask size -48×64 is not positive"),
    (None, {"segmentation": {"size": [48, 64], "counts": "not an rle ~~~"}}, "not a COCO RLE string"),
    (None, {"segmentation": {"size": [48, 64], "counts": "4"}}, "do not describe 48×64 pixels"),
    (None, {"segmentation": {"size": [24, 32], "counts": encode_mask(np.ones((24, 32), bool)).counts.decode()}},
     "mask size 32×24 is not the video's 64×48"),
])
def test_cocovid_values_that_cannot_round_trip_are_refused(
    tmp_path: Path, image: dict | None, annotation: dict | None, message: str
) -> None:
    path = _coco(tmp_path, image, annotation)
    with pytest.raises(FormatError, match=message) as error:
        registry.get("cocovid").read(path, Document.in_memory(VIDEO))
    assert str(error.value).startswith(f"{path}") and "\n" not in str(error.value)


def test_the_unchanged_cocovid_file_reads(tmp_path: Path) -> None:
    doc = registry.get("cocovid").read(_coco(tmp_path, annotation={"segmentation": {
        "size": [48, 64], "counts": GOOD_RLE.counts.decode()}}), Document.in_memory(VIDEO))
    assert doc.observation_count() == 1 and doc.observation(3, 0).mask == GOOD_RLE


@pytest.mark.parametrize("row, message", [
    ("1,9223372036854775808,1,2,3,4,1,1,1", "id 9223372036854775808 is too large to keep exactly"),
    ("1,9007199254740993,1,2,3,4,1,1,1", "id 9007199254740992 is too large to keep exactly"),
])
def test_mot_ids_beyond_exact_integers_are_refused_with_the_line(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "gt.txt"
    path.write_text(f"1,1,1,2,3,4,1,1,1\n{row}\n")
    with pytest.raises(FormatError, match=f"^{path}:2: {message}"):
        registry.get("mot").read(path)


def test_import_of_a_negative_coco_frame_exits_2_and_writes_no_project(shared_data: Path, tmp_path: Path) -> None:
    path = _coco(tmp_path, {"frame_id": -4, "width": 1280, "height": 720})
    result = subprocess.run([sys.executable, "-m", "app.cli", "import", str(path), "--video",
                             str(shared_data / "highway" / "highway.mp4"), "-o", str(tmp_path / "p.masklet")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == f"masklet: error: {path}: frame -4 is before the first frame (frames count from 0)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.json"]

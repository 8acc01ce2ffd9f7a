"""Real label files from ``shared/data``: BDD100K COCO-VID, TAO, YouTube-VIS, MOT17, highway."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from exporters import cocovid, mot, registry
from exporters.base import FormatError, load_detections, read_report
from exporters.categories import MOT17_CLASSES
from tracker.geometry import mask_area

BDD = "bdd100k-track/cocoformat_track_sample_annotations.json"


def test_bdd100k_survives_cocovid_to_mot_to_cocovid(shared_data: Path, tmp_path: Path) -> None:
    source = json.loads((shared_data / BDD).read_text())
    doc = cocovid.read(shared_data / BDD)
    assert (doc.observation_count(), len(doc.tracks())) == (3241, 144)
    assert doc.video is not None and (doc.video.frame_count, doc.video.width, doc.video.height) == (202, 1280, 720)

    mot.write(doc, tmp_path / "seq")
    cocovid.write(mot.read(tmp_path / "seq"), tmp_path / "back.json")
    back = json.loads((tmp_path / "back.json").read_text())
    assert (len(back["images"]), len(back["annotations"]), len(back["tracks"])) == (202, 3241, 144)

    def boxes_by_instance(data: dict) -> dict[object, dict[int, list[float]]]:
        frame_of = {image["id"]: image["frame_id"] for image in data["images"]}
        result: dict[object, dict[int, list[float]]] = {}
        for ann in data["annotations"]:
            result.setdefault(ann["instance_id"], {})[frame_of[ann["image_id"]]] = ann["bbox"]
        return result

    original, final = boxes_by_instance(source), boxes_by_instance(back)
    # the same identities (string ids numbered by first appearance) with exactly the same boxes per frame
    numbering = {instance: number for number, instance in enumerate(dict.fromkeys(
        a["instance_id"] for a in source["annotations"]), 1)}
    assert {numbering[i]: boxes for i, boxes in original.items()} == final
    crowd = sum(bool(a["iscrowd"]) for a in source["annotations"])
    assert sum(a["iscrowd"] for a in back["annotations"]) == crowd == 132
    # category names survive MOT (gt/labels.txt names rider, bus, truck, motorcycle: not MOTChallenge classes)
    names = {c["id"]: c["name"] for c in source["categories"]}
    back_names = {c["id"]: c["name"] for c in back["categories"]}
    categories = {a["instance_id"]: names[a["category_id"]] for a in source["annotations"]}
    assert {numbering[i]: c for i, c in categories.items()} == {t["id"]: back_names[t["category_id"]]
                                                                for t in back["tracks"]}


def test_tao_sample_reads_polygons_and_track_ids(shared_data: Path) -> None:
    doc = cocovid.read(shared_data / "tao-sample" / "tao_ann.json")
    observations = list(doc.iter_observations())
    assert len(observations) == 4 and len(doc.tracks()) == 2
    assert doc.categories()[805] == "baby"
    first = observations[0]
    assert first.box == (156.0, 97.0, 150.0, 301.0)
    assert first.mask is not None and mask_area(first.mask) == pytest.approx(150 * 301, rel=0.03)


def test_youtube_vis_sample_reads_uncompressed_rle(shared_data: Path) -> None:
    data = json.loads((shared_data / "tao-sample" / "youtube_vis_ann.json").read_text())
    counts = data["annotations"][0]["segmentation"]["counts"]
    (obs,) = cocovid.read(shared_data / "tao-sample" / "youtube_vis_ann.json").iter_observations()
    assert obs.box == (1174.0, 335.0, 104.0, 79.0) and obs.track_id == 1
    assert obs.mask is not None and mask_area(obs.mask) == sum(counts[1::2])


@pytest.mark.parametrize("sequence", ["02", "04", "05", "09", "10", "11", "13"])
def test_every_mot17_ground_truth_reads(shared_data: Path, sequence: str) -> None:
    folder = shared_data / "mot17-mini" / f"MOT17-{sequence}-FRCNN"
    table = np.loadtxt(folder / "gt" / "gt.txt", delimiter=",", ndmin=2)
    doc = mot.read(folder, classes="mot17")
    rows = doc.observation_arrays()
    assert len(rows) == len(table) and set(rows.track_id.tolist()) == set(table[:, 1].astype(int).tolist())
    assert rows.frame.min() == table[:, 0].min() - 1
    assert {c: MOT17_CLASSES[c] for c in set(table[:, 7].astype(int).tolist())} == doc.categories()
    assert ((rows.visibility >= 0) & (rows.visibility <= 1)).all()
    assert sorted(rows.score.tolist()) == sorted(table[:, 6].tolist())  # ignored regions keep conf 0
    assert doc.video is not None and doc.video.frame_count >= rows.frame.max() + 1  # seqinfo beyond the frames
    assert read_report(doc).frame_base == 1 and registry.guess_format(folder) == "mot"
    unnamed = mot.read(folder)  # no names file and no --classes: the ids, never a guessed name
    assert set(unnamed.categories().values()) == {f"class {c}" for c in set(table[:, 7].astype(int).tolist())}


def test_highway_frames_from_zero_are_detected(shared_data: Path, caplog: pytest.LogCaptureFixture) -> None:
    doc = mot.read(shared_data / "highway" / "gt.txt")
    report = read_report(doc)
    assert report is not None and report.frame_base == 0
    assert any("numbered from 0" in w for w in report.warnings) and "numbered from 0" in caplog.text
    assert doc.frame_range()[0] == 0 and doc.observation_count() == 1704 and len(doc.tracks()) == 22
    with pytest.raises(FormatError, match="frame 0 does not exist in a 1-based file"):
        mot.read(shared_data / "highway" / "gt.txt", frame_base=1)
    forced = mot.read(shared_data / "highway" / "gt.txt", frame_base=0)
    assert not any("numbered from 0" in w for w in read_report(forced).warnings)


def test_det_txt_becomes_detections_not_tracks(shared_data: Path) -> None:
    doc = mot.read(shared_data / "mot17-mini" / "MOT17-02-FRCNN" / "det" / "det.txt")
    detections = load_detections(doc)
    lines = (shared_data / "mot17-mini" / "MOT17-02-FRCNN" / "det" / "det.txt").read_text().split()
    assert doc.tracks() == [] and detections is not None and len(detections) == len(lines)
    assert read_report(doc).detections == len(lines) and detections.frame.min() >= 0


def _two_videos(path: Path, frame_key: str = "frame_id") -> Path:
    data = {
        "videos": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
        "images": [{"id": i, "video_id": 1 + i % 2, frame_key: i // 2, "width": 100, "height": 80} for i in range(4)],
        "annotations": [
            {"id": 1, "image_id": 0, "category_id": 1, "instance_id": "x", "bbox": [1, 2, 3, 4],
             "segmentation": [[10, 10, 20, 10, 20, 20, 10, 20]]},
            {"id": 2, "image_id": 2, "category_id": 1, "instance_id": "y", "bbox": [5, 6, 7, 8]},
            {"id": 3, "image_id": 2, "category_id": 1, "instance_id": "x", "bbox": [1, 2, 3, 4]},
            {"id": 4, "image_id": 1, "category_id": 1, "instance_id": "z", "bbox": [1, 1, 1, 1]},
        ],
        "categories": [{"id": 1, "name": "car"}],
    }
    path.write_text(json.dumps(data))
    return path


def test_cocovid_with_several_videos_needs_a_video_name(tmp_path: Path) -> None:
    path = _two_videos(tmp_path / "two.json", frame_key="frame_index")
    with pytest.raises(FormatError, match="2 videos: pick one with --video-name \\(a, b\\)"):
        cocovid.read(path)
    doc = cocovid.read(path, video_name="a")
    assert sorted((o.frame, o.track_id) for o in doc.iter_observations()) == [(0, 1), (1, 1), (1, 2)]
    assert doc.observation(1, 0).mask is not None  # polygon
    with pytest.raises(FormatError, match="no video named 'c'"):
        cocovid.read(path, video_name="c")

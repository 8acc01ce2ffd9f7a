"""Exports read by the tools that consume them (TrackEval, pycocotools, Ultralytics, a MOTS reader), on the
real files in ``shared/data``; class names, unclipped ground truth and kept fields survive."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from app.cli import main
from app.document import Document, Observation
from exporters import cocovid, mot, registry
from exporters.base import ExportError, read_report
from tracker.geometry import encode_mask, mask_to_xywh
from tracker.opencv import cv2
from tracker.video import VideoInfo

MOT17_04 = "mot17-mini/MOT17-04-FRCNN"
BDD = "bdd100k-track/cocoformat_track_sample_annotations.json"
TAO = "tao-sample/tao_ann.json"


def _table(path: Path) -> np.ndarray:
    """A MOT txt as rows sorted by (frame, id)."""
    table = np.loadtxt(path, delimiter=",", ndmin=2)
    return table[np.lexsort((table[:, 1], table[:, 0]))]


# --------------------------------------------------------------------------- MOT: TrackEval
def _trackeval(gt_root: Path, tracker_root: Path, sequence: str, out: Path) -> dict[str, float]:
    """HOTA, MOTA and IDF1 of ``tracker_root/pred/<sequence>.txt`` against ``gt_root/<sequence>`` with TrackEval's
    MotChallenge2DBox (MOT17 preprocessing: pedestrians, distractors removed)."""
    import trackeval

    config = {**trackeval.Evaluator.get_default_eval_config(), "USE_PARALLEL": False, "PRINT_RESULTS": False,
              "PRINT_CONFIG": False, "OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False, "PLOT_CURVES": False,
              "TIME_PROGRESS": False, "DISPLAY_LESS_PROGRESS": True, "OUTPUT_EMPTY_CLASSES": False}
    dataset = {**trackeval.datasets.MotChallenge2DBox.get_default_dataset_config(), "GT_FOLDER": str(gt_root),
               "TRACKERS_FOLDER": str(tracker_root), "OUTPUT_FOLDER": str(out), "TRACKERS_TO_EVAL": ["pred"],
               "SKIP_SPLIT_FOL": True, "TRACKER_SUB_FOLDER": "", "SEQ_INFO": {sequence: None}, "PRINT_CONFIG": False}
    metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR({"PRINT_CONFIG": False}),
               trackeval.metrics.Identity({"PRINT_CONFIG": False})]
    results, _ = trackeval.Evaluator(config).evaluate([trackeval.datasets.MotChallenge2DBox(dataset)], metrics)
    summary = results["MotChallenge2DBox"]["pred"][sequence]["pedestrian"]
    return {"HOTA": float(np.mean(summary["HOTA"]["HOTA"])), "MOTA": float(summary["CLEAR"]["MOTA"]),
            "IDF1": float(summary["Identity"]["IDF1"])}


def test_mot17_ground_truth_exports_unchanged_and_trackeval_scores_it_the_same(
    shared_data: Path, tmp_path: Path
) -> None:
    source = shared_data / MOT17_04
    doc = mot.read(source, classes="mot17")
    exported = tmp_path / "gt" / "MOT17-04-FRCNN"
    exported.parent.mkdir()
    report = mot.write(doc, exported)
    original = _table(source / "gt" / "gt.txt")
    assert report.clipped == 0 and (original[:, 2:6] < 0).any()  # MOT17 boxes past the border stay there
    assert np.array_equal(_table(exported / "gt" / "gt.txt"), original)  # same rows, same floats
    assert (exported / "gt" / "labels.txt").read_text().splitlines()[:3] == ["pedestrian", "person_on_vehicle", "car"]
    # a tracker: the ground truth's pedestrians, with boxes beyond the border as MOTChallenge trackers report them
    (tmp_path / "trackers" / "pred").mkdir(parents=True)
    registry.get("mot-results").write(doc, tmp_path / "trackers" / "pred" / "MOT17-04-FRCNN.txt",
                                      category_ids=[1])
    (tmp_path / "orig").mkdir()
    (tmp_path / "orig" / "MOT17-04-FRCNN").symlink_to(source)
    on_export = _trackeval(tmp_path / "gt", tmp_path / "trackers", "MOT17-04-FRCNN", tmp_path / "out1")
    on_source = _trackeval(tmp_path / "orig", tmp_path / "trackers", "MOT17-04-FRCNN", tmp_path / "out2")
    assert on_export == on_source and on_source["HOTA"] > 0.99
    clipped = mot.write(doc, tmp_path / "clipped", clip=True)  # explicit, and reported
    assert clipped.clipped > 0 and "clipped to the image" in clipped.summary()


def test_names_survive_mot_and_mots_with_a_class_map(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = Document.in_memory(VideoInfo(Path("v.mp4"), "v", 5, 25.0, 64, 48))
    for track_id, name in enumerate(["car", "truck", "bus", "rider"], 1):
        doc.add_track(track_id, doc.category_id(name))
    doc.add_observations([_observation(f, t) for f in range(3) for t in range(1, 5)])
    mot.write(doc, tmp_path / "seq")
    assert (tmp_path / "seq" / "gt" / "labels.txt").read_text() == "car\ntruck\nbus\nrider\n"  # CVAT MOT 1.1
    back = mot.read(tmp_path / "seq")
    assert {t.id: back.track_label(t.id) for t in back.tracks()} == {1: "car", 2: "truck", 3: "bus", 4: "rider"}
    assert read_report(back).classes.endswith("labels.txt")
    with pytest.raises(ExportError, match="cannot write 'truck', 'bus', 'rider'; map them with --class-map"):
        registry.get("mots").write(_with_masks(doc), tmp_path / "m.txt")
    registry.get("mots").write(_with_masks(doc), tmp_path / "m.txt", class_map={"rider": "pedestrian", "*": "car"})
    classes = {int(line.split()[1]): int(line.split()[2]) for line in (tmp_path / "m.txt").read_text().splitlines()}
    assert classes == {1001: 1, 1002: 1, 1003: 1, 2004: 2}


def _observation(frame: int, track_id: int, mask: bool = False) -> Observation:
    pixels = np.zeros((48, 64), bool)
    pixels[track_id * 8:track_id * 8 + 6, frame * 4 + 1:frame * 4 + 9] = True
    return Observation(frame=frame, track_id=track_id, box=(frame * 4 + 1.0, track_id * 8.0, 8.0, 6.0),
                       mask=encode_mask(pixels) if mask else None)


def _with_masks(doc: Document) -> Document:
    doc.add_observations([_observation(o.frame, o.track_id, mask=True) for o in doc.iter_observations()])
    return doc


def test_mot_imports_cvat_and_x_anylabeling_names_comments_and_id_minus_one(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cvat = tmp_path / "cvat" / "gt"
    cvat.mkdir(parents=True)
    (cvat / "labels.txt").write_text("cat\ndog\n")
    (cvat / "gt.txt").write_text("# frame, id, x, y, w, h, not ignored, class, visibility\n"
                                 "1,1,10,10,5,5,1,2,1\n2,1,11,10,5,5,1,2,1\n1,-1,30,30,5,5,1,1,1  # no track\n")
    doc = mot.read(tmp_path / "cvat")
    assert {t.id: doc.track_label(t.id) for t in doc.tracks()} == {1: "dog", 2: "cat"}  # id -1: a one-box track
    assert any("id -1" in w for w in read_report(doc).warnings) and doc.observation_count() == 3
    # X-AnyLabeling: gt.txt numbered from 0 into classes.txt (highway's cars are class 2 of the COCO names)
    folder = tmp_path / "xany"
    folder.mkdir()
    (folder / "gt.txt").symlink_to(shared_data / "highway" / "gt.txt")
    (folder / "classes.txt").write_text("person\nbicycle\ncar\n")
    assert set(mot.read(folder / "gt.txt").categories().values()) == {"car"}
    assert main(["convert", str(shared_data / "highway" / "gt.txt"), str(tmp_path / "h.json"), "--to", "cocovid",
                 "--classes", "mot17"]) == 0
    assert {c["name"] for c in json.loads((tmp_path / "h.json").read_text())["categories"]} == {"person_on_vehicle"}
    assert main(["convert", str(shared_data / "highway" / "gt.txt"), str(tmp_path / "h.json"), "--to", "cocovid",
                 "--classes", "nonsense"]) == 2
    assert "expected mot17, mot15 or a names file" in capsys.readouterr().err


def test_track_then_import_keeps_detector_class_names(
    shared_data: Path, openvino_detector_path: Path, tmp_path: Path
) -> None:
    video = str(shared_data / "highway" / "highway.mp4")
    assert main(["track", video, "--engine", "bytetrack", "--detector", str(openvino_detector_path),
                 "--classes", "car,truck,bus", "--end", "4", "-o", str(tmp_path / "t.masklet"),
                 "--export", f"mot:{tmp_path / 'X'}"]) == 0
    with Document.open(tmp_path / "t.masklet") as tracked:
        names = set(tracked.categories().values())
    assert main(["import", str(tmp_path / "X"), "--video", video, "-o", str(tmp_path / "back")]) == 0
    with Document.open(tmp_path / "back.masklet") as back:
        assert set(back.categories().values()) == names and "car" in names and names <= {"car", "truck", "bus"}


# --------------------------------------------------------------------------- mot-results, MOTS
def test_mot_results_leave_out_ignored_regions(shared_data: Path, tmp_path: Path) -> None:
    assert main(["convert", str(shared_data / BDD), str(tmp_path / "r.txt"), "--to", "mot-results"]) == 0
    assert main(["eval", "--gt", str(shared_data / BDD), "--pred", str(tmp_path / "r.txt"),
                 "--json", str(tmp_path / "e.json")]) == 0
    metrics = json.loads((tmp_path / "e.json").read_text())["combined"]
    assert (metrics["FP"], metrics["FN"], metrics["IDSW"]) == (0, 0, 0)  # the 132 crowd boxes are not predictions


def test_mots_export_reads_back_per_the_mots_format(shared_data: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    masks = sorted((shared_data / "sequences" / "davis-dance-twirl" / "gt" / "masks").glob("*.png"))[:6]
    pixels = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) > 0 for p in masks]
    height, width = pixels[0].shape
    doc = Document.in_memory(VideoInfo(Path("dance.mp4"), "dance", len(masks), 25.0, width, height))
    doc.add_track(1, doc.category_id("person"))
    doc.add_observations([Observation(frame=f, track_id=1, box=mask_to_xywh(p), mask=encode_mask(p))
                          for f, p in enumerate(pixels)])
    doc.save_as(tmp_path / "d.masklet")
    doc.close()
    assert main(["export", str(tmp_path / "d.masklet"), "-f", "mots", "-o", str(tmp_path / "m.txt")]) == 2
    assert "cannot write 'person'" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "d.masklet"), "-f", "mots", "-o", str(tmp_path / "m.txt"),
                 "--class-map", "person=pedestrian"]) == 0
    # MOTS: "time_frame id class_id img_height img_width rle", id = class_id * 1000 + instance, COCO RLE
    for line, expected in zip((tmp_path / "m.txt").read_text().splitlines(), pixels, strict=True):
        frame, object_id, class_id, h, w, rle = line.split(" ")
        assert class_id == "2" and int(object_id) // 1000 == 2 and (int(h), int(w)) == (height, width)
        decoded = mask_utils.decode({"size": [int(h), int(w)], "counts": rle.encode()})
        assert np.array_equal(decoded.astype(bool), expected)
    assert main(["convert", str(shared_data / "highway" / "gt.txt"), str(tmp_path / "b.txt"), "--to", "mots"]) == 2
    assert "none of the 1704 selected boxes has one" in capsys.readouterr().err
    assert not (tmp_path / "b.txt").exists()


def test_tao_project_goes_to_mots_only_with_a_class_map(shared_data: Path, tmp_path: Path) -> None:
    doc = cocovid.read(shared_data / TAO)  # polygons → masks; TAO class 805 "baby"
    with pytest.raises(ExportError, match="cannot write 'class 95', 'baby'"):
        registry.get("mots").write(doc, tmp_path / "m.txt")
    registry.get("mots").write(doc, tmp_path / "m.txt", class_map={"baby": "pedestrian", "*": "car"})
    assert {line.split()[2] for line in (tmp_path / "m.txt").read_text().splitlines()} == {"1", "2"}


# --------------------------------------------------------------------------- COCO-VID: pycocotools, TAO, BDD
def test_tao_survives_cocovid_project_cocovid(shared_data: Path, tmp_path: Path) -> None:
    from pycocotools.coco import COCO

    source = json.loads((shared_data / TAO).read_text())
    doc = cocovid.read(shared_data / TAO)
    doc.save_as(tmp_path / "tao.masklet")  # kept fields live in the project
    doc.close()
    assert main(["export", str(tmp_path / "tao.masklet"), "-f", "cocovid", "-o", str(tmp_path / "back.json")]) == 0
    back = json.loads((tmp_path / "back.json").read_text())
    for key in ("videos", "images", "annotations", "tracks", "info", "licenses"):
        assert back[key] == source[key], key
    assert back["images"][1]["frame_index"] == 420 and back["videos"][0]["neg_category_ids"] == [342, 57, 651, 357, 738]
    assert back["videos"][0]["not_exhaustive_category_ids"] == [805, 95]
    assert back["categories"][:2] == source["categories"]  # frequency, synonyms, the unused serving_dish
    coco = COCO(str(tmp_path / "back.json"))
    assert coco.annToMask(coco.anns[1]).sum() == pytest.approx(150 * 301, rel=0.03)  # polygons decode


def test_bdd_survives_cocovid_with_an_edit_and_pycocotools_decodes_rle(shared_data: Path, tmp_path: Path) -> None:
    from pycocotools.coco import COCO

    source = json.loads((shared_data / BDD).read_text())
    doc = cocovid.read(shared_data / BDD)
    first = source["annotations"][0]
    track = next(t for t in range(1, 145) if doc.observation(t, 0) and doc.observation(t, 0).box == tuple(first["bbox"]))
    from dataclasses import replace

    doc.add_observations([replace(doc.observation(track, 0), box=(1.0, 2.0, 3.0, 4.0))])  # the one edit
    cocovid.write(doc, tmp_path / "back.json")
    back = json.loads((tmp_path / "back.json").read_text())
    by_id = {a["id"]: a for a in back["annotations"]}
    edited = by_id.pop(first["id"])
    assert edited["bbox"] == [1.0, 2.0, 3.0, 4.0] and edited["area"] == 12.0 and edited["occluded"] == first["occluded"]
    assert by_id == {a["id"]: a for a in source["annotations"] if a["id"] != first["id"]}
    assert edited["instance_id"] == first["instance_id"] == "00122062"
    assert back["images"] == source["images"] and back["categories"] == source["categories"]
    COCO(str(tmp_path / "back.json"))
    vis = shared_data / "tao-sample" / "youtube_vis_ann.json"  # uncompressed RLE in, compressed RLE out
    cocovid.write(cocovid.read(vis), tmp_path / "vis.json")
    coco = COCO(str(tmp_path / "vis.json"))
    counts = json.loads(vis.read_text())["annotations"][0]["segmentation"]["counts"]
    assert coco.annToMask(coco.anns[1]).sum() == sum(counts[1::2])


# --------------------------------------------------------------------------- YOLO: Ultralytics
def test_bdd_yolo_export_loads_in_ultralytics_without_corrupt_labels(shared_data: Path, tmp_path: Path) -> None:
    from ultralytics.data import YOLODataset
    from ultralytics.data.utils import check_det_dataset, verify_image_label

    doc = cocovid.read(shared_data / BDD)
    frames = tmp_path / "frames"  # the sample ships no images: small stand-in frames
    frames.mkdir()
    for index in range(doc.video.frame_count):
        cv2.imwrite(str(frames / f"{index:05d}.jpg"), np.full((18, 32, 3), index % 255, np.uint8))
    doc.set_video(VideoInfo(frames, doc.video.name, doc.video.frame_count, 30.0, 1280, 720))
    report = registry.get("yolo").write(doc, tmp_path / "yolo")
    data = check_det_dataset(str(tmp_path / "yolo" / "data.yaml"))
    assert set(data["names"].values()) == set(doc.categories().values()) and data["train"] == data["val"]
    labels = sorted((tmp_path / "yolo" / "labels").glob("*.txt"))
    for label in labels:
        image = tmp_path / "yolo" / "images" / f"{label.stem}.jpg"
        result = verify_image_label((str(image), str(label), "", False, len(data["names"]), 0, 0, False))
        assert result[8] == 0 and not result[9], result[9]  # no corrupt label, no message
    dataset = YOLODataset(img_path=data["train"], data=data, task="detect", augment=False)
    assert len(dataset.labels) == 202 and sum(len(lb["cls"]) for lb in dataset.labels) == report.boxes == 3241
    back = registry.get("yolo").read(tmp_path / "yolo", image_size=(1280, 720))
    assert len(back.tracks()) == 144  # track ids from track_ids/


def test_yolo_track_id_column_is_explicit(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "tud" / "TUD-Campus" / "gt.txt"
    assert main(["convert", str(source), str(tmp_path / "y"), "--to", "yolo", "--image-size", "640x480",
                 "--yolo-track-ids"]) == 0
    first = next((tmp_path / "y" / "labels").glob("*.txt")).read_text().splitlines()[0]
    assert len(first.split()) == 6 and not (tmp_path / "y" / "track_ids").exists()
    assert main(["convert", str(source), str(tmp_path / "r.txt"), "--to", "mot-results", "--yolo-track-ids"]) == 2


# --------------------------------------------------------------------------- CVAT for video 1.1
def test_cvat_export_has_cvat_structure_and_reads_back(shared_data: Path, tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    doc = mot.read(shared_data / MOT17_04, classes="mot17")
    assert main(["convert", str(shared_data / MOT17_04), str(tmp_path / "a.xml"), "--to", "cvat",
                 "--classes", "mot17"]) == 0
    root = ET.parse(tmp_path / "a.xml").getroot()
    assert root.tag == "annotations" and root.findtext("version") == "1.1"
    task = root.find("meta/task")
    assert task.findtext("mode") == "interpolation" and task.findtext("original_size/width") == "1920"
    labels = {label.findtext("name") for label in task.iter("label")}
    for track in root.findall("track"):
        assert track.get("label") in labels and int(track.get("id")) >= 0
        for box in track.findall("box"):
            assert set(box.attrib) >= {"frame", "outside", "occluded", "keyframe", "xtl", "ytl", "xbr", "ybr", "z_order"}
            assert float(box.get("xbr")) > float(box.get("xtl")) and float(box.get("ybr")) > float(box.get("ytl"))
    back = registry.get(registry.guess_format(tmp_path / "a.xml")).read(tmp_path / "a.xml")
    before = {(o.frame, o.track_id): (o.box, o.visibility) for o in doc.iter_observations()}
    assert {(o.frame, o.track_id): (o.box, o.visibility) for o in back.iter_observations()} == before  # integral
    assert {t.id: back.track_label(t.id) for t in back.tracks()} == {t.id: doc.track_label(t.id) for t in doc.tracks()}


def test_cvat_keyframes_are_interpolated_and_outside_ends_a_track(tmp_path: Path) -> None:
    (tmp_path / "t.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<annotations><version>1.1</version><meta><task><size>10</size>'
        "<start_frame>0</start_frame><stop_frame>9</stop_frame><original_size><width>100</width><height>50</height>"
        '</original_size></task></meta><track id="0" label="car" source="manual">'
        '<box frame="0" outside="0" occluded="0" keyframe="1" xtl="0" ytl="0" xbr="10" ybr="10" z_order="0"/>'
        '<box frame="4" outside="0" occluded="1" keyframe="1" xtl="40" ytl="0" xbr="50" ybr="10" z_order="0"/>'
        '<box frame="6" outside="1" occluded="0" keyframe="1" xtl="40" ytl="0" xbr="50" ybr="10" z_order="0"/>'
        '<box frame="8" outside="0" occluded="0" keyframe="1" xtl="1" ytl="2" xbr="3" ybr="4" z_order="0"/>'
        "</track></annotations>\n")
    doc = registry.get("cvat").read(tmp_path / "t.xml")
    boxes = {o.frame: o.box for o in doc.iter_observations()}
    assert sorted(boxes) == [0, 1, 2, 3, 4, 5, 8, 9]  # 6–7 outside; the last box lasts to stop_frame
    assert boxes[2] == (20.0, 0.0, 10.0, 10.0) and boxes[5] == (40.0, 0.0, 10.0, 10.0)
    assert doc.observation(0, 4).visibility == 0.0 and doc.track_label(0) == "car"
    assert doc.video is not None and (doc.video.width, doc.video.height, doc.video.frame_count) == (100, 50, 10)

"""Detectors: the real OpenVINO COCO detector, a real ``.pt`` checkpoint, MOTChallenge ``det.txt`` files."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tracker.detectors import (
    Detections,
    Detector,
    MotFileDetector,
    UltralyticsDetector,
    load_detector,
    resolve_classes,
)
from tracker.errors import DetectorError
from tracker.video import VideoSource

VEHICLES = ["car", "truck", "bus"]


@pytest.fixture(scope="module")
def coco(openvino_detector_path: Path) -> UltralyticsDetector:
    return UltralyticsDetector(openvino_detector_path, device="cpu")


@pytest.fixture(scope="module")
def frames(shared_data: Path) -> dict[str, np.ndarray]:
    with VideoSource.open(shared_data / "bedroom" / "bedroom.mp4") as bedroom:
        with VideoSource.open(shared_data / "highway" / "highway.mp4") as highway:
            return {"bedroom": bedroom[0], "highway": highway[100]}


def labels(detections: Detections) -> list[str]:
    return [detections.label(i) for i in range(len(detections))]


def test_openvino_detector_finds_the_children(coco: UltralyticsDetector, frames: dict[str, np.ndarray]) -> None:
    found = coco(frames["bedroom"])
    assert isinstance(coco, Detector) and coco.names[0] == "person" and len(coco.names) == 80
    assert labels(found).count("person") == 2 and (found.conf >= 0.5).all()
    assert found.xyxy.dtype == np.float64 and found.xyxy.shape == (len(found), 4)
    assert (found.xyxy[:, 2:] > found.xyxy[:, :2]).all() and found.xyxy[:, 2].max() <= 960


def test_openvino_detector_finds_cars_with_a_class_filter(
    openvino_detector_path: Path, frames: dict[str, np.ndarray]
) -> None:
    vehicles = UltralyticsDetector(openvino_detector_path, classes=VEHICLES, conf=0.25, device="cpu")
    assert vehicles.class_ids == [2, 5, 7]
    found = vehicles(frames["highway"])
    assert labels(found).count("car") >= 2 and set(labels(found)) <= set(VEHICLES)
    assert len(vehicles(frames["bedroom"])) == 0  # people and a bed, no vehicles


def test_a_fixed_size_export_runs_at_its_size_whatever_the_release(
    openvino_detector_path: Path, frames: dict[str, np.ndarray], caplog: pytest.LogCaptureFixture
) -> None:
    """The OpenVINO export is static 640×640: asked for 1280 px (SMOTracker's default) it runs at 640 and
    says so (older Ultralytics releases failed inside OpenVINO, newer ones switch silently)."""
    detector = UltralyticsDetector(openvino_detector_path, classes=["car"], imgsz=1280, device="cpu")
    assert detector.imgsz == 640 and "exported for 640×640 px input" in caplog.text
    assert len(detector(frames["highway"])) > 0


def test_class_filter_by_names_or_ids() -> None:
    names = {0: "person", 1: "bicycle", 2: "car"}
    assert resolve_classes(None, names) is None
    assert resolve_classes(["Car", "0", 1, "car"], names) == [0, 1, 2]
    with pytest.raises(DetectorError, match=r"unknown detector class 'unicorn'.*0:person, 1:bicycle, 2:car"):
        resolve_classes(["person", "unicorn"], names)
    with pytest.raises(DetectorError, match="'7'"):
        resolve_classes([7], names)


def test_pt_checkpoint_loads(shared: Path, frames: dict[str, np.ndarray]) -> None:
    ball = UltralyticsDetector(shared / "models" / "yolov9t-ball.pt", conf=0.01, imgsz=320, device="cpu")
    assert ball.names == {0: "ball"}
    found = ball(frames["bedroom"])
    assert set(labels(found)) <= {"ball"} and found.conf.dtype == np.float64


def test_missing_or_invalid_weights_raise_detector_error(tmp_path: Path) -> None:
    with pytest.raises(DetectorError, match="nothere.onnx: no such file"):
        UltralyticsDetector(tmp_path / "nothere.onnx")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(DetectorError, match="cannot load detector weights .*corrupt.pt"):
        UltralyticsDetector(corrupt)


@pytest.mark.parametrize("cv2_first", [False, True])
def test_importing_ultralytics_leaves_the_qt_plugin_path_alone(cv2_first: bool) -> None:
    """OpenCV (imported by Ultralytics) sets QT_QPA_PLATFORM_PLUGIN_PATH, which breaks the Qt GUI."""
    code = (
        f"import os{'; import cv2' if cv2_first else ''}; from tracker.detectors import import_ultralytics; "
        "import_ultralytics(); print(os.environ.get('QT_QPA_PLATFORM_PLUGIN_PATH'))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_QPA_")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "None"
    if not cv2_first:
        env["QT_QPA_PLATFORM_PLUGIN_PATH"] = "/mine"
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
        assert out.strip() == "/mine"


def test_detections_helpers() -> None:
    boxes = [[0, 0, 10, 20], [5, 5, 15, 10], [1, 1, 2, 2]]
    dets = Detections(boxes, [0.9, 0.3, 0.5], [0, 2, 9], {0: "person", 2: "car"})
    assert len(dets) == 3 and dets.cls.dtype == np.int64
    assert dets.xywh.tolist()[0] == [0, 0, 10, 20]
    assert dets.label(1) == "car" and dets.label(2) == "9"
    assert dets.above(0.5).conf.tolist() == pytest.approx([0.9, 0.5])
    assert dets.of_classes([2, 9]).cls.tolist() == [2, 9]
    assert dets.select([2, 0]).conf.tolist() == pytest.approx([0.5, 0.9])
    assert len(Detections.empty({0: "x"})) == 0 and Detections.empty().xyxy.shape == (0, 4)


def test_mot_file_detector_reads_0_based_highway(shared_data: Path) -> None:
    """highway/det.txt numbers frames from 0 (it has a frame 0): read as 0-based."""
    det = MotFileDetector(shared_data / "highway" / "det.txt")
    assert det.frame_base == 0
    first = det(None, 0)
    assert len(first) == 7 and first.xyxy[0].tolist() == [757, 272, 768, 287]
    assert det(None).xyxy.tolist() == det(None, 1).xyxy.tolist()  # the cursor follows frame 0
    assert len(det(None, 10_000)) == 0


def test_mot_file_detector_reads_1_based_mot17(shared_data: Path) -> None:
    path = shared_data / "mot17-mini" / "MOT17-02-FRCNN" / "det" / "det.txt"
    det = MotFileDetector(path)
    assert det.frame_base == 1
    rows = np.loadtxt(path, delimiter=",")
    frame_1 = rows[rows[:, 0] == 1]
    found = det(None, 0)  # file frame 1 is frame 0
    assert len(found) == len(frame_1)
    assert sorted(found.xywh[:, 0].round(1)) == sorted(frame_1[:, 2].round(1))
    confident = MotFileDetector(path, conf=0.5)(None, 0)
    assert 0 < len(confident) < len(found) and (confident.conf >= 0.5).all()
    assert confident.names == {0: "object"}


def test_mot_file_detector_errors(tmp_path: Path) -> None:
    with pytest.raises(DetectorError, match="no such file"):
        MotFileDetector(tmp_path / "det.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("1,-1,1,2,3,4,0.9\n2,-1,oops\n")
    with pytest.raises(DetectorError, match=r"bad\.txt:2: expected 7 fields like line 1, found 3"):
        MotFileDetector(bad)


def test_load_detector(shared_data: Path, tmp_path: Path) -> None:
    det_txt = shared_data / "highway" / "det.txt"
    assert isinstance(load_detector(det_txt), MotFileDetector)
    ready = MotFileDetector(det_txt)
    assert load_detector(ready) is ready
    with pytest.raises(DetectorError, match="--classes"):
        load_detector(det_txt, classes=["car"])
    with pytest.raises(DetectorError, match="no such file"):
        load_detector(tmp_path / "model_openvino_model")

"""SMOT: Eq. 1 on hand-made raw predictions, σ_active, motion by optical flow, raw predictions of the real
detector, and an end-to-end run on a real sequence scored by ``masklet eval``."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tracker.head_outputs import RawPredictions, anchor_points, decode_raw, letterbox_gain_pad
from tracker.smot import FlowMotion, SMOTConfig, redetect, smot_state
from tracker.results import ObjectState


def raw(xyxy: list[list[float]], conf: list[float], points: list[list[float]] | None = None,
        cls: list[int] | None = None) -> RawPredictions:
    """Raw predictions whose anchor points are their boxes' centres unless given."""
    boxes = np.array(xyxy, dtype=np.float32)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    return RawPredictions(boxes, np.array(conf, np.float32), np.array(cls or [0] * len(conf), np.int64),
                          np.array(points, np.float32) if points is not None else centres)


TRACK = np.array([[0.0, 0.0, 10.0, 10.0]])
# IoU with TRACK: 1.0, 0.81 (box shifted by 1), 0.25 (shifted by 6 → 40/160), and a far box (0)
CANDIDATES = raw([[0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 5], [50, 50, 60, 60]], [0.6, 0.9, 0.2, 0.99])


def test_single_assignment_takes_the_best_aligned_location() -> None:
    """K = 1: the location maximising c·IoU⁶ (0.6·1 = 0.6 > 0.9·0.81⁶ ≈ 0.25) gives box and confidence as is."""
    boxes, conf = redetect(TRACK, np.array([0]), CANDIDATES, top_k=1)
    np.testing.assert_allclose(boxes, [[0, 0, 10, 10]])
    np.testing.assert_allclose(conf, [0.6])


def test_multi_assignment_weights_boxes_and_confidences_by_iou() -> None:
    """K = 3: Eq. 1's IoU-weighted means over the three candidates; the far box never takes part."""
    iou = np.array([1.0, 9 / 11, 0.5])  # IoU of each candidate box with the track's box
    boxes, conf = redetect(TRACK, np.array([0]), CANDIDATES, top_k=3)
    expected_box = (iou[:, None] * CANDIDATES.xyxy[:3]).sum(0) / iou.sum()
    np.testing.assert_allclose(boxes[0], expected_box, rtol=1e-6)
    np.testing.assert_allclose(conf[0], (iou * CANDIDATES.conf[:3]).sum() / iou.sum(), rtol=1e-6)
    boxes_k10, conf_k10 = redetect(TRACK, np.array([0]), CANDIDATES, top_k=10)  # K beyond the candidates
    np.testing.assert_allclose(conf_k10, conf)


def test_candidates_need_their_anchor_inside_the_box_and_the_track_class() -> None:
    outside = raw([[0, 0, 10, 10]], [0.9], points=[[20, 20]])
    assert redetect(TRACK, np.array([0]), outside, 1)[1][0] == 0.0
    other_class = raw([[0, 0, 10, 10]], [0.9], cls=[2])
    boxes, conf = redetect(TRACK, np.array([0]), other_class, 1)
    assert conf[0] == 0.0
    np.testing.assert_allclose(boxes, TRACK)  # no candidate: the predicted box is kept
    empty = raw([[0, 0, 1, 1]], [0.9])
    assert redetect(np.zeros((0, 4)), np.zeros(0, np.int64), empty, 1)[1].shape == (0,)


@pytest.mark.parametrize(("conf", "state"), [(0.5, ObjectState.RELIABLE), (0.45, ObjectState.PENDING),
                                             (0.4499, ObjectState.SUSPICIOUS), (0.4, ObjectState.SUSPICIOUS)])
def test_states_from_the_redetection_confidence(conf: float, state: ObjectState) -> None:
    assert smot_state(conf, SMOTConfig()) is state


def test_config_refuses_a_detection_threshold_below_sigma_active() -> None:
    with pytest.raises(ValueError, match="det_conf"):
        SMOTConfig(det_conf=0.3)
    with pytest.raises(ValueError, match="top_k"):
        SMOTConfig(top_k=0)


def test_flow_moves_a_box_with_a_translated_image() -> None:
    """A textured image shifted by (+12, −8) px: a box on it moves by about that much; a box on the static
    border of the image does not."""
    rng = np.random.default_rng(0)
    from tracker.opencv import cv2

    texture = cv2.GaussianBlur(rng.integers(0, 255, (480, 640), dtype=np.uint8), (0, 0), 3)
    texture = cv2.normalize(texture, None, 0, 255, cv2.NORM_MINMAX)
    first = np.zeros((480, 640), np.uint8)
    first[100:400, 100:500] = texture[100:400, 100:500]
    second = np.zeros_like(first)
    second[92:392, 112:512] = texture[100:400, 100:500]
    motion = FlowMotion(256)
    motion.reset(np.repeat(first[..., None], 3, axis=2))
    boxes = np.array([[200.0, 150.0, 360.0, 330.0], [0.0, 420.0, 60.0, 480.0]])
    moved = motion.shift(np.repeat(second[..., None], 3, axis=2), boxes)
    shift = moved - boxes
    np.testing.assert_allclose(shift[0], [12, -8, 12, -8], atol=2.0)
    np.testing.assert_allclose(shift[1], 0, atol=0.5)


def test_without_a_previous_frame_boxes_stay() -> None:
    boxes = np.array([[1.0, 2.0, 3.0, 4.0]])
    np.testing.assert_array_equal(FlowMotion().shift(np.zeros((32, 32, 3), np.uint8), boxes), boxes)


def test_decode_raw_undoes_the_letterbox_and_places_anchor_points() -> None:
    """A 640×480 image letterboxed into 640×640 (pad 80 above): a raw box centred at (320, 320) in the input is
    at (320, 240) in the image; the first location's anchor point is (4, 4) in the input."""
    assert letterbox_gain_pad((640, 640), (480, 640)) == (1.0, 1.0, 0.0, 80.0)
    points = anchor_points((640, 640), 8400)
    np.testing.assert_array_equal(points[[0, 1, 80, 6400]], [[4, 4], [12, 4], [4, 12], [8, 8]])
    head = np.zeros((6, 8400), np.float32)  # 4 box values + 2 classes
    head[:4, 0] = [320, 320, 100, 50]
    head[4:, 0] = [0.2, 0.7]
    decoded = decode_raw(head, (640, 640), (480, 640), class_ids=None)
    np.testing.assert_allclose(decoded.xyxy[0], [270, 215, 370, 265])
    assert (decoded.cls[0], float(decoded.conf[0])) == (1, pytest.approx(0.7))
    np.testing.assert_allclose(decoded.points[0], [4, -76])
    only_first = decode_raw(head, (640, 640), (480, 640), class_ids=[0])
    assert (only_first.cls[0], float(only_first.conf[0])) == (0, pytest.approx(0.2))
    with pytest.raises(ValueError, match="strides"):
        anchor_points((640, 640), 8401)


def test_real_detector_raw_predictions_contain_its_detections(openvino_detector_path: Path, shared_data: Path) -> None:
    """One forward gives both: every detection after NMS is one of the raw predictions, same box and score."""
    from tracker.detectors import UltralyticsDetector
    from tracker.geometry import box_iou
    from tracker.video import VideoSource

    detector = UltralyticsDetector(openvino_detector_path, classes=["person"], conf=0.4, device="cpu")
    detector.keep_head_outputs()
    with VideoSource.open(shared_data / "sequences" / "TUD-Campus") as source:
        rgb = source[0]
    detections = detector(rgb, 0)
    predictions = detector.raw_predictions(0, rgb.shape)
    assert predictions is not None and len(predictions) == 8400 and len(detections) >= 4
    iou = box_iou(detections.xyxy, predictions.xyxy)
    best = iou.argmax(axis=1)
    assert (iou.max(axis=1) > 0.999).all()
    np.testing.assert_allclose(predictions.conf[best], detections.conf, atol=1e-5)
    assert detector.raw_predictions(1, rgb.shape) is None  # only for the frame the detector last ran on


def test_smot_tracks_a_real_sequence_with_an_idf1_bound(openvino_detector_path: Path, shared_data: Path,
                                                        tmp_path: Path) -> None:
    """TUD-Campus (71 frames, 640×480) through ``masklet track --engine smot`` (motion and linker on), scored by
    ``masklet eval``. Measured: IDF1 0.57, 9 ID switches (ByteTrack: IDF1 0.61); the bounds leave a wide
    margin and still fail for a tracker that loses identities every few frames."""
    import subprocess
    import sys

    from app.commands.eval import SequenceInput, evaluate

    sequence = shared_data / "sequences" / "TUD-Campus"
    project, results = tmp_path / "tc.masklet", tmp_path / "tc.txt"
    subprocess.run([sys.executable, "-m", "app.cli", "track", str(sequence), "--engine", "smot", "--detector",
                    str(openvino_detector_path), "--classes", "person", "--device", "cpu",
                    "-o", str(project), "--export", f"mot-results:{results}"], check=True, capture_output=True)
    assert results.is_file()
    pairs = [("TUD-Campus", SequenceInput("TUD-Campus", sequence), SequenceInput("TUD-Campus", project))]
    metrics = evaluate(pairs, notes=lambda _: None)["combined"]
    assert metrics["IDF1"] >= 0.45
    assert metrics["IDSW"] <= 18


def test_pt_models_give_raw_predictions_and_features_from_the_same_forward(shared: Path, shared_data: Path) -> None:
    """The ``.pt`` path (a forward pre-hook on the head for the features): a real YOLOv9t checkpoint."""
    from tracker.detectors import UltralyticsDetector
    from tracker.video import VideoSource

    detector = UltralyticsDetector(shared / "models" / "yolov9t-ball.pt", conf=0.01, device="cpu", imgsz=320)
    detector.keep_head_outputs(features=True)
    with VideoSource.open(shared_data / "sequences" / "TUD-Campus") as source:
        rgb = source[0]
    detector(rgb, 0)
    predictions = detector.raw_predictions(0, rgb.shape)
    assert predictions is not None and len(predictions) == 40 * 32 + 20 * 16 + 10 * 8  # 320×256 input (rect letterbox), strides 8–32
    assert predictions.points[:, 0].min() > 0 and predictions.points[:, 0].max() < 640
    embeddings = detector.embeddings(0, rgb.shape, np.array([[0, 0, 320, 480], [320, 0, 640, 480]]))
    assert embeddings is not None and embeddings.shape[0] == 2
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1, rtol=1e-5)
    assert float(embeddings[0] @ embeddings[1]) < 0.9999  # different image halves, different features

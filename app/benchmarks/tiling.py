"""``masklet bench tiling``: does sliced detection find more of highway.mp4's small distant cars?

For the whole frame and for each tile size, the detector (default: the shared YOLOv8n int8
OpenVINO model) runs on every ``--step``-th frame; its boxes (car, truck, bus; confidence ≥ 0.35,
SMOTracker's default) are matched one-to-one to ``gt.txt`` (0-based frames) at IoU ≥ 0.5.
Reported: recall (all ground truth, and boxes under 20 px high), the share of detections that match
a ground-truth box (a lower bound of precision: the ground truth leaves many distant cars
unlabelled), and detector time per frame.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.benchmarks import SHARED_DETECTOR, shared_data, shared_model

if TYPE_CHECKING:
    from tracker.detectors import Detector

CLASSES = ("car", "truck", "bus")
MATCH_IOU = 0.5
TINY_HEIGHT = 20.0


@dataclass(frozen=True, slots=True)
class TilingResult:
    """One detector configuration's numbers over the benchmark frames."""

    name: str
    frames: int
    gt: int
    matched: int
    tiny_gt: int
    tiny_matched: int
    detections: int
    ms_per_frame: float

    @property
    def recall(self) -> float:
        return self.matched / self.gt if self.gt else float("nan")

    @property
    def tiny_recall(self) -> float:
        return self.tiny_matched / self.tiny_gt if self.tiny_gt else float("nan")

    @property
    def matching_share(self) -> float:
        return self.matched / self.detections if self.detections else float("nan")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tiling", help="small-object detector recall with and without tiled detection")
    parser.add_argument("--video", type=Path, help="video (default: shared highway/highway.mp4)")
    parser.add_argument(
        "--gt", type=Path, help="the video's ground truth: MOTChallenge rows, 0-based frames (default: highway gt.txt)"
    )
    parser.add_argument(
        "--detector", type=Path, help=f"Ultralytics weights (default: the shared {SHARED_DETECTOR})"
    )
    parser.add_argument("--tiles", default="640", metavar="S,S", help="tile sizes to compare (default: 640)")
    parser.add_argument("--tile-overlap", type=float, default=0.2, metavar="F", help="tile overlap (default: 0.2)")
    parser.add_argument("--conf", type=float, default=0.35, help="detection confidence (default: 0.35)")
    parser.add_argument("--imgsz", type=int, default=1280, help="detector input size (default: 1280; "
                        "exported models with a fixed input size keep theirs)")
    parser.add_argument("--step", type=int, default=4, help="use every STEP-th frame (default: 4)")
    parser.add_argument("--device", default="cpu", help="detector device (default: cpu)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tracker.detectors import UltralyticsDetector
    from tracker.slicing import SlicedDetector

    video = args.video or shared_data("highway/highway.mp4")[0]
    gt = args.gt or shared_data("highway/gt.txt")[0]
    weights = args.detector or shared_model()
    detector = UltralyticsDetector(weights, classes=CLASSES, conf=args.conf, imgsz=args.imgsz, device=args.device)
    configs: list[tuple[str, Detector]] = [("whole frame", detector)]
    for size in (int(s) for s in args.tiles.split(",") if s.strip()):
        configs.append((f"tiles {size} + frame", SlicedDetector(detector, size, args.tile_overlap)))
    results = bench_tiling(video, gt, configs, args.step)
    first = results[0]
    print(f"detector recall on {video.name}: {first.frames} frames (every {args.step}th), {first.gt} {gt.name} boxes; "
          f"{', '.join(CLASSES)} at conf ≥ {args.conf}, matched one-to-one at IoU ≥ {MATCH_IOU}")
    _print_table(results)
    print("matching share = detections matching a gt box: a lower bound of precision, since the ground truth"
          " leaves many distant cars unlabelled")
    return 0


def matched_gt(gt_xyxy: np.ndarray, det_xyxy: np.ndarray, min_iou: float = MATCH_IOU) -> np.ndarray:
    """Which ground-truth boxes a one-to-one (Hungarian) matching at IoU ≥ ``min_iou`` finds (bool per gt box)."""
    from tracker.geometry import match_boxes

    found = np.zeros(len(gt_xyxy), dtype=bool)
    found[[g for g, _ in match_boxes(gt_xyxy, det_xyxy, min_iou)]] = True
    return found


def bench_tiling(video: Path, gt: Path, configs: list[tuple[str, Detector]], step: int) -> list[TilingResult]:
    """Run every configuration on every ``step``-th frame and count matches against ``gt``."""
    from tracker.detectors import MotFileDetector
    from tracker.video import VideoSource

    truth = MotFileDetector(gt, frame_base=0)
    results = []
    with VideoSource.open(video) as source:
        frames = [(index, source[index]) for index in range(0, len(source), step)]
    for name, detector in configs:
        counts = np.zeros(5, dtype=np.int64)  # gt, matched, tiny gt, tiny matched, detections
        seconds = 0.0
        for index, rgb in frames:
            started = time.perf_counter()
            found = detector(rgb, index)
            seconds += time.perf_counter() - started
            boxes = truth(None, index).xyxy
            tiny = boxes[:, 3] - boxes[:, 1] < TINY_HEIGHT
            matched = matched_gt(boxes, found.xyxy)
            counts += [len(boxes), matched.sum(), tiny.sum(), (matched & tiny).sum(), len(found)]
        results.append(TilingResult(name, len(frames), *(int(c) for c in counts), 1e3 * seconds / len(frames)))
    return results


def _print_table(results: list[TilingResult]) -> None:
    header = (
        f"{'detector':<20} {'recall':>7} {'recall <20px':>13} {'matching share':>15} {'detections':>10} "
        f"{'ms/frame':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:<20} {r.recall:>7.3f} {f'{r.tiny_recall:.3f} ({r.tiny_gt})':>13} {r.matching_share:>15.3f} "
            f"{r.detections:>10} {r.ms_per_frame:>9.1f}"
        )

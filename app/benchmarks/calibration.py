"""``masklet bench calibration``: where SMOT's detection threshold and the linker's distance threshold come from.

Measured on data the engine comparison (``bench engines``) does not use: the MOT17 frames of ``mot17-mini``
(seven sequences, 4–8 frames each, human ground truth), with the shared detector.

- **Detection precision by confidence**: a person detection is correct when it overlaps a ground-truth person
  (MOTChallenge classes pedestrian, person on vehicle, static person, distractor, reflection: all people) with
  IoU ≥ 0.5. SMOT starts tracklets only from detections at or above ``det_conf``; the paper picks a threshold
  for high precision (0.9 on its own detector), so the default is the lowest confidence whose detections are at
  least 90 % correct here.
- **Embedding distances**: the detector-feature embedding (``tracker.head_outputs``) of ground-truth boxes
  (visibility ≥ 0.5) of the same person in different frames versus different people of the same sequence. The
  linker must rarely join two people, so its threshold is the distance below which 1 % of different-person pairs
  fall.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from app.benchmarks import shared_data, shared_model

PEOPLE = (1, 2, 7, 8, 12)  # MOTChallenge: pedestrian, person on vehicle, static person, distractor, reflection


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibration", help="detection precision by confidence and embedding distances on mot17-mini"
    )
    parser.add_argument("--detector", type=Path, help="Ultralytics weights (default: the shared detector)")
    parser.add_argument("--precision", type=float, default=0.9, help="precision the detection threshold needs")
    parser.add_argument("--false-link-rate", type=float, default=0.01,
                        help="share of different-person pairs the distance threshold may accept")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tracker.detectors import UltralyticsDetector
    from tracker.geometry import box_iou, xywh_to_xyxy
    from tracker.video import VideoSource

    detector = UltralyticsDetector(args.detector or shared_model(), classes=["person"], conf=0.05, device="cpu")
    detector.keep_head_outputs(features=True)
    confs, correct = [], []
    same, different = [], []
    for sequence in sorted(shared_data("mot17-mini")[0].iterdir()):
        gt = np.loadtxt(sequence / "gt" / "gt.txt", delimiter=",", ndmin=2)
        embeddings: list[tuple[np.ndarray, np.ndarray]] = []
        with VideoSource.open(sequence) as source:
            frames = len(list((sequence / "img1").glob("*.jpg")))
            for index in range(frames):
                rgb = source[index]
                rows = gt[gt[:, 0] == index + 1]
                people = rows[np.isin(rows[:, 7], PEOPLE)]
                found = detector(rgb, index)
                iou = box_iou(found.xyxy, xywh_to_xyxy(people[:, 2:6]))
                confs.extend(found.conf)
                correct.extend(iou.max(axis=1) >= 0.5 if iou.size else np.zeros(len(found), bool))
                visible = rows[(rows[:, 6] == 1) & (rows[:, 7] == 1) & (rows[:, 8] >= 0.5)]
                if len(visible):
                    boxes = xywh_to_xyxy(visible[:, 2:6])
                    embeddings.append((visible[:, 1], detector.embeddings(index, rgb.shape, boxes)))
        for i, (ids_a, emb_a) in enumerate(embeddings):
            for ids_b, emb_b in embeddings[i + 1:]:
                distance = 1.0 - emb_a @ emb_b.T
                match = ids_a[:, None] == ids_b[None, :]
                same.extend(distance[match])
                different.extend(distance[~match])
    confs_a, correct_a = np.asarray(confs), np.asarray(correct)
    print(f"calibration on mot17-mini, detector {Path(detector.weights).name}: {len(confs_a)} person detections")
    print(f"{'conf ≥':>8}{'detections':>12}{'precision':>11}")
    threshold = None
    for level in np.round(np.arange(0.1, 0.95, 0.05), 2):
        above = confs_a >= level
        precision = correct_a[above].mean() if above.any() else float("nan")
        if threshold is None and precision >= args.precision:
            threshold = level
        print(f"{level:>8.2f}{int(above.sum()):>12}{precision:>11.3f}")
    print(f"lowest confidence with precision ≥ {args.precision}: {threshold}")
    same_a, different_a = np.asarray(same), np.asarray(different)
    print(f"embedding cosine distance: same person (other frame) n={len(same_a)}, different people n={len(different_a)}")
    for q in (1, 5, 25, 50, 75, 95, 99):
        print(f"  {q:>3}th percentile  same {np.percentile(same_a, q):.4f}  different {np.percentile(different_a, q):.4f}")
    cut = float(np.percentile(different_a, 100 * args.false_link_rate))
    print(f"distance accepting {100 * args.false_link_rate:.0f} % of different-person pairs: {cut:.4f}; "
          f"same-person pairs below it: {(same_a < cut).mean():.3f}")
    return 0

"""Mask and box helpers shared by every engine: COCO RLE via pycocotools, boxes, IoU."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pycocotools import mask as mask_utils
from scipy.optimize import linear_sum_assignment

from tracker.results import Rle

MAX_IMAGE_SIDE = 1 << 15
"""The largest image width or height a mask or label file may give (pycocotools counts pixels in 32 bits)."""


def encode_mask(mask: np.ndarray) -> Rle:
    """Encode a binary H×W mask as COCO RLE."""
    coco = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8, copy=False)))
    return Rle(height=int(coco["size"][0]), width=int(coco["size"][1]), counts=coco["counts"])


def decode_mask(rle: Rle) -> np.ndarray:
    """Decode a COCO RLE into a boolean H×W mask."""
    return mask_utils.decode(rle.to_coco()).astype(bool)


def mask_size_problem(height: object, width: object) -> str | None:
    """What makes a mask size no image's (not positive integers, larger than ``MAX_IMAGE_SIDE``), or None."""
    if not (isinstance(height, int) and isinstance(width, int)) or height <= 0 or width <= 0:
        return f"mask size {height}×{width} is not positive"
    if max(height, width) > MAX_IMAGE_SIDE:
        return f"mask size {height}×{width} is larger than any image ({MAX_IMAGE_SIDE} pixels a side)"
    return None


def rle_problem(rle: Rle) -> str | None:
    """What makes an RLE unusable (a size that is not positive, counts that are not COCO's compressed string
    or do not cover exactly height × width pixels), or None. Checked in Python, before pycocotools reads
    past its buffers on such input."""
    problem = mask_size_problem(rle.height, rle.width)
    if problem is not None:
        return problem
    if not isinstance(rle.counts, bytes):
        return "mask counts are not a COCO RLE string"
    chars = np.frombuffer(rle.counts, np.uint8).astype(np.int64) - 48
    if chars.size == 0 or chars.min() < 0 or chars.max() > 63:
        return "mask counts are not a COCO RLE string"
    last = (chars & 0x20) == 0  # the last character of each number
    if not last[-1]:
        return "mask counts end inside a number"
    number = np.cumsum(np.r_[0, last[:-1]])
    starts = np.flatnonzero(np.r_[True, last[:-1]])
    position = np.arange(chars.size) - starts[number]
    if position.max() > 11:
        return "mask counts hold a number too large for any image"
    values = np.zeros(starts.size, np.int64)
    np.add.at(values, number, (chars & 0x1F) << (5 * position))
    negative = (chars[last] & 0x10) != 0
    values[negative] -= 1 << (5 * (position[last][negative] + 1))
    runs = values.copy()  # from the third run on, each is stored as the difference to the run two before
    runs[1::2] = np.cumsum(values[1::2])
    runs[2::2] = np.cumsum(values[2::2])
    if (runs < 0).any() or int(runs.sum()) != rle.height * rle.width:
        return f"mask counts do not describe {rle.height}×{rle.width} pixels"
    return None


def mask_area(rle: Rle) -> float:
    """Number of foreground pixels of an RLE mask."""
    return float(mask_utils.area(rle.to_coco()))


def mask_iou(a: Sequence[Rle], b: Sequence[Rle]) -> np.ndarray:
    """Pairwise IoU of N and M RLE masks of one image size → N×M matrix."""
    if not a or not b:
        return np.zeros((len(a), len(b)))
    iou = mask_utils.iou([r.to_coco() for r in a], [r.to_coco() for r in b], [0] * len(b))
    return np.asarray(iou, dtype=np.float64).reshape(len(a), len(b))


def mask_to_xywh(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """Tight box ``(x, y, w, h)`` around a binary mask's pixels, or ``None`` if it is empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return (float(cols[0]), float(rows[0]), float(cols[-1] - cols[0] + 1), float(rows[-1] - rows[0] + 1))


def xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """Convert N×4 ``(x, y, w, h)`` boxes to ``(x1, y1, x2, y2)``."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)


def xyxy_to_xywh(boxes: np.ndarray) -> np.ndarray:
    """Convert N×4 ``(x1, y1, x2, y2)`` boxes to ``(x, y, w, h)``."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)


def box_area(xyxy: np.ndarray) -> np.ndarray:
    """Areas of N×4 ``xyxy`` boxes (an inverted box has none)."""
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    return np.clip(boxes[:, 2:] - boxes[:, :2], 0, None).prod(axis=1)


def box_intersection(a_xyxy: np.ndarray, b_xyxy: np.ndarray) -> np.ndarray:
    """Pairwise intersection areas of N×4 and M×4 ``xyxy`` boxes → N×M matrix."""
    a = np.asarray(a_xyxy, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b_xyxy, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    return np.clip(rb - lt, 0, None).prod(axis=2)


def box_iou(a_xyxy: np.ndarray, b_xyxy: np.ndarray) -> np.ndarray:
    """Pairwise IoU of N×4 and M×4 ``xyxy`` boxes → N×M matrix."""
    inter = box_intersection(a_xyxy, b_xyxy)
    union = box_area(a_xyxy)[:, None] + box_area(b_xyxy)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def gated_assignment(scores: np.ndarray, allowed: np.ndarray) -> list[tuple[int, int]]:
    """One-to-one assignment maximising the total score over the ``allowed`` pairs only: the gate is
    applied before solving, so a pair outside it can never displace a valid one. ``(row, col)`` pairs."""
    allowed = np.asarray(allowed, dtype=bool)
    if not allowed.any():
        return []
    rows, cols = linear_sum_assignment(np.where(allowed, scores, 0.0), maximize=True)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if allowed[r, c]]


def match_boxes(a_xyxy: np.ndarray, b_xyxy: np.ndarray, min_iou: float) -> list[tuple[int, int]]:
    """One-to-one Hungarian matching of ``xyxy`` boxes maximising total IoU over the pairs with
    IoU ≥ ``min_iou``; ``(a, b)`` index pairs."""
    iou = box_iou(a_xyxy, b_xyxy)
    return gated_assignment(iou, iou >= min_iou)

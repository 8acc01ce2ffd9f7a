"""What an Ultralytics detector computes before NMS, kept from the same forward that gives its detections.

- **Raw predictions**: the head's per-location boxes and class scores (``B × (4 + nc) × N``, centre ``xywh`` in
  the letterboxed input) as AutoBackend returns them for ``.pt``, ONNX and OpenVINO models alike, taken by
  wrapping the predictor's ``postprocess`` (as Ultralytics' own TrackTrack tracker does) before NMS reduces them.
- **Feature maps**: the inputs of the ``Detect`` head (one map per stride), for appearance embeddings. ``.pt``
  models: a forward pre-hook on the head (as Ultralytics' BoT-SORT does for ``model: auto``); OpenVINO models:
  the same tensors added as outputs of the compiled graph. Other formats have none.

End-to-end heads (YOLOv10, YOLO26: NMS inside the graph) return no raw predictions and are refused.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any

import numpy as np

from tracker.errors import DetectorError

# The first convolution of each level's box branch of a YOLOv8/11 ``Detect`` head: its input is that level's map.
_HEAD_INPUT_CONV = re.compile(r"cv2\.(\d+)\.0[./]conv")


@dataclass(frozen=True)
class RawPredictions:
    """Every location's prediction of one frame, before NMS: ``xyxy`` float32 N×4 in image pixels (letterbox
    undone, not clipped), ``conf`` float32 N (best score among the kept classes), ``cls`` int64 N (that class) and
    ``points`` float32 N×2, the location's anchor point (its cell centre) in image pixels."""

    xyxy: np.ndarray
    conf: np.ndarray
    cls: np.ndarray
    points: np.ndarray

    def __len__(self) -> int:
        return len(self.conf)


def letterbox_gain_pad(input_hw: Sequence[int], image_hw: Sequence[int]) -> tuple[float, float, float, float]:
    """``(gain_x, gain_y, pad_x, pad_y)`` of Ultralytics' letterbox from an image to the network input:
    ``input = image · gain + pad`` (the same rounding as ``ultralytics.utils.ops.scale_boxes``)."""
    gain = min(input_hw[0] / image_hw[0], input_hw[1] / image_hw[1])
    new_h, new_w = (max(round(x * gain), 1) for x in image_hw[:2])
    pad_x, pad_y = round((input_hw[1] - new_w) / 2 - 0.1), round((input_hw[0] - new_h) / 2 - 0.1)
    return new_w / image_hw[1], new_h / image_hw[0], float(pad_x), float(pad_y)


def anchor_points(input_hw: Sequence[int], count: int) -> np.ndarray:
    """The cell centres of an anchor-free head's ``count`` locations in the input (``count`` × 2, x then y), in
    Ultralytics' order (``make_anchors``): levels of stride 8, 16, 32… one after the other, each row by row."""
    points, stride = [], 8
    while sum(len(p) for p in points) < count:
        height, width = -(-int(input_hw[0]) // stride), -(-int(input_hw[1]) // stride)
        ys, xs = np.meshgrid(np.arange(height) + 0.5, np.arange(width) + 0.5, indexing="ij")
        points.append(np.stack([xs.ravel(), ys.ravel()], axis=1) * stride)
        stride *= 2
    joined = np.concatenate(points)
    if len(joined) != count:
        raise ValueError(f"{count} predictions do not fit strides 8, 16, 32… of a {input_hw} input")
    return joined


def decode_raw(raw: np.ndarray, input_hw: Sequence[int], image_hw: Sequence[int], class_ids: Sequence[int] | None
               ) -> RawPredictions:
    """Raw head output of one image (``(4 + nc) × N``: centre ``xywh`` in the input, then class scores) → image
    pixels, each location's best class among ``class_ids`` (``None``: all)."""
    raw = np.asarray(raw, dtype=np.float32)
    scores = raw[4:] if class_ids is None else raw[4:][list(class_ids)]
    best = scores.argmax(axis=0)
    conf = np.take_along_axis(scores, best[None], axis=0)[0]
    cls = best if class_ids is None else np.asarray(class_ids)[best]
    gain_x, gain_y, pad_x, pad_y = letterbox_gain_pad(input_hw, image_hw)
    cx, cy, w, h = raw[:4]
    xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    xyxy = (xyxy - [pad_x, pad_y, pad_x, pad_y]) / [gain_x, gain_y, gain_x, gain_y]
    points = (anchor_points(input_hw, raw.shape[1]) - [pad_x, pad_y]) / [gain_x, gain_y]
    return RawPredictions(xyxy.astype(np.float32), conf.astype(np.float32), cls.astype(np.int64),
                          points.astype(np.float32))


def pooled_embeddings(maps: Sequence[np.ndarray], input_hw: Sequence[int], image_hw: Sequence[int],
                      xyxy: np.ndarray) -> np.ndarray:
    """An appearance embedding per box: on each feature map (``C × h × w``), the mean of the cells whose centres
    lie inside the box (the nearest cell for a box smaller than one), L2-normalised per map, concatenated and
    normalised again → N × ΣC float32. Box sums come from integral images, so the cost barely depends on sizes."""
    gain_x, gain_y, pad_x, pad_y = letterbox_gain_pad(input_hw, image_hw)
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4) * [gain_x, gain_y, gain_x, gain_y]
    boxes += [pad_x, pad_y, pad_x, pad_y]
    parts = []
    for fmap in maps:
        channels, height, width = fmap.shape
        stride_y, stride_x = input_hw[0] / height, input_hw[1] / width
        # cells c with centre (c + 0.5)·stride inside [x1, x2): c from ceil(x1/s - 0.5) to ceil(x2/s - 0.5)
        x1 = np.clip(np.ceil(boxes[:, 0] / stride_x - 0.5), 0, width - 1).astype(int)
        x2 = np.clip(np.ceil(boxes[:, 2] / stride_x - 0.5), x1 + 1, width).astype(int)
        y1 = np.clip(np.ceil(boxes[:, 1] / stride_y - 0.5), 0, height - 1).astype(int)
        y2 = np.clip(np.ceil(boxes[:, 3] / stride_y - 0.5), y1 + 1, height).astype(int)
        integral = np.zeros((channels, height + 1, width + 1), np.float64)
        integral[:, 1:, 1:] = np.asarray(fmap, np.float64).cumsum(1).cumsum(2)
        sums = integral[:, y2, x2] - integral[:, y1, x2] - integral[:, y2, x1] + integral[:, y1, x1]
        means = (sums / ((x2 - x1) * (y2 - y1))).T
        parts.append(means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12))
    joined = np.concatenate(parts, axis=1)
    return (joined / np.maximum(np.linalg.norm(joined, axis=1, keepdims=True), 1e-12)).astype(np.float32)


class HeadCapture:
    """Keeps the raw predictions (and, with ``features``, the head's input maps) of an Ultralytics ``YOLO``
    model's latest prediction. Call :meth:`attach` before each prediction: a predictor Ultralytics rebuilt
    is wrapped again."""

    def __init__(self, features: bool = False) -> None:
        self.features = features
        self.raw: np.ndarray | None = None  # (4 + nc) × N of the latest image
        self.maps: list[np.ndarray] | None = None
        self.input_hw: tuple[int, int] = (0, 0)
        self.image_hw: tuple[int, int] = (0, 0)
        self._feature_maps: list[Any] | None = None
        self._source = ""

    def attach(self, yolo: Any, weights: str) -> None:
        """Wrap ``yolo.predictor`` (once per predictor object)."""
        predictor = yolo.predictor
        if getattr(predictor, "_masklet_capture", None) is self:
            return
        backend = predictor.model  # AutoBackend
        if getattr(backend, "end2end", False):
            raise DetectorError(f"detector {weights}: its head has NMS built in (end-to-end), so it returns no raw "
                                "predictions to re-detect with; use a YOLOv8/YOLO11-style model")
        extra = 0
        if self.features:
            extra = self._attach_features(backend, weights)
        original = getattr(predictor, "_masklet_postprocess", predictor.postprocess)  # wrap once, not twice

        @wraps(original)
        def postprocess(preds: Any, img: Any, orig_imgs: Any, *args: Any, **kwargs: Any) -> Any:
            outputs = list(preds) if isinstance(preds, (list, tuple)) else [preds]
            self.raw = np.asarray(outputs[0][0].detach().float().cpu().numpy())
            self.input_hw = (int(img.shape[2]), int(img.shape[3]))
            first = orig_imgs[0] if isinstance(orig_imgs, list) else orig_imgs
            self.image_hw = (int(first.shape[0]), int(first.shape[1]))
            if self._feature_maps is not None:
                self.maps = [m[0].detach().float().cpu().numpy() for m in self._feature_maps]
            elif extra:
                self.maps = [np.asarray(m[0].float().cpu().numpy()) for m in outputs[-extra:]]
                preds = outputs[0]
            return original(preds, img, orig_imgs, *args, **kwargs)

        predictor._masklet_postprocess = original
        predictor.postprocess = postprocess
        predictor._masklet_capture = self

    def _attach_features(self, backend: Any, weights: str) -> int:
        """Make the head's input maps available; the number of extra outputs the backend now returns."""
        if backend.format == "pt":
            head = backend.model.model[-1]

            def keep(_module: Any, inputs: tuple[Any, ...]) -> None:
                self._feature_maps = list(inputs[0])

            head.register_forward_pre_hook(keep)
            return 0
        if backend.format == "openvino":
            inner = backend.backend
            model = self._with_head_inputs(inner.ov.Core().read_model(self._openvino_xml(weights)), weights)
            inner.ov_compiled_model = inner.compile_model(model)
            if getattr(inner, "read_model", None) is not None:  # recompiled per input shape: keep the outputs
                read = inner.read_model
                inner.read_model = lambda: self._with_head_inputs(read(), weights)
            return len(model.outputs) - 1
        raise DetectorError(f"detector {weights}: appearance features need a .pt or OpenVINO model, not "
                            f"{backend.format}")

    @staticmethod
    def _openvino_xml(weights: str) -> str:
        from pathlib import Path

        path = Path(weights)
        return str(path if path.is_file() else next(path.glob("*.xml")))

    @staticmethod
    def _with_head_inputs(model: Any, weights: str) -> Any:
        """The OpenVINO model with the ``Detect`` head's input maps added as outputs, by increasing stride."""
        inputs: dict[int, Any] = {}
        for op in model.get_ordered_ops():
            found = _HEAD_INPUT_CONV.search(op.get_friendly_name())
            if op.get_type_name() == "Convolution" and found:
                inputs.setdefault(int(found.group(1)), op.input_value(0))
        if not inputs:
            raise DetectorError(f"detector {weights}: no YOLO Detect head found in the OpenVINO graph")
        model.add_outputs([inputs[level] for level in sorted(inputs)])
        return model

    def predictions(self, class_ids: Sequence[int] | None) -> RawPredictions:
        """The latest image's raw predictions in its pixels."""
        if self.raw is None:
            raise RuntimeError("no prediction captured yet")
        return decode_raw(self.raw, self.input_hw, self.image_hw, class_ids)

    def embeddings(self, xyxy: np.ndarray) -> np.ndarray:
        """Appearance embeddings of boxes in the latest image (see :func:`pooled_embeddings`)."""
        if self.maps is None:
            raise RuntimeError("no feature maps captured yet")
        return pooled_embeddings(self.maps, self.input_hw, self.image_hw, xyxy)

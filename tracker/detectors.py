"""Object detectors that feed the trackers: any Ultralytics model, or precomputed MOTChallenge ``det.txt``.

Every detector is called once per frame as ``detector(rgb, frame_index)`` and returns :class:`Detections`
(``xyxy`` boxes in pixels). Ultralytics is imported lazily (it pulls in torch and OpenCV).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Protocol, runtime_checkable

import numpy as np

from tracker import model_cache
from tracker.detections import Detections
from tracker.errors import DetectorError, FormatError
from tracker.geometry import xywh_to_xyxy
from tracker.head_outputs import HeadCapture, RawPredictions
from tracker.mot_files import detected_frame_base, read_table, sniff_delimiter

DEFAULT_DETECTOR = "yolo11n.pt"
_log = logging.getLogger(__name__)

@runtime_checkable
class Detector(Protocol):
    """Anything that turns a frame into detections. ``frame_index`` (0-based) matters only to
    precomputed detections; engines always pass it."""

    names: Mapping[int, str]

    def __call__(self, rgb: np.ndarray, frame_index: int | None = None) -> Detections: ...


def import_ultralytics() -> ModuleType:
    """Import ``ultralytics`` after OpenCV's Qt side effects are undone (see ``tracker.opencv``)."""
    from tracker.opencv import cv2  # noqa: F401, I001  (first: records the Qt variables cv2 overwrites)
    import ultralytics

    return ultralytics


def resolve_classes(classes: Iterable[str | int] | None, names: Mapping[int, str]) -> list[int] | None:
    """Class ids for a filter given as names and/or ids (``None``: every class)."""
    if classes is None:
        return None
    by_name = {name.lower(): cls_id for cls_id, name in names.items()}
    ids = []
    for item in classes:
        text = str(item).strip()
        cls_id = int(text) if text.isdigit() else by_name.get(text.lower())
        if cls_id is None or cls_id not in names:
            valid = ", ".join(f"{i}:{n}" for i, n in sorted(names.items()))
            raise DetectorError(f"unknown detector class {text!r}; valid classes are {valid}")
        ids.append(cls_id)
    return sorted(set(ids))


class UltralyticsDetector:
    """Any Ultralytics detection model: an official name (``yolo11n.pt``, downloaded by Ultralytics
    when online), a local ``.pt``, an ``.onnx`` file or an exported folder (OpenVINO, …).

    ``classes`` filters by names or ids; ``conf`` is the minimum confidence; ``device`` is
    ``auto|cpu|cuda|mps`` (``auto``: Ultralytics picks). An export with a fixed input size (not
    ``dynamic``) runs at that size whatever ``imgsz`` asks, said in a warning.

    After :meth:`keep_head_outputs`, each call also keeps the head's raw predictions (and feature maps) of
    that frame (``tracker.head_outputs``): :meth:`raw_predictions` and :meth:`embeddings` read them.
    """

    def __init__(
        self,
        weights: str | Path,
        classes: Iterable[str | int] | None = None,
        conf: float = 0.5,
        imgsz: int = 640,
        device: str = "auto",
    ) -> None:
        self.weights = str(weights)
        self.conf = float(conf)
        self.imgsz: int | tuple[int, int] = int(imgsz)
        self.device = None if device == "auto" else device
        self._model = model_cache.load(("ultralytics", self.weights, self.device),
                                       lambda: self._load(self.weights, self.device))
        self.names: dict[int, str] = {int(k): str(v) for k, v in self._model.names.items()}
        self.class_ids = resolve_classes(classes, self.names)
        self._head: HeadCapture | None = None
        self._head_frame: tuple[int | None, tuple[int, ...]] | None = None  # frame index and shape of the last call
        backend = self._model.predictor.model  # Ultralytics' AutoBackend, with the export's metadata
        fixed = [int(v) for v in getattr(backend, "imgsz", None) or []]
        exported = Path(self.weights).suffix != ".pt" and not getattr(backend, "dynamic", False)
        if exported and fixed and fixed != [self.imgsz] * 2:
            _log.warning("detector %s was exported for %s px input: running at that size, not %d px",
                         self.weights, "×".join(map(str, fixed)), self.imgsz)
            self.imgsz = fixed[0] if fixed[0] == fixed[1] else (fixed[0], fixed[1])

    @staticmethod
    def _load(weights: str, device: str | None):  # -> ultralytics.YOLO
        path = Path(weights)
        official = path.parent == Path(".") and path.suffix == ".pt"
        if not path.exists() and not official:
            raise DetectorError(f"detector weights {weights}: no such file or folder")
        yolo = import_ultralytics().YOLO
        try:
            model = yolo(weights, task=None if path.suffix == ".pt" else "detect")
            # Exported models load lazily: run once now so bad files fail here, not at frame 1 (same
            # device as later calls, or Ultralytics sets the predictor up again).
            model.predict(np.zeros((64, 64, 3), np.uint8), device=device, verbose=False)
        except Exception as exc:  # Ultralytics raises many types (TypeError, ConnectionError, …)
            hint = " (offline? download it or pass a local file)" if official and not path.exists() else ""
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]  # one line for the CLI
            raise DetectorError(f"cannot load detector weights {weights}{hint}: {reason}") from exc
        return model

    @property
    def resolved_device(self) -> str:
        """The device the model runs on (what ``auto`` became)."""
        return str(self._model.predictor.model.device)

    def keep_head_outputs(self, features: bool = False) -> None:
        """Keep every later call's raw predictions, and with ``features`` its feature maps too (a ``DetectorError``
        for a model that cannot give them)."""
        if self._head is None or (features and not self._head.features):
            self._head = HeadCapture(features)
            self._head.attach(self._model, self.weights)  # a model without raw predictions fails here

    def raw_predictions(self, frame_index: int | None, shape: tuple[int, ...]) -> RawPredictions | None:
        """The raw predictions of the last call, if it was on frame ``frame_index`` of this ``shape`` (else None)."""
        if self._head is None or self._head_frame != (frame_index, tuple(shape)):
            return None
        return self._head.predictions(self.class_ids)

    def embeddings(self, frame_index: int | None, shape: tuple[int, ...], xyxy: np.ndarray) -> np.ndarray | None:
        """Appearance embeddings of boxes (image pixels) from the last call's feature maps, if that call was on
        frame ``frame_index`` of this ``shape`` and kept features (else None)."""
        if self._head is None or not self._head.features or self._head_frame != (frame_index, tuple(shape)):
            return None
        return self._head.embeddings(xyxy)

    def __call__(self, rgb: np.ndarray, frame_index: int | None = None) -> Detections:
        if self._head is not None:
            self._head.attach(self._model, self.weights)
        result = self._model.predict(
            np.ascontiguousarray(rgb[..., ::-1]),  # Ultralytics reads numpy images as BGR
            conf=self.conf,
            imgsz=self.imgsz,
            classes=self.class_ids,
            device=self.device,
            verbose=False,
        )[0]
        boxes = result.boxes.cpu().numpy()
        self._head_frame = (frame_index, tuple(rgb.shape))
        return Detections(boxes.xyxy, boxes.conf, boxes.cls, self.names)


class MotFileDetector:
    """Precomputed detections from a MOTChallenge ``det.txt`` (``frame,id,x,y,w,h,conf,...``).

    Frames are numbered as ``tracker.mot_files.detected_frame_base`` says (pass ``frame_base`` to force
    either). Called with ``frame_index=None`` it returns consecutive frames from 0 (a cursor); given an index
    it returns that frame and moves the cursor after it.
    """

    def __init__(
        self, path: str | Path, conf: float = 0.0, label: str = "object", frame_base: int | None = None
    ) -> None:
        self.path = Path(path)
        self.names = {0: label}
        self.conf = float(conf)
        try:
            rows = read_table(self.path, min_columns=7, delimiter=sniff_delimiter(self.path))[:, :7]
        except FileNotFoundError:
            raise DetectorError(f"detections file {self.path}: no such file") from None
        except FormatError as exc:
            raise DetectorError(f"detections file {exc}") from None
        frames = rows[:, 0].astype(np.int64)
        self.frame_base = detected_frame_base(frames) if frame_base is None else frame_base
        self._by_frame: dict[int, np.ndarray] = {}
        for frame in np.unique(frames):
            self._by_frame[int(frame) - self.frame_base] = rows[frames == frame, 2:7]
        self._cursor = 0

    def __call__(self, rgb: np.ndarray | None = None, frame_index: int | None = None) -> Detections:
        frame = self._cursor if frame_index is None else frame_index
        self._cursor = frame + 1
        rows = self._by_frame.get(frame)
        if rows is None:
            return Detections.empty(self.names)
        return Detections(xywh_to_xyxy(rows[:, :4]), rows[:, 4], np.zeros(len(rows)), self.names).above(self.conf)


def load_detector(
    detector: str | Path | Detector = DEFAULT_DETECTOR,
    *,
    classes: Iterable[str | int] | None = None,
    conf: float = 0.5,
    imgsz: int = 640,
    device: str = "auto",
) -> Detector:
    """A detector from a spec: a ready :class:`Detector`, a MOTChallenge ``.txt`` file, or Ultralytics weights."""
    if isinstance(detector, Detector):
        return detector
    if str(detector).endswith(".txt"):
        if classes is not None:
            raise DetectorError(f"detections file {detector}: --classes does not apply to precomputed detections")
        return MotFileDetector(detector, conf=conf)
    return UltralyticsDetector(detector, classes=classes, conf=conf, imgsz=imgsz, device=device)

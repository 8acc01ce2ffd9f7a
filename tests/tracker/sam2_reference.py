"""What the SAM2 parity tests share: one random SAM2.1-tiny at a small image size, SAM2VideoPredictor filling
holes as with its CUDA extension, one torch thread, and image features encoded once per frame.

A test module imports the fixtures it uses (the autouse ones apply to that module only)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sam2.build_sam import build_sam2_video_predictor
from sam2.sam2_video_predictor import SAM2VideoPredictor
from sam2.utils import misc as sam2_misc
from scipy import ndimage

from tracker.sam2_engine import SAM2Engine
from tracker.sam2_model import SAM2Model

CONFIG = "configs/sam2.1/sam2.1_hiera_t.yaml"
IMAGE_SIZE = 128


def connected_components(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """SAM2's ``get_connected_components`` (its CUDA extension) computed with SciPy: 8-connected labels
    and, per pixel, the area of its component. The reference predictor fills holes with this, the engine
    with its own OpenCV code: two independent implementations of the same operation."""
    labels = np.zeros(mask.shape, np.int32)
    areas = np.zeros(mask.shape, np.int32)
    for i, plane in enumerate(mask[:, 0].numpy().astype(bool)):
        labels[i, 0], _ = ndimage.label(plane, structure=np.ones((3, 3)))
        areas[i, 0] = np.where(labels[i, 0] > 0, np.bincount(labels[i, 0].ravel())[labels[i, 0]], 0)
    return torch.from_numpy(labels), torch.from_numpy(areas)


def reference_predictor() -> SAM2VideoPredictor:
    """The random SAM2 (seed 0) a module shares between the reference and its engines."""
    torch.manual_seed(0)
    return build_sam2_video_predictor(
        CONFIG, None, device="cpu", hydra_overrides_extra=[f"++model.image_size={IMAGE_SIZE}"]
    )


def bedroom_frames(shared_data: Path, count: int) -> list[Path]:
    """The first ``count`` JPEG frames of the bedroom video (SAM2's own input format)."""
    return sorted((shared_data / "bedroom" / "frames").glob("*.jpg"))[:count]


def decode(frame_files: list[Path]) -> list[np.ndarray]:
    """RGB frames decoded exactly as SAM2's JPEG loader decodes them (PIL)."""
    return [np.array(Image.open(path).convert("RGB")) for path in frame_files]


@pytest.fixture(scope="module", autouse=True)
def _reference_fills_holes() -> Iterator[None]:
    """SAM2VideoPredictor as it runs with its CUDA extension (here it would skip hole filling)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sam2_misc, "get_connected_components", connected_components)
        yield


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    """Many small ops: on a shared 2-core machine one thread is several times faster than two."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def feature_cache() -> dict:
    return {}


@pytest.fixture(autouse=True)
def _encode_each_frame_once(monkeypatch: pytest.MonkeyPatch, feature_cache: dict) -> None:
    """Image features are a pure function of the frame (the model is shared): the engines of a module reuse
    them instead of re-running the image encoder, to keep the tests fast."""
    encode = SAM2Model.encode

    def cached(model: SAM2Model, frame: int, rgb: np.ndarray):
        key = (frame, id(rgb))
        if key not in feature_cache:
            feature_cache[key] = encode(model, frame, rgb)
        return feature_cache[key]

    monkeypatch.setattr(SAM2Model, "encode", cached)

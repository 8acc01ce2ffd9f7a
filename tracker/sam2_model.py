"""A thin adapter over SAM2's model (``SAM2Base``): building or loading it on a device, its number format
(bf16 autocast where supported), SAM2's own image preprocessing and prompt encoding, and its hole filling
without the CUDA extension. The engine (``tracker.sam2_engine``) calls the model's heads through it."""
from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from sam2.modeling.sam2_base import SAM2Base
from sam2.modeling.sam2_utils import get_1d_sine_pe

from tracker import model_cache
from tracker.models import MODEL_NAMES, checkpoint_info, config_for_file, ensure_checkpoint, load_weights
from tracker.opencv import cv2

_log = logging.getLogger(__name__)

_IMG_MEAN = (0.485, 0.456, 0.406)
_IMG_STD = (0.229, 0.224, 0.225)
_HOLE_SCORE = 0.1
"""The logit SAM2 gives filled holes."""


@dataclass(frozen=True, slots=True)
class Features:
    """Image features of one frame (batch 1; ``top``/``high`` expand them to a batch)."""

    frame: int
    vision_feats: list[torch.Tensor]
    vision_pos: list[torch.Tensor]
    sizes: list[tuple[int, int]]
    high_res: list[torch.Tensor]

    def top(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.vision_feats[-1].expand(-1, batch, -1), self.vision_pos[-1].expand(-1, batch, -1)

    def high(self, batch: int) -> list[torch.Tensor]:
        return [x.expand(batch, -1, -1, -1) for x in self.high_res]


class SAM2Model:
    """SAM2 on a device: ``model`` is tiny | small | base_plus | large (the official checkpoint of ``version``),
    a path to a ``.pt`` checkpoint (config from its name or ``config``), or a ``SAM2Base`` to use as is (see
    ``SAM2Engine``); models built here are shared through ``tracker.model_cache``."""

    def __init__(
        self,
        model: str | Path | SAM2Base,
        device: str,
        *,
        version: str,
        config: str | None,
        image_size: int | None,
        random_init: bool,
        seed: int,
    ) -> None:
        self.device = resolve_device(device)
        if isinstance(model, SAM2Base):
            if image_size is not None:
                raise ValueError("image_size applies only to models the engine builds")
            self.sam = model
        else:
            key = ("sam2", str(model), version, config, image_size, random_init, seed)
            self.sam = model_cache.load(key, lambda: _build_model(model, version, config, image_size, random_init, seed))
        self.sam.to(self.device).eval()
        self._autocast_dtype = _autocast_dtype(self.device)
        self._mean = torch.tensor(_IMG_MEAN, dtype=torch.float32)[:, None, None]
        self._std = torch.tensor(_IMG_STD, dtype=torch.float32)[:, None, None]
        self._maskmem_pos: torch.Tensor | None = None  # same for every frame and object

    @property
    def image_size(self) -> int:
        return int(self.sam.image_size)

    @contextmanager
    def compute(self) -> Iterator[None]:
        """Inference mode; bf16 autocast on CUDA GPUs that support it, fp32 elsewhere."""
        dtype = self._autocast_dtype
        autocast = torch.autocast(self.device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None)
        with torch.inference_mode(), autocast:
            yield

    def encode(self, frame: int, rgb: np.ndarray) -> Features:
        """Run the image encoder on one frame, preprocessed exactly like SAM2's frame loader."""
        size = self.image_size
        resized = np.asarray(Image.fromarray(rgb).resize((size, size)))
        image = torch.from_numpy(resized / 255.0).permute(2, 0, 1).float()
        image = ((image - self._mean) / self._std).to(self.device).unsqueeze(0)
        backbone_out = self.sam.forward_image(image)
        _, feats, pos, sizes = self.sam._prepare_backbone_features(backbone_out)
        high_res = [x.permute(1, 2, 0).view(x.size(1), x.size(2), *s) for x, s in zip(feats[:-1], sizes[:-1])]
        return Features(frame, feats, pos, sizes, high_res)

    def memory_tokens(
        self, spatial: list[tuple[int, torch.Tensor]], pointers: list[tuple[int, torch.Tensor]], max_ptrs: int
    ) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Memory-attention input of one object, as ``SAM2Base._prepare_memory_conditioned_features`` lays it
        out: ``spatial`` memories ``(t_pos, maskmem)`` (0: a conditioning frame, else ``num_maskmem - t_pos``
        frames back) and object ``pointers`` ``(frames back, pointer)`` → ``L×1×C`` tokens, their positional
        encodings and the number of pointer tokens."""
        sam, num_maskmem = self.sam, self.sam.num_maskmem
        tokens = [m.flatten(2).permute(2, 0, 1).float() for _, m in spatial]
        positions = [self._maskmem_pos + sam.maskmem_tpos_enc[num_maskmem - t_pos - 1] for t_pos, _ in spatial]
        n_ptr_tokens = 0
        if sam.use_obj_ptrs_in_encoder and pointers:
            channels, mem_dim = sam.hidden_dim, sam.mem_dim
            obj_ptrs = torch.stack([ptr for _, ptr in pointers])
            if sam.add_tpos_enc_to_obj_ptrs:
                t_diffs = torch.tensor([t_diff for t_diff, _ in pointers], device=self.device)
                tpos_dim = channels if sam.proj_tpos_enc_in_obj_ptrs else mem_dim
                obj_pos = sam.obj_ptr_tpos_proj(get_1d_sine_pe(t_diffs / (max_ptrs - 1), dim=tpos_dim))
                obj_pos = obj_pos.unsqueeze(1)
            else:
                obj_pos = obj_ptrs.new_zeros(len(pointers), 1, mem_dim)
            if mem_dim < channels:  # a pointer becomes channels // mem_dim tokens
                obj_ptrs = obj_ptrs.reshape(-1, 1, channels // mem_dim, mem_dim).permute(0, 2, 1, 3).flatten(0, 1)
                obj_pos = obj_pos.repeat_interleave(channels // mem_dim, dim=0)
            tokens.append(obj_ptrs)
            positions.append(obj_pos)
            n_ptr_tokens = obj_ptrs.shape[0]
        return torch.cat(tokens), torch.cat(positions), n_ptr_tokens

    def attend(self, feats: Features, memory: torch.Tensor, memory_pos: torch.Tensor, n_ptr: int) -> torch.Tensor:
        """Memory attention of the frame's features to a batch of objects' memories (``(HW)×N×C``)."""
        curr, curr_pos = feats.top(memory.shape[1])
        return self.sam.memory_attention(
            curr=[curr], curr_pos=[curr_pos], memory=memory, memory_pos=memory_pos, num_obj_ptr_tokens=n_ptr
        )

    def decode_tracked(
        self, conditioned: torch.Tensor, feats: Features
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The mask decoder on memory-conditioned features ``N×C×H×W`` without prompts: low-res logits,
        image-size logits, object pointers, object scores."""
        _, _, _, low, high, ptr, score = self.sam._forward_sam_heads(
            conditioned,
            high_res_features=feats.high(len(conditioned)),
            multimask_output=self.sam._use_multimask(False, None),
        )
        return low, high, ptr, score

    def mask_is_output(self, mask_inputs: torch.Tensor | None) -> bool:
        """Whether SAM2 takes a mask prompt as the result as it is (``use_mask_input_as_output_without_sam``)."""
        return mask_inputs is not None and self.sam.use_mask_input_as_output_without_sam

    def mask_as_output(
        self, feats: Features, mask_inputs: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A mask prompt as the result: low-res logits, object pointer, object score."""
        pix = feats.vision_feats[-1].permute(1, 2, 0).view(1, self.sam.hidden_dim, *feats.sizes[-1])
        _, _, _, low, _, ptr, score = self.sam._use_mask_as_output(pix, feats.high_res, mask_inputs)
        return low, ptr, score

    def decode_prompt(
        self,
        feats: Features,
        conditioned: torch.Tensor | None,
        point_inputs: dict[str, torch.Tensor] | None,
        mask_inputs: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One object's mask from a prompt (``SAM2Base._track_step``): on its memory-conditioned features, or
        (``conditioned`` None: its first frame) on the frame's own; low-res logits, object pointer, score."""
        sam, initial = self.sam, conditioned is None
        if initial:
            conditioned = sam._prepare_memory_conditioned_features(
                feats.frame, True, feats.vision_feats[-1:], feats.vision_pos[-1:], feats.sizes[-1:], {}, 1
            )
        _, _, _, low, _, ptr, score = sam._forward_sam_heads(
            conditioned,
            point_inputs=point_inputs,
            mask_inputs=mask_inputs,
            high_res_features=feats.high_res,
            multimask_output=sam._use_multimask(initial, point_inputs),
        )
        return low, ptr, score

    def encode_memories(
        self, feats: Features, masks: torch.Tensor, scores: torch.Tensor, prompted: bool
    ) -> torch.Tensor:
        """Spatial memories (bf16, as SAM2 stores them) of a batch of image-size masks at ``feats.frame``;
        prompts' masks are binarized, tracked ones taken through a sigmoid, as in SAM2."""
        curr, _ = feats.top(len(masks))
        maskmem, maskmem_pos = self.sam._encode_new_memory([curr], feats.sizes[-1:], masks, scores, prompted)
        if self._maskmem_pos is None:
            self._maskmem_pos = maskmem_pos[-1][:1].flatten(2).permute(2, 0, 1).clone()
        return maskmem.to(torch.bfloat16)

    def prompt_inputs(
        self,
        video_hw: tuple[int, int],
        box: Sequence[float] | np.ndarray | None,
        points: np.ndarray | None,
        labels: np.ndarray | None,
        mask: np.ndarray | None,
    ) -> tuple[dict[str, torch.Tensor] | None, torch.Tensor | None]:
        """SAM2 point inputs (box corners first, labels 2/3) in model coordinates, or a mask input, from a
        prompt in the pixels of a ``video_hw`` video."""
        if (points is None) != (labels is None):
            raise ValueError("points and labels must be given together")
        if mask is not None and (box is not None or points is not None):
            raise ValueError("give either a mask or a box and/or points")
        if mask is None and box is None and points is None:
            raise ValueError("a prompt needs a box, points or a mask")
        height, width = video_hw
        size = self.image_size
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (height, width):
                raise ValueError(f"mask is {mask.shape}, the video is {(height, width)}")
            mask_in = torch.from_numpy(mask)[None, None].float().to(self.device)
            mask_in = F.interpolate(mask_in, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
            return None, (mask_in >= 0.5).float()
        coords, codes = [], []
        if box is not None:
            coords.append(np.asarray(box, dtype=np.float32).reshape(2, 2))
            codes.append(np.array([2, 3], dtype=np.int32))
        if points is not None:
            coords.append(np.asarray(points, dtype=np.float32).reshape(-1, 2))
            codes.append(np.asarray(labels, dtype=np.int32).reshape(-1))
        xy = torch.from_numpy(np.concatenate(coords))[None] / torch.tensor([width, height]) * size
        return {
            "point_coords": xy.to(self.device),
            "point_labels": torch.from_numpy(np.concatenate(codes))[None].to(self.device),
        }, None


def resolve_device(device: str) -> torch.device:
    """``auto``: CUDA if available, else MPS, else CPU."""
    if device != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def fill_holes(logits: torch.Tensor, max_area: int) -> torch.Tensor:
    """SAM2's ``fill_holes_in_mask_scores`` without its CUDA extension: in each N×1×H×W mask, the
    8-connected background components (logit ≤ 0) of at most ``max_area`` pixels get logit 0.1."""
    background = (logits <= 0).to("cpu", torch.uint8).numpy()
    holes = np.zeros(background.shape, dtype=bool)
    for i, plane in enumerate(background[:, 0]):
        _, labels, stats, _ = cv2.connectedComponentsWithStats(plane, connectivity=8)
        areas = stats[:, cv2.CC_STAT_AREA]
        holes[i, 0] = plane.astype(bool) & (areas[labels] <= max_area)
    if not holes.any():
        return logits
    return torch.where(torch.from_numpy(holes).to(logits.device), _HOLE_SCORE, logits)


def _autocast_dtype(device: torch.device) -> torch.dtype | None:
    """What SAM2's own examples do on CUDA: bf16 autocast, with TF32 matmuls on Ampere and later.
    Older GPUs (no bf16) and other devices run in fp32."""
    if device.type != "cuda":
        return None
    if torch.cuda.get_device_properties(device).major >= 8:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if not torch.cuda.is_bf16_supported(including_emulation=False):
        _log.info("%s has no bfloat16 support: SAM2 runs in float32", torch.cuda.get_device_name(device))
        return None
    return torch.bfloat16


def _build_model(
    model: str | Path, version: str, config: str | None, image_size: int | None, random_init: bool, seed: int
) -> SAM2Base:
    """Build SAM2 from the package config (as ``build_sam2_video_predictor`` configures it) and
    load the checkpoint unless ``random_init``."""
    from sam2.build_sam import build_sam2

    if str(model) in MODEL_NAMES:
        info = checkpoint_info(str(model), version)
        config = config or info.config
        checkpoint = None if random_init else ensure_checkpoint(info.name, version=version)
    else:
        config = config or config_for_file(model)
        checkpoint = None if random_init else ensure_checkpoint(model)
    overrides = ["++model.binarize_mask_from_pts_for_mem_enc=true"]
    if image_size is not None:
        overrides.append(f"++model.image_size={image_size}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        sam = build_sam2(config, None, device="cpu", hydra_overrides_extra=overrides)
    if checkpoint is not None:
        load_weights(sam, checkpoint)
    return sam

"""Online multi-object SAM2 tracking built directly on the model (``SAM2Base``).

Three parts: what each object keeps and the rules of keeping it (``tracker.sam2_memory``: key-frame
selection, pruning, rewind points; pure, no model), a thin adapter over the model (``tracker.sam2_model``:
building, preprocessing, the heads SAM2Base runs), and the orchestration here (frames, prompts, batching,
corrections, outputs).

Frames arrive one at a time (``step``); the image encoder runs once per frame and all objects are
propagated together: memory attention batched over objects whose memories have the same token
counts, the mask decoder and the memory encoder over all objects. Unlike ``SAM2VideoPredictor``
nothing is preloaded and nothing grows with the length of the video.

What each object keeps:

- **key frames** (conditioning frames: its prompts). Attention uses all of them, as SAM2 does by
  default (``max_cond_frames_in_attn = -1``); with ``max_conditioning_frames`` set, the temporally
  closest ones, chosen by SAM2's own ``select_closest_cond_frames``. A key frame out of that selection
  is still attended as an ordinary memory while it is among the recent frames, as in SAM2. A key
  frame made by ``refresh_keyframe`` *replaces* the object's earlier automatic key frames (its first
  detector box and earlier refreshes; prompts given through ``correct`` stay): from then on they are
  ordinary memories.
- **spatial memories** (bf16, as SAM2 stores them) of the last ``num_maskmem - 1`` frames and
  **object pointers** of the last ``max_obj_ptrs_in_encoder - 1`` frames: what the next frame
  attends to. ``skip_memory`` keeps a frame out of both.
- **rewind points** for corrections: for every ``snapshot_interval``-th frame of the last
  ``correction_window`` frames, the spatial memories that frame attends to; the pointers and key
  frames of the window.

Per object that is at most ``min(W + K + M, M * (W // K + 3))`` spatial memories (``W``:
``correction_window``, ``K``: ``snapshot_interval``, ``M = num_maskmem - 1``) and ``W +
max_obj_ptrs_in_encoder`` pointers, held in blocks allocated once per object (per-frame long-lived
allocations would fragment the heap and make RSS creep), plus the key frames of that span and the
older ones still conditioning (all of them, or the ``max_conditioning_frames`` most recent). Image features are kept for the current frame only, with
each object's image-size decoder mask until its memory is written.

Corrections: ``correct(obj, t, ...)`` for ``t`` in the last ``correction_window`` frames rewinds
the object's memory to what it was before ``t`` from the nearest rewind point ``s <= t`` (re-tracking
that object alone through frames ``s .. t-1``, at most ``snapshot_interval - 1`` frames, which
needs ``frames``), prompts frame ``t`` and makes it a key frame. Older frames raise
``CorrectionWindowError``. ``repropagate_from(t, frames, end)`` then re-tracks only the corrected
objects through ``t+1 .. end``: objects do not interact in SAM2, so the others' results would not
change. The engine is causal: a frame attends only to earlier frames, and key frames of a corrected
object after ``t`` are kept as they were (``SAM2VideoPredictor``, re-propagating over a video that has
prompts ahead, also attends those later conditioning frames).

Results equal ``SAM2VideoPredictor`` run online with ``add_all_frames_to_correct_as_cond=True`` (a
prompt on an already tracked frame makes it a conditioning frame, which is what a key-frame refresh
is): same preprocessing, memory token order, key-frame selection, bf16 memories, hole filling and
pointer encoding (``num_frames``: the video length), and its defaults apply no non-overlap
constraint. Bit for bit with ``max_batch=1``, within float rounding when objects are batched.

Hole filling (SAM2's ``fill_holes_in_mask_scores``: background components of at most
``fill_hole_area`` low-res pixels, 8-connected, become foreground) needs SAM2's CUDA extension for
its connected components; this engine computes them with OpenCV instead, so CPU and GPU runs fill
the same holes whether or not the extension was built.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from sam2.modeling.sam2_base import SAM2Base

from tracker.errors import MaskletError
from tracker.geometry import decode_mask, encode_mask, mask_to_xywh
from tracker.results import Prompt, PromptKind
from tracker.sam2_memory import MemoryBounds, ObjectMemory, PendingOutput
from tracker.sam2_model import Features, SAM2Model, fill_holes

_CPU_BATCH = 4
_ACCELERATOR_BATCH = 16
_PREV_LOGIT_CLAMP = 32.0
"""``SAM2VideoPredictor`` clamps the previous mask logits it feeds back with new clicks."""

Frames = Callable[[int], np.ndarray]
_T = TypeVar("_T")


class CorrectionWindowError(MaskletError):
    """A correction targets a frame whose memory state the engine no longer keeps."""


@dataclass(frozen=True, slots=True)
class ObjectOutput:
    """One object at one frame, at video resolution."""

    obj_id: int
    mask_logits: np.ndarray
    mask: np.ndarray
    box: tuple[float, float, float, float] | None
    object_score_logit: float


class SAM2Engine:
    """Online multi-object SAM2 video segmentation with bounded memory (see the module docstring).

    ``model``: tiny | small | base_plus | large (the official checkpoint of ``version``, fetched
    by ``tracker.models.ensure_checkpoint``), a path to a ``.pt`` checkpoint (config from its name
    or ``config``), or a ``SAM2Base`` module to use as is. ``random_init`` builds the model without
    weights (tests, benchmarks); ``image_size`` overrides the config's input size. Memory and
    correction bounds: ``max_conditioning_frames`` (``None``: every key frame, SAM2's default),
    ``snapshot_interval``, ``correction_window``. ``fill_hole_area``: holes up to this many low-res
    pixels are filled, as in SAM2 (0: none). ``num_frames`` (the video length; settable later)
    caps the pointer count and normalises pointer positions like ``SAM2VideoPredictor``. ``max_batch`` bounds how many objects share one forward pass (1: one
    object at a time, exactly SAM2's per-object computation; default 16, or 4 on CPU, where bigger
    batches measured no faster and only raise peak memory).
    """

    def __init__(
        self,
        model: str | Path | SAM2Base = "tiny",
        device: str = "auto",
        *,
        version: str = "2.1",
        config: str | None = None,
        image_size: int | None = None,
        random_init: bool = False,
        seed: int = 0,
        max_conditioning_frames: int | None = None,
        snapshot_interval: int = 10,
        correction_window: int = 30,
        fill_hole_area: int = 8,
        max_batch: int | None = None,
        num_frames: int | None = None,
    ) -> None:
        if max_conditioning_frames is not None and max_conditioning_frames < 2:
            raise ValueError("max_conditioning_frames must be None (all) or >= 2, as in SAM2")
        if snapshot_interval < 1 or correction_window < 0 or (max_batch is not None and max_batch < 1):
            raise ValueError("snapshot_interval and max_batch must be >= 1, correction_window >= 0")
        self.model = SAM2Model(model, device, version=version, config=config, image_size=image_size,
                               random_init=random_init, seed=seed)
        self.sam, self.device = self.model.sam, self.model.device
        self.max_conditioning_frames = max_conditioning_frames
        self.snapshot_interval = snapshot_interval
        self.correction_window = correction_window
        self.max_batch = max_batch or (_CPU_BATCH if self.device.type == "cpu" else _ACCELERATOR_BATCH)
        self.fill_hole_area = fill_hole_area
        self.num_frames = num_frames
        self._tracks: dict[int, ObjectMemory] = {}
        self._video_hw: tuple[int, int] | None = None
        self._rgb: np.ndarray | None = None
        self._feats: Features | None = None
        self._prompts: list[Prompt] = []
        self._conditioned: tuple[ObjectMemory, Features, torch.Tensor] | None = None
        """The last prompted object's memory-conditioned features (see ``_conditioned_features``)."""
        self.current_frame: int | None = None

    @property
    def object_ids(self) -> list[int]:
        return list(self._tracks)

    @property
    def image_size(self) -> int:
        return self.model.image_size

    @property
    def num_frames(self) -> int | None:
        """The video length, as ``SAM2VideoPredictor`` knows it (``None``: unknown)."""
        return self._num_frames

    @num_frames.setter
    def num_frames(self, value: int | None) -> None:
        max_ptrs = self.sam.max_obj_ptrs_in_encoder
        self._num_frames = value
        self._max_ptrs = min(value, max_ptrs) if value else max_ptrs

    @property
    def memory_bounds(self) -> MemoryBounds:
        """What each object's memory bank keeps (``tracker.sam2_memory``)."""
        return MemoryBounds(self.sam.num_maskmem, self._max_ptrs, self.correction_window, self.snapshot_interval,
                            self.max_conditioning_frames)

    # ------------------------------------------------------------------ public API

    def step(self, frame_index: int, rgb: np.ndarray) -> dict[int, ObjectOutput]:
        """Propagate every object into ``frame_index`` (the next frame, or any frame when the engine
        has no objects). This frame's memory is written when the next frame arrives or on
        ``commit``, so ``skip_memory``/``refresh_keyframe``/``add_object`` can still act on it."""
        rgb = self._check_rgb(rgb, allow_resize=not self._tracks)
        if self._tracks:
            if frame_index != self.current_frame + 1:
                raise ValueError(f"frame {frame_index} does not follow frame {self.current_frame}")
            self._check_not_lagging()
        with self.model.compute():
            self._commit()
            self.current_frame, self._rgb, self._feats = frame_index, rgb, None
            if not self._tracks:
                return {}
            return self._advance(list(self._tracks.items()), self._features())

    def add_object(
        self,
        obj_id: int,
        *,
        box: Sequence[float] | np.ndarray | None = None,
        points: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        mask: np.ndarray | None = None,
    ) -> ObjectOutput:
        """Start a new object at the current frame from a box (xyxy) and/or clicks (N×2 xy, labels
        1/0), or a mask (bool H×W); the frame becomes its first key frame."""
        if obj_id in self._tracks:
            raise ValueError(f"object {obj_id} already exists")
        frame = self._require_frame()
        output = self._prompt_at(obj_id, frame, points, labels, box, mask, None, automatic=True)
        self._record(PromptKind.ADD, obj_id, frame, box, points, labels, mask)
        return output

    def remove_object(self, obj_id: int) -> None:
        """Forget an object and its memory."""
        self._track_of(obj_id)
        del self._tracks[obj_id]

    def skip_memory(self, obj_id: int) -> None:
        """Keep the current frame's result of ``obj_id`` out of its memory (no spatial memory, no
        object pointer)."""
        track, frame = self._track_of(obj_id), self._require_frame()
        output = track.output
        if output is None or output.frame != frame:
            raise ValueError(f"object {obj_id} has no result at frame {frame}")
        if output.prompted:
            raise ValueError(f"frame {frame} is a key frame of object {obj_id}; it cannot be skipped")
        output.skip = True
        track.skip(frame)
        self._record(PromptKind.SKIP, obj_id, frame)

    def refresh_keyframe(self, obj_id: int, box: Sequence[float] | np.ndarray) -> ObjectOutput:
        """Prompt ``obj_id`` with a new box (xyxy) at the current frame, which becomes a key frame
        replacing the object's earlier automatic ones (they stay ordinary memories)."""
        track, frame = self._track_of(obj_id), self._require_frame()
        output = self._prompt_at(obj_id, frame, None, None, box, None, None, automatic=True)
        self._conditioned = None  # the replaced key frames are attended differently
        track.replace_automatic_keyframes(frame)
        self._record(PromptKind.REFRESH, obj_id, frame, box)
        return output

    def correct(
        self,
        obj_id: int,
        frame_index: int,
        *,
        points: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        box: Sequence[float] | np.ndarray | None = None,
        mask: np.ndarray | None = None,
        frames: Frames | None = None,
    ) -> ObjectOutput:
        """Prompt ``obj_id`` at ``frame_index`` (the current frame or one of the last
        ``correction_window`` frames), which becomes a key frame. Clicks are combined with the
        object's previous mask there, as in SAM2. A past frame needs ``frames`` (index → RGB) and
        leaves the object behind until ``repropagate_from``. An unknown ``obj_id`` starts a new
        object at that frame."""
        output = self._prompt_at(obj_id, frame_index, points, labels, box, mask, frames, automatic=False)
        self._record(PromptKind.CORRECT, obj_id, frame_index, box, points, labels, mask)
        return output

    def take_prompts(self) -> list[Prompt]:
        """Every prompt and memory decision given since the last call, in order (see ``apply``)."""
        prompts, self._prompts = self._prompts, []
        return prompts

    def apply(self, prompt: Prompt) -> ObjectOutput | None:
        """Give a recorded prompt again at the current frame (``prompt.frame``); ``None`` for a skip."""
        if prompt.frame != self.current_frame:
            raise ValueError(f"a prompt of frame {prompt.frame} applied at frame {self.current_frame}")
        obj_id, kind = prompt.track_id, PromptKind(prompt.kind)
        if kind is PromptKind.SKIP:
            self.skip_memory(obj_id)
            return None
        if kind is PromptKind.REFRESH:
            return self.refresh_keyframe(obj_id, prompt.box)
        inputs = {
            "box": prompt.box,
            "points": None if prompt.points is None else np.asarray(prompt.points, np.float32),
            "labels": None if prompt.labels is None else np.asarray(prompt.labels, np.int32),
            "mask": None if prompt.mask is None else decode_mask(prompt.mask),
        }
        if kind is PromptKind.ADD:
            return self.add_object(obj_id, **inputs)
        return self.correct(obj_id, prompt.frame, **inputs)

    def _prompt_at(
        self,
        obj_id: int,
        frame_index: int,
        points: np.ndarray | None,
        labels: np.ndarray | None,
        box: Sequence[float] | np.ndarray | None,
        mask: np.ndarray | None,
        frames: Frames | None,
        automatic: bool,
    ) -> ObjectOutput:
        current = self._require_frame()
        if frame_index > current:
            raise ValueError(f"frame {frame_index} has not been reached (current frame {current})")
        if frame_index < current and frames is None:
            raise ValueError("correcting a past frame needs frames (frame index -> RGB image)")
        points_in, mask_in = self.model.prompt_inputs(self._video_hw, box, points, labels, mask)
        track = self._tracks.get(obj_id) or ObjectMemory.empty(frame_index - 1, self.memory_bounds)
        if frame_index > track.position + (obj_id not in self._tracks):
            raise ValueError(f"object {obj_id} is at frame {track.position}: repropagate it first")
        with self.model.compute():
            if frame_index == current:
                feats = self._features()
            else:
                self._commit()
                self._rewind(obj_id, track, frame_index, frames)
                feats = self.model.encode(frame_index, self._frame(frames, frame_index))
            prev = None
            if points_in is not None:
                prev = self._previous_logits(track, feats)
            track.output = self._prompt(track, feats, points_in, mask_in, prev)
            track.output.automatic = automatic
            track.position = frame_index
            if frame_index < current:
                self._commit_tracks([track], feats)
            self._tracks[obj_id] = track
            return self._to_output(obj_id, track.output)

    def _record(
        self,
        kind: PromptKind,
        obj_id: int,
        frame: int,
        box: Sequence[float] | np.ndarray | None = None,
        points: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        mask: np.ndarray | None = None,
    ) -> None:
        self._prompts.append(Prompt(
            frame, obj_id, kind,
            box=None if box is None else tuple(float(v) for v in np.asarray(box).reshape(4)),
            points=None if points is None else tuple(
                (float(x), float(y)) for x, y in np.asarray(points, np.float64).reshape(-1, 2)),
            labels=None if labels is None else tuple(int(v) for v in np.asarray(labels).reshape(-1)),
            mask=None if mask is None else encode_mask(np.asarray(mask, dtype=bool)),
        ))

    def repropagate_from(
        self, frame_index: int, frames: Frames, end: int
    ) -> Iterator[tuple[int, dict[int, ObjectOutput]]]:
        """Recompute frames ``frame_index + 1 .. end`` of the objects left behind by corrections
        (the others are not recomputed: objects do not interact). Yields ``(frame, outputs of the
        recomputed objects)``; afterwards the engine is at ``end``. Objects already past ``end`` are
        rewound to it."""
        current = self._require_frame()
        if end <= frame_index:
            raise ValueError("end must be after frame_index")
        for obj_id, track in self._tracks.items():
            if track.position < frame_index:
                raise ValueError(
                    f"object {obj_id} is at frame {track.position}: repropagate from {track.position}"
                )
        with self.model.compute():
            self._commit()
            if end < current:
                for obj_id, track in self._tracks.items():
                    if track.position > end:
                        self._rewind(obj_id, track, end, frames)
        return self._repropagate(frame_index, frames, end)

    def commit(self) -> None:
        """Write the current frame's pending results into the objects' memories now."""
        with self.model.compute():
            self._commit()

    # ------------------------------------------------------------------ frames and features

    def _repropagate(
        self, frame_index: int, frames: Frames, end: int
    ) -> Iterator[tuple[int, dict[int, ObjectOutput]]]:
        feats: Features | None = None
        for frame in range(frame_index + 1, end + 1):
            movers = [(i, t) for i, t in self._tracks.items() if t.position == frame - 1]
            if not movers:
                yield frame, {}
                continue
            with self.model.compute():
                if feats is not None:
                    self._commit_tracks([t for _, t in movers], feats)
                rgb = self._frame(frames, frame)
                feats = self.model.encode(frame, rgb)
                outputs = self._advance(movers, feats)
            if frame == end:
                self.current_frame, self._rgb, self._feats = end, rgb, feats
            yield frame, outputs
        if self.current_frame != end:  # nothing moved at ``end``: its features are encoded on use
            self.current_frame, self._rgb, self._feats = end, self._frame(frames, end), None

    def _features(self) -> Features:
        """Features of the current frame, encoded on first use."""
        if self._feats is None:
            self._feats = self.model.encode(self.current_frame, self._rgb)
        return self._feats

    # ------------------------------------------------------------------ tracking

    def _advance(self, items: list[tuple[int, ObjectMemory]], feats: Features) -> dict[int, ObjectOutput]:
        """Move objects at ``feats.frame - 1`` into ``feats.frame``: key frames there are reused,
        the other objects are tracked."""
        frame = feats.frame
        to_track = []
        for _, track in items:
            key = track.keyframes.get(frame)
            if key is None:
                to_track.append(track)
            else:
                track.output, track.position = PendingOutput.of_keyframe(frame, key), frame
        if to_track:
            self._track(to_track, feats)
        return {obj_id: self._to_output(obj_id, track.output) for obj_id, track in items}

    def _track(self, tracks: list[ObjectMemory], feats: Features) -> None:
        """Propagate ``tracks`` into ``feats.frame`` (memory attention + decoder, batched)."""
        fused = self._condition(tracks, feats)
        if len(tracks) == 1:  # what a prompt at this frame attends to: its first click runs the decoder only
            self._conditioned = (tracks[0], feats, fused)
        for chunk in _chunks(range(len(tracks)), self.max_batch):
            low, high, ptr, score = self.model.decode_tracked(fused[chunk.start : chunk.stop], feats)
            filled = self._fill_holes(low)
            for k, i in enumerate(chunk):
                one = slice(k, k + 1)
                tracks[i].output = PendingOutput(
                    feats.frame, filled[one], ptr[one], score[one], prompted=False, high_res=high[one]
                )
                tracks[i].position = feats.frame

    def _condition(self, tracks: list[ObjectMemory], feats: Features) -> torch.Tensor:
        """Memory-conditioned features ``N×C×H×W``; objects with equal memory token counts share
        one memory-attention pass."""
        memories = [self._memory_tokens(track, feats.frame) for track in tracks]
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, (memory, _, n_ptr) in enumerate(memories):
            groups[(memory.shape[0], n_ptr)].append(i)
        channels, (height, width) = self.sam.hidden_dim, feats.sizes[-1]
        fused: dict[int, torch.Tensor] = {}
        for (_, n_ptr), members in groups.items():
            for chunk in _chunks(members, self.max_batch):
                out = self.model.attend(
                    feats,
                    torch.cat([memories[i][0] for i in chunk], dim=1),
                    torch.cat([memories[i][1] for i in chunk], dim=1),
                    n_ptr,
                )
                for k, i in enumerate(chunk):
                    fused[i] = out[:, k : k + 1]
        stacked = torch.cat([fused[i] for i in range(len(tracks))], dim=1)  # (HW)NC, as SAM2 lays it out
        return stacked.permute(1, 2, 0).view(len(tracks), channels, height, width)

    def _memory_tokens(self, track: ObjectMemory, frame: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        """The memory one object attends to at ``frame`` (``L×1×C`` tokens, their positional
        encodings, the number of pointer tokens), ordered as in ``SAM2Base``'s
        ``_prepare_memory_conditioned_features`` for forward tracking."""
        num_maskmem = self.sam.num_maskmem
        selected, unselected = track.select_keyframes(frame, self.memory_bounds)
        spatial = [(0, key.maskmem) for key in selected.values()]
        for t_pos in range(1, num_maskmem):
            t = frame - (num_maskmem - t_pos)
            maskmem = track.memories.get(t)
            if maskmem is None and t in unselected:
                maskmem = unselected[t].maskmem
            if maskmem is not None:
                spatial.append((t_pos, maskmem))
        pointers = [(frame - t, key.ptr) for t, key in selected.items()]
        for t_diff in range(1, self._max_ptrs):
            t = frame - t_diff
            if t < 0:
                break
            ptr = track.pointers.get(t)
            if ptr is None and t in unselected:
                ptr = unselected[t].ptr
            if ptr is not None:
                pointers.append((t_diff, ptr))
        return self.model.memory_tokens(spatial, pointers, self._max_ptrs)

    # ------------------------------------------------------------------ prompts

    def _previous_logits(self, track: ObjectMemory, feats: Features) -> torch.Tensor | None:
        """The object's mask logits at ``feats.frame`` before the new clicks (tracked if needed)."""
        frame = feats.frame
        key = track.keyframes.get(frame)
        if key is not None and (track.output is None or track.output.frame != frame):
            return key.filled.clamp(-_PREV_LOGIT_CLAMP, _PREV_LOGIT_CLAMP)
        if track.output is None or track.output.frame != frame:
            if track.is_new(frame):
                return None  # a new object: nothing to refine
            self._track([track], feats)
        return track.output.filled.clamp(-_PREV_LOGIT_CLAMP, _PREV_LOGIT_CLAMP)

    def _prompt(
        self,
        track: ObjectMemory,
        feats: Features,
        point_inputs: dict[str, torch.Tensor] | None,
        mask_inputs: torch.Tensor | None,
        prev_logits: torch.Tensor | None,
    ) -> PendingOutput:
        """Segment one object from a prompt at ``feats.frame`` (SAM2Base ``_track_step``)."""
        if self.model.mask_is_output(mask_inputs):
            low, ptr, score = self.model.mask_as_output(feats, mask_inputs)
        else:
            conditioned = None if track.is_new(feats.frame) else self._conditioned_features(track, feats)
            low, ptr, score = self.model.decode_prompt(
                feats, conditioned, point_inputs, mask_inputs if prev_logits is None else prev_logits
            )
        return PendingOutput(feats.frame, self._fill_holes(low), ptr, score, prompted=True)

    def _conditioned_features(self, track: ObjectMemory, feats: Features) -> torch.Tensor:
        """``_condition`` of one prompted object, kept for its next prompts at the same frame: an
        interactive correction's later clicks run the decoder only. Every memory change clears it."""
        cached = self._conditioned
        if cached is None or cached[0] is not track or cached[1] is not feats:
            cached = self._conditioned = (track, feats, self._condition([track], feats))
        return cached[2]

    # ------------------------------------------------------------------ memory

    def _commit(self) -> None:
        """Write the pending results of the current frame into memory."""
        if self._feats is not None:
            self._commit_tracks(list(self._tracks.values()), self._feats)

    def _commit_tracks(self, tracks: list[ObjectMemory], feats: Features) -> None:
        """Encode the memories of ``tracks``' pending results at ``feats.frame`` (batched)."""
        self._conditioned = None
        due = [
            t for t in tracks if t.output is not None and t.output.frame == feats.frame and not t.output.committed
        ]
        pending = [t for t in due if not t.output.skip]
        for prompted in (False, True):  # tracked frames: sigmoid masks; prompts: binarized, as in SAM2
            group = [t for t in pending if t.output.prompted == prompted]
            for chunk in _chunks(group, self.max_batch):
                masks = torch.cat([self._memory_mask(t.output) for t in chunk])
                maskmem = self.model.encode_memories(feats, masks, torch.cat([t.output.score for t in chunk]), prompted)
                for k, track in enumerate(chunk):
                    track.store(maskmem[k : k + 1])
        bounds = self.memory_bounds
        for track in due:
            track.output.committed, track.output.high_res = True, None  # free the mask before the next frame
            track.prune(bounds)

    def _memory_mask(self, output: PendingOutput) -> torch.Tensor:
        """The image-size mask SAM2 encodes: the decoder's for a tracked frame, the upsampled
        hole-filled low-res mask for a prompt (``propagate_in_video_preflight``)."""
        if output.high_res is not None:
            return output.high_res
        size = self.image_size
        return F.interpolate(output.filled, size=(size, size), mode="bilinear", align_corners=False)

    def _rewind(self, obj_id: int, track: ObjectMemory, frame: int, frames: Frames) -> None:
        """Rewind ``track`` to its state just before ``frame``: from the nearest rewind point,
        re-track the frames in between."""
        self._conditioned = None
        start = track.rewind(frame, self.memory_bounds)
        if start is None:
            oldest = self.current_frame - self.correction_window
            raise CorrectionWindowError(
                f"cannot go back to frame {frame} for object {obj_id}: memory is kept for frames "
                f">= {oldest} only (raise correction_window)"
            )
        for t in range(start, frame):
            track.position = t
            if t not in track.keyframes and t not in track.skipped:
                feats = self.model.encode(t, self._frame(frames, t))
                self._track([track], feats)
                self._commit_tracks([track], feats)
        track.output = None

    def _fill_holes(self, logits: torch.Tensor) -> torch.Tensor:
        return fill_holes(logits, self.fill_hole_area) if self.fill_hole_area > 0 else logits

    # ------------------------------------------------------------------ helpers

    def _to_output(self, obj_id: int, output: PendingOutput) -> ObjectOutput:
        logits = F.interpolate(output.filled.float(), size=self._video_hw, mode="bilinear", align_corners=False)
        logits = logits[0, 0].cpu().numpy()
        mask = logits > 0
        return ObjectOutput(obj_id, logits, mask, mask_to_xywh(mask), float(output.score))

    def _check_rgb(self, rgb: np.ndarray, allow_resize: bool) -> np.ndarray:
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 H×W×3 image, got {rgb.dtype} {rgb.shape}")
        if allow_resize or self._video_hw is None:
            self._video_hw = rgb.shape[:2]
        elif rgb.shape[:2] != self._video_hw:
            raise ValueError(f"frame is {rgb.shape[:2]}, the video is {self._video_hw}")
        return rgb

    def _frame(self, frames: Frames, index: int) -> np.ndarray:
        return self._check_rgb(frames(index), allow_resize=False)

    def _check_not_lagging(self) -> None:
        behind = [obj_id for obj_id, t in self._tracks.items() if t.position != self.current_frame]
        if behind:
            raise ValueError(f"objects {behind} were corrected at past frames: call repropagate_from first")

    def _require_frame(self) -> int:
        if self.current_frame is None:
            raise ValueError("no frame yet: call step() first")
        return self.current_frame

    def _track_of(self, obj_id: int) -> ObjectMemory:
        try:
            return self._tracks[obj_id]
        except KeyError:
            raise KeyError(f"unknown object {obj_id}") from None



def _chunks(items: Sequence[_T], size: int) -> list[Sequence[_T]]:
    """``items`` cut into the fewest chunks of at most ``size``, of equal lengths give or take one."""
    total = len(items)
    count = -(-total // size)
    return [items[total * i // count : total * (i + 1) // count] for i in range(count)]



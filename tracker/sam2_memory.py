"""What the SAM2 engine keeps of one object, and the rules of keeping it: key frames and their selection,
spatial memories and object pointers in blocks allocated once, pruning to what the next frame and the rewind
points of the correction window need, and which frame a correction can restart from. Pure bookkeeping by frame
number: the tensors are stored, never computed here, so every rule is testable without a model (see the
module docstring of ``tracker.sam2_engine`` for what is kept and why)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import torch
from sam2.modeling.sam2_utils import select_closest_cond_frames


@dataclass(frozen=True, slots=True)
class MemoryBounds:
    """How much an object remembers: ``num_maskmem`` (SAM2's spatial memory span, the current frame
    included), ``max_ptrs`` (object pointers attended, the current frame included), the ``correction_window``
    and ``snapshot_interval`` of rewind points, ``max_conditioning_frames`` (None: every key frame)."""

    num_maskmem: int
    max_ptrs: int
    correction_window: int
    snapshot_interval: int
    max_conditioning_frames: int | None = None

    @property
    def spatial_capacity(self) -> int:
        """The most spatial memories pruning keeps (+ 1: a new frame arrives before pruning)."""
        window, interval, span = self.correction_window, self.snapshot_interval, self.num_maskmem - 1
        return min(window + interval + span, span * (window // interval + 3)) + 1

    @property
    def pointer_capacity(self) -> int:
        """The most object pointers pruning keeps (+ 1: a new frame arrives before pruning)."""
        return self.correction_window + self.max_ptrs + 1


@dataclass(frozen=True, slots=True)
class Keyframe:
    """A conditioning frame of one object: its memory, pointer and result."""

    maskmem: torch.Tensor
    ptr: torch.Tensor
    filled: torch.Tensor
    score: torch.Tensor
    automatic: bool  # made by add_object / refresh_keyframe (a detector box), not by correct
    replaced_at: int | None = None  # conditioning up to this frame only; an ordinary memory after it

    def conditions(self, frame: int) -> bool:
        """Whether this key frame is a conditioning frame when ``frame`` is tracked."""
        return self.replaced_at is None or frame <= self.replaced_at


@dataclass(slots=True)
class PendingOutput:
    """An object's result at its latest frame; its memory is written lazily (``committed``)."""

    frame: int
    filled: torch.Tensor  # low-res logits after hole filling: what is shown
    ptr: torch.Tensor
    score: torch.Tensor
    prompted: bool
    automatic: bool = False  # a prompt from add_object / refresh_keyframe
    high_res: torch.Tensor | None = None  # a tracked frame's memory is encoded from this decoder mask
    skip: bool = False
    committed: bool = False

    @classmethod
    def of_keyframe(cls, frame: int, key: Keyframe) -> PendingOutput:
        return cls(frame, key.filled, key.ptr, key.score, prompted=True, automatic=key.automatic, committed=True)


class FramePool:
    """Up to ``capacity`` same-shaped per-frame tensors in one block allocated once: frames come and
    go without allocating long-lived memory, which would fragment the heap and make RSS creep."""

    def __init__(self, capacity: int, dtype: torch.dtype) -> None:
        self._capacity, self._dtype = capacity, dtype
        self._data: torch.Tensor | None = None
        self._slots: dict[int, int] = {}
        self._free = list(range(capacity))

    def __contains__(self, frame: int) -> bool:
        return frame in self._slots

    def __len__(self) -> int:
        return len(self._slots)

    def __iter__(self) -> Iterator[int]:
        return iter(list(self._slots))

    def get(self, frame: int) -> torch.Tensor | None:
        slot = self._slots.get(frame)
        return None if slot is None else self._data[slot : slot + 1]

    def put(self, frame: int, value: torch.Tensor) -> None:
        """Store ``value`` (batch of one) for ``frame``."""
        if self._data is None:
            self._data = value.new_empty((self._capacity, *value.shape[1:]), dtype=self._dtype)
        slot = self._slots.get(frame)
        if slot is None:
            slot = self._slots[frame] = self._free.pop()
        self._data[slot] = value[0]

    def discard(self, frame: int) -> None:
        slot = self._slots.pop(frame, None)
        if slot is not None:
            self._free.append(slot)

    def retain(self, keep: Callable[[int], bool]) -> None:
        for frame in [f for f in self._slots if not keep(f)]:
            self.discard(frame)


@dataclass(slots=True)
class ObjectMemory:
    """One object's memory bank. The rules take the engine's ``MemoryBounds`` of the moment (the video length,
    which bounds the pointers, may become known later)."""

    position: int  # latest frame processed
    memories: FramePool  # spatial memory (bf16) of non-key frames
    pointers: FramePool  # object pointer of non-key frames
    output: PendingOutput | None = None  # result at ``position`` when known
    keyframes: dict[int, Keyframe] = field(default_factory=dict)
    skipped: set[int] = field(default_factory=set)  # frames kept out of memory

    @classmethod
    def empty(cls, position: int, bounds: MemoryBounds) -> ObjectMemory:
        """An object without memory, at ``position``; its pools hold what ``prune`` keeps."""
        return cls(position, FramePool(bounds.spatial_capacity, torch.bfloat16),
                   FramePool(bounds.pointer_capacity, torch.float32))

    def is_new(self, frame: int) -> bool:
        """Whether the object has no key frame before ``frame`` (a prompt there starts it)."""
        return not any(t < frame for t in self.keyframes)

    def select_keyframes(self, frame: int, bounds: MemoryBounds) -> tuple[dict[int, Keyframe], dict[int, Keyframe]]:
        """Key frames before ``frame`` attended as conditioning frames (SAM2's selection, in the order SAM2
        keeps them: the order they were prompted) and the others (replaced, or not selected), which are
        attended as ordinary memories when recent."""
        past = {t: key for t, key in self.keyframes.items() if t < frame}
        conditioning = {t: key for t, key in past.items() if key.conditions(frame)}
        selected, _ = select_closest_cond_frames(frame, conditioning, bounds.max_conditioning_frames or -1)
        return selected, {t: key for t, key in past.items() if t not in selected}

    def store(self, maskmem: torch.Tensor) -> None:
        """Keep the memory encoded from the pending output: a key frame for a prompt, else an ordinary memory."""
        output = self.output
        frame = output.frame
        if output.prompted:
            self.keyframes[frame] = Keyframe(
                maskmem.clone(), output.ptr.clone(), output.filled, output.score, output.automatic
            )
            self.memories.discard(frame)
            self.pointers.discard(frame)
            self.skipped.discard(frame)
        else:
            self.memories.put(frame, maskmem)
            self.pointers.put(frame, output.ptr)

    def skip(self, frame: int) -> None:
        """Keep ``frame`` out of memory (no spatial memory, no object pointer)."""
        self.skipped.add(frame)
        self.memories.discard(frame)
        self.pointers.discard(frame)

    def replace_automatic_keyframes(self, frame: int) -> None:
        """The automatic key frames before ``frame`` condition no frame after it: ordinary memories now."""
        for t, key in self.keyframes.items():
            if t < frame and key.automatic and key.replaced_at is None:
                self.keyframes[t] = replace(key, replaced_at=frame)

    def prune(self, bounds: MemoryBounds) -> None:
        """Drop what neither the next frame nor a rewind point of the correction window needs."""
        position = self.position
        num_maskmem, interval = bounds.num_maskmem, bounds.snapshot_interval
        horizon = position - bounds.correction_window
        oldest = horizon - (bounds.max_ptrs - 1)

        def needed(t: int) -> bool:
            if t > position - num_maskmem + 1:
                return True  # attended by the next frame
            lo, hi = max(t + 1, horizon - interval + 1), min(t + num_maskmem - 1, position)
            return lo <= hi and hi // interval * interval >= lo  # attended by a rewind point

        self.memories.retain(needed)
        self.pointers.retain(lambda t: t >= oldest)
        self.skipped = {t for t in self.skipped if t >= oldest}
        # Key frames before the window that still condition frames from its start on: all of them,
        # or the closest ones (the most recent); and every key frame a rewind point may attend.
        conditioning = sorted(t for t, key in self.keyframes.items() if t < horizon and key.conditions(horizon))
        if bounds.max_conditioning_frames:
            conditioning = conditioning[-bounds.max_conditioning_frames :]
        keep = set(conditioning) | {t for t in self.keyframes if t >= oldest}
        self.keyframes = {t: key for t, key in self.keyframes.items() if t in keep}  # SAM2's order kept

    def restorable(self, frame: int, bounds: MemoryBounds) -> bool:
        """Whether everything ``frame`` attends to is stored (or was skipped)."""
        first = min(self.keyframes, default=frame)
        for t in range(max(frame - bounds.max_ptrs + 1, first), frame):
            if t in self.keyframes or t in self.skipped:
                continue
            if t not in self.pointers or (t > frame - bounds.num_maskmem and t not in self.memories):
                return False
        return True

    def rewind(self, frame: int, bounds: MemoryBounds) -> int | None:
        """Go back to the nearest rewind point ``s <= frame`` (within ``snapshot_interval``): forget the
        memories from ``s`` on and return ``s``, from where frames ``s .. frame - 1`` are to be re-tracked;
        None (nothing changed) when no such point is kept."""
        candidates = range(frame, frame - bounds.snapshot_interval, -1)
        start = next((s for s in candidates if self.restorable(s, bounds)), None)
        if start is None:
            return None
        self.memories.retain(lambda t: t < start)
        self.pointers.retain(lambda t: t < start)
        self.skipped = {t for t in self.skipped if t < frame}
        self.position, self.output = start - 1, None
        return start

"""The SAM2 engine's per-object memory bank, without a model: key-frame selection, pruning, rewind points."""
from __future__ import annotations

import torch

from tracker.sam2_memory import FramePool, MemoryBounds, ObjectMemory, PendingOutput

BOUNDS = MemoryBounds(num_maskmem=7, max_ptrs=16, correction_window=30, snapshot_interval=10)


def _track(memory: ObjectMemory, frame: int, *, prompted: bool = False, automatic: bool = False) -> None:
    """What the engine does for one frame: a result, its memory stored, then pruning."""
    memory.position = frame
    memory.output = PendingOutput(frame, torch.zeros(1, 1, 4, 4), torch.full((1, 8), float(frame)),
                                  torch.zeros(1, 1), prompted=prompted, automatic=automatic)
    memory.store(torch.full((1, 2, 2, 2), float(frame)))
    memory.prune(BOUNDS)


def test_a_frame_pool_reuses_its_slots() -> None:
    pool = FramePool(2, torch.float32)
    pool.put(3, torch.ones(1, 2))
    pool.put(4, torch.full((1, 2), 4.0))
    pool.discard(3)
    pool.put(5, torch.full((1, 2), 5.0))
    assert sorted(pool) == [4, 5] and pool.get(5).tolist() == [[5.0, 5.0]] and pool.get(3) is None
    pool.retain(lambda frame: frame > 4)
    assert list(pool) == [5] and len(pool) == 1


def test_pruning_keeps_the_next_frame_and_every_rewind_point_of_the_window_only() -> None:
    memory = ObjectMemory.empty(-1, BOUNDS)
    _track(memory, 0, prompted=True)
    for frame in range(1, 101):
        _track(memory, frame)
        assert len(memory.memories) < BOUNDS.spatial_capacity and len(memory.pointers) < BOUNDS.pointer_capacity
    assert all(t in memory.memories for t in range(94, 101))  # what frame 101 attends to
    assert all(memory.restorable(s, BOUNDS) for s in range(70, 101, BOUNDS.snapshot_interval))
    assert not memory.restorable(55, BOUNDS) and 0 in memory.keyframes  # the first key frame still conditions


def test_rewinding_goes_back_to_the_nearest_rewind_point_inside_the_window() -> None:
    memory = ObjectMemory.empty(-1, BOUNDS)
    _track(memory, 0, prompted=True)
    for frame in range(1, 101):
        _track(memory, frame)
    assert memory.rewind(40, BOUNDS) is None and memory.position == 100  # outside: unchanged
    assert memory.rewind(85, BOUNDS) == 80
    assert memory.position == 79 and max(memory.memories) == 79 and memory.output is None


def test_key_frame_selection_and_replacement() -> None:
    memory = ObjectMemory.empty(-1, BOUNDS)
    for frame in range(10):
        _track(memory, frame, prompted=frame in (0, 5, 9), automatic=True)
    capped = MemoryBounds(7, 16, 30, 10, max_conditioning_frames=2)
    selected, unselected = memory.select_keyframes(10, capped)
    assert sorted(selected) == [5, 9] and list(unselected) == [0]
    assert sorted(memory.select_keyframes(10, BOUNDS)[0]) == [0, 5, 9]
    memory.replace_automatic_keyframes(9)
    selected, unselected = memory.select_keyframes(10, BOUNDS)
    assert list(selected) == [9] and sorted(unselected) == [0, 5]
    assert memory.is_new(0) and not memory.is_new(1)


def test_a_skipped_frame_leaves_memory_and_does_not_block_a_rewind_point() -> None:
    memory = ObjectMemory.empty(-1, BOUNDS)
    _track(memory, 0, prompted=True)
    for frame in range(1, 12):
        _track(memory, frame)
        if frame == 8:
            memory.skip(8)
    assert 8 not in memory.memories and 8 not in memory.pointers and memory.restorable(10, BOUNDS)

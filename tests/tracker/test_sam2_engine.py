"""SAM2Engine against SAM2's own SAM2VideoPredictor, and its memory, correction and batching rules.

Every test uses one randomly initialised SAM2.1-tiny (``image_size`` 128, CPU, fixed seed) shared by
the reference predictor and the engines, and real frames of the bedroom video.

Tolerances: with ``max_batch=1`` the engine runs the very same operations in the same order as the
reference (same preprocessing, memory token order, tensor layouts, bf16 memories), so its results
are bit-identical. Batching objects changes the shapes of the matrix products, hence the order of
float sums inside the kernels: results then differ in the last bits (about 4e-7 on these logits,
which are of order 0.1) and the difference is carried on through the memory. We allow 1e-5, and
thresholded masks must agree wherever the reference logit is farther than that from 0.
"""
from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from sam2.sam2_video_predictor import SAM2VideoPredictor
from sam2.utils import misc as sam2_misc

from tests.tracker.sam2_reference import (  # noqa: F401  (fixtures: used by name)
    _encode_each_frame_once,
    _one_thread,
    _reference_fills_holes,
    bedroom_frames,
    connected_components,
    decode,
    feature_cache,
    reference_predictor,
)
from tracker.sam2_engine import CorrectionWindowError, ObjectOutput, SAM2Engine

PARITY_FRAMES = 10
LONG_FRAMES = 34  # more than 16 object pointers in play
BOXES = {1: (300.0, 100.0, 500.0, 400.0), 2: (600.0, 200.0, 800.0, 500.0), 3: (100.0, 100.0, 300.0, 300.0)}
BATCH_ATOL = 1e-5

Frame = dict[int, ObjectOutput]
Event = Callable[[SAM2Engine, Frame], None]


@pytest.fixture(scope="module")
def frame_files(shared_data: Path) -> list[Path]:
    return bedroom_frames(shared_data, LONG_FRAMES)


@pytest.fixture(scope="module")
def frames(frame_files: list[Path]) -> list[np.ndarray]:
    return decode(frame_files)


@pytest.fixture(scope="module")
def sam() -> SAM2VideoPredictor:
    return reference_predictor()


def _engine(sam: SAM2VideoPredictor, **options) -> SAM2Engine:
    return SAM2Engine(sam, "cpu", **options)


def _add(*obj_ids: int) -> Event:
    def event(engine: SAM2Engine, out: Frame) -> None:
        for obj_id in obj_ids:
            out[obj_id] = engine.add_object(obj_id, box=BOXES[obj_id])

    return event


def _run(engine: SAM2Engine, frames: list[np.ndarray], count: int, events: dict[int, Event]) -> list[Frame]:
    """Step through ``count`` frames, applying ``events[f]`` after frame f's outputs."""
    results = []
    for f in range(count):
        out = engine.step(f, frames[f])
        if f in events:
            events[f](engine, out)
        results.append(out)
    return results


def _same(a: ObjectOutput, b: ObjectOutput) -> bool:
    return np.array_equal(a.mask_logits, b.mask_logits) and a.object_score_logit == b.object_score_logit


# ---------------------------------------------------------------------------------------- parity


@pytest.fixture(scope="module")
def reference(
    sam: SAM2VideoPredictor, frame_files: list[Path], tmp_path_factory: pytest.TempPathFactory
) -> list[dict[int, tuple[np.ndarray, float]]]:
    """SAM2VideoPredictor driven like an online tracker: boxes 1, 2 at frame 0, frames 0-2, box 3 at
    frame 3, then on to the end. Per frame: object id → (video-res logits, object score logit)."""
    folder = tmp_path_factory.mktemp("jpg")
    for path in frame_files[:PARITY_FRAMES]:
        shutil.copy(path, folder / path.name)
    state = sam.init_state(str(folder))
    logits: dict[int, dict[int, np.ndarray]] = {}
    for obj_id in (1, 2):
        sam.add_new_points_or_box(state, 0, obj_id, box=BOXES[obj_id])
    for f, ids, masks in sam.propagate_in_video(state, start_frame_idx=0, max_frame_num_to_track=2):
        logits[f] = dict(zip(ids, masks[:, 0].numpy()))
    sam.add_new_points_or_box(state, 3, 3, box=BOXES[3])
    for f, ids, masks in sam.propagate_in_video(state, start_frame_idx=3):
        logits[f] = dict(zip(ids, masks[:, 0].numpy()))

    def score(obj_id: int, f: int) -> float:
        outputs = state["output_dict_per_obj"][state["obj_id_to_idx"][obj_id]]
        out = outputs["cond_frame_outputs"].get(f) or outputs["non_cond_frame_outputs"][f]
        return float(out["object_score_logits"])

    return [{i: (logits[f][i], score(i, f)) for i in logits[f]} for f in range(PARITY_FRAMES)]


def test_reference_applies_no_cross_object_postprocessing(sam: SAM2VideoPredictor) -> None:
    """What makes per-object (and batched) tracking comparable with the reference at all."""
    assert not sam.non_overlap_masks and not sam.non_overlap_masks_for_mem_enc
    assert not sam.clear_non_cond_mem_around_input and not sam.add_all_frames_to_correct_as_cond
    assert sam.binarize_mask_from_pts_for_mem_enc and sam.fill_hole_area == 8
    assert sam.max_cond_frames_in_attn == -1 and sam.memory_temporal_stride_for_eval == 1


@pytest.mark.parametrize("max_batch", [1, 16], ids=["unbatched", "batched"])
def test_parity_with_sam2_video_predictor(sam, frames, reference, max_batch: int) -> None:
    engine = _engine(sam, num_frames=PARITY_FRAMES, max_batch=max_batch)
    results = _run(engine, frames, PARITY_FRAMES, {0: _add(1, 2), 3: _add(3)})
    for f, (expected, got) in enumerate(zip(reference, results)):
        assert sorted(got) == sorted(expected), f"frame {f}"
        for obj_id, (logits, score) in expected.items():
            out = got[obj_id]
            assert out.mask_logits.shape == logits.shape and out.mask_logits.dtype == np.float32
            if max_batch == 1:
                np.testing.assert_array_equal(out.mask_logits, logits, err_msg=f"frame {f} object {obj_id}")
                assert out.object_score_logit == score
                np.testing.assert_array_equal(out.mask, logits > 0)
            else:
                np.testing.assert_allclose(out.mask_logits, logits, rtol=0, atol=BATCH_ATOL)
                assert out.object_score_logit == pytest.approx(score, abs=BATCH_ATOL)
                clear = np.abs(logits) > BATCH_ATOL
                np.testing.assert_array_equal(out.mask[clear], logits[clear] > 0)
            np.testing.assert_array_equal(out.mask, out.mask_logits > 0)


# ---------------------------------------------------------------------------------------- long parity runs

Reference = list[dict[int, tuple[np.ndarray, float]]]
REFRESH = (320.0, 120.0, 520.0, 380.0)


def _reference_score(state: dict, obj_id: int, frame: int) -> float:
    """The object score logit SAM2VideoPredictor holds for an object at a frame (pending prompts first)."""
    idx = state["obj_id_to_idx"][obj_id]
    for outputs in (state["temp_output_dict_per_obj"][idx], state["output_dict_per_obj"][idx]):
        for key in ("cond_frame_outputs", "non_cond_frame_outputs"):
            if frame in outputs[key]:
                return float(outputs[key][frame]["object_score_logits"])
    raise KeyError((obj_id, frame))


def _reference_online(
    sam: SAM2VideoPredictor, frame_files: list[Path], folder: Path, count: int, prompts: dict[int, dict[int, tuple]],
    after: Callable[[dict, int], None] | None = None,
) -> Reference:
    """SAM2VideoPredictor driven online, one frame at a time: propagate frame f, then apply the box prompts
    of ``prompts[f]`` (object id → box) and ``after(state, f)``. Per frame: id → (logits, score)."""
    for path in frame_files[:count]:
        shutil.copy(path, folder / path.name)
    state = sam.init_state(str(folder))
    results: Reference = []
    for f in range(count):
        out: dict[int, tuple[np.ndarray, float]] = {}
        if state["obj_ids"]:
            for _, ids, masks in sam.propagate_in_video(state, start_frame_idx=f, max_frame_num_to_track=0):
                out = {i: (m.numpy(), _reference_score(state, i, f)) for i, m in zip(ids, masks[:, 0])}
        for obj_id, box in prompts.get(f, {}).items():
            _, ids, masks = sam.add_new_points_or_box(state, f, obj_id, box=box)
            out[obj_id] = (masks[list(ids).index(obj_id), 0].numpy(), _reference_score(state, obj_id, f))
        if after is not None:
            after(state, f)
        results.append(out)
    return results


def _prompt_events(prompts: dict[int, dict[int, tuple]], correct: bool = True) -> dict[int, Event]:
    """The engine side of ``prompts``: new objects are added, known ones corrected (``correct``) or
    refreshed at the current frame."""

    def at(frame: int) -> Event:
        def event(engine: SAM2Engine, out: Frame) -> None:
            for obj_id, box in prompts[frame].items():
                if obj_id not in engine.object_ids:
                    out[obj_id] = engine.add_object(obj_id, box=box)
                elif correct:
                    out[obj_id] = engine.correct(obj_id, frame, box=box)
                else:
                    out[obj_id] = engine.refresh_keyframe(obj_id, box)

        return event

    return {frame: at(frame) for frame in prompts}


def _assert_parity(reference: Reference, results: list[Frame], batched: bool = False) -> None:
    for f, (expected, got) in enumerate(zip(reference, results)):
        assert sorted(got) == sorted(expected), f"frame {f}"
        for obj_id, (logits, score) in expected.items():
            out = got[obj_id]
            if batched:
                np.testing.assert_allclose(out.mask_logits, logits, rtol=0, atol=BATCH_ATOL, err_msg=f"frame {f}")
                assert out.object_score_logit == pytest.approx(score, abs=BATCH_ATOL)
            else:
                np.testing.assert_array_equal(out.mask_logits, logits, err_msg=f"frame {f} object {obj_id}")
                assert out.object_score_logit == score, f"frame {f} object {obj_id}"


LONG_PROMPTS = {0: {1: BOXES[1], 2: BOXES[2]}, 5: {3: BOXES[3]}}
KEYFRAME_PROMPTS = {0: {1: BOXES[1], 2: BOXES[2]}, **{f: {1: REFRESH if f % 8 else BOXES[1]} for f in range(4, 28, 4)}}


@pytest.fixture(scope="module")
def long_reference(sam, frame_files, tmp_path_factory) -> Reference:
    return _reference_online(sam, frame_files, tmp_path_factory.mktemp("long"), LONG_FRAMES, LONG_PROMPTS)


@pytest.mark.parametrize("max_batch", [1, 16], ids=["unbatched", "batched"])
def test_parity_long_run_with_more_than_16_pointers(sam, frames, long_reference, max_batch: int) -> None:
    engine = _engine(sam, num_frames=LONG_FRAMES, max_batch=max_batch)
    results = _run(engine, frames, LONG_FRAMES, _prompt_events(LONG_PROMPTS))
    assert len(engine._tracks[1].pointers) >= sam.max_obj_ptrs_in_encoder - 1
    _assert_parity(long_reference, results, batched=max_batch > 1)


@pytest.fixture
def correct_as_cond(sam, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference setting the engine mirrors: a prompt on a tracked frame makes a conditioning frame."""
    monkeypatch.setattr(sam, "add_all_frames_to_correct_as_cond", True)


def test_parity_prompts_at_tracked_frames_attend_every_key_frame(
    sam, frames, frame_files, tmp_path, correct_as_cond
) -> None:
    """Seven key frames of object 1 (0, 4, …, 24): SAM2 attends all of them (``max_cond_frames_in_attn``
    -1), in the order they were prompted."""
    count = 28
    expected = _reference_online(sam, frame_files, tmp_path, count, KEYFRAME_PROMPTS)
    engine = _engine(sam, num_frames=count, max_batch=1)
    results = _run(engine, frames, count, _prompt_events(KEYFRAME_PROMPTS))
    assert len(engine._tracks[1].keyframes) == 7
    _assert_parity(expected, results)


def test_parity_capped_key_frames_are_the_temporally_closest(
    sam, frames, frame_files, tmp_path, correct_as_cond, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = 28
    monkeypatch.setattr(sam, "max_cond_frames_in_attn", 3)
    expected = _reference_online(sam, frame_files, tmp_path, count, KEYFRAME_PROMPTS)
    engine = _engine(sam, num_frames=count, max_batch=1, max_conditioning_frames=3)
    _assert_parity(expected, _run(engine, frames, count, _prompt_events(KEYFRAME_PROMPTS)))


def test_parity_refresh_replaces_the_automatic_key_frames(sam, frames, frame_files, tmp_path, correct_as_cond) -> None:
    """``refresh_keyframe`` = SAM2 with the object's earlier automatic conditioning frames turned into
    ordinary (non-conditioning) memories once the new one is prompted."""
    count = 28

    def demote(state: dict, f: int) -> None:
        if f in KEYFRAME_PROMPTS and f > 0:
            sam.propagate_in_video_preflight(state)  # the prompt at f becomes a conditioning output
            outputs = state["output_dict_per_obj"][state["obj_id_to_idx"][1]]
            for t in [t for t in outputs["cond_frame_outputs"] if t < f]:
                outputs["non_cond_frame_outputs"][t] = outputs["cond_frame_outputs"].pop(t)

    expected = _reference_online(sam, frame_files, tmp_path, count, KEYFRAME_PROMPTS, after=demote)
    engine = _engine(sam, num_frames=count, max_batch=1)
    results = _run(engine, frames, count, _prompt_events(KEYFRAME_PROMPTS, correct=False))
    _assert_parity(expected, results)
    conditioning = [t for t, key in engine._tracks[1].keyframes.items() if key.conditions(count)]
    assert conditioning == [24]


def test_parity_skip_memory_equals_deleting_that_frame_from_the_reference(sam, frames, frame_files, tmp_path) -> None:
    count, skipped = 16, (4, 9, 10)

    def delete(state: dict, f: int) -> None:
        if f in skipped:
            del state["output_dict_per_obj"][state["obj_id_to_idx"][1]]["non_cond_frame_outputs"][f]

    prompts = {0: {1: BOXES[1], 2: BOXES[2]}}
    expected = _reference_online(sam, frame_files, tmp_path, count, prompts, after=delete)
    events = {0: _add(1, 2), **{f: (lambda engine, _: engine.skip_memory(1)) for f in skipped}}
    _assert_parity(expected, _run(_engine(sam, num_frames=count, max_batch=1), frames, count, events))


# ---------------------------------------------------------------------------------------- memory decisions


@pytest.fixture(scope="module")
def baseline(sam, frames) -> list[Frame]:
    """Objects 1 and 2 from frame 0, unbatched, 10 frames."""
    return _run(_engine(sam, max_batch=1), frames, 10, {0: _add(1, 2)})


def test_skip_memory_changes_only_later_frames_of_that_object(sam, frames, baseline) -> None:
    skipped = _run(
        _engine(sam, max_batch=1), frames, 10, {0: _add(1, 2), 4: lambda engine, _: engine.skip_memory(1)}
    )
    for f in range(10):
        assert _same(skipped[f][2], baseline[f][2]), f"object 2 changed at frame {f}"
        if f <= 4:
            assert _same(skipped[f][1], baseline[f][1]), f"object 1 changed at frame {f}"
    assert not _same(skipped[5][1], baseline[5][1])


def test_remove_object_leaves_the_others_unchanged(sam, frames, baseline) -> None:
    removed = _run(
        _engine(sam, max_batch=1),
        frames,
        10,
        {0: _add(1, 2, 3), 3: lambda engine, _: engine.remove_object(3)},
    )
    for f in range(10):
        assert (3 in removed[f]) == (f <= 3)
        assert _same(removed[f][1], baseline[f][1]) and _same(removed[f][2], baseline[f][2])


def test_batched_matches_unbatched(sam, frames) -> None:
    """Three objects, two memory layouts (object 2 skips a frame), chunks of two."""
    events = {0: _add(1, 2), 2: _add(3), 4: lambda engine, _: engine.skip_memory(2)}
    one = _run(_engine(sam, max_batch=1), frames, 9, events)
    batched = _run(_engine(sam, max_batch=2), frames, 9, events)
    for f in range(9):
        assert sorted(one[f]) == sorted(batched[f])
        for obj_id, out in one[f].items():
            np.testing.assert_allclose(batched[f][obj_id].mask_logits, out.mask_logits, rtol=0, atol=BATCH_ATOL)
            assert batched[f][obj_id].object_score_logit == pytest.approx(out.object_score_logit, abs=BATCH_ATOL)


def test_memory_stays_bounded(sam, frames) -> None:
    window, interval, cap = 4, 2, 3  # bounds are constants: memory does not grow with the video
    engine = _engine(sam, correction_window=window, snapshot_interval=interval, max_conditioning_frames=cap)
    num_maskmem, max_ptrs = sam.num_maskmem, sam.max_obj_ptrs_in_encoder
    spatial_bound = min(window + interval + num_maskmem - 1, (num_maskmem - 1) * (window // interval + 3))
    for f in range(20):
        engine.step(f, frames[f])
        if f == 0:
            _add(1, 2)(engine, {})
        elif f % 4 == 0:
            engine.refresh_keyframe(1, BOXES[1])
        elif f % 7 == 0:
            engine.skip_memory(2)
        for track in engine._tracks.values():
            assert len(track.memories) <= spatial_bound
            assert len(track.pointers) + len(track.skipped) <= window + max_ptrs
            assert len(track.keyframes) <= cap + window + max_ptrs
            oldest = min([*track.memories, *track.pointers, *track.skipped, *sorted(track.keyframes)[1:]], default=f)
            assert oldest >= f - window - interval - max_ptrs
    with pytest.raises(CorrectionWindowError, match="frame 5"):
        engine.correct(1, 5, box=BOXES[1], frames=frames.__getitem__)


# ---------------------------------------------------------------------------------------- corrections


def test_correct_past_frame_then_repropagate_equals_online_correction(sam, frames) -> None:
    click = {"points": np.array([[400.0, 250.0], [350.0, 150.0]]), "labels": np.array([1, 0])}
    options = {"max_batch": 1, "snapshot_interval": 8}
    online = _engine(sam, **options)
    at_five: Event = lambda engine, out: out.update({1: engine.correct(1, 5, **click)})  # noqa: E731
    expected = _run(online, frames, 11, {0: _add(1, 2), 5: at_five})

    engine = _engine(sam, **options)
    before = _run(engine, frames, 10, {0: _add(1, 2)})
    assert 1 not in engine._tracks[1].memories  # frame 5 needs a replay from frame 1
    corrected = engine.correct(1, 5, frames=frames.__getitem__, **click)
    assert _same(corrected, expected[5][1]) and not _same(corrected, before[5][1])
    with pytest.raises(ValueError, match="repropagate"):
        engine.step(10, frames[10])

    redone = dict(engine.repropagate_from(5, frames.__getitem__, 9))
    assert sorted(redone) == [6, 7, 8, 9]
    for f, outputs in redone.items():
        assert list(outputs) == [1], "only the corrected object is recomputed"
        assert _same(outputs[1], expected[f][1])
    assert any(not _same(redone[f][1], before[f][1]) for f in redone)
    for f in range(5):
        assert _same(before[f][1], expected[f][1])
    assert engine.current_frame == 9
    out = engine.step(10, frames[10])
    assert _same(out[1], expected[10][1]) and _same(out[2], expected[10][2])


def test_repropagate_to_an_earlier_end_rewinds_the_other_objects(sam, frames, baseline) -> None:
    engine = _engine(sam, max_batch=1, snapshot_interval=4)
    _run(engine, frames, 10, {0: _add(1, 2)})
    engine.correct(1, 3, box=(320.0, 120.0, 520.0, 380.0), frames=frames.__getitem__)
    list(engine.repropagate_from(3, frames.__getitem__, 6))
    assert engine.current_frame == 6
    assert _same(engine.step(7, frames[7])[2], baseline[7][2])


def test_prompt_validation(sam, frames) -> None:
    engine = _engine(sam)
    with pytest.raises(ValueError, match="step"):
        engine.add_object(1, box=BOXES[1])
    engine.step(0, frames[0])
    with pytest.raises(ValueError, match="together"):
        engine.add_object(1, points=np.array([[10.0, 10.0]]))
    mask = np.zeros(frames[0].shape[:2], bool)
    mask[100:300, 200:400] = True
    out = engine.add_object(1, mask=mask)
    assert (out.mask & mask).sum() / (out.mask | mask).sum() > 0.9  # a mask prompt is its own output
    with pytest.raises(ValueError, match="already exists"):
        engine.add_object(1, box=BOXES[1])
    with pytest.raises(ValueError, match="follow"):
        engine.step(2, frames[2])
    with pytest.raises(KeyError):
        engine.skip_memory(7)


# ---------------------------------------------------------------------------------------- hole filling, precision


def test_hole_filling_matches_sam2s_own_function() -> None:
    """``fill_holes`` equals SAM2's ``fill_holes_in_mask_scores`` (its connected components from the CUDA
    extension when built, else the SciPy stand-in above) on random masks with holes of every size."""
    from tracker.sam2_model import fill_holes

    rng = np.random.default_rng(0)
    logits = torch.from_numpy(rng.normal(1.0, 1.0, (6, 1, 64, 64)).astype(np.float32))
    logits[logits < 0.2] = -1.0  # many small background specks, some merged diagonally
    try:
        from sam2 import _C  # noqa: F401
    except ImportError:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sam2_misc, "get_connected_components", connected_components)
            expected = sam2_misc.fill_holes_in_mask_scores(logits, 8)
    else:
        expected = sam2_misc.fill_holes_in_mask_scores(logits.cuda(), 8).cpu()
    filled = fill_holes(logits, 8)
    assert not torch.equal(filled, logits)
    assert torch.equal(filled, expected)


def test_autocast_follows_the_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from tracker import sam2_model

    assert sam2_model._autocast_dtype(torch.device("cpu")) is None
    flags = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    try:
        for major, bf16, dtype in ((7, False, None), (8, True, torch.bfloat16), (9, True, torch.bfloat16)):
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
            monkeypatch.setattr(torch.cuda, "get_device_properties", lambda _, m=major: SimpleNamespace(major=m))
            monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation, b=bf16: b)
            monkeypatch.setattr(torch.cuda, "get_device_name", lambda _: "GPU")
            assert sam2_model._autocast_dtype(torch.device("cuda")) == dtype
            assert torch.backends.cuda.matmul.allow_tf32 == torch.backends.cudnn.allow_tf32 == (major >= 8)
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = flags

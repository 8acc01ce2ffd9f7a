"""The per-process model cache of batch workers: off by default; once on, engines share their models."""
from __future__ import annotations

import pytest
import torch

from tracker import model_cache
from tracker.sam2_engine import SAM2Engine


def test_models_are_kept_only_once_asked_and_equal_fresh_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_cache, "_models", None)  # this test's own cache; the process's stays as it was
    monkeypatch.setattr(model_cache, "loads", 0)
    fresh = SAM2Engine("tiny", "cpu", image_size=128, random_init=True).sam
    model_cache.keep_loaded()
    kept = SAM2Engine("tiny", "cpu", image_size=128, random_init=True).sam
    assert kept is not fresh  # loaded before keeping: not kept
    assert SAM2Engine("tiny", "cpu", image_size=128, random_init=True).sam is kept
    assert model_cache.loads == 2
    for (name, a), (_, b) in zip(fresh.state_dict().items(), kept.state_dict().items()):
        assert torch.equal(a, b), name

"""Models kept loaded for the life of a process that tracks many videos one after another (a ``masklet batch``
worker). Off unless ``keep_loaded()`` was called: elsewhere every engine loads its own models.

Only immutable models are shared (detector weights, the SAM2 network); each engine keeps its tracking state
to itself, so engines built one after another over a shared model give the results of freshly loaded ones.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

_T = TypeVar("_T")
_models: dict[Hashable, Any] | None = None
loads = 0
"""How many models this process has loaded through ``load`` (cached or not)."""


def keep_loaded() -> None:
    """From now on, keep every model ``load`` loads for later engines of this process."""
    global _models
    if _models is None:
        _models = {}


def load(key: Hashable, loader: Callable[[], _T]) -> _T:
    """The model ``key`` names: the kept one, else ``loader()`` (kept when ``keep_loaded`` was called)."""
    global loads
    if _models is not None and key in _models:
        return _models[key]
    model = loader()
    loads += 1
    if _models is not None:
        _models[key] = model
    return model

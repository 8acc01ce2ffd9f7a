"""The common interface of every tracking engine, and the factory that builds one by name.

An engine turns frames into :class:`~tracker.results.FrameResult` one frame at a time. To add an
engine, write a module with a ``build(options: EngineOptions, config=None) -> Engine`` function, list it in
:data:`ENGINES` and its options in :class:`tracker.engine_options.EngineOptions`.
"""
from __future__ import annotations

import importlib
import time
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from tracker.errors import MaskletError
from tracker.results import FrameResult, TrackedObject

if TYPE_CHECKING:
    from tracker.engine_options import EngineOptions

# Engine name → "module:function" building it from its ``EngineOptions`` (imported on first use).
ENGINES: dict[str, str] = {
    "sam2mot": "tracker.sam2mot:build",
    "smotracker": "tracker.smotracker:build",
    "bytetrack": "tracker.baselines:build",
    "botsort": "tracker.baselines:build",
    "smot": "tracker.smot:build",
}
LINKED_BY_DEFAULT = frozenset({"smot"})
"""Engines whose tracklets the linker (``tracker.linking``) joins unless ``link=False``; the others only with
``link=True`` (it changes their published behaviour)."""


class FrameSource(Protocol):
    """What :meth:`Engine.run` reads (``tracker.video.VideoSource`` is one)."""

    def __len__(self) -> int: ...

    def frames(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, np.ndarray]]: ...


class Engine(ABC):
    """A tracker fed one RGB frame at a time, in increasing frame order.

    ``timings`` accumulates seconds per stage (``time_stage``) for benchmarks. ``next_id`` is the id
    the next new track gets: set it above the tracks a project already has before the first frame.
    """

    def __init__(self) -> None:
        self.timings: defaultdict[str, float] = defaultdict(float)
        self.next_id = 1

    @abstractmethod
    def process(self, frame_index: int, rgb: np.ndarray) -> FrameResult:
        """Track one frame (0-based index) and report every object visible in it."""

    @abstractmethod
    def restore(self, frame_index: int, rgb: np.ndarray, objects: Sequence[TrackedObject], next_id: int) -> None:
        """Continue a stopped run: take ``objects`` (stored results at ``frame_index``) as the live
        tracks; new tracks get ids from ``next_id`` on. The next call is ``process(frame_index + 1)``."""

    def save_state(self) -> bytes | None:
        """Everything the engine holds after the last processed frame, for an exact resume (``load_state``);
        None when it cannot (it then resumes from stored results with ``restore``, not exactly)."""
        return None

    def load_state(self, state: bytes) -> None:
        """Continue exactly where ``save_state`` left off: the next call is ``process`` of the following frame.
        ``ValueError`` when ``state`` cannot be loaded (then use ``restore``)."""
        raise ValueError(f"{type(self).__name__} does not load saved states")

    def set_video_length(self, num_frames: int) -> None:
        """Tell the engine how long the video is (``run`` does, before the first frame). Only SAM2's
        results depend on it (pointer positions are normalised by it); the others ignore it."""

    def run(self, source: FrameSource, start: int = 0, end: int | None = None) -> Iterator[FrameResult]:
        """Process frames ``start`` .. ``end - 1`` (``end=None``: to the last frame)."""
        self.set_video_length(len(source))
        for frame_index, rgb in source.frames(start, end):
            yield self.process(frame_index, rgb)

    @contextmanager
    def time_stage(self, stage: str) -> Iterator[None]:
        """Add the wall time of the ``with`` block to ``timings[stage]``."""
        begin = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] += time.perf_counter() - begin


def engine_builder(name: str) -> Callable[..., Engine]:
    """The function that builds the engine registered as ``name``."""
    if name not in ENGINES:
        raise MaskletError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
    module_name, function = ENGINES[name].split(":")
    return getattr(importlib.import_module(module_name), function)


def build_engine(options: EngineOptions, *, config: Any = None) -> Engine:
    """The engine ``options`` name, built with them (``config``: the engine's own config dataclass, for benchmarks
    and tests; None: its defaults); its tracklets joined by the online linker when ``options.link`` says so (None:
    the engine's default, :data:`LINKED_BY_DEFAULT`)."""
    builder = engine_builder(options.engine)
    engine = builder(options) if config is None else builder(options, config)
    if options.link if options.link is not None else options.engine in LINKED_BY_DEFAULT:
        from tracker.linking import LinkedEngine

        engine = LinkedEngine(engine)
    return engine

"""An engine's saved state (``Engine.save_state`` / ``load_state``) as bytes: pickled, compressed, and read back by
an unpickler that builds only the classes a tracker state consists of (never arbitrary ones), so a damaged or
hostile project cannot run code.

The detector engines' states: ByteTrack and BoT-SORT pickle Ultralytics' tracker (``tracker.baselines``), SMOT
and the linker (``tracker.smot``, ``tracker.linking``) plain values (numbers, strings, lists, dicts, tuples and
NumPy arrays).
"""
from __future__ import annotations

import io
import operator
import pickle
import sys
import zlib
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

STATE_CLASSES = frozenset({
    ("ultralytics.trackers.byte_tracker", "BYTETracker"), ("ultralytics.trackers.byte_tracker", "STrack"),
    ("ultralytics.trackers.bot_sort", "BOTSORT"), ("ultralytics.trackers.bot_sort", "BOTrack"),
    ("ultralytics.trackers.utils.gmc", "GMC"), ("ultralytics.trackers.utils.kalman_filter", "KalmanFilterXYAH"),
    ("ultralytics.trackers.utils.kalman_filter", "KalmanFilterXYWH"), ("ultralytics.utils", "IterableSimpleNamespace"),
    ("collections", "deque"), ("numpy", "dtype"), ("numpy", "ndarray"),
    *((module, name) for module in ("numpy._core.multiarray", "numpy.core.multiarray") for name in ("scalar", "_reconstruct")),
    *((module, "_frombuffer") for module in ("numpy._core.numeric", "numpy.core.numeric")),
})
"""What a tracker state may consist of: the unpickler builds nothing else."""


def pack_state(value: object, counter: object = None) -> bytes:
    """``value`` pickled and compressed; ``counter``: an id counter (an iterator) it refers to, written as its
    position (Ultralytics' trackers keep one)."""
    buffer = io.BytesIO()
    _StatePickler(buffer, counter).dump(value)
    return zlib.compress(buffer.getvalue(), 1)


def unpack_state(state: bytes, read: Callable[[Any], T]) -> T:
    """``read`` (an engine's values from what ``pack_state`` packed) applied to ``state`` unpacked; ``ValueError``
    when ``state`` is damaged, holds anything but a tracker state or one ``read`` cannot read."""
    try:
        return read(_StateUnpickler(io.BytesIO(zlib.decompress(state))).load())
    except Exception as exc:  # anything a damaged or foreign state raises
        raise ValueError(f"not a tracker state ({type(exc).__name__}: {exc})") from None


class _StatePickler(pickle.Pickler):
    """Pickles a tracker state; the tracker's id counter (an iterator, and the ``__next__`` its tracks keep) is
    written as its position."""

    def __init__(self, file: io.BytesIO, counter: object) -> None:
        super().__init__(file, protocol=5)
        self._counter = counter
        self._position = None if counter is None else sys.maxsize - operator.length_hint(counter)

    def persistent_id(self, obj: object) -> tuple[str, int] | None:
        if self._counter is None:
            return None
        if obj is self._counter:
            return ("ids", self._position)  # type: ignore[return-value]
        if getattr(obj, "__self__", None) is self._counter:
            return ("next_id", self._position)  # type: ignore[return-value]
        return None


class _StateUnpickler(pickle.Unpickler):
    """Reads what ``_StatePickler`` wrote, building only the classes of ``STATE_CLASSES``."""

    counter: object = None

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in STATE_CLASSES:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a tracker state")
        return super().find_class(module, name)

    def persistent_load(self, pid: Any) -> Any:
        kind, position = pid
        if kind not in ("ids", "next_id") or not isinstance(position, int):
            raise pickle.UnpicklingError(f"unknown reference {pid!r}")
        if self.counter is None:
            self.counter = iter(range(position, sys.maxsize))
        return self.counter if kind == "ids" else self.counter.__next__  # type: ignore[attr-defined]

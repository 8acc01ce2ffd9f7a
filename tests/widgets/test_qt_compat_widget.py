"""The guard against PySide6 6.12's lost references to None/True/False keeps long sessions alive."""
from __future__ import annotations

import sys

from PySide6.QtCore import QObject

import widgets  # noqa: F401  (applies the guard)


def test_many_void_calls_and_signal_emissions_do_not_exhaust_singletons() -> None:
    probe = QObject()
    for _ in range(50_000):  # far more than None's or True's natural reference count
        probe.setObjectName("x")
        probe.objectNameChanged.emit("x")
    assert sys.getrefcount(None) > 0 and sys.getrefcount(True) > 0


"""The label formats: name → module, each a ``LabelFormat``: ``NAME``, ``DESCRIPTION``, ``OUTPUT_SUFFIX`` (of the
file it writes, ``""`` for a folder), ``write`` (an ``exporters.writing.Writer``), ``read`` (an
``exporters.base.Reader``) and ``detect(path) -> bool`` (used by ``guess_format``)."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, cast, runtime_checkable

from exporters.base import Reader
from exporters.writing import Writer
from tracker.errors import MaskletError

FORMATS = {
    "mot": "exporters.mot",
    "mot-results": "exporters.mot_results",
    "mots": "exporters.mots",
    "cocovid": "exporters.cocovid",
    "yolo": "exporters.yolo",
    "cvat": "exporters.cvat",
}
_GUESS_ORDER = ("mot-results", "mot", "mots", "cocovid", "yolo", "cvat")
"""Most specific first: a results txt is also a MOT txt."""


@runtime_checkable
class LabelFormat(Protocol):
    """What the registry hands out: a format module."""

    NAME: str
    DESCRIPTION: str
    OUTPUT_SUFFIX: str
    write: Writer
    read: Reader
    detect: Callable[[Path], bool]


class UnknownFormatError(MaskletError):
    """A format name that does not exist, or a path whose format cannot be guessed."""


def names() -> list[str]:
    """Every format name."""
    return list(FORMATS)


def get(name: str) -> LabelFormat:
    """The module of a format."""
    if name not in FORMATS:
        raise UnknownFormatError(f"unknown format {name!r} (formats: {', '.join(FORMATS)})")
    return cast(LabelFormat, importlib.import_module(FORMATS[name]))


def guess_format(path: str | Path) -> str:
    """The format of an existing label file or folder, from its name and first line."""
    path = Path(path)
    if not path.exists():
        raise UnknownFormatError(f"{path}: no such file or folder")
    for name in _GUESS_ORDER:
        if get(name).detect(path):
            return name
    raise UnknownFormatError(f"{path}: cannot tell the label format; give it with --format ({', '.join(FORMATS)})")

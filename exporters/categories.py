"""How each label format names classes, in one place, and how project category names map onto them.

Each format holds classes one way:

- ``mot``: MOTChallenge's MOT16/17/20 class ids (``MOT17_CLASSES``) when every name is one of them, otherwise
  the CVAT "MOT 1.1" numbering: class ``k`` is line ``k`` of ``gt/labels.txt``. Both write ``gt/labels.txt``, so
  the folder names its classes. X-AnyLabeling's MOT export numbers from 0 into a ``classes.txt``. MOT15 files
  (10 columns) have no class column.
- ``mots``: ``MOTS_CLASSES`` only (1 car, 2 pedestrian, 10 ignore region).
- ``mot-results``: no classes.
- ``cocovid``, ``yolo``, ``cvat``: any name (COCO ids with names, YOLO index into ``names``, CVAT labels).

Export maps each project category *name* through the user's class map (``--class-map``: ``a=b`` pairs or a file
of such lines; ``*=b`` maps every name the format cannot hold, and tracks without a category) and then to the
format's ids; a name still not expressible is an ``ExportError`` naming it. Import takes names from the
user's numbering (``--classes mot17|mot15|FILE``), else a names file beside the labels, else the format's own
names; where none says, a class ``N`` becomes the category ``class N`` (never a guessed name), and writing
``class N`` back gives ``N`` again.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tracker.errors import MaskletError

MOT17_CLASSES = {
    1: "pedestrian", 2: "person_on_vehicle", 3: "car", 4: "bicycle", 5: "motorbike", 6: "non_mot_vehicle",
    7: "static_person", 8: "distractor", 9: "occluder", 10: "occluder_on_ground", 11: "occluder_full",
    12: "reflection", 13: "crowd",
}
"""MOTChallenge MOT16/MOT17/MOT20 ground-truth classes."""
MOTS_IGNORE = 10
MOTS_CLASSES = {1: "car", 2: "pedestrian", MOTS_IGNORE: "ignore"}
"""MOTS (KITTI MOTS, MOTSChallenge) classes; 10 marks ignore regions."""
CVAT_LABELS_FILE = "labels.txt"
"""CVAT MOT 1.1 names file: class ``k`` (1-based) is line ``k``."""
XANYLABELING_CLASSES_FILE = "classes.txt"
"""X-AnyLabeling names file: class ``k`` (0-based) is line ``k + 1``."""
NUMBERINGS = ("mot17", "mot15")
"""Named numberings for ``--classes`` (besides a names file)."""
FALLBACK = "*"
"""Class-map key for every name a format cannot hold (and tracks without a category)."""

_PLACEHOLDER = re.compile(r"class (-?\d+)$")


class ClassMapError(MaskletError):
    """A class map or names file that cannot be used."""


def placeholder(class_id: int) -> str:
    """The category name of a class id whose name no file or option gives."""
    return f"class {class_id}"


def placeholder_id(name: str) -> int | None:
    """``N`` for a placeholder name ``class N``, else None."""
    match = _PLACEHOLDER.match(name)
    return None if match is None else int(match.group(1))


def read_names(path: Path) -> list[str]:
    """The class names of a names file, one per line (``labels.txt``, ``classes.txt``, ``names.txt``)."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ClassMapError(f"{path}: cannot read the names file ({exc})") from None
    while lines and not lines[-1].strip():
        lines.pop()
    names = [line.strip() for line in lines]
    for number, name in enumerate(names, 1):
        if not name:
            raise ClassMapError(f"{path}:{number}: empty class name")
        if names.index(name) != number - 1:
            raise ClassMapError(f"{path}:{number}: class {name!r} repeats line {names.index(name) + 1}")
    return names


def parse_class_map(text: str) -> dict[str, str]:
    """``--class-map``: ``a=b,c=d`` or a file of ``a=b`` lines (``#`` comments) → {project name: format name}."""
    path = Path(text)
    if path.is_file():
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ClassMapError(f"{path}: cannot read the class map ({exc})") from None
        pairs = [(number, line.split("#", 1)[0]) for number, line in enumerate(lines, 1)]
        where = str(path)
    else:
        pairs = [(None, part) for part in text.split(",")]
        where = "--class-map"
    result: dict[str, str] = {}
    for number, item in pairs:
        if not item.strip():
            continue
        source, sep, target = (part.strip() for part in item.partition("="))
        if not sep or not source or not target:
            line = "" if number is None else f":{number}"
            raise ClassMapError(f"{where}{line}: expected NAME=NAME, not {item.strip()!r}")
        result[source] = target
    return result


@dataclass(frozen=True)
class ClassNames:
    """Where an import takes its class names from: ``names`` by file class id, or none (placeholders)."""

    names: dict[int, str] | None  # None: class ids unnamed (``class N``)
    source: str  # what said so, for the read report
    ignore_column: bool = False  # MOT15: the class column is not a class

    def name(self, class_id: int) -> str:
        return placeholder(class_id) if self.names is None else self.names.get(class_id, placeholder(class_id))


def names_from_file(path: Path, first_id: int) -> ClassNames:
    """A names file as ``ClassNames`` whose line 1 is class ``first_id``."""
    return ClassNames(dict(enumerate(read_names(path), first_id)), str(path))


def read_numbering(
    option: str | None, sidecars: Iterable[tuple[Path, int]], default: ClassNames, first_id: int = 1,
) -> ClassNames:
    """The import's class names: the ``--classes`` option (``mot17``, ``mot15`` or a names file whose first line
    is class ``first_id``), else the first existing sidecar (path, id of its first line), else ``default``."""
    if option is not None:
        if option == "mot17":
            return ClassNames(dict(MOT17_CLASSES), "--classes mot17")
        if option == "mot15":
            return ClassNames({}, "--classes mot15", ignore_column=True)
        path = Path(option)
        if not path.is_file():
            raise ClassMapError(f"--classes {option}: expected {', '.join(NUMBERINGS)} or a names file")
        return names_from_file(path, first_id)
    for path, first_id in sidecars:
        if path.is_file():
            return names_from_file(path, first_id)
    return default


def map_names(names: Mapping[int, str], class_map: Mapping[str, str] | None) -> dict[int, str]:
    """Project category id → the name to write, after the class map (unmapped names stay)."""
    class_map = class_map or {}
    return {cid: class_map.get(name, name) for cid, name in names.items()}


def fixed_ids(
    names: Mapping[int, str | None], numbering: Mapping[int, str], fallback: str | None, fmt: str,
) -> dict[int, int]:
    """Category id (-1: none) → the format's class id, for formats with fixed classes.

    ``names`` are the names to write (class map applied); placeholders ``class N`` keep ``N``; names the
    numbering lacks, and no category, take ``fallback`` (the map's ``*``); any left over is an ``ExportError``."""
    from exporters.base import ExportError

    by_name = {name: cid for cid, name in numbering.items()}

    def target(name: str | None) -> int | None:
        if name is None:
            return None
        number = placeholder_id(name)
        return by_name.get(name, number if number in numbering else None)

    result: dict[int, int] = {}
    missing: list[str] = []
    for cid, name in names.items():
        found = target(name)
        found = target(fallback) if found is None else found
        if found is None:
            missing.append("(no category)" if name is None else repr(name))
        else:
            result[cid] = found
    if missing:
        known = ", ".join(f"{cid} {name}" for cid, name in numbering.items())
        raise ExportError(f"{fmt} classes are {known}: cannot write {', '.join(missing)}; map them with "
                          f"--class-map NAME={next(iter(numbering.values()))} (or *=NAME for all)")
    return result

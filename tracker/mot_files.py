"""MOTChallenge text files, read one way for the detectors (``det.txt``), the video sources (``seqinfo.ini``)
and the label formats: numeric tables with the bad line named, one frame-numbering rule, one ``seqinfo.ini``
parser. Errors are ``FormatError`` naming the file and line; callers with their own error kind wrap it."""
from __future__ import annotations

import configparser
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracker.errors import FormatError, os_reason


# --------------------------------------------------------------------------- numeric text tables
def data_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text before any ``#``) of the lines with data, as ``read_table`` counts rows."""
    with open(path, encoding="utf-8", errors="replace") as file:
        for number, line in enumerate(file, 1):
            data = line.split("#", 1)[0]
            if data.strip():
                yield number, data


def first_line(path: Path) -> str:
    """The first line with data of a text file (not blank, not a ``#`` comment), stripped (``""`` if none)."""
    return next((line.strip() for _, line in data_lines(path)), "")


def sniff_delimiter(path: Path) -> str | None:
    """``","`` if the first data line has a comma, else ``None`` (whitespace)."""
    return "," if "," in first_line(path) else None


def line_of_row(path: Path, row: int) -> int:
    """The line number of data row ``row`` (0-based) of a table file."""
    for index, (number, _) in enumerate(data_lines(path)):
        if index == row:
            return number
    raise IndexError(row)


def read_table(path: Path, *, min_columns: int, delimiter: str | None = None) -> np.ndarray:
    """A numeric text table as an N×C float array (``#`` starts a comment); ``FormatError`` naming the first bad
    line otherwise."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
            table = np.loadtxt(path, delimiter=delimiter, ndmin=2, dtype=np.float64, comments="#", encoding="utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        raise _table_error(path, delimiter, exc) from None
    except OSError as exc:
        raise FormatError(path, f"cannot read ({os_reason(exc)})") from None
    if table.size == 0:
        return np.empty((0, min_columns))
    if table.shape[1] < min_columns:
        raise FormatError(path, f"expected at least {min_columns} fields, found {table.shape[1]}", line_of_row(path, 0))
    bad = np.argwhere(~np.isfinite(table))
    if bad.size:
        row, column = bad[0].tolist()
        raise FormatError(path, f"field {column + 1} is not a finite number: {table[row, column]}", line_of_row(path, row))
    return table


def _table_error(path: Path, delimiter: str | None, exc: Exception) -> FormatError:
    """Find the line that ``np.loadtxt`` refused and say what is wrong with it."""
    columns, first = None, None
    for number, line in data_lines(path):
        fields = line.strip().split(delimiter)
        if columns is None:
            columns, first = len(fields), number
        elif len(fields) != columns:
            return FormatError(path, f"expected {columns} fields like line {first}, found {len(fields)}", number)
        for position, value in enumerate(fields, 1):
            try:
                float(value)
            except ValueError:
                return FormatError(path, f"field {position} is not a number: {value.strip()!r}", number)
    return FormatError(path, f"unreadable table ({exc})")


def detected_frame_base(frames: np.ndarray) -> int:
    """The frame numbering of a MOT file: MOTChallenge numbers frames from 1, so 1 unless a frame 0 is present."""
    return 0 if (np.asarray(frames) == 0).any() else 1


# --------------------------------------------------------------------------- seqinfo.ini
@dataclass(frozen=True)
class SeqInfo:
    """What a ``seqinfo.ini`` says (None: not given); its ``[Sequence]`` section, else its first section."""

    path: Path
    has_section: bool
    name: str | None = None
    image_dir: str = "img1"
    image_ext: str = ".jpg"
    frame_rate: float | None = None
    length: int | None = None
    width: int | None = None
    height: int | None = None


def read_seqinfo(path: Path) -> SeqInfo:
    """Parse a ``seqinfo.ini`` (keys case-insensitive); ``FormatError`` for a file that is not an ini file or a
    number that is not one."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(path, f"not a text file (byte {exc.start} is not UTF-8)") from None
    except OSError as exc:
        raise FormatError(path, f"cannot read ({os_reason(exc)})") from None
    try:
        parser.read_string(text, source=str(path))
    except configparser.MissingSectionHeaderError as exc:
        raise FormatError(path, "missing a [section] header", exc.lineno) from None
    except configparser.ParsingError as exc:
        raise FormatError(path, "expected a [section] or a key=value line", exc.errors[0][0]) from None
    except configparser.Error as exc:
        raise FormatError(path, exc.message.splitlines()[0]) from None
    sections = parser.sections()
    if not sections:
        return SeqInfo(path, has_section=False)
    section = parser[next((s for s in sections if s.casefold() == "sequence"), sections[0])]

    def number(key: str, kind: type[int] | type[float]) -> int | float | None:
        value = section.get(key)
        if value is None or not value.strip():
            return None
        try:
            return kind(value)
        except ValueError:
            raise FormatError(path, f"{key}={value!r} is not a number") from None

    extension = section.get("imExt", ".jpg").strip().lower()
    return SeqInfo(
        path, has_section=True, name=section.get("name", "").strip() or None,
        image_dir=section.get("imDir", "img1").strip(),
        image_ext=extension if extension.startswith(".") else f".{extension}",
        frame_rate=number("frameRate", float), length=number("seqLength", int),  # type: ignore[arg-type]
        width=number("imWidth", int), height=number("imHeight", int),  # type: ignore[arg-type]
    )

"""Temporary files and folders with recognisable names, and removing those that killed runs left behind.

A temporary path for ``out/labels`` is ``out/.labels.<host>-<pid>-<random>.masklet-tmp``: hidden, unique per
writer, and saying which process made it. ``remove_leftovers`` deletes the ones of a destination whose
process is gone (on this host), together with SQLite's ``-journal``/``-wal``/``-shm`` beside them, so a new
run never finds a previous run's debris and nothing mistakes it for output.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
from pathlib import Path

TEMP_SUFFIX = ".masklet-tmp"
_NAME_MAX = 255
"""Bytes a file name may have on common file systems."""
_PID_DIGITS = 7
"""Digits of the largest process id (Linux: 4194304)."""
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<host>[A-Za-z0-9_-]+)-(?P<pid>\d+)-[0-9a-f]+"
                        + re.escape(TEMP_SUFFIX) + r"(?:-journal|-wal|-shm)?$")


def host_name() -> str:
    """This machine's name, reduced to the characters a temporary name may hold."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname().split(".")[0]) or "host"


def process_alive(host: str, pid: int) -> bool:
    """Whether process ``pid`` of ``host`` may still run (always true for another host: it cannot be asked)."""
    if host != host_name():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def temp_path(path: Path) -> Path:
    """A new, unique temporary path beside ``path`` (hidden, naming this host and process)."""
    return path.with_name(f".{_stem(path.name)}.{host_name()}-{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}")


def _stem(name: str) -> str:
    """``name``, shortened (by whole characters) where its temporary names would exceed a file name's length."""
    room = _NAME_MAX - len(f"..{host_name()}-{'0' * _PID_DIGITS}-{'0' * 8}{TEMP_SUFFIX}-journal")
    encoded = name.encode("utf-8", "surrogateescape")
    return name if len(encoded) <= room else encoded[:room].decode("utf-8", "ignore")


def is_temp_name(name: str) -> bool:
    """Whether a file or folder name is one of ``temp_path``'s (or SQLite's files beside one)."""
    return _TEMP_NAME.match(name) is not None


def remove_leftovers(path: Path) -> int:
    """Delete the temporary files and folders of ``path`` whose process is gone; how many were removed."""
    removed = 0
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return 0
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if match is None or match["name"] != _stem(path.name) or process_alive(match["host"], int(match["pid"])):
            continue
        remove(entry)
        removed += not os.path.lexists(entry)
    return removed


def remove(path: Path) -> None:
    """Delete a file or a folder with its content, as far as possible (nothing if it does not exist)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass

"""Errors the user can act on. The CLI prints them as one line; the GUI shows them in a dialog."""
from __future__ import annotations

import errno
from pathlib import Path


class MaskletError(Exception):
    """Base class of every error caused by the user's input or environment (not a bug)."""


class VideoError(MaskletError):
    """A video file or image folder is missing, unreadable or inconsistent."""


class CheckpointError(MaskletError):
    """A model checkpoint is missing, corrupt, or of the wrong kind."""


class DetectorError(MaskletError):
    """A detector's weights are missing or cannot be loaded."""


class FormatError(MaskletError):
    """A label, detections or sequence file is malformed. The message names the file, the line when there is
    one, and the problem (``problem``)."""

    def __init__(self, path: str | Path, problem: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.problem = problem
        super().__init__(f"{path}{'' if line is None else f':{line}'}: {problem}")


class DiskFullError(MaskletError):
    """A write failed for lack of space on the disk (or a file size limit)."""


_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_REASONS = {
    errno.ENOSPC: "disk full", errno.EDQUOT: "disk quota exceeded", errno.EFBIG: "file too large for the disk or limit",
    errno.EROFS: "read-only file system", errno.EACCES: "permission denied", errno.EPERM: "permission denied",
    errno.ENAMETOOLONG: "name too long", errno.ENOENT: "no such file or folder", errno.EISDIR: "is a folder",
    errno.ENOTDIR: "not a folder", errno.EIO: "input/output error",
}


def os_reason(exc: OSError) -> str:
    """Why an operating-system call failed, in words ("disk full", "permission denied"…)."""
    return _REASONS.get(exc.errno, exc.strerror or str(exc))  # type: ignore[arg-type]


def os_error(exc: OSError, path: object = None, action: str = "cannot write") -> MaskletError:
    """One line for an ``OSError``: the file (``path``, else the error's), what failed and why, in words;
    a ``DiskFullError`` when the disk is full."""
    where = path if path is not None else exc.filename
    message = f"{action} ({os_reason(exc)})"
    if exc.errno in _DISK_FULL:
        return DiskFullError(f"{where}: {message}; free space and try again" if where else message)
    return MaskletError(f"{where}: {message}" if where else message)

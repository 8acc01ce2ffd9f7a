"""One writer per project: an OS lock on a sidecar file (``p.masklet.lock``) that says who holds it.

The lock is ``flock`` on the sidecar, so the operating system releases it when its process ends, however
it ends: a lock whose holder died is simply free and the next writer takes it over. The sidecar holds the
holder's process id, host and start time (JSON) so that a refused writer can say who is writing. Readers
never lock. The holder deletes the sidecar when it is done; a writer that locked a sidecar that was
deleted meanwhile starts over, so two writers never hold locks on two different sidecars.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from pathlib import Path

from tracker.errors import MaskletError, os_error
from tracker.files import host_name

LOCK_SUFFIX = ".lock"
_READ_ONLY_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


class ProjectLockedError(MaskletError):
    """Another process is writing the project."""


class ReadOnlyProjectError(MaskletError):
    """The project cannot be written here (read-only file, folder or medium)."""


def lock_path(project: Path) -> Path:
    """The sidecar lock file of a project."""
    return project.with_name(project.name + LOCK_SUFFIX)


class ProjectLock:
    """The held write lock of one project; ``release`` (or the end of the process) frees it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, project: Path) -> ProjectLock:
        """Lock ``project`` for writing; ``ProjectLockedError`` naming the holder if another process has it,
        ``ReadOnlyProjectError`` if its folder cannot be written."""
        path = lock_path(project)
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                if exc.errno in _READ_ONLY_ERRNOS:
                    raise ReadOnlyProjectError(
                        f"{project}: read-only here (cannot create {path.name}: {exc.strerror})"
                    ) from None
                raise MaskletError(f"{project}: cannot lock ({path.name}: {exc.strerror})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _describe(_read_holder(fd))
                os.close(fd)
                raise ProjectLockedError(
                    f"{project}: being written by {holder}; wait until it is done, or open it read-only"
                ) from None
            except OSError as exc:
                os.close(fd)
                raise MaskletError(f"{project}: cannot lock ({path.name}: {exc.strerror})") from None
            if _same_file(fd, path):
                break
            os.close(fd)  # the previous holder deleted the sidecar after we opened it: take the new one
        lock = cls(path, fd)
        holder = {"pid": os.getpid(), "host": host_name(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(holder).encode(), 0)
        except OSError as exc:  # a full disk: nothing can be written beside the project either
            lock.release()
            raise os_error(exc, project, f"cannot lock ({path.name})") from None
        return lock

    def release(self) -> None:
        """Delete the sidecar and free the lock (again: nothing)."""
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _read_holder(fd: int) -> dict:
    try:
        value = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _describe(holder: dict) -> str:
    """``"process 1234 on host since 2024-05-01 12:00:03"``, or less when the sidecar says less."""
    if "pid" not in holder:
        return "another process"
    where = f" on {holder['host']}" if holder.get("host") else ""
    since = f" since {holder['since']}" if holder.get("since") else ""
    return f"process {holder['pid']}{where}{since}"

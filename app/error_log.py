"""The log of unexpected errors: their tracebacks go to a file, never to the user, who is told where it is.

The file is ``masklet.log`` in the user log folder (``$MASKLET_LOG_DIR`` overrides it), or in the temporary
folder when that cannot be written. Each entry has the time, the process, the command line and the traceback.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

LOG_DIR_ENV = "MASKLET_LOG_DIR"
LOG_NAME = "masklet.log"


def log_folder() -> Path:
    """Where the log goes unless it cannot be written there."""
    configured = os.environ.get(LOG_DIR_ENV)
    if configured:
        return Path(configured)
    import platformdirs

    return Path(platformdirs.user_log_dir("masklet", appauthor=False))


def log_unexpected(exc: BaseException) -> Path | None:
    """Append ``exc`` with its traceback to the log; the log's path (None when no folder could take it)."""
    entry = (
        f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()}: {' '.join(sys.argv)}\n"
        + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    )
    for folder in (log_folder(), Path(tempfile.gettempdir())):
        path = folder / LOG_NAME
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as file:
                file.write(entry)
            return path
        except OSError:
            continue
    return None


def unexpected_message(exc: BaseException) -> str:
    """One line telling the user about an unexpected error and where its details are (logging them)."""
    path = log_unexpected(exc)
    summary = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    where = f"details in {path}" if path is not None else "the details could not be logged"
    return f"unexpected error ({summary}); {where}; please report it"

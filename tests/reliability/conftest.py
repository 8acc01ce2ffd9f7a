"""Helpers of the reliability suite: ``masklet`` in this process or in a child, full disks (a small tmpfs in a
private mount namespace where one can be mounted, else a file size limit) and read-only folders (a read-only
bind mount, else permissions when not root), and the one-line check every refused command must pass."""
from __future__ import annotations

import functools
import os
import resource
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.cli import main
from tracker.files import is_temp_name

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Outcome:
    """What a ``masklet`` command did."""

    code: int
    stdout: str
    stderr: str


@pytest.fixture(autouse=True)
def _error_log(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Unexpected errors are logged into a folder of the test, not into the user's log."""
    folder = tmp_path_factory.mktemp("log")
    monkeypatch.setenv("MASKLET_LOG_DIR", str(folder))
    return folder


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> Outcome:
    """``masklet ARGS`` in this process (the same boundary as the command line, without its start-up time)."""
    capsys.readouterr()
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


def masklet_command(*args: object) -> list[str]:
    return [sys.executable, "-m", "app.cli", *map(str, args)]


def run_child(*args: object, preexec_fn: Callable[[], None] | None = None, timeout: float = 600) -> Outcome:
    """``masklet ARGS`` in a child process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(masklet_command(*args), cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=timeout, preexec_fn=preexec_fn)
    return Outcome(result.returncode, result.stdout, result.stderr)


def run_script(script: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """A shell script in a private user and mount namespace (where it may mount)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


@functools.cache
def can_mount() -> bool:
    """Whether this machine lets a process mount a tmpfs and a read-only bind mount in its own namespace."""
    if shutil.which("unshare") is None:
        return False
    probe = Path(os.environ.get("TMPDIR", "/tmp")) / f"masklet-mount-probe-{os.getpid()}"
    probe.mkdir(exist_ok=True)
    try:
        result = run_script(f"mount -t tmpfs -o size=64k tmpfs {probe} && mount --bind {probe} {probe} "
                            f"&& mount -o remount,bind,ro {probe}", timeout=60)
        return result.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        probe.rmdir()


FILLER = "filler"


def on_full_disk(folder: Path, *args: object, size_kib: int = 64, filled: bool = False) -> Outcome:
    """``masklet ARGS`` with ``folder`` a fresh tmpfs of ``size_kib`` KiB, ``filled`` to the last byte by the file
    ``FILLER`` (its content, afterwards, in ``folder.listing``)."""
    folder.mkdir(exist_ok=True)
    listing = folder.with_name(folder.name + ".listing")
    quoted = shlex.quote(str(folder))
    fill = f"head -c {size_kib * 1024} /dev/zero > {quoted}/{FILLER} 2>/dev/null; " if filled else ""
    command = shlex.join(masklet_command(*args))
    result = run_script(f"mount -t tmpfs -o size={size_kib}k tmpfs {quoted} || exit 99; {fill}"
                        f"{command}; code=$?; ls -A {quoted} > {shlex.quote(str(listing))}; exit $code")
    assert result.returncode != 99, result.stderr
    return Outcome(result.returncode, result.stdout, result.stderr)


def file_size_limit(limit: int) -> Callable[[], None]:
    """A ``preexec_fn`` limiting every file the child writes to ``limit`` bytes (writes beyond fail with EFBIG:
    Python ignores SIGXFSZ)."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def in_read_only_folder(folder: Path, *args: object) -> Outcome:
    """``masklet ARGS`` with ``folder`` read-only: a read-only bind mount where possible, else no write
    permission (which root ignores: skipped for root)."""
    folder.mkdir(exist_ok=True)
    if can_mount():
        quoted = shlex.quote(str(folder))
        result = run_script(f"mount --bind {quoted} {quoted} && mount -o remount,bind,ro {quoted} || exit 99; "
                            + shlex.join(masklet_command(*args)))
        assert result.returncode != 99, result.stderr
        return Outcome(result.returncode, result.stdout, result.stderr)
    if os.geteuid() == 0:
        pytest.skip("no mount namespace here, and permissions do not stop root")
    folder.chmod(0o555)
    try:
        return run_child(*args)
    finally:
        folder.chmod(0o755)


def assert_one_line(outcome: Outcome, *names: object) -> str:
    """The command failed with exit 2 and one ``masklet: error:`` line naming ``names`` (warnings may precede
    it), no traceback; the line."""
    assert outcome.code == 2, (outcome.code, outcome.stderr)
    assert "Traceback" not in outcome.stderr, outcome.stderr
    errors = [line for line in outcome.stderr.splitlines() if line.startswith("masklet:")]
    assert len(errors) == 1 and errors[0].startswith("masklet: error: "), outcome.stderr
    for name in names:
        assert str(name) in errors[0], (name, errors[0])
    return errors[0]


def leftovers(folder: Path) -> list[str]:
    """Temporary files and folders a writer left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if is_temp_name(p.name)) if folder.is_dir() else []

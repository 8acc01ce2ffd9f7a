"""The environment that ``make`` installed is exactly ``requirements.lock`` (CI installs it that way)."""
from __future__ import annotations

import sys
from importlib.metadata import distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT


def locked_versions(lock: Path) -> dict[str, str]:
    """``name → version`` of every lock entry whose environment marker applies here."""
    pins = {}
    for line in lock.read_text().splitlines():
        if line[:1].isalnum():
            requirement = Requirement(line.rstrip(" \\"))
            if requirement.marker is None or requirement.marker.evaluate():
                (spec,) = requirement.specifier
                pins[canonicalize_name(requirement.name)] = spec.version
    return pins


@pytest.mark.skipif(not (Path(sys.prefix) / ".installed").exists(), reason="environment not installed by make")
def test_installed_packages_are_the_locked_ones() -> None:
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in distributions()}
    installed.pop("masklet")
    for tool in ("pip", "wheel", "uv"):  # the venv's own installer, and make lock's resolver
        installed.pop(tool, None)
    assert installed == locked_versions(ROOT / "requirements.lock")

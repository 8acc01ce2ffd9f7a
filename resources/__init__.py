"""Icons, styles and default configs shipped with Masklet."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def path(name: str) -> Path:
    """The path of a bundled resource file."""
    return ROOT / name

"""Persistent preferences, recent files and window layout (``QSettings``)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

ORGANIZATION = "Masklet"
APPLICATION = "Masklet"
MAX_RECENT = 10


def default_data_dir() -> Path:
    """Where projects go when they cannot live beside their video."""
    from platformdirs import user_data_dir

    return Path(user_data_dir(APPLICATION, ORGANIZATION)) / "projects"


class Preferences:
    """Typed access to the settings the application uses."""

    def __init__(self, settings: QSettings) -> None:
        self.qsettings = settings

    def _get(self, key: str, default: object, kind: type) -> object:
        return self.qsettings.value(key, default, type=kind)

    # ------------------------------------------------------------------ projects
    @property
    def projects_beside_video(self) -> bool:
        return bool(self._get("projects/beside_video", True, bool))

    @projects_beside_video.setter
    def projects_beside_video(self, value: bool) -> None:
        self.qsettings.setValue("projects/beside_video", value)

    @property
    def data_dir(self) -> Path:
        return Path(str(self._get("projects/folder", str(default_data_dir()), str)))

    @data_dir.setter
    def data_dir(self, value: Path) -> None:
        self.qsettings.setValue("projects/folder", str(value))

    # ------------------------------------------------------------------ view and runs
    @property
    def mask_opacity(self) -> float:
        return float(self._get("view/mask_opacity", 0.45, float))

    @mask_opacity.setter
    def mask_opacity(self, value: float) -> None:
        self.qsettings.setValue("view/mask_opacity", float(value))

    @property
    def show_labels(self) -> bool:
        """Whether the canvas shows the tracks' labels (View ▸ Layers ▸ Show Labels)."""
        return bool(self._get("view/labels", True, bool))

    @show_labels.setter
    def show_labels(self, value: bool) -> None:
        self.qsettings.setValue("view/labels", bool(value))

    @property
    def color_by_category(self) -> bool:
        """Draw tracks in their category's colour (View ▸ Colour Tracks by Category)."""
        return bool(self._get("view/color_by_category", False, bool))

    @color_by_category.setter
    def color_by_category(self, value: bool) -> None:
        self.qsettings.setValue("view/color_by_category", value)

    @property
    def run_options(self) -> dict:
        """The run dialog's last choices (engine, detector, classes, SAM2 model, device…)."""
        value = self.qsettings.value("run/options", {})
        return dict(value) if isinstance(value, dict) else {}

    @run_options.setter
    def run_options(self, value: dict) -> None:
        self.qsettings.setValue("run/options", dict(value))

    @property
    def correction_speed(self) -> tuple[str, int] | None:
        """The SAM2 model and input size (0: the model's own) corrections use where no SAM2 run chose them;
        None: never set."""
        model = self.qsettings.value("corrections/model", None)
        return None if model is None else (str(model), int(self._get("corrections/image_size", 0, int)))

    @correction_speed.setter
    def correction_speed(self, value: tuple[str, int]) -> None:
        self.qsettings.setValue("corrections/model", value[0])
        self.qsettings.setValue("corrections/image_size", int(value[1]))

    # ------------------------------------------------------------------ recent files
    @property
    def recent(self) -> list[str]:
        value = self.qsettings.value("recent", [])
        items = [value] if isinstance(value, str) else list(value or [])
        return [item for item in items if item]

    def add_recent(self, path: Path) -> None:
        item = str(Path(path).resolve())
        self.qsettings.setValue("recent", [item, *[p for p in self.recent if p != item]][:MAX_RECENT])

    def remove_recent(self, item: str) -> None:
        self.qsettings.setValue("recent", [p for p in self.recent if p != item])

    def clear_recent(self) -> None:
        self.qsettings.setValue("recent", [])

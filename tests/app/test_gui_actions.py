"""The action registry: every action of the window comes from its table, menus list them, the user's keys apply."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtGui import QKeySequence  # noqa: E402

from app.gui.actions import ACTIONS, MENU_ORDER  # noqa: E402
from tests.app.test_gui_window import make_window  # noqa: E402


def test_every_window_action_is_declared_once_in_the_registry(qtbot, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path)
    names = [spec.name for spec in ACTIONS]
    assert len(names) == len(set(names))
    assert set(window.actions()) == set(window.registry.actions.values())  # no action made elsewhere
    for name, action in window.registry.actions.items():
        assert getattr(window, f"act_{name}") is action
    listed = {a for actions in window.menus.values() for a in actions}
    assert {spec.name for spec in ACTIONS if spec.menu} == {n for n, a in window.registry.actions.items() if a in listed}
    assert list(window.menus) == list(MENU_ORDER)
    assert window.desk.act_hide is window.act_hide and window.prompting.act_discard is window.act_discard_prompts


def test_the_registry_applies_the_users_keys(qtbot, tmp_path: Path) -> None:
    first = make_window(qtbot, tmp_path)
    first.shortcuts.assign(first.act_discard_prompts, [QKeySequence("Ctrl+Shift+X")])
    first.preferences.qsettings.sync()
    again = make_window(qtbot, tmp_path)
    assert again.act_discard_prompts.shortcuts() == [QKeySequence("Ctrl+Shift+X")]
    assert again.shortcuts.defaults["Discard Prompts"] == [QKeySequence("Esc")]
    assert again.act_split.shortcuts() == [QKeySequence("K")]

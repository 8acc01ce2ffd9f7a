"""Keyboard shortcuts: the sheet (Help ▸ Keyboard Shortcuts), each action's default keys, the user's own (kept in
``QSettings`` under ``shortcuts/``, applied when the window creates its actions), and the editor (Edit ▸
Shortcuts…) with conflict detection and a reset to the defaults."""
from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QKeySequenceEdit, QLabel, QPushButton, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)


GROUP = "shortcuts"
EDITABLE_KEYS = 2
"""Keys per action in the editor: the main one and an alternative."""
_PORTABLE = QKeySequence.SequenceFormat.PortableText


def action_name(action: QAction) -> str:
    """How settings name an action: its menu text without accelerator marks."""
    return action.text().replace("&", "")


def _settings_key(name: str) -> str:
    return f"{GROUP}/{re.sub(r'[^A-Za-z0-9]+', '_', name).strip('_')}"


def typed_keys(keys: Iterable[QKeySequence]) -> list[QKeySequence]:
    """The keys one types: without the dedicated keyboard keys that the platform's standard bindings add (Open,
    Save, Undo, Zoom In, F13 and up)."""
    return [s for s in keys if s.count() and s[0].key().value < Qt.Key.Key_F13.value]


def shortcut_rows(menus: Mapping[str, Iterable[QAction]]) -> list[tuple[str, str, str]]:
    """``(menu, action, keys)`` for every action with a shortcut one types (``typed_keys``)."""
    rows = []
    for menu, actions in menus.items():
        for action in actions:
            keys = [s.toString(QKeySequence.SequenceFormat.NativeText) for s in typed_keys(action.shortcuts())]
            if keys:
                rows.append((menu, action.text().replace("&", ""), ", ".join(keys)))
    return rows


class ShortcutSheet(QDialog):
    """Every action with a shortcut, by menu."""

    def __init__(self, menus: Mapping[str, Iterable[QAction]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(menus)
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Menu", "Action", "Shortcut"])
        for row, values in enumerate(rows):
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 620)


class Shortcuts:
    """The actions' default shortcuts and the user's overrides."""

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings
        self.defaults: dict[str, list[QKeySequence]] = {}

    def register(self, action: QAction) -> None:
        """Remember an action's shortcuts as its defaults and apply the user's keys for it, if any."""
        name = action_name(action)
        self.defaults[name] = list(action.shortcuts())
        stored = self.settings.value(_settings_key(name))
        if isinstance(stored, str):
            try:
                keys = [QKeySequence(k, _PORTABLE) for k in json.loads(stored)]
            except (ValueError, TypeError):
                return  # an unreadable setting: the defaults stay
            action.setShortcuts(keys)

    def assign(self, action: QAction, keys: list[QKeySequence]) -> None:
        """Give an action these keys and remember them (keys equal to the defaults forget the override)."""
        name = action_name(action)
        action.setShortcuts(keys)
        if _texts(keys) == _texts(self.defaults.get(name, [])):
            self.settings.remove(_settings_key(name))
        else:
            self.settings.setValue(_settings_key(name), json.dumps(_texts(keys, _PORTABLE)))
        self.settings.sync()


def _texts(keys: Iterable[QKeySequence], fmt: QKeySequence.SequenceFormat = QKeySequence.SequenceFormat.NativeText,
           ) -> list[str]:
    return [k.toString(fmt) for k in keys if not k.isEmpty()]


def conflicts(assigned: Mapping[str, Iterable[QKeySequence]]) -> dict[str, list[str]]:
    """Key → the actions that share it, for every key given to more than one action."""
    users: dict[str, list[str]] = defaultdict(list)
    for name, keys in assigned.items():
        for key in dict.fromkeys(_texts(keys)):
            users[key].append(name)
    return {key: names for key, names in users.items() if len(names) > 1}


class ShortcutEditor(QDialog):
    """Every action by menu with its main and alternative key, editable; Save stays disabled while two actions
    share a key (the keys in conflict are shown in red)."""

    def __init__(self, menus: Mapping[str, Iterable[QAction]], shortcuts: Shortcuts,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit shortcuts")
        self.shortcuts = shortcuts
        self.actions = list(dict.fromkeys(a for actions in menus.values() for a in actions))
        menu_of = {a: menu for menu, actions in reversed(list(menus.items())) for a in actions}
        self.table = QTableWidget(len(self.actions), 2 + EDITABLE_KEYS)
        self.table.setHorizontalHeaderLabels(["Menu", "Action", "Shortcut", "Alternative"])
        self.table.verticalHeader().hide()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.edits: list[list[QKeySequenceEdit]] = []
        for row, action in enumerate(self.actions):
            for column, text in enumerate((menu_of[action], action_name(action))):
                item = QTableWidgetItem(text)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                self.table.setItem(row, column, item)
            edits = []
            for column in range(EDITABLE_KEYS):
                edit = QKeySequenceEdit()
                edit.setClearButtonEnabled(True)
                edit.setMaximumSequenceLength(1)
                edit.keySequenceChanged.connect(lambda _keys: self._check())
                self.table.setCellWidget(row, 2 + column, edit)
                edits.append(edit)
            self.edits.append(edits)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #e5534b")
        self.problem.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        reset = QPushButton("Reset All to Defaults")
        reset.setAutoDefault(False)
        reset.clicked.connect(self.reset_to_defaults)
        buttons.addButton(reset, QDialogButtonBox.ButtonRole.ResetRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Click a shortcut and press the new key; the × clears it."))
        layout.addWidget(self.table)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        self._show({action: action.shortcuts() for action in self.actions})
        self.resize(720, 640)

    def _show(self, keys: Mapping[QAction, list[QKeySequence]]) -> None:
        for action, edits in zip(self.actions, self.edits, strict=True):
            shown = typed_keys(keys[action])[:EDITABLE_KEYS]
            for index, edit in enumerate(edits):
                edit.blockSignals(True)
                edit.setKeySequence(shown[index] if index < len(shown) else QKeySequence())
                edit.blockSignals(False)
        self._check()

    def keys_of(self, row: int) -> list[QKeySequence]:
        """The keys a row shows now. Keys it does not show (dedicated keys and further ones of the platform's
        bindings) stay while the row shows what it showed of the action's current or default keys."""
        action = self.actions[row]
        shown = [e.keySequence() for e in self.edits[row] if not e.keySequence().isEmpty()]
        for keys in (action.shortcuts(), self.shortcuts.defaults.get(action_name(action), [])):
            if _texts(shown) == _texts(typed_keys(keys)[:EDITABLE_KEYS]):
                return list(keys)
        return shown

    def _check(self) -> None:
        assigned = {action_name(a): self.keys_of(row) for row, a in enumerate(self.actions)}
        clashes = conflicts(assigned)
        for row, edits in enumerate(self.edits):
            for edit in edits:
                clash = edit.keySequence().toString(QKeySequence.SequenceFormat.NativeText) in clashes
                edit.setStyleSheet("background: #5c1f1f" if clash else "")
        self.problem.setText("; ".join(f"{key} is used by {' and '.join(names)}" for key, names in clashes.items()))
        self.save_button.setEnabled(not clashes)

    def reset_to_defaults(self) -> None:
        """Show every action's default keys (saved with Save)."""
        self._show({a: self.shortcuts.defaults.get(action_name(a), []) for a in self.actions})

    def accept(self) -> None:
        keys = [self.keys_of(row) for row in range(len(self.actions))]
        for action, row_keys in zip(self.actions, keys, strict=True):
            if _texts(row_keys) != _texts(action.shortcuts()):
                self.shortcuts.assign(action, row_keys)
        super().accept()


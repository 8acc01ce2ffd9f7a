"""The Categories dialog (Edit ▸ Categories…): the project's label schema. Add, rename and merge categories,
choose a colour per category and the category new tracks get; every change is one undo step, applied at once."""
from __future__ import annotations

from collections import Counter

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView, QColorDialog, QDialog, QDialogButtonBox, QHBoxLayout, QInputDialog, QListWidget,
    QListWidgetItem, QPushButton, QVBoxLayout, QWidget,
)

from app.document import Document
from app.edits import AddCategory, MergeCategories, RenameCategory, SchemaEdit, SetCategoryColor, SetDefaultCategory
from app.gui.undo import EditStack


def _swatch(color: str | None) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(color) if color else Qt.GlobalColor.transparent)
    return QIcon(pixmap)


class CategoriesDialog(QDialog):
    """The categories with their number of tracks, colour and the default mark, and buttons that change them."""

    def __init__(self, stack: EditStack, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Categories")
        self.stack, self.doc = stack, doc
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.itemSelectionChanged.connect(self._update_enabled)
        self.list.itemDoubleClicked.connect(lambda _item: self.rename())
        self.buttons: dict[str, QPushButton] = {}
        column = QVBoxLayout()
        for name, text, slot in (("add", "Add…", self.add), ("rename", "Rename…", self.rename),
                                 ("merge", "Merge…", self.merge), ("color", "Colour…", self.choose_color),
                                 ("no_color", "No Colour", lambda: self._set_colors(None)),
                                 ("default", "Use for New Tracks", self.toggle_default)):
            button = QPushButton(text)
            button.setAutoDefault(False)
            button.clicked.connect(lambda _=False, slot=slot: slot())
            column.addWidget(button)
            self.buttons[name] = button
        column.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.list, 1)
        row.addLayout(column)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(close)
        self.resize(460, 360)
        self.refresh()

    def refresh(self) -> None:
        """Show the schema as it is now, keeping the selection."""
        chosen = set(self.selected())
        counts = Counter(t.category_id for t in self.doc.tracks())
        colors, default = self.doc.category_colors(), self.doc.default_category()
        self.list.clear()
        for cid, name in sorted(self.doc.categories().items(), key=lambda item: item[1].lower()):
            mark = "  — new tracks" if cid == default else ""
            item = QListWidgetItem(_swatch(colors.get(cid)), f"{name}  ({counts[cid]} tracks){mark}")
            item.setData(Qt.ItemDataRole.UserRole, cid)
            self.list.addItem(item)
            item.setSelected(cid in chosen)
        self._update_enabled()

    def selected(self) -> list[int]:
        return [int(item.data(Qt.ItemDataRole.UserRole)) for item in self.list.selectedItems()]

    def _update_enabled(self) -> None:
        count = len(self.selected())
        for name in ("rename", "default"):
            self.buttons[name].setEnabled(count == 1)
        self.buttons["merge"].setEnabled(count >= 2)
        self.buttons["color"].setEnabled(count >= 1)
        self.buttons["no_color"].setEnabled(count >= 1)
        default = self.doc.default_category()
        self.buttons["default"].setText("Stop Using for New Tracks" if count == 1 and self.selected()[0] == default
                                        else "Use for New Tracks")

    def _apply(self, edit: SchemaEdit) -> bool:
        done = self.stack.apply(edit)
        self.refresh()
        return done

    def _set_colors(self, color: str | None) -> None:
        """Give every selected category a colour (None: none), as one undo step."""
        self.stack.beginMacro(f"Set colour of {len(self.selected())} categories")
        for cid in self.selected():
            self.stack.apply(SetCategoryColor(cid, color))
        self.stack.endMacro()
        self.refresh()

    def add(self) -> None:
        name, ok = QInputDialog.getText(self, "Add category", "Name:")
        if ok:
            self._apply(AddCategory(name))

    def rename(self) -> None:
        if len(self.selected()) != 1:
            return
        cid = self.selected()[0]
        name, ok = QInputDialog.getText(self, "Rename category", "New name:", text=self.doc.categories()[cid])
        if ok:
            self._apply(RenameCategory(cid, name))

    def merge(self) -> None:
        """Merge the selected categories into one of them (default: the one with the most tracks)."""
        chosen = self.selected()
        counts = Counter(t.category_id for t in self.doc.tracks())
        names = self.doc.categories()
        order = sorted(chosen, key=lambda cid: (-counts[cid], names[cid]))
        items = [names[cid] for cid in order]
        name, ok = QInputDialog.getItem(self, "Merge categories", "Merge the selected categories into:", items, 0,
                                        False)
        if ok:
            target = order[items.index(name)]
            self._apply(MergeCategories(target, tuple(c for c in chosen if c != target)))

    def choose_color(self) -> None:
        current = self.doc.category_colors().get(self.selected()[0], "#ffffff")
        color = QColorDialog.getColor(QColor(current), self, "Category colour")
        if color.isValid():
            self._set_colors(color.name())

    def toggle_default(self) -> None:
        cid = self.selected()[0]
        self._apply(SetDefaultCategory(None if cid == self.doc.default_category() else cid))

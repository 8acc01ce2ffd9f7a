"""Reversible edits of the label schema: add, rename and merge categories, a colour per category, the category
for new tracks. Each snapshots the whole schema (it may touch every track's category) instead of a track scope.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from app.document import CATEGORY_COLORS_KEY, DEFAULT_CATEGORY_KEY, Document, Scope
from app.edit_base import Edit, EditError


_SCHEMA_KEYS = (CATEGORY_COLORS_KEY, DEFAULT_CATEGORY_KEY)
_COLOR = re.compile(r"#[0-9a-fA-F]{6}$")


@dataclass(frozen=True, slots=True)
class SchemaSnapshot:
    """The label schema as it was before a change: categories, every track's category, colours, default."""

    categories: dict[int, str]
    track_categories: list[tuple[int | None, int]]
    meta: dict[str, object]


class SchemaEdit(Edit):
    """A change of the label schema (category names, colours, the default for new tracks). It may touch every
    track's category, so it snapshots the schema instead of a track scope."""

    _schema: SchemaSnapshot | None = None

    def scope(self, doc: Document) -> Scope:
        return Scope(tuple(t.id for t in doc.tracks()))

    def do(self, doc: Document) -> None:
        with doc.transaction():
            snapshot = SchemaSnapshot(
                doc.categories(), doc.category_assignments(), {key: doc.get_meta(key) for key in _SCHEMA_KEYS}
            )
            self.apply(doc)
        self._schema = snapshot
        doc.notify(None)

    def undo(self, doc: Document) -> None:
        snapshot = self._schema
        if snapshot is None:
            raise EditError(f"cannot undo '{self.text}': it was not applied")
        with doc.transaction():
            doc.replace_categories(snapshot.categories, snapshot.track_categories)
            for key, value in snapshot.meta.items():
                if value is None:
                    doc.delete_meta(key)
                else:
                    doc.set_meta(key, value)
        self._schema = None
        doc.notify(None)


def _require_category(doc: Document, category_id: int) -> str:
    name = doc.categories().get(category_id)
    if name is None:
        raise EditError(f"category {category_id} does not exist")
    return name


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise EditError("a category needs a name")
    return name


@dataclass
class AddCategory(SchemaEdit):
    """A new category (its id is chosen on first ``do``)."""

    name: str
    category_id: int = 0

    @property
    def text(self) -> str:
        return f"Add category {self.name}"

    def apply(self, doc: Document) -> None:
        name = _clean_name(self.name)
        if name in doc.categories().values():
            raise EditError(f"category {name!r} already exists")
        if not self.category_id:
            self.category_id = max(doc.categories(), default=0) + 1
        doc.add_category(name, self.category_id)


@dataclass
class RenameCategory(SchemaEdit):
    """Give a category another name (its tracks keep it; exports use the new name)."""

    category_id: int
    name: str

    @property
    def text(self) -> str:
        return f"Rename category to {self.name}"

    def apply(self, doc: Document) -> None:
        _require_category(doc, self.category_id)
        name = _clean_name(self.name)
        others = {n for c, n in doc.categories().items() if c != self.category_id}
        if name in others:
            raise EditError(f"category {name!r} already exists: merge the two instead")
        doc.rename_category(self.category_id, name)


@dataclass
class MergeCategories(SchemaEdit):
    """Categories ``sources`` become ``target``: their tracks move to it and the sources are removed."""

    target: int
    sources: tuple[int, ...]

    @property
    def text(self) -> str:
        return "Merge categories"

    def apply(self, doc: Document) -> None:
        _require_category(doc, self.target)
        for source in self.sources:
            _require_category(doc, source)
        if not self.sources or self.target in self.sources:
            raise EditError("merge other categories into the target")
        doc.merge_categories(self.target, self.sources)
        colors = {str(c): v for c, v in doc.category_colors().items() if c not in self.sources}
        doc.set_meta(CATEGORY_COLORS_KEY, colors)
        if doc.default_category() in self.sources:
            doc.set_meta(DEFAULT_CATEGORY_KEY, self.target)


@dataclass
class SetCategoryColor(SchemaEdit):
    """Choose a category's colour (``#rrggbb``; None: none)."""

    category_id: int
    color: str | None

    @property
    def text(self) -> str:
        return "Set category colour"

    def apply(self, doc: Document) -> None:
        _require_category(doc, self.category_id)
        if self.color is not None and not _COLOR.match(self.color):
            raise EditError(f"a colour is written #rrggbb, not {self.color!r}")
        colors = {str(c): v for c, v in doc.category_colors().items() if c != self.category_id}
        if self.color is not None:
            colors[str(self.category_id)] = self.color.lower()
        doc.set_meta(CATEGORY_COLORS_KEY, colors)


@dataclass
class SetDefaultCategory(SchemaEdit):
    """Choose the category new tracks drawn by hand get (None: none)."""

    category_id: int | None

    @property
    def text(self) -> str:
        return "Set default category"

    def apply(self, doc: Document) -> None:
        if self.category_id is None:
            doc.delete_meta(DEFAULT_CATEGORY_KEY)
        else:
            _require_category(doc, self.category_id)
            doc.set_meta(DEFAULT_CATEGORY_KEY, self.category_id)

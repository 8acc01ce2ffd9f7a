"""The label schema: rename and merge categories, a colour per category, the default for new tracks; every
change undoable, kept in the project file, and followed by exports."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.document import Document, Observation
from tracker.video import VideoInfo
from app.edits import (
    AddCategory, EditError, MergeCategories, RenameCategory, SetCategoryColor, SetDefaultCategory, SchemaEdit,
)
from exporters import cocovid


def _schema(doc: Document) -> tuple:
    return (doc.categories(), [(t.id, t.category_id) for t in doc.tracks()], doc.category_colors(),
            doc.default_category())


def _project(path: Path | None = None) -> Document:
    """Tracks 1, 2 are people, 3 a pedestrian, 4 a car; each on frames 0–2."""
    video = VideoInfo(path=Path("clip.mp4"), name="clip", frame_count=3, fps=10.0, width=64, height=48)
    doc = Document.in_memory(video) if path is None else Document.create(path, video)
    names = {1: "person", 2: "person", 3: "pedestrian", 4: "car"}
    for track_id, name in names.items():
        doc.add_track(track_id, doc.category_id(name))
    doc.add_observations(Observation(frame=f, track_id=t, box=(1.0, 2.0, 8.0, 8.0)) for t in names for f in range(3))
    return doc


def _check_reversible(doc: Document, edit: SchemaEdit) -> tuple:
    before = _schema(doc)
    edit.do(doc)
    after = _schema(doc)
    assert after != before
    edit.undo(doc)
    assert _schema(doc) == before
    edit.do(doc)
    assert _schema(doc) == after
    return after


def test_rename_and_merge_categories_move_their_tracks() -> None:
    doc = _project()
    ids = {name: cid for cid, name in doc.categories().items()}
    _check_reversible(doc, RenameCategory(ids["person"], "human"))
    assert doc.track_label(1) == "human" and doc.category_id("human") == ids["person"]
    with pytest.raises(EditError, match="already exists"):
        RenameCategory(ids["car"], "human").do(doc)
    with pytest.raises(EditError, match="name"):
        RenameCategory(ids["car"], "  ").do(doc)
    _check_reversible(doc, SetCategoryColor(ids["pedestrian"], "#FF0000"))
    _check_reversible(doc, SetDefaultCategory(ids["pedestrian"]))
    _check_reversible(doc, MergeCategories(ids["person"], (ids["pedestrian"],)))
    assert {t.id: doc.track_label(t.id) for t in doc.tracks()} == {1: "human", 2: "human", 3: "human", 4: "car"}
    assert "pedestrian" not in doc.categories().values()
    assert doc.category_colors() == {} and doc.default_category() == ids["person"]  # follow the merge
    with pytest.raises(EditError):
        MergeCategories(ids["person"], (ids["person"],)).do(doc)


def test_colours_default_and_new_categories() -> None:
    doc = _project()
    car = doc.category_id("car")
    _check_reversible(doc, SetCategoryColor(car, "#00ff00"))
    assert doc.category_colors() == {car: "#00ff00"}
    assert doc.track_colors(by_category=True)[4] == "#00ff00"
    assert doc.track_colors()[4] == doc.track(4).color != "#00ff00"
    with pytest.raises(EditError, match="#rrggbb"):
        SetCategoryColor(car, "green").do(doc)
    added = AddCategory("bicycle")
    _check_reversible(doc, added)
    assert doc.categories()[added.category_id] == "bicycle"
    _check_reversible(doc, SetDefaultCategory(added.category_id))
    assert doc.default_category() == added.category_id
    with pytest.raises(EditError, match="does not exist"):
        SetDefaultCategory(999).do(doc)


def test_the_schema_is_kept_in_the_project_and_exports_use_new_names(tmp_path: Path) -> None:
    path = tmp_path / "clip.masklet"
    with _project(path) as doc:
        person, car = doc.category_id("person"), doc.category_id("car")
        RenameCategory(person, "human").do(doc)
        SetCategoryColor(car, "#123456").do(doc)
        SetDefaultCategory(car).do(doc)
    with Document.open(path) as doc:
        assert doc.categories()[person] == "human" and doc.category_colors() == {car: "#123456"}
        assert doc.default_category() == car
        cocovid.write(doc, tmp_path / "out.json")
    names = {c["name"] for c in json.loads((tmp_path / "out.json").read_text())["categories"]}
    assert names == {"human", "pedestrian", "car"}

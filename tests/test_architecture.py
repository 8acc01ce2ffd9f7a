"""The package layering of CONTRIBUTING.md, checked on the code: every import (also one inside a function) of
``tracker/``, ``exporters/``, ``widgets/`` and ``app/model.py`` against the edges allowed here."""
from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from app.document import Document
from app.model import AnnotationModel

ROOT = Path(__file__).resolve().parent.parent
QT = ("PySide6", "shiboken6")

EXPORTERS_FROM_TRACKER = {"detections", "errors", "files", "geometry", "mot_files", "opencv", "results", "video",
                          "video_info"}
"""Exporters use the shared types and file helpers of ``tracker``, and video sources (YOLO writes images), never
an engine, a detector or a model."""
READERS = {"exporters.base", "exporters.cocovid", "exporters.cvat", "exporters.mot", "exporters.mot_results",
           "exporters.mots", "exporters.yolo"}
"""The one edge from ``exporters`` to ``app.document``: a reader builds the in-memory ``Document`` it returns
(``exporters.base.store``). Writers see only ``app.model.AnnotationModel``."""
WIDGETS_FROM_TRACKER = {"geometry", "results"}
"""Widgets draw results and boxes; they never run a model."""


def _modules(package: str) -> list[tuple[str, Path]]:
    folder = ROOT / package
    return [(f"{package}.{path.stem}", path) for path in sorted(folder.glob("*.py"))]


def _imports(path: Path) -> set[str]:
    """Every module a file imports (``from a import b`` counts as ``a`` and ``a.b``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _refused(module: str, imported: str) -> str | None:
    """Why ``module`` may not import ``imported`` (None: allowed)."""
    top = imported.split(".")[0]
    package = module.split(".")[0]
    if top in QT and package in ("tracker", "exporters", "app"):
        return "no Qt outside widgets/ and app/gui/"
    if package == "tracker" and top in ("app", "exporters", "widgets"):
        return "tracker/ imports nothing of the packages above it"
    if package == "exporters":
        if top == "widgets" or imported.startswith("app.gui"):
            return "exporters/ know no view"
        if top == "tracker" and "." in imported and imported.split(".")[1] not in EXPORTERS_FROM_TRACKER:
            return "exporters/ use tracker's shared types only"
        if top == "app" and imported != "app" and not imported.startswith(("app.model", "app.document")):
            return "exporters/ see the model through app.model"
        if imported.startswith("app.document") and module not in READERS:
            return "exporters/ write from app.model.AnnotationModel"
    if package == "widgets":
        if top == "exporters" or imported.startswith(("app.document", "app.gui")):
            return "widgets/ render an app.model.AnnotationModel and emit intents"
        if top == "app" and imported != "app" and not imported.startswith("app.model"):
            return "widgets/ see the model through app.model"
        if top == "tracker" and "." in imported and imported.split(".")[1] not in WIDGETS_FROM_TRACKER:
            return "widgets/ never run a model"
    if module == "app.model" and (top in ("sqlite3", "exporters", "widgets") or imported.startswith("app.")):
        return "app.model is the model's read-only face: no storage, nothing above it"
    return None


@pytest.mark.parametrize("package", ["tracker", "exporters", "widgets", "app.model"])
def test_packages_import_only_what_the_layering_allows(package: str) -> None:
    modules = [("app.model", ROOT / "app" / "model.py")] if package == "app.model" else _modules(package)
    assert modules
    broken = [f"{module} imports {imported}: {reason}" for module, path in modules
              for imported in sorted(_imports(path)) if (reason := _refused(module, imported)) is not None]
    assert broken == []


def test_the_rules_refuse_what_they_should() -> None:
    assert _refused("tracker.sam2mot", "app.document") is not None
    assert _refused("tracker.video", "PySide6.QtCore") is not None
    assert _refused("exporters.writing", "app.document") is not None
    assert _refused("exporters.mot", "tracker.sam2_engine") is not None
    assert _refused("widgets.timeline", "app.document") is not None
    assert _refused("widgets.video_canvas", "tracker.detectors") is not None
    assert _refused("exporters.mot", "app.document.Document") is None
    assert _refused("widgets.timeline", "app.model.Timeline") is None


def test_the_document_is_an_annotation_model() -> None:
    for name, member in inspect.getmembers(AnnotationModel):
        if name.startswith("_") or name not in AnnotationModel.__dict__:
            continue
        assert hasattr(Document, name), name
        if inspect.isfunction(member):
            assert inspect.signature(getattr(Document, name)) == inspect.signature(member), name
    assert "listeners" in AnnotationModel.__annotations__ and isinstance(Document.in_memory().listeners, list)
    assert not hasattr(Document, "execute")


def test_text_label_formats_load_without_opencv() -> None:
    code = ("import sys, exporters.mot, exporters.mot_results, exporters.mots, exporters.cocovid, exporters.cvat; "
            "assert 'cv2' not in sys.modules, 'cv2 was imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert result.returncode == 0, result.stderr


LONG_GUI_MODULES = {"tracking_worker"}
"""The tracking job's worker thread and controller, not yet split."""


def test_the_window_and_its_controllers_stay_under_500_lines() -> None:
    long = {name for name, path in _modules("app/gui") if len(path.read_text(encoding="utf-8").splitlines()) > 500}
    assert {name.rsplit(".", 1)[-1] for name in long} <= LONG_GUI_MODULES

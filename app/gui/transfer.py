"""Label files in and out of the window: Import Labels (one undoable step), Export Labels, and the summary of
the last import, export or opened video in the status bar with its warnings behind a button."""
from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDialog, QMessageBox

from app.document import Document
from app.gui.dialogs import ExportDialog, ExportRequest, ImportDialog
from app.gui.errors import in_gui_words, show_error
from app.gui.undo import ImportLabels
from exporters import registry
from exporters.base import read_report
from tracker.errors import MaskletError

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow


def _formats() -> dict[str, ModuleType]:
    return {name: registry.get(name) for name in registry.names()}


class TransferController(QObject):
    """Imports into and exports from the window's open project."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.warnings: list[str] = []  # the last import/export/open summary and its warnings
        window.warnings_button.clicked.connect(self.show_warnings)

    def import_labels(self) -> None:
        window = self.window
        if window.session is None:
            window.statusBar().showMessage("Open the video the labels belong to first", 5000)
            return
        doc = window.session.doc
        start = window.session.source.path.parent if window.session.source is not None else doc.path.parent
        dialog = ImportDialog(_formats(), start, window)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        try:
            request = dialog.request()
            labels = request.module.read(request.path, Document.in_memory(doc.video), **request.options)
        except MaskletError as exc:
            show_error(window, exc)
            return
        self.import_document(labels, request.path.name)

    def import_document(self, labels: Document, name: str) -> bool:
        """Add the tracks of a read label file to the project (one undoable step); closes ``labels``."""
        with labels:
            report = read_report(labels)
            edit = ImportLabels(labels, name)
        if not self.window.stack.apply(edit):
            return False
        if report is not None:
            self.report(report.summary(), report.warnings)
        return True

    def export_labels(self) -> None:
        window = self.window
        if window.session is None:
            return
        doc = window.session.doc
        video = doc.video
        base = doc.path.parent / (video.name if video is not None else doc.path.stem)
        used = {t.category_id for t in doc.tracks()}
        categories = {i: name for i, name in doc.categories().items() if i in used}
        dialog = ExportDialog(_formats(), window.playback.frame_count, categories, window.selection, base, window)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.export(dialog.request())

    def export(self, request: ExportRequest) -> bool:
        """Write the project's labels as the request says; the summary goes to the status bar."""
        try:
            report = request.module.write(self.window.session.doc, request.path, frames=request.frames,
                                          track_ids=request.track_ids, category_ids=request.category_ids)
        except MaskletError as exc:
            show_error(self.window, exc)
            return False
        self.report(report.summary(), report.warnings)
        return True

    def report(self, summary: str, warnings: list[str]) -> None:
        """A summary in the status bar; its warnings, too long for it, behind a status-bar button that shows them."""
        button = self.window.warnings_button
        self.window.statusBar().showMessage(summary + (f" ({len(warnings)} warnings)" if warnings else ""), 15000)
        self.warnings = [summary, *(in_gui_words(w) for w in warnings)] if warnings else []
        button.setText(f"⚠ {len(warnings)} warning{'s' if len(warnings) > 1 else ''}")
        button.setToolTip("\n".join(self.warnings))
        button.setVisible(bool(warnings))

    def show_warnings(self) -> None:
        """The last import's, export's or video's warnings in full."""
        summary, *warnings = self.warnings or [""]
        box = QMessageBox(QMessageBox.Icon.Information, "Warnings", summary, QMessageBox.StandardButton.Close,
                          self.window)
        box.setInformativeText("\n".join(warnings[:8]) + ("\n…" if len(warnings) > 8 else ""))
        box.setDetailedText("\n".join(warnings) if len(warnings) > 8 else "")
        box.exec()

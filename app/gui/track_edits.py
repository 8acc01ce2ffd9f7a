"""Bulk edits of the annotator's desk: delete frames N..M of a track (from a dialog or the timeline's frame
range) and merge several selected tracks into one, each one undo step."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDialog, QFormLayout, QInputDialog, QLabel, QSpinBox, QVBoxLayout, QWidget

from app.edits import DeleteTrack, MergeSeveral
from app.gui.categories import CategoriesDialog
from app.gui.dialogs import dialog_buttons
from widgets.timeline import FrameRange

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow


class DeleteFramesDialog(QDialog):
    """Which frames of a track to delete: the first and the last, both included, as the annotator sees them."""

    def __init__(self, track_id: int, first: int, last: int, frame_count: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Delete frames")
        self.track_id = track_id
        self.first, self.last = QSpinBox(), QSpinBox()
        for spin, value in ((self.first, first), (self.last, last)):
            spin.setRange(0, max(frame_count - 1, 0))
            spin.setValue(value)
        form = QFormLayout()
        form.addRow(QLabel(f"Delete the boxes, masks and events of track {track_id} on frames:"))
        form.addRow("From frame", self.first)
        form.addRow("To frame (included)", self.last)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(dialog_buttons(self, "Delete"))

    def frame_range(self) -> FrameRange:
        """The chosen frames as a half-open range."""
        start, last = sorted((self.first.value(), self.last.value()))
        return FrameRange(self.track_id, start, last + 1)


class TrackEditsController(QObject):
    """Runs the window's bulk edits through its undo stack."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        window.timeline.deleteRangeRequested.connect(self.delete_range)

    def delete_frames(self) -> None:
        """Ask for frames of the selected track (prefilled from the timeline's range, else the current frame)."""
        window = self.window
        track = window.editing.one_track()
        if track is None:
            return
        selected = window.timeline.frame_range
        start, stop = (selected.start, selected.stop) if selected and selected.track_id == track else \
            (window.frame, window.frame + 1)
        dialog = DeleteFramesDialog(track, start, stop - 1, window.playback.frame_count, window)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.delete_range(dialog.frame_range())

    def delete_range(self, frames: FrameRange) -> bool:
        """Delete a half-open frame range of a track (one undo step); the timeline's range is cleared."""
        if not self.window.stack.apply(DeleteTrack(frames.track_id, frames.start, frames.stop)):
            return False
        self.window.timeline.set_frame_range(None)
        self.window.statusBar().showMessage(f"Deleted {frames.describe()} of track {frames.track_id}", 5000)
        return True

    def delete_timeline_range(self) -> bool:
        """Delete the timeline's selected frame range, if there is one and its track is selected."""
        selected = self.window.timeline.frame_range
        return selected is not None and selected.track_id in self.window.selection and self.delete_range(selected)

    def merge_selected(self) -> None:
        """Merge every selected track into one of them, asked for (default: the longest, then the lowest id)."""
        window = self.window
        doc = window.session.doc
        frames = {t: doc.track_timeline(t).frames for t in window.selection}
        order = sorted(frames, key=lambda t: (-frames[t].size, t))
        items = [f"{t}  ({frames[t].size} frames)" for t in order]
        choice, ok = QInputDialog.getItem(window, "Merge tracks", f"Merge the {len(order)} selected tracks into:",
                                          items, 0, False)
        if not ok:
            return
        target = order[items.index(choice)]
        sources = tuple(t for t in sorted(frames) if t != target)
        _, counts = np.unique(np.concatenate(list(frames.values())), return_counts=True)
        shared = int((counts > 1).sum())
        keep = window.editing.ask_overlap_winner(target, sources, shared) if shared else None
        if (keep is not None or not shared) and window.stack.apply(MergeSeveral(target, sources, keep)):
            window.set_selection([target])

    def edit_categories(self) -> None:
        """The Categories dialog for the open project."""
        window = self.window
        if window.session is not None and not window.read_only:
            CategoriesDialog(window.stack, window.session.doc, window).exec()

    def show_category_colors(self) -> None:
        """Draw tracks in their category's colour, or their own (View ▸ Colour Tracks by Category)."""
        window = self.window
        on = window.act_category_colors.isChecked()
        window.preferences.color_by_category = on
        window.canvas.color_by_category = window.timeline.color_by_category = on
        if window.session is not None:
            window.session.doc.notify(None)

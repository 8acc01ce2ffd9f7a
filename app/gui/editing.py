"""The Edit menu's edits of the selected track at the current frame (reassign, swap, merge, split, delete, set
category, copy or propagate a box) and boxes drawn on the canvas, each one step on the window's undo stack."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QInputDialog, QMessageBox

from app.edits import (
    CopyBox, DeleteObservation, DeleteTrack, EditBox, EditError, MergeTracks, ReassignId, SetCategory, SplitTrack,
    SwapIds,
)

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow


class EditsController(QObject):
    """Asks what the annotator means (another id, a category, how many frames) and applies the edit."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window

    def refused(self, exc: EditError) -> None:
        QMessageBox.warning(self.window, "Edit refused", str(exc))

    def one_track(self) -> int | None:
        """The (first) selected track; without one, the status bar says to select one."""
        if not self.window.selection:
            self.window.statusBar().showMessage("Select a track first (click it, or pick it in the table)", 5000)
            return None
        return self.window.selection[0]

    def _ask_track(self, title: str, label: str, exclude: int) -> int | None:
        """Another track: the second selected one, else asked for."""
        others = [t for t in self.window.selection if t != exclude]
        default = others[0] if others else 1
        value, ok = QInputDialog.getInt(self.window, title, label, default, 0, 2**31 - 1)
        return value if ok else None

    def copy_box_to_next(self) -> None:
        window = self.window
        track = self.one_track()
        if track is not None and window.stack.apply(CopyBox(track, window.frame)):
            window.playback.step(1)

    def propagate_box(self) -> None:
        window = self.window
        track = self.one_track()
        last = window.playback.frame_count - 1
        if track is None or window.frame >= last:
            return
        count, ok = QInputDialog.getInt(window, "Propagate box", f"Copy track {track}'s box to the next frames:",
                                        min(10, last - window.frame), 1, last - window.frame)
        if ok:
            window.stack.apply(CopyBox(track, window.frame, count))

    def reassign_id(self) -> None:
        window = self.window
        track = self.one_track()
        if track is None:
            return
        new_id, ok = QInputDialog.getInt(
            window, "Reassign ID", f"New id for track {track} from frame {window.frame} (a new or an existing track):",
            window.session.doc.next_track_id(), 0, 2**31 - 1)
        if ok and window.stack.apply(ReassignId(track, new_id, window.frame)):
            window.set_selection([new_id])

    def swap_ids(self) -> None:
        window = self.window
        track = self.one_track()
        if track is None:
            return
        if len(window.selection) == 2:
            other = window.selection[1]
        else:
            other = self._ask_track("Swap IDs", f"Swap track {track} with track (from frame {window.frame}):", track)
        if other is not None:
            window.stack.apply(SwapIds(track, other, window.frame))

    def merge_into(self) -> None:
        window = self.window
        if len(window.selection) > 1:
            window.track_edits.merge_selected()
            return
        source = self.one_track()
        if source is None:
            return
        target = self._ask_track("Merge tracks", f"Merge track {source} into track:", source)
        if target is None:
            return
        doc = window.session.doc
        shared = np.intersect1d(doc.track_timeline(target).frames, doc.track_timeline(source).frames)
        keep = self.ask_overlap_winner(target, (source,), shared.size) if shared.size else None
        if (keep is not None or not shared.size) and window.stack.apply(MergeTracks(target, source, keep)):
            window.set_selection([target])

    def ask_overlap_winner(self, target: int, sources: tuple[int, ...], frames: int) -> str | None:
        """Which boxes win on the frames merged tracks share ("target", "source"; None: cancel)."""
        source = ", ".join(map(str, sources))
        box = QMessageBox(QMessageBox.Icon.Question, "Tracks overlap",
                          f"Tracks {target} and {source} both have boxes on {frames} frames. Which boxes stay?",
                          QMessageBox.StandardButton.Cancel, self.window)
        keep_target = box.addButton(f"Keep {target}'s", QMessageBox.ButtonRole.AcceptRole)
        keep_source = box.addButton(f"Keep {source}'s", QMessageBox.ButtonRole.AcceptRole)
        box.exec()
        return {keep_target: "target", keep_source: "source"}.get(box.clickedButton())

    def split_here(self) -> None:
        track = self.one_track()
        if track is not None:
            edit = SplitTrack(track, start=self.window.frame)
            if self.window.stack.apply(edit):
                self.window.set_selection([edit.new_id])

    def delete_box(self) -> None:
        track = self.one_track()
        if track is not None:
            self.window.stack.apply(DeleteObservation(track, self.window.frame))

    def delete_from_here(self) -> None:
        track = self.one_track()
        if track is not None:
            self.window.stack.apply(DeleteTrack(track, start=self.window.frame))

    def delete_track(self) -> None:
        window = self.window
        if window.track_edits.delete_timeline_range():
            return
        for track in list(window.selection):
            window.stack.apply(DeleteTrack(track))

    def set_category(self) -> None:
        """Set the category of every selected track."""
        window = self.window
        tracks = list(window.selection)
        if window.session is None or not tracks:
            return
        doc = window.session.doc
        names = sorted(doc.categories().values())
        current = doc.track_label(tracks[0])
        which = f"track {tracks[0]}" if len(tracks) == 1 else f"the {len(tracks)} selected tracks"
        name, ok = QInputDialog.getItem(window, "Set category", f"Category of {which} (type a new one to add it):",
                                        names or ["person"], names.index(current) if current in names else 0, True)
        if ok and name.strip():
            window.stack.apply(SetCategory(tuple(tracks), doc.category_id(name.strip())))

    def default_category(self) -> int | None:
        """The category a new track gets: the project's default, else the selected track's, else the most common."""
        window = self.window
        doc = window.session.doc
        if doc.default_category() is not None:
            return doc.default_category()
        categories = [t.category_id for t in doc.tracks() if t.category_id is not None]
        chosen = [t.category_id for t in doc.tracks() if t.id in window.selection and t.category_id is not None]
        return chosen[0] if chosen else max(set(categories), key=categories.count, default=None)

    def new_track_box(self, frame: int, box: tuple) -> None:
        """A box drawn on empty space: a new track of the default category."""
        track = self.window.session.doc.next_track_id()
        if self.window.stack.apply(EditBox(track, frame, box, self.default_category())):
            self.window.set_selection([track])

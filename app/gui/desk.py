"""The annotator's desk: which tracks are drawn and editable (hide, solo, lock), the labels toggle,
the playback speed and the frame a project reopens at.

Hidden, soloed and locked tracks are view state of the window (``app.visibility``): not saved, reset
when a project is opened. The labels toggle is a preference; the last frame shown is saved in the
project (``meta`` key ``last_frame``), so a project reopens where it was left, on any machine.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QComboBox

from app.document import Document
from app.edits import Edit, MarkReviewed
from app.gui.actions import SPEED_ACTIONS, VISIBILITY_ACTIONS
from app.gui.playback import SPEEDS
from app.gui.project import Session
from app.visibility import TrackVisibility
from tracker.errors import MaskletError
from widgets.legend import Legend

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow

_log = logging.getLogger(__name__)

LAST_FRAME_KEY = "last_frame"


class DeskController(QObject):
    """Track visibility and lock actions, playback speed actions, the legend, the project's last frame."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.visibility = TrackVisibility()
        self.legend = Legend()
        actions = window.registry
        self.act_hide, self.act_solo, self.act_show_all, self.act_lock, self.act_unlock_all = self.visibility_actions \
            = actions.named(VISIBILITY_ACTIONS)
        self.act_slower, self.act_faster, self.act_normal_speed = self.speed_actions = actions.named(SPEED_ACTIONS)
        playback = window.playback
        self.speed_box = QComboBox()
        self.speed_box.setToolTip("Playback speed ([ slower, ] faster, = normal)")
        self.speed_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the window (Space plays)
        for speed in SPEEDS:
            self.speed_box.addItem(f"{speed:g}×", speed)
        self.speed_box.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_box.activated.connect(lambda index: playback.set_speed(self.speed_box.itemData(index)))
        playback.speedChanged.connect(self._on_speed)
        labels = actions["layer_labels"]
        labels.setChecked(window.preferences.show_labels)
        labels.toggled.connect(lambda on: setattr(window.preferences, "show_labels", on))
        window.canvas.set_layers(labels=labels.isChecked())
        window.canvas.editRefused.connect(self._status)
        window.stack.blocked.connect(self._status)
        window.stack.guard = self._guard

    # ------------------------------------------------------------------ visibility
    def toggle_hidden(self) -> None:
        if self._selected():
            self.visibility.toggle_hidden(self.window.selection)
            self.apply()

    def toggle_solo(self) -> None:
        if self._selected():
            self.visibility.toggle_solo(self.window.selection)
            self.apply()

    def show_all(self) -> None:
        self.visibility.show_all()
        self.apply()

    def toggle_locked(self) -> None:
        if self._selected():
            self.visibility.toggle_locked(self.window.selection)
            self.apply()

    def unlock_all(self) -> None:
        self.visibility.unlock_all()
        self.apply()

    def apply(self) -> None:
        """Show the view state in the canvas, the timeline and the table (after a change of it or of the tracks)."""
        session = self.window.session
        track_ids = [] if session is None else [t.id for t in session.doc.tracks()]
        hidden = frozenset(self.visibility.invisible(track_ids))
        locked = frozenset(self.visibility.locked)
        self.window.canvas.set_view_state(hidden, locked)
        self.window.timeline.set_hidden(hidden)
        self.window.table.set_view_state(hidden, locked)

    def _selected(self) -> bool:
        if not self.window.selection:
            self._status("Select a track first (click it, or pick it in the table)")
        return bool(self.window.selection)

    def _guard(self, edit: Edit, doc: Document) -> str | None:
        """Why ``edit`` may not be made: it changes a locked track (reviewing one changes nothing of it)."""
        if isinstance(edit, MarkReviewed):
            return None
        locked = self.visibility.locked_among(edit.scope(doc).track_ids)
        if not locked:
            return None
        which = f"Track {locked[0]} is" if len(locked) == 1 else f"Tracks {', '.join(map(str, locked))} are"
        return f"{which} locked: unlock {'it' if len(locked) == 1 else 'them'} to edit (Ctrl+K)"

    def _status(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 6000)

    # ------------------------------------------------------------------ playback
    def _on_speed(self, speed: float) -> None:
        self.speed_box.setCurrentIndex(self.speed_box.findData(speed))
        self._status(f"Playback at {speed:g}× speed")

    def fps_text(self, fps: float) -> str:
        """The status bar's rate: frames shown per second, and the speed when it is not 1×."""
        speed = self.window.playback.speed
        return f"{fps:.1f} fps" + ("" if speed == 1.0 else f" at {speed:g}×")

    # ------------------------------------------------------------------ projects
    def open(self, session: Session) -> None:
        """A project was opened: every track visible and unlocked, at the frame it was left at."""
        self.visibility = TrackVisibility()
        self.apply()
        try:
            frame = session.doc.get_meta(LAST_FRAME_KEY)
        except MaskletError:  # an unreadable value: start at the first frame
            frame = None
        if isinstance(frame, int) and 0 < frame < self.window.playback.frame_count:
            self.window.playback.seek(frame)

    def close(self, session: Session) -> None:
        """A project is being closed: remember its frame (a read-only one cannot be written)."""
        if session.read_only_reason is not None or self.window.playback.frame_count == 0:
            return
        try:
            session.doc.set_meta(LAST_FRAME_KEY, self.window.playback.frame)
        except MaskletError:  # only a convenience: the project's labels are all saved already
            _log.warning("the last frame of %s was not saved", session.doc.path, exc_info=True)

"""The main window: canvas in the centre, track table on the right, timeline at the bottom; menus,
toolbar and status bar built from the action registry (``app.gui.actions``). It builds the shared views and
services and wires them to the controllers: sessions, edits, tracking runs, import and export, review, events,
corrections and the desk."""
from __future__ import annotations

import importlib.metadata
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QCloseEvent, QDesktopServices
from PySide6.QtWidgets import (
    QDialog, QDockWidget, QHBoxLayout, QInputDialog, QLabel, QMainWindow, QMenu, QMessageBox, QProgressBar, QSlider,
    QToolButton, QVBoxLayout, QWidget,
)

from app.document import Document, Scope
from app.edits import EditBox
from app.gui.actions import ID_ACTIONS, REVIEW_ACTIONS, TOOLS, ActionRegistry, icon
from app.gui.desk import DeskController
from app.gui.dialogs import PreferencesDialog
from app.gui.editing import EditsController
from app.gui.events import EventsController
from app.gui.playback import FrameReader, Playback
from app.gui.prompting import PromptDesk
from app.gui.project import Session
from app.gui.review import ReviewController
from app.gui.runs import RunController
from app.gui.sessions import SessionController
from app.gui.settings import Preferences
from app.gui.shortcuts import ShortcutSheet, Shortcuts
from app.gui.track_edits import TrackEditsController
from app.gui.tracking_worker import DeviceProbe, TrackingController
from app.gui.transfer import TransferController
from app.gui.undo import EditStack
from app.review import ReviewItem, next_flagged_frame, step_episode
from tracker.errors import VideoError
from tracker.models import MODEL_NAMES
from widgets.events_panel import EventsPanel
from widgets.legend import with_legend
from widgets.prompt_panel import PromptPanel
from widgets.review_queue import ReviewQueueWidget
from widgets.start_page import StartPage
from widgets.timeline import TimelineWidget
from widgets.track_table import TrackTable
from widgets.video_canvas import Tool, VideoCanvas

LAYOUT_VERSION = 1
REFRESH_DELAY_MS = 300
"""How long document changes are collected, at least, before the views reload while a job streams results."""
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide.md"


def masklet_version() -> str:
    """The installed package's version."""
    try:
        return importlib.metadata.version("masklet")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


class MainWindow(QMainWindow):
    """Masklet's main window. ``settings`` defaults to the application's ``QSettings``. Each registry action
    ``x`` is its ``act_x``."""

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Masklet")
        self.preferences = Preferences(settings if settings is not None else QSettings())
        self.shortcuts = Shortcuts(self.preferences.qsettings)
        self.session: Session | None = None
        self.reader: FrameReader | None = None
        self.selection: list[int] = []
        self.conflict_index = -1
        self._dirty: Scope | None = None
        self._dirty_all = False
        self._refresh_ms = 0.0
        """How long the last reload of the views took."""
        self._probe: DeviceProbe | None = None
        self.editing = EditsController(self)
        self.stack = EditStack(self.editing.refused, self)
        self.tracking = TrackingController(self.stack, self)
        self.playback = Playback(self)
        self.canvas = VideoCanvas()
        self.timeline = TimelineWidget()
        self.table = TrackTable()
        self.review_queue = ReviewQueueWidget()
        self.review = ReviewController(self.stack, self.review_queue, self.timeline, self)
        self.events_panel = EventsPanel()
        self.events = EventsController(self.stack, self.events_panel, self.timeline, self)
        self.prompt_panel = PromptPanel(MODEL_NAMES)
        self.registry = ActionRegistry(self, self.shortcuts)
        for name, action in self.registry.actions.items():
            setattr(self, f"act_{name}", action)
        self.menus = self.registry.menus
        self.tool_actions = {tool: self.registry[f"tool_{tool.name.lower()}"] for tool, *_ in TOOLS}
        self.run_actions = self.registry.prefixed("run_")
        self.layer_actions = self.registry.prefixed("layer_")
        self.id_actions = self.registry.named(ID_ACTIONS)
        self.review_actions = self.registry.named(REVIEW_ACTIONS)
        self.prompting = PromptDesk(self, self.tracking, self.canvas, self.prompt_panel,
                                     lambda: self.session.doc.categories().get(self.editing.default_category()),
                                     self.preferences, (self.act_propagate_prompts, self.act_discard_prompts))
        self.track_edits = TrackEditsController(self)
        self.refresh_timer = QTimer(self)
        self.refresh_timer.setSingleShot(True)
        self.refresh_timer.timeout.connect(self._apply_changes)
        self._set_initial_checks()
        self.desk = DeskController(self)
        self.sessions = SessionController(self)
        self._build_central()
        self._build_docks()
        self.recent_menu = QMenu("Open &Recent", self)
        self.registry.build_menus(self.recent_menu, [dock.toggleViewAction() for dock in (
            self.table_dock, self.timeline_dock, self.review_dock, self.events_dock, self.prompt_dock)])
        self.registry.build_toolbar()
        self._build_status()
        self.transfer = TransferController(self)
        self.runs = RunController(self)
        self.sessions.rebuild_recent()
        self._connect()
        self._restore_layout()
        self.update_enabled()

    # ================================================================== construction
    def _set_initial_checks(self) -> None:
        """The checkable actions' first states: the canvas's layers, the preferences, Select, first-frame order."""
        for name, action in self.layer_actions.items():
            action.setChecked(getattr(self.canvas.layers, name))
        self.act_category_colors.setChecked(self.preferences.color_by_category)
        self.track_edits.show_category_colors()
        self.tool_actions[Tool.SELECT].setChecked(True)
        self.act_sort_first.setChecked(True)

    def _build_central(self) -> None:
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.valueChanged.connect(self.playback.seek)
        self.frame_field = QLabel("—")
        self.frame_field.setMinimumWidth(110)
        self.frame_field.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        transport = QWidget()
        transport.setObjectName("transport")
        row = QHBoxLayout(transport)
        row.setContentsMargins(8, 4, 8, 4)
        for action in (self.act_first, self.act_prev10, self.act_prev, self.act_play, self.act_next, self.act_next10,
                       self.act_last):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setAutoRaise(True)
            row.addWidget(button)
        row.addWidget(self.slider, 1)
        row.addWidget(self.frame_field)
        row.addWidget(self.desk.speed_box)
        video = QWidget()
        column = QVBoxLayout(video)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.canvas, 1)
        column.addWidget(transport)
        self.start_page = StartPage()
        self.start_page.openVideo.connect(self.sessions.open_video_dialog)
        self.start_page.openFolder.connect(self.sessions.open_folder_dialog)
        self.start_page.openProject.connect(self.sessions.open_project_dialog)
        self.start_page.openPath.connect(self.sessions.open_recent)
        self.video_page = video
        central = QWidget()
        pages = QVBoxLayout(central)  # one page shown at a time; a hidden page does not widen the window
        pages.setContentsMargins(0, 0, 0, 0)
        pages.addWidget(self.start_page)
        pages.addWidget(video)
        video.hide()
        self.setCentralWidget(central)

    def _build_docks(self) -> None:
        self.table_dock = QDockWidget("Tracks", self)
        self.table_dock.setObjectName("tracksDock")
        self.table_dock.setWidget(self.table)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.table_dock)
        self.timeline_dock = QDockWidget("Timeline", self)
        self.timeline_dock.setObjectName("timelineDock")
        self.timeline_dock.setWidget(with_legend(self.timeline, self.desk.legend))
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.timeline_dock)
        self.review_dock = QDockWidget("Review", self)
        self.review_dock.setObjectName("reviewDock")
        self.review_dock.setWidget(self.review_queue)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.review_dock)
        self.review_dock.visibilityChanged.connect(self.review.show)
        self.events_dock = QDockWidget("Events", self)
        self.events_dock.setObjectName("eventsDock")
        self.events_dock.setWidget(self.events_panel)
        self.tabifyDockWidget(self.review_dock, self.events_dock)
        self.events_dock.visibilityChanged.connect(self.events.show)
        self.prompt_dock = QDockWidget("Corrections", self)
        self.prompt_dock.setObjectName("correctionsDock")
        self.prompt_dock.setWidget(self.prompt_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.prompt_dock)
        self.prompt_dock.hide()  # until a correction starts (or View ▸ Panels)
        self.prompting.controller.replayProgress.connect(lambda *_: self.prompt_dock.show())
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.table.set_context_actions([*self.id_actions, *self.desk.visibility_actions])

    def _build_status(self) -> None:
        status = self.statusBar()
        self.frame_label = QLabel("No video")
        self.frame_label.setObjectName("frameLabel")
        self.fps_label = QLabel("")
        self.device_label = QLabel("device: auto")
        self.job_label = QLabel("")
        self.read_only_label = QLabel("")
        self.read_only_label.setObjectName("readOnlyLabel")
        self.read_only_label.setStyleSheet("color: #c0392b; font-weight: bold")
        self.read_only_label.hide()
        self.progress = QProgressBar()
        self.progress.setFixedWidth(160)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.warnings_button = QToolButton()
        self.warnings_button.setObjectName("warningsButton")
        self.warnings_button.hide()
        status.addPermanentWidget(self.warnings_button)
        status.addPermanentWidget(self.read_only_label)
        status.addPermanentWidget(self.job_label)
        status.addPermanentWidget(self.progress)
        status.addPermanentWidget(self.device_label)
        status.addPermanentWidget(self.fps_label)
        status.addPermanentWidget(self.frame_label)

    def _connect(self) -> None:
        self.playback.frameChanged.connect(self._show_frame)
        self.playback.playingChanged.connect(self._on_playing)
        self.playback.fpsChanged.connect(lambda fps: self.fps_label.setText(self.desk.fps_text(fps)))
        for view in (self.canvas, self.timeline, self.table):
            view.tracksSelected.connect(self.set_selection)
        self.timeline.frameRequested.connect(self.playback.seek)
        self.table.frameRequested.connect(self.playback.seek)
        self.canvas.boxEdited.connect(lambda tid, frame, box: self.stack.apply(EditBox(tid, frame, box)))
        self.canvas.boxDrawn.connect(self.editing.new_track_box)
        self.canvas.promptRequested.connect(lambda _: self.playback.pause())
        self.stack.indexChanged.connect(lambda _: self.update_enabled())
        self.events.goto.connect(self.show_event)
        self.events.message.connect(lambda text: self.statusBar().showMessage(text, 4000))
        self.review.goto.connect(self.goto_item)

    # ================================================================== layout and settings
    def _restore_layout(self) -> None:
        settings = self.preferences.qsettings
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and self.restoreGeometry(geometry):
            state = settings.value("window/state")
            if isinstance(state, QByteArray):
                self.restoreState(state, LAYOUT_VERSION)
            return
        self.resize(1480, 920)
        self.resizeDocks([self.table_dock], [500], Qt.Orientation.Horizontal)
        self.resizeDocks([self.timeline_dock], [250], Qt.Orientation.Vertical)

    def _save_layout(self) -> None:
        settings = self.preferences.qsettings
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.prompting.controller.shutdown()
        self.tracking.shutdown()
        if self._probe is not None:
            self._probe.wait(3000)
        self._save_layout()
        self.sessions.close_session()
        super().closeEvent(event)

    @property
    def read_only(self) -> bool:
        """Whether the open project cannot be edited (``session.read_only_reason`` says why)."""
        return self.session is not None and self.session.read_only_reason is not None

    # ================================================================== document changes
    def on_document_changed(self, scope: Scope | None) -> None:
        """Collect changes; the views reload once per event-loop pass (or every 300 ms while a job streams)."""
        if scope is None or self._dirty_all:
            self._dirty_all, self._dirty = True, None
        elif self._dirty is None:
            self._dirty = scope
        else:
            ends = (self._dirty.stop, scope.stop)
            self._dirty = Scope(
                tuple(sorted(set(self._dirty.track_ids) | set(scope.track_ids))), min(self._dirty.start, scope.start),
                None if None in ends else max(ends),
            )
        if not self.refresh_timer.isActive():
            # While a job streams frames, reloading takes at most a sixth of the time.
            delay = max(REFRESH_DELAY_MS, 5 * self._refresh_ms) if self.tracking.busy else 0
            self.refresh_timer.start(round(delay))

    def _apply_changes(self) -> None:
        if self.session is None:
            return
        begin = time.perf_counter()
        doc = self.session.doc
        scope = None if self._dirty_all else self._dirty
        self._dirty_all, self._dirty = False, None
        self.timeline.load(doc, None if scope is None else scope.track_ids)
        self.events.refresh()
        self.reload_tracks(doc)
        self.canvas.invalidate(scope)
        self.desk.apply()
        self._update_frame_states()
        self.review.refresh()
        existing = {t.id for t in doc.tracks()}
        if any(t not in existing for t in self.selection):
            self.set_selection([t for t in self.selection if t in existing])
        self._refresh_ms = (time.perf_counter() - begin) * 1000

    def reload_tracks(self, doc: Document) -> None:
        self.table.set_tracks(self.events.track_summaries(), doc.categories())
        self.table.set_selection(self.selection)  # tracks just made by an edit are selected in the window

    # ================================================================== frames and selection
    def _frame_image(self, frame: int) -> np.ndarray | None:
        if self.reader is not None:
            try:
                return self.reader[frame]
            except VideoError as exc:
                self.statusBar().showMessage(str(exc), 8000)
        video = self.session.doc.video if self.session is not None else None
        return None if video is None else np.zeros((video.height, video.width, 3), np.uint8)

    def _show_frame(self, frame: int) -> None:
        rgb = self._frame_image(frame)
        if rgb is not None:
            self.canvas.show_frame(frame, rgb)
        self.timeline.set_current_frame(frame)
        self._update_frame_states()
        self.slider.blockSignals(True)
        self.slider.setValue(frame)
        self.slider.blockSignals(False)
        total = self.playback.frame_count
        self.frame_field.setText(f"{frame} / {total - 1}")
        self.frame_label.setText(f"Frame {frame} of {total}")
        if self.playback.playing and self.reader is not None:
            self.reader.read_ahead(frame)

    def _update_frame_states(self) -> None:
        self.table.set_states({obs.track_id: obs.state for obs in self.canvas.observations()})

    def _on_playing(self, playing: bool) -> None:
        self.act_play.setIcon(icon("mdi6.pause" if playing else "mdi6.play"))
        if not playing:
            self.fps_label.setText("")

    @property
    def frame(self) -> int:
        return self.playback.frame

    def set_selection(self, track_ids: list[int]) -> None:
        track_ids = list(dict.fromkeys(int(t) for t in track_ids))
        if track_ids == self.selection:
            return
        self.selection = track_ids
        self.canvas.set_selection(track_ids)
        self.timeline.set_selection(track_ids)
        self.table.set_selection(track_ids)
        self.events_panel.set_selection(track_ids)
        self.update_enabled()

    def goto_frame_dialog(self) -> None:
        if self.playback.frame_count == 0:
            return
        frame, ok = QInputDialog.getInt(self, "Go to frame", f"Frame (0–{self.playback.frame_count - 1}):",
                                        self.frame, 0, self.playback.frame_count - 1)
        if ok:
            self.playback.seek(frame)

    def goto_conflict(self, direction: int) -> None:
        """Jump to the next (1) or previous (-1) open conflict episode and select its two tracks."""
        episodes = self.events.episodes
        index = step_episode(episodes, self.conflict_index, self.frame, direction)
        if index is None:
            self.statusBar().showMessage(
                "No more conflicts" if any(not e.resolved for e in episodes) else "No open conflicts", 4000)
            return
        self.conflict_index = index
        self.show_event(episodes[index].item.start, episodes[index].item.tracks)
        self.statusBar().showMessage(f"{episodes[index].item.describe()} (Shift+V: mark it resolved)", 8000)

    def show_event(self, frame: int, tracks: list[int]) -> None:
        """Go to ``frame`` and select ``tracks``."""
        self.playback.pause()
        self.playback.seek(frame)
        self.set_selection(tracks)

    def goto_flagged(self, direction: int) -> None:
        """Jump to the next (1) or previous (-1) pending, suspicious or lost frame of the selected track."""
        track = self.editing.one_track()
        if track is None:
            return
        frame = next_flagged_frame(self.session.doc.track_timeline(track), self.frame, direction)
        if frame is None:
            self.statusBar().showMessage(f"Track {track}: no more pending, suspicious or lost frames", 4000)
            return
        self.playback.pause()
        self.playback.seek(frame)

    def step_review(self, direction: int) -> None:
        """Go to the next (1) or previous (-1) review item, showing the queue."""
        self.review_dock.show()
        self.review_dock.raise_()  # in front of the events dock it shares tabs with
        self.review.step(direction)

    def goto_item(self, item: ReviewItem) -> None:
        """Show a review item: its first frame, its tracks selected."""
        self.playback.pause()
        self.playback.seek(item.start)
        self.set_selection(item.tracks)
        self.statusBar().showMessage(f"Review: {item.describe()} (risk {item.risk:.2f})", 8000)

    # ================================================================== misc
    def preferences_dialog(self) -> None:
        dialog = PreferencesDialog(self.preferences, self, self.act_edit_shortcuts.trigger)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.canvas.mask_opacity = self.preferences.mask_opacity
            self.canvas.invalidate()
            self.canvas.refresh()

    def show_shortcuts(self) -> None:
        ShortcutSheet(self.menus, self).exec()

    def show_guide(self) -> None:
        """The user guide (``docs/guide.md``) in the system's viewer."""
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(GUIDE))):
            self.statusBar().showMessage(f"The user guide is {GUIDE}", 10000)

    def about(self) -> None:
        QMessageBox.about(self, "About Masklet", f"<b>Masklet {masklet_version()}</b><br>Pre-label multi-object "
                          "tracking ground truth with SAM2-based trackers, then correct it fast.<br>"
                          "Licence: AGPL-3.0-or-later.")

    def probe_device(self) -> None:
        """Show the compute device in the status bar once torch has been imported in the background."""
        self._probe = DeviceProbe(self)
        self._probe.found.connect(lambda text: self.device_label.setText(f"device: {text}"))
        self._probe.found.connect(self.prompt_panel.set_device)
        self._probe.start()

    def save_screenshot(self, path: Path) -> None:
        self.grab().save(str(path))

    def update_enabled(self) -> None:
        """Actions enabled as the open project, selection and job allow; the read-only flag in the status bar."""
        self.registry.update_enabled(self.session, self.read_only, bool(self.selection), self.tracking)
        reason = self.session.read_only_reason if self.read_only else None
        self.read_only_label.setText("" if reason is None else "Read-only")
        self.read_only_label.setToolTip(reason or "")
        self.read_only_label.setVisible(reason is not None)

"""The main window: canvas in the centre, track table on the right, timeline at the bottom; menus,
toolbar and status bar. It wires the widgets' intents to edits (through the undo stack), playback
and the tracking controller."""
from __future__ import annotations

import importlib.metadata
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import qtawesome as qta
from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDesktopServices, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDialog, QDockWidget, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QMainWindow, QMenu, QMessageBox,
    QProgressBar, QSlider, QToolButton, QVBoxLayout, QWidget,
)

from app.document import PROJECT_SUFFIX, Document, Scope
from app.edits import (
    CopyBox, DeleteObservation, DeleteTrack, EditBox, EditError, MergeTracks, ReassignId, SetCategory, SplitTrack,
    SwapIds,
)
from app.gui.desk import DeskController
from app.gui.dialogs import ExportDialog, ExportRequest, ImportDialog, PreferencesDialog, RunDialog, ShortcutSheet
from app.gui.errors import Remedy, in_gui_words, show_error
from app.gui.events import EventsController
from app.gui.playback import FrameReader, Playback
from app.gui.prompting import PromptDesk
from app.gui.project import Session, open_project, open_video
from app.gui.review import ReviewController
from app.gui.settings import Preferences
from app.gui.shortcuts import ShortcutEditor, Shortcuts
from app.gui.track_edits import TrackEditsController
from app.gui.tracking_worker import ENGINE_LABELS, DeviceProbe, TrackingController
from app.gui.undo import EditStack, ImportLabels
from app.review import ReviewItem, next_flagged_frame, step_episode
from app.tracking_run import TrackingRun
from exporters import registry
from exporters.base import read_report
from tracker.engine_options import EngineOptions
from tracker.errors import MaskletError, VideoError
from tracker.models import MODEL_NAMES
from tracker.video import VIDEO_EXTENSIONS, VideoSource
from widgets.events_panel import EventsPanel
from widgets.timeline import SORT_KEYS, TimelineWidget
from widgets.legend import with_legend
from widgets.review_queue import ReviewQueueWidget
from widgets.start_page import StartPage
from widgets.track_table import TrackTable
from widgets.prompt_panel import PromptPanel
from widgets.video_canvas import Tool, VideoCanvas

LAYOUT_VERSION = 1
VIDEO_FILTER = f"Videos ({' '.join('*' + suffix for suffix in sorted(VIDEO_EXTENSIONS))});;All files (*)"
PROJECT_FILTER = f"Masklet projects (*{PROJECT_SUFFIX})"
REFRESH_DELAY_MS = 300
"""How long document changes are collected, at least, before the views reload while a job streams results."""
ICON_COLOR = "#c9d1d9"
TOOLS = (
    (Tool.SELECT, "Select", "1", "mdi6.cursor-default-outline", "Click a mask or box to select its track; drag to pan"),
    (Tool.EDIT_BOX, "Edit Box", "2", "mdi6.vector-square-edit",
     "Drag a selected box or its handles; drag on empty space to draw a new track"),
    (Tool.POSITIVE_POINT, "Positive Point", "3", "mdi6.plus-circle-outline",
     "SAM2: click on an object to correct its track (on empty space: a new track)"),
    (Tool.NEGATIVE_POINT, "Negative Point", "4", "mdi6.minus-circle-outline",
     "SAM2: click where a track's mask should not be"),
    (Tool.BOX_PROMPT, "Box Prompt", "5", "mdi6.selection-drag",
     "SAM2: drag a box around an object (over a track: corrects it; elsewhere: a new track)"),
)
LAYERS = (("masks", "Masks", "Shift+M"), ("boxes", "Boxes", "Shift+B"), ("ids", "IDs", "Shift+I"),
          ("states", "States", "Shift+S"), ("trails", "Trails", "Shift+T"), ("labels", "Labels", "Ctrl+Shift+L"))
SORT_LABELS = {"first": "First Frame", "id": "Track ID", "conflicts": "Number of Conflicts"}


def icon(name: str) -> QIcon:
    return qta.icon(name, color=ICON_COLOR, color_disabled="#484f58")


GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide.md"


def masklet_version() -> str:
    """The installed package's version."""
    try:
        return importlib.metadata.version("masklet")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


class MainWindow(QMainWindow):
    """Masklet's main window. ``settings`` defaults to the application's ``QSettings``."""

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Masklet")
        self.preferences = Preferences(settings if settings is not None else QSettings())
        self.shortcuts = Shortcuts(self.preferences.qsettings)
        self.session: Session | None = None
        self.reader: FrameReader | None = None
        self.selection: list[int] = []
        self.warnings: list[str] = []  # the last import/export/open summary and its warnings
        self._conflict_index = -1
        self._dirty: Scope | None = None
        self._dirty_all = False
        self._refresh_ms = 0.0
        """How long the last reload of the views took."""
        self._probe: DeviceProbe | None = None
        self._last_run: EngineOptions | None = None
        self.stack = EditStack(self._refused, self)
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
        self.prompting = PromptDesk(self, self.tracking, self.canvas, self.prompt_panel,
                                     lambda: self.session.doc.categories().get(self._default_category()),
                                     self.preferences)
        self.track_edits = TrackEditsController(self)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.timeout.connect(self._apply_changes)
        self._create_actions()
        self._build_central()
        self._build_docks()
        self._build_menus()
        self._build_toolbar()
        self._build_status()
        self._connect()
        self._restore_layout()
        self._update_enabled()

    # ================================================================== construction
    def _action(
        self, text: str, slot: Callable[[], object] | None = None,
        shortcut: str | QKeySequence.StandardKey | list[str] | None = None,
        icon_name: str | None = None, tip: str = "", checkable: bool = False,
    ) -> QAction:
        action = QAction(text, self)
        if isinstance(shortcut, QKeySequence.StandardKey):
            action.setShortcuts(shortcut)
        elif shortcut is not None:
            action.setShortcuts([QKeySequence(s) for s in (shortcut if isinstance(shortcut, list) else [shortcut])])
        if icon_name:
            action.setIcon(icon(icon_name))
        action.setCheckable(checkable)
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        if slot is not None:
            action.triggered.connect(lambda _checked=False: slot())
        self.shortcuts.register(action)  # the user's keys replace the defaults
        self.addAction(action)  # shortcuts work wherever the focus is in the window
        return action

    def _create_actions(self) -> None:
        a = self._action
        # file
        self.act_open_video = a("Open &Video…", self.open_video_dialog, QKeySequence.StandardKey.Open,
                                "mdi6.file-video-outline", "Open a video; its project is created or reopened")
        self.act_open_folder = a("Open Image &Folder…", self.open_folder_dialog, "Ctrl+Shift+O", "mdi6.folder-image",
                                 "Open a folder of images or a MOTChallenge sequence")
        self.act_open_project = a("Open &Project…", self.open_project_dialog, "Ctrl+Alt+O", "mdi6.folder-open-outline")
        self.act_import = a("&Import Labels…", self.import_labels, "Ctrl+I", "mdi6.import",
                            "Import MOT, COCO-VID, … labels onto the open video")
        self.act_export = a("&Export Labels…", self.export_labels, "Ctrl+E", "mdi6.export")
        self.act_save_as = a("Save Project &As…", self.save_as, QKeySequence.StandardKey.SaveAs,
                             "mdi6.content-save-edit-outline",
                             "The project is saved automatically; choose where it lives")
        self.act_quit = a("&Quit", self.close, QKeySequence.StandardKey.Quit)
        # edit
        self.act_undo = self.stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcuts(QKeySequence.StandardKey.Undo)
        self.act_undo.setIcon(icon("mdi6.undo"))
        self.act_redo = self.stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.act_redo.setIcon(icon("mdi6.redo"))
        self.addActions([self.act_undo, self.act_redo])
        for action in (self.act_undo, self.act_redo):
            self.shortcuts.register(action)
        self.act_reassign = a("&Reassign ID From Here…", self.reassign_id, "R", "mdi6.pound",
                              "Give the selected track another id from the current frame on")
        self.act_swap = a("S&wap IDs From Here…", self.swap_ids, "W", "mdi6.swap-horizontal",
                          "Exchange the ids of two tracks from the current frame on")
        self.act_merge = a("&Merge Into…", self.merge_into, "M", "mdi6.call-merge",
                           "Join the selected track to another track")
        self.act_split = a("S&plit Here", self.split_here, "K", "mdi6.content-cut",
                           "Frames from here on become a new track")
        self.act_delete_box = a("Delete &Box at This Frame", self.delete_box, "Backspace", "mdi6.vector-square-remove")
        self.act_delete_from = a("Delete Track From &Here", self.delete_from_here, "Shift+Delete",
                                 "mdi6.delete-sweep-outline")
        self.act_delete_frames = a("Delete Frame&s…", self.track_edits.delete_frames, "Ctrl+Del",
                                   "mdi6.delete-clock-outline", "Delete frames N to M of the selected track (Shift+drag on its timeline lane)")
        # "Del" alone: the platform's Delete binding may add Ctrl+D, Copy Box to Next Frame's key
        self.act_delete_track = a("&Delete Track", self.delete_track, "Del",
                                  "mdi6.delete-outline")
        self.act_category = a("Set &Category…", self.set_category, "C", "mdi6.tag-outline")
        self.act_copy_next = a("C&opy Box to Next Frame", self.copy_box_to_next, "Ctrl+D", "mdi6.content-copy",
                               "Copy the selected track's box to the next frame and go there")
        self.act_propagate_box = a("Propagate Bo&x…", self.propagate_box, "Shift+D", "mdi6.content-duplicate",
                                   "Copy the selected track's box to the next N frames")
        self.act_categories = a("Categor&ies…", self.track_edits.edit_categories, None, "mdi6.tag-multiple-outline",
                                "Rename and merge categories, their colours, the category of new tracks")
        self.act_edit_shortcuts = a("Shor&tcuts…", lambda: ShortcutEditor(self.menus, self.shortcuts, self).exec(),
                                    None, "mdi6.keyboard-settings-outline")
        self.act_preferences = a("Pre&ferences…", self.preferences_dialog, "Ctrl+,",
                                 "mdi6.cog-outline")
        self.id_actions = [self.act_reassign, self.act_swap, self.act_merge, self.act_split, self.act_delete_box,
                           self.act_delete_from, self.act_delete_frames, self.act_delete_track, self.act_category,
                           self.act_copy_next, self.act_propagate_box]
        # tools
        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[Tool, QAction] = {}
        for tool, text, key, icon_name, tip in TOOLS:
            action = a(text, lambda tool=tool: self.canvas.set_tool(tool), key, icon_name, f"{tip} ({key})", True)
            self.tool_group.addAction(action)
            self.tool_actions[tool] = action
        self.tool_actions[Tool.SELECT].setChecked(True)
        # track
        self.run_actions = {
            name: a(f"Run {label}…", lambda name=name: self.run_engine(name), "Ctrl+R" if name == "sam2mot" else None,
                    "mdi6.play-box-outline")
            for name, label in ENGINE_LABELS.items()
        }
        self.act_pause = a("&Pause Tracking", self.tracking.pause, "Ctrl+P", "mdi6.pause")
        self.act_resume = a("Res&ume Tracking", self.tracking.resume, "Ctrl+Shift+P", "mdi6.play")
        self.act_stop = a("&Stop Tracking", self.tracking.stop, "Ctrl+.", "mdi6.stop", "Stop; finished frames are kept")
        self.act_repropagate = a("Re-propagate From This &Frame", self.repropagate, "P", "mdi6.refresh",
                                 "SAM2: track the selected object again from its mask (or box) at this frame")
        self.act_next_conflict = a("&Next Conflict", lambda: self.goto_conflict(1), "N",
                                   "mdi6.skip-next-circle-outline")
        self.act_prev_conflict = a("Pre&vious Conflict", lambda: self.goto_conflict(-1), "Shift+N",
                                   "mdi6.skip-previous-circle-outline")
        self.act_next_flagged = a("Next &Flagged Frame of Track", lambda: self.goto_flagged(1), "L",
                                  "mdi6.debug-step-over", "Next pending, suspicious or lost frame of the selected track")
        self.act_prev_flagged = a("Previous Flagged Frame of Track", lambda: self.goto_flagged(-1), "Shift+L")
        self.act_next_item = a("Next Review &Item", lambda: self.step_review(1), "J", "mdi6.format-list-checks",
                               "Go to the next item of the review queue (in the queue: J / K, Enter)")
        self.act_prev_item = a("Previous Review Item", lambda: self.step_review(-1), "Shift+J")
        self.act_mark_reviewed = a("Mark Item Re&viewed", self.review.mark_reviewed, "V", "mdi6.check-circle-outline",
                                   "The selected review item is checked (undoable)")
        self.act_resolve_conflict = a("Mark Conflict Re&solved",
                                      lambda: self.events.resolve_at(self.frame, self.selection), "Shift+V",
                                      "mdi6.check-decagram-outline",
                                      "The conflict shown (its tracks selected) is checked; N skips it (undoable)")
        self.review_actions = [self.act_next_flagged, self.act_prev_flagged, self.act_next_item, self.act_prev_item]
        # view
        self.act_zoom_in = a("Zoom &In", lambda: self.canvas.zoom_by(1.25), QKeySequence.StandardKey.ZoomIn,
                             "mdi6.magnify-plus-outline")
        self.act_zoom_out = a("Zoom &Out", lambda: self.canvas.zoom_by(0.8), QKeySequence.StandardKey.ZoomOut,
                              "mdi6.magnify-minus-outline")
        self.act_zoom_fit = a("Zoom to &Fit", self.canvas.zoom_fit, ["Ctrl+0", "F"], "mdi6.fit-to-screen-outline")
        self.act_zoom_actual = a("&Actual Size", self.canvas.zoom_actual, "Ctrl+1")
        self.layer_actions: dict[str, QAction] = {}
        for name, text, key in LAYERS:
            action = a(f"Show {text}", None, key, checkable=True)
            action.setChecked(getattr(self.canvas.layers, name))
            action.toggled.connect(lambda on, name=name: self.canvas.set_layers(**{name: on}))
            self.layer_actions[name] = action
        self.act_category_colors = a("Colour Tracks by &Category", self.track_edits.show_category_colors, None, None,
                                     "Boxes, masks and lanes take their category's colour", True)
        self.act_category_colors.setChecked(self.preferences.color_by_category)
        self.track_edits.show_category_colors()
        self.sort_group = QActionGroup(self)
        self.sort_actions: dict[str, QAction] = {}
        for key in SORT_KEYS:
            action = a(f"Sort Timeline by {SORT_LABELS[key]}", lambda key=key: self.timeline.set_sort(key),
                       checkable=True)
            self.sort_group.addAction(action)
            self.sort_actions[key] = action
        self.sort_actions["first"].setChecked(True)
        # playback
        self.act_play = a("&Play / Pause", self.playback.toggle, "Space", "mdi6.play")
        self.act_next = a("Next Frame", lambda: self.playback.step(1), "Right", "mdi6.step-forward")
        self.act_prev = a("Previous Frame", lambda: self.playback.step(-1), "Left", "mdi6.step-backward")
        self.act_next10 = a("Forward 10 Frames", lambda: self.playback.step(10), "Shift+Right", "mdi6.fast-forward-10")
        self.act_prev10 = a("Back 10 Frames", lambda: self.playback.step(-10), "Shift+Left", "mdi6.rewind-10")
        self.act_first = a("First Frame", lambda: self.playback.step(-self.playback.frame_count), "Home",
                           "mdi6.page-first")
        self.act_last = a("Last Frame", lambda: self.playback.step(self.playback.frame_count), "End", "mdi6.page-last")
        self.act_goto = a("&Go to Frame…", self.goto_frame_dialog, "Ctrl+G")
        self.desk = DeskController(self)
        # help
        self.act_guide = a("&User Guide", self.show_guide, None, "mdi6.book-open-variant")
        self.act_shortcuts = a("&Keyboard Shortcuts", self.show_shortcuts, ["F1", "?"], "mdi6.keyboard-outline")
        self.act_about = a("&About Masklet", self.about)

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
        self.start_page.openVideo.connect(self.open_video_dialog)
        self.start_page.openFolder.connect(self.open_folder_dialog)
        self.start_page.openProject.connect(self.open_project_dialog)
        self.start_page.openPath.connect(lambda item: self._open_recent(item))
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

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.menus: dict[str, list[QAction]] = {}

        def menu(title: str, *items: QAction | QMenu | None, parent: QMenu | None = None) -> QMenu:
            target = (parent or bar).addMenu(title)
            for item in items:
                if item is None:
                    target.addSeparator()
                elif isinstance(item, QMenu):
                    target.addMenu(item)
                else:
                    target.addAction(item)
            self.menus.setdefault(title.replace("&", ""), []).extend(i for i in items if isinstance(i, QAction))
            return target

        self.recent_menu = QMenu("Open &Recent", self)
        menu("&File", self.act_open_video, self.act_open_folder, self.act_open_project, self.recent_menu, None,
             self.act_import, self.act_export, None, self.act_save_as, None, self.act_quit)
        tools = QMenu("&Tool", self)
        tools.addActions(list(self.tool_actions.values()))
        self.menus["Tool"] = list(self.tool_actions.values())
        menu("&Edit", self.act_undo, self.act_redo, None, *self.id_actions, None, tools, None, self.act_categories,
             self.act_edit_shortcuts, self.act_preferences)
        run = QMenu("&Run", self)
        run.addActions(list(self.run_actions.values()))
        self.menus["Run"] = list(self.run_actions.values())
        menu("&Track", run, self.act_pause, self.act_resume, self.act_stop, None, self.act_repropagate,
             *self.prompting.actions, None,
             self.act_next_conflict, self.act_prev_conflict, self.act_resolve_conflict, *self.review_actions,
             self.act_mark_reviewed)
        layers = QMenu("&Layers", self)
        layers.addActions(list(self.layer_actions.values()))
        self.menus["Layers"] = list(self.layer_actions.values())
        order = QMenu("Timeline &Order", self)
        order.addActions(list(self.sort_actions.values()))
        play = QMenu("&Playback", self)
        playback_actions = [self.act_play, self.act_prev, self.act_next, self.act_prev10, self.act_next10,
                            self.act_first, self.act_last, self.act_goto, *self.desk.speed_actions]
        play.addActions(playback_actions)
        self.menus["Playback"] = playback_actions
        tracks = QMenu("&Tracks", self)
        tracks.addActions(self.desk.visibility_actions)
        self.menus["Tracks"] = self.desk.visibility_actions
        panels = QMenu("P&anels", self)
        panels.addActions([self.table_dock.toggleViewAction(), self.timeline_dock.toggleViewAction(),
                           self.review_dock.toggleViewAction(), self.events_dock.toggleViewAction(),
                           self.prompt_dock.toggleViewAction()])
        menu("&View", self.act_zoom_in, self.act_zoom_out, self.act_zoom_fit, self.act_zoom_actual, None, layers,
             tracks, self.act_category_colors, order, play, panels)
        menu("&Help", self.act_guide, self.act_shortcuts, None, self.act_about)
        self._rebuild_recent()

    def _build_toolbar(self) -> None:
        bar = self.addToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        bar.addActions([self.act_open_video, self.act_open_project, self.act_save_as])
        bar.addSeparator()
        bar.addActions([self.act_undo, self.act_redo])
        bar.addSeparator()
        bar.addActions(list(self.tool_actions.values()))
        bar.addSeparator()
        run = QToolButton()
        run.setIcon(icon("mdi6.play-box-outline"))
        run.setToolTip("Run a tracker")
        run.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        run.addActions(list(self.run_actions.values()))
        bar.addWidget(run)
        bar.addActions([self.act_pause, self.act_resume, self.act_stop, self.act_repropagate])
        bar.addSeparator()
        bar.addActions([self.act_prev_conflict, self.act_next_conflict, self.act_next_flagged, self.act_next_item])
        bar.addSeparator()
        bar.addActions([self.act_zoom_fit])
        for button in bar.findChildren(QToolButton):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)

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
        self.warnings_button.clicked.connect(self.show_warnings)
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
        self.canvas.boxDrawn.connect(self._new_track_box)
        self.canvas.promptRequested.connect(lambda _: self.playback.pause())
        self.prompting.controller.message.connect(self._on_job_message)
        self.prompting.controller.error.connect(lambda exc: self._on_job_error("correction", exc))
        self.tracking.busyChanged.connect(self._on_busy)
        self.tracking.pausedChanged.connect(lambda _: self._update_enabled())
        self.tracking.progress.connect(self._on_progress)
        self.tracking.deviceChanged.connect(lambda device: self.device_label.setText(f"device: {device}"))
        self.tracking.message.connect(self._on_job_message)
        self.tracking.error.connect(self._on_job_error)
        self.stack.indexChanged.connect(lambda _: self._update_enabled())
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

    def _rebuild_recent(self) -> None:
        self.start_page.set_recent(self.preferences.recent)
        self.recent_menu.clear()
        for item in self.preferences.recent:
            path = Path(item)
            action = self.recent_menu.addAction(f"{path.name}  —  {path.parent}")
            action.setToolTip(item)
            action.setStatusTip(item)
            action.triggered.connect(lambda _=False, item=item: self._open_recent(item))
        self.recent_menu.addSeparator()
        self.recent_menu.addAction("Clear Recent", lambda: (self.preferences.clear_recent(), self._rebuild_recent()))
        self.recent_menu.setEnabled(bool(self.preferences.recent))

    # ================================================================== opening and closing
    def open_video_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open video", "", VIDEO_FILTER)
        if path:
            self.open_path(Path(path))

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open image folder or MOTChallenge sequence")
        if path:
            self.open_path(Path(path))

    def open_project_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", "", PROJECT_FILTER)
        if path:
            self.open_path(Path(path))

    def _open_recent(self, item: str) -> None:
        """Open a Recent entry; one that no longer exists leaves the list."""
        if not Path(item).exists():
            self.preferences.remove_recent(item)
            self._rebuild_recent()
        self.open_path(Path(item))

    def open_path(self, path: Path) -> bool:
        """Open a project (``.masklet``), or a video / image folder with its project."""
        path = Path(path).expanduser().resolve()
        if self._is_open(path):  # reopening: let go of the project's write lock first
            self.close_session()
        try:
            if path.suffix == PROJECT_SUFFIX:
                session = open_project(path)
            else:
                session = open_video(path, self.preferences.data_dir, beside=self.preferences.projects_beside_video)
        except MaskletError as exc:
            self._show_error(exc)
            return False
        except OSError as exc:  # e.g. the projects folder cannot be created
            self._show_error(MaskletError(f"{path}: {exc.strerror or exc}"))
            return False
        self._set_session(session)
        self.preferences.add_recent(session.doc.path)
        self._rebuild_recent()
        if session.source is not None and session.source.warnings:
            self._report(f"Opened {session.source.name}", session.source.warnings)
        state = "new project, saved automatically" if session.created else "project"
        if session.read_only_reason is not None:
            state = f"opened read-only, edits are off ({session.read_only_reason})"
        self.statusBar().showMessage(f"{session.doc.path.name}: {state} in {session.doc.path.parent}", 10000)
        if session.source is None and session.doc.video is not None:
            self._locate_video()
        return True

    def _is_open(self, path: Path) -> bool:
        """Whether ``path`` is the open project or its video."""
        if self.session is None:
            return False
        source = self.session.source
        opened = [self.session.doc.path] + ([] if source is None else [Path(source.path)])
        return any(p is not None and p.resolve() == path.resolve() for p in opened)

    @property
    def read_only(self) -> bool:
        """Whether the open project cannot be edited (``session.read_only_reason`` says why)."""
        return self.session is not None and self.session.read_only_reason is not None

    def _set_session(self, session: Session) -> None:
        """Show ``session``; the previous one is closed, except its document when the new one shares it."""
        self.close_session(keep_document=self.session is not None and self.session.doc is session.doc)
        self.session = session
        self.start_page.hide()
        self.video_page.show()
        doc = session.doc
        doc.listeners.append(self._on_document_changed)
        self.stack.set_document(doc)
        self.reader = None if session.source is None else FrameReader(session.source)
        self.tracking.set_document(doc, None if session.source is None else session.source.path)
        self.canvas.mask_opacity = self.preferences.mask_opacity
        self.canvas.set_document(doc)
        self.set_selection([])
        self._conflict_index = -1
        self.timeline.load(doc)
        self.events.set_document(doc)
        self._reload_tracks(doc)
        self.review.set_document(doc)
        frame_count, fps = self._video_extent()
        self.slider.setRange(0, max(frame_count - 1, 0))
        self.playback.set_video(frame_count, fps)
        self.desk.open(session)
        self._update_title()
        self._update_enabled()
        if session.read_only_reason is not None:
            self.tool_actions[Tool.SELECT].trigger()

    def _video_extent(self) -> tuple[int, float]:
        """Frame count and rate of the open video (from the project when the video is missing)."""
        source, doc = self.session.source, self.session.doc
        if source is not None:
            return source.frame_count, source.fps
        video = doc.video
        span = doc.frame_range()
        if video is not None:
            return video.frame_count, video.fps
        return (span[1] + 1 if span else 0), 30.0

    def _locate_video(self) -> None:
        doc = self.session.doc
        answer = QMessageBox.question(
            self, "Video not found", f"The video of this project was not found at\n{doc.video.path}\n\nLocate it?")
        if answer != QMessageBox.StandardButton.Yes:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Locate video", str(doc.path.parent), VIDEO_FILTER)
        if not path:
            return
        try:
            source = VideoSource.open(path, cache_size=32)
        except VideoError as exc:
            self._show_error(exc)
            return
        if source.frame_count != doc.video.frame_count:
            source.close()
            self._show_error(VideoError(f"{path}: {source.frame_count} frames, the project's video has "
                                        f"{doc.video.frame_count}"))
            return
        doc.set_video(replace(source.info(), path=Path(path).resolve()))
        self._set_session(replace(self.session, source=source))

    def close_session(self, keep_document: bool = False) -> None:
        """Stop any job and close the open project (everything is already saved). ``keep_document``:
        only detach the views from it (the same document is shown again next)."""
        session, self.session = self.session, None
        if session is None:
            return
        self.tracking.shutdown()
        self.playback.pause()
        self.desk.close(session)
        self._refresh_timer.stop()
        session.doc.listeners.remove(self._on_document_changed)
        self.stack.set_document(None)
        self.tracking.set_document(None, None)
        self.canvas.set_document(None)
        self.review.set_document(None)
        self.events.set_document(None)
        if self.reader is not None:
            self.reader.close()
            self.reader = None
        self.fps_label.setText("")
        self.video_page.hide()
        self.start_page.show()
        if not keep_document:
            session.close()
        elif session.source is not None:
            session.source.close()

    def save_as(self) -> None:
        if self.session is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save project as", str(self.session.doc.path), PROJECT_FILTER)
        if not path:
            return
        path = Path(path).with_suffix(PROJECT_SUFFIX)
        if path.resolve() == self.session.doc.path.resolve():
            self.statusBar().showMessage(f"{path.name} is already saved: every change is", 8000)
            return
        try:
            self.session.doc.save_as(path, overwrite=True)  # the dialog asked before replacing a file
        except MaskletError as exc:
            self._show_error(exc)
            return
        self.session.read_only_reason = None
        self.preferences.add_recent(path)
        self._rebuild_recent()
        self._update_title()
        self._update_enabled()
        self.statusBar().showMessage(f"Saved as {path}; changes now go there", 8000)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.prompting.controller.shutdown()
        self.tracking.shutdown()
        if self._probe is not None:
            self._probe.wait(3000)
        self._save_layout()
        self.close_session()
        super().closeEvent(event)

    # ================================================================== document changes
    def _on_document_changed(self, scope: Scope | None) -> None:
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
        if not self._refresh_timer.isActive():
            # While a job streams frames, reloading takes at most a sixth of the time.
            delay = max(REFRESH_DELAY_MS, 5 * self._refresh_ms) if self.tracking.busy else 0
            self._refresh_timer.start(round(delay))

    def _apply_changes(self) -> None:
        if self.session is None:
            return
        begin = time.perf_counter()
        doc = self.session.doc
        scope = None if self._dirty_all else self._dirty
        self._dirty_all, self._dirty = False, None
        self.timeline.load(doc, None if scope is None else scope.track_ids)
        self.events.refresh()
        self._reload_tracks(doc)
        self.canvas.invalidate(scope)
        self.desk.apply()
        self._update_frame_states()
        self.review.refresh()
        existing = {t.id for t in doc.tracks()}
        if any(t not in existing for t in self.selection):
            self.set_selection([t for t in self.selection if t in existing])
        self._refresh_ms = (time.perf_counter() - begin) * 1000

    def _reload_tracks(self, doc: Document) -> None:
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
        self._update_enabled()

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
        index = step_episode(episodes, self._conflict_index, self.frame, direction)
        if index is None:
            self.statusBar().showMessage(
                "No more conflicts" if any(not e.resolved for e in episodes) else "No open conflicts", 4000)
            return
        self._conflict_index = index
        self.show_event(episodes[index].item.start, episodes[index].item.tracks)
        self.statusBar().showMessage(f"{episodes[index].item.describe()} (Shift+V: mark it resolved)", 8000)

    def show_event(self, frame: int, tracks: list[int]) -> None:
        """Go to ``frame`` and select ``tracks``."""
        self.playback.pause()
        self.playback.seek(frame)
        self.set_selection(tracks)

    def goto_flagged(self, direction: int) -> None:
        """Jump to the next (1) or previous (-1) pending, suspicious or lost frame of the selected track."""
        track = self._one_track()
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

    # ================================================================== edits
    def _refused(self, exc: EditError) -> None:
        QMessageBox.warning(self, "Edit refused", str(exc))

    def copy_box_to_next(self) -> None:
        track = self._one_track()
        if track is not None and self.stack.apply(CopyBox(track, self.frame)):
            self.playback.step(1)

    def propagate_box(self) -> None:
        track = self._one_track()
        last = self.playback.frame_count - 1
        if track is None or self.frame >= last:
            return
        count, ok = QInputDialog.getInt(self, "Propagate box", f"Copy track {track}'s box to the next frames:",
                                        min(10, last - self.frame), 1, last - self.frame)
        if ok:
            self.stack.apply(CopyBox(track, self.frame, count))

    def _one_track(self) -> int | None:
        if not self.selection:
            self.statusBar().showMessage("Select a track first (click it, or pick it in the table)", 5000)
            return None
        return self.selection[0]

    def _ask_track(self, title: str, label: str, exclude: int) -> int | None:
        """Another track: the second selected one, else asked for."""
        others = [t for t in self.selection if t != exclude]
        default = others[0] if others else 1
        value, ok = QInputDialog.getInt(self, title, label, default, 0, 2**31 - 1)
        return value if ok else None

    def reassign_id(self) -> None:
        track = self._one_track()
        if track is None:
            return
        new_id, ok = QInputDialog.getInt(
            self, "Reassign ID", f"New id for track {track} from frame {self.frame} (a new or an existing track):",
            self.session.doc.next_track_id(), 0, 2**31 - 1)
        if ok and self.stack.apply(ReassignId(track, new_id, self.frame)):
            self.set_selection([new_id])

    def swap_ids(self) -> None:
        track = self._one_track()
        if track is None:
            return
        if len(self.selection) == 2:
            other = self.selection[1]
        else:
            other = self._ask_track("Swap IDs", f"Swap track {track} with track (from frame {self.frame}):", track)
        if other is not None:
            self.stack.apply(SwapIds(track, other, self.frame))

    def merge_into(self) -> None:
        if len(self.selection) > 1:
            self.track_edits.merge_selected()
            return
        source = self._one_track()
        if source is None:
            return
        target = self._ask_track("Merge tracks", f"Merge track {source} into track:", source)
        if target is None:
            return
        doc = self.session.doc
        shared = np.intersect1d(doc.track_timeline(target).frames, doc.track_timeline(source).frames)
        keep = self._ask_overlap_winner(target, (source,), shared.size) if shared.size else None
        if (keep is not None or not shared.size) and self.stack.apply(MergeTracks(target, source, keep)):
            self.set_selection([target])

    def _ask_overlap_winner(self, target: int, sources: tuple[int, ...], frames: int) -> str | None:
        """Which boxes win on the frames merged tracks share ("target", "source"; None: cancel)."""
        source = ", ".join(map(str, sources))
        box = QMessageBox(QMessageBox.Icon.Question, "Tracks overlap",
                          f"Tracks {target} and {source} both have boxes on {frames} frames. Which boxes stay?",
                          QMessageBox.StandardButton.Cancel, self)
        keep_target = box.addButton(f"Keep {target}'s", QMessageBox.ButtonRole.AcceptRole)
        keep_source = box.addButton(f"Keep {source}'s", QMessageBox.ButtonRole.AcceptRole)
        box.exec()
        return {keep_target: "target", keep_source: "source"}.get(box.clickedButton())

    def split_here(self) -> None:
        track = self._one_track()
        if track is not None:
            edit = SplitTrack(track, start=self.frame)
            if self.stack.apply(edit):
                self.set_selection([edit.new_id])

    def delete_box(self) -> None:
        track = self._one_track()
        if track is not None:
            self.stack.apply(DeleteObservation(track, self.frame))

    def delete_from_here(self) -> None:
        track = self._one_track()
        if track is not None:
            self.stack.apply(DeleteTrack(track, start=self.frame))

    def delete_track(self) -> None:
        if self.track_edits.delete_timeline_range():
            return
        for track in list(self.selection):
            self.stack.apply(DeleteTrack(track))

    def set_category(self) -> None:
        """Set the category of every selected track."""
        tracks = list(self.selection)
        if self.session is None or not tracks:
            return
        doc = self.session.doc
        names = sorted(doc.categories().values())
        current = doc.track_label(tracks[0])
        which = f"track {tracks[0]}" if len(tracks) == 1 else f"the {len(tracks)} selected tracks"
        name, ok = QInputDialog.getItem(self, "Set category", f"Category of {which} (type a new one to add it):",
                                        names or ["person"], names.index(current) if current in names else 0, True)
        if ok and name.strip():
            self.stack.apply(SetCategory(tuple(tracks), doc.category_id(name.strip())))

    def _default_category(self) -> int | None:
        """The category a new track gets: the project's default, else the selected track's, else the most common."""
        doc = self.session.doc
        if doc.default_category() is not None:
            return doc.default_category()
        categories = [t.category_id for t in doc.tracks() if t.category_id is not None]
        chosen = [t.category_id for t in doc.tracks() if t.id in self.selection and t.category_id is not None]
        return chosen[0] if chosen else max(set(categories), key=categories.count, default=None)

    def _new_track_box(self, frame: int, box: tuple) -> None:
        track = self.session.doc.next_track_id()
        if self.stack.apply(EditBox(track, frame, box, self._default_category())):
            self.set_selection([track])

    # ================================================================== tracking
    def run_engine(self, engine: str) -> None:
        """Ask for the run's options, then track."""
        if self.session is None or self.session.source is None:
            self.statusBar().showMessage("Open a video first", 5000)
            return
        doc, source = self.session.doc, self.session.source
        defaults = self.preferences.run_options
        last = TrackingRun.load(doc)
        start = self.frame if last is None or last.next_frame >= source.frame_count else last.next_frame
        if last is not None and last.engine == engine and start == last.next_frame:
            defaults = {**defaults, **last.options.to_dict()}  # the stopped run's own options: it continues exactly
        dialog = RunDialog(engine, source.frame_count, start, defaults, self._detector_suggestions(), self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        options = dialog.options()
        self.preferences.run_options = dialog.settings()
        self._last_run = options
        self.tracking.start_tracking(options, *dialog.frame_range())

    def _detector_suggestions(self) -> list[str]:
        """Precomputed detections that come with the video (MOTChallenge ``det.txt``)."""
        path = self.session.source.path
        folder = path if path.is_dir() else path.parent
        return [str(p) for p in (folder / "det" / "det.txt", folder / "det.txt") if p.is_file()]

    def repropagate(self) -> None:
        track = self._one_track()
        if track is not None:
            self.tracking.repropagate(track, self.frame)

    def _on_job_message(self, text: str) -> None:
        """A job's news: shown until the next (a finished run's summary stays, not just for seconds)."""
        self.job_label.setText(text)
        self.job_label.setToolTip(text)

    def _on_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)  # a busy bar, not "0 / N", until the first frame is done
        self._update_enabled()

    def _on_progress(self, done: int, total: int, seconds_left: float) -> None:
        if done == 0:
            return
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} / {total}")
        eta = "" if seconds_left < 0 else (f"{self.tracking.frames_per_second:.1f} frames/s · "
                                           f"ETA {int(seconds_left) // 60}:{int(seconds_left) % 60:02d}")
        self.job_label.setText(("paused · " if self.tracking.paused else "") + eta)

    def _on_job_error(self, kind: str, exc: BaseException) -> None:
        remedy = self._show_error(exc)
        if remedy is Remedy.CHOOSE_CHECKPOINT:
            path, _ = QFileDialog.getOpenFileName(self, "SAM2 checkpoint", "", "Checkpoints (*.pt);;All files (*)")
            if path:
                self.tracking.sam2["model"] = path
                if kind == "tracking":
                    self._rerun(sam2=path)
                else:
                    self.statusBar().showMessage(f"SAM2 checkpoint {path} chosen; prompt again", 8000)
        elif remedy is Remedy.CHOOSE_DETECTOR:
            path, _ = QFileDialog.getOpenFileName(self, "Detector", "", "Detectors (*.pt *.onnx *.txt);;All files (*)")
            if path:
                self._rerun(detector=path)
        elif remedy is Remedy.OPEN_VIDEO:
            self.open_video_dialog()

    def _rerun(self, **changes: str) -> None:
        """Run the last tracking run again from its next unfinished frame, with changed options."""
        last = TrackingRun.load(self.session.doc) if self.session is not None else None
        if self._last_run is None or last is None:
            return
        options = self._last_run = self._last_run.with_changes(**changes)
        self.preferences.run_options = {**self.preferences.run_options, **options.to_dict()}
        self.tracking.start_tracking(options, last.next_frame, last.stop)

    # ================================================================== import and export
    def _formats(self) -> dict:
        return {name: registry.get(name) for name in registry.names()}

    def import_labels(self) -> None:
        if self.session is None:
            self.statusBar().showMessage("Open the video the labels belong to first", 5000)
            return
        doc = self.session.doc
        start = self.session.source.path.parent if self.session.source is not None else doc.path.parent
        dialog = ImportDialog(self._formats(), start, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        try:
            request = dialog.request()
            labels = request.module.read(request.path, Document.in_memory(doc.video), **request.options)
        except MaskletError as exc:
            self._show_error(exc)
            return
        self.import_document(labels, request.path.name)

    def import_document(self, labels: Document, name: str) -> bool:
        """Add the tracks of a read label file to the project (one undoable step); closes ``labels``."""
        with labels:
            report = read_report(labels)
            edit = ImportLabels(labels, name)
        if not self.stack.apply(edit):
            return False
        if report is not None:
            self._report(report.summary(), report.warnings)
        return True

    def export_labels(self) -> None:
        if self.session is None:
            return
        doc = self.session.doc
        video = doc.video
        base = doc.path.parent / (video.name if video is not None else doc.path.stem)
        used = {t.category_id for t in doc.tracks()}
        categories = {i: name for i, name in doc.categories().items() if i in used}
        dialog = ExportDialog(self._formats(), self.playback.frame_count, categories, self.selection, base, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.export(dialog.request())

    def export(self, request: ExportRequest) -> bool:
        """Write the project's labels as the request says; the summary goes to the status bar."""
        try:
            report = request.module.write(self.session.doc, request.path, frames=request.frames,
                                          track_ids=request.track_ids, category_ids=request.category_ids)
        except MaskletError as exc:
            self._show_error(exc)
            return False
        self._report(report.summary(), report.warnings)
        return True

    def _report(self, summary: str, warnings: list[str]) -> None:
        """A summary in the status bar; its warnings, too long for it, behind a status-bar button that shows them."""
        self.statusBar().showMessage(summary + (f" ({len(warnings)} warnings)" if warnings else ""), 15000)
        self.warnings = [summary, *(in_gui_words(w) for w in warnings)] if warnings else []
        self.warnings_button.setText(f"⚠ {len(warnings)} warning{'s' if len(warnings) > 1 else ''}")
        self.warnings_button.setToolTip("\n".join(self.warnings))
        self.warnings_button.setVisible(bool(warnings))

    def show_warnings(self) -> None:
        """The last import's, export's or video's warnings in full."""
        summary, *warnings = self.warnings or [""]
        box = QMessageBox(QMessageBox.Icon.Information, "Warnings", summary, QMessageBox.StandardButton.Close, self)
        box.setInformativeText("\n".join(warnings[:8]) + ("\n…" if len(warnings) > 8 else ""))
        box.setDetailedText("\n".join(warnings) if len(warnings) > 8 else "")
        box.exec()

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

    def _show_error(self, exc: BaseException) -> Remedy:
        return show_error(self, exc)

    def _update_title(self) -> None:
        if self.session is None:
            self.setWindowTitle("Masklet")
            return
        doc = self.session.doc
        video = doc.video
        flag = " [read-only]" if self.read_only else ""
        self.setWindowTitle(
            f"{doc.path.name}{flag} ({doc.path.parent}) — {video.name if video else 'no video'} — Masklet"
        )

    def _update_enabled(self) -> None:
        has_doc = self.session is not None
        editable = has_doc and not self.read_only
        has_video = editable and self.session.source is not None
        busy = self.tracking.busy
        for action in (self.act_export, self.act_save_as, self.act_goto, self.act_play, self.act_next,
                       self.act_prev, self.act_next10, self.act_prev10, self.act_first, self.act_last):
            action.setEnabled(has_doc)
        self.act_import.setEnabled(editable)
        self.act_categories.setEnabled(editable)
        for tool, action in self.tool_actions.items():
            action.setEnabled(tool is Tool.SELECT or has_video)
        for action in self.run_actions.values():
            action.setEnabled(has_video and not busy)
        for action in self.id_actions:
            action.setEnabled(editable and bool(self.selection))
        self.act_repropagate.setEnabled(has_video and bool(self.selection) and not busy)
        reason = self.session.read_only_reason if self.read_only else None
        self.read_only_label.setText("" if reason is None else "Read-only")
        self.read_only_label.setToolTip(reason or "")
        self.read_only_label.setVisible(reason is not None)
        self.act_pause.setEnabled(busy and not self.tracking.paused)
        self.act_resume.setEnabled(busy and self.tracking.paused)
        self.act_stop.setEnabled(busy)
        self.act_next_conflict.setEnabled(has_doc)
        self.act_prev_conflict.setEnabled(has_doc)
        for action in self.review_actions:
            action.setEnabled(has_doc)
        self.act_mark_reviewed.setEnabled(editable)
        self.act_resolve_conflict.setEnabled(editable)



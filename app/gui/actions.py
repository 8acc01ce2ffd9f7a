"""The window's action registry: every menu and toolbar action declared once in ``ACTIONS`` (name, text, slot,
default keys, icon, tooltip, menu), created by ``ActionRegistry`` with the user's shortcut overrides applied, and
the menus and toolbar built from it. An action named ``x`` is the window's ``act_x``."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import qtawesome as qta
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QIcon, QKeySequence
from PySide6.QtWidgets import QMenu, QToolButton

from app.gui.shortcuts import ShortcutEditor, Shortcuts
from app.gui.tracking_worker import ENGINE_LABELS
from widgets.timeline import SORT_KEYS
from widgets.video_canvas import Tool

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow
    from app.gui.project import Session
    from app.gui.tracking_worker import TrackingController

ICON_COLOR = "#c9d1d9"
Keys = str | QKeySequence.StandardKey | tuple[str, ...] | None
Slot = Callable[["MainWindow"], object]


def icon(name: str) -> QIcon:
    return qta.icon(name, color=ICON_COLOR, color_disabled="#484f58")


@dataclass(frozen=True)
class ActionSpec:
    """One action. ``slot`` runs on ``triggered`` and ``toggled`` on a checkable action's state change, both with
    the window; ``menu``: the menu it is listed under (shortcut sheet and editor); ``group``: exclusive choices;
    ``factory`` makes the ``QAction`` itself (undo and redo come from the edit stack)."""

    name: str
    text: str
    slot: Slot | None = None
    keys: Keys = None
    icon: str | None = None
    tip: str = ""
    menu: str = ""
    checkable: bool = False
    group: str | None = None
    toggled: Callable[[MainWindow, bool], object] | None = None
    factory: Callable[[MainWindow], QAction] | None = None
    status: str | None = None
    """The status-bar tip, when it differs from ``tip``."""


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
S = ActionSpec
ACTIONS: tuple[ActionSpec, ...] = (
    # file
    S("open_video", "Open &Video…", lambda w: w.sessions.open_video_dialog(), QKeySequence.StandardKey.Open,
      "mdi6.file-video-outline", "Open a video; its project is created or reopened", "File"),
    S("open_folder", "Open Image &Folder…", lambda w: w.sessions.open_folder_dialog(), "Ctrl+Shift+O",
      "mdi6.folder-image", "Open a folder of images or a MOTChallenge sequence", "File"),
    S("open_project", "Open &Project…", lambda w: w.sessions.open_project_dialog(), "Ctrl+Alt+O",
      "mdi6.folder-open-outline", menu="File"),
    S("import", "&Import Labels…", lambda w: w.transfer.import_labels(), "Ctrl+I", "mdi6.import",
      "Import MOT, COCO-VID, … labels onto the open video", "File"),
    S("export", "&Export Labels…", lambda w: w.transfer.export_labels(), "Ctrl+E", "mdi6.export", menu="File"),
    S("save_as", "Save Project &As…", lambda w: w.sessions.save_as(), QKeySequence.StandardKey.SaveAs,
      "mdi6.content-save-edit-outline", "The project is saved automatically; choose where it lives", "File"),
    S("quit", "&Quit", lambda w: w.close(), QKeySequence.StandardKey.Quit, menu="File"),
    # edit
    S("undo", "&Undo", keys=QKeySequence.StandardKey.Undo, icon="mdi6.undo", menu="Edit",
      factory=lambda w: w.stack.createUndoAction(w, "&Undo")),
    S("redo", "&Redo", keys=("Ctrl+Shift+Z", "Ctrl+Y"), icon="mdi6.redo", menu="Edit",
      factory=lambda w: w.stack.createRedoAction(w, "&Redo")),
    S("reassign", "&Reassign ID From Here…", lambda w: w.editing.reassign_id(), "R", "mdi6.pound",
      "Give the selected track another id from the current frame on", "Edit"),
    S("swap", "S&wap IDs From Here…", lambda w: w.editing.swap_ids(), "W", "mdi6.swap-horizontal",
      "Exchange the ids of two tracks from the current frame on", "Edit"),
    S("merge", "&Merge Into…", lambda w: w.editing.merge_into(), "M", "mdi6.call-merge",
      "Join the selected track to another track", "Edit"),
    S("split", "S&plit Here", lambda w: w.editing.split_here(), "K", "mdi6.content-cut",
      "Frames from here on become a new track", "Edit"),
    S("delete_box", "Delete &Box at This Frame", lambda w: w.editing.delete_box(), "Backspace",
      "mdi6.vector-square-remove", menu="Edit"),
    S("delete_from", "Delete Track From &Here", lambda w: w.editing.delete_from_here(), "Shift+Delete",
      "mdi6.delete-sweep-outline", menu="Edit"),
    S("delete_frames", "Delete Frame&s…", lambda w: w.track_edits.delete_frames(), "Ctrl+Del",
      "mdi6.delete-clock-outline", "Delete frames N to M of the selected track (Shift+drag on its timeline lane)",
      "Edit"),
    # "Del" alone: the platform's Delete binding may add Ctrl+D, Copy Box to Next Frame's key
    S("delete_track", "&Delete Track", lambda w: w.editing.delete_track(), "Del", "mdi6.delete-outline", menu="Edit"),
    S("category", "Set &Category…", lambda w: w.editing.set_category(), "C", "mdi6.tag-outline", menu="Edit"),
    S("copy_next", "C&opy Box to Next Frame", lambda w: w.editing.copy_box_to_next(), "Ctrl+D", "mdi6.content-copy",
      "Copy the selected track's box to the next frame and go there", "Edit"),
    S("propagate_box", "Propagate Bo&x…", lambda w: w.editing.propagate_box(), "Shift+D", "mdi6.content-duplicate",
      "Copy the selected track's box to the next N frames", "Edit"),
    S("categories", "Categor&ies…", lambda w: w.track_edits.edit_categories(), None, "mdi6.tag-multiple-outline",
      "Rename and merge categories, their colours, the category of new tracks", "Edit"),
    S("edit_shortcuts", "Shor&tcuts…", lambda w: ShortcutEditor(w.menus, w.shortcuts, w).exec(), None, "mdi6.keyboard-settings-outline",
      menu="Edit"),
    S("preferences", "Pre&ferences…", lambda w: w.preferences_dialog(), "Ctrl+,", "mdi6.cog-outline", menu="Edit"),
    # tools
    *(S(f"tool_{tool.name.lower()}", text, lambda w, tool=tool: w.canvas.set_tool(tool), key, icon_name,
        f"{tip} ({key})", "Tool", checkable=True, group="tools") for tool, text, key, icon_name, tip in TOOLS),
    # track
    *(S(f"run_{name}", f"Run {label}…", lambda w, name=name: w.runs.run_engine(name),
        "Ctrl+R" if name == "sam2mot" else None, "mdi6.play-box-outline", menu="Run")
      for name, label in ENGINE_LABELS.items()),
    S("pause", "&Pause Tracking", lambda w: w.tracking.pause(), "Ctrl+P", "mdi6.pause", menu="Track"),
    S("resume", "Res&ume Tracking", lambda w: w.tracking.resume(), "Ctrl+Shift+P", "mdi6.play", menu="Track"),
    S("stop", "&Stop Tracking", lambda w: w.tracking.stop(), "Ctrl+.", "mdi6.stop", "Stop; finished frames are kept",
      "Track"),
    S("repropagate", "Re-propagate From This &Frame", lambda w: w.runs.repropagate(), "P", "mdi6.refresh",
      "SAM2: track the selected object again from its mask (or box) at this frame", "Track"),
    S("propagate_prompts", "Propagate &Prompts", lambda w: w.prompting.controller.propagate(), ("Return", "Enter"),
      tip="Propagate the prompted track over the frames shown in the Corrections panel (Return)", menu="Track",
      status="Propagate the prompted track over the frames shown in the Corrections panel"),
    S("discard_prompts", "D&iscard Prompts", lambda w: w.prompting.controller.discard(), ("Esc",),
      tip="Forget the prompts; nothing changes (Esc)", menu="Track", status="Forget the prompts; nothing changes"),
    S("next_conflict", "&Next Conflict", lambda w: w.goto_conflict(1), "N", "mdi6.skip-next-circle-outline",
      menu="Track"),
    S("prev_conflict", "Pre&vious Conflict", lambda w: w.goto_conflict(-1), "Shift+N",
      "mdi6.skip-previous-circle-outline", menu="Track"),
    S("resolve_conflict", "Mark Conflict Re&solved", lambda w: w.events.resolve_at(w.frame, w.selection), "Shift+V",
      "mdi6.check-decagram-outline", "The conflict shown (its tracks selected) is checked; N skips it (undoable)",
      "Track"),
    S("next_flagged", "Next &Flagged Frame of Track", lambda w: w.goto_flagged(1), "L", "mdi6.debug-step-over",
      "Next pending, suspicious or lost frame of the selected track", "Track"),
    S("prev_flagged", "Previous Flagged Frame of Track", lambda w: w.goto_flagged(-1), "Shift+L", menu="Track"),
    S("next_item", "Next Review &Item", lambda w: w.step_review(1), "J", "mdi6.format-list-checks",
      "Go to the next item of the review queue (in the queue: J / K, Enter)", "Track"),
    S("prev_item", "Previous Review Item", lambda w: w.step_review(-1), "Shift+J", menu="Track"),
    S("mark_reviewed", "Mark Item Re&viewed", lambda w: w.review.mark_reviewed(), "V", "mdi6.check-circle-outline",
      "The selected review item is checked (undoable)", "Track"),
    # view
    S("zoom_in", "Zoom &In", lambda w: w.canvas.zoom_by(1.25), QKeySequence.StandardKey.ZoomIn,
      "mdi6.magnify-plus-outline", menu="View"),
    S("zoom_out", "Zoom &Out", lambda w: w.canvas.zoom_by(0.8), QKeySequence.StandardKey.ZoomOut,
      "mdi6.magnify-minus-outline", menu="View"),
    S("zoom_fit", "Zoom to &Fit", lambda w: w.canvas.zoom_fit(), ("Ctrl+0", "F"), "mdi6.fit-to-screen-outline",
      menu="View"),
    S("zoom_actual", "&Actual Size", lambda w: w.canvas.zoom_actual(), "Ctrl+1", menu="View"),
    *(S(f"layer_{name}", f"Show {text}", None, key, menu="Layers", checkable=True,
        toggled=lambda w, on, name=name: w.canvas.set_layers(**{name: on})) for name, text, key in LAYERS),
    S("hide", "&Hide / Show Selected Tracks", lambda w: w.desk.toggle_hidden(), "H", "mdi6.eye-off-outline",
      "Hide the selected tracks on the video (their lanes are dimmed); again: show them", "Tracks"),
    S("solo", "&Solo Selected Tracks", lambda w: w.desk.toggle_solo(), "Shift+H", "mdi6.eye-circle-outline",
      "Show only the selected tracks; again: show the others too", "Tracks"),
    S("show_all", "Show &All Tracks", lambda w: w.desk.show_all(), "Ctrl+Shift+H", "mdi6.eye-outline",
      menu="Tracks"),
    S("lock", "&Lock / Unlock Selected Tracks", lambda w: w.desk.toggle_locked(), "Ctrl+K", "mdi6.lock-outline",
      "A locked track's boxes and id cannot be changed; again: unlock", "Tracks"),
    S("unlock_all", "&Unlock All Tracks", lambda w: w.desk.unlock_all(), "Ctrl+Shift+K", "mdi6.lock-open-outline",
      menu="Tracks"),
    S("category_colors", "Colour Tracks by &Category", lambda w: w.track_edits.show_category_colors(), None, None,
      "Boxes, masks and lanes take their category's colour", "View", checkable=True),
    *(S(f"sort_{key}", f"Sort Timeline by {SORT_LABELS[key]}", lambda w, key=key: w.timeline.set_sort(key),
        checkable=True, group="sort") for key in SORT_KEYS),
    # playback
    S("play", "&Play / Pause", lambda w: w.playback.toggle(), "Space", "mdi6.play", menu="Playback"),
    S("prev", "Previous Frame", lambda w: w.playback.step(-1), "Left", "mdi6.step-backward", menu="Playback"),
    S("next", "Next Frame", lambda w: w.playback.step(1), "Right", "mdi6.step-forward", menu="Playback"),
    S("prev10", "Back 10 Frames", lambda w: w.playback.step(-10), "Shift+Left", "mdi6.rewind-10", menu="Playback"),
    S("next10", "Forward 10 Frames", lambda w: w.playback.step(10), "Shift+Right", "mdi6.fast-forward-10",
      menu="Playback"),
    S("first", "First Frame", lambda w: w.playback.step(-w.playback.frame_count), "Home", "mdi6.page-first",
      menu="Playback"),
    S("last", "Last Frame", lambda w: w.playback.step(w.playback.frame_count), "End", "mdi6.page-last",
      menu="Playback"),
    S("goto", "&Go to Frame…", lambda w: w.goto_frame_dialog(), "Ctrl+G", menu="Playback"),
    S("slower", "Play &Slower", lambda w: w.playback.step_speed(-1), "[", "mdi6.speedometer-slow", menu="Playback"),
    S("faster", "Play &Faster", lambda w: w.playback.step_speed(1), "]", "mdi6.speedometer", menu="Playback"),
    S("normal_speed", "Play at &Normal Speed", lambda w: w.playback.set_speed(1.0), "=", menu="Playback"),
    # help
    S("guide", "&User Guide", lambda w: w.show_guide(), None, "mdi6.book-open-variant", menu="Help"),
    S("shortcuts", "&Keyboard Shortcuts", lambda w: w.show_shortcuts(), ("F1", "?"), "mdi6.keyboard-outline",
      menu="Help"),
    S("about", "&About Masklet", lambda w: w.about(), menu="Help"),
)
MENU_ORDER = ("File", "Tool", "Edit", "Run", "Track", "Layers", "Playback", "Tracks", "View", "Help")
"""The order menus list their actions in the shortcut sheet and editor."""
ID_ACTIONS = ("reassign", "swap", "merge", "split", "delete_box", "delete_from", "delete_frames", "delete_track",
              "category", "copy_next", "propagate_box")
"""Actions on the selected tracks (also the track table's context menu)."""
REVIEW_ACTIONS = ("next_flagged", "prev_flagged", "next_item", "prev_item")
VISIBILITY_ACTIONS = ("hide", "solo", "show_all", "lock", "unlock_all")
SPEED_ACTIONS = ("slower", "faster", "normal_speed")


class ActionRegistry:
    """Creates the window's actions from ``ACTIONS``, applies the user's shortcuts, and lists them by menu."""

    def __init__(self, window: MainWindow, shortcuts: Shortcuts, specs: Iterable[ActionSpec] = ACTIONS) -> None:
        self.window = window
        self.actions: dict[str, QAction] = {}
        self.groups: dict[str, QActionGroup] = {}
        self.menus: dict[str, list[QAction]] = {title: [] for title in MENU_ORDER}
        for spec in specs:
            action = self._create(spec, shortcuts)
            self.actions[spec.name] = action
            if spec.menu:
                self.menus[spec.menu].append(action)

    def _create(self, spec: ActionSpec, shortcuts: Shortcuts) -> QAction:
        window = self.window
        action = spec.factory(window) if spec.factory is not None else QAction(spec.text, window)
        if isinstance(spec.keys, QKeySequence.StandardKey):
            action.setShortcuts(spec.keys)
        elif spec.keys is not None:
            keys = spec.keys if isinstance(spec.keys, tuple) else (spec.keys,)
            action.setShortcuts([QKeySequence(k) for k in keys])
        if spec.icon:
            action.setIcon(icon(spec.icon))
        action.setCheckable(spec.checkable)
        if spec.tip:
            action.setToolTip(spec.tip)
            action.setStatusTip(spec.tip if spec.status is None else spec.status)
        if spec.slot is not None:
            action.triggered.connect(lambda _checked=False, slot=spec.slot: slot(window))
        if spec.toggled is not None:
            action.toggled.connect(lambda on, toggled=spec.toggled: toggled(window, on))
        if spec.group is not None:
            self.groups.setdefault(spec.group, QActionGroup(window)).addAction(action)
        shortcuts.register(action)  # the user's keys replace the defaults
        window.addAction(action)  # shortcuts work wherever the focus is in the window
        return action

    def __getitem__(self, name: str) -> QAction:
        return self.actions[name]

    def named(self, names: Iterable[str]) -> list[QAction]:
        return [self.actions[name] for name in names]

    def prefixed(self, prefix: str) -> dict[str, QAction]:
        """The actions whose names start with ``prefix``, by the rest of their name."""
        return {name[len(prefix):]: a for name, a in self.actions.items() if name.startswith(prefix)}

    def update_enabled(self, session: Session | None, read_only: bool, selected: bool,
                       tracking: TrackingController) -> None:
        """Enable the actions the open session (editable or not, with its video or not), the selection and the
        tracking job allow."""
        has_doc = session is not None
        editable = has_doc and not read_only
        has_video = editable and session.source is not None
        busy = tracking.busy
        enabled = {
            **dict.fromkeys(("export", "save_as", "goto", "play", "next", "prev", "next10", "prev10", "first", "last",
                             "next_conflict", "prev_conflict", *REVIEW_ACTIONS), has_doc),
            **dict.fromkeys(("import", "categories", "mark_reviewed", "resolve_conflict"), editable),
            **{f"tool_{tool.name.lower()}": tool is Tool.SELECT or has_video for tool, *_ in TOOLS},
            **{f"run_{name}": has_video and not busy for name in ENGINE_LABELS},
            **dict.fromkeys(ID_ACTIONS, editable and selected),
            "repropagate": has_video and selected and not busy,
            "pause": busy and not tracking.paused, "resume": busy and tracking.paused, "stop": busy,
        }
        for name, on in enabled.items():
            self.actions[name].setEnabled(on)

    def build_menus(self, recent: QMenu, panels: list[QAction]) -> None:
        """The menu bar: ``recent`` under File, the docks' ``panels`` toggles under View."""
        window, m = self.window, self.menus
        bar = window.menuBar()

        def menu(title: str, items: Iterable[QAction | QMenu | None]) -> None:
            target = bar.addMenu(title)
            for item in items:
                if item is None:
                    target.addSeparator()
                elif isinstance(item, QMenu):
                    target.addMenu(item)
                else:
                    target.addAction(item)

        def sub(title: str, actions: list[QAction]) -> QMenu:
            target = QMenu(title, window)
            target.addActions(actions)
            return target

        a = self.named
        menu("&File", [*a(("open_video", "open_folder", "open_project")), recent, None, *a(("import", "export")), None,
                       *a(("save_as",)), None, *a(("quit",))])
        menu("&Edit", [*a(("undo", "redo")), None, *a(ID_ACTIONS), None, sub("&Tool", m["Tool"]), None,
                       *a(("categories", "edit_shortcuts", "preferences"))])
        menu("&Track", [sub("&Run", m["Run"]), *a(("pause", "resume", "stop")), None,
                        *a(("repropagate", "propagate_prompts", "discard_prompts")), None,
                        *a(("next_conflict", "prev_conflict", "resolve_conflict", *REVIEW_ACTIONS, "mark_reviewed"))])
        menu("&View", [*a(("zoom_in", "zoom_out", "zoom_fit", "zoom_actual")), None, sub("&Layers", m["Layers"]),
                       sub("&Tracks", m["Tracks"]), *a(("category_colors",)),
                       sub("Timeline &Order", list(self.prefixed("sort_").values())),
                       sub("&Playback", m["Playback"]), sub("P&anels", panels)])
        menu("&Help", [*a(("guide", "shortcuts")), None, *a(("about",))])

    def build_toolbar(self) -> None:
        bar = self.window.addToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        a = self.named
        bar.addActions(a(("open_video", "open_project", "save_as")))
        bar.addSeparator()
        bar.addActions(a(("undo", "redo")))
        bar.addSeparator()
        bar.addActions(self.menus["Tool"])
        bar.addSeparator()
        run = QToolButton()
        run.setIcon(icon("mdi6.play-box-outline"))
        run.setToolTip("Run a tracker")
        run.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        run.addActions(self.menus["Run"])
        bar.addWidget(run)
        bar.addActions(a(("pause", "resume", "stop", "repropagate")))
        bar.addSeparator()
        bar.addActions(a(("prev_conflict", "next_conflict", "next_flagged", "next_item")))
        bar.addSeparator()
        bar.addActions(a(("zoom_fit",)))
        for button in bar.findChildren(QToolButton):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)

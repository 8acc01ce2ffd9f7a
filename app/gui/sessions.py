"""Opening and closing projects in the window: a video, an image folder or a project file (from a dialog, the
start page or the Recent list), locating a video that moved, Save As, and the window's title."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.document import PROJECT_SUFFIX
from app.gui.errors import show_error
from app.gui.playback import FrameReader
from app.gui.project import Session, open_project, open_video
from tracker.errors import MaskletError, VideoError
from tracker.video import VIDEO_EXTENSIONS, VideoSource
from widgets.video_canvas import Tool

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow

VIDEO_FILTER = f"Videos ({' '.join('*' + suffix for suffix in sorted(VIDEO_EXTENSIONS))});;All files (*)"
PROJECT_FILTER = f"Masklet projects (*{PROJECT_SUFFIX})"


class SessionController(QObject):
    """Sets the window's ``session`` and points its views at the session's document and video."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window

    def open_video_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open video", "", VIDEO_FILTER)
        if path:
            self.open_path(Path(path))

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self.window, "Open image folder or MOTChallenge sequence")
        if path:
            self.open_path(Path(path))

    def open_project_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open project", "", PROJECT_FILTER)
        if path:
            self.open_path(Path(path))

    def open_recent(self, item: str) -> None:
        """Open a Recent entry; one that no longer exists leaves the list."""
        if not Path(item).exists():
            self.window.preferences.remove_recent(item)
            self.rebuild_recent()
        self.open_path(Path(item))

    def rebuild_recent(self) -> None:
        window = self.window
        preferences, recent_menu = window.preferences, window.recent_menu
        window.start_page.set_recent(preferences.recent)
        recent_menu.clear()
        for item in preferences.recent:
            path = Path(item)
            action = recent_menu.addAction(f"{path.name}  —  {path.parent}")
            action.setToolTip(item)
            action.setStatusTip(item)
            action.triggered.connect(lambda _=False, item=item: self.open_recent(item))
        recent_menu.addSeparator()
        recent_menu.addAction("Clear Recent", lambda: (preferences.clear_recent(), self.rebuild_recent()))
        recent_menu.setEnabled(bool(preferences.recent))

    def open_path(self, path: Path) -> bool:
        """Open a project (``.masklet``), or a video / image folder with its project."""
        window = self.window
        path = Path(path).expanduser().resolve()
        if self._is_open(path):  # reopening: let go of the project's write lock first
            self.close_session()
        try:
            if path.suffix == PROJECT_SUFFIX:
                session = open_project(path)
            else:
                session = open_video(path, window.preferences.data_dir,
                                     beside=window.preferences.projects_beside_video)
        except MaskletError as exc:
            show_error(window, exc)
            return False
        except OSError as exc:  # e.g. the projects folder cannot be created
            show_error(window, MaskletError(f"{path}: {exc.strerror or exc}"))
            return False
        self._set_session(session)
        window.preferences.add_recent(session.doc.path)
        self.rebuild_recent()
        if session.source is not None and session.source.warnings:
            window.transfer.report(f"Opened {session.source.name}", session.source.warnings)
        state = "new project, saved automatically" if session.created else "project"
        if session.read_only_reason is not None:
            state = f"opened read-only, edits are off ({session.read_only_reason})"
        window.statusBar().showMessage(f"{session.doc.path.name}: {state} in {session.doc.path.parent}", 10000)
        if session.source is None and session.doc.video is not None:
            self._locate_video()
        return True

    def _is_open(self, path: Path) -> bool:
        """Whether ``path`` is the open project or its video."""
        session = self.window.session
        if session is None:
            return False
        source = session.source
        opened = [session.doc.path] + ([] if source is None else [Path(source.path)])
        return any(p is not None and p.resolve() == path.resolve() for p in opened)

    def _set_session(self, session: Session) -> None:
        """Show ``session``; the previous one is closed, except its document when the new one shares it."""
        window = self.window
        self.close_session(keep_document=window.session is not None and window.session.doc is session.doc)
        window.session = session
        window.start_page.hide()
        window.video_page.show()
        doc = session.doc
        doc.listeners.append(window.on_document_changed)
        window.stack.set_document(doc)
        window.reader = None if session.source is None else FrameReader(session.source)
        window.tracking.set_document(doc, None if session.source is None else session.source.path)
        window.canvas.mask_opacity = window.preferences.mask_opacity
        window.canvas.set_document(doc)
        window.set_selection([])
        window.conflict_index = -1
        window.timeline.load(doc)
        window.events.set_document(doc)
        window.reload_tracks(doc)
        window.review.set_document(doc)
        frame_count, fps = self._video_extent()
        window.slider.setRange(0, max(frame_count - 1, 0))
        window.playback.set_video(frame_count, fps)
        window.desk.open(session)
        self.update_title()
        window.update_enabled()
        if session.read_only_reason is not None:
            window.tool_actions[Tool.SELECT].trigger()

    def _video_extent(self) -> tuple[int, float]:
        """Frame count and rate of the open video (from the project when the video is missing)."""
        source, doc = self.window.session.source, self.window.session.doc
        if source is not None:
            return source.frame_count, source.fps
        video = doc.video
        span = doc.frame_range()
        if video is not None:
            return video.frame_count, video.fps
        return (span[1] + 1 if span else 0), 30.0

    def _locate_video(self) -> None:
        window = self.window
        doc = window.session.doc
        answer = QMessageBox.question(
            window, "Video not found", f"The video of this project was not found at\n{doc.video.path}\n\nLocate it?")
        if answer != QMessageBox.StandardButton.Yes:
            return
        path, _ = QFileDialog.getOpenFileName(window, "Locate video", str(doc.path.parent), VIDEO_FILTER)
        if not path:
            return
        try:
            source = VideoSource.open(path, cache_size=32)
        except VideoError as exc:
            show_error(window, exc)
            return
        if source.frame_count != doc.video.frame_count:
            source.close()
            show_error(window, VideoError(f"{path}: {source.frame_count} frames, the project's video has "
                                          f"{doc.video.frame_count}"))
            return
        doc.set_video(replace(source.info(), path=Path(path).resolve()))
        self._set_session(replace(window.session, source=source))

    def close_session(self, keep_document: bool = False) -> None:
        """Stop any job and close the open project (everything is already saved). ``keep_document``:
        only detach the views from it (the same document is shown again next)."""
        window = self.window
        session, window.session = window.session, None
        if session is None:
            return
        window.tracking.shutdown()
        window.playback.pause()
        window.desk.close(session)
        window.refresh_timer.stop()
        session.doc.listeners.remove(window.on_document_changed)
        window.stack.set_document(None)
        window.tracking.set_document(None, None)
        window.canvas.set_document(None)
        window.review.set_document(None)
        window.events.set_document(None)
        if window.reader is not None:
            window.reader.close()
            window.reader = None
        window.fps_label.setText("")
        window.video_page.hide()
        window.start_page.show()
        if not keep_document:
            session.close()
        elif session.source is not None:
            session.source.close()

    def save_as(self) -> None:
        window = self.window
        session = window.session
        if session is None:
            return
        path, _ = QFileDialog.getSaveFileName(window, "Save project as", str(session.doc.path), PROJECT_FILTER)
        if not path:
            return
        path = Path(path).with_suffix(PROJECT_SUFFIX)
        if path.resolve() == session.doc.path.resolve():
            window.statusBar().showMessage(f"{path.name} is already saved: every change is", 8000)
            return
        try:
            session.doc.save_as(path, overwrite=True)  # the dialog asked before replacing a file
        except MaskletError as exc:
            show_error(window, exc)
            return
        session.read_only_reason = None
        window.preferences.add_recent(path)
        self.rebuild_recent()
        self.update_title()
        window.update_enabled()
        window.statusBar().showMessage(f"Saved as {path}; changes now go there", 8000)

    def update_title(self) -> None:
        window = self.window
        if window.session is None:
            window.setWindowTitle("Masklet")
            return
        doc = window.session.doc
        video = doc.video
        flag = " [read-only]" if window.read_only else ""
        window.setWindowTitle(
            f"{doc.path.name}{flag} ({doc.path.parent}) — {video.name if video else 'no video'} — Masklet"
        )

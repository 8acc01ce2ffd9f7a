"""Tracking runs from the window: the run dialog, re-propagating one track, the job's progress and news in the
status bar, and its errors with their remedies (choose a checkpoint or detector and run again)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDialog, QFileDialog

from app.gui.errors import Remedy, show_error
from app.gui.run_dialog import RunDialog
from app.tracking_run import TrackingRun
from tracker.engine_options import EngineOptions

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow


class RunController(QObject):
    """Starts the window's ``TrackingController`` jobs and shows what they report."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.tracking = window.tracking
        self.preferences = window.preferences
        self._last_run: EngineOptions | None = None
        tracking = self.tracking
        tracking.busyChanged.connect(self._on_busy)
        tracking.pausedChanged.connect(lambda _: window.update_enabled())
        tracking.progress.connect(self._on_progress)
        tracking.deviceChanged.connect(lambda device: window.device_label.setText(f"device: {device}"))
        tracking.message.connect(self._on_job_message)
        tracking.error.connect(self._on_job_error)
        window.prompting.controller.message.connect(self._on_job_message)
        window.prompting.controller.error.connect(lambda exc: self._on_job_error("correction", exc))

    def run_engine(self, engine: str) -> None:
        """Ask for the run's options, then track."""
        if self.window.session is None or self.window.session.source is None:
            self.window.statusBar().showMessage("Open a video first", 5000)
            return
        doc, source = self.window.session.doc, self.window.session.source
        defaults = self.preferences.run_options
        last = TrackingRun.load(doc)
        start = self.window.frame if last is None or last.next_frame >= source.frame_count else last.next_frame
        if last is not None and last.engine == engine and start == last.next_frame:
            defaults = {**defaults, **last.options.to_dict()}  # the stopped run's own options: it continues exactly
        dialog = RunDialog(engine, source.frame_count, start, defaults, self._detector_suggestions(), self.window)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        options = dialog.options()
        self.preferences.run_options = dialog.settings()
        self._last_run = options
        self.tracking.start_tracking(options, *dialog.frame_range())

    def _detector_suggestions(self) -> list[str]:
        """Precomputed detections that come with the video (MOTChallenge ``det.txt``)."""
        path = self.window.session.source.path
        folder = path if path.is_dir() else path.parent
        return [str(p) for p in (folder / "det" / "det.txt", folder / "det.txt") if p.is_file()]

    def repropagate(self) -> None:
        track = self.window.editing.one_track()
        if track is not None:
            self.tracking.repropagate(track, self.window.frame)

    def _on_job_message(self, text: str) -> None:
        """A job's news: shown until the next (a finished run's summary stays, not just for seconds)."""
        self.window.job_label.setText(text)
        self.window.job_label.setToolTip(text)

    def _on_busy(self, busy: bool) -> None:
        progress = self.window.progress
        progress.setVisible(busy)
        if busy:
            progress.setRange(0, 0)  # a busy bar, not "0 / N", until the first frame is done
        self.window.update_enabled()

    def _on_progress(self, done: int, total: int, seconds_left: float) -> None:
        if done == 0:
            return
        progress = self.window.progress
        progress.setRange(0, total)
        progress.setValue(done)
        progress.setFormat(f"{done} / {total}")
        eta = "" if seconds_left < 0 else (f"{self.tracking.frames_per_second:.1f} frames/s · "
                                           f"ETA {int(seconds_left) // 60}:{int(seconds_left) % 60:02d}")
        self.window.job_label.setText(("paused · " if self.tracking.paused else "") + eta)

    def _on_job_error(self, kind: str, exc: BaseException) -> None:
        remedy = show_error(self.window, exc)
        if remedy is Remedy.CHOOSE_CHECKPOINT:
            path, _ = QFileDialog.getOpenFileName(self.window, "SAM2 checkpoint", "",
                                                  "Checkpoints (*.pt);;All files (*)")
            if path:
                self.tracking.sam2["model"] = path
                if kind == "tracking":
                    self._rerun(sam2=path)
                else:
                    self.window.statusBar().showMessage(f"SAM2 checkpoint {path} chosen; prompt again", 8000)
        elif remedy is Remedy.CHOOSE_DETECTOR:
            path, _ = QFileDialog.getOpenFileName(self.window, "Detector", "",
                                                  "Detectors (*.pt *.onnx *.txt);;All files (*)")
            if path:
                self._rerun(detector=path)
        elif remedy is Remedy.OPEN_VIDEO:
            self.window.sessions.open_video_dialog()

    def _rerun(self, **changes: str) -> None:
        """Run the last tracking run again from its next unfinished frame, with changed options."""
        last = TrackingRun.load(self.window.session.doc) if self.window.session is not None else None
        if self._last_run is None or last is None:
            return
        options = self._last_run = self._last_run.with_changes(**changes)
        self.preferences.run_options = {**self.preferences.run_options, **options.to_dict()}
        self.tracking.start_tracking(options, last.next_frame, last.stop)

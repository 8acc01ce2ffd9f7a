"""The controller that starts, steers and stops the model jobs (``app.gui.jobs``) and writes their results.

A tracking run is saved frame by frame (``app.tracking_run``). A correction never overwrites observations edited
by hand; by default its propagation stops before the track's next manual key frame; one correction is one undo
step. Results arrive from the workers in the UI thread, where they are written (a SQLite connection is used from
one thread at a time); every finished frame is kept when a job is paused or stopped. Errors reach the window as
``error`` signals.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread, Signal

from app.conflicts import refresh_conflicts
from app.correction import INTERACTIVE_SIZE, Reach, correction_history, last_forward_frame
from app.document import Document, Observation, Scope, Source
from app.edits import DeleteObservation
from app.gui.jobs import (
    CorrectionJob, CorrectionWorker, JobWorker, Propagated, TrackedFrame, TrackingJob, TrackingWorker,
)
from app.gui.undo import EditStack, RecordedChange
from app.tracking_run import RestorePoint, ResumePoint, TrackingRun, stored_engine
from tracker.engine_options import SAM2_ENGINES, EngineOptions
from tracker.errors import MaskletError
from tracker.geometry import decode_mask, xywh_to_xyxy
from tracker.results import Event, EventKind, FrameResult

_log = logging.getLogger(__name__)

ENGINE_LABELS = {
    "sam2mot": "SAM2MOT", "smotracker": "SMOTracker", "smot": "SMOT", "bytetrack": "ByteTrack", "botsort": "BoT-SORT",
}
"""Engine name → what menus show."""
STOP_TIMEOUT_MS = 10_000
_ORPHANS: list[QThread] = []
"""Threads that did not stop in time on shutdown: kept referenced so Qt does not destroy them running."""


@dataclass
class _Running:
    """The job in progress."""

    kind: str  # "tracking" or "correction"
    worker: JobWorker
    total: int
    started: float = field(default_factory=time.perf_counter)
    paused_since: float | None = None
    paused_seconds: float = 0.0  # time spent paused, left out of the ETA
    done: int = 0
    before: Any = None  # correction: the snapshot its undo reverts to
    text: str = ""
    run: TrackingRun | None = None  # tracking: the run's range and progress

    def pause(self, now: float) -> None:
        self.paused_since = now

    def resume(self, now: float) -> None:
        self.paused_seconds += now - self.paused_since
        self.paused_since = None

    def seconds_left(self, now: float) -> float:
        """The ETA from the pace of the frames done so far, paused time left out."""
        return self._active(now) / self.done * (self.total - self.done)

    def frames_per_second(self, now: float) -> float:
        """The pace of the frames done so far, paused time left out."""
        return self.done / max(self._active(now), 1e-9)

    def _active(self, now: float) -> float:
        """Seconds since the start, paused time left out."""
        paused = self.paused_seconds + (0.0 if self.paused_since is None else now - self.paused_since)
        return now - self.started - paused


class TrackingController(QObject):
    """Starts, pauses, resumes and stops engine jobs, writes their results into the document and
    reports progress. The single place where the GUI meets the tracking engines."""

    busyChanged = Signal(bool)
    pausedChanged = Signal(bool)
    progress = Signal(int, int, float)  # frames done, frames in total, seconds left (-1: unknown)
    deviceChanged = Signal(str)
    message = Signal(str)
    error = Signal(str, object)  # job kind, the exception for the window to explain
    finished = Signal(str, bool)  # job kind, ran to the end
    documentSet = Signal()  # another document (or none) is open

    def __init__(self, stack: EditStack, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.stack = stack
        self.doc: Document | None = None
        self.video: Path | None = None
        self.sam2: dict[str, Any] = {"model": "tiny", "device": "auto", "image_size": INTERACTIVE_SIZE}
        """SAM2 options for corrections (a SAM2 run's own options take over; the annotator may change them)."""
        self._running: _Running | None = None
        self._paused = False
        self._error: BaseException | None = None
        self._engines: dict[tuple, Any] = {}
        self.device: str | None = None
        """The device the last job ran on (once its model was loaded)."""

    def set_document(self, doc: Document | None, video: Path | None) -> None:
        self.doc, self.video = doc, video
        options = None if doc is None else stored_engine(doc)
        if options is not None and options.engine in SAM2_ENGINES:
            self.sam2 = options.segmenter_options()
        self.documentSet.emit()

    @property
    def busy(self) -> bool:
        return self._running is not None

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def kind(self) -> str | None:
        """The running job's kind ("tracking" or "correction"), None when idle."""
        return None if self._running is None else self._running.kind

    @property
    def frames_per_second(self) -> float:
        """The running job's pace (paused time left out); 0 when idle or before its first frame."""
        running = self._running
        return 0.0 if running is None or not running.done else running.frames_per_second(time.perf_counter())

    # ------------------------------------------------------------------ tracking
    def start_tracking(self, options: EngineOptions, start: int, stop: int) -> bool:
        """Track the frames ``[start, stop)`` with ``options``. The same engine and options from where the project's
        run stopped continue that run as ``masklet track --resume`` does (``TrackingRun.resume_point``: exactly, from
        the saved engine state); otherwise a new run continues from the stored frame before ``start``, if any."""
        if not self.can_start():
            return False
        last = TrackingRun.load(self.doc)
        if last is not None and last.continues(options, start):
            resume: ResumePoint | None = last.resume_point(self.doc)
            run = last.extended(self.doc, stop)
        else:
            restore = RestorePoint.at(self.doc, start - 1) if start > 0 else None
            resume = ResumePoint.from_objects(restore) if restore is not None and restore.objects else None
            run = TrackingRun.begin(self.doc, options, start, stop)
        if options.engine in SAM2_ENGINES:
            self.sam2 = options.segmenter_options()
        job = TrackingJob(options, self.video, start, stop, resume, self.doc.next_track_id())
        self._launch("tracking", TrackingWorker(job), stop - start, ENGINE_LABELS[options.engine], run=run)
        return True

    # ------------------------------------------------------------------ corrections
    def correct(
        self, frame: int, track_id: int | None, *, points: np.ndarray | None = None, labels: np.ndarray | None = None,
        box: np.ndarray | None = None, mask: np.ndarray | None = None, stop: int | None = None,
    ) -> bool:
        """Prompt a track (None: a new one) at ``frame`` on its own memory and re-propagate it forward
        up to ``stop``, exclusive (None: up to the track's next manual key frame, else through the last annotated
        frame or the video's end). Manual observations on the way are kept."""
        if not self.can_start():
            return False
        job = self.correction_job(frame, track_id, stop, points=points, labels=labels, box=box, mask=mask)
        self._launch_correction(job)
        return True

    def correction_job(
        self, frame: int, track_id: int | None, stop: int | None = None, label: str | None = None, **prompts: Any
    ) -> CorrectionJob:
        """A correction job of ``track_id`` (None: a new track, of category ``label``) at ``frame`` up to ``stop``,
        exclusive (None: as ``correct``), with ``prompts`` (``CorrectionJob`` fields)."""
        doc = self.doc
        track_id = doc.next_track_id() if track_id is None else track_id
        if stop is None:
            stop = last_forward_frame(doc, track_id, frame, Reach.NEXT_KEYFRAME, self.last_frame(frame)) + 1
        label = doc.track_label(track_id) if doc.track(track_id) is not None else label
        return CorrectionJob(self.video, dict(self.sam2), frame, max(stop, frame + 1), track_id,
                             correction_history(doc, track_id, frame), label, **prompts)

    def propagate_prepared(self, job: CorrectionJob, correction: Any) -> bool:
        """Propagate a correction an interactive session replayed and prompted at ``job.frame``."""
        if not self.can_start():
            return False
        self._launch_correction(job, correction)
        return True

    def _launch_correction(self, job: CorrectionJob, prepared: Any = None) -> None:
        doc, history, frame, track_id = self.doc, job.history, job.frame, job.track_id
        first = frame if history.stored or not history.prompts else history.prompts[0].frame
        first = first if job.backward_to is None else min(first, job.backward_to)
        before = doc.snapshot(Scope((track_id,), first, job.stop))
        if doc.track(track_id) is None:
            text = f"New track {track_id} at frame {frame}"
        else:
            verb = "Re-propagate" if job.mask is not None else "Correct"
            text = f"{verb} track {track_id} from frame {frame}"
            if not history.stored:
                self.message.emit(f"Track {track_id} has no stored SAM2 prompts: its memory is rebuilt from its"
                                  f" stored boxes and masks before frame {frame}")
        backward = 0 if job.backward_to is None else frame - job.backward_to
        self._launch("correction", CorrectionWorker(job, self._engines, prepared), job.stop - frame + backward,
                     text, before)

    def repropagate(self, track_id: int, frame: int) -> bool:
        """Re-propagate a track from its observation at ``frame`` (its mask, else its box)."""
        obs = self.doc.observation(track_id, frame) if self.doc is not None else None
        if obs is None:
            self.message.emit(f"Track {track_id} has no box at frame {frame}")
            return False
        if obs.mask is None:
            return self.correct(frame, track_id, box=xywh_to_xyxy(obs.box)[0])
        return self.correct(frame, track_id, mask=decode_mask(obs.mask))

    def last_frame(self, frame: int) -> int:
        """The last frame a correction at ``frame`` may reach: the last annotated frame, else the video's end."""
        span = self.doc.frame_range()
        video = self.doc.video
        last = video.frame_count - 1 if video is not None else frame
        return span[1] if span is not None and span[1] > frame else last

    def _on_propagated(self, item: Propagated) -> None:
        doc, running = self.doc, self._running
        job = running.worker.job
        existing = doc.observation(item.track_id, item.frame)
        if item.frame == job.frame:
            obj = item.obj
            with doc.transaction():
                if not job.history.stored:
                    doc.add_prompts(job.history.prompts)
                doc.add_prompts(item.prompts)
                if obj is None:
                    if existing is not None:
                        DeleteObservation(item.track_id, item.frame).apply(doc)
                else:
                    if doc.track(obj.obj_id) is None:
                        doc.add_track(obj.obj_id, None if obj.label is None else doc.category_id(obj.label))
                    doc.add_observations([Observation(
                        frame=item.frame, track_id=obj.obj_id, box=obj.box, score=obj.score, logit=obj.logit,
                        state=obj.state, source=Source.MANUAL, mask=obj.mask,
                    )])
                    doc.add_events([Event(item.frame, EventKind.PROMPT, item.track_id)])
            doc.notify(Scope((item.track_id,), item.frame, item.frame + 1))
        elif existing is not None and existing.source == Source.MANUAL:
            return  # the annotator's work is never overwritten
        elif item.obj is None:
            if existing is not None:
                with doc.transaction():
                    DeleteObservation(item.track_id, item.frame).apply(doc)
                doc.notify(Scope((item.track_id,), item.frame, item.frame + 1))
        else:
            doc.write_frame(FrameResult(item.frame, [item.obj]))
        with doc.transaction():  # the track's box changed: so may its conflicts
            refresh_conflicts(doc, Scope((item.track_id,), item.frame, item.frame + 1))

    # ------------------------------------------------------------------ jobs
    def can_start(self) -> bool:
        """Whether a job may start now (a video is open and nothing runs); says why not."""
        if self.doc is None or self.video is None:
            self.message.emit("Open a video first")
            return False
        if self.busy:
            self.message.emit("Stop the running job first (finished frames are kept)")
            return False
        return True

    def _launch(
        self, kind: str, worker: JobWorker, total: int, text: str, before: Any = None, run: TrackingRun | None = None
    ) -> None:
        worker.ready.connect(self._on_ready)
        worker.result.connect(self._on_result)
        worker.failed.connect(self._on_failed)
        worker.done.connect(self._on_done)
        self._running = _Running(kind, worker, max(total, 1), before=before, text=text, run=run)
        self._paused = False
        self.busyChanged.emit(True)
        self.progress.emit(0, self._running.total, -1.0)
        self.message.emit(f"{text}: loading…")
        worker.start()

    def _on_ready(self, device: str) -> None:
        self.device = device
        self.deviceChanged.emit(device)

    def _on_result(self, result: TrackedFrame | Propagated) -> None:
        running = self._running
        if running is None or self.doc is None or self._error is not None:
            return
        try:
            if isinstance(result, Propagated):
                self._on_propagated(result)
            else:
                running.run = running.run.record(self.doc, result.result, result.state)
        except MaskletError as exc:  # a full disk: stop with every earlier frame saved, one dialog when done
            self._error = exc
            running.worker.stop()
            return
        running.done += 1
        self.progress.emit(running.done, running.total, running.seconds_left(time.perf_counter()))

    def _on_failed(self, exc: BaseException) -> None:
        self._error = exc

    def _on_done(self, completed: bool) -> None:
        running, self._running = self._running, None
        if running is None:
            return
        running.worker.wait()
        if running.kind == "correction" and running.done and self.doc is not None:
            after = self.doc.snapshot(running.before.scope)
            self.stack.record(RecordedChange(running.text, running.before, after))
        state = "finished" if completed else "failed" if self._error is not None else "stopped"
        self.message.emit(f"{running.text}: {state} ({running.done} of {running.total} frames)")
        self._paused = False
        self.busyChanged.emit(False)
        self.finished.emit(running.kind, completed)
        error, self._error = self._error, None
        if error is not None:
            self.error.emit(running.kind, error)

    def pause(self) -> None:
        if self._running is not None and not self._paused:
            self._running.worker.pause()
            self._running.pause(time.perf_counter())
            self._paused = True
            self.pausedChanged.emit(True)

    def resume(self) -> None:
        if self._running is not None and self._paused:
            self._running.worker.resume()
            self._running.resume(time.perf_counter())
            self._paused = False
            self.pausedChanged.emit(False)

    def stop(self) -> None:
        if self._running is not None:
            self._running.worker.stop()

    def shutdown(self, timeout_ms: int = STOP_TIMEOUT_MS) -> bool:
        """Stop the job and wait for its thread; finished frames still queued are written. False: timed out."""
        running = self._running
        if running is None:
            return True
        running.worker.stop()
        stopped = running.worker.wait(timeout_ms)
        if stopped:
            QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
        else:
            _log.warning("the %s job did not stop within %d ms; leaving it to finish", running.kind, timeout_ms)
            _ORPHANS.append(running.worker)
        if self._running is running:
            self._running = None
            self.busyChanged.emit(False)
        return stopped


def describe_devices() -> str:
    """The best compute device torch can use here, in words."""
    import torch

    if torch.cuda.is_available():
        return f"CUDA · {torch.cuda.get_device_name(0)}"
    if torch.backends.mps.is_available():
        return "MPS"
    return "CPU"


class DeviceProbe(QThread):
    """Finds the compute device in the background (importing torch takes seconds)."""

    found = Signal(str)

    def run(self) -> None:
        try:
            self.found.emit(describe_devices())
        except Exception as exc:  # a broken torch install must not take the window down
            self.found.emit(f"no torch ({type(exc).__name__})")

"""Interactive prompting: clicks and boxes accumulate on one frame for one track, each answered by a preview
of that frame's mask; then the correction is propagated (one undo step) or discarded (the project unchanged).

A live ``tracker.correction.Correction`` is kept in a session thread, so the window never waits on a model:
the first prompt rebuilds the track's memory (``replay``, progress reported), every later prompt runs only
SAM2's prompt encoder and mask decoder on the frame's cached features. Propagation hands the correction to
``TrackingController`` (manual key frames kept, progress, pause and stop); the session thread then ends.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtGui import QAction

from app.correction import Reach, backward_start, faster_setting, last_forward_frame
from app.gui.jobs import CorrectionJob, sam2_engine
from app.gui.settings import Preferences
from app.gui.tracking_worker import _ORPHANS, STOP_TIMEOUT_MS, TrackingController
from app.tracking_run import stored_engine
from tracker.engine_options import SAM2_ENGINES
from widgets.prompt_panel import PromptPanel
from widgets.video_canvas import Prompt as CanvasPrompt
from widgets.video_canvas import PromptPreview, VideoCanvas

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Preview:
    """The prompted frame of a session: the track's mask there (bool H×W; None: not visible) after the
    prompts so far, the prompts, and how long the last one took (0: the replayed mask, no prompt yet)."""

    frame: int
    track_id: int
    mask: np.ndarray | None
    points: tuple[tuple[float, float], ...] = ()
    labels: tuple[int, ...] = ()
    box: tuple[float, float, float, float] | None = None
    seconds: float = 0.0


class PromptSession(QThread):
    """The thread holding one live correction. ``click``/``set_box`` queue prompts (answered in order, each
    by a ``preview``); ``finish`` ends it keeping the correction (``correction``) for propagation;
    ``cancel`` ends it as soon as possible, keeping nothing."""

    replayed = Signal(int, int)  # frames of the memory rebuilt, of how many
    preview = Signal(object)  # Preview
    failed = Signal(object)  # the exception

    def __init__(self, job: CorrectionJob) -> None:
        super().__init__()
        self.job = job
        self.correction: Any = None
        self._commands: queue.Queue[tuple[str, tuple] | None] = queue.Queue()
        self._cancelled = threading.Event()

    def click(self, x: float, y: float, positive: bool) -> None:
        self._commands.put(("click", (x, y, positive)))

    def set_box(self, xyxy: tuple[float, float, float, float]) -> None:
        self._commands.put(("box", (xyxy,)))

    def finish(self) -> None:
        self._commands.put(None)

    def cancel(self) -> None:
        self._cancelled.set()
        self._commands.put(None)

    def run(self) -> None:  # in the session thread
        try:
            self._serve()
        except Exception as exc:  # every failure becomes a dialog in the UI thread
            _log.debug("prompt session failed", exc_info=True)
            self.failed.emit(exc)

    def _serve(self) -> None:
        from tracker.correction import Correction
        from tracker.video import VideoSource

        job = self.job
        engine = sam2_engine(job.sam2)  # its own engine: a correction job may run beside it
        with VideoSource.open(job.video, cache_size=8) as source:
            correction = Correction(engine, source.__getitem__, len(source), job.track_id, job.frame,
                                    job.history.prompts)
            for done, _ in enumerate(correction.replay(), 1):
                self.replayed.emit(done, correction.replay_frames)
                if self._cancelled.is_set():
                    return
            self._show(correction, 0.0)
            while (command := self._commands.get()) is not None and not self._cancelled.is_set():
                kind, args = command
                started = time.perf_counter()
                if kind == "click":
                    correction.click(*args)
                else:
                    correction.set_box(*args)
                self._show(correction, time.perf_counter() - started)
        if not self._cancelled.is_set():
            self.correction = correction

    def _show(self, correction: Any, seconds: float) -> None:
        output = correction.output
        self.preview.emit(Preview(
            self.job.frame, self.job.track_id, None if output is None else output.mask, tuple(correction.points),
            tuple(correction.labels), correction.box, seconds,
        ))


class PromptingController(QObject):
    """Opens, feeds, propagates and discards prompt sessions; one at a time, for one track at one frame."""

    previewChanged = Signal(object)  # Preview, or None when the session ends
    replayProgress = Signal(int, int)  # frames of the memory rebuilt, of how many
    rangeChanged = Signal(int, int)  # the frames a propagation would cover: first, last (-1, -1: no session)
    message = Signal(str)
    proposal = Signal(str)  # a faster SAM2 setting, in words
    error = Signal(object)  # the exception for the window to explain

    def __init__(self, tracking: TrackingController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tracking = tracking
        self.reach = Reach.NEXT_KEYFRAME
        self.to_frame: int | None = None
        """The last frame with ``Reach.FRAME``."""
        self.backward = False
        """Also propagate backward, down to the frame after the track's previous manual key frame."""
        self._session: PromptSession | None = None
        self._prompts = 0
        self._ending: list[PromptSession] = []  # sessions asked to end, referenced until their thread has
        self._proposed = False
        tracking.progress.connect(self._propose_faster)
        tracking.busyChanged.connect(lambda busy: setattr(self, "_proposed", self._proposed and busy))

    @property
    def active(self) -> bool:
        return self._session is not None

    @property
    def job(self) -> CorrectionJob | None:
        """The open session's job (its track and frame)."""
        return None if self._session is None else self._session.job

    def prompt(
        self, frame: int, track_id: int | None, label: str | None = None, *,
        point: tuple[float, float] | None = None, positive: bool = True,
        box: tuple[float, float, float, float] | None = None,
    ) -> bool:
        """Add a click at ``point`` or a box (xyxy) for ``track_id`` (None: the open session's track, else a
        new track of category ``label``) at ``frame``. A prompt for another frame or track discards the open
        session first. False, with a message, when no session can take it."""
        job = self.job
        if job is not None and (frame != job.frame or track_id not in (None, job.track_id)):
            self.discard()
            self.message.emit(f"The prompts of track {job.track_id} at frame {job.frame} were discarded")
        if self._session is None:
            if track_id is None and box is None and not positive:
                self.message.emit("Select the track a negative click removes pixels from")
                return False
            if not self._open(frame, track_id, label):
                return False
        if box is not None:
            self._session.set_box(tuple(float(v) for v in box))
        else:
            self._session.click(float(point[0]), float(point[1]), positive)
        self._prompts += 1
        return True

    def _open(self, frame: int, track_id: int | None, label: str | None) -> bool:
        tracking = self.tracking
        if not tracking.can_start():
            return False
        session = PromptSession(tracking.correction_job(frame, track_id, label=label))
        session.replayed.connect(lambda done, total: self._from(session, self.replayProgress.emit, done, total))
        session.preview.connect(lambda preview: self._from(session, self.previewChanged.emit, preview))
        session.failed.connect(lambda exc: self._from(session, self._failed, exc))
        session.finished.connect(lambda: self._ended(session))
        self._session, self._prompts = session, 0
        session.start()
        self.previewChanged.emit(None)  # open, nothing to show until the memory is rebuilt
        self._update_range()
        return True

    def _from(self, session: PromptSession, slot: Any, *args: Any) -> None:
        """Pass on a session's news only while it is the open one."""
        if session is self._session:
            slot(*args)

    def set_reach(self, reach: Reach, to_frame: int | None = None) -> None:
        self.reach, self.to_frame = reach, to_frame
        self._update_range()

    def set_backward(self, backward: bool) -> None:
        self.backward = backward
        self._update_range()

    def _propagation(self) -> tuple[int, int]:
        """The first and last frame a propagation of the open session covers."""
        tracking, job = self.tracking, self._session.job
        last = last_forward_frame(tracking.doc, job.track_id, job.frame, self.reach, tracking.last_frame(job.frame),
                                  self.to_frame)
        first = backward_start(tracking.doc, job.track_id, job.frame) if self.backward else job.frame
        return first, last

    def _update_range(self) -> None:
        self.rangeChanged.emit(*(self._propagation() if self._session is not None else (-1, -1)))

    def propagate(self) -> bool:
        """End the session and propagate its correction over the range shown (one undo step)."""
        session = self._session
        if session is None:
            return False
        if not self._prompts:
            self.message.emit("Click on the object first")
            return False
        first, last = self._propagation()
        session.job = replace(session.job, stop=last + 1, backward_to=first if first < session.job.frame else None)
        session.finish()
        self._close()
        return True

    def discard(self) -> None:
        """End the session; the project is unchanged."""
        if self._session is not None:
            self._session.cancel()
            self._close()

    def _close(self) -> None:
        self._ending.append(self._session)
        self._session = None
        self.previewChanged.emit(None)
        self._update_range()

    def _ended(self, session: PromptSession) -> None:
        if session in self._ending:
            self._ending.remove(session)
        if session is self._session:  # ended by itself: it failed
            self._session = None
            self.previewChanged.emit(None)
            self._update_range()
        elif session.correction is not None:
            self.tracking.propagate_prepared(session.job, session.correction)
        session.wait()

    def _failed(self, exc: BaseException) -> None:
        self.error.emit(exc)

    def shutdown(self, timeout_ms: int = STOP_TIMEOUT_MS) -> None:
        """Discard the session and wait for the session threads (one still busy is left to finish)."""
        self.discard()
        for session in list(self._ending):
            session.cancel()
            if not session.wait(timeout_ms):
                _ORPHANS.append(session)

    def _propose_faster(self, done: int, total: int, seconds_left: float) -> None:
        """On the CPU, propose a faster model or input size once per job when its ETA is long."""
        options = self.tracking.sam2
        device = self.tracking.device or ""
        if self._proposed or done == 0 or self.tracking.kind != "correction":
            return
        faster = faster_setting(
            str(options.get("model", "tiny")), options.get("image_size"), device, seconds_left)
        if faster is not None:
            self._proposed = True
            self.proposal.emit(f"This correction needs about {max(1, round(seconds_left / 60))} min more on the CPU:"
                               f" SAM2 {faster[0]} at {faster[1]} px is faster (Corrections panel)")


class PromptDesk(QObject):
    """Connects the canvas's prompts, the corrections panel and the window's actions to a
    ``PromptingController``. ``category``: the category name a new track gets. The panel's SAM2 model and
    input size are remembered in ``preferences`` and used where the project has no SAM2 run."""

    def __init__(
        self, window: Any, tracking: TrackingController, canvas: VideoCanvas, panel: PromptPanel,
        category: Callable[[], str | None], preferences: Preferences, actions: tuple[QAction, QAction],
    ) -> None:
        super().__init__(window)
        self.controller = PromptingController(tracking, self)
        self.tracking, self.canvas, self.panel, self._category = tracking, canvas, panel, category
        self._preferences = preferences
        self.act_propagate, self.act_discard = actions
        for action in actions:
            action.setEnabled(False)  # only while a session is open: Esc and Enter stay the widgets' otherwise
        self.actions = [self.act_propagate, self.act_discard]
        controller = self.controller
        controller.previewChanged.connect(self._show_preview)
        controller.replayProgress.connect(panel.show_replay)
        controller.rangeChanged.connect(panel.show_range)
        controller.proposal.connect(lambda text: window.statusBar().showMessage(text, 30_000))
        panel.propagateRequested.connect(controller.propagate)
        panel.discardRequested.connect(controller.discard)
        panel.reachChanged.connect(lambda reach, frame: controller.set_reach(Reach(reach), frame))
        panel.backwardChanged.connect(controller.set_backward)
        panel.modelChanged.connect(self._set_model)
        panel.imageSizeChanged.connect(self._set_image_size)
        canvas.promptRequested.connect(self.prompt)
        tracking.documentSet.connect(self._on_document)
        self._on_document()

    def prompt(self, prompt: CanvasPrompt) -> None:
        """A click or box from the canvas: into the open session, else a new one."""
        label = self._category() if prompt.track_id is None else None
        if prompt.box is not None:
            self.controller.prompt(prompt.frame, prompt.track_id, label, box=prompt.box)
        else:
            self.controller.prompt(prompt.frame, prompt.track_id, label, point=prompt.points[0],
                                   positive=prompt.labels[0] == 1)

    def _show_preview(self, preview: Preview | None) -> None:
        open_ = self.controller.active
        for action in self.actions:
            action.setEnabled(open_)
        if preview is None:
            self.canvas.set_prompt_preview(None)
            self.panel.show_session(None if not open_ else self._describe(None))
            return
        self.canvas.set_prompt_preview(PromptPreview(preview.frame, preview.mask, preview.points, preview.labels,
                                                     preview.box))
        self.panel.show_session(self._describe(preview))

    def _describe(self, preview: Preview | None) -> str:
        job = self.controller.job
        text = f"Track {job.track_id} at frame {job.frame}"
        if preview is None:
            return f"{text}: rebuilding its memory…"
        clicks = len(preview.points)
        text += f": {clicks} click{'s' * (clicks != 1)}" + (" and a box" if preview.box is not None else "")
        return text + (f" · preview in {preview.seconds:.2f} s" if preview.seconds else "")

    def _on_document(self) -> None:
        self.controller.discard()
        doc, chosen = self.tracking.doc, self._preferences.correction_speed
        stored = None if doc is None else stored_engine(doc)
        if chosen is not None and (stored is None or stored.engine not in SAM2_ENGINES):
            self._set_speed(*chosen)
        options = self.tracking.sam2
        self.panel.set_speed(str(options.get("model", "tiny")), options.get("image_size"))

    def _set_model(self, model: str) -> None:
        self._set_speed(model, self.tracking.sam2.get("image_size") or 0)
        self._remember()

    def _set_image_size(self, size: int) -> None:
        self._set_speed(str(self.tracking.sam2.get("model", "tiny")), size)
        self._remember()

    def _set_speed(self, model: str, image_size: int) -> None:
        """Corrections from now on use SAM2 ``model`` at ``image_size`` (0: the model's own)."""
        options = self.tracking.sam2
        options["model"] = model
        if image_size:
            options["image_size"] = image_size
        else:
            options.pop("image_size", None)

    def _remember(self) -> None:
        options = self.tracking.sam2
        self._preferences.correction_speed = (str(options.get("model", "tiny")), options.get("image_size") or 0)

"""The jobs that run a model and the QThread workers that run them, one job per worker.

- A **tracking job** runs an engine (``tracker.engines.build_engine``) over a frame range.
- A **correction job** rebuilds the object's SAM2 memory from its stored prompts (``tracker.correction``),
  prompts it at a frame and re-propagates it forward until the end of the range or until it stays lost.

Workers never touch the document: every result is sent to the UI thread as a signal, where
``app.gui.tracking_worker.TrackingController`` writes it. Pausing and stopping act between frames.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QThread, Signal

from app.correction import History
from app.tracking_run import ResumePoint
from tracker.engine_options import EngineOptions
from tracker.geometry import encode_mask
from tracker.results import FrameResult, ObjectState, Prompt, TrackedObject

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackingJob:
    """Run the engine ``options`` name over the frames ``[start, stop)`` of ``video``; ``resume``: where to
    continue from (a stopped run's saved state, or stored results); otherwise new tracks get ids from
    ``first_id`` on."""

    options: EngineOptions
    video: Path
    start: int
    stop: int
    resume: ResumePoint | None = None
    first_id: int = 1


@dataclass(frozen=True)
class TrackedFrame:
    """A tracking job's result at one frame and the engine's state after it (``Engine.save_state``)."""

    result: FrameResult
    state: bytes | None


@dataclass(frozen=True)
class CorrectionJob:
    """Prompt track ``track_id`` at ``frame`` (an ``xyxy`` box, then points with labels 1/0, one at a time;
    or a mask) on the memory ``history`` rebuilds, then re-propagate it over frames ``(frame, stop)`` (``stop``
    exclusive).
    ``sam2``: ``SAM2Engine`` keyword options."""

    video: Path
    sam2: dict[str, Any]
    frame: int
    stop: int
    track_id: int
    history: History
    label: str | None = None
    points: np.ndarray | None = None
    labels: np.ndarray | None = None
    box: np.ndarray | None = None
    mask: np.ndarray | None = None
    backward_to: int | None = None
    """Also propagate backward from ``frame`` down to this frame (inclusive); None: forward only."""


@dataclass(frozen=True)
class Propagated:
    """A correction job's result for its track at one frame (``obj`` None: the object is not visible);
    at the prompted frame, the prompts it gave SAM2."""

    frame: int
    track_id: int
    obj: TrackedObject | None
    prompts: tuple[Prompt, ...] = ()


def _device_of(engine: Any, requested: str) -> str:
    """The device an engine runs on, as far as it tells (SAM2's, else the detector's)."""
    for holder, attribute in ((getattr(engine, "segmenter", None), "device"),
                              (getattr(engine, "detector", None), "resolved_device")):
        device = getattr(holder, attribute, None)
        if device is not None:
            return str(device)
    return requested


class JobWorker(QThread):
    """A thread running one job; its signals reach the UI thread queued. ``pause``/``resume``/``stop``
    may be called from any thread."""

    ready = Signal(str)  # the device, once the model is loaded
    result = Signal(object)  # TrackedFrame or Propagated
    failed = Signal(object)  # the exception
    done = Signal(bool)  # True: ran to the end; False: stopped

    def __init__(self) -> None:
        super().__init__()
        self._stopped = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def run(self) -> None:  # in the worker thread
        completed = False
        try:
            completed = self.work()
        except Exception as exc:  # every failure becomes a dialog in the UI thread
            _log.debug("job failed", exc_info=True)
            self.failed.emit(exc)
        finally:
            self.done.emit(completed)

    def work(self) -> bool:
        raise NotImplementedError

    def proceed(self) -> bool:
        """Wait while paused; False once stopped."""
        while not self._running.wait(0.05):
            if self._stopped.is_set():
                return False
        return not self._stopped.is_set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stopped.set()
        self._running.set()


class TrackingWorker(JobWorker):
    def __init__(self, job: TrackingJob) -> None:
        super().__init__()
        self.job = job

    def work(self) -> bool:
        from tracker.engines import build_engine
        from tracker.video import VideoSource

        job = self.job
        engine = build_engine(job.options)
        self.ready.emit(_device_of(engine, job.options.device))
        with VideoSource.open(job.video, cache_size=2) as source:
            engine.next_id = job.first_id
            if job.resume is not None:
                job.resume.apply(engine, source)
            for result in engine.run(source, job.start, job.stop):
                self.result.emit(TrackedFrame(result, engine.save_state()))
                if not self.proceed():
                    return False
        return True


def sam2_engine(options: dict[str, Any], engines: dict[tuple, Any] | None = None) -> Any:
    """A ``SAM2Engine`` with ``options``; with ``engines``, built once there and then reused (the model
    itself is loaded once per process either way)."""
    from tracker.sam2_engine import SAM2Engine

    if engines is None:
        return SAM2Engine(**options)
    key = tuple(sorted(options.items()))
    if key not in engines:
        engines[key] = SAM2Engine(**options)
    return engines[key]


class CorrectionWorker(JobWorker):
    """Runs a correction job; ``prepared``: a correction already replayed and prompted at the job's frame
    (an interactive session's), which is then only propagated."""

    def __init__(self, job: CorrectionJob, engines: dict[tuple, Any], prepared: Any = None) -> None:
        super().__init__()
        self.job = job
        self._engines = engines
        self._prepared = prepared

    def work(self) -> bool:
        from tracker.correction import Correction
        from tracker.object_states import ObjectStateConfig, reported_object
        from tracker.video import VideoSource

        job, config = self.job, ObjectStateConfig()

        def report(frame: int, output: Any, prompts: tuple[Prompt, ...] = ()) -> TrackedObject | None:
            obj = None if output is None else reported_object(job.track_id, output, encode_mask(output.mask), config,
                                                               job.label)
            self.result.emit(Propagated(frame, job.track_id, obj, prompts))
            return obj

        def follow(outputs: Any) -> bool:
            """Report each frame until the object stays lost (SAM2MOT's removal rule); False once stopped."""
            lost = 0
            for frame, output in outputs:
                obj = report(frame, output)
                lost = lost + 1 if obj is None or obj.state == ObjectState.LOST else 0
                if lost > config.max_lost:
                    break
                if not self.proceed():
                    return False
            return True

        with VideoSource.open(job.video, cache_size=8) as source:
            correction = self._prepared
            if correction is None:
                engine = sam2_engine(job.sam2, self._engines)
                self.ready.emit(str(engine.device))
                correction = Correction(engine, source.__getitem__, len(source), job.track_id, job.frame,
                                        job.history.prompts)
                for _ in correction.replay():
                    if not self.proceed():
                        return False
                self._prompt(correction)
            else:
                correction.frames = source.__getitem__
                self.ready.emit(str(correction.engine.device))
            report(job.frame, correction.output, tuple(correction.take_prompts()))
            if not follow(correction.propagate(job.stop - 1)):
                return False
            if job.backward_to is not None and not follow(correction.propagate_backward(job.backward_to)):
                return False
        return True

    def _prompt(self, correction: Any) -> None:
        """Give the job's prompts at its frame."""
        job = self.job
        if job.mask is not None:
            correction.set_mask(job.mask)
            return
        if job.box is not None:
            correction.set_box(job.box)
        for (x, y), label in zip([] if job.points is None else job.points, [] if job.labels is None else job.labels):
            correction.click(x, y, int(label) == 1)

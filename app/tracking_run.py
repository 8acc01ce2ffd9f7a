"""A tracking run's bookkeeping in its project, shared by ``masklet track`` and the GUI's controller.

A run stores its engine and options (meta ``engine``: ``{"name", "options"}``, the options'
``EngineOptions.to_dict`` form) and its frame range and progress
(meta ``tracking``: ``{"start", "end", "next_frame"}``; ``end`` is the run's exclusive ``stop``). Each finished frame is written
together with the advanced ``next_frame`` and, for engines that can save it (``Engine.save_state``: ByteTrack,
BoT-SORT, SMOT, and any of them linked), the engine's state after that frame (meta ``engine_state``:
``{"frame", "state", "digest"}``) in one transaction, so a stopped run keeps every finished frame and continues at
``next_frame`` (``ResumePoint``, the same for ``--resume`` and the GUI): exactly from the saved state while that
frame is as the engine left it (its digest), else (an edited frame, an engine without a state) from the stored
objects of the last frame (``RestorePoint``: SAM2 engines, linked or not, take their stored masks as new prompts,
so their memory of earlier frames and the linker's of ended tracks are lost). No Qt here.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from app.document import DamagedProjectError, Document
from tracker.engine_options import EngineOptions
from tracker.errors import MaskletError
from tracker.results import FrameResult, TrackedObject

if TYPE_CHECKING:
    from tracker.engines import Engine
    from tracker.video import VideoSource

_log = logging.getLogger(__name__)

ENGINE_META = "engine"
TRACKING_META = "tracking"
STATE_META = "engine_state"


def stored_engine(doc: Document) -> EngineOptions | None:
    """The engine and options the project was tracked with (None: no run stored)."""
    value = doc.get_meta(ENGINE_META)
    if not isinstance(value, dict) or "name" not in value:
        return None
    if not isinstance(value["name"], str) or not isinstance(value.get("options", {}), dict):
        raise DamagedProjectError(f"{doc.where}: damaged project (meta {ENGINE_META!r} holds {value!r})")
    try:
        return EngineOptions.from_dict(value["name"], value.get("options", {}))
    except MaskletError as exc:
        raise DamagedProjectError(f"{doc.where}: damaged project ({exc})") from None


@dataclass(frozen=True)
class TrackingRun:
    """An engine run over the frames ``[start, stop)``; ``next_frame``: the first frame not stored yet."""

    options: EngineOptions
    start: int
    stop: int
    next_frame: int

    @property
    def engine(self) -> str:
        """The engine's name."""
        return self.options.engine

    @classmethod
    def begin(cls, doc: Document, options: EngineOptions, start: int, stop: int) -> TrackingRun:
        """Store a new run (its engine, options and range; no frame done) in one transaction."""
        run = cls(options, start, stop, start)
        with doc.transaction():
            doc.set_meta(ENGINE_META, {"name": options.engine, "options": options.to_dict()})
            doc.delete_meta(STATE_META)
            run._store_progress(doc)
        return run

    @classmethod
    def load(cls, doc: Document) -> TrackingRun | None:
        """The project's last run (None: the project was not made by a tracking run)."""
        engine, progress = stored_engine(doc), doc.get_meta(TRACKING_META)
        if engine is None or not isinstance(progress, dict):
            return None
        frames = [progress.get(key) for key in ("start", "end", "next_frame")]
        if not all(isinstance(f, int) and not isinstance(f, bool) and f >= 0 for f in frames) or not (
            frames[0] <= frames[2] <= max(frames[1], frames[0])
        ):
            raise DamagedProjectError(f"{doc.where}: damaged project (meta {TRACKING_META!r} holds {progress!r})")
        return cls(engine, *frames)

    @property
    def continued(self) -> bool:
        """Frames of this run are already stored: the engine continues from ``next_frame - 1``."""
        return self.next_frame > self.start

    def record(self, doc: Document, result: FrameResult, state: bytes | None = None) -> TrackingRun:
        """Store one finished frame, the advanced progress and the engine's ``state`` after it (None: the engine
        saves none) in one transaction; the advanced run."""
        run = replace(self, next_frame=result.frame + 1)
        with doc.transaction():
            doc.write_frame(result)
            run._store_progress(doc)
            if state is None:
                doc.delete_meta(STATE_META)
            else:
                doc.set_meta(STATE_META, {"frame": result.frame, "state": base64.b64encode(state).decode("ascii"),
                                          "digest": _frame_digest(doc, result.frame)})
        return run

    def resume(self, doc: Document, engine: Engine, source: VideoSource) -> bool:
        """Put ``engine`` where this run stopped, before ``next_frame`` (``resume_point``); True: exactly, from the
        saved state."""
        return self.resume_point(doc).apply(engine, source)

    def resume_point(self, doc: Document) -> ResumePoint:
        """Where this run continues before ``next_frame``: the state saved with the last frame while that frame is as
        the engine left it (its digest), and the frame's stored objects in case there is none or it cannot be
        loaded. Read from ``doc`` here; applied (``ResumePoint.apply``) wherever the engine runs."""
        stored, last, state = doc.get_meta(STATE_META), self.next_frame - 1, None
        if (isinstance(stored, dict) and stored.get("frame") == last
                and stored.get("digest") == _frame_digest(doc, last)):
            try:
                state = base64.b64decode(str(stored.get("state")), validate=True)
            except binascii.Error as exc:
                _log.warning("%s: the %s state saved with frame %d is damaged (%s)", doc.where, self.engine, last, exc)
        return ResumePoint(RestorePoint.at(doc, last), state, f"{doc.where}: the {self.engine} state")

    def continues(self, options: EngineOptions, start: int) -> bool:
        """Whether running with ``options`` from ``start`` continues this run: the same engine and options (the
        device may differ, as ``masklet track --resume`` allows) from its ``next_frame``."""
        return (self.continued and start == self.next_frame
                and options.without_device() == self.options.without_device())

    def extended(self, doc: Document, stop: int) -> TrackingRun:
        """This run going on up to ``stop``, exclusive (stored)."""
        run = replace(self, stop=stop)
        run._store_progress(doc)
        return run

    def _store_progress(self, doc: Document) -> None:
        doc.set_meta(TRACKING_META, {"start": self.start, "end": self.stop, "next_frame": self.next_frame})


def _frame_digest(doc: Document, frame: int) -> str:
    """A digest of a frame's stored objects: an edit of the frame changes it."""
    objects = [(o.track_id, o.box, int(o.state), o.score, o.logit, o.mask and o.mask.counts)
               for o in doc.observations_at(frame)]
    return hashlib.blake2b(repr(objects).encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class ResumePoint:
    """Where a stopped run continues (``TrackingRun.resume_point``): the engine state saved with its last frame
    (None: none, or stale) and that frame's stored objects. ``where`` names the state in a warning."""

    restore: RestorePoint
    state: bytes | None
    where: str

    @classmethod
    def from_objects(cls, restore: RestorePoint) -> ResumePoint:
        """Continue from stored objects only (a new run after an earlier frame)."""
        return cls(restore, None, "")

    def apply(self, engine: Engine, source: VideoSource) -> bool:
        """Put ``engine`` at this point: from the state when it loads (exact; True), else from the stored objects
        (False). Its ``next_id`` stays above every track stored (tracks added by hand after the stop)."""
        if self.state is not None:
            try:
                engine.load_state(self.state)
                engine.next_id = max(engine.next_id, self.restore.next_id)
                return True
            except ValueError as exc:
                _log.warning("%s saved with frame %d cannot be loaded (%s); continuing from the stored objects, not "
                             "exactly", self.where, self.restore.frame, exc)
        self.restore.apply(engine, source)
        return False


@dataclass(frozen=True)
class RestorePoint:
    """What ``Engine.restore`` continues from: a stored frame, its objects as an engine reported them and
    the next free track id."""

    frame: int
    objects: list[TrackedObject]
    next_id: int

    @classmethod
    def at(cls, doc: Document, frame: int) -> RestorePoint:
        return cls(frame, doc.tracked_objects(frame), doc.next_track_id())

    def apply(self, engine: Engine, source: VideoSource) -> None:
        """Restore ``engine`` at this frame of ``source``; it goes on with the next frame."""
        engine.restore(self.frame, source[self.frame], self.objects, self.next_id)

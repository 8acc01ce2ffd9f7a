"""A tracking run's bookkeeping in its project, shared by ``masklet track`` and the GUI's controller.

A run stores its engine (meta ``engine``: ``{"name", "options"}``) and its frame range and progress
(meta ``tracking``: ``{"start", "end", "next_frame"}``, ``end`` exclusive). Each finished frame is written
together with the advanced ``next_frame`` in one transaction, so a stopped run keeps every finished frame
and continues at ``next_frame``; a ``RestorePoint`` gives the engine the stored objects to continue from.
No Qt here.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from app.document import Document
from tracker.results import FrameResult, TrackedObject

if TYPE_CHECKING:
    from tracker.engines import Engine
    from tracker.video import VideoSource

ENGINE_META = "engine"
TRACKING_META = "tracking"


def stored_engine(doc: Document) -> tuple[str, dict[str, Any]] | None:
    """The engine name and options the project was tracked with (None: no run stored)."""
    value = doc.get_meta(ENGINE_META)
    if not isinstance(value, dict) or "name" not in value:
        return None
    return value["name"], dict(value.get("options", {}))


@dataclass(frozen=True)
class TrackingRun:
    """An engine run over frames ``start .. end - 1``; ``next_frame``: the first frame not stored yet."""

    engine: str
    options: dict[str, Any]
    start: int
    end: int
    next_frame: int

    @classmethod
    def begin(cls, doc: Document, engine: str, options: dict[str, Any], start: int, end: int) -> TrackingRun:
        """Store a new run (its engine, options and range; no frame done) in one transaction."""
        run = cls(engine, options, start, end, start)
        with doc.transaction():
            doc.set_meta(ENGINE_META, {"name": engine, "options": options})
            run._store_progress(doc)
        return run

    @classmethod
    def load(cls, doc: Document) -> TrackingRun | None:
        """The project's last run (None: the project was not made by a tracking run)."""
        engine, progress = stored_engine(doc), doc.get_meta(TRACKING_META)
        if engine is None or not isinstance(progress, dict):
            return None
        return cls(*engine, progress["start"], progress["end"], progress["next_frame"])

    @property
    def continued(self) -> bool:
        """Frames of this run are already stored: the engine continues from ``next_frame - 1``."""
        return self.next_frame > self.start

    def record(self, doc: Document, result: FrameResult) -> TrackingRun:
        """Store one finished frame and the advanced progress in one transaction; the advanced run."""
        run = replace(self, next_frame=result.frame + 1)
        with doc.transaction():
            doc.write_frame(result)
            run._store_progress(doc)
        return run

    def _store_progress(self, doc: Document) -> None:
        doc.set_meta(TRACKING_META, {"start": self.start, "end": self.end, "next_frame": self.next_frame})


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

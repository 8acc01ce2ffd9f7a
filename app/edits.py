"""Reversible edits of a document (do / undo), ready to wrap in a ``QUndoStack``: track edits (reassign, split,
swap, merge, delete, categorise), box edits with keyframe interpolation, review marks.

Every edit is an ``app.edit_base.Edit``; the label schema's edits live in ``app.schema_edits``. Callers import
any edit from here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from app.document import Document, Observation, Scope, Source, Track
from app.edit_base import Edit, EditError
from app.review import ReviewItem, is_reviewed, review_event, reviewed_keys
from app.schema_edits import (
    AddCategory, MergeCategories, RenameCategory, SchemaEdit, SetCategoryColor, SetDefaultCategory,
)
from tracker.results import EventKind, ObjectState

__all__ = [
    "AddCategory", "CopyBox", "DeleteObservation", "DeleteTrack", "Edit", "EditBox", "EditError", "MarkReviewed",
    "MergeCategories", "MergeSeveral", "MergeTracks", "ReassignId", "RenameCategory", "SchemaEdit", "SetCategory",
    "SetCategoryColor", "SetDefaultCategory", "SplitTrack", "SwapIds",
]


def _require_track(doc: Document, track_id: int) -> Track:
    track = doc.track(track_id)
    if track is None:
        raise EditError(f"track {track_id} does not exist")
    return track


def _overlap(doc: Document, a: int, b: int, start: int = 0) -> list[int]:
    """Frames ≥ ``start`` where both tracks have an observation."""
    return doc.shared_frames(a, b, start)


def _rename(doc: Document, old: int, new: int, start: int) -> None:
    """Give ``old``'s observations and events from ``start`` on the id ``new``."""
    doc.reassign_frames(old, new, start)


def _drop_if_empty(doc: Document, track_id: int) -> None:
    doc.drop_track_if_empty(track_id)


@dataclass
class ReassignId(Edit):
    """Frames ≥ ``start`` of ``track_id`` move to ``new_id`` (a new or an existing track)."""

    track_id: int
    new_id: int
    start: int = 0

    @property
    def text(self) -> str:
        return f"Reassign {self.track_id} → {self.new_id} from frame {self.start}"

    def scope(self, doc: Document) -> Scope:
        return Scope((self.track_id, self.new_id), self.start)

    def apply(self, doc: Document) -> None:
        source = _require_track(doc, self.track_id)
        if self.new_id == self.track_id:
            raise EditError(f"track {self.track_id} already has that id")
        clash = _overlap(doc, self.track_id, self.new_id, self.start)
        if clash:
            raise EditError(f"tracks {self.track_id} and {self.new_id} both have frame {clash[0]}")
        doc.ensure_tracks([self.new_id], source.category_id)
        _rename(doc, self.track_id, self.new_id, self.start)
        _drop_if_empty(doc, self.track_id)


@dataclass
class SplitTrack(ReassignId):
    """Frames ≥ ``start`` of a track become a new track (its id chosen on first ``do``)."""

    new_id: int = 0

    @property
    def text(self) -> str:
        return f"Split {self.track_id} at frame {self.start}"

    def scope(self, doc: Document) -> Scope:
        if not self.new_id:
            self.new_id = doc.next_track_id()
        return super().scope(doc)


@dataclass
class SwapIds(Edit):
    """Exchange the identities of two tracks from frame ``start`` on."""

    a: int
    b: int
    start: int = 0

    @property
    def text(self) -> str:
        return f"Swap {self.a} ↔ {self.b} from frame {self.start}"

    def scope(self, doc: Document) -> Scope:
        return Scope((self.a, self.b), self.start)

    def apply(self, doc: Document) -> None:
        _require_track(doc, self.a)
        _require_track(doc, self.b)
        if self.a == self.b:
            raise EditError("cannot swap a track with itself")
        parking = -1 - max(self.a, self.b)  # an id no real track uses
        _rename(doc, self.a, parking, self.start)
        _rename(doc, self.b, self.a, self.start)
        _rename(doc, parking, self.b, self.start)


@dataclass
class MergeTracks(Edit):
    """Track ``source`` joins ``target``. Shared frames fail unless ``keep`` is "target" or "source"."""

    changes_boxes = True

    target: int
    source: int
    keep: str | None = None
    _shared: list[int] = field(default_factory=list, init=False, repr=False, compare=False)

    @property
    def text(self) -> str:
        return f"Merge {self.source} into {self.target}"

    def scope(self, doc: Document) -> Scope:
        return Scope((self.target, self.source))

    def apply(self, doc: Document) -> None:
        _require_track(doc, self.target)
        _require_track(doc, self.source)
        if self.target == self.source:
            raise EditError("cannot merge a track into itself")
        if self.keep not in (None, "target", "source"):
            raise EditError(f"keep must be 'target' or 'source', not {self.keep!r}")
        shared = _overlap(doc, self.target, self.source)
        if shared and self.keep is None:
            raise EditError(
                f"tracks {self.target} and {self.source} overlap on {len(shared)} frames (first {shared[0]});"
                " choose which one wins"
            )
        loser = self.source if self.keep == "target" else self.target
        self._shared = shared
        doc.delete_observations(loser, shared)
        doc.delete_conflicts_between(self.target, self.source)
        _rename(doc, self.source, self.target, 0)
        _drop_if_empty(doc, self.source)  # all of it moved to the target

    def conflict_scope(self, scope: Scope) -> Scope:
        """The shared frames, where one of the two boxes was dropped (elsewhere only ids changed)."""
        return Scope((self.target,), self._shared[0], self._shared[-1] + 1) if self._shared else Scope(())


@dataclass
class MergeSeveral(Edit):
    """Tracks ``sources`` join ``target`` one after another, in one step. Shared frames fail unless ``keep``
    is "target" (the target's box stays) or "source" (a source's box wins, a later source over an earlier one)."""

    target: int
    sources: tuple[int, ...]
    keep: str | None = None

    @property
    def text(self) -> str:
        return f"Merge {', '.join(map(str, self.sources))} into {self.target}"

    def scope(self, doc: Document) -> Scope:
        return Scope((self.target, *self.sources))

    def apply(self, doc: Document) -> None:
        if not self.sources:
            raise EditError("choose at least one track to merge")
        for source in self.sources:
            MergeTracks(self.target, source, self.keep).apply(doc)


@dataclass
class DeleteTrack(Edit):
    """Remove a track with its observations and events, or only the half-open frame range [start, stop) of it
    (``stop=None``: to its end)."""

    track_id: int
    start: int = 0
    stop: int | None = None

    @property
    def text(self) -> str:
        if self.start == 0 and self.stop is None:
            return f"Delete track {self.track_id}"
        return f"Delete track {self.track_id} frames {self.start}–{'end' if self.stop is None else self.stop - 1}"

    def scope(self, doc: Document) -> Scope:
        return Scope((self.track_id,), self.start, self.stop)

    def apply(self, doc: Document) -> None:
        _require_track(doc, self.track_id)
        if self.stop is not None and self.stop <= self.start:
            raise EditError(f"no frames to delete: frame range [{self.start}, {self.stop}) is empty")
        doc.delete_track_frames(self.track_id, self.start, self.stop)
        _drop_if_empty(doc, self.track_id)


@dataclass
class SetCategory(Edit):
    """Change the category of one or more tracks (one undo step)."""

    track_ids: tuple[int, ...]
    category_id: int | None

    @property
    def text(self) -> str:
        return f"Set category of {', '.join(map(str, self.track_ids))}"

    def scope(self, doc: Document) -> Scope:
        return Scope(tuple(self.track_ids))

    def apply(self, doc: Document) -> None:
        for track_id in self.track_ids:
            _require_track(doc, track_id)
        if self.category_id is not None and self.category_id not in doc.categories():
            raise EditError(f"category {self.category_id} does not exist")
        for track_id in self.track_ids:
            doc.set_track_category(track_id, self.category_id)


@dataclass
class EditBox(Edit):
    """Set (or add) a track's box at a frame by hand; a new track id creates the track.

    The box becomes a key frame: the frames between it and the track's previous and next manual boxes
    that hold no box, or an interpolated one, get boxes interpolated linearly between the two key frames
    (as CVAT interpolates). Boxes from a tracker or an import are never replaced. The box is reliable: a
    pending, suspicious or lost frame the annotator fixed is no longer flagged."""

    changes_boxes = True

    track_id: int
    frame: int
    box: tuple[float, float, float, float]
    category_id: int | None = None

    @property
    def text(self) -> str:
        return f"Edit box of {self.track_id} at frame {self.frame}"

    def scope(self, doc: Document) -> Scope:
        before, after = _neighbour_keyframes(doc, self.track_id, self.frame)
        return Scope((self.track_id,), self.frame if before is None else before,
                     (self.frame if after is None else after) + 1)

    def apply(self, doc: Document) -> None:
        if self.box[2] <= 0 or self.box[3] <= 0:
            raise EditError(f"a box needs a positive width and height, not {self.box}")
        doc.ensure_tracks([self.track_id], self.category_id)
        # A hand-drawn box replaces the mask and what SAM2 made of it (its logit and the state from it): the
        # annotator's box is reliable.
        doc.add_observations([
            Observation(frame=self.frame, track_id=self.track_id, box=tuple(map(float, self.box)),
                        source=Source.MANUAL, state=ObjectState.RELIABLE)
        ])
        before, after = _neighbour_keyframes(doc, self.track_id, self.frame)
        for start, end in ((before, self.frame), (self.frame, after)):
            if start is not None and end is not None:
                _interpolate(doc, self.track_id, start, end)


@dataclass
class CopyBox(Edit):
    """Copy a track's box at ``frame`` to the next ``count`` frames as manual boxes (CVAT's "propagate"),
    for box-only tracks; manual boxes already there are kept."""

    changes_boxes = True

    track_id: int
    frame: int
    count: int = 1

    @property
    def text(self) -> str:
        return f"Copy box of {self.track_id} to {self.count} frame{'s' if self.count > 1 else ''}"

    def scope(self, doc: Document) -> Scope:
        return Scope((self.track_id,), self.frame + 1, self.frame + self.count + 1)

    def apply(self, doc: Document) -> None:
        source = doc.observation(self.track_id, self.frame)
        if source is None:
            raise EditError(f"track {self.track_id} has no box at frame {self.frame}")
        if self.count < 1:
            raise EditError("copy the box to at least one frame")
        manual = {f for f in range(self.frame + 1, self.frame + self.count + 1)
                  if (o := doc.observation(self.track_id, f)) is not None and o.source == Source.MANUAL}
        doc.add_observations([
            Observation(frame=f, track_id=self.track_id, box=source.box, source=Source.MANUAL, state=source.state)
            for f in range(self.frame + 1, self.frame + self.count + 1) if f not in manual
        ])


def _neighbour_keyframes(doc: Document, track_id: int, frame: int) -> tuple[int | None, int | None]:
    """The track's manual boxes (key frames) closest before and after ``frame``."""
    timeline = doc.track_timeline(track_id)
    keys = timeline.frames[timeline.manual]
    before, after = keys[keys < frame], keys[keys > frame]
    return (int(before[-1]) if before.size else None), (int(after[0]) if after.size else None)


def _interpolate(doc: Document, track_id: int, start: int, end: int) -> None:
    """Linear boxes between the manual boxes at ``start`` and ``end``, where no other box is."""
    a, b = doc.observation(track_id, start), doc.observation(track_id, end)
    free = [f for f in range(start + 1, end)
            if (o := doc.observation(track_id, f)) is None or o.source == Source.INTERPOLATED]
    doc.add_observations([
        Observation(
            frame=f, track_id=track_id, source=Source.INTERPOLATED, state=ObjectState.RELIABLE,
            box=tuple(float(p + (q - p) * (f - start) / (end - start)) for p, q in zip(a.box, b.box)),
        )
        for f in free
    ])


@dataclass
class DeleteObservation(Edit):
    """Remove one track's observation at one frame."""

    changes_boxes = True

    track_id: int
    frame: int

    @property
    def text(self) -> str:
        return f"Delete {self.track_id} at frame {self.frame}"

    def scope(self, doc: Document) -> Scope:
        return Scope((self.track_id,), self.frame, self.frame + 1)

    def apply(self, doc: Document) -> None:
        if doc.observation(self.track_id, self.frame) is None:
            raise EditError(f"track {self.track_id} has no box at frame {self.frame}")
        doc.delete_observations(self.track_id, [self.frame])
        _drop_if_empty(doc, self.track_id)


@dataclass
class MarkReviewed(Edit):
    """Mark a review item as reviewed (a REVIEWED event at its first frame)."""

    item: ReviewItem

    @property
    def text(self) -> str:
        return f"Mark reviewed: {self.item.describe()}"

    def scope(self, doc: Document) -> Scope:
        return Scope(tuple(self.item.tracks), self.item.start, self.item.start + 1)

    def apply(self, doc: Document) -> None:
        if is_reviewed(self.item, reviewed_keys(doc.events(kind=EventKind.REVIEWED))):
            raise EditError(f"already reviewed: {self.item.describe()}")
        doc.add_events([review_event(self.item)])

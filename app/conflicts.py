"""Cross-object conflicts from a project's stored observations: kept true after edits, read as episodes.

Two tracks conflict at a frame when both have a box there and their masks overlap with an IoU above
``CONFLICT_IOU`` (SAM2MOT's criterion, ``tracker.sam2mot``); a pair where either track has no mask is compared
by box IoU. The engines record CONFLICT events while tracking; after an edit changes boxes (``app.edits``) or a
correction re-propagates a track, ``refresh_conflicts`` recomputes the events of the changed tracks at the changed
frames from what is stored. ``conflict_rows`` reads the recorded conflicts where both tracks have a box;
``group_episodes`` joins a pair's conflicts into episodes (``app.review`` shows them). No Qt here.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.document import Document, Observation, Scope
from tracker.geometry import box_iou, mask_iou, xywh_to_xyxy
from tracker.object_states import CONFLICT_IOU
from tracker.results import Event, EventKind

EPISODE_GAP = 5
"""A pair's conflicts at most this many frames apart belong to one episode (an IoU hovering at the threshold)."""


@dataclass(frozen=True, slots=True)
class Episode:
    """A pair of tracks (``track_id`` < ``other_id``) in conflict from ``first`` to ``last`` (inclusive) at
    ``frames`` frames."""

    track_id: int
    other_id: int
    first: int
    last: int
    frames: int


def conflicting_pairs(
    observations: Sequence[Observation], threshold: float = CONFLICT_IOU
) -> dict[tuple[int, int], str]:
    """The pairs (lower id first) of one frame's observations that conflict, with what was measured."""
    if len(observations) < 2:
        return {}
    boxes = xywh_to_xyxy(np.array([obs.box for obs in observations]))
    iou = box_iou(boxes, boxes)
    by_mask = np.zeros(iou.shape, bool)
    masked = [i for i, obs in enumerate(observations) if obs.mask is not None]
    if len(masked) > 1:
        rles = [observations[i].mask for i in masked]
        iou[np.ix_(masked, masked)] = mask_iou(rles, rles)
        by_mask[np.ix_(masked, masked)] = True
    pairs = {}
    for i, j in zip(*np.nonzero(np.triu(iou > threshold, k=1))):
        a, b = sorted((observations[i].track_id, observations[j].track_id))
        pairs[a, b] = f"{'mask' if by_mask[i, j] else 'box'} IoU {iou[i, j]:.2f}"
    return pairs


def refresh_conflicts(doc: Document, scope: Scope, threshold: float = CONFLICT_IOU) -> None:
    """Recompute the CONFLICT events of the scope's tracks at the scope's frames from the stored observations,
    inside the caller's transaction: the events of pairs that still conflict are kept (with the engine's loser
    and detail), the others deleted (also where a track has no box any more), new conflicts added."""
    tracks = set(scope.track_ids)
    if not tracks:
        return
    by_frame: dict[int, list[Observation]] = {}
    for obs in doc.observations_beside(scope):
        by_frame.setdefault(obs.frame, []).append(obs)
    recorded: dict[int, list[tuple[int, int, int | None]]] = {}
    for event_id, frame, track_id, other_id in doc.conflict_events(scope):
        recorded.setdefault(frame, []).append((event_id, track_id, other_id))
    stale, added = [], []
    for frame in sorted(by_frame.keys() | recorded.keys()):
        pairs = {pair: detail for pair, detail in conflicting_pairs(by_frame.get(frame, []), threshold).items()
                 if tracks.intersection(pair)}
        for event_id, track_id, other_id in recorded.get(frame, []):
            pair = (track_id, track_id) if other_id is None else tuple(sorted((track_id, other_id)))
            if pairs.pop(pair, None) is None:  # no longer in conflict, or recorded twice
                stale.append(event_id)
        added += [Event(frame, EventKind.CONFLICT, a, other_id=b, detail=f"{detail}, after an edit")
                  for (a, b), detail in pairs.items()]
    doc.delete_events(stale)
    doc.add_events(added)


def conflict_rows(doc: Document) -> np.ndarray:
    """The recorded conflicts where both tracks have a box, as sorted unique rows ``(track_a, track_b, frame)``
    with ``track_a`` < ``track_b``."""
    rows = doc.boxed_conflicts()
    data = np.array(rows, np.int64).reshape(-1, 3)
    return data[np.lexsort((data[:, 2], data[:, 1], data[:, 0]))]


def group_episodes(rows: np.ndarray, gap: int = EPISODE_GAP) -> list[Episode]:
    """Join sorted ``(track_a, track_b, frame)`` rows into episodes: a pair's conflicts at most ``gap`` frames
    apart are one. By first frame, then pair."""
    if not len(rows):
        return []
    new_pair = np.any(np.diff(rows[:, :2], axis=0) != 0, axis=1)
    breaks = np.flatnonzero(new_pair | (np.diff(rows[:, 2]) > gap)) + 1
    episodes = [
        Episode(int(rows[s, 0]), int(rows[s, 1]), int(rows[s, 2]), int(rows[e - 1, 2]), int(e - s))
        for s, e in zip(np.r_[0, breaks], np.r_[breaks, len(rows)])
    ]
    return sorted(episodes, key=lambda ep: (ep.first, ep.track_id, ep.other_id))

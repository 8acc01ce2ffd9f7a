"""Review by risk: the places where a project's tracks are most likely wrong, most likely first.

Risk items are computed from what the project holds, on open and after each edit (nothing is stored but
the annotator's "reviewed" marks). Each item is a track segment or a frame range ``[start, end)`` with a
reason and a risk in (0, 1], the a-priori chance that it needs an edit (``RISKS``; set by the meaning of
each cue, not fitted to any data set):

- ``conflict`` (0.9): two tracks claim the same object (CONFLICT events where both have a box), one item per
  episode: the pair's conflicts at most ``conflict_gap`` (5) frames apart (``app.conflicts``);
- ``lost`` (0.8), ``suspicious`` (0.6), ``pending`` (0.3): a run of frames in that state;
- ``short`` (0.7): a track with fewer than ``short_track`` (10) frames, the whole track;
- ``gap`` (0.6): frames missing inside a track's span (for box-only engines: frames where no detection
  matched it);
- ``jump`` (0.6): the box moves by more than ``jump_shift`` (0.5) × its size (√(w·h)) or changes its width or
  height by more than ``jump_scale`` (1.5×) from one frame to the next, at the frame after;
- ``birth`` / ``death`` (0.5): a track starts after the first tracked frame (or ends before the last) with
  its box away from the image border (more than ``border`` (2 %) of the image inside).

The project holds no raw detections, so "a strong detection with no track" cannot be checked; for
box-only engines a gap is where "no detection matched" shows. The queue lists the items not yet reviewed
by risk, then shorter first. Reviewing marks an item with a REVIEWED event (``MarkReviewed`` in
``app.edits``, undoable); the frames it covers are what the timeline shows as reviewed. A mark also covers
the items of the same reason and tracks inside its frames (a conflict episode that an edit shortened stays
resolved). A reviewed conflict episode is a *resolved* one: the conflict navigator skips it.

With ground truth, ``queue_frames`` orders every frame as a reviewer following the queue meets it (the
items' frames in queue order, then the others in frame order) and ``recall`` says which share of the
effort (``app.effort``) lies in the first 10/20/50 % of that order, next to plain frame order.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.conflicts import EPISODE_GAP, conflict_rows, group_episodes
from app.document import Document, Timeline
from tracker.results import Event, EventKind, ObjectState

RISKS: dict[str, float] = {"conflict": 0.9, "lost": 0.8, "short": 0.7, "suspicious": 0.6, "gap": 0.6, "jump": 0.6,
                           "birth": 0.5, "death": 0.5, "pending": 0.3}
STATE_REASONS = {ObjectState.LOST: "lost", ObjectState.SUSPICIOUS: "suspicious", ObjectState.PENDING: "pending"}
RECALL_AT = (0.1, 0.2, 0.5)


@dataclass(frozen=True)
class RiskConfig:
    """The thresholds of the risk cues and the risk of each reason."""

    short_track: int = 10
    jump_shift: float = 0.5
    jump_scale: float = 1.5
    border: float = 0.02
    conflict_gap: int = EPISODE_GAP
    risks: dict[str, float] = field(default_factory=lambda: dict(RISKS))


@dataclass(frozen=True)
class ReviewItem:
    """A track segment (``other_id``: the second track of a conflict) over frames ``[start, end)``."""

    reason: str
    track_id: int
    start: int
    end: int
    other_id: int | None = None
    risk: float = 0.0

    @property
    def key(self) -> tuple[str, int, int | None, int, int]:
        return self.reason, self.track_id, self.other_id, self.start, self.end

    @property
    def tracks(self) -> list[int]:
        return [self.track_id] if self.other_id is None else [self.track_id, self.other_id]

    def describe(self) -> str:
        tracks = " & ".join(map(str, self.tracks))
        frames = f"frame {self.start}" if self.end - self.start == 1 else f"frames {self.start}–{self.end - 1}"
        return f"{self.reason} · track {tracks} · {frames}"


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(first, last + 1)`` index pairs of the runs of True in a boolean array."""
    edges = np.diff(np.concatenate(([0], values.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def track_items(track_id: int, frames: np.ndarray, states: np.ndarray, boxes: np.ndarray,
                span: tuple[int, int], size: tuple[int, int] | None, config: RiskConfig) -> list[ReviewItem]:
    """The risk items of one track: its frames (sorted), states and ``(x, y, w, h)`` boxes; ``span``: the first
    and last frame of the project's tracks; ``size``: the image's ``(width, height)`` (None: unknown)."""
    risks = config.risks
    items: list[ReviewItem] = []

    def add(reason: str, start: int, end: int) -> None:
        items.append(ReviewItem(reason, track_id, int(start), int(end), risk=risks[reason]))

    if frames.size < config.short_track:
        add("short", frames[0], frames[-1] + 1)
    breaks = np.flatnonzero((np.diff(frames) != 1) | (np.diff(states) != 0)) + 1
    for first, last in zip(np.r_[0, breaks], np.r_[breaks, frames.size]):
        reason = STATE_REASONS.get(ObjectState(int(states[first])))
        if reason is not None:
            add(reason, frames[first], frames[last - 1] + 1)
    for i in np.flatnonzero(np.diff(frames) > 1):
        add("gap", frames[i] + 1, frames[i + 1])
    previous, current = boxes[:-1], boxes[1:]
    scale = np.sqrt(np.clip(previous[:, 2] * previous[:, 3], 1e-9, None))
    shift = np.hypot(*((current[:, :2] + current[:, 2:] / 2) - (previous[:, :2] + previous[:, 2:] / 2)).T) / scale
    ratio = np.clip(current[:, 2:], 1e-9, None) / np.clip(previous[:, 2:], 1e-9, None)
    jumps = (shift > config.jump_shift) | (np.abs(np.log(ratio)) > np.log(config.jump_scale)).any(axis=1)
    for i in np.flatnonzero(jumps & (np.diff(frames) == 1)):
        add("jump", frames[i + 1], frames[i + 1] + 1)
    for reason, index, inside in (("birth", 0, frames[0] > span[0]), ("death", -1, frames[-1] < span[1])):
        if inside and size is not None and _away_from_border(boxes[index], size, config.border):
            add(reason, frames[index], frames[index] + 1)
    return items


def _away_from_border(box: np.ndarray, size: tuple[int, int], margin: float) -> bool:
    x, y, w, h = box
    width, height = size
    return x > margin * width and y > margin * height and x + w < (1 - margin) * width and y + h < (1 - margin) * height


def risk_items(doc: Document, config: RiskConfig = RiskConfig()) -> list[ReviewItem]:
    """Every risk item of a project, in queue order (reviewed ones included)."""
    rows = doc.observation_states()
    items = [episode.item for episode in conflict_episodes(doc, config)]
    if rows.size:
        video = doc.video
        size = None if video is None else (video.width, video.height)
        span = int(rows[:, 1].min()), int(rows[:, 1].max())
        ids, firsts = np.unique(rows[:, 0], return_index=True)
        for track_id, first, last in zip(ids.tolist(), firsts, np.r_[firsts[1:], len(rows)]):
            part = rows[first:last]
            items += track_items(int(track_id), part[:, 1].astype(np.int64), part[:, 2].astype(np.int8), part[:, 3:],
                                 span, size, config)
    return sorted(items, key=lambda item: (-item.risk, item.end - item.start, item.start, item.track_id, item.reason))


# ----------------------------------------------------------------------------- reviewed marks
def review_event(item: ReviewItem) -> Event:
    """The event that marks an item reviewed: at its first frame, its reason and end in ``detail``."""
    detail = json.dumps({"reason": item.reason, "end": item.end})
    return Event(item.start, EventKind.REVIEWED, item.track_id, item.other_id, detail=detail)


def reviewed_keys(events: Iterable[Event]) -> set[tuple[str, int, int | None, int, int]]:
    """The ``ReviewItem.key`` of every item the REVIEWED events mark."""
    keys = set()
    for event in events:
        value = json.loads(event.detail)
        keys.add((value["reason"], event.track_id, event.other_id, event.frame, value["end"]))
    return keys


def is_reviewed(item: ReviewItem, keys: set[tuple[str, int, int | None, int, int]]) -> bool:
    """Whether a mark (``reviewed_keys``) of the item's reason and tracks covers its frames."""
    return item.key in keys or any(
        (reason, track_id, other_id) == item.key[:3] and start <= item.start and item.end <= end
        for reason, track_id, other_id, start, end in keys
    )


def reviewed_ranges(events: Iterable[Event]) -> list[tuple[int, int, int]]:
    """``(track_id, start, end)`` of every reviewed item (each of a conflict's two tracks)."""
    ranges = []
    for _, track_id, other_id, start, end in reviewed_keys(events):
        ranges += [(t, start, end) for t in (track_id, other_id) if t is not None]
    return sorted(ranges)


def review_queue(doc: Document, config: RiskConfig = RiskConfig()) -> list[ReviewItem]:
    """The items still to review, most risky first."""
    done = reviewed_keys(doc.events(kind=EventKind.REVIEWED))
    return [item for item in risk_items(doc, config) if not is_reviewed(item, done)]


# ----------------------------------------------------------------------------- conflict episodes
@dataclass(frozen=True)
class ConflictEpisode:
    """A conflict episode as a review item (tracks, frames ``[start, end)``), the number of frames in conflict
    in it, and whether it is resolved (reviewed)."""

    item: ReviewItem
    frames: int
    resolved: bool = False


def conflict_episodes(doc: Document, config: RiskConfig = RiskConfig()) -> list[ConflictEpisode]:
    """Every conflict episode of a project, by first frame."""
    done = reviewed_keys(doc.events(kind=EventKind.REVIEWED))
    episodes = []
    for episode in group_episodes(conflict_rows(doc), config.conflict_gap):
        item = ReviewItem("conflict", episode.track_id, episode.first, episode.last + 1, episode.other_id,
                          config.risks["conflict"])
        episodes.append(ConflictEpisode(item, episode.frames, is_reviewed(item, done)))
    return episodes


def step_episode(episodes: Sequence[ConflictEpisode], current: int, frame: int, direction: int) -> int | None:
    """The index of the next (``direction`` 1) or previous (-1) unresolved episode: after ``current`` when it
    holds ``frame``, else the first starting after (before) ``frame``. None: no more."""
    open_ = [i for i, e in enumerate(episodes) if not e.resolved]
    if 0 <= current < len(episodes) and episodes[current].item.start <= frame < episodes[current].item.end:
        ahead = [i for i in open_ if (i - current) * direction > 0]
    else:
        ahead = [i for i in open_ if (episodes[i].item.start - frame) * direction > 0]
    if not ahead:
        return None
    return ahead[0] if direction > 0 else ahead[-1]


# ----------------------------------------------------------------------------- navigation
def next_flagged_frame(timeline: Timeline, frame: int, direction: int) -> int | None:
    """The next (``direction`` 1) or previous (-1) frame of a track that is not reliable, or None."""
    flagged = timeline.frames[timeline.states != ObjectState.RELIABLE]
    if direction > 0:
        index = int(np.searchsorted(flagged, frame, side="right"))
        return int(flagged[index]) if index < flagged.size else None
    index = int(np.searchsorted(flagged, frame, side="left")) - 1
    return int(flagged[index]) if index >= 0 else None


# ----------------------------------------------------------------------------- evidence
def queue_frames(items: Sequence[ReviewItem], frame_count: int) -> np.ndarray:
    """Every frame ``0 … frame_count - 1`` in the order a reviewer following the queue meets it."""
    seen = np.zeros(frame_count, bool)
    order: list[np.ndarray] = []
    for item in items:
        frames = np.arange(max(item.start, 0), min(item.end, frame_count))
        frames = frames[~seen[frames]]
        seen[frames] = True
        order.append(frames)
    order.append(np.flatnonzero(~seen))
    return np.concatenate(order)


def recall(frame_seconds: np.ndarray, order: np.ndarray, fractions: Sequence[float] = RECALL_AT) -> list[float]:
    """The share of the effort on the first ``fraction`` of the frames in ``order``, per fraction."""
    total = float(frame_seconds.sum())
    if total <= 0:
        return [1.0 for _ in fractions]
    cumulative = np.concatenate(([0.0], np.cumsum(frame_seconds[order])))
    return [float(cumulative[round(f * len(order))] / total) for f in fractions]

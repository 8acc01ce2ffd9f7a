"""The timeline's data, without Qt and without a document: each track's lane as runs of equal state (numpy arrays),
the lanes' order, conflict links and reviewed ranges, and what a paint needs from them (one state per pixel
column of the visible lanes). ``load_lanes`` reads lanes from an ``AnnotationModel``.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from app.model import AnnotationModel, Timeline
from tracker.results import ObjectState


SORT_KEYS = ("first", "id", "conflicts")
"""Lane orders: by first frame, by track id, by number of conflicts (most first)."""

_EMPTY = np.zeros(0, np.int64)


def runs_of(frames: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half-open runs ``[start, end)`` of consecutive frames with equal values, and each run's value."""
    if frames.size == 0:
        return _EMPTY, _EMPTY, np.zeros(0, values.dtype)
    breaks = np.flatnonzero((np.diff(frames) != 1) | (np.diff(values) != 0)) + 1
    firsts = np.concatenate(([0], breaks))
    lasts = np.concatenate((breaks - 1, [frames.size - 1]))
    return frames[firsts], frames[lasts] + 1, values[firsts]


@dataclass(frozen=True, slots=True)
class Lane:
    """One track's timeline as runs: state runs, runs of hand-edited frames and of interpolated frames."""

    track_id: int
    color: str
    starts: np.ndarray
    ends: np.ndarray
    states: np.ndarray
    manual_starts: np.ndarray
    manual_ends: np.ndarray
    interpolated_starts: np.ndarray
    interpolated_ends: np.ndarray

    @classmethod
    def build(cls, track_id: int, color: str, timeline: Timeline) -> Lane:
        starts, ends, states = runs_of(timeline.frames, timeline.states)
        manual_starts, manual_ends = _flag_runs(timeline.frames[timeline.manual])
        interpolated_starts, interpolated_ends = _flag_runs(timeline.frames[timeline.interpolated])
        return cls(track_id, color, starts, ends, states, manual_starts, manual_ends,
                   interpolated_starts, interpolated_ends)

    @property
    def first_frame(self) -> int:
        return int(self.starts[0]) if self.starts.size else -1


def _flag_runs(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half-open runs ``[start, end)`` of consecutive frames (sorted, unique)."""
    starts, ends, _ = runs_of(frames, np.zeros(frames.size, np.int8))
    return starts, ends


def _visible(starts: np.ndarray, ends: np.ndarray, lo: float, hi: float) -> slice:
    """The runs that overlap frames ``[lo, hi)`` (runs are sorted and disjoint)."""
    return slice(int(np.searchsorted(ends, lo, side="right")), int(np.searchsorted(starts, hi, side="left")))


def _coverage(lanes: np.ndarray, c0: np.ndarray, c1: np.ndarray, n_lanes: int, width: int) -> np.ndarray:
    """``(n_lanes, width)`` bool: which pixel columns the column spans ``[c0, c1)`` of each lane cover."""
    stride = width + 1
    size = n_lanes * stride
    diff = np.bincount(lanes * stride + c0, minlength=size) - np.bincount(lanes * stride + c1, minlength=size)
    return np.cumsum(diff.reshape(n_lanes, stride), axis=1)[:, :width] > 0


class TimelineData:
    """The lanes, their display order and the conflict links (no Qt, no document)."""

    def __init__(self) -> None:
        self.frame_count = 0
        self.sort_key = "first"
        self.lanes: dict[int, Lane] = {}
        self.order: list[int] = []
        """Track ids, top lane first."""
        self.conflicts = np.zeros((0, 3), np.int64)
        """Rows ``(frame, track_a, track_b)`` sorted by frame: each conflict episode's first frame."""
        self.resolved_conflicts = np.zeros((0, 3), np.int64)
        """The same for the episodes an annotator resolved."""
        self.conflict_counts: dict[int, int] = {}
        self.reviewed: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        """Per track, the reviewed frame ranges ``[start, end)`` (sorted, disjoint)."""
        self._ids_sorted = _EMPTY
        self._rows_sorted = _EMPTY

    def set_lanes(self, lanes: Iterable[Lane], removed: Iterable[int] = (), *, replace: bool = False) -> None:
        """Add or replace lanes (``replace``: drop every other lane) and drop the ``removed`` ones."""
        if replace:
            self.lanes = {}
        for track_id in removed:
            self.lanes.pop(track_id, None)
        self.lanes.update((lane.track_id, lane) for lane in lanes)
        self._sort()

    def set_conflicts(
        self, rows: Iterable[tuple[int, int, int]], resolved: Iterable[tuple[int, int, int]] = ()
    ) -> None:
        """Conflicts as ``(frame, track_a, track_b)``, open and ``resolved``."""
        self.conflicts = np.array(sorted(rows), np.int64).reshape(-1, 3)
        self.resolved_conflicts = np.array(sorted(resolved), np.int64).reshape(-1, 3)
        ids, counts = np.unique(np.concatenate([self.conflicts, self.resolved_conflicts])[:, 1:], return_counts=True)
        self.conflict_counts = dict(zip(ids.tolist(), counts.tolist(), strict=True))
        self._sort()

    def set_reviewed(self, ranges: Iterable[tuple[int, int, int]]) -> None:
        """Reviewed frames as ``(track_id, start, end)`` ranges."""
        frames: dict[int, list[np.ndarray]] = {}
        for track_id, start, end in ranges:
            frames.setdefault(track_id, []).append(np.arange(start, end))
        self.reviewed = {}
        for track_id, parts in frames.items():
            self.reviewed[track_id] = _flag_runs(np.unique(np.concatenate(parts)))

    def set_sort(self, key: str) -> None:
        if key not in SORT_KEYS:
            raise ValueError(f"sort key must be one of {SORT_KEYS}, not {key!r}")
        self.sort_key = key
        self._sort()

    def _sort(self) -> None:
        lanes = self.lanes.values()
        if self.sort_key == "first":
            ordered = sorted(lanes, key=lambda lane: (lane.first_frame, lane.track_id))
        elif self.sort_key == "conflicts":
            ordered = sorted(lanes, key=lambda lane: (-self.conflict_counts.get(lane.track_id, 0), lane.track_id))
        else:
            ordered = sorted(lanes, key=lambda lane: lane.track_id)
        self.order = [lane.track_id for lane in ordered]
        ids = np.array(self.order, np.int64)
        by_id = np.argsort(ids)
        self._ids_sorted, self._rows_sorted = ids[by_id], by_id

    def rows_of(self, track_ids: np.ndarray) -> np.ndarray:
        """Each track's lane row, -1 for tracks without a lane."""
        track_ids = np.asarray(track_ids, np.int64)
        if self._ids_sorted.size == 0:
            return np.full(track_ids.shape, -1, np.int64)
        at = np.clip(np.searchsorted(self._ids_sorted, track_ids), 0, self._ids_sorted.size - 1)
        return np.where(self._ids_sorted[at] == track_ids, self._rows_sorted[at], -1)

    def columns(
        self, rows: range, first_frame: float, px_per_frame: float, width: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per pixel column of the lanes in ``rows``: the worst state (-1: no frame) and whether a frame
        was edited by hand. Column ``x`` shows frames ``[first + x / ppf, first + (x + 1) / ppf)``."""
        ids = self.order[rows.start:rows.stop]
        last_frame = first_frame + width / px_per_frame
        lane_index, c0, c1, states, manual_lane, m0, m1 = [], [], [], [], [], [], []
        for i, track_id in enumerate(ids):
            lane = self.lanes[track_id]
            part = _visible(lane.starts, lane.ends, first_frame, last_frame)
            lane_index.append(np.full(part.stop - part.start, i, np.int64))
            c0.append(lane.starts[part])
            c1.append(lane.ends[part])
            states.append(lane.states[part])
            part = _visible(lane.manual_starts, lane.manual_ends, first_frame, last_frame)
            manual_lane.append(np.full(part.stop - part.start, i, np.int64))
            m0.append(lane.manual_starts[part])
            m1.append(lane.manual_ends[part])
        n = len(ids)
        out = np.full((n, width), -1, np.int8)
        manual = np.zeros((n, width), bool)
        if n == 0 or width <= 0:
            return out, manual
        lanes, x0, x1 = self._spans(lane_index, c0, c1, first_frame, px_per_frame, width)
        state = np.concatenate(states)
        for value in sorted(ObjectState):  # ascending: a worse state overwrites a better one
            pick = state == value
            if pick.any():
                out[_coverage(lanes[pick], x0[pick], x1[pick], n, width)] = value
        lanes, x0, x1 = self._spans(manual_lane, m0, m1, first_frame, px_per_frame, width)
        if lanes.size:
            manual = _coverage(lanes, x0, x1, n, width)
        return out, manual

    def reviewed_columns(self, rows: range, first_frame: float, px_per_frame: float, width: int) -> np.ndarray:
        """Per pixel column of the lanes in ``rows``: whether it shows a reviewed frame."""
        runs = {t: self.reviewed.get(t, (_EMPTY, _EMPTY)) for t in self.order[rows.start:rows.stop]}
        return self._run_columns(runs, first_frame, px_per_frame, width)

    def interpolated_columns(self, rows: range, first_frame: float, px_per_frame: float, width: int) -> np.ndarray:
        """Per pixel column of the lanes in ``rows``: whether it shows an interpolated frame."""
        lanes = (self.lanes[t] for t in self.order[rows.start:rows.stop])
        runs = {lane.track_id: (lane.interpolated_starts, lane.interpolated_ends) for lane in lanes}
        return self._run_columns(runs, first_frame, px_per_frame, width)

    def _run_columns(
        self, runs: dict[int, tuple[np.ndarray, np.ndarray]], first_frame: float, px_per_frame: float, width: int
    ) -> np.ndarray:
        """Per pixel column of the given lanes (in order): whether it shows a frame of the lane's runs."""
        ids = list(runs)
        last_frame = first_frame + width / px_per_frame
        lane_index, c0, c1 = [], [], []
        for i, track_id in enumerate(ids):
            starts, ends = runs[track_id]
            part = _visible(starts, ends, first_frame, last_frame)
            lane_index.append(np.full(part.stop - part.start, i, np.int64))
            c0.append(starts[part])
            c1.append(ends[part])
        if not ids or width <= 0 or not sum(len(c) for c in c0):
            return np.zeros((len(ids), max(width, 0)), bool)
        lanes, x0, x1 = self._spans(lane_index, c0, c1, first_frame, px_per_frame, width)
        return _coverage(lanes, x0, x1, len(ids), width)

    @staticmethod
    def _spans(
        lane_index: list[np.ndarray], starts: list[np.ndarray], ends: list[np.ndarray],
        first_frame: float, px_per_frame: float, width: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frame runs → pixel column spans ``[x0, x1)``, at least one column wide, clipped to the view."""
        x0 = np.floor((np.concatenate(starts) - first_frame) * px_per_frame).astype(np.int64)
        x1 = np.maximum(np.ceil((np.concatenate(ends) - first_frame) * px_per_frame).astype(np.int64), x0 + 1)
        return np.concatenate(lane_index), np.clip(x0, 0, width), np.clip(x1, 0, width)


def load_lanes(doc: AnnotationModel, track_ids: Iterable[int] | None = None, *, by_category: bool = False,
               ) -> tuple[list[Lane], list[int]]:
    """Lanes of the given tracks (every track when None) and the ids of those that no longer exist; ``by_category``:
    lanes take their category's colour where the label schema gives one."""
    colors = doc.track_colors(by_category=by_category)
    wanted = list(colors if track_ids is None else track_ids)
    lanes = [Lane.build(t, colors[t], doc.track_timeline(t)) for t in wanted if t in colors]
    return lanes, [t for t in wanted if t not in colors]

"""The annotation document: tracks, per-frame observations (boxes, RLE masks, states), events.

The document *is* its SQLite project file (``.masklet``, opened, locked and upgraded by ``app.project_file``):
every change is committed in its own transaction, so a project is saved by construction and survives a killed
process. No Qt here;
the GUI wraps the reversible edits of ``app.edits`` in a ``QUndoStack``.
"""
from __future__ import annotations

import colorsys
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

from app.model import Observation, ObservationArrays, Scope, Source, Timeline, Track, TrackSummary
from app.project_file import (
    PROJECT_SUFFIX, UNDECODABLE, DamagedProjectError, DocumentError, ProjectFile, decoding,
)
from tracker.results import Event, EventKind, FrameResult, ObjectState, Prompt, PromptKind, Rle, TrackedObject

# Callers import the project file's errors and suffix and the model's types from here, beside the Document.
__all__ = [
    "CATEGORY_COLORS_KEY", "DEFAULT_CATEGORY_KEY", "PROJECT_SUFFIX", "DamagedProjectError", "Document", "DocumentError",
    "Observation", "ObservationArrays", "Scope", "Snapshot", "Source", "Timeline", "Track", "TrackSummary", "track_color",
]

_OBS_COLUMNS = "track_id, frame, x, y, w, h, score, logit, state, source, visibility, mask_h, mask_w, mask"
_UPSERT_OBSERVATIONS = f"INSERT OR REPLACE INTO observations ({_OBS_COLUMNS}) VALUES ({', '.join('?' * 14)})"
_EVENT_COLUMNS = "id, frame, kind, track_id, other_id, loser_id, detail"
_PROMPT_COLUMNS = "id, frame, track_id, kind, data, mask_h, mask_w, mask"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The rows inside a scope, as they were before a change (what undo reverts to)."""

    scope: Scope
    tracks: list[tuple]
    observations: list[tuple]
    events: list[tuple]
    prompts: list[tuple]


CATEGORY_COLORS_KEY = "category_colors"
"""Meta key of the label schema's colour per category (category id → ``#rrggbb``)."""
DEFAULT_CATEGORY_KEY = "default_category"
"""Meta key of the label schema's category for new tracks."""


def _frames_where(start: int, stop: int | None) -> tuple[str, list[int]]:
    """SQL condition on the ``frame`` column for the half-open range ``[start, stop)`` (``stop=None``: to the last
    frame)."""
    if stop is None:
        return "frame >= ?", [start]
    return "frame >= ? AND frame < ?", [start, stop]


def track_color(track_id: int) -> str:
    """A stable, well-spread colour for a track id (golden-ratio hue walk)."""
    hue = (track_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 0.95)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


class Document(ProjectFile):
    """An annotation project backed by one SQLite file (or memory, for conversions and tests): its categories,
    tracks, observations, events and prompts, read and written through typed methods."""

    # ----------------------------------------------------------------- categories and tracks
    def category_id(self, name: str) -> int:
        """The id of a category, created if new."""
        row = self._conn.execute("SELECT id FROM categories WHERE name = ?", (name,)).fetchone()
        if row is not None:
            return int(row[0])
        with self.transaction():
            return int(self._conn.execute("INSERT INTO categories (name) VALUES (?)", (name,)).lastrowid)

    def add_category(self, name: str, category_id: int) -> None:
        """Add a category with a fixed id (importers keep the file's ids)."""
        with self.transaction():
            self._conn.execute("INSERT OR REPLACE INTO categories VALUES (?, ?)", (category_id, name))

    def rename_category(self, category_id: int, name: str) -> None:
        with self.transaction():
            self._conn.execute("UPDATE categories SET name = ? WHERE id = ?", (name, category_id))

    def merge_categories(self, target: int, sources: Sequence[int]) -> None:
        """Tracks of the ``sources`` categories move to ``target``; the sources are removed."""
        marks = ", ".join("?" * len(sources))
        with self.transaction():
            self._conn.execute(f"UPDATE tracks SET category_id = ? WHERE category_id IN ({marks})", (target, *sources))
            self._conn.execute(f"DELETE FROM categories WHERE id IN ({marks})", tuple(sources))

    def category_assignments(self) -> list[tuple[int | None, int]]:
        """Every track's ``(category_id, track_id)``."""
        return [(row[0], int(row[1])) for row in self._conn.execute("SELECT category_id, id FROM tracks")]

    def replace_categories(self, categories: dict[int, str], assignments: Iterable[tuple[int | None, int]]) -> None:
        """Set the category table to ``categories`` and the tracks' categories to ``assignments``
        (``(category_id, track_id)`` rows, as ``category_assignments`` gives them)."""
        with self.transaction():
            self._conn.execute("DELETE FROM categories")
            self._conn.executemany("INSERT INTO categories (id, name) VALUES (?, ?)", list(categories.items()))
            self._conn.executemany("UPDATE tracks SET category_id = ? WHERE id = ?", list(assignments))

    @decoding
    def category_colors(self) -> dict[int, str]:
        """Category id → the colour chosen for it (``#rrggbb``); categories without one are left out."""
        return {int(cid): str(color) for cid, color in self.get_meta(CATEGORY_COLORS_KEY, {}).items()}

    @decoding
    def default_category(self) -> int | None:
        """The category chosen for new tracks drawn by hand (None: none chosen)."""
        value = self.get_meta(DEFAULT_CATEGORY_KEY)
        return None if value is None else int(value)

    def track_colors(self, *, by_category: bool = False) -> dict[int, str]:
        """Track id → display colour: its own, or (``by_category``) its category's where one is chosen."""
        colors = self.category_colors() if by_category else {}
        return {t.id: colors.get(t.category_id, t.color) for t in self.tracks()}

    @decoding
    def categories(self) -> dict[int, str]:
        """Category id → name."""
        return {int(cid): str(name) for cid, name in self._conn.execute("SELECT id, name FROM categories ORDER BY id")}

    def add_track(
        self, track_id: int | None = None, category_id: int | None = None, color: str | None = None, note: str = ""
    ) -> int:
        """Create a track (a new id when ``track_id`` is None) and return its id."""
        track_id = self.next_track_id() if track_id is None else int(track_id)
        with self.transaction():
            self._conn.execute(
                "INSERT INTO tracks VALUES (?, ?, ?, ?)",
                (track_id, category_id, color or track_color(track_id), note),
            )
        self.notify(Scope((track_id,)))
        return track_id

    def next_track_id(self) -> int:
        """The smallest id above every track id in use."""
        row = self._conn.execute(
            "SELECT max(m) FROM (SELECT max(id) AS m FROM tracks UNION ALL SELECT max(track_id) FROM observations)"
        ).fetchone()
        return 1 if row[0] is None else int(row[0]) + 1

    @decoding
    def track(self, track_id: int) -> Track | None:
        row = self._conn.execute("SELECT id, category_id, color, note FROM tracks WHERE id = ?", (track_id,)).fetchone()
        return None if row is None else Track(*row)

    def track_label(self, track_id: int) -> str | None:
        """The category name of a track (None: no such track, or no category)."""
        track = self.track(track_id)
        return None if track is None or track.category_id is None else self.categories().get(track.category_id)

    @decoding
    def tracks(self) -> list[Track]:
        return [Track(*row) for row in self._conn.execute("SELECT id, category_id, color, note FROM tracks ORDER BY id")]

    @decoding
    def track_summaries(self) -> list[TrackSummary]:
        """Per track: category, colour, first/last frame, number of frames and of conflicts, its states."""
        rows = self._conn.execute(
            "SELECT t.id, t.category_id, t.color, o.first, o.last, coalesce(o.n, 0), coalesce(c.n, 0), o.states"
            " FROM tracks t"
            " LEFT JOIN (SELECT track_id, min(frame) AS first, max(frame) AS last, count(*) AS n,"
            "                   group_concat(DISTINCT state) AS states"
            "            FROM observations GROUP BY track_id) o ON o.track_id = t.id"
            " LEFT JOIN (SELECT id, count(*) AS n FROM ("
            "              SELECT track_id AS id FROM events WHERE kind = 'conflict'"
            "              UNION ALL SELECT other_id FROM events WHERE kind = 'conflict') GROUP BY id) c"
            "   ON c.id = t.id ORDER BY t.id"
        )
        return [
            TrackSummary(*row[:-1], frozenset(ObjectState(int(s)) for s in (row[-1] or "").split(",") if s))
            for row in rows
        ]

    def set_track(self, track: Track) -> None:
        """Insert or replace a track row."""
        with self.transaction():
            self._conn.execute("INSERT OR REPLACE INTO tracks VALUES (?, ?, ?, ?)", (track.id, track.category_id, track.color, track.note))
        self.notify(Scope((track.id,)))

    # ----------------------------------------------------------------- observations
    def add_observations(self, observations: Iterable[Observation]) -> int:
        """Insert or replace observations in one transaction; tracks are created as needed."""
        rows = [obs.to_row() for obs in observations]
        with self.transaction():
            self._conn.executemany(_UPSERT_OBSERVATIONS, rows)
            self.ensure_tracks({row[0] for row in rows})
        self.notify()
        return len(rows)

    def ensure_tracks(self, track_ids: Iterable[int], category_id: int | None = None) -> None:
        """Create the tracks among ``track_ids`` that do not exist yet (inside the caller's transaction)."""
        self._conn.executemany(
            "INSERT OR IGNORE INTO tracks VALUES (?, ?, ?, '')",
            [(tid, category_id, track_color(tid)) for tid in track_ids],
        )

    def write_frame(self, result: FrameResult) -> None:
        """Store one engine frame (observations, events, new tracks) in one transaction."""
        with self.transaction():
            for obj in result.objects:
                category = None if obj.label is None else self.category_id(obj.label)
                self.ensure_tracks([obj.obj_id], category)
            self._conn.executemany(
                _UPSERT_OBSERVATIONS,
                [
                    Observation(
                        frame=result.frame, track_id=obj.obj_id, box=obj.box, score=obj.score, logit=obj.logit,
                        state=obj.state, mask=obj.mask,
                    ).to_row()
                    for obj in result.objects
                ],
            )
            self.add_events(result.events)
            self.add_prompts(result.prompts)
        self.notify(Scope(tuple(obj.obj_id for obj in result.objects), result.frame, result.frame + 1))

    @decoding
    def observation(self, track_id: int, frame: int) -> Observation | None:
        row = self._conn.execute(
            f"SELECT {_OBS_COLUMNS} FROM observations WHERE track_id = ? AND frame = ?", (track_id, frame)
        ).fetchone()
        return None if row is None else Observation.from_row(row)

    @decoding
    def observations_at(self, frame: int) -> list[Observation]:
        """Every observation at one frame, by track id."""
        rows = self._conn.execute(
            f"SELECT {_OBS_COLUMNS} FROM observations WHERE frame = ? ORDER BY track_id", (frame,)
        )
        return [Observation.from_row(row) for row in rows]

    def tracked_objects(self, frame: int) -> list[TrackedObject]:
        """Every object at one frame as an engine reports it (``track_label`` as its label), by track id:
        what ``Engine.restore`` continues from."""
        return [
            TrackedObject(obs.track_id, obs.box, obs.state, obs.score, obs.logit, obs.mask, self.track_label(obs.track_id))
            for obs in self.observations_at(frame)
        ]

    @decoding
    def track_observations(self, track_id: int, start: int = 0, stop: int | None = None) -> list[Observation]:
        """One track's observations in frames ``[start, stop)``, by frame."""
        condition, params = _frames_where(start, stop)
        rows = self._conn.execute(
            f"SELECT {_OBS_COLUMNS} FROM observations WHERE track_id = ? AND {condition} ORDER BY frame",
            [track_id, *params],
        )
        return [Observation.from_row(row) for row in rows]

    def iter_observations(self, start: int = 0, stop: int | None = None) -> Iterator[Observation]:
        """Every observation in frames ``[start, stop)``, by frame then track id."""
        condition, params = _frames_where(start, stop)
        rows = self._conn.execute(
            f"SELECT {_OBS_COLUMNS} FROM observations WHERE {condition} ORDER BY frame, track_id", params
        )
        try:
            for row in rows:
                yield Observation.from_row(row)
        except UNDECODABLE as exc:
            raise self.damaged(exc) from exc

    @decoding
    def observation_arrays(self, start: int = 0, stop: int | None = None, *, masks: bool = False) -> ObservationArrays:
        """Every observation in frames ``[start, stop)`` as columns, by frame then track id (bulk export)."""
        columns = "frame, track_id, x, y, w, h, score, visibility" + (", mask_h, mask_w, mask" if masks else "")
        if start <= 0 and stop is None:  # a table scan in key order beats the frame index for everything
            rows = self._conn.execute(f"SELECT {columns} FROM observations").fetchall()
        else:
            condition, params = _frames_where(start, stop)
            rows = self._conn.execute(f"SELECT {columns} FROM observations WHERE {condition}", params).fetchall()
        numbers = (row[:8] for row in rows) if masks else rows
        data = np.fromiter(chain.from_iterable(numbers), np.float64, count=8 * len(rows)).reshape(-1, 8)
        order = np.lexsort((data[:, 1], data[:, 0]))
        data = data[order]
        return ObservationArrays(
            frame=data[:, 0].astype(np.int64), track_id=data[:, 1].astype(np.int64), box=data[:, 2:6],
            score=data[:, 6], visibility=data[:, 7],
            masks=[None if rows[i][10] is None else Rle(rows[i][8], rows[i][9], bytes(rows[i][10]))
                   for i in order.tolist()] if masks else None,
        )

    def add_observation_arrays(self, arrays: ObservationArrays, source: Source = Source.IMPORTED) -> int:
        """Insert or replace many observations (reliable, no logit) in one transaction; tracks are created
        as needed. The bulk counterpart of ``add_observations``."""
        columns = [arrays.track_id.tolist(), arrays.frame.tolist(), *np.asarray(arrays.box, np.float64).T.tolist(),
                   arrays.score.tolist(), arrays.visibility.tolist()]
        masks = "NULL, NULL, NULL"  # constants instead of parameters: binding fewer values is faster
        if arrays.masks is not None:
            masks = "?, ?, ?"
            columns += [[m and m.height for m in arrays.masks], [m and m.width for m in arrays.masks],
                        [m and m.counts for m in arrays.masks]]
        values = f"?, ?, ?, ?, ?, ?, ?, NULL, {int(ObjectState.RELIABLE)}, {int(Source(source))}, ?, {masks}"
        with self.transaction():
            self._conn.executemany(f"INSERT OR REPLACE INTO observations ({_OBS_COLUMNS}) VALUES ({values})", zip(*columns))
            self.ensure_tracks(np.unique(arrays.track_id).tolist())
        self.notify()
        return len(arrays)

    @decoding
    def track_timeline(self, track_id: int) -> Timeline:
        """A track's frames, states and manual/interpolated flags as arrays (fast: one indexed query)."""
        rows = self._conn.execute(
            "SELECT frame, state, source FROM observations WHERE track_id = ? ORDER BY frame", (track_id,)
        ).fetchall()
        data = np.array(rows, dtype=np.int64).reshape(-1, 3)
        frames, states, sources = data[:, 0], data[:, 1].astype(np.int8), data[:, 2]
        return Timeline(frames, states, sources == Source.MANUAL, sources == Source.INTERPOLATED)

    def nearest_frame(self, track_id: int, frame: int, source: Source, *, after: bool) -> int | None:
        """The track's nearest frame after (``after``) or before ``frame`` whose observation came from
        ``source``, if any."""
        nearest, side = ("min", ">") if after else ("max", "<")
        row = self._conn.execute(
            f"SELECT {nearest}(frame) FROM observations WHERE track_id = ? AND frame {side} ? AND source = ?",
            (track_id, frame, int(source)),
        ).fetchone()
        return None if row[0] is None else int(row[0])

    @decoding
    def observations_beside(self, scope: Scope) -> list[Observation]:
        """Every observation at the frames in ``scope`` where one of its tracks has one, by frame then track id."""
        ids = ", ".join("?" * len(scope.track_ids))
        condition, params = _frames_where(scope.start, scope.stop)
        rows = self._conn.execute(
            f"SELECT {_OBS_COLUMNS} FROM observations WHERE frame IN"
            f" (SELECT frame FROM observations WHERE track_id IN ({ids}) AND {condition}) ORDER BY frame, track_id",
            [*scope.track_ids, *params],
        )
        return [Observation.from_row(row) for row in rows]

    def observation_states(self) -> np.ndarray:
        """Every observation as a row ``track_id, frame, state, x, y, w, h`` (float64 N×7), by track, then frame."""
        rows = self._conn.execute("SELECT track_id, frame, state, x, y, w, h FROM observations"
                                  " ORDER BY track_id, frame").fetchall()
        return np.array(rows, np.float64).reshape(-1, 7)

    def has_masks(self) -> bool:
        """Whether any observation has a mask."""
        return self._conn.execute("SELECT 1 FROM observations WHERE mask IS NOT NULL LIMIT 1").fetchone() is not None

    def empty_track_ids(self) -> list[int]:
        """The tracks without any observation."""
        rows = self._conn.execute(
            "SELECT id FROM tracks t WHERE NOT EXISTS (SELECT 1 FROM observations o WHERE o.track_id = t.id)"
        )
        return [int(row[0]) for row in rows]

    def observation_count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM observations").fetchone()[0])

    @decoding
    def frame_range(self) -> tuple[int, int] | None:
        """First and last annotated frame, or None for an empty document."""
        first, last = self._conn.execute("SELECT min(frame), max(frame) FROM observations").fetchone()
        return None if first is None else (int(first), int(last))

    # ----------------------------------------------------------------- events
    def add_events(self, events: Iterable[Event]) -> None:
        with self.transaction():
            self._conn.executemany(
                "INSERT INTO events (frame, kind, track_id, other_id, loser_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
                [(e.frame, EventKind(e.kind).value, e.track_id, e.other_id, e.loser_id, e.detail) for e in events],
            )

    @decoding
    def events(self, start: int = 0, stop: int | None = None, kind: EventKind | None = None) -> list[Event]:
        """Events in frames ``[start, stop)`` (optionally of one kind), by frame."""
        condition, params = _frames_where(start, stop)
        if kind is not None:
            condition += " AND kind = ?"
            params.append(EventKind(kind).value)
        rows = self._conn.execute(
            f"SELECT frame, kind, track_id, other_id, loser_id, detail FROM events WHERE {condition} ORDER BY frame, id",
            params,
        )
        return [Event(frame, EventKind(k), tid, other, loser, detail) for frame, k, tid, other, loser, detail in rows]

    def conflict_events(self, scope: Scope) -> list[tuple[int, int, int, int | None]]:
        """The CONFLICT events involving the scope's tracks in its frames, as ``(event id, frame, track_id,
        other_id)`` rows, in the order they were recorded."""
        ids = ", ".join("?" * len(scope.track_ids))
        frames, params = _frames_where(scope.start, scope.stop)
        rows = self._conn.execute(
            f"SELECT id, frame, track_id, other_id FROM events WHERE kind = ? AND (track_id IN ({ids})"
            f" OR other_id IN ({ids})) AND {frames} ORDER BY id",
            [EventKind.CONFLICT.value, *scope.track_ids, *scope.track_ids, *params],
        )
        return [(int(i), int(f), int(t), None if o is None else int(o)) for i, f, t, o in rows]

    def boxed_conflicts(self) -> list[tuple[int, int, int]]:
        """The recorded conflicts where both tracks have a box, as distinct ``(lower id, higher id, frame)``."""
        return self._conn.execute(
            "SELECT DISTINCT min(e.track_id, e.other_id), max(e.track_id, e.other_id), e.frame FROM events e"
            " WHERE e.kind = ? AND e.other_id IS NOT NULL AND e.other_id != e.track_id"
            " AND EXISTS (SELECT 1 FROM observations o WHERE o.track_id = e.track_id AND o.frame = e.frame)"
            " AND EXISTS (SELECT 1 FROM observations o WHERE o.track_id = e.other_id AND o.frame = e.frame)",
            [EventKind.CONFLICT.value],
        ).fetchall()

    def delete_events(self, event_ids: Sequence[int]) -> None:
        """Remove events by id."""
        with self.transaction():
            for first in range(0, len(event_ids), 500):  # SQLite binds a limited number of parameters
                chunk = list(event_ids[first:first + 500])
                self._conn.execute(f"DELETE FROM events WHERE id IN ({', '.join('?' * len(chunk))})", chunk)

    # ----------------------------------------------------------------- prompts
    def add_prompts(self, prompts: Iterable[Prompt]) -> None:
        """Append prompts in the order they were given to SAM2."""
        rows = []
        for p in prompts:
            data = {"box": p.box, "points": p.points, "labels": p.labels}
            mask = (None, None, None) if p.mask is None else (p.mask.height, p.mask.width, p.mask.counts)
            rows.append((p.frame, p.track_id, PromptKind(p.kind).value, json.dumps(data), *mask))
        with self.transaction():
            self._conn.executemany(
                "INSERT INTO prompts (frame, track_id, kind, data, mask_h, mask_w, mask) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def prompts(self, track_id: int, start: int = 0, stop: int | None = None) -> list[Prompt]:
        """One track's prompts in frames ``[start, stop)``, in the order they were given."""
        condition, params = _frames_where(start, stop)
        rows = self._conn.execute(
            f"SELECT frame, kind, data, mask_h, mask_w, mask FROM prompts WHERE track_id = ? AND {condition}"
            " ORDER BY id",
            [track_id, *params],
        )
        prompts = []
        for frame, kind, data, mask_h, mask_w, mask in rows:
            data = json.loads(data)
            prompts.append(Prompt(
                frame, track_id, PromptKind(kind),
                box=None if data["box"] is None else tuple(data["box"]),
                points=None if data["points"] is None else tuple(tuple(p) for p in data["points"]),
                labels=None if data["labels"] is None else tuple(data["labels"]),
                mask=None if mask is None else Rle(mask_h, mask_w, bytes(mask)),
            ))
        return prompts

    # ----------------------------------------------------------------- what reversible edits change
    def shared_frames(self, a: int, b: int, start: int = 0) -> list[int]:
        """Frames ≥ ``start`` where both tracks have an observation."""
        rows = self._conn.execute(
            "SELECT o.frame FROM observations o JOIN observations p ON p.frame = o.frame AND p.track_id = ?"
            " WHERE o.track_id = ? AND o.frame >= ? ORDER BY o.frame",
            (b, a, start),
        )
        return [int(r[0]) for r in rows]

    def reassign_frames(self, old: int, new: int, start: int) -> None:
        """Give ``old``'s observations, events and prompts from frame ``start`` on the id ``new``."""
        with self.transaction():
            self._conn.execute("UPDATE observations SET track_id = ? WHERE track_id = ? AND frame >= ?", (new, old, start))
            for column in ("track_id", "other_id", "loser_id"):
                self._conn.execute(f"UPDATE events SET {column} = ? WHERE {column} = ? AND frame >= ?", (new, old, start))
            self._conn.execute("UPDATE prompts SET track_id = ? WHERE track_id = ? AND frame >= ?", (new, old, start))

    def delete_observations(self, track_id: int, frames: Sequence[int]) -> None:
        """Remove a track's observations at ``frames``."""
        with self.transaction():
            self._conn.executemany("DELETE FROM observations WHERE track_id = ? AND frame = ?",
                                   [(track_id, frame) for frame in frames])

    def delete_track_frames(self, track_id: int, start: int = 0, stop: int | None = None) -> None:
        """Remove a track's observations, events and prompts in the half-open frame range ``[start, stop)``
        (``stop=None``: to the last frame)."""
        frames, params = _frames_where(start, stop)
        with self.transaction():
            self._conn.execute(f"DELETE FROM observations WHERE track_id = ? AND {frames}", (track_id, *params))
            for column in ("track_id", "other_id", "loser_id"):
                self._conn.execute(f"DELETE FROM events WHERE {column} = ? AND {frames}", (track_id, *params))
            self._conn.execute(f"DELETE FROM prompts WHERE track_id = ? AND {frames}", (track_id, *params))

    def delete_conflicts_between(self, a: int, b: int) -> None:
        """Remove the conflict events between tracks ``a`` and ``b``."""
        with self.transaction():
            self._conn.execute(
                "DELETE FROM events WHERE kind = ? AND ((track_id = ? AND other_id = ?) OR (track_id = ? AND"
                " other_id = ?))", (EventKind.CONFLICT.value, a, b, b, a))

    def drop_track_if_empty(self, track_id: int) -> None:
        """Remove a track that has no observation left."""
        with self.transaction():
            self._conn.execute(
                "DELETE FROM tracks WHERE id = ? AND NOT EXISTS (SELECT 1 FROM observations WHERE track_id = ?)",
                (track_id, track_id),
            )

    def set_track_category(self, track_id: int, category_id: int | None) -> None:
        """Give a track a category (None: none)."""
        with self.transaction():
            self._conn.execute("UPDATE tracks SET category_id = ? WHERE id = ?", (category_id, track_id))

    # ----------------------------------------------------------------- snapshots (for reversible edits)
    def _scope_sql(self, scope: Scope, columns: tuple[str, ...]) -> tuple[str, list[int]]:
        ids = ", ".join("?" * len(scope.track_ids))
        frames, params = _frames_where(scope.start, scope.stop)
        tracks = " OR ".join(f"{column} IN ({ids})" for column in columns)
        return f"({tracks}) AND {frames}", [*scope.track_ids * len(columns), *params]

    def snapshot(self, scope: Scope) -> Snapshot:
        """Copy every row an edit inside ``scope`` may change."""
        ids = ", ".join("?" * len(scope.track_ids))
        obs_where, obs_params = self._scope_sql(scope, ("track_id",))
        ev_where, ev_params = self._scope_sql(scope, ("track_id", "other_id", "loser_id"))
        return Snapshot(
            scope=scope,
            tracks=self._conn.execute(f"SELECT * FROM tracks WHERE id IN ({ids})", scope.track_ids).fetchall(),
            observations=self._conn.execute(
                f"SELECT {_OBS_COLUMNS} FROM observations WHERE {obs_where}", obs_params
            ).fetchall(),
            events=self._conn.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE {ev_where}", ev_params).fetchall(),
            prompts=self._conn.execute(
                f"SELECT {_PROMPT_COLUMNS} FROM prompts WHERE {obs_where}", obs_params
            ).fetchall(),
        )

    def revert_to(self, snapshot: Snapshot) -> None:
        """Put a scope back exactly as a snapshot recorded it."""
        scope = snapshot.scope
        ids = ", ".join("?" * len(scope.track_ids))
        obs_where, obs_params = self._scope_sql(scope, ("track_id",))
        ev_where, ev_params = self._scope_sql(scope, ("track_id", "other_id", "loser_id"))
        with self.transaction():
            self._conn.execute(f"DELETE FROM observations WHERE {obs_where}", obs_params)
            self._conn.execute(f"DELETE FROM events WHERE {ev_where}", ev_params)
            self._conn.execute(f"DELETE FROM prompts WHERE {obs_where}", obs_params)
            self._conn.execute(f"DELETE FROM tracks WHERE id IN ({ids})", scope.track_ids)
            self._conn.executemany("INSERT INTO tracks VALUES (?, ?, ?, ?)", snapshot.tracks)
            self._conn.executemany(
                f"INSERT INTO observations ({_OBS_COLUMNS}) VALUES ({', '.join('?' * 14)})", snapshot.observations
            )
            self._conn.executemany(f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", snapshot.events)
            self._conn.executemany(f"INSERT INTO prompts ({_PROMPT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", snapshot.prompts)
        self.notify(scope)

"""The annotation document: tracks, per-frame observations (boxes, RLE masks, states), events.

The document *is* its SQLite project file (``.masklet``): every change is committed in its own
transaction, so a project is saved by construction and survives a killed process. No Qt here;
the GUI wraps the reversible edits of ``app.edits`` in a ``QUndoStack``.
"""
from __future__ import annotations

import colorsys
import functools
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from app.model import Observation, ObservationArrays, Scope, Source, Timeline, Track, TrackSummary
from app.project_lock import ProjectLock, ReadOnlyProjectError
from tracker.errors import DiskFullError, MaskletError
from tracker.files import remove_leftovers, temp_path
from tracker.results import Event, EventKind, FrameResult, ObjectState, Prompt, PromptKind, Rle, TrackedObject
from tracker.video_info import VideoInfo

PROJECT_SUFFIX = ".masklet"
SCHEMA_VERSION = 2
SQLITE_HEADER = b"SQLite format 3\x00"
CACHE_KIB = 128 * 1024  # page cache: large bulk inserts touch many B-tree pages

# Each entry upgrades the schema from version (index) to version (index + 1).
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE categories (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
        "CREATE TABLE tracks (id INTEGER PRIMARY KEY, category_id INTEGER,"
        " color TEXT NOT NULL, note TEXT NOT NULL DEFAULT '')",
        "CREATE TABLE observations (track_id INTEGER NOT NULL, frame INTEGER NOT NULL,"
        " x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,"
        " score REAL NOT NULL, logit REAL, state INTEGER NOT NULL, source INTEGER NOT NULL,"
        " visibility REAL NOT NULL, mask_h INTEGER, mask_w INTEGER, mask BLOB,"
        " PRIMARY KEY (track_id, frame)) WITHOUT ROWID",
        "CREATE INDEX observations_by_frame ON observations (frame)",
        "CREATE TABLE events (id INTEGER PRIMARY KEY, frame INTEGER NOT NULL, kind TEXT NOT NULL,"
        " track_id INTEGER NOT NULL, other_id INTEGER, loser_id INTEGER, detail TEXT NOT NULL)",
        "CREATE INDEX events_by_frame ON events (frame)",
    ),
    (  # what the engines gave SAM2 (tracker.results.Prompt): replayed to rebuild an object's memory
        "CREATE TABLE prompts (id INTEGER PRIMARY KEY, frame INTEGER NOT NULL, track_id INTEGER NOT NULL,"
        " kind TEXT NOT NULL, data TEXT NOT NULL, mask_h INTEGER, mask_w INTEGER, mask BLOB)",
        "CREATE INDEX prompts_by_track ON prompts (track_id, frame)",
    ),
)

_OBS_COLUMNS = "track_id, frame, x, y, w, h, score, logit, state, source, visibility, mask_h, mask_w, mask"
_UPSERT_OBSERVATIONS = f"INSERT OR REPLACE INTO observations ({_OBS_COLUMNS}) VALUES ({', '.join('?' * 14)})"
_EVENT_COLUMNS = "id, frame, kind, track_id, other_id, loser_id, detail"
_PROMPT_COLUMNS = "id, frame, track_id, kind, data, mask_h, mask_w, mask"
_TABLES = frozenset({"schema_version", "meta", "categories", "tracks", "observations", "events", "prompts"})


class DocumentError(MaskletError):
    """A project file cannot be opened or an edit cannot be applied."""


class DamagedProjectError(DocumentError):
    """A project file holds what no Masklet wrote (a corrupt page, a wrong value, a missing table)."""


def project_error(exc: sqlite3.Error, where: object) -> MaskletError | None:
    """What an SQLite error on a project means to the user (one line naming it), or None: a bug."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    if primary == sqlite3.SQLITE_FULL:
        return DiskFullError(f"{where}: disk full, the change is not saved (every earlier one is); free space")
    if code == sqlite3.SQLITE_IOERR_WRITE:
        return DiskFullError(f"{where}: the write failed (disk full, a file size limit or a disk error), the "
                             "change is not saved (every earlier one is)")
    if primary == sqlite3.SQLITE_READONLY:
        return ReadOnlyProjectError(f"{where}: cannot be written here ({exc})")
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_MISMATCH) or (
        primary == sqlite3.SQLITE_ERROR and str(exc).startswith(("no such table", "no such column"))
    ):
        return DamagedProjectError(f"{where}: damaged project ({exc})")
    if primary in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED,
                   sqlite3.SQLITE_NOMEM):
        return DocumentError(f"{where}: cannot read or write the project ({exc})")
    return None


class _ProjectConnection(sqlite3.Connection):
    """A project's SQLite connection: once a document owns it (``owner`` set), SQLite's errors that the user
    can act on (full disk, read-only file, damaged file) become ``MaskletError``s naming the project."""

    owner: object = None

    def cursor(self, factory: Any = None) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory or _ProjectCursor)

    def execute(self, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        try:
            return super().execute(*args)
        except sqlite3.Error as exc:
            raise _translated(exc, self.owner) from exc

    def executemany(self, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        try:
            return super().executemany(*args)
        except sqlite3.Error as exc:
            raise _translated(exc, self.owner) from exc


class _ProjectCursor(sqlite3.Cursor):
    """Rows of a project's connection, read with ``_ProjectConnection``'s errors."""

    def fetchone(self) -> Any:
        try:
            return super().fetchone()
        except sqlite3.Error as exc:
            raise _translated(exc, self.connection.owner) from exc  # type: ignore[attr-defined]

    def fetchall(self) -> list[Any]:
        try:
            return super().fetchall()
        except sqlite3.Error as exc:
            raise _translated(exc, self.connection.owner) from exc  # type: ignore[attr-defined]

    def __next__(self) -> Any:
        try:
            return super().__next__()
        except sqlite3.Error as exc:
            raise _translated(exc, self.connection.owner) from exc  # type: ignore[attr-defined]


def _translated(exc: sqlite3.Error, owner: object) -> BaseException:
    return exc if owner is None else project_error(exc, owner) or exc


_UNDECODABLE = (ValueError, TypeError, KeyError)


def _decoding(method: Callable[..., Any]) -> Callable[..., Any]:
    """Report a value that a project method cannot decode (text where a number belongs, an unknown state, a
    meta entry without its keys) as a damaged project instead of a bug."""

    @functools.wraps(method)
    def wrapper(self: Document, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except _UNDECODABLE as exc:
            raise self.damaged(exc) from exc

    return wrapper


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The rows inside a scope, as they were before a change (what undo restores)."""

    scope: Scope
    tracks: list[tuple]
    observations: list[tuple]
    events: list[tuple]
    prompts: list[tuple]


def _writable(path: Path) -> bool:
    """Whether a project file and its folder (where SQLite keeps its log) can be written."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _connect(path: Path, *, query_only: bool = False) -> sqlite3.Connection:
    """A connection to a file already recognised as a project; ``query_only``: one that changes no data
    (but, like any SQLite connection, checkpoints and removes the log when it is the last to close)."""
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, factory=_ProjectConnection)
        conn.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a committed transaction survives a killed process (not a power cut).
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        conn.execute(f"PRAGMA query_only={int(query_only)}")
    except sqlite3.DatabaseError as exc:
        raise DocumentError(f"{path}: cannot open the project for writing ({exc})") from exc
    return conn


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write to ``path`` (nor create it): SQLite's read-only mode, or, where that
    cannot work because the folder or medium is read-only, the file read as immutable (nothing can change
    it there). Refuses files that are not SQLite databases without touching them."""
    try:
        with open(path, "rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not header:
        raise DocumentError(f"{path}: an empty file, not a Masklet project")
    if header != SQLITE_HEADER:
        raise DocumentError(f"{path}: not a Masklet project (not an SQLite file)")
    uri = path.resolve().as_uri()
    try:
        return _checked(sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, check_same_thread=False,
                                        factory=_ProjectConnection))
    except sqlite3.OperationalError as exc:
        wal = Path(f"{path}-wal")
        if wal.is_file() and wal.stat().st_size > 0:
            raise DocumentError(f"{path}: cannot be read here ({exc}); its log {wal.name} holds changes that "
                                "need a writable folder") from None
    except sqlite3.DatabaseError as exc:
        raise DocumentError(f"{path}: not a Masklet project ({exc})") from None
    try:
        return _checked(sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None,
                                        check_same_thread=False, factory=_ProjectConnection))
    except sqlite3.DatabaseError as exc:
        raise DocumentError(f"{path}: not a Masklet project ({exc})") from None


def _checked(conn: sqlite3.Connection) -> sqlite3.Connection:
    """``conn`` once it has read the schema (SQLite opens files lazily); closed if it cannot."""
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    except BaseException:
        conn.close()
        raise
    return conn


def _schema_version(conn: sqlite3.Connection, path: Path) -> int:
    """The schema version of a project, read without writing; ``DocumentError`` for anything else."""
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "schema_version" not in tables:
            raise DocumentError(f"{path}: an SQLite file, but not a Masklet project")
        rows = conn.execute("SELECT version FROM schema_version").fetchall()
    except sqlite3.DatabaseError as exc:
        raise DocumentError(f"{path}: not a Masklet project ({exc})") from None
    version = rows[0][0] if len(rows) == 1 else None
    if not isinstance(version, int) or version < 1:
        raise DocumentError(f"{path}: damaged project (schema version {version!r})")
    if version > SCHEMA_VERSION:
        raise DocumentError(
            f"{path}: made by a newer Masklet (schema {version} > {SCHEMA_VERSION}); please upgrade"
        )
    missing = _TABLES - tables
    if version == SCHEMA_VERSION and missing:
        raise DocumentError(f"{path}: damaged project (no {', '.join(sorted(missing))} table)")
    return version


def _migrate(conn: sqlite3.Connection, version: int) -> None:
    """Upgrade a schema from ``version`` (0: an empty database) to ``SCHEMA_VERSION`` in one transaction."""
    if version >= SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        if version == 0:
            conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                conn.execute(statement)
        conn.execute("DELETE FROM schema_version")
        conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


CATEGORY_COLORS_KEY = "category_colors"
"""Meta key of the label schema's colour per category (category id → ``#rrggbb``)."""
DEFAULT_CATEGORY_KEY = "default_category"
"""Meta key of the label schema's category for new tracks."""


def _frames_where(start: int, end: int | None) -> tuple[str, list[int]]:
    """SQL condition on the ``frame`` column for an inclusive range (``end=None``: to the last frame)."""
    if end is None:
        return "frame >= ?", [start]
    return "frame BETWEEN ? AND ?", [start, end]


def track_color(track_id: int) -> str:
    """A stable, well-spread colour for a track id (golden-ratio hue walk)."""
    hue = (track_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 0.95)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


class Document:
    """An annotation project backed by one SQLite file (or memory, for conversions and tests).

    A document opened for writing holds its project's write lock (``app.project_lock``) until ``close``;
    one opened ``read_only`` takes no lock and refuses every change.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path | None, *, lock: ProjectLock | None = None,
                 read_only: bool = False) -> None:
        self._conn = conn
        self.path = path
        self.read_only = read_only
        self._lock = lock
        self._depth = 0
        self.listeners: list[Callable[[Scope | None], None]] = []
        conn.owner = self.where  # type: ignore[attr-defined]

    def damaged(self, exc: Exception) -> DamagedProjectError:
        """The error for a value of this project that cannot be decoded."""
        return DamagedProjectError(f"{self.where}: damaged project ({type(exc).__name__}: {exc})")

    @property
    def where(self) -> str:
        """How messages name this document: its file, or what an in-memory document is."""
        return str(self.path) if self.path is not None else "labels in memory"

    # ----------------------------------------------------------------- lifecycle
    @classmethod
    def create(cls, path: str | Path, video: VideoInfo | None = None, *, overwrite: bool = False) -> Document:
        """Create a new project file (refuses to replace an existing one unless ``overwrite``).

        The file is built under a temporary name and renamed into place, under the project's write lock.
        """
        path = Path(path)
        if not path.parent.is_dir():
            raise DocumentError(f"{path}: folder {path.parent} does not exist")
        source = cls.in_memory(video)
        try:
            return source._copy_to(path, overwrite=overwrite)
        finally:
            source.close()

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False) -> Document:
        """Open an existing project file, upgrading its schema if it is older.

        For writing it takes the project's write lock (``ProjectLockedError`` naming the holder when another
        process writes it; ``ReadOnlyProjectError`` when it cannot be written here). ``read_only`` opens it
        without lock or write, also on read-only media. Either way the file is recognised as a project,
        read-only, before anything is written to it.
        """
        path = Path(path)
        if not path.is_file():
            raise DocumentError(f"{path}: no such project file")
        if read_only:
            with closing(_connect_read_only(path)) as probe:
                version = _schema_version(probe, path)
                if version < SCHEMA_VERSION:
                    raise DocumentError(f"{path}: made by an older Masklet; open it once for writing to upgrade it")
                if not _writable(path):
                    return cls(_connect_read_only(path), path, read_only=True)
            # where the project could be written, a connection that may tidy SQLite's files up when it closes
            return cls(_connect(path, query_only=True), path, read_only=True)
        lock = ProjectLock.acquire(path)
        try:
            return cls._open_locked(path, lock)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def _open_locked(cls, path: Path, lock: ProjectLock) -> Document:
        """Open ``path`` for writing under its held lock: recognise it read-only, then connect and upgrade."""
        with closing(_connect_read_only(path)) as probe:
            version = _schema_version(probe, path)
        if not _writable(path):
            raise ReadOnlyProjectError(f"{path}: read-only here (the file or its folder cannot be written)")
        conn = _connect(path)
        try:
            _migrate(conn, version)
        except BaseException:
            conn.close()
            raise
        return cls(conn, path, lock=lock)

    @classmethod
    def in_memory(cls, video: VideoInfo | None = None) -> Document:
        """A document that lives only in memory (``save_as`` writes it to a file)."""
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False, factory=_ProjectConnection)
        _migrate(conn, 0)
        doc = cls(conn, None)
        if video is not None:
            doc.set_video(video)
        return doc

    def close(self) -> None:
        """Close the file (everything is already committed) and release its write lock."""
        self._conn.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Document:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def save_as(self, path: str | Path, *, overwrite: bool = False) -> None:
        """Copy the project to ``path`` atomically (SQLite backup API, under ``path``'s write lock) and
        continue working there; an existing file is replaced only with ``overwrite``."""
        copy = self._copy_to(Path(path), overwrite=overwrite)
        self.close()
        self._conn, self._lock, self.path, self.read_only = copy._conn, copy._lock, copy.path, False
        self._conn.owner = self.where  # type: ignore[attr-defined]

    def _copy_to(self, path: Path, *, overwrite: bool) -> Document:
        """Write this document to ``path`` under a temporary name, rename it into place and open it there."""
        lock = ProjectLock.acquire(path)
        try:
            if path.exists() and not overwrite:
                raise DocumentError(f"{path}: a file already exists there")
            remove_leftovers(path)
            temp = temp_path(path)
            try:
                with closing(sqlite3.connect(temp)) as target:
                    self._conn.backup(target)
                for suffix in ("-wal", "-shm"):  # an old project's log must not be applied to the new file
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
                os.replace(temp, path)
            except sqlite3.Error as exc:
                raise DocumentError(f"{path}: cannot write the project ({exc})") from exc
            except OSError as exc:
                raise DocumentError(f"{path}: cannot write the project ({exc.strerror or exc})") from exc
            finally:
                for suffix in ("", "-journal"):
                    Path(f"{temp}{suffix}").unlink(missing_ok=True)
            return self._open_locked(path, lock)
        except BaseException:
            lock.release()
            raise

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic write; nested uses join the outer transaction."""
        if self.read_only:
            raise DocumentError(f"{self.path}: opened read-only, changes are not possible")
        if self._depth == 0:
            self._conn.execute("BEGIN IMMEDIATE")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self._conn.execute("ROLLBACK")
            raise
        self._depth -= 1
        if self._depth == 0:
            try:
                self._conn.execute("COMMIT")
            except BaseException:  # a full disk: nothing of the transaction is kept
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def notify(self, scope: Scope | None = None) -> None:
        """Tell listeners (views) what changed; ``None`` means anything may have."""
        for listener in self.listeners:
            listener(scope)

    # ----------------------------------------------------------------- metadata
    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            return default
        try:
            return json.loads(row[0])
        except (TypeError, ValueError) as exc:
            raise DamagedProjectError(f"{self.where}: damaged project (meta {key!r} is not json: {exc})") from None

    def delete_meta(self, key: str) -> None:
        with self.transaction():
            self._conn.execute("DELETE FROM meta WHERE key = ?", (key,))

    def set_meta(self, key: str, value: Any) -> None:
        with self.transaction():
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    @property
    @_decoding
    def video(self) -> VideoInfo | None:
        value = self.get_meta("video")
        if value is None:
            return None
        video = VideoInfo(**{**value, "path": Path(value["path"])})
        sizes = (video.frame_count, video.width, video.height)
        if not all(isinstance(v, int) and v >= 0 for v in sizes) or not isinstance(video.fps, (int, float)):
            raise ValueError(f"meta 'video' holds {value}")
        return video

    def set_video(self, video: VideoInfo) -> None:
        self.set_meta("video", {**asdict(video), "path": str(video.path)})

    def resolve_video_path(self) -> Path | None:
        """The video's path, also looked up beside the project if the project was moved."""
        video = self.video
        if video is None:
            return None
        path = video.path
        if not path.exists() and self.path is not None and (self.path.parent / path.name).exists():
            return self.path.parent / path.name
        return path

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

    @_decoding
    def category_colors(self) -> dict[int, str]:
        """Category id → the colour chosen for it (``#rrggbb``); categories without one are left out."""
        return {int(cid): str(color) for cid, color in self.get_meta(CATEGORY_COLORS_KEY, {}).items()}

    @_decoding
    def default_category(self) -> int | None:
        """The category chosen for new tracks drawn by hand (None: none chosen)."""
        value = self.get_meta(DEFAULT_CATEGORY_KEY)
        return None if value is None else int(value)

    def track_colors(self, *, by_category: bool = False) -> dict[int, str]:
        """Track id → display colour: its own, or (``by_category``) its category's where one is chosen."""
        colors = self.category_colors() if by_category else {}
        return {t.id: colors.get(t.category_id, t.color) for t in self.tracks()}

    @_decoding
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

    @_decoding
    def track(self, track_id: int) -> Track | None:
        row = self._conn.execute("SELECT id, category_id, color, note FROM tracks WHERE id = ?", (track_id,)).fetchone()
        return None if row is None else Track(*row)

    def track_label(self, track_id: int) -> str | None:
        """The category name of a track (None: no such track, or no category)."""
        track = self.track(track_id)
        return None if track is None or track.category_id is None else self.categories().get(track.category_id)

    @_decoding
    def tracks(self) -> list[Track]:
        return [Track(*row) for row in self._conn.execute("SELECT id, category_id, color, note FROM tracks ORDER BY id")]

    @_decoding
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
        self.notify(Scope(tuple(obj.obj_id for obj in result.objects), result.frame, result.frame))

    @_decoding
    def observation(self, track_id: int, frame: int) -> Observation | None:
        row = self._conn.execute(
            f"SELECT {_OBS_COLUMNS} FROM observations WHERE track_id = ? AND frame = ?", (track_id, frame)
        ).fetchone()
        return None if row is None else Observation.from_row(row)

    @_decoding
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

    @_decoding
    def track_observations(self, track_id: int, start: int = 0, end: int | None = None) -> list[Observation]:
        """One track's observations in an inclusive frame range, by frame."""
        condition, params = _frames_where(start, end)
        rows = self._conn.execute(
            f"SELECT {_OBS_COLUMNS} FROM observations WHERE track_id = ? AND {condition} ORDER BY frame",
            [track_id, *params],
        )
        return [Observation.from_row(row) for row in rows]

    def iter_observations(self, start: int = 0, end: int | None = None) -> Iterator[Observation]:
        """Every observation in an inclusive frame range, by frame then track id."""
        condition, params = _frames_where(start, end)
        rows = self._conn.execute(
            f"SELECT {_OBS_COLUMNS} FROM observations WHERE {condition} ORDER BY frame, track_id", params
        )
        try:
            for row in rows:
                yield Observation.from_row(row)
        except _UNDECODABLE as exc:
            raise self.damaged(exc) from exc

    @_decoding
    def observation_arrays(self, start: int = 0, end: int | None = None, *, masks: bool = False) -> ObservationArrays:
        """Every observation in an inclusive frame range as columns, by frame then track id (bulk export)."""
        columns = "frame, track_id, x, y, w, h, score, visibility" + (", mask_h, mask_w, mask" if masks else "")
        if start <= 0 and end is None:  # a table scan in key order beats the frame index for everything
            rows = self._conn.execute(f"SELECT {columns} FROM observations").fetchall()
        else:
            condition, params = _frames_where(start, end)
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

    @_decoding
    def track_timeline(self, track_id: int) -> Timeline:
        """A track's frames, states and manual/interpolated flags as arrays (fast: one indexed query)."""
        rows = self._conn.execute(
            "SELECT frame, state, source FROM observations WHERE track_id = ? ORDER BY frame", (track_id,)
        ).fetchall()
        data = np.array(rows, dtype=np.int64).reshape(-1, 3)
        frames, states, sources = data[:, 0], data[:, 1].astype(np.int8), data[:, 2]
        return Timeline(frames, states, sources == Source.MANUAL, sources == Source.INTERPOLATED)

    def first_frame_after(self, track_id: int, frame: int, source: Source) -> int | None:
        """The track's first frame after ``frame`` whose observation came from ``source``, if any."""
        row = self._conn.execute(
            "SELECT min(frame) FROM observations WHERE track_id = ? AND frame > ? AND source = ?",
            (track_id, frame, int(source)),
        ).fetchone()
        return None if row[0] is None else int(row[0])

    def last_frame_before(self, track_id: int, frame: int, source: Source) -> int | None:
        """The track's last frame before ``frame`` whose observation came from ``source``, if any."""
        row = self._conn.execute(
            "SELECT max(frame) FROM observations WHERE track_id = ? AND frame < ? AND source = ?",
            (track_id, frame, int(source)),
        ).fetchone()
        return None if row[0] is None else int(row[0])

    @_decoding
    def observations_beside(self, scope: Scope) -> list[Observation]:
        """Every observation at the frames in ``scope`` where one of its tracks has one, by frame then track id."""
        ids = ", ".join("?" * len(scope.track_ids))
        condition, params = _frames_where(scope.start, scope.end)
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

    @_decoding
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

    @_decoding
    def events(self, start: int = 0, end: int | None = None, kind: EventKind | None = None) -> list[Event]:
        """Events in an inclusive frame range (optionally of one kind), by frame."""
        condition, params = _frames_where(start, end)
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
        frames, params = _frames_where(scope.start, scope.end)
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

    def prompts(self, track_id: int, start: int = 0, end: int | None = None) -> list[Prompt]:
        """One track's prompts in an inclusive frame range, in the order they were given."""
        condition, params = _frames_where(start, end)
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
        frames, params = _frames_where(start, None if stop is None else stop - 1)
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
        frames, params = _frames_where(scope.start, scope.end)
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

    def restore(self, snapshot: Snapshot) -> None:
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

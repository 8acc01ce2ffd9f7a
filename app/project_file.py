"""A project file (``.masklet``): an SQLite database opened, created, copied, locked and upgraded.

``ProjectFile`` is what every project has whatever it holds: its connection, write lock, transactions, the
``meta`` table and the video it annotates; ``app.document.Document`` adds the annotation's tables on top.
SQLite's errors that the user can act on become ``MaskletError``s naming the project. No Qt here.
"""
from __future__ import annotations

import functools
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, Self

from app.model import Scope
from app.project_lock import ProjectLock, ReadOnlyProjectError
from tracker.errors import DiskFullError, MaskletError
from tracker.files import remove_leftovers, temp_path
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


UNDECODABLE = (ValueError, TypeError, KeyError)


def decoding(method: Callable[..., Any]) -> Callable[..., Any]:
    """Report a value that a project method cannot decode (text where a number belongs, an unknown state, a
    meta entry without its keys) as a damaged project instead of a bug."""

    @functools.wraps(method)
    def wrapper(self: ProjectFile, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except UNDECODABLE as exc:
            raise self.damaged(exc) from exc

    return wrapper


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


class ProjectFile:
    """A project backed by one SQLite file (or memory, for conversions and tests): its lifecycle, transactions,
    change listeners, ``meta`` entries and video.

    A project opened for writing holds its project's write lock (``app.project_lock``) until ``close``;
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
    def create(cls, path: str | Path, video: VideoInfo | None = None, *, overwrite: bool = False) -> Self:
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
    def open(cls, path: str | Path, *, read_only: bool = False) -> Self:
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
    def _open_locked(cls, path: Path, lock: ProjectLock) -> Self:
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
    def in_memory(cls, video: VideoInfo | None = None) -> Self:
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

    def __enter__(self) -> Self:
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

    def _copy_to(self, path: Path, *, overwrite: bool) -> Self:
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
    @decoding
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

"""The library database: one SQLite file (``paths.data_dir() / "library.sqlite"``).

Tables:

- ``tracks``: one row per audio file seen by a scan, keyed by the path's bytes (``os.fsencode``,
  so names that are not UTF-8 survive): size, mtime, analyser version, tags, features, mood, the
  ReplayGain 2.0 gain to play it at -18 LUFS, or the reason it could not be analysed.
- ``choices``: what the listener decided about a path (moved to a mood, pinned, excluded). Scans
  never write or prune it, so choices survive rescans (and a file that comes back gets them back).
- ``meta``: the schema version and the application's name, to recognise our own file.

A file that is not a database, is damaged, or belongs to something else is renamed beside itself
(``library.sqlite.damaged-<time>``, logged) and a new one is made: never a crash, never a lost
file. Writes commit per track; WAL journaling means a kill loses at most the current track.
One ``LibraryDatabase`` per thread (sqlite3 connections are not shared between threads).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from app import paths
from app.breathing import breathe
from app.music.analysis import Analysis
from app.music.loudness import Loudness as EngineLoudness
from app.music.moods import MOODS
from app.music.r128 import REPLAYGAIN_REFERENCE

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
APPLICATION = "moodplayer-library"
FILE_NAME = "library.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tracks (
    path BLOB PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    analyser INTEGER NOT NULL,
    scanned REAL NOT NULL,
    error TEXT,
    duration REAL, title TEXT, artist TEXT, album TEXT, genre TEXT, tag_mood TEXT,
    tag_bpm REAL, tag_gain REAL,
    energy REAL, valence REAL, tempo REAL, loudness REAL, peak REAL, brightness REAL,
    onset_rate REAL, major REAL, musical_key TEXT,
    mood TEXT, mood_source TEXT, decoder TEXT,
    replaygain REAL, gain_source TEXT
);
CREATE INDEX IF NOT EXISTS tracks_fingerprint ON tracks (size, mtime_ns);
CREATE TABLE IF NOT EXISTS choices (
    path BLOB PRIMARY KEY,
    mood TEXT,
    pinned INTEGER NOT NULL DEFAULT 0,
    excluded INTEGER NOT NULL DEFAULT 0,
    changed REAL NOT NULL
);
"""

_TRACK_COLUMNS = (
    "path", "size", "mtime_ns", "analyser", "scanned", "error", "duration", "title", "artist",
    "album", "genre", "tag_mood", "tag_bpm", "tag_gain", "energy", "valence", "tempo", "loudness",
    "peak", "brightness", "onset_rate", "major", "musical_key", "mood", "mood_source", "decoder",
    "replaygain", "gain_source",
)  # fmt: skip

Row = tuple[object, ...]  # one raw ``tracks`` row, in ``_TRACK_COLUMNS`` order


def _storable(value: object) -> object:
    """``value``, with a text SQLite cannot take (bytes of a name that is not UTF-8, carried as
    surrogates: a title from the file name, a reason quoting the path) as printable text:
    ``\\xNN`` for each such byte, as ``scanner.shown`` prints paths."""
    if not isinstance(value, str):
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def default_path() -> Path:
    return paths.data_dir() / FILE_NAME


def path_key(path: Path) -> bytes:
    return os.fsencode(path)


def path_from_key(key: bytes) -> Path:
    return Path(os.fsdecode(key))


@dataclass(frozen=True)
class TrackRecord:
    """One row of ``tracks`` (features are None when the file could not be analysed)."""

    path: Path
    size: int
    mtime_ns: int
    analyser: int
    error: str | None
    duration: float
    title: str
    artist: str
    album: str
    genre: str
    tag_mood: str
    tag_bpm: float | None
    energy: float | None
    valence: float | None
    tempo: float | None
    loudness: float | None  # LUFS, measured on the excerpts
    peak: float | None
    brightness: float | None
    onset_rate: float | None
    major: float | None
    key: str
    mood: str | None  # from the audio, a mood tag or a mood-named folder
    mood_source: str
    decoder: str
    replaygain: float | None  # dB to play it at -18 LUFS (tag if present, else measured)
    gain_source: str

    @property
    def analysed(self) -> bool:
        return self.error is None and self.energy is not None


@dataclass(frozen=True)
class Choice:
    """The listener's decision about one path."""

    path: Path
    mood: str | None = None  # moved to this mood (None = where the analysis puts it)
    pinned: bool = False
    excluded: bool = False


@dataclass(frozen=True)
class Loudness:
    """What the audio engine needs to level a track (the same fields, in the same order, as the
    engine's own ``Loudness(lufs, peak, source)``, plus the ReplayGain 2.0 gain)."""

    lufs: float  # measured integrated loudness of the excerpts (from the tag gain if unmeasured)
    peak: float | None  # linear sample peak of the excerpts
    source: str  # "library"
    gain_db: float  # ReplayGain 2.0 track gain to -18 LUFS: the tag's if tagged, else measured


class DatabaseError(Exception):
    pass


def _set_aside(path: Path, why: str) -> Path | None:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    counter = 1
    while target.exists():
        counter += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{counter}")
    try:
        os.replace(path, target)
    except OSError as exc:
        log.error("library database %s is unusable (%s) and cannot be moved: %s", path, why, exc)
        return None
    for suffix in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            with contextlib.suppress(OSError):
                os.replace(side, target.with_name(target.name + suffix))
    log.warning("library database %s was unusable (%s); kept it as %s", path, why, target.name)
    return target


class LibraryDatabase:
    """The library file, opened (and repaired) on construction."""

    def __init__(self, path: Path | None = None, *, timeout: float = 5.0) -> None:
        self.path = path if path is not None else default_path()
        self.set_aside: Path | None = None  # where a damaged file was moved, if one was
        self._timeout = timeout
        self._connection = self._open()

    # -- opening ------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(str(self.path), timeout=self._timeout, isolation_level=None)
        connection.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
        return connection

    def _problem(self, connection: sqlite3.Connection) -> str | None:
        """Why this file is not our library, or None when it is usable."""
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if not tables:
            return None  # a new, empty file
        if "meta" not in tables:
            return "not a MoodPlayer library (tables: " + ", ".join(sorted(tables))[:200] + ")"
        meta = dict(connection.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("application") != APPLICATION:
            return f"not a MoodPlayer library (application {meta.get('application')!r})"
        if meta.get("schema") != str(SCHEMA_VERSION):
            return f"schema {meta.get('schema')!r}, this version reads {SCHEMA_VERSION}"
        check = connection.execute("PRAGMA quick_check").fetchone()
        if check is None or check[0] != "ok":
            return f"damaged ({check[0] if check else 'no answer'})"
        return None

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(2):
            connection: sqlite3.Connection | None = None
            try:
                if self.path.exists() and not self.path.is_file():
                    raise DatabaseError(f"{self.path} is not a regular file")
                connection = self._connect()
                problem = self._problem(connection)
                if problem is None:
                    connection.execute("PRAGMA journal_mode = WAL")
                    connection.execute("PRAGMA synchronous = NORMAL")
                    connection.executescript(_SCHEMA)
                    connection.execute(
                        "INSERT OR IGNORE INTO meta VALUES ('application', ?), ('schema', ?)",
                        (APPLICATION, str(SCHEMA_VERSION)),
                    )
                    return connection
            except DatabaseError as exc:
                problem = str(exc)
            except sqlite3.Error as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if connection is not None:
                connection.close()
            if attempt == 0:
                moved = _set_aside(self.path, problem)
                if moved is None:
                    break
                self.set_aside = moved
        raise DatabaseError(f"cannot open the library database {self.path}: {problem}")

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> LibraryDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- tracks -------------------------------------------------------------------------------

    def stamp(self, path: Path) -> tuple[int, int, int] | None:
        """(size, mtime_ns, analyser) stored for ``path``, or None."""
        row = self._connection.execute(
            "SELECT size, mtime_ns, analyser FROM tracks WHERE path = ?", (path_key(path),)
        ).fetchone()
        return (int(row[0]), int(row[1]), int(row[2])) if row else None

    def stamps(self) -> dict[bytes, tuple[int, int, int]]:
        """path key -> (size, mtime_ns, analyser) for every row (one query for a whole scan)."""
        return {
            bytes(row[0]): (int(row[1]), int(row[2]), int(row[3]))
            for row in self._connection.execute("SELECT path, size, mtime_ns, analyser FROM tracks")
        }

    def put_analysis(
        self, path: Path, size: int, mtime_ns: int, analyser: int, analysis: Analysis
    ) -> None:
        f = analysis.features
        t = analysis.tags
        values = (
            path_key(path), size, mtime_ns, analyser, time.time(), None, analysis.duration,
            t.title, t.artist, t.album, t.genre, t.mood, t.bpm, t.replaygain_db,
            f.energy, f.valence, f.tempo, f.loudness, f.peak, f.brightness, f.onset_rate,
            f.major, f.key, analysis.mood, analysis.mood_source, analysis.decoder,
            analysis.replaygain_db, analysis.gain_source,
        )  # fmt: skip
        self._put(values)

    def put_failure(
        self, path: Path, size: int, mtime_ns: int, analyser: int, reason: str, title: str = ""
    ) -> None:
        """Remember that this exact file could not be analysed (not retried until it changes)."""
        values: list[object] = [None] * len(_TRACK_COLUMNS)
        values[:6] = [path_key(path), size, mtime_ns, analyser, time.time(), reason[:500]]
        values[_TRACK_COLUMNS.index("title")] = title
        self._put(tuple(values))

    def _put(self, values: tuple[object, ...]) -> None:
        marks = ", ".join("?" * len(values))
        storable = tuple(_storable(v) for v in values)
        self._connection.execute(f"INSERT OR REPLACE INTO tracks VALUES ({marks})", storable)

    def copy_track(self, source: Path, target: Path, size: int, mtime_ns: int) -> bool:
        """Give ``target`` the analysis stored for ``source`` (a moved file); True when done."""
        row = self._connection.execute(
            "SELECT * FROM tracks WHERE path = ?", (path_key(source),)
        ).fetchone()
        if row is None:
            return False
        values = list(row)
        values[0], values[1], values[2] = path_key(target), size, mtime_ns
        self._put(tuple(values))
        return True

    def same_file_elsewhere(self, size: int, mtime_ns: int, name: str) -> Path | None:
        """A stored path with this size, mtime and file name (a candidate for a moved file)."""
        for (key,) in self._connection.execute(
            "SELECT path FROM tracks WHERE size = ? AND mtime_ns = ? AND error IS NULL",
            (size, mtime_ns),
        ):
            candidate = path_from_key(bytes(key))
            if candidate.name == name:
                return candidate
        return None

    def remove(self, keys: list[bytes]) -> int:
        with self.transaction():
            self._connection.executemany("DELETE FROM tracks WHERE path = ?", [(k,) for k in keys])
        return len(keys)

    def track(self, path: Path) -> TrackRecord | None:
        row = self._connection.execute(
            "SELECT * FROM tracks WHERE path = ?", (path_key(path),)
        ).fetchone()
        return _record(row) if row else None

    def tracks(self) -> Iterator[TrackRecord]:
        """Every row, ordered by path."""
        for row in self._connection.execute("SELECT * FROM tracks ORDER BY path"):
            breathe()
            yield _record(row)

    def rows(self) -> dict[bytes, Row]:
        """path key -> the raw row (a tuple of plain values; ``record(row)`` makes it a
        ``TrackRecord``) for every track: what a scan compares the files it finds with. Tuples
        of numbers and strings leave the cyclic garbage collector's passes, 20,000 records
        would each add three objects to them."""
        found: dict[bytes, Row] = {}
        for row in self._connection.execute("SELECT * FROM tracks"):
            breathe()
            found[bytes(row[0])] = row
        return found

    def count(self) -> int:
        return int(self._connection.execute("SELECT COUNT(*) FROM tracks").fetchone()[0])

    def loudness(self, path: Path) -> Loudness | None:
        """The levelling gain for ``path`` (the engine's question), or None when not analysed."""
        row = self._connection.execute(_LOUDNESS_QUERY, (path_key(path),)).fetchone()
        return _loudness(row)

    # -- choices ------------------------------------------------------------------------------

    def choice(self, path: Path) -> Choice | None:
        row = self._connection.execute(
            "SELECT mood, pinned, excluded FROM choices WHERE path = ?", (path_key(path),)
        ).fetchone()
        return Choice(path, row[0], bool(row[1]), bool(row[2])) if row else None

    def choices(self) -> dict[Path, Choice]:
        return {
            path_from_key(bytes(r[0])): Choice(
                path_from_key(bytes(r[0])), r[1], bool(r[2]), bool(r[3])
            )
            for r in self._connection.execute("SELECT path, mood, pinned, excluded FROM choices")
        }

    def set_choice(self, choice: Choice) -> None:
        """Store (or, when it says nothing, forget) the listener's choice for a path."""
        if choice.mood is not None and choice.mood not in MOODS:
            raise ValueError(f"unknown mood {choice.mood!r} (known: {', '.join(MOODS)})")
        key = path_key(choice.path)
        with self.transaction():
            if choice.mood is None and not choice.pinned and not choice.excluded:
                self._connection.execute("DELETE FROM choices WHERE path = ?", (key,))
                return
            self._connection.execute(
                "INSERT OR REPLACE INTO choices VALUES (?, ?, ?, ?, ?)",
                (key, choice.mood, int(choice.pinned), int(choice.excluded), time.time()),
            )

    # -- transactions -------------------------------------------------------------------------

    def transaction(self) -> _Transaction:
        return _Transaction(self._connection)


class _Transaction:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def __enter__(self) -> None:
        self._connection.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        self._connection.execute("COMMIT" if kind is None else "ROLLBACK")


_LOUDNESS_QUERY = (
    "SELECT replaygain, loudness, peak FROM tracks WHERE path = ? AND replaygain IS NOT NULL"
)


def _loudness(row: tuple[object, ...] | None) -> Loudness | None:
    if row is None:
        return None
    gain = float(row[0])  # type: ignore[arg-type]
    lufs = float(row[1]) if isinstance(row[1], (int, float)) else REPLAYGAIN_REFERENCE - gain
    peak = float(row[2]) if isinstance(row[2], (int, float)) else None
    return Loudness(lufs, peak, "library", gain)


class LoudnessLookup:
    """``path -> Loudness | None`` from the library file, callable from any thread (the audio
    engine's): each thread gets its own read-only connection; a missing or unreadable database
    answers None, never raises, and is never created or repaired from here."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_path()
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection | None:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            if not self.path.is_file():
                return None
            uri = self.path.resolve().as_uri() + "?mode=ro"
            connection = sqlite3.connect(uri, uri=True, timeout=1.0, check_same_thread=False)
            self._local.connection = connection
        return connection

    def __call__(self, path: Path) -> Loudness | None:
        try:
            connection = self._connection()
            if connection is None:
                return None
            return _loudness(connection.execute(_LOUDNESS_QUERY, (path_key(path),)).fetchone())
        except sqlite3.Error as exc:
            log.debug("no library loudness for %s: %s", path, exc)
            return None


def files_signature(path: Path | None = None) -> tuple[tuple[int, int], ...]:
    """(size, mtime_ns) of the library file and its write-ahead log: changes whenever anything
    writes to the library (two ``stat`` calls: cheap enough for the GUI thread now and then)."""
    path = path if path is not None else default_path()
    found: list[tuple[int, int]] = []
    for name in (path, path.with_name(path.name + "-wal")):
        try:
            info = os.stat(name)
        except OSError:
            found.append((-1, -1))
        else:
            found.append((info.st_size, info.st_mtime_ns))
    return tuple(found)


def library_stamp(path: Path | None = None) -> tuple[object, ...] | None:
    """What the mood playlists are built from, in four numbers (tracks and their newest scan
    time, choices and their newest change): another process (``moodplayer library move``, a
    ``library scan``) changed the library when it differs. Read-only; None when the file is
    missing or unreadable (never created or repaired from here)."""
    path = path if path is not None else default_path()
    if not path.is_file():
        return None
    try:
        uri = path.resolve().as_uri() + "?mode=ro"
        connection = sqlite3.connect(uri, uri=True, timeout=1.0)
        try:
            tracks = connection.execute("SELECT COUNT(*), MAX(scanned) FROM tracks").fetchone()
            choices = connection.execute("SELECT COUNT(*), MAX(changed) FROM choices").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        log.debug("library stamp of %s not read: %s", path, exc)
        return None
    return (*tracks, *choices)


def levelling_lookup(path: Path | None = None) -> Callable[[Path], EngineLoudness | None]:
    """The audio engine's ``LoudnessLookup`` (app/music/loudness.py) answered from the library
    database: the measured LUFS and peak of a scanned track, None for any other (the engine
    reads ReplayGain tags itself first). Any thread; never creates the database."""
    lookup = LoudnessLookup(path)

    def answer(track: Path) -> EngineLoudness | None:
        found = lookup(track)
        return None if found is None else EngineLoudness(found.lufs, found.peak, "library")

    return answer


def record(row: Row) -> TrackRecord:
    """A raw ``tracks`` row (from ``LibraryDatabase.rows``) as a ``TrackRecord``."""
    return _record(row)


def _record(row: Row) -> TrackRecord:
    v = dict(zip(_TRACK_COLUMNS, row, strict=True))

    def number(name: str) -> float | None:
        value = v[name]
        return float(value) if isinstance(value, (int, float)) else None

    def text(name: str) -> str:
        value = v[name]
        return str(value) if value is not None else ""

    mood = v["mood"]
    return TrackRecord(
        path=path_from_key(bytes(v["path"])),  # type: ignore[call-overload]
        size=int(v["size"]),  # type: ignore[call-overload]
        mtime_ns=int(v["mtime_ns"]),  # type: ignore[call-overload]
        analyser=int(v["analyser"]),  # type: ignore[call-overload]
        error=str(v["error"]) if v["error"] is not None else None,
        duration=number("duration") or 0.0,
        title=text("title"),
        artist=text("artist"),
        album=text("album"),
        genre=text("genre"),
        tag_mood=text("tag_mood"),
        tag_bpm=number("tag_bpm"),
        energy=number("energy"),
        valence=number("valence"),
        tempo=number("tempo"),
        loudness=number("loudness"),
        peak=number("peak"),
        brightness=number("brightness"),
        onset_rate=number("onset_rate"),
        major=number("major"),
        key=text("musical_key"),
        mood=str(mood) if mood in MOODS else None,
        mood_source=text("mood_source"),
        decoder=text("decoder"),
        replaygain=number("replaygain"),
        gain_source=text("gain_source"),
    )

"""Scanning music folders into the library database, safely and incrementally.

Two phases: *finding* walks every root (any layout; M3U/M3U8/PLS files anywhere in the tree add
their entries), then *listening* analyses each file whose size, mtime or analyser version changed
since the last scan and commits it at once (a killed scan loses at most the file it was on).
Files that vanished from a scanned root are dropped from the database; a file that only moved
keeps its analysis (same size, mtime and name) without being decoded again.

Nothing found on disk is trusted: every entry is ``lstat``-ed before it is opened, so a FIFO or
a device is never opened; links are followed only while they stay inside their root (a link to
``/`` is a skipped entry, a link loop is visited once); unreadable folders, damaged files and
names that are not UTF-8 are skipped entries with a reason, never an exception.

``scan_library`` blocks: run it on a worker thread (``ScanTask`` does), pass a
``threading.Event`` to cancel it between files.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.breathing import breathe
from app.music import decode, library
from app.music.analysis import ANALYSER_VERSION, Analysis, analyse_file
from app.music.database import LibraryDatabase, Row, TrackRecord, path_key, record
from app.problems import problems

log = logging.getLogger(__name__)

# Far above any real library; reaching it is said in the result's notes, never silent.
MAX_SCAN_FILES = 1_000_000
MAX_DEPTH = 64
PROGRESS_INTERVAL_S = 0.1

# What the scanner analyses: every suffix some decoder might read.
SCAN_SUFFIXES: frozenset[str] = decode.FFMPEG_SUFFIXES


@dataclass(frozen=True)
class ScanProgress:
    phase: str  # "finding", "listening" or "done"
    done: int
    total: int
    path: Path | None = None

    def text(self) -> str:
        """The sentence for people: "Listening to your library: 312 of 2,000"."""
        if self.phase == "finding":
            if not self.done:
                return "Looking for music…"
            return f"Looking for music: {self.done:,} files so far"
        if self.phase == "done":
            return f"Library ready: {self.total:,} tracks"
        return f"Listening to your library: {self.done:,} of {self.total:,}"


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str


@dataclass(frozen=True)
class ScannedTrack:
    """One file the scan went through: its stored record and whether it was decoded now."""

    record: TrackRecord
    decoded: bool


@dataclass(frozen=True)
class ScanResult:
    tracks: int  # analysed tracks found under the roots
    analysed: int  # files decoded in this run (0 when nothing changed)
    skipped: tuple[Skipped, ...]
    removed: int  # rows dropped (files gone from the roots)
    seconds: float
    cancelled: bool
    notes: tuple[str, ...] = ()  # sentences to show the listener (limits reached, ...)
    set_aside: Path | None = None  # where a damaged database was moved


# (size, mtime_ns) of a found file: all a scan compares (a third of an ``os.stat_result``).
Stat = tuple[int, int]


@dataclass
class _Found:
    files: dict[str, Stat] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    complete: bool = True


def shown(path: Path | str) -> str:
    """A path as printable text (bytes that are not UTF-8 shown as ``\\xNN``)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class _Walker:
    def __init__(self, cancel: threading.Event, on_found: Callable[[int], None]) -> None:
        self.cancel = cancel
        self.on_found = on_found
        self.found = _Found()
        self._seen_dirs: set[tuple[int, int]] = set()
        self._limit_noted = False

    def _full(self) -> bool:
        if len(self.found.files) < MAX_SCAN_FILES:
            return False
        if not self._limit_noted:
            self._limit_noted = True
            self.found.complete = False
            self.found.notes.append(
                f"More than {MAX_SCAN_FILES:,} music files: only the first {MAX_SCAN_FILES:,} "
                "are in the library."
            )
        return True

    def skip(self, path: Path | str, reason: str) -> None:
        self.found.skipped.append(Skipped(Path(path), reason))
        log.info("library scan skipped %s: %s", shown(path), reason)
        problems.report("library file", path, reason)

    def add_file(self, path: str, info: os.stat_result) -> None:
        if self._full():
            return
        key = os.path.normpath(os.path.abspath(path))
        if key not in self.found.files:
            self.found.files[key] = (info.st_size, info.st_mtime_ns)
            if len(self.found.files) % 500 == 0:
                self.on_found(len(self.found.files))

    def root(self, root: Path) -> None:
        try:
            info = os.stat(root)  # the root itself may be a link the listener chose
        except OSError as exc:
            self.skip(root, f"cannot be read ({exc.strerror or exc})")
            return
        except ValueError as exc:
            self.skip(root, f"not a usable path ({exc})")
            return
        if stat.S_ISDIR(info.st_mode):
            self.walk(root)
        elif stat.S_ISREG(info.st_mode):
            suffix = root.suffix.lower()
            if suffix in library.PLAYLIST_SUFFIXES:
                self.playlist(str(root))
            elif suffix in SCAN_SUFFIXES:
                self.add_file(str(root), info)
            else:
                self.skip(root, "not a folder, a music file or a playlist file")
        else:
            self.skip(root, f"{_kind(info.st_mode)}, not a folder")

    def walk(self, root: Path) -> None:
        real_root = os.path.realpath(root)
        stack: list[tuple[str, int]] = [(str(root), 0)]
        while stack:
            if self.cancel.is_set():
                self.found.complete = False
                return
            folder, depth = stack.pop()
            try:
                info = os.stat(folder)
                key = (info.st_dev, info.st_ino)
                if key in self._seen_dirs:
                    continue  # a link loop, or the same folder reached twice
                self._seen_dirs.add(key)
                with os.scandir(folder) as listing:
                    entries = sorted(listing, key=lambda e: e.name)
            except OSError as exc:
                self.skip(folder, f"folder cannot be read ({exc.strerror or exc})")
                continue
            subfolders: list[str] = []
            for entry in entries:
                breathe()
                if self._full():
                    return
                try:
                    self._entry(entry, real_root, subfolders)
                except OSError as exc:
                    self.skip(entry.path, f"cannot be read ({exc.strerror or exc})")
            if depth + 1 > MAX_DEPTH:
                for sub in subfolders:
                    self.skip(sub, f"more than {MAX_DEPTH} folders deep")
                continue
            stack.extend((sub, depth + 1) for sub in reversed(subfolders))

    def _entry(self, entry: os.DirEntry[str], real_root: str, subfolders: list[str]) -> None:
        suffix = os.path.splitext(entry.name)[1].lower()
        wanted = suffix in SCAN_SUFFIXES or suffix in library.PLAYLIST_SUFFIXES
        if entry.is_symlink():
            target = os.path.realpath(entry.path)
            if not _inside(target, real_root):
                if wanted or os.path.isdir(target):
                    self.skip(entry.path, f"a link out of the library folder (to {shown(target)})")
                return
            info = os.stat(target)
        else:
            info = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            subfolders.append(entry.path)
        elif not stat.S_ISREG(info.st_mode):
            if wanted:
                self.skip(entry.path, f"{_kind(info.st_mode)}, not a music file")
        elif suffix in library.PLAYLIST_SUFFIXES:
            self.playlist(entry.path)
        elif suffix in SCAN_SUFFIXES:
            self.add_file(entry.path, info)

    def playlist(self, path: str) -> None:
        try:
            text = library.read_playlist_text(Path(path))
        except (OSError, ValueError) as exc:
            self.skip(path, f"playlist cannot be read ({exc})")
            return
        pairs = (
            library.parse_pls(text) if path.lower().endswith(".pls") else library.parse_m3u(text)
        )
        base = Path(path).parent
        for entry, _title in pairs[: library.MAX_ENTRIES]:
            target = library.resolve_entry(base, entry)
            label = f"{shown(path)}: {entry[:120]!r}"
            if target is None:
                self.skip(Path(label), "not a local file (a URL, a network path or invalid)")
                continue
            if target.suffix.lower() not in SCAN_SUFFIXES:
                continue  # other playlists and non-music entries are not followed
            try:
                info = os.stat(target)
            except (OSError, ValueError) as exc:
                self.skip(Path(label), f"missing ({getattr(exc, 'strerror', None) or exc})")
                continue
            if not stat.S_ISREG(info.st_mode):
                self.skip(Path(label), f"{_kind(info.st_mode)}, not a music file")
                continue
            self.add_file(str(target), info)


def find_music(
    roots: Iterable[Path], cancel: threading.Event | None = None
) -> tuple[dict[str, Stat], list[Skipped], list[str], bool]:
    """(path -> (size, mtime_ns), skipped, notes, complete) for every music file under
    ``roots``."""
    walker = _Walker(cancel or threading.Event(), lambda n: None)
    for root in roots:
        walker.root(Path(root))
    found = walker.found
    return found.files, found.skipped, found.notes, found.complete


Analyse = Callable[[Path], Analysis]
ProgressCallback = Callable[[ScanProgress], None]
TrackCallback = Callable[[ScannedTrack], None]


def _under_roots(roots: Sequence[Path]) -> list[bytes]:
    prefixes: list[bytes] = []
    for root in roots:
        for form in {os.path.abspath(root), os.path.realpath(root)}:
            prefixes.append(os.fsencode(form.rstrip(os.sep) + os.sep))
    return prefixes


def scan_library(
    roots: Sequence[Path],
    database: LibraryDatabase | Path | None = None,
    *,
    progress: ProgressCallback | None = None,
    on_track: TrackCallback | None = None,
    cancel: threading.Event | None = None,
    analyse: Analyse = analyse_file,
    clock: Callable[[], float] = time.monotonic,
) -> ScanResult:
    """Scan ``roots`` into ``database`` (a ``LibraryDatabase``, a file path, or the default
    file). Blocks; callbacks run on the calling thread."""
    started = clock()
    cancel = cancel or threading.Event()
    own = not isinstance(database, LibraryDatabase)
    db = database if isinstance(database, LibraryDatabase) else LibraryDatabase(database)
    last_emit = [-1.0]

    def emit(update: ScanProgress, force: bool = False) -> None:
        now = clock()
        if progress is not None and (force or now - last_emit[0] >= PROGRESS_INTERVAL_S):
            last_emit[0] = now
            progress(update)

    try:
        walker = _Walker(cancel, lambda n: emit(ScanProgress("finding", n, 0)))
        emit(ScanProgress("finding", 0, 0), force=True)
        absolute_roots = [Path(os.path.abspath(r)) for r in roots]
        for root in absolute_roots:
            walker.root(root)
        found = walker.found
        skipped = list(found.skipped)
        rows = db.rows()  # one query, not one per file
        wanted = decode.decodable_suffixes()
        paths = sorted(found.files)
        total = len(paths)
        analysed = 0
        tracks = 0
        for index, name in enumerate(paths):
            breathe()
            if cancel.is_set():
                break
            path = Path(name)
            size, mtime_ns = found.files[name]
            emit(ScanProgress("listening", index, total, path))
            key = path_key(path)
            row = rows.get(key)
            stored: TrackRecord | None = None
            decoded = False
            if row is not None and row[1:4] == (size, mtime_ns, ANALYSER_VERSION):
                stored = record(row)
                if (
                    stored.error is not None
                    and stored.error.startswith(decode.NO_DECODER_PREFIXES)
                    and path.suffix.lower() in wanted
                ):
                    stored = None  # a decoder was installed since: try again
            if stored is None:
                moved = db.same_file_elsewhere(size, mtime_ns, path.name)
                if moved is not None and str(moved) not in found.files and not moved.exists():
                    db.copy_track(moved, path, size, mtime_ns)
                    stored = db.track(path)
            if stored is None:
                stored = _analyse_one(db, path, size, mtime_ns, analyse)
                decoded = True
                analysed += 1
                emit(ScanProgress("listening", index + 1, total, path), force=True)
            if stored.analysed:
                tracks += 1
            else:
                skipped.append(Skipped(path, stored.error or "not analysed"))
            if on_track is not None:
                on_track(ScannedTrack(stored, decoded))
        cancelled = cancel.is_set()
        removed = 0
        if found.complete and not cancelled:
            removed = _prune(db, absolute_roots, set(found.files), rows)
        seconds = clock() - started
        emit(ScanProgress("done", total, tracks), force=True)
        log.info(
            "library scan: %d tracks, %d analysed, %d skipped, %d removed in %.1f s%s",
            tracks,
            analysed,
            len(skipped),
            removed,
            seconds,
            " (cancelled)" if cancelled else "",
        )
        return ScanResult(
            tracks=tracks,
            analysed=analysed,
            skipped=tuple(skipped),
            removed=removed,
            seconds=seconds,
            cancelled=cancelled,
            notes=tuple(found.notes),
            set_aside=db.set_aside,
        )
    finally:
        if own:
            db.close()


def _analyse_one(
    db: LibraryDatabase, path: Path, size: int, mtime: int, analyse: Analyse
) -> TrackRecord:
    reason = ""
    if size == 0:
        reason = "empty file"
    elif size > library.MAX_AUDIO_BYTES:
        reason = "file too large"
    else:
        try:
            db.put_analysis(path, size, mtime, ANALYSER_VERSION, analyse(path))
        except decode.DecodeError as exc:
            reason = str(exc) or "cannot be decoded"
        except (MemoryError, RecursionError):
            reason = "too large to analyse"
        except Exception as exc:  # a damaged file must never stop the scan
            log.debug("analysis of %s failed", shown(path), exc_info=True)
            reason = f"cannot be analysed ({type(exc).__name__}: {exc})"
    if reason:
        db.put_failure(path, size, mtime, ANALYSER_VERSION, reason, path.stem)
        log.info("library scan skipped %s: %s", shown(path), reason)
        problems.report("audio file", path, reason)
    record = db.track(path)
    assert record is not None
    return record


def _prune(
    db: LibraryDatabase,
    roots: Sequence[Path],
    found: set[str],
    rows: dict[bytes, Row],
) -> int:
    """Drop rows under a scanned root that were not found, and rows whose file is gone."""
    prefixes = _under_roots(roots)
    found_keys = {os.fsencode(p) for p in found}
    gone: list[bytes] = []
    for key in rows:
        if key in found_keys:
            continue
        if any(key.startswith(p) for p in prefixes) or not os.path.lexists(key):
            gone.append(key)
    return db.remove(gone) if gone else 0


class ScanTask:
    """``scan_library`` on its own thread: ``start()``, ``cancel()``, ``join()``; ``.progress``
    is the newest ``ScanProgress`` and ``.result`` the ``ScanResult`` (or ``.error``, a sentence)
    once it ends. Callbacks run on the scan thread: a UI hands them to its own thread."""

    def __init__(
        self,
        roots: Sequence[Path],
        database_path: Path | None = None,
        *,
        on_progress: ProgressCallback | None = None,
        on_done: Callable[[ScanResult | None], None] | None = None,
        analyse: Analyse = analyse_file,
    ) -> None:
        self.roots = tuple(roots)
        self.database_path = database_path
        self.progress = ScanProgress("finding", 0, 0)
        self.result: ScanResult | None = None
        self.error: str | None = None
        self._on_progress = on_progress
        self._on_done = on_done
        self._analyse = analyse
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="library-scan", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _progress(self, update: ScanProgress) -> None:
        self.progress = update
        if self._on_progress is not None:
            self._on_progress(update)

    def _run(self) -> None:
        try:
            self.result = scan_library(
                self.roots,
                self.database_path,
                progress=self._progress,
                cancel=self._cancel,
                analyse=self._analyse,
            )
        except Exception as exc:  # reported to the UI as a sentence, logged with its traceback
            log.exception("library scan failed")
            self.error = f"The library scan stopped: {exc}"
        if self._on_done is not None:
            self._on_done(self.result)

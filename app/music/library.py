"""Playlists on disk: folders of audio files, M3U/M3U8 and PLS files.

A *root* folder given to ``Library`` is read like this:

- each sub-folder is one playlist named after the folder (its audio files, nested folders included,
  sorted by path);
- each ``.m3u``, ``.m3u8`` or ``.pls`` file is one playlist named after the file (without suffix);
- audio files lying directly in the root make one playlist named after the root;
- a path given directly to ``Library`` may also be a single playlist file.

Formats: what the audio engine plays (``AUDIO_SUFFIXES``: Ogg Vorbis/Opus, MP3, FLAC, WAV, AIFF,
AAC/M4A and ALAC). Title, artist, album and duration come from the
tags (mutagen); a missing title falls back to the ``#EXTINF``/``TitleN`` text, then the file name.

Nothing here trusts its input: an unreadable, missing, empty or non-audio entry is skipped with a
logged reason; playlist files are read only up to ``MAX_PLAYLIST_BYTES`` and ``MAX_ENTRIES``;
entries that are URLs or other playlists are not followed (so a playlist cannot include itself);
folder walks are bounded in depth and file count and never follow a link back into themselves.
A playlist with no playable track is left out.

**Same name twice**: when two roots hold a playlist with the same name, the *later* root wins
(``default_library`` orders them shipped, user, extra), so a user's own ``calm`` folder replaces the
shipped one. Within one root, a playlist file wins over a folder of the same name. Both are logged.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from app import paths
from app.breathing import breathe
from app.problems import problems

log = logging.getLogger(__name__)

# What the audio engine plays (AAC/M4A and ALAC through FFmpeg: without it such a track is
# skipped, with a note saying how to get it, when it comes to play).
AUDIO_SUFFIXES: frozenset[str] = frozenset(
    {".ogg", ".oga", ".opus", ".mp3", ".flac", ".wav", ".m4a", ".aac", ".aif", ".aiff"}
)
PLAYLIST_SUFFIXES: frozenset[str] = frozenset({".m3u", ".m3u8", ".pls"})

# Bounds that keep a hostile playlist or folder from hanging or exhausting the app.
MAX_PLAYLIST_BYTES = 4 * 1024 * 1024
MAX_ENTRIES = 10_000
MAX_LINE = 4096
MAX_FOLDER_DEPTH = 4
# A folder playlist keeps at most this many files; more is said in ``Library.notes``.
MAX_FOLDER_FILES = 100_000
MAX_AUDIO_BYTES = 2 * 1024 * 1024 * 1024
MAX_LOGGED_SKIPS = 20

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")
# Playlist lines end in LF, CRLF or CR only (str.splitlines would also split on \x1c, \x85, ...).
_LINES = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Track:
    path: Path
    title: str
    artist: str = ""
    album: str = ""
    # Seconds; 0.0 when the file does not say.
    duration: float = 0.0

    @property
    def display(self) -> str:
        """ "Artist – Title" or just the title."""
        return f"{self.artist} – {self.title}" if self.artist else self.title


@dataclass(frozen=True)
class Playlist:
    name: str
    tracks: tuple[Track, ...]
    # The folder or playlist file it came from (None when built in code).
    source: Path | None = None

    def __len__(self) -> int:
        return len(self.tracks)


_ID3_FRAMES = {"title": "TIT2", "artist": "TPE1", "album": "TALB"}


def _first_tag(tags: Any, key: str) -> str:
    try:
        value = tags.get(key) if tags is not None else None
        if value is None and tags is not None and key in _ID3_FRAMES:
            # WAV/AIFF files carry plain (not "easy") ID3 tags.
            frame = tags.get(_ID3_FRAMES[key])
            value = list(frame.text) if frame is not None else None
    except Exception:  # mutagen tag objects can raise on odd keys
        return ""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    return str(value).strip()[:500] if value else ""


def read_track(path: Path, title_hint: str = "") -> tuple[Track | None, str]:
    """The track at ``path`` with its tags, or ``(None, reason)`` when it cannot be played."""
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        return None, f"unsupported file type {path.suffix or '(none)'!r}"
    try:
        if not path.is_file():
            return None, "missing" if not path.exists() else "not a file"
        size = path.stat().st_size
    except (OSError, ValueError) as exc:
        return None, f"cannot be read ({exc})"
    if size == 0:
        return None, "empty file"
    if size > MAX_AUDIO_BYTES:
        return None, "file too large"
    import mutagen

    try:
        audio = mutagen.File(path, easy=True)
    except Exception as exc:  # mutagen raises many kinds on broken files
        return None, f"not readable audio ({type(exc).__name__}: {exc})"
    if audio is None:
        return None, "not a recognised audio file"
    info = getattr(audio, "info", None)
    length = float(getattr(info, "length", 0.0) or 0.0)
    if length != length or length < 0 or length == float("inf"):
        length = 0.0
    tags = audio.tags
    title = _first_tag(tags, "title") or title_hint.strip() or path.stem
    track = Track(
        path=path,
        title=title,
        artist=_first_tag(tags, "artist"),
        album=_first_tag(tags, "album"),
        duration=length,
    )
    return track, ""


class TrackPool:
    """One ``Track`` object per path, across library reads: a read that finds a track unchanged
    hands back the object the last read made. So a rebuild after a move or a rescan allocates
    only what changed, and the folder playlists share the smart playlists' objects (``get``):
    a 20,000-track library is 60,000 long-lived objects (track, path and the path's parts), not
    120,000 made anew at every read, for the cyclic garbage collector to go through while it
    holds the GIL. ``on_new`` is called after every ``every`` new objects (the window freezes
    what exists then: ``gc.freeze``). One read at a time: ``done()`` ends it."""

    def __init__(self, on_new: Callable[[], None] | None = None, every: int = 4000) -> None:
        self._last: dict[Path, Track] = {}
        self._now: dict[Path, Track] = {}
        self._on_new = on_new
        self._every = every
        self._new = 0

    def track(self, candidate: Track) -> Track:
        """``candidate``, or the equal track the last read made."""
        old = self._last.get(candidate.path)
        track = old if old is not None and old == candidate else candidate
        if track is candidate:
            self._new += 1
            if self._on_new is not None and self._new % self._every == 0:
                self._on_new()
        self._now[track.path] = track
        return track

    def get(self, path: Path) -> Track | None:
        """The track this read already made for ``path`` (the library database's, read before
        the folders), or None."""
        return self._now.get(path)

    def done(self) -> None:
        """This read is over: its tracks are what the next one compares with."""
        self._last, self._now, self._new = self._now, {}, 0


def _known_or_read(
    path: Path, known: TrackPool | None, title_hint: str = ""
) -> tuple[Track | None, str]:
    """The track this read already made for ``path`` (from the library database: no tag read),
    else ``read_track``'s (kept in the pool)."""
    breathe()
    if known is None:
        return read_track(path, title_hint)
    track = known.get(path)
    if track is not None:
        return track, ""
    track, reason = read_track(path, title_hint)
    return (known.track(track) if track is not None else None), reason


def _skip(where: Path | str, entry: object, reason: str, kind: str = "library file") -> None:
    log.info("skipped %s in %s: %s", entry, where, reason)
    problems.report(kind, _where(where, entry), reason)


def _where(where: Path | str, entry: object) -> str:
    """The skipped thing as the Problems view shows it (a path where there is one)."""
    if isinstance(entry, Path):
        return str(entry)
    if isinstance(where, Path):
        return f"{where / str(entry)}" if where.is_dir() else f"{where}: {entry}"
    return str(entry)


class _Skips:
    """Logs skipped entries of one playlist: the first ``MAX_LOGGED_SKIPS`` at INFO, then a count
    (a hostile playlist must not flood the log)."""

    def __init__(self, where: Path, kind: str = "playlist entry") -> None:
        self.where = where
        self.kind = kind
        self.count = 0

    def __call__(self, entry: object, reason: str) -> None:
        self.count += 1
        level = logging.INFO if self.count <= MAX_LOGGED_SKIPS else logging.DEBUG
        log.log(level, "skipped %s in %s: %s", entry, self.where, reason)
        problems.report(self.kind, _where(self.where, entry), reason)  # bounded and kept once

    def close(self) -> None:
        if self.count > MAX_LOGGED_SKIPS:
            log.info(
                "%s: %d entries skipped in all (the first %d are logged above)",
                self.where,
                self.count,
                MAX_LOGGED_SKIPS,
            )


def _read_bounded(path: Path) -> bytes:
    """Up to ``MAX_PLAYLIST_BYTES`` of a regular file. Opened non-blocking and checked with
    ``fstat`` first, so a FIFO or a device named ``.m3u`` is refused instead of hanging."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(f"{path.name} is not a regular file")
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_PLAYLIST_BYTES:
            chunk = os.read(descriptor, min(1 << 20, MAX_PLAYLIST_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(descriptor)
    return b"".join(chunks)


def _decode_lines(raw: bytes, strict_utf8: bool) -> str:
    """Text decoded line by line: UTF-8 where a line is UTF-8, else Latin-1 for that line only
    (``strict_utf8``, for .m3u8: replacement characters), so one stray byte cannot turn a whole
    UTF-8 playlist into Latin-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    lines: list[str] = []
    for line in re.split(rb"(\r\n|\r|\n)", raw):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(line.decode("utf-8", "replace") if strict_utf8 else line.decode("latin-1"))
    return "".join(lines)


def read_playlist_text(path: Path) -> str:
    """The playlist file's text, bounded, with BOM and encoding handled."""
    raw = _read_bounded(path)
    if len(raw) > MAX_PLAYLIST_BYTES:
        log.warning("%s: larger than %d bytes; reading only the start", path, MAX_PLAYLIST_BYTES)
        raw = raw[:MAX_PLAYLIST_BYTES]
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace")
    return _decode_lines(raw, strict_utf8=path.suffix.lower() == ".m3u8")


_read_text = read_playlist_text


def _network_path(entry: str) -> bool:
    """``\\\\host\\share\\x.mp3``, ``//host/share/x.mp3``: opening it would connect to
    another machine (SMB on Windows), so it is never stat'ed."""
    return entry.startswith(("\\\\", "//", "\\/", "/\\"))


def resolve_entry(base: Path, entry: str) -> Path | None:
    """A playlist entry as a local path, or None when it is a URL, a network path or nonsense."""
    entry = entry.strip()
    if not entry or len(entry) > MAX_LINE or "\x00" in entry:
        return None
    if entry.lower().startswith("file://"):
        parsed = urlparse(entry)
        if parsed.netloc and parsed.netloc.lower() != "localhost":
            return None
        entry = unquote(parsed.path)
    elif _URL.match(entry):
        return None
    if _network_path(entry):
        return None
    candidate = Path(entry)
    if not candidate.is_absolute():
        candidate = base / candidate
    try:
        if "\\" in entry and not candidate.exists():
            # A playlist written on Windows: try the separators as folders.
            alt = Path(entry.replace("\\", "/"))
            candidate = alt if alt.is_absolute() else base / alt
    except (OSError, ValueError):
        return None
    return candidate


_resolve_entry = resolve_entry


def _tracks_from_entries(
    source: Path, entries: Iterable[tuple[str, str]], known: TrackPool | None = None
) -> tuple[Track, ...]:
    tracks: list[Track] = []
    base = source.parent
    skip = _Skips(source)
    for count, (entry, title) in enumerate(entries):
        if count >= MAX_ENTRIES:
            log.warning("%s: more than %d entries; the rest are ignored", source, MAX_ENTRIES)
            break
        shown = entry if len(entry) <= 120 else entry[:117] + "..."
        path = _resolve_entry(base, entry)
        if path is None:
            skip(repr(shown), "not a local file (URL or invalid path)")
            continue
        if path.suffix.lower() in PLAYLIST_SUFFIXES:
            skip(repr(shown), "playlists inside playlists are not followed")
            continue
        track, reason = _known_or_read(path, known, title)
        if track is None:
            skip(repr(shown), reason)
            continue
        tracks.append(track)
    skip.close()
    return tuple(tracks)


def parse_m3u(text: str) -> list[tuple[str, str]]:
    """``(entry, title)`` pairs from M3U text: ``#EXTINF:<secs>,<title>`` names the next entry."""
    pairs: list[tuple[str, str]] = []
    title = ""
    for raw_line in _LINES.split(text):
        line = raw_line.strip().lstrip("\ufeff")
        if not line:
            continue
        if line.startswith("#"):
            if line.upper().startswith("#EXTINF:"):
                _, _, title = line.partition(",")
                title = title.strip()[:500]
            continue
        pairs.append((line, title))
        title = ""
        if len(pairs) > MAX_ENTRIES:
            break
    return pairs


def _number(text: str) -> bool:
    """A small plain number: ASCII digits only (``"²".isdigit()`` is True but ``int`` fails)."""
    return text.isascii() and text.isdigit() and len(text) < 7


def parse_pls(text: str) -> list[tuple[str, str]]:
    """``(entry, title)`` pairs from PLS text (``FileN=``, ``TitleN=``), in the order of N."""
    files: dict[int, str] = {}
    titles: dict[int, str] = {}
    declared: int | None = None
    for raw_line in _LINES.split(text):
        line = raw_line.strip().lstrip("\ufeff")
        if not line or line.startswith((";", "#", "[")) or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().lower()
        value = value.strip()
        if key == "numberofentries":
            declared = int(value) if _number(value) else None
            continue
        for prefix, store in (("file", files), ("title", titles)):
            number = key[len(prefix) :]
            if key.startswith(prefix) and _number(number):
                if len(files) < MAX_ENTRIES or int(number) in store:
                    store[int(number)] = value
                break
    if declared is not None and declared != len(files):
        log.info("PLS says NumberOfEntries=%d but has %d files", declared, len(files))
    return [(files[n], titles.get(n, "")) for n in sorted(files)]


def read_playlist_file(path: Path, known: TrackPool | None = None) -> Playlist | None:
    """An M3U/M3U8/PLS file as a playlist (None, logged, when unreadable or nothing plays)."""
    try:
        text = _read_text(path)
    except (OSError, ValueError) as exc:
        _skip(path.parent, path.name, f"playlist cannot be read ({exc})")
        return None
    pairs = parse_pls(text) if path.suffix.lower() == ".pls" else parse_m3u(text)
    tracks = _tracks_from_entries(path, pairs, known)
    if not tracks:
        _skip(path.parent, path.name, "no playable tracks")
        return None
    return Playlist(path.stem, tracks, path)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _audio_files(
    folder: Path, notes: list[str] | None = None, confine: str | None = None
) -> list[Path]:
    """Audio files under ``folder``, sorted, bounded in depth and count, without link loops;
    linked folders are followed only while they stay inside ``confine`` (default: ``folder``)."""
    real_root = confine if confine is not None else os.path.realpath(folder)
    found: list[Path] = []
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[Path, int]] = [(folder, 0)]
    visited = 0
    while stack:
        current, depth = stack.pop()
        try:
            stat = current.stat()
            key = (stat.st_dev, stat.st_ino)
            if key in seen:
                continue
            seen.add(key)
            with os.scandir(current) as entries:
                children = sorted(entries, key=lambda e: e.name)
        except (OSError, ValueError) as exc:
            _skip(folder, current, f"folder cannot be read ({exc})")
            continue
        for child in children:
            visited += 1
            if visited > MAX_FOLDER_FILES:
                message = (
                    f"The folder {folder} has more than {MAX_FOLDER_FILES:,} files: only the "
                    f"first {MAX_FOLDER_FILES:,} are in its playlist."
                )
                log.warning("%s", message)
                if notes is not None:
                    notes.append(message)
                return sorted(found)
            path = Path(child.path)
            try:
                if child.is_dir():
                    if child.is_symlink() and not _inside(os.path.realpath(path), real_root):
                        _skip(folder, path, "a link out of the library folder is not followed")
                        continue
                    if depth + 1 <= MAX_FOLDER_DEPTH:
                        stack.append((path, depth + 1))
                    continue
            except OSError:
                continue
            if path.suffix.lower() in AUDIO_SUFFIXES:
                found.append(path)
    return sorted(found)


def read_folder(
    folder: Path,
    name: str | None = None,
    notes: list[str] | None = None,
    confine: str | None = None,
    known: TrackPool | None = None,
) -> Playlist | None:
    """The audio files in ``folder`` (and below) as one playlist (``notes`` collects sentences
    for the listener, such as a folder over ``MAX_FOLDER_FILES``)."""
    tracks: list[Track] = []
    skip = _Skips(folder, "audio file")
    for path in _audio_files(folder, notes, confine):
        track, reason = _known_or_read(path, known)
        if track is None:
            skip(path.name, reason)
            continue
        tracks.append(track)
    skip.close()
    if not tracks:
        return None
    return Playlist(name or folder.name, tuple(tracks), folder)


def _direct_audio(root: Path) -> list[Path]:
    try:
        with os.scandir(root) as entries:
            return sorted(
                Path(e.path)
                for e in entries
                if Path(e.name).suffix.lower() in AUDIO_SUFFIXES and e.is_file()
            )
    except OSError:
        return []


class Library:
    """The playlists found in ``folders`` (see the module text for the rules)."""

    def __init__(self, folders: Sequence[Path | str], pool: TrackPool | None = None) -> None:
        self.folders: tuple[Path, ...] = tuple(Path(f).expanduser() for f in folders)
        # Tracks the library database already made: used as they are instead of reading their
        # tags again; the tracks read here go into it too.
        self.known = pool
        self.playlists: dict[str, Playlist] = {}
        # Sentences for the listener from the last scan (limits reached); shown by the UI.
        self.notes: list[str] = []

    def scan(self) -> dict[str, Playlist]:
        """Read every folder again; returns (and keeps in ``.playlists``) name -> playlist."""
        found: dict[str, Playlist] = {}
        self.notes = []
        for root in self.folders:
            for playlist in self._scan_root(root):
                previous = found.get(playlist.name)
                if previous is not None:
                    log.info(
                        "playlist %r from %s replaces the one from %s",
                        playlist.name,
                        playlist.source,
                        previous.source,
                    )
                found[playlist.name] = playlist
        self.playlists = found
        log.info(
            "library: %d playlists, %d tracks",
            len(found),
            sum(len(p) for p in found.values()),
        )
        return found

    def _scan_root(self, root: Path) -> list[Playlist]:
        try:
            if root.is_file():
                if root.suffix.lower() in PLAYLIST_SUFFIXES:
                    single = read_playlist_file(root, self.known)
                    return [single] if single else []
                _skip("library", root, "not a folder or playlist file")
                return []
            if not root.is_dir():
                if os.path.lexists(root):
                    _skip("library", root, "not a folder or playlist file")
                else:
                    log.info("playlist folder %s does not exist; skipped", root)
                return []
            real_root = os.path.realpath(root)
            with os.scandir(root) as entries:
                children = sorted((Path(e.path) for e in entries), key=lambda p: p.name)
        except (OSError, ValueError) as exc:
            _skip("library", root, f"cannot be read ({exc})")
            return []
        playlists: list[Playlist] = []
        if _direct_audio(root):
            tracks: list[Track] = []
            for path in _direct_audio(root):
                track, reason = _known_or_read(path, self.known)
                if track is None:
                    _skip(root, path.name, reason, "audio file")
                else:
                    tracks.append(track)
            if tracks:
                playlists.append(Playlist(root.name, tuple(tracks), root))
        folders: list[Playlist] = []
        files: list[Playlist] = []
        for child in children:
            try:
                is_dir = child.is_dir()
            except OSError:
                continue
            if is_dir:
                if child.is_symlink() and not _inside(os.path.realpath(child), real_root):
                    _skip(root, child.name, "a link out of the library folder is not followed")
                    continue
                playlist = read_folder(child, notes=self.notes, confine=real_root, known=self.known)
                if playlist is None:
                    _skip(root, child.name, "folder has no playable tracks")
                else:
                    folders.append(playlist)
            elif child.suffix.lower() in PLAYLIST_SUFFIXES:
                from_file = read_playlist_file(child, self.known)
                if from_file is not None:
                    files.append(from_file)
        return playlists + folders + files

    def names(self) -> list[str]:
        return list(self.playlists)

    def get(self, name: str) -> Playlist | None:
        return self.playlists.get(name)


def default_folders(extra_folders: Iterable[Path | str] = ()) -> list[Path]:
    """Shipped playlists, then the user's playlist folder, then the folders the user added."""
    return [paths.playlists_dir(), paths.user_playlists_dir(), *(Path(f) for f in extra_folders)]


def default_library(extra_folders: Iterable[Path | str] = ()) -> Library:
    """A ``Library`` over ``default_folders`` (not scanned yet: call ``.scan()``)."""
    return Library(default_folders(extra_folders))

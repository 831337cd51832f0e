"""The six smart mood playlists, built from the library database and the shipped tracks.

Each analysed track goes to the mood its energy/valence puts it in (``moods.REGIONS``), or the
mood its tag or mood-named folder says; the listener's choices come on top: *moved* to another
mood, *pinned* (kept where it is, first in the playlist, whatever a new analysis says) or
*excluded* (in no mood playlist). The shipped tracks keep their folder's mood, so the six
playlists play before any scan. The result is ordinary ``Playlist`` objects under the six mood
names, which the controller plays as it plays any playlist.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from app import paths
from app.breathing import breathe
from app.music import library, moods
from app.music.database import Choice, DatabaseError, LibraryDatabase, TrackRecord, default_path
from app.music.library import Playlist, Track, TrackPool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Placement:
    """Where one track sits, and why."""

    track: Track
    mood: str | None  # None: excluded
    source: str  # "audio", "tag", "folder", "shipped", "moved", "pinned" or "excluded"
    record: TrackRecord | None = None
    choice: Choice | None = None

    @property
    def pinned(self) -> bool:
        return self.choice is not None and self.choice.pinned

    def explain(self) -> str:
        return explain(self)


def _features_text(record: TrackRecord | None) -> str:
    if record is None or record.energy is None or record.valence is None:
        return ""
    parts = [f"energy {record.energy:.2f}", f"valence {record.valence:.2f}"]
    if record.tempo:
        parts.append(f"{record.tempo:.0f} BPM")
    return ", ".join(parts)


def explain(placement: Placement) -> str:
    """One line for people: "energy 0.82, valence 0.71, 128 BPM → upbeat"."""
    features = _features_text(placement.record)
    record = placement.record
    sound = ""
    if record is not None and record.energy is not None and record.valence is not None:
        sound = moods.mood_at(record.energy, record.valence)
    if placement.source == "excluded":
        return "you excluded it from the mood playlists"
    target = placement.mood or ""
    if placement.source == "pinned":
        return f"you pinned it to {target}" + (f" ({features})" if features else "")
    if placement.source == "moved":
        said = f"; its sound says {sound}: {features}" if features else ""
        return f"you moved it to {target}{said}"
    if placement.source == "tag" and record is not None:
        extra = f" ({features})" if features else ""
        return f"tagged mood {record.tag_mood!r} → {target}{extra}"
    if placement.source in ("folder", "shipped"):
        where = "shipped in" if placement.source == "shipped" else "in a folder named"
        extra = f" ({features})" if features else ""
        return f"{where} {target} → {target}{extra}"
    return f"{features} → {target}" if features else target


def _track(record: TrackRecord) -> Track:
    return Track(
        path=record.path,
        title=record.title or record.path.stem,
        artist=record.artist,
        album=record.album,
        duration=record.duration,
    )


def _place(
    track: Track, record: TrackRecord | None, choice: Choice | None, base: str | None, source: str
) -> Placement:
    if choice is not None and choice.excluded:
        return Placement(track, None, "excluded", record, choice)
    if choice is not None and choice.mood is not None:
        kind = "pinned" if choice.pinned else "moved"
        return Placement(track, choice.mood, kind, record, choice)
    if choice is not None and choice.pinned and base is not None:
        return Placement(track, base, "pinned", record, choice)
    return Placement(track, base, source, record, choice)


def _under(path: Path, prefixes: Sequence[str]) -> bool:
    text = str(path)
    return any(text == p.rstrip(os.sep) or text.startswith(p) for p in prefixes)


def placements(
    records: Iterable[TrackRecord],
    choices: Mapping[Path, Choice],
    roots: Sequence[Path] | None = None,
    shipped: Path | None = None,
) -> list[Placement]:
    """Every track's placement: analysed records under ``roots`` (all when None), then the
    shipped tracks under ``shipped`` that the records do not already hold."""
    return list(_placements(records, choices, roots, shipped))


def _placements(
    records: Iterable[TrackRecord],
    choices: Mapping[Path, Choice],
    roots: Sequence[Path] | None,
    shipped: Path | None,
    pool: TrackPool | None = None,
) -> Iterator[Placement]:
    pooled = pool.track if pool is not None else _same
    prefixes = None
    if roots is not None:
        prefixes = [os.path.abspath(r).rstrip(os.sep) + os.sep for r in roots]
        prefixes += [os.path.realpath(r).rstrip(os.sep) + os.sep for r in roots]
    seen: set[Path] = set()
    for record in records:
        if not record.analysed or record.mood is None:
            continue
        if prefixes is not None and not _under(record.path, prefixes):
            continue
        seen.add(record.path)
        yield _place(
            pooled(_track(record)),
            record,
            choices.get(record.path),
            record.mood,
            record.mood_source,
        )
    if shipped is not None:
        for mood in moods.MOODS:
            folder = shipped / mood
            if not folder.is_dir():
                continue
            playlist = library.read_folder(folder)
            for track in playlist.tracks if playlist is not None else ():
                path = Path(os.path.abspath(track.path))
                if path in seen or track.path in seen:
                    continue
                seen.add(path)
                yield _place(pooled(track), None, choices.get(path), mood, "shipped")


def _same(track: Track) -> Track:
    return track


def _order(placement: Placement) -> tuple[int, float, str]:
    record = placement.record
    fit = 0.5
    if record is not None and record.energy is not None and record.valence is not None:
        fit = moods.distance(placement.mood or "calm", record.energy, record.valence)
    return (0 if placement.pinned else 1, round(fit, 3), str(placement.track.path))


def _first(item: tuple[tuple[int, float, str], Track]) -> tuple[int, float, str]:
    return item[0]


def group(placed: Iterable[Placement]) -> dict[str, Playlist]:
    """The six mood playlists (pinned tracks first, then the best fits); empty moods left out.

    Consumes ``placed`` one at a time and keeps only each track and its sort key, so a 20,000-row
    read never holds 20,000 records and placements at once (fewer objects for the cyclic garbage
    collector's passes, which hold the GIL: docs/BENCHMARKS.md, "Library scan in the window")."""
    by_mood: dict[str, list[tuple[tuple[int, float, str], Track]]] = {m: [] for m in moods.MOODS}
    for placement in placed:
        breathe()
        if placement.mood in by_mood:
            by_mood[placement.mood].append((_order(placement), placement.track))
    return {
        mood: Playlist(mood, tuple(track for _key, track in sorted(items, key=_first)), None)
        for mood, items in by_mood.items()
        if items
    }


def build_mood_playlists(
    database: LibraryDatabase | None,
    roots: Sequence[Path] | None = None,
    shipped: Path | None = None,
    pool: TrackPool | None = None,
) -> dict[str, Playlist]:
    """The six mood playlists from ``database`` (tracks under ``roots``; all when None) and the
    shipped tracks (``shipped`` defaults to ``paths.playlists_dir()``); ``pool`` gives back the
    track objects of the last read where nothing changed."""
    shipped_dir = shipped if shipped is not None else paths.playlists_dir()
    if database is None:
        return group(_placements((), {}, roots, shipped_dir, pool))
    return group(_placements(database.tracks(), database.choices(), roots, shipped_dir, pool))


def with_mood_playlists(
    playlists: Mapping[str, Playlist], mood_playlists: Mapping[str, Playlist]
) -> dict[str, Playlist]:
    """The six mood playlists first, then every folder and file playlist under its own name
    (a folder named like a mood is already inside that mood's playlist)."""
    merged = dict(mood_playlists)
    for name, playlist in playlists.items():
        if name not in merged:
            merged[name] = playlist
    return merged


def mood_library(
    folders: Sequence[Path],
    database_path: Path | None = None,
    shipped: Path | None = None,
    pool: TrackPool | None = None,
) -> dict[str, Playlist]:
    """What the controller plays: the six mood playlists (from the library database, or the
    shipped tracks alone when there is none or it cannot be opened), then the folder and file
    playlists of ``folders`` (``library.Library`` rules). Reads the disk: call it off the GUI
    thread. Scanning new music into the database is ``scanner.scan_library``'s work."""
    return mood_library_with_notes(folders, database_path, shipped, pool).playlists


@dataclass(frozen=True)
class MoodLibrary:
    playlists: dict[str, Playlist]
    notes: tuple[str, ...]  # limits the folder read reached, for the listener


def mood_library_with_notes(
    folders: Sequence[Path],
    database_path: Path | None = None,
    shipped: Path | None = None,
    pool: TrackPool | None = None,
) -> MoodLibrary:
    """``mood_library`` and the folder read's notes. The smart playlists are read first; the
    folder playlists then take the tracks it made (no tag read again for a scanned file)."""
    pool = pool if pool is not None else TrackPool()
    db_file = database_path if database_path is not None else default_path()
    smart: dict[str, Playlist] | None = None
    if db_file.is_file():  # nothing scanned yet: the shipped moods (and no file is made)
        try:
            with LibraryDatabase(db_file) as database:
                smart = build_mood_playlists(database, folders, shipped, pool)
        except (DatabaseError, OSError) as exc:
            log.warning("library database not used: %s", exc)
    if smart is None:
        smart = build_mood_playlists(None, folders, shipped, pool)
    folder_library = library.Library(folders, pool=pool)
    folder_playlists = folder_library.scan()
    pool.done()
    return MoodLibrary(with_mood_playlists(folder_playlists, smart), tuple(folder_library.notes))


# -- the listener's choices --------------------------------------------------------------------


def placement_of(database: LibraryDatabase, path: Path, shipped: Path | None = None) -> Placement:
    """The placement of one track ("why is this track here?")."""
    record = database.track(path)
    choice = database.choice(path)
    if record is not None and record.analysed:
        return _place(_track(record), record, choice, record.mood, record.mood_source)
    mood = moods.mood_from_folder(path)
    source = "shipped" if shipped is not None and str(path).startswith(str(shipped)) else "folder"
    return _place(Track(path, path.stem), record, choice, mood, source)


def move(database: LibraryDatabase, path: Path, mood: str) -> None:
    """Put ``path`` in ``mood`` from now on (rescans keep it there)."""
    old = database.choice(path)
    database.set_choice(Choice(path, mood, old.pinned if old else False, False))


def pin(database: LibraryDatabase, path: Path, pinned: bool = True) -> None:
    """Keep ``path`` in the mood it is in now (first in that playlist), or release the pin."""
    old = database.choice(path) or Choice(path)
    mood = old.mood
    if pinned and mood is None:
        mood = placement_of(database, path).mood
    database.set_choice(Choice(path, mood if pinned else old.mood, pinned, old.excluded))


def exclude(database: LibraryDatabase, path: Path, excluded: bool = True) -> None:
    """Leave ``path`` out of every mood playlist (or take it back)."""
    old = database.choice(path) or Choice(path)
    database.set_choice(Choice(path, old.mood, old.pinned, excluded))


def forget_choice(database: LibraryDatabase, path: Path) -> None:
    """Back to where the analysis puts it."""
    database.set_choice(Choice(path))

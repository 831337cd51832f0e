"""Smart mood playlists: analysed tracks plus the shipped ones, with the listener's choices."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mood_music import bright_fast_major, dark_slow_minor, write_audio

from app import paths
from app.controller import Controller
from app.music import mood_playlists, moods
from app.music.audio import FakeOutput, ManualClock
from app.music.database import DatabaseError, LibraryDatabase
from app.music.library import Library, Playlist
from app.music.player import Player
from app.music.scanner import scan_library
from app.settings import Settings


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A scanned library: two bright and two dark tracks, Artist/Album layout."""
    base = tmp_path_factory.mktemp("smart")
    root = base / "music"
    for index, (name, samples) in enumerate(
        [("bright", bright_fast_major(6.0)), ("dark", dark_slow_minor(6.0))] * 2
    ):
        write_audio(root / f"Artist {index % 2}" / "Album" / f"{index} {name}.ogg", samples)
    db_path = base / "library.sqlite"
    assert scan_library([root], db_path).tracks == 4
    return root, db_path


def fresh(scanned: tuple[Path, Path], tmp_path: Path) -> tuple[Path, LibraryDatabase]:
    root, db_path = scanned
    copy = tmp_path / "library.sqlite"
    shutil.copy(db_path, copy)
    return root, LibraryDatabase(copy)


def test_tracks_go_where_their_features_put_them_and_shipped_keep_their_folder(
    scanned: tuple[Path, Path], tmp_path: Path
) -> None:
    root, db = fresh(scanned, tmp_path)
    with db:
        playlists = mood_playlists.build_mood_playlists(db, [root])
    assert set(playlists) == set(moods.MOODS)  # the shipped tracks fill every mood
    assert all(isinstance(p, Playlist) and p.name in moods.MOODS for p in playlists.values())
    mine = {
        t.path.name: name
        for name, p in playlists.items()
        for t in p.tracks
        if root in t.path.parents
    }
    assert len(mine) == 4
    assert {mine["0 bright.ogg"], mine["2 bright.ogg"]} <= {"upbeat", "energetic"}
    assert {mine["1 dark.ogg"], mine["3 dark.ogg"]} <= {"melancholy", "calm"}
    shipped = paths.playlists_dir()
    for mood in moods.MOODS:
        from_folder = {p.name for p in (shipped / mood).glob("*.ogg")}
        assert from_folder <= {t.path.name for t in playlists[mood].tracks}


def test_without_a_database_the_shipped_playlists_play() -> None:
    playlists = mood_playlists.build_mood_playlists(None)
    assert set(playlists) == set(moods.MOODS)
    assert all(len(p) == 3 for p in playlists.values())


def test_move_pin_exclude_survive_a_rescan(scanned: tuple[Path, Path], tmp_path: Path) -> None:
    root, db = fresh(scanned, tmp_path)
    bright = root / "Artist 0" / "Album" / "0 bright.ogg"
    dark = root / "Artist 1" / "Album" / "1 dark.ogg"
    other_dark = root / "Artist 1" / "Album" / "3 dark.ogg"
    with db:
        mood_playlists.move(db, bright, "calm")
        mood_playlists.exclude(db, dark)
        mood_playlists.pin(db, other_dark)
        pinned_mood = db.choice(other_dark).mood  # type: ignore[union-attr]
    scan_library([root], db.path)  # rescans keep the choices
    with LibraryDatabase(db.path) as db:
        playlists = mood_playlists.build_mood_playlists(db, [root])
        where = {t.path: name for name, p in playlists.items() for t in p.tracks}
        assert where[bright] == "calm"
        assert dark not in where
        assert where[other_dark] == pinned_mood
        assert playlists[pinned_mood].tracks[0].path == other_dark  # pinned first
        assert mood_playlists.placement_of(db, bright).explain().startswith("you moved it to calm")
        assert mood_playlists.placement_of(db, dark).explain() == (
            "you excluded it from the mood playlists"
        )
        mood_playlists.forget_choice(db, bright)
        assert mood_playlists.placement_of(db, bright).source == "audio"


def test_the_explanation_names_the_features(scanned: tuple[Path, Path], tmp_path: Path) -> None:
    root, db = fresh(scanned, tmp_path)
    with db:
        placement = mood_playlists.placement_of(db, root / "Artist 0" / "Album" / "0 bright.ogg")
    record = placement.record
    assert record is not None and record.energy is not None and record.valence is not None
    text = placement.explain()
    assert text == (
        f"energy {record.energy:.2f}, valence {record.valence:.2f}, {record.tempo:.0f} BPM"
        f" → {placement.mood}"
    )


def test_the_controller_plays_them_without_mapping(
    scanned: tuple[Path, Path], tmp_path: Path
) -> None:
    root, db = fresh(scanned, tmp_path)
    with db:
        smart = mood_playlists.build_mood_playlists(db, [root])
    folders = Library([root]).scan()
    merged = mood_playlists.with_mood_playlists(folders, smart)
    assert list(merged)[:6] == list(smart)
    assert "Artist 0" in merged  # folder playlists still there, mappable by hand
    clock = ManualClock()
    controller = Controller(Player(FakeOutput(clock), clock=clock), merged, Settings(), clock=clock)
    controller.on_mood("happy", clock())
    controller.tick(clock())
    name = controller.playlist_name
    assert name in moods.MOODS
    assert controller.player.playlist is smart[name]


def test_mood_library_is_one_call_for_the_session(
    scanned: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, db = fresh(scanned, tmp_path)
    db.close()
    merged = mood_playlists.mood_library([paths.playlists_dir(), root], db.path)
    assert list(merged)[:6] == list(moods.MOODS)
    assert {"Artist 0", "Artist 1"} <= set(merged)
    assert sum(len(merged[m]) for m in moods.MOODS) == 18 + 4

    def unusable(path: object = None) -> None:
        raise DatabaseError("cannot open the library database: disk on fire")

    missing = tmp_path / "never-scanned.sqlite"
    alone = mood_playlists.mood_library([root], missing)
    assert sum(len(alone[m]) for m in moods.MOODS) == 18 and not missing.exists()
    monkeypatch.setattr(mood_playlists, "LibraryDatabase", unusable)
    fallback = mood_playlists.mood_library([root], db.path)  # the shipped moods still play
    assert sum(len(fallback[m]) for m in moods.MOODS) == 18
    assert {"Artist 0", "Artist 1"} <= set(fallback)


def test_one_track_object_per_file_across_reads_and_no_tag_read_for_a_scanned_file(
    scanned: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder playlists take the smart playlists' track objects, and a second read gives
    back the first read's objects where nothing changed: what keeps a 20,000-track library's
    rebuilds from adding objects for the garbage collector (docs/BENCHMARKS.md)."""
    from app.music import library

    root, db = fresh(scanned, tmp_path)
    db.close()
    tag_reads: list[Path] = []
    real_read = library.read_track

    def counting(path: Path, title_hint: str = "") -> tuple[object, str]:
        tag_reads.append(path)
        return real_read(path, title_hint)

    monkeypatch.setattr(library, "read_track", counting)
    frozen: list[int] = []
    pool = library.TrackPool(on_new=lambda: frozen.append(1), every=2)
    first = mood_playlists.mood_library([root], db.path, pool=pool)
    assert not [p for p in tag_reads if root in p.parents]  # the database had them all
    smart = {t.path: t for m in moods.MOODS if m in first for t in first[m].tracks}
    folder = [t for name in ("Artist 0", "Artist 1") for t in first[name].tracks]
    assert len(folder) == 4 and all(t is smart[t.path] for t in folder)
    assert len(frozen) == len(smart) // 2  # on_new after every 2 new tracks
    second = mood_playlists.mood_library([root], db.path, pool=pool)
    again = {t.path: t for m in moods.MOODS if m in second for t in second[m].tracks}
    assert again.keys() == smart.keys() and all(again[p] is smart[p] for p in smart)
    assert len(frozen) == len(smart) // 2  # nothing new the second time
    # a moved track is still the same object, in its new playlist
    path = folder[0].path
    with LibraryDatabase(db.path) as writable:
        mood_playlists.move(writable, path, "intense")
    third = mood_playlists.mood_library([root], db.path, pool=pool)
    [moved] = [t for t in third["intense"].tracks if t.path == path]
    assert moved is smart[path]

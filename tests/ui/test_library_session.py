"""The window's library: Auto plays the smart mood playlists of a real, scanned library.

A tmp Artist/Album tree of generated music (fast, bright major vs slow, dark minor) is in the
settings' playlist folders; ``build_session`` starts a background scan into the (private)
library database, shows its progress, and when it ends the six mood playlists hold the
listener's tracks -- no mapping work.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMenu

from app.music import mood_playlists
from app.music.audio import FakeOutput
from app.music.database import LibraryDatabase, default_path
from app.music.moods import MOODS
from app.settings import Settings
from app.ui.session import build_session
from tests.music.mood_music import bright_fast_major, dark_slow_minor, write_audio


def make_tree(root: Path) -> dict[str, Path]:
    files = {
        "bright": root / "Sunny Band" / "Morning" / "01 Up.flac",
        "bright2": root / "Sunny Band" / "Morning" / "02 Upper.ogg",
        "dark": root / "Grey Quartet" / "Night" / "01 Down.wav",
        "dark2": root / "Grey Quartet" / "Night" / "02 Lower.opus",
    }
    for name, path in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        samples = bright_fast_major(8.0) if name.startswith("bright") else dark_slow_minor(8.0)
        write_audio(path, samples)
    return files


def test_the_window_scans_the_library_and_auto_plays_it_by_mood(qtbot, tmp_path) -> None:
    files = make_tree(tmp_path / "Music")
    settings = Settings()
    settings.music.playlist_folders = [str(tmp_path / "Music")]
    session = build_session(
        settings, tmp_path / "settings.toml", no_camera=True, output=FakeOutput()
    )
    try:
        # before the scan: the shipped tracks only, and nothing of the user's folder was read
        names = set(session.controller.playlist_names())
        assert {"calm", "upbeat"} <= names and "Sunny Band" not in names
        seen: list[str] = []
        session.ticked.connect(
            lambda: seen.append(session.view().scan.text()) if session.view().scan else None
        )
        notices: list[str] = []
        session.notice.connect(notices.append)
        session.start()
        assert session.scanning
        qtbot.waitUntil(lambda: not session.scanning, timeout=60000)
        moods = ("calm", "gentle", "upbeat", "energetic", "melancholy", "intense")

        def mood_of() -> dict[Path, str]:
            playlists = session.controller._playlists
            return {t.path: m for m in moods if m in playlists for t in playlists[m].tracks}

        qtbot.waitUntil(lambda: files["bright"] in mood_of(), timeout=10000)
        assert any("Library ready: 4 tracks" in n for n in notices), notices
        placed = mood_of()
        assert placed[files["bright"]] in ("upbeat", "energetic")
        assert placed[files["bright2"]] in ("upbeat", "energetic")
        assert placed[files["dark"]] in ("melancholy", "calm")
        assert placed[files["dark2"]] in ("melancholy", "calm")
        assert seen and seen[0].startswith(("Looking for music", "Listening to your library"))
        playlists = session.controller._playlists
        folder_names = set(playlists) - set(moods)
        assert {"Sunny Band", "Grey Quartet"} <= folder_names or "Morning" in folder_names
        # the loudness the scan measured is what the engine's levelling would read
        db = LibraryDatabase(session.database_path)
        with db:
            assert db.loudness(files["dark"]) is not None
            assert mood_playlists.placement_of(db, files["bright"]).source == "audio"
        # a second start analyses nothing new and says nothing
        session.stop()
        again = build_session(
            settings, tmp_path / "settings.toml", no_camera=True, output=FakeOutput()
        )
        quiet: list[str] = []
        again.notice.connect(quiet.append)
        again.start()
        qtbot.waitUntil(lambda: not again.scanning, timeout=30000)
        assert not [n for n in quiet if "new" in n], quiet
        again.stop()
    finally:
        session.stop()


def test_why_this_track_is_here_and_moving_it_through_the_window(qtbot, tmp_path) -> None:
    from app.music import scanner
    from app.music.database import default_path
    from app.ui.main_window import MainWindow

    root = tmp_path / "Music"
    bright = root / "Sunny Band" / "Morning" / "01 Up.flac"
    bright.parent.mkdir(parents=True)
    write_audio(bright, bright_fast_major(6.0))
    scanner.scan_library([root], default_path())  # a real database, as `library scan` makes
    settings = Settings()
    settings.music.playlist_folders = [str(root)]
    session = build_session(
        settings, tmp_path / "settings.toml", no_camera=True, output=FakeOutput()
    )
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.show()
    session.start()
    try:
        with db_open() as db:
            mood = mood_playlists.placement_of(db, bright).mood
        assert mood in ("upbeat", "energetic")
        qtbot.waitUntil(
            lambda: (
                mood in session.controller._playlists
                and bright in [t.path for t in session.controller._playlists[mood].tracks]
            ),
            timeout=15000,
        )
        session.controller.select(mood)
        session.poll()
        window.refresh()
        index = [t.path for t in session.view().tracks].index(bright)
        window.track_list.setCurrentItem(window.track_list.topLevelItem(index))
        qtbot.waitUntil(lambda: "Why here" in window.track_details.text(), timeout=5000)
        details = window.track_details.text()
        assert "energy 0." in details and "valence 0." in details and "BPM" in details
        assert mood in details
        # the context menu: the mood it is in is checked; move it to "calm"
        menu = window.track_list.build_menu(index)
        move = menu.findChild(QMenu, "move")
        checked = [a.objectName() for a in move.actions() if a.isChecked()]
        assert checked == [f"move:{mood}"]
        # it plays (the listener double-clicked it), and the music must go on through the move
        window.track_list.track_requested.emit(index)
        player, output = session.player, session.output
        assert player.current is not None and player.current.path == bright
        calls = len(output.calls)
        [to_calm] = [a for a in move.actions() if a.objectName() == "move:calm"]
        to_calm.trigger()
        qtbot.waitUntil(lambda: "you moved it to calm" in window.track_details.text(), timeout=5000)
        qtbot.waitUntil(
            lambda: bright in [t.path for t in session.controller._playlists["calm"].tracks],
            timeout=10000,
        )
        # the playlist that plays was refreshed at once: the moved track leaves it once it has
        # ended (it plays on meanwhile); no stop, no reload, no restart
        assert player.playlist.name == mood and player.current.path == bright
        assert player.playlist.tracks != session.controller._playlists[mood].tracks
        assert [c for c in output.calls[calls:] if c[0] in ("stop", "load", "play")] == []
        player.next()
        session.poll()
        assert bright not in [t.path for t in player.playlist.tracks]
        assert player.playlist.tracks == session.controller._playlists[mood].tracks
        # stored in the database: a rescan keeps it, and so does a fresh read
        scanner.scan_library([root], default_path())
        with db_open() as db:
            placed = mood_playlists.placement_of(db, bright)
        assert placed.mood == "calm" and placed.source == "moved"
        # exclude it (from "calm", where it is now): in no mood playlist any more
        session.controller.select("calm")
        session.poll()
        window.refresh()
        index = [t.path for t in session.view().tracks].index(bright)
        menu = window.track_list.build_menu(index)
        [exclude] = [a for a in menu.actions() if a.objectName() == "exclude"]
        exclude.trigger()
        qtbot.waitUntil(lambda: "excluded" in window.track_details.text(), timeout=5000)
        qtbot.waitUntil(
            lambda: all(
                bright not in [t.path for t in session.controller._playlists[m].tracks]
                for m in MOODS
                if m in session.controller._playlists
            ),
            timeout=10000,
        )
    finally:
        session.stop()


def db_open() -> LibraryDatabase:
    from app.music.database import default_path

    return LibraryDatabase(default_path())


def test_a_folder_over_the_limit_is_said_in_the_status_bar(qtbot, tmp_path, monkeypatch) -> None:
    from app.music import library
    from app.ui.main_window import MainWindow

    monkeypatch.setattr(library, "MAX_FOLDER_FILES", 3)
    root = tmp_path / "Music"
    album = root / "Big" / "Box"
    album.mkdir(parents=True)
    for i in range(6):
        write_audio(album / f"{i:02d}.wav", dark_slow_minor(1.0))
    settings = Settings()
    settings.music.playlist_folders = [str(root)]
    session = build_session(
        settings, tmp_path / "settings.toml", no_camera=True, output=FakeOutput()
    )
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.show()
    session.start()
    try:
        qtbot.waitUntil(
            lambda: "more than 3 files" in window.statusBar().currentMessage(), timeout=20000
        )
    finally:
        session.stop()


def test_a_scanned_track_is_in_its_mood_playlist_and_folders_still_play(
    qtbot, tmp_path: Path
) -> None:
    """(The session helper's test, with the library read after start-up, off the GUI thread.)"""
    from app.music.scanner import scan_library

    root = tmp_path / "Music"
    track = write_audio(root / "Band" / "Album" / "01 go.flac", bright_fast_major(6.0))
    settings = Settings()
    settings.music.playlist_folders = [str(root)]
    before = build_session(settings, None, no_camera=True, output=FakeOutput())
    assert "Band" not in before.library  # nothing of the listener's is read before start()
    before.core.scan_factory = lambda *_args: None  # the read alone, no background scan
    before.start()
    try:
        qtbot.waitUntil(lambda: "Band" in before.library, timeout=10000)
    finally:
        before.stop()
    assert not default_path().exists()  # reading the library creates no database
    assert set(MOODS) <= set(before.library)
    assert all(track not in {t.path for t in before.library[m].tracks} for m in MOODS)
    assert scan_library([root]).tracks == 1
    session = build_session(settings, None, no_camera=True, output=FakeOutput())
    session.start()
    try:
        qtbot.waitUntil(
            lambda: any(track in {t.path for t in session.library[m].tracks} for m in MOODS),
            timeout=20000,
        )
    finally:
        session.stop()
    library = session.library
    assert isinstance(library, dict)
    moods_with_it = [m for m in MOODS if track in {t.path for t in library[m].tracks}]
    assert moods_with_it and moods_with_it[0] in ("upbeat", "energetic")
    assert list(library)[:6] == list(MOODS)

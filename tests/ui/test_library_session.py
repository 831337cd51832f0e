"""The window's session plays the smart mood playlists from the library database."""

from __future__ import annotations

from pathlib import Path

from app.music.audio import FakeOutput
from app.music.database import default_path
from app.music.moods import MOODS
from app.music.scanner import scan_library
from app.settings import Settings
from app.ui.session import build_session
from tests.music.mood_music import bright_fast_major, write_audio


def test_a_scanned_track_is_in_its_mood_playlist_and_folders_still_play(
    qtbot, tmp_path: Path
) -> None:
    root = tmp_path / "Music"
    track = write_audio(root / "Band" / "Album" / "01 go.flac", bright_fast_major(6.0))
    settings = Settings()
    settings.music.playlist_folders = [str(root)]
    before = build_session(settings, None, no_camera=True, output=FakeOutput())
    assert not default_path().exists()  # starting the window creates no database
    assert set(MOODS) <= set(before.library)
    assert "Band" in before.library  # the folder playlist, mappable by hand
    assert all(track not in {t.path for t in before.library[m].tracks} for m in MOODS)
    assert scan_library([root]).tracks == 1
    session = build_session(settings, None, no_camera=True, output=FakeOutput())
    library = session.library
    assert isinstance(library, dict)
    moods_with_it = [m for m in MOODS if track in {t.path for t in library[m].tracks}]
    assert moods_with_it and moods_with_it[0] in ("upbeat", "energetic")
    assert list(library)[:6] == list(MOODS)

"""Settings act at once on the current mood, and the session keeps a resume point (issue 15)."""

from __future__ import annotations

from pathlib import Path

from app.music.library import Playlist, Track
from app.session import RESUME_STEP_S
from app.settings import Settings
from tests.test_session import HeldTasks, Rig, playlists


def _edited(rig: Rig) -> Settings:
    """A copy of the session's settings, as the settings dialog hands it back."""
    import copy

    return copy.deepcopy(rig.session.settings)


def test_a_changed_mapping_plays_the_current_moods_new_playlist_at_once() -> None:
    rig = Rig()
    rig.start()
    rig.show("happy", 4.0)
    assert rig.player.playlist.name == "upbeat"
    new = _edited(rig)
    new.music.mapping = {"happy": "intense"}
    rig.session.apply_settings(new)  # no new mood: the music changes all the same
    rig.clock.advance(2.0)  # the fade
    rig.session.poll()
    assert rig.player.playlist.name == "intense"
    assert rig.session.view().reason == "Happy → Intense (your mapping)"
    newer = _edited(rig)
    newer.music.mapping = {}
    newer.music.strategy = "match"
    rig.session.apply_settings(newer)
    rig.clock.advance(2.0)
    rig.session.poll()
    assert rig.player.playlist.name == "upbeat"  # match: happy -> upbeat
    assert rig.session.view().reason == "Happy → Upbeat (match strategy)"
    rig.session.stop()


def test_a_changed_mapping_with_track_end_waits_and_the_reason_says_so() -> None:
    settings = Settings()
    settings.music.switch = "track_end"
    rig = Rig(settings)
    rig.start()
    rig.show("sad", 4.0)
    assert rig.session.view().pending == "upbeat"
    new = _edited(rig)
    new.music.mapping = {"sad": "melancholy"}
    rig.session.apply_settings(new)
    view = rig.session.view()
    assert view.pending == "melancholy" and view.playlist == "calm"
    assert view.reason == "Sad → Melancholy when this track ends (Calm until then)"
    rig.session.stop()


def test_a_new_folder_the_mood_maps_to_plays_once_scanned() -> None:
    held = HeldTasks()
    road = Playlist("road trip", (Track(Path("/music/road/1.ogg"), "Road 1", duration=200.0),))

    def scan(settings: Settings) -> dict[str, Playlist]:
        found = playlists()
        if settings.music.playlist_folders:
            found["road trip"] = road
        return found

    settings = Settings()
    settings.music.mapping = {"happy": "road trip"}  # mapped before the folder was added
    rig = Rig(settings, library_factory=scan, run_task=held)
    rig.session.start()
    held.finish(0)  # the model
    rig.session.poll()
    rig.show("happy", 4.0)
    assert rig.player.playlist.name == "calm"  # the playlist is not there: calm plays on
    assert "missing" in rig.session.view().reason
    new = _edited(rig)
    new.music.playlist_folders = ["/music/road"]
    rig.session.apply_settings(new)
    held.finish(1)  # the scan
    rig.clock.advance(2.0)
    rig.session.poll()
    assert rig.player.playlist.name == "road trip"
    assert rig.session.view().reason == "Happy → Road trip (your mapping)"
    rig.session.stop()


def test_remember_state_keeps_the_resume_point_in_steps() -> None:
    rig = Rig()
    rig.start()
    rig.player.next()
    rig.clock.advance(12.3)
    rig.session.poll()
    rig.session.remember_state()
    window = rig.settings.window
    assert window.resume_playlist == "calm"
    assert window.resume_track == str(Path("/music/calm/1.ogg"))
    assert window.resume_position == 2 * RESUME_STEP_S  # 12.3 s kept as 10 s
    rig.clock.advance(1.0)
    rig.session.poll()
    before = window.resume_position
    rig.session.remember_state()
    assert window.resume_position == before  # within the step: nothing new to save
    rig.session.stop()

"""Controller on FakeOutput with a manual clock: moods, overrides, switch modes, resume points."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from app.controller import Controller, ControlMode
from app.errors import UserError
from app.music.audio import FakeOutput, ManualClock
from app.music.library import Playlist, Track
from app.music.player import Player, PlayerState
from app.settings import DEFAULT_PLAYLISTS, Settings

NAMES = DEFAULT_PLAYLISTS  # calm gentle upbeat energetic melancholy intense


def library(duration: float = 30.0, count: int = 3) -> dict[str, Playlist]:
    return {
        name: Playlist(
            name,
            tuple(
                Track(Path(f"/m/{name}/{i}.ogg"), f"{name}{i}", duration=duration)
                for i in range(count)
            ),
        )
        for name in NAMES
    }


def rig(
    settings: Settings | None = None,
    playlists: dict[str, Playlist] | None = None,
    min_switch_s: float = 0.0,
):
    """``min_switch_s``: the pacing (0 here, so tests of the mapping see every switch)."""
    clock = ManualClock(10.0)
    out = FakeOutput(clock=clock, default_duration=30.0)
    player = Player(out, clock=clock, rng=random.Random(1))
    settings = settings or Settings()
    settings.music.min_switch_s = min_switch_s
    ctl = Controller(player, playlists or library(), settings, clock=clock)
    return clock, out, player, ctl


def run(clock: ManualClock, ctl: Controller, seconds: float) -> None:
    for _ in range(round(seconds / 0.25)):
        clock.advance(0.25)
        ctl.tick()


def folder(out: FakeOutput) -> str | None:
    return out.loaded.parent.name if out.loaded else None


def test_auto_starts_with_the_neutral_playlist_and_follows_moods() -> None:
    clock, out, _player, ctl = rig()
    ctl.tick()
    assert ctl.mode is ControlMode.AUTO and ctl.mood is None
    assert ctl.playlist_name == "calm" and folder(out) == "calm"  # lift: neutral -> calm
    ctl.on_mood("sad", clock())
    run(clock, ctl, 2.0)  # fade 1.5 s, then the new playlist
    assert ctl.playlist_name == "upbeat" and folder(out) == "upbeat"
    assert ("fadeout", 1500) in out.calls
    ctl.on_mood("angry", clock())
    run(clock, ctl, 2.0)
    assert folder(out) == "calm"


def test_match_strategy_and_user_edits_choose_the_playlist() -> None:
    settings = Settings()
    settings.music.strategy = "match"
    settings.music.mapping = {"happy": "intense"}
    settings.music.fade_s = 0.0
    clock, out, _player, ctl = rig(settings)
    ctl.start()
    ctl.on_mood("sad", clock())
    assert folder(out) == "melancholy"
    ctl.on_mood("happy", clock())
    assert folder(out) == "intense"


def test_mood_to_missing_playlist_keeps_the_current_one() -> None:
    settings = Settings()
    settings.music.mapping = {"fear": "no such list"}
    settings.music.fade_s = 0.0
    clock, _out, player, ctl = rig(settings)
    ctl.start()
    ctl.on_mood("happy", clock())
    ctl.on_mood("fear", clock())
    assert ctl.playlist_name == "upbeat" and player.state is PlayerState.PLAYING
    assert ctl.mood == "fear"


def test_switch_at_track_end_waits_for_the_track() -> None:
    settings = Settings()
    settings.music.switch = "track_end"
    clock, out, player, ctl = rig(settings)
    ctl.start()
    run(clock, ctl, 20.0)
    ctl.on_mood("surprise", clock())
    assert ctl.pending == "energetic" and folder(out) == "calm"
    run(clock, ctl, 9.0)
    assert folder(out) == "calm"
    run(clock, ctl, 1.5)  # the 30 s track ends: the switch happens, without a fade
    assert folder(out) == "energetic" and ctl.pending is None
    assert player.state is PlayerState.PLAYING
    # Coming back to calm resumes at the track after the one that finished.
    ctl.on_mood("neutral", clock())
    run(clock, ctl, 31.0)
    assert folder(out) == "calm" and player.index == 1


def test_manual_override_ignores_moods_until_auto() -> None:
    settings = Settings()
    settings.music.fade_s = 0.0
    clock, out, _player, ctl = rig(settings)
    ctl.start()
    ctl.select("intense")
    assert ctl.mode is ControlMode.MANUAL and folder(out) == "intense"
    assert settings.window.last_selection == "intense"
    ctl.on_mood("happy", clock())
    assert folder(out) == "intense" and ctl.mood == "happy"
    ctl.set_auto()
    assert ctl.mode is ControlMode.AUTO and folder(out) == "upbeat"
    assert settings.window.last_selection == "Auto"
    with pytest.raises(UserError):
        ctl.select("nope")


def test_next_and_previous_playlist_cycle_in_order() -> None:
    settings = Settings()
    settings.music.fade_s = 0.0
    _clock, _out, _player, ctl = rig(settings)
    assert ctl.playlist_names() == list(NAMES)
    ctl.start()  # calm
    ctl.next_playlist()
    assert ctl.playlist_name == "gentle" and ctl.mode is ControlMode.MANUAL
    ctl.previous_playlist()
    ctl.previous_playlist()
    assert ctl.playlist_name == "intense"


def test_coming_back_to_a_playlist_resumes_track_and_position() -> None:
    settings = Settings()
    settings.music.fade_s = 0.0
    clock, out, player, ctl = rig(settings)
    ctl.start()
    player.next()
    run(clock, ctl, 12.0)
    ctl.on_mood("happy", clock())
    assert folder(out) == "upbeat"
    assert ctl.resume_point("calm") == (1, pytest.approx(12.0))
    run(clock, ctl, 5.0)
    ctl.on_mood("neutral", clock())
    assert folder(out) == "calm" and player.index == 1
    assert out.calls[-1] == ("play", pytest.approx(12.0), 0)
    assert ctl.resume_point("upbeat") == (0, pytest.approx(5.0))


def test_start_restores_the_last_manual_selection() -> None:
    settings = Settings()
    settings.window.last_selection = "melancholy"
    _clock, out, _player, ctl = rig(settings)
    ctl.tick()
    assert ctl.mode is ControlMode.MANUAL and folder(out) == "melancholy"


def test_settings_volume_repeat_shuffle_reach_the_player() -> None:
    settings = Settings()
    settings.music.volume = 0.3
    settings.music.repeat = "one"
    settings.music.shuffle = True
    _clock, out, player, _ctl = rig(settings)
    assert out.volume == 0.3 and player.repeat.value == "one" and player.shuffle


def test_no_playlists_at_all_is_quiet_not_a_crash() -> None:
    clock = ManualClock()
    out = FakeOutput(clock=clock)
    player = Player(out, clock=clock)
    ctl = Controller(player, {}, Settings(), clock=clock)
    ctl.tick()
    ctl.on_mood("happy", clock())
    assert ctl.playlist_name is None and player.state is PlayerState.STOPPED


def test_a_mood_change_while_paused_does_not_start_the_music() -> None:
    settings = Settings()
    settings.music.fade_s = 1.0
    clock, out, player, ctl = rig(settings)
    ctl.start()
    player.pause()
    ctl.on_mood("happy", clock())
    assert ctl.playlist_name == "upbeat" and player.state is not PlayerState.PLAYING
    assert out.names()[-1] != "play"
    player.play()
    assert folder(out) == "upbeat" and player.state is PlayerState.PLAYING


def test_pending_switch_is_dropped_by_a_manual_choice_or_a_mood_that_returns() -> None:
    settings = Settings()
    settings.music.switch = "track_end"
    clock, out, player, ctl = rig(settings)
    ctl.start()
    ctl.on_mood("happy", clock())
    assert ctl.pending == "upbeat"
    ctl.on_mood("neutral", clock())  # back to calm's mood: nothing to switch any more
    assert ctl.pending is None
    ctl.on_mood("happy", clock())
    ctl.select("gentle")
    assert ctl.pending is None
    run(clock, ctl, 33.0)  # fade + the 30 s track: MANUAL goes on within gentle
    assert folder(out) == "gentle" and player.index == 1


def test_apply_settings_after_an_edit() -> None:
    settings = Settings()
    _clock, out, player, ctl = rig(settings)
    settings.music.muted = True
    settings.music.repeat = "off"
    ctl.apply_settings()
    assert out.volume == 0.0 and player.repeat.value == "off"


def test_restore_resumes_the_playlist_track_and_position_of_the_last_run() -> None:
    settings = Settings()  # Auto: the restored playlist plays until a mood is seen
    clock, out, player, ctl = rig(settings)
    assert ctl.restore("energetic", "/m/energetic/2.ogg", 12.5)
    ctl.tick()
    assert ctl.mode is ControlMode.AUTO and folder(out) == "energetic"
    assert player.index == 2 and out.calls[-1] == ("play", pytest.approx(12.5), 0)
    ctl.on_mood("sad", clock())  # the first mood takes over as usual
    run(clock, ctl, 2.0)
    assert folder(out) == "upbeat"


def test_restore_with_a_manual_selection_and_with_things_that_are_gone() -> None:
    settings = Settings()
    settings.window.last_selection = "gentle"
    _clock, out, player, ctl = rig(settings)
    assert ctl.restore("gentle", "/m/gentle/1.ogg", 7.0)
    ctl.tick()
    assert ctl.mode is ControlMode.MANUAL and folder(out) == "gentle" and player.index == 1
    assert out.calls[-1] == ("play", pytest.approx(7.0), 0)
    # a playlist that is gone: nothing restored; a track that is gone: its playlist from the top
    _clock, out, player, ctl = rig(Settings())
    assert not ctl.restore("no such list", "/m/x.ogg", 3.0)
    assert ctl.restore("intense", "/m/intense/deleted.ogg", 50.0)
    ctl.tick()
    assert folder(out) == "intense" and player.index == 0
    assert out.calls[-1] == ("play", 0.0, 0)


def test_a_changed_mapping_acts_on_the_current_mood_at_once() -> None:
    settings = Settings()
    settings.music.fade_s = 0.0
    clock, out, _player, ctl = rig(settings)
    ctl.start()
    ctl.on_mood("happy", clock())
    assert folder(out) == "upbeat"
    settings.music.mapping = {"happy": "intense"}  # the listener edits the mapping
    ctl.settings_changed()
    assert folder(out) == "intense"
    settings.music.strategy = "match"  # the strategy alone: happy is still mapped by hand
    settings.music.mapping = {}
    ctl.settings_changed()
    assert folder(out) == "upbeat"  # match: happy -> upbeat
    ctl.select("calm")
    settings.music.mapping = {"happy": "gentle"}
    ctl.settings_changed()  # a manual choice is not overridden
    assert folder(out) == "calm"


def test_a_changed_mapping_waits_for_the_track_end_when_the_listener_asked_so() -> None:
    settings = Settings()
    settings.music.switch = "track_end"
    clock, out, _player, ctl = rig(settings)
    ctl.start()
    run(clock, ctl, 5.0)
    settings.music.mapping = {"neutral": "gentle"}
    ctl.settings_changed()  # no mood yet: neutral's playlist is what Auto plays
    run(clock, ctl, 2.0)  # the fade
    assert folder(out) == "gentle"
    ctl.on_mood("happy", clock())
    assert ctl.pending == "upbeat"
    settings.music.mapping = {"neutral": "gentle", "happy": "energetic"}
    ctl.settings_changed()
    assert ctl.pending == "energetic" and folder(out) == "gentle"
    settings.music.mapping = {"neutral": "gentle", "happy": "gentle"}
    ctl.settings_changed()
    assert ctl.pending is None


def test_resume_state_is_what_plays_now() -> None:
    clock, _out, player, ctl = rig()
    assert ctl.resume_state() is None
    ctl.start()
    player.next()
    run(clock, ctl, 4.0)
    name, track, position = ctl.resume_state()
    assert (name, track) == ("calm", "/m/calm/1.ogg") and position == pytest.approx(4.0)


# ---- pacing ----------------------------------------------------------------------------------


def test_a_flickering_face_switches_at_most_once_a_minute() -> None:
    """Two faces alternating every 2.5 s for 90 s (36 mood changes): at most 2 switches."""
    clock, _out, player, ctl = rig(playlists=library(duration=400.0), min_switch_s=60.0)
    ctl.tick()
    switches: list[tuple[float, str | None]] = []
    last = ctl.playlist_name
    start = clock()
    mood_changes = 0
    while clock() - start < 90.0:
        mood = "happy" if int((clock() - start) / 2.5) % 2 == 0 else "angry"
        if mood != ctl.mood:
            ctl.on_mood(mood, clock())
            mood_changes += 1
        clock.advance(0.25)
        ctl.tick()
        if ctl.playlist_name != last:
            last = ctl.playlist_name
            switches.append((clock() - start, last))
    assert mood_changes >= 30
    assert 1 <= len(switches) <= 2, switches
    if len(switches) == 2:
        assert switches[1][0] - switches[0][0] >= 60.0 - 0.26
    assert player.state is PlayerState.PLAYING


def test_without_pacing_the_same_flicker_thrashes() -> None:
    """The same script with pacing off switches at nearly every change (the test can fail)."""
    clock, _out, _player, ctl = rig(playlists=library(duration=400.0), min_switch_s=0.0)
    ctl.tick()
    switches = 0
    last = ctl.playlist_name
    start = clock()
    while clock() - start < 90.0:
        mood = "happy" if int((clock() - start) / 2.5) % 2 == 0 else "angry"
        if mood != ctl.mood:
            ctl.on_mood(mood, clock())
        clock.advance(0.25)
        ctl.tick()
        if ctl.playlist_name != last:
            last = ctl.playlist_name
            switches += 1
    assert switches > 10


def test_a_waiting_switch_happens_at_its_time_and_says_when() -> None:
    clock, _out, _player, ctl = rig(playlists=library(duration=400.0), min_switch_s=60.0)
    ctl.tick()
    ctl.on_mood("sad", clock())  # lift: sad -> upbeat, the first switch is at once
    run(clock, ctl, 2.0)
    assert ctl.playlist_name == "upbeat" and ctl.pending is None
    switched = clock() - 2.0
    run(clock, ctl, 10.0)
    ctl.on_mood("angry", clock())  # -> calm, but only 12 s after the last switch
    assert ctl.pending == "calm" and ctl.pending_at == pytest.approx(switched + 60.0)
    assert ctl.playlist_name == "upbeat"
    run(clock, ctl, 40.0)
    assert ctl.playlist_name == "upbeat" and ctl.pending == "calm"
    run(clock, ctl, 10.0)  # past the 60 s
    assert ctl.playlist_name == "calm" and ctl.pending is None and ctl.pending_at is None


def test_a_mood_that_returns_while_waiting_drops_the_switch() -> None:
    clock, _out, _player, ctl = rig(playlists=library(duration=400.0), min_switch_s=60.0)
    ctl.tick()
    ctl.on_mood("sad", clock())
    run(clock, ctl, 5.0)
    ctl.on_mood("angry", clock())
    assert ctl.pending == "calm"
    ctl.on_mood("sad", clock())  # back to what plays
    assert ctl.pending is None
    run(clock, ctl, 80.0)
    assert ctl.playlist_name == "upbeat"


def test_the_listeners_choice_never_waits() -> None:
    clock, _out, _player, ctl = rig(playlists=library(duration=400.0), min_switch_s=60.0)
    ctl.tick()
    ctl.on_mood("sad", clock())
    run(clock, ctl, 2.0)
    ctl.select("intense")
    run(clock, ctl, 2.0)
    assert ctl.playlist_name == "intense"
    ctl.set_auto()
    run(clock, ctl, 2.0)
    assert ctl.playlist_name == "upbeat"


def test_a_library_that_arrives_late_starts_auto() -> None:
    _clock, _out, player, ctl = rig(playlists={"x": Playlist("x", ())}, min_switch_s=60.0)
    ctl.set_library({})
    ctl.tick()
    assert ctl.playlist_name is None
    ctl.set_library(library())
    assert ctl.playlist_name == "calm" and player.state is PlayerState.PLAYING


def test_a_chosen_playlist_of_the_library_that_arrives_late_is_played() -> None:
    """Start-up shows the shipped playlists first; the listener's library comes after."""
    settings = Settings()
    settings.window.last_selection = "road trip"
    mine = library()
    mine["road trip"] = Playlist("road trip", (Track(Path("/m/r/1.ogg"), "r1", duration=30.0),))
    shipped = library()
    _clock, _out, _player, ctl = rig(settings, playlists=shipped)
    ctl.tick()
    assert ctl.mode is ControlMode.AUTO and ctl.playlist_name == "calm"
    ctl.set_library(mine)
    assert ctl.mode is ControlMode.MANUAL and ctl.playlist_name == "road trip"


def test_a_resume_point_in_the_late_library_is_resumed() -> None:
    mine = library()
    mine["road trip"] = Playlist(
        "road trip", tuple(Track(Path(f"/m/r/{i}.ogg"), f"r{i}", duration=30.0) for i in range(3))
    )
    _clock, out, player, ctl = rig(playlists=library())
    assert not ctl.restore("road trip", "/m/r/2.ogg", 7.0)
    ctl.tick()
    assert ctl.playlist_name == "calm"
    ctl.set_library(mine)
    assert ctl.playlist_name == "road trip" and player.index == 2
    assert out.calls[-1] == ("play", pytest.approx(7.0), 0)
    # a mood seen before the library arrived wins over the old resume point
    clock2, _out2, _player2, ctl2 = rig(playlists=library())
    ctl2.restore("road trip", "/m/r/2.ogg", 7.0)
    ctl2.tick()
    ctl2.on_mood("happy", clock2())
    ctl2.set_library(mine)
    assert ctl2.playlist_name == "upbeat"

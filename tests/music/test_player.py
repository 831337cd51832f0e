"""Player behaviour on FakeOutput with a manual clock: states, navigation, repeat, shuffle, fades,
skipping failing files, position tracking."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.music.audio import FakeOutput, ManualClock
from app.music.library import Playlist, Track
from app.music.player import Player, PlayerState, RepeatMode


def make_playlist(name: str, count: int, duration: float = 10.0) -> Playlist:
    tracks = tuple(
        Track(Path(f"/music/{name}/{i:02d}.ogg"), f"{name} {i}", duration=duration)
        for i in range(count)
    )
    return Playlist(name, tracks)


def rig(count: int = 3, duration: float = 10.0, seed: int = 0):
    clock = ManualClock(100.0)
    out = FakeOutput(clock=clock, default_duration=duration)
    player = Player(out, clock=clock, rng=random.Random(seed))
    playlist = make_playlist("p", count, duration)
    return clock, out, player, playlist


def run(clock: ManualClock, player: Player, seconds: float, step: float = 0.25) -> None:
    for _ in range(round(seconds / step)):
        clock.advance(step)
        player.poll()


def test_play_pause_stop_and_position_from_the_clock() -> None:
    clock, out, player, playlist = rig()
    player.set_playlist(playlist)
    assert player.state is PlayerState.PLAYING
    assert out.loaded == playlist.tracks[0].path
    clock.advance(2.0)
    assert player.position == pytest.approx(2.0)
    player.pause()
    assert player.state is PlayerState.PAUSED and out.paused
    clock.advance(5.0)
    assert player.position == pytest.approx(2.0)
    player.toggle()
    assert player.state is PlayerState.PLAYING and not out.paused
    clock.advance(1.0)
    assert player.position == pytest.approx(3.0)
    player.stop()
    assert player.state is PlayerState.STOPPED and player.position == 0.0
    player.play()
    assert out.calls[-1] == ("play", 0.0, 0)


def test_set_playlist_without_play_then_play_starts_at_position() -> None:
    _clock, out, player, playlist = rig()
    player.set_playlist(playlist, index=1, position=4.0, play=False)
    assert player.state is PlayerState.STOPPED
    assert player.index == 1 and player.position == 4.0
    player.play()
    assert out.calls[-1] == ("play", 4.0, 0)
    assert player.state is PlayerState.PLAYING


def test_seek_tracks_position_itself() -> None:
    clock, out, player, playlist = rig()
    player.set_playlist(playlist)
    clock.advance(1.0)
    player.seek(7.5)
    assert out.calls[-1] == ("play", 7.5, 0)
    clock.advance(1.0)
    assert player.position == pytest.approx(8.5)
    player.pause()
    player.seek(2.0)
    assert player.position == 2.0 and player.state is PlayerState.PAUSED
    player.play()
    assert out.calls[-1] == ("play", 2.0, 0)


def test_next_previous_and_restart_after_three_seconds() -> None:
    clock, out, player, playlist = rig()
    player.set_playlist(playlist)
    player.next()
    assert player.index == 1 and out.loaded == playlist.tracks[1].path
    clock.advance(4.0)
    player.previous()  # past 3 s: restart this track
    assert player.index == 1 and player.position == 0.0
    assert out.calls[-1] == ("play", 0.0, 0)
    clock.advance(1.0)
    player.previous()
    assert player.index == 0
    player.previous()  # wraps with repeat ALL
    assert player.index == 2


def test_end_of_track_advances_and_repeat_all_loops_forever() -> None:
    clock, _out, player, playlist = rig(count=3, duration=2.0)
    player.set_playlist(playlist)
    seen = []
    for _ in range(40):
        clock.advance(0.25)
        player.poll()
        seen.append(player.index)
    # 10 s of 2 s tracks: five tracks played, in a loop.
    assert [i for n, i in enumerate(seen) if n == 0 or seen[n - 1] != i] == [0, 1, 2, 0, 1, 2]
    assert player.state is PlayerState.PLAYING


def test_repeat_one_and_off() -> None:
    clock, out, player, playlist = rig(count=2, duration=2.0)
    player.repeat = RepeatMode.ONE
    player.set_playlist(playlist)
    run(clock, player, 5.0)
    assert player.index == 0 and player.state is PlayerState.PLAYING
    assert out.names().count("play") == 3
    player.repeat = "off"
    player.next()
    run(clock, player, 2.5)
    assert player.state is PlayerState.STOPPED and player.index == 0
    player.set_playlist(playlist, index=1)
    player.next()  # next on the last track with repeat off stops
    assert player.state is PlayerState.STOPPED


def test_volume_and_mute() -> None:
    _clock, out, player, _playlist = rig()
    player.set_volume(0.4)
    assert out.volume == 0.4
    player.set_muted(True)
    assert out.volume == 0.0 and player.volume == 0.4
    player.set_muted(False)
    assert out.volume == 0.4
    player.set_volume(7)
    assert player.volume == 1.0


def test_fade_between_playlists_is_driven_by_poll() -> None:
    clock, out, player, first = rig()
    second = make_playlist("q", 2)
    player.set_playlist(first)
    clock.advance(1.0)
    player.set_playlist(second, fade=1.5)
    assert out.calls[-1] == ("fadeout", 1500)
    assert out.loaded == first.tracks[0].path  # still the old sound, fading
    clock.advance(1.0)
    player.poll()
    assert out.loaded == first.tracks[0].path
    clock.advance(0.6)
    player.poll()
    assert out.loaded == second.tracks[0].path
    assert out.calls[-1] == ("play", 0.0, 1500)
    assert player.state is PlayerState.PLAYING and player.playlist is second


def test_fade_zero_cuts_and_a_command_during_a_fade_finishes_it() -> None:
    _clock, out, player, first = rig()
    second = make_playlist("q", 2)
    player.set_playlist(first)
    player.set_playlist(second, fade=0.0)
    assert "fadeout" not in out.names() and out.loaded == second.tracks[0].path
    player.set_playlist(first, fade=2.0)
    player.next()
    assert out.loaded == first.tracks[1].path and player.state is PlayerState.PLAYING


def test_failing_file_is_skipped_and_the_next_plays() -> None:
    _clock, out, player, playlist = rig(count=3)
    out.failing.add(playlist.tracks[1].path)
    player.set_playlist(playlist, index=1)
    assert player.index == 2 and out.loaded == playlist.tracks[2].path
    assert player.state is PlayerState.PLAYING and player.error is None


def test_playlist_where_nothing_plays_ends_in_error() -> None:
    clock, out, player, playlist = rig(count=3)
    out.failing.update(t.path for t in playlist.tracks)
    player.set_playlist(playlist)
    assert player.state is PlayerState.ERROR
    assert player.error is not None and "p" in player.error
    assert out.names().count("load") == 3
    run(clock, player, 2.0)  # polling in error does not spin through files
    assert out.names().count("load") == 3
    player.set_playlist(make_playlist("empty", 0))
    assert player.state is PlayerState.ERROR


def test_no_audio_device_is_an_error_then_recovers() -> None:
    clock, out, player, playlist = rig()
    out.device_ok = False
    player.set_playlist(playlist)
    assert player.state is PlayerState.ERROR and "audio device" in (player.error or "")
    out.device_ok = True
    run(clock, player, 6.0)  # the player re-tries by itself
    assert player.state is PlayerState.PLAYING and player.error is None


def test_track_end_hook_can_take_over() -> None:
    clock, _out, player, playlist = rig(count=3, duration=2.0)
    ended = []

    def hook(track: Track) -> bool:
        ended.append(track)
        return True

    player.on_track_end = hook
    player.set_playlist(playlist)
    run(clock, player, 2.5)
    assert ended == [playlist.tracks[0]]
    assert player.index == 0  # the hook took over; the player did not move on
    assert player.state is PlayerState.STOPPED


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(1, 12),
    cycles=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
    start=st.integers(0, 11),
)
def test_shuffle_plays_every_track_once_per_cycle(
    count: int, cycles: int, seed: int, start: int
) -> None:
    _clock, _out, player, playlist = rig(count=count, duration=1.0, seed=seed)
    player.shuffle = True
    player.set_playlist(playlist, index=start % count)
    played = [player.index]
    for _ in range(count * cycles - 1):
        player.next()
        played.append(player.index)
    for c in range(cycles):
        assert sorted(played[c * count : (c + 1) * count]) == list(range(count))
    for c in range(1, cycles):
        if count > 1:
            assert played[c * count] != played[c * count - 1]


@settings(max_examples=60, deadline=None)
@given(count=st.integers(1, 8), ends=st.integers(0, 30))
def test_repeat_all_natural_ends_follow_the_playlist_order(count: int, ends: int) -> None:
    clock, _out, player, playlist = rig(count=count, duration=1.0)
    player.set_playlist(playlist)
    for _ in range(ends):
        clock.advance(1.0)
        player.poll()
    assert player.state is PlayerState.PLAYING
    assert player.index == ends % count


def test_shuffle_off_returns_to_playlist_order() -> None:
    _clock, _out, player, playlist = rig(count=6, seed=3)
    player.set_playlist(playlist, index=2)
    player.shuffle = True
    assert player.order[0] == 2 and sorted(player.order) == list(range(6))
    player.shuffle = False
    assert player.index == 2
    player.next()
    assert player.index == 3


def test_files_that_load_but_hold_no_sound_end_in_error_not_a_spin() -> None:
    clock, out, player, playlist = rig(count=3)
    out.durations = {t.path: 0.0 for t in playlist.tracks}
    player.set_playlist(playlist)
    run(clock, player, 3.0)
    assert player.state is PlayerState.ERROR and "makes a sound" in (player.error or "")
    loads = out.names().count("load")
    run(clock, player, 3.0)
    assert out.names().count("load") == loads


def test_one_silent_file_among_good_ones_is_just_passed_over() -> None:
    clock, out, player, playlist = rig(count=3, duration=2.0)
    out.durations = {playlist.tracks[1].path: 0.0}
    player.set_playlist(playlist)
    run(clock, player, 10.0)
    assert player.state is PlayerState.PLAYING


operations = st.lists(
    st.sampled_from(
        ["next", "previous", "pause", "play", "toggle", "stop", "seek", "shuffle", "repeat", "wait"]
    ),
    max_size=40,
)


@settings(max_examples=80, deadline=None)
@given(
    ops=operations,
    count=st.integers(1, 6),
    seed=st.integers(0, 1000),
    waits=st.lists(st.floats(0.0, 5.0), min_size=1),
)
def test_any_command_sequence_keeps_the_player_consistent(
    ops: list[str], count: int, seed: int, waits: list[float]
) -> None:
    clock, out, player, playlist = rig(count=count, duration=3.0, seed=seed)
    rng = random.Random(seed)
    player.set_playlist(playlist)
    for n, op in enumerate(ops):
        if op == "seek":
            player.seek(rng.uniform(-1, 5))
        elif op == "shuffle":
            player.shuffle = not player.shuffle
        elif op == "repeat":
            player.repeat = rng.choice(list(RepeatMode))
        elif op == "wait":
            clock.advance(waits[n % len(waits)])
            player.poll()
        else:
            getattr(player, op)()
        assert sorted(player.order) == list(range(count))
        assert 0 <= player.index < count
        assert 0.0 <= player.position <= 3.0
        assert player.state is not PlayerState.ERROR
        if player.state is PlayerState.PLAYING:
            assert out.loaded == playlist.tracks[player.index].path


def test_a_second_fade_during_a_fade_re_aims_it_without_a_cut() -> None:
    clock, out, player, first = rig()
    second, third = make_playlist("q", 2), make_playlist("r", 2)
    player.set_playlist(first)
    player.set_playlist(second, fade=1.0)
    clock.advance(0.5)
    player.poll()
    player.set_playlist(third, index=1, fade=1.0)
    assert out.names().count("fadeout") == 1 and out.loaded == first.tracks[0].path
    clock.advance(0.6)
    player.poll()
    assert out.loaded == third.tracks[1].path and out.calls[-1] == ("play", 0.0, 1000)
    assert second.tracks[0].path not in [c[1] for c in out.calls if c[0] == "load"]

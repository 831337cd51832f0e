"""Player on a mixing output (FakeMixingOutput, manual clock): crossfades instead of fade-then-cut,
gapless priming of the next track, ends at the real length, skip notices for damaged files."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from app.music.audio import FakeMixingOutput, ManualClock
from app.music.library import Playlist, Track
from app.music.player import Player, PlayerState
from app.problems import problems


def make_playlist(name: str, count: int, duration: float = 10.0) -> Playlist:
    tracks = tuple(
        Track(Path(f"/music/{name}/{i:02d}.flac"), f"{name} {i}", duration=duration)
        for i in range(count)
    )
    return Playlist(name, tracks)


def rig(count: int = 3, duration: float = 10.0):
    clock = ManualClock(100.0)
    out = FakeMixingOutput(clock=clock, default_duration=duration)
    player = Player(out, clock=clock, rng=random.Random(0))
    return clock, out, player, make_playlist("p", count, duration)


def run(clock: ManualClock, player: Player, seconds: float, step: float = 0.25) -> None:
    for _ in range(round(seconds / step)):
        clock.advance(step)
        player.poll()


def test_a_playlist_change_is_a_crossfade_with_no_wait() -> None:
    clock, out, player, first = rig()
    second = make_playlist("q", 2)
    player.set_playlist(first)
    clock.advance(2.0)
    player.set_playlist(second, index=1, position=3.0, fade=1.5)
    assert out.overlaps[-1] == (first.tracks[0].path, second.tracks[1].path, 1500)
    assert "fadeout" not in out.names()
    assert player.state is PlayerState.PLAYING and player.index == 1
    assert out.loaded == second.tracks[1].path
    clock.advance(1.0)
    assert player.position == pytest.approx(4.0)
    # A second change during the fade simply crossfades again (no cut, no wait).
    player.set_playlist(first, fade=1.5)
    assert out.overlaps[-1] == (second.tracks[1].path, first.tracks[0].path, 1500)


def test_a_crossfade_skips_a_damaged_track_and_says_so() -> None:
    _clock, out, player, first = rig()
    second = make_playlist("q", 3)
    out.failing.add(second.tracks[0].path)
    seen = []
    player.on_notice = seen.append
    player.set_playlist(first)
    player.set_playlist(second, fade=1.0)
    assert out.loaded == second.tracks[1].path and player.index == 1
    assert [n.path for n in player.notices] == [second.tracks[0].path]
    assert seen and "q 0" in seen[0].text and "fake failure" in seen[0].text
    assert any(p.path == str(second.tracks[0].path) for p in problems.items())


def test_when_nothing_of_the_new_playlist_plays_it_is_an_error_not_silence_forever() -> None:
    _clock, out, player, first = rig()
    second = make_playlist("q", 2)
    out.failing.update(t.path for t in second.tracks)
    player.set_playlist(first)
    player.set_playlist(second, fade=1.0)
    assert player.state is PlayerState.ERROR and "q" in (player.error or "")
    assert not out.busy()


def test_the_next_track_is_primed_and_follows_with_no_gap() -> None:
    clock, out, player, playlist = rig(count=3, duration=2.0)
    player.set_playlist(playlist)
    assert out.queued == playlist.tracks[1].path
    loads = out.names().count("load")
    run(clock, player, 2.5)
    assert player.index == 1 and player.state is PlayerState.PLAYING
    assert out.names().count("load") == loads  # no reload: the output chained it
    assert player.position == pytest.approx(0.5, abs=0.01)
    assert out.queued == playlist.tracks[2].path
    run(clock, player, 2.0)
    assert player.index == 2 and out.queued == playlist.tracks[0].path  # repeat ALL wraps


def test_repeat_one_primes_the_same_track_and_repeat_off_stops_at_the_end() -> None:
    clock, out, player, playlist = rig(count=2, duration=2.0)
    player.repeat = "one"
    player.set_playlist(playlist)
    assert out.queued == playlist.tracks[0].path
    run(clock, player, 4.5)
    assert player.index == 0 and player.state is PlayerState.PLAYING
    player.repeat = "off"
    player.next()
    assert out.queued is None  # last track, repeat off: nothing follows
    run(clock, player, 2.5)
    assert player.state is PlayerState.STOPPED


def test_hold_next_keeps_the_next_track_from_being_chained() -> None:
    _clock, out, player, playlist = rig(count=3, duration=2.0)
    hold = [False]
    player.hold_next = lambda: hold[0]
    player.set_playlist(playlist)
    assert out.queued == playlist.tracks[1].path
    hold[0] = True
    player.poll()
    assert out.queued is None
    hold[0] = False
    player.poll()
    assert out.queued == playlist.tracks[1].path


def test_a_track_plays_to_its_real_end_whatever_its_tag_says() -> None:
    clock, out, player, _ = rig()
    short_tag = Track(Path("/music/a.flac"), "a", duration=2.0)
    long_tag = Track(Path("/music/b.flac"), "b", duration=60.0)
    out.durations = {short_tag.path: 5.0, long_tag.path: 1.0}
    player.repeat = "off"
    player.set_playlist(Playlist("p", (short_tag, long_tag)))
    run(clock, player, 4.0)
    assert player.index == 0 and player.duration == 5.0
    assert player.position == pytest.approx(4.0)
    run(clock, player, 1.5)
    assert player.index == 1
    run(clock, player, 1.0)
    assert player.state is PlayerState.STOPPED  # b's real second, not its tag's minute


def test_a_track_that_breaks_part_way_is_noted_and_the_next_one_plays() -> None:
    clock, out, player, playlist = rig(count=3, duration=4.0)
    out.broken_at = {playlist.tracks[0].path: 1.0}
    player.set_playlist(playlist)
    run(clock, player, 1.5)
    assert player.index == 1 and player.state is PlayerState.PLAYING
    assert [n.path for n in player.notices] == [playlist.tracks[0].path]


def test_a_primed_file_that_fails_is_noted_and_the_one_after_is_primed() -> None:
    clock, out, player, playlist = rig(count=3, duration=2.0)
    out.failing.add(playlist.tracks[1].path)
    player.set_playlist(playlist)
    player.poll()
    assert [n.path for n in player.notices] == [playlist.tracks[1].path]
    assert out.queued == playlist.tracks[2].path
    run(clock, player, 2.5)
    assert player.index == 2


def tracks_named(playlist: Playlist, *numbers: int) -> Playlist:
    """``playlist`` with only the given tracks of ``make_playlist`` (and new ones for numbers
    past its end): a mood playlist after the listener moved tracks in or out."""
    base = playlist.tracks[0].path.parent
    by_number = {int(t.path.stem): t for t in playlist.tracks}
    return Playlist(
        playlist.name,
        tuple(
            by_number.get(n) or Track(base / f"{n:02d}.flac", f"new {n}", duration=2.0)
            for n in numbers
        ),
    )


def test_a_track_leaving_and_one_joining_the_playing_playlist_never_stop_the_music() -> None:
    clock, out, player, playlist = rig(count=3, duration=2.0)
    player.set_playlist(playlist)
    assert out.queued == playlist.tracks[1].path
    clock.advance(1.0)
    calls = len(out.calls)
    # track 1 (queued next) moves to another mood; track 7 joins this one
    assert player.update_playlist(tracks_named(playlist, 0, 2, 7))
    assert player.state is PlayerState.PLAYING and player.current == playlist.tracks[0]
    assert player.position == pytest.approx(1.0)
    new_calls = out.calls[calls:]
    assert not [c for c in new_calls if c[0] in ("stop", "load", "play", "crossfade")], new_calls
    assert out.queued == playlist.tracks[2].path  # the track that left is not played next
    run(clock, player, 1.5)
    assert player.current == playlist.tracks[2]
    run(clock, player, 2.0)
    assert player.current is not None and player.current.title == "new 7"
    assert [t.path.stem for t in player.playlist.tracks] == ["00", "02", "07"]


def test_the_track_that_plays_can_leave_its_playlist_and_still_plays_to_its_end() -> None:
    clock, out, player, playlist = rig(count=3, duration=2.0)
    player.set_playlist(playlist, index=1)
    clock.advance(0.5)
    calls = len(out.calls)
    assert player.update_playlist(tracks_named(playlist, 0, 2))
    assert not [c for c in out.calls[calls:] if c[0] in ("stop", "load", "play", "crossfade")]
    assert player.current == playlist.tracks[1] and player.state is PlayerState.PLAYING
    assert out.queued == playlist.tracks[2].path  # what followed it still follows
    run(clock, player, 1.75)
    assert player.current == playlist.tracks[2]
    # once it has ended it is out of the playlist: not played again in the next cycle
    assert [t.path.stem for t in player.playlist.tracks] == ["00", "02"]
    run(clock, player, 2.0)
    assert player.current == playlist.tracks[0]


def test_a_shuffled_order_keeps_its_tracks_and_another_playlist_is_left_alone() -> None:
    _clock, _out, player, playlist = rig(count=6, duration=2.0)
    player.shuffle = True
    player.set_playlist(playlist)
    before = [playlist.tracks[i].path for i in player.order]
    assert player.update_playlist(tracks_named(playlist, 0, 1, 2, 3, 4, 5, 9))
    after = [player.playlist.tracks[i].path for i in player.order]
    assert [p for p in after if p.stem != "09"] == before
    assert after.index(playlist.tracks[0].path.with_name("09.flac")) > player.order.index(
        player.index
    )
    assert player.current is not None and player.current.path == before[0]
    assert not player.update_playlist(make_playlist("other", 2))
    assert player.playlist.name == "p"

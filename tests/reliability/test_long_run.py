"""A long run: an hour of readings in a few seconds, and real music for a minute, without a leak.

``run_listening`` drives the real ``Session`` (its reading slot and its 250 ms poll), with the real
``MoodVoter``, ``Controller`` and ``Player`` on a ``FakeOutput``, by an injected clock: readings
at 10 per second from a listener whose expression changes every 5..30 s (with spells of nobody
in front of the camera), tracks of 3..8 s so the track changes every few seconds, playlist fades
on every mood change, and a listener who now and then skips, pauses, picks a playlist by hand and
goes back to Auto. Logging goes to the real rotating log file (``app.logs.setup``).

Checked: the music never stops (always a playlist, never ERROR), moods and tracks really change,
and nothing grows without bound: the voter's window, the session's timeline and rate window, the
controller's resume points, the root logger's handlers, the in-memory log lines and the log files.
Resident memory (psutil) is measured after a warm-up and at the end.

* ``make test``: 6 minutes of injected time (3,600 readings), bounds checked, memory printed.
* ``make soak``: the full hour (36,000 readings) and ten hours (360,000), and growth above
  ``LEAK_MB`` after the warm-up fails; plus a minute of real music on the real mixer (SDL dummy
  driver) with moods changing every few seconds, again with its memory growth measured.
"""

from __future__ import annotations

import gc
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest

from app import logs
from app import session as session_mod
from app.controller import Controller
from app.mood.voter import MoodVoter, VoterConfig
from app.music.audio import FakeOutput, ManualClock
from app.music.library import Playlist, Track
from app.music.player import Player, PlayerState
from app.settings import DEFAULT_PLAYLISTS, Settings
from app.ui.session import Session
from app.vision.capture import CaptureState
from app.vision.reading import EXPRESSIONS, Box, Reading

LEAK_MB = 20.0  # growth after the warm-up that counts as a leak
RATE = 10.0  # readings per second
POLL_S = session_mod.POLL_INTERVAL_S


class StillWorker:
    """The capture worker's place in the session; readings are handed to the session directly."""

    def __init__(self, analyzer: Any, on_reading: Any, on_state: Any) -> None:
        self.on_state = on_state
        self.message = ""

    def start(self) -> None:
        self.on_state(CaptureState.RUNNING)

    def stop(self, timeout: float = 1.0) -> bool:
        return True

    def latest_frame(self) -> None:
        return None


def _playlists(rng: random.Random) -> tuple[dict[str, Playlist], dict[Path, float]]:
    playlists, durations = {}, {}
    for name in DEFAULT_PLAYLISTS:
        tracks = []
        for i in range(6):
            path = Path(f"/music/{name}/{i}.ogg")
            durations[path] = rng.uniform(3.0, 8.0)
            tracks.append(Track(path, f"{name} {i}", "Soak", "", durations[path]))
        playlists[name] = Playlist(name, tuple(tracks))
    return playlists, durations


def _reading(t: float, expression: str | None, rng: random.Random) -> Reading:
    if expression is None:
        return Reading(t, None)
    strength = rng.uniform(0.5, 0.95)
    rest = (1.0 - strength) / (len(EXPRESSIONS) - 1)
    probabilities = {e: (strength if e == expression else rest) for e in EXPRESSIONS}
    return Reading(t, Box(100, 80, 120, 120), probabilities)


def rss_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


@dataclass
class Figures:
    seconds: float
    readings: int = 0
    mood_changes: int = 0
    track_changes: int = 0
    playlist_changes: int = 0
    user_actions: int = 0
    rss_start: float = 0.0
    rss_warm: float = 0.0
    rss_end: float = 0.0
    max_votes: int = 0
    max_timeline: int = 0
    max_rate_window: int = 0
    max_resume: int = 0
    log_bytes: int = 0
    wall_s: float = 0.0

    @property
    def growth(self) -> float:
        return self.rss_end - self.rss_warm


def run_listening(
    qtbot: Any, seconds: float, log_dir: Path, app_handlers: list[logging.Handler], seed: int = 36
) -> Figures:
    rng = random.Random(seed)
    clock = ManualClock(10_000.0)
    settings = Settings()
    settings.music.fade_s = 1.0
    playlists, durations = _playlists(rng)
    output = FakeOutput(clock=clock, durations=durations)
    player = Player(output, clock=clock, rng=random.Random(seed))
    controller = Controller(player, playlists, settings, clock=clock)
    session = Session(
        settings,
        player,
        controller,
        MoodVoter(VoterConfig.from_settings(settings.mood)),
        source="soak camera",
        analyzer_factory=lambda: "no analyzer needed",
        worker_factory=StillWorker,
        voter_factory=lambda s: MoodVoter(VoterConfig.from_settings(s.mood)),
        clock=clock,
    )
    moods = [0]
    session.mood_changed.connect(lambda change: moods.__setitem__(0, moods[0] + 1))
    figures = Figures(seconds)
    root = logging.getLogger()
    # Only the app's own handlers (app.logs.setup) stay: pytest's log capture keeps every record
    # in memory, which over hours is itself a "leak" that is no part of the app.
    foreign = [h for h in root.handlers if h not in app_handlers]
    for handler in foreign:
        root.removeHandler(handler)
    figures.rss_start = rss_mb()
    handlers_before = len(root.handlers)
    started = time.perf_counter()
    session.start()
    qtbot.waitUntil(lambda: session.worker is not None, timeout=10_000)
    session._timer.stop()  # time is injected: the test polls, exactly every 250 ms of clock time
    handlers = len(root.handlers)
    assert handlers == handlers_before

    t0 = clock()
    warm_at = t0 + min(300.0, seconds / 2)
    next_poll = t0
    next_segment = t0
    next_action = t0 + rng.uniform(20, 90)
    expression: str | None = "neutral"
    last_track = (None, None)
    warm = False
    step = 1.0 / RATE
    while clock() - t0 < seconds:
        now = clock.advance(step)
        if now >= next_segment:
            roll = rng.random()
            expression = None if roll < 0.1 else rng.choice(EXPRESSIONS)
            next_segment = now + (rng.uniform(2, 10) if expression is None else rng.uniform(5, 30))
        session.core.handle_reading(_reading(now, expression, rng))
        figures.readings += 1
        while next_poll <= now:
            session.poll()
            next_poll += POLL_S
            track = (player.playlist.name if player.playlist else None, player.index)
            if track != last_track:
                figures.track_changes += 1
                if track[0] != last_track[0]:
                    figures.playlist_changes += 1
                last_track = track
        if now >= next_action:
            figures.user_actions += 1
            action = rng.choice(["next", "pause-play", "manual", "auto", "seek", "volume"])
            if action == "next":
                player.next()
            elif action == "pause-play":
                player.pause()
                player.play()
            elif action == "manual":
                controller.select(rng.choice(controller.playlist_names()))
            elif action == "auto":
                controller.set_auto()
            elif action == "seek":
                player.seek(rng.uniform(0, 3))
            else:
                player.set_volume(rng.random())
            next_action = now + rng.uniform(20, 90)
        # the music never stops by itself
        assert player.state in (PlayerState.PLAYING, PlayerState.PAUSED), player.error
        assert player.playlist is not None
        # bounded: the voter's window, the timeline, the rate window, the resume points
        figures.max_votes = max(figures.max_votes, len(session.voter._votes))
        figures.max_timeline = max(figures.max_timeline, len(session.timeline))
        figures.max_rate_window = max(figures.max_rate_window, len(session.core._reading_times))
        figures.max_resume = max(figures.max_resume, len(controller._resume))
        output.calls.clear()  # the fake's own call record (test bookkeeping, not app state)
        if not warm and now >= warm_at:
            warm = True
            figures.rss_warm = rss_mb()
    figures.wall_s = time.perf_counter() - started
    figures.rss_end = rss_mb()
    figures.mood_changes = moods[0]
    session.stop()
    assert len(root.handlers) == handlers
    for handler in foreign:
        root.addHandler(handler)
    figures.log_bytes = sum(p.stat().st_size for p in log_dir.glob("moodplayer.log*"))
    # the voter's running sums have not drifted from its window
    voter = session.voter
    dist = voter.distribution
    if voter._weight > 0:
        fresh = np.sum([v.weighted for v in voter._votes], axis=0) / voter._weight
        assert np.allclose([dist[e] for e in EXPRESSIONS], fresh, atol=1e-9)
    return figures


@pytest.fixture
def app_logging(tmp_path: Path):
    """The app's own logging set-up (stderr, memory, rotating file), undone afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    log_dir = tmp_path / "log"
    logs.setup(debug=False, log_file=True, directory=log_dir)
    for handler in root.handlers:  # the console handler would flood pytest's output
        if type(handler) is logging.StreamHandler:
            handler.setLevel(logging.CRITICAL)
    yield log_dir, list(root.handlers)
    for handler in list(root.handlers):
        if handler not in saved_handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in saved_handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(saved_level)


def _check_bounds(figures: Figures) -> None:
    window = VoterConfig().window_s
    # (+3: readings exactly on the window edge after hours of float time steps)
    assert figures.max_votes <= window * RATE + 3
    assert figures.max_timeline <= session_mod.TIMELINE_SECONDS + 2
    assert figures.max_rate_window <= session_mod.RATE_WINDOW_S * RATE + 3
    assert figures.max_resume <= len(DEFAULT_PLAYLISTS)
    assert len(logs.recent.lines) <= (logs.recent.lines.maxlen or 0)
    assert 0 < figures.log_bytes <= (logs.LOG_FILE_COUNT + 1) * logs.LOG_FILE_BYTES
    # the run was busy: moods changed, tracks changed every few seconds
    assert figures.mood_changes >= figures.seconds / 60
    assert figures.track_changes >= figures.seconds / 10


def _print(figures: Figures, label: str) -> None:
    minutes = figures.seconds / 60
    print(
        f"\n[reliability] long run {label}: {minutes:.0f} min of injected time, "
        f"{figures.readings} readings, {figures.mood_changes} mood changes, "
        f"{figures.track_changes} track changes ({figures.playlist_changes} playlist changes), "
        f"{figures.user_actions} listener actions in {figures.wall_s:.1f} s real; "
        f"RSS start {figures.rss_start:.1f} MB, after warm-up {figures.rss_warm:.1f} MB, "
        f"end {figures.rss_end:.1f} MB (growth {figures.growth:+.1f} MB); "
        f"max sizes: voter window {figures.max_votes}, timeline {figures.max_timeline}, "
        f"rate window {figures.max_rate_window}, resume points {figures.max_resume}; "
        f"log files {figures.log_bytes / 1e6:.1f} MB"
    )


def test_six_minutes_of_listening_keep_everything_bounded(qtbot, app_logging) -> None:
    figures = run_listening(qtbot, 360.0, *app_logging)
    _check_bounds(figures)
    _print(figures, "(make test)")


@pytest.mark.soak
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("hours", [1, 10])
def test_soak_hours_of_listening_without_a_leak(qtbot, app_logging, hours: int) -> None:
    figures = run_listening(qtbot, 3600.0 * hours, *app_logging)
    _check_bounds(figures)
    _print(figures, "(soak)")
    assert figures.growth < LEAK_MB, f"resident memory grew {figures.growth:.1f} MB"


@pytest.mark.soak
@pytest.mark.timeout(600)
def test_soak_a_minute_of_real_music_on_the_real_mixer(tmp_path: Path) -> None:
    """The real player on pygame's mixer (dummy driver): short real tracks, a mood change every
    few seconds through the real voter and controller, fades, for 60 s of real time."""
    from audio_files import write_tone

    from app.music.audio import PygameOutput
    from app.music.library import Library

    rng = random.Random(60)
    for p, name in enumerate(DEFAULT_PLAYLISTS):
        for i in range(3):
            write_tone(tmp_path / name / f"{i}.ogg", 200 + 60 * p + 15 * i, rng.uniform(1.0, 2.5))
    library = Library([tmp_path])
    library.scan()
    settings = Settings()
    settings.music.fade_s = 0.5
    output = PygameOutput()
    player = Player(output)
    controller = Controller(player, library, settings)
    voter = MoodVoter(VoterConfig.from_settings(settings.mood))
    moods = tracks = 0
    last = None
    started = time.monotonic()
    rss_warm = None
    expression = "happy"
    next_segment = started
    rss_start = rss_mb()
    try:
        controller.start()
        while time.monotonic() - started < 60.0:
            now = time.monotonic()
            if now >= next_segment:
                expression = rng.choice(EXPRESSIONS)
                next_segment = now + rng.uniform(2.0, 5.0)
            change = voter.update(_reading(now, expression, rng))
            if change is not None:
                moods += 1
                controller.on_mood(change.current, now)
            controller.tick()
            if (player.playlist.name if player.playlist else None, player.index) != last:
                tracks += 1
                last = (player.playlist.name if player.playlist else None, player.index)
            assert player.state is PlayerState.PLAYING, player.error
            if rss_warm is None and now - started > 10.0:
                rss_warm = rss_mb()
            time.sleep(1.0 / RATE)
        rss_end = rss_mb()
    finally:
        player.stop()
        output.close()
    assert rss_warm is not None
    assert moods >= 5 and tracks >= 10
    growth = rss_end - rss_warm
    print(
        f"\n[reliability] real mixer minute: {moods} mood changes, {tracks} track changes; RSS "
        f"start {rss_start:.1f} MB, after 10 s {rss_warm:.1f} MB, end {rss_end:.1f} MB "
        f"(growth {growth:+.1f} MB)"
    )
    assert growth < LEAK_MB

"""Fixtures for the window tests: a session of real core parts (player on a fake audio output,
controller, voter) with a fake capture worker fed by the test, and a manual clock."""

from __future__ import annotations

import gc
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.controller import Controller
from app.mood.voter import MoodVoter, VoterConfig
from app.music.audio import FakeOutput, ManualClock
from app.music.library import Playlist, Track
from app.music.player import Player
from app.settings import DEFAULT_PLAYLISTS, Settings
from app.ui.main_window import MainWindow
from app.ui.session import Session
from app.vision.capture import CaptureState
from app.vision.reading import EXPRESSIONS, Box, Reading

TRACKS_PER_PLAYLIST = 5
TRACK_SECONDS = 200.0


class FakeWorker:
    """Stands in for CaptureWorker: the test feeds readings and frames; same callbacks."""

    def __init__(self, analyzer: Any, on_reading: Callable[..., Any], on_state: Callable[..., Any]):
        self.analyzer = analyzer
        self.on_reading = on_reading
        self.on_state = on_state
        self.frame: np.ndarray | None = None
        self.message = ""
        self.started = False
        self.stopped = False

    def start(self) -> None:
        self.started = True
        self.on_state(CaptureState.RUNNING)

    def stop(self, timeout: float = 1.0) -> None:
        self.stopped = True

    def latest_frame(self) -> np.ndarray | None:
        return self.frame


@pytest.fixture(autouse=True)
def _collect_on_the_gui_thread() -> Any:
    """Collect each test's leftover Qt wrappers here, on the GUI thread.

    Otherwise a collection that happens to run on another thread (an audio mixing thread, a
    worker) may delete QObjects there, which crashes Qt.
    """
    yield
    gc.collect()


@pytest.fixture
def private_bus() -> Iterator[str]:
    """A private D-Bus session bus for one test (MPRIS with a real client); its address."""
    daemon = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert daemon.stdout is not None
    address = daemon.stdout.readline().strip()
    try:
        yield address
    finally:
        daemon.terminate()
        daemon.wait(5)
        daemon.stdout.close()


def make_playlists() -> dict[str, Playlist]:
    playlists = {}
    for name in DEFAULT_PLAYLISTS:
        tracks = tuple(
            Track(
                Path(f"/music/{name}/{i}.ogg"),
                f"{name.capitalize()} song {i + 1}",
                "Test Artist",
                "",
                TRACK_SECONDS,
            )
            for i in range(TRACKS_PER_PLAYLIST)
        )
        playlists[name] = Playlist(name, tracks)
    return playlists


def face_reading(time: float, expression: str, strength: float = 0.9) -> Reading:
    rest = (1.0 - strength) / (len(EXPRESSIONS) - 1)
    probabilities = {name: (strength if name == expression else rest) for name in EXPRESSIONS}
    return Reading(time=time, box=Box(40, 30, 80, 80), probabilities=probabilities)


class Rig:
    """Everything a window test touches."""

    def __init__(self, qtbot: Any, source: str | None, settings: Settings | None) -> None:
        self.qtbot = qtbot
        self.clock = ManualClock(1000.0)
        self.settings = settings or Settings()
        self.output = FakeOutput(clock=self.clock, default_duration=TRACK_SECONDS)
        self.player = Player(self.output, clock=self.clock)
        self.controller = Controller(self.player, make_playlists(), self.settings, clock=self.clock)
        self.voter = MoodVoter(VoterConfig.from_settings(self.settings.mood))
        self.session = Session(
            self.settings,
            self.player,
            self.controller,
            self.voter,
            source=source,
            analyzer_factory=lambda: "fake analyzer",
            worker_factory=FakeWorker,
            voter_factory=lambda s: MoodVoter(VoterConfig.from_settings(s.mood)),
            clock=self.clock,
        )
        self.window = MainWindow(self.session)
        qtbot.addWidget(self.window)

    @property
    def worker(self) -> FakeWorker:
        worker = self.session.worker
        assert isinstance(worker, FakeWorker)
        return worker

    def start(self) -> None:
        self.window.resize(1180, 760)
        self.window.show()
        self.qtbot.waitExposed(self.window)
        self.window.activateWindow()  # shortcuts go to the active window
        self.qtbot.waitUntil(self.window.isActiveWindow, timeout=5000)
        self.session.start()
        if self.session.camera_wanted:
            self.qtbot.waitUntil(lambda: self.session.camera_state == "running", timeout=5000)
        self.session.poll()

    def show_face(self, expression: str, seconds: float, rate: float = 10.0) -> None:
        """Feed ``seconds`` of readings of ``expression`` through the worker callback."""
        for _ in range(int(seconds * rate)):
            self.clock.advance(1.0 / rate)
            self.worker.on_reading(face_reading(self.clock(), expression))
        # the callbacks were queued: let the GUI thread deliver them
        self.qtbot.waitUntil(
            lambda: (
                self.session.last_reading is not None
                and self.session.last_reading.time == self.clock()
            ),
            timeout=5000,
        )
        self.session.poll()

    def stop(self) -> None:
        self.session.stop()


@pytest.fixture
def make_rig(qtbot: Any) -> Any:
    rigs: list[Rig] = []

    def make(source: str | None = "fake", settings: Settings | None = None) -> Rig:
        rig = Rig(qtbot, source, settings)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.stop()


@pytest.fixture
def rig(make_rig: Any) -> Rig:
    r = make_rig()
    r.start()
    return r

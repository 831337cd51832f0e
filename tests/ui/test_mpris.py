"""MPRIS2 on a private session bus, driven by a real client (playerctl) and read with gdbus."""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QProcess
from PySide6.QtDBus import QDBusConnection

from app.controller import Controller, ControlMode
from app.music.audio import FakeOutput, ManualClock
from app.music.library import Playlist, Track
from app.music.player import Player, PlayerState, RepeatMode
from app.settings import DEFAULT_PLAYLISTS, Settings
from app.ui.mpris import Mpris

pytestmark = pytest.mark.skipif(
    not (shutil.which("dbus-daemon") and shutil.which("playerctl")),
    reason="needs dbus-daemon and playerctl (apt-get install dbus playerctl)",
)


def _library() -> dict[str, Playlist]:
    return {
        name: Playlist(
            name,
            tuple(
                Track(Path(f"/m/{name}/{i}.ogg"), f"{name} song {i}", "Band", "Record", 200.0)
                for i in range(3)
            ),
        )
        for name in DEFAULT_PLAYLISTS
    }


class Rig:
    def __init__(self, qtbot, address: str, name: str) -> None:
        self.qtbot = qtbot
        self.address = address
        self.clock = ManualClock(100.0)
        self.out = FakeOutput(clock=self.clock, default_duration=200.0)
        self.player = Player(self.out, clock=self.clock, rng=random.Random(1))
        self.controller = Controller(self.player, _library(), Settings(), clock=self.clock)
        self.raised: list[bool] = []
        self.quits: list[bool] = []
        self.mpris = Mpris(
            self.player,
            self.controller,
            on_raise=lambda: self.raised.append(True),
            on_quit=lambda: self.quits.append(True),
            clock=self.clock,
        )
        self.bus = QDBusConnection.connectToBus(address, name)
        assert self.bus.isConnected()

    def client(self, *args: str) -> str:
        """Run a client without blocking the event loop that must answer it."""
        proc = QProcess()
        env = proc.processEnvironment()
        env.insert("DBUS_SESSION_BUS_ADDRESS", self.address)
        proc.setProcessEnvironment(env)
        proc.start(args[0], list(args[1:]))
        self.qtbot.waitUntil(lambda: proc.state() == QProcess.ProcessState.NotRunning, timeout=8000)
        return bytes(proc.readAllStandardOutput().data()).decode().strip()

    def playerctl(self, *args: str) -> str:
        return self.client("playerctl", "-p", "moodplayer", *args)


@pytest.fixture
def rig(qtbot, private_bus: str, request) -> Iterator[Rig]:
    made = Rig(qtbot, private_bus, f"mpris-test-{request.node.name}")
    yield made
    # Take everything down on the GUI thread, in order, before the garbage collector could meet
    # the bridge half-torn-down from another thread (that crashed one run in five).
    made.mpris.unregister()
    made.mpris.deleteLater()
    qtbot.wait(50)
    QDBusConnection.disconnectFromBus(f"mpris-test-{request.node.name}")
    del made.bus, made.mpris
    qtbot.wait(50)


def test_playerctl_reads_metadata_with_the_mood_and_mode(rig: Rig) -> None:
    rig.controller.tick()
    rig.controller.on_mood("happy", rig.clock())
    for _ in range(10):
        rig.clock.advance(0.25)
        rig.controller.tick()
    assert rig.mpris.register(rig.bus)
    assert rig.playerctl("status") == "Playing"
    title = rig.player.current.title
    assert rig.playerctl("metadata", "title") == title
    assert rig.playerctl("metadata", "artist") == "Band"
    assert rig.playerctl("metadata", "album") == "Record"
    assert rig.playerctl("metadata", "mpris:length") == "200000000"
    assert rig.playerctl("metadata", "moodplayer:mood") == "happy"
    assert rig.playerctl("metadata", "moodplayer:mode") == "Auto"
    assert "Mood: happy · Auto" in rig.playerctl("metadata", "xesam:comment")


def test_playerctl_drives_play_pause_next_seek_volume_loop(rig: Rig) -> None:
    rig.controller.tick()
    assert rig.mpris.register(rig.bus)
    first = rig.player.current
    rig.playerctl("play-pause")
    assert rig.player.state is PlayerState.PAUSED
    assert rig.playerctl("status") == "Paused"
    rig.playerctl("play-pause")
    assert rig.player.state is PlayerState.PLAYING
    rig.playerctl("next")
    assert rig.player.current != first
    rig.playerctl("position", "42")
    assert abs(rig.player.position - 42.0) < 0.01
    assert abs(float(rig.playerctl("position")) - 42.0) < 0.01
    rig.playerctl("volume", "0.25")
    assert abs(rig.player.volume - 0.25) < 1e-6
    rig.playerctl("loop", "Track")
    assert rig.player.repeat is RepeatMode.ONE
    rig.playerctl("shuffle", "On")
    assert rig.player.shuffle is True
    rig.playerctl("stop")
    assert rig.player.state is PlayerState.STOPPED


def test_changes_are_announced_to_a_following_client(rig: Rig) -> None:
    rig.controller.tick()
    assert rig.mpris.register(rig.bus)
    proc = QProcess()
    env = proc.processEnvironment()
    env.insert("DBUS_SESSION_BUS_ADDRESS", rig.address)
    proc.setProcessEnvironment(env)
    proc.start("playerctl", ["-p", "moodplayer", "--follow", "status"])
    lines: list[str] = []

    def read() -> bool:
        lines.extend(bytes(proc.readAllStandardOutput().data()).decode().split())
        return lines[-1:] == ["Paused"]

    rig.qtbot.waitUntil(lambda: (read(), "Playing" in lines)[1], timeout=8000)
    rig.player.pause()  # from the window, not over the bus
    rig.mpris.refresh()
    rig.qtbot.waitUntil(read, timeout=8000)
    proc.kill()
    proc.waitForFinished(2000)


def test_manual_override_shows_as_manual_and_raise_quit_reach_the_app(rig: Rig) -> None:
    rig.controller.tick()
    rig.controller.select("intense")
    assert rig.controller.mode is ControlMode.MANUAL
    assert rig.mpris.register(rig.bus)
    assert rig.playerctl("metadata", "moodplayer:mode") == "Manual"
    assert rig.playerctl("metadata", "moodplayer:playlist") == "intense"
    base = ["gdbus", "call", "--session", "-d", "org.mpris.MediaPlayer2.moodplayer"]
    rig.client(*base, "-o", "/org/mpris/MediaPlayer2", "-m", "org.mpris.MediaPlayer2.Raise")
    rig.client(*base, "-o", "/org/mpris/MediaPlayer2", "-m", "org.mpris.MediaPlayer2.Quit")
    assert rig.raised == [True] and rig.quits == [True]


def test_without_a_bus_it_degrades_with_one_line(qtbot, caplog, monkeypatch) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
    clock = ManualClock(0.0)
    player = Player(FakeOutput(clock=clock), clock=clock)
    controller = Controller(player, _library(), Settings(), clock=clock)
    bridge = Mpris(player, controller, on_raise=lambda: None, on_quit=lambda: None, clock=clock)
    bus = QDBusConnection.connectToBus("unix:path=/nonexistent/bus", "mpris-none")
    with caplog.at_level("INFO", logger="app.ui.mpris"):
        assert bridge.register(bus) is False
    assert len([r for r in caplog.records if r.name == "app.ui.mpris"]) == 1
    assert not bridge.registered
    bridge.refresh()  # harmless
    QDBusConnection.disconnectFromBus("mpris-none")
    assert os.environ["DBUS_SESSION_BUS_ADDRESS"].startswith("unix:path=/nonexistent")

"""Signals reach the GUI thread, the heartbeat follows the notify protocol on a fake
NOTIFY_SOCKET, and changed settings are saved without waiting for the quit."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest

from app import sdnotify
from app import settings as settings_mod
from app.ui import lifecycle


@pytest.fixture
def notify_socket(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "notify"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.setblocking(False)
    yield path, server
    server.close()


def _messages(server: socket.socket) -> list[str]:
    out = []
    while True:
        try:
            out.append(server.recv(200).decode())
        except BlockingIOError:
            return out


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signal_reaches_the_gui_thread(qtbot, number: int) -> None:  # type: ignore[no-untyped-def]
    before = signal.getsignal(number)
    watcher = lifecycle.SignalWatcher()
    got: list[int] = []
    watcher.received.connect(got.append)
    assert watcher.install()
    try:
        os.kill(os.getpid(), number)
        qtbot.waitUntil(lambda: got == [number], timeout=3000)
    finally:
        watcher.uninstall()
    assert signal.getsignal(number) is before


def test_heartbeat_on_a_fake_notify_socket(qtbot, notify_socket) -> None:  # type: ignore[no-untyped-def]
    path, server = notify_socket
    notifier = sdnotify.Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "600000"})
    beat = lifecycle.Heartbeat(notifier)
    assert beat.interval_ms == 200
    beat.ready("window shown")
    qtbot.wait(750)
    beat.stopping()
    beat.close()
    messages = _messages(server)
    assert messages[0] == "READY=1\nSTATUS=window shown"
    assert messages[-1] == "STOPPING=1"
    assert messages[1:-1].count("WATCHDOG=1") >= 3


def test_heartbeat_stops_when_the_event_loop_is_blocked(qtbot, notify_socket) -> None:  # type: ignore[no-untyped-def]
    import time

    path, server = notify_socket
    beat = lifecycle.Heartbeat(
        sdnotify.Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "300000"})
    )
    beat.ready()
    qtbot.wait(250)
    _messages(server)
    time.sleep(0.6)  # the GUI thread hangs: no timer can fire
    assert _messages(server) == []
    qtbot.wait(250)
    assert "WATCHDOG=1" in _messages(server)  # back when the loop runs again
    beat.close()


def test_no_notify_socket_is_a_quiet_no_op(qtbot) -> None:  # type: ignore[no-untyped-def]
    beat = lifecycle.Heartbeat(sdnotify.Notifier({}))
    beat.ready()
    beat.beat()
    beat.stopping()
    assert beat.beats == 0 and beat.interval_ms is None


class _Session:
    def __init__(self, path: Path) -> None:
        self.settings = settings_mod.Settings()
        self.settings_path = path
        self.volume = self.settings.music.volume

    def remember_state(self) -> None:
        self.settings.music.volume = self.volume

    def save_settings(self) -> bool:
        settings_mod.save(self.settings, self.settings_path)
        return True


def test_autosave_writes_when_the_settings_change(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    session = _Session(tmp_path / "settings.toml")
    saver = lifecycle.AutoSave(session, interval_ms=50)
    assert not saver.check()
    assert not session.settings_path.exists()
    session.volume = 0.42
    saver.start()
    qtbot.waitUntil(lambda: saver.saves == 1, timeout=2000)
    saver.stop()
    assert settings_mod.load(session.settings_path).settings.music.volume == pytest.approx(0.42)
    assert not saver.check()  # unchanged: not written again
    # atomic: no temporary file left beside it
    assert [p.name for p in tmp_path.iterdir()] == ["settings.toml"]

"""Keeping the screen awake over a real session D-Bus, against a stand-in screen saver service.

Runs only where ``dbus-run-session`` exists (Debian: dbus-daemon); it starts a private bus, a small
``org.freedesktop.ScreenSaver`` written with QtDBus that reports inhibits and drops them when the
caller leaves the bus, and MoodPlayer's ``ScreenAwake`` as the client.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SERVICE = r"""
# A stand-in org.freedesktop.ScreenSaver: reports inhibits, drops those whose caller left the bus.
import sys
from PySide6.QtCore import QCoreApplication, QObject, Slot
from PySide6.QtDBus import QDBusConnection, QDBusMessage, QDBusServiceWatcher

app = QCoreApplication(sys.argv)
bus = QDBusConnection.sessionBus()
holders = {}


class Saver(QObject):
    def __init__(self):
        super().__init__()
        self.watcher = QDBusServiceWatcher(self)
        self.watcher.setConnection(bus)
        self.watcher.setWatchMode(QDBusServiceWatcher.WatchModeFlag.WatchForUnregistration)
        self.watcher.serviceUnregistered.connect(self.gone)
        self.cookie = 0

    @Slot(str, str, QDBusMessage, result="uint")
    def Inhibit(self, app_name, reason, message):
        caller = message.service()
        self.cookie += 1
        holders[caller] = (app_name, reason)
        self.watcher.addWatchedService(caller)
        print("INHIBIT", app_name, reason, flush=True)
        return self.cookie

    def gone(self, name):
        if holders.pop(name, None):
            print("RELEASED", name, flush=True)


saver = Saver()
path, name = "/org/freedesktop/ScreenSaver", "org.freedesktop.ScreenSaver"
exported = bus.registerObject(path, name, saver, QDBusConnection.RegisterOption.ExportAllSlots)
print("READY", exported, bus.registerService(name), flush=True)
app.exec()
"""

CLIENT = r"""
import subprocess, sys
service = subprocess.Popen([sys.executable, sys.argv[1]], stdout=subprocess.PIPE, text=True)
print(service.stdout.readline().strip(), flush=True)
from PySide6.QtCore import QCoreApplication
app = QCoreApplication([])
from app.ui.kiosk_awake import ScreenAwake, find_backend
backend = find_backend()
print("BACKEND", backend.name if backend else None, flush=True)
awake = ScreenAwake(backend)
for _ in range(2):
    print("HOLD", awake.hold(), flush=True)
    print(service.stdout.readline().strip(), flush=True)
    awake.release()
    print(service.stdout.readline().strip(), flush=True)
service.terminate()
service.wait()
"""


@pytest.mark.skipif(shutil.which("dbus-run-session") is None, reason="needs dbus-run-session")
def test_screen_saver_inhibit_over_dbus_is_held_and_released(tmp_path: Path) -> None:
    service = tmp_path / "screensaver.py"
    service.write_text(SERVICE)
    client = tmp_path / "client.py"
    client.write_text(CLIENT)
    done = subprocess.run(
        ["dbus-run-session", "--", sys.executable, str(client), str(service)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in done.stdout.splitlines() if line]
    assert done.returncode == 0, done.stderr
    assert lines[0] == "READY True True", done.stderr
    assert lines[1] == "BACKEND org.freedesktop.ScreenSaver"
    for start in (2, 5):
        assert lines[start] == "HOLD True"
        assert lines[start + 1] == "INHIBIT MoodPlayer Playing music in kiosk mode"
        assert lines[start + 2].startswith("RELEASED :")

"""Keep the screen awake while the kiosk plays music, where the platform allows it.

Linux: the ``org.freedesktop.ScreenSaver`` ``Inhibit`` call on the session D-Bus (QtDBus), else
``xdg-screensaver suspend <window>`` (X11). Windows: ``SetThreadExecutionState``. macOS:
``caffeinate -d -w <pid>``. Where none works, one log line says so and the kiosk runs on (turn the
screen's power saving off in the system settings).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from typing import Any, Protocol

from app import APP_NAME

log = logging.getLogger(__name__)


class AwakeBackend(Protocol):
    name: str

    def hold(self, reason: str) -> bool:
        """Start keeping the screen on; False when it did not work."""

    def release(self) -> None: ...


class DBusScreenSaver:
    """``org.freedesktop.ScreenSaver.Inhibit`` over the session bus (GNOME, KDE, XFCE, ...).

    The inhibit is made on a private bus connection and released by closing that connection:
    screen savers drop the inhibits of a client that leaves the bus, so there is no cookie to pass
    back as an unsigned integer.
    """

    name = "org.freedesktop.ScreenSaver"
    _CONNECTION = "moodplayer-screen-awake"

    def __init__(self) -> None:
        from PySide6.QtDBus import QDBusConnection, QDBusConnectionInterface

        bus = QDBusConnection.sessionBus()
        if not bus.isConnected():
            raise OSError("no D-Bus session bus")
        interface: QDBusConnectionInterface = bus.interface()
        registered = interface.isServiceRegistered("org.freedesktop.ScreenSaver")
        if not registered.value():
            raise OSError("no screen saver service on the session bus")
        self._connected = False

    def hold(self, reason: str) -> bool:
        from PySide6.QtDBus import QDBusConnection, QDBusInterface, QDBusMessage

        bus = QDBusConnection.connectToBus(QDBusConnection.BusType.SessionBus, self._CONNECTION)
        self._connected = True
        iface = QDBusInterface(
            "org.freedesktop.ScreenSaver",
            "/org/freedesktop/ScreenSaver",
            "org.freedesktop.ScreenSaver",
            bus,
        )
        reply = iface.call("Inhibit", APP_NAME, reason)
        if reply.type() == QDBusMessage.MessageType.ErrorMessage or not reply.arguments():
            log.info("the screen saver refused to stay off: %s", reply.errorMessage())
            self.release()
            return False
        return True

    def release(self) -> None:
        from PySide6.QtDBus import QDBusConnection

        if self._connected:
            self._connected = False
            QDBusConnection.disconnectFromBus(self._CONNECTION)


class XdgScreensaver:
    """``xdg-screensaver suspend <window id>`` (X11); it ends when the window closes."""

    name = "xdg-screensaver"

    def __init__(self, window_id: Callable[[], int]) -> None:
        program = shutil.which("xdg-screensaver")
        if program is None or not os.environ.get("DISPLAY"):
            raise OSError("xdg-screensaver or an X display is missing")
        self._program = program
        self._window_id = window_id
        self._held: int | None = None

    def hold(self, reason: str) -> bool:
        wid = self._window_id()
        done = subprocess.run(
            [self._program, "suspend", hex(wid)], capture_output=True, timeout=10, check=False
        )
        if done.returncode != 0:
            log.info("xdg-screensaver suspend failed: %s", done.stderr.decode(errors="replace"))
            return False
        self._held = wid
        return True

    def release(self) -> None:
        if self._held is None:
            return
        wid, self._held = self._held, None
        subprocess.run(
            [self._program, "resume", hex(wid)], capture_output=True, timeout=10, check=False
        )


class WindowsExecutionState:
    name = "SetThreadExecutionState"

    _CONTINUOUS = 0x80000000
    _SYSTEM_REQUIRED = 0x00000001
    _DISPLAY_REQUIRED = 0x00000002

    def __init__(self) -> None:
        if os.name != "nt":
            raise OSError("not Windows")
        import ctypes

        self._kernel32: Any = getattr(ctypes, "windll").kernel32  # noqa: B009

    def hold(self, reason: str) -> bool:
        flags = self._CONTINUOUS | self._SYSTEM_REQUIRED | self._DISPLAY_REQUIRED
        return bool(self._kernel32.SetThreadExecutionState(flags))

    def release(self) -> None:
        self._kernel32.SetThreadExecutionState(self._CONTINUOUS)


class MacCaffeinate:
    name = "caffeinate"

    def __init__(self) -> None:
        program = shutil.which("caffeinate") if sys.platform == "darwin" else None
        if program is None:
            raise OSError("not macOS")
        self._program: str = program
        self._process: subprocess.Popen[bytes] | None = None

    def hold(self, reason: str) -> bool:
        self._process = subprocess.Popen([self._program, "-d", "-w", str(os.getpid())])
        return True

    def release(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            process.wait(5)


def find_backend(window_id: Callable[[], int] | None = None) -> AwakeBackend | None:
    """The first way to keep the screen on that works here, or None."""
    makers: list[Callable[[], AwakeBackend]] = [WindowsExecutionState, MacCaffeinate]
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        makers.append(DBusScreenSaver)
        if window_id is not None:
            wid = window_id
            makers.append(lambda: XdgScreensaver(wid))
    reasons = []
    for make in makers:
        try:
            return make()
        except (OSError, ImportError) as exc:
            reasons.append(str(exc))
    log.debug("no way to keep the screen awake: %s", "; ".join(reasons))
    return None


class ScreenAwake:
    """Holds the screen on while ``hold`` is in force; ``release`` lets it sleep again.

    ``backend`` defaults to ``find_backend()`` (looked up at the first ``hold``). Without one,
    a single log line says the screen may sleep.
    """

    def __init__(
        self,
        backend: AwakeBackend | None = None,
        *,
        find: Callable[[], AwakeBackend | None] | None = None,
    ) -> None:
        self._backend = backend
        self._find = find if backend is None else None
        if backend is None and find is None:
            self._find = find_backend
        self._held = False
        self._warned = False

    @property
    def held(self) -> bool:
        return self._held

    @property
    def backend_name(self) -> str:
        return self._backend.name if self._backend is not None else "none"

    def hold(self, reason: str = "Playing music in kiosk mode") -> bool:
        if self._held:
            return True
        if self._backend is None and self._find is not None:
            find, self._find = self._find, None
            self._backend = find()
        if self._backend is None:
            if not self._warned:
                self._warned = True
                log.warning(
                    "cannot keep the screen awake here (no screen saver service found); "
                    "turn the display's power saving off in the system settings"
                )
            return False
        try:
            self._held = self._backend.hold(reason)
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("keeping the screen awake failed (%s): %s", self._backend.name, exc)
            self._held = False
        if self._held:
            log.info("screen kept awake (%s)", self._backend.name)
        return self._held

    def release(self) -> None:
        if not self._held or self._backend is None:
            return
        self._held = False
        try:
            self._backend.release()
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("letting the screen sleep failed (%s): %s", self._backend.name, exc)
        log.info("screen may sleep again")

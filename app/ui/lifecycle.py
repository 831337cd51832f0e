"""The app's life as a service: signals end it cleanly, the GUI thread's heartbeat proves it is
alive, and the listener's choices are saved as they change.

- ``SignalWatcher``: SIGTERM, SIGHUP and SIGINT wake the event loop through
  ``signal.set_wakeup_fd`` and a ``QSocketNotifier`` (a Python handler alone would wait until Qt
  next returns to Python) and emit ``received(signum)`` on the GUI thread; the app then quits by its
  normal path (``aboutToQuit`` -> save everything).
- ``Heartbeat``: ``READY=1`` once the window is up, ``WATCHDOG=1`` from a ``QTimer`` on the GUI
  thread (a third of ``WATCHDOG_USEC``), ``STOPPING=1`` at shut-down (:mod:`app.sdnotify`). A hung
  GUI thread stops the beats, and systemd (``WatchdogSec=``) or the supervisor restarts the app.
- ``AutoSave``: every ``interval_ms`` copies the listener's state into the settings and writes them
  (atomically) when they differ from what was last written, so a kill loses at most that much.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
from collections.abc import Callable, Iterable
from types import FrameType
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Signal

from app import sdnotify
from app import settings as settings_mod

if TYPE_CHECKING:
    from app.ui.session import Session

log = logging.getLogger(__name__)

QUIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class SignalWatcher(QObject):
    """Delivers ``signals`` to the GUI thread as ``received(int)``."""

    received = Signal(int)

    def __init__(
        self, signals: Iterable[int] = QUIT_SIGNALS, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._signals = tuple(signals)
        self._previous: dict[int, Any] = {}
        self._old_wakeup = -1
        # a pipe (no socket of any kind: the privacy test counts sockets); Windows needs a socket
        if os.name == "nt":  # pragma: no cover - Windows
            a, b = socket.socketpair()
            a.setblocking(False)
            b.setblocking(False)
            self._keep = (a, b)
            self._read_fd, self._write_fd = a.fileno(), b.fileno()
        else:
            self._read_fd, self._write_fd = os.pipe()
            os.set_blocking(self._read_fd, False)
            os.set_blocking(self._write_fd, False)
        self._notifier = QSocketNotifier(self._read_fd, QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._read)
        self.installed = False

    def install(self) -> bool:
        """Take over the signals (main thread only); False where that is not possible."""
        try:
            self._old_wakeup = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        except ValueError:  # not the main thread
            return False
        for number in self._signals:
            self._previous[number] = signal.signal(number, _note)
        self.installed = True
        return True

    def uninstall(self) -> None:
        if not self.installed:
            return
        self.installed = False
        for number, previous in self._previous.items():
            signal.signal(number, previous)
        self._previous.clear()
        with contextlib.suppress(ValueError):
            signal.set_wakeup_fd(self._old_wakeup)
        self._notifier.setEnabled(False)
        if os.name != "nt":
            os.close(self._read_fd)
            os.close(self._write_fd)

    def _read(self) -> None:
        try:
            data = os.read(self._read_fd, 64) if os.name != "nt" else self._keep[0].recv(64)
        except OSError:  # BlockingIOError included: nothing to read
            return
        for number in data:
            if number in self._signals:
                log.info("%s received: ending cleanly", signal.Signals(number).name)
                self.received.emit(number)


def _note(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler: nothing to do, the wakeup fd already carries the number."""


class Heartbeat(QObject):
    """Tells systemd (or the supervisor) that the GUI thread is alive; a no-op without
    ``NOTIFY_SOCKET``."""

    def __init__(
        self, notifier: sdnotify.Notifier | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.notifier = notifier if notifier is not None else sdnotify.Notifier()
        self.beats = 0
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.beat)
        interval = self.notifier.watchdog_s
        if interval is not None:
            self._timer.setInterval(max(200, int(interval * 1000 / 3)))

    @property
    def interval_ms(self) -> int | None:
        return self._timer.interval() if self.notifier.watchdog_s is not None else None

    def ready(self, status: str = "") -> None:
        """The window is up: READY=1, and the beats begin."""
        states = [sdnotify.READY] + ([f"STATUS={status}"] if status else [])
        if self.notifier.notify(*states):
            log.info("told the service manager we are ready")
        if self.notifier.watchdog_s is not None:
            self.beat()
            self._timer.start()

    def beat(self) -> None:
        if self.notifier.notify(sdnotify.WATCHDOG):
            self.beats += 1

    def stopping(self) -> None:
        self._timer.stop()
        self.notifier.notify(sdnotify.STOPPING)

    def close(self) -> None:
        self._timer.stop()
        self.notifier.close()


class AutoSave(QObject):
    """Saves the session's settings when they change (checked every ``interval_ms``)."""

    def __init__(
        self, session: Session, interval_ms: int = 2000, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.saves = 0
        self._last = self._snapshot()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)

    def _snapshot(self) -> dict[str, Any]:
        return settings_mod.to_dict(self.session.settings)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def check(self) -> bool:
        """Copy the listener's state into the settings; save when anything differs."""
        self.session.remember_state()
        now = self._snapshot()
        if now == self._last:
            return False
        if self.session.save_settings():
            self._last = now
            self.saves += 1
            log.debug("settings saved (changed)")
            return True
        return False

    def mark_saved(self) -> None:
        self._last = self._snapshot()


def connect_quit(watcher: SignalWatcher, quit_app: Callable[[], object]) -> None:
    watcher.received.connect(lambda _signum: quit_app())

"""The systemd notify protocol, written directly (no libsystemd): one datagram per message to the
unix socket named by ``NOTIFY_SOCKET``.

``READY=1`` when the window is up, ``WATCHDOG=1`` as the heartbeat (at least every
``WATCHDOG_USEC`` microseconds, or systemd kills and restarts the app), ``STOPPING=1`` when a
clean shut-down begins. The supervisor (``moodplayer --supervised``) offers the same socket to its
child, so both ways of running the kiosk restart a hung window. Without ``NOTIFY_SOCKET`` every call
is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)

READY = "READY=1"
WATCHDOG = "WATCHDOG=1"
STOPPING = "STOPPING=1"


def socket_address(environ: Mapping[str, str]) -> str | None:
    """The datagram socket to notify (``@name`` is Linux's abstract namespace), or None."""
    address = environ.get("NOTIFY_SOCKET", "")
    if not address or address[0] not in "/@":
        return None
    return "\0" + address[1:] if address[0] == "@" else address


def watchdog_interval(environ: Mapping[str, str], pid: int | None = None) -> float | None:
    """Seconds within which a heartbeat must arrive (``WATCHDOG_USEC``), or None when no
    watchdog watches this process (``WATCHDOG_PID`` names another one, or nothing is set)."""
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    owner = environ.get("WATCHDOG_PID", "")
    if owner and owner != str(os.getpid() if pid is None else pid):
        return None
    return usec / 1_000_000


class Notifier:
    """Sends notify messages to ``NOTIFY_SOCKET``; keeps one socket open. Never raises: a message
    that cannot be sent is logged once at debug level and the app runs on."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = socket_address(env)
        self.watchdog_s = watchdog_interval(env)
        self._socket: socket.socket | None = None
        self.sent = 0

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *states: str) -> bool:
        if self.address is None or not states:
            return False
        try:
            if self._socket is None:
                self._socket = socket.socket(
                    socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                )
            self._socket.sendto("\n".join(states).encode("utf-8"), self.address)
        except OSError as exc:
            log.debug("notify %s failed: %s", states, exc)
            return False
        self.sent += 1
        return True

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

"""One MoodPlayer per user: a second launch hands over to the first and exits 0.

The first instance holds a lock file (``QLockFile``: a crashed holder's stale lock is taken over)
and listens on a local socket. A later launch cannot take the lock, connects, sends ``raise`` and
leaves; the first one emits ``activated`` (the window comes to the front). So two players never
fight over the mixer and the camera.

The name is derived from the settings folder, so test runs and portable set-ups with their own
``XDG_CONFIG_HOME`` are separate users.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

MESSAGE = b"raise\n"
ANSWER = b"ok\n"


def instance_name(config_dir: Path) -> str:
    digest = hashlib.sha256(str(config_dir.resolve()).encode("utf-8")).hexdigest()[:16]
    return f"moodplayer-{digest}"


class SingleInstance(QObject):
    """``claim()`` True: this is the first instance (it now listens); False: another one runs."""

    activated = Signal()

    def __init__(self, config_dir: Path, lock_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = instance_name(config_dir)
        lock_dir.mkdir(parents=True, exist_ok=True)
        self._lock = QLockFile(str(lock_dir / f"{self.name}.lock"))
        self._lock.setStaleLockTime(0)  # stale only when its process is gone
        self._server: QLocalServer | None = None

    def claim(self, wait_s: float = 3.0) -> bool:
        """Become the first instance, or hand over to the running one (True = carry on)."""
        deadline = time.monotonic() + wait_s
        while True:
            if self._lock.tryLock(100):
                self._listen()
                return True
            if self._hand_over():
                log.info("another MoodPlayer is running; asked it to come to the front")
                return False
            if time.monotonic() >= deadline:
                # The other one holds the lock but does not answer (hung or still starting):
                # do not start a second player beside it.
                log.warning("another MoodPlayer holds the lock but does not answer")
                return False
            time.sleep(0.1)

    def _listen(self) -> None:
        QLocalServer.removeServer(self.name)  # a socket file left by a crash
        server = QLocalServer(self)
        if os.name == "nt":  # pragma: no cover - Windows: a named pipe for this user only
            server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        # Elsewhere the socket file gets the umask's modes (others may not write, so not connect),
        # and Qt needs no temporary folder to make it in.
        if not server.listen(self.name):
            log.warning(
                "single instance: cannot listen on %s (%s)", self.name, server.errorString()
            )
            return
        server.newConnection.connect(self._on_connection)
        self._server = server

    def _hand_over(self) -> bool:
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(500):
            return False
        socket.write(MESSAGE)
        socket.flush()
        answered = socket.waitForReadyRead(1500) and bytes(socket.readAll().data()) == ANSWER
        socket.disconnectFromServer()
        return answered

    def _on_connection(self) -> None:
        assert self._server is not None
        while self._server.hasPendingConnections():
            socket = self._server.nextPendingConnection()
            socket.readyRead.connect(lambda s=socket: self._on_message(s))
            socket.disconnected.connect(socket.deleteLater)

    def _on_message(self, socket: QLocalSocket) -> None:
        if bytes(socket.readAll().data()).startswith(MESSAGE.strip()):
            socket.write(ANSWER)
            socket.flush()
            self.activated.emit()

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._lock.isLocked():
            self._lock.unlock()

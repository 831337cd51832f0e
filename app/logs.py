"""One logging set-up for the whole app: stderr, a rotating file in the user log dir, and the last
lines kept in memory for error reports."""

from __future__ import annotations

import collections
import contextlib
import io
import logging
import logging.handlers
import os
from pathlib import Path

from app import paths

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LOG_FILE_BYTES = 1_000_000
LOG_FILE_COUNT = 5


class RecentLines(logging.Handler):
    """Keeps the last ``capacity`` formatted lines (for the crash dialog and reports)."""

    def __init__(self, capacity: int = 500) -> None:
        super().__init__()
        self.lines: collections.deque[str] = collections.deque(maxlen=capacity)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


recent = RecentLines()


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files only their owner can read (0600), each new one included."""

    def _open(self) -> io.TextIOWrapper:
        stream = super()._open()
        with contextlib.suppress(OSError):  # a file system without modes
            os.chmod(self.baseFilename, 0o600)
        return stream


def setup(debug: bool = False, log_file: bool = True, directory: Path | None = None) -> Path | None:
    """Configure the root logger once; returns the log file path (None when not logging to file)."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    formatter = logging.Formatter(_FORMAT)
    console = logging.StreamHandler()
    console.setLevel(logging.DEBUG if debug else logging.WARNING)
    console.setFormatter(formatter)
    root.addHandler(console)
    recent.setFormatter(formatter)
    root.addHandler(recent)
    if not log_file:
        return None
    folder = directory if directory is not None else paths.log_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "moodplayer.log"
        rotating = PrivateRotatingFileHandler(
            target, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_COUNT, encoding="utf-8"
        )
    except OSError as exc:
        logging.getLogger(__name__).warning("no log file (%s); logging to the console only", exc)
        return None
    rotating.setFormatter(formatter)
    root.addHandler(rotating)
    return target

"""One logging set-up for the whole app: stderr, a rotating file in the user log dir (readable by
the user alone), and the last lines kept in memory for the crash dialog."""

from __future__ import annotations

import collections
import contextlib
import io
import logging
import logging.handlers
import os
import sys
from pathlib import Path
from typing import cast

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


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file that only its user may read (0600), rotated files included."""

    def _open(self) -> io.TextIOWrapper:
        stream = open(  # noqa: SIM115 - the handler owns and closes it
            self.baseFilename,
            self.mode,
            encoding=self.encoding,
            errors=self.errors,
            opener=_private_opener,
        )
        with contextlib.suppress(OSError):  # a file made by an older version; or no modes here
            os.chmod(self.baseFilename, 0o600)
        return cast(io.TextIOWrapper, stream)


def last_lines(count: int = 40) -> list[str]:
    """The newest ``count`` log lines kept in memory, oldest first."""
    lines = list(recent.lines)
    return lines[-count:] if count > 0 else []


# the handlers ``setup`` added, removed again by the next ``setup`` (others, such as a test
# runner's, are left alone)
_installed: list[logging.Handler] = []


def setup(debug: bool = False, log_file: bool = True, directory: Path | None = None) -> Path | None:
    """Configure the root logger; returns the log file path (None when not logging to file).

    Called again, it replaces the handlers it added before. Without a console (pythonw) there is
    no stderr handler."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    while _installed:
        handler = _installed.pop()
        root.removeHandler(handler)
        if handler is not recent:
            handler.close()
    formatter = logging.Formatter(_FORMAT)
    if sys.stderr is not None:
        console = logging.StreamHandler()
        console.setLevel(logging.DEBUG if debug else logging.WARNING)
        console.setFormatter(formatter)
        _add(root, console)
    recent.setFormatter(formatter)
    _add(root, recent)
    if not log_file:
        return None
    folder = directory if directory is not None else paths.log_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = folder / "moodplayer.log"
        rotating = PrivateRotatingFileHandler(
            target, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_COUNT, encoding="utf-8"
        )
    except OSError as exc:
        logging.getLogger(__name__).warning("no log file (%s); logging to the console only", exc)
        return None
    rotating.setFormatter(formatter)
    _add(root, rotating)
    return target


def _add(root: logging.Logger, handler: logging.Handler) -> None:
    root.addHandler(handler)
    _installed.append(handler)

"""Crash output that never needs a console: ``faulthandler`` into ``crash.log`` in the log folder,
unhandled exceptions (main thread and others) into the log, and a console-less start-up.

Under ``pythonw`` (a double-click on Windows) ``sys.stdout`` and ``sys.stderr`` are None:
:func:`ensure_streams` points them at the null device so that nothing (``print``,
``faulthandler``, a logging handler) fails for want of a console. The window's crash file is
``paths.log_dir()/crash.log``; one left non-empty by a crash is moved to ``crash.previous.log``
at the next start and mentioned in the log (and in the window's status bar), without stopping
the start.

The headless commands run in a terminal and keep ``faulthandler`` on stderr. Where
``faulthandler`` was already enabled by someone else (``-X faulthandler``, a test runner), it
is left as it is.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import os
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from app import paths

log = logging.getLogger(__name__)

CRASH_FILE = "crash.log"
PREVIOUS_FILE = "crash.previous.log"


def ensure_streams() -> None:
    """Give a missing ``sys.stdout``/``sys.stderr`` (pythonw, no console) the null device."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115


# whether ``faulthandler`` is enabled by us (then it may be pointed elsewhere) or by someone else
_enabled_here = False


def enable_on_stderr() -> None:
    """``faulthandler`` on stderr, for the terminal commands and the first moments of start-up."""
    global _enabled_here
    if faulthandler.is_enabled():
        return
    try:
        faulthandler.enable(all_threads=True)
    except (AttributeError, OSError, RuntimeError, ValueError) as exc:  # no usable stderr
        log.debug("faulthandler not enabled: %s", exc)
        return
    _enabled_here = True


@dataclass
class CrashLog:
    """The open crash file, and the one a previous crash left (None if the last run ended well)."""

    path: Path
    previous: Path | None
    stream: IO[str]
    faulthandler: bool  # whether faulthandler writes into ``stream``
    _hooks: tuple[Any, Any] | None = None

    def write(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.write(text)
            self.stream.flush()

    def install_hooks(self) -> None:
        """``sys.excepthook`` and ``threading.excepthook``: log the error (and for the main thread,
        whose error ends the program, write it into the crash file too)."""
        if self._hooks is None:
            self._hooks = (sys.excepthook, threading.excepthook)
        sys.excepthook = self.excepthook
        threading.excepthook = thread_excepthook

    def uninstall_hooks(self) -> None:
        if self._hooks is not None:
            if sys.excepthook == self.excepthook:
                sys.excepthook = self._hooks[0]
            if threading.excepthook is thread_excepthook:
                threading.excepthook = self._hooks[1]
            self._hooks = None

    def excepthook(
        self, kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        text = "".join(traceback.format_exception(kind, value, tb))
        log.critical("unhandled error, MoodPlayer stops:\n%s", text)
        self.write(text)


def thread_excepthook(args: threading.ExceptHookArgs) -> None:
    """Log an exception that ended a thread (the default hook prints to a stderr that may be
    missing)."""
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    log.error(
        "unhandled error in thread %s",
        name,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),  # type: ignore[arg-type]
    )


_current: CrashLog | None = None


def start(directory: Path | None = None) -> CrashLog | None:
    """Open the crash file (once per process), move a crash file a crash left to
    ``crash.previous.log`` and say so in the log, point ``faulthandler`` at the new file and
    install the exception hooks. None when the log folder cannot be written (then
    ``faulthandler`` stays on stderr)."""
    global _current, _enabled_here
    if _current is not None:
        return _current
    folder = directory if directory is not None else paths.log_dir()
    target = folder / CRASH_FILE
    previous: Path | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if target.is_file() and target.stat().st_size > 0:
            previous = folder / PREVIOUS_FILE
            os.replace(target, previous)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.chmod(target, 0o600)
        stream = os.fdopen(fd, "a", encoding="utf-8")
    except OSError as exc:
        log.warning("no crash file in %s (%s); crash details go to stderr", folder, exc)
        enable_on_stderr()
        return None
    ours = not faulthandler.is_enabled() or _enabled_here
    if ours:
        faulthandler.enable(file=stream, all_threads=True)
        _enabled_here = True
    _current = CrashLog(target, previous, stream, faulthandler=ours)
    if previous is not None:
        log.warning("MoodPlayer stopped unexpectedly last time; the details are in %s", previous)
    _current.install_hooks()
    return _current


def current() -> CrashLog | None:
    """The crash file opened by :func:`start` in this process, if any."""
    return _current

"""A small supervisor: runs MoodPlayer as a child process and brings it back after a crash.

``moodplayer --supervised [options]`` runs ``python -m app [options]`` and:

- restarts the child when it crashes (a non-zero exit or a signal), waiting 1 s, then 2, 4, ... up
  to 60 s between restarts; the wait goes back to 1 s once a run lasted 5 minutes;
- logs each reason: the exit code or signal and the child's last lines on stderr (which are also
  passed through to the supervisor's own stderr, e.g. into the systemd journal);
- stops when the child exits 0 (a deliberate quit, e.g. the kiosk admin PIN), with a usage error
  (2: restarting cannot fix the command line) or after Ctrl+C (130);
- forwards SIGTERM and SIGINT to the child, waits for it (killing it after 10 s), and stops.

Under systemd use the unit in ``assets/moodplayer.service`` (``Restart=on-failure``) instead: one
supervisor is enough.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import logging.handlers
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

from app import paths
from app.errors import ExitStatus

log = logging.getLogger(__name__)

# Exit codes after which a restart cannot help: a deliberate quit, a wrong command line, Ctrl+C.
FINAL_CODES = frozenset({ExitStatus.OK, ExitStatus.USAGE, ExitStatus.INTERRUPTED})
STDERR_LINES = 20


@dataclass
class Backoff:
    """Seconds to wait before restart number n: ``initial`` doubling up to ``maximum``; a run that
    lasted ``reset_after`` seconds counts as healthy and starts the doubling again."""

    initial: float = 1.0
    maximum: float = 60.0
    reset_after: float = 300.0
    _next: float = 0.0

    def __post_init__(self) -> None:
        self._next = self.initial

    def delay(self, ran_for: float) -> float:
        if ran_for >= self.reset_after:
            self._next = self.initial
        delay = self._next
        self._next = min(self.maximum, self._next * 2.0)
        return delay


def describe_exit(code: int) -> str:
    """``exit code 3`` or ``killed by signal SIGSEGV (11)`` for a ``Popen.returncode``."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "an unknown signal"
        return f"killed by signal {name} ({-code})"
    return f"exit code {code}"


def default_command(argv: Sequence[str]) -> list[str]:
    """The child's command line: this Python running the app with the supervisor's options."""
    return [sys.executable, "-m", "app", *argv]


class _StderrTail:
    """Reads the child's stderr on a thread: passes each line on and keeps the last ones."""

    def __init__(self, stream: IO[bytes], echo: IO[str] | None) -> None:
        self.lines: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._stream = stream
        self._echo = echo
        self._thread = threading.Thread(target=self._run, name="child-stderr", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for raw in iter(self._stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.lines.append(line)
            if self._echo is not None:
                try:
                    self._echo.write(line + "\n")
                    self._echo.flush()
                except (OSError, ValueError):  # pragma: no cover - our stderr went away
                    self._echo = None
        self._stream.close()

    def join(self, timeout: float = 5.0) -> list[str]:
        self._thread.join(timeout)
        return list(self.lines)


class Supervisor:
    """Runs ``command`` until it exits for good. ``sleep(seconds)`` must return early (True) when
    a stop was requested; ``clock`` measures how long each run lasted."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        backoff: Backoff | None = None,
        sleep: Callable[[float], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        echo: IO[str] | None = None,
        env: dict[str, str] | None = None,
        stop_timeout: float = 10.0,
    ) -> None:
        self.command = list(command)
        self.stop_timeout = stop_timeout
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.echo = echo
        self.env = env
        self.restarts = 0
        # (exit description, last stderr lines) for each crash, oldest first
        self.crashes: list[tuple[str, list[str]]] = []
        self._stop = threading.Event()
        self._sleep = sleep if sleep is not None else self._stop.wait
        self._child: subprocess.Popen[bytes] | None = None
        # re-entrant: the signal handler runs on the main thread, which may hold it
        self._lock = threading.RLock()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def request_stop(self, signum: int = signal.SIGTERM) -> None:
        """Stop supervising and pass ``signum`` on to the running child, if any; a child still
        running ``stop_timeout`` seconds later is killed."""
        self._stop.set()
        with self._lock:
            child = self._child
        if child is not None and child.poll() is None:
            log.info("supervisor: passing %s to the app", signal.Signals(signum).name)
            with contextlib.suppress(OSError):  # it exited meanwhile
                child.send_signal(signum)
            timer = threading.Timer(self.stop_timeout, self._kill, args=(child,))
            timer.daemon = True
            timer.start()

    def _kill(self, child: subprocess.Popen[bytes]) -> None:
        if child.poll() is None:
            log.warning(
                "supervisor: the app did not stop within %.0f s; killing it", self.stop_timeout
            )
            with contextlib.suppress(OSError):
                child.kill()

    def _run_once(self) -> tuple[int, list[str]]:
        child = subprocess.Popen(self.command, stderr=subprocess.PIPE, env=self.env)
        with self._lock:
            self._child = child
        if self._stop.is_set():  # a stop arrived while we were starting it
            self.request_stop()
        assert child.stderr is not None
        tail = _StderrTail(child.stderr, self.echo)
        code = child.wait()
        with self._lock:
            self._child = None
        return code, tail.join()

    def run(self) -> int:
        log.info("supervisor: starting %s", " ".join(self.command))
        while True:
            started = self.clock()
            try:
                code, lines = self._run_once()
            except OSError as exc:
                log.error("supervisor: cannot start the app (%s): %s", self.command[0], exc)
                return ExitStatus.ERROR
            ran_for = self.clock() - started
            if self._stop.is_set():
                log.info("supervisor: the app stopped (%s); stopping as asked", describe_exit(code))
                return 0 if code in (0, -signal.SIGTERM, -signal.SIGINT) else _exit_status(code)
            if code in FINAL_CODES:
                log.info("supervisor: the app ended (%s); not restarting", describe_exit(code))
                return code
            reason = describe_exit(code)
            self.crashes.append((reason, lines))
            delay = self.backoff.delay(ran_for)
            last = "\n    ".join(lines[-10:]) if lines else "(nothing on stderr)"
            log.error(
                "supervisor: the app crashed after %.1f s (%s); restarting in %.0f s. "
                "Last lines on stderr:\n    %s",
                ran_for,
                reason,
                delay,
                last,
            )
            self._sleep(delay)
            if self._stop.is_set():
                log.info("supervisor: stop requested while waiting; not restarting")
                return _exit_status(code)
            self.restarts += 1
            log.info("supervisor: restart %d", self.restarts)


def child_environment(base: Mapping[str, str]) -> dict[str, str]:
    """The app's environment: ours, plus ``SDL_NO_SIGNAL_HANDLERS=1`` so that SDL (pygame's audio)
    does not swallow the SIGTERM we forward (it turns it into an SDL quit event nobody reads)."""
    env = dict(base)
    env.setdefault("SDL_NO_SIGNAL_HANDLERS", "1")
    return env


def _exit_status(code: int) -> int:
    """A shell-style status for a child's return code (128 + signal for a signal)."""
    return 128 - code if code < 0 else code


def _log_to_file() -> None:
    """The supervisor's own rotating log (the app keeps ``moodplayer.log``)."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    formatter = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    console = logging.StreamHandler()
    console.setFormatter(formatter)
    root.addHandler(console)
    try:
        folder = paths.log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            Path(folder) / "supervisor.log", maxBytes=1_000_000, backupCount=5, encoding="utf-8"
        )
    except OSError as exc:
        log.warning("supervisor: no log file (%s); logging to the console only", exc)
        return
    handler.setFormatter(formatter)
    root.addHandler(handler)


def run_supervised(
    argv: Sequence[str],
    *,
    command: Sequence[str] | None = None,
    sleep: Callable[[float], Any] | None = None,
    clock: Callable[[], float] = time.monotonic,
    backoff: Backoff | None = None,
    configure_logging: bool = True,
    quiet: bool = False,
) -> int:
    """Run the app (``argv`` are its options, without ``--supervised``) and restart it after
    crashes; returns the exit status for the process. SIGTERM/SIGINT are forwarded to the app.
    ``quiet`` keeps the app's stderr out of the supervisor's own (it is still logged on a crash)."""
    if configure_logging:
        _log_to_file()
    supervisor = Supervisor(
        command if command is not None else default_command(argv),
        backoff=backoff,
        sleep=sleep,
        clock=clock,
        echo=None if quiet else sys.stderr,
        env=child_environment(os.environ),
    )
    installed: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():

        def forward(signum: int, _frame: FrameType | None) -> None:
            supervisor.request_stop(signum)

        for sig in (signal.SIGTERM, signal.SIGINT):
            installed[sig] = signal.signal(sig, forward)
    try:
        return supervisor.run()
    finally:
        for number, previous in installed.items():
            signal.signal(number, previous)

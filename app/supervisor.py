"""A small supervisor: runs MoodPlayer as a child process and brings it back after a crash.

``moodplayer --supervised [options]`` runs ``python -m app [options]`` and:

- restarts the child when it crashes (a non-zero exit or a signal), waiting 1 s, then 2, 4, ... up
  to 60 s between restarts; the wait goes back to 1 s once a run lasted 5 minutes;
- logs each reason: the exit code or signal and the child's last lines on stderr (which are also
  passed through to the supervisor's own stderr, e.g. into the systemd journal);
- stops when the child exits 0 (a deliberate quit, e.g. the kiosk admin PIN), with a usage error
  (2: restarting cannot fix the command line), with a user error (1 and a last stderr line
  ``moodplayer: ...``: a bad option, setting or file; that line is logged as the reason) or after
  Ctrl+C (130);
- watches the child's heartbeat: it offers the child a systemd-style notify socket
  (``NOTIFY_SOCKET``, ``WATCHDOG_USEC``; see :mod:`app.sdnotify`). Once the child said
  ``READY=1`` (or sent a first ``WATCHDOG=1``), a gap of more than the watchdog interval between
  heartbeats means the window hangs: the child gets SIGABRT (its faulthandler writes the stacks to
  stderr, which is logged), SIGKILL 5 s later, and is restarted like a crash;
- forwards SIGTERM, SIGINT and SIGHUP to the child, waits for it (killing it after 10 s), and
  stops.

No PIN is ever logged: a ``--pin`` value in a command line is replaced by ``***``.

Under systemd use the unit in ``assets/moodplayer.service`` (``Type=notify``, ``WatchdogSec=``,
``Restart=on-failure``) instead: one supervisor is enough.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

from app import logs, paths
from app.errors import ExitStatus

log = logging.getLogger(__name__)

# Exit codes after which a restart cannot help: a deliberate quit, a wrong command line, Ctrl+C.
FINAL_CODES = frozenset({ExitStatus.OK, ExitStatus.USAGE, ExitStatus.INTERRUPTED})
STDERR_LINES = 20
# How the command line prints a UserError (app.cli.main): "moodplayer: <sentence>".
USER_ERROR_PREFIX = "moodplayer: "
# Heartbeat: the app must send WATCHDOG=1 at least this often (seconds) once it is ready.
WATCHDOG_S = 30.0
# A start that never says READY=1 within this long counts as hung as well.
START_TIMEOUT_S = 120.0
# After SIGABRT (stack dump), SIGKILL follows this much later.
ABORT_GRACE_S = 5.0


def redact(command: Sequence[str]) -> list[str]:
    """``command`` with the value of any ``--pin`` replaced by ``***``, for logging."""
    out: list[str] = []
    hide_next = False
    for word in command:
        if hide_next:
            out.append("***")
            hide_next = False
        elif word == "--pin":
            out.append(word)
            hide_next = True
        elif word.startswith("--pin="):
            out.append("--pin=***")
        else:
            out.append(word)
    return out


def user_error(code: int, lines: Sequence[str]) -> str | None:
    """The sentence of a user error (exit 1 whose last stderr line is ``moodplayer: ...``), or
    None. A Python crash also exits 1, but ends with a traceback line instead."""
    if code != ExitStatus.ERROR or not lines:
        return None
    last = lines[-1].strip()
    if last.startswith(USER_ERROR_PREFIX) and not any("Traceback" in line for line in lines):
        return last[len(USER_ERROR_PREFIX) :]
    return None


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


class _Watchdog:
    """The supervisor's end of the notify protocol for one child: a datagram socket the child
    writes READY=1 / WATCHDOG=1 / STOPPING=1 to, and a thread that aborts the child when its
    heartbeats stop."""

    def __init__(
        self,
        interval_s: float,
        start_timeout_s: float,
        clock: Callable[[], float],
        grace_s: float = ABORT_GRACE_S,
        on_ready: Callable[[], object] | None = None,
    ) -> None:
        self.on_ready = on_ready
        self.interval_s = interval_s
        self.start_timeout_s = start_timeout_s
        self.grace_s = grace_s
        self.clock = clock
        self.ready = False
        self.stopping = False
        self.beats = 0
        self.fired: str | None = None
        self._folder = tempfile.mkdtemp(prefix="moodplayer-notify-")
        self.path = os.path.join(self._folder, "notify")
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._socket.bind(self.path)
        self._socket.settimeout(0.1)
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def environment(self, base: Mapping[str, str]) -> dict[str, str]:
        env = dict(base)
        env["NOTIFY_SOCKET"] = self.path
        env["WATCHDOG_USEC"] = str(int(self.interval_s * 1_000_000))
        env.pop("WATCHDOG_PID", None)
        return env

    def watch(self, child: subprocess.Popen[bytes]) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(child,), name="child-watchdog", daemon=True
        )
        self._thread.start()

    def _run(self, child: subprocess.Popen[bytes]) -> None:
        started = last = self.clock()
        while not self._done.is_set() and child.poll() is None:
            try:
                message = self._socket.recv(4096).decode("utf-8", "replace")
            except TimeoutError:
                message = ""
            except OSError:
                return
            now = self.clock()
            for line in message.splitlines():
                if line == "READY=1" and not self.ready:
                    self.ready = True
                    last = now
                    log.info("supervisor: the app is ready")
                    if self.on_ready is not None:
                        self.on_ready()
                elif line == "WATCHDOG=1":
                    self.beats += 1
                    self.ready = True
                    last = now
                elif line == "STOPPING=1":
                    self.stopping = True
            if self.stopping:
                continue
            if self.ready and now - last > self.interval_s:
                self._abort(child, f"no heartbeat for {now - last:.1f} s (the window hangs)")
                return
            if not self.ready and now - started > self.start_timeout_s:
                self._abort(child, f"not ready after {now - started:.0f} s (the start hangs)")
                return

    def _abort(self, child: subprocess.Popen[bytes], why: str) -> None:
        self.fired = why
        log.error("supervisor: %s; stopping the app to restart it", why)
        with contextlib.suppress(OSError):
            child.send_signal(signal.SIGABRT)  # faulthandler dumps every thread's stack
            child.send_signal(signal.SIGCONT)  # a stopped (SIGSTOP) child must run to die
        if not self._done.wait(self.grace_s) and child.poll() is None:
            with contextlib.suppress(OSError):
                child.kill()

    def close(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(2.0)
        self._socket.close()
        shutil.rmtree(self._folder, ignore_errors=True)


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
        watchdog_s: float | None = WATCHDOG_S,
        start_timeout_s: float = START_TIMEOUT_S,
    ) -> None:
        self.command = list(command)
        self.stop_timeout = stop_timeout
        self.watchdog_s = watchdog_s
        self.start_timeout_s = start_timeout_s
        # why the watchdog stopped each hung run, oldest first
        self.hangs: list[str] = []
        # how many runs said READY=1
        self.readies = 0
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

    def _ready(self) -> None:
        self.readies += 1

    @property
    def child_pid(self) -> int | None:
        """The running app's process id (None between runs)."""
        with self._lock:
            return self._child.pid if self._child is not None else None

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
        watchdog = None
        env = self.env
        if self.watchdog_s:
            watchdog = _Watchdog(
                self.watchdog_s, self.start_timeout_s, time.monotonic, on_ready=self._ready
            )
            env = watchdog.environment(os.environ if env is None else env)
        try:
            child = subprocess.Popen(self.command, stderr=subprocess.PIPE, env=env)
            with self._lock:
                self._child = child
            if self._stop.is_set():  # a stop arrived while we were starting it
                self.request_stop()
            if watchdog is not None:
                watchdog.watch(child)
            assert child.stderr is not None
            tail = _StderrTail(child.stderr, self.echo)
            code = child.wait()
            with self._lock:
                self._child = None
            lines = tail.join()
        finally:
            if watchdog is not None:
                watchdog.close()
        if watchdog is not None and watchdog.fired:
            self.hangs.append(watchdog.fired)
        return code, lines

    def run(self) -> int:
        log.info("supervisor: starting %s", " ".join(redact(self.command)))
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
                if code == ExitStatus.USAGE and lines:
                    log.error("supervisor: the command line is wrong: %s", lines[-1])
                return code
            problem = user_error(code, lines)
            if problem is not None:
                log.error(
                    "supervisor: the app cannot start: %s. Not restarting: fix that and start "
                    "again.",
                    problem,
                )
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
        handler = logs.PrivateRotatingFileHandler(
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
    watchdog_s: float | None = WATCHDOG_S,
) -> int:
    """Run the app (``argv`` are its options, without ``--supervised``) and restart it after
    crashes or hangs; returns the exit status for the process. SIGTERM/SIGINT/SIGHUP are forwarded
    to the app.
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
        watchdog_s=watchdog_s,
    )
    installed: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():

        def forward(signum: int, _frame: FrameType | None) -> None:
            supervisor.request_stop(signum)

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            installed[sig] = signal.signal(sig, forward)
    try:
        return supervisor.run()
    finally:
        for number, previous in installed.items():
            signal.signal(number, previous)

"""The supervisor restarts a crashing child with backoff, logs why, and stops when asked."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from app import supervisor
from app.supervisor import Backoff, Supervisor

# Crashes with exit code 3, then is killed by SIGKILL, then exits 0 (a counter file keeps count).
CRASH_TWICE = r"""
import os, pathlib, signal, sys
counter = pathlib.Path(sys.argv[1])
n = int(counter.read_text()) if counter.exists() else 0
counter.write_text(str(n + 1))
if n == 0:
    print("Traceback: first boom", file=sys.stderr)
    sys.exit(3)
if n == 1:
    print("second boom", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
print("fine now", file=sys.stderr)
"""


class FakeClock:
    """Every reading is 10 s after the previous one, so each child run 'lasts' 10 s."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 10.0
        return self.now


@pytest.mark.allow_log_errors("the supervisor logs each crash of its child as an error")
def test_restarts_a_child_that_crashes_twice_then_exits_ok(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    counter = tmp_path / "runs"
    sleeps: list[float] = []
    caplog.set_level(logging.INFO, logger="app.supervisor")
    code = supervisor.run_supervised(
        [],
        command=[sys.executable, "-c", CRASH_TWICE, str(counter)],
        sleep=sleeps.append,
        clock=FakeClock(),
        configure_logging=False,
        quiet=True,
    )
    assert code == 0
    assert counter.read_text() == "3"
    assert sleeps == [1.0, 2.0]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert "exit code 3" in errors[0]
    assert "Traceback: first boom" in errors[0]
    assert "killed by signal SIGKILL (9)" in errors[1]
    assert "second boom" in errors[1]
    assert "not restarting" in caplog.text


@pytest.mark.allow_log_errors("the supervisor logs each crash of its child as an error")
def test_supervisor_records_crash_reasons(tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    sup = Supervisor(
        [sys.executable, "-c", CRASH_TWICE, str(counter)], sleep=lambda s: None, clock=FakeClock()
    )
    assert sup.run() == 0
    assert sup.restarts == 2
    assert [reason for reason, _ in sup.crashes] == [
        "exit code 3",
        "killed by signal SIGKILL (9)",
    ]
    assert sup.crashes[0][1] == ["Traceback: first boom"]


@pytest.mark.parametrize("code", [2, 130])
def test_final_exit_codes_are_not_restarted(code: int) -> None:
    sleeps: list[float] = []
    sup = Supervisor([sys.executable, "-c", f"raise SystemExit({code})"], sleep=sleeps.append)
    assert sup.run() == code
    assert sleeps == []
    assert sup.restarts == 0


@pytest.mark.allow_log_errors("a program that cannot start is logged as an error")
def test_missing_program_is_an_error_not_a_loop(caplog: pytest.LogCaptureFixture) -> None:
    sup = Supervisor(["/nonexistent/moodplayer"], sleep=lambda s: None)
    assert sup.run() == 1
    assert "cannot start the app" in caplog.text


def test_backoff_doubles_to_a_minute_and_resets_after_good_run() -> None:
    backoff = Backoff()
    delays = [backoff.delay(ran_for=2.0) for _ in range(9)]
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert backoff.delay(ran_for=299.0) == 60
    assert backoff.delay(ran_for=300.0) == 1
    assert backoff.delay(ran_for=1.0) == 2


def test_stop_request_forwards_signal_and_ends(tmp_path: Path) -> None:
    started = tmp_path / "started"
    script = (
        f"import pathlib, time; pathlib.Path({str(started)!r}).touch(); "
        "[time.sleep(0.05) for _ in range(2000)]"
    )
    sup = Supervisor([sys.executable, "-c", script], sleep=lambda s: None)
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(sup.run()))
    thread.start()
    try:
        while not started.exists() and thread.is_alive():
            threading.Event().wait(0.01)
        sup.request_stop(signal.SIGTERM)
    finally:
        thread.join(30)
    assert result == [0]
    assert sup.restarts == 0


def test_sigterm_to_supervisor_is_forwarded_and_handlers_restored(tmp_path: Path) -> None:
    # The child sends SIGTERM to its parent (the supervisor, in this test process) and waits to be
    # terminated in turn: the supervisor must forward it, not restart the child, and return 0.
    script = (
        "import os, signal, time; os.kill(os.getppid(), signal.SIGTERM); "
        "[time.sleep(0.05) for _ in range(2000)]"
    )
    before = signal.getsignal(signal.SIGTERM)
    sleeps: list[float] = []
    code = supervisor.run_supervised(
        [],
        command=[sys.executable, "-c", script],
        sleep=sleeps.append,
        configure_logging=False,
        quiet=True,
    )
    assert code == 0
    assert sleeps == []
    assert signal.getsignal(signal.SIGTERM) is before


def test_describe_exit() -> None:
    assert supervisor.describe_exit(1) == "exit code 1"
    assert supervisor.describe_exit(-11) == "killed by signal SIGSEGV (11)"


def test_default_command_runs_this_app() -> None:
    assert supervisor.default_command(["--kiosk"]) == [sys.executable, "-m", "app", "--kiosk"]


def _unit(name: str) -> dict[str, dict[str, str]]:
    from app import paths

    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in (paths.assets_dir() / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not key=value: {line!r}"
        current[key] = value
    return sections


def test_example_systemd_unit_restarts_on_failure_and_hang() -> None:
    sections = _unit("moodplayer.service")
    assert set(sections) == {"Unit", "Service", "Install"}
    service = sections["Service"]
    assert service["Type"] == "notify"
    assert float(service["WatchdogSec"]) >= 10
    assert service["NotifyAccess"] == "main"
    assert service["Restart"] == "on-failure"
    assert service["ExecStart"].split()[-1] == "--kiosk"
    assert "--supervised" not in service["ExecStart"]
    assert (
        "--pin"
        not in (Path(supervisor.__file__).parents[1] / "assets/moodplayer.service").read_text()
    )
    assert service["RestartPreventExitStatus"] == "2"
    assert sections["Install"]["WantedBy"] == "graphical-session.target"


def test_cage_kiosk_session_unit_needs_no_desktop() -> None:
    sections = _unit("moodplayer-cage.service")
    service = sections["Service"]
    command = service["ExecStart"].split()
    assert command[0].endswith("/cage")
    assert command[command.index("--") + 1].endswith("moodplayer")
    assert "--kiosk" in command and "--supervised" in command
    assert service["PAMName"] == "login"
    assert service["TTYPath"] == "/dev/tty1"
    assert service["Restart"] == "always"
    assert sections["Unit"]["Conflicts"] == "getty@tty1.service"
    assert sections["Install"]["WantedBy"] == "graphical.target"


@pytest.mark.allow_log_errors("the supervisor logs each crash of its child as an error")
def test_stop_during_the_backoff_wait_ends_without_restarting() -> None:
    # The real wait (no injected sleep) must end as soon as a stop is requested.
    sup = Supervisor([sys.executable, "-c", "raise SystemExit(5)"], backoff=Backoff(initial=3600.0))
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(sup.run()))
    thread.start()
    while not sup.crashes and thread.is_alive():
        threading.Event().wait(0.01)
    sup.request_stop()
    thread.join(60)
    assert not thread.is_alive()
    assert result == [5]
    assert sup.restarts == 0


def test_a_child_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    started = tmp_path / "started"
    script = (
        "import pathlib, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f"pathlib.Path({str(started)!r}).touch(); "
        "[time.sleep(0.05) for _ in range(2000)]"
    )
    sup = Supervisor([sys.executable, "-c", script], sleep=lambda s: None, stop_timeout=0.2)
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(sup.run()))
    thread.start()
    while not started.exists() and thread.is_alive():
        threading.Event().wait(0.01)
    sup.request_stop(signal.SIGTERM)
    thread.join(60)
    assert result == [128 + signal.SIGKILL]
    assert sup.restarts == 0


def test_child_environment_keeps_sdl_from_swallowing_sigterm() -> None:
    env = supervisor.child_environment({"PATH": "/bin"})
    assert env == {"PATH": "/bin", "SDL_NO_SIGNAL_HANDLERS": "1"}
    assert supervisor.child_environment({"SDL_NO_SIGNAL_HANDLERS": "0"}) == {
        "SDL_NO_SIGNAL_HANDLERS": "0"
    }


# Says READY=1 and beats WATCHDOG=1 for a while, then (first run only) stops its own event loop
# with SIGSTOP, as a hung window would; the second run beats, then exits 0.
HANG_ONCE = r"""
import os, pathlib, signal, socket, sys, time
counter = pathlib.Path(sys.argv[1])
n = int(counter.read_text()) if counter.exists() else 0
counter.write_text(str(n + 1))
address = os.environ["NOTIFY_SOCKET"]
interval = int(os.environ["WATCHDOG_USEC"]) / 1e6
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.sendto(b"READY=1", address)
for _ in range(4):
    time.sleep(interval / 3)
    sock.sendto(b"WATCHDOG=1", address)
if n == 0:
    print("about to hang", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)
    time.sleep(60)
print("fine now", file=sys.stderr)
"""


@pytest.mark.allow_log_errors("the supervisor logs the hang and the abort as errors")
def test_a_hung_child_is_aborted_and_restarted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    counter = tmp_path / "runs"
    caplog.set_level(logging.INFO, logger="app.supervisor")
    sleeps: list[float] = []
    sup = Supervisor(
        [sys.executable, "-c", HANG_ONCE, str(counter)],
        sleep=sleeps.append,
        watchdog_s=0.6,
    )
    sup_started = time.monotonic()
    assert sup.run() == 0
    took = time.monotonic() - sup_started
    assert counter.read_text() == "2"
    assert sup.restarts == 1
    assert len(sup.hangs) == 1 and "no heartbeat" in sup.hangs[0]
    # SIGABRT after the gap (the stopped child was continued so it could die)
    assert sup.crashes[0][0] == "killed by signal SIGABRT (6)"
    assert "about to hang" in sup.crashes[0][1]
    assert "the window hangs" in caplog.text
    assert took < 20


@pytest.mark.allow_log_errors("the supervisor logs the hang and the abort as errors")
def test_a_start_that_never_gets_ready_counts_as_hung(tmp_path: Path) -> None:
    sup = Supervisor(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        sleep=lambda s: sup.request_stop(),
        watchdog_s=0.5,
        start_timeout_s=0.5,
    )
    sup.run()
    assert sup.hangs and "not ready" in sup.hangs[0]


def test_stopping_child_is_not_aborted_while_it_shuts_down(tmp_path: Path) -> None:
    script = (
        "import os, socket, time; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
        "a = os.environ['NOTIFY_SOCKET']; s.sendto(b'READY=1', a); s.sendto(b'STOPPING=1', a); "
        "time.sleep(1.5)"
    )
    sup = Supervisor([sys.executable, "-c", script], sleep=lambda s: None, watchdog_s=0.3)
    assert sup.run() == 0
    assert sup.hangs == []


@pytest.mark.allow_log_errors("the reason the app cannot start is logged as an error")
def test_a_user_error_is_not_restarted_and_the_reason_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="app.supervisor")
    script = (
        "import sys; print('moodplayer: no camera at index 7 (found: 0)', file=sys.stderr); "
        "sys.exit(1)"
    )
    sleeps: list[float] = []
    sup = Supervisor([sys.executable, "-c", script], sleep=sleeps.append)
    assert sup.run() == 1
    assert sleeps == [] and sup.restarts == 0
    assert "cannot start: no camera at index 7" in caplog.text


@pytest.mark.allow_log_errors("the supervisor logs each crash of its child as an error")
def test_a_python_crash_with_exit_1_is_restarted(tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    script = (
        "import pathlib, sys; c = pathlib.Path(sys.argv[1]); "
        "n = int(c.read_text()) if c.exists() else 0; c.write_text(str(n + 1)); "
        "sys.exit(0) if n else (_ for _ in ()).throw(RuntimeError('moodplayer: boom'))"
    )
    sup = Supervisor(
        [sys.executable, "-c", script, str(counter)], sleep=lambda s: None, clock=FakeClock()
    )
    assert sup.run() == 0
    assert sup.restarts == 1


@pytest.mark.allow_log_errors("a wrong command line is logged as an error")
def test_a_bad_option_stops_with_the_reason(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="app.supervisor")
    code = supervisor.run_supervised(
        ["--no-such-option"], sleep=lambda s: None, configure_logging=False, quiet=True
    )
    assert code == 2
    assert "the command line is wrong" in caplog.text
    assert "--no-such-option" in caplog.text


def test_the_pin_is_never_logged() -> None:
    assert supervisor.redact(["python", "-m", "app", "--pin", "4711", "--kiosk"]) == [
        "python",
        "-m",
        "app",
        "--pin",
        "***",
        "--kiosk",
    ]
    assert supervisor.redact(["x", "--pin=4711"]) == ["x", "--pin=***"]


def test_notify_protocol_on_a_fake_notify_socket(tmp_path: Path) -> None:
    import socket

    from app import sdnotify

    path = tmp_path / "notify"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.settimeout(2)
    try:
        notifier = sdnotify.Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "20000000"})
        assert notifier.watchdog_s == 20.0
        assert notifier.notify(sdnotify.READY, "STATUS=playing")
        assert notifier.notify(sdnotify.WATCHDOG)
        assert server.recv(100) == b"READY=1\nSTATUS=playing"
        assert server.recv(100) == b"WATCHDOG=1"
        notifier.close()
    finally:
        server.close()
    assert not sdnotify.Notifier({}).notify(sdnotify.READY)
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "5000000", "WATCHDOG_PID": "1"}, 2) is None
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "5000000"}) == 5.0
    assert sdnotify.socket_address({"NOTIFY_SOCKET": "@abc"}) == "\0abc"

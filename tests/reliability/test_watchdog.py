"""A hung window is restarted: the real app's GUI thread sends the notify-protocol heartbeat, and
when its event loop stops (SIGSTOP, as a hang would) the beats stop; the supervisor (systemd's
logic, for runs without systemd) aborts it and starts it again. Figures are printed."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from runner import REPO, child_env

from app.supervisor import Backoff, Supervisor


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    for sub in ("config", "data", "state", "cache", "runtime", "tmp"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    (home / "runtime").chmod(0o700)
    return home


def _wait(condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_real_app_heartbeat_on_a_fake_notify_socket_and_sigterm(tmp_path: Path) -> None:
    home = _home(tmp_path)
    path = tmp_path / "notify"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.settimeout(0.05)
    messages: list[tuple[float, str]] = []
    done = threading.Event()

    def listen() -> None:
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                messages.append((time.monotonic(), server.recv(200).decode()))

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    env = child_env(home, NOTIFY_SOCKET=str(path), WATCHDOG_USEC="900000")
    started = time.monotonic()
    err = tmp_path / "stderr"
    with err.open("w") as err_file:
        child = subprocess.Popen(
            [sys.executable, "-m", "app", "--no-camera", "--kiosk"],
            cwd=REPO,
            env=env,
            stderr=err_file,
        )
    try:
        assert _wait(lambda: any(m == "READY=1\nSTATUS=window shown" for _, m in messages), 60)
        ready_s = next(t for t, m in messages if m.startswith("READY=1")) - started
        assert _wait(lambda: sum(m == "WATCHDOG=1" for _, m in messages) >= 3, 10)
        # the event loop stops: no more beats
        os.kill(child.pid, signal.SIGSTOP)
        time.sleep(0.1)
        stopped_at = len(messages)
        time.sleep(1.5)
        assert len(messages) == stopped_at
        os.kill(child.pid, signal.SIGCONT)
        assert _wait(lambda: len(messages) > stopped_at, 10)
        term = time.monotonic()
        child.send_signal(signal.SIGTERM)
        code = child.wait(30)
        gone = time.monotonic() - term
    finally:
        if child.poll() is None:
            child.kill()
        done.set()
        listener.join(2)
        server.close()
        stderr = err.read_text()
    assert code == 0, stderr[-3000:]
    assert messages[-1][1] == "STOPPING=1"
    assert (home / "config" / "moodplayer" / "settings.toml").is_file()
    print(
        f"\n[reliability] notify protocol: READY=1 {ready_s:.2f} s after start, WATCHDOG=1 every "
        f"0.30 s, none while SIGSTOPped; SIGTERM -> STOPPING=1, exit 0 in {gone:.2f} s"
    )


@pytest.mark.allow_log_errors("the supervisor logs the hang and the abort as errors")
def test_supervisor_restarts_the_real_app_when_its_window_hangs(tmp_path: Path) -> None:
    home = _home(tmp_path)
    sup = Supervisor(
        [sys.executable, "-m", "app", "--no-camera", "--kiosk"],
        env=child_env(home),
        sleep=lambda s: None,
        backoff=Backoff(initial=0.0),
        watchdog_s=2.0,
    )
    result: list[int] = []
    runner = threading.Thread(target=lambda: result.append(sup.run()), daemon=True)
    runner.start()
    try:
        assert _wait(lambda: sup.readies == 1, 60), "the app never said READY=1"
        hung_pid = sup.child_pid
        assert hung_pid is not None
        os.kill(hung_pid, signal.SIGSTOP)  # the window hangs
        hung = time.monotonic()
        assert _wait(lambda: sup.restarts == 1, 30), "the hung app was not restarted"
        detected = time.monotonic() - hung
        assert _wait(lambda: sup.readies == 2, 60), "the restarted app never got ready"
        back = time.monotonic() - hung
        assert sup.child_pid != hung_pid
    finally:
        sup.request_stop(signal.SIGTERM)
        runner.join(30)
    assert result == [0]
    assert sup.hangs and "no heartbeat" in sup.hangs[0]
    assert sup.crashes[0][0] == "killed by signal SIGABRT (6)"
    print(
        f"\n[reliability] hung window (SIGSTOP): restarted after {detected:.1f} s "
        f"(watchdog 2 s), the new window ready {back:.1f} s after the hang"
    )

"""Crash output: faulthandler and unhandled errors land in crash.log (0600) in the log folder, the
next start moves it aside and says so, errors in threads are logged, no console is needed."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from app import crash
from tests.conftest import REPO


def _child(code: str, log_dir: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Python in a child process with ``crash.start(log_dir)`` done and the app's logging set up
    (console only), so that fatal errors cannot touch the test runner."""
    prologue = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from app import crash, logs
        logs.setup(log_file=False)
        handle = crash.start(Path({str(log_dir)!r}))
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONFAULTHANDLER",)}
    return subprocess.run(
        [sys.executable, "-c", prologue + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=env,
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fatal_error_is_written_to_crash_log_and_told_at_the_next_start(tmp_path: Path) -> None:
    logs_dir = tmp_path / "log"
    done = _child(
        """
        import faulthandler
        print("crash file:", handle.path, handle.faulthandler, flush=True)
        faulthandler._sigsegv()
        """,
        logs_dir,
    )
    assert done.returncode != 0
    assert f"crash file: {logs_dir / 'crash.log'} True" in done.stdout
    crash_log = logs_dir / "crash.log"
    text = crash_log.read_text()
    assert "Fatal Python error: Segmentation fault" in text
    assert "<string>" in text  # the stack of the thread that crashed
    assert "Fatal Python error" not in done.stderr  # the crash file, not the console
    assert _mode(crash_log) == 0o600

    again = _child("print('previous:', handle.previous)", logs_dir)
    assert again.returncode == 0, again.stderr
    previous = logs_dir / "crash.previous.log"
    assert f"previous: {previous}" in again.stdout
    assert "Segmentation fault" in previous.read_text()
    assert crash_log.read_text() == ""  # a fresh, empty crash file for this run
    # one line in the log, and the start went on
    assert "MoodPlayer stopped unexpectedly last time" in again.stderr
    assert str(previous) in again.stderr

    third = _child("print('previous:', handle.previous)", logs_dir)
    assert "previous: None" in third.stdout  # an empty crash file is no crash
    assert "stopped unexpectedly" not in third.stderr


def test_an_unhandled_error_ends_up_in_the_log_and_the_crash_file(tmp_path: Path) -> None:
    done = _child("raise RuntimeError('the last straw')", tmp_path)
    assert done.returncode == 1
    assert "CRITICAL" in done.stderr and "unhandled error" in done.stderr
    assert "RuntimeError: the last straw" in done.stderr
    text = (tmp_path / "crash.log").read_text()
    assert "Traceback" in text and "RuntimeError: the last straw" in text


def test_an_error_in_a_thread_is_logged(tmp_path: Path) -> None:
    done = _child(
        """
        import threading
        def work():
            raise ValueError("thread trouble")
        t = threading.Thread(target=work, name="library-scan")
        t.start(); t.join()
        print("main goes on")
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "main goes on" in done.stdout
    assert "ERROR" in done.stderr and "unhandled error in thread library-scan" in done.stderr
    assert "ValueError: thread trouble" in done.stderr


def test_an_unwritable_log_folder_means_no_crash_file_not_a_failed_start(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    done = _child("print('handle:', handle)", blocker)
    assert done.returncode == 0, done.stderr
    assert "handle: None" in done.stdout
    assert "no crash file" in done.stderr


@pytest.mark.allow_log_errors("the hook under test logs the thread's error")
def test_thread_excepthook_logs_with_the_traceback(caplog: pytest.LogCaptureFixture) -> None:
    def work() -> None:
        raise KeyError("missing")

    previous = threading.excepthook
    threading.excepthook = crash.thread_excepthook
    try:
        thread = threading.Thread(target=work, name="worker-7")
        thread.start()
        thread.join()
    finally:
        threading.excepthook = previous
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "worker-7" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is KeyError


def test_ensure_streams_gives_missing_streams_the_null_device(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)
    crash.ensure_streams()
    out, err = sys.stdout, sys.stderr
    try:
        assert out is not None and err is not None
        print("goes nowhere")
        err.write("nor this\n")
        assert out.name == os.devnull and err.name == os.devnull
    finally:
        for stream in (out, err):
            if stream is not None:
                stream.close()

"""Background work: the result, or the error, arrives on the GUI thread."""

from __future__ import annotations

import logging
import threading

import pytest

from app.ui.tasks import on_gui_thread, run_task, to_main


def test_the_result_arrives_on_the_gui_thread(qtbot) -> None:
    ran_on: list[threading.Thread] = []
    done: list[tuple[int, threading.Thread]] = []

    def work() -> int:
        ran_on.append(threading.current_thread())
        return 42

    run_task(work, lambda result: done.append((result, threading.current_thread())))
    qtbot.waitUntil(lambda: bool(done), timeout=5000)
    assert ran_on and ran_on[0] is not threading.main_thread()
    assert done == [(42, threading.main_thread())]


def test_an_exception_arrives_as_an_error_not_lost(qtbot) -> None:
    errors: list[tuple[BaseException, bool]] = []

    def work() -> int:
        raise ValueError("no camera answered")

    run_task(
        work,
        lambda _result: pytest.fail("no result expected"),
        lambda exc: errors.append((exc, on_gui_thread())),
    )
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    exc, on_gui = errors[0]
    assert isinstance(exc, ValueError) and str(exc) == "no camera answered" and on_gui


@pytest.mark.allow_log_errors("the error under test is logged")
def test_without_an_error_callback_the_error_is_logged(qtbot, caplog) -> None:
    caplog.set_level(logging.ERROR, logger="app.ui.tasks")
    thread = run_task(lambda: 1 / 0, lambda _result: None, name="divide")
    thread.join(5)
    assert any("divide failed" in r.getMessage() and r.exc_info for r in caplog.records)


def test_the_gui_thread_is_never_blocked(qtbot) -> None:
    release = threading.Event()
    done: list[str] = []
    run_task(lambda: release.wait(10) and "late", done.append)
    ticks: list[int] = []
    to_main(lambda: ticks.append(1))
    qtbot.waitUntil(lambda: bool(ticks), timeout=5000)  # the loop ran while the task waits
    assert done == []
    release.set()
    qtbot.waitUntil(lambda: done == ["late"], timeout=5000)


def test_to_main_from_a_thread(qtbot) -> None:
    where: list[threading.Thread] = []
    thread = threading.Thread(
        target=lambda: to_main(lambda: where.append(threading.current_thread()))
    )
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: bool(where), timeout=5000)
    assert where == [threading.main_thread()]


def test_a_task_that_ends_after_the_application_is_dropped_quietly() -> None:
    import subprocess
    import sys

    code = (
        "import threading, time\n"
        "from PySide6.QtCore import QCoreApplication\n"
        "from app.ui.tasks import run_task\n"
        "app = QCoreApplication([])\n"
        "release = threading.Event()\n"
        "thread = run_task(lambda: release.wait(5), print)\n"
        "app.shutdown()\n"
        "del app\n"
        "release.set()\n"
        "thread.join(5)\n"
        "print('ended')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ended"
    assert "Traceback" not in out.stderr

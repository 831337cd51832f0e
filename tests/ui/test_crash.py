"""The window's crash handling: the error box carries the last log lines, errors in threads reach
it, Qt's own messages go to the log, and a crash left by the last run is told in the status bar."""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import qCritical, qInstallMessageHandler, qWarning
from PySide6.QtWidgets import QApplication, QMessageBox

from app import crash, logs
from app.ui import application
from app.ui.crash import CrashReporter, route_qt_messages


@pytest.fixture
def recent_lines() -> Iterator[None]:
    """The in-memory log tail that ``logs.setup`` attaches, attached for this test."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    logs.recent.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(logs.recent)
    yield
    root.removeHandler(logs.recent)
    root.setLevel(level)


def _boxes() -> list[QMessageBox]:
    return [
        w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
    ]


@pytest.mark.allow_log_errors("the reporter logs the error it shows")
def test_the_error_box_shows_the_last_log_lines(qtbot, recent_lines: None) -> None:
    reporter = CrashReporter()
    logging.getLogger("app.music.library").info("scanning /music/old folder")
    try:
        raise RuntimeError("the tag reader choked")
    except RuntimeError as exc:
        reporter.handle(type(exc), exc, exc.__traceback__)
    (box,) = _boxes()
    try:
        details = box.detailedText()
        assert "RuntimeError: the tag reader choked" in details
        assert "The last lines of the log:" in details
        assert "INFO app.music.library: scanning /music/old folder" in details
        assert "the tag reader choked" in box.text()
    finally:
        box.close()


@pytest.mark.allow_log_errors("an error in a thread is logged, then shown")
def test_an_error_in_a_thread_reaches_the_window(qtbot, caplog) -> None:
    reporter = CrashReporter()
    shown: list[str] = []
    reporter.reported.connect(shown.append)
    reporter.install()
    try:

        def work() -> None:
            raise OSError("disk vanished")

        thread = threading.Thread(target=work, name="library-scan")
        thread.start()
        thread.join()
        qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    finally:
        reporter.uninstall()
    assert threading.excepthook is not reporter.handle_thread
    assert "disk vanished" in shown[0]
    assert "unhandled error in thread library-scan" in caplog.text
    (box,) = _boxes()
    try:
        assert "In thread library-scan" in box.detailedText()
    finally:
        box.close()


@pytest.mark.allow_log_errors("a Qt critical message is logged as an error")
def test_qt_messages_are_logged_under_qt(qtbot, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    previous = route_qt_messages()
    try:
        qWarning("a Qt warning for the log")
        qCritical("a Qt critical for the log")
    finally:
        qInstallMessageHandler(previous)
    records = {r.getMessage(): r for r in caplog.records if r.name.startswith("qt")}
    assert records["a Qt warning for the log"].levelno == logging.WARNING
    assert records["a Qt critical for the log"].levelno == logging.ERROR


def test_a_crash_left_by_the_last_run_is_told_in_the_status_bar(
    qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    previous = tmp_path / "crash.previous.log"
    previous.write_text("Fatal Python error: Aborted\n")
    with (tmp_path / "crash.log").open("a") as stream:
        monkeypatch.setattr(
            crash, "_current", crash.CrashLog(tmp_path / "crash.log", previous, stream, False)
        )
        args = argparse.Namespace(
            source=None,
            no_camera=True,
            kiosk=False,
            pin=None,
            settings=str(tmp_path / "settings.toml"),
            debug=False,
        )
        running = application.start(args)
        try:
            assert running.main is not None
            message = running.main.statusBar().currentMessage()
            assert "stopped unexpectedly last time" in message
            assert str(previous) in message
        finally:
            running.close()

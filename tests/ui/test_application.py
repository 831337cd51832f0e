"""The real application: starts, shows the window, saves settings and geometry on exit."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app import paths
from app import settings as settings_mod
from app.ui import application
from app.ui.main_window import MainWindow


def _args(settings: Path, **kw) -> argparse.Namespace:
    values = dict(source=None, no_camera=True, kiosk=False, settings=str(settings), debug=False)
    values.update(kw)
    return argparse.Namespace(**values)


@pytest.fixture
def started(qtbot):
    runs: list[application.Running] = []

    def start(args: argparse.Namespace) -> application.Running:
        running = application.start(args)
        runs.append(running)
        qtbot.waitExposed(running.window)
        return running

    yield start
    for running in runs:
        running.close()


def test_start_shows_the_main_window_and_shut_down_saves(started, tmp_path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("[music]\nvolume = 0.5\nfade_s = 'slow'\n")
    running = started(_args(path))
    assert isinstance(running.window, MainWindow)
    assert running.problems and "music.fade_s" in running.problems[0]
    # the problem is told once, in the status bar, not in a dialog
    assert "music.fade_s" in running.window.statusBar().currentMessage()
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]
    running.shut_down()
    saved = settings_mod.load(path)
    assert saved.problems == ()  # the bad value was replaced by its default and saved
    assert saved.settings.music.volume == 0.5
    assert saved.settings.window.geometry  # geometry remembered
    assert running.session.camera_state == "off"  # --no-camera


def test_a_session_shut_down_before_it_started_stays_stopped(started, qtbot, tmp_path) -> None:
    # start() leaves session.start() for the next event-loop turn; a window closed before that
    # turn once left a session polling a closed mixer ("controller tick failed … mixer not
    # initialized" in later tests).
    running = started(_args(tmp_path / "settings.toml"))
    running.shut_down()
    qtbot.wait(50)  # the scheduled start() runs now
    assert not running.session.polling
    assert not running.session.core.running


def test_geometry_is_restored(started, tmp_path) -> None:
    path = tmp_path / "settings.toml"
    first = started(_args(path))
    first.window.setGeometry(31, 47, 910, 640)
    saved = first.window.geometry()
    first.close()
    assert settings_mod.load(path).settings.window.geometry
    second = started(_args(path))
    # (the offscreen screen is 800 px wide, so x and width may be clamped; y and height are not)
    restored = second.window.geometry()
    assert (restored.y(), restored.height()) == (saved.y(), saved.height()) == (47, 640)


def test_kiosk_flag_opens_the_kiosk_window(started, tmp_path) -> None:
    running = started(_args(tmp_path / "settings.toml", kiosk=True))
    assert running.main is None
    assert type(running.window).__name__ == "KioskWindow"
    assert running.window.isFullScreen()


def test_screenshot_hook_grabs_the_window(started, qtbot, tmp_path, monkeypatch) -> None:
    shot = tmp_path / "shot.png"
    monkeypatch.setenv("MOODPLAYER_SCREENSHOT", str(shot))
    monkeypatch.setenv("MOODPLAYER_SCREENSHOT_AFTER", "0.1")
    running = started(_args(tmp_path / "settings.toml"))
    done: list[bool] = []
    application._schedule_screenshot(running.window, lambda: done.append(True))
    qtbot.waitUntil(lambda: bool(done), timeout=5000)
    assert shot.stat().st_size > 10_000


@pytest.mark.slow
def test_the_command_runs_and_quits_cleanly(tmp_path) -> None:
    """The whole program in its own process: window, event loop, exit, settings written."""
    env = dict(os.environ)
    env["MOODPLAYER_SCREENSHOT"] = str(tmp_path / "shot.png")
    env["MOODPLAYER_SCREENSHOT_AFTER"] = "1"
    settings = tmp_path / "settings.toml"
    proc = subprocess.run(
        [sys.executable, "-m", "app", "--no-camera", "--settings", str(settings)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert (tmp_path / "shot.png").exists()
    assert settings_mod.load(settings).settings.window.geometry


@pytest.mark.allow_log_errors("the reporter logs the unhandled error it is handed")
def test_unhandled_errors_are_logged_and_shown_once(qtbot, caplog) -> None:
    reporter = application.CrashReporter()
    messages: list[str] = []
    reporter.reported.connect(messages.append)
    for _ in range(3):
        try:
            raise RuntimeError("boom")
        except RuntimeError as exc:
            reporter.handle(type(exc), exc, exc.__traceback__)
    boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]
    assert len([b for b in boxes if b.isVisible()]) == 1
    assert len(messages) == 3
    assert "boom" in caplog.text
    for box in boxes:
        box.close()


@pytest.mark.allow_log_errors("the reporter logs the unhandled error it is handed")
def test_kiosk_reporter_never_opens_a_dialog(qtbot) -> None:
    reporter = application.CrashReporter(quiet=True)
    before = {id(w) for w in QApplication.topLevelWidgets()}
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        reporter.handle(type(exc), exc, exc.__traceback__)
    new = [w for w in QApplication.topLevelWidgets() if id(w) not in before]
    assert not [w for w in new if isinstance(w, QMessageBox)]


def test_full_screen_is_remembered(started, tmp_path) -> None:
    path = tmp_path / "settings.toml"
    first = started(_args(path))
    first.window.showFullScreen()
    first.close()
    assert settings_mod.load(path).settings.window.state == "fullscreen"
    second = started(_args(path))
    assert second.window.isFullScreen()


def test_settings_dialog_from_the_menu_saves_and_applies(started, qtbot, tmp_path) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QDialogButtonBox

    from app.ui.settings_dialog import SettingsDialog

    path = tmp_path / "settings.toml"
    running = started(_args(path))
    seen: list[SettingsDialog] = []

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, SettingsDialog)
        seen.append(dialog)
        dialog.fields["music.fade_s"].set_value(4.5)
        dialog.fields["mood.window_s"].set_value(8.0)
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    QTimer.singleShot(200, answer)
    running.main.actions_by_name["settings"].trigger()  # returns when the dialog closed
    assert seen
    assert running.session.settings.music.fade_s == 4.5
    assert running.session.voter.config.window_s == 8.0  # applied to the running session
    assert settings_mod.load(path).settings.music.fade_s == 4.5  # and saved


def test_about_dialog_shows_the_model_card_and_the_music(qtbot) -> None:
    from app.ui.about_dialog import AboutDialog

    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    model = dialog.model_view.toPlainText()
    assert "Licence" in model and "MIT" in model
    assert "Source" in model and "https://" in model
    # every shipped model's credits, and the default classifier's measured accuracy from its card
    for credit in ("Octavio Arriaga", "Vincent Mühler", "Vladimir Mandic", "Justin Shenk"):
        assert credit in model
    card = json.loads((paths.models_dir() / "emotion_ensemble.json").read_text(encoding="utf-8"))
    accuracy = 100 * card["figures"]["test"]["accuracy"]
    assert f"FER2013 test: {accuracy:.1f} % of 7,178 faces" in model
    assert dialog.music_view.toPlainText().strip()


def test_the_right_pin_opens_the_normal_window_and_kiosk_mode_can_come_back(
    started, tmp_path, qtbot
) -> None:
    from app import settings as settings_mod
    from app.kiosk import PinResult, hash_pin

    path = tmp_path / "settings.toml"
    chosen = settings_mod.Settings()
    chosen.kiosk.pin_hash = hash_pin("2468", iterations=1000)
    settings_mod.save(chosen, path)
    running = started(_args(path, kiosk=True))
    kiosk = running.window
    assert type(kiosk).__name__ == "KioskWindow" and running.kiosk
    quits: list[bool] = []
    running.app.aboutToQuit.connect(lambda: quits.append(True))
    assert kiosk.try_pin("2468").result is PinResult.ACCEPTED
    # not quitting: the normal window, with Settings reachable
    main = running.main
    assert isinstance(main, MainWindow) and main.isVisible()
    assert running.window is main and not running.kiosk
    assert not kiosk.isVisible()
    assert main.actions_by_name["settings"].isEnabled()
    qtbot.wait(50)
    assert quits == []
    # and back to kiosk mode from the menu
    main.actions_by_name["kiosk"].trigger()
    again = running.window
    assert type(again).__name__ == "KioskWindow" and again.isFullScreen() and running.kiosk
    assert not main.isVisible()
    assert quits == []


def test_a_kiosk_window_closed_without_the_pin_exits_75_to_be_restarted(qtbot, tmp_path) -> None:
    """A close that got past the kiosk's refusals (not the PIN, not a signal) ends the run with
    ExitStatus.RESTART, so systemd or the supervisor starts it again."""
    from app.errors import ExitStatus

    def force_close() -> None:
        for widget in QApplication.topLevelWidgets():
            if type(widget).__name__ == "KioskWindow" and widget.isVisible():
                widget._exit_allowed = True  # as if the window manager destroyed it
                widget.close()

    QTimer.singleShot(300, force_close)
    code = application.run(_args(tmp_path / "settings.toml", kiosk=True))
    assert code == ExitStatus.RESTART == 75

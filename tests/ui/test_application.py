"""The real application: starts, shows the window, saves settings and geometry on exit."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from app import settings as settings_mod
from app.errors import UserError
from app.ui import application


def _args(settings: Path, **kw) -> argparse.Namespace:
    values = dict(
        source=None, no_camera=True, kiosk=False, pin=None, settings=str(settings), debug=False
    )
    values.update(kw)
    return argparse.Namespace(**values)


def test_run_shows_the_window_and_saves_on_exit(qtbot, tmp_path, monkeypatch) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("[music]\nvolume = 0.5\nfade_s = 'slow'\n")
    shot = tmp_path / "shot.png"
    monkeypatch.setenv("MOODPLAYER_SCREENSHOT", str(shot))
    monkeypatch.setenv("MOODPLAYER_SCREENSHOT_AFTER", "0.5")
    assert application.run(_args(path)) == 0
    assert shot.stat().st_size > 10_000
    saved = settings_mod.load(path)
    assert saved.problems == ()  # the bad value was replaced by its default and saved
    assert saved.settings.music.volume == 0.5
    assert saved.settings.window.geometry  # geometry remembered


def test_pin_argument_is_stored_hashed(qtbot, tmp_path, monkeypatch) -> None:
    from app.kiosk import verify_pin

    path = tmp_path / "settings.toml"
    monkeypatch.setenv("MOODPLAYER_SCREENSHOT", str(tmp_path / "x.png"))
    monkeypatch.setenv("MOODPLAYER_SCREENSHOT_AFTER", "0.2")
    assert application.run(_args(path, pin="2468")) == 0
    stored = settings_mod.load(path).settings.kiosk.pin_hash
    assert "2468" not in stored
    assert verify_pin("2468", stored)


def test_bad_pin_is_a_user_error(qtbot, tmp_path) -> None:
    with pytest.raises(UserError):
        application.run(_args(tmp_path / "settings.toml", pin="12"))


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


def test_kiosk_reporter_never_opens_a_dialog(qtbot) -> None:
    reporter = application.CrashReporter(quiet=True)
    before = {id(w) for w in QApplication.topLevelWidgets()}
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        reporter.handle(type(exc), exc, exc.__traceback__)
    new = [w for w in QApplication.topLevelWidgets() if id(w) not in before]
    assert not [w for w in new if isinstance(w, QMessageBox)]

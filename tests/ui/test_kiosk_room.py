"""The kiosk's room options: volume cap and fixed volume, the hidden mood word, session hours
(rest: quiet screen, camera off, music paused; local time injected), the session plan's "where we
are" line and the session report's chip."""

from __future__ import annotations

import datetime as dt

from PySide6.QtTest import QTest

from app.music.player import PlayerState
from app.session import CameraState
from app.ui.kiosk import KioskWindow
from app.ui.kiosk_awake import ScreenAwake
from tests.ui.test_kiosk import Room


def _window(qtbot, room: Room, **kw) -> KioskWindow:  # type: ignore[no-untyped-def]
    window = KioskWindow(room.session, screen_awake=ScreenAwake(room.awake), **kw)
    qtbot.addWidget(window, before_close_func=lambda w: w.leave_kiosk())
    window.show_kiosk()
    qtbot.waitExposed(window)
    return window


def test_visitors_cannot_go_past_the_loudest_volume(qtbot) -> None:  # type: ignore[no-untyped-def]
    room = Room(["volume"])
    room.settings.kiosk.max_volume = 0.6
    room.player.set_volume(0.5)
    window = _window(qtbot, room)
    for _ in range(5):
        window.volume_up_button.click()
    assert room.player.volume == 0.6
    assert window.volume_label.text() == "60%"
    # turned up another way (media keys, MPRIS): held back at the next refresh
    room.player.set_volume(1.0)
    room.tick()
    assert room.player.volume == 0.6
    window.volume_down_button.click()
    assert room.player.volume == 0.5


def test_a_fixed_volume_hides_the_volume_controls(qtbot) -> None:  # type: ignore[no-untyped-def]
    room = Room(["volume", "skip"])
    room.settings.kiosk.max_volume = 0.35
    room.settings.kiosk.fixed_volume = True
    room.player.set_volume(0.9)
    window = _window(qtbot, room)
    assert room.player.volume == 0.35
    assert not window.volume_group.isVisible()
    assert window.skip_button.isVisible()
    room.player.set_volume(0.1)
    room.tick()
    assert room.player.volume == 0.35


def test_hiding_the_mood_word_shows_only_the_music(qtbot) -> None:  # type: ignore[no-untyped-def]
    room = Room(["skip"])
    window = _window(qtbot, room)
    room.see("sad")
    room.tick()
    assert window.mood_word.text() == "Sad" and window.caption.text() == "THE ROOM FEELS"
    room.settings.kiosk.hide_mood_word = True
    room.tick()
    assert window.caption.text() == "NOW PLAYING"
    assert "Sad" not in window.mood_word.text() and "FEELS" not in window.caption.text()
    assert window.mood_word.property("shownColor") != "#5b9cf0"  # not the mood's colour


def test_outside_the_session_hours_the_kiosk_rests(qtbot) -> None:  # type: ignore[no-untyped-def]
    room = Room(["skip"])
    room.settings.kiosk.session_hours = "08:00-20:00"
    room.session.core.source = "0"  # a camera is wanted
    local = [dt.datetime(2026, 3, 2, 19, 59)]
    window = _window(qtbot, room, local_time=lambda: local[0])
    room.player.play()
    assert room.player.state is PlayerState.PLAYING
    assert not window.resting
    local[0] = dt.datetime(2026, 3, 2, 20, 0)
    room.tick()
    assert window.resting
    assert "Resting until 08:00" in window.rest_message.text()
    assert room.player.state is PlayerState.PAUSED
    view = room.session.view()
    assert view.resting and view.camera is CameraState.OFF
    assert room.settings.camera.enabled  # the settings are untouched
    local[0] = dt.datetime(2026, 3, 3, 8, 0)
    room.tick()
    assert not window.resting
    assert room.player.state is PlayerState.PLAYING


def test_bad_session_hours_mean_always(qtbot, caplog) -> None:  # type: ignore[no-untyped-def]
    room = Room(["skip"])
    room.settings.kiosk.session_hours = "mornings"
    window = _window(qtbot, room, local_time=lambda: dt.datetime(2026, 3, 2, 3, 0))
    assert not window.resting
    assert "plays at all hours" in caplog.text


def test_the_plan_says_where_we_are_and_the_report_chip_shows(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    room = Room(["skip"])
    room.settings.music.strategy = "plan"
    room.settings.session.plan_target = "upbeat"
    room.settings.session.plan_minutes = 10.0
    room.session.core.reports = tmp_path
    room.session.core._sync_plan()
    window = _window(qtbot, room)
    assert not window.report_chip.isVisible()
    assert "Nothing is recorded" in window.privacy.text()
    room.see("neutral")
    room.tick()
    assert window.plan_line.text() == "Step 1 of 2: Calm · Upbeat in 10 min"
    room.tick(301.0)
    assert window.plan_line.text() == "Step 1 of 2: Calm · Upbeat in 5 min"
    room.tick(300.0)
    assert window.plan_line.text() == "Step 2 of 2: Upbeat · target reached"
    assert room.player.playlist.name == "upbeat"
    new = room.session.settings
    new.session.report = True
    room.session.core._running = True
    room.session.apply_settings(new)
    room.tick()
    assert window.report_chip.isVisible()
    assert "Session report on" in window.report_chip.text()
    assert "Nothing is recorded" not in window.privacy.text()
    assert "session report" in window.privacy.text()
    QTest.qWait(10)
    room.session.core.stop()
    assert list(tmp_path.glob("*.csv"))


def test_the_main_window_says_when_a_report_is_written(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.ui.main_window import MainWindow

    room = Room(["skip"])
    room.session.core.reports = tmp_path
    window = MainWindow(room.session)
    qtbot.addWidget(window)
    window.show()
    room.tick()
    assert not window.report_label.isVisible()
    new = room.session.settings
    new.session.report = True
    room.session.core._running = True
    room.session.apply_settings(new)
    room.tick()
    assert window.report_label.isVisible()
    room.session.core.stop()

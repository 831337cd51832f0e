"""The tray menu: each entry asks for its intent; the texts follow the player and the window."""

from __future__ import annotations

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QSystemTrayIcon

from app.ui.tray import Tray


def _recorder(tray: Tray) -> list[str]:
    seen: list[str] = []
    for name in ("play_pause", "next", "auto", "show_hide", "quit"):
        getattr(tray, f"{name}_requested").connect(lambda n=name: seen.append(n))
    return seen


def test_menu_entries_emit_their_intents(qapp) -> None:
    tray = Tray(QIcon())
    seen = _recorder(tray)
    for action in (
        tray.play_pause_action,
        tray.next_action,
        tray.auto_action,
        tray.show_hide_action,
        tray.quit_action,
    ):
        action.trigger()
    assert seen == ["play_pause", "next", "auto", "show_hide", "quit"]


def test_clicking_the_icon_shows_or_hides_and_middle_click_pauses(qapp) -> None:
    tray = Tray(QIcon())
    seen = _recorder(tray)
    tray.icon.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
    tray.icon.activated.emit(QSystemTrayIcon.ActivationReason.MiddleClick)
    assert seen == ["show_hide", "play_pause"]


def test_refresh_follows_the_state(qapp) -> None:
    tray = Tray(QIcon())
    tray.refresh(playing=True, auto=False, window_visible=True, tooltip="calm · Still water")
    assert tray.play_pause_action.text() == "Pause"
    assert not tray.auto_action.isChecked()
    assert tray.show_hide_action.text() == "Hide window"
    assert tray.icon.toolTip().endswith("calm · Still water")
    tray.refresh(playing=False, auto=True, window_visible=False, tooltip="")
    assert tray.play_pause_action.text() == "Play"
    assert tray.auto_action.isChecked()
    assert tray.show_hide_action.text() == "Show window"


def test_without_a_tray_nothing_is_shown_and_notify_says_so(qapp) -> None:
    tray = Tray(QIcon())
    if QSystemTrayIcon.isSystemTrayAvailable():  # pragma: no cover - offscreen has no tray
        return
    assert tray.show() is False
    assert tray.notify("Mood", "upbeat now") is False

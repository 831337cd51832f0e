"""The tray icon (where the desktop has a tray): play/pause, next, Auto/manual, show/hide, quit.

``Tray(icon)`` builds the icon and its menu; the app connects the intent signals to the player,
the controller and the window, and calls ``refresh(playing, auto, window_visible, tooltip)`` on
every session tick. ``notify(title, text)`` shows a desktop notification through the tray (used,
when the listener turned it on, for "the mood changed the music"). Where the platform has no tray
(``QSystemTrayIcon.isSystemTrayAvailable()`` is false) the menu still exists but nothing is
shown, and close-to-tray is not offered, since a hidden window could not be brought back.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal, SignalInstance
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from app import APP_NAME

log = logging.getLogger(__name__)


class Tray(QObject):
    play_pause_requested = Signal()
    next_requested = Signal()
    auto_requested = Signal()
    show_hide_requested = Signal()
    quit_requested = Signal()

    def __init__(self, icon: QIcon, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.menu = QMenu()
        self.play_pause_action = self._action("Play", self.play_pause_requested)
        self.next_action = self._action("Next track", self.next_requested)
        self.auto_action = self._action("Follow my mood (Auto)", self.auto_requested)
        self.auto_action.setCheckable(True)
        self.menu.addSeparator()
        self.show_hide_action = self._action("Hide window", self.show_hide_requested)
        self.menu.addSeparator()
        self.quit_action = self._action("Quit", self.quit_requested)
        self.icon = QSystemTrayIcon(icon, self)
        self.icon.setToolTip(APP_NAME)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)

    def _action(self, text: str, signal: SignalInstance) -> QAction:
        action = QAction(text, self.menu)
        action.triggered.connect(lambda _checked=False: signal.emit())
        self.menu.addAction(action)
        return action

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def show(self) -> bool:
        """Show the icon where there is a tray; False (one log line) where there is none."""
        if not self.available():
            log.info("tray: this desktop has no system tray; running without a tray icon")
            return False
        self.icon.show()
        return True

    def hide(self) -> None:
        self.icon.hide()

    def refresh(self, *, playing: bool, auto: bool, window_visible: bool, tooltip: str) -> None:
        self.play_pause_action.setText("Pause" if playing else "Play")
        self.auto_action.setChecked(auto)
        self.show_hide_action.setText("Hide window" if window_visible else "Show window")
        self.icon.setToolTip(f"{APP_NAME}\n{tooltip}" if tooltip else APP_NAME)

    def notify(self, title: str, text: str, timeout_ms: int = 5000) -> bool:
        if not self.icon.isVisible() or not QSystemTrayIcon.supportsMessages():
            return False
        self.icon.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, timeout_ms)
        return True

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason is QSystemTrayIcon.ActivationReason.Trigger:
            self.show_hide_requested.emit()
        elif reason is QSystemTrayIcon.ActivationReason.MiddleClick:
            self.play_pause_requested.emit()

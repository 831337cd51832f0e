"""The running player as a desktop citizen: MPRIS, the tray icon, media keys, close to tray,
"the mood changed the music" notifications, and a second launch that raises this window.

``DesktopIntegration(app, session, window)`` is made by :func:`app.ui.application.start` once the
window is shown; ``attach()`` registers what this desktop offers (each part degrades to None with
one log line: no session bus, no tray), ``close()`` undoes it at shut-down. It reads the session
after every tick (``session.ticked``) and sends the listener's commands to its player and
controller, as the window does. Everything runs on the GUI thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QWidget

from app import APP_NAME
from app.controller import ControlMode
from app.music.player import PlayerState

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow
    from app.ui.mpris import Mpris
    from app.ui.session import Session
    from app.ui.single_instance import SingleInstance
    from app.ui.tray import Tray

log = logging.getLogger(__name__)

# Media keys as Qt delivers them to a focused window (Windows WM_APPCOMMAND, macOS, some X11
# set-ups); on Linux desktops the media keys usually reach MPRIS instead.
MEDIA_KEYS: dict[str, tuple[Qt.Key, ...]] = {
    "play_pause": (Qt.Key.Key_MediaTogglePlayPause,),
    "play": (Qt.Key.Key_MediaPlay,),
    "pause": (Qt.Key.Key_MediaPause,),
    "next": (Qt.Key.Key_MediaNext,),
    "previous": (Qt.Key.Key_MediaPrevious,),
    "stop": (Qt.Key.Key_MediaStop,),
}


def session_bus_reachable(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """Is there a D-Bus session bus to talk to? Asked before QtDBus is touched, so that no bus is
    started on demand (``dbus-launch`` autolaunch) and a machine without one costs nothing."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return False
    if environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return True
    runtime = environ.get("XDG_RUNTIME_DIR")
    return runtime is not None and runtime != "" and (Path(runtime) / "bus").exists()


class DesktopIntegration(QObject):
    """MPRIS, tray, media keys, close to tray and notifications for one running window."""

    def __init__(
        self,
        app: QApplication,
        session: Session,
        window: QWidget,
        main: MainWindow | None = None,
        instance: SingleInstance | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.app = app
        self.session = session
        self.window = window
        self.main = main
        self.instance = instance
        self.mpris: Mpris | None = None
        self.tray: Tray | None = None
        self.notifications = 0  # shown, for tests and the log
        self.quitting = False
        self._media_actions: list[QAction] = []
        self._media_window: MainWindow | None = None  # the window the media keys were added to
        self._want_tray = True
        self._attached = False
        self._last_mode: ControlMode | None = None
        self._last_playlist: str | None = None
        self._closed = False

    # -- set up ---------------------------------------------------------------------------------

    def attach(self, *, mpris: bool = True, tray: bool = True) -> None:
        session = self.session
        if self.instance is not None:
            self.instance.activated.connect(self.raise_window)
        if mpris:
            self.mpris = self._make_mpris()
        self._want_tray = tray
        self._attached = True
        self._fit_window()
        view = session.view()
        self._last_mode, self._last_playlist = view.mode, view.playlist
        session.ticked.connect(self.refresh)
        self.refresh()

    def use_window(self, window: QWidget, main: MainWindow | None) -> None:
        """The window that is up now: the normal one (``window is main``) gets the tray, its
        media keys and close to tray, as at a normal start; the kiosk's gets none of them
        (visitors must not quit or hide it). Called on entering and leaving kiosk mode."""
        if self._closed:
            return
        self.window.removeEventFilter(self)
        self.window = window
        if main is not None:
            self.main = main
        if self._attached:
            self._fit_window()

    def _fit_window(self) -> None:
        main = self.main
        if main is None or self.window is not main:
            # the kiosk has no tray: visitors must not quit or hide it
            if self.tray is not None:
                self.tray.hide()
            return
        if self._want_tray:
            if self.tray is None:
                self.tray = self._make_tray()
            else:
                self.tray.show()
        if self._media_window is not main:
            self._add_media_keys(main)
        main.installEventFilter(self)

    def _make_mpris(self) -> Mpris | None:
        if not session_bus_reachable():
            log.info("MPRIS: no D-Bus session bus; media keys and playerctl are not available")
            return None
        from app.ui.mpris import Mpris

        bridge = Mpris(
            self.session.player,
            self.session.controller,
            on_raise=self.raise_window,
            on_quit=self.quit,
            clock=self.session.clock,
            parent=self,
        )
        return bridge if bridge.register() else None

    def _make_tray(self) -> Tray | None:
        from app.ui.tray import Tray

        tray = Tray(self.app.windowIcon(), parent=self)
        if not tray.show():
            return None
        tray.play_pause_requested.connect(self.play_pause)
        tray.next_requested.connect(self.next_track)
        tray.auto_requested.connect(self.toggle_auto)
        tray.show_hide_requested.connect(self.toggle_window)
        tray.quit_requested.connect(self.quit)
        return tray

    def _add_media_keys(self, main: MainWindow) -> None:
        commands = {
            "play_pause": self.play_pause,
            "play": self.play,
            "pause": self.pause,
            "next": self.next_track,
            "previous": self.previous_track,
            "stop": self.stop,
        }
        for name, keys in MEDIA_KEYS.items():
            action = QAction(f"Media key: {name}", main)
            action.setShortcuts([QKeySequence(key) for key in keys])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _checked=False, run=commands[name]: run())
            main.addAction(action)
            self._media_actions.append(action)
        self._media_window = main

    def close(self) -> None:
        """Unregister from the bus, hide the tray icon, stop listening for a second launch."""
        if self._closed:
            return
        self._closed = True
        self.quitting = True
        with contextlib.suppress(RuntimeError, TypeError):  # already gone
            self.session.ticked.disconnect(self.refresh)
        self.window.removeEventFilter(self)
        if self.mpris is not None:
            self.mpris.unregister()
        if self.tray is not None:
            self.tray.hide()
        if self.instance is not None:
            self.instance.release()

    # -- every tick -----------------------------------------------------------------------------

    def refresh(self) -> None:
        view = self.session.view()
        if self.mpris is not None:
            self.mpris.refresh()
        if self.tray is not None:
            tip = ""
            if view.track is not None:
                tip = view.track.display
                if view.reason:
                    tip += f"\n{view.reason}"
            self.tray.refresh(
                playing=view.playing,
                auto=view.auto,
                window_visible=self.window.isVisible(),
                tooltip=tip,
            )
        self._check_music_change(view.mode, view.playlist, view.music_mood)

    def _check_music_change(
        self, mode: ControlMode, playlist: str | None, mood: str | None
    ) -> None:
        """Auto moved to another playlist because of the mood: tell the listener (if asked)."""
        before_mode, before = self._last_mode, self._last_playlist
        self._last_mode, self._last_playlist = mode, playlist
        if not self.session.settings.desktop.notify_music or self.tray is None:
            return
        if mode is not ControlMode.AUTO or before_mode is not ControlMode.AUTO:
            return  # the listener's own choice (or going back to Auto) is not news
        if playlist is None or before is None or playlist == before or mood is None:
            return
        from app.session import mood_word, playlist_word

        text = f"You look {mood_word(mood).lower()}: {playlist_word(playlist)} plays now."
        if self.tray.notify(APP_NAME, text):
            self.notifications += 1
            log.debug("notified: %s", text)

    # -- commands -------------------------------------------------------------------------------

    def play_pause(self) -> None:
        if self.main is not None:
            self.main.play_pause()
        else:
            self.session.player.toggle()
        self.refresh()

    def play(self) -> None:
        if self.session.player.state is not PlayerState.PLAYING:
            self.play_pause()

    def pause(self) -> None:
        if self.session.player.state is PlayerState.PLAYING:
            self.session.player.pause()
            self.refresh()

    def stop(self) -> None:
        self.session.player.stop()
        self.refresh()

    def next_track(self) -> None:
        self.session.player.next()
        self.refresh()

    def previous_track(self) -> None:
        self.session.player.previous()
        self.refresh()

    def toggle_auto(self) -> None:
        """Auto on; or off, keeping what plays now as the listener's own choice."""
        controller = self.session.controller
        name = controller.playlist_name
        if controller.mode is ControlMode.AUTO and name is not None:
            controller.select(name)
        else:
            controller.set_auto()
        self.refresh()

    def raise_window(self) -> None:
        """A second launch, MPRIS Raise or the tray: bring the window to the front."""
        window = self.window
        if window is not self.main:  # the kiosk window: its guard keeps it full screen
            window.raise_()
            window.activateWindow()
            return
        if window.isMinimized():
            window.showNormal()
        window.show()
        window.raise_()
        window.activateWindow()
        self.app.setQuitOnLastWindowClosed(True)
        log.info("window brought to the front")
        self.refresh()

    def toggle_window(self) -> None:
        if self.window.isVisible() and not self.window.isMinimized():
            self.hide_to_tray()
        else:
            self.raise_window()

    def hide_to_tray(self) -> None:
        # A dialog closed while the window is hidden must not end the app: the tray holds it.
        self.app.setQuitOnLastWindowClosed(False)
        self.window.hide()
        self.refresh()

    def quit(self) -> None:
        if self.window is not self.main:
            log.info("quit over MPRIS refused: leaving the kiosk needs the admin PIN")
            return
        self.quitting = True
        self.app.quit()

    # -- close to tray --------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.window
            and event.type() == QEvent.Type.Close
            and not self.quitting
            and self.tray is not None
            and self.session.settings.desktop.close_to_tray
        ):
            event.ignore()
            self.hide_to_tray()
            log.info("window closed to the tray; the music goes on")
            return True
        return super().eventFilter(watched, event)

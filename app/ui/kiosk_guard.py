"""Keeps the kiosk window full screen, on top and on the screen, whatever a visitor tries.

A minimised, iconified, hidden (unmapped), un-full-screened or moved-to-another-desktop kiosk
window comes back, full screen and on top, within a check interval (200 ms; window-state and hide
events check at once). On X11 the window is also made sticky (on every virtual desktop, so
switching desktops cannot hide it), mapped and raised directly through Xlib (which also undoes an
unmap or an iconify that Qt did not notice), and, where it helps, the keyboard is grabbed so the
window manager's shortcuts (Super+D, Alt+Space, Ctrl+Alt+Arrow) reach the kiosk instead.

``pause(dialog)`` hands the keyboard to a dialog of the kiosk (the PIN keypad), which is then
brought back with the window; ``resume()`` takes the keyboard back. Each comeback is logged with
its reason and counted in ``restores``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget

log = logging.getLogger(__name__)

CHECK_MS = 200
_ALL_DESKTOPS = 0xFFFFFFFF
_CLIENT_MESSAGE = 33
_SUBSTRUCTURE = (1 << 19) | (1 << 20)  # SubstructureNotify | SubstructureRedirect


class _ClientMessage(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int),
        ("l", ctypes.c_long * 5),
    ]


class _XEvent(ctypes.Union):
    _fields_ = [("xclient", _ClientMessage), ("pad", ctypes.c_long * 24)]


class X11:
    """The few Xlib calls the guard needs, through ctypes (no extra package)."""

    def __init__(self) -> None:
        name = ctypes.util.find_library("X11")
        if name is None:
            raise OSError("libX11 not found")
        x: Any = ctypes.CDLL(name)
        x.XOpenDisplay.restype = ctypes.c_void_p
        x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x.XInternAtom.restype = ctypes.c_ulong
        x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        x.XDefaultRootWindow.restype = ctypes.c_ulong
        x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x.XSendEvent.argtypes = [
            ctypes.c_void_p,
            ctypes.c_ulong,
            ctypes.c_int,
            ctypes.c_long,
            ctypes.c_void_p,
        ]
        x.XMapRaised.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        x.XFlush.argtypes = [ctypes.c_void_p]
        x.XCloseDisplay.argtypes = [ctypes.c_void_p]
        display = x.XOpenDisplay(None)
        if not display:
            raise OSError("cannot open the X display")
        self._x = x
        self._display = display
        self._root = x.XDefaultRootWindow(display)

    def _atom(self, name: str) -> int:
        return int(self._x.XInternAtom(self._display, name.encode(), 0))

    def _message(self, window: int, kind: str, *data: int) -> None:
        event = _XEvent()
        event.xclient.type = _CLIENT_MESSAGE
        event.xclient.window = window
        event.xclient.message_type = self._atom(kind)
        event.xclient.format = 32
        for i, value in enumerate(data[:5]):
            event.xclient.l[i] = ctypes.c_long(value).value
        self._x.XSendEvent(self._display, self._root, 0, _SUBSTRUCTURE, ctypes.byref(event))

    def bring_back(self, window: int) -> None:
        """Map and raise ``window``, put it on every desktop, ask the window manager to activate
        it and make it full screen and above the others (EWMH)."""
        self._x.XMapRaised(self._display, window)
        self._message(window, "_NET_WM_DESKTOP", _ALL_DESKTOPS, 2)
        add = 1  # _NET_WM_STATE_ADD
        self._message(window, "_NET_WM_STATE", add, self._atom("_NET_WM_STATE_FULLSCREEN"), 0, 2)
        self._message(window, "_NET_WM_STATE", add, self._atom("_NET_WM_STATE_ABOVE"), 0, 2)
        self._message(window, "_NET_WM_STATE", add, self._atom("_NET_WM_STATE_STICKY"), 0, 2)
        self._message(window, "_NET_ACTIVE_WINDOW", 2, 0, 0)
        self._x.XFlush(self._display)

    def close(self) -> None:
        if self._display:
            self._x.XCloseDisplay(self._display)
            self._display = None


class KioskGuard(QObject):
    """Watches ``window`` and brings it back; ``restored(reason)`` after each comeback."""

    restored = Signal(str)

    def __init__(
        self,
        window: QWidget,
        *,
        interval_ms: int = CHECK_MS,
        grab_keyboard: bool = True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent or window)
        self.window = window
        self.restores = 0
        self.grab_keyboard = grab_keyboard
        self._dialog: QWidget | None = None
        self._active = False
        # whether the keyboard grab is held (a grab fails while the window is not viewable, and
        # the X server drops it when the window is iconified: it is retried at every check)
        self.grabbed = False
        self._x11: X11 | None = None
        if QGuiApplication.platformName() == "xcb":
            try:
                self._x11 = X11()
            except OSError as exc:
                log.info("kiosk guard without Xlib (%s)", exc)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(30)
        self._soon.timeout.connect(self.check)

    def start(self) -> None:
        self._active = True
        self.window.installEventFilter(self)
        self._timer.start()
        self._secure()

    def stop(self) -> None:
        self._active = False
        self._timer.stop()
        self._soon.stop()
        self.window.removeEventFilter(self)
        self._release(self._dialog or self.window)
        if self._x11 is not None:
            self._x11.close()
            self._x11 = None

    def pause(self, dialog: QWidget) -> None:
        """``dialog`` (on top of the kiosk) takes the keyboard until ``resume``."""
        self._release(self.window)
        self._dialog = dialog
        self._grab()

    def resume(self) -> None:
        if self._dialog is not None:
            self._release(self._dialog)
        self._dialog = None
        if self._active:
            self._secure()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() in (
            QEvent.Type.WindowStateChange,
            QEvent.Type.Hide,
            QEvent.Type.WindowDeactivate,
            QEvent.Type.Move,
            QEvent.Type.Resize,
        ):
            self._soon.start()
        return False

    def problem(self) -> str | None:
        """Why the window is not as it must be, or None."""
        window = self.window
        handle = window.windowHandle()
        if window.windowState() & Qt.WindowState.WindowMinimized:
            return "minimised"
        if not window.isVisible():
            return "hidden"
        if handle is not None and not handle.isExposed():
            return "not on the screen (iconified, unmapped or on another desktop)"
        if not window.isFullScreen():
            return "not full screen"
        screen = window.screen()
        if screen is not None and window.geometry() != screen.geometry():
            return "moved or resized"
        if self._dialog is None and QApplication.activeWindow() is None:
            return "another window has the focus"
        return None

    def check(self) -> bool:
        """Bring the window back if needed; True when it had to."""
        if not self._active:
            return False
        reason = self.problem()
        if reason is None:
            if not self.grabbed:
                self._grab()
            return False
        self.restores += 1
        log.info("kiosk: the window was %s; bringing it back", reason)
        self._secure()
        self.restored.emit(reason)
        return True

    def _secure(self) -> None:
        window = self.window
        screen = window.screen() or QGuiApplication.primaryScreen()
        if not window.isVisible():
            window.show()
        window.setWindowState(
            (window.windowState() & ~Qt.WindowState.WindowMinimized)
            | Qt.WindowState.WindowFullScreen
            | Qt.WindowState.WindowActive
        )
        if screen is not None:
            window.setGeometry(screen.geometry())
        window.raise_()
        window.activateWindow()
        if self._x11 is not None:
            try:
                self._x11.bring_back(int(window.winId()))
            except OSError as exc:  # pragma: no cover - the X connection went away
                log.warning("kiosk guard: Xlib call failed (%s)", exc)
        dialog = self._dialog
        if dialog is not None:
            dialog.raise_()
            dialog.activateWindow()
        self.grabbed = False
        self._grab()

    def _grab(self) -> None:
        """Grab the keyboard for the kiosk (or its dialog) on the display server, so the window
        manager's shortcuts do not act; True once held."""
        if not self.grab_keyboard:
            return
        target = self._dialog if self._dialog is not None else self.window
        handle = target.windowHandle()
        if handle is None or not target.isVisible():
            return
        held = bool(handle.setKeyboardGrabEnabled(True))
        if held and not self.grabbed:
            log.debug("kiosk: keyboard grabbed")
        self.grabbed = held

    def _release(self, target: QWidget) -> None:
        handle = target.windowHandle()
        if handle is not None and self.grabbed:
            handle.setKeyboardGrabEnabled(False)
        self.grabbed = False

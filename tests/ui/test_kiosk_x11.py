"""On a real X server (Xvfb): a window manager's close (WM_DELETE_WINDOW, what Alt+F4 and the title
bar's X send) is refused by the kiosk window, while the app's own quit still ends it.

Runs only where ``xvfb-run`` exists (Debian: xvfb, xauth). The X client message is sent with
plain Xlib through ctypes, so no extra Python package is needed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO

SCRIPT = r"""
import ctypes, ctypes.util, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.ui import kiosk_demo, theme

app = QApplication(sys.argv[:1])
theme.apply(app)
window = kiosk_demo.show_demo("happy")
closes = []
original = window.closeEvent


def spy(event):
    closes.append(event.spontaneous())
    original(event)


window.closeEvent = spy

x11 = ctypes.CDLL(ctypes.util.find_library("X11"))
x11.XOpenDisplay.restype = ctypes.c_void_p
x11.XInternAtom.restype = ctypes.c_ulong
x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
x11.XSendEvent.argtypes = [
    ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p
]
x11.XFlush.argtypes = [ctypes.c_void_p]


class ClientMessage(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p), ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong), ("format", ctypes.c_int), ("l", ctypes.c_long * 5),
    ]


class XEvent(ctypes.Union):
    _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]


def send_delete():
    display = x11.XOpenDisplay(None)
    event = XEvent()
    event.xclient.type = 33  # ClientMessage
    event.xclient.window = int(window.winId())
    event.xclient.message_type = x11.XInternAtom(display, b"WM_PROTOCOLS", 0)
    event.xclient.format = 32
    event.xclient.l[0] = x11.XInternAtom(display, b"WM_DELETE_WINDOW", 0)
    x11.XSendEvent(display, int(window.winId()), 0, 0, ctypes.byref(event))
    x11.XFlush(display)


def wait_for_close():
    if not closes:
        QTimer.singleShot(50, wait_for_close)
        return
    print("CLOSE", closes[0], window.isVisible(), flush=True)
    app.quit()


QTimer.singleShot(0, send_delete)
QTimer.singleShot(0, wait_for_close)
app.exec()
print("QUIT", window.isVisible(), flush=True)
"""


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run")
def test_window_manager_close_is_refused_and_app_quit_is_not() -> None:
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env["QT_QPA_PLATFORM"] = "xcb"
    done = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1280x720x24", sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(("CLOSE", "QUIT"))]
    assert done.returncode == 0, done.stderr[-2000:]
    # a spontaneous close from the X server, refused: the window is still up
    assert lines[0] == "CLOSE True True"
    # QApplication.quit() ended the app and closed the window
    assert lines[1] == "QUIT False"

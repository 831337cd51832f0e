"""Child for test_tray_x11: the real app under Xvfb beside a real tray (trayer), driven as a
person would: the window's close button, a click on the tray icon, the tray menu's actions."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QTimer

from app import settings as settings_mod
from app.music.player import PlayerState
from app.ui import application


def main() -> int:
    settings_path, report = Path(sys.argv[1]), Path(sys.argv[2])
    settings = settings_mod.Settings()
    settings.desktop.close_to_tray = True
    settings.desktop.notify_music = True
    settings_mod.save(settings, settings_path)
    args = argparse.Namespace(
        source=None, no_camera=True, kiosk=False, settings=str(settings_path), debug=False
    )
    running = application.start(args)
    app, window, desktop, session = running.app, running.window, running.desktop, running.session
    assert desktop is not None
    result: dict[str, object] = {"tray": desktop.tray is not None}

    def steps():  # one step per timer turn; a step yields how many turns to wait
        while session.player.state is not PlayerState.PLAYING:
            yield 1
        tray = desktop.tray
        if tray is None:
            return
        window.close()  # the window manager's close button does the same
        yield 3
        result["hidden_after_close"] = not window.isVisible()
        result["playing_in_tray"] = session.player.state is PlayerState.PLAYING
        geometry = tray.icon.geometry()
        result["icon_geometry"] = [geometry.x(), geometry.y(), geometry.width(), geometry.height()]
        centre = geometry.center()
        subprocess.Popen(["xdotool", "mousemove", str(centre.x()), str(centre.y()), "click", "1"])
        for _ in range(20):
            yield 1
            if window.isVisible():
                break
        result["shown_by_click"] = window.isVisible()
        tray.play_pause_action.trigger()
        yield 1
        result["paused_from_tray"] = session.player.state is PlayerState.PAUSED
        result["menu_says_play"] = tray.play_pause_action.text() == "Play"
        tray.play_pause_action.trigger()
        tray.auto_action.trigger()  # Auto off: what plays becomes the listener's choice
        yield 1
        result["manual_from_tray"] = not session.view().auto
        tray.auto_action.trigger()
        yield 1
        result["auto_from_tray"] = session.view().auto
        session.controller.on_mood("sad", session.clock())  # as the voter does
        yield 2
        result["notifications"] = desktop.notifications
        tray.quit_action.trigger()

    walk = steps()
    waiting = [0]

    def turn() -> None:
        if waiting[0] > 0:
            waiting[0] -= 1
            return
        try:
            waiting[0] = next(walk) - 1
        except StopIteration:
            timer.stop()
            app.quit()

    timer = QTimer()
    timer.setInterval(250)
    timer.timeout.connect(turn)
    timer.start()
    QTimer.singleShot(30000, app.quit)
    app.exec()
    running.close()
    report.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

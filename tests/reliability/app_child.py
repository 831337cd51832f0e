"""Runs the real MoodPlayer (``app.cli.main``) in a child process and acts like a listener.

    python tests/reliability/app_child.py SCENARIO REPORT.json [moodplayer arguments...]

The Qt application is created first, so the scenario can put timers on it; then the ordinary
``moodplayer`` entry point runs (settings, logs, session, main window, event loop, shut-down).
Timers look at the window and the session, do what a person would do (pick a playlist, close
the window), and the facts are written to REPORT.json after the app returned.

With ``MOODPLAYER_AUDIT=1`` a Python audit hook records every socket call and every file opened
for writing (``socket.*``, ``open``, ``os.rename``/``os.replace``, ``os.mkdir``...).

Scenarios:

- ``no-device``: started with an audio driver that fails; after 2.5 s records what the window
  says, lets the notice expire, records again, then "plugs in a device"
  (``SDL_AUDIODRIVER=dummy``) and records again after the retry.
- ``privacy``: watches the ``--source`` video until 20 frames were analysed and the music plays,
  then ``MOODPLAYER_CHILD_SECONDS`` more (default 1 s), and closes the window.
- ``shutdown-playback`` / ``shutdown-fade`` / ``shutdown-reconnect``: plays, then closes the
  window during playback, 0.3 s into a 30 s fade, or while the camera reconnects (after the
  watched video file was deleted).
- ``signal``: plays, sets the volume, then sends itself ``MOODPLAYER_CHILD_SIGNAL`` (TERM, HUP or
  INT) as a service manager would.

Steps wait for conditions (music playing, frames analysed), with a 40 s deadline as a guard.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPORT: dict[str, Any] = {"events": [], "sockets": [], "writes": [], "notes": {}}
_auditing = False
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _auditing:
        return
    try:
        if event.startswith("socket."):
            REPORT["sockets"].append([event, [repr(a)[:200] for a in args]])
        elif event == "open":
            path, mode, flags = ([*list(args), None, None, None])[:3]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if writing and path is not None and not isinstance(path, int):  # int: an open fd
                REPORT["writes"].append(["open", str(path)])
        elif event in ("os.rename", "os.replace", "os.link", "os.symlink", "shutil.copyfile"):
            REPORT["writes"].append([event, str(args[1])])
        elif event in ("os.mkdir", "os.truncate", "os.remove", "os.rmdir"):
            REPORT["writes"].append([event, str(args[0])])
    except Exception:  # an audit hook must never raise
        pass


def _main_window() -> Any:
    from PySide6.QtWidgets import QApplication

    from app.ui.main_window import MainWindow

    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, MainWindow):
            return widget
    return None


def _snapshot(label: str) -> dict[str, Any]:
    window = _main_window()
    state: dict[str, Any] = {"label": label, "at": time.monotonic()}
    if window is None:
        state["window"] = None
        return state
    session = window.session
    player = session.player
    state.update(
        window=window.isVisible(),
        title=window.windowTitle(),
        status_message=window.statusBar().currentMessage(),
        camera_state=session.camera_state,
        camera_text=session.camera_text,
        player_state=player.state.value,
        player_error=player.error,
        playlist=session.controller.playlist_name,
        track=getattr(player.current, "title", None),
        position=player.position,
        busy=bool(getattr(session.output, "busy", lambda: False)()),
        mode=session.controller.mode.value,
        mood=session.voter.mood,
        readings=session.last_reading is not None,
        threads=sorted(t.name for t in threading.enumerate()),
    )
    worker = session.worker
    if worker is not None and hasattr(worker, "stats"):
        stats = worker.stats
        state.update(analyses=stats.analyses, frames=stats.frames, reconnects=stats.reconnects)
    return state


def _record(label: str) -> None:
    REPORT["events"].append(_snapshot(label))


def _close_window() -> None:
    window = _main_window()
    # a last change by the listener, which the saved settings must hold
    window.session.player.set_volume(0.37)
    _record("before close")
    REPORT["notes"]["close_requested_at"] = time.monotonic()
    window.close()  # as the listener clicking the window's close button


def _send_signal() -> None:
    import signal

    window = _main_window()
    window.session.player.set_volume(0.37)
    _record("before close")
    REPORT["notes"]["close_requested_at"] = time.monotonic()
    name = os.environ.get("MOODPLAYER_CHILD_SIGNAL", "TERM")
    os.kill(os.getpid(), getattr(signal, f"SIG{name}"))


def _after(seconds: float, action: Any) -> None:
    from PySide6.QtCore import QTimer

    QTimer.singleShot(int(seconds * 1000), action)


# Steps wait for what they need (the music playing, frames analysed), not for a fixed time, so a
# slow, loaded machine changes how long a run takes, not what it proves. The deadline only keeps a
# broken app from running forever; the test then fails on what the report says.
DEADLINE_S = 40.0


def _when(condition: Any, action: Any, then: float = 0.0) -> None:
    """Run ``action`` ``then`` seconds after ``condition()`` first holds (or at the deadline)."""
    deadline = time.monotonic() + DEADLINE_S

    def check() -> None:
        try:
            ready = _main_window() is not None and bool(condition(_main_window().session))
        except Exception:
            ready = False
        if ready or time.monotonic() > deadline:
            _after(then, action)
        else:
            _after(0.05, check)

    _after(0.05, check)


def _playing(session: Any) -> bool:
    return session.player.state.value == "playing" and bool(session.output.busy())


def _analysed(count: int) -> Any:
    def done(session: Any) -> bool:
        worker = session.worker
        return worker is not None and worker.stats.analyses >= count

    return done


def _set_up(scenario: str) -> None:
    seconds = float(os.environ.get("MOODPLAYER_CHILD_SECONDS", "1"))
    if scenario == "no-device":
        from app.music import player as player_mod

        # the device is re-tried every DEVICE_RETRY_S (5 s); 1 s keeps the test short
        player_mod.DEVICE_RETRY_S = 1.0

        def expire() -> None:
            _record("no device")
            _main_window().statusBar().clearMessage()  # as when the notice's time runs out
            _after(0.5, plug_in)

        def plug_in() -> None:
            _record("no device, later")
            os.environ["SDL_AUDIODRIVER"] = "dummy"
            REPORT["notes"]["plugged_in_at"] = time.monotonic()
            _when(_playing, back, then=0.3)

        def back() -> None:
            _record("device back")
            _after(0.2, _close_window)

        # the player has tried the device (and failed) at least twice: it keeps failing
        _when(lambda s: s.player.error is not None, expire, then=1.5)
    elif scenario == "privacy":
        # frames analysed and the music on, then a few more seconds of watching
        _when(lambda s: _analysed(20)(s) and _playing(s), _close_window, then=seconds)
    elif scenario == "shutdown-playback":
        _when(_playing, _close_window, then=0.5)
    elif scenario == "signal":
        _when(_playing, _send_signal, then=0.5)
    elif scenario == "shutdown-fade":

        def fade() -> None:
            session = _main_window().session
            session.settings.music.fade_s = 30.0  # the longest fade, still running at the close
            names = session.controller.playlist_names()
            target = next(n for n in names if n != session.controller.playlist_name)
            session.controller.select(target)
            REPORT["notes"]["fading_to"] = target
            _record("fading")
            _after(0.3, _close_window)

        _when(_playing, fade, then=0.3)
    elif scenario == "shutdown-reconnect":

        def vanish() -> None:
            # the video file disappears (a camera unplugged): the worker starts reconnecting
            Path(os.environ["MOODPLAYER_CHILD_VANISH"]).unlink()
            _when(lambda s: s.camera_state == "reconnecting", _close_window, then=0.2)

        _when(_analysed(3), vanish)
    else:
        raise SystemExit(f"unknown scenario {scenario}")


def main() -> int:
    global _auditing
    scenario, report_path, *app_args = sys.argv[1:]
    if os.environ.get("MOODPLAYER_AUDIT") == "1":
        sys.addaudithook(_audit)
        _auditing = True
    REPORT["notes"]["started_at"] = time.monotonic()

    from app.ui.application import make_qapplication

    make_qapplication()
    _set_up(scenario)
    from app import cli

    code = cli.main(app_args)
    REPORT["notes"]["main_returned_at"] = time.monotonic()
    REPORT["notes"]["exit_code"] = int(code)
    REPORT["notes"]["threads_left"] = sorted(
        t.name for t in threading.enumerate() if t is not threading.main_thread()
    )
    _auditing = False
    Path(report_path).write_text(json.dumps(REPORT, indent=1, default=str))
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())

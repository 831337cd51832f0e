"""The real app as a desktop citizen: driven by playerctl over a private session bus, a second
launch that hands over to the first, Ctrl+C in the launching terminal, and resume after a restart.

Each app here is a real ``python -m app`` process (offscreen Qt, pygame's dummy audio driver, the
shipped music) with its own private XDG folders, or ``application.start`` in this process.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app import settings as settings_mod
from app.music.player import PlayerState
from app.ui import application
from app.ui.desktop_integration import session_bus_reachable
from tests.conftest import REPO

need_bus = pytest.mark.skipif(
    not (shutil.which("dbus-daemon") and shutil.which("playerctl") and shutil.which("gdbus")),
    reason="needs dbus-daemon, playerctl and gdbus (apt-get install dbus playerctl "
    "libglib2.0-bin; `make system-tools` does it)",
)


GDBUS = ["gdbus", "call", "--session", "--dest", "org.mpris.MediaPlayer2.moodplayer"]
GDBUS += ["--object-path", "/org/mpris/MediaPlayer2"]


def _home(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DBUS_", "XDG_", "MOODPLAYER_"))
    }
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        (tmp_path / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(tmp_path / sub)
    env.update(QT_QPA_PLATFORM="offscreen", SDL_AUDIODRIVER="dummy", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(REPO)
    return env


def _log(tmp_path: Path) -> str:
    path = tmp_path / "state" / "moodplayer" / "log" / "moodplayer.log"
    return path.read_text(errors="replace") if path.exists() else ""


def _wait(what: str, check: Callable[[], bool], timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def _app(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app", "--no-camera", *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _end(proc: subprocess.Popen[str], timeout: float = 20.0) -> tuple[int, str]:
    try:
        _out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
        pytest.fail(f"the app did not end:\n{err[-3000:]}")
    return proc.returncode, err


@need_bus
def test_playerctl_drives_the_running_app(tmp_path: Path, private_bus: str) -> None:
    env = _home(tmp_path)
    env["DBUS_SESSION_BUS_ADDRESS"] = private_bus

    def playerctl(*args: str) -> str:
        done = subprocess.run(
            ["playerctl", "-p", "moodplayer", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return done.stdout.strip()

    proc = _app(env)
    try:
        _wait("the app on the bus, playing", lambda: playerctl("status") == "Playing")
        first = playerctl("metadata", "title")
        assert first
        assert playerctl("metadata", "moodplayer:mode") == "Auto"
        assert playerctl("metadata", "moodplayer:playlist") == "calm"  # neutral's, lift strategy
        assert float(playerctl("metadata", "mpris:length")) > 1_000_000
        playerctl("next")
        _wait("the next track", lambda: playerctl("metadata", "title") not in ("", first))
        playerctl("play-pause")
        _wait("paused", lambda: playerctl("status") == "Paused")
        playerctl("play-pause")
        _wait("playing again", lambda: playerctl("status") == "Playing")
        raised = subprocess.run(
            [*GDBUS, "--method", "org.mpris.MediaPlayer2.Raise"],
            env=env,
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert raised.returncode == 0, raised.stderr
        _wait("Raise", lambda: "window brought to the front" in _log(tmp_path), 10)
        subprocess.run(
            [*GDBUS, "--method", "org.mpris.MediaPlayer2.Quit"],
            env=env,
            capture_output=True,
            timeout=10,
        )
        code, err = _end(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert code == 0, err[-3000:]
    assert "Traceback" not in err
    saved = settings_mod.load(tmp_path / "config" / "moodplayer" / "settings.toml").settings
    assert saved.window.resume_playlist == "calm" and saved.window.resume_track


def test_without_a_session_bus_the_app_runs_without_mpris(tmp_path: Path) -> None:
    env = _home(tmp_path)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    env["XDG_RUNTIME_DIR"] = str(tmp_path / "runtime")  # no bus socket in it
    env["MOODPLAYER_SCREENSHOT"] = str(tmp_path / "shot.png")
    env["MOODPLAYER_SCREENSHOT_AFTER"] = "1"
    (tmp_path / "runtime").mkdir(mode=0o700)
    code, err = _end(_app(env), timeout=60)
    assert code == 0, err[-3000:]
    lines = [line for line in _log(tmp_path).splitlines() if "MPRIS" in line]
    assert len(lines) == 1 and "no D-Bus session bus" in lines[0], lines


def test_session_bus_reachable_reads_the_environment(tmp_path: Path) -> None:
    assert session_bus_reachable({"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x"}) == (
        sys.platform.startswith("linux")
    )
    assert not session_bus_reachable({"XDG_RUNTIME_DIR": str(tmp_path)})
    (tmp_path / "bus").touch()
    assert session_bus_reachable({"XDG_RUNTIME_DIR": str(tmp_path)}) == (
        sys.platform.startswith("linux")
    )


def test_a_second_launch_raises_the_first_and_exits_0(tmp_path: Path) -> None:
    env = _home(tmp_path)
    first = _app(env)
    try:
        _wait("the first window", lambda: "window shown" in _log(tmp_path))
        started = time.monotonic()
        code, err = _end(_app(env), timeout=30)
        assert code == 0, err[-3000:]
        assert time.monotonic() - started < 15
        assert first.poll() is None  # the first one goes on
        _wait("the first window raised", lambda: "window brought to the front" in _log(tmp_path))
        log = _log(tmp_path)
        assert "another MoodPlayer is running" in log
        assert log.count("window shown") == 1  # the second never opened a window (nor the mixer)
        first.send_signal(signal.SIGTERM)
        code, err = _end(first)
        assert code == 0, err[-3000:]
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    # released at shut-down: the next launch is a first instance again
    again = _app({**env, "MOODPLAYER_SCREENSHOT": str(tmp_path / "s.png")})
    code, err = _end(again, timeout=60)
    assert code == 0 and _log(tmp_path).count("window shown") == 2, err[-3000:]


def test_ctrl_c_in_the_launching_terminal_quits_cleanly_and_saves(tmp_path: Path) -> None:
    env = _home(tmp_path)
    settings = tmp_path / "config" / "moodplayer" / "settings.toml"
    pid, fd = pty.fork()
    if pid == 0:  # the child: the app in a terminal of its own, as from a shell
        os.chdir(REPO)
        os.execve(sys.executable, [sys.executable, "-m", "app", "--no-camera"], env)
    output = b""
    try:
        deadline = time.monotonic() + 40
        while "window shown" not in _log(tmp_path):
            assert time.monotonic() < deadline, output.decode(errors="replace")[-2000:]
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    output += os.read(fd, 4096)
                except OSError:
                    break
        time.sleep(1.0)
        os.write(fd, b"\x03")  # Ctrl+C: the terminal sends SIGINT to the app's process group
        deadline = time.monotonic() + 20
        status = None
        while status is None and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.2)[0]:
                with contextlib.suppress(OSError):
                    output += os.read(fd, 4096)
            done, raw = os.waitpid(pid, os.WNOHANG)
            status = raw if done else None
        assert status is not None, "the app did not quit on Ctrl+C"
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    text = output.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text[-2000:]
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
    assert "SIGINT received" in _log(tmp_path)
    assert settings_mod.load(settings).settings.window.geometry  # saved on the way out


def _args(settings: Path) -> argparse.Namespace:
    return argparse.Namespace(
        source=None, no_camera=True, kiosk=False, settings=str(settings), debug=False
    )


def test_the_next_start_resumes_playlist_track_position_and_choice(qtbot, tmp_path) -> None:
    path = tmp_path / "settings.toml"
    first = application.start(_args(path))
    try:
        qtbot.waitUntil(lambda: first.session.player.state is PlayerState.PLAYING, timeout=10000)
        first.session.controller.select("melancholy")
        player = first.session.player
        player.set_playlist(player.playlist, index=1, position=20.0)
        qtbot.waitUntil(lambda: player.position > 20.0, timeout=5000)
        track = player.current
    finally:
        first.close()
    second = application.start(_args(path))
    try:
        qtbot.waitUntil(lambda: second.session.player.current is not None, timeout=10000)
        view = second.session.view()
        assert view.playlist == "melancholy" and view.track == track
        assert not view.auto  # the listener's own choice came back too
        assert 15.0 <= view.position < 30.0  # within a resume step of where it was
        second.session.controller.set_auto()
    finally:
        second.close()
    third = application.start(_args(path))  # Auto, and the playlist it played, come back
    try:
        qtbot.waitUntil(lambda: third.session.player.current is not None, timeout=10000)
        assert third.session.view().auto
    finally:
        third.close()
    # with resume off, the next start begins from the top of Auto's playlist
    settings = settings_mod.load(path).settings
    settings.desktop.resume = False
    settings_mod.save(settings, path)
    fourth = application.start(_args(path))
    try:
        qtbot.waitUntil(lambda: fourth.session.player.current is not None, timeout=10000)
        assert fourth.session.player.index == 0 and fourth.session.player.position < 5.0
    finally:
        fourth.close()


def test_view_problems_lists_what_the_library_skipped(qtbot, tmp_path) -> None:
    from PySide6.QtWidgets import QApplication

    from app.problems import problems
    from app.ui.problems_view import ProblemsDialog

    problems.clear()
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "broken.m3u").write_text("no-such-song.ogg\n", encoding="utf-8")
    path = tmp_path / "settings.toml"
    settings = settings_mod.Settings()
    settings.music.playlist_folders = [str(folder)]
    settings_mod.save(settings, path)
    running = application.start(_args(path))
    try:
        main = running.main
        assert main is not None
        qtbot.waitUntil(lambda: main.problems_button.isVisible(), timeout=5000)
        assert "skipped" in main.problems_button.text()
        main.actions_by_name["problems"].trigger()
        dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, ProblemsDialog)]
        shown = [d for d in dialogs if d.isVisible()]
        assert len(shown) == 1 and "no-such-song.ogg" in shown[0].text()
        shown[0].close()
    finally:
        running.close()
        problems.clear()


def test_the_kiosk_cannot_be_quit_or_unfullscreened_over_the_bus(qtbot, tmp_path) -> None:
    path = tmp_path / "settings.toml"
    args = _args(path)
    args.kiosk = True
    running = application.start(args)
    try:
        qtbot.waitExposed(running.window)
        desktop = running.desktop
        assert desktop is not None and desktop.tray is None  # visitors get no tray menu
        quits: list[bool] = []
        running.app.aboutToQuit.connect(lambda: quits.append(True))
        desktop.quit()  # what MPRIS Quit calls
        desktop.raise_window()  # what a second launch or MPRIS Raise calls
        qtbot.wait(200)
        assert not quits and not desktop.quitting
        assert running.window.isFullScreen()
    finally:
        running.close()


def test_leaving_the_kiosk_gives_the_normal_window_what_a_normal_start_has(
    qtbot, tmp_path, monkeypatch
) -> None:
    """Tray icon, media keys, close to tray and MPRIS Quit: none in the kiosk, and all there
    once the admin PIN opens the normal window, as after a normal start."""
    from app.kiosk import PinResult, hash_pin
    from app.ui.tray import Tray

    monkeypatch.setattr(Tray, "available", staticmethod(lambda: True))  # offscreen has none
    path = tmp_path / "settings.toml"
    chosen = settings_mod.Settings()
    chosen.kiosk.pin_hash = hash_pin("2468", iterations=1000)
    chosen.desktop.close_to_tray = True
    settings_mod.save(chosen, path)
    quits: list[bool] = []

    def features(running: application.Running) -> dict[str, object]:
        desktop, main = running.desktop, running.main
        assert desktop is not None and main is not None and running.window is main
        monkeypatch.setattr(desktop.app, "quit", lambda: quits.append(True))
        quits.clear()
        main.close()
        hidden = not main.isVisible()
        desktop.raise_window()  # a second launch, MPRIS Raise, the tray
        desktop.quit()  # MPRIS Quit, the tray's Quit
        desktop.quitting = False
        return {
            "tray": desktop.tray is not None and desktop.tray.icon.isVisible(),
            "media keys": sum(a.text().startswith("Media key") for a in main.actions()),
            "closed to the tray": hidden,
            "raised": main.isVisible() and not main.isMinimized(),
            "quit": quits == [True],
        }

    normal = application.start(_args(path))
    try:
        qtbot.waitExposed(normal.window)
        expected = features(normal)
    finally:
        normal.close()
    assert expected == {
        "tray": True,
        "media keys": 6,
        "closed to the tray": True,
        "raised": True,
        "quit": True,
    }

    args = _args(path)
    args.kiosk = True
    running = application.start(args)
    try:
        qtbot.waitExposed(running.window)
        desktop = running.desktop
        assert desktop is not None and desktop.tray is None  # visitors get no tray menu
        assert running.window.try_pin("2468").result is PinResult.ACCEPTED
        assert features(running) == expected
        # back into kiosk mode from the menu: the tray goes away again, quitting is refused
        assert running.main is not None
        running.main.actions_by_name["kiosk"].trigger()
        assert running.kiosk and desktop.tray is not None and not desktop.tray.icon.isVisible()
        quits.clear()
        desktop.quit()
        assert quits == []
    finally:
        running.close()

"""Attacks a visitor could try on the kiosk window, on a real X server, timed.

    xvfb-run -a -s "-screen 0 1280x720x24" python tests/ui/kiosk_attacks.py [--wm] [--no-grab]
        [--pin]

Starts openbox (``--wm``), then the kiosk (the demo room, with its guard; ``--no-grab`` turns the
keyboard grab off so the window manager's shortcuts really act), then runs each attack with
xdotool/wmctrl and measures how long until the window is back: mapped and viewable, covering the
screen, full screen (with a window manager), the active window. Prints one JSON object:
``{"attacks": {name: {"back_s": seconds or null, "restores": n}}, ...}``. With ``--pin`` the
admin then types Ctrl+Shift+K, the PIN 1234 and Enter on the X keyboard (``KIOSK_SHOT=file.png``
saves the screen with the keypad open); otherwise the X connection is finally killed (xkill).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[2]

KIOSK = r"""
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.ui import kiosk_demo, theme

app = QApplication(sys.argv[:1])
theme.apply(app)
window = kiosk_demo.show_demo("happy")
if "--no-grab" in sys.argv:
    window.guard._release(window)
    window.guard.grab_keyboard = False
restores = []
window.guard.restored.connect(restores.append)

import os, pathlib
state = pathlib.Path(os.environ["KIOSK_STATE"])

def report():
    # the PIN dialog counts as open once it is up and active (the admin's keys go to it)
    dialog = window.pin_dialog
    pin_open = int(dialog is not None and dialog.isVisible() and dialog.isActiveWindow())
    tmp = state.with_suffix(".tmp")
    tmp.write_text(
        f"{os.getpid()} {int(window.winId())} {pin_open} {len(restores)} {'|'.join(restores)}"
    )
    os.replace(tmp, state)

timer = QTimer()
timer.timeout.connect(report)
timer.start(100)
sys.exit(app.exec())
"""


def sh(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=10, check=False)
    return done.stdout


class Kiosk:
    def __init__(self, no_grab: bool) -> None:
        # a folder of our own: a state file left by an earlier run (a reused pid) must never be
        # read as this kiosk's
        self.folder = Path(tempfile.mkdtemp(prefix="kiosk-attacks-"))
        self.state = self.folder / "state"
        env = dict(
            os.environ, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(REPO), KIOSK_STATE=str(self.state)
        )
        command = [sys.executable, "-c", KIOSK] + (["--no-grab"] if no_grab else [])
        self.proc = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        self.wid = 0
        self.restores = 0
        self.reasons = ""
        self.pin_open = False
        deadline = time.monotonic() + 60
        while self.wid == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
            self.read()
        if self.wid == 0:
            raise SystemExit("the kiosk did not start")

    def read(self) -> None:
        try:
            pid, wid, pin_open, restores, *reasons = self.state.read_text().split(" ", 4)
        except (OSError, ValueError):
            return
        if int(pid) != self.proc.pid:
            raise SystemExit(f"the state file {self.state} is not this kiosk's")
        self.wid, self.restores, self.pin_open = int(wid), int(restores), pin_open == "1"
        self.reasons = reasons[0] if reasons else ""

    def wait_for(self, condition: str, deadline_s: float) -> None:
        """Read the state until ``condition`` (an attribute) is true; SystemExit after
        ``deadline_s`` (generous: a loaded machine is slow, not broken)."""
        deadline = time.monotonic() + deadline_s
        while not getattr(self, condition):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"the kiosk never reached {condition}")
            time.sleep(0.05)
            self.read()

    def settle(self, wm: bool, quiet_s: float = 0.5, deadline_s: float = 10.0) -> None:
        """Wait until the window is back and the guard has had nothing to restore for
        ``quiet_s``: an attack the window manager carried out late is counted as its own, not
        the next one's."""
        deadline = time.monotonic() + deadline_s
        self.read()
        seen, since = self.restores, time.monotonic()
        while time.monotonic() < deadline and self.proc.poll() is None:
            time.sleep(0.05)
            self.read()
            if self.restores != seen or not self.back(wm):
                seen, since = self.restores, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        shutil.rmtree(self.folder, ignore_errors=True)

    def back(self, wm: bool) -> bool:
        info = sh("xwininfo", "-id", str(self.wid))
        if "Map State: IsViewable" not in info:
            return False
        size = {
            k.strip(): v.strip() for k, _, v in (line.partition(":") for line in info.splitlines())
        }
        if (size.get("Width"), size.get("Height")) != ("1280", "720"):
            return False
        if wm:
            if "_NET_WM_STATE_FULLSCREEN" not in sh("xprop", "-id", str(self.wid), "_NET_WM_STATE"):
                return False
            desktop = sh("xprop", "-root", "_NET_CURRENT_DESKTOP").split("=")[-1].strip()
            mine = sh("xprop", "-id", str(self.wid), "_NET_WM_DESKTOP").split("=")[-1].strip()
            if mine not in (desktop, "4294967295"):
                return False
        active = sh("xdotool", "getactivewindow").strip() if wm else ""
        return not wm or active == str(self.wid)


def start_openbox(errors: IO[str]) -> subprocess.Popen[bytes]:
    """openbox on this display, once it is up: it names itself on the root window (wmctrl -m)."""
    openbox = subprocess.Popen(["openbox"], stdout=subprocess.DEVNULL, stderr=errors)
    deadline = time.monotonic() + 30
    while subprocess.run(["wmctrl", "-m"], capture_output=True, check=False).returncode:
        if openbox.poll() is not None or time.monotonic() > deadline:
            openbox.kill()
            openbox.wait(10)
            errors.seek(0)
            display = os.environ.get("DISPLAY")
            raise SystemExit(
                f"openbox did not start on {display} ({openbox.returncode}): {errors.read()}"
            )
        time.sleep(0.05)
    return openbox


def main() -> int:
    wm = "--wm" in sys.argv
    no_grab = "--no-grab" in sys.argv
    # openbox's messages, read only if it fails (a pipe nobody reads could fill)
    with tempfile.TemporaryFile("w+") as errors:
        openbox = start_openbox(errors) if wm else None
        try:
            kiosk = Kiosk(no_grab)
            try:
                return run(kiosk, wm, no_grab)
            finally:
                kiosk.close()
        finally:
            if openbox is not None:
                openbox.terminate()
                openbox.wait(5)


def run(kiosk: Kiosk, wm: bool, no_grab: bool) -> int:
    kiosk.settle(wm, deadline_s=30)
    if not kiosk.back(wm):
        raise SystemExit("the kiosk never came up full screen")
    wid = str(kiosk.wid)
    attacks: dict[str, list[list[str]]] = {
        "windowminimize": [["xdotool", "windowminimize", wid]],
        "windowunmap (hide)": [["xdotool", "windowunmap", wid]],
        "move and resize": [
            ["xdotool", "windowsize", wid, "300", "200"],
            ["xdotool", "windowmove", wid, "50", "50"],
        ],
    }
    if wm:
        attacks.update(
            {
                "key super+d (show desktop)": [["xdotool", "key", "super+d"]],
                "key alt+space, Iconify": [["xdotool", "key", "i"]],
                "key ctrl+alt+Right (next desktop)": [["xdotool", "key", "ctrl+alt+Right"]],
                "wmctrl: move to desktop 2": [["wmctrl", "-i", "-r", wid, "-t", "1"]],
                "wmctrl: remove full screen": [
                    ["wmctrl", "-i", "-r", wid, "-b", "remove,fullscreen"]
                ],
                "wmctrl: close (WM_DELETE_WINDOW)": [["wmctrl", "-i", "-c", wid]],
            }
        )
    # what comes before an attack and is not the guard's time: opening the window menu
    prepare = {"key alt+space, Iconify": [["xdotool", "key", "alt+space"], ["sleep", "0.3"]]}
    results: dict[str, dict[str, object]] = {}
    for name, steps in attacks.items():
        before = kiosk.restores
        for step in prepare.get(name, []):
            subprocess.run(step, capture_output=True, timeout=10, check=False)
        started = time.monotonic()
        for step in steps:
            subprocess.run(step, capture_output=True, timeout=10, check=False)
        # a moment for the attack to act before we look (the WM may need a round trip)
        time.sleep(0.05)
        back_s = None
        while time.monotonic() - started < 10.0:
            if kiosk.proc.poll() is not None:
                break
            # the time the successful look began: the window was back by then (a look is a few
            # xwininfo/xprop runs, slow on a loaded machine, and not the guard's time)
            looked = time.monotonic()
            if kiosk.back(wm):
                back_s = looked - started
                break
            time.sleep(0.02)
        kiosk.settle(wm)
        reasons = kiosk.reasons.split("|")[before:] if kiosk.reasons else []
        results[name] = {
            "back_s": None if back_s is None else round(back_s, 3),
            "restores": kiosk.restores - before,
            "reasons": sorted(set(reasons)),
            "alive": kiosk.proc.poll() is None,
            "desktop": sh("xprop", "-root", "_NET_CURRENT_DESKTOP").split("=")[-1].strip(),
        }
    pin: dict[str, object] = {}
    if "--pin" in sys.argv:
        # the admin: Ctrl+Shift+K on the real keyboard path (through the grab), the PIN, Enter
        subprocess.run(["xdotool", "key", "ctrl+shift+k"], capture_output=True, timeout=10)
        kiosk.wait_for("pin_open", deadline_s=30)  # typed before it is up, the digits are lost
        subprocess.run(
            ["xdotool", "type", "--delay", "50", "1234"], capture_output=True, timeout=10
        )
        shot = os.environ.get("KIOSK_SHOT")
        if shot:
            time.sleep(0.3)
            subprocess.run(["import", "-window", "root", shot], capture_output=True, timeout=20)
        subprocess.run(["xdotool", "key", "Return"], capture_output=True, timeout=10)
        try:
            pin["exit"] = kiosk.proc.wait(30)
        except subprocess.TimeoutExpired:
            pin["exit"] = None
    code = None
    if kiosk.proc.poll() is None:
        # last: the X connection is killed (xkill): the app must end with a non-zero status
        subprocess.run(["xdotool", "windowkill", wid], capture_output=True, timeout=10, check=False)
        try:
            code = kiosk.proc.wait(30)
        except subprocess.TimeoutExpired:
            kiosk.proc.kill()
    print(
        "RESULT "
        + json.dumps(
            {"wm": wm, "grab": not no_grab, "attacks": results, "killed_exit": code, "pin": pin}
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The tray icon beside a real system tray (trayer, under Xvfb with openbox): close to tray, a
click on the icon brings the window back, the menu drives the player, a mood notification."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("xvfb-run", "openbox", "trayer", "xdotool")),
    reason="needs xvfb-run, openbox, trayer and xdotool (`make system-tools` installs them)",
)

CHILD = Path(__file__).with_name("tray_child.py")


def test_close_to_tray_click_the_icon_and_the_tray_menu(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBUS_", "MOODPLAYER_"))}
    for var, sub in (("XDG_CONFIG_HOME", "c"), ("XDG_DATA_HOME", "d"), ("XDG_STATE_HOME", "s")):
        env[var] = str(tmp_path / sub)
    env.update(QT_QPA_PLATFORM="xcb", SDL_AUDIODRIVER="dummy", PYTHONPATH=str(REPO))
    report = tmp_path / "report.json"
    script = (
        "openbox >/dev/null 2>&1 & sleep 0.5; "
        "trayer --edge top --align right --widthtype pixel --width 120 --height 28 "
        ">/dev/null 2>&1 & sleep 1; "
        f'"{sys.executable}" "{CHILD}" "{tmp_path / "settings.toml"}" "{report}"'
    )
    done = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1024x700x24", "sh", "-c", script],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(report.read_text())
    assert result["tray"], result
    assert result["hidden_after_close"] and result["playing_in_tray"], result
    assert result["shown_by_click"], result
    assert result["paused_from_tray"] and result["menu_says_play"], result
    assert result["manual_from_tray"] and result["auto_from_tray"], result
    assert result["notifications"] == 1, result

"""The real entry point with no console, as pythonw runs the ``moodplayer`` GUI script on Windows:
``sys.stdout`` and ``sys.stderr`` are None. Before the fix ``faulthandler.enable()`` raised at the
first line of ``main`` and the app died before any window."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.media import astronaut_bgr, write_image

pytestmark = pytest.mark.slow


def _without_console(
    argv: list[str], home: Path, timeout: float = 90, **env_extra: str
) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        "sys.stdout = sys.stderr = None\n"
        "from app.cli import main\n"
        f"raise SystemExit(main({argv!r}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONFAULTHANDLER"}
    env.update(
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        QT_QPA_PLATFORM="offscreen",
        SDL_AUDIODRIVER="dummy",
        **env_extra,
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=env,
    )


def test_old_start_up_would_have_died_without_a_console() -> None:
    """What this file guards against: faulthandler on a stderr that is None."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, faulthandler; sys.stderr = None; faulthandler.enable()",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0


def test_version_and_a_headless_command_run_without_a_console(tmp_path: Path) -> None:
    assert _without_console(["--version"], tmp_path).returncode == 0
    image = write_image(tmp_path / "face.png", astronaut_bgr())
    done = _without_console(["analyze", str(image), "--json"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # the output had nowhere to go, and that was no error
    assert "Traceback" not in done.stderr
    # an error a person can fix is still exit status 1, not a crash
    missing = _without_console(["analyze", str(tmp_path / "nowhere.png")], tmp_path)
    assert missing.returncode == 1, missing.stderr


def test_the_window_starts_and_quits_without_a_console(tmp_path: Path) -> None:
    home = tmp_path / "home"
    shot = tmp_path / "window.png"
    log_dir = home / "state" / "moodplayer" / "log"
    log_dir.mkdir(parents=True)
    (log_dir / "crash.log").write_text("Fatal Python error: Segmentation fault\n")  # last run
    done = _without_console(
        ["--no-camera"],
        home,
        MOODPLAYER_SCREENSHOT=str(shot),
        MOODPLAYER_SCREENSHOT_AFTER="1",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert shot.stat().st_size > 1000  # the window was drawn
    log = (log_dir / "moodplayer.log").read_text()
    assert "window shown" in log and "session ended" in log
    # the crash the last run left is told once and kept aside; this run's crash file is empty
    assert "MoodPlayer stopped unexpectedly last time" in log
    assert "Segmentation fault" in (log_dir / "crash.previous.log").read_text()
    assert (log_dir / "crash.log").read_text() == ""
    for name in ("moodplayer.log", "crash.log"):
        assert stat.S_IMODE((log_dir / name).stat().st_mode) == 0o600, name

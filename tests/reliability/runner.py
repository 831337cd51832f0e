"""Runs the real app in a child process (``app_child.py``) with a private home, and reads back
what happened: the child's report, its log, its exit code and how long it took to exit.
(``from runner import run_child``; the ``child_home`` fixture lives in ``conftest.py``.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CHILD = HERE / "app_child.py"
# Only a guard against a hang: a healthy child exits long before this.
CHILD_TIMEOUT_S = 90.0


@dataclass
class ChildRun:
    code: int
    report: dict[str, Any]
    stdout: str
    stderr: str
    home: Path
    exited_at: float  # parent's time.monotonic() when the process was gone
    strace: Path | None = None
    settings: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def events(self) -> list[dict[str, Any]]:
        return list(self.report.get("events", []))

    def event(self, label: str) -> dict[str, Any]:
        return next(e for e in self.events if e["label"] == label)

    @property
    def exit_seconds(self) -> float:
        """From the window's close (the listener's click) to the process being gone."""
        return self.exited_at - float(self.report["notes"]["close_requested_at"])

    @property
    def log_text(self) -> str:
        logs = sorted((self.home / "state").rglob("*.log"))
        return "\n".join(p.read_text(errors="replace") for p in logs)


def child_env(home: Path, audio_driver: str = "dummy", **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("XDG_", "PYTEST", "MOODPLAYER_", "SDL_", "QT_"))
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_RUNTIME_DIR=str(home / "runtime"),
        TMPDIR=str(home / "tmp"),
        QT_QPA_PLATFORM="offscreen",
        SDL_AUDIODRIVER=audio_driver,
        PYGAME_HIDE_SUPPORT_PROMPT="1",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env


def run_child(
    scenario: str,
    home: Path,
    app_args: list[str],
    audio_driver: str = "dummy",
    strace: bool = False,
    **env_extra: str,
) -> ChildRun:
    for sub in ("config", "data", "state", "cache", "runtime", "tmp", "cwd"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    (home / "runtime").chmod(0o700)
    report = home / "report.json"
    settings = home / "config" / "moodplayer" / "settings.toml"
    command = [sys.executable, str(CHILD), scenario, str(report), *app_args]
    trace = None
    if strace:
        trace = home / "strace"
        trace.mkdir()
        command = [
            "strace",
            "-f",
            "-ff",  # one file per thread: no interleaved, split lines
            "-qq",
            "-e",
            "trace=%network,open,openat,openat2,creat,rename,renameat,renameat2,link,linkat,"
            "symlink,symlinkat,mkdir,mkdirat,truncate,memfd_create",
            "-e",
            "signal=none",
            "-o",
            str(trace / "t"),
            *command,
        ]
    proc = subprocess.run(
        command,
        cwd=home / "cwd",
        env=child_env(home, audio_driver, **env_extra),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    exited = time.monotonic()
    data: dict[str, Any] = {}
    if report.exists():
        data = json.loads(report.read_text())
    if not data:
        pytest.fail(f"the app did not report (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return ChildRun(proc.returncode, data, proc.stdout, proc.stderr, home, exited, trace, settings)


def have_strace() -> bool:
    if shutil.which("strace") is None:
        return False
    probe = subprocess.run(
        ["strace", "-qq", "-e", "trace=none", "true"], capture_output=True, check=False
    )
    return probe.returncode == 0

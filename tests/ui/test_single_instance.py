"""One instance per user: a second launch hands over to the first (a real second process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from app.ui.single_instance import SingleInstance, instance_name

FIRST = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from PySide6.QtCore import QCoreApplication, QTimer
    from app.ui.single_instance import SingleInstance

    app = QCoreApplication([])
    one = SingleInstance(Path(sys.argv[1]), Path(sys.argv[2]))
    print("first" if one.claim() else "second", flush=True)
    one.activated.connect(lambda: print("activated", flush=True))
    QTimer.singleShot(15000, app.quit)
    app.exec()
    """
)


def _start_first(tmp_path: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", FIRST, str(tmp_path / "config"), str(tmp_path / "run")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "first"
    return child


def test_second_launch_hands_over_and_the_first_comes_to_the_front(qapp, tmp_path) -> None:
    child = _start_first(tmp_path)
    try:
        second = SingleInstance(tmp_path / "config", tmp_path / "run")
        assert second.claim() is False
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "activated"
        second.release()
    finally:
        child.kill()
        child.wait(5)
        child.stdout.close()


def test_a_crashed_first_instance_does_not_block_the_next_start(qapp, tmp_path) -> None:
    child = _start_first(tmp_path)
    os.kill(child.pid, signal.SIGKILL)  # leaves its lock file and socket behind
    child.wait(5)
    child.stdout.close()
    again = SingleInstance(tmp_path / "config", tmp_path / "run")
    assert again.claim() is True
    again.release()


def test_other_settings_folders_are_other_users(tmp_path) -> None:
    assert instance_name(tmp_path / "a") != instance_name(tmp_path / "b")
    assert instance_name(tmp_path / "a") == instance_name(tmp_path / "a")

"""The frozen double-click build (``make frozen``, packaging/moodplayer.spec) starts: its console
program answers ``--version`` and reads the expressions in a real face, and its window program
comes up (offscreen) and quits after its screenshot, with a private home and no checkout nearby.

``make frozen-smoke`` builds it and runs this file with ``MOODPLAYER_FROZEN`` set to the built
folder; without that variable (``make test``) these tests skip.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.media import astronaut_bgr, write_image

pytestmark = pytest.mark.frozen

FOLDER = os.environ.get("MOODPLAYER_FROZEN", "")


@pytest.fixture(scope="module")
def bundle() -> Path:
    if not FOLDER:
        pytest.skip("the frozen build is checked by make frozen-smoke (MOODPLAYER_FROZEN unset)")
    folder = Path(FOLDER).resolve()
    assert (folder / "moodplayer").is_file(), f"no built program in {folder}: run make frozen"
    return folder


def _env(home: Path, **extra: str) -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        QT_QPA_PLATFORM="offscreen",
        SDL_AUDIODRIVER="dummy",
        **extra,
    )
    return env


def _run(args: list[str], home: Path, timeout: float = 120, **extra: str):
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, cwd=home, env=_env(home, **extra)
    )


def test_the_bundle_carries_model_music_and_icons_but_no_generators(bundle: Path) -> None:
    data = next(bundle.rglob("app/_data"))
    assert list((data / "models").glob("*.onnx")) and list((data / "models").glob("*.json"))
    assert len(list((data / "playlists").rglob("*.ogg"))) >= 6
    assert (data / "assets" / "moodplayer.svg").is_file()
    assert not list(data.rglob("*.py")), "a generator script went into the bundle"
    assert not list(bundle.rglob("kiosk_demo*"))


def test_the_console_program_answers_version_and_reads_a_face(bundle: Path, tmp_path: Path) -> None:
    cli = str(bundle / "moodplayer-cli")
    done = _run([cli, "--version"], tmp_path / "home")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("moodplayer ")
    image = write_image(tmp_path / "astronaut.png", astronaut_bgr())
    done = _run([cli, "analyze", str(image), "--json"], tmp_path / "home")
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [json.loads(x) for x in done.stdout.splitlines() if x.strip()]
    assert line["box"] is not None, line  # the face was found
    assert abs(sum(line["probabilities"].values()) - 1.0) < 1e-3
    assert line["top"] == "happy", line  # she smiles


def test_the_window_program_starts_and_quits(bundle: Path, tmp_path: Path) -> None:
    shot = tmp_path / "frozen-window.png"
    done = _run(
        [str(bundle / "moodplayer"), "--no-camera"],
        tmp_path / "home",
        MOODPLAYER_SCREENSHOT=str(shot),
        MOODPLAYER_SCREENSHOT_AFTER="2",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert shot.stat().st_size > 10_000
    log = (tmp_path / "home/state/moodplayer/log/moodplayer.log").read_text()
    assert "window shown" in log

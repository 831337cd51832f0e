"""`moodplayer calibrate`: 7 numbers in the settings (never an image), and `watch` applies them."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from app import cli
from app import settings as settings_module
from app.commands import calibrate, watch
from app.vision.reading import Box, Reading
from tests.mood.test_calibration import REST, SMILE

REST_LEVEL, SMILE_LEVEL, EMPTY = 120, 220, 20


class RestingBiasAnalyzer:
    """A stand-in model scripted by brightness: mid-grey frames are the resting face (40 % sad),
    bright ones the same face smiling, dark ones no face."""

    def __init__(self) -> None:
        self.first = threading.Event()

    def analyze(self, frame_bgr: np.ndarray, time: float, frame_index: int = -1) -> Reading:
        self.first.set()
        level = float(frame_bgr.mean())
        if level < 60:
            return Reading(time, None, frame_index=frame_index)
        probs = dict(SMILE if level > 180 else REST)
        return Reading(time, Box(0, 0, 10, 10), probs, frame_index=frame_index)


@pytest.fixture()
def analyzer(monkeypatch: pytest.MonkeyPatch) -> RestingBiasAnalyzer:
    fake = RestingBiasAnalyzer()
    monkeypatch.setattr(calibrate, "make_analyzer", lambda model: fake)
    monkeypatch.setattr(watch, "make_analyzer", lambda model: fake)
    return fake


def folder_of(folder: Path, levels: list[int]) -> Path:
    import cv2

    folder.mkdir()
    for i, level in enumerate(levels):
        assert cv2.imwrite(str(folder / f"{i:04d}.png"), np.full((24, 32, 3), level, np.uint8))
    return folder


def moods(out: str) -> list[str]:
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [e["current"] for e in events if e["event"] == "mood"]


def test_calibrate_stores_seven_numbers_and_watch_then_votes_neutral_at_rest(
    tmp_path: Path, analyzer: RestingBiasAnalyzer, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "settings.toml"
    s = settings_module.Settings()
    s.camera.source = str(folder_of(tmp_path / "rest", [REST_LEVEL] * 10))
    s.camera.loop_video = True
    settings_module.save(s, path)
    # at rest, before calibrating: the face votes sad
    scene = folder_of(tmp_path / "scene", [REST_LEVEL] * 30 + [SMILE_LEVEL] * 30)
    watch_argv = ["--settings", str(path), "watch", "--source", str(scene), "--json"]
    watch_argv += ["--no-loop", "--fps", "10"]
    assert cli.main(watch_argv) == 0
    assert moods(capfd.readouterr().out) == ["sad", "happy"]

    code = cli.main(["--settings", str(path), "calibrate", "--seconds", "2", "--json"])
    out, err = capfd.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert result["calibration"]["sad"] == pytest.approx(0.40, abs=0.01)
    stored = settings_module.load(path).settings.mood.calibration
    assert len(stored) == 7 and sum(stored) == pytest.approx(1.0, abs=1e-3)
    text = path.read_text()
    assert "calibration = [" in text and text.count("\n") < 100  # numbers only, nothing else

    assert cli.main(watch_argv) == 0
    assert moods(capfd.readouterr().out) == ["neutral", "happy"]

    assert cli.main(["--settings", str(path), "calibrate", "--reset"]) == 0
    assert settings_module.load(path).settings.mood.calibration == []


def test_calibrate_without_a_face_says_what_to_do(
    tmp_path: Path,
    analyzer: RestingBiasAnalyzer,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(calibrate, "FIRST_FACE_S", 1.0)
    path = tmp_path / "settings.toml"
    empty = folder_of(tmp_path / "empty", [EMPTY] * 5)
    argv = ["--settings", str(path), "calibrate", "--source", str(empty), "--seconds", "2"]
    code = cli.main(argv)
    _out, err = capfd.readouterr()
    assert code == 1
    assert "No face was seen" in err and "Traceback" not in err
    assert not path.exists() or "calibration = [0" not in path.read_text()

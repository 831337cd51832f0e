"""`moodplayer watch`: live readings rate, mood changes, JSON lines, Ctrl+C and the summary."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app import cli, paths
from app.commands import watch
from app.vision.reading import EXPRESSIONS, Box, Reading
from tests.media import scene_video


def solid(value: int) -> np.ndarray:
    return np.full((24, 32, 3), value, dtype=np.uint8)


HAPPY, SAD, EMPTY = 200, 120, 20


class BrightnessAnalyzer:
    """A stand-in model: bright frames are happy faces, mid-grey sad faces, dark ones no face."""

    def __init__(self) -> None:
        self.first = threading.Event()

    def analyze(self, frame_bgr: np.ndarray, time: float, frame_index: int = -1) -> Reading:
        self.first.set()
        level = float(frame_bgr.mean())
        if level < 60:
            return Reading(time, None, frame_index=frame_index)
        top = "happy" if level > 160 else "sad"
        probs = dict.fromkeys(EXPRESSIONS, 0.05)
        probs[top] = 0.7
        return Reading(time, Box(0, 0, 10, 10), probs, frame_index=frame_index)


@pytest.fixture()
def fake_model(monkeypatch: pytest.MonkeyPatch) -> BrightnessAnalyzer:
    analyzer = BrightnessAnalyzer()
    monkeypatch.setattr(watch, "make_analyzer", lambda model: analyzer)
    return analyzer


def write_folder(folder: Path, levels: list[int]) -> Path:
    import cv2

    folder.mkdir()
    for i, level in enumerate(levels):
        assert cv2.imwrite(str(folder / f"{i:04d}.png"), solid(level))
    return folder


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_folder_ending_prints_mood_changes_and_the_summary_as_json(
    tmp_path: Path, fake_model: BrightnessAnalyzer, capfd: pytest.CaptureFixture[str]
) -> None:
    # 10 images a second: 1 s without a face, 1.5 s happy, 2.5 s sad.
    folder = write_folder(tmp_path / "faces", [EMPTY] * 10 + [HAPPY] * 15 + [SAD] * 25)
    argv = ["watch", "--source", str(folder), "--json", "--no-loop", "--every", "1", "--fps", "10"]
    code = cli.main(argv)
    assert code == 0
    events = json_lines(capfd.readouterr().out)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "summary"
    moods = [(e["previous"], e["current"]) for e in events if e["event"] == "mood"]
    assert moods == [(None, "happy"), ("happy", "sad")]
    # The default "lift" strategy: happy keeps upbeat, sad is lifted with upbeat songs too.
    assert [e["playlist"] for e in events if e["event"] == "mood"] == ["upbeat", "upbeat"]
    happy = next(e for e in events if e["event"] == "mood")
    assert happy["t"] >= 1.0 and happy["evidence"]["happy"] > 0.5 and "happy led" in happy["reason"]
    states = [e["state"] for e in events if e["event"] == "state"]
    assert states == ["running", "stopped"]
    assert any(e["event"] == "rate" and e["analyses_per_s"] > 0 for e in events)
    summary = events[-1]
    assert summary["frames"] == 50
    assert summary["analyses"] <= 50
    assert summary["changes"] == 2 and summary["mood"] == "sad"
    assert summary["interrupted"] is False
    assert set(summary["ms_per_stage"]) >= {"read", "detect", "crop", "infer"}


def test_text_output_and_duration(
    tmp_path: Path, fake_model: BrightnessAnalyzer, capfd: pytest.CaptureFixture[str]
) -> None:
    folder = write_folder(tmp_path / "faces", [HAPPY] * 4)
    argv = ["watch", "--source", str(folder), "--duration", "3", "--fps", "10", "--rate", "8"]
    code = cli.main(argv)
    assert code == 0
    out = capfd.readouterr().out
    assert "watching" in out and "at 8 analyses/s for 3 s" in out
    assert "mood: none → happy, plays upbeat" in out
    assert "analyses/s" in out
    assert "summary:" in out and "time per frame: read" in out


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_cleanly_with_a_summary(
    signum: int,
    tmp_path: Path,
    fake_model: BrightnessAnalyzer,
    capfd: pytest.CaptureFixture[str],
) -> None:
    folder = write_folder(tmp_path / "faces", [HAPPY, SAD])  # loops until interrupted
    handlers_before = [signal.getsignal(number) for number in watch.STOP_SIGNALS]
    pressed: list[int] = []

    def press_ctrl_c() -> None:
        # once the watch runs (a loaded machine may take long to get there)
        if fake_model.first.wait(60.0):
            os.kill(os.getpid(), signum)
            pressed.append(signum)

    # A shell that starts pytest in the background (``cmd &`` without job control) has SIGINT
    # ignored, and Python keeps it so: Ctrl+C as a terminal delivers it needs the default handler.
    int_before = signal.signal(signal.SIGINT, signal.default_int_handler)
    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    try:
        code = cli.main(["watch", "--source", str(folder), "--json"])
    finally:
        presser.join()
        signal.signal(signal.SIGINT, int_before)
    assert pressed == [signum]
    assert code == 0
    events = json_lines(capfd.readouterr().out)
    assert events[-1]["event"] == "summary" and events[-1]["interrupted"] is True
    assert events[-1]["analyses"] >= 1
    capture_threads = [t for t in threading.enumerate() if t.name.startswith("capture-")]
    assert capture_threads == []
    # put back as they were
    assert [signal.getsignal(number) for number in watch.STOP_SIGNALS] == handlers_before


def test_a_second_ctrl_c_interrupts_a_stop_that_hangs_and_an_ignored_one_stays_ignored() -> None:
    before = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
    try:
        with watch._stop_on_signals() as stop:
            os.kill(os.getpid(), signal.SIGINT)
            assert stop.wait(10.0)  # the first asks the loop to stop: no exception
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(10.0)  # the handler runs (and raises) before this ends
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        # started in the background by a shell without job control: Ctrl+C is not for it
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with watch._stop_on_signals() as stop:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)
            assert not stop.wait(0.2)
    finally:
        signal.signal(signal.SIGINT, before)


def test_the_session_runs_with_the_listeners_settings(
    tmp_path: Path, fake_model: BrightnessAnalyzer, capfd: pytest.CaptureFixture[str]
) -> None:
    """The settings file's choices reach the session, not the defaults: here the session report
    the listener turned on records the watched moods (and only then)."""
    from app import settings
    from app.report import report_dir

    folder = write_folder(tmp_path / "faces", [HAPPY] * 20)
    argv = ["watch", "--source", str(folder), "--fps", "10", "--json", "--no-loop"]
    reports = report_dir(paths.data_dir())
    assert cli.main(argv) == 0
    assert not reports.exists() or not list(reports.glob("*.csv"))  # off by default
    chosen = settings.Settings()
    chosen.session.report = True
    settings.save(chosen, paths.settings_file())
    assert cli.main(argv) == 0
    events = json_lines(capfd.readouterr().out)
    assert [e["current"] for e in events if e["event"] == "mood"] == ["happy", "happy"]
    (csv,) = reports.glob("*.csv")
    moods = [line.split(",")[1] for line in csv.read_text().splitlines()[1:]]
    assert "happy" in moods, moods


def test_default_source_is_the_camera_in_the_settings(
    fake_model: BrightnessAnalyzer, capfd: pytest.CaptureFixture[str]
) -> None:
    from app import settings

    chosen = settings.Settings()
    chosen.camera.source = "9"  # there is no webcam here, let alone a tenth one
    settings.save(chosen, paths.settings_file())
    code = cli.main(["watch", "--duration", "5"])
    assert code == 1
    err = capfd.readouterr().err
    assert "No camera at index 9 (found:" in err and "Settings → Camera" in err
    assert "Traceback" not in err


def test_bad_arguments_are_one_sentence(
    tmp_path: Path, fake_model: BrightnessAnalyzer, capfd: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["watch", "--source", str(tmp_path / "nope.mp4")]) == 1
    assert "No camera, video or folder called" in capfd.readouterr().err
    assert cli.main(["watch", "--source", str(tmp_path), "--rate", "0"]) == 1
    assert "--rate 0 is out of range" in capfd.readouterr().err


# -- with the real model ------------------------------------------------------------------------


@pytest.mark.slow
def test_watch_a_real_face_video_reports_happy(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    clip = scene_video(tmp_path / "clip.mp4", "N" * 5 + "F" * 35, fps=10.0)
    code = cli.main(["watch", "--source", str(clip), "--duration", "15", "--json", "--no-loop"])
    assert code == 0
    events = json_lines(capfd.readouterr().out)
    moods = [e["current"] for e in events if e["event"] == "mood"]
    assert moods == ["happy"]
    assert events[-1]["event"] == "summary" and events[-1]["frames"] == 40


def test_watch_drives_the_session_core(
    tmp_path: Path,
    fake_model: BrightnessAnalyzer,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from app import session as core

    made: list[core.Session] = []

    class Recorded(core.Session):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(watch, "Session", Recorded)
    folder = write_folder(tmp_path / "faces", [HAPPY] * 20)
    argv = ["watch", "--source", str(folder), "--json", "--no-loop", "--fps", "10"]
    assert cli.main(argv) == 0
    events = json_lines(capfd.readouterr().out)
    (session,) = made
    assert session.voter.mood == "happy" == events[-1]["mood"]
    assert session.worker is None and not session.running  # stopped and joined
    assert session.camera_state.value == "stopped"


class TwoFacesAnalyzer:
    """Two faces in every frame: a large happy one and a smaller sad one."""

    def analyze(self, frame_bgr: np.ndarray, time: float, frame_index: int = -1) -> Reading:
        from app.vision.reading import Face

        happy = dict.fromkeys(EXPRESSIONS, 0.05)
        happy["happy"] = 0.7
        sad = dict.fromkeys(EXPRESSIONS, 0.05)
        sad["sad"] = 0.7
        big, small = Box(0, 0, 12, 12), Box(18, 0, 10, 10)
        faces = (Face(big, happy), Face(small, sad))
        return Reading(time, big, happy, frame_index=frame_index, faces=faces)


@pytest.mark.parametrize(
    ("room", "voting", "words"), [(True, 2, "2 faces"), (False, 1, "one votes")]
)
def test_the_rate_line_counts_the_faces_and_room_lets_every_face_vote(
    room: bool,
    voting: int,
    words: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(watch, "make_analyzer", lambda model: TwoFacesAnalyzer())
    folder = write_folder(tmp_path / "faces", [HAPPY] * 20)
    argv = ["watch", "--source", str(folder), "--no-loop", "--every", "0.5", "--fps", "10"]
    argv += ["--room"] if room else []
    assert cli.main([*argv, "--json"]) == 0
    events = json_lines(capfd.readouterr().out)
    assert events[0]["room"] is room
    rates = [e for e in events if e["event"] == "rate"]
    assert rates and rates[-1]["faces"] == 2 and rates[-1]["voting"] == voting
    assert cli.main(argv) == 0
    out = capfd.readouterr().out
    assert ("every face in view votes" in out) is room
    assert f"running, {'2 faces' if room else '2 faces, one votes'}" in out and words in out

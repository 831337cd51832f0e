"""The real mixer, heard through SDL's disk driver: decoded output proves what the player and the
controller did (tones of distinct frequencies stand for tracks; see disk_audio.py)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from audio_files import dominant_frequency, rms
from disk_audio import FREQS, run_scenario, segment, tail

Run = tuple[np.ndarray, int, dict[str, tuple[int, int]], dict[str, object]]


@pytest.fixture(scope="module")
def player_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    work = tmp_path_factory.mktemp("disk-player")
    samples, rate, segments = run_scenario("player", work)
    return samples, rate, segments, json.loads((work / "segments.json").read_text())


@pytest.fixture(scope="module")
def controller_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    work = tmp_path_factory.mktemp("disk-controller")
    samples, rate, segments = run_scenario("controller", work)
    return samples, rate, segments, json.loads((work / "segments.json").read_text())


def freq(run: Run, label: str) -> float:
    samples, rate, segments, _ = run
    return dominant_frequency(tail(samples, rate, segments[label]), rate)


def test_the_right_track_sounds_and_next_changes_it(player_run: Run) -> None:
    samples, rate, segments, _ = player_run
    assert freq(player_run, "A") == pytest.approx(440, abs=8)
    assert rms(segment(samples, rate, segments["A"])) > 0.2
    assert freq(player_run, "resumed") == pytest.approx(440, abs=8)
    assert freq(player_run, "B") == pytest.approx(880, abs=8)


def test_pause_gives_silence(player_run: Run) -> None:
    samples, rate, segments, _ = player_run
    assert rms(segment(samples, rate, segments["paused"])) < 1e-3
    assert rms(segment(samples, rate, segments["resumed"])) > 0.2


def test_a_fade_ramps_down_then_the_next_playlist_fades_in(player_run: Run) -> None:
    samples, rate, segments, _ = player_run
    start, end = segments["fade"]
    # The first 80 % of the 0.6 s fade (the rest may already hold the next fade-in).
    fading = samples[start : start + int(0.8 * (end - start))]
    quarters = [rms(part) for part in np.array_split(fading, 4)]
    assert quarters[0] > quarters[1] > quarters[2] > quarters[3]
    assert quarters[3] < 0.5 * quarters[0]
    start, end = segments["C"]
    rising = [rms(part) for part in np.array_split(samples[start : start + int(0.6 * rate)], 3)]
    assert rising[0] < rising[1] < rising[2]


def test_a_corrupt_file_is_skipped_and_the_next_one_sounds(player_run: Run) -> None:
    _, _, _, info = player_run
    assert freq(player_run, "C") == pytest.approx(660, abs=8)
    assert info["final_state"] == "playing" and info["final_index"] == 1


def test_controller_mood_changes_and_overrides_are_heard(controller_run: Run) -> None:
    """Issue 5 "done when": each step of the controller is proven by the decoded audio."""
    _, _, _, info = controller_run
    expected = {
        "auto-start": ("auto", "calm"),  # no mood yet: neutral -> calm
        "mood-happy": ("auto", "upbeat"),  # lift: happy -> upbeat
        "manual-intense": ("manual", "intense"),
        "mood-ignored": ("manual", "intense"),  # surprise arrives while MANUAL
        "back-to-auto": ("auto", "energetic"),  # the voted mood (surprise) -> energetic
        "mood-happy-again": ("auto", "upbeat"),
    }
    entries: list[list[Any]] = info["log"]  # type: ignore[assignment]
    log = {label: (mode, name) for label, mode, name, _pos in entries}
    assert log == expected
    for label, (_mode, playlist) in expected.items():
        assert freq(controller_run, label) == pytest.approx(FREQS[playlist], abs=8), label
    # Upbeat was left ~0.3 s in and resumed there, not from the start.
    position = {label: pos for label, _m, _n, pos in entries}
    assert position["mood-happy-again"] > position["mood-happy"] + 0.15

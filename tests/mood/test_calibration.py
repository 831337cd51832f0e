"""Calibration: a face that reads 40 % sad at rest votes neutral once calibrated, and a real
change to happy still passes through."""

from __future__ import annotations

import numpy as np
import pytest

from app import settings
from app.mood.calibration import (
    Baseline,
    CalibrationError,
    Calibrator,
    Correction,
)
from app.mood.voter import MoodVoter, VoterConfig
from app.vision.reading import EXPRESSIONS, Box, Reading

FACE = Box(0, 0, 100, 100)
# A face whose resting expression the model reads as 40 % sad, 30 % neutral.
REST = {"angry": 0.06, "disgust": 0.06, "fear": 0.06, "happy": 0.06, "sad": 0.40,
        "surprise": 0.06, "neutral": 0.30}  # fmt: skip
# The same face smiling: happy leads, some of the resting sadness is still there.
SMILE = {"angry": 0.03, "disgust": 0.03, "fear": 0.03, "happy": 0.55, "sad": 0.22,
         "surprise": 0.04, "neutral": 0.10}  # fmt: skip


def noisy(probs: dict[str, float], rng: np.random.Generator) -> dict[str, float]:
    values = np.array([probs[e] for e in EXPRESSIONS]) * rng.uniform(0.85, 1.15, len(EXPRESSIONS))
    values /= values.sum()
    return dict(zip(EXPRESSIONS, values.tolist(), strict=True))


def readings(probs: dict[str, float], start: float, seconds: float, seed: int = 0) -> list[Reading]:
    rng = np.random.default_rng(seed)
    return [Reading(start + i / 10, FACE, noisy(probs, rng)) for i in range(round(seconds * 10))]


def calibrated(seconds: float = 5.0) -> Baseline:
    calibrator = Calibrator(seconds)
    for r in readings(REST, 0.0, seconds + 0.2, seed=1):
        calibrator.add(r)
    assert calibrator.done
    return calibrator.baseline()


def moods(voter: MoodVoter, stream: list[Reading]) -> list[tuple[float, str]]:
    changes = []
    for r in stream:
        change = voter.update(r)
        if change is not None:
            changes.append((change.time, change.current))
    return changes


def test_a_face_sad_at_rest_votes_sad_without_calibration() -> None:
    voter = MoodVoter()
    assert moods(voter, readings(REST, 0.0, 5.0))[-1][1] == "sad"


def test_calibrated_the_resting_face_votes_neutral_and_a_smile_still_passes() -> None:
    baseline = calibrated()
    assert baseline.as_dict()["sad"] == pytest.approx(0.40, abs=0.03)
    voter = MoodVoter(correction=Correction(baseline))
    rest = moods(voter, readings(REST, 0.0, 5.0, seed=2))
    assert [m for _t, m in rest] == ["neutral"]
    smile = moods(voter, readings(SMILE, 5.0, 4.0, seed=3))
    assert [m for _t, m in smile] == ["happy"]
    assert smile[0][0] - 5.0 < 2.5  # follows a real change as fast as before
    back = moods(voter, readings(REST, 9.0, 4.0, seed=4))
    assert [m for _t, m in back] == ["neutral"]


def test_strength_zero_changes_nothing_and_the_correction_is_a_prior() -> None:
    baseline = calibrated()
    assert Correction.from_settings(baseline.values(), 0.0) is None
    assert Correction.from_settings(baseline.values(), 1.0, on=False) is None
    assert Correction.from_settings([], 1.0) is None
    full = Correction(baseline, 1.0)
    half = Correction(baseline, 0.5)
    rest = full.apply(REST)
    assert max(rest, key=rest.__getitem__) == "neutral"
    assert sum(rest.values()) == pytest.approx(1.0)
    # half strength lies between the raw reading and the full correction
    assert REST["neutral"] < half.apply(REST)["neutral"] < rest["neutral"]
    # dividing by the baseline keeps the order of a change: a smile is still mostly happy
    smile = full.apply(SMILE)
    assert max(smile, key=smile.__getitem__) == "happy"


def test_the_baseline_is_seven_numbers_and_bad_ones_are_refused() -> None:
    baseline = calibrated()
    values = baseline.values()
    assert len(values) == 7 and sum(values) == pytest.approx(1.0, abs=1e-3)
    assert Baseline.from_values(values) == Baseline(tuple(values))
    for bad in ([0.5] * 6, [float("nan")] * 7, [-1.0, 2, 0, 0, 0, 0, 0], [0.0] * 7):
        assert Baseline.from_values(bad) is None


def test_too_few_faces_or_nan_readings_do_not_make_a_baseline() -> None:
    calibrator = Calibrator(5.0)
    for i in range(60):
        if i % 10 == 0:
            calibrator.add(Reading(i / 10, FACE, REST))
        else:
            calibrator.add(Reading(i / 10, None))
        calibrator.add(Reading(i / 10 + 0.01, FACE, dict.fromkeys(EXPRESSIONS, float("nan"))))
    assert calibrator.readings == 6
    with pytest.raises(CalibrationError, match="Only 6 readings of a face"):
        calibrator.baseline()


def test_the_voter_takes_the_calibration_from_the_settings() -> None:
    mood = settings.MoodSettings()
    assert VoterConfig.from_settings(mood).correction() is None
    mood.calibration = calibrated().values()
    config = VoterConfig.from_settings(mood)
    assert config.correction() is not None
    voter = MoodVoter(config)
    assert [m for _t, m in moods(voter, readings(REST, 0.0, 5.0))] == ["neutral"]
    mood.calibration_on = False
    assert VoterConfig.from_settings(mood).correction() is None


def test_the_calibration_round_trips_through_the_settings_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "settings.toml"
    s = settings.Settings()
    s.mood.calibration = calibrated().values()
    settings.save(s, path)
    loaded = settings.load(path)
    assert not loaded.problems
    assert loaded.settings.mood.calibration == pytest.approx(s.mood.calibration)
    path.write_text('[mood]\ncalibration = ["sad", 2]\n')
    loaded = settings.load(path)
    assert loaded.settings.mood.calibration == []
    assert any("mood.calibration" in p for p in loaded.problems)

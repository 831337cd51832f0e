"""MoodVoter on scripted reading sequences: time comes from the readings, so minutes run in ms."""

from __future__ import annotations

import random
from collections.abc import Iterable

import pytest

from app import settings
from app.mood.voter import (
    MIN_WEIGHT,
    MoodChange,
    MoodVoter,
    VoterConfig,
    reading_confidence,
    reading_vote,
)
from app.vision.reading import EXPRESSIONS, Box, Reading

FACE = Box(10, 10, 100, 100)
RATE = 10.0  # readings per second, the default analysis rate


def probs(top: str, p: float = 0.8, second: str | None = None, q: float = 0.0) -> dict[str, float]:
    """A probability vector with ``p`` on ``top`` (and ``q`` on ``second``), the rest spread."""
    rest = (1.0 - p - q) / (len(EXPRESSIONS) - (2 if second else 1))
    out = dict.fromkeys(EXPRESSIONS, rest)
    out[top] = p
    if second:
        out[second] = q
    return out


class Script:
    """Feeds readings at RATE per second and records every change."""

    def __init__(self, config: VoterConfig | None = None, rng_seed: int = 1) -> None:
        self.voter = MoodVoter(config)
        self.t = 0.0
        self.changes: list[MoodChange] = []
        self.rng = random.Random(rng_seed)

    def feed(self, seconds: float, top: str | None, p: float = 0.8, noise: float = 0.0) -> None:
        for _ in range(round(seconds * RATE)):
            if top is None:
                reading = Reading(self.t, None)
            else:
                vector = probs(top, p)
                if noise:
                    vector = {
                        k: v * (1 + self.rng.uniform(-noise, noise)) for k, v in vector.items()
                    }
                    total = sum(vector.values())
                    vector = {k: v / total for k, v in vector.items()}
                reading = Reading(self.t, FACE, vector)
            self.push(reading)
            self.t += 1.0 / RATE

    def push(self, reading: Reading) -> None:
        change = self.voter.update(reading)
        if change is not None:
            self.changes.append(change)

    def feed_vectors(self, vectors: Iterable[dict[str, float]]) -> None:
        for vector in vectors:
            self.push(Reading(self.t, FACE, vector))
            self.t += 1.0 / RATE

    @property
    def moods(self) -> list[str]:
        return [c.current for c in self.changes]


def test_defaults_come_from_settings() -> None:
    assert VoterConfig() == VoterConfig.from_settings(settings.MoodSettings())
    custom = settings.MoodSettings(window_s=4.0, margin=0.2, dwell_s=2.0)
    config = VoterConfig.from_settings(custom)
    assert (config.window_s, config.margin, config.dwell_s) == (4.0, 0.2, 2.0)


def test_confidence_is_the_rescaled_top_probability_and_the_weight_is_bounded() -> None:
    shrug = dict.fromkeys(EXPRESSIONS, 1 / 7)
    assert reading_confidence(shrug) == pytest.approx(0.0, abs=1e-9)
    assert reading_confidence(probs("happy", 1.0)) == pytest.approx(1.0)
    assert 0.0 < reading_confidence(probs("happy", 0.6)) < 1.0
    assert reading_vote(shrug)[0] == pytest.approx(MIN_WEIGHT)
    weight, ballot = reading_vote(probs("happy", 1.0))
    assert weight == pytest.approx(1.0)
    assert ballot[EXPRESSIONS.index("happy")] == pytest.approx(1.0)


def test_sure_readings_weigh_more_than_unsure_ones() -> None:
    s = Script()
    # Per reading, neutral has more probability in total, but its readings are unsure shrugs
    # while the happy ones are sure: the weighted vote goes to happy.
    unsure = probs("neutral", 0.3)
    sure = probs("happy", 0.9)
    s.feed_vectors([unsure, unsure, sure] * 20)
    assert s.voter.mood == "happy"
    unweighted_happy = (2 * unsure["happy"] + sure["happy"]) / 3
    assert s.voter.distribution["happy"] > unweighted_happy


def test_first_mood_needs_faces_and_dwell() -> None:
    s = Script()
    s.feed(0.4, "happy")
    assert s.voter.mood is None  # not enough face yet, and no dwell
    s.feed(3.0, "happy")
    assert s.moods == ["happy"]
    first = s.changes[0]
    assert first.previous is None
    # Face share (0.3 of the window) plus dwell, never before the dwell has passed.
    assert VoterConfig().dwell_s <= first.time <= 1.5
    assert first.evidence["happy"] == max(first.evidence.values())
    assert "happy led" in first.reason


@pytest.mark.parametrize("neutral", [0.3, 0.4, 0.5])
def test_a_certain_grimace_does_not_outvote_a_soft_mood(neutral: float) -> None:
    s = Script()
    s.feed(4.0, "neutral", neutral)
    s.feed(0.5, "surprise", 1.0)  # as sure as a model can be
    s.feed(4.0, "neutral", neutral)
    assert s.moods == ["neutral"]


@pytest.mark.parametrize("p", [0.5, 0.7, 0.95])
def test_half_second_grimace_never_flips(p: float) -> None:
    for seed in range(5):
        s = Script(rng_seed=seed)
        s.feed(4.0, "neutral", 0.6, noise=0.3)
        s.feed(0.5, "angry", p)  # the grimace, as sure as can be
        s.feed(6.0, "neutral", 0.6, noise=0.3)
        assert s.moods == ["neutral"]


def test_grimace_after_no_face_does_not_become_the_first_mood() -> None:
    s = Script()
    s.feed(3.0, None)
    s.feed(0.5, "angry", 0.95)
    s.feed(3.0, None)
    assert s.voter.mood is None and s.changes == []


@pytest.mark.parametrize("p", [0.5, 0.7, 0.9])
def test_sustained_change_flips_within_window_plus_dwell(p: float) -> None:
    config = VoterConfig()
    s = Script(config)
    s.feed(5.0, "neutral", p, noise=0.3)
    change_at = s.t
    s.feed(5.0, "happy", p, noise=0.3)
    assert s.moods == ["neutral", "happy"]
    latency = s.changes[1].time - change_at
    assert latency <= config.window_s + config.dwell_s
    # The target the controller leaves room for (it fades 1.5 s after the change).
    assert latency <= 2.0
    assert s.changes[1].previous == "neutral"
    assert "led neutral by" in s.changes[1].reason


def test_the_old_defaults_were_too_slow() -> None:
    """Why settings.MoodSettings uses a 2 s window and 0.6 s dwell: 3 s / 1 s missed 2.5 s."""
    s = Script(VoterConfig(window_s=3.0, margin=0.12, dwell_s=1.0))
    s.feed(5.0, "neutral", 0.6)
    change_at = s.t
    s.feed(5.0, "happy", 0.6)
    assert s.changes[1].time - change_at > 2.5


@pytest.mark.parametrize("block", [0.1, 0.3, 0.5, 1.0])
def test_alternating_moods_do_not_oscillate(block: float) -> None:
    s = Script()
    s.feed(4.0, "neutral", 0.7)
    for i in range(int(20 / block)):
        s.feed(block, "happy" if i % 2 == 0 else "neutral", 0.7, noise=0.3)
    assert s.moods == ["neutral"]


@pytest.mark.parametrize("seed", range(10))
def test_random_flicker_between_two_moods_does_not_oscillate(seed: int) -> None:
    rng = random.Random(seed)
    # A model unsure between two moods, jumping between them at random on every reading.
    soft = Script()
    soft.feed(4.0, "sad", 0.7)
    soft.feed_vectors(
        probs("happy", 0.5, "sad", 0.3) if rng.random() < 0.5 else probs("sad", 0.5, "happy", 0.3)
        for _ in range(600)
    )
    assert soft.moods == ["sad"]
    # A model sure of each reading, wrong one time in five.
    hard = Script()
    hard.feed(4.0, "sad", 0.7)
    hard.feed_vectors(
        probs("happy", 0.7) if rng.random() < 0.2 else probs("sad", 0.7) for _ in range(600)
    )
    assert hard.moods == ["sad"]


def test_near_tie_does_not_flip_the_current_mood() -> None:
    s = Script()
    s.feed(4.0, "neutral", 0.7)
    # A long near-tie: happy a hair ahead of neutral, well inside the margin.
    s.feed_vectors(probs("happy", 0.42, "neutral", 0.38) for _ in range(300))
    assert s.moods == ["neutral"]
    dist = s.voter.distribution
    assert dist["happy"] > dist["neutral"]
    assert dist["happy"] - dist["neutral"] < VoterConfig().margin
    # A clear lead does flip it: the margin, not stubbornness, held it.
    s.feed_vectors(probs("happy", 0.7, "neutral", 0.2) for _ in range(40))
    assert s.moods == ["neutral", "happy"]


def test_face_lost_keeps_mood_then_no_face_state_then_face_returns() -> None:
    config = VoterConfig()
    s = Script(config)
    assert not s.voter.face_present
    s.feed(3.0, "happy")
    assert s.voter.face_present and s.voter.no_face_since is None
    last_face = s.t - 1 / RATE
    s.feed(config.no_face_after_s - 1.0, None)
    assert s.voter.face_present  # a short absence is not the no-face state
    assert s.voter.mood == "happy"
    s.feed(1.5, None)
    assert not s.voter.face_present
    assert s.voter.no_face_since == pytest.approx(last_face)
    assert s.voter.mood == "happy"  # the music may go on
    assert s.voter.distribution == dict.fromkeys(EXPRESSIONS, 0.0)
    assert s.voter.confidence == 0.0
    s.feed(3.0, "sad")
    assert s.voter.face_present and s.voter.no_face_since is None
    assert s.moods == ["happy", "sad"]


def test_tick_lets_time_pass_without_readings() -> None:
    config = VoterConfig()
    s = Script(config)
    s.feed(3.0, "happy")
    assert s.voter.distribution["happy"] > 0.5
    assert s.voter.tick(s.t + config.window_s + 0.1) is None
    assert s.voter.distribution["happy"] == 0.0  # the window emptied
    assert s.voter.face_present
    s.voter.tick(s.t + config.no_face_after_s + 0.1)
    assert not s.voter.face_present
    assert s.voter.mood == "happy"


def test_sparse_faces_do_not_vote() -> None:
    s = Script()
    s.feed(3.0, "neutral")
    # Faces in only 1 of 5 readings (20 % < min_face_share): happy faces cannot take over.
    for _ in range(40):
        s.feed(0.1, "happy", 0.95)
        s.feed(0.4, None)
    assert s.moods == ["neutral"]
    assert s.voter.face_share < VoterConfig().min_face_share


def test_distribution_is_normalised_and_confidence_is_moods_share() -> None:
    s = Script()
    s.feed(3.0, "surprise", 0.6)
    dist = s.voter.distribution
    assert set(dist) == set(EXPRESSIONS)
    assert sum(dist.values()) == pytest.approx(1.0)
    assert s.voter.confidence == pytest.approx(dist["surprise"])


def test_readings_from_the_past_are_ignored() -> None:
    s = Script()
    s.feed(3.0, "happy")
    before = s.voter.distribution
    assert s.voter.update(Reading(0.0, FACE, probs("angry", 1.0))) is None
    assert s.voter.distribution == before


def test_long_run_has_no_float_drift() -> None:
    s = Script()
    for i in range(200):
        s.feed(1.5, "happy" if i % 2 else "sad", 0.9, noise=0.5)
    s.feed(2.5, None)
    assert s.voter.distribution == dict.fromkeys(EXPRESSIONS, 0.0)


@pytest.mark.parametrize("rate", [1.0, 1.5, 3.0])
def test_slow_readings_with_ui_ticks_between_still_adopt_a_mood(rate: float) -> None:
    """The UI ticks every 250 ms; a slow machine may analyse only a frame or two a second."""
    voter = MoodVoter()
    t, tick, changes = 0.0, 0.0, []
    while t < 8.0:
        while tick < t:
            if (change := voter.tick(tick)) is not None:
                changes.append(change)
            tick += 0.25
        if (change := voter.update(Reading(t, FACE, probs("sad", 0.7)))) is not None:
            changes.append(change)
        t += 1.0 / rate
    assert [c.current for c in changes] == ["sad"]


def test_readings_in_flight_during_a_tick_still_count() -> None:
    """The UI ticks with its own clock; a reading captured just before the tick arrives after."""
    voter = MoodVoter()
    t, changes = 0.0, list[MoodChange | None]()
    for _ in range(40):
        # The tick runs ahead of the reading that is being analysed.
        changes.append(voter.tick(t + 0.08))
        changes.append(voter.update(Reading(t, FACE, probs("happy", 0.8))))
        t += 0.1
    assert [c.current for c in changes if c is not None] == ["happy"]
    assert voter.distribution["happy"] > 0.5

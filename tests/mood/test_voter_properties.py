"""MoodVoter invariants over arbitrary reading streams (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.mood.voter import MoodVoter, VoterConfig
from app.vision.reading import EXPRESSIONS, Box, Reading

FACE = Box(0, 0, 10, 10)

vectors = st.lists(
    st.floats(min_value=0.0, max_value=1.0, allow_nan=False), min_size=7, max_size=7
).filter(lambda v: sum(v) > 1e-6)
steps = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=0.6, allow_nan=False),  # seconds since the last one
        st.one_of(st.none(), vectors),  # None = no face
    ),
    min_size=1,
    max_size=300,
)


@settings(max_examples=60, deadline=None)
@given(steps=steps)
def test_voter_invariants(steps: list[tuple[float, list[float] | None]]) -> None:
    config = VoterConfig()
    voter = MoodVoter(config)
    t = 0.0
    mood: str | None = None
    last_change: float | None = None
    for gap, vector in steps:
        t += gap
        if vector is None:
            reading = Reading(t, None)
        else:
            total = sum(vector)
            reading = Reading(
                t, FACE, {e: v / total for e, v in zip(EXPRESSIONS, vector, strict=True)}
            )
        change = voter.update(reading)
        if change is None:
            assert voter.mood == mood  # the mood only moves with a MoodChange
        else:
            assert change.previous == mood and change.current != mood
            assert change.current == voter.mood and change.time == t
            # The evidence says the new mood led, with at least a face share's worth of faces.
            assert change.evidence[change.current] == max(change.evidence.values())
            assert voter.face_share >= config.min_face_share
            if last_change is not None:
                assert t - last_change >= config.dwell_s  # never two changes within a dwell
            mood, last_change = change.current, t
        dist = voter.distribution
        assert set(dist) == set(EXPRESSIONS)
        assert sum(dist.values()) == pytest.approx(1.0) or sum(dist.values()) == 0.0
        assert all(v >= -1e-9 for v in dist.values())
        assert 0.0 <= voter.confidence <= 1.0 + 1e-9
        assert voter.face_present == (voter.no_face_since is None)


segments = st.lists(
    st.tuples(
        st.floats(min_value=0.1, max_value=4.0, allow_nan=False),  # seconds
        st.one_of(st.none(), st.sampled_from(EXPRESSIONS)),  # None = no face
        st.floats(min_value=0.35, max_value=1.0, allow_nan=False),  # top probability
    ),
    min_size=1,
    max_size=12,
)


def clear(expression: str, p: float) -> dict[str, float]:
    rest = (1.0 - p) / (len(EXPRESSIONS) - 1)
    return {e: (p if e == expression else rest) for e in EXPRESSIONS}


@settings(max_examples=80, deadline=None)
@given(segments=segments)
def test_moods_follow_sustained_expressions_and_ignore_short_ones(
    segments: list[tuple[float, str | None, float]],
) -> None:
    config = VoterConfig()
    voter = MoodVoter(config)
    t, last_change = 0.0, None
    previous: tuple[float, str | None] = (0.0, None)
    for seconds, expression, p in segments:
        before = voter.mood
        changes = []
        for _ in range(round(seconds * 10)):
            if expression is None:
                reading = Reading(t, None)
            else:
                reading = Reading(t, FACE, clear(expression, p))
            change = voter.update(reading)
            if change is not None:
                changes.append(change)
                if last_change is not None:
                    assert change.time - last_change >= config.dwell_s
                last_change = change.time
            t += 0.1
        if expression is not None and seconds >= 3.0:
            # Held for longer than window + dwell (2.6 s): the voter has followed it.
            assert voter.mood == expression
        if seconds <= 0.5 and previous[0] >= config.window_s and previous[1] != expression:
            # A grimace after a whole window of something else does not become the mood.
            assert before is None or all(c.current != expression for c in changes)
        previous = (seconds, expression)

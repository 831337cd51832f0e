"""The session plan: meet the mood, then step toward the target over the set time."""

from __future__ import annotations

import itertools

import pytest

from app.mood.plan import PlanConfig, PlanState, SessionPlan, plan_path

MATCH = {
    "angry": "intense",
    "disgust": "intense",
    "fear": "gentle",
    "happy": "upbeat",
    "sad": "melancholy",
    "surprise": "energetic",
    "neutral": "calm",
}


def test_sad_to_upbeat_over_15_minutes_in_steps_not_one_jump() -> None:
    plan = SessionPlan(PlanConfig(target="upbeat", minutes=15), MATCH)
    start = 1000.0
    assert plan.status(start).state is PlanState.WAITING
    assert plan.observe(None, start) is None
    # the first mood seen is met first
    assert plan.observe("sad", start) == "melancholy"
    status = plan.status(start)
    assert status.path == ("melancholy", "gentle", "upbeat")
    assert (status.step, status.steps) == (1, 3)
    assert status.target_in_s == pytest.approx(900.0)
    assert status.next_step_in_s == pytest.approx(450.0)
    # later moods do not restart the walk
    assert plan.observe("angry", start + 60) == "melancholy"
    played = [plan.playlist(start + minute * 60.0) for minute in range(0, 21)]
    assert played[:8] == ["melancholy"] * 8
    assert played[8:15] == ["gentle"] * 7
    assert played[15:] == ["upbeat"] * 6
    assert plan.status(start + 7.5 * 60).step == 2
    arrived = plan.status(start + 15 * 60)
    assert arrived.state is PlanState.ARRIVED
    assert arrived.next_step_in_s is None
    assert arrived.describe() == "Step 3 of 3: Upbeat · target reached"
    assert plan.status(start + 60).describe() == "Step 1 of 3: Melancholy · Upbeat in 14 min"


def test_never_jumps_more_than_one_neighbour() -> None:
    from app.mood.plan import NEIGHBOURS

    for start in NEIGHBOURS:
        for target in NEIGHBOURS:
            path = plan_path(start, target)
            assert path[0] == start and path[-1] == target
            for a, b in itertools.pairwise(path):
                assert b in NEIGHBOURS[a]


def test_angry_to_calm_lowers_energy_first() -> None:
    assert plan_path("intense", "calm") == ("intense", "melancholy", "calm")


def test_missing_playlists_are_walked_around() -> None:
    assert plan_path("melancholy", "upbeat", available={"melancholy", "calm", "upbeat"}) == (
        "melancholy",
        "upbeat",
    )
    assert plan_path("melancholy", "upbeat", available=set(MATCH.values()) - {"gentle"}) == (
        "melancholy",
        "intense",
        "energetic",
        "upbeat",
    )
    assert plan_path("my folder", "upbeat") == ("my folder", "upbeat")


def test_already_at_the_target_and_reset() -> None:
    plan = SessionPlan(PlanConfig(target="upbeat", minutes=10), MATCH)
    assert plan.observe("happy", 0.0) == "upbeat"
    assert plan.status(0.0).state is PlanState.ARRIVED
    plan.reset()
    assert plan.status(1.0).state is PlanState.WAITING
    assert plan.observe("sad", 5.0) == "melancholy"
    assert plan.status(5.0).describe().startswith("Step 1 of 3")

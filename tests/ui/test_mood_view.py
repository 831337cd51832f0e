"""The mood panel's painted parts: bars and the timeline strip."""

from __future__ import annotations

from app.session import TimelinePoint
from app.ui.mood_view import ExpressionBars, MoodPanel, MoodTimeline


def test_timeline_merges_runs_of_the_same_mood_and_grows(qtbot) -> None:
    strip = MoodTimeline()
    qtbot.addWidget(strip)
    points = [TimelinePoint(100.0 + i, "happy", 0.8) for i in range(5)]
    points += [TimelinePoint(105.0 + i, None, 0.0) for i in range(3)]
    points += [TimelinePoint(108.0 + i, "sad", 0.6) for i in range(4)]
    strip.set_points(points, now=112.0)
    assert [(m, t0, t1) for m, t0, t1, _c in strip._segments()] == [
        (
            "happy",
            100.0,
            105.0,
        ),
        (None, 105.0, 108.0),
        ("sad", 108.0, 112.0),
    ]
    assert strip.span == 60.0  # a fresh session shows the last minute
    strip.set_points([TimelinePoint(0.0, "happy", 0.9)], now=170.0)
    assert strip.span == 180.0
    strip.set_points([TimelinePoint(0.0, "happy", 0.9)], now=3000.0)
    assert strip.span == 300.0
    strip.resize(300, 40)
    strip.grab()  # paints without error


def test_bars_show_the_reading(qtbot) -> None:
    bars = ExpressionBars()
    qtbot.addWidget(bars)
    bars.set_probabilities({"happy": 0.7, "sad": 0.3})
    assert bars.values() == {"happy": 0.7, "sad": 0.3}
    bars.resize(300, 160)
    assert not bars.grab().isNull()


def test_mood_words(qtbot) -> None:
    panel = MoodPanel()
    qtbot.addWidget(panel)
    panel.set_mood("neutral", 0.66, face=True, camera=True)
    assert panel.mood_text == "Calm"
    assert panel.confidence_label.text() == "66% sure"
    panel.set_mood("neutral", 0.0, face=False, camera=True)
    assert panel.mood_text == "Calm"
    assert panel.confidence_label.text() == "nobody in view"
    panel.set_mood(None, 0.0, face=False, camera=True)
    assert panel.mood_text == "Looking for you…"
    panel.set_mood(None, 0.0, face=False, camera=False)
    assert panel.mood_text == "Not watching"

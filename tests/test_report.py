"""The session report: CSV rows of voted mood, face, music, volume and overrides — never scores,
frames or crops — and a one-page picture of the mood timeline with the music under it."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import cv2
import numpy as np

from app import report
from app.report import ReportRow, SessionReport

START = dt.datetime(2026, 3, 2, 10, 0).timestamp()


def _session(folder: Path) -> SessionReport:
    """Twenty minutes: sad with a face, the music walks melancholy -> gentle -> upbeat, the room
    turns happy, an override, a gap without a face."""
    rep = SessionReport(folder, started=START, interval_s=30.0)
    for second in range(0, 20 * 60, 5):
        t = START + second
        minute = second / 60
        mood = "sad" if minute < 9 else "happy"
        face = not 14 <= minute < 16
        playlist = "melancholy" if minute < 7.5 else "gentle" if minute < 15 else "upbeat"
        rep.record(
            ReportRow(
                time=t,
                mood=mood,
                confidence=0.4 + minute / 40,
                face=face,
                playlist=playlist,
                track=f"{playlist} {int(minute // 3)}",
                volume=0.6 if minute < 12 else 0.45,
                override="volume: 45%" if second == 12 * 60 else "",
            )
        )
    return rep


def test_csv_has_the_columns_and_nothing_of_the_face(tmp_path: Path) -> None:
    rep = _session(tmp_path / "reports")
    picture = rep.close(START + 20 * 60)
    rows = report.read_rows(rep.csv_path)
    assert list(rows[0]) == list(report.COLUMNS)
    assert rows[0]["time"] == "2026-03-02T10:00:00"
    assert rows[0]["mood"] == "sad" and rows[0]["face"] == "1"
    # changes are written at once, steady stretches every 30 s at least
    assert 40 <= len(rows) <= 60
    assert any(r["override"] == "volume: 45%" for r in rows)
    assert any(r["face"] == "0" for r in rows)
    for name in report.MOODS:  # no expression score columns
        assert name not in rows[0]
    for path in (rep.csv_path, picture):
        assert path is not None
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.suffix for p in (tmp_path / "reports").iterdir()) == [".csv", ".png"]


def test_picture_shows_the_moods_in_their_lanes_and_the_music(tmp_path: Path) -> None:
    rep = _session(tmp_path)
    path = rep.close(START + 20 * 60)
    assert path is not None
    image = cv2.imread(str(path))
    assert image.shape == (report.HEIGHT, report.WIDTH, 3)

    def has(color: tuple[int, int, int], y0: int, y1: int, x0: int, x1: int) -> bool:
        region = image[y0:y1, x0:x1].astype(int)
        return bool((np.abs(region - np.array(color)).sum(axis=2) < 30).any())

    x_min = report._LEFT + int((report._RIGHT - report._LEFT) * 2 / 20)  # minute 2
    x_late = report._LEFT + int((report._RIGHT - report._LEFT) * 18 / 20)  # minute 18
    sad_lane = 190 + report.MOODS.index("sad") * 52
    happy_lane = 190 + report.MOODS.index("happy") * 52
    assert has(report.MOOD_BGR["sad"], sad_lane, sad_lane + 52, x_min - 5, x_min + 5)
    assert not has(report.MOOD_BGR["sad"], sad_lane, sad_lane + 52, x_late - 5, x_late + 5)
    assert has(report.MOOD_BGR["happy"], happy_lane, happy_lane + 52, x_late - 5, x_late + 5)
    music_top = 190 + 7 * 52 + 4 + 60
    band = (music_top + 5, music_top + 40)
    assert has(report.PLAYLIST_BGR["melancholy"], *band, x_min - 5, x_min + 5)
    assert has(report.PLAYLIST_BGR["upbeat"], *band, x_late - 5, x_late + 5)


def test_unknown_mood_words_are_not_written(tmp_path: Path) -> None:
    rep = SessionReport(tmp_path, started=START)
    rep.record(ReportRow(time=START, mood="0.93 happy", face=True))
    rep.close()
    assert report.read_rows(rep.csv_path)[0]["mood"] == ""


def test_empty_session_has_no_picture(tmp_path: Path) -> None:
    rep = SessionReport(tmp_path, started=START)
    assert rep.close() is None
    assert rep.csv_path.read_text().strip() == ",".join(report.COLUMNS)

"""The caregiver's session report, off unless turned on: what the room's mood was and what played.

When on, each session writes two files in ``<data folder>/reports/``:

- ``session-YYYYmmdd-HHMMSS.csv``: one row when anything changes (voted mood, face present, track,
  playlist, volume, an override) and at least every ``interval_s`` seconds: ``time`` (local ISO
  time), ``mood``, ``confidence`` (0..1), ``face`` (0/1), ``playlist``, ``track``, ``volume``
  (0..1), ``override`` (what a person did by hand, e.g. ``playlist: calm``);
- ``session-...png``: one page: the mood timeline with the music played under it and the volume.

Never a frame, a face crop, an embedding or the seven expression scores: only the voted mood word
and its confidence. Files are private to the user (0600). Plain Python and OpenCV, no Qt; time is
the ``time`` of each row (wall-clock seconds) given by the caller.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

COLUMNS = ("time", "mood", "confidence", "face", "playlist", "track", "volume", "override")
MOODS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# BGR, matching the window's mood colours (app/ui/theme.py)
MOOD_BGR: dict[str, tuple[int, int, int]] = {
    "angry": (93, 96, 240),
    "disgust": (79, 194, 147),
    "fear": (243, 123, 167),
    "happy": (76, 200, 245),
    "sad": (240, 156, 91),
    "surprise": (74, 154, 245),
    "neutral": (181, 163, 154),
}
PLAYLIST_BGR: dict[str, tuple[int, int, int]] = {
    "calm": (200, 180, 120),
    "gentle": (170, 200, 150),
    "upbeat": (90, 200, 250),
    "energetic": (70, 140, 245),
    "melancholy": (190, 130, 100),
    "intense": (90, 80, 200),
}


@dataclass(frozen=True)
class ReportConfig:
    enabled: bool = False
    # at least one row this often (seconds), even when nothing changes
    interval_s: float = 10.0


@dataclass(frozen=True)
class ReportRow:
    time: float  # wall-clock seconds (time.time())
    mood: str | None = None
    confidence: float = 0.0
    face: bool = False
    playlist: str = ""
    track: str = ""
    volume: float = 0.0
    override: str = ""

    def same_state(self, other: ReportRow) -> bool:
        return (self.mood, self.face, self.playlist, self.track, round(self.volume, 2)) == (
            other.mood,
            other.face,
            other.playlist,
            other.track,
            round(other.volume, 2),
        )


def report_dir(data_dir: Path) -> Path:
    return data_dir / "reports"


@dataclass
class SessionReport:
    """Appends rows to the session's CSV (flushed, so a crash loses nothing) and draws the
    picture on ``close``."""

    folder: Path
    started: float
    interval_s: float = 10.0
    rows: list[ReportRow] = field(default_factory=list)
    csv_path: Path = field(init=False)
    png_path: Path = field(init=False)

    def __post_init__(self) -> None:
        stamp = dt.datetime.fromtimestamp(self.started).strftime("%Y%m%d-%H%M%S")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.csv_path = self.folder / f"session-{stamp}.csv"
        self.png_path = self.folder / f"session-{stamp}.png"
        fd = os.open(self.csv_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._handle = os.fdopen(fd, "w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._handle)
        self._writer.writerow(COLUMNS)
        self._handle.flush()
        log.info("session report on: %s", self.csv_path)

    def record(self, row: ReportRow) -> bool:
        """Keep ``row`` when it differs from the last one, carries an override, or
        ``interval_s`` passed; returns True when written."""
        last = self.rows[-1] if self.rows else None
        if (
            last is not None
            and not row.override
            and row.same_state(last)
            and row.time - last.time < self.interval_s
        ):
            return False
        if row.mood is not None and row.mood not in MOODS:
            row = replace(row, mood=None)
        self.rows.append(row)
        self._writer.writerow(
            (
                dt.datetime.fromtimestamp(row.time).isoformat(timespec="seconds"),
                row.mood or "",
                f"{row.confidence:.2f}",
                int(row.face),
                row.playlist,
                row.track,
                f"{row.volume:.2f}",
                row.override,
            )
        )
        self._handle.flush()
        return True

    def close(self, now: float | None = None) -> Path | None:
        """Close the CSV and write the picture; returns its path (None when nothing to draw)."""
        if not self._handle.closed:
            self._handle.close()
        if not self.rows:
            return None
        end = now if now is not None else self.rows[-1].time
        image = draw_report(self.rows, end)
        ok, encoded = cv2.imencode(".png", image)
        if not ok:  # pragma: no cover - OpenCV always encodes PNG
            return None
        fd = os.open(self.png_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(encoded.tobytes())
        log.info("session report picture: %s", self.png_path)
        return self.png_path


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# -- the picture ----------------------------------------------------------------------------------

WIDTH, HEIGHT = 1600, 1000
_LEFT, _RIGHT = 190, 1560
_INK = (40, 40, 40)
_DIM = (120, 120, 120)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _text(
    image: np.ndarray,
    text: str,
    x: int,
    y: int,
    scale: float = 0.6,
    color: tuple[int, int, int] = _INK,
    thick: int = 1,
) -> None:
    cv2.putText(image, text, (x, y), _FONT, scale, color, thick, cv2.LINE_AA)


def draw_report(rows: Sequence[ReportRow], end: float) -> np.ndarray:
    """One page (1600 x 1000, BGR): mood lanes over time, the playlists and tracks played under
    them, and the volume."""
    image = np.full((HEIGHT, WIDTH, 3), 250, np.uint8)
    start = rows[0].time
    span = max(1.0, end - start)

    def x_at(t: float) -> int:
        return int(_LEFT + (t - start) / span * (_RIGHT - _LEFT))

    begin = dt.datetime.fromtimestamp(start)
    minutes = span / 60
    _text(image, "MoodPlayer session report", 40, 60, 1.1, thick=2)
    _text(
        image,
        f"{begin:%A %d %B %Y}, {begin:%H:%M} - "
        f"{dt.datetime.fromtimestamp(end):%H:%M} ({minutes:.0f} min)",
        40,
        100,
        0.7,
        color=_DIM,
    )
    faces = sum(1 for r in rows if r.face)
    overrides = [r for r in rows if r.override]
    _text(
        image,
        f"{len(rows)} observations, a face in {100 * faces / len(rows):.0f} %, "
        f"{len(overrides)} change{'' if len(overrides) == 1 else 's'} by hand. "
        "No image of a face is kept.",
        40,
        135,
        0.6,
        color=_DIM,
    )

    # mood lanes
    top, lane = 190, 52
    _text(image, "Mood seen", 40, top - 18, 0.7, thick=2)
    for i, mood in enumerate(MOODS):
        y = top + i * lane
        cv2.line(image, (_LEFT, y + lane // 2), (_RIGHT, y + lane // 2), (228, 228, 228), 1)
        _text(image, mood, 60, y + lane // 2 + 6, 0.6)
    for row, nxt in zip(rows, [*rows[1:], None], strict=True):
        t_end = nxt.time if nxt is not None else end
        x0, x1 = x_at(row.time), max(x_at(row.time) + 1, x_at(t_end))
        if row.face and row.mood in MOODS:
            i = MOODS.index(row.mood)
            y = top + i * lane
            h = int(8 + (lane - 14) * max(0.0, min(1.0, row.confidence)))
            mid = y + lane // 2
            color = MOOD_BGR[row.mood]
            cv2.rectangle(image, (x0, mid - h // 2), (x1, mid + h // 2), color, -1)
    no_face_y = top + len(MOODS) * lane + 4
    for row, nxt in zip(rows, [*rows[1:], None], strict=True):
        if not row.face:
            t_end = nxt.time if nxt is not None else end
            x0, x1 = x_at(row.time), max(x_at(row.time) + 1, x_at(t_end))
            cv2.rectangle(image, (x0, no_face_y), (x1, no_face_y + 8), (200, 200, 200), -1)
    _text(image, "no face", 60, no_face_y + 10, 0.5, color=_DIM)
    _text(image, "bar height = confidence", _RIGHT - 220, top - 18, 0.5, color=_DIM)

    # music
    music_top = no_face_y + 60
    _text(image, "Music played", 40, music_top - 18, 0.7, thick=2)
    _text(image, "playlist", 60, music_top + 30, 0.6)
    _text(image, "track", 60, music_top + 92, 0.6)
    segments: list[tuple[float, float, str]] = []
    for row in rows:
        if segments and segments[-1][2] == row.playlist:
            continue
        if segments:
            segments[-1] = (segments[-1][0], row.time, segments[-1][2])
        segments.append((row.time, end, row.playlist))
    for t0, t1, name in segments:
        if not name:
            continue
        x0, x1 = x_at(t0), max(x_at(t0) + 1, x_at(t1))
        color = PLAYLIST_BGR.get(name, (170, 170, 170))
        cv2.rectangle(image, (x0, music_top), (x1, music_top + 46), color, -1)
        cv2.rectangle(image, (x0, music_top), (x1, music_top + 46), (255, 255, 255), 2)
        if x1 - x0 > 12 * len(name):
            _text(image, name, x0 + 8, music_top + 30, 0.6)
    last_track = None
    for row in rows:
        if row.track and row.track != last_track:
            x = x_at(row.time)
            cv2.line(image, (x, music_top + 62), (x, music_top + 104), _INK, 2)
            last_track = row.track
    names: list[str] = []
    for row in rows:
        if row.track and (not names or names[-1] != row.track):
            names.append(row.track)
    _text(image, f"{len(names)} tracks", _LEFT, music_top + 130, 0.55, color=_DIM)

    # volume
    vol_top = music_top + 170
    _text(image, "volume", 60, vol_top + 40, 0.6)
    cv2.rectangle(image, (_LEFT, vol_top), (_RIGHT, vol_top + 60), (235, 235, 235), -1)
    points = []
    for row, nxt in zip(rows, [*rows[1:], None], strict=True):
        y = int(vol_top + 60 - 60 * max(0.0, min(1.0, row.volume)))
        points.append((x_at(row.time), y))
        points.append((x_at(nxt.time if nxt is not None else end), y))
    cv2.polylines(image, [np.array(points, np.int32)], False, (120, 80, 40), 2, cv2.LINE_AA)
    for row in overrides:
        x = x_at(row.time)
        cv2.drawMarker(image, (x, vol_top + 80), (60, 60, 200), cv2.MARKER_TRIANGLE_UP, 14, 2)
    if overrides:
        _text(image, "by hand", 60, vol_top + 86, 0.5, color=_DIM)

    # time axis
    axis_y = vol_top + 120
    cv2.line(image, (_LEFT, axis_y), (_RIGHT, axis_y), _INK, 1)
    step = next(s for s in (60, 120, 300, 600, 900, 1800, 3600, 7200, 14400) if span / s <= 12)
    first = (int(start) // step + 1) * step
    for t in range(first, int(end) + 1, step):
        x = x_at(t)
        cv2.line(image, (x, axis_y), (x, axis_y + 8), _INK, 1)
        _text(image, f"{dt.datetime.fromtimestamp(t):%H:%M}", x - 22, axis_y + 30, 0.5)
    return image

"""Following faces from reading to reading by box overlap, so the room's mood can ask how long
each face has been in view (a face seen for under a second does not vote)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.vision.reading import Box

# A box continues a track when it overlaps the track's last box by at least this much (IoU).
MATCH_IOU = 0.3
# A track not seen for longer than this is gone (a face that turned away and back starts anew).
GAP_S = 0.6


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when they do not touch)."""
    w = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    h = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / float(a.area + b.area - inter)


@dataclass
class Track:
    id: int
    box: Box
    first_seen: float
    last_seen: float

    def seen_for(self, now: float) -> float:
        return now - self.first_seen


class FaceTracks:
    """The faces in view, each with an id and the time it was first seen.

    ``update(time, boxes)`` matches the boxes of one reading to the tracks (greedy, largest
    overlap first); a box that matches none starts a track. Times come from the readings.
    """

    def __init__(self, match_iou: float = MATCH_IOU, gap_s: float = GAP_S) -> None:
        self.match_iou = match_iou
        self.gap_s = gap_s
        self._tracks: list[Track] = []
        self._next_id = 1

    @property
    def tracks(self) -> tuple[Track, ...]:
        return tuple(self._tracks)

    def update(self, time: float, boxes: Sequence[Box]) -> list[Track]:
        """The track of each box, in the order of ``boxes``."""
        self._tracks = [t for t in self._tracks if time - t.last_seen <= self.gap_s]
        pairs = sorted(
            (
                (iou(box, track.box), i, j)
                for i, box in enumerate(boxes)
                for j, track in enumerate(self._tracks)
            ),
            reverse=True,
        )
        matched: dict[int, Track] = {}
        used: set[int] = set()
        for overlap, i, j in pairs:
            if overlap < self.match_iou:
                break
            if i in matched or j in used:
                continue
            matched[i] = self._tracks[j]
            used.add(j)
        result = []
        for i, box in enumerate(boxes):
            track = matched.get(i)
            if track is None:
                track = Track(self._next_id, box, time, time)
                self._next_id += 1
                self._tracks.append(track)
            track.box, track.last_seen = box, time
            result.append(track)
        return result

    def reset(self) -> None:
        self._tracks = []

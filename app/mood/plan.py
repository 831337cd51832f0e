"""A session plan after the iso principle of music therapy: first meet the mood the room shows,
then walk the music, one neighbouring mood playlist at a time, toward a chosen target mood over a
settable time (sad: melancholy -> gentle -> upbeat over 15 minutes), never in one jump.

The six mood playlists sit on a small map of neighbours (energy and valence change a little per
step); the path is the shortest walk on it from the matched playlist to the target, through
playlists that exist. ``SessionPlan`` starts at the first voted mood, is driven only by the ``now``
it is given, and says "where we are" as a :class:`PlanStatus`.
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)

# Neighbouring mood playlists: one step changes energy or valence a little, not both a lot.
NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "melancholy": ("gentle", "calm", "intense"),
    "gentle": ("melancholy", "calm", "upbeat"),
    "calm": ("gentle", "melancholy"),
    "upbeat": ("gentle", "energetic"),
    "energetic": ("upbeat", "intense"),
    "intense": ("energetic", "melancholy"),
}


@dataclass(frozen=True)
class PlanConfig:
    """The target mood playlist and how long the walk there takes."""

    target: str = "upbeat"
    minutes: float = 15.0


class PlanState(enum.Enum):
    WAITING = "waiting"  # no mood seen yet: nothing to match
    STEPPING = "stepping"  # on the way
    ARRIVED = "arrived"  # at the target; it stays there


@dataclass(frozen=True)
class PlanStatus:
    """Where the plan is: step ``step`` of ``steps`` (1-based), playing ``playlist``."""

    state: PlanState
    path: tuple[str, ...] = ()
    step: int = 0
    playlist: str | None = None
    # seconds until the next step (None when there is none) and until the target is reached
    next_step_in_s: float | None = None
    target_in_s: float = 0.0

    @property
    def steps(self) -> int:
        return len(self.path)

    @property
    def target(self) -> str | None:
        return self.path[-1] if self.path else None

    def describe(self) -> str:
        """One line for the window and the kiosk, e.g. ``Step 2 of 3: Gentle · Upbeat in 7 min``."""
        if self.state is PlanState.WAITING or self.playlist is None:
            return "Session plan: waiting to see the mood"
        head = f"Step {self.step} of {self.steps}: {self.playlist.title()}"
        if self.state is PlanState.ARRIVED:
            return f"{head} · target reached"
        minutes = max(1, round(self.target_in_s / 60))
        return f"{head} · {(self.target or '').title()} in {minutes} min"


def plan_path(start: str, target: str, available: Collection[str] | None = None) -> tuple[str, ...]:
    """The walk from ``start`` to ``target`` over ``NEIGHBOURS`` through ``available`` playlists
    (all six when None). A playlist off the map, or no walk at all, gives the direct step."""
    if start == target:
        return (start,)
    allowed = set(NEIGHBOURS) if available is None else set(available) & set(NEIGHBOURS)
    allowed |= {start, target}
    if start not in NEIGHBOURS or target not in NEIGHBOURS:
        return (start, target)
    came_from: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        if here == target:
            break
        for there in NEIGHBOURS[here]:
            if there in allowed and there not in came_from:
                came_from[there] = here
                queue.append(there)
    if target not in came_from:
        return (start, target)
    path: list[str] = []
    node: str | None = target
    while node is not None:
        path.append(node)
        node = came_from[node]
    return tuple(reversed(path))


class SessionPlan:
    """Meets the first mood seen with ``match[mood]``, then steps along :func:`plan_path` to
    ``config.target``: step ``i`` of ``n`` starts at ``i * minutes / (n - 1)``, so the target is
    reached after ``minutes`` and kept."""

    def __init__(
        self,
        config: PlanConfig,
        match: Mapping[str, str],
        available: Collection[str] | None = None,
    ) -> None:
        self.config = config
        self._match = dict(match)
        self._available = None if available is None else tuple(available)
        self._path: tuple[str, ...] = ()
        self._started = 0.0
        self._step = -1

    @property
    def started(self) -> bool:
        return bool(self._path)

    def reset(self) -> None:
        """Forget the walk (a new listener: the next mood seen starts a new one)."""
        self._path = ()
        self._step = -1

    def observe(self, mood: str | None, now: float) -> str | None:
        """Take the voted mood; the first one starts the plan. Returns the playlist to play now
        (None while no mood has been seen)."""
        if not self._path and mood:
            start = self._match.get(mood)
            if start is None:
                return None
            self._path = plan_path(start, self.config.target, self._available)
            self._started = now
            log.debug("plan: %s over %.0f min", " -> ".join(self._path), self.config.minutes)
        return self.playlist(now)

    def playlist(self, now: float) -> str | None:
        return self.status(now).playlist

    def status(self, now: float) -> PlanStatus:
        if not self._path:
            return PlanStatus(PlanState.WAITING)
        total = max(0.0, self.config.minutes * 60.0)
        n = len(self._path)
        elapsed = max(0.0, now - self._started)
        if n == 1 or elapsed >= total:
            index = n - 1
        else:
            index = min(n - 1, int(elapsed / (total / (n - 1))))
        if index != self._step:
            self._step = index
            log.debug("plan: step %d of %d (%s)", index + 1, n, self._path[index])
        if index == n - 1:
            return PlanStatus(PlanState.ARRIVED, self._path, n, self._path[-1], None, 0.0)
        segment = total / (n - 1)
        return PlanStatus(
            PlanState.STEPPING,
            self._path,
            index + 1,
            self._path[index],
            (index + 1) * segment - elapsed,
            total - elapsed,
        )

"""Files the player had to skip, and why, kept for the listener to see (not only in the log).

``problems.report(kind, path, reason)`` from any thread: a missing M3U entry, an undecodable or
truncated track, a file the library scan could not read. The same (kind, path, reason) is kept
once; the newest ``limit`` are kept. Listeners (the window's "Problems" view) are called on the
reporting thread; the Qt side queues them to the GUI thread. Nothing here is written to disk.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    time: float
    kind: str  # "playlist entry", "audio file", "library file", ...
    path: str
    reason: str


Listener = Callable[[Problem], None]


class ProblemList:
    def __init__(self, limit: int = 2000, clock: Callable[[], float] = time.time) -> None:
        self._limit = limit
        self._clock = clock
        self._items: OrderedDict[tuple[str, str, str], Problem] = OrderedDict()
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def report(self, kind: str, path: object, reason: str) -> bool:
        """Keep one problem; False when the same one is already listed."""
        key = (kind, str(path), reason)
        with self._lock:
            if key in self._items:
                return False
            problem = Problem(self._clock(), *key)
            self._items[key] = problem
            while len(self._items) > self._limit:
                self._items.popitem(last=False)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(problem)
        return True

    def items(self) -> tuple[Problem, ...]:
        with self._lock:
            return tuple(self._items.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` for each new problem; returns the function that unsubscribes."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe


# The process's list: the library, the player and the scanner report here.
problems = ProblemList()

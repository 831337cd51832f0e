"""The one-slot holder between the grab and the analysis thread: the newest frame wins."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Slot:
    frame: np.ndarray
    index: int
    time: float


class LatestFrame:
    """The one-slot holder: ``put`` replaces, ``take_new`` waits for a frame not taken before."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._slot: Slot | None = None
        self._taken = -1
        self.drops = 0

    def put(self, slot: Slot) -> None:
        with self._cond:
            if self._slot is not None and self._slot.index > self._taken:
                self.drops += 1
            self._slot = slot
            self._cond.notify_all()

    def peek(self) -> Slot | None:
        with self._cond:
            return self._slot

    def has_new(self) -> bool:
        with self._cond:
            return self._slot is not None and self._slot.index > self._taken

    def take_new(self, timeout: float) -> Slot | None:
        with self._cond:
            if not (self._slot is not None and self._slot.index > self._taken):
                self._cond.wait(timeout)
            slot = self._slot
            if slot is None or slot.index <= self._taken:
                return None
            self._taken = slot.index
            return slot

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

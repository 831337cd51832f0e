"""The immutable values perception produces."""

from __future__ import annotations

from dataclasses import dataclass, field

# The seven expressions, in the order every model output is mapped to.
EXPRESSIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


@dataclass(frozen=True, slots=True)
class Box:
    """A face box in frame pixels."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h


@dataclass(frozen=True, slots=True)
class StageTimings:
    """Seconds spent in each stage of analysing one frame."""

    detect: float = 0.0
    crop: float = 0.0
    infer: float = 0.0

    @property
    def total(self) -> float:
        return self.detect + self.crop + self.infer


@dataclass(frozen=True, slots=True)
class Face:
    """One face in a frame and what it reads."""

    box: Box
    probabilities: dict[str, float]


@dataclass(frozen=True, slots=True)
class Reading:
    """What perception saw in one frame.

    ``box`` and ``probabilities`` are the chosen face's (the largest, or the one the policy
    picks): ``probabilities`` maps each of :data:`EXPRESSIONS` to a probability (they sum to 1)
    when a face was found, and is empty when ``box`` is None. ``faces`` holds every face read in
    the frame, the chosen one included (empty when there is none; a Reading made by hand with a
    box but no ``faces`` stands for that one face: see :attr:`all_faces`).
    ``time`` is the capture time of the frame (monotonic seconds, from the injected clock).
    """

    time: float
    box: Box | None
    probabilities: dict[str, float] = field(default_factory=dict)
    timings: StageTimings = field(default_factory=StageTimings)
    frame_index: int = -1
    faces: tuple[Face, ...] = ()

    @property
    def all_faces(self) -> tuple[Face, ...]:
        """Every face read in the frame (the chosen one alone when ``faces`` was not filled)."""
        if self.faces:
            return self.faces
        if self.box is not None and self.probabilities:
            return (Face(self.box, self.probabilities),)
        return ()

    @property
    def has_face(self) -> bool:
        return self.box is not None

    def top(self, n: int = 1) -> list[tuple[str, float]]:
        """The ``n`` most likely expressions, most likely first."""
        return sorted(self.probabilities.items(), key=lambda kv: kv[1], reverse=True)[:n]

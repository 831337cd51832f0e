"""Your own neutral face: a 7-number baseline of a person's resting expression, and the correction
it makes to every reading.

Some faces read "sad" or "angry" at rest. A calibration watches the person for a few seconds
while they relax (:class:`Calibrator`) and keeps only the mean of those readings' probabilities
(:class:`Baseline`: seven numbers, never an image). :class:`Correction` then treats the baseline
as the person's prior: each probability is divided by the baseline, multiplied by what a neutral
face should read (:data:`NEUTRAL_REFERENCE`) and the result renormalised, with a ``strength``
0..1 (an exponent on that ratio: 0 changes nothing, 1 corrects fully). So the resting face itself
reads neutral, and a real change (a smile) still stands out, by the same ratio as before.

Baseline entries are floored at :data:`BASELINE_FLOOR` before dividing, so an expression the
resting face never shows is not amplified without bound.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app.errors import UserError
from app.vision.reading import EXPRESSIONS, Reading

CALIBRATION_S = 5.0
# Fewer face readings than this per second of calibration is not enough to trust (a camera
# gives 10 a second, an image folder 5).
MIN_READINGS_PER_S = 2.0
BASELINE_FLOOR = 0.03
# What a relaxed, neutral face should read after correction.
NEUTRAL_REFERENCE: tuple[float, ...] = tuple(
    0.7 if name == "neutral" else 0.05 for name in EXPRESSIONS
)


class CalibrationError(UserError):
    """A calibration that could not be made (too few faces seen); the message says what to do."""


@dataclass(frozen=True)
class Baseline:
    """A person's neutral expression as the model reads it: 7 probabilities in EXPRESSIONS order
    (summing to 1), and how many readings it was made from."""

    probabilities: tuple[float, ...]
    readings: int = 0

    def __post_init__(self) -> None:
        values = self.probabilities
        if len(values) != len(EXPRESSIONS):
            raise ValueError(f"a baseline has {len(EXPRESSIONS)} numbers, not {len(values)}")
        if not all(math.isfinite(v) and v >= 0.0 for v in values) or sum(values) <= 0.0:
            raise ValueError("a baseline holds non-negative finite numbers that are not all 0")
        total = sum(values)
        object.__setattr__(self, "probabilities", tuple(v / total for v in values))

    @classmethod
    def from_values(cls, values: Sequence[float]) -> Baseline | None:
        """The baseline stored in the settings (a list of 7 numbers); None when empty or bad."""
        try:
            return cls(tuple(float(v) for v in values)) if values else None
        except (TypeError, ValueError):
            return None

    def values(self) -> list[float]:
        """The 7 numbers to store (rounded: a baseline is a coarse thing)."""
        return [round(v, 4) for v in self.probabilities]

    def as_dict(self) -> dict[str, float]:
        return dict(zip(EXPRESSIONS, self.probabilities, strict=True))


class Calibrator:
    """Collects ``seconds`` of face readings (times from the readings) and makes a Baseline.

    Feed it every reading; :attr:`done` turns True once ``seconds`` have passed since the first
    face reading. Readings without a face, or with NaN scores, are not counted.
    """

    def __init__(self, seconds: float = CALIBRATION_S, min_readings: int | None = None) -> None:
        if seconds <= 0:
            raise ValueError("seconds must be positive")
        self.seconds = seconds
        self.min_readings = (
            min_readings
            if min_readings is not None
            else max(3, round(seconds * MIN_READINGS_PER_S))
        )
        self._sums = [0.0] * len(EXPRESSIONS)
        self._count = 0
        self._start: float | None = None
        self._last: float | None = None

    @property
    def readings(self) -> int:
        return self._count

    @property
    def done(self) -> bool:
        return (
            self._start is not None
            and self._last is not None
            and self._last - self._start >= self.seconds
        )

    def progress(self) -> float:
        """0..1 of the calibration time, for a progress bar."""
        if self._start is None or self._last is None:
            return 0.0
        return min(1.0, (self._last - self._start) / self.seconds)

    def add(self, reading: Reading) -> bool:
        """Count one reading; True when it was a face reading that counted."""
        if not reading.has_face or not reading.probabilities:
            self._last = reading.time if self._start is not None else None
            return False
        values = [reading.probabilities.get(name, 0.0) for name in EXPRESSIONS]
        if not all(math.isfinite(v) for v in values) or sum(values) <= 0.0:
            return False
        if self._start is None:
            self._start = reading.time
        self._last = reading.time
        total = sum(values)
        for i, v in enumerate(values):
            self._sums[i] += max(v, 0.0) / total
        self._count += 1
        return True

    def baseline(self) -> Baseline:
        """The mean of the face readings; ``CalibrationError`` when too few faces were seen."""
        if self._count < self.min_readings:
            raise CalibrationError(
                f"Only {self._count} readings of a face in {self.seconds:g} s (at least "
                f"{self.min_readings} are needed): sit in front of the camera, in good light, "
                "and calibrate again."
            )
        return Baseline(tuple(s / self._count for s in self._sums), self._count)


@dataclass(frozen=True)
class Correction:
    """Corrects readings by a person's baseline (see the module documentation)."""

    baseline: Baseline
    strength: float = 1.0
    # Per expression: (reference / floored baseline) ** strength.
    ratio: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError("strength is 0..1")
        ratio = tuple(
            (ref / max(b, BASELINE_FLOOR)) ** self.strength
            for ref, b in zip(NEUTRAL_REFERENCE, self.baseline.probabilities, strict=True)
        )
        object.__setattr__(self, "ratio", ratio)

    @classmethod
    def from_settings(
        cls, values: Sequence[float], strength: float, on: bool = True
    ) -> Correction | None:
        """The correction the settings describe, or None (off, no baseline, or strength 0)."""
        baseline = Baseline.from_values(values)
        if not on or baseline is None or strength <= 0.0:
            return None
        return cls(baseline, min(1.0, float(strength)))

    def apply(self, probabilities: Mapping[str, float]) -> dict[str, float]:
        """The corrected probabilities (summing to 1); unchanged when they cannot be corrected."""
        values = [
            max(probabilities.get(name, 0.0), 0.0) * r
            for name, r in zip(EXPRESSIONS, self.ratio, strict=True)
        ]
        total = sum(values)
        if not math.isfinite(total) or total <= 0.0:
            return dict(probabilities)
        return {name: v / total for name, v in zip(EXPRESSIONS, values, strict=True)}


class CalibrationState(str, enum.Enum):
    """Where a live calibration is (values lower case)."""

    WAITING = "waiting"  # for the camera, or for the first face
    RUNNING = "running"  # collecting the relaxed face's readings
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def active(self) -> bool:
        return self in (CalibrationState.WAITING, CalibrationState.RUNNING)


@dataclass(frozen=True)
class CalibrationStatus:
    """A live calibration as the front ends show it: a state, a sentence for people, the share
    of the time done, and the baseline once it is made."""

    state: CalibrationState
    seconds: float
    progress: float = 0.0  # 0..1 of the calibration time
    readings: int = 0
    message: str = ""
    baseline: Baseline | None = None

    @property
    def seconds_left(self) -> float:
        return max(0.0, self.seconds * (1.0 - self.progress))


LOOK_MESSAGE = "Look at the camera with a relaxed face"


class LiveCalibration:
    """A :class:`Calibrator` fed from a running camera, with the deadlines a person needs.

    ``add(reading, now)`` for every reading, ``step(now, camera_running)`` on every poll; both
    return the :class:`CalibrationStatus`. It fails (a sentence, never an exception) when no
    face was seen for ``seconds`` of a running camera, when too few faces were seen by the end,
    or when :meth:`fail` is called (the camera stopped). Times come from the caller's clock.
    """

    def __init__(self, seconds: float = CALIBRATION_S, now: float = 0.0) -> None:
        if not 1.0 <= seconds <= 60.0:
            raise ValueError("a calibration takes 1 to 60 seconds")
        self.seconds = seconds
        self.started = now
        self._calibrator = Calibrator(seconds)
        self._camera_since: float | None = None
        self._first_face: float | None = None
        self.status = CalibrationStatus(
            CalibrationState.WAITING, seconds, message=f"{LOOK_MESSAGE}…"
        )

    @property
    def finished(self) -> bool:
        return not self.status.state.active

    def add(self, reading: Reading, now: float) -> CalibrationStatus:
        if not self.finished and self._calibrator.add(reading) and self._first_face is None:
            self._first_face = now
        return self.step(now, True)

    def step(self, now: float, camera_running: bool) -> CalibrationStatus:
        if self.finished:
            return self.status
        cal = self._calibrator
        first = self._first_face
        # A face seen, then readings that stopped coming (a stalled camera): end after twice
        # the time, with what was seen.
        if cal.done or (first is not None and now - first > 2.0 * self.seconds + 1.0):
            try:
                baseline = cal.baseline()
            except CalibrationError as exc:
                return self._end(CalibrationState.FAILED, str(exc))
            ranked = sorted(baseline.as_dict().items(), key=lambda kv: -kv[1])[:2]
            shown = ", ".join(
                f"{name} {p:.0%}" for i, (name, p) in enumerate(ranked) if i == 0 or p >= 0.05
            )
            return self._end(
                CalibrationState.DONE,
                f"Calibrated from {baseline.readings} readings: your relaxed face read {shown}; "
                "the readings are now corrected by it.",
                baseline,
            )
        if cal.readings == 0:
            if not camera_running:
                self._camera_since = None
                message = "Waiting for the camera…"
            else:
                if self._camera_since is None:
                    self._camera_since = now
                if now - self._camera_since >= self.seconds:
                    return self._end(
                        CalibrationState.FAILED,
                        f"No face was seen in {self.seconds:g} s: sit in front of the camera, "
                        "in good light, and try again.",
                    )
                message = f"{LOOK_MESSAGE}…"
            self.status = CalibrationStatus(CalibrationState.WAITING, self.seconds, message=message)
            return self.status
        progress = cal.progress()
        left = max(0.0, self.seconds * (1.0 - progress))
        self.status = CalibrationStatus(
            CalibrationState.RUNNING,
            self.seconds,
            progress,
            cal.readings,
            f"{LOOK_MESSAGE}: {math.ceil(left - 1e-6):.0f} s left",
        )
        return self.status

    def fail(self, message: str) -> CalibrationStatus:
        """End it now, unmade (the camera stopped); ``message`` says why."""
        if self.finished:
            return self.status
        return self._end(CalibrationState.FAILED, message)

    def cancel(self) -> CalibrationStatus:
        if self.finished:
            return self.status
        return self._end(CalibrationState.CANCELLED, "Calibration cancelled; nothing changed.")

    def _end(
        self, state: CalibrationState, message: str, baseline: Baseline | None = None
    ) -> CalibrationStatus:
        cal = self._calibrator
        self.status = CalibrationStatus(
            state,
            self.seconds,
            1.0 if state is CalibrationState.DONE else cal.progress(),
            cal.readings,
            message,
            baseline,
        )
        return self.status

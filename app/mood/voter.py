"""A steady mood from a stream of readings: a sliding time window, confidence weights, hysteresis.

How a mood is voted (the thresholds are :class:`VoterConfig`; ``app.settings`` offers them as
settings, with these defaults):

* **Window.** The readings of the last ``window_s`` seconds vote. Time comes only from the
  readings' ``time`` and from ``tick(now)``; the voter never reads a clock.
* **Weights.** A reading with a face adds its probability vector, weighted by its confidence:
  ``0.7 + 0.3 * c`` where ``c`` is the top probability rescaled to 0..1 (a shrug over all seven
  is 0, a certain reading 1). So a sure reading counts up to ~1.4x an unsure one, and no more:
  weighting by the raw top probability (or by 1 - entropy) let one sure 0.5 s grimace (weight ~1)
  outvote 1.5 s of a soft, honest neutral (top 0.45, weight 0.45) and flip the mood; with this
  bounded weight a 0.5 s certain grimace flips only a "mood" whose readings are near-shrugs
  (top <= 0.25). Readings without a face do not vote.
* **Distribution.** The weighted sum, normalised to 1: each expression's *share* of the window.
* **Face share.** The window must hold faces for at least ``min_face_share`` of its length
  (faces counted as readings times the typical interval between readings, so a half-empty window
  at start-up or after a stall does not count as full). Below that the current mood is held and
  no challenger can build up dwell time.
* **Hysteresis.** A challenger replaces the current mood only when its share leads the current
  mood's share by more than ``margin``, continuously, for ``dwell_s`` seconds, while it also has
  the most weight in the last ``dwell_s`` seconds of readings (so the lead an intense grimace
  leaves in the window after it is over does not count as sustained). The first mood is
  adopted when the same expression has led the window for ``dwell_s`` (no margin: there is nothing
  to hold on to yet, and a margin would leave a listener between two moods with no mood at all).
* **The room.** With ``room`` on, every face in view votes, not only the chosen one: faces are
  followed from reading to reading by box overlap (:mod:`app.mood.face_tracks`), a face seen for
  less than ``min_seen_s`` does not vote yet, and the faces of one reading make one vote: the
  mean of their ballots weighted by confidence and by size (``sqrt(area / largest area)``, so a
  face half as wide counts half). ``faces_in_view`` counts the faces that vote (in both modes).
* **No face.** After ``no_face_after_s`` without any face the voter is in the no-face state
  (``face_present`` False, ``no_face_since`` the time the face was last seen). The voted mood is
  kept, so the music can go on; the kiosk can show its idle screen.
"""

from __future__ import annotations

import itertools
import logging
import math
import statistics
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from app.mood.calibration import Correction
from app.mood.face_tracks import FaceTracks
from app.vision.reading import EXPRESSIONS, Face, Reading

log = logging.getLogger(__name__)

# The vote weight of a shrug (confidence 0); a sure reading (confidence 1) weighs 1.
MIN_WEIGHT = 0.7
_EPSILON = 1e-9
# Fallback interval between readings before two readings have been seen (the default rate).
_DEFAULT_INTERVAL = 0.1


class Thresholds(Protocol):
    """What :meth:`VoterConfig.from_settings` reads (``app.settings.MoodSettings`` has them)."""

    window_s: float
    margin: float
    dwell_s: float
    min_face_share: float
    no_face_after_s: float
    calibration: list[float]
    calibration_on: bool
    calibration_strength: float
    room: bool


@dataclass(frozen=True)
class VoterConfig:
    """The voting thresholds; see the module documentation for what each one does."""

    # 2 s: a grimace of up to ~1 s can never lead the window, and a real change reaches the voted
    # mood in about 2 s at 10 readings/s (3 s took ~2.8 s).
    window_s: float = 2.0
    margin: float = 0.12
    dwell_s: float = 0.6
    min_face_share: float = 0.3
    no_face_after_s: float = 5.0
    # The person's neutral face (app/mood/calibration.py): 7 numbers or () for none, and how
    # strongly it corrects (0..1; 0 = off).
    calibration: tuple[float, ...] = ()
    calibration_strength: float = 1.0
    # Every face in view votes (the room's mood), once seen for min_seen_s.
    room: bool = False
    min_seen_s: float = 1.0

    @classmethod
    def from_settings(cls, mood: Thresholds, room: bool | None = None) -> VoterConfig:
        """From anything that holds the thresholds, the calibration and ``room`` (that is
        ``settings.mood``); ``room`` overrides the setting (the kiosk always reads the room)."""
        return cls(
            room=mood.room if room is None else room,
            window_s=mood.window_s,
            margin=mood.margin,
            dwell_s=mood.dwell_s,
            min_face_share=mood.min_face_share,
            no_face_after_s=mood.no_face_after_s,
            calibration=tuple(mood.calibration) if mood.calibration_on else (),
            calibration_strength=mood.calibration_strength,
        )

    def correction(self) -> Correction | None:
        """The calibration's correction, or None (none stored, off, or strength 0)."""
        return Correction.from_settings(self.calibration, self.calibration_strength)


@dataclass(frozen=True)
class MoodChange:
    """The voted mood changed from ``previous`` to ``current`` at ``time``.

    ``evidence`` is the window's distribution (expression -> share) when it changed; ``reason``
    says in words why.
    """

    previous: str | None
    current: str
    time: float
    evidence: dict[str, float]
    reason: str


def reading_confidence(probabilities: dict[str, float]) -> float:
    """How sure one reading is, 0..1: its top probability rescaled so that a shrug over all seven
    expressions (top 1/7) is 0 and a certain reading (top 1) is 1."""
    total = sum(max(p, 0.0) for p in probabilities.values())
    if total <= 0.0:
        return 0.0
    top = max(max(p, 0.0) for p in probabilities.values()) / total
    floor = 1.0 / len(EXPRESSIONS)
    return max(0.0, (top - floor) / (1.0 - floor))


def reading_vote(probabilities: dict[str, float]) -> tuple[float, list[float]]:
    """One reading's (weight, ballot): the ballot is the probability vector in EXPRESSIONS order,
    normalised to sum to 1. A reading with a NaN or infinite probability does not vote (weight
    0): it comes from a broken model and would poison the window."""
    probs = [max(probabilities.get(name, 0.0), 0.0) for name in EXPRESSIONS]
    total = sum(probs)
    if not math.isfinite(total) or total <= 0.0:
        return 0.0, [0.0] * len(EXPRESSIONS)
    weight = MIN_WEIGHT + (1.0 - MIN_WEIGHT) * reading_confidence(probabilities)
    return weight, [p / total for p in probs]


def _finite(probabilities: dict[str, float]) -> bool:
    if all(math.isfinite(p) for p in probabilities.values()):
        return True
    log.debug("a reading with NaN or infinite probabilities does not vote")
    return False


@dataclass(frozen=True, slots=True)
class _Vote:
    time: float
    has_face: bool
    weight: float
    weighted: tuple[float, ...]  # weight * probability, in EXPRESSIONS order


class MoodVoter:
    """Turns readings into a steady voted mood. Not thread-safe: feed it from one thread."""

    def __init__(
        self, config: VoterConfig | None = None, correction: Correction | None = None
    ) -> None:
        self.config = config if config is not None else VoterConfig()
        # The person's calibration (their neutral face), applied to every reading before it
        # votes; None = off. Defaults to the config's; settable at any time.
        self.correction = correction if correction is not None else self.config.correction()
        self._tracks = FaceTracks()
        self._faces_in_view = 0
        self._votes: deque[_Vote] = deque()
        self._sums = [0.0] * len(EXPRESSIONS)
        self._weight = 0.0
        self._faces = 0
        self._now: float | None = None
        self._last_reading: float | None = None
        self._mood: str | None = None
        self._challenger: str | None = None
        self._challenger_since = 0.0
        self._last_face: float | None = None
        self._first_time: float | None = None
        self._face_present = False

    # -- what the UI and the controller read ------------------------------------------------

    @property
    def mood(self) -> str | None:
        """The voted expression, or None before the first mood was adopted."""
        return self._mood

    @property
    def distribution(self) -> dict[str, float]:
        """Each expression's share of the window's votes (sums to 1; all 0 when nothing votes)."""
        if self._weight <= 0.0:
            return dict.fromkeys(EXPRESSIONS, 0.0)
        return {name: s / self._weight for name, s in zip(EXPRESSIONS, self._sums, strict=True)}

    @property
    def confidence(self) -> float:
        """The voted mood's share of the window (0 when there is no mood or nothing votes)."""
        if self._mood is None:
            return 0.0
        return self.distribution[self._mood]

    @property
    def face_present(self) -> bool:
        """False before the first face and after ``no_face_after_s`` without one."""
        return self._face_present

    @property
    def no_face_since(self) -> float | None:
        """When the face was last seen (or the first reading, if never) while in no-face state."""
        if self._face_present:
            return None
        return self._last_face if self._last_face is not None else self._first_time

    @property
    def faces_in_view(self) -> int:
        """How many faces voted in the latest reading (room mode: those seen for at least
        ``min_seen_s``; otherwise 1 or 0)."""
        return self._faces_in_view

    @property
    def face_share(self) -> float:
        """How much of the window holds faces (0..1), as used against ``min_face_share``."""
        return self._face_share()

    # -- time passing ----------------------------------------------------------------------------

    def update(self, reading: Reading) -> MoodChange | None:
        """Add one reading (at ``reading.time``) and return the change it caused, if any.

        A reading captured before the last ``tick(now)`` still counts (it was in flight while the
        UI ticked); only a reading older than the previous *reading* is ignored.
        """
        now = reading.time
        if self._last_reading is not None and now < self._last_reading:
            log.debug("reading at %.3f is older than %.3f; ignored", now, self._last_reading)
            return None
        self._last_reading = now
        if self._first_time is None:
            self._first_time = now
        vote = self._room_vote(reading) if self.config.room else self._one_vote(reading)
        if vote.has_face:
            self._last_face = now
            self._face_present = True
        self._votes.append(vote)
        self._weight += vote.weight
        for i, value in enumerate(vote.weighted):
            self._sums[i] += value
        if vote.has_face:
            self._faces += 1
        return self._advance(now if self._now is None else max(now, self._now))

    def _ballot(self, probabilities: dict[str, float]) -> tuple[float, list[float]]:
        if self.correction is not None:
            probabilities = self.correction.apply(probabilities)
        return reading_vote(probabilities)

    def _one_vote(self, reading: Reading) -> _Vote:
        now = reading.time
        if reading.has_face and reading.probabilities and _finite(reading.probabilities):
            weight, ballot = self._ballot(reading.probabilities)
            self._faces_in_view = 1
            return _Vote(now, True, weight, tuple(weight * p for p in ballot))
        self._faces_in_view = 0
        return _Vote(now, False, 0.0, (0.0,) * len(EXPRESSIONS))

    def _room_vote(self, reading: Reading) -> _Vote:
        """One vote from every face seen for at least ``min_seen_s`` (see the module doc)."""
        now = reading.time
        faces: list[Face] = [f for f in reading.all_faces if _finite(f.probabilities)]
        tracks = self._tracks.update(now, [f.box for f in faces])
        voting = [
            f
            for f, track in zip(faces, tracks, strict=True)
            if track.seen_for(now) >= self.config.min_seen_s - _EPSILON
        ]
        self._faces_in_view = len(voting)
        if not voting:
            return _Vote(now, False, 0.0, (0.0,) * len(EXPRESSIONS))
        largest = max(f.box.area for f in voting) or 1
        sums = [0.0] * len(EXPRESSIONS)
        weights = sizes = 0.0
        for face in voting:
            size = math.sqrt(max(face.box.area, 1) / largest)
            weight, ballot = self._ballot(face.probabilities)
            for i, p in enumerate(ballot):
                sums[i] += size * weight * p
            weights += size * weight
            sizes += size
        if weights <= 0.0:
            return _Vote(now, True, 0.0, (0.0,) * len(EXPRESSIONS))
        weight = weights / sizes  # the size-weighted mean confidence weight, 0.7..1
        return _Vote(now, True, weight, tuple(weight * s / weights for s in sums))

    def tick(self, now: float) -> MoodChange | None:
        """Let time pass to ``now`` without a reading (old votes leave the window)."""
        if self._now is not None and now < self._now:
            return None
        if self._first_time is None:
            self._first_time = now
        return self._advance(now)

    # -- the decision ------------------------------------------------------------------------------

    def _advance(self, now: float) -> MoodChange | None:
        self._now = now
        self._evict(now)
        last_seen = self._last_face if self._last_face is not None else self._first_time
        if (
            self._face_present
            and last_seen is not None
            and now - last_seen >= self.config.no_face_after_s
        ):
            self._face_present = False
            log.info("no face for %.1f s", now - last_seen)
        return self._decide(now)

    def _evict(self, now: float) -> None:
        start = now - self.config.window_s
        votes = self._votes
        while votes and votes[0].time <= start:
            old = votes.popleft()
            self._weight -= old.weight
            for i, value in enumerate(old.weighted):
                self._sums[i] -= value
            if old.has_face:
                self._faces -= 1
        if not votes or self._weight < 1e-9:
            # Rebuild from what is left so float drift never accumulates.
            self._weight = sum(v.weight for v in votes)
            self._sums = [sum(v.weighted[i] for v in votes) for i in range(len(EXPRESSIONS))]

    def _interval(self) -> float:
        times = [v.time for v in self._votes]
        gaps = [b - a for a, b in itertools.pairwise(times) if b > a]
        if not gaps:
            return _DEFAULT_INTERVAL
        return min(statistics.median(gaps), self.config.window_s)

    def _face_share(self) -> float:
        if self._faces == 0:
            return 0.0
        return min(1.0, self._faces * self._interval() / self.config.window_s)

    def _recent_leader(self, now: float) -> str | None:
        """The expression with the most weight in the last ``dwell_s`` seconds of readings (or
        the last two readings' worth of time, when readings come slower than that)."""
        sums = [0.0] * len(EXPRESSIONS)
        start = now - max(self.config.dwell_s, 2.0 * self._interval(), 1e-9)
        for vote in reversed(self._votes):
            if vote.time <= start:
                break
            for i, value in enumerate(vote.weighted):
                sums[i] += value
        best = max(range(len(EXPRESSIONS)), key=sums.__getitem__)
        return EXPRESSIONS[best] if sums[best] > 0.0 else None

    def _reset_challenger(self) -> None:
        self._challenger = None

    def _decide(self, now: float) -> MoodChange | None:
        config = self.config
        face_share = self._face_share()
        if face_share < config.min_face_share or self._weight <= 0.0:
            self._reset_challenger()
            return None
        shares = self.distribution
        if self._mood is None:
            ranked = sorted(shares.items(), key=lambda kv: kv[1], reverse=True)
            candidate, top = ranked[0]
            runner_up, second = ranked[1]
            if top <= second:
                self._reset_challenger()
                return None
            lead_over, lead = runner_up, top - second
        else:
            current_share = shares[self._mood]
            candidate, top = max(
                ((k, v) for k, v in shares.items() if k != self._mood), key=lambda kv: kv[1]
            )
            lead_over, lead = self._mood, top - current_share
            if lead <= config.margin + _EPSILON:  # more than the margin; float ties do not count
                self._reset_challenger()
                return None
        if self._recent_leader(now) != candidate:
            # The window still shows a lead, but the latest readings have moved on (a grimace
            # that is over): the lead is not sustained.
            self._reset_challenger()
            return None
        if self._challenger != candidate:
            self._challenger = candidate
            self._challenger_since = now
        held = now - self._challenger_since
        if held < config.dwell_s:
            return None
        previous = self._mood
        self._mood = candidate
        self._reset_challenger()
        if previous is None:
            reason = (
                f"{candidate} led the window ({top:.0%}, next {lead_over} {top - lead:.0%}) "
                f"for {held:.1f} s with a face in {face_share:.0%} of {config.window_s:g} s"
            )
        else:
            reason = (
                f"{candidate} led {previous} by {lead:.2f} (margin {config.margin:g}) "
                f"for {held:.1f} s with a face in {face_share:.0%} of {config.window_s:g} s"
            )
        log.debug("mood %s -> %s at %.2f: %s", previous, candidate, now, reason)
        return MoodChange(previous, candidate, now, shares, reason)

"""Kiosk mode rules, free of Qt: the admin PIN and its throttle, the idle screen and cursor
timing, allowed controls, the volume cap and the session hours.

The admin PIN is never stored in clear: ``hash_pin`` gives
``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>`` (PBKDF2-HMAC-SHA256, random 16-byte salt) and
``verify_pin`` compares in constant time. An empty stored hash means leaving kiosk mode is disabled
(only stopping the process ends it). The PIN reaches the app only through ``moodplayer set-pin``
(stdin or a hidden prompt) or the settings dialog, never a command line. Everything that depends on
time takes ``now`` from the caller.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from app.errors import UserError
from app.settings import KIOSK_CONTROLS, Settings

log = logging.getLogger(__name__)

PIN_SCHEME = "pbkdf2_sha256"
PIN_ITERATIONS = 200_000
PIN_MIN_DIGITS = 4
PIN_MAX_DIGITS = 12

# Failed PIN attempts allowed before the dialog locks; the lock starts here and doubles.
PIN_FREE_ATTEMPTS = 3
PIN_LOCK_S = 30.0
PIN_LOCK_MAX_S = 300.0


def check_pin_format(pin: str) -> None:
    """Raise ``UserError`` unless ``pin`` is 4 to 12 digits (typed on the kiosk's keypad)."""
    if not (pin.isascii() and pin.isdigit() and PIN_MIN_DIGITS <= len(pin) <= PIN_MAX_DIGITS):
        raise UserError(
            f"The kiosk PIN must be {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits (0-9); "
            "choose another with 'moodplayer set-pin'."
        )


def hash_pin(pin: str, *, iterations: int = PIN_ITERATIONS, salt: bytes | None = None) -> str:
    """The stored form of ``pin``: ``pbkdf2_sha256$iterations$salt$hash`` (hex)."""
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations)
    return f"{PIN_SCHEME}${iterations}${salt.hex()}${digest.hex()}"


def exit_enabled(stored: str) -> bool:
    """Whether a PIN can end kiosk mode at all (an empty stored hash disables leaving)."""
    return bool(stored.strip())


def verify_pin(pin: str, stored: str) -> bool:
    """True when ``pin`` matches ``stored``; False for an empty or unreadable stored hash."""
    if not exit_enabled(stored):
        return False
    try:
        scheme, iterations_text, salt_hex, digest_hex = stored.strip().split("$")
        iterations = int(iterations_text)
        salt = bytes.fromhex(salt_hex)
        expected = bytes.fromhex(digest_hex)
    except ValueError:
        log.warning("kiosk.pin_hash is not a PIN hash MoodPlayer understands; set the PIN again")
        return False
    if scheme != PIN_SCHEME or not 1 <= iterations <= 10_000_000 or not expected:
        log.warning("kiosk.pin_hash uses an unknown scheme %r; set the PIN again", scheme)
        return False
    actual = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(actual, expected)


def apply_pin_argument(settings: Settings, pin: str | None) -> bool:
    """Store the hash of ``pin`` in ``settings.kiosk.pin_hash`` (``set-pin``, the settings dialog).

    ``None`` (option not given) changes nothing; an empty string clears the hash, which disables
    leaving kiosk mode. Returns True when the settings changed (the caller saves them). A PIN that
    is not 4 to 12 digits raises ``UserError``.
    """
    if pin is None:
        return False
    if pin == "":
        settings.kiosk.pin_hash = ""
        log.info("kiosk admin PIN cleared: leaving kiosk mode is disabled")
        return True
    check_pin_format(pin)
    settings.kiosk.pin_hash = hash_pin(pin)
    log.info("kiosk admin PIN set (stored hashed)")
    return True


class PinResult(enum.Enum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    LOCKED = "locked"  # too many wrong tries: wait before the next one
    DISABLED = "disabled"  # no PIN is set: leaving kiosk mode is disabled


@dataclass(frozen=True)
class PinAnswer:
    result: PinResult
    # Seconds until the next try is allowed (0 when not locked).
    wait_s: float = 0.0


class PinGate:
    """Checks PIN attempts and slows down guessing: after 3 wrong tries a lock of 30 s, doubling
    with every further wrong try up to 5 minutes. A right PIN resets the count.

    With ``state_path`` the count and the lock are kept in that file (written atomically after
    every attempt), so restarting the app does not reset the throttle. ``now`` may come from any
    clock (the session's monotonic one); the file holds the lock's end in wall-clock time
    (``wall()``, ``time.time`` by default). A lock further ahead than the longest lock (the clock
    was set back) is cut to the longest lock.
    """

    def __init__(
        self,
        stored: str,
        *,
        state_path: Path | None = None,
        now: float = 0.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._stored = stored
        self._failures = 0
        self._locked_until = 0.0
        self._state_path = state_path
        self._wall = wall
        if state_path is not None:
            self._failures, until_wall = _read_throttle(state_path)
            left = min(PIN_LOCK_MAX_S, max(0.0, until_wall - wall()))
            self._locked_until = now + left if left > 0 else 0.0

    @property
    def enabled(self) -> bool:
        return exit_enabled(self._stored)

    @property
    def failures(self) -> int:
        return self._failures

    def wait_s(self, now: float) -> float:
        return max(0.0, self._locked_until - now)

    def attempt(self, pin: str, now: float) -> PinAnswer:
        if not self.enabled:
            return PinAnswer(PinResult.DISABLED)
        wait = self.wait_s(now)
        if wait > 0:
            return PinAnswer(PinResult.LOCKED, wait)
        if verify_pin(pin, self._stored):
            self._failures = 0
            self._locked_until = 0.0
            self._save(now)
            log.info("kiosk: admin PIN accepted")
            return PinAnswer(PinResult.ACCEPTED)
        self._failures += 1
        log.warning("kiosk: wrong admin PIN (%d wrong in a row)", self._failures)
        extra = self._failures - PIN_FREE_ATTEMPTS
        answer = PinAnswer(PinResult.REFUSED)
        if extra >= 0:
            lock = min(PIN_LOCK_MAX_S, PIN_LOCK_S * 2.0 ** min(extra, 16))
            self._locked_until = now + lock
            answer = PinAnswer(PinResult.LOCKED, lock)
        self._save(now)
        return answer

    def _save(self, now: float) -> None:
        if self._state_path is None:
            return
        left = self.wait_s(now)
        until = self._wall() + left if left > 0 else 0.0
        data = {"failures": self._failures, "locked_until": until}
        try:
            atomic_write(self._state_path, json.dumps(data).encode("utf-8"))
        except OSError as exc:
            log.warning("kiosk: cannot keep the PIN throttle in %s: %s", self._state_path, exc)


def throttle_file(data_dir: Path) -> Path:
    """Where the PIN throttle lives: ``kiosk-pin-throttle.json`` in the data folder."""
    return data_dir / "kiosk-pin-throttle.json"


def clear_throttle(path: Path) -> None:
    """Forget wrong tries and any lock (a new PIN was set)."""
    path.unlink(missing_ok=True)


def _read_throttle(path: Path) -> tuple[int, float]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        failures = int(data["failures"])
        locked_until = float(data["locked_until"])
    except FileNotFoundError:
        return 0, 0.0
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # unreadable: keep guessing slow rather than granting fresh tries
        log.warning("kiosk: PIN throttle file %s unreadable (%s); counting it as locked", path, exc)
        return PIN_FREE_ATTEMPTS, float("inf")
    if failures < 0 or locked_until != locked_until:
        return PIN_FREE_ATTEMPTS, float("inf")
    return failures, locked_until


def atomic_write(path: Path, payload: bytes, mode: int = 0o600) -> None:
    """Write ``payload`` to ``path`` through a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class IdleTracker:
    """Active while someone looks at the screen; idle after ``idle_after_s`` with no face.

    The time the tracker starts counts as the last face seen, so an empty room turns idle after
    ``idle_after_s`` too. A face makes it active again at once.
    """

    def __init__(self, idle_after_s: float, now: float) -> None:
        self.idle_after_s = idle_after_s
        self._last_face = now
        self._idle = False

    @property
    def idle(self) -> bool:
        return self._idle

    def update(self, face_present: bool, now: float) -> bool:
        """Take one observation; returns True when the idle state changed."""
        if face_present:
            self._last_face = now
        idle = not face_present and now - self._last_face >= self.idle_after_s
        changed = idle != self._idle
        if changed:
            log.info("kiosk: %s", "idle (no face)" if idle else "active (face seen)")
        self._idle = idle
        return changed


class CursorTimer:
    """The pointer hides after ``hide_after_s`` without mouse or touch activity."""

    def __init__(self, hide_after_s: float, now: float) -> None:
        self.hide_after_s = hide_after_s
        self._last_activity = now
        self._hidden = False

    @property
    def hidden(self) -> bool:
        return self._hidden

    def activity(self, now: float) -> bool:
        """The pointer moved or the screen was touched; returns True when the cursor reappears."""
        self._last_activity = now
        changed = self._hidden
        self._hidden = False
        return changed

    def update(self, now: float) -> bool:
        """Time passes; returns True when the cursor should now be hidden (once)."""
        hide = now - self._last_activity >= self.hide_after_s
        changed = hide and not self._hidden
        self._hidden = self._hidden or hide
        return changed


def allowed_controls(names: Iterable[str]) -> frozenset[str]:
    """The known kiosk controls among ``names`` (``play_pause``, ``skip``, ``volume``,
    ``playlist``); unknown names are ignored with a log line."""
    wanted = set(names)
    unknown = wanted - set(KIOSK_CONTROLS)
    if unknown:
        log.warning("kiosk: ignoring unknown controls %s", ", ".join(sorted(unknown)))
    return frozenset(wanted & set(KIOSK_CONTROLS))


def limit_volume(requested: float, maximum: float = 1.0, fixed: bool = False) -> float:
    """The volume the kiosk allows: ``maximum`` when the volume is fixed, else ``requested``
    capped at ``maximum`` (both 0..1). Only the admin (behind the PIN) changes the limits."""
    cap = min(1.0, max(0.0, maximum))
    if fixed:
        return cap
    return min(cap, max(0.0, requested))


_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class SessionHours:
    """When the kiosk plays: spans of local time such as ``"08:00-12:00, 14:00-20:00"``; a span
    may run past midnight (``"20:00-02:00"``). No spans (``""``) means always."""

    spans: tuple[tuple[int, int], ...] = ()  # (start, end) in minutes after midnight

    @classmethod
    def parse(cls, text: str) -> SessionHours:
        """Read ``text``; raises ``UserError`` naming the part that is not ``HH:MM-HH:MM``."""
        spans = []
        for part in text.split(","):
            if not part.strip():
                continue
            match = _SPAN.match(part)
            if match is None:
                raise UserError(
                    f"session hours: {part.strip()!r} is not a time span like 08:00-20:00"
                )
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
                raise UserError(f"session hours: {part.strip()!r} is not a time of day")
            start, end = h1 * 60 + m1, h2 * 60 + m2
            if start == end:
                raise UserError(f"session hours: {part.strip()!r} is empty (start = end)")
            spans.append((start, end))
        return cls(tuple(spans))

    @property
    def always(self) -> bool:
        return not self.spans

    def is_open(self, when: dt.datetime) -> bool:
        """Whether the kiosk plays at local time ``when``."""
        if not self.spans:
            return True
        minute = when.hour * 60 + when.minute
        for start, end in self.spans:
            if start < end and start <= minute < end:
                return True
            if start > end and (minute >= start or minute < end):  # past midnight
                return True
        return False

    def next_change(self, when: dt.datetime) -> dt.datetime | None:
        """The next minute at which ``is_open`` changes (None when always open)."""
        if not self.spans:
            return None
        now_open = self.is_open(when)
        probe = when.replace(second=0, microsecond=0)
        for _ in range(2 * 24 * 60):
            probe += dt.timedelta(minutes=1)
            if self.is_open(probe) != now_open:
                return probe
        return None  # pragma: no cover - the spans cover the whole day

    def describe(self) -> str:
        if not self.spans:
            return "always"
        return ", ".join(
            f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in self.spans
        )

"""Kiosk rules without Qt: PIN hashing and gate, idle screen and cursor timing, allowed controls."""

from __future__ import annotations

import pytest

from app import kiosk
from app.errors import UserError
from app.kiosk import CursorTimer, IdleTracker, PinGate, PinResult
from app.settings import Settings

FAST = 1000  # iterations: enough to exercise PBKDF2, quick in tests


def test_hash_pin_format_salt_and_no_clear_text() -> None:
    stored = kiosk.hash_pin("4711", iterations=FAST)
    scheme, iterations, salt, digest = stored.split("$")
    assert scheme == "pbkdf2_sha256"
    assert int(iterations) == FAST
    assert len(bytes.fromhex(salt)) == 16
    assert len(bytes.fromhex(digest)) == 32
    assert "4711" not in stored
    # a random salt: the same PIN hashes differently every time
    assert kiosk.hash_pin("4711", iterations=FAST) != stored


def test_default_hash_uses_many_iterations() -> None:
    assert int(kiosk.hash_pin("4711").split("$")[1]) >= 100_000


def test_verify_pin_accepts_right_and_refuses_wrong() -> None:
    stored = kiosk.hash_pin("4711", iterations=FAST)
    assert kiosk.verify_pin("4711", stored)
    assert not kiosk.verify_pin("4712", stored)
    assert not kiosk.verify_pin("", stored)


@pytest.mark.parametrize(
    "stored",
    ["", "   ", "garbage", "md5$1$00$00", "pbkdf2_sha256$x$00$00", "pbkdf2_sha256$5$zz$00"],
)
def test_verify_pin_refuses_empty_or_unreadable_hash(stored: str) -> None:
    assert not kiosk.verify_pin("4711", stored)


def test_empty_hash_disables_exit() -> None:
    assert not kiosk.exit_enabled("")
    assert kiosk.exit_enabled(kiosk.hash_pin("1234", iterations=FAST))
    assert PinGate("").attempt("1234", now=0.0).result is PinResult.DISABLED


def test_apply_pin_argument_stores_hash() -> None:
    settings = Settings()
    assert not kiosk.apply_pin_argument(settings, None)
    assert settings.kiosk.pin_hash == ""
    assert kiosk.apply_pin_argument(settings, "2468")
    assert settings.kiosk.pin_hash.startswith("pbkdf2_sha256$")
    assert kiosk.verify_pin("2468", settings.kiosk.pin_hash)
    assert kiosk.apply_pin_argument(settings, "")
    assert settings.kiosk.pin_hash == ""


@pytest.mark.parametrize("pin", ["12", "abcd", "12 34", "1234567890123", "١٢٣٤"])
def test_apply_pin_argument_refuses_bad_pin_with_a_sentence(pin: str) -> None:
    settings = Settings()
    with pytest.raises(UserError, match="4 to 12 digits"):
        kiosk.apply_pin_argument(settings, pin)
    assert settings.kiosk.pin_hash == ""


def test_pin_gate_throttles_after_three_failures() -> None:
    gate = PinGate(kiosk.hash_pin("4711", iterations=FAST))
    assert gate.attempt("0000", now=0.0).result is PinResult.REFUSED
    assert gate.attempt("0001", now=1.0).result is PinResult.REFUSED
    third = gate.attempt("0002", now=2.0)
    assert third.result is PinResult.LOCKED
    assert third.wait_s == kiosk.PIN_LOCK_S
    # even the right PIN is refused while locked
    locked = gate.attempt("4711", now=10.0)
    assert locked.result is PinResult.LOCKED
    assert locked.wait_s == pytest.approx(22.0)
    # after the lock a wrong PIN locks for twice as long
    fourth = gate.attempt("0003", now=40.0)
    assert fourth.result is PinResult.LOCKED
    assert fourth.wait_s == 2 * kiosk.PIN_LOCK_S
    assert gate.attempt("4711", now=40.0 + 2 * kiosk.PIN_LOCK_S).result is PinResult.ACCEPTED
    assert gate.failures == 0


def test_pin_gate_lock_is_capped() -> None:
    gate = PinGate(kiosk.hash_pin("4711", iterations=FAST))
    now = 0.0
    answer = gate.attempt("0", now)
    for _ in range(20):
        now += answer.wait_s
        answer = gate.attempt("0", now)
    assert answer.wait_s == kiosk.PIN_LOCK_MAX_S


def test_idle_tracker_goes_idle_without_face_and_back_at_once() -> None:
    tracker = IdleTracker(idle_after_s=30.0, now=100.0)
    assert not tracker.idle
    assert not tracker.update(False, 129.9)
    assert not tracker.idle
    assert tracker.update(False, 130.0)
    assert tracker.idle
    assert not tracker.update(False, 500.0)
    assert tracker.update(True, 500.1)
    assert not tracker.idle
    # a face resets the countdown
    tracker.update(False, 520.0)
    assert not tracker.idle
    tracker.update(False, 530.1)
    assert tracker.idle


def test_cursor_timer_hides_after_idle_and_shows_on_activity() -> None:
    timer = CursorTimer(hide_after_s=3.0, now=0.0)
    assert not timer.update(2.9)
    assert not timer.hidden
    assert timer.update(3.0)
    assert timer.hidden
    assert not timer.update(4.0)  # reports the change once
    assert timer.activity(5.0)
    assert not timer.hidden
    assert not timer.update(7.9)
    assert timer.update(8.0)


def test_allowed_controls_filters_unknown() -> None:
    assert kiosk.allowed_controls(["skip", "volume", "dance"]) == {"skip", "volume"}
    assert kiosk.allowed_controls([]) == frozenset()


def test_pin_throttle_survives_a_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    stored = kiosk.hash_pin("4711", iterations=FAST)
    state = kiosk.throttle_file(tmp_path)
    wall = [1_700_000_000.0]
    gate = PinGate(stored, state_path=state, now=5.0, wall=lambda: wall[0])
    for i in range(3):
        answer = gate.attempt("0000", now=5.0 + i)
    assert answer.result is PinResult.LOCKED  # at monotonic 7 = wall + 0: locked 30 s
    # 8 s later the app restarts (a fresh monotonic clock): still locked, and it counts on
    wall[0] += 8.0
    again = PinGate(stored, state_path=state, now=0.0, wall=lambda: wall[0])
    assert again.failures == 3
    locked = again.attempt("4711", now=0.0)
    assert locked.result is PinResult.LOCKED
    assert locked.wait_s == pytest.approx(22.0)
    assert again.attempt("0000", now=22.0).wait_s == 2 * kiosk.PIN_LOCK_S
    assert again.attempt("4711", now=82.0).result is PinResult.ACCEPTED
    assert PinGate(stored, state_path=state, now=0.0).failures == 0
    assert oct(state.stat().st_mode & 0o777) == "0o600"


def test_pin_throttle_lock_from_a_clock_set_back_is_cut_to_the_longest(tmp_path) -> None:  # type: ignore[no-untyped-def]
    stored = kiosk.hash_pin("4711", iterations=FAST)
    state = kiosk.throttle_file(tmp_path)
    state.write_text('{"failures": 3, "locked_until": 9999999999.0}')
    gate = PinGate(stored, state_path=state, now=100.0, wall=lambda: 1_700_000_000.0)
    assert gate.wait_s(100.0) == kiosk.PIN_LOCK_MAX_S


def test_unreadable_throttle_file_counts_as_locked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    state = kiosk.throttle_file(tmp_path)
    state.write_text("not json")
    gate = PinGate(kiosk.hash_pin("4711", iterations=FAST), state_path=state, now=0.0)
    assert gate.attempt("4711", now=1.0).result is PinResult.LOCKED


@pytest.mark.parametrize(
    ("requested", "maximum", "fixed", "allowed"),
    [(0.9, 0.6, False, 0.6), (0.3, 0.6, False, 0.3), (0.1, 0.5, True, 0.5), (-1, 1.0, False, 0)],
)
def test_limit_volume(requested: float, maximum: float, fixed: bool, allowed: float) -> None:
    assert kiosk.limit_volume(requested, maximum, fixed) == allowed


def test_session_hours_with_an_injected_clock() -> None:
    import datetime as dt

    hours = kiosk.SessionHours.parse("08:00-12:00, 14:30-20:00")
    day = dt.datetime(2026, 3, 2)

    def at(h: int, m: int = 0) -> dt.datetime:
        return day.replace(hour=h, minute=m)

    assert not hours.is_open(at(7, 59))
    assert hours.is_open(at(8))
    assert hours.is_open(at(11, 59))
    assert not hours.is_open(at(12))
    assert not hours.is_open(at(14, 29))
    assert hours.is_open(at(14, 30))
    assert not hours.is_open(at(20))
    assert hours.next_change(at(12, 5)) == at(14, 30)
    assert hours.next_change(at(9)) == at(12)
    assert hours.describe() == "08:00-12:00, 14:30-20:00"
    night = kiosk.SessionHours.parse("20:00-02:00")
    assert night.is_open(at(23)) and night.is_open(at(1, 59)) and not night.is_open(at(2))
    always = kiosk.SessionHours.parse("")
    assert always.always and always.is_open(at(3)) and always.next_change(at(3)) is None


@pytest.mark.parametrize("text", ["8-20", "08:00", "25:00-26:00", "08:00-08:00", "08:61-09:00"])
def test_session_hours_refuse_bad_text(text: str) -> None:
    with pytest.raises(UserError, match="session hours"):
        kiosk.SessionHours.parse(text)

"""Your neutral face, the room and the preview rate in the session core (what the window, the
kiosk and ``watch`` share), on a manual clock with a fake camera worker.

The resting face is scripted: it reads 40 % sad at rest (``REST``), and the same face smiling
reads happy (``SMILE``); before calibration the resting face votes sad, after it calm, and the
smile still wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import settings as settings_mod
from app.mood.calibration import CalibrationState
from app.mood.voter import MoodVoter, VoterConfig
from app.session import NO_CAMERA_TO_CALIBRATE, PREVIEW_FPS, CameraState, faces_text
from app.settings import Settings
from app.vision.reading import Box, Face, Reading
from tests.mood.test_calibration import REST, SMILE
from tests.test_session import RATE, Events, Rig

FACE = Box(40, 30, 80, 80)


class Listener(Events):
    def calibration_changed(self, status: object) -> None:
        self.log.append(("calibration", status))


def feed(rig: Rig, probabilities: dict[str, float] | None, seconds: float) -> None:
    """``seconds`` of one face reading ``probabilities`` (None: nobody), polled like the window."""
    for i in range(round(seconds * RATE)):
        rig.clock.advance(1.0 / RATE)
        t = rig.clock()
        reading = Reading(t, None) if probabilities is None else Reading(t, FACE, probabilities)
        rig.worker.on_reading(reading)
        if i % 2 == 1:
            rig.session.poll()
    rig.session.poll()


def make_rig(tmp_path: Path | None = None) -> tuple[Rig, Listener]:
    path = tmp_path / "settings.toml" if tmp_path is not None else None
    rig = Rig(settings_path=path)
    listener = Listener()
    rig.session.add_listener(listener)
    rig.start()
    return rig, listener


def test_a_calibration_makes_the_resting_face_vote_calm_and_a_smile_still_wins(
    tmp_path: Path,
) -> None:
    rig, listener = make_rig(tmp_path)
    feed(rig, REST, 4.0)
    assert rig.session.voter.mood == "sad"  # a face that looks sad at rest
    status = rig.session.start_calibration(5.0)
    assert status.state is CalibrationState.WAITING
    feed(rig, REST, 2.0)
    running = rig.session.view().calibration
    assert running is not None and running.state is CalibrationState.RUNNING
    assert 0.3 < running.progress < 0.5 and "s left" in running.message
    assert not rig.session.view().correcting
    feed(rig, REST, 3.5)
    view = rig.session.view()
    assert view.calibration is not None and view.calibration.state is CalibrationState.DONE
    assert view.calibrated and view.correcting
    stored = rig.settings.mood.calibration
    assert len(stored) == 7 and stored[4] == pytest.approx(0.40, abs=0.01)  # sad
    assert rig.settings.mood.calibration_on
    # stored at once, as 7 numbers and nothing else
    saved = settings_mod.load(tmp_path / "settings.toml").settings.mood.calibration
    assert saved == stored
    assert any("Calibrated from" in n for n in listener.of("notice"))
    states = [s.state for s in listener.of("calibration")]
    assert states == [CalibrationState.WAITING, CalibrationState.RUNNING, CalibrationState.DONE]
    # applied at once, to the same voter: the resting face now votes calm, a smile passes
    feed(rig, REST, 4.0)
    assert rig.session.voter.mood == "neutral"
    feed(rig, SMILE, 4.0)
    assert rig.session.voter.mood == "happy"
    rig.session.stop()


def test_the_bars_get_the_corrected_reading_and_the_raw_one_only_while_correcting() -> None:
    rig, _ = make_rig()
    reading = Reading(1.0, FACE, dict(REST))
    shown, raw = rig.session.shown_probabilities(reading)
    assert shown == REST and raw is None
    rig.session.start_calibration(2.0)
    feed(rig, REST, 2.5)
    shown, raw = rig.session.shown_probabilities(reading)
    assert raw == REST
    assert max(shown, key=shown.__getitem__) == "neutral" and shown["sad"] < 0.1
    rig.session.set_calibration_on(False)  # off: one click, the baseline stays
    assert rig.session.shown_probabilities(reading) == (REST, None)
    assert rig.settings.mood.calibration and not rig.session.view().correcting
    rig.session.set_calibration_on(True)
    rig.session.set_calibration_strength(0.5)
    half, _ = rig.session.shown_probabilities(reading)
    assert shown["sad"] < half["sad"] < REST["sad"]
    rig.session.reset_calibration()  # reset: one click, the baseline is gone
    assert rig.settings.mood.calibration == [] and rig.session.voter.correction is None
    view = rig.session.view()
    assert not view.calibrated and not view.correcting and view.calibration is None
    rig.session.stop()


def test_no_face_during_the_calibration_is_a_sentence_and_changes_nothing() -> None:
    rig, listener = make_rig()
    rig.session.start_calibration(5.0)
    feed(rig, None, 4.5)
    assert rig.session.view().calibration.state is CalibrationState.WAITING  # type: ignore[union-attr]
    feed(rig, None, 1.0)
    status = rig.session.view().calibration
    assert status is not None and status.state is CalibrationState.FAILED
    assert status.message.startswith("No face was seen in 5 s")
    assert status.message in listener.of("notice")
    assert rig.settings.mood.calibration == []
    rig.session.stop()


def test_too_few_faces_fail_and_a_camera_that_stops_ends_it() -> None:
    rig, _ = make_rig()
    rig.session.start_calibration(3.0)
    feed(rig, REST, 0.1)  # one glimpse, then nobody
    feed(rig, None, 3.5)
    status = rig.session.view().calibration
    assert status is not None and status.state is CalibrationState.FAILED
    assert "Only 1 readings of a face" in status.message
    rig.session.start_calibration(3.0)
    feed(rig, REST, 1.0)
    rig.session.set_camera_enabled(False)
    status = rig.session.view().calibration
    assert status is not None and status.state is CalibrationState.FAILED
    assert "camera stopped" in status.message
    assert rig.settings.mood.calibration == []
    rig.session.stop()


def test_with_the_camera_off_calibration_says_how_to_turn_it_on() -> None:
    settings = Settings()
    settings.camera.enabled = False
    rig = Rig(settings)
    rig.start()
    status = rig.session.start_calibration()
    assert status.state is CalibrationState.FAILED and status.message == NO_CAMERA_TO_CALIBRATE
    rig.session.stop()


def test_a_settings_change_to_the_calibration_keeps_the_voters_mood() -> None:
    rig, _ = make_rig()
    feed(rig, REST, 4.0)
    voter = rig.session.voter
    assert voter.mood == "sad"
    new = Settings()
    new.mood.calibration = [0.06, 0.06, 0.06, 0.06, 0.40, 0.06, 0.30]
    rig.session.apply_settings(new)
    assert rig.session.voter is voter and voter.mood == "sad"  # same voter, mood kept
    assert voter.correction is not None
    feed(rig, REST, 4.0)
    assert voter.mood == "neutral"
    newer = Settings()
    newer.mood.calibration = list(new.mood.calibration)
    newer.mood.window_s = 3.0
    rig.session.apply_settings(newer)  # a threshold: a new voter, still corrected
    assert rig.session.voter is not voter and rig.session.voter.correction is not None
    rig.session.stop()


def two_faces(t: float) -> Reading:
    happy = dict(SMILE)
    sad = dict(REST)
    big, small = Box(40, 40, 120, 120), Box(300, 60, 90, 90)
    return Reading(t, big, happy, faces=(Face(big, happy), Face(small, sad)))


def test_the_room_counts_the_faces_and_the_kiosk_override_wins_over_the_setting() -> None:
    rig, _ = make_rig()
    assert rig.session.view().room is False
    rig.session.set_room(True)
    for _ in range(20):
        rig.clock.advance(0.1)
        rig.worker.on_reading(two_faces(rig.clock()))
    rig.session.poll()
    view = rig.session.view()
    assert view.room and (view.faces_seen, view.faces_voting) == (2, 2)
    assert faces_text(view) == "2 faces"
    rig.session.set_room(None)  # back to mood.room (off): one face votes, the count stays
    rig.clock.advance(0.1)
    rig.worker.on_reading(two_faces(rig.clock()))
    rig.session.poll()
    view = rig.session.view()
    assert not view.room and (view.faces_seen, view.faces_voting) == (2, 1)
    assert faces_text(view) == "2 faces, one votes"
    rig.settings.mood.room = True
    rig.session.set_room(None)
    assert rig.session.view().room
    rig.session.set_camera_enabled(False)
    assert faces_text(rig.session.view()) == ""
    rig.session.stop()


def test_faces_in_words() -> None:
    rig, _ = make_rig()
    rig.session.set_room(True)
    rig.worker.on_reading(Reading(rig.clock(), None))
    rig.session.poll()
    assert faces_text(rig.session.view()) == "no face"
    rig.worker.on_reading(two_faces(rig.clock() + 0.1))  # new faces wait a second to vote
    rig.session.poll()
    assert faces_text(rig.session.view()) == "2 faces, 0 voting"
    rig.session.stop()


def test_the_preview_rate_follows_the_preview_and_new_workers_get_it() -> None:
    rig, _ = make_rig()
    worker = rig.worker
    assert worker.preview_fps == 0.0  # nothing on screen yet (watch, a hidden window)
    rig.session.set_preview(True)
    assert worker.preview_fps == PREVIEW_FPS
    rig.session.set_camera_enabled(False)
    rig.session.set_camera_enabled(True)
    assert rig.worker is not worker and rig.worker.preview_fps == PREVIEW_FPS
    rig.session.set_preview(False)
    assert rig.worker.preview_fps == 0.0
    rig.session.poll()
    assert rig.session.view().camera is CameraState.RUNNING  # the analysis goes on
    rig.session.stop()


def test_a_voter_without_a_room_override_follows_a_room_setting() -> None:
    settings = Settings()
    settings.mood.room = True
    rig = Rig(settings, voter_factory=lambda s: MoodVoter(VoterConfig.from_settings(s.mood)))
    rig.session.set_room(False)
    assert not rig.session.voter.config.room
    rig.session.set_room(None)
    assert rig.session.voter.config.room

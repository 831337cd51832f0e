"""The room's tools in the session core: the session plan walks the music through the real
controller and player, the session report records what happened, and resting (outside the
kiosk's hours) turns the camera off and pauses the music — all on a manual clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from app import report as report_mod
from app.mood.plan import PlanState
from app.music.player import PlayerState
from app.session import CameraState
from app.settings import Settings
from tests.test_session import Rig


def _plan_settings() -> Settings:
    settings = Settings()
    settings.music.strategy = "plan"
    settings.session.plan_target = "upbeat"
    settings.session.plan_minutes = 15.0
    return settings


def test_the_plan_meets_a_sad_room_then_steps_to_upbeat_over_15_minutes() -> None:
    rig = Rig(_plan_settings())
    rig.start()
    try:
        assert rig.session.view().plan.state is PlanState.WAITING
        rig.show("sad", 4.0)  # the voter adopts "sad": the plan starts where the room is
        view = rig.session.view()
        assert view.playlist == "melancholy"
        assert (view.plan.step, view.plan.steps) == (1, 3)
        assert view.reason.startswith("Session plan, Step 1 of 3: Melancholy")
        played = []
        for _ in range(20):  # 20 minutes, a poll every 15 s, the room stays sad
            for _ in range(4):
                rig.clock.advance(15.0)
                rig.session.poll()
            played.append(rig.player.playlist.name)
        # melancholy until 7.5 min, gentle until 15, then upbeat: steps, never one jump
        assert played[:6] == ["melancholy"] * 6
        assert set(played[7:14]) == {"gentle"}
        assert played[15:] == ["upbeat"] * 5
        assert rig.session.view().plan.state is PlanState.ARRIVED
        assert rig.player.state is PlayerState.PLAYING
    finally:
        rig.session.stop()


def test_choosing_by_hand_pauses_the_plan_and_auto_resumes_it() -> None:
    rig = Rig(_plan_settings())
    rig.start()
    try:
        rig.show("sad", 4.0)
        rig.controller.select("calm")
        rig.clock.advance(600.0)
        rig.session.poll()
        assert rig.player.playlist.name == "calm"
        rig.controller.set_auto()
        assert rig.player.playlist.name == "gentle"  # where the plan is by now
    finally:
        rig.session.stop()


def test_a_reset_plan_starts_again_from_the_room_seen_next() -> None:
    rig = Rig(_plan_settings())
    rig.start()
    try:
        rig.show("sad", 4.0)
        rig.clock.advance(16 * 60.0)
        rig.session.poll()
        assert rig.player.playlist.name == "upbeat"
        rig.session.reset_plan()
        rig.show("angry", 6.0)
        assert rig.player.playlist.name == "intense"
    finally:
        rig.session.stop()


def test_the_report_records_the_session_and_draws_it(tmp_path: Path) -> None:
    settings = Settings()
    settings.session.report = True
    settings.session.report_interval_s = 5.0
    wall = [dt.datetime(2026, 3, 2, 9, 0).timestamp()]
    rig = Rig(settings, wall=lambda: wall[0], reports=tmp_path)

    def advance(seconds: float) -> None:
        wall[0] += seconds

    rig.start()
    assert rig.session.view().report
    assert any("Session report on" in n for n in rig.events.of("notice"))
    for expression in ("happy", "sad"):
        for _ in range(40):
            rig.show(expression, 0.5)
            advance(0.5)
    rig.player.set_volume(0.4)
    advance(1.0)
    rig.session.poll()
    rig.controller.select("calm")
    advance(1.0)
    rig.session.poll()
    rig.session.stop()
    assert not rig.session.view().report
    (csv_path,) = tmp_path.glob("*.csv")
    (png,) = tmp_path.glob("*.png")
    rows = report_mod.read_rows(csv_path)
    moods = [r["mood"] for r in rows]
    assert "happy" in moods and "sad" in moods
    assert "1" in {r["face"] for r in rows}
    assert any(r["override"] == "volume: 40%" for r in rows)
    assert any(r["override"] == "playlist: calm" for r in rows)
    assert rows[-1]["playlist"] == "calm"
    assert png.stat().st_size > 10_000


def test_no_report_unless_turned_on(tmp_path: Path) -> None:
    rig = Rig(Settings(), reports=tmp_path)
    rig.start()
    rig.show("happy", 3.0)
    rig.session.stop()
    assert not rig.session.view().report
    assert list(tmp_path.iterdir()) == []


def test_resting_turns_the_camera_off_and_pauses_without_touching_settings() -> None:
    rig = Rig()
    rig.start()
    try:
        rig.show("happy", 3.0)
        assert rig.player.state is PlayerState.PLAYING
        worker = rig.worker
        rig.session.rest(True)
        view = rig.session.view()
        assert view.resting and view.camera is CameraState.OFF and not view.playing
        assert worker.stopped and rig.session.worker is None
        assert rig.settings.camera.enabled  # the setting is untouched
        rig.session.rest(False)
        rig.session.poll()  # the new worker's "running" arrives on the session's thread
        assert rig.session.view().playing
        assert rig.session.view().camera is CameraState.RUNNING
    finally:
        rig.session.stop()

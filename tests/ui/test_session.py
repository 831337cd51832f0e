"""The session bridges the worker into the GUI thread and survives camera and model trouble."""

from __future__ import annotations

import copy
import threading

from app.music.player import PlayerState
from app.session import CameraState
from app.vision.capture import CaptureState
from tests.ui.conftest import Rig, face_reading


def test_readings_from_another_thread_arrive_in_the_gui_thread(rig: Rig) -> None:
    seen: list[threading.Thread] = []
    rig.session.reading_received.connect(lambda _r: seen.append(threading.current_thread()))
    worker = rig.worker
    thread = threading.Thread(
        target=lambda: worker.on_reading(face_reading(rig.clock() + 0.1, "happy"))
    )
    thread.start()
    thread.join()
    rig.qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    assert seen == [threading.main_thread()]


def test_turning_the_camera_off_and_on(rig: Rig) -> None:
    first = rig.worker
    rig.session.set_camera_enabled(False)
    assert first.stopped
    assert rig.session.camera_state == CameraState.OFF
    assert rig.window.camera_panel.live_chip.text() == "CAMERA OFF"
    # a late reading from the stopped worker is ignored
    first.on_reading(face_reading(rig.clock() + 1, "angry"))
    rig.qtbot.wait(20)
    assert rig.session.last_reading is None
    rig.session.set_camera_enabled(True)
    rig.qtbot.waitUntil(lambda: rig.session.camera_state == CameraState.RUNNING, timeout=5000)
    assert rig.session.worker is not first


def test_a_model_that_cannot_load_leaves_a_manual_player(make_rig) -> None:
    from app.errors import UserError

    rig = make_rig()

    def broken() -> object:
        raise UserError("The model file /x/model.onnx is not a valid ONNX model.")

    rig.session.core.analyzer_factory = broken
    rig.window.show()
    rig.session.start()
    rig.qtbot.waitUntil(lambda: rig.session.camera_state == CameraState.FAILED, timeout=5000)
    assert "not a valid ONNX model" in rig.session.camera_text
    assert "music keeps playing" in rig.session.camera_text
    assert rig.session.worker is None
    rig.session.poll()
    assert rig.player.state is PlayerState.PLAYING


def test_a_failed_camera_says_why(rig: Rig) -> None:
    rig.worker.message = "No camera at index 1 (found: 0)."
    rig.worker.on_state(CaptureState.FAILED)
    rig.qtbot.waitUntil(lambda: rig.session.camera_state == CameraState.FAILED, timeout=5000)
    assert "No camera at index 1" in rig.window.camera_panel.preview._message


def test_apply_settings_restarts_the_camera_and_rebuilds_the_voter(rig: Rig) -> None:
    old_worker, old_voter = rig.worker, rig.session.voter
    new = copy.deepcopy(rig.settings)
    new.camera.source = "/videos/other.mp4"
    new.mood.window_s = 6.0
    rig.session.apply_settings(new)
    assert old_worker.stopped
    rig.qtbot.waitUntil(lambda: rig.session.camera_state == CameraState.RUNNING, timeout=5000)
    assert rig.session.source == "/videos/other.mp4"
    assert rig.session.voter is not old_voter
    assert rig.session.voter.config.window_s == 6.0
    assert rig.controller.settings is new


def test_remember_state_and_save(rig: Rig, tmp_path) -> None:
    from app import settings as settings_mod

    rig.session.settings_path = tmp_path / "settings.toml"
    rig.player.set_volume(0.42)
    rig.player.shuffle = True
    rig.controller.select("gentle")
    rig.session.remember_state()
    assert rig.session.save_settings()
    saved = settings_mod.load(tmp_path / "settings.toml").settings
    assert saved.music.volume == 0.42
    assert saved.music.shuffle is True
    assert saved.window.last_selection == "gentle"


def test_save_failure_is_a_notice(rig: Rig, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rig.session.settings_path = blocker / "settings.toml"  # parent is a file
    notices: list[str] = []
    rig.session.notice.connect(notices.append)
    assert not rig.session.save_settings()
    assert notices and "Could not save settings" in notices[0]


def test_stop_stops_worker_and_music(rig: Rig) -> None:
    worker = rig.worker
    rig.session.stop()
    assert worker.stopped
    assert rig.player.state is PlayerState.STOPPED


def test_session_without_camera_parts_is_off(make_rig) -> None:
    rig = make_rig()
    rig.session.core.analyzer_factory = None
    rig.session.start()
    assert rig.session.camera_state is CameraState.OFF
    assert rig.session.worker is None
    rig.session.stop()


def test_a_stopped_session_does_not_start_again(make_rig) -> None:
    # application.start() schedules session.start() on the next event-loop turn; a window closed
    # before that turn must not leave a session polling a closed mixer.
    rig = make_rig()
    rig.session.stop()
    rig.session.start()
    assert not rig.session.polling
    assert rig.session.worker is None


def test_new_playlist_folders_rescan_the_library(rig: Rig) -> None:
    from app.music.library import Playlist, Track

    extra = Playlist("road trip", (Track(rig.player.current.path, "Drive", "Band", "", 100.0),))
    rig.session.library_factory = lambda s: {"road trip": extra}
    new = copy.deepcopy(rig.settings)
    new.music.playlist_folders = ["/somewhere"]
    new.music.volume = 0.25
    rig.session.apply_settings(new)
    assert rig.player.volume == 0.25
    # the scan runs off the GUI thread; the window keeps working meanwhile
    rig.qtbot.waitUntil(lambda: rig.controller.playlist_names() == ["road trip"], timeout=5000)


def test_the_window_works_while_the_model_loads(make_rig) -> None:
    rig = make_rig()
    release = threading.Event()

    def slow_model() -> str:
        release.wait(10)
        return "analyzer"

    rig.session.core.analyzer_factory = slow_model
    rig.window.show()
    rig.session.start()
    assert rig.session.camera_state == CameraState.LOADING
    assert "Loading the expression model" in rig.window.camera_panel.preview._message
    rig.session.poll()  # the player runs meanwhile
    assert rig.player.state is PlayerState.PLAYING
    release.set()
    rig.qtbot.waitUntil(lambda: rig.session.camera_state == CameraState.RUNNING, timeout=5000)
    assert rig.worker.analyzer == "analyzer"


def test_camera_off_and_on_while_the_model_loads(make_rig) -> None:
    rig = make_rig()
    release = threading.Event()
    calls: list[int] = []

    def slow_model() -> str:
        calls.append(1)
        release.wait(10)
        return "analyzer"

    rig.session.core.analyzer_factory = slow_model
    rig.session.start()
    rig.session.set_camera_enabled(False)
    rig.session.set_camera_enabled(True)
    release.set()
    rig.qtbot.waitUntil(lambda: rig.session.camera_state == CameraState.RUNNING, timeout=5000)
    assert len(calls) == 1  # one load served both


def test_a_model_changed_while_loading_is_not_used(make_rig) -> None:
    rig = make_rig()
    release = threading.Event()
    built: list[str] = []

    def model() -> str:
        if not built:  # the first load: the model chosen before the change
            release.wait(10)
            built.append("stale")
            return "stale"
        built.append(rig.session.settings.model.backend)
        return built[-1]

    rig.session.core.analyzer_factory = model
    rig.session.start()
    new = copy.deepcopy(rig.settings)
    new.model.backend = "onnx"
    new.model.onnx_path = "/models/mine.onnx"
    rig.session.apply_settings(new)
    release.set()
    rig.qtbot.waitUntil(lambda: rig.session.camera_state == CameraState.RUNNING, timeout=5000)
    assert rig.worker.analyzer == "onnx"
    assert built == ["stale", "onnx"]


def test_the_bridge_relays_the_core_as_signals_with_enums(make_rig) -> None:
    rig = make_rig()
    states: list[tuple[object, str]] = []
    moods: list[str] = []
    ticks: list[int] = []
    rig.session.camera_state_changed.connect(lambda state, text: states.append((state, text)))
    rig.session.mood_changed.connect(lambda change: moods.append(change.current))
    rig.session.ticked.connect(lambda: ticks.append(1))
    rig.start()
    assert [s for s, _ in states][-1] is CameraState.RUNNING
    assert all(isinstance(s, CameraState) for s, _ in states)
    rig.show_face("happy", 4.0)
    assert moods == ["happy"] and ticks
    view = rig.session.view()
    assert view.mood == "happy" and view.playlist == "upbeat"
    assert view.reason == "Happy → Upbeat (lift strategy)"


def test_the_poll_timer_runs_the_core_until_stop(make_rig) -> None:
    rig = make_rig()
    ticks: list[int] = []
    rig.session.ticked.connect(lambda: ticks.append(1))
    rig.session.start()
    assert rig.session.polling
    rig.qtbot.waitUntil(lambda: len(ticks) >= 2, timeout=5000)  # 250 ms each, on its own
    rig.session.stop()
    assert not rig.session.polling
    count = len(ticks)
    rig.qtbot.wait(600)
    assert len(ticks) == count

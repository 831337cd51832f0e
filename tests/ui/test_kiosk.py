"""The kiosk window: flags, PIN gate, idle screen and cursor timing, allowed controls, awake."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QCloseEvent, QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.controller import Controller, ControlMode
from app.kiosk import PinResult, hash_pin
from app.mood.voter import VoterConfig
from app.music.audio import FakeOutput
from app.music.library import Playlist, Track
from app.music.player import Player, PlayerState
from app.session import CameraState
from app.settings import KIOSK_CONTROLS, Settings
from app.ui.kiosk import IDLE_MESSAGE, KioskWindow
from app.ui.kiosk_awake import ScreenAwake
from app.ui.session import Session

PIN = "2468"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeAwake:
    name = "fake"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def hold(self, reason: str) -> bool:
        self.calls.append("hold")
        return True

    def release(self) -> None:
        self.calls.append("release")


def _library() -> dict[str, Playlist]:
    def playlist(name: str, titles: list[tuple[str, str]]) -> Playlist:
        tracks = tuple(
            Track(Path(f"/music/{name}/{i}.ogg"), title, artist, duration=100.0)
            for i, (title, artist) in enumerate(titles)
        )
        return Playlist(name, tracks)

    return {
        "calm": playlist("calm", [("Slow Harbour", "Lumen Quartet")]),
        "upbeat": playlist(
            "upbeat", [("Sunlit Steps", "The Morning Commons"), ("Paper Kites", "Ada")]
        ),
    }


class Room:
    """A real Session, Player and Controller (silent output) and a voter we steer."""

    def __init__(self, controls: list[str], pin: str | None = PIN, camera: str = "running"):
        self.clock = Clock()
        self.settings = Settings()
        self.settings.kiosk.allowed_controls = controls
        self.settings.kiosk.pin_hash = hash_pin(pin, iterations=1000) if pin else ""
        self.settings.kiosk.idle_after_s = 30.0
        self.settings.kiosk.cursor_hide_s = 3.0
        self.output = FakeOutput(clock=self.clock)
        self.player = Player(self.output, clock=self.clock)
        self.controller = Controller(self.player, _library(), self.settings, clock=self.clock)
        self.voter = SimpleNamespace(
            mood=None,
            face_present=False,
            confidence=0.0,
            faces_in_view=0,
            config=VoterConfig(),
            correction=None,
        )
        self.session = Session(
            self.settings, self.player, self.controller, self.voter, clock=self.clock
        )
        self.session.set_camera_state(CameraState(camera))
        self.controller.start()
        self.awake = FakeAwake()

    def window(self, qtbot) -> KioskWindow:  # type: ignore[no-untyped-def]
        window = KioskWindow(self.session, screen_awake=ScreenAwake(self.awake))
        # the window refuses to close without the PIN: let the test teardown close it
        qtbot.addWidget(window, before_close_func=lambda w: w.leave_kiosk())
        window.exited = []  # type: ignore[attr-defined]
        window.exit_requested.connect(lambda: window.exited.append(True))  # type: ignore[attr-defined]
        window.show_kiosk()
        qtbot.waitExposed(window)
        return window

    def see(self, mood: str | None) -> None:
        self.voter.face_present = mood is not None
        self.voter.mood = mood
        self.controller.on_mood(mood, self.clock.now)

    def tick(self, seconds: float = 0.25) -> None:
        self.clock.now += seconds
        self.session.poll()  # emits ticked -> the window refreshes


@pytest.fixture
def room() -> Room:
    return Room(["play_pause", "skip", "volume", "playlist"])


def test_window_is_full_screen_frameless_and_on_top(qtbot, room: Room) -> None:
    window = room.window(qtbot)
    flags = window.windowFlags()
    assert flags & Qt.WindowType.FramelessWindowHint
    assert flags & Qt.WindowType.WindowStaysOnTopHint
    assert window.isFullScreen()
    assert window.windowState() & Qt.WindowState.WindowFullScreen
    screen = window.screen().geometry()
    assert window.geometry() == screen


def test_leaving_full_screen_goes_back(qtbot, room: Room) -> None:
    window = room.window(qtbot)
    window.showNormal()
    qtbot.waitUntil(window.isFullScreen)


def test_close_escape_and_alt_f4_do_not_leave(qtbot, room: Room) -> None:
    window = room.window(qtbot)
    assert window.close() is False
    event = QCloseEvent()
    QApplication.sendEvent(window, event)
    assert not event.isAccepted()
    QTest.keyClick(window, Qt.Key.Key_Escape)
    QTest.keyClick(window, Qt.Key.Key_F4, Qt.KeyboardModifier.AltModifier)
    assert window.isVisible()
    assert window.exited == []  # type: ignore[attr-defined]
    assert window.pin_dialog is None


def test_ctrl_shift_k_opens_the_pin_dialog(qtbot, room: Room) -> None:
    window = room.window(qtbot)
    QTest.keyClick(
        window,
        Qt.Key.Key_K,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert window.pin_dialog is not None
    assert window.pin_dialog.isVisible()
    assert window.pin_dialog.keypad.isVisible()


def test_wrong_pin_refused_right_pin_exits(qtbot, room: Room) -> None:
    window = room.window(qtbot)
    dialog = window.request_exit()
    for key in "1111":
        dialog.press(key)
    dialog.submit()
    assert "not right" in dialog.message.text()
    assert window.isVisible()
    assert window.exited == []  # type: ignore[attr-defined]
    for key in PIN:
        dialog.press(key)
    assert dialog.digits == PIN
    dialog.submit()
    assert window.exited == [True]  # type: ignore[attr-defined]
    assert not window.isVisible()
    assert not dialog.isVisible()


def test_pin_typed_on_the_keyboard(qtbot, room: Room) -> None:
    window = room.window(qtbot)
    dialog = window.request_exit()
    QTest.keyClicks(dialog, PIN)
    QTest.keyClick(dialog, Qt.Key.Key_Return)
    assert window.exited == [True]  # type: ignore[attr-defined]


def test_three_wrong_pins_lock_even_the_right_one(qtbot, room: Room) -> None:
    window = room.window(qtbot)
    dialog = window.request_exit()
    answers = [window.try_pin("0000").result for _ in range(3)]
    assert answers == [PinResult.REFUSED, PinResult.REFUSED, PinResult.LOCKED]
    dialog.show_answer(window.try_pin(PIN))
    assert dialog.locked
    assert "Too many wrong tries" in dialog.message.text()
    assert window.isVisible()
    room.clock.now += 31.0
    assert window.try_pin(PIN).result is PinResult.ACCEPTED
    assert window.exited == [True]  # type: ignore[attr-defined]


def test_no_pin_means_leaving_is_disabled(qtbot) -> None:
    room = Room(["skip"], pin=None)
    window = room.window(qtbot)
    dialog = window.request_exit()
    assert "disabled" in dialog.title.text()
    assert not dialog.keypad.isVisibleTo(dialog)
    assert window.try_pin("").result is PinResult.DISABLED
    assert window.try_pin("1234").result is PinResult.DISABLED
    assert window.close() is False
    assert window.isVisible()


def test_idle_screen_after_no_face_and_back_at_once(qtbot, room: Room) -> None:
    window = room.window(qtbot)
    room.see("happy")
    room.tick()
    assert window.pages.currentWidget() is window.live_page
    assert window.mood_word.text() == "Happy"
    room.see(None)
    room.tick(29.0)
    assert window.pages.currentWidget() is window.live_page
    room.tick(1.0)
    assert window.idle
    assert window.pages.currentWidget() is window.idle_page
    assert window.idle_message.text() == IDLE_MESSAGE
    room.see("sad")
    room.tick(0.25)
    assert not window.idle
    assert window.pages.currentWidget() is window.live_page
    assert window.mood_word.text() == "Sad"


def test_face_presence_signal_brings_the_view_back_without_waiting(qtbot, room: Room) -> None:
    window = room.window(qtbot)
    room.tick(31.0)
    assert window.idle
    room.voter.face_present = True
    room.session.face_presence_changed.emit(True)
    assert not window.idle


def test_no_idle_screen_without_a_camera(qtbot) -> None:
    room = Room(["skip"], camera=CameraState.OFF)
    window = room.window(qtbot)
    room.tick(600.0)
    assert not window.idle
    assert window.caption.text() == "NOW PLAYING"
    assert window.mood_word.text() == "Calm"  # the playlist, as no mood can be read


def test_going_idle_hands_a_chosen_playlist_back_to_the_mood(qtbot, room: Room) -> None:
    window = room.window(qtbot)
    window.next_playlist_button.click()
    assert room.controller.mode is ControlMode.MANUAL
    assert window.auto_button.isVisible()
    room.tick(31.0)
    assert window.idle
    assert room.controller.mode is ControlMode.AUTO


def test_now_playing_and_controls_work(qtbot, room: Room) -> None:
    window = room.window(qtbot)
    room.see("happy")
    room.tick()
    assert window.title.text() == "Sunlit Steps"
    assert window.artist.text() == "The Morning Commons"
    assert window.playlist_line.text() == "Upbeat playlist · follows the mood"
    assert room.player.state is PlayerState.PLAYING
    assert window.play_button.icon_name == "pause"
    window.play_button.click()
    assert room.player.state is PlayerState.PAUSED
    assert window.play_button.icon_name == "play"
    window.skip_button.click()
    assert window.title.text() == "Paper Kites"
    before = room.player.volume
    window.volume_up_button.click()
    assert room.player.volume == pytest.approx(min(1.0, before + 0.1))
    window.volume_down_button.click()
    window.volume_down_button.click()
    assert room.player.volume == pytest.approx(before - 0.1)
    assert window.volume_label.text() == f"{round((before - 0.1) * 100)}%"


@pytest.mark.parametrize(
    ("controls", "visible"),
    [
        ([], set()),
        (["skip"], {"skip"}),
        (["play_pause", "volume"], {"play_pause", "volume"}),
        (list(KIOSK_CONTROLS), set(KIOSK_CONTROLS)),
    ],
)
def test_only_allowed_controls_are_shown(qtbot, controls: list[str], visible: set[str]) -> None:
    room = Room(controls)
    window = room.window(qtbot)
    shown = {
        name
        for name, widget in (
            ("play_pause", window.play_button),
            ("skip", window.skip_button),
            ("volume", window.volume_group),
            ("playlist", window.playlist_group),
        )
        if widget.isVisibleTo(window)
    }
    assert shown == visible
    assert window.controls.isVisibleTo(window) == bool(visible)


def test_settings_change_updates_allowed_controls(qtbot, room: Room) -> None:
    window = room.window(qtbot)
    new = Settings()
    new.kiosk.allowed_controls = ["skip"]
    new.kiosk.pin_hash = room.settings.kiosk.pin_hash
    room.session.settings_changed.emit(new)
    assert window.allowed == {"skip"}
    assert not window.play_button.isVisibleTo(window)


def test_cursor_hides_after_quiet_and_returns_on_movement(qtbot, room: Room) -> None:
    window = room.window(qtbot)
    room.tick(2.0)
    assert window.cursor().shape() != Qt.CursorShape.BlankCursor
    room.tick(1.5)
    assert window.cursor_hidden
    assert window.cursor().shape() == Qt.CursorShape.BlankCursor
    move = QMouseEvent(
        QEvent.Type.MouseMove,
        QPointF(10, 10),
        QPointF(10, 10),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, move)
    assert not window.cursor_hidden
    assert window.cursor().shape() != Qt.CursorShape.BlankCursor
    room.tick(3.0)
    assert window.cursor().shape() == Qt.CursorShape.BlankCursor


def test_screen_kept_awake_only_while_playing(qtbot, room: Room) -> None:
    window = room.window(qtbot)
    room.see("happy")
    room.tick()
    assert room.awake.calls == ["hold"]
    window.play_button.click()
    assert room.awake.calls == ["hold", "release"]
    window.play_button.click()
    room.tick()
    assert room.awake.calls == ["hold", "release", "hold"]
    window.request_exit()
    window.try_pin(PIN)
    assert room.awake.calls[-1] == "release"


def test_screen_awake_without_backend_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    awake = ScreenAwake(find=lambda: None)
    with caplog.at_level(logging.WARNING, logger="app.ui.kiosk_awake"):
        assert awake.hold() is False
        assert awake.hold() is False
    assert len(caplog.records) == 1
    assert "power saving" in caplog.records[0].getMessage()
    awake.release()  # nothing held: no error
    assert not awake.held


def test_screen_awake_holds_and_releases_once() -> None:
    backend = FakeAwake()
    awake = ScreenAwake(backend)
    assert awake.hold()
    assert awake.hold()
    awake.release()
    awake.release()
    assert backend.calls == ["hold", "release"]
    assert awake.backend_name == "fake"


def test_demo_writes_a_screenshot(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QImage

    from app.ui import kiosk_demo

    window = kiosk_demo.show_demo("sad")
    qtbot.addWidget(window, before_close_func=lambda w: w.leave_kiosk())
    qtbot.waitExposed(window)
    assert window.mood_word.text() == "Sad"
    target = tmp_path / "kiosk.png"
    width, height = kiosk_demo.screenshot(window, str(target))
    image = QImage(str(target))
    assert not image.isNull()
    assert (image.width(), image.height()) == (width, height)
    assert width >= 640


def test_the_app_quitting_may_close_the_window(qtbot, room: Room) -> None:
    window = room.window(qtbot)
    assert window.close() is False
    # what QApplication.quit() sends before it closes the windows
    window.eventFilter(QApplication.instance(), QEvent(QEvent.Type.Quit))
    assert window.close() is True
    assert window.exited == []  # type: ignore[attr-defined]


def test_no_idle_screen_while_the_camera_is_lost(qtbot, room: Room) -> None:
    window = room.window(qtbot)
    room.session.set_camera_state(CameraState.RECONNECTING)
    room.tick(120.0)
    assert not window.idle
    assert "retrying" in window.camera_chip.text()
    room.session.set_camera_state(CameraState.RUNNING)
    room.tick(0.25)
    assert not window.idle  # the countdown starts again with a working camera
    room.tick(30.0)
    assert window.idle
    assert "Camera on" in window.camera_chip.text()


def test_enter_submits_the_pin_from_whatever_has_the_focus(qtbot, room: Room) -> None:
    window = room.window(qtbot)
    dialog = window.request_exit()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    QTest.keyClicks(dialog, PIN)
    # Enter goes to the dialog's focused widget, as a real key press does; no button may swallow
    # it. (The dialog's own focus child: the application's focus may still sit in a window an
    # earlier test left behind.)
    target = dialog.focusWidget() or dialog
    assert not any(
        b.autoDefault() or b.isDefault() for b in (dialog.ok_button, dialog.cancel_button)
    )
    QTest.keyClick(target, Qt.Key.Key_Enter)
    assert window.exited == [True]  # type: ignore[attr-defined]


def test_the_lock_out_countdown_counts_down(qtbot, room: Room) -> None:
    window = room.window(qtbot)
    dialog = window.request_exit()
    for _ in range(3):
        dialog.show_answer(window.try_pin("0000"))
    assert dialog.locked
    assert "Try again in 30 s" in dialog.message.text()
    room.clock.now += 1.0
    qtbot.waitUntil(lambda: "Try again in 29 s" in dialog.message.text(), timeout=2000)
    room.clock.now += 17.5
    qtbot.waitUntil(lambda: "Try again in 12 s" in dialog.message.text(), timeout=2000)
    room.clock.now += 12.0
    qtbot.waitUntil(lambda: not dialog.locked, timeout=2000)
    assert dialog.message.text() == ""


def test_the_lock_out_survives_a_restart_of_the_window(qtbot, room: Room) -> None:
    window = room.window(qtbot)
    for _ in range(3):
        window.try_pin("0000")
    window.leave_kiosk()
    # the app starts again: a new window over a new session still refuses the right PIN
    again = Room(["skip"]).window(qtbot)
    assert again.try_pin(PIN).result is PinResult.LOCKED
    dialog = again.request_exit()
    assert dialog.locked and "Try again in" in dialog.message.text()

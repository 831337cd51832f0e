"""Every player shortcut does its job, and menus/tooltips show the keys."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.controller import ControlMode
from app.music.player import PlayerState, RepeatMode
from tests.ui.conftest import Rig

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def press(rig: Rig, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier):
    rig.window.activateWindow()
    rig.qtbot.keyClick(rig.window.track_list, key, modifier)


def test_playback_shortcuts(rig: Rig) -> None:
    player = rig.player
    assert player.state is PlayerState.PLAYING
    press(rig, Qt.Key.Key_Space)
    assert player.state is PlayerState.PAUSED
    press(rig, Qt.Key.Key_Space)
    assert player.state is PlayerState.PLAYING

    press(rig, Qt.Key.Key_Right)
    assert 4.5 <= player.position <= 5.5
    press(rig, Qt.Key.Key_Left)
    assert player.position <= 0.5

    press(rig, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert player.index == 1
    press(rig, Qt.Key.Key_Left, Qt.KeyboardModifier.ControlModifier)
    assert player.index == 0


def test_volume_shortcuts(rig: Rig) -> None:
    player = rig.player
    start = player.volume
    press(rig, Qt.Key.Key_Down)
    assert abs(player.volume - (start - 0.05)) < 1e-6
    press(rig, Qt.Key.Key_Up)
    assert abs(player.volume - start) < 1e-6
    press(rig, Qt.Key.Key_M)
    assert player.muted
    press(rig, Qt.Key.Key_M)
    assert not player.muted


def test_playlist_shortcuts(rig: Rig) -> None:
    names = rig.controller.playlist_names()
    start = rig.player.playlist.name
    press(rig, Qt.Key.Key_PageDown)
    assert rig.controller.mode is ControlMode.MANUAL
    assert rig.player.playlist.name == names[(names.index(start) + 1) % len(names)]
    press(rig, Qt.Key.Key_PageUp)
    assert rig.player.playlist.name == start
    press(rig, Qt.Key.Key_A)
    assert rig.controller.mode is ControlMode.AUTO


def test_toggle_shortcuts(rig: Rig) -> None:
    press(rig, Qt.Key.Key_R)
    assert rig.player.repeat is RepeatMode.ONE
    press(rig, Qt.Key.Key_S)
    assert rig.player.shuffle
    assert rig.window.camera_panel.preview_visible
    press(rig, Qt.Key.Key_C)
    assert not rig.window.camera_panel.preview_visible
    press(rig, Qt.Key.Key_F11)
    assert rig.window.isFullScreen()
    press(rig, Qt.Key.Key_F11)
    assert not rig.window.isFullScreen()


def test_settings_and_quit_shortcuts_emit_intents(rig: Rig) -> None:
    with rig.qtbot.waitSignal(rig.window.settings_requested, timeout=1000):
        press(rig, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    with rig.qtbot.waitSignal(rig.window.quit_requested, timeout=1000):
        press(rig, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)


def test_shortcuts_are_shown_in_tooltips_and_menus(rig: Rig) -> None:
    actions = rig.window.actions_by_name
    for name in ("play_pause", "next", "mute", "auto", "preview", "settings", "quit"):
        assert actions[name].shortcut().toString(), name
        assert "(" in actions[name].toolTip()
    assert "(Space)" in rig.window.transport.play_button.toolTip()
    assert "(M)" in rig.window.transport.mute_button.toolTip()
    assert "PgDn" in rig.window.playlist_bar.next_button.toolTip()
    menus = [a.text() for a in rig.window.menuBar().actions()]
    assert "&Playback" in menus
    assert QApplication.instance() is not None


def test_camera_switch_turns_the_camera_off_and_on(rig: Rig) -> None:
    worker = rig.worker
    press(
        rig, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert worker.stopped
    assert rig.session.camera_state == "off"
    assert not rig.window.actions_by_name["camera"].isChecked()
    assert rig.player.state is PlayerState.PLAYING  # the music goes on
    press(
        rig, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    rig.qtbot.waitUntil(lambda: rig.session.camera_state == "running", timeout=5000)
    assert rig.window.actions_by_name["camera"].isChecked()


def test_no_camera_start_can_turn_the_camera_on(make_rig) -> None:
    rig = make_rig(source=None)
    rig.start()
    assert "Ctrl+Shift+C" in rig.session.camera_text
    press(rig, Qt.Key.Key_C, CTRL_SHIFT)
    rig.qtbot.waitUntil(lambda: rig.session.camera_state == "running", timeout=5000)
    assert rig.session.source == rig.settings.camera.source

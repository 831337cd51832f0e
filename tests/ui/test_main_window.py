"""The main window drives the real controller and player (on a fake audio output)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt

from app.controller import ControlMode
from app.music.player import PlayerState, RepeatMode
from app.ui.player_view import AUTO_LABEL
from app.vision.capture import CaptureState
from tests.ui.conftest import TRACK_SECONDS, Rig


def test_dropdown_overrides_the_mood_and_auto_hands_back(rig: Rig) -> None:
    rig.show_face("happy", 6.0)
    assert rig.controller.mood == "happy"
    assert rig.player.playlist.name == "upbeat"  # lift: happy -> upbeat

    bar = rig.window.playlist_bar
    assert bar.combo.itemText(0) == AUTO_LABEL
    bar.choose(bar.combo.findData("intense"))
    assert rig.controller.mode is ControlMode.MANUAL
    assert rig.player.playlist.name == "intense"
    assert rig.window.now_playing.mode_chip.text() == "MANUAL"

    # While overridden, the mood does not change the music.
    rig.show_face("sad", 6.0)
    assert rig.player.playlist.name == "intense"

    bar.choose(0)
    assert rig.controller.mode is ControlMode.AUTO
    assert rig.controller.mood == "sad"
    assert rig.player.playlist.name == "upbeat"  # lift: sad -> upbeat
    assert bar.combo.currentIndex() == 0
    assert rig.window.now_playing.mode_chip.text().startswith("AUTO")


def test_mood_drives_the_music_and_the_mood_panel(rig: Rig) -> None:
    rig.show_face("surprise", 6.0)
    assert rig.player.playlist.name == "energetic"
    assert rig.window.mood_panel.mood_text == "Surprised"
    bars = rig.window.mood_panel.bars.values()
    assert max(bars, key=lambda k: bars[k]) == "surprise"
    assert rig.session.timeline and rig.session.timeline[-1].mood == "surprise"
    assert rig.window.mood_panel.timeline.points  # the strip got the points


def test_playlist_buttons_step_through_playlists(rig: Rig) -> None:
    names = rig.controller.playlist_names()
    start = rig.player.playlist.name
    rig.qtbot.mouseClick(rig.window.playlist_bar.next_button, Qt.MouseButton.LeftButton)
    assert rig.controller.mode is ControlMode.MANUAL
    after_next = rig.player.playlist.name
    assert after_next == names[(names.index(start) + 1) % len(names)]
    assert rig.window.playlist_bar.combo.currentData() == after_next
    rig.qtbot.mouseClick(rig.window.playlist_bar.previous_button, Qt.MouseButton.LeftButton)
    assert rig.player.playlist.name == start


def test_clicking_the_progress_bar_seeks(rig: Rig) -> None:
    slider = rig.window.now_playing.progress
    assert rig.player.position < 1.0
    point = QPoint(slider.width() * 3 // 4, slider.height() // 2)
    rig.qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=point)
    assert abs(rig.player.position - 0.75 * TRACK_SECONDS) < 0.1 * TRACK_SECONDS
    rig.session.poll()
    assert rig.window.now_playing.elapsed_label.text() != "0:00"


def test_repeat_cycles_and_shuffle_toggles(rig: Rig) -> None:
    transport = rig.window.transport
    assert rig.player.repeat is RepeatMode.ALL
    seen = []
    for _ in range(3):
        rig.qtbot.mouseClick(transport.repeat_button, Qt.MouseButton.LeftButton)
        seen.append(rig.player.repeat)
    assert seen == [RepeatMode.ONE, RepeatMode.OFF, RepeatMode.ALL]
    assert transport.repeat_button.isChecked()
    assert not rig.player.shuffle
    rig.qtbot.mouseClick(transport.shuffle_button, Qt.MouseButton.LeftButton)
    assert rig.player.shuffle
    rig.qtbot.mouseClick(transport.shuffle_button, Qt.MouseButton.LeftButton)
    assert not rig.player.shuffle


def test_volume_slider_and_mute(rig: Rig) -> None:
    transport = rig.window.transport
    transport.volume_slider.setValue(30)
    assert abs(rig.player.volume - 0.30) < 1e-6
    assert abs(rig.output.volume - 0.30) < 1e-6
    rig.qtbot.mouseClick(transport.mute_button, Qt.MouseButton.LeftButton)
    assert rig.player.muted
    assert rig.output.volume == 0.0
    rig.qtbot.mouseClick(transport.mute_button, Qt.MouseButton.LeftButton)
    assert not rig.player.muted
    assert abs(rig.output.volume - 0.30) < 1e-6


def test_transport_buttons(rig: Rig) -> None:
    transport = rig.window.transport
    assert rig.player.state is PlayerState.PLAYING
    rig.qtbot.mouseClick(transport.play_button, Qt.MouseButton.LeftButton)
    assert rig.player.state is PlayerState.PAUSED
    assert "Play" in transport.play_button.toolTip()
    rig.qtbot.mouseClick(transport.play_button, Qt.MouseButton.LeftButton)
    assert rig.player.state is PlayerState.PLAYING
    first = rig.player.index
    rig.qtbot.mouseClick(transport.next_button, Qt.MouseButton.LeftButton)
    assert rig.player.index == first + 1
    assert rig.window.track_list.current == first + 1


def test_double_click_in_the_track_list_plays_that_track(rig: Rig) -> None:
    tracks = rig.window.track_list
    assert tracks.topLevelItemCount() == 5
    item = tracks.topLevelItem(3)
    rect = tracks.visualItemRect(item)
    # a real double-click: press/release, then the double-click event
    rig.qtbot.mouseClick(tracks.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert rig.player.index == 0  # one click only selects
    rig.qtbot.mouseDClick(tracks.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert rig.player.index == 3
    assert rig.player.current.title == item.text(1)
    assert rig.player.state is PlayerState.PLAYING


def test_no_camera_is_a_manual_player_with_a_friendly_message(make_rig) -> None:
    rig = make_rig(source=None)
    rig.start()
    panel = rig.window.camera_panel
    assert rig.session.camera_state == "off"
    assert rig.session.worker is None
    assert panel.preview._message.startswith("Camera off")
    assert panel.live_chip.text() == "CAMERA OFF"
    assert rig.window.mood_panel.mood_text == "Not watching"
    # the music works
    assert rig.player.state is PlayerState.PLAYING
    rig.window.playlist_bar.choose(rig.window.playlist_bar.combo.findData("gentle"))
    assert rig.player.playlist.name == "gentle"
    rig.qtbot.mouseClick(rig.window.transport.next_button, Qt.MouseButton.LeftButton)
    assert rig.player.index == 1


def test_preview_shows_new_frames_and_hides_for_privacy(rig: Rig) -> None:
    panel = rig.window.camera_panel
    assert panel.live_chip.text().endswith("CAMERA ON")
    rig.worker.frame = np.full((120, 160, 3), 90, np.uint8)
    rig.window.repaint_preview()
    assert panel.preview.has_image
    rig.qtbot.mouseClick(panel.preview_button, Qt.MouseButton.LeftButton)
    assert not panel.preview.has_image
    assert rig.settings.camera.preview_visible is False
    rig.worker.frame = np.full((120, 160, 3), 30, np.uint8)
    rig.window.repaint_preview()
    assert not panel.preview.has_image


def test_camera_state_reaches_panel_and_status_bar(rig: Rig) -> None:
    rig.worker.on_state(CaptureState.RECONNECTING)
    rig.qtbot.waitUntil(lambda: rig.session.camera_state == "reconnecting", timeout=5000)
    assert "trying again" in rig.window.camera_panel.preview._message
    assert "reconnecting" in rig.window.camera_status_label.text()
    rig.worker.on_state(CaptureState.RUNNING)
    rig.show_face("happy", 1.0)
    assert "analyses/s" in rig.window.rate_label.text()
    assert rig.session.analyses_per_second > 5


def test_playlist_summary_explains_why_this_playlist(rig: Rig) -> None:
    rig.show_face("happy", 6.0)
    info = rig.window.playlist_info.text()
    assert "5 tracks" in info
    assert "Happy → Upbeat (lift strategy)" in info
    rig.window.playlist_bar.choose(rig.window.playlist_bar.combo.findData("calm"))
    assert "your choice" in rig.window.playlist_info.text()


def test_no_playlists_says_what_to_do(make_rig) -> None:
    rig = make_rig(source=None)
    rig.controller.set_library({})
    rig.start()
    assert "No playlists found" in rig.window.playlist_info.text()
    rig.qtbot.mouseClick(rig.window.transport.play_button, Qt.MouseButton.LeftButton)
    assert "Settings → Music" in rig.window.statusBar().currentMessage()


def test_window_title_names_the_track(rig: Rig) -> None:
    assert rig.window.windowTitle() == f"{rig.player.current.title} — MoodPlayer"


def test_hiding_the_preview_does_not_restart_the_camera(rig: Rig) -> None:
    import copy

    worker = rig.worker
    new = copy.deepcopy(rig.settings)
    new.camera.preview_visible = False
    rig.session.apply_settings(new)
    assert rig.session.worker is worker and not worker.stopped
    assert not rig.window.camera_panel.preview_visible


def test_a_webcam_preview_is_mirrored_a_video_is_not(make_rig) -> None:
    import numpy as np

    for source, mirrored in (("0", True), ("/videos/faces.mp4", False)):
        rig = make_rig(source=source)
        rig.start()
        preview = rig.window.camera_panel.preview
        assert preview.mirrored is mirrored
        frame = np.zeros((120, 160, 3), np.uint8)
        frame[:, :80] = 255  # left half white
        rig.worker.frame = frame
        preview.resize(160, 120)
        rig.window.repaint_preview()
        left = preview._image.pixelColor(10, 60).red()
        assert (left == 0) is mirrored


def _drag(qtbot, slider, start: QPoint, end: QPoint) -> None:
    """Press at ``start``, move to ``end`` with the button held, release there."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    def send(kind, point, buttons):
        event = QMouseEvent(
            kind,
            QPointF(point),
            slider.mapToGlobal(QPointF(point)),
            Qt.MouseButton.LeftButton
            if kind != QMouseEvent.Type.MouseMove
            else Qt.MouseButton.NoButton,
            buttons,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(slider, event)

    held = Qt.MouseButton.LeftButton
    send(QMouseEvent.Type.MouseButtonPress, start, held)
    middle = QPoint((start.x() + end.x()) // 2, start.y())
    send(QMouseEvent.Type.MouseMove, middle, held)
    send(QMouseEvent.Type.MouseMove, end, held)
    send(QMouseEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)


def test_pressing_anywhere_on_the_progress_bar_and_dragging_follows_the_mouse(rig: Rig) -> None:
    slider = rig.window.now_playing.progress
    y = slider.height() // 2
    # Press well away from the handle (which sits at the start), drag back towards a quarter.
    _drag(rig.qtbot, slider, QPoint(slider.width() * 4 // 5, y), QPoint(slider.width() // 4, y))
    assert abs(rig.player.position - 0.25 * TRACK_SECONDS) < 0.08 * TRACK_SECONDS


def test_clicking_the_volume_slider_jumps_to_the_click(rig: Rig) -> None:
    slider = rig.window.transport.volume_slider
    rig.window.transport.set_volume(0.9, False)
    point = QPoint(slider.width() // 5, slider.height() // 2)
    rig.qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=point)
    assert abs(rig.player.volume - 0.2) < 0.1  # not one page step down from 0.9

"""The window as a new user finds it: it fits an 800×600 screen, says one thing about the camera
and Auto, keeps the mood through a short face gap without '0% sure', lists skipped files, and
answers the media keys."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from app.music.player import PlayerState
from app.problems import problems
from app.ui.main_window import MIN_HEIGHT, MIN_WIDTH
from app.vision.reading import Reading


def _all_text(window) -> str:
    labels = [w.text() for w in window.findChildren(QLabel) if w.isVisible()]
    buttons = [w.text() for w in window.findChildren(QPushButton) if w.isVisible()]
    return "\n".join(labels + buttons + [window.camera_panel.preview._message])


def test_the_window_fits_an_800_by_600_screen(make_rig) -> None:
    rig = make_rig(source=None)
    rig.start()
    window = rig.window
    assert (MIN_WIDTH, MIN_HEIGHT) <= (800, 560)
    assert window.minimumWidth() <= 800 and window.minimumHeight() <= 560
    window.resize(MIN_WIDTH, MIN_HEIGHT)
    rig.qtbot.waitUntil(lambda: window.width() == MIN_WIDTH, timeout=3000)
    assert window.height() <= 560  # the layout does not force the window taller
    # nothing important is cut off: the transport and the playlist are inside the window
    for widget in (window.transport.play_button, window.track_list, window.mood_panel):
        corner = widget.mapTo(window, widget.rect().bottomRight())
        assert window.rect().contains(corner), widget


def test_camera_off_in_auto_never_says_manual(make_rig) -> None:
    rig = make_rig(source=None)  # as --no-camera
    rig.start()
    view = rig.session.view()
    assert view.auto
    text = _all_text(rig.window)
    assert "camera off" in text.lower()
    assert "manual" not in text.lower(), text
    rig.window.toggle_camera()  # on (no source: stays off) and off again
    rig.window.toggle_camera()
    assert "manual" not in rig.window.statusBar().currentMessage().lower()


def test_a_short_face_gap_keeps_the_mood_without_zero_percent(rig) -> None:
    rig.show_face("happy", 4.0)
    panel = rig.window.mood_panel
    assert panel.mood_text == "Happy" and panel.confidence_label.text().endswith("% sure")
    for _ in range(25):  # 2.5 s without a face: shorter than 'nobody there after'
        rig.clock.advance(0.1)
        rig.worker.on_reading(Reading(rig.clock(), None))
    rig.qtbot.waitUntil(lambda: rig.session.last_reading.time == rig.clock(), timeout=5000)
    rig.session.poll()
    assert rig.session.voter.face_present and rig.session.voter.mood == "happy"
    assert panel.mood_text == "Happy"
    assert panel.confidence_label.text() == "face out of view"
    assert "0% sure" not in _all_text(rig.window)


def test_skipped_files_show_a_count_and_the_problems_view(make_rig) -> None:
    problems.clear()
    rig = make_rig(source=None)
    rig.start()
    window = rig.window
    window.set_problem_count(0)
    assert not window.problems_button.isVisible()
    assert window.actions_by_name["problems"].text() == "Problems…"
    window.set_problem_count(2)
    assert window.problems_button.isVisible() and "2 files skipped" in window.problems_button.text()
    assert window.actions_by_name["problems"].text() == "Problems (2)…"
    asked: list[bool] = []
    window.problems_requested.connect(lambda: asked.append(True))
    window.problems_button.click()
    window.actions_by_name["problems"].trigger()
    assert asked == [True, True]


def test_media_keys_drive_the_player(make_rig, qtbot) -> None:
    from PySide6.QtWidgets import QApplication

    from app.ui.desktop_integration import DesktopIntegration

    rig = make_rig(source=None)
    rig.start()
    desktop = DesktopIntegration(QApplication.instance(), rig.session, rig.window, rig.window)
    desktop.attach(mpris=False, tray=False)
    try:
        assert rig.player.state is PlayerState.PLAYING
        qtbot.keyClick(rig.window, Qt.Key.Key_MediaTogglePlayPause)
        assert rig.player.state is PlayerState.PAUSED
        qtbot.keyClick(rig.window, Qt.Key.Key_MediaPlay)
        assert rig.player.state is PlayerState.PLAYING
        first = rig.player.current
        qtbot.keyClick(rig.window, Qt.Key.Key_MediaNext)
        assert rig.player.current != first
        qtbot.keyClick(rig.window, Qt.Key.Key_MediaPause)
        assert rig.player.state is PlayerState.PAUSED
        qtbot.keyClick(rig.window, Qt.Key.Key_MediaStop)
        assert rig.player.state is PlayerState.STOPPED
    finally:
        desktop.close()

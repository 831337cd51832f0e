"""Your neutral face in the window: Mood → Calibrate my neutral face…, Settings → Mood, the
before/after on the live bars, one-click off and reset, and the sentences when it cannot be
made. The resting face is scripted (40 % sad at rest, ``tests.mood.test_calibration``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtWidgets import QWidget

from app import settings as settings_mod
from app.session import NO_CAMERA_TO_CALIBRATE, PREVIEW_FPS
from app.settings import Settings
from app.ui.calibration_view import NOT_CALIBRATED, CalibrationDialog
from app.ui.mood_view import BEFORE_AFTER
from app.ui.settings_dialog import SettingsDialog
from app.vision.reading import Box, Face, Reading
from tests.mood.test_calibration import REST, SMILE

FACE = Box(40, 30, 80, 80)


def feed(rig: Any, probabilities: dict[str, float] | None, seconds: float) -> None:
    """``seconds`` of readings at 10/s through the worker's callback, delivered and polled."""
    for i in range(round(seconds * 10)):
        rig.clock.advance(0.1)
        t = rig.clock()
        reading = Reading(t, None) if probabilities is None else Reading(t, FACE, probabilities)
        rig.worker.on_reading(reading)
        if i % 3 == 2:
            deliver(rig, t)
    deliver(rig, rig.clock())


def deliver(rig: Any, t: float) -> None:
    rig.qtbot.waitUntil(
        lambda: rig.session.last_reading is not None and rig.session.last_reading.time == t,
        timeout=5000,
    )
    rig.session.poll()


def calibrate(rig: Any) -> CalibrationDialog:
    dialog = rig.window.open_calibration()
    rig.qtbot.addWidget(dialog)
    panel = dialog.panel
    assert "relaxed face for 5 seconds" in panel.instruction.text()
    assert panel.status.text() == NOT_CALIBRATED and not panel.reset_button.isEnabled()
    panel.calibrate_button.click()
    assert panel.calibrate_button.text() == "Stop"
    feed(rig, REST, 2.6)
    assert panel.progress.isVisible() and 30 <= panel.progress.value() <= 60
    assert "s left" in panel.status.text()
    feed(rig, REST, 3.0)
    return dialog


def test_calibrating_from_the_mood_menu_shows_before_and_after_and_resets(
    rig: Any, tmp_path: Path
) -> None:
    rig.session.settings_path = tmp_path / "settings.toml"
    feed(rig, REST, 3.0)
    bars = rig.window.mood_panel.bars
    assert bars.raw_values() is None  # no calibration: no outline
    assert not rig.window.mood_panel.before_after.isVisible()
    assert not rig.window.actions_by_name["calibration_on"].isEnabled()
    dialog = calibrate(rig)
    panel = dialog.panel
    assert not panel.progress.isVisible()
    assert panel.status.text().startswith("Calibrated: your relaxed face reads sad 40%")
    assert panel.reset_button.isEnabled()
    stored = settings_mod.load(tmp_path / "settings.toml").settings.mood.calibration
    assert len(stored) == 7 and stored == rig.settings.mood.calibration
    # the live bars: corrected, with the raw reading behind while the correction is on
    feed(rig, REST, 0.3)
    assert bars.raw_values() == REST
    assert max(bars.values(), key=bars.values().__getitem__) == "neutral"
    legend = rig.window.mood_panel.before_after
    assert legend.isVisible() and legend.text() == BEFORE_AFTER
    # the preview's face box says what the voter counts, not the raw reading
    rig.worker.frame = np.zeros((240, 320, 3), np.uint8)
    rig.window.repaint_preview()
    boxed = rig.window.camera_panel.preview.reading
    assert boxed is not None and boxed.top(1)[0][0] == "neutral"
    feed(rig, REST, 3.0)
    assert rig.session.voter.mood == "neutral"
    feed(rig, SMILE, 3.0)
    assert rig.session.voter.mood == "happy"  # a real smile still shows
    # off: one click in the Mood menu
    action = rig.window.actions_by_name["calibration_on"]
    assert action.isEnabled() and action.isChecked()
    action.trigger()
    feed(rig, REST, 0.3)
    assert not action.isChecked() and bars.raw_values() is None and not legend.isVisible()
    assert "correction is off" in panel.status.text()
    action.trigger()
    # reset: one click, in the panel (or Mood → Forget my neutral face)
    panel.reset_button.click()
    feed(rig, REST, 0.3)
    assert rig.settings.mood.calibration == [] and bars.raw_values() is None
    assert panel.status.text() == NOT_CALIBRATED
    assert not rig.window.actions_by_name["calibration_reset"].isEnabled()
    assert settings_mod.load(tmp_path / "settings.toml").settings.mood.calibration == []
    dialog.close()


def test_no_face_and_camera_off_are_sentences_not_tracebacks(rig: Any, caplog: Any) -> None:
    dialog = rig.window.open_calibration()
    rig.qtbot.addWidget(dialog)
    panel = dialog.panel
    panel.calibrate_button.click()
    feed(rig, None, 5.5)
    assert panel.status.text().startswith("No face was seen in 5 s")
    assert panel.calibrate_button.text().startswith("Calibrate")
    assert rig.window.statusBar().currentMessage().startswith("No face was seen")
    panel.calibrate_button.click()
    panel.calibrate_button.click()  # Stop
    assert not rig.session.calibrating and panel.calibrate_button.text().startswith("Calibrate")
    rig.window.toggle_camera()  # camera off
    panel.calibrate_button.click()
    assert panel.status.text() == NO_CAMERA_TO_CALIBRATE
    assert rig.settings.mood.calibration == []
    assert "Traceback" not in caplog.text
    dialog.close()


def test_settings_mood_calibrates_with_the_running_camera_and_ok_keeps_it(
    rig: Any, qtbot: Any, tmp_path: Path
) -> None:
    path = tmp_path / "settings.toml"
    dialog = SettingsDialog(rig.settings, path, session=rig.session, tray_available=False)
    qtbot.addWidget(dialog)
    page = dialog.tabs.widget(
        [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())].index("Mood")
    )
    box = page.findChildren(QWidget, "mood.calibration")
    assert len(box) == 1 and dialog.calibration_panel is not None
    assert not dialog.fields["mood.calibration_strength"].widget.isEnabled()
    dialog.calibration_panel.calibrate_button.click()
    feed(rig, REST, 5.6)
    assert dialog.calibration_panel.status.text().startswith("Calibrated")
    assert dialog.fields["mood.calibration_strength"].widget.isEnabled()
    dialog.fields["mood.calibration_strength"].set_value(0.5)
    dialog.accept()
    saved = settings_mod.load(path).settings.mood
    assert len(saved.calibration) == 7 and saved.calibration_on
    assert saved.calibration_strength == 0.5


def test_settings_without_a_session_say_what_is_stored(qtbot: Any) -> None:
    settings = Settings()
    settings.mood.calibration = [0.06, 0.06, 0.06, 0.06, 0.40, 0.06, 0.30]
    dialog = SettingsDialog(settings, None, tray_available=False)
    qtbot.addWidget(dialog)
    assert dialog.calibration_panel is None and dialog.calibration_state is not None
    assert dialog.calibration_state.text().startswith("Calibrated: your relaxed face reads sad")
    assert dialog.collect().mood.calibration == settings.mood.calibration


def test_the_status_bar_counts_the_faces(rig: Any) -> None:
    happy, sad = dict(SMILE), dict(REST)
    big, small = Box(40, 40, 120, 120), Box(300, 60, 90, 90)
    for _ in range(3):
        rig.clock.advance(0.1)
        faces = (Face(big, happy), Face(small, sad))
        rig.worker.on_reading(Reading(rig.clock(), big, happy, faces=faces))
    deliver(rig, rig.clock())
    assert "camera running · 2 faces, one votes" in rig.window.camera_status_label.text()
    feed(rig, None, 0.3)
    assert "camera running · no face" in rig.window.camera_status_label.text()


def test_the_preview_rate_follows_what_is_on_screen(rig: Any) -> None:
    assert rig.worker.preview_fps == PREVIEW_FPS  # shown with its preview
    rig.window.toggle_preview()
    assert rig.worker.preview_fps == 0.0
    rig.window.toggle_preview()
    assert rig.worker.preview_fps == PREVIEW_FPS
    rig.window.hide()
    assert rig.worker.preview_fps == 0.0
    rig.window.show()
    assert rig.worker.preview_fps == PREVIEW_FPS

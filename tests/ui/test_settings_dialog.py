"""The settings dialog edits a copy, saves it atomically on OK and reads back identically."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialogButtonBox

from app import settings as settings_mod
from app.kiosk import verify_pin
from app.settings import Settings
from app.ui.settings_dialog import FILE_SOURCE, SettingsDialog

NAMES = ["calm", "gentle", "upbeat", "energetic", "melancholy", "intense", "road trip"]


def make_dialog(qtbot, settings: Settings, path: Path | None, **kw) -> SettingsDialog:
    dialog = SettingsDialog(settings, path, playlist_names=NAMES, **kw)
    qtbot.addWidget(dialog)
    return dialog


def click_ok(dialog: SettingsDialog) -> None:
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()


def test_round_trip_through_the_settings_file(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    original = Settings()
    dialog = make_dialog(qtbot, original, path)
    video = tmp_path / "faces.mp4"
    video.write_bytes(b"not really a video; only its existence is checked here")
    model = tmp_path / "mine.onnx"
    model.write_bytes(b"onnx")

    dialog.source_combo.setCurrentIndex(dialog.source_combo.findData(FILE_SOURCE))
    dialog.source_path.setText(str(video))
    dialog.analysis_rate.setValue(4.0)
    dialog.preview_visible.setChecked(False)
    dialog.window_s.setValue(5.0)
    dialog.margin.setValue(0.25)
    dialog.dwell_s.setValue(2.5)
    dialog.strategy_match.setChecked(True)
    sad = dialog.mapping_combos["sad"]
    sad.setCurrentIndex(sad.findData("road trip"))
    dialog.fade_s.setValue(3.0)
    dialog.switch_track_end.setChecked(True)
    dialog.add_playlist_folder(str(tmp_path / "more music"))
    dialog.model_onnx.setChecked(True)
    dialog.onnx_path.setText(str(model))
    dialog.detector.setCurrentIndex(dialog.detector.findData("yunet"))
    dialog.kiosk_enabled.setChecked(True)
    dialog.pin_edit.setText("4711")
    dialog.kiosk_controls["volume"].setChecked(True)

    with qtbot.waitSignal(dialog.settings_accepted) as accepted:
        click_ok(dialog)
    assert dialog.result() == SettingsDialog.DialogCode.Accepted

    loaded = settings_mod.load(path)
    assert loaded.problems == ()
    s = loaded.settings
    assert s.camera.source == str(video)
    assert s.camera.analysis_rate == 4.0
    assert s.camera.preview_visible is False
    assert (s.mood.window_s, s.mood.margin, s.mood.dwell_s) == (5.0, 0.25, 2.5)
    assert s.music.strategy == "match"
    assert s.music.mapping == {"sad": "road trip"}  # only the edit, the rest is the strategy's
    assert s.mapping()["sad"] == "road trip"
    assert s.mapping()["angry"] == "intense"
    assert s.music.fade_s == 3.0
    assert s.music.switch == "track_end"
    assert s.music.playlist_folders == [str(tmp_path / "more music")]
    assert (s.model.backend, s.model.onnx_path) == ("onnx", str(model))
    assert s.model.detector == "yunet"
    assert s.kiosk.enabled is True
    assert "volume" in s.kiosk.allowed_controls
    assert verify_pin("4711", s.kiosk.pin_hash)
    assert accepted.args[0] == s
    # the dialog worked on a copy
    assert original == Settings()


def test_reopening_shows_the_saved_values(qtbot, tmp_path: Path) -> None:
    s = Settings()
    s.camera.source = "2"
    s.mood.window_s = 7.5
    s.music.strategy = "match"
    s.music.mapping = {"happy": "calm"}
    dialog = make_dialog(qtbot, s, None)
    assert dialog.source_combo.currentData() == "2"
    assert dialog.window_s.value() == 7.5
    assert dialog.strategy_match.isChecked()
    assert dialog.mapping_combos["happy"].currentData() == "calm"
    assert dialog.mapping_combos["sad"].currentData() == "melancholy"
    # switching strategy shows that strategy's mapping
    dialog.strategy_lift.setChecked(True)
    assert dialog.mapping_combos["sad"].currentData() == "upbeat"


def test_cancel_writes_nothing(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    dialog = make_dialog(qtbot, Settings(), path)
    dialog.window_s.setValue(9.0)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert not path.exists()


def test_bad_values_are_explained_and_the_dialog_stays_open(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    dialog = make_dialog(qtbot, Settings(), path)
    dialog.show()
    dialog.model_onnx.setChecked(True)
    dialog.onnx_path.setText(str(tmp_path / "missing.onnx"))
    click_ok(dialog)
    assert dialog.isVisible()
    assert ".onnx" in dialog.error_label.text()
    assert not path.exists()
    dialog.model_bundled.setChecked(True)
    dialog.pin_edit.setText("12")  # too short
    click_ok(dialog)
    assert "PIN" in dialog.error_label.text()
    assert not path.exists()
    dialog.pin_edit.clear()
    click_ok(dialog)
    assert path.exists()


def test_find_cameras_lists_what_was_found_without_blocking(qtbot) -> None:
    import threading

    release = threading.Event()

    def slow_finder() -> list[int]:
        release.wait(10)
        return [0, 2]

    dialog = make_dialog(qtbot, Settings(), None, camera_finder=slow_finder)
    dialog.find_cameras()
    assert not dialog.find_cameras_button.isEnabled()  # the dialog is still usable meanwhile
    release.set()
    qtbot.waitUntil(dialog.find_cameras_button.isEnabled, timeout=5000)
    items = [dialog.source_combo.itemData(i) for i in range(dialog.source_combo.count())]
    assert items == ["0", "2", FILE_SOURCE]
    none = make_dialog(qtbot, Settings(), None, camera_finder=list)
    none.find_cameras()
    qtbot.waitUntil(lambda: "No camera found" in none.error_label.text(), timeout=5000)


def test_remove_playlist_folder(qtbot) -> None:
    s = Settings()
    s.music.playlist_folders = ["/a", "/b"]
    dialog = make_dialog(qtbot, s, None)
    dialog.folder_list.item(0).setSelected(True)
    dialog.remove_folder_button.click()
    assert dialog.collect().music.playlist_folders == ["/b"]

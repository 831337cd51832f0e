"""The settings dialog edits a copy, saves it atomically on OK and reads back identically."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QSpinBox,
    QWidget,
)

from app import settings as settings_mod
from app.kiosk import verify_pin
from app.settings import OPTIONS, Choice, Option, Settings
from app.ui.settings_dialog import FILE_SOURCE, SettingsDialog
from app.ui.settings_fields import CheckField, ChecksField, PathField, RadioField, TextField

NAMES = ["calm", "gentle", "upbeat", "energetic", "melancholy", "intense", "road trip"]


def make_dialog(qtbot, settings: Settings, path: Path | None, **kw) -> SettingsDialog:
    dialog = SettingsDialog(settings, path, playlist_names=NAMES, **kw)
    qtbot.addWidget(dialog)
    return dialog


def radio(dialog: SettingsDialog, key: str, value: str) -> QRadioButton:
    field = dialog.fields[key]
    assert isinstance(field, RadioField)
    return field.buttons[value]


def checks(dialog: SettingsDialog, key: str) -> dict[str, QCheckBox]:
    field = dialog.fields[key]
    assert isinstance(field, ChecksField)
    return field.boxes


def onnx_edit(dialog: SettingsDialog) -> QLineEdit:
    field = dialog.fields["model.onnx_path"]
    assert isinstance(field, PathField)
    return field.edit


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
    dialog.fields["camera.analysis_rate"].set_value(4.0)
    dialog.fields["camera.preview_visible"].set_value(False)
    dialog.fields["mood.window_s"].set_value(5.0)
    dialog.fields["mood.margin"].set_value(0.25)
    dialog.fields["mood.dwell_s"].set_value(2.5)
    radio(dialog, "music.strategy", "match").setChecked(True)
    sad = dialog.mapping_combos["sad"]
    sad.setCurrentIndex(sad.findData("road trip"))
    dialog.fields["music.fade_s"].set_value(3.0)
    radio(dialog, "music.switch", "track_end").setChecked(True)
    dialog.add_playlist_folder(str(tmp_path / "more music"))
    radio(dialog, "model.backend", "onnx").setChecked(True)
    onnx_edit(dialog).setText(str(model))
    dialog.fields["model.detector"].set_value("yunet")
    dialog.fields["kiosk.enabled"].set_value(True)
    dialog.pin_edit.setText("4711")
    checks(dialog, "kiosk.allowed_controls")["volume"].setChecked(True)

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
    assert dialog.fields["mood.window_s"].value() == 7.5
    assert radio(dialog, "music.strategy", "match").isChecked()
    assert dialog.mapping_combos["happy"].currentData() == "calm"
    assert dialog.mapping_combos["sad"].currentData() == "melancholy"
    # switching strategy shows that strategy's mapping
    radio(dialog, "music.strategy", "lift").setChecked(True)
    assert dialog.mapping_combos["sad"].currentData() == "upbeat"


def test_cancel_writes_nothing(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    dialog = make_dialog(qtbot, Settings(), path)
    dialog.fields["mood.window_s"].set_value(9.0)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert not path.exists()


def test_bad_values_are_explained_and_the_dialog_stays_open(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    dialog = make_dialog(qtbot, Settings(), path)
    dialog.show()
    radio(dialog, "model.backend", "onnx").setChecked(True)
    onnx_edit(dialog).setText(str(tmp_path / "missing.onnx"))
    click_ok(dialog)
    assert dialog.isVisible()
    assert ".onnx" in dialog.error_label.text()
    assert not path.exists()
    radio(dialog, "model.backend", "bundled").setChecked(True)
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


def _texts(widget: QWidget) -> str:
    return "\n".join(label.text() for label in widget.findChildren(QLabel))


def test_every_shown_option_has_a_field_made_from_its_declaration(qtbot) -> None:
    dialog = make_dialog(qtbot, Settings(), None)
    pages = [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())]
    assert pages == ["Camera", "Mood", "Music", "Model", "Kiosk", "Session", "Desktop"]
    for key, opt in OPTIONS.items():
        found = dialog.findChildren(QWidget, key)
        if not opt.visible:
            assert key not in dialog.fields and not found, key
            continue
        assert len(found) == 1, f"{key}: one widget named after it, found {len(found)}"
        assert opt.help in found[0].toolTip(), key
        page = dialog.tabs.widget(pages.index(opt.page))
        assert found[0] in page.findChildren(QWidget, key), f"{key} is not on {opt.page}"
        field = dialog.fields.get(key)
        if field is None:
            assert opt.widget == "custom", key
            continue
        if isinstance(field.widget, (QDoubleSpinBox, QSpinBox)):
            assert opt.range == (field.widget.minimum(), field.widget.maximum()), key
        if isinstance(field, RadioField):
            assert list(field.buttons) == [c.value for c in opt.choices], key
        if isinstance(field, CheckField):
            assert field.box.text() == opt.label
        else:
            assert opt.label in _texts(page), key


def test_a_declared_option_in_a_new_section_gets_its_page_and_round_trips(
    qtbot, tmp_path: Path
) -> None:
    from tests.test_settings import SettingsWithExtra

    path = tmp_path / "settings.toml"
    dialog = make_dialog(qtbot, SettingsWithExtra(), path)
    extra = dialog.tabs.widget(dialog.tabs.count() - 1)
    assert dialog.tabs.tabText(dialog.tabs.count() - 1) == "Extra"
    spin = extra.findChild(QDoubleSpinBox, "extra.volume_cap")
    assert (spin.minimum(), spin.maximum(), spin.decimals()) == (0.1, 1.0, 2)
    assert "Loudest volume" in _texts(extra)
    spin.setValue(0.5)
    dialog.fields["extra.greeting"].set_value("hi")
    click_ok(dialog)
    loaded = settings_mod.load(path, SettingsWithExtra).settings
    assert isinstance(loaded, SettingsWithExtra)
    assert (loaded.extra.volume_cap, loaded.extra.greeting) == (0.5, "hi")


def test_a_choice_that_cannot_run_here_is_disabled_and_says_why(qtbot) -> None:
    def unavailable(key: str, value: str) -> str | None:
        if (key, value) in {("model.backend", "deepface"), ("model.detector", "yunet")}:
            return f"{value} is missing: install it."
        return None

    dialog = make_dialog(qtbot, Settings(), None, unavailable=unavailable)
    deepface = radio(dialog, "model.backend", "deepface")
    assert not deepface.isEnabled()
    assert deepface.toolTip() == "deepface is missing: install it."
    assert radio(dialog, "model.backend", "onnx").isEnabled()
    detector = dialog.fields["model.detector"].widget
    assert isinstance(detector, QComboBox)
    yunet = detector.findData("yunet")
    assert not detector.model().item(yunet).isEnabled()
    assert detector.itemData(yunet, Qt.ItemDataRole.ToolTipRole) == "yunet is missing: install it."


def test_file_and_model_path_fields_are_off_until_they_apply(qtbot) -> None:
    dialog = make_dialog(qtbot, Settings(), None)
    off = [dialog.source_path, dialog.browse_video, dialog.browse_folder, onnx_edit(dialog)]
    assert not any(w.isEnabled() for w in off)
    assert not dialog.fields["camera.loop_video"].widget.isEnabled()
    dialog.source_combo.setCurrentIndex(dialog.source_combo.findData(FILE_SOURCE))
    radio(dialog, "model.backend", "onnx").setChecked(True)
    assert all(w.isEnabled() for w in off)
    assert dialog.fields["camera.loop_video"].widget.isEnabled()


def test_kiosk_mode_says_when_it_applies(qtbot) -> None:
    dialog = make_dialog(qtbot, Settings(), None)
    kiosk = dialog.tabs.widget(4)
    assert "Applies at the next start." in _texts(kiosk)


def test_the_mapping_table_is_never_squeezed_under_the_rows_below(qtbot) -> None:
    dialog = make_dialog(qtbot, Settings(), None)
    dialog.resize(620, 520)
    dialog.show()
    dialog.tabs.setCurrentIndex(2)
    qtbot.waitExposed(dialog)
    table = dialog.mapping_table
    last = table.cellWidget(table.rowCount() - 1, 1)
    fade = dialog.fields["music.fade_s"].widget
    bottom_of_rows = last.mapTo(dialog, last.rect().bottomLeft()).y()
    assert table.viewport().rect().contains(last.geometry())
    assert fade.mapTo(dialog, fade.rect().topLeft()).y() > bottom_of_rows


def test_a_value_its_declaration_refuses_is_explained_and_not_saved(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    dialog = make_dialog(qtbot, Settings(), path)
    dialog.show()
    # a free text field whose declaration has choices (no such option is declared today)
    declared = Option("window.state", str, "", choices=(Choice("a", "a"),), label="State")
    line = TextField(declared)
    dialog.fields["window.state"] = line
    line.set_value("b")
    click_ok(dialog)
    assert dialog.error_label.text() == "State: 'b' is not one of a."
    assert not path.exists()


def test_ok_keeps_keys_this_version_does_not_know(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(
        '[music]\nfade_s = 2.0\ncrossfade_curve = "equal-power"\n[room]\nmood = "shared"\n'
    )
    dialog = make_dialog(qtbot, settings_mod.load(path).settings, path)
    dialog.fields["music.fade_s"].set_value(3.0)
    click_ok(dialog)
    data = settings_mod.tomllib.loads(path.read_text())
    assert data["music"]["fade_s"] == 3.0
    assert data["music"]["crossfade_curve"] == "equal-power"
    assert data["room"] == {"mood": "shared"}

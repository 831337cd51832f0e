"""The settings dialog's desktop parts: the playlist folder chooser opens in the music folder,
and the tray options are offered only where the desktop has a tray."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from app.settings import Settings
from app.ui.settings_dialog import NO_TRAY, SettingsDialog, music_folder


def test_music_folder_is_the_users_music_folder_else_home(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_MUSIC_DIR", raising=False)
    assert music_folder() == str(tmp_path)  # no Music folder yet: home
    (tmp_path / "Music").mkdir()
    assert music_folder() == str(tmp_path / "Music")


def test_add_a_playlist_folder_opens_in_the_music_folder_not_here(
    qtbot, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_MUSIC_DIR", raising=False)
    (tmp_path / "Music" / "road trip").mkdir(parents=True)
    asked: list[str] = []

    def chooser(parent, caption: str, folder: str = "", *rest) -> str:
        asked.append(folder)
        return str(tmp_path / "Music" / "road trip")

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", chooser)
    dialog = SettingsDialog(Settings(), None, tray_available=False)
    qtbot.addWidget(dialog)
    dialog.add_folder_button.click()
    assert asked == [str(tmp_path / "Music")]
    assert Path(asked[0]) != Path(os.getcwd())
    assert dialog.collect().music.playlist_folders == [str(tmp_path / "Music" / "road trip")]


def test_tray_options_are_offered_only_with_a_tray(qtbot) -> None:
    without = SettingsDialog(Settings(), None, tray_available=False)
    qtbot.addWidget(without)
    for key in ("desktop.close_to_tray", "desktop.notify_music"):
        field = without.fields[key]
        assert not field.widget.isEnabled()
        assert field.widget.toolTip().startswith(NO_TRAY)
    assert without.fields["desktop.resume"].widget.isEnabled()
    with_tray = SettingsDialog(Settings(), None, tray_available=True)
    qtbot.addWidget(with_tray)
    assert with_tray.fields["desktop.close_to_tray"].widget.isEnabled()
    with_tray.fields["desktop.close_to_tray"].set_value(True)
    assert with_tray.collect().desktop.close_to_tray is True


def test_deepface_is_offered_only_when_it_can_really_run(qtbot) -> None:
    from app.vision import deepface_backend

    dialog = SettingsDialog(Settings(), None, tray_available=False)
    qtbot.addWidget(dialog)
    button = dialog.fields["model.backend"].buttons["deepface"]  # type: ignore[attr-defined]
    reason = deepface_backend.unavailable_reason()
    assert button.isEnabled() == (reason is None)
    if reason is not None:  # the install or fetch hint, as the model registry says it
        assert button.toolTip() == reason

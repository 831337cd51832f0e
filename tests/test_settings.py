from __future__ import annotations

from pathlib import Path

from app import settings as S


def test_defaults_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    original = S.Settings()
    original.music.volume = 0.3
    original.music.mapping = {"sad": "calm"}
    original.kiosk.allowed_controls = ["skip"]
    S.save(original, path)
    loaded = S.load(path)
    assert loaded.problems == ()
    assert loaded.settings == original
    assert loaded.settings.mapping()["sad"] == "calm"


def test_bad_value_names_key_and_uses_default(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[mood]\nwindow_s = "long"\n[music]\nvolume = 7\nrepeat = "sometimes"\n')
    result = S.load(path)
    assert result.settings.mood.window_s == S.MoodSettings().window_s
    assert result.settings.music.volume == S.MusicSettings().volume
    assert result.settings.music.repeat == "all"
    text = "\n".join(result.problems)
    assert "mood.window_s" in text and "music.volume" in text and "music.repeat" in text


def test_unparseable_file_is_backed_up(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("this is [not toml")
    result = S.load(path)
    assert result.settings == S.Settings()
    assert result.backup is not None and result.backup.read_text() == "this is [not toml"
    assert not path.exists()


def test_strategy_mapping_and_user_edits() -> None:
    s = S.Settings()
    s.music.strategy = "match"
    assert s.mapping()["sad"] == "melancholy"
    s.music.strategy = "lift"
    assert s.mapping()["sad"] == "upbeat"
    s.music.mapping = {"sad": "gentle"}
    assert s.mapping()["sad"] == "gentle"

from __future__ import annotations

import ast
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

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


# -- declared once ------------------------------------------------------------------------------


def test_every_option_is_declared_with_a_default_that_passes_its_own_checks() -> None:
    assert "music.fade_s" in S.OPTIONS and "kiosk.allowed_controls" in S.OPTIONS
    fresh = S.Settings()
    for key, opt in S.OPTIONS.items():
        assert S.get_value(fresh, key) == opt.default, key
        assert opt.check(opt.default) == (opt.default, None), key
        if opt.visible:
            assert opt.help, f"{key} is shown in the dialog, so it needs help text"


def test_an_out_of_range_value_is_named_with_the_declared_range() -> None:
    ranged = {k: o for k, o in S.OPTIONS.items() if o.range is not None}
    assert len(ranged) >= 10
    for key, opt in ranged.items():
        assert opt.range is not None
        low, high = opt.range
        section, name = key.split(".")
        result = S.from_dict({section: {name: high * 2 + 1}})
        assert S.get_value(result.settings, key) == opt.default
        assert result.problems == (
            f"{key}: {high * 2 + 1!r} is outside {low:g}..{high:g}; using {opt.default!r}",
        )


def test_declared_choices_drive_text_and_list_checks() -> None:
    result = S.from_dict(
        {"model": {"detector": "owl"}, "kiosk": {"allowed_controls": ["skip", "teleport"]}}
    )
    from app.vision.detector_registry import default_detector

    assert result.settings.model.detector == default_detector() == "blazeface"
    assert result.settings.kiosk.allowed_controls == ["play_pause", "skip"]
    text = "\n".join(result.problems)
    assert "model.detector: 'owl' is not one of haar, blazeface, yunet" in text
    assert "kiosk.allowed_controls: unknown items ['teleport']" in text
    assert S.OPTIONS["kiosk.allowed_controls"].choice_values() == S.KIOSK_CONTROLS


@dataclass
class ExtraSettings:
    volume_cap: float = S.option(
        0.9, range=(0.1, 1.0), label="Loudest volume", help="The cap.", step=0.05, decimals=2
    )
    greeting: str = S.option("hello", choices=("hello", "hi"), label="Greeting", help="Said.")


@dataclass
class SettingsWithExtra(S.Settings):
    extra: ExtraSettings = S.section(ExtraSettings, page="Extra")


def test_a_new_section_is_one_declaration_away() -> None:
    declared = S.options(SettingsWithExtra)
    assert declared["extra.volume_cap"].range == (0.1, 1.0)
    assert declared["extra.volume_cap"].page == "Extra"
    result = S.from_dict(
        {"extra": {"volume_cap": 3.0, "greeting": "hi"}, "music": {"fade_s": 2.0}},
        SettingsWithExtra,
    )
    s = result.settings
    assert isinstance(s, SettingsWithExtra)
    assert (s.extra.volume_cap, s.extra.greeting, s.music.fade_s) == (0.9, "hi", 2.0)
    assert result.problems == ("extra.volume_cap: 3.0 is outside 0.1..1; using 0.9",)
    assert S.to_dict(s)["extra"] == {"volume_cap": 0.9, "greeting": "hi"}


@dataclass
class Loose:
    plain: int = 3


@dataclass
class WithLoose(S.Settings):
    loose: Loose = S.section(Loose)


def test_an_option_must_be_declared() -> None:
    with pytest.raises(TypeError, match=r"Loose\.plain is not declared"):
        S.options(WithLoose)


def test_cores_do_not_import_the_settings() -> None:
    """The voter and the analyser own their config types; settings are built from them."""
    root = Path(__file__).resolve().parents[1] / "app"
    offenders = []
    for package in ("vision", "mood", "music"):
        for module in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    names = [base] + [f"{base}.{alias.name}" for alias in node.names]
                if any(n == "app.settings" or n.startswith("app.settings.") for n in names):
                    offenders.append(f"{module.relative_to(root)}:{node.lineno}")
    assert offenders == []


def test_voter_defaults_are_the_settings_defaults() -> None:
    from app.mood.voter import VoterConfig

    assert VoterConfig.from_settings(S.MoodSettings()) == VoterConfig()


# -- unknown keys and interrupted saves ---------------------------------------------------------


NEWER_FILE = """\
version = 1
future_flag = true

[music]
fade_s = 2.5
crossfade_curve = "equal-power"

[room]
mood = "shared"
people = [1, 2]
"""


def test_unknown_keys_are_kept_when_the_file_is_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(NEWER_FILE)
    loaded = S.load(path)
    assert loaded.settings.music.fade_s == 2.5
    assert loaded.problems == ()  # kept keys are no problem: nothing was lost
    assert loaded.unknown == ("future_flag", "music.crossfade_curve", "room")
    loaded.settings.music.fade_s = 4.0  # an edit, then the app saves
    S.save(loaded.settings, path)
    data = S.tomllib.loads(path.read_text())
    assert data["music"]["fade_s"] == 4.0
    assert data["music"]["crossfade_curve"] == "equal-power"
    assert data["room"] == {"mood": "shared", "people": [1, 2]}
    assert data["future_flag"] is True
    # and again: still there after a second round trip
    again = S.load(path)
    S.save(again.settings, path)
    assert S.tomllib.loads(path.read_text()) == data


def test_a_file_from_a_newer_version_is_copied_aside_before_it_is_rewritten(
    tmp_path: Path,
) -> None:
    path = tmp_path / "settings.toml"
    newer = NEWER_FILE.replace("version = 1", "version = 7")
    path.write_text(newer)
    loaded = S.load(path)
    assert loaded.backup == tmp_path / "settings.toml.v7"
    assert loaded.backup.read_text() == newer
    assert any("newer MoodPlayer (version 7)" in p for p in loaded.problems)
    S.save(loaded.settings, path)
    assert (tmp_path / "settings.toml.v7").read_text() == newer


def test_unknown_values_toml_cannot_hold_are_dropped_not_fatal(tmp_path: Path) -> None:
    s = S.from_dict({"weird": None, "room": {"mood": "shared"}}).settings
    S.save(s, tmp_path / "s.toml")
    data = S.tomllib.loads((tmp_path / "s.toml").read_text())
    assert data["room"] == {"mood": "shared"} and "weird" not in data


def test_a_stale_temporary_file_is_removed_at_the_next_load(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    S.save(S.Settings(), path)
    stale = tmp_path / ".settings-killed.tmp"
    stale.write_text("half a file")
    old = time.time() - S.STALE_TEMP_S - 5
    os.utime(stale, (old, old))
    fresh = tmp_path / ".settings-busy.tmp"  # another process may be saving right now
    fresh.write_text("being written")
    other = tmp_path / "notes.tmp"
    other.write_text("not ours")
    os.utime(other, (old, old))
    assert S.load(path).problems == ()
    assert not stale.exists()
    assert fresh.exists() and other.exists()
    # also when the settings file itself is missing (first start after a crash)
    path.unlink()
    os.utime(fresh, (old, old))
    S.load(path)
    assert not fresh.exists()


def test_a_failed_save_leaves_the_old_file_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "settings.toml"
    S.save(S.Settings(), path)
    before = path.read_bytes()

    def fail(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(S.os, "replace", fail)
    s = S.Settings()
    s.music.fade_s = 9.0
    with pytest.raises(OSError):
        S.save(s, path)
    assert path.read_bytes() == before
    assert list(tmp_path.glob(".settings-*.tmp")) == []


KILLED_SAVE = """
import sys, time
from pathlib import Path
from app import settings as S

def stall(fd):
    print("writing", flush=True)
    time.sleep(60)

S.os.fsync = stall
S.save(S.Settings(), Path(sys.argv[1]))
"""


def test_a_save_killed_midway_leaves_the_old_file_and_its_temporary_file_goes_later(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    path = tmp_path / "settings.toml"
    path.write_text("[music]\nfade_s = 2.0\n")
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_SAVE, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "writing"
        child.kill()  # SIGKILL: no clean-up handler runs
    finally:
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    left = list(tmp_path.glob(".settings-*.tmp"))
    assert len(left) == 1  # the kill left it behind
    assert S.load(path).settings.music.fade_s == 2.0  # the old file is whole
    assert left[0].exists()  # young: it could be another process's save in progress
    assert S.remove_stale_temps(tmp_path, now=time.time() + S.STALE_TEMP_S + 1) == left
    assert list(tmp_path.glob(".settings-*.tmp")) == []

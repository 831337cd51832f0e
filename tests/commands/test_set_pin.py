"""``moodplayer set-pin``: the PIN from stdin, twice, stored only as a salted hash; never printed,
never on a command line (``--pin`` is refused without repeating the value)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import cli, kiosk, paths
from app import settings as settings_mod
from app.kiosk import PinGate
from tests.conftest import REPO


def _run(argv: list[str], stdin: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    args = cli.build_parser().parse_args(["set-pin", *argv])
    from app.commands import set_pin

    try:
        code = set_pin.run(args, stdin=io.StringIO(stdin))
    except kiosk.UserError as exc:
        out, err = capsys.readouterr()
        return 1, out, str(exc)
    out, err = capsys.readouterr()
    return code, out, err


def test_set_pin_stores_only_a_salted_hash_and_prints_nothing_of_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "settings.toml"
    code, out, err = _run(["--settings", str(path)], "24680\n24680\n", capsys)
    assert code == 0
    assert "24680" not in out + err
    text = path.read_text()
    assert "24680" not in text
    stored = settings_mod.load(path).settings.kiosk.pin_hash
    assert kiosk.verify_pin("24680", stored)
    assert "salted hash" in out


def test_two_different_pins_change_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "settings.toml"
    code, _, message = _run(["--settings", str(path)], "1234\n4321\n", capsys)
    assert code == 1
    assert "differ" in message and "1234" not in message and "4321" not in message
    assert not path.exists()


@pytest.mark.parametrize("stdin", ["", "1234\n", "12\n12\n", "abcd\nabcd\n"])
def test_missing_or_bad_pin_is_a_sentence(
    tmp_path: Path, stdin: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, message = _run(["--settings", str(tmp_path / "s.toml")], stdin, capsys)
    assert code == 1
    assert message
    assert not (tmp_path / "s.toml").exists()


def test_clear_is_explicit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "settings.toml"
    _run(["--settings", str(path)], "4711\n4711\n", capsys)
    code, out, _ = _run(["--settings", str(path), "--clear"], "", capsys)
    assert code == 0
    assert settings_mod.load(path).settings.kiosk.pin_hash == ""
    assert "disabled" in out


def test_setting_a_pin_forgets_the_throttle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = kiosk.throttle_file(paths.data_dir())
    gate = PinGate(kiosk.hash_pin("4711", iterations=1000), state_path=state, now=0.0)
    for _ in range(3):
        gate.attempt("0000", now=1.0)
    assert state.exists()
    _run(["--settings", str(tmp_path / "s.toml")], "5555\n5555\n", capsys)
    assert not state.exists()


def test_hidden_prompt_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.commands import set_pin

    asked: list[str] = []

    def fake_getpass(prompt: str) -> str:
        asked.append(prompt)
        return "9876"

    monkeypatch.setattr(set_pin.getpass, "getpass", fake_getpass)
    assert set_pin.read_new_pin(io.StringIO(""), interactive=True) == "9876"
    assert len(asked) == 2


def test_pin_option_is_refused_without_echoing_it(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--pin", "4711"], ["--pin=4711"], ["--kiosk", "--pin", "4711"]):
        with pytest.raises(SystemExit) as stop:
            cli.build_parser().parse_args(argv)
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert "set-pin" in err
        assert "4711" not in err


def test_set_pin_end_to_end_keeps_the_pin_off_cmdline(tmp_path: Path) -> None:
    """The real command in a child process: its /proc/PID/cmdline never holds the PIN."""
    path = tmp_path / "settings.toml"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen(
        [sys.executable, "-m", "app", "set-pin", "--settings", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    cmdline = Path(f"/proc/{child.pid}/cmdline")
    seen = cmdline.read_bytes() if cmdline.exists() else b""
    out, err = child.communicate(b"31415\n31415\n", timeout=60)
    assert child.returncode == 0, err.decode()
    assert b"31415" not in seen + out + err
    assert kiosk.verify_pin("31415", settings_mod.load(path).settings.kiosk.pin_hash)

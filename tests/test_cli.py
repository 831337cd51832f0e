"""The command line: a missing display is one sentence and exit code 1, never a Qt abort."""

from __future__ import annotations

import pytest

from app import cli
from app.errors import ExitStatus, UserError


def test_no_display_on_linux_is_refused_with_a_sentence() -> None:
    with pytest.raises(UserError, match="no display"):
        cli.check_display({}, platform="linux")


@pytest.mark.parametrize(
    "environ",
    [{"DISPLAY": ":0"}, {"WAYLAND_DISPLAY": "wayland-0"}, {"QT_QPA_PLATFORM": "offscreen"}],
)
def test_a_display_or_a_chosen_qt_platform_is_enough(environ: dict[str, str]) -> None:
    cli.check_display(environ, platform="linux")


def test_other_systems_are_not_checked() -> None:
    cli.check_display({}, platform="win32")
    cli.check_display({}, platform="darwin")


def test_main_without_display_exits_1_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(cli.sys, "platform", "linux")
    assert cli.main(["--no-camera"]) == ExitStatus.ERROR
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("moodplayer: no display")

"""The desktop entry and icon: valid files in assets/, installed for the user into XDG_DATA_HOME."""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from app import desktop, paths
from app.errors import UserError

REQUIRED_SIZES = (16, 32, 48, 64, 128, 256, 512)
KEY = re.compile(r"^[A-Za-z0-9-]+(\[[A-Za-z_@.]+\])?$")


def parse_desktop_file(text: str) -> dict[str, dict[str, str]]:
    """A strict reading of the Desktop Entry format: groups, unique keys, no stray lines."""
    groups: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("["):
            assert line.endswith("]"), f"line {number}: bad group header {line!r}"
            name = line[1:-1]
            assert name not in groups, f"line {number}: group {name} twice"
            current = groups[name] = {}
            continue
        assert current is not None, f"line {number}: key before the first group"
        key, sep, value = line.partition("=")
        key = key.strip()
        assert sep, f"line {number}: not key=value: {line!r}"
        assert KEY.match(key), f"line {number}: bad key {key!r}"
        assert key not in current, f"line {number}: key {key} twice"
        current[key] = value.strip()
    assert next(iter(groups)) == "Desktop Entry", "the first group must be [Desktop Entry]"
    return groups


def split_exec(value: str) -> list[str]:
    """Undo desktop-string escaping and Exec quoting (the spec's rules)."""
    value = value.replace("\\\\", "\\")
    args: list[str] = []
    current = ""
    quoted = False
    has_arg = False
    i = 0
    while i < len(value):
        ch = value[i]
        if quoted:
            if ch == "\\" and i + 1 < len(value) and value[i + 1] in '"`$\\':
                current += value[i + 1]
                i += 1
            elif ch == '"':
                quoted = False
            else:
                current += ch
        elif ch == '"':
            quoted = has_arg = True
        elif ch == " ":
            if has_arg:
                args.append(current)
            current, has_arg = "", False
        else:
            current += ch
            has_arg = True
        i += 1
    assert not quoted, "unterminated quote in Exec"
    if has_arg:
        args.append(current)
    return [a.replace("%%", "%") for a in args]


def test_shipped_desktop_entry_is_valid() -> None:
    groups = parse_desktop_file((paths.assets_dir() / "moodplayer.desktop").read_text())
    entry = groups["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"] == "MoodPlayer"
    assert entry["Exec"] == "moodplayer"
    assert entry["Icon"] == "moodplayer"
    assert entry["Terminal"] == "false"
    assert entry["Categories"] == "AudioVideo;Audio;Player;"
    assert entry["Actions"] == "kiosk;"
    assert groups["Desktop Action kiosk"]["Exec"] == "moodplayer --kiosk"


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_icon_svg_and_png_sizes_exist() -> None:
    svg = (paths.assets_dir() / "moodplayer.svg").read_text()
    assert "<svg" in svg
    assert 'viewBox="0 0 512 512"' in svg
    for size in REQUIRED_SIZES:
        png = (
            paths.assets_dir() / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "moodplayer.png"
        )
        assert _png_size(png) == (size, size)


def test_windows_and_macos_icons_exist() -> None:
    ico = (paths.assets_dir() / "moodplayer.ico").read_bytes()
    assert ico[:4] == b"\x00\x00\x01\x00"  # ICO, type 1 (icon)
    icns = (paths.assets_dir() / "moodplayer.icns").read_bytes()
    assert icns[:4] == b"icns"
    assert int.from_bytes(icns[4:8], "big") == len(icns)


def test_pngs_are_rendered_from_the_svg(qapp) -> None:  # type: ignore[no-untyped-def]
    import importlib.util

    import numpy as np
    from PySide6.QtGui import QImage

    spec = importlib.util.spec_from_file_location(
        "render_icons", paths.assets_dir() / "render_icons.py"
    )
    assert spec is not None and spec.loader is not None
    render_icons = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render_icons)
    for size in (16, 64, 256):
        fresh = render_icons.render(size).convertToFormat(QImage.Format.Format_RGBA8888)
        shipped = QImage(str(render_icons.png_path(size, paths.assets_dir()))).convertToFormat(
            QImage.Format.Format_RGBA8888
        )
        a = np.frombuffer(fresh.constBits(), np.uint8, size * size * 4).astype(int)
        b = np.frombuffer(shipped.constBits(), np.uint8, size * size * 4).astype(int)
        assert np.abs(a - b).mean() < 2.0, f"{size}px PNG differs from the SVG; re-render"
        # not blank: a transparent corner, an opaque centre
        assert b.reshape(size, size, 4)[0, 0, 3] == 0
        assert b.reshape(size, size, 4)[size // 2, size // 2, 3] == 255


def test_install_for_user_into_xdg_data_home(capsys: pytest.CaptureFixture[str]) -> None:
    share = Path(os.environ["XDG_DATA_HOME"])
    assert not (share / "applications").exists()
    assert desktop.install_for_user() == 0
    entry_path = share / "applications" / "moodplayer.desktop"
    groups = parse_desktop_file(entry_path.read_text())
    entry = groups["Desktop Entry"]
    command = split_exec(entry["Exec"])
    program = Path(command[0])
    assert program.is_absolute()
    assert program.is_file() and os.access(program, os.X_OK)
    assert entry["TryExec"] == command[0]
    assert split_exec(groups["Desktop Action kiosk"]["Exec"]) == [*command, "--kiosk"]
    assert entry["Icon"] == "moodplayer"
    for size in REQUIRED_SIZES:
        icon = share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "moodplayer.png"
        assert _png_size(icon) == (size, size)
    assert (share / "icons/hicolor/scalable/apps/moodplayer.svg").read_bytes() == (
        paths.assets_dir() / "moodplayer.svg"
    ).read_bytes()
    out = capsys.readouterr().out
    assert str(entry_path) in out


def test_command_line_install_desktop(tmp_path: Path) -> None:
    share = tmp_path / "share"
    env = {**os.environ, "XDG_DATA_HOME": str(share)}
    done = subprocess.run(
        [sys.executable, "-m", "app", "--install-desktop"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert (share / "applications" / "moodplayer.desktop").is_file()
    assert (share / "icons/hicolor/48x48/apps/moodplayer.png").is_file()


def test_install_twice_replaces_cleanly(tmp_path: Path) -> None:
    first = desktop.install(tmp_path, ["/opt/a/moodplayer"], refresh=False)
    second = desktop.install(tmp_path, ["/opt/b/moodplayer"], refresh=False)
    assert first.desktop_file == second.desktop_file
    assert "/opt/b/moodplayer" in second.desktop_file.read_text()
    assert sorted(p.name for p in (tmp_path / "applications").iterdir()) == ["moodplayer.desktop"]


@pytest.mark.parametrize(
    "command",
    [
        ["/home/ann/My Apps/bin/moodplayer"],
        ['/opt/odd$dir/with"quote/moodplayer'],
        ["C:\\Python\\python.exe", "-m", "app"],
        ["/usr/bin/python3", "-m", "app"],
        ["/srv/100%/moodplayer"],
    ],
)
def test_exec_quoting_round_trips(command: list[str], tmp_path: Path) -> None:
    done = desktop.install(tmp_path, command, refresh=False)
    groups = parse_desktop_file(done.desktop_file.read_text())
    assert split_exec(groups["Desktop Entry"]["Exec"]) == command
    assert split_exec(groups["Desktop Action kiosk"]["Exec"]) == [*command, "--kiosk"]


def test_launcher_command_is_absolute() -> None:
    command = desktop.launcher_command()
    assert Path(command[0]).is_absolute()
    assert Path(command[0]).exists()


def test_unwritable_target_is_a_sentence_not_a_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "share"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(UserError, match="Cannot install the menu entry"):
        desktop.install(blocker, ["/usr/bin/moodplayer"], refresh=False)


def test_relative_xdg_data_home_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", "relative/share")
    assert desktop.data_home() == Path.home() / ".local" / "share"

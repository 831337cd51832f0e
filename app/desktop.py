"""Install the menu entry and icon for the current user (``moodplayer --install-desktop``).

Follows the freedesktop specifications: ``$XDG_DATA_HOME/applications/moodplayer.desktop`` (default
``~/.local/share``) with an absolute ``Exec`` path to the installed ``moodplayer`` command, and the
icon in ``$XDG_DATA_HOME/icons/hicolor/<N>x<N>/apps`` plus ``scalable/apps`` for the SVG.
Windows and macOS launchers are described in docs/INSTALL.md.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app import APP_ID, paths
from app.errors import ExitStatus, UserError

log = logging.getLogger(__name__)

DESKTOP_FILE = f"{APP_ID}.desktop"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)
# Characters that make the Exec spec require an argument to be quoted.
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


@dataclass(frozen=True)
class Installed:
    desktop_file: Path
    icons: tuple[Path, ...]
    command: tuple[str, ...]


def data_home() -> Path:
    value = os.environ.get("XDG_DATA_HOME", "")
    # The spec says a relative value is invalid and must be ignored.
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / ".local" / "share"


def launcher_command() -> list[str]:
    """The absolute command that starts the installed app: the ``moodplayer`` script beside this
    Python (a venv or a system install), on PATH, in the user's scripts folder, or else
    ``<python> -m app``."""
    exe = "moodplayer.exe" if os.name == "nt" else "moodplayer"
    candidates = [Path(sys.executable).parent / exe]
    found = shutil.which(exe)
    if found:
        candidates.append(Path(found))
    candidates.append(Path(sysconfig.get_path("scripts")) / exe)
    with contextlib.suppress(KeyError):  # a platform without a user scheme
        candidates.append(Path(sysconfig.get_path("scripts", f"{os.name}_user")) / exe)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return [str(candidate.resolve())]
    return [str(Path(sys.executable).resolve()), "-m", "app"]


def quote_exec_arg(arg: str) -> str:
    """One argument of an ``Exec`` value, quoted as the Desktop Entry spec asks, then escaped as
    a desktop-file string (so a backslash is written twice over)."""
    if "%" in arg:
        arg = arg.replace("%", "%%")
    if any(ch in _RESERVED for ch in arg):
        inner = "".join("\\" + ch if ch in '"`$\\' else ch for ch in arg)
        arg = f'"{inner}"'
    return arg.replace("\\", "\\\\")


def exec_value(command: Sequence[str]) -> str:
    return " ".join(quote_exec_arg(a) for a in command)


def desktop_entry(command: Sequence[str], template: Path | None = None) -> str:
    """The shipped entry with ``Exec``/``TryExec`` pointing at ``command`` (absolute)."""
    template = template or paths.assets_dir() / DESKTOP_FILE
    try:
        lines = template.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UserError(
            f"The desktop entry {template} cannot be read ({exc.strerror}); reinstall MoodPlayer."
        ) from exc
    out = []
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key.strip() == "Exec":
            words = value.split()
            rest = words[1:] if words and words[0] == APP_ID else words
            line = f"Exec={exec_value([*command, *rest])}"
        elif sep and key.strip() == "TryExec":
            line = "TryExec=" + command[0].replace("\\", "\\\\")
        out.append(line)
    return "\n".join(out) + "\n"


def _write_atomic(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _refresh_caches(share: Path) -> None:
    """Tell menus about the new entry where the tools exist; harmless when they do not."""
    jobs = (
        ("update-desktop-database", [str(share / "applications")]),
        ("gtk-update-icon-cache", ["-q", "-t", "-f", str(share / "icons" / "hicolor")]),
    )
    for tool, args in jobs:
        program = shutil.which(tool)
        if program is None:
            log.debug("%s not found; menus pick the entry up on their next scan", tool)
            continue
        try:
            subprocess.run([program, *args], capture_output=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            log.info("%s failed (%s); menus pick the entry up on their next scan", tool, exc)


def install(
    share: Path | None = None, command: Sequence[str] | None = None, refresh: bool = True
) -> Installed:
    """Copy the entry and icons under ``share`` (default: ``$XDG_DATA_HOME``)."""
    share = share or data_home()
    command = list(command or launcher_command())
    assets = paths.assets_dir()
    icons: list[Path] = []
    try:
        entry = share / "applications" / DESKTOP_FILE
        _write_atomic(entry, desktop_entry(command).encode("utf-8"))
        hicolor = share / "icons" / "hicolor"
        for size in ICON_SIZES:
            name = f"{size}x{size}"
            source = assets / "icons" / "hicolor" / name / "apps" / f"{APP_ID}.png"
            target = hicolor / name / "apps" / f"{APP_ID}.png"
            _write_atomic(target, source.read_bytes())
            icons.append(target)
        svg_target = hicolor / "scalable" / "apps" / f"{APP_ID}.svg"
        _write_atomic(svg_target, (assets / f"{APP_ID}.svg").read_bytes())
        icons.append(svg_target)
    except OSError as exc:
        where = exc.filename or share
        raise UserError(
            f"Cannot install the menu entry: {where}: {exc.strerror}. "
            f"Check that {share} is writable, or set XDG_DATA_HOME to a folder you own."
        ) from exc
    if refresh:
        _refresh_caches(share)
    log.info("installed %s (runs %s)", entry, " ".join(command))
    return Installed(entry, tuple(icons), tuple(command))


def install_for_user() -> int:
    """``moodplayer --install-desktop``: install, say where, return the exit status."""
    if sys.platform in ("win32", "darwin"):
        raise UserError(
            "--install-desktop installs a freedesktop menu entry (Linux, BSD); on Windows and "
            "macOS follow docs/INSTALL.md to make a shortcut or an app bundle."
        )
    done = install()
    print(f"Installed the MoodPlayer menu entry: {done.desktop_file}")
    print(f"  runs: {' '.join(done.command)}")
    print(f"  icon: {done.icons[-1].parent.parent.parent} ({len(done.icons) - 1} PNG sizes + SVG)")
    return ExitStatus.OK

"""Hatch build hook: the wheel carries the shipped data folders as ``app/_data/<folder>``, every
file but the scripts that made them (``playlists/make_music.py``, ``models/build_*.py``,
``models/bench_*.py``, ``assets/render_icons.py``: any ``*.py``) and caches.

A directory ``force-include`` cannot leave files out (hatch applies no exclusion to it), hence
this hook; ``tests/test_wheel.py`` checks the wheel's file list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SHIPPED = ("models", "playlists", "assets")


def shipped_files(root: Path) -> dict[str, str]:
    """Source path -> path inside the wheel, for every file the app needs at run time."""
    files = {}
    for folder in SHIPPED:
        base = root / folder
        for path in sorted(base.rglob("*")):
            if not path.is_file() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
                continue
            files[str(path)] = f"app/_data/{folder}/{path.relative_to(base).as_posix()}"
    return files


class ShippedDataHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name == "wheel":
            build_data["force_include"].update(shipped_files(Path(self.root)))

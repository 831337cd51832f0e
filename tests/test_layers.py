"""The core stays free of Qt widgets and of the UI package (STYLE.md rule 1)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import app.mood
import app.music
import app.vision

CORE_PACKAGES = (app.vision, app.mood, app.music)


def _core_modules() -> list[str]:
    names = []
    for package in CORE_PACKAGES:
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            names.append(info.name)
    return [*names, "app.controller"]


def test_core_modules_do_not_load_qt_widgets_or_ui() -> None:
    modules = [m for m in _core_modules() if m != "app.controller" or _exists("app.controller")]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "ui = ('PySide6.QtWidgets', 'PySide6.QtGui', 'app.ui')\n"
        "bad = [m for m in sys.modules if m.startswith(ui)]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"core imported UI modules: {out.stdout.strip()}"


def _exists(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None

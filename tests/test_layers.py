"""The layers hold (STYLE.md rules 1 and 7), read from the source with ``ast`` so that imports
inside functions (lazy ones) count as much as those at the top of a file.

Rules, each failure naming the rule and the ``file:line`` that broke it:

* **qt-outside-ui**: no module outside ``app/ui`` imports PySide6 (or shiboken6), lazily or not.
* **ui-from-core**: no module outside ``app/ui`` imports ``app.ui``. The entry points
  (``app/cli.py``, ``app/__main__.py``) are the one exception, and only lazily, inside a function:
  they start the window when asked, and ``moodplayer --version`` or a headless command never loads
  Qt.
* **import-circle**: no circle among the ``app`` modules (every import, lazy or not, except those
  under ``if TYPE_CHECKING:``, which never run). ``importlib.import_module("literal")`` counts too.

The checker itself is tested on small made-up trees, so a rule that stops seeing is caught.
A subprocess also imports every module outside ``app/ui`` and checks no PySide6 got loaded.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

ENTRY_POINTS = frozenset({"app.cli", "app.__main__"})
QT_PACKAGES = ("PySide6", "shiboken6")

# Circles known and being removed, each named by the modules in it. An entry that no longer
# matches a circle fails the test too ("delete it"), so the list can only shrink.
KNOWN_CIRCLES: dict[frozenset[str], str] = {}


@dataclass(frozen=True)
class Import:
    source: str  # importing module, e.g. "app.vision.model"
    target: str  # imported module, e.g. "app.vision.deepface_backend" or "PySide6.QtCore"
    path: Path
    line: int
    lazy: bool  # inside a function
    type_only: bool  # under ``if TYPE_CHECKING:``

    def where(self, root: Path) -> str:
        return f"{self.path.relative_to(root)}:{self.line}"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Collector(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, path: Path, modules: set[str]) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.path = path
        self.modules = modules  # every module in the tree, to tell "from pkg import submodule"
        self.depth = 0  # function nesting
        self.type_only = 0
        self.found: list[Import] = []

    def _add(self, target: str, node: ast.stmt | ast.expr) -> None:
        self.found.append(
            Import(
                self.module,
                target,
                self.path,
                node.lineno,
                self.depth > 0,
                self.type_only > 0,
            )
        )

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function
    visit_Lambda = _function

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            self.type_only += 1
            for child in node.body:
                self.visit(child)
            self.type_only -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")
            base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
            stem = ".".join([*base, node.module] if node.module else base)
        else:
            stem = node.module or ""
        for alias in node.names:
            candidate = f"{stem}.{alias.name}"
            self._add(candidate if candidate in self.modules else stem, node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if (
            name in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            self._add(node.args[0].value, node)
        self.generic_visit(node)


def scan(root: Path, package: str = "app") -> tuple[set[str], list[Import]]:
    """Every module under ``root/package`` and every import they make."""
    files = sorted((root / package).rglob("*.py"))
    modules = {module_name(f, root) for f in files}
    imports: list[Import] = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        collector = _Collector(module_name(path, root), path.name == "__init__.py", path, modules)
        collector.visit(tree)
        imports.extend(collector.found)
    return modules, imports


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def layer_violations(imports: Iterable[Import], root: Path) -> list[str]:
    problems = []
    for imp in imports:
        if _under(imp.source, "app.ui"):
            continue
        if any(_under(imp.target, qt) for qt in QT_PACKAGES):
            problems.append(
                f"qt-outside-ui: {imp.where(root)}: {imp.source} imports {imp.target} "
                "(only app/ui may use Qt)"
            )
        elif _under(imp.target, "app.ui"):
            if imp.source in ENTRY_POINTS and imp.lazy:
                continue
            why = (
                "an entry point may start the UI only from inside a function"
                if imp.source in ENTRY_POINTS
                else "the core never imports the UI"
            )
            problems.append(
                f"ui-from-core: {imp.where(root)}: {imp.source} imports {imp.target} ({why})"
            )
    return problems


def import_graph(modules: set[str], imports: Iterable[Import]) -> dict[str, dict[str, Import]]:
    """module -> {imported app module -> the first import making that edge}."""
    graph: dict[str, dict[str, Import]] = {m: {} for m in modules}
    for imp in imports:
        if imp.type_only or imp.target not in modules or imp.target == imp.source:
            continue
        graph[imp.source].setdefault(imp.target, imp)
    return graph


def circles(graph: dict[str, dict[str, Import]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def _cycle_path(graph: dict[str, dict[str, Import]], group: list[str]) -> list[Import]:
    """One concrete loop through ``group``, starting at its first module (breadth-first)."""
    members = set(group)
    start = group[0]
    came: dict[str, Import] = {}
    frontier = [start]
    while frontier:
        nxt_frontier = []
        for node in frontier:
            for target, imp in sorted(graph[node].items()):
                if target not in members:
                    continue
                if target == start:
                    path = [imp]
                    while path[0].source != start:
                        path.insert(0, came[path[0].source])
                    return path
                if target not in came:
                    came[target] = imp
                    nxt_frontier.append(target)
        frontier = nxt_frontier
    raise AssertionError(f"no loop in {group}")  # pragma: no cover - a group always loops


def circle_problems(
    graph: dict[str, dict[str, Import]],
    root: Path,
    known: dict[frozenset[str], str] | None = None,
) -> list[str]:
    known = dict(known or {})
    problems = []
    for group in circles(graph):
        key = frozenset(group)
        if known.pop(key, None) is not None:
            continue
        steps = " -> ".join(
            f"{imp.source} ({imp.where(root)}{', lazy' if imp.lazy else ''})"
            for imp in _cycle_path(graph, group)
        )
        problems.append(f"import-circle: {steps} -> {group[0]}")
    for stale, why in known.items():
        problems.append(
            f"import-circle: the known circle {sorted(stale)} ({why}) is gone: delete its entry "
            "from KNOWN_CIRCLES in tests/test_layers.py"
        )
    return problems


# -- the real tree -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> tuple[set[str], list[Import]]:
    return scan(REPO)


def test_only_app_ui_uses_qt_and_only_entry_points_start_the_ui(
    real: tuple[set[str], list[Import]],
) -> None:
    _, imports = real
    problems = layer_violations(imports, REPO)
    assert not problems, "\n".join(problems)


def test_no_import_circle_among_app_modules(real: tuple[set[str], list[Import]]) -> None:
    modules, imports = real
    problems = circle_problems(import_graph(modules, imports), REPO, KNOWN_CIRCLES)
    assert not problems, "\n".join(problems)


def test_the_scan_sees_the_whole_package(real: tuple[set[str], list[Import]]) -> None:
    """A scan that found nothing would pass every rule: make sure it reads what is there."""
    modules, imports = real
    assert {"app", "app.cli", "app.vision.model_registry", "app.ui.application"} <= modules
    lazy_ui = [i for i in imports if i.source == "app.cli" and _under(i.target, "app.ui")]
    assert lazy_ui and all(i.lazy for i in lazy_ui), lazy_ui
    assert any(i.source.startswith("app.ui") and i.target.startswith("PySide6") for i in imports)


def _non_ui_modules(modules: Iterable[str]) -> list[str]:
    return sorted(m for m in modules if not _under(m, "app.ui") and m != "app.__main__")


def test_importing_everything_outside_app_ui_loads_no_qt(
    real: tuple[set[str], list[Import]],
) -> None:
    """The runtime check beside the static one: importing the core (and the CLI, and building
    its parser, which imports every headless command) loads no PySide6 at all."""
    modules = _non_ui_modules(real[0])
    assert "app.vision.capture" in modules and "app.cli" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "import app.cli; app.cli.build_parser()\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'app.ui')))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == "", f"importing the core loaded: {out.stdout.strip()}"


# -- the checker on made-up trees ----------------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for folder in {p.parent for p in root.rglob("*.py")}:
        (folder / "__init__.py").touch()
    return root


def _problems(root: Path) -> list[str]:
    modules, imports = scan(root)
    return layer_violations(imports, root) + circle_problems(import_graph(modules, imports), root)


def test_checker_sees_lazy_qt_and_lazy_ui_imports_in_the_core(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "app/vision/cam.py": "import os\n\ndef show():\n    from PySide6 import QtWidgets\n",
            "app/music/play.py": "def f():\n    import shiboken6\n",
            "app/mood/v.py": "x = 1\nif x:\n    from app.ui.window import W\n",
            "app/ui/window.py": "from PySide6.QtWidgets import QWidget\nW = QWidget\n",
            "app/cli.py": "from app.ui import window\n\ndef main():\n    import app.ui.window\n",
        },
    )
    problems = _problems(root)
    assert sorted(problems) == sorted(
        [
            "qt-outside-ui: app/vision/cam.py:4: app.vision.cam imports PySide6 "
            "(only app/ui may use Qt)",
            "qt-outside-ui: app/music/play.py:2: app.music.play imports shiboken6 "
            "(only app/ui may use Qt)",
            "ui-from-core: app/mood/v.py:3: app.mood.v imports app.ui.window "
            "(the core never imports the UI)",
            "ui-from-core: app/cli.py:1: app.cli imports app.ui.window "
            "(an entry point may start the UI only from inside a function)",
        ]
    ), problems


def test_checker_finds_a_circle_through_a_lazy_and_a_relative_import(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "app/vision/a.py": "from app.vision import b\n",
            "app/vision/b.py": "import os\n\n\ndef load():\n    from . import c\n",
            "app/vision/c.py": "import importlib\nimportlib.import_module('app.vision.a')\n",
            "app/vision/d.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from app.vision.e import E\n",
            "app/vision/e.py": "from app.vision.d import *\n",
        },
    )
    problems = _problems(root)
    assert problems == [
        "import-circle: app.vision.a (app/vision/a.py:1) -> app.vision.b (app/vision/b.py:5, lazy)"
        " -> app.vision.c (app/vision/c.py:2) -> app.vision.a"
    ], problems


def test_checker_reports_a_known_circle_that_is_gone(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"app/x.py": "import app.y\n", "app/y.py": "import os\n"})
    modules, imports = scan(root)
    known = {frozenset({"app.x", "app.y"}): "an old issue"}
    (problem,) = circle_problems(import_graph(modules, imports), root, known)
    assert problem.startswith("import-circle: the known circle ['app.x', 'app.y']")
    assert "delete its entry" in problem

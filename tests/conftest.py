"""Test set-up: offscreen Qt, a dummy audio driver, private user folders for every test, and no
error logged unnoticed."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _private_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point platformdirs (via XDG variables) at a fresh folder so no test touches real settings."""
    home = tmp_path_factory.mktemp("home")
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    yield home


@pytest.fixture(autouse=True)
def _restore_root_logger():
    """Each test leaves the root logger as it found it: a handler that ``logs.setup`` made during
    the test writes to that test's captured stderr, closed once the test is over."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


class _ErrorRecords(logging.Handler):
    """Collects every record at ERROR or above, from any logger and any thread."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _describe(record: logging.LogRecord) -> str:
    where = f"{record.pathname}:{record.lineno}"
    text = f"{record.levelname} {record.name} ({where}, thread {record.threadName}): "
    text += record.getMessage()
    if record.exc_info and record.exc_info[1] is not None:
        text += f" [{type(record.exc_info[1]).__name__}: {record.exc_info[1]}]"
    return text


@pytest.fixture(autouse=True)
def _fail_on_logged_errors(request: pytest.FixtureRequest):
    """A test in which an error was logged fails, even if the code caught it (qutebrowser's
    ``logfail``): a callback that catches and logs must not hide a bug. A test that expects an
    error marks itself ``@pytest.mark.allow_log_errors("why")``. Set up first and torn down
    last, it also sees errors logged while other fixtures stop their threads."""
    handler = _ErrorRecords()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
    if handler.records and request.node.get_closest_marker("allow_log_errors") is None:
        lines = "\n  ".join(_describe(r) for r in handler.records)
        pytest.fail(
            f"{len(handler.records)} error(s) logged during the test (mark it "
            f"@pytest.mark.allow_log_errors('why') if they are expected):\n  {lines}",
            pytrace=False,
        )

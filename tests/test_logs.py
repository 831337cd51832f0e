"""Logs rotate: days of logging leave at most 6 files of bounded size; memory stays bounded."""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import logs


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        if handler not in handlers:
            handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_many_megabytes_leave_at_most_six_bounded_files(
    tmp_path: Path, restore_logging: None
) -> None:
    target = logs.setup(debug=False, log_file=True, directory=tmp_path)
    assert target == tmp_path / "moodplayer.log"
    log = logging.getLogger("app.test_logs")
    line = "reading: happy 0.82, sad 0.05, neutral 0.13; fps 10.0 " + "x" * 150
    lines = 0
    written = 0
    # ~8 MB: more than the 6 MB the rotation keeps, so the oldest files must go
    while written < 8 * logs.LOG_FILE_BYTES:
        log.info("%06d %s", lines, line)
        lines += 1
        written += len(line) + 60
    files = sorted(tmp_path.iterdir())
    names = {f.name for f in files}
    assert names == {"moodplayer.log"} | {f"moodplayer.log.{n}" for n in range(1, 6)}
    assert len(files) <= logs.LOG_FILE_COUNT + 1
    longest = 300
    for f in files:
        assert f.stat().st_size <= logs.LOG_FILE_BYTES + longest
    total = sum(f.stat().st_size for f in files)
    assert total <= (logs.LOG_FILE_COUNT + 1) * (logs.LOG_FILE_BYTES + longest)
    # the newest line is in the current file, the oldest are gone
    assert f"{lines - 1:06d}" in target.read_text(encoding="utf-8")
    # every log file, rotated ones included, is private to its owner
    assert {oct(f.stat().st_mode & 0o777) for f in files} == {"0o600"}
    kept = "".join(f.read_text(encoding="utf-8") for f in files)
    assert " 000000 " not in kept
    # the in-memory tail for error reports stays bounded too
    assert len(logs.recent.lines) == logs.recent.lines.maxlen


def test_unwritable_log_folder_falls_back_to_console(tmp_path: Path, restore_logging: None) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    assert logs.setup(log_file=True, directory=blocker) is None
    assert not any(
        isinstance(h, logging.handlers.RotatingFileHandler) for h in logging.getLogger().handlers
    )


def test_log_files_are_private_rotated_ones_too(tmp_path: Path, restore_logging: None) -> None:
    target = logs.setup(log_file=True, directory=tmp_path)
    assert target is not None
    log = logging.getLogger("app.test_logs")
    for n in range(3):
        log.info("line %d %s", n, "y" * 200)
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logs.PrivateRotatingFileHandler):
                handler.doRollover()
    files = sorted(tmp_path.iterdir())
    assert len(files) >= 3
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_an_older_world_readable_log_is_made_private(tmp_path: Path, restore_logging: None) -> None:
    old = tmp_path / "moodplayer.log"
    old.write_text("from an older version\n")
    old.chmod(0o644)
    logs.setup(log_file=True, directory=tmp_path)
    assert stat.S_IMODE(old.stat().st_mode) == 0o600


def test_setup_replaces_its_own_handlers_and_keeps_others(
    tmp_path: Path, restore_logging: None
) -> None:
    root = logging.getLogger()
    foreign = logging.NullHandler()
    root.addHandler(foreign)
    logs.setup(log_file=True, directory=tmp_path)
    logs.setup(log_file=True, directory=tmp_path)
    handlers = root.handlers
    assert foreign in handlers
    assert sum(isinstance(h, logs.PrivateRotatingFileHandler) for h in handlers) == 1
    assert handlers.count(logs.recent) == 1


def test_last_lines_are_the_newest(restore_logging: None) -> None:
    logs.setup(log_file=False)
    log = logging.getLogger("app.test_logs")
    for n in range(60):
        log.info("numbered %02d", n)
    tail = logs.last_lines(5)
    assert [line.rsplit(" ", 1)[-1] for line in tail] == ["55", "56", "57", "58", "59"]

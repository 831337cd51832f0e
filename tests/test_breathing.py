"""Long loops off the GUI thread leave the interpreter lock to the window now and then."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from app import breathing
from app.music import database, library, mood_playlists, scanner
from app.music.analysis import Analysis
from app.music.database import LibraryDatabase
from tests.music.test_database import an_analysis


def _busy_for(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        breathing.breathe()


def test_a_worker_thread_sleeps_every_few_milliseconds_and_the_main_thread_never(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    naps: list[str] = []
    real_sleep = time.sleep

    def counted(seconds: float) -> None:
        naps.append(threading.current_thread().name)
        real_sleep(seconds)

    monkeypatch.setattr(breathing.time, "sleep", counted)
    _busy_for(0.1)
    # the command line's scan runs at full speed (threads of other tests may still breathe)
    assert threading.main_thread().name not in naps
    worker = threading.Thread(target=_busy_for, args=(0.1,), name="breathing-test-worker")
    worker.start()
    worker.join()
    # 0.1 s of work, a breath every EVERY_S (8 ms) of it
    assert 6 <= naps.count("breathing-test-worker") <= 0.1 / breathing.EVERY_S + 1


def test_the_long_library_loops_breathe_at_every_step(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The loops over every row and every file call it: the database reads, the playlist
    grouping, the folder read and the scan (walk and files)."""
    calls: dict[str, int] = {}

    def counter(where: str) -> object:
        def breathe() -> None:
            calls[where] = calls.get(where, 0) + 1

        return breathe

    for module in (database, library, mood_playlists, scanner):
        monkeypatch.setattr(module, "breathe", counter(module.__name__.rsplit(".", 1)[1]))
    music = tmp_path / "music"
    music.mkdir()
    with LibraryDatabase(tmp_path / "l.sqlite") as db:
        for i in range(30):
            db.put_analysis(music / f"{i:02d}.ogg", 1, 1, 1, an_analysis())
        assert len(list(db.tracks())) == 30
        assert calls["database"] == 30
        assert len(db.rows()) == 30
        assert calls["database"] == 60
        mood_playlists.group(mood_playlists.placements(db.tracks(), {}))
        assert calls["mood_playlists"] == 30
    for i in range(12):
        (music / f"{i:02d}.wav").write_bytes(b"RIFF")
    library.read_folder(music)
    assert calls["library"] == 12
    scanner.scan_library([music], tmp_path / "scan.sqlite", analyse=_fail)
    assert calls["scanner"] >= 24  # 12 entries walked, 12 files looked at


def _fail(path: Path) -> Analysis:
    raise scanner.decode.DecodeError("not real audio")

"""The library database: round trip, choices kept apart, damaged or foreign files set aside."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import pytest

from app.music.analysis import Analysis, Features
from app.music.database import Choice, LibraryDatabase, default_path
from app.music.tags import Tags


def an_analysis(energy: float = 0.8, valence: float = 0.7) -> Analysis:
    features = Features(energy, valence, 128.0, -9.5, 0.99, 2500.0, 4.0, 0.9, "C major")
    return Analysis(
        features, Tags(title="T", artist="A", album="B", genre="Pop"), "upbeat", "audio", 200.0,
        "soundfile", -8.5, "measured",
    )  # fmt: skip


def test_the_default_file_is_in_the_user_data_folder() -> None:
    path = default_path()
    assert path.name == "library.sqlite"
    assert "moodplayer" in str(path.parent).lower()
    with LibraryDatabase() as db:
        assert db.path == path and path.exists()


def test_round_trip_and_loudness(tmp_path: Path) -> None:
    track = tmp_path / "a b.ogg"
    with LibraryDatabase(tmp_path / "l.sqlite") as db:
        db.put_analysis(track, 10, 20, 1, an_analysis())
        db.put_failure(tmp_path / "bad.mp3", 5, 6, 1, "damaged", "bad")
    with LibraryDatabase(tmp_path / "l.sqlite") as db:
        record = db.track(track)
        assert record is not None and record.analysed
        features = (record.energy, record.valence, record.tempo, record.key)
        assert features == (0.8, 0.7, 128.0, "C major")
        assert (record.title, record.artist, record.mood) == ("T", "A", "upbeat")
        assert db.stamp(track) == (10, 20, 1)
        loudness = db.loudness(track)
        assert loudness is not None and loudness.gain_db == -8.5 and loudness.lufs == -9.5
        assert loudness.peak == 0.99
        bad = db.track(tmp_path / "bad.mp3")
        assert bad is not None and not bad.analysed and bad.error == "damaged"
        assert db.loudness(tmp_path / "bad.mp3") is None
        assert db.count() == 2


def test_choices_survive_the_tracks_being_rewritten_and_removed(tmp_path: Path) -> None:
    track = tmp_path / "x.ogg"
    with LibraryDatabase(tmp_path / "l.sqlite") as db:
        db.put_analysis(track, 1, 1, 1, an_analysis())
        db.set_choice(Choice(track, "calm", pinned=True))
        db.put_analysis(track, 2, 2, 1, an_analysis(0.1, 0.1))
        db.remove([os.fsencode(track)])
        assert db.choice(track) == Choice(track, "calm", True, False)
        db.set_choice(Choice(track))  # says nothing: forgotten
        assert db.choice(track) is None
        with pytest.raises(ValueError, match="unknown mood"):
            db.set_choice(Choice(track, "happy"))


@pytest.mark.parametrize(
    "content",
    [
        b"this is not a database at all" * 100,
        b"SQLite format 3\x00" + b"\xff" * 4000,  # a damaged header
        b"",
    ],
)
def test_a_damaged_file_is_set_aside_and_rebuilt(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "library.sqlite"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING), LibraryDatabase(path) as db:
        db.put_analysis(tmp_path / "a.ogg", 1, 1, 1, an_analysis())
        assert db.count() == 1
        moved = db.set_aside
    if content:
        assert moved is not None and moved.read_bytes() == content
        assert moved.name.startswith("library.sqlite.damaged-")
        assert "kept it as" in caplog.text
    else:
        assert moved is None  # an empty file is simply a new database


def test_a_foreign_sqlite_file_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "library.sqlite"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE photos (id INTEGER)")
        other.execute("INSERT INTO photos VALUES (1)")
    with LibraryDatabase(path) as db:
        assert db.set_aside is not None and db.count() == 0
    with sqlite3.connect(db.set_aside) as kept:
        assert kept.execute("SELECT id FROM photos").fetchall() == [(1,)]


def test_a_newer_schema_is_set_aside_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "library.sqlite"
    with LibraryDatabase(path) as db:
        db.put_analysis(tmp_path / "a.ogg", 1, 1, 1, an_analysis())
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    with LibraryDatabase(path) as db:
        assert db.set_aside is not None and db.count() == 0


def test_a_folder_in_the_way_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "library.sqlite"
    path.mkdir()
    with LibraryDatabase(path) as db:  # the folder is moved aside too
        assert db.set_aside is not None and db.set_aside.is_dir()


def test_the_loudness_lookup_answers_from_any_thread(tmp_path: Path) -> None:
    import threading

    from app.music.database import LoudnessLookup

    db_path = tmp_path / "l.sqlite"
    track = tmp_path / "a.ogg"
    lookup = LoudnessLookup(db_path)
    assert lookup(track) is None  # no database yet: None, and nothing is created
    assert not db_path.exists()
    with LibraryDatabase(db_path) as db:
        db.put_analysis(track, 1, 1, 1, an_analysis())
    answers: list[object] = []
    thread = threading.Thread(target=lambda: answers.append(lookup(track)))
    thread.start()
    thread.join(10)
    answer = answers[0]
    assert answer is not None and answer.lufs == -9.5 and answer.gain_db == -8.5  # type: ignore[attr-defined]
    assert lookup(tmp_path / "other.ogg") is None
    db_path.write_bytes(b"garbage")
    assert LoudnessLookup(db_path)(track) is None


def test_the_engine_gets_the_measured_loudness(tmp_path: Path) -> None:
    from app.music.database import levelling_lookup
    from app.music.loudness import Leveller, Loudness

    db_path = tmp_path / "l.sqlite"
    track = tmp_path / "a.ogg"
    with LibraryDatabase(db_path) as db:
        db.put_analysis(track, 1, 1, 1, an_analysis())
    lookup = levelling_lookup(db_path)
    assert lookup(track) == Loudness(-9.5, 0.99, "library")
    assert lookup(tmp_path / "b.ogg") is None
    leveller = Leveller(lookup=lookup)
    assert leveller.loudness(track) == Loudness(-9.5, 0.99, "library")
    assert leveller.gain_db(track) == pytest.approx(-18 + 9.5)

"""What the library skips (a missing M3U entry, an undecodable file) is listed for the listener
in ``app.problems.problems`` (the window's Problems view), not only in the log."""

from __future__ import annotations

from pathlib import Path

import pytest
from audio_files import write_tone

from app.music.library import Library
from app.problems import problems


@pytest.fixture(autouse=True)
def _empty_problems():
    problems.clear()
    yield
    problems.clear()


def test_missing_playlist_entries_and_damaged_files_are_listed(tmp_path: Path) -> None:
    root = tmp_path / "music"
    (root / "calm").mkdir(parents=True)
    write_tone(root / "calm" / "good.wav", 440, 0.3)
    (root / "calm" / "broken.ogg").write_bytes(b"\x00not audio at all" * 50)
    (root / "mix.m3u").write_text("calm/good.wav\ngone.mp3\n", encoding="utf-8")
    playlists = Library([root]).scan()
    assert [t.path.name for t in playlists["calm"].tracks] == ["good.wav"]
    assert [t.path.name for t in playlists["mix"].tracks] == ["good.wav"]
    listed = {(p.kind, p.path): p.reason for p in problems.items()}
    broken = ("audio file", str(root / "calm" / "broken.ogg"))
    assert broken in listed, listed
    entry = [k for k in listed if k[0] == "playlist entry" and "gone.mp3" in k[1]]
    assert entry and str(root / "mix.m3u") in entry[0][1], listed
    assert listed[entry[0]]  # with a reason
    # a rescan lists nothing twice
    count = len(problems)
    Library([root]).scan()
    assert len(problems) == count


def test_files_the_library_scan_cannot_analyse_are_listed(tmp_path: Path) -> None:
    from app.music.scanner import scan_library

    root = tmp_path / "music"
    root.mkdir()
    write_tone(root / "good.wav", 440, 0.5)
    (root / "empty.ogg").write_bytes(b"")
    (root / "text.flac").write_text("not music")
    result = scan_library([root], tmp_path / "library.sqlite")
    assert {s.path.name for s in result.skipped} == {"empty.ogg", "text.flac"}
    listed = {Path(p.path).name: p.reason for p in problems.items()}
    assert listed.get("empty.ogg") == "empty file"
    assert listed.get("text.flac")
    assert "good.wav" not in listed

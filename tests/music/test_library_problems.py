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


def test_an_m4a_without_ffmpeg_is_a_clear_note_and_is_read_once_ffmpeg_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """AAC/M4A and ALAC decode only through FFmpeg (the ffmpeg program or the optional PyAV
    extra). Without either, the listener reads how to get it: in View -> Problems, in
    ``library scan``, and when such a track comes to play."""
    pytest.importorskip("av", reason="writes the M4A files")
    import dataclasses

    from mood_music import bright_fast_major, write_audio

    from app import cli
    from app.music import decode, decoders
    from app.music.audio import AudioError
    from app.music.scanner import scan_library

    root = tmp_path / "music"
    aac = write_audio(root / "Band" / "Album" / "01 aac.m4a", bright_fast_major(3.0))
    write_audio(root / "Band" / "Album" / "02 alac.m4a", bright_fast_major(3.0), codec="alac")
    write_tone(root / "Band" / "Album" / "03 fine.wav", 440, 1.0)
    db = tmp_path / "library.sqlite"
    saved = [
        (registry, name, registry.get(name))
        for registry in (decode.DECODERS, decoders.DECODERS)
        for name in ("pyav", "ffmpeg")
    ]
    for registry, name, backend in saved:
        gone = dataclasses.replace(backend, unavailable=lambda: "not here (test)")
        monkeypatch.setitem(registry._backends, name, gone)
    note = "needs FFmpeg: install the ffmpeg program or `pip install moodplayer[ffmpeg]`"
    result = scan_library([root], db)
    assert result.tracks == 1
    reasons = {s.path.name: s.reason for s in result.skipped}
    assert reasons == {"01 aac.m4a": note, "02 alac.m4a": note}
    listed = {Path(p.path).name: p.reason for p in problems.items()}
    assert listed["01 aac.m4a"] == note and listed["02 alac.m4a"] == note
    # the terminal says the same
    assert cli.main(["library", "--database", str(db), "scan", str(root)]) == 0
    _out, err = capfd.readouterr()
    assert f"01 aac.m4a: {note}" in err, err
    # playback: the engine's decoders say it too (the player shows it as a skipped track)
    with pytest.raises(AudioError, match="needs FFmpeg: install the ffmpeg program"):
        decoders.open_decoder(aac, 44100)
    # FFmpeg installed later: the next scan reads them (they are not left as failures)
    for registry, name, backend in saved:
        monkeypatch.setitem(registry._backends, name, backend)
    again = scan_library([root], db)
    assert again.tracks == 3 and again.analysed == 2

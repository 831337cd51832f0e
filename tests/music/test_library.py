"""Library: folders, M3U/M3U8/PLS (well-formed, broken and hostile), tags, skipping bad files."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from audio_files import corrupt_files, write_tone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import paths
from app.music import library as lib
from app.music.library import Library, default_library, parse_m3u, parse_pls, read_playlist_file


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """root/calm/{a.ogg,b.flac}, root/upbeat/{c.mp3,d.wav}, root/loose.ogg (tagged/untagged)."""
    root = tmp_path_factory.mktemp("music")
    write_tone(root / "calm" / "a.ogg", 300, 0.3, title="Alpha", artist="Ann", album="One")
    write_tone(root / "calm" / "b.flac", 400, 0.3, title="Beta")
    write_tone(root / "upbeat" / "c.mp3", 500, 0.3, title="Gamma", artist="Cy")
    write_tone(root / "upbeat" / "d.wav", 600, 0.3)
    write_tone(root / "loose.ogg", 700, 0.3)
    return root


def titles(playlist: lib.Playlist | None) -> list[str]:
    assert playlist is not None
    return [t.title for t in playlist.tracks]


def test_folders_become_playlists_with_tags_and_durations(music: Path) -> None:
    found = Library([music]).scan()
    assert set(found) == {"calm", "upbeat", music.name}
    assert titles(found["calm"]) == ["Alpha", "Beta"]
    alpha = found["calm"].tracks[0]
    assert (alpha.artist, alpha.album) == ("Ann", "One")
    assert alpha.duration == pytest.approx(0.3, abs=0.05)
    assert titles(found["upbeat"]) == ["Gamma", "d"]  # untagged WAV: the file name
    assert found["upbeat"].tracks[0].display == "Cy – Gamma"
    assert titles(found[music.name]) == ["loose"]
    assert found["calm"].source == music / "calm"


def test_a_folder_of_audio_is_one_playlist(music: Path) -> None:
    found = Library([music / "calm"]).scan()
    assert list(found) == ["calm"] and len(found["calm"]) == 2


def test_corrupt_files_in_a_folder_are_skipped_with_a_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "mixed"
    bad = corrupt_files(folder)
    write_tone(folder / "good.ogg", 440, 0.3)
    (folder / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    with caplog.at_level(logging.INFO, logger="app.music.library"):
        found = Library([tmp_path]).scan()
    assert titles(found["mixed"]) == ["good"]
    for path in bad:
        assert any(path.name in r.getMessage() for r in caplog.records), path.name
    assert any("empty file" in r.getMessage() for r in caplog.records)


def test_m3u_relative_absolute_extinf_bom_crlf_and_urls(music: Path, tmp_path: Path) -> None:
    text = (
        "\ufeff#EXTM3U\r\n"
        "#EXTINF:1,Ignored because the file has a title tag\r\n"
        f"{music / 'calm' / 'a.ogg'}\r\n"
        "#EXTINF:1,Dee from EXTINF\r\n"
        f"{os.path.relpath(music / 'upbeat' / 'd.wav', tmp_path)}\r\n"
        "http://radio.example/stream.mp3\r\n"
        "missing.ogg\r\n"
        "\r\n"
        f"file://{music / 'upbeat' / 'c.mp3'}\r\n"
    )
    playlist_file = tmp_path / "mix.m3u"
    playlist_file.write_bytes(text.encode("utf-8"))
    playlist = read_playlist_file(playlist_file)
    assert playlist is not None and playlist.name == "mix"
    assert titles(playlist) == ["Alpha", "Dee from EXTINF", "Gamma"]


def test_m3u8_with_non_ascii_names_and_latin1_m3u(tmp_path: Path) -> None:
    write_tone(tmp_path / "songs" / "Café été.ogg", 440, 0.2)
    (tmp_path / "u.m3u8").write_text("songs/Café été.ogg\n", encoding="utf-8")
    (tmp_path / "l.m3u").write_bytes("songs/Café été.ogg\n".encode("latin-1"))
    found = Library([tmp_path]).scan()
    assert titles(found["u"]) == ["Café été"]
    assert titles(found["l"]) == ["Café été"]


def test_pls_files_numbers_titles_and_order(music: Path, tmp_path: Path) -> None:
    pls = tmp_path / "list.pls"
    pls.write_text(
        "[playlist]\n"
        f"File2={music / 'upbeat' / 'd.wav'}\n"
        "Title2=Second\n"
        f"file1={music / 'calm' / 'b.flac'}\n"
        "File3=http://example.com/x.ogg\n"
        "File4=nothing.ogg\n"
        "NumberOfEntries=4\n"
        "Version=2\n"
    )
    assert titles(read_playlist_file(pls)) == ["Beta", "Second"]


def test_parsers_directly() -> None:
    assert parse_m3u("#EXTM3U\n#EXTINF:12,Artist - Song\na.ogg\n\n# note\nb.ogg\n") == [
        ("a.ogg", "Artist - Song"),
        ("b.ogg", ""),
    ]
    assert parse_pls("[playlist]\nFile10=z\nFile2=y\nTitle10=Zed\nNumberOfEntries=x\n") == [
        ("y", ""),
        ("z", "Zed"),
    ]


def test_playlists_inside_playlists_are_not_followed(music: Path, tmp_path: Path) -> None:
    loop = tmp_path / "loop.m3u"
    other = tmp_path / "other.m3u"
    loop.write_text(f"loop.m3u\nother.m3u\n{music / 'loose.ogg'}\n")
    other.write_text("loop.m3u\n")
    found = Library([tmp_path]).scan()
    assert titles(found["loop"]) == ["loose"]
    assert "other" not in found  # nothing playable in it


def test_binary_and_huge_playlists_are_bounded(
    music: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "binary.m3u").write_bytes(bytes(range(256)) * 64)
    monkeypatch.setattr(lib, "MAX_PLAYLIST_BYTES", 64 * 1024)
    monkeypatch.setattr(lib, "MAX_ENTRIES", 50)
    line = f"{music / 'loose.ogg'}\n"
    (tmp_path / "huge.m3u").write_text(line * 20_000)  # far beyond both bounds
    (tmp_path / "junk.m3u").write_text("".join(f"gone/{n}.ogg\n" for n in range(45)))
    with caplog.at_level(logging.INFO, logger="app.music.library"):
        found = Library([tmp_path]).scan()
    assert "binary" not in found
    assert len(found["huge"]) == 50
    # Skipped entries are logged one by one only up to a bound, then counted.
    junk = [r.getMessage() for r in caplog.records if "junk.m3u" in r.getMessage()]
    assert len([m for m in junk if m.startswith("skipped 'gone/")]) == lib.MAX_LOGGED_SKIPS
    assert any("45 entries skipped in all" in m for m in junk)


def test_folder_walk_survives_a_link_loop(music: Path, tmp_path: Path) -> None:
    folder = tmp_path / "root" / "looped"
    write_tone(folder / "x.ogg", 440, 0.2)
    (folder / "again").symlink_to(folder, target_is_directory=True)
    found = Library([tmp_path / "root"]).scan()
    assert titles(found["looped"]) == ["x"]


def test_same_name_in_two_roots_the_later_wins(music: Path, tmp_path: Path) -> None:
    write_tone(tmp_path / "calm" / "mine.ogg", 440, 0.2)
    found = Library([music, tmp_path]).scan()
    assert titles(found["calm"]) == ["mine"]
    found = Library([tmp_path, music]).scan()
    assert titles(found["calm"]) == ["Alpha", "Beta"]


def test_missing_and_odd_roots_are_skipped(music: Path, tmp_path: Path) -> None:
    (tmp_path / "note.txt").write_text("hi")
    found = Library([tmp_path / "nope", tmp_path / "note.txt", music / "calm"]).scan()
    assert list(found) == ["calm"]


def test_default_library_orders_shipped_user_extra(tmp_path: Path) -> None:
    library = default_library([tmp_path])
    assert library.folders == (paths.playlists_dir(), paths.user_playlists_dir(), tmp_path)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=2000))
def test_parsers_never_crash_on_any_text(text: str) -> None:
    for entry, title in parse_m3u(text):
        assert entry and not entry.startswith("#") and isinstance(title, str)
    for entry, _title in parse_pls(text):
        assert isinstance(entry, str)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".m3u", ".m3u8", ".pls"]))
def test_playlist_files_with_any_bytes_never_crash(
    tmp_path: Path, data: bytes, suffix: str
) -> None:
    target = tmp_path / f"fuzz{suffix}"
    target.write_bytes(data)
    playlist = read_playlist_file(target)
    assert playlist is None or all(t.path.is_file() for t in playlist.tracks)


names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="#"),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip() == s and "://" not in s)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(names, st.text(max_size=20).map(str.strip)), max_size=20))
def test_m3u_round_trip(entries: list[tuple[str, str]]) -> None:
    entries = [(e, t.replace("\r", "").replace("\n", "")) for e, t in entries]
    lines = ["#EXTM3U"]
    for entry, title in entries:
        if title:
            lines.append(f"#EXTINF:-1,{title}")
        lines.append(entry)
    parsed = parse_m3u("\r\n".join(lines))
    assert parsed == [(e, t.strip()) for e, t in entries]


def test_windows_separators_in_a_playlist_are_understood(tmp_path: Path) -> None:
    write_tone(tmp_path / "sub" / "deeper" / "w.ogg", 440, 0.2, title="Win")
    (tmp_path / "win.m3u").write_bytes(b"#EXTM3U\r\nsub\\deeper\\w.ogg\r\n")
    (tmp_path / "win.pls").write_bytes(b"[playlist]\r\nFile1=sub\\deeper\\w.ogg\r\n")
    assert titles(read_playlist_file(tmp_path / "win.m3u")) == ["Win"]
    assert titles(read_playlist_file(tmp_path / "win.pls")) == ["Win"]


# -- the adversarial findings of issue 12 ------------------------------------------------------


def _scan_in_thread(folders: list[Path], seconds: float = 30.0) -> dict[str, lib.Playlist]:
    import threading

    found: dict[str, dict[str, lib.Playlist]] = {}
    library = Library(folders)
    thread = threading.Thread(target=lambda: found.setdefault("p", library.scan()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the scan hung"
    return found["p"]


def test_a_fifo_named_m3u_is_refused_not_opened(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write_tone(root / "calm" / "a.ogg", 300, 0.3)
    os.mkfifo(root / "hang.m3u")
    os.mkfifo(root / "hang.m3u8")
    playlists = _scan_in_thread([root, root / "hang.m3u"])
    assert list(playlists) == ["calm"]
    with pytest.raises(OSError, match="not a regular file"):
        lib.read_playlist_text(root / "hang.m3u")


def test_a_link_to_the_root_of_the_disk_is_not_followed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "root"
    write_tone(root / "calm" / "a.ogg", 300, 0.3)
    (root / "everything").symlink_to("/")
    (root / "calm" / "deeper").symlink_to("/usr")
    write_tone(tmp_path / "inside" / "b.ogg", 400, 0.3)
    (root / "linked").symlink_to(tmp_path / "inside")  # outside this root as well
    with caplog.at_level(logging.INFO, logger="app.music.library"):
        playlists = _scan_in_thread([root])
    assert set(playlists) == {"calm"}
    assert [t.path.name for t in playlists["calm"].tracks] == ["a.ogg"]
    assert caplog.text.count("a link out of the library folder is not followed") == 3


def test_a_link_inside_the_root_is_still_followed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write_tone(root / "store" / "a.ogg", 300, 0.3)
    (root / "calm").mkdir()
    (root / "calm" / "store").symlink_to(root / "store")
    assert titles(_scan_in_thread([root])["calm"]) == ["a"]


def test_a_utf8_m3u_with_one_stray_byte_keeps_its_other_non_ascii_entries(
    tmp_path: Path,
) -> None:
    write_tone(tmp_path / "songs" / "Café été.ogg", 300, 0.3)
    write_tone(tmp_path / "songs" / "Ærø.ogg", 400, 0.3)
    text = "songs/Café été.ogg\n#EXTINF:1,bad \xff byte\nsongs/Ærø.ogg\n"
    raw = text.encode("utf-8").replace("\xff".encode(), b"\xff")
    (tmp_path / "mix.m3u").write_bytes(raw)
    playlist = read_playlist_file(tmp_path / "mix.m3u")
    assert playlist is not None
    assert [t.path.name for t in playlist.tracks] == ["Café été.ogg", "Ærø.ogg"]


def test_unc_entries_are_never_looked_at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    looked: list[str] = []
    real_exists = Path.exists

    def exists(self: Path, *args: object, **kwargs: object) -> bool:
        looked.append(str(self))
        return real_exists(self)

    monkeypatch.setattr(Path, "exists", exists)
    for entry in ("\\\\host\\share\\x.mp3", "//host/share/x.mp3", "file://host/share/x.mp3"):
        assert lib.resolve_entry(tmp_path, entry) is None
    assert not any("host" in p for p in looked)
    assert lib.resolve_entry(tmp_path, "file:///tmp/x.mp3") == Path("/tmp/x.mp3")


def test_a_folder_over_the_limit_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "root"
    for index in range(5):
        write_tone(root / "big" / f"{index}.wav", 300 + index * 10, 0.1)
    monkeypatch.setattr(lib, "MAX_FOLDER_FILES", 3)
    library = Library([root])
    playlists = library.scan()
    assert len(playlists["big"]) == 3
    assert library.notes == [
        f"The folder {root / 'big'} has more than 3 files: only the first 3 are in its playlist."
    ]

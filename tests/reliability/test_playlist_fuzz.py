"""M3U and PLS files of any shape: no crash, no hang, and only existing audio files come out.

Property-based (hypothesis), ``MOODPLAYER_FUZZ_EXAMPLES`` cases per property (300 in
``make test``, 10,000 in ``make soak``):

* well-formed playlists that mix good entries (relative, absolute, ``file://``, Windows
  separators, ``#EXTINF`` titles) with junk (URLs, missing files, broken files, directories, other
  playlists, comments, nonsense, NUL bytes), in UTF-8, UTF-8 with BOM, UTF-16 or Latin-1, with LF
  or CRLF: exactly the good entries come out, in order;
* anything at all (random bytes, and well-formed playlists with bytes flipped, cut or inserted):
  no exception, and every track is one of the real audio files.

A hang is caught by pytest-timeout (scaled with the number of cases); a single read of one of
these small files that takes longer than ``SLOW_READ_S`` fails its case, and the slowest read is
printed at the end of the module (``-s``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from audio_files import tone, write_wav
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.music import library as lib
from app.music.library import Library, read_playlist_file

FUZZ_EXAMPLES = int(os.environ.get("MOODPLAYER_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=FUZZ_EXAMPLES <= 300,  # make test: the same cases every run
)
# pytest-timeout for one property: generous, scaled with the cases (a real hang still trips it)
TIMEOUT_S = max(120, FUZZ_EXAMPLES // 20)

GOOD_NAMES = ["good one.wav", "Grüße ä.wav", "deep/nested/third.wav"]
BAD_NAMES = ["empty.ogg", "random.ogg", "notes.mp3"]


@dataclass(frozen=True)
class Music:
    root: Path
    good: dict[str, Path]  # name -> path, each a real, playable file

    @property
    def allowed(self) -> set[Path]:
        return set(self.good.values())


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Music:
    root = tmp_path_factory.mktemp("fuzzmusic")
    good = {}
    for i, name in enumerate(GOOD_NAMES):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        good[name] = write_wav(path, tone(300 + 100 * i, 0.1))
    (root / "empty.ogg").write_bytes(b"")
    rng = np.random.default_rng(3)
    (root / "random.ogg").write_bytes(rng.integers(0, 256, 2048, dtype=np.uint8).tobytes())
    (root / "notes.mp3").write_text("not music\n" * 10)
    (root / "other.m3u").write_text("good one.wav\n")
    (root / "a folder.ogg").mkdir()
    return Music(root, good)


# one read of a playlist of a few kB: milliseconds on any machine; seconds means a runaway loop
SLOW_READ_S = 5.0
_SLOWEST = {"seconds": 0.0, "cases": 0}


@pytest.fixture(scope="module", autouse=True)
def _report_slowest_read() -> Iterator[None]:
    yield
    if _SLOWEST["cases"]:
        print(
            f"\n[reliability] playlist fuzz: {_SLOWEST['cases']} cases "
            f"({FUZZ_EXAMPLES} per property), slowest read {_SLOWEST['seconds'] * 1000:.1f} ms"
        )


def _timed_read(path: Path) -> lib.Playlist | None:
    started = time.perf_counter()
    result = read_playlist_file(path)
    seconds = time.perf_counter() - started
    _SLOWEST["seconds"] = max(_SLOWEST["seconds"], seconds)
    _SLOWEST["cases"] += 1
    assert seconds < SLOW_READ_S, f"reading {path.stat().st_size} bytes took {seconds:.1f} s"
    return result


# -- well-formed playlists with known content ------------------------------------------------------

line_text = st.text(
    alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=40
)


@st.composite
def good_entry(draw: st.DrawFn, music: Music) -> tuple[str, Path]:
    name = draw(st.sampled_from(GOOD_NAMES))
    path = music.good[name]
    form = draw(st.sampled_from(["relative", "dot", "absolute", "file-url", "windows", "spaces"]))
    text = {
        "relative": name,
        "dot": f"./{name}",
        "absolute": str(path),
        "file-url": "file://" + quote(str(path)),
        "windows": name.replace("/", "\\"),
        "spaces": f"  {name}\t",
    }[form]
    return text, path


def junk_entry(music: Music) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(
            [
                "http://example.com/stream.mp3",
                "https://radio.invalid/live",
                "rtsp://cam/1",
                "missing.ogg",
                "../../etc/passwd",
                "/dev/zero",
                "/dev/null.mp3",
                "a folder.ogg",
                "other.m3u",
                "deep",
                "deep/nested",
                str(music.root / "nowhere.flac"),
                "file:///does/not/exist.ogg",
                "bad\x00name.ogg",
                "x" * 5000 + ".ogg",
                *BAD_NAMES,
            ]
        ),
        line_text.filter(lambda t: "=" not in t and not t.strip().startswith("#")),
    )


def encode(text: str, encoding: str, crlf: bool) -> bytes:
    if crlf:
        text = text.replace("\n", "\r\n")
    if encoding == "latin-1":
        try:
            return text.encode("latin-1")
        except UnicodeEncodeError:
            encoding = "utf-8"
    return text.encode(encoding)


encodings = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"])


@st.composite
def m3u_case(draw: st.DrawFn, music: Music) -> tuple[bytes, list[Path]]:
    lines = ["#EXTM3U"] if draw(st.booleans()) else []
    expected: list[Path] = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["good", "junk", "comment", "extinf", "blank"]))
        if kind == "good":
            text, path = draw(good_entry(music))
            lines.append(text)
            expected.append(path)
        elif kind == "junk":
            lines.append(draw(junk_entry(music)))
        elif kind == "comment":
            lines.append("#" + draw(line_text))
        elif kind == "extinf":
            lines.append(f"#EXTINF:{draw(st.integers(-5, 10**6))},{draw(line_text)}")
        else:
            lines.append(draw(st.sampled_from(["", "   ", "\t"])))
    text = "\n".join(lines) + draw(st.sampled_from(["", "\n"]))
    return encode(text, draw(encodings), draw(st.booleans())), expected


@st.composite
def pls_case(draw: st.DrawFn, music: Music) -> tuple[bytes, list[Path]]:
    count = draw(st.integers(0, 10))
    numbers = draw(st.lists(st.integers(1, 999_999), min_size=count, max_size=count, unique=True))
    lines = ["[playlist]"] if draw(st.booleans()) else []
    by_number: dict[int, Path] = {}
    for number in numbers:
        if draw(st.booleans()):
            text, path = draw(good_entry(music))
            by_number[number] = path
        else:
            text = draw(junk_entry(music))
        key = draw(st.sampled_from(["File", "file", "FILE"]))
        lines.append(f"{key}{number}={text}")
        if draw(st.booleans()):
            lines.append(f"Title{number}={draw(line_text)}")
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from([";comment", "# note", "Version=2", "Length1=-1"])))
    if draw(st.booleans()):
        lines.append(f"NumberOfEntries={draw(st.integers(-3, 10**9))}")
    order = draw(st.permutations(lines))
    text = "\n".join(order)
    expected = [by_number[n] for n in sorted(by_number)]
    return encode(text, draw(encodings), draw(st.booleans())), expected


def _is_utf(raw: bytes) -> bool:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _check_only_real_audio(result: lib.Playlist | None, music: Music) -> None:
    if result is None:
        return
    assert result.tracks
    assert len(result.tracks) <= lib.MAX_ENTRIES
    for track in result.tracks:
        assert track.path in music.allowed, track.path
        assert track.path.is_file()
        assert track.path.suffix.lower() in lib.AUDIO_SUFFIXES
        assert track.duration > 0


def _write(music: Music, suffix: str, raw: bytes) -> Path:
    path = music.root / f"fuzzed{suffix}"
    path.write_bytes(raw)
    return path


@pytest.mark.timeout(TIMEOUT_S)
def test_m3u_gives_exactly_its_good_entries(music: Music) -> None:
    @FUZZ
    @given(m3u_case(music), st.sampled_from([".m3u", ".m3u8"]))
    def check(case: tuple[bytes, list[Path]], suffix: str) -> None:
        raw, expected = case
        if suffix == ".m3u8" and not _is_utf(raw):
            suffix = ".m3u"  # M3U8 is UTF-8 by definition; Latin-1 text is read as plain M3U
        result = _timed_read(_write(music, suffix, raw))
        _check_only_real_audio(result, music)
        got = [t.path for t in result.tracks] if result is not None else []
        assert got == expected

    check()


@pytest.mark.timeout(TIMEOUT_S)
def test_pls_gives_exactly_its_good_entries(music: Music) -> None:
    @FUZZ
    @given(pls_case(music))
    def check(case: tuple[bytes, list[Path]]) -> None:
        raw, expected = case
        result = _timed_read(_write(music, ".pls", raw))
        _check_only_real_audio(result, music)
        got = [t.path for t in result.tracks] if result is not None else []
        assert got == expected

    check()


# -- anything at all -----------------------------------------------------------------------------


@st.composite
def mangled(draw: st.DrawFn, music: Music) -> bytes:
    """A well-formed playlist with bytes flipped, cut out or stuck in, or pure random bytes."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=2000))
    raw, _ = draw(st.one_of(m3u_case(music), pls_case(music)))
    data = bytearray(raw)
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        at = draw(st.integers(0, len(data)))
        if op == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[at : at + draw(st.integers(1, 16))]
        elif op == "insert":
            data[at:at] = draw(
                st.one_of(
                    st.binary(max_size=16),
                    st.sampled_from(
                        [b"\x00", b"\r", b"\n", b"\xef\xbb\xbf", b"\xff\xfe", b"=", b"#"]
                    ),
                )
            )
        else:
            del data[at:]
    return bytes(data)


@pytest.mark.timeout(TIMEOUT_S)
@pytest.mark.parametrize("suffix", [".m3u", ".m3u8", ".pls"])
def test_any_bytes_never_crash_and_give_only_real_audio(music: Music, suffix: str) -> None:
    @FUZZ
    @given(mangled(music))
    # found by the 10,000-case soak: "²".isdigit() is True but int("²") fails (Latin-1 text)
    @example(b"[playlist]\nFile\xb2=good one.wav\nNumberOfEntries=\xb2\nFile1=good one.wav\n")
    @example("File\u0663=good one.wav\nFile\u00b9=x\n".encode())
    def check(raw: bytes) -> None:
        _check_only_real_audio(_timed_read(_write(music, suffix, raw)), music)

    check()


def test_giant_playlists_are_cut_short_not_followed_forever(music: Music, caplog) -> None:
    """Bounded reading: 50,000 entries, an 8 MB file, a 1 MB line, a PLS with 20,000 numbers."""
    started = time.perf_counter()
    big = music.root / "giant.m3u"
    # the one good entry comes after the 10,000-entry cut, so it must not be reached
    big.write_text("missing.ogg\n" * 50_000 + "good one.wav\n")
    assert read_playlist_file(big) is None
    assert f"more than {lib.MAX_ENTRIES} entries" in caplog.text
    huge = music.root / "huge.m3u"
    huge.write_bytes(b"x" * (lib.MAX_PLAYLIST_BYTES * 2) + b"\ngood one.wav\n")
    assert read_playlist_file(huge) is None  # only the first 4 MB are read: one junk line
    pls = music.root / "numbers.pls"
    pls.write_text("".join(f"File{10**6 - i}=nowhere.ogg\n" for i in range(20_000)))
    assert read_playlist_file(pls) is None
    # and the library scan of the whole folder (every file above, the fuzz leftovers) survives
    scanned = Library([music.root]).scan()
    assert scanned
    for playlist in scanned.values():
        _check_only_real_audio(playlist, music)
    print(
        f"\n[reliability] giant playlists: 50,000 entries cut at {lib.MAX_ENTRIES}, an 8 MB file "
        f"read to {lib.MAX_PLAYLIST_BYTES // 2**20} MB; {time.perf_counter() - started:.1f} s real"
    )


@pytest.mark.soak
def test_soak_ten_thousand_real_tracks_in_one_playlist(music: Music) -> None:
    big = music.root / "many.m3u"
    big.write_text("good one.wav\n" * 50_000)
    started = time.perf_counter()
    result = read_playlist_file(big)
    assert result is not None and len(result.tracks) == lib.MAX_ENTRIES
    print(
        f"\n[reliability] a 50,000-line M3U of real files: {len(result.tracks)} tracks read in "
        f"{time.perf_counter() - started:.1f} s"
    )

"""The default music that ships in playlists/: present, tagged, small, and really playable."""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from mutagen.oggvorbis import OggVorbis

from app.settings import DEFAULT_PLAYLISTS, STRATEGY_MAPPINGS

soundfile = pytest.importorskip("soundfile")

PLAYLISTS = Path(__file__).resolve().parents[2] / "playlists"
MAX_TOTAL_BYTES = 10 * 1000 * 1000


def _tracks(name: str) -> list[Path]:
    return sorted((PLAYLISTS / name).glob("*.ogg"))


ALL_TRACKS = [path for name in DEFAULT_PLAYLISTS for path in _tracks(name)]


def test_every_default_and_mapped_playlist_has_at_least_three_tracks():
    wanted = set(DEFAULT_PLAYLISTS)
    for mapping in STRATEGY_MAPPINGS.values():
        wanted |= set(mapping.values())
    for name in sorted(wanted):
        assert len(_tracks(name)) >= 3, f"playlists/{name}/ needs at least three OGG tracks"


def test_all_default_music_fits_in_ten_megabytes():
    total = sum(p.stat().st_size for p in PLAYLISTS.rglob("*") if p.is_file())
    assert 0 < total <= MAX_TOTAL_BYTES


@pytest.mark.parametrize("path", ALL_TRACKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_track_is_tagged_vorbis_of_30_to_90_seconds(path: Path):
    ogg = OggVorbis(path)
    assert 30.0 <= ogg.info.length <= 90.0
    assert ogg.info.channels == 2
    for key in ("title", "artist", "album", "genre"):
        assert ogg.get(key) and ogg[key][0].strip(), f"{path.name} has no {key} tag"
    assert ogg["artist"] == ["MoodPlayer"]
    assert ogg["album"] == [path.parent.name]


def test_titles_are_unique():
    titles = [OggVorbis(p)["title"][0] for p in ALL_TRACKS]
    assert len(titles) == len(set(titles)) >= 18


@pytest.mark.parametrize("path", ALL_TRACKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_track_decodes_to_music_level_audio_without_clipping(path: Path):
    with soundfile.SoundFile(path) as f:
        f.seek(int(10 * f.samplerate))  # a stretch from the body of the piece
        audio = f.read(int(4 * f.samplerate), dtype="float64", always_2d=True)
    assert audio.shape == (4 * 44100, 2)
    rms_db = 20 * np.log10(np.sqrt(np.mean(audio**2)))
    peak_db = 20 * np.log10(np.max(np.abs(audio)))
    assert -26.0 < rms_db < -12.0, f"{path.name}: RMS {rms_db:.1f} dBFS"
    assert peak_db < -0.5, f"{path.name}: peak {peak_db:.1f} dBFS"
    assert np.max(np.abs(audio.mean(axis=0))) < 0.01  # no DC offset
    # stereo, not two copies of one channel
    assert np.mean((audio[:, 0] - audio[:, 1]) ** 2) > 1e-5


def test_pygame_loads_and_plays_every_track():
    pygame = pytest.importorskip("pygame")
    was_initialised = pygame.mixer.get_init() is not None
    if not was_initialised:
        pygame.mixer.init(frequency=44100)
    try:
        for path in ALL_TRACKS:
            pygame.mixer.music.load(str(path))
            pygame.mixer.music.play()
            assert pygame.mixer.music.get_busy(), f"pygame does not play {path}"
            pygame.mixer.music.stop()
        pygame.mixer.music.unload()
        # and the samples pygame decodes are music, not silence
        sound = pygame.mixer.Sound(str(ALL_TRACKS[0]))
        samples = pygame.sndarray.array(sound)
        assert samples.shape[0] > 30 * pygame.mixer.get_init()[0]
        assert np.abs(samples.astype(np.float64)).mean() > 100
    finally:
        if not was_initialised:
            pygame.mixer.quit()


@functools.cache
def _make_music():
    """The generator script (not a package module) loaded from playlists/make_music.py."""
    spec = importlib.util.spec_from_file_location("make_music", PLAYLISTS / "make_music.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_music", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_shipped_files_are_the_ones_the_script_makes():
    mm = _make_music()
    expected = {}
    for playlist in DEFAULT_PLAYLISTS:
        specs = [s for s in mm.TRACKS if s.playlist == playlist]
        for number, spec in enumerate(specs, 1):
            expected[mm.track_path(spec, number, PLAYLISTS)] = spec.title
    assert set(expected) == set(ALL_TRACKS)
    for path, title in expected.items():
        assert OggVorbis(path)["title"] == [title]


def test_limiter_keeps_peaks_under_the_ceiling_and_leaves_quiet_parts_alone():
    mm = _make_music()
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 0.05, (2, 44100))
    x[:, 20000:20050] += 1.5  # a loud spike
    y = mm.limit(x, -3.0)
    assert mm.peak_db(y) <= -3.0 + 1e-9
    np.testing.assert_array_equal(y[:, :10000], x[:, :10000])


def test_running_min_matches_the_obvious_definition():
    mm = _make_music()
    rng = np.random.default_rng(7)
    for n, w in ((1, 1), (10, 3), (257, 16), (1000, 999)):
        g = rng.random(n)
        expected = [g[i : i + w].min() for i in range(n)]
        np.testing.assert_array_equal(mm._running_min(g, w), expected)


def test_fast_fft_length_has_only_small_prime_factors():
    mm = _make_music()
    for n in (1, 7, 97, 1000, 44101, 2_750_003):
        m = mm.fast_len(n)
        assert n <= m < 2 * n or m == 1
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        assert m == 1

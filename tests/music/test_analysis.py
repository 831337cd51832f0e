"""Features from generated music of known character, in every format, with and without tags."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest
from mood_music import RATE, bright_fast_major, dark_slow_minor, piece, write_audio

from app.music import decode, moods
from app.music.analysis import analyse_file, features_from_excerpts
from app.music.tags import read_tags

HAVE_AV = importlib.util.find_spec("av") is not None
SOUNDFILE_FORMATS = [".wav", ".flac", ".ogg", ".opus", ".mp3"]
FORMATS = [*SOUNDFILE_FORMATS, ".m4a"]


@pytest.fixture(scope="session")
def music(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """bright/dark pieces in every format (M4A as AAC and ALAC when PyAV is there)."""
    folder = tmp_path_factory.mktemp("mood-music")
    bright = bright_fast_major()
    dark = dark_slow_minor()
    made: dict[str, Path] = {}
    for suffix in SOUNDFILE_FORMATS + ([".m4a"] if HAVE_AV else []):
        made[f"bright{suffix}"] = write_audio(folder / f"bright{suffix}", bright)
        made[f"dark{suffix}"] = write_audio(folder / f"dark{suffix}", dark)
    if HAVE_AV:
        made["bright-alac.m4a"] = write_audio(folder / "bright-alac.m4a", bright, codec="alac")
    return made


def _need(suffix: str) -> None:
    if suffix == ".m4a" and not HAVE_AV:
        pytest.skip("M4A needs PyAV (the 'ffmpeg' extra)")


@pytest.mark.parametrize("suffix", FORMATS)
def test_fast_loud_bright_major_has_more_energy_and_valence_than_slow_quiet_minor(
    music: dict[str, Path], suffix: str
) -> None:
    _need(suffix)
    bright = analyse_file(music[f"bright{suffix}"])
    dark = analyse_file(music[f"dark{suffix}"])
    assert bright.features.energy > dark.features.energy + 0.3
    assert bright.features.valence > dark.features.valence + 0.3
    assert bright.features.loudness > dark.features.loudness + 15
    assert bright.features.brightness > dark.features.brightness
    assert bright.features.onset_rate > dark.features.onset_rate
    assert bright.features.key == "C major"
    assert dark.features.key == "A minor"
    assert bright.features.major > 0.5 > dark.features.major
    assert bright.mood in ("upbeat", "energetic")
    assert dark.mood in ("melancholy", "calm")
    assert bright.mood_source == "audio"
    assert bright.gain_source == "measured"
    assert bright.replaygain_db == pytest.approx(-18 - bright.features.loudness, abs=0.02)
    assert bright.duration == pytest.approx(12.0, abs=0.2)


def test_the_formats_agree_with_each_other(music: dict[str, Path]) -> None:
    reference = analyse_file(music["bright.wav"]).features
    for suffix in FORMATS[1:]:
        if suffix == ".m4a" and not HAVE_AV:
            continue
        other = analyse_file(music[f"bright{suffix}"]).features
        assert other.loudness == pytest.approx(reference.loudness, abs=1.0), suffix
        assert other.energy == pytest.approx(reference.energy, abs=0.06), suffix


def test_alac_decodes_to_the_same_samples_as_wav(music: dict[str, Path]) -> None:
    if not HAVE_AV:
        pytest.skip("ALAC needs PyAV")
    alac = decode.decode_excerpts(music["bright-alac.m4a"])
    wav = decode.decode_excerpts(music["bright.wav"])
    assert alac.decoder == "pyav"
    size = min(alac.clips[0].shape[1], wav.clips[0].shape[1])
    assert size > RATE * 11
    assert np.abs(alac.clips[0][:, :size] - wav.clips[0][:, :size]).max() < 1e-3


def test_tempo_of_a_plain_pulse() -> None:
    for bpm in (72, 120, 150):
        samples = piece(bpm=bpm, seconds=12)
        excerpts = decode.Excerpts((samples[None, :],), RATE, 12.0, "test")
        tempo = features_from_excerpts(excerpts).tempo
        assert tempo == pytest.approx(bpm, rel=0.04), bpm


def test_long_tracks_are_read_in_three_excerpts_at_20_50_80_percent(tmp_path: Path) -> None:
    rate = 8000
    seconds = 60
    # each second has its own frequency: 200 Hz + 10 Hz per second
    t = np.arange(rate) / rate
    samples = np.concatenate([0.5 * np.sin(2 * np.pi * (200 + 10 * s) * t) for s in range(seconds)])
    path = write_audio(tmp_path / "long.flac", samples.astype(np.float32), rate)
    excerpts = decode.decode_excerpts(path)
    assert len(excerpts.clips) == 3
    assert excerpts.duration == pytest.approx(60.0)
    for clip, start in zip(excerpts.clips, (7, 25, 43), strict=True):  # 12-5, 30-5, 48-5
        assert clip.shape[1] == 10 * rate
        first = clip[0, : rate // 2]
        spectrum = np.abs(np.fft.rfft(first))
        freq = np.argmax(spectrum) * rate / len(first)
        assert freq == pytest.approx(200 + 10 * start, abs=6)


@pytest.mark.skipif(not HAVE_AV, reason="needs PyAV")
def test_pyav_excerpts_start_where_soundfile_ones_do(tmp_path: Path) -> None:
    rate = 8000
    t = np.arange(rate) / rate
    samples = np.concatenate([0.5 * np.sin(2 * np.pi * (200 + 10 * s) * t) for s in range(60)])
    path = write_audio(tmp_path / "long.flac", samples.astype(np.float32), rate)
    a = decode.decode_excerpts(path, decoders=["soundfile"])
    b = decode.decode_excerpts(path, decoders=["pyav"])
    for x, y in zip(a.clips, b.clips, strict=True):
        assert np.abs(x - y).max() < 1e-3


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg program")
def test_the_ffmpeg_program_backend(music: dict[str, Path]) -> None:
    excerpts = decode.decode_excerpts(music["bright.ogg"], decoders=["ffmpeg"])
    assert excerpts.decoder == "ffmpeg"
    assert excerpts.seconds == pytest.approx(12.0, abs=0.1)


def test_damaged_and_empty_files_raise_decode_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for name in ("noise.mp3", "noise.ogg", "noise.flac", "noise.m4a", "noise.wav"):
        path = tmp_path / name
        path.write_bytes(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
        with pytest.raises(decode.DecodeError):
            analyse_file(path)
    empty = tmp_path / "empty.ogg"
    empty.write_bytes(b"")
    with pytest.raises(decode.DecodeError):
        decode.decode_excerpts(empty)


def test_a_file_with_no_decoder_says_what_to_install(tmp_path: Path) -> None:
    path = tmp_path / "x.xyz"
    path.write_bytes(b"1234")
    with pytest.raises(decode.DecodeError, match=r"no decoder for \.xyz"):
        decode.decode_excerpts(path)
    # AAC/M4A with neither FFmpeg decoder installed: how to get one
    m4a = tmp_path / "x.m4a"
    m4a.write_bytes(b"1234")
    with pytest.raises(decode.DecodeError) as raised:
        decode.decode_excerpts(m4a, decoders=[])
    assert str(raised.value) == (
        "needs FFmpeg: install the ffmpeg program or `pip install moodplayer[ffmpeg]`"
    )


def _tag_vorbis(path: Path, **tags: str) -> None:
    import mutagen

    audio = mutagen.File(path)
    for key, value in tags.items():
        audio[key] = value
    audio.save()


def _tag_id3(path: Path, bpm: str = "", mood: str = "", gain: str = "", genre: str = "") -> None:
    from mutagen.id3 import ID3, TBPM, TCON, TMOO, TXXX

    tags = ID3()
    if bpm:
        tags.add(TBPM(encoding=3, text=bpm))
    if mood:
        tags.add(TMOO(encoding=3, text=mood))
    if gain:
        tags.add(TXXX(encoding=3, desc="REPLAYGAIN_TRACK_GAIN", text=gain))
        tags.add(TXXX(encoding=3, desc="REPLAYGAIN_TRACK_PEAK", text="0.98"))
    if genre:
        tags.add(TCON(encoding=3, text=genre))
    tags.save(path)


def test_tags_win_bpm_mood_and_replaygain_id3(music: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "tagged.mp3"
    shutil.copy(music["dark.mp3"], path)
    plain = analyse_file(path)
    _tag_id3(path, bpm="174", mood="Happy", gain="-7.5 dB")
    tags = read_tags(path)
    assert tags.bpm == 174 and tags.mood == "Happy" and tags.replaygain_db == -7.5
    assert tags.peak == pytest.approx(0.98)
    tagged = analyse_file(path)
    assert tagged.features.tempo == 174
    assert tagged.mood == "upbeat" and tagged.mood_source == "tag"
    assert tagged.replaygain_db == -7.5 and tagged.gain_source == "tag"
    assert plain.mood_source == "audio" and plain.gain_source == "measured"
    assert tagged.features.loudness == pytest.approx(plain.features.loudness, abs=0.01)


def test_tags_in_vorbis_comments_flac_and_r128_in_opus(
    music: dict[str, Path], tmp_path: Path
) -> None:
    flac = tmp_path / "tagged.flac"
    shutil.copy(music["bright.flac"], flac)
    _tag_vorbis(flac, bpm="128", mood="melancholic", replaygain_track_gain="+2.10 dB")
    analysis = analyse_file(flac)
    assert analysis.features.tempo == 128
    assert analysis.mood == "melancholy" and analysis.mood_source == "tag"
    assert analysis.replaygain_db == pytest.approx(2.1)
    opus = tmp_path / "tagged.opus"
    shutil.copy(music["bright.opus"], opus)
    _tag_vorbis(opus, r128_track_gain="-1280")  # -5 dB to -23 LUFS = 0 dB to -18 LUFS
    assert read_tags(opus).replaygain_db == pytest.approx(0.0)


def test_a_genre_nudges_the_features(music: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "genre.mp3"
    shutil.copy(music["bright.mp3"], path)
    plain = analyse_file(path).features
    _tag_id3(path, genre="Ambient")
    nudged = analyse_file(path).features
    assert nudged.energy < plain.energy - 0.1


def test_nonsense_tags_are_ignored(music: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "odd.mp3"
    shutil.copy(music["bright.mp3"], path)
    _tag_id3(path, bpm="fast", mood="\x00\x00", gain="loud")
    tags = read_tags(path)
    assert tags.bpm is None and tags.replaygain_db is None and tags.mood == ""
    assert analyse_file(path).mood_source == "audio"


def test_a_mood_named_folder_sets_the_mood(music: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "calm" / "x.mp3"
    path.parent.mkdir()
    shutil.copy(music["bright.mp3"], path)
    analysis = analyse_file(path)
    assert analysis.mood == "calm" and analysis.mood_source == "folder"


def test_mood_regions() -> None:
    for region in moods.REGIONS:
        assert moods.mood_at(region.energy, region.valence) == region.name
    assert moods.mood_at(0.95, 0.05) == "intense"
    assert moods.mood_at(0.05, 0.05) == "melancholy"
    assert moods.mood_from_words("Relaxed") == "calm"
    assert moods.mood_from_words("aggressive, dark") == "intense"
    assert moods.mood_from_words("") is None
    assert moods.mood_from_words("quantum") is None
    assert moods.genre_hint("Death Metal") is not None
    assert moods.genre_hint("New Age")[0] < 0.2  # type: ignore[index]

"""Loudness levelling: where a gain comes from, its limits, the tag readers, the meter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from audio_files import tone, write_flac, write_mp3, write_ogg, write_replaygain

from app.music.loudness import (
    Leveller,
    Loudness,
    integrated_lufs,
    replaygain_from_tags,
)

RATE = 44100


def test_the_meter_reads_the_bs1770_reference_tone() -> None:
    # BS.1770: a 997 Hz sine at 0 dBFS in one channel reads -3.01 LUFS; at -20 dBFS, -23.01.
    t = np.arange(3 * 48000) / 48000
    sine = np.sin(2 * np.pi * 997 * t)
    assert integrated_lufs(sine, 48000) == pytest.approx(-3.01, abs=0.05)
    assert integrated_lufs(0.1 * sine, 48000) == pytest.approx(-23.01, abs=0.05)
    assert integrated_lufs(np.stack([sine, sine], axis=1), 48000) == pytest.approx(0.0, abs=0.05)
    # Gating: a second of silence after the tone is left out (only the blocks that straddle the
    # end count, a fraction of a dB); ungated it would read -24.8.
    padded = np.concatenate([0.1 * sine, np.zeros(48000)])
    assert integrated_lufs(padded, 48000) == pytest.approx(-23.01, abs=0.3)


@pytest.mark.parametrize("writer", [write_flac, write_ogg, write_mp3])
def test_replaygain_tags_are_read_from_each_tag_kind(tmp_path: Path, writer) -> None:
    suffix = {write_flac: ".flac", write_ogg: ".ogg", write_mp3: ".mp3"}[writer]
    path = writer(tmp_path / f"t{suffix}", tone(440, 1.0, RATE), RATE)
    assert replaygain_from_tags(path) is None
    write_replaygain(path, -6.5, peak=0.5)
    found = replaygain_from_tags(path)
    assert found is not None and found.source == "replaygain"
    assert found.lufs == pytest.approx(-11.5) and found.peak == pytest.approx(0.5)


def test_opus_r128_gain_is_relative_to_minus_23(tmp_path: Path) -> None:
    import mutagen
    import soundfile

    path = tmp_path / "t.opus"
    soundfile.write(str(path), tone(440, 1.0, 48000), 48000, format="OGG", subtype="OPUS")
    audio = mutagen.File(path)
    audio["R128_TRACK_GAIN"] = str(-5 * 256)  # -5 dB in Q7.8
    audio.save()
    found = replaygain_from_tags(path)
    assert found is not None and found.lufs == pytest.approx(-18.0)


def test_tags_come_first_then_the_lookup_then_nothing(tmp_path: Path) -> None:
    tagged = write_flac(tmp_path / "a.flac", tone(440, 1.0, RATE), RATE)
    write_replaygain(tagged, -4.0)  # the track is at -14 LUFS
    plain = write_flac(tmp_path / "b.flac", tone(440, 1.0, RATE), RATE)
    unknown = write_flac(tmp_path / "c.flac", tone(440, 1.0, RATE), RATE)
    measured = {tagged: Loudness(-30.0), plain: Loudness(-24.0)}
    leveller = Leveller(lookup=measured.get)
    assert leveller.gain_db(tagged) == pytest.approx(-4.0)  # the tag, not the lookup
    assert leveller.gain_db(plain) == pytest.approx(6.0)
    assert leveller.gain_db(unknown) == 0.0
    assert leveller.gain(plain) == pytest.approx(10 ** (6 / 20))
    assert Leveller(enabled=False, lookup=measured.get).gain_db(plain) == 0.0


def test_gain_never_lifts_a_known_peak_past_full_scale_and_is_bounded() -> None:
    path = Path("/x.flac")
    assert Leveller(lookup=lambda _p: Loudness(-30.0, peak=0.5)).gain_db(path) == pytest.approx(
        6.02, abs=0.01
    )
    assert Leveller(lookup=lambda _p: Loudness(-60.0)).gain_db(path) == 12.0
    assert Leveller(lookup=lambda _p: Loudness(20.0)).gain_db(path) == -24.0


def test_a_failing_lookup_is_logged_and_plays_at_unity(caplog) -> None:
    def broken(_path: Path) -> Loudness | None:
        raise RuntimeError("database gone")

    assert Leveller(lookup=broken, read_tags=False).gain_db(Path("/x.flac")) == 0.0
    assert "database gone" in caplog.text


def test_the_library_database_lookup_fits_the_leveller(tmp_path: Path) -> None:
    from app.music.database import LoudnessLookup

    lookup = LoudnessLookup(tmp_path / "none.sqlite")  # no database yet: None, never an error
    assert Leveller(lookup=lookup, read_tags=False).gain_db(Path("/x.flac")) == 0.0

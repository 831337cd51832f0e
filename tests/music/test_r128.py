"""EBU R128 / BS.1770-4 loudness against the standard's own figures and FFmpeg's ebur128."""

from __future__ import annotations

import re
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from app.music import r128


def sine(freq: float, dbfs: float, seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("rate", [22050, 44100, 48000])
def test_1khz_sine_at_minus_20_dbfs_in_one_channel_is_minus_23_lufs(rate: int) -> None:
    # BS.1770-4 §2.1: a 0 dBFS 1 kHz sine in one channel reads -3.01 LKFS.
    value = r128.integrated_loudness([sine(1000, -20, 5, rate)[None, :]], rate)
    assert value == pytest.approx(-23.01, abs=0.05)


def test_tech_3341_case_1_stereo_sine_at_minus_23_dbfs() -> None:
    tone = sine(1000, -23, 20, 48000)
    assert r128.integrated_loudness([np.stack([tone, tone])], 48000) == pytest.approx(
        -23.0, abs=0.1
    )


def test_tech_3341_case_3_relative_gate_ignores_the_quiet_part() -> None:
    # -36 dBFS for 10 s, -23 for 60 s, -36 for 10 s: the quiet parts fall under the gate.
    rate = 48000
    parts = [sine(1000, -36, 10, rate), sine(1000, -23, 60, rate), sine(1000, -36, 10, rate)]
    tone = np.concatenate(parts)
    value = r128.integrated_loudness([np.stack([tone, tone])], rate)
    assert value == pytest.approx(-23.0, abs=0.1)


def test_silence_and_short_clips_read_as_silence() -> None:
    assert r128.integrated_loudness([np.zeros((2, 48000))], 48000) == r128.SILENCE
    assert r128.integrated_loudness([np.ones((1, 100))], 48000) == r128.SILENCE
    assert r128.integrated_loudness([], 48000) == r128.SILENCE


def test_k_weighting_shape() -> None:
    power = r128.k_weighting_power(np.array([20.0, 1000.0, 10000.0]))
    db = 10 * np.log10(power)
    assert db[0] < -10  # the high pass
    assert db[1] == pytest.approx(0.691, abs=0.1)  # what the -0.691 offset cancels
    assert db[2] == pytest.approx(4.0, abs=0.3)  # the high shelf


def test_replaygain_conversion() -> None:
    assert r128.replaygain_from_loudness(-23.0) == pytest.approx(5.0)
    assert r128.loudness_from_replaygain(-4.0) == pytest.approx(-14.0)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg program")
def test_agrees_with_ffmpeg_ebur128_on_music_like_noise(tmp_path: Path) -> None:
    rate = 44100
    rng = np.random.default_rng(1)
    noise = np.cumsum(rng.standard_normal((2, rate * 8)), axis=1)  # brown-ish, music-like tilt
    noise -= noise.mean(axis=1, keepdims=True)
    noise = noise / np.abs(noise).max() * 0.3 + 0.05 * rng.standard_normal((2, rate * 8))
    envelope = 0.3 + 0.7 * (np.sin(np.linspace(0, 20, rate * 8)) > 0)
    noise = np.clip(noise * envelope, -1, 1)
    path = tmp_path / "noise.wav"
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((noise.T * 32767).astype("<i2").tobytes())
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-nostats", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    theirs = float(re.findall(r"I:\s+(-?[\d.]+) LUFS", done.stderr)[-1])
    pcm = (noise * 32767).astype(np.int16).astype(np.float32) / 32768
    ours = r128.integrated_loudness([pcm], rate)
    assert ours == pytest.approx(theirs, abs=0.2)

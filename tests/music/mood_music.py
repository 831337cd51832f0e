"""Generated music of known character for the library tests, written in every format.

``piece(...)`` makes a chord pulse: ``bpm`` beats a minute, a triad on ``root`` (major or minor)
with a bass note, ``harmonics`` partials per note (1 = pure sines, dark; 8 = buzzy, bright), a
sharp or soft attack, at a given peak level. ``write_audio(path, samples, rate)`` writes the
format that the suffix names: WAV/FLAC/Ogg Vorbis/Opus/MP3 through soundfile (libsndfile) and
M4A (AAC or ALAC) through PyAV, so no system tool is needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

RATE = 22050


def _midi_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69.0) / 12.0)


def piece(
    *,
    bpm: float,
    root: int = 60,
    minor: bool = False,
    harmonics: int = 6,
    attack_s: float = 0.005,
    level: float = 0.8,
    seconds: float = 12.0,
    rate: int = RATE,
    hats: bool = False,
    seed: int = 0,
) -> np.ndarray:
    """Mono float32 in -1..1 (peak = ``level``)."""
    rng = np.random.default_rng(seed)
    count = int(seconds * rate)
    t = np.arange(count) / rate
    third = 3 if minor else 4
    notes = [root - 12, root, root + third, root + 7, root + 12]
    tone = np.zeros(count)
    for index, note in enumerate(notes):
        freq = _midi_hz(note)
        weight = 1.5 if index <= 1 else 1.0  # tonic in the bass and the middle
        for k in range(1, harmonics + 1):
            if freq * k > rate / 2 - 500:
                break
            tone += weight / k * np.sin(2 * np.pi * freq * k * t + rng.uniform(0, 2 * np.pi))
    beat = 60.0 / bpm
    phase = np.mod(t, beat)
    decay = np.exp(-phase / (beat * 0.35))
    rise = np.clip(phase / max(attack_s, 1e-4), 0.0, 1.0)
    signal = tone * decay * rise
    if hats:
        half = beat / 2
        hat_phase = np.mod(t, half)
        noise = rng.standard_normal(count)
        signal += 2.0 * noise * np.exp(-hat_phase / 0.015)
    signal /= np.max(np.abs(signal)) + 1e-12
    return (level * signal).astype(np.float32)


def bright_fast_major(seconds: float = 12.0, rate: int = RATE) -> np.ndarray:
    return piece(bpm=150, root=60, harmonics=10, level=0.9, hats=True, seconds=seconds, rate=rate)


def dark_slow_minor(seconds: float = 12.0, rate: int = RATE) -> np.ndarray:
    return piece(
        bpm=60, root=57, minor=True, harmonics=1, attack_s=0.25, level=0.05, seconds=seconds,
        rate=rate,
    )  # fmt: skip


def _write_soundfile(path: Path, samples: np.ndarray, rate: int, fmt: str, subtype: str) -> None:
    import soundfile

    with soundfile.SoundFile(str(path), "w", rate, 1, format=fmt, subtype=subtype) as handle:
        for start in range(0, len(samples), rate):  # libsndfile's Vorbis dislikes huge writes
            handle.write(samples[start : start + rate])


def _write_m4a(path: Path, samples: np.ndarray, rate: int, codec: str) -> None:
    import av

    with av.open(str(path), "w", format="ipod" if codec == "alac" else "mp4") as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        fmt = "s16p" if codec == "alac" else "fltp"
        step = 1024
        for start in range(0, len(samples), step):
            chunk = samples[start : start + step][None, :]
            if fmt == "s16p":
                chunk = (np.clip(chunk, -1, 1) * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(chunk), format=fmt, layout="mono"
            )
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


FORMATS = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".opus": ("OGG", "OPUS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}


def write_audio(path: Path, samples: np.ndarray, rate: int = RATE, codec: str = "aac") -> Path:
    """``samples`` (mono float32) as the format ``path``'s suffix names (.m4a: ``codec`` aac or
    alac). Opus is written at 48 kHz (its only rate), resampled here."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".m4a":
        _write_m4a(path, samples, rate, codec)
        return path
    if suffix == ".opus" and rate != 48000:
        count = int(len(samples) * 48000 / rate)
        samples = np.interp(np.arange(count) * rate / 48000, np.arange(len(samples)), samples)
        samples = samples.astype(np.float32)
        rate = 48000
    fmt, subtype = FORMATS[suffix]
    _write_soundfile(path, samples, rate, fmt, subtype)
    return path

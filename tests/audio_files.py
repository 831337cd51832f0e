"""Tiny real audio files for tests, made on the spot (no downloads, nothing shipped).

Import from any test (``tests/`` is on ``sys.path`` through the root ``conftest.py``)::

    from audio_files import write_tone, write_wav, write_ogg, tone, dominant_frequency

- ``write_wav(path, samples, rate)``: 16-bit PCM WAV with the ``wave`` module (always available).
- ``write_ogg/write_flac/write_mp3(path, samples, rate)``: through ``soundfile`` (libsndfile, a dev
  dependency: its wheels include Vorbis, FLAC and MP3 encoders). pygame cannot write audio files.
- ``write_tone(path, freq, seconds, ...)``: a sine tone in the format the suffix names, optionally
  tagged (title/artist/album with mutagen).
- ``corrupt_files(folder)``: the broken files a playlist may contain (random bytes named ``.ogg``,
  zero bytes, a truncated OGG, text named ``.mp3``), for skip tests.
- ``dominant_frequency(samples, rate)``: the strongest frequency (numpy FFT) in a mono float array;
  ``read_raw_pcm(path, channels)``: SDL's ``disk`` audio driver output (signed 16-bit little endian)
  as mono float samples.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE = 22050


def tone(freq: float, seconds: float, rate: int = RATE, amplitude: float = 0.5) -> np.ndarray:
    """A sine tone as float32 in -1..1 with 5 ms ramps at both ends (no clicks)."""
    count = max(1, round(seconds * rate))
    t = np.arange(count, dtype=np.float64) / rate
    signal = amplitude * np.sin(2 * np.pi * freq * t)
    ramp = min(count // 2, int(0.005 * rate))
    if ramp > 0:
        envelope = np.linspace(0.0, 1.0, ramp)
        signal[:ramp] *= envelope
        signal[-ramp:] *= envelope[::-1]
    return signal.astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    """Mono 16-bit PCM WAV."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())
    return path


def _write_soundfile(path: Path, samples: np.ndarray, rate: int, fmt: str, subtype: str) -> Path:
    import soundfile

    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), samples, rate, format=fmt, subtype=subtype)
    return path


def write_ogg(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    """Ogg Vorbis."""
    return _write_soundfile(path, samples, rate, "OGG", "VORBIS")


def write_flac(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    return _write_soundfile(path, samples, rate, "FLAC", "PCM_16")


def write_mp3(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    return _write_soundfile(path, samples, rate, "MP3", "MPEG_LAYER_III")


WRITERS = {".wav": write_wav, ".ogg": write_ogg, ".flac": write_flac, ".mp3": write_mp3}


def tag(path: Path, title: str = "", artist: str = "", album: str = "") -> None:
    """Write title/artist/album tags with mutagen (Vorbis comments, FLAC, ID3 for MP3/WAV)."""
    import mutagen

    suffix = path.suffix.lower()
    if suffix in (".mp3", ".wav"):
        from mutagen.id3 import TALB, TIT2, TPE1

        audio = mutagen.File(path)
        if audio.tags is None:
            audio.add_tags()
        for frame, value in ((TIT2, title), (TPE1, artist), (TALB, album)):
            if value:
                audio.tags.add(frame(encoding=3, text=value))
        audio.save()
        return
    audio = mutagen.File(path, easy=True)
    for key, value in (("title", title), ("artist", artist), ("album", album)):
        if value:
            audio[key] = value
    audio.save()


def write_tone(
    path: Path,
    freq: float,
    seconds: float = 1.0,
    rate: int = RATE,
    amplitude: float = 0.5,
    title: str = "",
    artist: str = "",
    album: str = "",
) -> Path:
    """A sine tone file in the format of ``path``'s suffix, tagged when a tag is given."""
    WRITERS[path.suffix.lower()](path, tone(freq, seconds, rate, amplitude), rate)
    if title or artist or album:
        tag(path, title, artist, album)
    return path


def corrupt_files(folder: Path, seed: int = 0) -> list[Path]:
    """Broken "audio" files: random bytes, zero bytes, a truncated OGG, text named .mp3."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    random_bytes = folder / "random.ogg"
    random_bytes.write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    empty = folder / "empty.ogg"
    empty.write_bytes(b"")
    whole = write_ogg(folder / "whole.tmp.ogg", tone(500, 1.0))
    truncated = folder / "truncated.ogg"
    truncated.write_bytes(whole.read_bytes()[:60])
    whole.unlink()
    text = folder / "notes.mp3"
    text.write_text("this is not music\n" * 20)
    return [random_bytes, empty, truncated, text]


def read_raw_pcm(path: Path, channels: int = 2) -> np.ndarray:
    """SDL disk-driver output (S16LE interleaved) as mono float samples in -1..1."""
    data = np.frombuffer(path.read_bytes(), dtype="<i2")
    usable = len(data) - len(data) % channels
    frames = data[:usable].reshape(-1, channels).astype(np.float64) / 32768.0
    return frames.mean(axis=1)


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    """The frequency (Hz) with the most energy, Hann-windowed FFT."""
    if len(samples) < 16:
        return 0.0
    window = np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(samples * window))
    spectrum[0] = 0.0
    return float(np.fft.rfftfreq(len(samples), 1.0 / rate)[int(np.argmax(spectrum))])


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples)))) if len(samples) else 0.0


def write_replaygain(path: Path, gain_db: float, peak: float | None = None) -> Path:
    """Tag ``path`` (FLAC/Ogg: Vorbis comments; MP3: ID3 TXXX) with a ReplayGain track gain."""
    import mutagen

    gain = f"{gain_db:+.2f} dB"
    if path.suffix.lower() == ".mp3":
        from mutagen.id3 import TXXX

        audio = mutagen.File(path)
        if audio.tags is None:
            audio.add_tags()
        audio.tags.add(TXXX(encoding=3, desc="REPLAYGAIN_TRACK_GAIN", text=gain))
        if peak is not None:
            audio.tags.add(TXXX(encoding=3, desc="REPLAYGAIN_TRACK_PEAK", text=f"{peak:.6f}"))
    else:
        audio = mutagen.File(path)
        audio["REPLAYGAIN_TRACK_GAIN"] = gain
        if peak is not None:
            audio["REPLAYGAIN_TRACK_PEAK"] = f"{peak:.6f}"
    audio.save()
    return path


def read_raw_stereo(path: Path, channels: int = 2) -> np.ndarray:
    """SDL disk-driver output as float frames ``(n, channels)`` in -1..1."""
    data = np.frombuffer(path.read_bytes(), dtype="<i2")
    usable = len(data) - len(data) % channels
    return data[:usable].reshape(-1, channels).astype(np.float64) / 32768.0


def longest_silence(samples: np.ndarray, rate: int, window: float = 0.005, floor: float = 0.003):
    """The longest run (s) of ``window``-long pieces whose RMS is under ``floor`` (~ -50 dBFS)."""
    size = max(1, int(window * rate))
    count = len(samples) // size
    if count == 0:
        return 0.0
    pieces = samples[: count * size].reshape(count, size)
    quiet = np.sqrt(np.mean(np.square(pieces), axis=1)) < floor
    best = run = 0
    for q in quiet:
        run = run + 1 if q else 0
        best = max(best, run)
    return best * size / rate


def tone_level(samples: np.ndarray, rate: int, freq: float) -> float:
    """The amplitude of the ``freq`` component in ``samples`` (Hann-windowed FFT, ±3 bins)."""
    if len(samples) < 64:
        return 0.0
    window = np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(samples * window)) * 2 / window.sum()
    freqs = np.fft.rfftfreq(len(samples), 1.0 / rate)
    near = np.abs(freqs - freq) <= 3 * rate / len(samples)
    return float(spectrum[near].max()) if near.any() else 0.0


# Formats soundfile cannot write (AAC and ALAC in MP4) are encoded with PyAV (FFmpeg's encoders).
AV_CODECS = {".m4a": "aac", ".alac.m4a": "alac", ".opus": "libopus"}


def write_av(path: Path, samples: np.ndarray, rate: int, codec: str) -> Path:
    """Encode mono ``samples`` with FFmpeg's ``codec`` through PyAV (skips the test without it)."""
    import pytest

    av = pytest.importorskip("av")
    if codec not in av.codecs_available:
        pytest.skip(f"FFmpeg in this PyAV has no {codec} encoder")
    path.parent.mkdir(parents=True, exist_ok=True)
    out_rate = 48000 if codec == "libopus" else rate
    with av.open(str(path), "w", format="ipod" if path.suffix == ".m4a" else None) as container:
        stream = container.add_stream(codec, rate=out_rate, layout="mono")
        fmt = stream.codec_context.codec.audio_formats[0].name
        resampler = av.AudioResampler(format=fmt, layout="mono", rate=out_rate)
        frame = av.AudioFrame.from_ndarray(
            samples.astype(np.float32).reshape(1, -1), format="flt", layout="mono"
        )
        frame.sample_rate = rate
        frame.pts = 0
        for converted in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(converted):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path

"""Decoding short excerpts of a track for analysis (not for playback).

Backends, tried in this order for a file (the first that can read it wins):

- ``soundfile`` (libsndfile, LGPL, bundled in the BSD ``soundfile`` wheel; a default dependency):
  WAV, FLAC, Ogg Vorbis, Opus, MP3, AIFF.
- ``pyav`` (FFmpeg through PyAV; the optional ``ffmpeg`` extra): everything above plus AAC/M4A,
  ALAC, WMA. Optional because PyPI's PyAV wheels link GPL encoders (x264, x265), see
  docs/LIBRARY.md.
- ``ffmpeg`` (the ``ffmpeg`` program found on PATH, run as a separate process): the same formats as
  PyAV for people who have FFmpeg installed but not PyAV.

Every backend returns float32 samples at the file's own rate, channels first, so loudness can be
measured on the real channels; ``to_mono(clip, rate, ANALYSIS_RATE)`` makes the analysis signal.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.registry import Registry

Samples = npt.NDArray[np.float32]

ANALYSIS_RATE = 22050
EXCERPT_SECONDS = 10.0
EXCERPT_COUNT = 3
# Where the excerpts start, as fractions of the track (skipping intros and fade-outs).
EXCERPT_POSITIONS = (0.2, 0.5, 0.8)
# A track shorter than this is decoded whole.
WHOLE_BELOW_SECONDS = EXCERPT_SECONDS * EXCERPT_COUNT + 5.0
MAX_CHANNELS = 2
FFMPEG_TIMEOUT_S = 30.0

SOUNDFILE_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff"})
FFMPEG_SUFFIXES = frozenset(
    {*SOUNDFILE_SUFFIXES, ".m4a", ".mp4", ".m4b", ".aac", ".alac", ".wma", ".webm", ".mka"}
)


# What the listener reads (View -> Problems, `library scan`) for an AAC/M4A or ALAC file when
# neither FFmpeg decoder is there (PyAV is an optional extra: its wheels bundle GPL codecs).
NEEDS_FFMPEG = "needs FFmpeg: install the ffmpeg program or `pip install moodplayer[ffmpeg]`"
# Failures that a newly installed decoder may cure: such files are tried again at a rescan.
NO_DECODER_PREFIXES = ("no decoder", "needs FFmpeg")


class DecodeError(Exception):
    """The file cannot be decoded; the message says why in a few words."""


@dataclass(frozen=True)
class Excerpts:
    """Decoded pieces of one track."""

    clips: tuple[Samples, ...]  # each (channels, frames), float32, -1..1
    rate: int
    duration: float  # seconds, of the whole track (0.0 when unknown)
    decoder: str

    @property
    def seconds(self) -> float:
        return sum(c.shape[1] for c in self.clips) / self.rate if self.rate else 0.0


def excerpt_starts(
    duration: float,
    seconds: float = EXCERPT_SECONDS,
    positions: Sequence[float] = EXCERPT_POSITIONS,
) -> list[float]:
    """Start times of the excerpts; ``[]`` means decode the whole track."""
    if duration <= 0 or duration < WHOLE_BELOW_SECONDS:
        return []
    return [min(max(0.0, duration * p - seconds / 2), duration - seconds) for p in positions]


def _fold_channels(clip: Samples) -> Samples:
    """At most two channels: more are folded into a stereo pair."""
    if clip.shape[0] <= MAX_CHANNELS:
        return clip
    left = clip[0::2].mean(axis=0)
    right = clip[1::2].mean(axis=0)
    return np.stack([left, right]).astype(np.float32)


def mono_from_spectrum(
    spectrum: npt.NDArray[np.complexfloating], frames: int, rate: int, target: int = ANALYSIS_RATE
) -> Samples:
    """One channel at ``target`` Hz from the ``rfft`` (channels x bins) of a ``frames``-long
    clip: channels averaged, band-limited by cutting the spectrum (no aliasing)."""
    count = max(1, round(frames * target / rate))
    mono = spectrum.mean(axis=0)
    keep = min(len(mono), count // 2 + 1)
    out = np.fft.irfft(mono[:keep], count) * (count / max(1, frames))
    return out.astype(np.float32)


def to_mono(clip: Samples, rate: int, target: int = ANALYSIS_RATE) -> Samples:
    """One channel at ``target`` Hz (band-limited FFT resampling: no aliasing)."""
    samples = np.atleast_2d(clip).astype(np.float32)
    if samples.shape[1] == 0:
        return np.zeros(0, dtype=np.float32)
    if rate == target:
        mean: Samples = samples.mean(axis=0).astype(np.float32)
        return mean
    return mono_from_spectrum(np.fft.rfft(samples, axis=1), samples.shape[1], rate, target)


# -- soundfile -------------------------------------------------------------------------------


def _decode_soundfile(path: Path, seconds: float) -> Excerpts:
    import soundfile

    try:
        with soundfile.SoundFile(str(path)) as handle:
            rate = int(handle.samplerate)
            frames = int(handle.frames)
            duration = frames / rate if rate > 0 and 0 < frames < 2**62 else 0.0
            starts = excerpt_starts(duration, seconds)
            clips: list[Samples] = []
            if not starts:
                data = handle.read(dtype="float32", always_2d=True)
                clips.append(np.ascontiguousarray(data.T))
            else:
                wanted = int(seconds * rate)
                for start in starts:
                    handle.seek(int(start * rate))
                    data = handle.read(wanted, dtype="float32", always_2d=True)
                    clips.append(np.ascontiguousarray(data.T))
    except (RuntimeError, soundfile.LibsndfileError, OSError, ValueError) as exc:
        raise DecodeError(f"soundfile: {exc}") from None
    return _finish(clips, rate, duration, "soundfile")


# -- PyAV ------------------------------------------------------------------------------------


def _pyav_missing() -> str | None:
    # Looked up, not imported: importing PyAV loads FFmpeg's libraries while holding the GIL
    # (40-60 ms, over 100 ms beside a busy thread), which a scan thread must not do while the
    # window paints; it is imported when a file first needs it.
    import importlib.util

    try:
        found = importlib.util.find_spec("av") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        return "PyAV is not installed (pip install 'moodplayer[ffmpeg]' adds AAC/M4A and ALAC)"
    return None


def _decode_pyav(path: Path, seconds: float) -> Excerpts:
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise DecodeError("no audio stream")
            stream = container.streams.audio[0]
            rate = int(stream.rate or stream.codec_context.sample_rate or 0)
            if rate <= 0:
                raise DecodeError("no sample rate")
            duration = 0.0
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            layout = "mono" if (stream.channels or 1) == 1 else "stereo"
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
            starts = excerpt_starts(duration, seconds)
            clips: list[Samples] = []
            for start in starts or [None]:  # type: ignore[list-item]
                limit = int(seconds * rate) if start is not None else None
                if start is not None:
                    container.seek(int(start * 1_000_000), any_frame=False, backward=True)
                clips.append(_pyav_clip(container, stream, resampler, start, limit))
    except DecodeError:
        raise
    except (av.FFmpegError, OSError, ValueError, EOFError, IndexError) as exc:
        raise DecodeError(f"FFmpeg: {exc}") from None
    return _finish(clips, rate, duration, "pyav")


def _pyav_clip(
    container: object,
    stream: object,
    resampler: object,
    start: float | None,
    limit: int | None,
) -> Samples:
    """Samples from the current position: from ``start`` (seconds) for ``limit`` frames."""
    parts: list[Samples] = []
    have = 0
    for frame in container.decode(stream):  # type: ignore[attr-defined]
        for out in resampler.resample(frame):  # type: ignore[attr-defined]
            data = out.to_ndarray().astype(np.float32, copy=False)
            if start is not None and out.pts is not None and out.time_base is not None:
                frame_start = float(out.pts * out.time_base)
                skip = round((start - frame_start) * out.sample_rate)
                if skip >= data.shape[1]:
                    continue
                if skip > 0:
                    data = data[:, skip:]
            parts.append(data)
            have += data.shape[1]
        if limit is not None and have >= limit:
            break
    if not parts:
        return np.zeros((1, 0), dtype=np.float32)
    clip = np.concatenate(parts, axis=1)
    return clip[:, :limit] if limit is not None else clip


# -- ffmpeg program ---------------------------------------------------------------------------


def _ffmpeg_missing() -> str | None:
    return None if shutil.which("ffmpeg") else "the ffmpeg program is not installed"


def _tag_duration(path: Path) -> float:
    import mutagen

    try:
        audio = mutagen.File(path)
        length = float(getattr(getattr(audio, "info", None), "length", 0.0) or 0.0)
    except Exception:  # mutagen raises many kinds on broken files
        return 0.0
    return length if 0 < length < 1e7 else 0.0


def _decode_ffmpeg(path: Path, seconds: float) -> Excerpts:
    program = shutil.which("ffmpeg")
    if program is None:
        raise DecodeError("the ffmpeg program is not installed")
    rate = 44100
    duration = _tag_duration(path)
    clips: list[Samples] = []
    for start in excerpt_starts(duration, seconds) or [None]:  # type: ignore[list-item]
        command = [program, "-nostdin", "-v", "error"]
        if start is not None:
            command += ["-ss", f"{start:.3f}", "-t", f"{seconds:.3f}"]
        command += ["-i", str(path), "-vn", "-f", "f32le", "-ac", "2", "-ar", str(rate), "-"]
        try:
            done = subprocess.run(
                command, capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DecodeError(f"ffmpeg: {exc}") from None
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise DecodeError(f"ffmpeg: {message[-1] if message else 'failed'}")
        data = np.frombuffer(done.stdout, dtype="<f4")
        data = data[: len(data) - len(data) % 2]
        clips.append(np.ascontiguousarray(data.reshape(-1, 2).T))
    return _finish(clips, rate, duration, "ffmpeg")


# -- choosing --------------------------------------------------------------------------------


def _finish(clips: list[Samples], rate: int, duration: float, decoder: str) -> Excerpts:
    kept = tuple(
        np.nan_to_num(_fold_channels(c), nan=0.0, posinf=0.0, neginf=0.0)
        for c in clips
        if c.shape[1] > 0
    )
    if not kept or sum(c.shape[1] for c in kept) < rate * 0.5:
        raise DecodeError("less than half a second of audio")
    if duration <= 0:
        duration = sum(c.shape[1] for c in kept) / rate
    return Excerpts(kept, rate, duration, decoder)


Decode = Callable[[Path, float], Excerpts]

DECODERS: Registry[Decode] = Registry("decoder")
DECODERS.register("soundfile", lambda: _decode_soundfile, label="libsndfile (soundfile)")
DECODERS.register("pyav", lambda: _decode_pyav, label="FFmpeg (PyAV)", unavailable=_pyav_missing)
DECODERS.register(
    "ffmpeg", lambda: _decode_ffmpeg, label="ffmpeg program", unavailable=_ffmpeg_missing
)

_SUFFIXES = {"soundfile": SOUNDFILE_SUFFIXES, "pyav": FFMPEG_SUFFIXES, "ffmpeg": FFMPEG_SUFFIXES}


def decoders_for(path: Path) -> list[str]:
    """The usable decoders for ``path``'s suffix, in the order they are tried."""
    suffix = path.suffix.lower()
    return [name for name in DECODERS.available() if suffix in _SUFFIXES.get(name, frozenset())]


def decodable_suffixes() -> frozenset[str]:
    """Suffixes some installed decoder reads."""
    return frozenset().union(*(_SUFFIXES[name] for name in DECODERS.available()))


def decode_excerpts(
    path: Path, seconds: float = EXCERPT_SECONDS, decoders: Sequence[str] | None = None
) -> Excerpts:
    """A few excerpts of ``path`` (see ``EXCERPT_POSITIONS``); ``DecodeError`` with every
    decoder's reason when none can read it."""
    names = list(decoders) if decoders is not None else decoders_for(path)
    if not names:
        if path.suffix.lower() in FFMPEG_SUFFIXES:
            raise DecodeError(NEEDS_FFMPEG)
        raise DecodeError(f"no decoder for {path.suffix or 'files without a suffix'} here")
    reasons: list[str] = []
    for name in names:
        try:
            return DECODERS.get(name).factory()(path, seconds)
        except DecodeError as exc:
            reasons.append(str(exc))
    raise DecodeError("; ".join(reasons))

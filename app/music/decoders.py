"""Decoders: a file in, float32 stereo frames at the mixer's rate out.

Three backends, tried in this order for each file (``DECODERS``, an ``app.registry.Registry``):

- ``soundfile``: libsndfile through the ``soundfile`` package (WAV, FLAC, Ogg Vorbis, Ogg Opus,
  AIFF), resampled with ``soxr``. Both are default dependencies (BSD / LGPL-2.1 libraries).
- ``pyav``: FFmpeg through PyAV (every format, AAC/M4A and ALAC included), resampled with
  ``av.AudioResampler``. An optional extra (``pip install moodplayer[ffmpeg]``): PyAV's own code is
  BSD, but its PyPI wheels bundle libx264/libx265 (GPL-2.0+), so it is not a default dependency.
- ``ffmpeg``: the ``ffmpeg`` program on PATH, run as a separate process that writes raw PCM to a
  pipe (every format; nothing is linked into the app).
- ``sdl``: SDL_mixer's own decoders (pygame, a default dependency) for what is left, MP3 above
  all: the whole file is decoded into memory at the mixer's format when it is opened.

``open_decoder(path, rate)`` returns the first backend that can open the file and decode its first
frames; ``AudioError`` (with each backend's reason) when none can. A decoder's ``read(frames)``
returns up to ``frames`` frames, shape ``(n, 2)``, and an empty array only at the real end of the
audio (which may differ from the length in the tags). A decoding error mid-file raises
``AudioError``. Decoders are used by one thread at a time (the engine's audio thread).
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from app.music.audio import AudioError
from app.music.decode import NEEDS_FFMPEG
from app.registry import Registry

log = logging.getLogger(__name__)

Frames = npt.NDArray[np.float32]
CHANNELS = 2
EMPTY: Frames = np.zeros((0, CHANNELS), dtype=np.float32)


class Decoder(Protocol):
    """One open file, decoding to float32 stereo at the rate it was opened with."""

    @property
    def duration(self) -> float | None:
        """The real length in seconds when the container says so, else None."""

    def read(self, frames: int) -> Frames:
        """Up to ``frames`` frames ``(n, 2)``; empty only at the end. Raises ``AudioError``."""

    def seek(self, seconds: float) -> None:
        """Continue from ``seconds`` into the audio. Raises ``AudioError``."""

    def close(self) -> None: ...


def to_stereo(data: npt.NDArray[Any]) -> Frames:
    """``(n, c)`` -> ``(n, 2)`` float32: mono is doubled, more channels are folded down."""
    data = np.asarray(data, dtype=np.float32)
    if data.ndim == 1:
        data = data[:, None]
    if data.shape[1] == CHANNELS:
        return np.ascontiguousarray(data)
    if data.shape[1] == 1:
        return np.repeat(data, CHANNELS, axis=1)
    # Surround: average the even and the odd channels into left and right.
    left = data[:, 0::2].mean(axis=1)
    right = data[:, 1::2].mean(axis=1)
    return np.ascontiguousarray(np.stack([left, right], axis=1), dtype=np.float32)


# ---- soundfile (libsndfile) + soxr ------------------------------------------------------------

# Not MP3: libsndfile 1.2's MP3 decoder gives silence for reads under 4096 frames and after a
# seek (measured), so MP3 goes to FFmpeg or to SDL_mixer's decoder.
SOUNDFILE_SUFFIXES = frozenset(
    {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".w64", ".caf"}
)


READ_BLOCK = 8192


class SoundFileDecoder:
    def __init__(self, path: Path, rate: int) -> None:
        import soundfile

        if path.suffix.lower() not in SOUNDFILE_SUFFIXES:
            raise AudioError(f"libsndfile does not read {path.suffix or 'files without a suffix'}")
        try:
            self._file: Any = soundfile.SoundFile(str(path))
        except (RuntimeError, OSError, TypeError, ValueError) as exc:
            raise AudioError(f"cannot open {path.name}: {exc}") from exc
        self._path = path
        self._rate = rate
        self._source_rate = int(self._file.samplerate)
        if self._source_rate <= 0:
            self.close()
            raise AudioError(f"{path.name} has no sample rate")
        frames = int(self._file.frames)
        self._duration = frames / self._source_rate if frames > 0 else None
        self._resampler: Any = None
        self._done = False
        self._reset_resampler()

    @property
    def duration(self) -> float | None:
        return self._duration

    def _reset_resampler(self) -> None:
        self._done = False
        if self._source_rate == self._rate:
            self._resampler = None
            return
        import soxr

        self._resampler = soxr.ResampleStream(
            self._source_rate, self._rate, CHANNELS, dtype="float32", quality="HQ"
        )

    def read(self, frames: int) -> Frames:
        # The resampler holds some input back, so a read may give nothing yet: read on.
        # libsndfile 1.2's MP3 decoder returns silence for reads under 4096 frames: read big.
        want = max(READ_BLOCK, int(frames * self._source_rate / self._rate) + 1)
        while not self._done:
            try:
                data = self._file.read(want, dtype="float32", always_2d=True)
            except (RuntimeError, OSError, ValueError) as exc:
                raise AudioError(f"{self._path.name} is damaged: {exc}") from exc
            last = len(data) < want
            stereo = to_stereo(data)
            if self._resampler is not None:
                stereo = np.asarray(self._resampler.resample_chunk(stereo, last=last), np.float32)
            if last:
                self._done = True
            if len(stereo):
                return stereo
        return EMPTY

    def seek(self, seconds: float) -> None:
        try:
            self._file.seek(max(0, int(seconds * self._source_rate)))
        except (RuntimeError, OSError, ValueError) as exc:
            raise AudioError(f"cannot seek in {self._path.name}: {exc}") from exc
        self._reset_resampler()

    def close(self) -> None:
        self._file.close()


# ---- PyAV (FFmpeg libraries) --------------------------------------------------------------------


SEEK_PREROLL = 0.5


class PyAVDecoder:
    def __init__(self, path: Path, rate: int) -> None:
        import av

        self._av: Any = av
        self._path = path
        self._rate = rate
        try:
            self._container: Any = av.open(str(path), mode="r")
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise AudioError(f"cannot open {path.name}: {exc}") from exc
        if not self._container.streams.audio:
            self.close()
            raise AudioError(f"{path.name} holds no audio")
        self._stream: Any = self._container.streams.audio[0]
        self._duration = self._stream_duration()
        self._skip_until: float | None = None
        self._start()

    def _stream_duration(self) -> float | None:
        stream = self._stream
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        if self._container.duration is not None:
            return float(self._container.duration) / 1_000_000.0
        return None

    def _start(self) -> None:
        # Keep the file's channels (FFmpeg's mono -> stereo would lower the level by 3 dB);
        # to_stereo folds them.
        self._resampler: Any = self._av.AudioResampler(format="flt", rate=self._rate)
        self._frames: Any = self._container.decode(self._stream)
        self._pending: list[Frames] = []
        self._done = False

    @property
    def duration(self) -> float | None:
        return self._duration

    def _convert(self, frames: list[Any]) -> list[Frames]:
        return [
            to_stereo(np.asarray(f.to_ndarray()).reshape(-1, len(f.layout.channels)))
            for f in frames
        ]

    def read(self, frames: int) -> Frames:
        av = self._av
        while not self._pending and not self._done:
            try:
                frame = next(self._frames, None)
                if frame is None:
                    self._pending = self._convert(self._resampler.resample(None))
                    self._done = True
                    break
                chunk = self._convert(self._resampler.resample(frame))
            except av.FFmpegError as exc:
                raise AudioError(f"{self._path.name} is damaged: {exc}") from exc
            if self._skip_until is not None and frame.time is not None:
                # After a seek FFmpeg lands on the packet before the target: drop up to it.
                end = float(frame.time) + frame.samples / frame.sample_rate
                if end <= self._skip_until:
                    continue
                data = np.concatenate(chunk) if chunk else EMPTY
                cut = int(max(0.0, self._skip_until - float(frame.time)) * self._rate)
                chunk = [data[cut:]]
                self._skip_until = None
            self._pending = [c for c in chunk if len(c)]
        if not self._pending:
            return EMPTY
        data = self._pending[0]
        if len(data) > frames:
            self._pending[0] = data[frames:]
            return data[:frames]
        self._pending.pop(0)
        return data

    def seek(self, seconds: float) -> None:
        av = self._av
        try:
            target = max(0.0, seconds)
            # Land a little early and decode up to the target: MP3/AAC frames right after a
            # seek decode to silence until the decoder has warmed up.
            self._container.seek(int(max(0.0, target - SEEK_PREROLL) * 1_000_000))
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise AudioError(f"cannot seek in {self._path.name}: {exc}") from exc
        self._start()
        self._skip_until = target if target > 0 else None

    def close(self) -> None:
        self._container.close()


# ---- the ffmpeg program -------------------------------------------------------------------------


def _channel_count(path: Path) -> int | None:
    try:
        import mutagen

        info: Any = mutagen.File(path)
        return int(info.info.channels) if info is not None else None
    except Exception:  # any mutagen failure: let ffmpeg fold the channels itself
        return None


class FFmpegProcessDecoder:
    """``ffmpeg`` decodes in a child process into a pipe (f32le, stereo, the mixer's rate)."""

    def __init__(self, path: Path, rate: int, program: str | None = None) -> None:
        found = program or shutil.which("ffmpeg")
        if found is None:
            raise AudioError("the ffmpeg program is not installed")
        self._program = found
        self._path = path
        self._rate = rate
        self._proc: subprocess.Popen[bytes] | None = None
        self._first: Frames | None = None
        self._channels = _channel_count(path)
        self._start(0.0)
        first = self._read_raw(2048)
        if len(first) == 0:
            reason = self._finish()
            raise AudioError(f"cannot decode {path.name}: {reason or 'no audio'}")
        self._first = first

    @property
    def duration(self) -> float | None:
        return None

    def _start(self, seconds: float) -> None:
        self.close()
        args = [self._program, "-nostdin", "-hide_banner", "-loglevel", "error"]
        early = max(0.0, seconds - SEEK_PREROLL)  # as in PyAVDecoder.seek: warm the decoder up
        if early > 0:
            args += ["-ss", f"{early:.3f}"]
        args += ["-i", str(self._path)]
        if seconds > early:
            args += ["-ss", f"{seconds - early:.3f}"]
        args += ["-map", "0:a:0", "-vn", "-f", "f32le"]
        if self._channels == 1:  # FFmpeg's own mono -> stereo lowers the level by 3 dB
            args += ["-af", "pan=stereo|c0=c0|c1=c0"]
        else:
            args += ["-ac", str(CHANNELS)]
        args += ["-ar", str(self._rate), "pipe:1"]
        try:
            self._proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except OSError as exc:
            raise AudioError(f"cannot run ffmpeg: {exc}") from exc

    def _read_raw(self, frames: int) -> Frames:
        assert self._proc is not None and self._proc.stdout is not None
        data = self._proc.stdout.read(frames * CHANNELS * 4)
        usable = len(data) - len(data) % (CHANNELS * 4)
        return np.frombuffer(data[:usable], dtype="<f4").reshape(-1, CHANNELS).astype(np.float32)

    def _finish(self) -> str:
        if self._proc is None:
            return ""
        try:
            _, err = self._proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            _, err = self._proc.communicate()
        code = self._proc.returncode
        self._proc = None
        text = err.decode("utf-8", "replace").strip().splitlines()
        return text[-1] if code and text else ("" if not code else f"ffmpeg exit {code}")

    def read(self, frames: int) -> Frames:
        if self._first is not None:
            first, self._first = self._first, None
            return first
        if self._proc is None:
            return EMPTY
        data = self._read_raw(frames)
        if len(data) == 0:
            reason = self._finish()
            if reason:
                raise AudioError(f"{self._path.name} is damaged: {reason}")
        return data

    def seek(self, seconds: float) -> None:
        self._first = None
        self._start(max(0.0, seconds))

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.communicate()


# ---- SDL_mixer through pygame (whole file in memory) -------------------------------------------


class PygameSoundDecoder:
    """SDL_mixer decodes the whole file at the mixer's rate (the mixer must be open)."""

    def __init__(self, path: Path, rate: int) -> None:
        import pygame

        if not pygame.mixer.get_init():
            raise AudioError("the mixer is not open")
        freq, _size, channels = pygame.mixer.get_init()
        if freq != rate:
            raise AudioError(f"the mixer runs at {freq} Hz, not {rate} Hz")
        try:
            sound = pygame.mixer.Sound(file=str(path))
            data = pygame.sndarray.array(sound)
        except (pygame.error, OSError, ValueError) as exc:
            raise AudioError(f"cannot open {path.name}: {exc}") from exc
        scale = float(np.iinfo(data.dtype).max) + 1.0 if data.dtype.kind == "i" else 1.0
        self._data = to_stereo(np.asarray(data, dtype=np.float32).reshape(-1, channels) / scale)
        if len(self._data) == 0:
            raise AudioError(f"{path.name} holds no sound")
        self._rate = rate
        self._at = 0

    @property
    def duration(self) -> float | None:
        return len(self._data) / self._rate

    def read(self, frames: int) -> Frames:
        out = self._data[self._at : self._at + frames]
        self._at += len(out)
        return out

    def seek(self, seconds: float) -> None:
        self._at = min(len(self._data), max(0, int(seconds * self._rate)))

    def close(self) -> None:
        self._data = EMPTY


# ---- the registry -----------------------------------------------------------------------------

DecoderFactory = Callable[..., Decoder]
DECODERS: Registry[Decoder] = Registry("audio decoder")


def _missing(module: str, hint: str) -> Callable[[], str | None]:
    def check() -> str | None:
        if importlib.util.find_spec(module) is None:
            return f"The {module} package is not installed ({hint})."
        return None

    return check


def _no_ffmpeg() -> str | None:
    return None if shutil.which("ffmpeg") else "The ffmpeg program is not on PATH."


DECODERS.register(
    "soundfile",
    SoundFileDecoder,
    label="libsndfile (WAV, FLAC, Ogg Vorbis/Opus, MP3)",
    unavailable=_missing("soundfile", "pip install soundfile soxr"),
)
DECODERS.register(
    "pyav",
    PyAVDecoder,
    label="FFmpeg through PyAV (every format)",
    unavailable=_missing("av", "pip install 'moodplayer[ffmpeg]'"),
)
DECODERS.register(
    "ffmpeg",
    FFmpegProcessDecoder,
    label="the ffmpeg program (every format)",
    unavailable=_no_ffmpeg,
)

DECODERS.register(
    "sdl",
    PygameSoundDecoder,
    label="SDL_mixer (MP3, Ogg, FLAC, WAV; whole file in memory)",
    unavailable=_missing("pygame", "pip install pygame"),
)


# Formats only the FFmpeg decoders read (libsndfile and SDL_mixer do not).
NEEDS_FFMPEG_SUFFIXES = frozenset(
    {".m4a", ".m4b", ".mp4", ".aac", ".alac", ".wma", ".webm", ".mka"}
)
FFMPEG_DECODERS = ("pyav", "ffmpeg")


def open_decoder(path: Path, rate: int, names: tuple[str, ...] | None = None) -> Decoder:
    """The first decoder (in ``names`` order, default: every available one) that reads ``path``."""
    reasons: list[str] = []
    for name in names if names is not None else DECODERS.available():
        backend = DECODERS.get(name)
        if backend.unavailable_reason() is not None:
            continue
        try:
            decoder = backend.factory(path, rate)
        except AudioError as exc:
            reasons.append(f"{name}: {exc}")
            continue
        log.debug("%s opened with %s", path.name, name)
        return decoder
    if not reasons:
        raise AudioError(f"cannot play {path.name}: no audio decoder is installed")
    ffmpeg_absent = all(
        DECODERS.get(name).unavailable_reason() is not None for name in FFMPEG_DECODERS
    )
    if ffmpeg_absent and path.suffix.lower() in NEEDS_FFMPEG_SUFFIXES:
        # AAC/M4A, ALAC, WMA: only FFmpeg reads them; say how to get it, not what failed.
        raise AudioError(f"cannot play {path.name}: {NEEDS_FFMPEG}")
    log.debug("no decoder reads %s: %s", path, "; ".join(reasons))
    # The first backend that claims the format says best what is wrong with the file.
    first = reasons[0].split(": ", 1)[-1]
    raise AudioError(first if first.startswith("cannot") else f"cannot play {path.name}: {first}")

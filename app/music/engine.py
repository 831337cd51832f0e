"""The audio engine: our own decoders mixed into pygame's mixer, with crossfades and gapless play.

``EngineOutput`` is an ``AudioOutput`` (and a ``MixingOutput``, see ``audio.py``). It owns
``pygame.mixer`` and one mixer channel. An audio thread mixes the sounding *voices* (one per open
track: a decoder, a level gain, a fade envelope) into float32 chunks of ``chunk_frames`` frames,
runs them through a soft limiter, and hands them to the channel with ``Channel.queue``: one chunk
sounds while the next waits, so the mixer (SDL's C thread) always holds one to two chunks
(186..372 ms at the defaults) and Python is needed once per chunk only: our thread to render the
next one, pygame's end-of-chunk callback to move the queued one up (it takes the GIL). The buffer
stays bounded (memory does not grow with the track); a busy GIL is survived by the chunk length,
chosen by measurement (docs/BENCHMARKS.md: 93 ms chunks underran beside a pure-Python thread,
186 ms did not). Pause, volume, stop and seek act at once (on the channel, or by flushing it); a
crossfade or fade-out starts after the audio already handed over (at most two chunks).

- ``crossfade(path, start, fade_ms)`` opens the new track first (a damaged file raises and the old
  one keeps playing), then fades every sounding voice out and the new one in (equal power).
- ``queue(path)`` primes the next track: when the current one reaches the real end of its audio
  (decoder end, not the tag's length), the next continues in the same chunk, sample for sample.
- A decoding error mid-track ends that voice; ``events()`` then reports a ``TrackFailed``.
- ``events()`` also reports ``TrackAdvanced`` (a queued track took over) and ``TrackEnded`` at the
  moment the chunk holding the change starts to sound, not when it was decoded.

Every public method returns at once (opening a file reads its header and first frames).
"""

from __future__ import annotations

import atexit
import logging
import math
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.music.audio import (
    MIXER_CHANNELS,
    MIXER_FREQUENCY,
    AudioDeviceError,
    AudioError,
    OutputEvent,
    TrackAdvanced,
    TrackEnded,
    TrackFailed,
    acquire_mixer,
    release_mixer,
)
from app.music.decoders import CHANNELS, Decoder, Frames, open_decoder
from app.music.loudness import Leveller

log = logging.getLogger(__name__)

CHUNK_FRAMES = 8192  # 186 ms at 44.1 kHz: one sounds, one waits (docs/BENCHMARKS.md)
DEVICE_BUFFER = 1024  # SDL's own buffer (23 ms): pause and volume act within it
LIMIT_FROM = 0.89  # the soft limiter leaves everything below -1 dBFS untouched

DecoderOpener = Callable[[Path, int], Decoder]

# Each engine in the process sounds on its own reserved mixer channel.
_channels_lock = threading.Lock()
_channels_taken: set[int] = set()
# Engines still open at exit are closed first: a mixing thread must not outlive the mixer.
_open_engines: weakref.WeakSet[EngineOutput] = weakref.WeakSet()


def _close_all() -> None:
    for engine in list(_open_engines):
        engine.close()


def soft_limit(data: Frames, knee: float = LIMIT_FROM) -> Frames:
    """Leave ``|x| <= knee`` alone; above it, bend smoothly toward (never past) full scale."""
    over = np.abs(data) > knee
    if not over.any():
        return data
    out = data.copy()
    x = np.abs(data[over])
    room = 1.0 - knee
    out[over] = np.sign(data[over]) * (knee + room * np.tanh((x - knee) / room))
    return out


@dataclass
class _Voice:
    """One open track being mixed: its decoder, level gain and fade envelope."""

    path: Path
    decoder: Decoder
    gain: float
    start: float = 0.0
    level: float = 1.0
    # A fade in progress: level goes from fade_from to fade_to over fade_total frames.
    fade_from: float = 1.0
    fade_to: float = 1.0
    fade_total: int = 0
    fade_done: int = 0
    ending: bool = False  # remove once the fade reaches 0
    frames: int = 0  # frames mixed so far (from ``start``)
    carry: Frames = field(default_factory=lambda: np.zeros((0, CHANNELS), np.float32))
    error: str | None = None
    finished: bool = False

    def fade(self, to: float, frames: int, ending: bool = False) -> None:
        self.fade_from, self.fade_to = self.level, to
        self.fade_total, self.fade_done = max(1, frames), 0
        self.ending = ending

    def envelope(self, count: int) -> npt.NDArray[np.float32]:
        if self.fade_total <= 0 or self.fade_done >= self.fade_total:
            self.level = self.fade_to if self.fade_total > 0 else self.level
            return np.full(count, self.level, dtype=np.float32)
        steps = (self.fade_done + np.arange(1, count + 1)) / self.fade_total
        steps = np.minimum(steps, 1.0)
        # Equal power: sin for a rise, cos for a fall (their squares sum to one in a crossfade).
        if self.fade_to >= self.fade_from:
            shape = np.sin(steps * math.pi / 2)
        else:
            shape = 1.0 - np.cos(steps * math.pi / 2)
        values = self.fade_from + (self.fade_to - self.fade_from) * shape
        self.fade_done = min(self.fade_total, self.fade_done + count)
        self.level = float(values[-1])
        return values.astype(np.float32)

    @property
    def silent_for_good(self) -> bool:
        return self.ending and self.fade_done >= self.fade_total and self.level <= 1e-4

    def pull(self, count: int) -> Frames:
        """Up to ``count`` frames; fewer means the audio ended (or failed: ``error``)."""
        parts = [self.carry] if len(self.carry) else []
        have = len(self.carry)
        while have < count and not self.finished:
            try:
                data = self.decoder.read(count - have)
            except AudioError as exc:
                self.error = str(exc)
                self.finished = True
                break
            if len(data) == 0:
                self.finished = True
                break
            parts.append(data)
            have += len(data)
        joined = np.concatenate(parts) if len(parts) > 1 else (parts[0] if parts else self.carry)
        self.carry = joined[count:]
        out = joined[:count]
        self.frames += len(out)
        return out

    def close(self) -> None:
        try:
            self.decoder.close()
        except Exception as exc:  # closing must never take the audio thread down
            log.debug("closing %s: %s", self.path.name, exc)


@dataclass
class _Chunk:
    sound: Any
    events: list[OutputEvent]
    path: Path | None  # the main voice of this chunk
    position: float  # its position (s) at the chunk's first frame


class EngineOutput:
    """Decoders -> mixing thread -> ``pygame.mixer.Channel``; see the module docstring."""

    def __init__(
        self,
        frequency: int = MIXER_FREQUENCY,
        chunk_frames: int = CHUNK_FRAMES,
        device_buffer: int = DEVICE_BUFFER,
        leveller: Leveller | None = None,
        opener: DecoderOpener = open_decoder,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = frequency
        self._chunk = chunk_frames
        self._device_buffer = device_buffer
        self.leveller = leveller if leveller is not None else Leveller()
        self._opener = opener
        self._clock = clock
        self._pygame: Any = None
        self._channel: Any = None
        self._channel_number = 0
        self._ready = False
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._stop_thread = False
        self._voices: list[_Voice] = []
        self._loaded: _Voice | None = None  # loaded, not started
        self._next: _Voice | None = None  # primed for a gapless change
        self._next_path: Path | None = None  # to be primed by the audio thread
        self._paused = False
        self._volume = 1.0
        self._chunks: deque[_Chunk] = deque()
        self._sounding: _Chunk | None = None
        self._sounding_since = 0.0
        self._events: list[OutputEvent] = []
        self._streaming = False  # chunks are in flight; an idle channel now is an underrun
        self.underruns = 0
        self.chunks_played = 0

    # ---- device --------------------------------------------------------------------------------

    def _mixer(self) -> Any:
        if self._ready:
            return self._pygame.mixer
        pygame = acquire_mixer(self, self._rate, MIXER_CHANNELS, self._device_buffer)
        self._pygame = pygame
        freq, _size, channels = pygame.mixer.get_init()
        if channels != CHANNELS:
            release_mixer(self)
            raise AudioDeviceError(f"The audio device offers {channels} channels, not stereo.")
        self._rate = int(freq)
        with _channels_lock:
            number = next(n for n in range(64) if n not in _channels_taken)
            _channels_taken.add(number)
            pygame.mixer.set_num_channels(max(8, number + 1, pygame.mixer.get_num_channels()))
            pygame.mixer.set_reserved(max(_channels_taken) + 1)
        self._channel_number = number
        self._channel = pygame.mixer.Channel(number)
        self._channel.set_volume(self._volume)
        self._ready = True
        self._stop_thread = False
        self._thread = threading.Thread(target=self._run, name="audio-engine", daemon=True)
        self._thread.start()
        if not _open_engines:
            # Registered after pygame's own exit handler (pygame.quit), so it runs before it.
            atexit.unregister(_close_all)
            atexit.register(_close_all)
        _open_engines.add(self)
        log.info("audio engine on mixer channel %d, chunks of %d", number, self._chunk)
        return pygame.mixer

    def open(self) -> None:
        """Open the audio device now (else the first ``load`` does); may raise AudioDeviceError."""
        self._mixer()

    @property
    def rate(self) -> int:
        return self._rate

    def close(self) -> None:
        """Stop the thread and release the device (the next ``load`` opens it again)."""
        if not self._ready:
            return
        with self._lock:
            self._stop_thread = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        with self._lock:
            self._clear_voices(keep_loaded=False)
            self._channel.stop()
            self._ready = False
        with _channels_lock:
            _channels_taken.discard(self._channel_number)
        _open_engines.discard(self)
        release_mixer(self)

    # ---- AudioOutput ---------------------------------------------------------------------------

    def _open_voice(self, path: Path, start: float = 0.0) -> _Voice:
        self._mixer()
        decoder = self._opener(path, self._rate)
        try:
            if start > 0:
                decoder.seek(start)
            voice = _Voice(path, decoder, self.leveller.gain(path), start=max(0.0, start))
            first = voice.pull(min(self._chunk, 2048))
        except AudioError:
            decoder.close()
            raise
        if voice.error is not None:
            voice.close()
            raise AudioError(voice.error)
        if len(first) == 0:
            voice.close()
            raise AudioError(f"{path.name} holds no sound")
        # The first frames wait to be mixed, ahead of what the decoder gave beyond them.
        voice.carry, voice.frames = np.concatenate([first, voice.carry]), 0
        return voice

    def load(self, path: Path) -> None:
        voice = self._open_voice(path)
        with self._lock:
            self._clear_voices(keep_loaded=False)
            self._channel.stop()
            self._loaded = voice

    def play(self, start: float = 0.0, fade_ms: int = 0) -> None:
        if not self._ready:
            raise AudioDeviceError("No audio device is open.")
        with self._lock:
            voice = self._loaded or (self._voices[-1] if self._voices else None)
        if voice is None:
            raise AudioError("nothing loaded")
        fresh = self._open_voice(voice.path, start) if voice.frames or start > 0 else voice
        with self._lock:
            if fresh is not voice:
                voice.close()
            self._clear_voices(keep_loaded=False, keep=fresh)
            self._channel.stop()
            if fade_ms > 0:
                fresh.level = 0.0
                fresh.fade(1.0, self._frames(fade_ms))
            self._voices = [fresh]
            self._paused = False
            self._wake.notify_all()

    def crossfade(self, path: Path, start: float = 0.0, fade_ms: int = 0) -> None:
        """Fade what sounds out and ``path`` in, overlapping; AudioError leaves the old one on."""
        voice = self._open_voice(path, start)
        frames = self._frames(fade_ms)
        with self._lock:
            self._drop_next()
            if self._loaded is not None:
                self._loaded.close()
                self._loaded = None
            if frames <= 0 or self._paused:
                self._clear_voices(keep_loaded=False)
                self._channel.stop()
            for old in self._voices:
                old.fade(0.0, frames, ending=True)
            voice.level = 0.0 if frames > 0 else 1.0
            if frames > 0:
                voice.fade(1.0, frames)
            self._voices.append(voice)
            if self._paused:
                self._paused = False
                self._channel.unpause()
            self._wake.notify_all()

    def queue(self, path: Path | None) -> None:
        """Prime ``path`` to follow the current track with no gap (None: forget the primed one).

        The audio thread opens it, so this returns at once; a file that cannot be played is
        reported by a ``TrackFailed`` event.
        """
        with self._lock:
            self._drop_next()
            self._next_path = path
        if path is not None:
            # Its own short thread: opening may take a while (a broken file goes through every
            # decoder, ffmpeg's start included) and the mixing thread must keep feeding.
            threading.Thread(target=self._prime, name="audio-prime", daemon=True).start()

    def pause(self) -> None:
        if self._ready:
            with self._lock:
                self._paused = True
                self._channel.pause()

    def unpause(self) -> None:
        if self._ready:
            with self._lock:
                self._paused = False
                self._channel.unpause()
                self._wake.notify_all()

    def stop(self) -> None:
        if self._ready:
            with self._lock:
                main = self._loaded or (self._voices[-1] if self._voices else None)
                self._clear_voices(keep_loaded=False, keep=main)
                self._loaded = main  # ``play`` starts it again (from a fresh decoder)
                self._channel.stop()
                self._paused = False

    def set_volume(self, volume: float) -> None:
        self._volume = min(1.0, max(0.0, volume))
        if self._ready:
            self._channel.set_volume(self._volume)

    def busy(self) -> bool:
        if not self._ready:
            return False
        with self._lock:
            if self._paused:
                return False
            return bool(self._voices) or bool(self._chunks) or bool(self._channel.get_busy())

    def fadeout(self, ms: int) -> None:
        if self._ready:
            with self._lock:
                self._drop_next()
                for voice in self._voices:
                    voice.fade(0.0, self._frames(ms), ending=True)
                self._wake.notify_all()

    # ---- MixingOutput --------------------------------------------------------------------------

    def events(self) -> list[OutputEvent]:
        with self._lock:
            found, self._events = self._events, []
        return found

    def length(self) -> float | None:
        with self._lock:
            voice = self._loaded or (self._voices[-1] if self._voices else None)
            return voice.decoder.duration if voice is not None else None

    def position(self) -> float | None:
        """Seconds into the track now sounding (from the chunk at the speaker), None if none."""
        with self._lock:
            chunk = self._sounding
            if chunk is None or chunk.path is None:
                return None
            elapsed = 0.0 if self._paused else self._clock() - self._sounding_since
            return chunk.position + min(max(0.0, elapsed), self._chunk / self._rate)

    # ---- the audio thread ----------------------------------------------------------------------

    def _frames(self, ms: int) -> int:
        return max(0, int(ms * self._rate / 1000))

    def _drop_next(self) -> None:
        self._next_path = None
        if self._next is not None:
            self._next.close()
            self._next = None

    def _prime(self) -> None:
        """Open the file ``queue`` asked for (on a priming thread, lock not held)."""
        with self._lock:
            path = self._next_path
            if path is None or self._next is not None or not self._ready:
                return  # nothing to do, or closed meanwhile (never re-open the device here)
        try:
            voice = self._open_voice(path)
        except AudioError as exc:
            with self._lock:
                if self._next_path == path:
                    self._next_path = None
                    self._events.append(TrackFailed(path, str(exc)))
            return
        with self._lock:
            if self._next_path == path and self._next is None:
                self._next, self._next_path = voice, None
                return
        voice.close()

    def _clear_voices(self, keep_loaded: bool, keep: _Voice | None = None) -> None:
        for voice in self._voices:
            if voice is not keep:
                voice.close()
        self._voices = []
        self._drop_next()
        if not keep_loaded and self._loaded is not None and self._loaded is not keep:
            self._loaded.close()
        if not keep_loaded or keep is not None:
            self._loaded = None
        self._chunks.clear()
        self._sounding = None
        self._streaming = False

    def _run(self) -> None:
        period = self._chunk / self._rate
        while True:
            with self._lock:
                if self._stop_thread:
                    return
                self._track_sounding()
                if not self._paused and self._voices and self._channel.get_queue() is None:
                    if self._streaming and not self._channel.get_busy():
                        self.underruns += 1
                        log.debug("audio underrun (%d)", self.underruns)
                    chunk = self._render()
                    if chunk is not None:
                        self._chunks.append(chunk)
                        if self._channel.get_busy():
                            self._channel.queue(chunk.sound)
                        else:
                            self._channel.play(chunk.sound)
                        self.chunks_played += 1
                        self._streaming = True
                        continue
                if not self._voices:
                    self._streaming = False
                if not self._voices and not self._chunks:
                    self._wake.wait(timeout=0.5)
                    continue
            time.sleep(period / 6)

    def _track_sounding(self) -> None:
        """Release the events of chunks that have reached the speaker."""
        current = self._channel.get_sound() if self._channel.get_busy() else None
        while self._chunks:
            head = self._chunks[0]
            if current is head.sound:
                if self._sounding is not head:
                    self._sounding, self._sounding_since = head, self._clock()
                    self._events.extend(head.events)
                    head.events = []
                return
            # The head is not sounding: it is either done (pop) or waits in the queue.
            if current is None and self._channel.get_queue() is head.sound:
                return
            self._chunks.popleft()
            self._events.extend(head.events)
            if current is None and not self._chunks:
                self._sounding = None

    def _render(self) -> _Chunk | None:
        count = self._chunk
        mix = np.zeros((count, CHANNELS), dtype=np.float32)
        events: list[OutputEvent] = []
        main = self._voices[-1]
        main_path: Path | None = main.path
        main_pos = main.start + main.frames / self._rate
        produced = 0
        for voice in list(self._voices):
            offset = 0
            while True:
                data = voice.pull(count - offset)
                if len(data):
                    env = voice.envelope(len(data)) * voice.gain
                    mix[offset : offset + len(data)] += data * env[:, None]
                    offset += len(data)
                produced = max(produced, offset)
                if voice.silent_for_good:
                    self._remove(voice)
                    break
                if not voice.finished:
                    break
                # This voice's audio ended here (really, not by its tag).
                if voice.error is not None:
                    events.append(TrackFailed(voice.path, voice.error))
                    log.warning("playback stopped in %s: %s", voice.path.name, voice.error)
                follower = self._next if voice is self._voices[-1] and not voice.ending else None
                self._remove(voice)
                if follower is None:
                    if not voice.ending:
                        events.append(TrackEnded(voice.path))
                    break
                self._next = None
                self._voices.append(follower)
                events.append(TrackAdvanced(follower.path, voice.path))
                if voice is main:
                    main_path, main_pos = follower.path, -offset / self._rate
                voice = follower
                if offset >= count:
                    break
        if produced == 0 and not events:
            return None
        length = count if self._voices else produced
        out = soft_limit(mix[:length])
        pcm = np.ascontiguousarray((np.clip(out, -1.0, 1.0) * 32767.0).astype(np.int16))
        sound = self._pygame.mixer.Sound(buffer=pcm.tobytes()) if length else None
        if sound is None:
            self._events.extend(events)
            return None
        return _Chunk(sound, events, main_path, main_pos)

    def _remove(self, voice: _Voice) -> None:
        if voice in self._voices:
            self._voices.remove(voice)
        voice.close()

"""The sound card behind a small interface: ``AudioOutput`` and its richer ``MixingOutput``.

Implementations: ``app.music.engine.EngineOutput`` (the default: our decoders mixed into pygame's
mixer, with crossfades, gapless changes and levelled loudness), ``PygameOutput`` (the single
``pygame.mixer.music`` stream, kept as a fallback) and ``FakeOutput`` for tests. They are found
through ``app.music.outputs.OUTPUTS``.

The player owns one output and is the only thing that talks to it. Every method returns at once;
``fadeout`` starts a fade that the mixer carries out on its own thread.

``PygameOutput`` initialises ``pygame.mixer`` lazily, on the first ``load``. When there is no audio
device the init fails with ``AudioDeviceError`` (a ``AudioError``); the next ``load`` tries again,
so plugging in a headset and pressing play is enough to recover.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

log = logging.getLogger(__name__)

Clock = Callable[[], float]

# The mixer's output format: CD rate, 16-bit, stereo, ~46 ms buffer.
MIXER_FREQUENCY = 44100
MIXER_CHANNELS = 2
MIXER_BUFFER = 2048


class AudioError(Exception):
    """A file could not be loaded or played; the message says why."""


class AudioDeviceError(AudioError):
    """The audio device itself is unavailable (no sound card, device busy)."""


class SeekUnsupported(AudioError):
    """Raised by ``play`` after it fell back to playing from the start (the sound is playing)."""


class AudioOutput(Protocol):
    """What the player needs from a sound output. All calls return at once."""

    def load(self, path: Path) -> None:
        """Open ``path`` for playing (replaces what was loaded). Raises ``AudioError``."""

    def play(self, start: float = 0.0, fade_ms: int = 0) -> None:
        """Play the loaded file from ``start`` seconds, fading in over ``fade_ms``."""

    def pause(self) -> None: ...

    def unpause(self) -> None: ...

    def stop(self) -> None: ...

    def set_volume(self, volume: float) -> None:
        """0.0 (silent) .. 1.0 (full)."""

    def busy(self) -> bool:
        """True while the loaded file is sounding (False when paused, stopped or at its end)."""

    def fadeout(self, ms: int) -> None:
        """Fade the current sound to silence over ``ms`` and stop; returns at once."""


@dataclass(frozen=True)
class TrackAdvanced:
    """The primed next track (``MixingOutput.queue``) took over from ``previous`` with no gap."""

    path: Path
    previous: Path


@dataclass(frozen=True)
class TrackEnded:
    """``path`` reached the real end of its audio and nothing followed it."""

    path: Path


@dataclass(frozen=True)
class TrackFailed:
    """Decoding ``path`` failed part-way (a damaged file); it ended there."""

    path: Path
    message: str


OutputEvent = TrackAdvanced | TrackEnded | TrackFailed


@runtime_checkable
class MixingOutput(AudioOutput, Protocol):
    """An output that can overlap two tracks and chain tracks without a gap."""

    def crossfade(self, path: Path, start: float = 0.0, fade_ms: int = 0) -> None:
        """Fade what sounds out while ``path`` (from ``start``) fades in, both over ``fade_ms``.

        Raises ``AudioError`` before touching what sounds when ``path`` cannot be played.
        """

    def queue(self, path: Path | None) -> None:
        """Prime ``path`` to follow the current track with no gap (None forgets it).

        Returns at once; when ``path`` cannot be played, ``events()`` reports a ``TrackFailed``.
        """

    def events(self) -> list[OutputEvent]:
        """What happened since the last call (advances, ends, failures), oldest first."""

    def length(self) -> float | None:
        """The real length (s) of the current track, when its container says; else None."""


# pygame's mixer is one per process, shared by every output in it (two windows in one test, the
# engine beside the music stream): it is opened by the first user and closed by the last.
_mixer_lock = threading.Lock()
_mixer_users: set[int] = set()


def acquire_mixer(user: object, frequency: int, channels: int, buffer: int) -> Any:
    """Open pygame's mixer for ``user`` (or join it if open); raises ``AudioDeviceError``."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no banner on stdout
    # SDL otherwise installs its own SIGINT/SIGTERM handlers and swallows them, so
    # `systemctl stop` or Ctrl+C would not reach the app once the mixer is open.
    os.environ.setdefault("SDL_NO_SIGNAL_HANDLERS", "1")
    try:
        import pygame
    except ImportError as exc:  # pragma: no cover - pygame is a dependency
        raise AudioDeviceError(f"pygame is not installed ({exc})") from exc
    with _mixer_lock:
        if not pygame.mixer.get_init():
            _mixer_users.clear()
            try:
                pygame.mixer.init(frequency=frequency, size=-16, channels=channels, buffer=buffer)
            except pygame.error as exc:
                raise AudioDeviceError(f"No audio device could be opened ({exc}).") from exc
            log.info("audio mixer ready: %s", pygame.mixer.get_init())
        _mixer_users.add(id(user))
    return pygame


def release_mixer(user: object) -> None:
    """``user`` is done with the mixer; the last one out closes it."""
    import pygame

    with _mixer_lock:
        _mixer_users.discard(id(user))
        if not _mixer_users and pygame.mixer.get_init():
            pygame.mixer.quit()


class PygameOutput:
    """``pygame.mixer.music``; the mixer is opened on first use and re-tried after a failure."""

    def __init__(
        self,
        frequency: int = MIXER_FREQUENCY,
        channels: int = MIXER_CHANNELS,
        buffer: int = MIXER_BUFFER,
    ) -> None:
        self._frequency = frequency
        self._channels = channels
        self._buffer = buffer
        self._ready = False
        self._volume = 1.0
        self._pygame: Any = None

    def _mixer(self) -> Any:
        if self._ready:
            return self._pygame.mixer
        self._pygame = acquire_mixer(self, self._frequency, self._channels, self._buffer)
        self._ready = True
        self._pygame.mixer.music.set_volume(self._volume)
        return self._pygame.mixer

    def open(self) -> None:
        """Open the audio device now (else the first ``load`` does); may raise AudioDeviceError."""
        self._mixer()

    def load(self, path: Path) -> None:
        mixer = self._mixer()
        # Halt first: SDL_mixer's load (Mix_FreeMusic of the old music) blocks until a running
        # fade-out ends, which froze the window for the rest of a fade; halting is immediate.
        mixer.music.stop()
        try:
            mixer.music.load(str(path))
        except (self._pygame.error, OSError, ValueError) as exc:
            raise AudioError(f"cannot load {path.name}: {exc}") from exc

    def play(self, start: float = 0.0, fade_ms: int = 0) -> None:
        if not self._ready:
            raise AudioDeviceError("No audio device is open.")
        music = self._pygame.mixer.music
        try:
            music.play(loops=0, start=max(0.0, start), fade_ms=max(0, fade_ms))
        except self._pygame.error as exc:
            if start <= 0.0:
                raise AudioError(f"cannot play: {exc}") from exc
            # Some formats cannot seek: play from the start rather than not at all.
            log.warning("cannot start at %.1f s (%s); playing from the start", start, exc)
            try:
                music.play(loops=0, start=0.0, fade_ms=max(0, fade_ms))
            except self._pygame.error as exc2:
                raise AudioError(f"cannot play: {exc2}") from exc2
            raise SeekUnsupported(str(exc)) from exc

    def pause(self) -> None:
        if self._ready:
            self._pygame.mixer.music.pause()

    def unpause(self) -> None:
        if self._ready:
            self._pygame.mixer.music.unpause()

    def stop(self) -> None:
        if self._ready:
            self._pygame.mixer.music.stop()

    def set_volume(self, volume: float) -> None:
        self._volume = min(1.0, max(0.0, volume))
        if self._ready:
            self._pygame.mixer.music.set_volume(self._volume)

    def busy(self) -> bool:
        return bool(self._ready and self._pygame.mixer.music.get_busy())

    def fadeout(self, ms: int) -> None:
        if self._ready:
            self._pygame.mixer.music.fadeout(max(0, ms))

    def close(self) -> None:
        """Release the audio device (the next ``load`` opens it again)."""
        if self._ready:
            self._pygame.mixer.music.stop()
            release_mixer(self)
            self._ready = False


@dataclass
class FakeOutput:
    """An output for tests: records what it was told and ends tracks by an injected clock.

    ``durations`` gives a file's length in seconds (``default_duration`` otherwise); files in
    ``failing`` raise ``AudioError`` on ``load``; ``device_ok=False`` makes every ``load`` raise
    ``AudioDeviceError``. ``calls`` lists ``(method, args...)`` in order. ``position()`` is where
    the fake "sound" is now, and ``volume`` the level it was last given.
    """

    clock: Clock = time.monotonic
    durations: dict[Path, float] = field(default_factory=dict)
    default_duration: float = 180.0
    failing: set[Path] = field(default_factory=set)
    device_ok: bool = True
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    loaded: Path | None = None
    volume: float = 1.0
    paused: bool = False
    fade_ms: int = 0
    _playing: bool = False
    _start_pos: float = 0.0
    _started_at: float = 0.0
    _fade_end: float | None = None

    @classmethod
    def with_tracks(cls, clock: Clock, tracks: Iterable[tuple[Path, float]]) -> FakeOutput:
        return cls(clock=clock, durations=dict(tracks))

    def _duration(self) -> float:
        if self.loaded is None:
            return 0.0
        return self.durations.get(self.loaded, self.default_duration)

    def position(self) -> float:
        """Seconds into the loaded file that the fake sound has reached."""
        if not self._playing:
            return self._start_pos
        return min(self._duration(), self._start_pos + self.clock() - self._started_at)

    def load(self, path: Path) -> None:
        self.calls.append(("load", path))
        if not self.device_ok:
            raise AudioDeviceError("No audio device could be opened (fake).")
        self._playing = False
        self.paused = False
        self._fade_end = None
        if path in self.failing:
            self.loaded = None
            raise AudioError(f"cannot load {path.name}: fake failure")
        self.loaded = path

    def play(self, start: float = 0.0, fade_ms: int = 0) -> None:
        self.calls.append(("play", start, fade_ms))
        if self.loaded is None:
            raise AudioError("nothing loaded")
        self._start_pos = max(0.0, start)
        self._started_at = self.clock()
        self._playing = True
        self.paused = False
        self.fade_ms = fade_ms
        self._fade_end = None

    def pause(self) -> None:
        self.calls.append(("pause",))
        if self._playing and not self.paused:
            self._start_pos = self.position()
            self._playing = False
            self.paused = True

    def unpause(self) -> None:
        self.calls.append(("unpause",))
        if self.paused:
            self._started_at = self.clock()
            self._playing = True
            self.paused = False

    def stop(self) -> None:
        self.calls.append(("stop",))
        self._playing = False
        self.paused = False
        self._start_pos = 0.0
        self._fade_end = None

    def set_volume(self, volume: float) -> None:
        self.calls.append(("set_volume", volume))
        self.volume = min(1.0, max(0.0, volume))

    def busy(self) -> bool:
        if not self._playing or self.paused:
            return False
        now = self.clock()
        if self._fade_end is not None and now >= self._fade_end:
            self._playing = False
            return False
        return self._start_pos + now - self._started_at < self._duration()

    def fadeout(self, ms: int) -> None:
        self.calls.append(("fadeout", ms))
        if self._playing:
            self._fade_end = self.clock() + ms / 1000.0

    def names(self) -> list[str]:
        """The method names called, in order (handy in assertions)."""
        return [str(call[0]) for call in self.calls]


@dataclass
class FakeMixingOutput(FakeOutput):
    """``FakeOutput`` that also crossfades and chains tracks (a ``MixingOutput``), by the clock.

    ``durations`` is each file's real length (whatever its tags say); a file in ``broken_at``
    fails to decode that many seconds in (a ``TrackFailed`` event, then it ends there).
    ``queued`` is the primed next file; ``overlaps`` records ``(old, new, fade_ms)`` crossfades.
    """

    broken_at: dict[Path, float] = field(default_factory=dict)
    queued: Path | None = None
    overlaps: list[tuple[Path | None, Path, int]] = field(default_factory=list)
    _pending_events: list[OutputEvent] = field(default_factory=list)

    def _end_of(self, path: Path) -> float:
        end = self.durations.get(path, self.default_duration)
        return min(end, self.broken_at.get(path, end))

    def _tick(self) -> None:
        """Move past every end the clock has reached: into the queued file, or to silence."""
        now = self.clock()
        while self._playing and not self.paused and self.loaded is not None:
            path = self.loaded
            remaining = self._end_of(path) - self._start_pos
            ends_at = self._started_at + remaining
            if self._fade_end is not None and self._fade_end <= ends_at:
                return  # the fade ends it first (FakeOutput.busy)
            if now < ends_at:
                return
            if path in self.broken_at and self.broken_at[path] < self.durations.get(
                path, self.default_duration
            ):
                self._pending_events.append(TrackFailed(path, f"{path.name} is damaged (fake)"))
            if self.queued is None:
                self._pending_events.append(TrackEnded(path))
                self._playing = False
                self._start_pos = self._end_of(path)
                return
            nxt, self.queued = self.queued, None
            self._pending_events.append(TrackAdvanced(nxt, path))
            self.loaded = nxt
            self._start_pos, self._started_at = 0.0, ends_at

    def position(self) -> float:
        self._tick()
        if not self._playing:
            return self._start_pos
        return min(self._end_of(self.loaded) if self.loaded else 0.0, super().position())

    def busy(self) -> bool:
        self._tick()
        if not self._playing or self.paused or self.loaded is None:
            return False
        if self._fade_end is not None and self.clock() >= self._fade_end:
            self._playing = False
            return False
        return True

    def load(self, path: Path) -> None:
        self.queued = None
        super().load(path)

    def stop(self) -> None:
        self.queued = None
        super().stop()

    def crossfade(self, path: Path, start: float = 0.0, fade_ms: int = 0) -> None:
        self.calls.append(("crossfade", path, start, fade_ms))
        if not self.device_ok:
            raise AudioDeviceError("No audio device could be opened (fake).")
        if path in self.failing:
            raise AudioError(f"cannot load {path.name}: fake failure")
        self._tick()
        old = self.loaded if self._playing else None
        self.overlaps.append((old, path, fade_ms))
        self.queued = None
        self.loaded = path
        self._start_pos = max(0.0, start)
        self._started_at = self.clock()
        self._playing, self.paused, self._fade_end = True, False, None
        self.fade_ms = fade_ms

    def queue(self, path: Path | None) -> None:
        self.calls.append(("queue", path))
        self._tick()
        if path is not None and path in self.failing:  # as the engine: reported, not raised
            self.queued = None
            self._pending_events.append(TrackFailed(path, f"cannot load {path.name}: fake"))
            return
        self.queued = path

    def events(self) -> list[OutputEvent]:
        self._tick()
        found, self._pending_events = self._pending_events, []
        return found

    def length(self) -> float | None:
        return self.durations.get(self.loaded) if self.loaded is not None else None


class ManualClock:
    """A clock for tests and scripted runs: time moves only when told (``advance``)."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now

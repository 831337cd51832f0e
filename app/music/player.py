"""The player: one playlist at a time on an ``AudioOutput``, driven by commands and ``poll()``.

Nothing here blocks. The UI calls ``poll()`` every ~250 ms; it notices the end of a track (the
output is no longer busy), finishes a fade between playlists, and re-tries a missing audio device.

- Position is tracked here from the injected clock (pygame's ``get_pos()`` ignores seeking).
- ``previous()`` restarts the track when more than ``RESTART_AFTER`` seconds have played.
- Repeat ALL (the default) loops the playlist forever; ONE repeats the track; OFF stops after the
  last track (and ``next()`` on the last track stops too).
- Shuffle plays a fresh permutation each cycle, so every track plays once before any repeats, and
  the first track of a cycle is never the last one of the previous cycle.
- ``set_playlist(..., fade=s)`` while playing fades the old track out over ``s`` seconds, then
  starts the new one with an ``s`` fade-in; ``fade=0`` cuts. A command during the fade finishes it
  at once.
- On a ``MixingOutput`` (the engine) a fade is a crossfade: the new playlist's track fades in
  while the old one fades out, no silence between; and the next track of the playlist is primed
  (``output.queue``) so it follows the current one with no gap (an album plays gapless). A track
  ends at the real end of its audio, whatever its tags say.
- A file that fails to load or play (or breaks part-way) is skipped with a logged reason, a
  ``Notice`` in ``.notices`` (and ``on_notice(notice)``) the UI can show, and the next one plays;
  when nothing in the playlist plays the state becomes ERROR with a message in ``.error``. A
  missing audio device is ERROR too; ``play()`` (or ``poll()`` every ``DEVICE_RETRY_S``) tries
  again.
- ``on_track_end(track) -> bool``: called when a track ends by itself, before the player moves on;
  returning True means the caller took over (the controller switches playlist at a track end).
  ``hold_next() -> bool``: while it returns True the next track is not primed (the caller means to
  take over at the end of this one).

All state changes go through ``_set_state``, which logs them.
"""

from __future__ import annotations

import enum
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.music.audio import (
    AudioDeviceError,
    AudioError,
    AudioOutput,
    MixingOutput,
    SeekUnsupported,
    TrackAdvanced,
    TrackFailed,
)
from app.music.library import Playlist, Track
from app.problems import problems

log = logging.getLogger(__name__)

Clock = Callable[[], float]

RESTART_AFTER = 3.0
DEVICE_RETRY_S = 5.0
# A track that ends less than this after it started "played nothing"; when every track of the
# playlist in a row does that (files that load but hold no sound), the player stops in ERROR
# instead of cycling through them forever.
EMPTY_PLAY_S = 0.5


class PlayerState(enum.Enum):
    STOPPED = "stopped"
    PLAYING = "playing"
    PAUSED = "paused"
    ERROR = "error"


class RepeatMode(enum.Enum):
    ALL = "all"
    ONE = "one"
    OFF = "off"


@dataclass(frozen=True)
class Notice:
    """Something the listener should see: a track was skipped, and why."""

    time: float
    path: Path
    title: str
    message: str

    @property
    def text(self) -> str:
        return f"Skipped “{self.title}”: {self.message}"


NOTICES_KEPT = 20


@dataclass(frozen=True)
class _Switch:
    """A playlist change waiting for the old track's fade-out to finish."""

    until: float
    fade_in_ms: int
    play: bool


class _Skip(enum.Enum):
    """After an unplayable track: try the next, or every track failed, or the end was reached
    with repeat off (the player stopped at the start)."""

    NEXT = "next"
    NONE_LEFT = "none left"
    AT_END = "at end"


class Player:
    def __init__(
        self,
        output: AudioOutput,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._output = output
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._state = PlayerState.STOPPED
        self._playlist: Playlist | None = None
        self._order: list[int] = []
        self._cursor = 0
        self._failed: set[int] = set()
        # Position bookkeeping: while sounding, position = _base + (clock - _since).
        self._base = 0.0
        self._since: float | None = None
        # True when the loaded file must be started with output.play() (not unpause()).
        self._needs_start = True
        self._volume = 1.0
        self._muted = False
        self._repeat = RepeatMode.ALL
        self._shuffle = False
        self._switch: _Switch | None = None
        self._retry_at: float | None = None
        self._empty_ends = 0
        self.error: str | None = None
        self.on_track_end: Callable[[Track], bool] | None = None
        self.hold_next: Callable[[], bool] | None = None
        self.on_notice: Callable[[Notice], None] | None = None
        self.notices: deque[Notice] = deque(maxlen=NOTICES_KEPT)
        self._mixing: MixingOutput | None = output if isinstance(output, MixingOutput) else None
        self._primed: int | None = None  # the track index queued on the output
        self._leaving: Path | None = None  # the current track, which left the playlist
        self._output.set_volume(self._volume)

    # ---- read-only views -------------------------------------------------------------------

    @property
    def state(self) -> PlayerState:
        return self._state

    @property
    def playlist(self) -> Playlist | None:
        return self._playlist

    @property
    def index(self) -> int:
        """Index of the current track in ``playlist.tracks``."""
        return self._order[self._cursor] if self._order else 0

    @property
    def current(self) -> Track | None:
        if self._playlist is None or not self._playlist.tracks:
            return None
        return self._playlist.tracks[self.index]

    @property
    def duration(self) -> float:
        """The current track's length: the real one when the output knows it, else the tag's."""
        track = self.current
        if track is None:
            return 0.0
        if self._mixing is not None and self._state is not PlayerState.STOPPED:
            real = self._mixing.length()
            if real is not None and real > 0:
                return real
        return track.duration

    @property
    def position(self) -> float:
        """Seconds into the current track."""
        position = self._base
        if self._since is not None and self._switch is None:
            position += max(0.0, self._clock() - self._since)
        duration = self.duration
        return min(position, duration) if duration > 0 else position

    @property
    def volume(self) -> float:
        return self._volume

    @property
    def muted(self) -> bool:
        return self._muted

    @property
    def repeat(self) -> RepeatMode:
        return self._repeat

    @repeat.setter
    def repeat(self, mode: RepeatMode | str) -> None:
        self._repeat = RepeatMode(mode)
        log.info("repeat: %s", self._repeat.value)

    @property
    def shuffle(self) -> bool:
        return self._shuffle

    @shuffle.setter
    def shuffle(self, on: bool) -> None:
        if bool(on) == self._shuffle:
            return
        self._shuffle = bool(on)
        current = self.index
        self._order = self._new_order(first=current)
        self._cursor = 0 if self._shuffle else current
        log.info("shuffle: %s", "on" if self._shuffle else "off")

    @property
    def order(self) -> tuple[int, ...]:
        """The play order of this cycle (track indices)."""
        return tuple(self._order)

    # ---- commands --------------------------------------------------------------------------

    def set_playlist(
        self,
        playlist: Playlist,
        index: int = 0,
        position: float = 0.0,
        fade: float = 0.0,
        play: bool = True,
    ) -> None:
        """Make ``playlist`` current at ``index``/``position``; fade over ``fade`` s if playing."""
        was_sounding = self._state is PlayerState.PLAYING and self._switch is None
        # A new fade while one is running re-aims it: the old sound keeps fading out.
        retarget = self._switch if fade > 0 else None
        self._switch = None
        if retarget is None:
            self._settle()
        self._playlist = playlist
        self._leaving = None
        self._failed = set()
        self._empty_ends = 0
        self.error = None
        self._retry_at = None
        count = len(playlist.tracks)
        if count == 0:
            self._order, self._cursor = [], 0
            self._output.stop()
            self._fail(f"The playlist “{playlist.name}” has no tracks.")
            return
        index = index if 0 <= index < count else 0
        self._order = self._new_order(first=index)
        self._cursor = 0 if self._shuffle else index
        track = playlist.tracks[index]
        if position < 0 or (track.duration > 0 and position >= track.duration - 0.5):
            position = 0.0
        log.info(
            "playlist %r (%d tracks) at track %d, %.1f s, fade %.1f s",
            playlist.name,
            count,
            index,
            position,
            fade,
        )
        if retarget is not None:
            self._switch = _Switch(retarget.until, int(fade * 1000), play)
            self._base, self._since = position, None
            return
        if self._mixing is not None and fade > 0 and play and (was_sounding or retarget):
            self._crossfade(position, int(fade * 1000))
            return
        if fade > 0 and was_sounding and self._output.busy():
            fade_ms = int(fade * 1000)
            self._output.fadeout(fade_ms)
            self._switch = _Switch(self._clock() + fade, fade_ms, play)
            self._base, self._since = position, None
            return
        self._output.stop()
        self._begin(position, play=play)

    def update_playlist(self, playlist: Playlist) -> bool:
        """A new version of the playlist that is current (the same name; tracks joined or left
        it, as when the listener moves a track to another mood): the music goes on. The current
        track keeps playing (or waiting, when paused) even when it left; it leaves the playlist
        once it has ended. Tracks that stay keep their place in the play order (a shuffle
        included); tracks that joined come later in this cycle. False (nothing done) when
        another playlist is current or nothing changed."""
        old = self._playlist
        if old is None or old.name != playlist.name:
            return False
        current = self.current
        tracks = list(playlist.tracks)
        where = {t.path: i for i, t in enumerate(tracks)}
        self._leaving = None
        if current is not None and current.path not in where and self._order:
            # The track that sounds left: it stays until it ends, after the one it followed.
            at = 0
            for before in reversed(old.tracks[: self.index]):
                if before.path in where:
                    at = where[before.path] + 1
                    break
            tracks.insert(at, current)
            self._leaving = current.path
            where = {t.path: i for i, t in enumerate(tracks)}
        if tuple(tracks) == old.tracks:  # nothing new, or only the current track leaves
            self._playlist = Playlist(playlist.name, old.tracks, playlist.source)
            return self._leaving is not None
        moved = {i: where[t.path] for i, t in enumerate(old.tracks) if t.path in where}
        new = Playlist(playlist.name, tuple(tracks), playlist.source)
        self._failed = {moved[i] for i in self._failed if i in moved}
        primed = self._primed
        self._primed = moved.get(primed) if primed is not None else None
        if not tracks:
            self._playlist, self._order, self._cursor = new, [], 0
            return True
        here = moved.get(self.index, 0) if current is not None else 0
        if not self._shuffle:
            order = list(range(len(tracks)))
            cursor = here
        else:
            order = [moved[i] for i in self._order if i in moved]
            cursor = order.index(here) if here in order else 0
            kept = set(order)
            joined = [i for i in range(len(tracks)) if i not in kept]
            for index in joined:  # somewhere after the current one, at random
                order.insert(self._rng.randint(cursor + 1, len(order)), index)
        self._playlist, self._order, self._cursor = new, order, cursor
        log.info(
            "playlist %r now has %d tracks (was %d); track %d plays on",
            new.name,
            len(tracks),
            len(old.tracks),
            self.index,
        )
        if self._mixing is not None and primed is not None and self._primed is None:
            self._mixing.queue(None)  # the queued next track left the playlist
        if self._state is PlayerState.PLAYING:
            self._keep_primed()
        return True

    def _drop_leaving(self) -> None:
        """The track that left the playlist while it played has ended: take it out."""
        leaving, self._leaving = self._leaving, None
        playlist = self._playlist
        if leaving is None or playlist is None:
            return
        current = self.current
        if current is not None and current.path == leaving:
            self._leaving = leaving  # still the current one
            return
        rest = tuple(t for t in playlist.tracks if t.path != leaving)
        self.update_playlist(Playlist(playlist.name, rest, playlist.source))

    def play(self) -> None:
        self._settle()
        if self._playlist is None or not self._order:
            log.info("play: no playlist")
            return
        if self._state is PlayerState.PLAYING:
            return
        if self._state is PlayerState.ERROR:
            self.error = None
            self._failed = set()
            self._retry_at = None
            self._begin(self._base, play=True)
            return
        if self._state is PlayerState.PAUSED and not self._needs_start:
            self._output.unpause()
            self._since = self._clock()
            self._set_state(PlayerState.PLAYING, "unpause")
            return
        self._begin(self._base, play=True)

    def pause(self) -> None:
        self._settle()
        if self._state is not PlayerState.PLAYING:
            return
        self._base = self.position
        self._since = None
        self._output.pause()
        self._set_state(PlayerState.PAUSED, "pause")

    def toggle(self) -> None:
        if self._state is PlayerState.PLAYING:
            self.pause()
        else:
            self.play()

    def stop(self) -> None:
        self._settle()
        self._output.stop()
        self._base, self._since = 0.0, None
        self._needs_start = True
        if self._state is not PlayerState.ERROR:
            self._set_state(PlayerState.STOPPED, "stop")

    def next(self) -> None:
        """The next track (wraps, except with repeat OFF where the last track's next stops)."""
        self._settle()
        if not self._order:
            return
        keep_playing = self._state is PlayerState.PLAYING
        if self._state is PlayerState.ERROR:
            self._failed = set()
            self.error = None
        if not self._step(+1, wrap=self._repeat is not RepeatMode.OFF):
            self._stop_at_start("next after the last track (repeat off)")
            return
        self._begin(0.0, play=keep_playing)

    def previous(self) -> None:
        """Restart the track if past ``RESTART_AFTER`` s, else the previous track."""
        self._settle()
        if not self._order:
            return
        if self.position > RESTART_AFTER:
            self.seek(0.0)
            return
        keep_playing = self._state is PlayerState.PLAYING
        if not self._step(-1, wrap=self._repeat is not RepeatMode.OFF):
            self.seek(0.0)
            return
        self._begin(0.0, play=keep_playing)

    def seek(self, seconds: float) -> None:
        self._settle()
        if not self._order or self._state is PlayerState.ERROR:
            return
        duration = self.duration
        seconds = max(0.0, seconds)
        if duration > 0:
            seconds = min(seconds, max(0.0, duration - 0.05))
        if self._state is PlayerState.PLAYING:
            try:
                self._start_output(seconds, 0)
            except AudioError as exc:
                log.warning("seek failed (%s); reloading", exc)
                self._begin(seconds, play=True)
        else:
            self._base, self._since = seconds, None
            self._needs_start = True
        log.debug("seek to %.2f s", seconds)

    def set_volume(self, volume: float) -> None:
        self._volume = min(1.0, max(0.0, float(volume)))
        self._apply_volume()

    def set_muted(self, muted: bool) -> None:
        self._muted = bool(muted)
        self._apply_volume()

    def poll(self, now: float | None = None) -> None:
        """Notice a finished fade, the end of a track, or a device to retry. Never blocks."""
        now = self._clock() if now is None else now
        if self._mixing is not None:
            self._take_events(now)
        if self._leaving is not None:
            self._drop_leaving()
        if self._switch is not None:
            if now < self._switch.until:
                return
            switch, self._switch = self._switch, None
            self._begin(self._base, fade_ms=switch.fade_in_ms, play=switch.play)
            return
        if self._state is PlayerState.ERROR:
            if self._retry_at is not None and now >= self._retry_at:
                log.info("retrying the audio device")
                self._retry_at = None
                self.error = None
                self._begin(self._base, play=True)
            return
        if self._state is PlayerState.PLAYING and not self._output.busy():
            self._track_ended()
            return
        if self._state is PlayerState.PLAYING:
            self._keep_primed()

    # ---- internals -------------------------------------------------------------------------

    def _set_state(self, state: PlayerState, reason: str) -> None:
        if state is not self._state:
            log.info("player: %s -> %s (%s)", self._state.value, state.value, reason)
            self._state = state

    def _fail(self, message: str) -> None:
        self.error = message
        self._since = None
        log.warning("player error: %s", message)
        self._set_state(PlayerState.ERROR, message)

    def _apply_volume(self) -> None:
        self._output.set_volume(0.0 if self._muted else self._volume)

    def _new_order(self, first: int) -> list[int]:
        count = len(self._playlist.tracks) if self._playlist is not None else 0
        if not self._shuffle:
            return list(range(count))
        rest = [i for i in range(count) if i != first]
        self._rng.shuffle(rest)
        return [first, *rest] if 0 <= first < count else rest

    def _step(self, direction: int, wrap: bool) -> bool:
        """Move the cursor to the next playable track; False when at the end and not wrapping."""
        count = len(self._order)
        for _ in range(count):
            cursor = self._cursor + direction
            if 0 <= cursor < count:
                self._cursor = cursor
            elif not wrap:
                return False
            elif direction > 0:
                self._start_cycle()
            else:
                self._cursor = count - 1
            if self.index not in self._failed:
                return True
        return False

    def _start_cycle(self) -> None:
        """Begin a new pass over the playlist (a new permutation when shuffling)."""
        if self._shuffle and len(self._order) > 1:
            last = self.index
            order = list(range(len(self._order)))
            self._rng.shuffle(order)
            if order[0] == last:
                swap = self._rng.randrange(1, len(order))
                order[0], order[swap] = order[swap], order[0]
            self._order = order
        self._cursor = 0

    def _stop_at_start(self, reason: str) -> None:
        self._output.stop()
        if self._shuffle:
            self._order = self._new_order(first=self._rng.randrange(len(self._order)))
        self._cursor = 0
        self._base, self._since = 0.0, None
        self._needs_start = True
        self._set_state(PlayerState.STOPPED, reason)

    def _settle(self) -> None:
        """Finish a pending playlist fade at once (a command arrived during it)."""
        if self._switch is not None:
            switch, self._switch = self._switch, None
            self._begin(self._base, play=switch.play)

    def _begin(self, position: float, fade_ms: int = 0, play: bool = True) -> None:
        """Load the current track (skipping ones that fail) and start it or leave it ready."""
        assert self._playlist is not None
        last_reason = ""
        for _ in range(len(self._order)):
            track = self._playlist.tracks[self.index]
            try:
                self._output.load(track.path)
                if play:
                    self._start_output(position, fade_ms)
                else:
                    self._base, self._since = position, None
                    self._needs_start = True
                    if self._state is PlayerState.ERROR:
                        self._set_state(PlayerState.STOPPED, "ready")
                log.info("track %d: %s", self.index, track.display)
                return
            except AudioDeviceError as exc:
                self._base = position
                self._retry_at = self._clock() + DEVICE_RETRY_S if play else None
                self._fail(str(exc))
                return
            except AudioError as exc:
                last_reason = str(exc)
                position = 0.0
                skip = self._skip_unplayable(track, last_reason)
                if skip is _Skip.NONE_LEFT:
                    break
                if skip is _Skip.AT_END:
                    return
        self._fail(
            f"Nothing in the playlist “{self._playlist.name}” could be played ({last_reason})."
        )

    def _start_output(self, position: float, fade_ms: int) -> None:
        """Start the loaded file at ``position``; may raise AudioError (handled by _begin)."""
        try:
            self._output.play(position, fade_ms)
        except SeekUnsupported:
            position = 0.0
        self._base, self._since = position, self._clock()
        self._needs_start = False
        self._set_state(PlayerState.PLAYING, "play")
        self._primed = None
        self._keep_primed()

    def _track_ended(self) -> None:
        track = self.current
        assert track is not None
        log.info("track ended: %s", track.display)
        played = self._clock() - self._since if self._since is not None else 0.0
        self._empty_ends = self._empty_ends + 1 if played < EMPTY_PLAY_S else 0
        self._base, self._since = 0.0, None
        if self._empty_ends >= max(2, len(self._order)):
            self._empty_ends = 0
            self._output.stop()
            self._fail(
                f"Nothing in the playlist “{self._playlist.name if self._playlist else ''}” "
                "makes a sound (every track ended at once)."
            )
            return
        if self.on_track_end is not None and self.on_track_end(track):
            if self._state is PlayerState.PLAYING and not self._output.busy():
                # The hook took over but started nothing: rest here rather than re-ending.
                self._needs_start = True
                self._set_state(PlayerState.STOPPED, "track ended (handled by the caller)")
            return
        if self._repeat is RepeatMode.ONE:
            self._begin(0.0, play=True)
            return
        if not self._step(+1, wrap=self._repeat is RepeatMode.ALL):
            self._stop_at_start("end of playlist (repeat off)")
            return
        self._begin(0.0, play=True)

    # ---- mixing outputs: crossfades, gapless, notices -------------------------------------------

    def _skip_unplayable(self, track: Track, reason: str) -> _Skip:
        """The current track cannot be played: say so, and step to the next playable one (for
        a start or a crossfade to try it)."""
        self._skip_note(track, reason)
        self._failed.add(self.index)
        if len(self._failed) >= len(self._order):
            return _Skip.NONE_LEFT
        if not self._step(+1, wrap=self._repeat is not RepeatMode.OFF):
            self._stop_at_start("the last track failed (repeat off)")
            return _Skip.AT_END
        return _Skip.NEXT

    def _skip_note(self, track: Track, message: str) -> None:
        log.warning("skipped %s: %s", track.path, message)
        problems.report("audio file", track.path, message)
        notice = Notice(self._clock(), track.path, track.display, message)
        self.notices.append(notice)
        if self.on_notice is not None:
            self.on_notice(notice)

    def _crossfade(self, position: float, fade_ms: int) -> None:
        """Overlap the sounding track with the current one (skipping files that fail)."""
        assert self._playlist is not None and self._mixing is not None
        last_reason = ""
        for _ in range(len(self._order)):
            track = self._playlist.tracks[self.index]
            try:
                self._mixing.crossfade(track.path, position, fade_ms)
            except AudioDeviceError as exc:
                self._base = position
                self._retry_at = self._clock() + DEVICE_RETRY_S
                self._fail(str(exc))
                return
            except AudioError as exc:
                last_reason = str(exc)
                position = 0.0
                skip = self._skip_unplayable(track, last_reason)
                if skip is _Skip.NONE_LEFT:
                    break
                if skip is _Skip.AT_END:
                    return
                continue
            log.info("crossfade to track %d: %s (%d ms)", self.index, track.display, fade_ms)
            self._base, self._since = position, self._clock()
            self._needs_start = False
            self._set_state(PlayerState.PLAYING, "crossfade")
            self._primed = None
            self._keep_primed()
            return
        self._output.stop()
        self._fail(
            f"Nothing in the playlist “{self._playlist.name}” could be played ({last_reason})."
        )

    def _peek_next(self) -> int | None:
        """The index the player will move to at a natural end, if it is known now."""
        if not self._order or self._playlist is None:
            return None
        if self._repeat is RepeatMode.ONE:
            return self.index
        count = len(self._order)
        cursor = self._cursor
        for _ in range(count):
            cursor += 1
            if cursor >= count:
                if self._repeat is not RepeatMode.ALL or self._shuffle:
                    return None  # the end, or a new shuffle cycle not drawn yet
                cursor = 0
            index = self._order[cursor]
            if index not in self._failed:
                return index
        return None

    def _keep_primed(self) -> None:
        """Queue the next track on the output (or withdraw it while ``hold_next`` says so)."""
        if self._mixing is None or self._playlist is None:
            return
        if self.hold_next is not None and self.hold_next():
            if self._primed is not None:
                self._mixing.queue(None)
                self._primed = None
            return
        for _ in range(len(self._order)):
            index = self._peek_next()
            if index is None or index == self._primed:
                return
            track = self._playlist.tracks[index]
            try:
                self._mixing.queue(track.path)
            except AudioError as exc:
                self._skip_note(track, str(exc))
                self._failed.add(index)
                self._primed = None
                continue
            self._primed = index
            log.debug("primed track %d: %s", index, track.display)
            return

    def _take_events(self, now: float) -> None:
        assert self._mixing is not None
        for event in self._mixing.events():
            if isinstance(event, TrackFailed):
                track = self._track_for(event.path)
                if track is not None and self._playlist is not None:
                    self._skip_note(track, event.message)
                    index = self._playlist.tracks.index(track)
                    self._failed.add(index)
                    if index == self._primed:
                        self._primed = None  # the next poll primes the one after
            elif isinstance(event, TrackAdvanced) and self._state is PlayerState.PLAYING:
                self._advanced(event, now)

    def _track_for(self, path: Path) -> Track | None:
        if self._playlist is None:
            return None
        return next((t for t in self._playlist.tracks if t.path == path), None)

    def _advanced(self, event: TrackAdvanced, now: float) -> None:
        """The primed track took over from the current one with no gap."""
        track = self.current
        primed, self._primed = self._primed, None
        if track is None or self._playlist is None:
            return
        log.info("track ended: %s (next follows with no gap)", track.display)
        self._empty_ends = 0
        if primed is None or self._playlist.tracks[primed].path != event.path:
            found = self._track_for(event.path)
            if found is None:  # not ours (a stale queue): let the usual end handling run
                return
            primed = self._playlist.tracks.index(found)
        if self._repeat is not RepeatMode.ONE:
            self._step(+1, wrap=self._repeat is RepeatMode.ALL)
            if self.index != primed and primed in self._order:
                self._cursor = self._order.index(primed)
        self._base, self._since = 0.0, now
        self._needs_start = False
        if self.on_track_end is not None and self.on_track_end(track):
            return
        self._keep_primed()

"""What plays: follows the voted mood (AUTO) or the listener's choice (MANUAL).

- AUTO: a mood change maps to a playlist through ``settings.mapping()`` (strategy match/lift plus
  the user's edits). With ``music.switch == "now"`` the player fades (``music.fade_s``) to it at
  once; with ``"track_end"`` the switch waits until the current track ends (``pending`` shows it).
  Pacing: with ``"now"`` a mood change switches the music at most once per
  ``music.min_switch_s`` (default 60 s); a change inside that time waits (``pending`` with
  ``pending_at``, the time it will happen) and is dropped when the mood returns to what plays, so a
  flickering face cannot thrash the playlist. The listener's own choices never wait.
  Before any mood is known, AUTO plays the playlist mapped to "neutral" (or the first playlist).
  A mood whose playlist does not exist is logged and the current playlist keeps playing.
- MANUAL: ``select(name)``, ``next_playlist()``, ``previous_playlist()``; moods are still recorded
  (``mood``) but do not change the music. ``set_auto()`` goes back to the voted mood's playlist.
- Each playlist's (track index, position) is remembered when leaving it, and restored when coming
  back, so a mood that returns resumes its music where it was.
- With a session plan (``set_plan``, strategy "plan"), AUTO plays the plan's playlist: the first
  mood starts it, and ``tick`` follows its steps as time passes (``app/mood/plan.py``).

Plain Python (no Qt): the UI calls ``tick()`` from its timer and reads the properties.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Mapping

from app.errors import UserError
from app.mood.plan import PlanStatus, SessionPlan
from app.music.library import Library, Playlist, Track
from app.music.player import Player, PlayerState, RepeatMode
from app.settings import DEFAULT_PLAYLISTS, Settings

log = logging.getLogger(__name__)

Clock = Callable[[], float]

AUTO_LABEL = "Auto"


class ControlMode(enum.Enum):
    AUTO = "auto"
    MANUAL = "manual"


class Controller:
    def __init__(
        self,
        player: Player,
        library: Library | Mapping[str, Playlist],
        settings: Settings,
        clock: Clock = time.monotonic,
    ) -> None:
        self.player = player
        self.settings = settings
        self._clock = clock
        self._playlists: dict[str, Playlist] = {}
        self._mode = ControlMode.AUTO
        self._mood: str | None = None
        self._pending: str | None = None
        self._late_selection: str | None = None
        self._late_restore: tuple[str, str, float] | None = None
        # When a paced switch (``music.switch == "now"``) happens; None: at the track end.
        self._due: float | None = None
        # When AUTO last followed a mood to another playlist (pacing).
        self._last_switch: float | None = None
        self._resume: dict[str, tuple[int, float]] = {}
        # The playlist the last run ended in (``restore``): Auto starts there until a mood is seen.
        self._restored: str | None = None
        self._started = False
        self._plan: SessionPlan | None = None
        self.set_library(library)
        self.apply_settings()
        player.on_track_end = self._on_track_end
        # A switch waiting for the track end: do not chain the next track gaplessly meanwhile.
        player.hold_next = lambda: self._pending is not None and self._due is None

    # ---- what the UI shows ---------------------------------------------------------------------

    @property
    def mode(self) -> ControlMode:
        return self._mode

    @property
    def mood(self) -> str | None:
        """The last voted mood (expression name), None before the first vote."""
        return self._mood

    @property
    def playlist_name(self) -> str | None:
        playlist = self.player.playlist
        return playlist.name if playlist is not None else None

    @property
    def pending(self) -> str | None:
        """The playlist AUTO will switch to: when the current track ends (``track_end``), or at
        ``pending_at`` (pacing)."""
        return self._pending

    @property
    def pending_at(self) -> float | None:
        """When the pending switch happens (clock time); None: at the end of this track."""
        return self._due if self._pending is not None else None

    @property
    def min_switch_s(self) -> float:
        return max(0.0, float(getattr(self.settings.music, "min_switch_s", 0.0)))

    def playlist_names(self) -> list[str]:
        """Playlists in a stable order: the default mood playlists first, then by name."""
        rank = {name: i for i, name in enumerate(DEFAULT_PLAYLISTS)}
        return sorted(self._playlists, key=lambda n: (rank.get(n, len(rank)), n.casefold()))

    @property
    def plan(self) -> SessionPlan | None:
        return self._plan

    def set_plan(self, plan: SessionPlan | None) -> None:
        """Follow ``plan`` in AUTO (None: the mapping alone)."""
        self._plan = plan

    def plan_status(self, now: float | None = None) -> PlanStatus | None:
        if self._plan is None:
            return None
        return self._plan.status(self._clock() if now is None else now)

    def playlist_for(self, mood: str | None) -> str | None:
        """The playlist the mapping gives ``mood`` (None = no mood yet: "neutral"), if it exists;
        with a session plan under way, the plan's playlist now."""
        if self._plan is not None and self._plan.started:
            planned = self._plan.playlist(self._clock())
            if planned in self._playlists:
                return planned
        mapping = self.settings.mapping()
        name = mapping.get(mood or "neutral")
        if name in self._playlists:
            return name
        if mood is None:
            names = self.playlist_names()
            return names[0] if names else None
        return None

    def resume_point(self, name: str) -> tuple[int, float] | None:
        """(track index, seconds) remembered for playlist ``name``."""
        return self._resume.get(name)

    # ---- commands ------------------------------------------------------------------------------

    def set_library(self, library: Library | Mapping[str, Playlist]) -> None:
        """Use a (re-)scanned library; remembered positions of vanished playlists are dropped."""
        if isinstance(library, Library):
            playlists = library.playlists or library.scan()
        else:
            playlists = dict(library)
        self._playlists = dict(playlists)
        playing = self.player.playlist
        fresh = self._playlists.get(playing.name) if playing is not None else None
        if fresh is not None and playing is not None and fresh.tracks != playing.tracks:
            # A track moved to or from the playlist that plays: it changes under the music,
            # which goes on (the current track even when it left; it leaves when it ends).
            self.player.update_playlist(fresh)
        self._resume = {k: v for k, v in self._resume.items() if k in self._playlists}
        if self._pending is not None and self._pending not in self._playlists:
            self._pending = self._due = None
        if not self._playlists:
            log.warning("no playlists found")
        elif self._started and self.player.playlist is None:
            # Started before any playlist existed (the library arrived late): begin now.
            self.start()
        else:
            self._arrived()

    def _arrived(self) -> None:
        """The library read after start-up holds what the last run chose or ended in: go there,
        unless the listener or a mood has moved the music meanwhile."""
        late, self._late_selection = self._late_selection, None
        auto = self._mode is ControlMode.AUTO
        chosen = late is not None and late == self.settings.window.last_selection
        if chosen and late is not None and late in self._playlists and auto:
            self.select(late)
            self._late_restore = None
            return
        restore, self._late_restore = self._late_restore, None
        fits = restore is not None and restore[0] in self._playlists and self._mood is None
        if fits and auto and restore is not None and self.restore(*restore):
            self._restored = None
            self._switch_to(restore[0], fade=0.0)

    def apply_settings(self) -> None:
        """Give the player ``settings.music``'s volume, mute, repeat and shuffle (after edits)."""
        music = self.settings.music
        self.player.set_volume(music.volume)
        self.player.set_muted(music.muted)
        self.player.repeat = RepeatMode(music.repeat)
        self.player.shuffle = music.shuffle

    def resume_state(self) -> tuple[str, str, float] | None:
        """(playlist, track path, seconds) of what plays now, for ``restore`` at the next start."""
        playlist, track = self.player.playlist, self.player.current
        if playlist is None or track is None:
            return None
        return playlist.name, str(track.path), float(self.player.position)

    def restore(self, playlist: str, track: str = "", position: float = 0.0) -> bool:
        """Resume where the last run ended: ``playlist`` at ``track`` (a path; its index is looked
        up, the playlist may have changed) and ``position`` seconds. Call before ``start()``; the
        last selection (Auto or a playlist) still decides the mode. False when the playlist is gone.
        """
        found = self._playlists.get(playlist)
        if found is None or not found.tracks:
            # Perhaps in the listener's library, which arrives after start-up (set_library).
            self._late_restore = (playlist, track, position)
            return False
        index = next((i for i, t in enumerate(found.tracks) if str(t.path) == track), None)
        if index is None:
            index, position = 0, 0.0  # the track is gone: its playlist from the start
        self._resume[playlist] = (index, max(0.0, position))
        self._restored = playlist
        log.info("resuming %s at track %d, %.1f s", playlist, index, position)
        return True

    def start(self) -> None:
        """Begin playing: the last selection if it still exists, else AUTO's playlist (or the
        playlist the last run ended in, see ``restore``, until a mood is seen)."""
        self._started = True
        last = self.settings.window.last_selection
        # A chosen playlist of the listener's library, which may arrive later (set_library).
        self._late_selection = last if last != AUTO_LABEL and last not in self._playlists else None
        restored, self._restored = self._restored, None
        if last != AUTO_LABEL and last in self._playlists:
            self.select(last)
        elif restored is not None and self._mood is None:
            self._mode = ControlMode.AUTO
            self._switch_to(restored, fade=0.0)
        else:
            self._mode = ControlMode.AUTO
            self._apply_auto(fade=0.0)

    def settings_changed(self) -> None:
        """The mapping, strategy, switch rule or playlists changed: in AUTO, act on the current
        mood at once (as a new mood would, so "when the track ends" still waits)."""
        if self._mode is not ControlMode.AUTO or not self._started:
            return
        self._pending = self._due = None
        if self._mood is not None:
            # The listener's edit: acts at once, not paced.
            self._follow(self._mood, self._clock(), paced=False)
            return
        target = self.playlist_for(None)
        if target is not None and target != self.playlist_name:
            listening = self.player.state in (PlayerState.PLAYING, PlayerState.ERROR)
            self._switch_to(target, fade=self.settings.music.fade_s, play=listening)

    def on_mood(self, mood: str | None, now: float | None = None) -> None:
        """The voter settled on ``mood``; in AUTO the music follows."""
        if mood == self._mood:
            return
        log.debug("mood %s -> %s", self._mood, mood)
        self._mood = mood
        if self._plan is not None and mood is not None:
            self._plan.observe(mood, self._clock() if now is None else now)
        if self._mode is ControlMode.AUTO and self._started and mood is not None:
            self._follow(mood, self._clock() if now is None else now)

    def select(self, name: str) -> None:
        """Manual override: play ``name`` (resuming where it was) until ``set_auto()``."""
        if name not in self._playlists:
            raise UserError(f"There is no playlist called “{name}”; choose one from the list.")
        self._started = True
        self._late_selection = self._late_restore = None
        self._set_mode(ControlMode.MANUAL, f"selected {name}")
        self._pending = self._due = None
        self._switch_to(name, fade=self.settings.music.fade_s)
        self.settings.window.last_selection = name

    def set_auto(self) -> None:
        """Back to following the mood: switch now to the voted mood's playlist."""
        self._started = True
        self._late_selection = self._late_restore = None
        self._set_mode(ControlMode.AUTO, "auto")
        self.settings.window.last_selection = AUTO_LABEL
        self._apply_auto(fade=self.settings.music.fade_s)

    def next_playlist(self) -> None:
        self._step_playlist(+1)

    def previous_playlist(self) -> None:
        self._step_playlist(-1)

    def tick(self, now: float | None = None) -> None:
        """Called by the UI timer: start if needed, let the player notice track ends and fades."""
        if not self._started:
            self.start()
        now = self._clock() if now is None else now
        if (
            self._pending is not None
            and self._due is not None
            and now >= self._due
            and self._mode is ControlMode.AUTO
        ):
            target, self._pending, self._due = self._pending, None, None
            if target in self._playlists and target != self.playlist_name:
                self._paced_switch(target, now)
        plan = self._plan
        if plan is not None and plan.started and self._mode is ControlMode.AUTO:
            planned = plan.playlist(now)
            if planned is not None and planned != self.playlist_name and self._mood is not None:
                # the plan took its next step: its own schedule, not paced
                self._follow(self._mood, now, paced=False)
        self.player.poll(now)

    # ---- internals -----------------------------------------------------------------------------

    def _set_mode(self, mode: ControlMode, reason: str) -> None:
        if mode is not self._mode:
            log.info("control: %s -> %s (%s)", self._mode.value, mode.value, reason)
            self._mode = mode

    def _apply_auto(self, fade: float) -> None:
        self._pending = self._due = None
        target = self.playlist_for(self._mood)
        if target is None:
            log.warning("mood %r maps to no existing playlist; keeping the current one", self._mood)
            if self.player.playlist is None:
                target = self.playlist_for(None)
            if target is None:
                return
        self._switch_to(target, fade=fade)

    def _follow(self, mood: str, now: float | None = None, paced: bool = True) -> None:
        """AUTO follows ``mood`` (at ``now``; paced: at most once per ``min_switch_s``)."""
        now = self._clock() if now is None else now
        target = self.playlist_for(mood)
        if target is None:
            wanted = self.settings.mapping().get(mood)
            log.warning(
                "mood %s maps to playlist %r, which does not exist; keeping %r",
                mood,
                wanted,
                self.playlist_name,
            )
            return
        if target == self.playlist_name and self.player.state is not PlayerState.ERROR:
            self._pending = self._due = None
            return
        if self.settings.music.switch == "track_end" and self.player.state is PlayerState.PLAYING:
            log.debug("mood %s: %s will play when this track ends", mood, target)
            self._pending, self._due = target, None
            return
        gap = self.min_switch_s
        if (
            paced
            and self._last_switch is not None
            and gap > 0
            and now - self._last_switch < gap
            and self.player.state is PlayerState.PLAYING
        ):
            self._pending, self._due = target, self._last_switch + gap
            log.debug("mood %s: %s waits until %.1f (pacing)", mood, target, self._due)
            return
        self._pending = self._due = None
        self._paced_switch(target, now)

    def _paced_switch(self, target: str, now: float) -> None:
        # A paused or stopped listener stays so: the new playlist waits, ready, for play().
        listening = self.player.state in (PlayerState.PLAYING, PlayerState.ERROR)
        self._last_switch = now
        self._switch_to(target, fade=self.settings.music.fade_s, play=listening)

    def _on_track_end(self, track: Track) -> bool:
        """Player hook: apply a deferred AUTO switch instead of moving to the next track."""
        if self._pending is not None and self._due is not None:
            return False  # a paced switch waits for its time, not for the track end
        if self._pending is None or self._mode is not ControlMode.AUTO:
            self._pending = None
            return False
        target, self._pending = self._pending, None
        if target not in self._playlists or target == self.playlist_name:
            return False
        # The finished track's playlist resumes at its next track when we come back.
        self._remember(finished=True)
        self._switch_to(target, fade=0.0, remember=False)
        return True

    def _remember(self, finished: bool = False) -> None:
        playlist = self.player.playlist
        if playlist is None or not playlist.tracks:
            return
        if finished:
            entry = ((self.player.index + 1) % len(playlist.tracks), 0.0)
        else:
            entry = (self.player.index, self.player.position)
        self._resume[playlist.name] = entry
        log.debug("remember %s at track %d, %.1f s", playlist.name, *entry)

    def _switch_to(self, name: str, fade: float, remember: bool = True, play: bool = True) -> None:
        if name == self.playlist_name and self.player.state in (
            PlayerState.PLAYING,
            PlayerState.PAUSED,
        ):
            if play and self.player.state is PlayerState.PAUSED:
                self.player.play()
            return
        if remember:
            self._remember()
        index, position = self._resume.get(name, (0, 0.0))
        log.info("switching to %s (track %d, %.1f s, fade %.1f s)", name, index, position, fade)
        self.player.set_playlist(
            self._playlists[name], index=index, position=position, fade=fade, play=play
        )

    def _step_playlist(self, direction: int) -> None:
        names = self.playlist_names()
        if not names:
            return
        current = self.playlist_name
        at = names.index(current) if current in names else (-1 if direction > 0 else 0)
        self.select(names[(at + direction) % len(names)])

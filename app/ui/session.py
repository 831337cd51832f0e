"""The Qt bridge of the session core (:class:`app.session.Session`).

The main window and the kiosk window both show a :class:`Session`; neither owns the parts. The
bridge lives in the GUI thread and adds only what Qt needs: a 250 ms timer that calls the core's
``poll()``, the capture worker's callbacks queued onto the GUI thread (``tasks.to_main``), the
model loaded through ``tasks.run_task``, and the core's events as Qt signals. So the core, its
voter, controller and player are only ever touched from the GUI thread.
"""

from __future__ import annotations

import collections
import gc
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app import session as core_mod
from app.controller import Controller
from app.mood.calibration import CALIBRATION_S, CalibrationStatus
from app.mood.voter import MoodChange, MoodVoter
from app.music.library import Library, Playlist, TrackPool
from app.music.mood_playlists import Placement
from app.music.player import Player
from app.music.scanner import ScanProgress
from app.session import (
    POLL_INTERVAL_S,
    TIMELINE_SECONDS,
    CameraState,
    CameraWorker,
    SessionListener,
    SessionView,
    TimelinePoint,
    WorkerFactory,
    camera_message,
    describe_source,
)
from app.settings import Settings
from app.ui import tasks
from app.vision.capture import Analyzer
from app.vision.reading import Reading

log = logging.getLogger(__name__)

POLL_INTERVAL_MS = round(POLL_INTERVAL_S * 1000)

__all__ = [
    "POLL_INTERVAL_MS",
    "TIMELINE_SECONDS",
    "CameraState",
    "Session",
    "SessionView",
    "TimelinePoint",
    "build_session",
    "camera_message",
    "describe_source",
]


def _run_task(
    fn: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[BaseException], None],
) -> None:
    tasks.run_task(fn, on_done, on_error, name="session")


class _Relay(SessionListener):
    """The core's events, re-emitted as the bridge's signals (already on the GUI thread)."""

    def __init__(self, bridge: Session) -> None:
        self._bridge = bridge

    def reading_received(self, reading: Reading) -> None:
        self._bridge.reading_received.emit(reading)

    def mood_changed(self, change: MoodChange) -> None:
        self._bridge.mood_changed.emit(change)

    def camera_state_changed(self, state: CameraState, text: str) -> None:
        self._bridge.camera_state_changed.emit(state, text)

    def face_presence_changed(self, present: bool) -> None:
        self._bridge.face_presence_changed.emit(present)

    def ticked(self) -> None:
        self._bridge.ticked.emit()

    def notice(self, message: str) -> None:
        self._bridge.notice.emit(message)

    def settings_changed(self, settings: Settings) -> None:
        self._bridge.settings_changed.emit(settings)

    def calibration_changed(self, status: CalibrationStatus | None) -> None:
        self._bridge.calibration_changed.emit(status)


class Session(QObject):
    """The session the windows show: the core (``core``) plus a poll timer and signals.

    ``player`` and ``controller`` are required here (the windows play music). Parts are passed
    in (``build_session`` makes the real ones), so tests use fakes.
    """

    # Every analysed frame.
    reading_received = Signal(object)
    # The voter adopted a new mood: app.mood.voter.MoodChange.
    mood_changed = Signal(object)
    # (CameraState, a sentence for people)
    camera_state_changed = Signal(object, str)
    # Someone is (True) or nobody is (False) in front of the camera (voter.face_present).
    face_presence_changed = Signal(bool)
    # After every poll: player/controller state may have changed; read session.view().
    ticked = Signal()
    # The settings were replaced (apply_settings).
    settings_changed = Signal(object)
    # A one-line message for people (status bar, banner); never an error box.
    notice = Signal(str)
    # A live calibration started or ended, or the calibration was reset:
    # app.mood.calibration.CalibrationStatus, or None.
    calibration_changed = Signal(object)

    def __init__(
        self,
        settings: Settings,
        player: Player,
        controller: Controller,
        voter: MoodVoter,
        *,
        library: Library | dict[str, Playlist] | None = None,
        settings_path: Path | None = None,
        source: str | None = None,
        analyzer_factory: Callable[[], Analyzer] | None = None,
        worker_factory: WorkerFactory | None = None,
        voter_factory: Callable[[Settings], MoodVoter] | None = None,
        output: Any = None,
        clock: Callable[[], float] = time.monotonic,
        scan_factory: core_mod.ScanFactory | None = None,
        database_path: Path | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._player = player
        self._controller = controller
        self.core = core_mod.Session(
            settings,
            player,
            controller,
            voter,
            library=library,
            settings_path=settings_path,
            source=source,
            analyzer_factory=analyzer_factory,
            worker_factory=worker_factory,
            voter_factory=voter_factory,
            output=output,
            clock=clock,
            post=tasks.to_main,
            run_task=_run_task,
            scan_factory=scan_factory,
            database_path=database_path,
        )
        self.core.add_listener(_Relay(self))
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_INTERVAL_MS)
        self._timer.timeout.connect(self.poll)

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start polling and, when a source is set and the camera is enabled, the camera.
        A stopped session stays stopped."""
        # What lives now (modules, widgets, models) lives as long as the app: take it out of the
        # cyclic garbage collector's full passes before the background library read and scan
        # begin allocating. Those passes hold the GIL on whichever thread triggers them; with
        # the start-up objects in them they took 40 ms at best, 440 ms on a busy machine.
        gc.freeze()
        self.core.start()
        if self.core.running:
            self._timer.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the timer, the camera worker (joined within ``timeout``) and the music."""
        self._timer.stop()
        self.core.stop(timeout)

    def poll(self) -> None:
        """Let time pass for the voter and the controller; the timer calls it every 250 ms."""
        self.core.poll()

    @property
    def polling(self) -> bool:
        return self._timer.isActive()

    # -- commands -------------------------------------------------------------------------------

    def set_camera_enabled(self, enabled: bool) -> None:
        self.core.set_camera_enabled(enabled)

    def set_source(self, source: str | None) -> None:
        self.core.set_source(source)

    def set_camera_state(self, state: CameraState, text: str | None = None) -> None:
        self.core.set_camera_state(state, text)

    def apply_settings(self, new: Settings) -> None:
        self.core.apply_settings(new)

    def save_settings(self) -> bool:
        return self.core.save_settings()

    def rescan_library(self) -> bool:
        return self.core.rescan_library()

    def remember_state(self) -> None:
        self.core.remember_state()

    def scan_library(self) -> bool:
        return self.core.scan_library()

    def cancel_scan(self) -> bool:
        return self.core.cancel_scan()

    def explain_track(self, path: Path, on_done: Callable[[Placement | None], None]) -> bool:
        return self.core.explain_track(path, on_done)

    def start_calibration(self, seconds: float = CALIBRATION_S) -> CalibrationStatus:
        return self.core.start_calibration(seconds)

    def cancel_calibration(self) -> None:
        self.core.cancel_calibration()

    def reset_calibration(self) -> None:
        self.core.reset_calibration()

    def set_calibration_on(self, on: bool) -> None:
        self.core.set_calibration_on(on)

    def set_calibration_strength(self, strength: float) -> None:
        self.core.set_calibration_strength(strength)

    def set_room(self, room: bool | None) -> None:
        self.core.set_room(room)

    def set_preview(self, shown: bool) -> None:
        self.core.set_preview(shown)

    def shown_probabilities(
        self, reading: Reading
    ) -> tuple[dict[str, float], dict[str, float] | None]:
        return self.core.shown_probabilities(reading)

    @property
    def calibration(self) -> CalibrationStatus | None:
        return self.core.calibration

    @property
    def calibrating(self) -> bool:
        return self.core.calibrating

    def change_track(
        self,
        path: Path,
        action: str,
        mood: str | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> bool:
        return self.core.change_track(path, action, mood, on_done)

    # -- what the windows read ------------------------------------------------------------------

    def view(self) -> SessionView:
        return self.core.view()

    def latest_frame(self) -> Any:
        return self.core.latest_frame()

    @property
    def output(self) -> Any:
        """The audio output the player sounds through."""
        return self.core.output

    @property
    def player(self) -> Player:
        return self._player

    @property
    def controller(self) -> Controller:
        return self._controller

    @property
    def voter(self) -> MoodVoter:
        return self.core.voter

    @property
    def settings(self) -> Settings:
        return self.core.settings

    @property
    def settings_path(self) -> Path | None:
        return self.core.settings_path

    @settings_path.setter
    def settings_path(self, path: Path | None) -> None:
        self.core.settings_path = path

    @property
    def library(self) -> Library | dict[str, Playlist] | None:
        return self.core.library

    @property
    def library_factory(self) -> Callable[[Settings], Library | dict[str, Playlist]] | None:
        return self.core.library_factory

    @library_factory.setter
    def library_factory(
        self, factory: Callable[[Settings], Library | dict[str, Playlist]] | None
    ) -> None:
        self.core.library_factory = factory

    @property
    def scanning(self) -> bool:
        return self.core.scanning

    @property
    def scan_progress(self) -> ScanProgress | None:
        return self.core.scan_progress

    @property
    def database_path(self) -> Path | None:
        return self.core.database_path

    @property
    def source(self) -> str | None:
        return self.core.source

    @source.setter
    def source(self, source: str | None) -> None:
        self.core.source = source

    @property
    def clock(self) -> Callable[[], float]:
        return self.core.clock

    @property
    def camera_wanted(self) -> bool:
        return self.core.camera_wanted

    @property
    def camera_state(self) -> CameraState:
        return self.core.camera_state

    @property
    def camera_text(self) -> str:
        return self.core.camera_text

    @property
    def worker(self) -> CameraWorker | None:
        return self.core.worker

    @property
    def last_reading(self) -> Reading | None:
        return self.core.last_reading

    @property
    def timeline(self) -> collections.deque[TimelinePoint]:
        return self.core.timeline

    @property
    def latency_s(self) -> float | None:
        return self.core.latency_s

    @property
    def analyses_per_second(self) -> float:
        return self.core.analyses_per_second


def build_session(
    settings: Settings,
    settings_path: Path | None,
    source: str | None = None,
    no_camera: bool = False,
    output: Any = None,
) -> Session:
    """The real parts: library, player (pygame mixer unless ``output`` is given), controller,
    voter, and the capture worker with the expression model chosen in the settings.

    ``source`` overrides ``settings.camera.source`` for this run; ``no_camera`` starts a manual
    player. Call ``start()`` on the result once the window is shown.
    """
    from app import paths
    from app.mood.voter import VoterConfig
    from app.music import mood_playlists, scanner
    from app.music.database import LoudnessLookup, default_path
    from app.music.library import default_folders

    database_path = default_path()
    if output is None:
        from app.music.audio import AudioDeviceError
        from app.music.outputs import default_output

        # Levelled by ReplayGain tags, else by what the library scan measured.
        output = default_output(
            level=settings.music.level_loudness, lookup=LoudnessLookup(database_path)
        )
        try:
            # Open the device now, before the window shows, not on the first track inside the
            # running event loop (it takes ~0.2 s).
            output.open()
        except AudioDeviceError as exc:
            log.warning("%s The player will say so when it tries to play.", exc)

    # One track object per path across reads; what exists is frozen every 4,000 new tracks
    # (see make_library).
    pool = TrackPool(on_new=gc.freeze)

    def make_library(current: Settings) -> core_mod.LibraryPlaylists:
        # Reads the disk and the database: always through run_task (rescan_library).
        folders = default_folders(current.music.playlist_folders)
        read = mood_playlists.mood_library_with_notes(folders, database_path, pool=pool)
        # What lives now (modules, widgets, this library) lives long: leave it out of the cyclic
        # garbage collector's full passes, which hold the GIL on whichever thread runs them
        # (they took 100-440 ms with a 20,000-track library in them: the window stalled that
        # long). The library's objects hold no reference cycles, so an old library frozen here
        # is still freed, by reference counting, when a new one replaces it.
        gc.freeze()
        # Limits the folder read reached ("a folder over 100,000 files ...") go to the window.
        return core_mod.LibraryPlaylists(read.playlists, list(read.notes))

    def make_scan(
        current: Settings,
        on_progress: Callable[[ScanProgress], None],
        on_done: Callable[[object], None],
    ) -> scanner.ScanTask | None:
        # The listener's folders (the shipped tracks are placed by their folders already).
        user = paths.user_playlists_dir()
        roots = [Path(f).expanduser() for f in current.music.playlist_folders]
        if user.is_dir():
            roots.insert(0, user)
        if not roots:
            return None
        return scanner.ScanTask(roots, database_path, on_progress=on_progress, on_done=on_done)

    # Until the library arrives from its background read: the six mood playlists of the shipped
    # tracks (a few small files of the app's own; start-up never reads the user's folders).
    library = mood_playlists.build_mood_playlists(None, [])
    player = Player(output)
    controller = Controller(player, library, settings)

    def make_voter(current: Settings) -> MoodVoter:
        return MoodVoter(VoterConfig.from_settings(current.mood))

    camera_source = None if no_camera else (source or settings.camera.source)
    session = Session(
        settings,
        player,
        controller,
        make_voter(settings),
        library=library,
        settings_path=settings_path,
        source=camera_source,
        voter_factory=make_voter,
        output=output,
        scan_factory=make_scan,
        database_path=database_path,
    )
    core = session.core

    def analyzer_factory() -> Analyzer:
        from app.vision.analyzer import build_analyzer

        return build_analyzer(core.settings.model)

    def worker_factory(
        analyzer: Analyzer,
        on_reading: core_mod.OnReading,
        on_state: core_mod.OnState,
    ) -> CameraWorker:
        from app.vision.capture import CaptureWorker
        from app.vision.source_registry import open_source

        spec = core.source or "0"
        loop = core.settings.camera.loop_video
        return CaptureWorker(
            lambda: open_source(spec, loop=loop),
            analyzer,
            rate=core.settings.camera.analysis_rate,
            on_reading=on_reading,
            on_state=on_state,
        )

    core.analyzer_factory = analyzer_factory
    core.worker_factory = worker_factory
    core.library_factory = make_library
    return session

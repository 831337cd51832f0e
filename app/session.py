"""One listening session without Qt: camera worker -> mood voter -> controller -> player.

Every front end drives this one loop: the Qt bridge (``app.ui.session``, a timer and queued
signals) for the main window and the kiosk, and the headless ``watch`` command. The parts are
passed in, so tests use fakes and a manual clock.

Threads. A :class:`Session` is owned by one thread (the GUI thread, or ``watch``'s main thread):
every method is called there and every listener is called there. The capture worker calls its
callbacks on its own threads; the session never handles them there but hands them to ``post``,
which must run them later on the owner thread. The Qt bridge passes a ``post`` that queues onto
the GUI thread; without one the session keeps an :class:`Inbox` (a thread-safe queue) that
``poll()`` and ``run_pending()`` empty on the owner thread. Long work (loading the expression
model) goes to ``run_task``, which runs it elsewhere and calls back on the owner thread.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import enum
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from app import paths
from app import settings as settings_mod
from app.controller import Controller, ControlMode
from app.errors import UserError
from app.mood.calibration import (
    CALIBRATION_S,
    CalibrationState,
    CalibrationStatus,
    LiveCalibration,
)
from app.mood.plan import PlanConfig, PlanState, PlanStatus, SessionPlan
from app.mood.voter import MoodChange, MoodVoter
from app.music.audio import AudioOutput
from app.music.database import files_signature, library_stamp
from app.music.library import Library, Playlist, Track
from app.music.mood_playlists import Placement
from app.music.player import Player, PlayerState, RepeatMode
from app.music.scanner import ScanProgress, ScanResult
from app.report import ReportRow, SessionReport, report_dir
from app.settings import Settings
from app.vision.capture import Analyzer, CaptureState
from app.vision.reading import Reading

log = logging.getLogger(__name__)

Clock = Callable[[], float]
# Runs a call later on the session's own thread; may be called from any thread.
Post = Callable[[Callable[[], None]], None]

POLL_INTERVAL_S = 0.25
# How long the mood timeline remembers.
TIMELINE_SECONDS = 300.0
# The resume point's position is kept in steps of this many seconds (see remember_state).
RESUME_STEP_S = 5.0
# Readings younger than this count towards "analyses per second".
RATE_WINDOW_S = 3.0
# How often the window looks whether another program changed the library database.
LIBRARY_CHECK_S = 2.0
# Skipped files of a scan named one by one in the log (and the problem list).
MAX_LOGGED_SKIPS = 200
# What the listener can do to one track's place in the mood playlists (``change_track``).
TRACK_ACTIONS = ("move", "pin", "unpin", "exclude", "include", "reset")
# Frames a second the capture worker decodes for a visible preview (besides those analysed).
PREVIEW_FPS = 15.0
NO_CAMERA_TO_CALIBRATE = (
    "Calibration needs the camera: turn it on (View → Use the camera) and try again."
)


# Expressions as mood words for people.
MOOD_WORDS: dict[str, str] = {
    "angry": "Angry",
    "disgust": "Disgusted",
    "fear": "Afraid",
    "happy": "Happy",
    "sad": "Sad",
    "surprise": "Surprised",
    "neutral": "Calm",
}


class CameraState(str, enum.Enum):
    """The camera as people see it: the worker's states plus ``OFF`` (no camera wanted) and
    ``LOADING`` (the expression model is loading). The values are the lower-case names."""

    OFF = "off"
    LOADING = "loading"
    STARTING = "starting"
    RUNNING = "running"
    RECONNECTING = "reconnecting"
    FAILED = "failed"
    STOPPED = "stopped"

    @property
    def active(self) -> bool:
        """On or on its way: looking at the camera can change the music."""
        return self in _ACTIVE


_ACTIVE = frozenset(
    {CameraState.LOADING, CameraState.STARTING, CameraState.RUNNING, CameraState.RECONNECTING}
)


@dataclass(frozen=True, slots=True)
class TimelinePoint:
    """The voted mood at one moment (``mood`` is None when nobody is seen)."""

    time: float
    mood: str | None
    confidence: float


@dataclass(frozen=True, slots=True)
class SessionView:
    """What the windows show, read in one go (``Session.view()``): what plays, why, the mood,
    the camera. Immutable; take a new one after every poll."""

    now: float
    # what plays
    track: Track | None
    playlist: str | None
    tracks: tuple[Track, ...]
    index: int | None  # of ``track`` in ``tracks``
    position: float
    duration: float
    player: PlayerState
    repeat: RepeatMode
    shuffle: bool
    volume: float
    muted: bool
    error: str | None  # the player's problem in words, if any
    playlists: tuple[str, ...]  # every playlist, in the controller's order
    # why it plays
    mode: ControlMode
    reason: str  # a sentence ("" when nothing is chosen yet)
    pending: str | None  # the playlist Auto switches to when this track ends
    # the mood
    mood: str | None  # voted now (None: nobody seen / not yet)
    confidence: float
    music_mood: str | None  # the mood the music last followed
    face_present: bool
    # the camera
    camera: CameraState
    camera_text: str
    camera_wanted: bool
    analyses_per_second: float
    latency_s: float | None
    # the session plan ("plan" strategy): where we are; None without a plan
    plan: PlanStatus | None = None
    # a session report is being written (shown on screen while on)
    report: bool = False
    # resting outside the kiosk's session hours: camera off, music paused
    resting: bool = False
    # the library
    scan: ScanProgress | None = None  # the background scan now running, if any
    pending_in_s: float | None = None  # a paced switch happens in this many seconds
    # the faces: in the latest reading (camera running), and how many of them vote
    faces_seen: int = 0
    faces_voting: int = 0
    room: bool = False  # every face in view votes (the kiosk; mood.room on the desktop)
    # your neutral face: a baseline is stored / the readings are corrected by it now
    calibrated: bool = False
    correcting: bool = False
    calibration: CalibrationStatus | None = None  # the live calibration, running or just over

    @property
    def auto(self) -> bool:
        return self.mode is ControlMode.AUTO

    @property
    def playing(self) -> bool:
        return self.player is PlayerState.PLAYING

    @property
    def watching(self) -> bool:
        """The camera is on (or on its way), so that looking at it can change the music."""
        return self.camera.active


class SessionListener:
    """What a session tells its front ends, on the session's thread. Override what you need."""

    def reading_received(self, reading: Reading) -> None:
        """Every analysed frame."""

    def mood_changed(self, change: MoodChange) -> None:
        """The voter adopted a new mood."""

    def camera_state_changed(self, state: CameraState, text: str) -> None:
        """The camera state or its sentence for people changed."""

    def face_presence_changed(self, present: bool) -> None:
        """Someone is (True) or nobody is (False) in front of the camera."""

    def ticked(self) -> None:
        """After every poll: the player and controller may have moved on; read the view."""

    def notice(self, message: str) -> None:
        """A one-line message for people (status bar, banner); never an error box."""

    def settings_changed(self, settings: Settings) -> None:
        """``apply_settings`` replaced the settings (or a calibration changed them)."""

    def calibration_changed(self, status: CalibrationStatus | None) -> None:
        """A live calibration started, ended, or was reset (None: no calibration shown)."""


class CameraWorker(Protocol):
    """What the session needs of a capture worker (``app.vision.capture.CaptureWorker``)."""

    message: str
    # frames a second decoded for the preview besides the analysed ones (0: none)
    preview_fps: float

    def start(self) -> None: ...

    def stop(self, timeout: float = 1.0) -> object: ...

    def latest_frame(self) -> Any: ...


OnReading = Callable[[Reading], object]
OnState = Callable[[CaptureState], object]
# worker_factory(analyzer, on_reading, on_state); the callbacks may be called from any thread.
WorkerFactory = Callable[[Analyzer, OnReading, OnState], CameraWorker]


class LibraryScan(Protocol):
    """What the session needs of a background library scan (``app.music.scanner.ScanTask``)."""

    result: ScanResult | None
    error: str | None

    def start(self) -> None: ...

    def cancel(self) -> None: ...


# scan_factory(settings, on_progress, on_done) -> an unstarted scan (None: nothing to scan); its
# callbacks may come from any thread.
ScanFactory = Callable[
    [Settings, Callable[[ScanProgress], None], Callable[[object], None]], LibraryScan | None
]


class LibraryPlaylists(dict[str, Playlist]):
    """Playlists by name, with the sentences the library read left for the listener (a folder
    over a limit, ...): the session says each once, in the status bar."""

    def __init__(self, playlists: dict[str, Playlist], notes: Sequence[str] = ()) -> None:
        super().__init__(playlists)
        self.notes = tuple(notes)


class TaskRunner(Protocol):
    """Runs ``fn`` off the session's thread; ``on_done(result)`` or ``on_error(exception)`` is
    then called on the session's thread."""

    def __call__(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
    ) -> None: ...


@runtime_checkable
class Closable(Protocol):
    """An audio output that holds a device until closed (``PygameOutput``)."""

    def close(self) -> None: ...


class Inbox:
    """Calls posted from any thread, run on the owner thread by :meth:`run_pending`."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()

    def post(self, call: Callable[[], None]) -> None:
        self._queue.put(call)

    def run_pending(self, timeout: float = 0.0, limit: int | None = None) -> int:
        """Run what is waiting (at most ``limit`` calls); wait up to ``timeout`` seconds for the
        first. Returns how many ran."""
        done = 0
        try:
            call = self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
        except queue.Empty:
            return 0
        while True:
            call()
            done += 1
            if limit is not None and done >= limit:
                return done
            try:
                call = self._queue.get_nowait()
            except queue.Empty:
                return done


def thread_runner(post: Post) -> TaskRunner:
    """A :class:`TaskRunner` on a plain daemon thread that reports back through ``post``."""

    def run(
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        def work() -> None:
            try:
                result = fn()
            except Exception as exc:  # handed to on_error, not lost
                error = exc
                post(lambda: on_error(error))
                return
            post(lambda: on_done(result))

        threading.Thread(target=work, name="session-task", daemon=True).start()

    return run


def run_now(
    fn: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[BaseException], None],
) -> None:
    """A :class:`TaskRunner` that runs ``fn`` at once, on the caller's thread (``watch``)."""
    try:
        result = fn()
    except Exception as exc:
        on_error(exc)
        return
    on_done(result)


def camera_message(state: CameraState, source: str) -> str:
    """A sentence for people about the camera."""
    return {
        CameraState.OFF: "Camera off — nothing is watched; the music plays on (Auto waits for "
        "the camera). Turn it on with View → Use the camera (Ctrl+Shift+C).",
        CameraState.LOADING: "Loading the expression model…",
        CameraState.STARTING: f"Opening {source}…",
        CameraState.RUNNING: f"Watching {source}",
        CameraState.RECONNECTING: f"Lost {source}; trying again…",
        CameraState.FAILED: f"Cannot open {source}. Choose another camera in Settings → Camera; "
        "the music keeps playing.",
        CameraState.STOPPED: "Camera stopped.",
    }[state]


def faces_text(view: SessionView) -> str:
    """How many faces the camera sees, in words ("2 faces", "no face"); "" when it is not
    running. Says when not every face votes (the room's newcomers, or one face out of the room)."""
    if view.camera is not CameraState.RUNNING:
        return ""
    seen, voting = view.faces_seen, view.faces_voting
    if seen == 0:
        return "no face"
    count = f"{seen} face{'s' if seen != 1 else ''}"
    if view.room:
        return count if voting >= seen else f"{count}, {voting} voting"
    return count if seen == 1 else f"{count}, one votes"


def describe_source(spec: str) -> str:
    if spec.isdigit():
        return f"camera {spec}"
    return Path(spec).name or spec


def scan_summary(result: ScanResult, last: ScanProgress | None = None) -> str:
    """One sentence on a finished scan for the status bar."""
    skipped = ""
    if result.skipped:
        skipped = f"; {len(result.skipped):,} files skipped (the log says why)"
    if result.cancelled:
        where = ""
        if last is not None and last.phase == "listening":
            where = f" at {last.done:,} of {last.total:,}"
        return (
            f"Library scan cancelled{where}; what was analysed is kept, and the next start "
            f"goes on from there{skipped}."
        )
    new = f", {result.analysed:,} new" if result.analysed else ""
    return f"Library ready: {result.tracks:,} tracks sorted by mood{new}{skipped}."


def mood_word(mood: str) -> str:
    """An expression as a mood word ("neutral" -> "Calm")."""
    return MOOD_WORDS.get(mood, mood)


def playlist_word(name: str) -> str:
    """A playlist name as shown ("upbeat" -> "Upbeat", names with capitals stay)."""
    return name.capitalize() if name.islower() else name


def _music_key(settings: Settings) -> tuple[object, ...]:
    """What changes the playlist the current mood calls for (the strategy is in the mapping)."""
    return (settings.mapping(), settings.music.switch)


def _voter_key(settings: Settings) -> tuple[object, ...]:
    """What makes a new voter when it changes (the calibration and room change it in place,
    so the mood is kept)."""
    m = settings.mood
    return (m.window_s, m.margin, m.dwell_s, m.min_face_share, m.no_face_after_s)


def _camera_key(settings: Settings) -> tuple[object, ...]:
    """What restarts the camera worker when it changes (the preview's visibility does not)."""
    c = settings.camera
    return (c.enabled, c.source, c.analysis_rate, c.loop_video, settings.model)


class Session:
    """Owns the worker, voter, controller and player of one run (see the module docstring).

    ``player`` and ``controller`` may be None for a session that only reads the mood
    (``watch``). ``analyzer_factory()`` builds the expression analyser (through ``run_task``,
    off this thread); ``worker_factory(analyzer, on_reading, on_state)`` makes the camera worker.
    """

    def __init__(
        self,
        settings: Settings,
        player: Player | None,
        controller: Controller | None,
        voter: MoodVoter,
        *,
        library: Library | dict[str, Playlist] | None = None,
        library_factory: Callable[[Settings], Library | dict[str, Playlist]] | None = None,
        settings_path: Path | None = None,
        source: str | None = None,
        analyzer_factory: Callable[[], Analyzer] | None = None,
        worker_factory: WorkerFactory | None = None,
        voter_factory: Callable[[Settings], MoodVoter] | None = None,
        output: AudioOutput | Closable | None = None,
        clock: Clock = time.monotonic,
        post: Post | None = None,
        run_task: TaskRunner | None = None,
        wall: Clock = time.time,
        reports: Path | None = None,
        scan_factory: ScanFactory | None = None,
        database_path: Path | None = None,
    ) -> None:
        self.settings = settings
        # wall-clock time for the session report's rows, and where reports go
        self.wall = wall
        self.reports = reports
        self.settings_path = settings_path
        self.player = player
        self.controller = controller
        self.voter = voter
        self.library = library
        # Makes a scanned library for the settings' playlist folders (None: keep the library).
        self.library_factory = library_factory
        # The audio output; closed (mixer shut) by stop() when it has close().
        self.output = output
        self.clock = clock
        # The camera/video source to watch; None means no camera this session.
        self.source = source
        self.analyzer_factory = analyzer_factory
        self.worker_factory = worker_factory
        self.voter_factory = voter_factory
        # Makes the background library scan (start() and new playlist folders run one).
        self.scan_factory = scan_factory
        # The library database ("why this track is here", the listener's moves).
        self.database_path = database_path
        self._scan: LibraryScan | None = None
        self._scan_id = 0
        self._scan_cancelled = False
        self._library_notes: set[str] = set()
        # The newest progress of the running scan (None: no scan running).
        self.scan_progress: ScanProgress | None = None
        self._inbox: Inbox | None = None
        if post is None:
            self._inbox = Inbox()
            post = self._inbox.post
        self._post: Post = post
        self._run_task: TaskRunner = run_task if run_task is not None else thread_runner(post)
        self._listeners: list[SessionListener] = []

        self.worker: CameraWorker | None = None
        # Bumped whenever the worker stops: callbacks of an older worker are ignored.
        self._generation = 0
        self._analyzer: Analyzer | None = None
        self._loading = False
        self.camera_state = CameraState.OFF
        self.camera_text = camera_message(CameraState.OFF, "")
        self.last_reading: Reading | None = None
        self.timeline: collections.deque[TimelinePoint] = collections.deque()
        self._reading_times: collections.deque[float] = collections.deque()
        self.latency_s: float | None = None
        self._face_present = bool(voter.face_present)
        self._running = False
        self._stopped = False
        self._tick_error: str | None = None
        self._scan_generation = 0
        # What the playlists were last built from (database.library_stamp), and the files'
        # signature when last looked at: another program's changes to the library are noticed.
        self._library_stamp: object = None
        self._library_signature: object = None
        self._library_check_at = 0.0
        self._library_checking = False
        self._reading_library = False
        self._read_again = False  # a read was asked for while one was on its way
        self._scan_due = False  # a scan starts when the library read on its way has ended
        self.report: SessionReport | None = None
        self._last_row: ReportRow | None = None
        self._last_mode: ControlMode | None = None
        self.resting = False
        # when the face now in front of the camera appeared (None: nobody)
        self._face_since: float | None = None
        # every face votes (True, the kiosk), one face (False), or as mood.room says (None)
        self.room_override: bool | None = None
        # a preview is on screen: the worker decodes PREVIEW_FPS frames a second for it
        self._preview = False
        self._calibration: LiveCalibration | None = None
        self._calibration_status: CalibrationStatus | None = None
        self._sync_plan()

    def add_listener(self, listener: SessionListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: SessionListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Start the camera when a source is set and the camera is enabled. A stopped session
        stays stopped (its audio output is closed)."""
        if self._stopped:
            log.debug("start() after stop() ignored")
            return
        self._running = True
        self._sync_report()
        if self.camera_wanted:
            self._start_camera()
        else:
            self.set_camera_state(CameraState.OFF)
        self._read_then_scan(read_alone=False)

    def stop(self, timeout: float = 1.0, drain: bool = False) -> None:
        """Stop the camera worker (joined within ``timeout``) and the music, close the output.

        ``drain``: readings the worker delivered before it ended still count (only with the
        session's own inbox; a front end that posts elsewhere delivers those itself).
        """
        self._running = False
        self._stopped = True
        self._stop_camera(timeout, drain=drain)
        self._close_report()
        self._scan_due = False
        if self._scan is not None:
            # Commits go track by track: the next start goes on from where this one stopped.
            self._scan.cancel()
            self._scan = None
            self.scan_progress = None
        if self.player is not None:
            try:
                self.player.stop()
            except Exception:  # the mixer may already be gone at exit
                log.exception("stopping the player failed")
        if isinstance(self.output, Closable):
            try:
                self.output.close()
            except Exception:
                log.exception("closing the audio output failed")

    @property
    def camera_wanted(self) -> bool:
        return bool(self.source) and self.settings.camera.enabled and not self.resting

    def rest(self, resting: bool) -> None:
        """Rest (outside the kiosk's session hours): camera off and music paused, without
        changing the settings; ``rest(False)`` plays and watches again."""
        if resting == self.resting:
            return
        self.resting = resting
        log.info("session: %s", "resting (outside session hours)" if resting else "awake again")
        if resting:
            self._stop_camera(1.0)
            self.set_camera_state(CameraState.OFF, "Resting outside the session hours.")
            if self.player is not None and self.player.state is PlayerState.PLAYING:
                self.player.pause()
            return
        if self.player is not None and self.player.state is PlayerState.PAUSED:
            self.player.play()
        if self._running and self.camera_wanted and self.worker is None:
            self._start_camera()
        elif not self.camera_wanted:
            self.set_camera_state(CameraState.OFF)

    # -- session plan and report -------------------------------------------------------------

    def _sync_plan(self) -> None:
        """A session plan while the strategy is "plan" (rebuilt when its settings change)."""
        controller = self.controller
        if controller is None:
            return
        if self.settings.music.strategy != "plan":
            controller.set_plan(None)
            return
        config = PlanConfig(self.settings.session.plan_target, self.settings.session.plan_minutes)
        current = controller.plan
        if current is not None and current.config == config:
            return
        match = dict(settings_mod.STRATEGY_MAPPINGS["match"])
        match.update(self.settings.music.mapping)
        controller.set_plan(SessionPlan(config, match, controller.playlist_names()))

    def _restart_plan(self, now: float) -> None:
        """A reset plan waits for someone: once a face has been seen for a voting window (so the
        voter's mood is theirs, not the last listener's), it starts from that mood."""
        plan = self.controller.plan if self.controller is not None else None
        since = self._face_since
        if plan is None or plan.started or since is None or not self.voter.mood:
            return
        if now - since >= self.settings.mood.window_s:
            plan.observe(self.voter.mood, now)

    def reset_plan(self) -> None:
        """A new listener: the plan starts again from the next mood seen."""
        if self.controller is not None and self.controller.plan is not None:
            self.controller.plan.reset()

    def _sync_report(self) -> None:
        wanted = self.settings.session.report and self._running
        if wanted and self.report is None:
            folder = self.reports if self.reports is not None else report_dir(paths.data_dir())
            try:
                self.report = SessionReport(
                    folder, self.wall(), interval_s=self.settings.session.report_interval_s
                )
            except OSError as exc:
                self._notice(f"The session report cannot be written in {folder}: {exc}")
                return
            self._notice(f"Session report on: {self.report.csv_path}")
        elif not wanted and self.report is not None:
            self._close_report()

    def _close_report(self) -> None:
        report, self.report = self.report, None
        if report is None:
            return
        try:
            picture = report.close(self.wall())
        except Exception:  # a failed picture must not stop the shut-down
            log.exception("writing the session report picture failed")
            return
        if picture is not None:
            self._notice(f"Session report written: {picture}")

    def _record_report(self) -> None:
        report = self.report
        if report is None:
            return
        view = self.view()
        override = ""
        last = self._last_row
        if self._last_mode is not None and view.mode is not self._last_mode:
            override = "auto" if view.auto else f"playlist: {view.playlist}"
        elif last is not None and not view.auto and view.playlist != last.playlist:
            override = f"playlist: {view.playlist}"
        elif last is not None and round(view.volume, 2) != round(last.volume, 2):
            override = f"volume: {round(view.volume * 100)}%"
        self._last_mode = view.mode
        row = ReportRow(
            time=self.wall(),
            mood=view.mood if view.face_present else None,
            confidence=view.confidence if view.face_present else 0.0,
            face=view.face_present,
            playlist=view.playlist or "",
            track=view.track.title if view.track is not None else "",
            volume=0.0 if view.muted else view.volume,
            override=override,
        )
        try:
            report.record(row)
        except OSError as exc:
            log.warning("session report: cannot write (%s); turning it off", exc)
            self._close_report()
            return
        self._last_row = row

    def set_camera_enabled(self, enabled: bool) -> None:
        """Turn the camera on or off (the music goes on either way)."""
        self.settings.camera.enabled = enabled
        if not self._running:
            return
        if enabled and self.source and self.worker is None:
            self._start_camera()
        elif not enabled:
            self._stop_camera(1.0)
            self.set_camera_state(CameraState.OFF)

    def set_source(self, source: str | None) -> None:
        """Watch another camera/video; restarts the worker when it runs."""
        if source == self.source:
            return
        self.source = source
        if not self._running:
            return
        self._stop_camera(1.0)
        if self.camera_wanted:
            self._start_camera()
        else:
            self.set_camera_state(CameraState.OFF)

    def _start_camera(self) -> None:
        if self.analyzer_factory is None or self.worker_factory is None:
            self.set_camera_state(CameraState.OFF)
            return
        model = copy.deepcopy(self.settings.model)
        if self._analyzer is not None:
            self._analyzer_ready(model, self._analyzer)
            return
        self.set_camera_state(CameraState.LOADING)
        if self._loading:
            return  # the model on its way starts the camera when it arrives
        self._loading = True
        self._run_task(
            self.analyzer_factory,
            lambda analyzer: self._analyzer_ready(model, analyzer),
            lambda exc: self._analyzer_failed(model, exc),
        )

    def _analyzer_ready(self, model: object, analyzer: Analyzer) -> None:
        self._loading = False
        if model != self.settings.model:
            # The model was changed while this one loaded: load the one now chosen.
            if self._running and self.camera_wanted and self.worker is None:
                self._start_camera()
            return
        self._analyzer = analyzer
        if not self._running or not self.camera_wanted or self.worker is not None:
            return
        assert self.worker_factory is not None
        generation = self._generation
        post = self._post

        def on_reading(reading: Reading) -> None:  # a worker thread
            post(lambda: self._worker_reading(generation, reading))

        def on_state(state: CaptureState) -> None:  # a worker thread
            post(lambda: self._worker_state(generation, state))

        try:
            self.worker = self.worker_factory(analyzer, on_reading, on_state)
            self.worker.preview_fps = PREVIEW_FPS if self._preview else 0.0
            self.worker.start()
        except UserError as exc:
            self.worker = None
            self.set_camera_state(CameraState.FAILED, str(exc))
            return
        if self.camera_state is CameraState.LOADING:
            self.set_camera_state(CameraState.STARTING)

    def _analyzer_failed(self, model: object, exc: BaseException) -> None:
        self._loading = False
        if isinstance(exc, UserError):
            message = str(exc)
        else:  # a broken model must not take the player down
            log.error("loading the expression model failed", exc_info=exc)
            message = f"The expression model could not be loaded ({exc})."
        if model != self.settings.model:
            if self._running and self.camera_wanted and self.worker is None:
                self._start_camera()
            return
        if not self._running or not self.camera_wanted:
            return
        self.set_camera_state(
            CameraState.FAILED, f"{message} The music keeps playing; choose a model in Settings."
        )

    def _stop_camera(self, timeout: float, drain: bool = False) -> None:
        worker, self.worker = self.worker, None
        if not drain:
            self._generation += 1
        if worker is not None:
            try:
                worker.stop(timeout=timeout)
            except Exception:
                log.exception("stopping the camera worker failed")
        if drain:
            self.run_pending()
            self._generation += 1
        self._reading_times.clear()
        self.latency_s = None

    # -- from the worker (run on the session's thread) ------------------------------------------

    def _worker_reading(self, generation: int, reading: Reading) -> None:
        if generation != self._generation:
            return  # a late reading from a stopped worker
        self.handle_reading(reading)

    def handle_reading(self, reading: Reading) -> None:
        """Vote ``reading`` now (what the worker's callback leads to, on the session's thread;
        tests and replays call it directly)."""
        now = self.clock()
        self.last_reading = reading
        self._reading_times.append(now)
        self.latency_s = max(0.0, now - reading.time)
        change = self.voter.update(reading)
        if self._calibration is not None:
            self._calibration_step(self._calibration.add(reading, now))
        for listener in list(self._listeners):
            listener.reading_received(reading)
        if change is not None:
            self._apply_change(change, now)
        self._check_face()

    def _worker_state(self, generation: int, state: CaptureState) -> None:
        if generation != self._generation:
            return
        camera = CameraState(state.value)
        worker = self.worker
        detail = worker.message if worker is not None else ""
        if camera is CameraState.FAILED and detail:
            self.set_camera_state(camera, f"{detail} The music keeps playing.")
        else:
            self.set_camera_state(camera)

    def set_camera_state(self, state: CameraState, text: str | None = None) -> None:
        """Say what the camera does (the session does this itself; demos and front ends that
        drive a camera of their own may too)."""
        message = text or camera_message(state, describe_source(self.source or ""))
        if state is self.camera_state and message == self.camera_text:
            return
        log.info("camera: %s -> %s", self.camera_state.value, state.value)
        self.camera_state = state
        self.camera_text = message
        for listener in list(self._listeners):
            listener.camera_state_changed(state, message)
        if self._calibration is not None and not state.active:
            self._calibration_step(
                self._calibration.fail(
                    "The camera stopped, so the calibration did not finish; nothing changed."
                )
            )

    # -- polling -------------------------------------------------------------------------------

    def run_pending(self, timeout: float = 0.0, limit: int | None = None) -> int:
        """Handle what the worker delivered (own inbox only; see the module docstring)."""
        if self._inbox is None:
            return 0
        return self._inbox.run_pending(timeout, limit)

    def poll(self) -> None:
        """Let time pass for the voter and the controller; call it every ~250 ms."""
        self.run_pending()
        now = self.clock()
        if self.worker is not None:
            change = self.voter.tick(now)
            if change is not None:
                self._apply_change(change, now)
            self._check_face()
        if self.controller is not None:
            try:
                self.controller.tick(now)
            except Exception as exc:
                # Once per distinct failure: a dead mixer must not fill the log four times a
                # second.
                if str(exc) != self._tick_error:
                    self._tick_error = str(exc)
                    log.exception("controller tick failed")
                    self._notice(f"The player has a problem: {exc}")
            else:
                self._tick_error = None
        while self._reading_times and now - self._reading_times[0] > RATE_WINDOW_S:
            self._reading_times.popleft()
        self._watch_library(now)
        if self._calibration is not None:
            running = self.camera_state is CameraState.RUNNING
            self._calibration_step(self._calibration.step(now, running))
        self._restart_plan(now)
        self._record_timeline(now)
        self._record_report()
        for listener in list(self._listeners):
            listener.ticked()

    def _notice(self, message: str) -> None:
        for listener in list(self._listeners):
            listener.notice(message)

    def _apply_change(self, change: MoodChange, now: float) -> None:
        log.debug("mood %s -> %s (%s)", change.previous, change.current, change.reason)
        if self.controller is not None:
            self.controller.on_mood(change.current, now)
        for listener in list(self._listeners):
            listener.mood_changed(change)

    def _check_face(self) -> None:
        present = bool(self.voter.face_present)
        if present != self._face_present:
            self._face_present = present
            self._face_since = self.clock() if present else None
            for listener in list(self._listeners):
                listener.face_presence_changed(present)

    def _record_timeline(self, now: float) -> None:
        if self.worker is None:
            return
        if self.timeline and now - self.timeline[-1].time < 1.0:
            return
        mood = self.voter.mood
        self.timeline.append(TimelinePoint(now, mood, float(self.voter.confidence or 0.0)))
        while self.timeline and now - self.timeline[0].time > TIMELINE_SECONDS:
            self.timeline.popleft()

    # -- your neutral face (calibration) and the room ---------------------------------------

    @property
    def calibration(self) -> CalibrationStatus | None:
        """The live calibration: running, or how the last one ended (None: none since start or
        since a reset)."""
        return self._calibration_status

    @property
    def calibrating(self) -> bool:
        return self._calibration is not None

    def start_calibration(self, seconds: float = CALIBRATION_S) -> CalibrationStatus:
        """Learn the listener's neutral face from the running camera's next ``seconds`` of
        readings: only the mean of their 7 probabilities is kept (``mood.calibration``), stored
        and applied at once. The status comes back and with ``calibration_changed``; a camera
        that is off is a FAILED status whose message says what to do, never an exception."""
        if self._calibration is not None:
            self._calibration.cancel()
        calibration = LiveCalibration(seconds, self.clock())
        self._calibration = calibration
        if not self.camera_state.active:
            status = calibration.fail(NO_CAMERA_TO_CALIBRATE)
        else:
            status = calibration.step(self.clock(), self.camera_state is CameraState.RUNNING)
        log.info("calibration: started (%g s)", seconds)
        self._calibration_status = None
        self._calibration_step(status)
        return status

    def cancel_calibration(self) -> None:
        if self._calibration is not None:
            self._calibration_step(self._calibration.cancel())

    def _calibration_step(self, status: CalibrationStatus) -> None:
        """Keep the newest status; when it ends, store a made baseline and tell the listeners."""
        changed = self._calibration_status is None or (
            status.state is not self._calibration_status.state
        )
        self._calibration_status = status
        if status.state.active:
            if changed:
                for listener in list(self._listeners):
                    listener.calibration_changed(status)
            return
        self._calibration = None
        log.info("calibration: %s (%d readings)", status.state.value, status.readings)
        if status.state is CalibrationState.DONE and status.baseline is not None:
            mood = self.settings.mood
            mood.calibration = status.baseline.values()
            mood.calibration_on = True
            self._sync_voter()
            self.save_settings()
        self._notice(status.message)
        for listener in list(self._listeners):
            listener.calibration_changed(status)
        if status.state is CalibrationState.DONE:
            for listener in list(self._listeners):
                listener.settings_changed(self.settings)

    def reset_calibration(self) -> None:
        """Forget the neutral face (the readings are used as the model gives them)."""
        if self._calibration is not None:
            self._calibration.cancel()
            self._calibration = None
        self.settings.mood.calibration = []
        self._calibration_status = None
        self._sync_voter()
        self.save_settings()
        log.info("calibration: forgotten")
        self._notice("Calibration forgotten: the readings are used as the model gives them.")
        for listener in list(self._listeners):
            listener.calibration_changed(None)
            listener.settings_changed(self.settings)

    def set_calibration_on(self, on: bool) -> None:
        """Correct the readings by the stored neutral face, or not (it stays stored)."""
        self.settings.mood.calibration_on = bool(on)
        self._sync_voter()
        self.save_settings()
        for listener in list(self._listeners):
            listener.settings_changed(self.settings)

    def set_calibration_strength(self, strength: float) -> None:
        """How strongly the neutral face corrects (0..1)."""
        self.settings.mood.calibration_strength = max(0.0, min(1.0, float(strength)))
        self._sync_voter()
        self.save_settings()
        for listener in list(self._listeners):
            listener.settings_changed(self.settings)

    def set_room(self, room: bool | None) -> None:
        """Every face in view votes (True: the kiosk), only the chosen one (False), or as the
        setting ``mood.room`` says (None: the desktop). The voter keeps its mood."""
        self.room_override = room
        self._sync_voter()

    def _sync_voter(self) -> None:
        """The voter's calibration and room as the settings and ``room_override`` say, changed
        in place (its window, mood and face tracks are kept)."""
        voter = self.voter
        mood = self.settings.mood
        room = mood.room if self.room_override is None else self.room_override
        config = dataclasses.replace(
            voter.config,
            room=room,
            calibration=tuple(mood.calibration) if mood.calibration_on else (),
            calibration_strength=mood.calibration_strength,
        )
        if config == voter.config:
            return
        if config.room != voter.config.room:
            log.info("mood: %s", "every face in view votes" if room else "one face votes")
        voter.config = config
        voter.correction = config.correction()

    def shown_probabilities(
        self, reading: Reading
    ) -> tuple[dict[str, float], dict[str, float] | None]:
        """What the live bars show for ``reading``: the probabilities as the voter counts them
        (corrected by the neutral face when that is on), and the raw reading when they differ
        (None otherwise): the before and after of the calibration."""
        raw = dict(reading.probabilities)
        correction = self.voter.correction
        if correction is None or not raw:
            return raw, None
        return correction.apply(raw), raw

    @property
    def faces_seen(self) -> int:
        """Faces in the latest reading while the camera runs (0 otherwise)."""
        reading = self.last_reading
        if reading is None or self.camera_state is not CameraState.RUNNING:
            return 0
        return len(reading.all_faces)

    # -- the preview -----------------------------------------------------------------------------

    @property
    def preview(self) -> bool:
        return self._preview

    def set_preview(self, shown: bool) -> None:
        """A camera preview is on screen (True) or not (hidden, minimised, the kiosk): the worker
        decodes ``PREVIEW_FPS`` frames a second for it, or only the analysed frames. The
        analysis rate is not changed."""
        self._preview = bool(shown)
        worker = self.worker
        if worker is not None:
            worker.preview_fps = PREVIEW_FPS if self._preview else 0.0

    # -- what the windows read ------------------------------------------------------------------

    @property
    def analyses_per_second(self) -> float:
        if len(self._reading_times) < 2:
            return 0.0
        span = self._reading_times[-1] - self._reading_times[0]
        return (len(self._reading_times) - 1) / span if span > 0 else 0.0

    def latest_frame(self) -> Any:
        """The newest camera frame (BGR ndarray) for the preview, or None."""
        worker = self.worker
        if worker is None:
            return None
        try:
            return worker.latest_frame()
        except Exception:
            return None

    def view(self) -> SessionView:
        """A snapshot of what plays, why, the mood and the camera."""
        player, controller = self.player, self.controller
        playlist = player.playlist if player is not None else None
        track = player.current if player is not None else None
        tracks = tuple(playlist.tracks) if playlist is not None else ()
        running = self.camera_state is CameraState.RUNNING
        return SessionView(
            now=self.clock(),
            track=track,
            playlist=playlist.name if playlist is not None else None,
            tracks=tracks,
            index=player.index if player is not None and track is not None else None,
            position=player.position if player is not None else 0.0,
            duration=player.duration if player is not None else 0.0,
            player=player.state if player is not None else PlayerState.STOPPED,
            repeat=player.repeat if player is not None else RepeatMode.ALL,
            shuffle=bool(player.shuffle) if player is not None else False,
            volume=float(player.volume) if player is not None else 0.0,
            muted=bool(player.muted) if player is not None else False,
            error=player.error if player is not None else None,
            playlists=tuple(controller.playlist_names()) if controller is not None else (),
            mode=controller.mode if controller is not None else ControlMode.AUTO,
            reason=self.reason(),
            pending=controller.pending if controller is not None else None,
            mood=self.voter.mood,
            confidence=float(self.voter.confidence or 0.0),
            music_mood=controller.mood if controller is not None else None,
            face_present=bool(self.voter.face_present),
            camera=self.camera_state,
            camera_text=self.camera_text,
            camera_wanted=self.camera_wanted,
            analyses_per_second=self.analyses_per_second,
            latency_s=self.latency_s,
            plan=controller.plan_status(self.clock()) if controller is not None else None,
            report=self.report is not None,
            resting=self.resting,
            scan=self.scan_progress,
            pending_in_s=self._pending_in(),
            faces_seen=self.faces_seen,
            faces_voting=int(self.voter.faces_in_view) if running else 0,
            room=bool(self.voter.config.room),
            calibrated=bool(self.settings.mood.calibration),
            correcting=self.voter.correction is not None,
            calibration=self.calibration,
        )

    def _pending_in(self) -> float | None:
        controller = self.controller
        if controller is None or controller.pending is None or controller.pending_at is None:
            return None
        return max(0.0, controller.pending_at - self.clock())

    def reason(self) -> str:
        """Why this playlist plays, in one sentence ("" before anything is chosen)."""
        controller, player = self.controller, self.player
        if controller is None or player is None or player.playlist is None:
            return ""
        current = player.playlist.name
        if controller.mode is ControlMode.MANUAL:
            return f"{playlist_word(current)}: your choice"
        status = controller.plan_status(self.clock())
        if status is not None and status.state is not PlanState.WAITING:
            return f"Session plan, {status.describe()}"
        mood = controller.mood
        if not self.camera_state.active or mood is None:
            return "Auto: follows your mood when the camera sees you"
        word = mood_word(mood)
        pending = controller.pending
        due = self._pending_in()
        if pending is not None and pending != current and due is not None:
            return (
                f"{word} → {playlist_word(pending)} next, in {due:.0f} s: switches are at least "
                f"{controller.min_switch_s:.0f} s apart ({playlist_word(current)} until then)"
            )
        if pending is not None and pending != current:
            return (
                f"{word} → {playlist_word(pending)} when this track ends "
                f"({playlist_word(current)} until then)"
            )
        wanted = self.settings.mapping().get(mood)
        if wanted != current:
            if wanted is not None and wanted not in controller.playlist_names():
                return f"{word} → {wanted}, which is missing; {playlist_word(current)} plays on"
            return f"{word}: {playlist_word(current)} plays on"
        if mood in self.settings.music.mapping:
            return f"{word} → {playlist_word(current)} (your mapping)"
        return f"{word} → {playlist_word(current)} ({self.settings.music.strategy} strategy)"

    # -- settings --------------------------------------------------------------------------------

    def apply_settings(self, new: Settings) -> None:
        """Use ``new`` from now on: voter config, camera source/rate, music options."""
        old = self.settings
        self.settings = new
        if new.mood != old.mood:
            if self.voter_factory is not None and _voter_key(new) != _voter_key(old):
                self.voter = self.voter_factory(new)
            self._sync_voter()  # calibration and room change the voter in place
        controller = self.controller
        if controller is not None:
            controller.settings = new
            if new.music.playlist_folders != old.music.playlist_folders:
                self._read_then_scan(read_alone=True)
            controller.apply_settings()  # volume, mute, repeat, shuffle from the new settings
            if _music_key(new) != _music_key(old):
                controller.settings_changed()  # the current mood's new playlist, at once
        from app.music.engine import EngineOutput

        if isinstance(self.output, EngineOutput):  # for the tracks opened from now on
            self.output.leveller.enabled = new.music.level_loudness
        if _camera_key(new) != _camera_key(old):
            if new.model != old.model:
                self._analyzer = None
            source = new.camera.source if new.camera.enabled else None
            if self._running:
                self._stop_camera(1.0)
                self.source = source
                if self.camera_wanted:
                    self._start_camera()
                else:
                    self.set_camera_state(CameraState.OFF)
            else:
                self.source = source
        self._sync_plan()
        self._sync_report()
        for listener in list(self._listeners):
            listener.settings_changed(new)

    def rescan_library(self) -> bool:
        """Scan the settings' playlist folders again, through ``run_task`` (off this thread);
        the controller gets the new library when the scan is done. One read at a time: asked
        while one is on its way, the next read starts when that one has ended (its result is
        used: it is whole, only older), so two reads of a 20,000-track library never fight each
        other and the window for the interpreter lock. False when there is nothing to scan with."""
        factory, controller = self.library_factory, self.controller
        if factory is None or controller is None:
            return False
        self._scan_generation += 1
        if self._reading_library:
            self._read_again = True
            return True
        self._reading_library = True
        self._read_again = False
        settings = self.settings
        database_path = self.database_path

        def work() -> tuple[Library | dict[str, Playlist], object]:
            # The stamp first: a change made while the library is read is seen again later.
            stamp = library_stamp(database_path) if database_path is not None else None
            return factory(settings), stamp

        def done(result: tuple[Library | dict[str, Playlist], object]) -> None:
            if self._read_ended():
                return
            library, self._library_stamp = result
            self.library = library
            controller.set_library(library)
            for note in getattr(library, "notes", ()):
                if note not in self._library_notes:
                    self._library_notes.add(note)
                    self._notice(note)
            controller.settings_changed()  # a playlist the mood maps to may be there now
            for listener in list(self._listeners):
                listener.ticked()

        def failed(exc: BaseException) -> None:
            if self._read_ended():
                return
            log.error("scanning the playlist folders failed", exc_info=exc)
            self._notice(f"Could not scan the playlist folders: {exc}")

        self._run_task(work, done, failed)
        return True

    def _read_ended(self) -> bool:
        """A library read has ended: the next one asked for meanwhile starts now. True when
        the session has stopped (the result is not wanted)."""
        self._reading_library = False
        if self._stopped:
            return True
        if self._read_again:
            self._read_again = False
            self.rescan_library()
        if self._scan_due:
            self._scan_due = False
            self.scan_library()
        return False

    def _read_then_scan(self, read_alone: bool) -> None:
        """What earlier scans found plays at once (a read of the database and the folders);
        the scan for new and changed files starts when that read has ended. The two at once
        (a walk of 20,000 files beside the read of their tags, while the music starts) held the
        window up to 50 ms; one after the other, under 20 ms (bench/library_window.py). Until
        then the scan counts as running: it shows, and it can be cancelled. ``read_alone``: read
        the folders even when there is nothing to scan with."""
        if self.scan_factory is None or self._stopped:
            if read_alone:
                self.rescan_library()
            return
        self._scan_due = True
        if self.library_factory is None or not self.rescan_library():
            self._scan_due = False
            self.scan_library()
            return
        if self._scan_due and self._scan is None:  # the read is on its way
            self.scan_progress = ScanProgress("finding", 0, 0)

    def _watch_library(self, now: float) -> None:
        """Rebuild the playlists when another process changed the library database (a
        ``moodplayer library move`` in a terminal, a ``library scan``): every
        ``LIBRARY_CHECK_S`` two ``stat`` calls here; only when the files changed, a read-only
        look at the database off this thread."""
        path = self.database_path
        if (
            path is None
            or self.library_factory is None
            or self._scan is not None  # our own scan writes; its end rebuilds the playlists
            or self._reading_library  # a read is on its way: its stamp comes with it
            or not self._running
            or self._library_checking
            or now < self._library_check_at
        ):
            return
        self._library_check_at = now + LIBRARY_CHECK_S
        signature = files_signature(path)
        if signature == self._library_signature:
            return
        self._library_signature = signature
        self._library_checking = True
        generation = self._scan_generation

        def done(stamp: object) -> None:
            self._library_checking = False
            if stamp is None or stamp == self._library_stamp:
                return
            if generation == self._scan_generation and not self._stopped:
                log.info("the library database was changed by another program: reading it again")
                self.rescan_library()

        def failed(exc: BaseException) -> None:
            self._library_checking = False
            log.debug("library check failed: %s", exc)

        self._run_task(lambda: library_stamp(path), done, failed)

    # -- the library scan --------------------------------------------------------------------------

    @property
    def scanning(self) -> bool:
        return self._scan is not None or self._scan_due

    def scan_library(self) -> bool:
        """Analyse new and changed files of the library in the background (``scan_factory``);
        a scan already running is cancelled first. When it ends the smart playlists are rebuilt
        (``rescan_library``); what plays goes on. False when there is nothing to scan with."""
        if self.scan_factory is None or self._stopped:
            return False
        self._scan_due = False
        if self._scan is not None:
            self._scan.cancel()
            self._scan = None
        self._scan_id += 1
        scan_id = self._scan_id
        post = self._post

        def on_progress(progress: ScanProgress) -> None:  # the scan's thread
            post(lambda: self._scan_progressed(scan_id, progress))

        def on_done(_result: object) -> None:  # the scan's thread
            post(lambda: self._scan_finished(scan_id, scan))

        made = self.scan_factory(self.settings, on_progress, on_done)
        if made is None:
            self._scan = None
            self.scan_progress = None
            return False
        scan = made
        self._scan = scan
        self._scan_cancelled = False
        self.scan_progress = ScanProgress("finding", 0, 0)
        scan.start()
        return True

    def cancel_scan(self) -> bool:
        """Stop the running scan after the file it is on (what it analysed is kept; the next
        scan goes on from there). False when none runs."""
        if self._scan is None and self._scan_due:  # not begun: it never will
            self._scan_due = False
            self.scan_progress = None
            self._notice("Library scan cancelled before it began; the next start scans again.")
            return True
        if self._scan is None:
            return False
        self._scan.cancel()
        self._scan_cancelled = True
        return True

    def _scan_progressed(self, scan_id: int, progress: ScanProgress) -> None:
        if scan_id != self._scan_id or self._scan is None:
            return
        self.scan_progress = progress

    def _scan_finished(self, scan_id: int, scan: LibraryScan) -> None:
        if scan_id != self._scan_id:
            return  # overtaken by a newer scan
        self._scan = None
        last, self.scan_progress = self.scan_progress, None
        result = scan.result
        if scan.error:
            self._notice(scan.error)
        elif result is not None:
            for item in result.skipped[:MAX_LOGGED_SKIPS]:  # the scanner lists them in problems
                log.info("library: skipped %s: %s", item.path, item.reason)
            if result.analysed or result.skipped or result.cancelled:
                self._notice(scan_summary(result, last))
            if result.set_aside is not None:
                self._notice(
                    f"The library database was damaged; it was set aside as {result.set_aside} "
                    "and a new one made."
                )
            for note in (*result.notes, *sorted(self._library_notes)):
                self._notice(note)  # limits last, so the summary does not hide them
        if not self._stopped:
            self.rescan_library()

    # -- "why this track is here" and the listener's choices -------------------------------------

    def explain_track(self, path: Path, on_done: Callable[[Placement | None], None]) -> bool:
        """Find where ``path`` sits and why (``mood_playlists.placement_of``), off this thread;
        ``on_done(placement)`` then runs on this thread (None: no database to ask)."""
        database_path = self.database_path
        if database_path is None:
            return False

        def work() -> Placement | None:
            from app.music import mood_playlists
            from app.music.database import LibraryDatabase

            if not database_path.is_file():
                return None
            with LibraryDatabase(database_path) as db:
                return mood_playlists.placement_of(db, Path(path), paths.playlists_dir())

        def failed(exc: BaseException) -> None:
            log.warning("could not read the library database: %s", exc)
            on_done(None)

        self._run_task(work, on_done, failed)
        return True

    def change_track(
        self,
        path: Path,
        action: str,
        mood: str | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> bool:
        """The listener's choice for one track, stored in the library database (rescans keep
        it): ``action`` "move" (to ``mood``), "pin", "unpin", "exclude", "include" or "reset".
        Runs off this thread; the smart playlists are rebuilt after, what plays goes on."""
        database_path = self.database_path
        if database_path is None:
            return False
        if action not in TRACK_ACTIONS or (action == "move" and not mood):
            raise ValueError(f"unknown track action {action!r}")
        target = Path(path)

        def work() -> str:
            from app.music import mood_playlists
            from app.music.database import LibraryDatabase

            with LibraryDatabase(database_path) as db:
                if action == "move":
                    assert mood is not None
                    mood_playlists.move(db, target, mood)
                elif action in ("pin", "unpin"):
                    mood_playlists.pin(db, target, action == "pin")
                elif action in ("exclude", "include"):
                    mood_playlists.exclude(db, target, action == "exclude")
                else:
                    mood_playlists.forget_choice(db, target)
                placed = mood_playlists.placement_of(db, target, paths.playlists_dir())
            return placed.explain()

        def done(text: str) -> None:
            self._notice(f"{target.name}: {text}.")
            self.rescan_library()
            if on_done is not None:
                on_done()

        def failed(exc: BaseException) -> None:
            log.warning("could not store the choice for %s: %s", target, exc)
            self._notice(f"Could not store your choice for {target.name}: {exc}")

        self._run_task(work, done, failed)
        return True

    def save_settings(self) -> bool:
        """Write the settings atomically; a failure is a notice, not a crash."""
        if self.settings_path is None:
            return False
        try:
            settings_mod.save(self.settings, self.settings_path)
        except OSError as exc:
            self._notice(f"Could not save settings to {self.settings_path}: {exc.strerror}")
            return False
        return True

    def remember_state(self) -> None:
        """Copy what the listener chose (volume, repeat, shuffle, selection) into the settings."""
        music = self.settings.music
        player, controller = self.player, self.controller
        if player is not None:
            music.volume = float(player.volume)
            music.muted = bool(player.muted)
            music.shuffle = bool(player.shuffle)
            music.repeat = player.repeat.value
        if controller is not None:
            name = controller.playlist_name
            manual = controller.mode is ControlMode.MANUAL
            self.settings.window.last_selection = name if manual and name else "Auto"
            resume = controller.resume_state()
            if resume is not None:
                window = self.settings.window
                window.resume_playlist, window.resume_track, position = resume
                # In steps, so that the settings (saved when they change) are not written at
                # every tick; the next start resumes up to a step earlier.
                window.resume_position = RESUME_STEP_S * (position // RESUME_STEP_S)

"""One listening session: the camera worker, the mood voter, the controller and the player.

The main window and the kiosk window both show a :class:`Session`; neither owns the parts. The
session lives in the GUI thread. The capture worker runs on its own thread and its callbacks are
turned into Qt signals (queued to the GUI thread); the voter, controller and player are only ever
touched from the GUI thread. A 250 ms timer polls the voter, the controller and the player.

The expression model is loaded on a background thread so the window paints before it is ready.
"""

from __future__ import annotations

import collections
import copy
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app import settings as settings_mod
from app.errors import UserError
from app.settings import Settings
from app.vision.reading import Reading

log = logging.getLogger(__name__)

POLL_INTERVAL_MS = 250
# How long the mood timeline remembers.
TIMELINE_SECONDS = 300.0
# Readings younger than this count towards "analyses per second".
RATE_WINDOW_S = 3.0


class CameraStatus:
    """Camera states as the UI shows them: the worker's CaptureState names, lower case, plus
    ``off`` (no camera wanted) and ``loading`` (the expression model is loading)."""

    OFF = "off"
    LOADING = "loading"
    STARTING = "starting"
    RUNNING = "running"
    RECONNECTING = "reconnecting"
    FAILED = "failed"
    STOPPED = "stopped"

    ACTIVE = frozenset({LOADING, STARTING, RUNNING, RECONNECTING})


@dataclass(frozen=True, slots=True)
class TimelinePoint:
    """The voted mood at one moment (``mood`` is None when nobody is seen)."""

    time: float
    mood: str | None
    confidence: float


class _WorkerBridge(QObject):
    """Carries the worker thread's callbacks into the GUI thread as queued signals."""

    reading = Signal(object)
    state = Signal(object)
    analyzer_ready = Signal(object)
    analyzer_failed = Signal(object)


def _camera_key(settings: Settings) -> tuple[Any, ...]:
    """What restarts the camera worker when it changes (the preview's visibility does not)."""
    c = settings.camera
    return (c.enabled, c.source, c.analysis_rate, c.loop_video, settings.model)


def _state_name(state: Any) -> str:
    name = getattr(state, "name", None) or str(state)
    return str(name).lower()


def camera_message(status: str, source: str) -> str:
    """A sentence for people about the camera."""
    return {
        CameraStatus.OFF: "Camera off — MoodPlayer is a manual player. "
        "Turn the camera on with View → Use the camera (Ctrl+Shift+C).",
        CameraStatus.LOADING: "Loading the expression model…",
        CameraStatus.STARTING: f"Opening {source}…",
        CameraStatus.RUNNING: f"Watching {source}",
        CameraStatus.RECONNECTING: f"Lost {source}; trying again…",
        CameraStatus.FAILED: f"Cannot open {source}. Choose another camera in Settings → Camera; "
        "the music keeps playing.",
        CameraStatus.STOPPED: "Camera stopped.",
    }.get(status, status)


def describe_source(spec: str) -> str:
    if spec.isdigit():
        return f"camera {spec}"
    return Path(spec).name or spec


class Session(QObject):
    """Owns the worker, voter, controller and player of one run of the app.

    Parts are passed in (``build_session`` makes the real ones), so tests use fakes.
    ``worker_factory(analyzer, on_reading, on_state)`` returns an object with ``start()``,
    ``stop(timeout)``, ``latest_frame()`` and ``state``; ``analyzer_factory()`` builds the analyzer
    and is called on a background thread.
    """

    # Every analysed frame (GUI thread).
    reading_received = Signal(object)
    # The voter adopted a new mood: app.mood.voter.MoodChange.
    mood_changed = Signal(object)
    # (CameraStatus value, a sentence for people)
    camera_state_changed = Signal(str, str)
    # Someone is (True) or nobody is (False) in front of the camera (voter.face_present).
    face_presence_changed = Signal(bool)
    # After every poll: player/controller state may have changed; read them.
    ticked = Signal()
    # The settings were replaced (apply_settings).
    settings_changed = Signal(object)
    # A one-line message for people (status bar, banner); never an error box.
    notice = Signal(str)

    def __init__(
        self,
        settings: Settings,
        player: Any,
        controller: Any,
        voter: Any,
        *,
        library: Any = None,
        settings_path: Path | None = None,
        source: str | None = None,
        analyzer_factory: Callable[[], Any] | None = None,
        worker_factory: Callable[..., Any] | None = None,
        voter_factory: Callable[[Settings], Any] | None = None,
        output: Any = None,
        clock: Callable[[], float] = time.monotonic,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        # The audio output; closed (mixer shut) by stop() when it has close().
        self.output = output
        # Makes a scanned library for the settings' playlist folders (None: keep the library).
        self.library_factory: Callable[[Settings], Any] | None = None
        self.settings = settings
        self.settings_path = settings_path
        self.player = player
        self.controller = controller
        self.voter = voter
        self.library = library
        self.clock = clock
        # The camera/video source to watch; None means no camera this session.
        self.source = source
        self._analyzer_factory = analyzer_factory
        self._worker_factory = worker_factory
        self._voter_factory = voter_factory
        self.worker: Any = None
        self._analyzer: Any = None
        self._loading: threading.Thread | None = None
        self.camera_state = CameraStatus.OFF
        self.camera_text = camera_message(CameraStatus.OFF, "")
        self.last_reading: Reading | None = None
        self.timeline: collections.deque[TimelinePoint] = collections.deque()
        self._reading_times: collections.deque[float] = collections.deque()
        self.latency_s: float | None = None
        self._face_present: bool | None = None
        self._running = False
        self._tick_error: str | None = None

        self._bridge = _WorkerBridge(self)
        self._bridge.reading.connect(self._on_reading)
        self._bridge.state.connect(self._on_worker_state)
        self._bridge.analyzer_ready.connect(self._on_analyzer_ready)
        self._bridge.analyzer_failed.connect(self._on_analyzer_failed)

        self._timer = QTimer(self)
        self._timer.setInterval(POLL_INTERVAL_MS)
        self._timer.timeout.connect(self.poll)

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start polling and, when a source is set and the camera is enabled, the camera."""
        self._running = True
        self._timer.start()
        if self.camera_wanted:
            self._start_camera()
        else:
            self._set_camera_state(CameraStatus.OFF)

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the camera worker (joined within ``timeout``), the timer and the music."""
        self._running = False
        self._timer.stop()
        self._stop_camera(timeout)
        stop = getattr(self.player, "stop", None)
        if stop is not None:
            try:
                stop()
            except Exception:  # the mixer may already be gone at exit
                log.exception("stopping the player failed")
        close = getattr(self.output, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                log.exception("closing the audio output failed")

    @property
    def camera_wanted(self) -> bool:
        return bool(self.source) and self.settings.camera.enabled

    def set_camera_enabled(self, enabled: bool) -> None:
        """Turn the camera on or off (the music goes on either way)."""
        self.settings.camera.enabled = enabled
        if not self._running:
            return
        if enabled and self.source and self.worker is None:
            self._start_camera()
        elif not enabled:
            self._stop_camera(1.0)
            self._set_camera_state(CameraStatus.OFF)

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
            self._set_camera_state(CameraStatus.OFF)

    def _start_camera(self) -> None:
        if self._analyzer_factory is None or self._worker_factory is None:
            self._set_camera_state(CameraStatus.OFF)
            return
        model = copy.deepcopy(self.settings.model)
        if self._analyzer is not None:
            self._on_analyzer_ready((model, self._analyzer))
            return
        self._set_camera_state(CameraStatus.LOADING)
        if self._loading is not None:
            return  # the model on its way starts the camera when it arrives
        factory = self._analyzer_factory
        bridge = self._bridge

        def load() -> None:
            try:
                analyzer = factory()
            except UserError as exc:
                bridge.analyzer_failed.emit((model, str(exc)))
                return
            except Exception as exc:  # a broken model must not take the player down
                log.exception("loading the expression model failed")
                bridge.analyzer_failed.emit(
                    (model, f"The expression model could not be loaded ({exc}).")
                )
                return
            bridge.analyzer_ready.emit((model, analyzer))

        self._loading = threading.Thread(target=load, name="model-loader", daemon=True)
        self._loading.start()

    @Slot(object)
    def _on_analyzer_ready(self, payload: tuple[Any, Any]) -> None:
        model, analyzer = payload
        self._loading = None
        if model != self.settings.model:
            # The model was changed while this one loaded: load the one now chosen.
            if self._running and self.camera_wanted and self.worker is None:
                self._start_camera()
            return
        self._analyzer = analyzer
        if not self._running or not self.camera_wanted or self.worker is not None:
            return
        assert self._worker_factory is not None
        bridge = self._bridge
        try:
            self.worker = self._worker_factory(analyzer, bridge.reading.emit, bridge.state.emit)
            self.worker.start()
        except UserError as exc:
            self.worker = None
            self._set_camera_state(CameraStatus.FAILED, str(exc))
            return
        if self.camera_state == CameraStatus.LOADING:
            self._set_camera_state(CameraStatus.STARTING)

    @Slot(object)
    def _on_analyzer_failed(self, payload: tuple[Any, str]) -> None:
        model, message = payload
        self._loading = None
        if model != self.settings.model:
            if self._running and self.camera_wanted and self.worker is None:
                self._start_camera()
            return
        if not self._running or not self.camera_wanted:
            return
        self._set_camera_state(
            CameraStatus.FAILED, f"{message} The music keeps playing; choose a model in Settings."
        )

    def _stop_camera(self, timeout: float) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            try:
                worker.stop(timeout=timeout)
            except Exception:
                log.exception("stopping the camera worker failed")
        self._reading_times.clear()
        self.latency_s = None

    # -- from the worker (queued into the GUI thread) -------------------------------------------

    @Slot(object)
    def _on_reading(self, reading: Reading) -> None:
        if self.worker is None:
            return  # a late reading from a stopped worker
        now = self.clock()
        self.last_reading = reading
        self._reading_times.append(now)
        self.latency_s = max(0.0, now - reading.time)
        change = self.voter.update(reading)
        self.reading_received.emit(reading)
        if change is not None:
            self._apply_change(change, now)
        self._check_face()

    @Slot(object)
    def _on_worker_state(self, state: Any) -> None:
        if self.worker is None:
            return
        status = _state_name(state)
        detail = str(getattr(self.worker, "message", "") or "")
        if status == CameraStatus.FAILED and detail:
            self._set_camera_state(status, f"{detail} The music keeps playing.")
        else:
            self._set_camera_state(status)

    def _set_camera_state(self, status: str, text: str | None = None) -> None:
        message = text or camera_message(status, describe_source(self.source or ""))
        if status == self.camera_state and message == self.camera_text:
            return
        log.info("camera: %s -> %s", self.camera_state, status)
        self.camera_state = status
        self.camera_text = message
        self.camera_state_changed.emit(status, message)

    # -- polling -------------------------------------------------------------------------------

    @Slot()
    def poll(self) -> None:
        """Let time pass for the voter and the controller; called every 250 ms."""
        now = self.clock()
        if self.worker is not None:
            change = self.voter.tick(now)
            if change is not None:
                self._apply_change(change, now)
            self._check_face()
        try:
            self.controller.tick(now)
        except Exception as exc:
            # Once per distinct failure: a dead mixer must not fill the log four times a second.
            if str(exc) != self._tick_error:
                self._tick_error = str(exc)
                log.exception("controller tick failed")
                self.notice.emit(f"The player has a problem: {exc}")
        else:
            self._tick_error = None
        while self._reading_times and now - self._reading_times[0] > RATE_WINDOW_S:
            self._reading_times.popleft()
        self._record_timeline(now)
        self.ticked.emit()

    def _apply_change(self, change: Any, now: float) -> None:
        log.info("mood %s -> %s (%s)", change.previous, change.current, change.reason)
        self.controller.on_mood(change.current, now)
        self.mood_changed.emit(change)

    def _check_face(self) -> None:
        present = bool(getattr(self.voter, "face_present", False))
        if present != self._face_present:
            self._face_present = present
            self.face_presence_changed.emit(present)

    def _record_timeline(self, now: float) -> None:
        if self.worker is None:
            return
        if self.timeline and now - self.timeline[-1].time < 1.0:
            return
        mood = self.voter.mood
        self.timeline.append(TimelinePoint(now, mood, float(self.voter.confidence or 0.0)))
        while self.timeline and now - self.timeline[0].time > TIMELINE_SECONDS:
            self.timeline.popleft()

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

    # -- settings --------------------------------------------------------------------------------

    def apply_settings(self, new: Settings) -> None:
        """Use ``new`` from now on: voter config, camera source/rate, music options."""
        old = self.settings
        self.settings = new
        if self._voter_factory is not None and new.mood != old.mood:
            self.voter = self._voter_factory(new)
        self.controller.settings = new
        if (
            self.library_factory is not None
            and new.music.playlist_folders != old.music.playlist_folders
        ):
            self.library = self.library_factory(new)
            self.controller.set_library(self.library)
        apply = getattr(self.controller, "apply_settings", None)
        if apply is not None:
            apply()  # volume, mute, repeat, shuffle from the new settings
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
                    self._set_camera_state(CameraStatus.OFF)
            else:
                self.source = source
        self.settings_changed.emit(new)

    def save_settings(self) -> bool:
        """Write the settings atomically; a failure is a notice, not a crash."""
        if self.settings_path is None:
            return False
        try:
            settings_mod.save(self.settings, self.settings_path)
        except OSError as exc:
            self.notice.emit(f"Could not save settings to {self.settings_path}: {exc.strerror}")
            return False
        return True

    def remember_state(self) -> None:
        """Copy what the listener chose (volume, repeat, shuffle, selection) into the settings."""
        music = self.settings.music
        player = self.player
        try:
            music.volume = float(player.volume)
            music.muted = bool(player.muted)
            music.shuffle = bool(player.shuffle)
            repeat = _state_name(player.repeat)
            if repeat in ("all", "one", "off"):
                music.repeat = repeat
        except AttributeError:
            log.debug("player has no volume/repeat state to remember")
        mode = _state_name(getattr(self.controller, "mode", "auto"))
        name = getattr(self.controller, "playlist_name", None)
        self.settings.window.last_selection = "Auto" if mode == "auto" or not name else str(name)


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
    from app.controller import Controller
    from app.mood.voter import MoodVoter, VoterConfig
    from app.music.library import default_library
    from app.music.player import Player

    if output is None:
        from app.music.audio import AudioDeviceError, PygameOutput

        output = PygameOutput()
        try:
            # Open the device now, before the window shows, not on the first track inside the
            # running event loop (it takes ~0.2 s).
            output.open()
        except AudioDeviceError as exc:
            log.warning("%s The player will say so when it tries to play.", exc)

    def make_library(current: Settings) -> Any:
        library = default_library(current.music.playlist_folders)
        library.scan()
        return library

    library = make_library(settings)
    player = Player(output)
    controller = Controller(player, library, settings)

    def make_voter(current: Settings) -> Any:
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
        analyzer_factory=None,
        worker_factory=None,
        voter_factory=make_voter,
        output=output,
    )

    def analyzer_factory() -> Any:
        from app.vision.analyzer import build_analyzer

        return build_analyzer(session.settings.model)

    def worker_factory(analyzer: Any, on_reading: Any, on_state: Any) -> Any:
        from app.vision.capture import CaptureWorker
        from app.vision.source_registry import open_source

        spec = session.source or "0"
        loop = session.settings.camera.loop_video
        return CaptureWorker(
            lambda: open_source(spec, loop=loop),
            analyzer,
            rate=session.settings.camera.analysis_rate,
            on_reading=on_reading,
            on_state=on_state,
        )

    session._analyzer_factory = analyzer_factory
    session._worker_factory = worker_factory
    session.library_factory = make_library
    return session

"""Live frames in, readings out: frame sources and the capture worker.

A :class:`CaptureWorker` runs two plain threads (no Qt in the core):

* the **grab** thread owns the source: it opens it, reads it continuously (cameras as fast as
  the driver delivers, so the driver's buffer never lags; video files at their own frame rate;
  image folders at ``folder_fps``), and writes each frame into a one-slot holder. A frame that is
  replaced before it was analysed is dropped and counted, never queued. When the source stops
  delivering it reconnects with exponential backoff.
* the **analysis** thread takes the newest frame, at most ``rate`` times a second and never the
  same frame twice, runs the analyser and calls ``on_reading``. A slow analyser means fewer
  analyses per second, never a backlog.

Callbacks (``on_reading(reading)``, ``on_state(state)``) run on the worker's threads; the UI
bridges them to Qt signals. No frame is ever written to disk.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from app.errors import UserError
from app.vision.reading import Reading

log = logging.getLogger(__name__)

Frame = np.ndarray
Clock = Callable[[], float]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm"})
VIDEO_FALLBACK_FPS = 25.0
# Images of a folder per second: each face is on screen for 0.2 s, so the default 2 s mood window
# sees ten of them, like a short clip of the same person.
FOLDER_FPS = 5.0

# Reconnect: this many failed reads in a row, or failures for this long, mean the source is gone.
FAILED_READS = 5
STALL_S = 2.0
FAILED_READ_PAUSE_S = 0.02
BACKOFF_START_S = 0.25
BACKOFF_MAX_S = 5.0
# This many analyses failing in a row (a broken model) fail the worker.
ANALYSIS_ERRORS = 10


class SourceError(UserError):
    """A source that cannot be opened (the message says what to do)."""


class SourceEnded(Exception):
    """Raised by ``read()`` at the natural end of a finite source (video or folder, not looping)."""


class FrameSource(Protocol):
    """Where frames come from. ``fps`` None means live: read as fast as frames arrive."""

    name: str
    fps: float | None

    def open(self) -> None: ...

    def read(self) -> Frame | None: ...

    def close(self) -> None: ...


# -- sources ------------------------------------------------------------------------------------


def _quiet_opencv() -> None:
    """Silence OpenCV's own warnings when probing cameras that are not there."""
    with contextlib.suppress(AttributeError):  # older builds have no cv2.utils.logging
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


def _candidate_indices(max_index: int) -> list[int]:
    if sys.platform.startswith("linux"):
        # Probing an index without a device node only prints warnings; skip it.
        return [i for i in range(max_index + 1) if os.path.exists(f"/dev/video{i}")]
    return list(range(max_index + 1))


def _open_camera(index: int) -> cv2.VideoCapture:
    if sys.platform == "win32":
        # DirectShow opens in well under a second where Media Foundation can take many.
        capture = cv2.VideoCapture(index, cv2.CAP_DSHOW)
        if capture.isOpened():
            return capture
        capture.release()
    return cv2.VideoCapture(index)


def list_cameras(max_index: int = 5) -> list[int]:
    """The camera indices (0..max_index) that open and deliver a frame."""
    _quiet_opencv()
    found = []
    for index in _candidate_indices(max_index):
        capture = _open_camera(index)
        try:
            if capture.isOpened() and capture.read()[0]:
                found.append(index)
        finally:
            capture.release()
    return found


def missing_camera_message(index: int, found: Sequence[int]) -> str:
    listed = ", ".join(str(i) for i in found) if found else "none"
    return f"No camera at index {index} (found: {listed}). Choose one in Settings → Camera."


class _OpenCvSource:
    """What a camera and a video file share: one ``cv2.VideoCapture``, read and released."""

    def __init__(self) -> None:
        self._capture: cv2.VideoCapture | None = None

    def _read_capture(self) -> Frame | None:
        if self._capture is None:
            return None
        ok, frame = self._capture.read()
        return frame if ok else None

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class CameraSource(_OpenCvSource):
    """A webcam by index (OpenCV); live, with the driver buffer kept to one frame."""

    fps: float | None = None

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index
        self.name = f"camera {index}"

    def open(self) -> None:
        _quiet_opencv()
        capture = _open_camera(self.index)
        if not capture.isOpened():
            capture.release()
            if self.index in _candidate_indices(self.index):
                raise SourceError(
                    f"Camera {self.index} is there but cannot be opened (is another app using "
                    "it?). Close that app, or choose another camera in Settings → Camera."
                )
            raise SourceError(missing_camera_message(self.index, list_cameras()))
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._capture = capture

    def read(self) -> Frame | None:
        return self._read_capture()


class VideoFileSource(_OpenCvSource):
    """A video file, played at its own frame rate, looping when asked."""

    def __init__(self, path: Path, loop: bool = True) -> None:
        self.path = path
        self.loop = loop
        self.name = path.name
        super().__init__()
        self.fps: float | None = VIDEO_FALLBACK_FPS

    def open(self) -> None:
        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"Cannot play {self.path}: not a video OpenCV can read.")
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 0.5 <= fps <= 240.0 else VIDEO_FALLBACK_FPS
        self._capture = capture

    def read(self) -> Frame | None:
        if self._capture is None:
            return None
        ok, frame = self._capture.read()
        if ok:
            return frame
        if not self.loop:
            raise SourceEnded(self.name)
        self._capture.release()
        self._capture = cv2.VideoCapture(str(self.path))
        return self._read_capture()


class ImageFolderSource:
    """The images of a folder in name order, ``fps`` a second; unreadable files are skipped."""

    def __init__(self, folder: Path, loop: bool = True, fps: float = FOLDER_FPS) -> None:
        self.folder = folder
        self.loop = loop
        self.fps: float | None = fps
        self.name = folder.name or str(folder)
        self._files: list[Path] = []
        self._next = 0
        self._readable: set[Path] = set()

    def open(self) -> None:
        try:
            files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        except OSError as exc:
            raise SourceError(f"Cannot read the folder {self.folder}: {exc.strerror}.") from exc
        if not files:
            raise SourceError(f"No images in {self.folder} (looked for .jpg, .png, .bmp, …).")
        self._files = files
        self._next = 0

    def read(self) -> Frame | None:
        skipped = 0
        while skipped < len(self._files):
            if self._next >= len(self._files):
                if not self.loop:
                    raise SourceEnded(self.name)
                if not self._readable:
                    raise SourceEnded(self.name)  # a whole pass without one readable image
                self._next = 0
            path = self._files[self._next]
            self._next += 1
            frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if frame is not None:
                self._readable.add(path)
                return frame
            log.warning("skipped %s: not an image OpenCV can read", path)
            skipped += 1
        raise SourceEnded(self.name)

    def close(self) -> None:
        self._files = []


def open_source(spec: str, loop: bool = True, folder_fps: float = FOLDER_FPS) -> FrameSource:
    """The source ``spec`` names (not opened yet): "0".."9" a camera, a video file or a folder."""
    text = spec.strip()
    if text.isdigit() and len(text) <= 2:
        return CameraSource(int(text))
    path = Path(text).expanduser()
    if path.is_dir():
        return ImageFolderSource(path, loop=loop, fps=folder_fps)
    if path.is_file():
        return VideoFileSource(path, loop=loop)
    raise SourceError(f"No camera, video or folder called {spec!r}; give a camera index or a path.")


Script = Sequence["Frame | BaseException | None"]


class FakeSource:
    """A scripted source for tests: each read returns the next frame, None (a failed read) or
    raises the next exception; at the end it loops or raises :class:`SourceEnded`.

    ``open_error`` makes ``open()`` raise (a camera that is not there).
    """

    def __init__(
        self,
        script: Script,
        fps: float | None = None,
        loop: bool = False,
        open_error: BaseException | None = None,
        name: str = "fake",
    ) -> None:
        self.script = list(script)
        self.fps = fps
        self.loop = loop
        self.open_error = open_error
        self.name = name
        self.reads = 0
        self.opened = False
        self.closed = False

    def open(self) -> None:
        if self.open_error is not None:
            raise self.open_error
        self.opened = True

    def read(self) -> Frame | None:
        if not self.script:
            raise SourceEnded(self.name)
        if self.reads >= len(self.script) and not self.loop:
            raise SourceEnded(self.name)
        item = self.script[self.reads % len(self.script)]
        self.reads += 1
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self.closed = True


# -- the worker ---------------------------------------------------------------------------------


class CaptureState(enum.Enum):
    STARTING = "starting"
    RUNNING = "running"
    RECONNECTING = "reconnecting"
    FAILED = "failed"
    STOPPED = "stopped"


class Analyzer(Protocol):
    def analyze(self, frame_bgr: Frame, time: float, frame_index: int = -1) -> Reading: ...


@dataclass(frozen=True)
class CaptureStats:
    """Counts and per-stage time totals (seconds) since the worker started."""

    frames: int = 0
    analyses: int = 0
    drops: int = 0
    reconnects: int = 0
    failed_reads: int = 0
    read_s: float = 0.0
    detect_s: float = 0.0
    crop_s: float = 0.0
    infer_s: float = 0.0
    analyze_s: float = 0.0
    # Frame capture -> reading published, summed over analyses.
    latency_s: float = 0.0


@dataclass(frozen=True, slots=True)
class _Slot:
    frame: Frame
    index: int
    time: float


class LatestFrame:
    """The one-slot holder: ``put`` replaces, ``take_new`` waits for a frame not taken before."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._slot: _Slot | None = None
        self._taken = -1
        self.drops = 0

    def put(self, slot: _Slot) -> None:
        with self._cond:
            if self._slot is not None and self._slot.index > self._taken:
                self.drops += 1
            self._slot = slot
            self._cond.notify_all()

    def peek(self) -> _Slot | None:
        with self._cond:
            return self._slot

    def has_new(self) -> bool:
        with self._cond:
            return self._slot is not None and self._slot.index > self._taken

    def take_new(self, timeout: float) -> _Slot | None:
        with self._cond:
            if not (self._slot is not None and self._slot.index > self._taken):
                self._cond.wait(timeout)
            slot = self._slot
            if slot is None or slot.index <= self._taken:
                return None
            self._taken = slot.index
            return slot

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()


def backoff_delays(start: float = BACKOFF_START_S, cap: float = BACKOFF_MAX_S) -> list[float]:
    """The first reconnect delays: 0.25 s doubling to the 5 s cap (for docs and tests)."""
    delays, delay = [], start
    while delay < cap:
        delays.append(delay)
        delay *= 2
    return [*delays, cap]


class CaptureWorker:
    """Reads a source and analyses its newest frame at ``rate`` per second, in its own threads.

    ``source_factory`` makes a fresh, unopened :class:`FrameSource` (called again to reconnect).
    ``clock`` gives monotonic seconds (reading times, pacing); ``sleep`` waits on the grab thread
    (pacing, backoff) and defaults to an interruptible wait, so ``stop()`` is prompt.
    """

    def __init__(
        self,
        source_factory: Callable[[], FrameSource],
        analyzer: Analyzer,
        rate: float = 10.0,
        on_reading: Callable[[Reading], object] | None = None,
        on_state: Callable[[CaptureState], object] | None = None,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._factory = source_factory
        self._analyzer = analyzer
        self.rate = rate
        self._on_reading = on_reading
        self._on_state = on_state
        self._clock = clock
        self._stop = threading.Event()
        self._sleep: Callable[[float], object] = sleep if sleep is not None else self._stop.wait
        self._holder = LatestFrame()
        self._lock = threading.Lock()
        self._state = CaptureState.STARTING
        # The last states (bounded: a flaky camera in a kiosk reconnects for weeks).
        self._states: deque[CaptureState] = deque([CaptureState.STARTING], maxlen=64)
        self.message = ""
        self.source_name = ""
        self._grab_done = threading.Event()
        self._live = False
        self._last_frame_at = 0.0
        self._stats = CaptureStats()
        self._grab_thread = threading.Thread(
            target=self._grab_loop, name="capture-grab", daemon=True
        )
        self._analysis_thread = threading.Thread(
            target=self._analysis_loop, name="capture-analysis", daemon=True
        )

    # -- public ---------------------------------------------------------------------------------

    @property
    def state(self) -> CaptureState:
        return self._state

    @property
    def states(self) -> list[CaptureState]:
        """The states so far (the last 64), in order (for logs and tests)."""
        with self._lock:
            return list(self._states)

    @property
    def stats(self) -> CaptureStats:
        with self._lock:
            return dataclasses.replace(self._stats, drops=self._holder.drops)

    def latest_frame(self) -> Frame | None:
        """The newest frame read (read-only), for the preview; None before the first."""
        slot = self._holder.peek()
        return None if slot is None else slot.frame

    def start(self) -> None:
        self._grab_thread.start()
        self._analysis_thread.start()

    def stop(self, timeout: float = 1.0) -> bool:
        """Ask both threads to finish and join them; returns True when both ended in time."""
        deadline = time.monotonic() + timeout
        self._stop.set()
        self._holder.wake()
        for thread in (self._analysis_thread, self._grab_thread):
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in (self._grab_thread, self._analysis_thread) if t.is_alive()]
        if alive:
            log.warning("capture threads still busy after %.1f s: %s", timeout, ", ".join(alive))
        if self._state is not CaptureState.FAILED:
            self._set_state(CaptureState.STOPPED, "stopped")
        return not alive

    def is_alive(self) -> bool:
        return self._grab_thread.is_alive() or self._analysis_thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        """Wait for a finite source to end (or for the worker to fail or be stopped)."""
        self._grab_thread.join(timeout)
        self._analysis_thread.join(timeout)

    # -- state ------------------------------------------------------------------------------------

    def _set_state(self, state: CaptureState, message: str) -> None:
        with self._lock:
            if self._state is state or self._state in (CaptureState.FAILED, CaptureState.STOPPED):
                return
            self._state = state
            self.message = message
            self._states.append(state)
        log.info("capture %s: %s", state.value, message)
        if self._on_state is not None:
            try:
                self._on_state(state)
            except Exception:
                log.exception("on_state callback failed")

    def _count(self, **deltas: float) -> None:
        with self._lock:
            stats = self._stats
            self._stats = dataclasses.replace(
                stats, **{key: getattr(stats, key) + delta for key, delta in deltas.items()}
            )

    # -- grab thread ----------------------------------------------------------------------------

    def _open(self) -> FrameSource:
        source = self._factory()
        source.open()
        self.source_name = source.name
        return source

    def _grab_loop(self) -> None:
        try:
            try:
                source = self._open()
            except UserError as exc:
                self._set_state(CaptureState.FAILED, str(exc))
                return
            except Exception as exc:
                self._set_state(CaptureState.FAILED, f"Cannot open the source: {exc}")
                return
            self._live = source.fps is None
            self._last_frame_at = self._clock()
            self._set_state(CaptureState.RUNNING, f"reading {source.name}")
            self._read_until_stopped(source)
        except Exception:  # pragma: no cover - a bug; keep the app alive and say so
            log.exception("capture grab thread crashed")
            self._set_state(CaptureState.FAILED, "The capture thread crashed; see the log.")
        finally:
            self._grab_done.set()
            self._holder.wake()

    def _read_until_stopped(self, first: FrameSource) -> None:
        source: FrameSource | None = first
        index = 0
        paced_from = self._clock()
        paced_count = 0
        last_good = paced_from
        failures = 0
        try:
            while source is not None and not self._stop.is_set():
                if source.fps is not None:
                    due = paced_from + paced_count / source.fps
                    now = self._clock()
                    if now < due:
                        self._sleep(due - now)
                        continue
                    if now - due > 1.0 / source.fps:
                        paced_from, paced_count = now, 0  # fell behind: resync, never burst
                started = self._clock()
                try:
                    frame = source.read()
                except SourceEnded:
                    log.info("%s ended", source.name)
                    return
                except Exception as exc:
                    log.debug("read from %s failed: %s", source.name, exc)
                    frame = None
                now = self._clock()
                self._count(read_s=now - started)
                if frame is None:
                    failures += 1
                    self._count(failed_reads=1)
                    if failures >= FAILED_READS or now - last_good > STALL_S:
                        source = self._reconnect(source)
                        failures = 0
                        last_good = paced_from = self._clock()
                        paced_count = 0
                    else:
                        self._sleep(FAILED_READ_PAUSE_S)
                    continue
                failures = 0
                last_good = self._last_frame_at = now
                if self._state is CaptureState.RECONNECTING:  # a stalled read came back
                    self._set_state(CaptureState.RUNNING, f"{source.name} delivers again")
                paced_count += 1
                frame.flags.writeable = False
                self._holder.put(_Slot(frame, index, now))
                self._count(frames=1)
                index += 1
        finally:
            if source is not None:
                source.close()

    def _reconnect(self, source: FrameSource) -> FrameSource | None:
        """Close ``source`` and reopen until a frame comes back; None when stopped meanwhile."""
        name = source.name
        source.close()
        self._count(reconnects=1)
        delay = BACKOFF_START_S
        while not self._stop.is_set():
            self._set_state(
                CaptureState.RECONNECTING, f"{name} stopped delivering; retrying in {delay:g} s"
            )
            self._sleep(delay)
            if self._stop.is_set():
                break
            try:
                fresh = self._open()
            except Exception as exc:
                log.info("reconnect to %s failed: %s", name, exc)
            else:
                self._last_frame_at = self._clock()  # the stall watch starts afresh
                self._set_state(CaptureState.RUNNING, f"{fresh.name} is back")
                return fresh
            delay = min(delay * 2.0, BACKOFF_MAX_S)
        return None

    # -- analysis thread --------------------------------------------------------------------------

    def _watch_for_stall(self) -> None:
        """A camera whose read blocks (no frame, no failure) for > STALL_S shows as reconnecting;
        the grab thread sets RUNNING again when the read returns a frame, or reconnects when it
        fails. (A read stuck inside the driver cannot be interrupted from Python.)"""
        if (
            self._live
            and self._state is CaptureState.RUNNING
            and self._clock() - self._last_frame_at > STALL_S
        ):
            self._set_state(
                CaptureState.RECONNECTING,
                f"{self.source_name} has sent no frame for {STALL_S:g} s; waiting for it",
            )

    def _analysis_loop(self) -> None:
        interval = 1.0 / self.rate
        errors = 0
        while not self._stop.is_set():
            slot = self._holder.take_new(timeout=0.1)
            if slot is None:
                if self._grab_done.is_set() and not self._holder.has_new():
                    break
                self._watch_for_stall()
                continue
            started = self._clock()
            try:
                reading = self._analyzer.analyze(slot.frame, slot.time, slot.index)
            except Exception:
                errors += 1
                log.exception("analysing frame %d failed", slot.index)
                if errors >= ANALYSIS_ERRORS:
                    self._set_state(
                        CaptureState.FAILED, "The expression analysis keeps failing; see the log."
                    )
                    self._stop.set()
                    break
                continue
            errors = 0
            done = self._clock()
            t = reading.timings
            self._count(
                analyses=1,
                analyze_s=done - started,
                detect_s=t.detect,
                crop_s=t.crop,
                infer_s=t.infer,
                latency_s=done - slot.time,
            )
            if self._on_reading is not None:
                try:
                    self._on_reading(reading)
                except Exception:
                    log.exception("on_reading callback failed")
            # Pace to the rate: the next analysis starts no sooner than one interval later.
            while not self._stop.is_set() and not self._grab_done.is_set():
                left = started + interval - self._clock()
                if left <= 0:
                    break
                self._stop.wait(min(left, 0.05))
        if self._grab_done.is_set() and self._state is not CaptureState.FAILED:
            self._set_state(CaptureState.STOPPED, f"{self.source_name or 'the source'} ended")

"""Live frames in, readings out: the capture worker.

A :class:`CaptureWorker` runs two plain threads (no Qt in the core):

* the **grab** thread owns the source: it opens it, reads it continuously (cameras as fast as
  the driver delivers, so the driver's buffer never lags; video files at their own frame rate;
  image folders at their ``fps``), and writes each frame into a one-slot holder. A frame that is
  replaced before it was analysed is dropped and counted, never queued. When the source stops
  delivering it reconnects with exponential backoff.
* the **analysis** thread takes the newest frame, at most ``rate`` times a second and never the
  same frame twice, runs the analyser and calls ``on_reading``. A slow analyser means fewer
  analyses per second, never a backlog.

Cheap eyes: a camera is asked for the lowest frame rate that serves the analysis rate
(:meth:`~app.vision.camera.CameraSource.hint_rate`), and a source that can ``grab()`` without
decoding (cameras, video files) has only the frames decoded that the analysis is due to take,
plus ``preview_fps`` frames a second for a preview (0: the preview shows the analysed frames).

Callbacks (``on_reading(reading)``, ``on_state(state)``) run on the worker's threads; the UI
bridges them to Qt signals. No frame is ever written to disk.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from app.errors import UserError
from app.vision.latest_frame import LatestFrame, Slot
from app.vision.reading import Reading
from app.vision.sources import Frame, FrameSource, GrabbingSource, RateHinted, SourceEnded

log = logging.getLogger(__name__)

Clock = Callable[[], float]

# Reconnect: this many failed reads in a row, or failures for this long, mean the source is gone.
FAILED_READS = 5
STALL_S = 2.0
FAILED_READ_PAUSE_S = 0.02
BACKOFF_START_S = 0.25
BACKOFF_MAX_S = 5.0
# This many analyses failing in a row (a broken model) fail the worker.
ANALYSIS_ERRORS = 10


# What the grab step returns for a frame taken off the device and dropped without decoding.
_GRABBED: Frame = np.zeros((0,), np.uint8)


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
    # Frames decoded (the rest of ``frames`` were grabbed and dropped undecoded).
    decoded: int = 0
    grabbed_only: int = 0


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
        preview_fps: float = 0.0,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        # Frames a second decoded for the preview besides those analysed (grabbing sources).
        self.preview_fps = preview_fps
        self._analysis_due = 0.0  # when the analysis thread wants its next frame (clock time)
        self._frame_interval = 0.0  # mean time between grabs (exponential average)
        self._last_grab = -1.0
        self._last_decoded = -float("inf")
        self._grabbing = False
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
            return dataclasses.replace(
                self._stats, drops=self._holder.drops + self._stats.grabbed_only
            )

    def latest_frame(self) -> Frame | None:
        """The newest frame read (read-only), for the preview; None before the first."""
        slot = self._holder.peek()
        return None if slot is None else slot.frame

    def start(self) -> None:
        # OpenCV's own thread pool splits a 640x480 conversion or a face-sized resize over the
        # cores and its idle workers spin between jobs: 0.7 % of a core at 10 analyses a second
        # for nothing (bench/live.py --camera). One thread for the whole process.
        cv2.setNumThreads(1)
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
        if isinstance(source, RateHinted):
            source.hint_rate(self.rate)
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
                self._grabbing = isinstance(source, GrabbingSource)
                try:
                    frame = (
                        self._grab(source, started)
                        if isinstance(source, GrabbingSource)
                        else source.read()
                    )
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
                if frame is _GRABBED:  # taken off the device, never decoded: nobody wants it
                    self._count(frames=1, grabbed_only=1)
                    continue
                frame.flags.writeable = False
                self._holder.put(Slot(frame, index, now))
                self._count(frames=1, decoded=1)
                index += 1
        finally:
            if source is not None:
                source.close()

    def _grab(self, source: GrabbingSource, now: float) -> Frame | None:
        """Grab the next frame; decode it only when the analysis is due or the preview wants
        one. :data:`_GRABBED` when it was grabbed and dropped, None when the grab failed."""
        if not source.grab():
            return None
        if self._last_grab >= 0.0:
            gap = now - self._last_grab
            self._frame_interval = (
                gap if self._frame_interval == 0.0 else (0.9 * self._frame_interval + 0.1 * gap)
            )
        self._last_grab = now
        preview_due = (
            self.preview_fps > 0
            and now - self._last_decoded >= 1.0 / self.preview_fps - self._lead()
        )
        if not preview_due and now < self._analysis_due - self._lead():
            return _GRABBED
        self._last_decoded = now
        return source.retrieve()

    def _lead(self) -> float:
        """How early a frame may be decoded before the analysis is due: half a frame, so the
        frame nearest the due time is the one analysed (the rate holds on average); the
        analysis thread takes it as soon as it is decoded."""
        return 0.5 * self._frame_interval

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
        last_due: float | None = None  # a grabbing source's analyses are due on a grid
        while not self._stop.is_set():
            slot = self._holder.take_new(timeout=0.1)
            if slot is None:
                if self._grab_done.is_set() and not self._holder.has_new():
                    break
                self._watch_for_stall()
                continue
            if self._grabbing and slot.time < self._analysis_due - self._lead() - 0.002:
                continue  # a preview frame decoded before this analysis was due: too old
            started = self._clock()
            self._analysis_due = float("inf")  # busy: decode nothing for the analysis meanwhile
            try:
                reading = self._analyzer.analyze(slot.frame, slot.time, slot.index)
            except UserError as exc:  # a broken model (NaN scores): say so, publish nothing
                log.warning("analysing frame %d: %s", slot.index, exc)
                self._set_state(CaptureState.FAILED, str(exc))
                self._stop.set()
                break
            except Exception:
                errors += 1
                self._analysis_due = 0.0  # take the next frame
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
            # Pace to the rate: the next analysis is due one interval later. A grabbing source
            # decodes the first frame it grabs from half a frame before that (the frame nearest
            # the due time, so the rate holds on average), and this thread waits for that
            # frame from then on, so a decoded frame never waits for the analysis.
            # For a grabbing source the due times keep a grid of intervals (re-anchored after
            # falling behind by more than one): one frame per due time, whatever the camera's
            # frame rate (from its start, a 15 fps camera at 10/s took every second frame, 7.5/s,
            # or with a 15 fps preview nearly every frame, 13/s).
            now = self._clock()
            if self._grabbing and last_due is not None and last_due + interval >= now - interval:
                self._analysis_due = last_due + interval
            else:
                self._analysis_due = started + interval
            last_due = self._analysis_due
            due = self._analysis_due - (self._lead() if self._grabbing else 0.0)
            while not self._stop.is_set() and not self._grab_done.is_set():
                left = due - self._clock()
                if left <= 0:
                    break
                self._stop.wait(min(left, 0.05))
        if self._grab_done.is_set() and self._state is not CaptureState.FAILED:
            self._set_state(CaptureState.STOPPED, f"{self.source_name or 'the source'} ended")

"""`moodplayer watch`: follow the mood live from a camera, a video or an image folder, headless.

Prints the analysis rate every few seconds (analyses/s, dropped frames, capture state, faces in
view) and every mood change with its time; ``--json`` prints one JSON object per line instead.
The voter is the settings' (``mood.*``): the calibration (``moodplayer calibrate``) corrects the
readings when it is on, and ``--room`` (or ``mood.room``) lets every face in view vote.
Ctrl+C (or SIGTERM) stops cleanly with a summary: frames, analyses, drops, reconnects, mood
changes, time per stage.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from app import paths
from app import settings as settings_module
from app.errors import ExitStatus, UserError
from app.mood.voter import MoodChange, MoodVoter, VoterConfig
from app.session import (
    CameraState,
    OnReading,
    OnState,
    Session,
    SessionListener,
    SessionView,
    faces_text,
    run_now,
)
from app.vision.capture import Analyzer, CaptureState, CaptureStats, CaptureWorker
from app.vision.image_folder import FOLDER_FPS
from app.vision.source_registry import open_source

log = logging.getLogger(__name__)

STATUS_EVERY_S = 2.0
TICK_S = 0.25


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        default=argparse.SUPPRESS,
        metavar="CAMERA_INDEX|VIDEO|DIR",
        help="camera index, video file or image folder (default: the camera in the settings)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per event and line")
    parser.add_argument(
        "--rate", type=float, metavar="R", help="analyses per second (default: the settings, 10)"
    )
    parser.add_argument(
        "--no-loop", action="store_true", help="end when a video or folder ends instead of looping"
    )
    parser.add_argument(
        "--duration", type=float, metavar="S", help="stop after S seconds (default: until Ctrl+C)"
    )
    parser.add_argument(
        "--fps",
        type=float,
        default=FOLDER_FPS,
        metavar="F",
        help=f"images a second when the source is a folder (default {FOLDER_FPS:g})",
    )
    parser.add_argument(
        "--room",
        action="store_true",
        help="every face in view votes, the room's mood (default: the setting mood.room)",
    )
    parser.add_argument(
        "--every",
        type=float,
        default=STATUS_EVERY_S,
        metavar="S",
        help=f"seconds between rate lines (default {STATUS_EVERY_S:g})",
    )


def make_analyzer(model: settings_module.ModelSettings) -> Analyzer:
    """The analyser the settings choose (a seam the tests replace with a fake)."""
    from app.vision.analyzer import build_analyzer

    return build_analyzer(model)


@dataclass
class _Run:
    """What happened, for the rate lines and the summary."""

    start: float
    changes: list[MoodChange] = field(default_factory=list)
    last_status: float = 0.0
    analyses_at_status: int = 0
    drops_at_status: int = 0


class _Printer:
    def __init__(self, as_json: bool, out: TextIO, start: float, mapping: dict[str, str]) -> None:
        self.mapping = mapping
        self.as_json = as_json
        self.out = out
        self.start = start

    def t(self, when: float) -> float:
        return round(when - self.start, 2)

    def emit(self, event: str, text: str, **data: Any) -> None:
        line = json.dumps({"event": event, **data}, ensure_ascii=False) if self.as_json else text
        # One write per line, so Ctrl+C between two writes never leaves half a line.
        self.out.write(line + "\n")
        self.out.flush()


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """Ctrl+C (SIGINT) and SIGTERM set the event: the loop ends at its next turn, with the
    summary. A flag, not an exception raised wherever the main thread happens to be (inside a
    callback, a finaliser that would swallow it, half-way through starting the session). A
    second Ctrl+C raises KeyboardInterrupt for a stop that hangs. Handlers only on the main
    thread; put back as they were."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def request(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    # An ignored signal stays ignored (a shell without job control starts `watch &` so, for
    # the terminal's Ctrl+C is not meant for it).
    previous = {
        number: signal.signal(number, request)
        for number in STOP_SIGNALS
        if signal.getsignal(number) is not signal.SIG_IGN
    }
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)


def run(args: argparse.Namespace) -> int:
    settings_path = Path(args.settings) if getattr(args, "settings", None) else None
    settings = settings_module.load(settings_path or paths.settings_file()).settings
    spec = getattr(args, "source", None) or settings.camera.source
    rate = args.rate if args.rate is not None else settings.camera.analysis_rate
    if not 0.1 <= rate <= 60.0:
        raise UserError(f"--rate {rate:g} is out of range; give 0.1 to 60 analyses per second.")
    if args.duration is not None and args.duration <= 0:
        raise UserError("--duration must be a positive number of seconds.")
    if not 0.1 <= args.fps <= 120.0:
        raise UserError(f"--fps {args.fps:g} is out of range; give 0.1 to 120 images per second.")
    every = max(args.every, 0.1)
    loop = settings.camera.loop_video and not args.no_loop
    fps = args.fps
    open_source(spec, loop, fps)  # a path that does not exist fails here, in one sentence
    analyzer = make_analyzer(settings.model)
    return watch(
        lambda: open_source(spec, loop, fps),
        analyzer,
        VoterConfig.from_settings(settings.mood, room=True if args.room else None),
        rate=rate,
        as_json=args.json,
        duration=args.duration,
        every=every,
        source_name=spec,
        mapping=settings.mapping(),
        settings=settings,
    )


class _Printing(SessionListener):
    """Prints the session's events as they happen (on watch's own thread)."""

    def __init__(
        self,
        session: Session,
        printer: _Printer,
        run: _Run,
        workers: list[CaptureWorker],
        clock: Callable[[], float],
    ) -> None:
        self.session = session
        self.printer = printer
        self.run = run
        self.workers = workers
        self.clock = clock
        # Set once the run winds down: the worker's own "stopped" and late face changes are not
        # news any more (mood changes still are).
        self.closing = False
        self.ended = False
        self.failure: str | None = None

    def mood_changed(self, change: MoodChange) -> None:
        self.run.changes.append(change)
        _print_change(self.printer, change, self.session.voter.confidence)

    def face_presence_changed(self, present: bool) -> None:
        if not self.closing:
            _print_presence(self.printer, self.session.voter, self.clock())

    def camera_state_changed(self, state: CameraState, text: str) -> None:
        if self.closing or state.value not in _WORKER_STATES:
            return  # the session's own steps (loading, starting) are not the worker's news
        message = self.workers[-1].message if self.workers else text
        now = self.clock()
        t = self.printer.t(now)
        text = f"{t:7.1f} s  {state.value}: {message}"
        self.printer.emit("state", text, t=t, state=state.value, message=message)
        if state is CameraState.FAILED:
            self.failure = message
            self.ended = True
        elif state is CameraState.STOPPED:
            self.ended = True


_WORKER_STATES = frozenset(s.value for s in CaptureState if s is not CaptureState.STARTING)


def watch(
    source_factory: Callable[[], Any],
    analyzer: Analyzer,
    config: VoterConfig,
    rate: float = 10.0,
    as_json: bool = False,
    duration: float | None = None,
    every: float = STATUS_EVERY_S,
    source_name: str = "",
    mapping: dict[str, str] | None = None,
    out: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
    settings: settings_module.Settings | None = None,
) -> int:
    """Run the session core (worker and voter, no music) until the source ends, ``duration``
    passes or Ctrl+C. The session is driven from this thread: the worker's callbacks wait in the
    session's inbox (a thread-safe queue) until ``run_pending`` handles them here. ``settings``:
    the listener's (a copy is used; the defaults without them), the camera on."""
    out = out if out is not None else sys.stdout
    workers: list[CaptureWorker] = []

    def make_worker(analyzer: Analyzer, on_reading: OnReading, on_state: OnState) -> CaptureWorker:
        worker = CaptureWorker(
            source_factory,
            analyzer,
            rate=rate,
            on_reading=on_reading,
            on_state=on_state,
            clock=clock,
        )
        workers.append(worker)
        return worker

    settings = copy.deepcopy(settings) if settings is not None else settings_module.Settings()
    settings.camera.enabled = True
    session = Session(
        settings,
        None,
        None,
        MoodVoter(config),
        source=source_name or "0",
        analyzer_factory=lambda: analyzer,
        worker_factory=make_worker,
        clock=clock,
        run_task=run_now,  # the analyser is already loaded
    )
    start = clock()
    printer = _Printer(as_json, out, start, mapping or {})
    state = _Run(start=start, last_status=start)
    listener = _Printing(session, printer, state, workers, clock)
    session.add_listener(listener)
    correcting = config.correction() is not None
    how = [
        *(["every face in view votes"] if config.room else []),
        *(["corrected by your neutral face"] if correcting else []),
    ]
    printer.emit(
        "start",
        f"watching {source_name or 'the camera'} at {rate:g} analyses/s"
        + ("" if duration is None else f" for {duration:g} s")
        + (f", {', '.join(how)}" if how else "")
        + " (Ctrl+C to stop)",
        source=source_name,
        rate=rate,
        duration=duration,
        room=config.room,
        calibrated=correcting,
    )
    interrupted = False
    with _stop_on_signals() as stop:
        try:
            session.start()
            polled = clock()
            while not listener.ended and workers and not stop.is_set():
                now = clock()
                if duration is not None and now - start >= duration:
                    break
                # every TICK_S, not only when no reading came: the voter's time, the report
                if session.run_pending(timeout=TICK_S, limit=1) == 0 or clock() - polled >= TICK_S:
                    session.poll()
                    polled = clock()
                if listener.ended:
                    break
                now = clock()
                if now - state.last_status >= every:
                    _print_status(printer, workers[-1], state, now, session.view())
        except KeyboardInterrupt:
            interrupted = True
        finally:
            interrupted = interrupted or stop.is_set()
            listener.closing = True
            # Readings already analysed before the end still count.
            session.stop(drain=True)
    failure = listener.failure
    if not workers:
        raise UserError(failure or session.camera_text)
    stats = workers[-1].stats
    if failure is not None and stats.frames == 0:
        raise UserError(failure)
    _print_summary(printer, stats, state, clock(), session.voter, interrupted)
    return ExitStatus.ERROR if failure is not None else ExitStatus.OK


def _print_change(printer: _Printer, change: MoodChange, confidence: float) -> None:
    was = change.previous or "none"
    playlist = printer.mapping.get(change.current)
    plays = f", plays {playlist}" if playlist else ""
    printer.emit(
        "mood",
        f"{printer.t(change.time):7.1f} s  mood: {was} → {change.current}{plays} ({change.reason})",
        t=printer.t(change.time),
        previous=change.previous,
        current=change.current,
        playlist=playlist,
        confidence=round(confidence, 3),
        reason=change.reason,
        evidence={k: round(v, 3) for k, v in change.evidence.items()},
    )


def _print_presence(printer: _Printer, voter: MoodVoter, now: float) -> None:
    since = voter.no_face_since
    if voter.face_present:
        text = f"{printer.t(now):7.1f} s  face seen"
    else:
        text = f"{printer.t(now):7.1f} s  no face since {printer.t(since or now):.1f} s"
    printer.emit(
        "face",
        text,
        t=printer.t(now),
        present=voter.face_present,
        since=None if since is None else printer.t(since),
    )


def _print_status(
    printer: _Printer, worker: CaptureWorker, run: _Run, now: float, view: SessionView
) -> None:
    stats = worker.stats
    span = max(now - run.last_status, 1e-9)
    per_s = (stats.analyses - run.analyses_at_status) / span
    drops = stats.drops - run.drops_at_status
    run.last_status, run.analyses_at_status, run.drops_at_status = now, stats.analyses, stats.drops
    faces = faces_text(view)
    printer.emit(
        "rate",
        f"{printer.t(now):7.1f} s  {per_s:.1f} analyses/s, {drops} frames dropped, "
        f"{worker.state.value}" + (f", {faces}" if faces else ""),
        t=printer.t(now),
        faces=view.faces_seen,
        voting=view.faces_voting,
        analyses_per_s=round(per_s, 2),
        drops=drops,
        state=worker.state.value,
        frames=stats.frames,
        analyses=stats.analyses,
    )


def _ms(total: float, count: int) -> float:
    return round(1000.0 * total / count, 2) if count else 0.0


def _print_summary(
    printer: _Printer,
    stats: CaptureStats,
    run: _Run,
    now: float,
    voter: MoodVoter,
    interrupted: bool,
) -> None:
    elapsed = max(now - run.start, 1e-9)
    n = stats.analyses
    per_stage = {
        "read": _ms(stats.read_s, stats.frames),
        "detect": _ms(stats.detect_s, n),
        "crop": _ms(stats.crop_s, n),
        "infer": _ms(stats.infer_s, n),
        "analyze": _ms(stats.analyze_s, n),
        "latency": _ms(stats.latency_s, n),
    }
    text = (
        f"summary{' (interrupted)' if interrupted else ''}: {elapsed:.1f} s, "
        f"{stats.frames} frames, {n} analyses ({n / elapsed:.1f}/s), {stats.drops} drops, "
        f"{stats.reconnects} reconnects, {len(run.changes)} mood changes, "
        f"mood {voter.mood or 'none'}\n"
        f"time per frame: read {per_stage['read']} ms; per analysis: detect "
        f"{per_stage['detect']} ms, crop {per_stage['crop']} ms, infer {per_stage['infer']} ms, "
        f"whole {per_stage['analyze']} ms, frame to reading {per_stage['latency']} ms"
    )
    printer.emit(
        "summary",
        text,
        seconds=round(elapsed, 2),
        frames=stats.frames,
        analyses=n,
        drops=stats.drops,
        reconnects=stats.reconnects,
        changes=len(run.changes),
        mood=voter.mood,
        interrupted=interrupted,
        ms_per_stage=per_stage,
    )

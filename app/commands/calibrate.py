"""`moodplayer calibrate [--source SRC] [--seconds 5]`: learn your neutral face.

Look at the camera with a relaxed face for a few seconds. The readings of those seconds are
averaged into seven numbers (how the model reads your resting face, see
:mod:`app.mood.calibration`) and stored in the settings as ``mood.calibration``; from then on the
voter corrects every reading by them (``mood.calibration_on``, ``mood.calibration_strength``).
Only the seven numbers are kept: no frame, no face, no reading is written anywhere.
``--reset`` forgets the calibration.
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from app import paths
from app import settings as settings_module
from app.errors import ExitStatus, UserError
from app.mood.calibration import CALIBRATION_S, Baseline, Calibrator
from app.vision.capture import Analyzer, CaptureState, CaptureWorker
from app.vision.reading import Reading
from app.vision.source_registry import open_source

# How long to wait for the first face before giving up (a camera that takes long to start).
FIRST_FACE_S = 15.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        default=argparse.SUPPRESS,
        metavar="CAMERA_INDEX|VIDEO|DIR",
        help="camera index, video file or image folder (default: the camera in the settings)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=CALIBRATION_S,
        metavar="S",
        help=f"how long to watch the relaxed face (default {CALIBRATION_S:g})",
    )
    parser.add_argument("--reset", action="store_true", help="forget the stored calibration")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")


def make_analyzer(model: settings_module.ModelSettings) -> Analyzer:
    """The analyser the settings choose (a seam the tests replace with a fake)."""
    from app.vision.analyzer import build_analyzer

    return build_analyzer(model)


def run(args: argparse.Namespace) -> int:
    settings_path = Path(args.settings) if getattr(args, "settings", None) else None
    path = settings_path or paths.settings_file()
    settings = settings_module.load(path).settings
    out = sys.stdout
    if args.reset:
        settings.mood.calibration = []
        _save(settings, path)
        _say(out, args.json, "calibration forgotten", {"calibration": None})
        return ExitStatus.OK
    if not 1.0 <= args.seconds <= 60.0:
        raise UserError(f"--seconds {args.seconds:g} is out of range; give 1 to 60 seconds.")
    spec = getattr(args, "source", None) or settings.camera.source
    open_source(spec)  # a path that does not exist fails here, in one sentence
    analyzer = make_analyzer(settings.model)
    if not args.json:
        out.write(
            f"Look at the camera with a relaxed, neutral face for {args.seconds:g} seconds…\n"
        )
        out.flush()
    baseline = calibrate(
        lambda: open_source(spec),
        analyzer,
        seconds=args.seconds,
        rate=settings.camera.analysis_rate,
    )
    settings.mood.calibration = baseline.values()
    _save(settings, path)
    shown = "  ".join(f"{name} {p:.0%}" for name, p in baseline.as_dict().items())
    _say(
        out,
        args.json,
        f"calibrated from {baseline.readings} readings; your neutral face reads: {shown}\n"
        f"saved in {path} (mood.calibration; turn it off with mood.calibration_on = false)",
        {"calibration": baseline.as_dict(), "readings": baseline.readings},
    )
    return ExitStatus.OK


def calibrate(
    source_factory: Callable[[], Any],
    analyzer: Analyzer,
    seconds: float = CALIBRATION_S,
    rate: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
) -> Baseline:
    """Watch the source until ``seconds`` of face readings are in; the baseline they make.

    ``CalibrationError`` (a ``UserError``) when too few faces were seen; ``UserError`` when the
    source fails or no face shows up within :data:`FIRST_FACE_S`."""
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    worker = CaptureWorker(
        source_factory,
        analyzer,
        rate=rate,
        on_reading=lambda reading: events.put(("reading", reading)),
        on_state=lambda state: events.put(("state", state)),
        clock=clock,
    )
    calibrator = Calibrator(seconds)
    start = clock()
    worker.start()
    try:
        while not calibrator.done:
            if calibrator.readings == 0 and clock() - start > FIRST_FACE_S:
                raise UserError(
                    f"No face was seen in {FIRST_FACE_S:g} s: sit in front of the camera, in "
                    "good light, and calibrate again."
                )
            try:
                kind, value = events.get(timeout=0.25)
            except queue.Empty:
                continue
            if kind == "reading":
                assert isinstance(value, Reading)
                calibrator.add(value)
            elif value is CaptureState.FAILED:
                raise UserError(worker.message)
            elif value is CaptureState.STOPPED:
                break  # a video or folder that ended
    finally:
        worker.stop()
    while not events.empty():  # readings analysed before the stop still count
        kind, value = events.get_nowait()
        if kind == "reading" and not calibrator.done:
            calibrator.add(value)
    return calibrator.baseline()


def _save(settings: settings_module.Settings, path: Path) -> None:
    try:
        settings_module.save(settings, path)
    except OSError as exc:
        raise UserError(f"The settings file {path} could not be written: {exc.strerror}.") from None


def _say(out: TextIO, as_json: bool, text: str, data: dict[str, Any]) -> None:
    out.write((json.dumps(data) if as_json else text) + "\n")
    out.flush()

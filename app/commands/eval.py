"""`moodplayer eval --images DIR --labels CSV`: the expression model's accuracy on labelled faces.

The CSV has rows ``path,label`` (a header row is optional; paths are relative to DIR). Labels are
the seven expressions (common synonyms such as "happiness" are accepted); rows with another label,
and images that are missing or unreadable, are skipped and counted, with a warning on stderr.

``--no-detect`` takes each image as an already cropped face (FER-style sets of 48x48 grey faces):
the image is the model's input, resized and scaled as the card says and nothing more (no detector
margins, offsets or padding), so the accuracy is the model's own. The model runs in batches.
Without it, faces are found as in the app (the largest face), and images where none is found are
skipped and counted.

Prints accuracy, per-class recall and the confusion matrix; ``--json`` prints exactly one object
``{"accuracy", "n", "skipped", "per_class": {label: recall}, "confusion": {true: {pred: n}}}``
(``per_class`` is null for a label with no image). Progress goes to stderr, never to stdout.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from app.commands.analyze import add_detector_argument, make_analyzer, read_image
from app.errors import ExitStatus, UserError
from app.vision.analyzer import Analyzer
from app.vision.reading import EXPRESSIONS
from app.vision.sources import IMAGE_SUFFIXES

log = logging.getLogger(__name__)

HEADER_WORDS = frozenset({"path", "file", "filename", "image", "label", "labels", "emotion"})
PROGRESS_EVERY_S = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--images", required=True, metavar="DIR", help="folder of the images")
    parser.add_argument(
        "--labels", required=True, metavar="CSV", help="CSV of path,label (paths relative to DIR)"
    )
    parser.add_argument(
        "--no-detect",
        action="store_true",
        help="each image is already a face crop (FER-style): no face detection",
    )
    parser.add_argument("--tta", action="store_true", help="average with the mirrored face")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--model", metavar="ONNX", help="an ONNX model with its card beside it")
    add_detector_argument(parser)
    parser.add_argument(
        "--batch", type=int, default=256, metavar="N", help="faces per model call (default 256)"
    )


def _expression(label: str) -> str | None:
    from app.vision.card import expression_for

    return expression_for(label)


def read_labels(path: Path) -> tuple[list[tuple[str, str]], int]:
    """The ``(path, expression)`` rows of the CSV and the number of rows skipped (bad label)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"The labels file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"The labels file {path} could not be read: {exc}.") from None
    rows: list[tuple[str, str]] = []
    skipped: Counter[str] = Counter()
    for number, row in enumerate(csv.reader(text.splitlines())):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) < 2:
            if number == 0 and row[0].strip().lower() in HEADER_WORDS:
                continue
            skipped["a row without a label"] += 1
            continue
        name, label = row[0].strip(), row[1].strip()
        expression = _expression(label)
        if expression is None:
            if number == 0 and (
                name.lower() in HEADER_WORDS
                or label.lower() in HEADER_WORDS
                or Path(name).suffix.lower() not in IMAGE_SUFFIXES
            ):
                continue  # a header row: its first cell is no image file name
            skipped[f"label {label!r}"] += 1
            continue
        rows.append((name, expression))
    for what, count in sorted(skipped.items()):
        print(f"moodplayer: skipped {count} row(s) with {what}", file=sys.stderr)
    return rows, sum(skipped.values())


@dataclass
class Tally:
    """Counts of true label -> predicted label."""

    confusion: dict[str, dict[str, int]] = field(
        default_factory=lambda: {t: dict.fromkeys(EXPRESSIONS, 0) for t in EXPRESSIONS}
    )
    skipped: int = 0

    def add(self, true: str, predicted: str) -> None:
        self.confusion[true][predicted] += 1

    @property
    def n(self) -> int:
        return sum(sum(row.values()) for row in self.confusion.values())

    def result(self) -> dict[str, Any]:
        n = self.n
        correct = sum(self.confusion[e][e] for e in EXPRESSIONS)
        per_class: dict[str, float | None] = {}
        for e in EXPRESSIONS:
            support = sum(self.confusion[e].values())
            per_class[e] = self.confusion[e][e] / support if support else None
        return {
            "accuracy": correct / n if n else 0.0,
            "n": n,
            "skipped": self.skipped,
            "per_class": per_class,
            "confusion": self.confusion,
        }


class Progress:
    """'eval: 512/7178 images' on stderr, at most every couple of seconds."""

    def __init__(self, total: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self._clock = clock
        self._last = clock()
        self._tty = sys.stderr.isatty()
        self._shown = False

    def update(self, done: int) -> None:
        now = self._clock()
        if now - self._last < PROGRESS_EVERY_S:
            return
        self._last = now
        end = "\r" if self._tty else "\n"
        print(f"eval: {done}/{self.total} images", end=end, file=sys.stderr, flush=True)
        self._shown = True

    def close(self) -> None:
        if self._shown and self._tty:
            print(file=sys.stderr)


def evaluate(
    analyzer: Analyzer,
    root: Path,
    rows: list[tuple[str, str]],
    detect: bool,
    batch: int = 256,
    progress: Progress | None = None,
) -> Tally:
    """Run the model over the labelled images and count; unreadable images are skipped."""
    tally = Tally()
    missing = unreadable = no_face = 0
    pending: list[tuple[str, np.ndarray]] = []

    def flush() -> None:
        if not pending:
            return
        probabilities = analyzer.classify([item for _t, item in pending])
        for (true, _item), row in zip(pending, probabilities, strict=True):
            tally.add(true, EXPRESSIONS[int(np.argmax(row))])
        pending.clear()

    for done, (name, true) in enumerate(rows, 1):
        path = Path(name) if Path(name).is_absolute() else root / name
        image = read_image(path) if path.is_file() else None
        if image is None:
            if path.is_file():
                unreadable += 1
            else:
                missing += 1
        elif detect:
            reading = analyzer.analyze(image, 0.0, done - 1)
            if reading.box is None:
                no_face += 1
            else:
                tally.add(true, reading.top(1)[0][0])
        else:
            pending.append((true, analyzer.face_input(image)))
            if len(pending) >= batch:
                flush()
        if progress is not None:
            progress.update(done)
    flush()
    for count, what in ((missing, "missing"), (unreadable, "unreadable"), (no_face, "no face")):
        if count:
            print(f"moodplayer: skipped {count} image(s): {what}", file=sys.stderr)
    tally.skipped = missing + unreadable + no_face
    return tally


def format_text(result: dict[str, Any], out: TextIO) -> None:
    out.write(
        f"accuracy {result['accuracy']:.4f}  (n={result['n']}, skipped={result['skipped']})\n"
    )
    out.write("per-class recall:\n")
    confusion = result["confusion"]
    for e in EXPRESSIONS:
        recall = result["per_class"][e]
        support = sum(confusion[e].values())
        shown = f"{recall:.4f}" if recall is not None else "  -   "
        out.write(f"  {e:<9} {shown}  ({support})\n")
    out.write("confusion (rows: true label, columns: predicted):\n")
    width = max(len(e) for e in EXPRESSIONS) + 1
    out.write(" " * (width + 2) + "".join(f"{e:>{width}}" for e in EXPRESSIONS) + "\n")
    for t in EXPRESSIONS:
        cells = "".join(f"{confusion[t][p]:>{width}}" for p in EXPRESSIONS)
        out.write(f"  {t:<{width}}{cells}\n")


def run(args: argparse.Namespace) -> int:
    root = Path(args.images).expanduser()
    if not root.is_dir():
        raise UserError(f"The images folder {root} does not exist.")
    if args.batch < 1:
        raise UserError("--batch must be 1 or more.")
    rows, bad_labels = read_labels(Path(args.labels).expanduser())
    if not rows:
        raise UserError(f"The labels file {args.labels} has no row with one of the 7 expressions.")
    analyzer = make_analyzer(args.model, args.tta, detector=args.detector)
    progress = Progress(len(rows))
    try:
        tally = evaluate(analyzer, root, rows, not args.no_detect, args.batch, progress)
    finally:
        progress.close()
    tally.skipped += bad_labels
    if tally.n == 0:
        raise UserError(f"None of the {len(rows)} labelled images could be evaluated.")
    result = tally.result()
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        format_text(result, sys.stdout)
    return ExitStatus.OK

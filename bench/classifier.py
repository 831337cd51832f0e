"""Time each expression classifier per face: preprocess plus predict, one face per call.

A 48x48 grey face (resized as each card says), on one thread: the default ensemble and each model
alone, with and without the mirrored face.

    .venv/bin/python bench/classifier.py [--calls 500] [--threads 1]

Prints the median and 90th percentile per face over ``--calls`` calls after a warm-up, with the
machine's load average (the figures rise with it: other processes share the cores).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import cv2
import numpy as np
from skimage import data

from app.paths import models_dir
from app.vision.classifier import ExpressionClassifier
from app.vision.ensemble import ensemble_model
from app.vision.onnx_model import ExpressionModel

ASTRONAUT_FACE = (177, 66, 95, 95)


def _times(fn: Callable[[], object], calls: int) -> list[float]:
    for _ in range(20):
        fn()
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _per_face(model: ExpressionClassifier, face: np.ndarray, mirror: bool) -> Callable[[], object]:
    def run() -> object:
        item = model.preprocess(face)
        batch = np.stack([item, model.mirror(item)]) if mirror else item[None]
        return model.predict(batch)

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    x, y, w, h = ASTRONAUT_FACE
    gray = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)[y : y + h, x : x + w]
    face = cv2.resize(gray, (48, 48), interpolation=cv2.INTER_AREA)  # a FER2013-like face
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, python "
        f"{sys.version.split()[0]}, {args.threads} thread(s), load average "
        f"{os.getloadavg()[0]:.1f} at start"
    )
    rows: list[tuple[str, ExpressionClassifier, bool]] = [
        ("default (ensemble)", ensemble_model(threads=args.threads), False)
    ]
    for name in ("emotion_minixception", "emotion_bigxception", "emotion_faceapi"):
        model = ExpressionModel.load(models_dir() / f"{name}.onnx", threads=args.threads)
        rows.append((name, model, False))
        rows.append((name + " +mirror", model, True))
    for name, model, mirror in rows:
        ms = sorted(t * 1e3 for t in _times(_per_face(model, face, mirror), args.calls))
        p90 = ms[int(0.9 * (len(ms) - 1))]
        print(f"{name:<30} median {statistics.median(ms):.3f} ms/face   p90 {p90:.3f} ms")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())

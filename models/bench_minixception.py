"""Time the bundled expression model: one predict call on one 64x64 face, and one crop.

    .venv/bin/python models/bench_minixception.py [--calls 1000] [--threads 1]

Prints the median and 90th percentile over ``--calls`` calls after a warm-up, and the astronaut's
probabilities (the face opencv's Haar cascade finds in scikit-image's public-domain portrait).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time

import cv2
import numpy as np
import onnxruntime as ort
from skimage import data

from app.vision.model_registry import bundled_model
from app.vision.reading import EXPRESSIONS, Box


def _times(fn: object, calls: int) -> list[float]:
    assert callable(fn)
    for _ in range(20):
        fn()
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _report(name: str, times: list[float]) -> None:
    ms = sorted(t * 1e3 for t in times)
    p90 = ms[int(0.9 * (len(ms) - 1))]
    print(f"{name:<28} median {statistics.median(ms):.3f} ms   p90 {p90:.3f} ms   n={len(ms)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    model = bundled_model(threads=args.threads)
    frame = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    x, y, w, h = (int(v) for v in cascade.detectMultiScale(gray, 1.1, 5, minSize=(50, 50))[0])
    box = Box(x, y, w, h)
    item = model.crop(frame, box)
    batch = item[None]

    print(
        f"{platform.processor() or platform.machine()}, python {sys.version.split()[0]}, "
        f"onnxruntime {ort.__version__}, threads {args.threads}"
    )
    _report("predict (1x64x64x1)", _times(lambda: model.predict(batch), args.calls))
    _report("crop (512x512 frame)", _times(lambda: model.crop(frame, box), args.calls))
    probs = model.predict(batch)[0]
    print(f"astronaut face {box}:")
    for name, p in sorted(zip(EXPRESSIONS, probs.tolist(), strict=True), key=lambda kv: -kv[1]):
        print(f"  {name:<9} {p:.4f}")
    assert isinstance(probs, np.ndarray)
    return 0


if __name__ == "__main__":
    sys.exit(main())

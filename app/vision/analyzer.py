"""From one frame to one :class:`~app.vision.reading.Reading`: detect, crop, infer.

The :class:`Analyzer` is plain Python with no thread of its own: the capture worker calls
:meth:`Analyzer.analyze` for the newest frame, the ``analyze`` and ``eval`` commands call it for
files. Each stage is timed with ``time.perf_counter`` and the times travel in the Reading.
"""

from __future__ import annotations

import logging
import time as _time
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from app.vision.classifier import BrokenModelError, ExpressionClassifier, broken_model_message
from app.vision.detector import POLICIES, FaceDetector, choose_face
from app.vision.detector_registry import build_detector
from app.vision.model_registry import open_model
from app.vision.preprocessing import Float32Array
from app.vision.reading import EXPRESSIONS, Face, Reading, StageTimings

log = logging.getLogger(__name__)


class ModelChoice(Protocol):
    """Which model and detector to build (``app.settings.ModelSettings`` has these fields)."""

    backend: str
    onnx_path: str
    detector: str
    tta: bool


# Faces read per frame at most (the chosen one and the largest others), for the room's mood.
MAX_FACES = 4


class Analyzer:
    """Reads the expressions of the faces in a frame.

    ``detector`` finds the faces, ``choose_face(policy)`` picks the one the Reading's ``box`` and
    ``probabilities`` describe; up to ``max_faces`` faces (that one and the largest others) are
    read in one batched model call and all travel in ``Reading.faces``. ``model`` crops each as
    its card says. With ``tta`` the prediction is the mean of the face and its mirror image.
    ``timer`` is the clock for the stage timings (``time.perf_counter``).
    """

    def __init__(
        self,
        detector: FaceDetector,
        model: ExpressionClassifier,
        tta: bool = False,
        policy: str = "largest",
        timer: Callable[[], float] = _time.perf_counter,
        max_faces: int = MAX_FACES,
    ) -> None:
        if policy not in POLICIES:
            raise ValueError(f"unknown face policy {policy!r}; use one of {', '.join(POLICIES)}")
        self.detector = detector
        self.model = model
        self.tta = tta
        self.policy = policy
        self.max_faces = max(1, max_faces)
        self._timer = timer

    def analyze(self, frame_bgr: np.ndarray, time: float, frame_index: int = -1) -> Reading:
        """The Reading for ``frame_bgr`` (BGR uint8) captured at ``time``."""
        timer = self._timer
        t0 = timer()
        boxes = self.detector.detect(frame_bgr)
        height, width = frame_bgr.shape[:2]
        box = choose_face(boxes, self.policy, (width, height))
        t1 = timer()
        if box is None:
            return Reading(time, None, {}, StageTimings(detect=t1 - t0), frame_index)
        others = sorted((b for b in boxes if b != box), key=lambda b: b.area, reverse=True)
        chosen = [box, *others[: self.max_faces - 1]]
        items = [self.model.crop(frame_bgr, b) for b in chosen]
        t2 = timer()
        rows = self.classify(items)
        t3 = timer()
        faces = tuple(Face(b, as_dict(row)) for b, row in zip(chosen, rows, strict=True))
        return Reading(
            time,
            box,
            faces[0].probabilities,
            StageTimings(detect=t1 - t0, crop=t2 - t1, infer=t3 - t2),
            frame_index,
            faces,
        )

    def face_input(self, face_bgr: np.ndarray) -> Float32Array:
        """One model input for an image that already is a face crop (``eval --no-detect``).

        An already cropped face is the model's input: it is converted to the card's colour,
        resized to the card's input size and scaled, nothing more. (The card's crop rules, the
        square box, margins and fer's 10 px offsets with their padding, are for a detector's box
        in a whole frame; on a 48 px dataset face they would add a 20 % border on every side.)
        """
        return self.model.preprocess(face_bgr)

    def classify(self, items: Sequence[Float32Array]) -> Float32Array:
        """Probabilities ``(N, 7)`` for model inputs, in one model call (mirrors added for TTA).

        ``BrokenModelError`` when the model gives NaN or infinite scores."""
        n = len(items)
        if n == 0:
            return np.zeros((0, len(EXPRESSIONS)), np.float32)
        batch = np.stack(list(items))
        if self.tta:
            batch = np.concatenate([batch, np.stack([self.model.mirror(i) for i in items])])
        out = np.array(self.model.predict(batch.astype(np.float32, copy=False)), np.float32)
        if not np.isfinite(out).all():  # a broken model: never a reading, never a vote
            raise BrokenModelError(broken_model_message(self.model.card.name))
        if self.tta:
            out = (out[:n] + out[n:]) * np.float32(0.5)
        total = out.sum(axis=1, keepdims=True)
        np.divide(out, total, out=out, where=total > 0)
        return out


def as_dict(probabilities: np.ndarray) -> dict[str, float]:
    """A probability row in :data:`EXPRESSIONS` order as ``{expression: probability}``."""
    return {name: float(p) for name, p in zip(EXPRESSIONS, probabilities, strict=True)}


def build_analyzer(
    model_settings: ModelChoice | None = None, threads: int = 1, track: bool = True
) -> Analyzer:
    """The Analyzer the settings describe: the bundled model and the default detector (BlazeFace).

    ``track`` (default on, for a camera or a video): the detector follows the face from frame to
    frame and searches the whole frame only every few frames or when the face is lost.

    ``model_settings.backend``: ``bundled``, ``onnx`` (``model_settings.onnx_path``) or
    ``deepface`` (only when installed with its weights); ``UserError`` when it cannot be used.
    """
    backend = model_settings.backend if model_settings is not None else "bundled"
    onnx_path = model_settings.onnx_path if model_settings is not None else ""
    detector_name = model_settings.detector if model_settings is not None else ""
    tta = model_settings.tta if model_settings is not None else False
    detector = build_detector(detector_name, track=track)
    model = open_model(backend, onnx_path, threads=threads)
    log.info("analyzer: %s model, %s detector, tta=%s", model.card.name, detector_name, tta)
    return Analyzer(detector, model, tta=tta)

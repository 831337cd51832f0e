"""A webcam through OpenCV: opening it, finding the cameras there are."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence

import cv2

from app.vision.sources import Frame, SourceError


def _quiet_opencv() -> None:
    """Silence OpenCV's own warnings when probing cameras that are not there."""
    with contextlib.suppress(AttributeError):  # older builds have no cv2.utils.logging
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


def _candidate_indices(max_index: int) -> list[int]:
    if sys.platform.startswith("linux"):
        # Probing an index without a device node only prints warnings; skip it.
        return [i for i in range(max_index + 1) if os.path.exists(f"/dev/video{i}")]
    return list(range(max_index + 1))


def _open_camera(index: int) -> cv2.VideoCapture:
    if sys.platform == "win32":
        # DirectShow opens in well under a second where Media Foundation can take many.
        capture = cv2.VideoCapture(index, cv2.CAP_DSHOW)
        if capture.isOpened():
            return capture
        capture.release()
    return cv2.VideoCapture(index)


def list_cameras(max_index: int = 5) -> list[int]:
    """The camera indices (0..max_index) that open and deliver a frame."""
    _quiet_opencv()
    found = []
    for index in _candidate_indices(max_index):
        capture = _open_camera(index)
        try:
            if capture.isOpened() and capture.read()[0]:
                found.append(index)
        finally:
            capture.release()
    return found


def missing_camera_message(index: int, found: Sequence[int]) -> str:
    listed = ", ".join(str(i) for i in found) if found else "none"
    return f"No camera at index {index} (found: {listed}). Choose one in Settings → Camera."


# Frame rates webcams commonly offer; the camera is asked for the lowest that serves the
# analysis rate with room to spare (1.5x: a 10/s analysis asks for 15 fps).
COMMON_FPS = (5.0, 10.0, 15.0, 20.0, 24.0, 25.0, 30.0, 60.0)


def camera_fps_for(analyses_per_s: float) -> float:
    """The lowest common webcam frame rate that serves ``analyses_per_s`` analyses a second."""
    wanted = 1.5 * analyses_per_s
    return next((fps for fps in COMMON_FPS if fps >= wanted), COMMON_FPS[-1])


class CameraSource:
    """A webcam by index (OpenCV); live, with the driver buffer kept to one frame."""

    fps: float | None = None

    def __init__(self, index: int) -> None:
        self.index = index
        self._capture: cv2.VideoCapture | None = None
        self.wanted_fps: float | None = None
        self.device_fps: float | None = None  # what the driver says it gives, once open
        self.name = f"camera {index}"

    def hint_rate(self, analyses_per_s: float) -> None:
        """Ask the camera (at the next ``open``) for the lowest frame rate that serves the rate."""
        self.wanted_fps = camera_fps_for(analyses_per_s)

    def open(self) -> None:
        _quiet_opencv()
        capture = _open_camera(self.index)
        if not capture.isOpened():
            capture.release()
            if self.index in _candidate_indices(self.index):
                raise SourceError(
                    f"Camera {self.index} is there but cannot be opened (is another app using "
                    "it?). Close that app, or choose another camera in Settings → Camera."
                )
            raise SourceError(missing_camera_message(self.index, list_cameras()))
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        if self.wanted_fps is not None:
            capture.set(cv2.CAP_PROP_FPS, self.wanted_fps)
        self.device_fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0) or None
        self._capture = capture

    def read(self) -> Frame | None:
        if self._capture is None:
            return None
        ok, frame = self._capture.read()
        return frame if ok else None

    def grab(self) -> bool:
        """Take the next frame off the camera without decoding it."""
        return self._capture is not None and bool(self._capture.grab())

    def retrieve(self) -> Frame | None:
        """Decode the frame last grabbed."""
        if self._capture is None:
            return None
        ok, frame = self._capture.retrieve()
        return frame if ok else None

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

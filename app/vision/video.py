"""A video file as a frame source, through OpenCV."""

from __future__ import annotations

from pathlib import Path

import cv2

from app.vision.sources import Frame, SourceEnded, SourceError

VIDEO_FALLBACK_FPS = 25.0


class VideoFileSource:
    """A video file, played at its own frame rate, looping when asked."""

    def __init__(self, path: Path, loop: bool = True) -> None:
        self.path = path
        self.loop = loop
        self.name = path.name
        self._capture: cv2.VideoCapture | None = None
        self.fps: float | None = VIDEO_FALLBACK_FPS

    def open(self) -> None:
        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"Cannot play {self.path}: not a video OpenCV can read.")
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 0.5 <= fps <= 240.0 else VIDEO_FALLBACK_FPS
        self._capture = capture

    def read(self) -> Frame | None:
        if self._capture is None:
            return None
        ok, frame = self._capture.read()
        if ok:
            return frame
        if not self.loop:
            raise SourceEnded(self.name)
        self._capture.release()
        self._capture = cv2.VideoCapture(str(self.path))
        return self._read_capture()

    def grab(self) -> bool:
        """Advance one frame without converting it to BGR (``SourceEnded`` at the end)."""
        if self._capture is None:
            return False
        if self._capture.grab():
            return True
        if not self.loop:
            raise SourceEnded(self.name)
        self._capture.release()
        self._capture = cv2.VideoCapture(str(self.path))
        return bool(self._capture.grab())

    def retrieve(self) -> Frame | None:
        """The frame last grabbed, as BGR."""
        if self._capture is None:
            return None
        ok, frame = self._capture.retrieve()
        return frame if ok else None

    def _read_capture(self) -> Frame | None:
        if self._capture is None:
            return None
        ok, frame = self._capture.read()
        return frame if ok else None

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

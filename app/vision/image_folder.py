"""A folder of images as a frame source."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2

from app.vision.sources import IMAGE_SUFFIXES, Frame, SourceEnded, SourceError

log = logging.getLogger(__name__)

# Images of a folder per second: each face is on screen for 0.2 s, so the default 2 s mood window
# sees ten of them, like a short clip of the same person.
FOLDER_FPS = 5.0


class ImageFolderSource:
    """The images of a folder in name order, ``fps`` a second; unreadable files are skipped."""

    def __init__(self, folder: Path, loop: bool = True, fps: float = FOLDER_FPS) -> None:
        self.folder = folder
        self.loop = loop
        self.fps: float | None = fps
        self.name = folder.name or str(folder)
        self._files: list[Path] = []
        self._next = 0
        self._readable: set[Path] = set()

    def open(self) -> None:
        try:
            files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        except OSError as exc:
            raise SourceError(f"Cannot read the folder {self.folder}: {exc.strerror}.") from exc
        if not files:
            raise SourceError(f"No images in {self.folder} (looked for .jpg, .png, .bmp, …).")
        self._files = files
        self._next = 0

    def read(self) -> Frame | None:
        skipped = 0
        while skipped < len(self._files):
            if self._next >= len(self._files):
                if not self.loop:
                    raise SourceEnded(self.name)
                if not self._readable:
                    raise SourceEnded(self.name)  # a whole pass without one readable image
                self._next = 0
            path = self._files[self._next]
            self._next += 1
            frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if frame is not None:
                self._readable.add(path)
                return frame
            log.warning("skipped %s: not an image OpenCV can read", path)
            skipped += 1
        raise SourceEnded(self.name)

    def close(self) -> None:
        self._files = []

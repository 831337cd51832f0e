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
    """The images of a folder in name order, ``fps`` a second; unreadable files are skipped.

    A file that cannot be read is tried once: the first is logged by name, the rest are counted
    and the count is logged once at the end of the first pass (200 junk files and one good image
    give two log lines, not a line per file per pass)."""

    def __init__(self, folder: Path, loop: bool = True, fps: float = FOLDER_FPS) -> None:
        self.folder = folder
        self.loop = loop
        self.fps: float | None = fps
        self.name = folder.name or str(folder)
        self._files: list[Path] = []
        self._next = 0
        self._readable: set[Path] = set()
        self._unreadable: set[Path] = set()
        self._counted = False  # the first pass's count of unreadable files was logged

    def open(self) -> None:
        try:
            files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        except OSError as exc:
            raise SourceError(f"Cannot read the folder {self.folder}: {exc.strerror}.") from exc
        if not files:
            raise SourceError(f"No images in {self.folder} (looked for .jpg, .png, .bmp, …).")
        self._files = files
        self._next = 0

    @property
    def unreadable(self) -> int:
        """How many files were skipped as unreadable so far."""
        return len(self._unreadable)

    def read(self) -> Frame | None:
        skipped = 0
        while skipped < len(self._files):
            if self._next >= len(self._files):
                self._count_unreadable()
                if not self.loop:
                    raise SourceEnded(self.name)
                if not self._readable:
                    raise SourceEnded(self.name)  # a whole pass without one readable image
                self._next = 0
            path = self._files[self._next]
            self._next += 1
            if path in self._unreadable:
                skipped += 1
                continue
            frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if frame is not None:
                self._readable.add(path)
                return frame
            self._skip(path)
            skipped += 1
        self._count_unreadable()
        raise SourceEnded(self.name)

    def _skip(self, path: Path) -> None:
        self._unreadable.add(path)
        if len(self._unreadable) == 1:
            log.warning(
                "skipped %s: not an image OpenCV can read (more such files are counted)", path
            )
        else:
            log.debug("skipped %s: not an image OpenCV can read", path)

    def _count_unreadable(self) -> None:
        if self._counted:
            return
        self._counted = True
        if len(self._unreadable) > 1:
            log.warning(
                "skipped %d of %d files in %s: not images OpenCV can read",
                len(self._unreadable),
                len(self._files),
                self.folder,
            )

    def close(self) -> None:
        self._files = []

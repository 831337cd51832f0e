"""Where frames come from: the :class:`FrameSource` interface and its errors.

The implementations live one to a module (``camera``, ``video``, ``image_folder``, and
``FakeSource`` in ``fakes``); ``source_registry`` names them and opens a source from its spec.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from app.errors import UserError

Frame = np.ndarray

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm"})


class SourceError(UserError):
    """A source that cannot be opened (the message says what to do)."""


class SourceEnded(Exception):
    """Raised by ``read()`` at the natural end of a finite source (video or folder, not looping)."""


class FrameSource(Protocol):
    """Where frames come from. ``fps`` None means live: read as fast as frames arrive."""

    name: str
    fps: float | None

    def open(self) -> None: ...

    def read(self) -> Frame | None: ...

    def close(self) -> None: ...

"""Where frames come from: the :class:`FrameSource` interface and its errors.

The implementations live one to a module (``camera``, ``video``, ``image_folder``, and
``FakeSource`` in ``fakes``); ``source_registry`` names them and opens a source from its spec.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

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


@runtime_checkable
class GrabbingSource(Protocol):
    """A source that can take the next frame off the device without decoding it (OpenCV's
    ``grab``) and decode only the frames someone will look at (``retrieve``)."""

    def grab(self) -> bool: ...

    def retrieve(self) -> Frame | None: ...


@runtime_checkable
class RateHinted(Protocol):
    """A source that can ask its device for a lower frame rate (a webcam: ``CAP_PROP_FPS``)."""

    def hint_rate(self, analyses_per_s: float) -> None: ...

"""Stand-ins for the face detector and the expression model, for tests.

They are real objects with simple, predictable behaviour — not mocks:

- :class:`FakeSource` plays a script of frames, failed reads and exceptions.
- :class:`FakeDetector` returns the boxes it was given (the same every frame, or one list per
  call from a sequence), so a test decides where "the face" is.
- :class:`FakeModel` crops exactly as a real model card says (it *is* a
  :class:`~app.vision.preprocessing.CardPreprocessing`), and predicts from the input's
  brightness: the mean pixel (0..255, undoing the card's scaling) picks the expression
  ``EXPRESSIONS[min(6, int(mean * 7 / 256))]`` with probability :data:`FakeModel.TOP`, the rest
  share what is left. So a uniform grey image of level 0..36 reads "angry", 220..255 "neutral";
  :func:`level_for` gives a grey level for any expression. ``fixed=`` makes it return the same
  probabilities for every input instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from app.vision.card import ModelCard
from app.vision.preprocessing import CardPreprocessing, Float32Array
from app.vision.reading import EXPRESSIONS, Box
from app.vision.sources import Frame, SourceEnded

#: A card like the bundled model's (64x64 grey, fer's crop), for models that exist only in tests.
FAKE_CARD = ModelCard(
    name="fake-brightness",
    labels=EXPRESSIONS,
    input_height=64,
    input_width=64,
    channels=1,
    layout="NHWC",
    colour="gray",
    scale=2.0 / 255.0,
    offset=-1.0,
    crop_margin=0.0,
    square=True,
    crop_offset_px=10,
    pad_px=40,
    pad_fill="bottom_mean",
    source="tests",
    licence="MIT",
    description="Predicts an expression from the face's mean brightness (for tests only).",
)


def level_for(expression: str) -> int:
    """A grey level (0..255) that :class:`FakeModel` reads as ``expression``."""
    k = EXPRESSIONS.index(expression)
    return int((k + 0.5) * 256 / 7)


class FakeDetector:
    """A face detector that finds what it is told to.

    ``boxes``: the boxes returned for every frame. ``script``: instead, one list of boxes per
    call; after the last, the last list repeats. ``calls`` counts the frames seen.
    """

    def __init__(
        self, boxes: Iterable[Box] = (), script: Sequence[Sequence[Box]] | None = None
    ) -> None:
        self._lists: list[list[Box]] = (
            [list(b) for b in script] if script is not None else [list(boxes)]
        )
        self.calls = 0

    def detect(self, frame_bgr: np.ndarray) -> list[Box]:
        index = min(self.calls, len(self._lists) - 1)
        self.calls += 1
        return list(self._lists[index]) if self._lists else []


class WholeFrameDetector:
    """A detector that calls the whole frame a face (for images that are already face crops)."""

    def detect(self, frame_bgr: np.ndarray) -> list[Box]:
        h, w = frame_bgr.shape[:2]
        return [Box(0, 0, w, h)]


class FakeModel(CardPreprocessing):
    """An expression "model" that reads brightness (see the module doc); crops as its card says."""

    TOP = 0.7

    def __init__(
        self,
        card: ModelCard = FAKE_CARD,
        fixed: Mapping[str, float] | Sequence[float] | None = None,
    ) -> None:
        super().__init__(card)
        self._fixed: Float32Array | None = None
        if fixed is not None:
            values = (
                [float(fixed.get(e, 0.0)) for e in EXPRESSIONS]
                if isinstance(fixed, Mapping)
                else [float(v) for v in fixed]
            )
            if len(values) != len(EXPRESSIONS) or sum(values) <= 0:
                raise ValueError("fixed needs seven non-negative probabilities")
            arr = np.asarray(values, np.float32)
            self._fixed = arr / arr.sum()
        self.batches: list[int] = []  # size of every batch predicted, for tests of batching

    def predict(self, batch: np.ndarray) -> Float32Array:
        x = np.asarray(batch, np.float32)
        if x.ndim == 3:
            x = x[None]
        if x.shape[1:] != self.card.input_shape:
            raise ValueError(
                f"input shape {x.shape[1:]} is not the model's {self.card.input_shape}"
            )
        self.batches.append(len(x))
        if self._fixed is not None:
            return np.tile(self._fixed, (len(x), 1))
        pixels = (x.reshape(len(x), -1).mean(axis=1) - self.card.offset) / self.card.scale
        classes = np.clip((pixels * 7 / 256).astype(np.int64), 0, len(EXPRESSIONS) - 1)
        rest = (1.0 - self.TOP) / (len(EXPRESSIONS) - 1)
        out = np.full((len(x), len(EXPRESSIONS)), rest, np.float32)
        out[np.arange(len(x)), classes] = self.TOP
        return out


Script = Sequence["Frame | BaseException | None"]


class FakeSource:
    """A scripted source for tests: each read returns the next frame, None (a failed read) or
    raises the next exception; at the end it loops or raises :class:`SourceEnded`.

    ``open_error`` makes ``open()`` raise (a camera that is not there).
    """

    def __init__(
        self,
        script: Script,
        fps: float | None = None,
        loop: bool = False,
        open_error: BaseException | None = None,
        name: str = "fake",
    ) -> None:
        self.script = list(script)
        self.fps = fps
        self.loop = loop
        self.open_error = open_error
        self.name = name
        self.reads = 0
        self.opened = False
        self.closed = False

    def open(self) -> None:
        if self.open_error is not None:
            raise self.open_error
        self.opened = True

    def read(self) -> Frame | None:
        if not self.script:
            raise SourceEnded(self.name)
        if self.reads >= len(self.script) and not self.loop:
            raise SourceEnded(self.name)
        item = self.script[self.reads % len(self.script)]
        self.reads += 1
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self.closed = True


class FakeGrabbingSource(FakeSource):
    """A :class:`FakeSource` that can ``grab()`` without decoding, like a camera or a video file
    through OpenCV: ``retrieve()`` "decodes" the frame grabbed last and counts it in
    :attr:`decoded`. :attr:`hinted_rate` is what ``hint_rate`` was told (a webcam's fps wish)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.decoded = 0
        self.grabs = 0
        self.hinted_rate: float | None = None
        self._grabbed: Frame | None = None

    def hint_rate(self, analyses_per_s: float) -> None:
        self.hinted_rate = analyses_per_s

    def grab(self) -> bool:
        frame = self.read()
        self.grabs += 1
        self._grabbed = frame
        return frame is not None

    def retrieve(self) -> Frame | None:
        self.decoded += 1
        return self._grabbed

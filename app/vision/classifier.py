"""What the Analyzer needs from an expression model, whatever runs it."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from app.errors import UserError
from app.vision.card import ModelCard
from app.vision.preprocessing import Float32Array
from app.vision.reading import Box


class BrokenModelError(UserError):
    """The model gave NaN or infinite scores: it is broken, and nothing it says is a reading."""


def broken_model_message(name: str) -> str:
    return (
        f"The expression model {name} gives NaN or infinite scores, so it is broken (a damaged "
        "or badly converted file); choose another model in Settings → Model."
    )


class ExpressionClassifier(Protocol):
    """What the Analyzer needs from a model: the bundled ONNX one, a user's, or DeepFace."""

    @property
    def card(self) -> ModelCard: ...

    def crop(self, frame_bgr: np.ndarray, box: Box) -> Float32Array: ...

    def preprocess(self, face: np.ndarray) -> Float32Array: ...

    def mirror(self, item: Float32Array) -> Float32Array: ...

    def predict(self, batch: np.ndarray) -> Float32Array: ...

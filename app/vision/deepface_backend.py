"""DeepFace's expression model as an optional backend (``pip install 'moodplayer[deepface]'``).

Used only when the ``deepface`` package is installed AND its emotion weights are already on disk
(``$DEEPFACE_HOME/.deepface/weights``, ``DEEPFACE_HOME`` defaulting to the home folder, as
DeepFace itself decides). DeepFace would download missing weights on first use; MoodPlayer never
lets it: when the file is missing it says how to fetch it once, and stops.

The model gives the same seven expressions in MoodPlayer's order. It is fed as DeepFace's own
``analyze`` does: the face box, grayscale, resized to 48x48, pixels scaled to 0..1.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import UserError
from app.vision.card import ModelCard
from app.vision.preprocessing import CardPreprocessing, Float32Array
from app.vision.reading import EXPRESSIONS

log = logging.getLogger(__name__)

WEIGHTS_FILE = "facial_expression_model_weights.h5"
WEIGHTS_URL = "https://github.com/serengil/deepface_models/releases/download/v1.0/" + WEIGHTS_FILE

DEEPFACE_CARD = ModelCard(
    name="deepface-emotion",
    labels=EXPRESSIONS,  # deepface's Emotion labels are angry … neutral, in this order
    input_height=48,
    input_width=48,
    channels=1,
    layout="NHWC",
    colour="gray",
    scale=1.0 / 255.0,
    offset=0.0,
    crop_margin=0.0,
    square=False,
    pad_px=0,
    pad_fill="black",
    source=WEIGHTS_URL,
    licence="MIT (deepface by Sefik Ilkin Serengil)",
    attribution="DeepFace facial expression model, https://github.com/serengil/deepface",
    description="DeepFace's 48x48 expression CNN, run through DeepFace and TensorFlow.",
)


def weights_path() -> Path:
    """Where DeepFace keeps its emotion weights (``$DEEPFACE_HOME/.deepface/weights/...``)."""
    home = os.environ.get("DEEPFACE_HOME") or os.path.expanduser("~")
    return Path(home) / ".deepface" / "weights" / WEIGHTS_FILE


def unavailable_reason() -> str | None:
    """None when DeepFace can be used right now (the package, its weights on disk and TensorFlow),
    else one sentence saying what to do.

    Looks only: nothing is imported, created or downloaded.
    """
    if importlib.util.find_spec("deepface") is None:
        return (
            "The DeepFace backend is not installed: install it once with "
            "`pip install 'moodplayer[deepface]'`, or choose the bundled model in Settings → Model."
        )
    weights = weights_path()
    if not weights.is_file():
        return (
            f"DeepFace's emotion weights are not on this computer: download {WEIGHTS_URL} once "
            f"into {weights.parent}/ (MoodPlayer never downloads by itself), "
            "or choose the bundled model."
        )
    if importlib.util.find_spec("tensorflow") is None:
        return (
            "DeepFace is installed but TensorFlow, which it runs on, is not: install it with "
            "`pip install 'moodplayer[deepface]'` (or `pip install tensorflow`), "
            "or choose the bundled model in Settings → Model."
        )
    return None


def is_available() -> bool:
    return unavailable_reason() is None


def _build_keras_model() -> Any:
    """DeepFace's Keras emotion model, across DeepFace's API versions (weights already there)."""
    from deepface import DeepFace  # heavy: imports TensorFlow

    try:
        client = DeepFace.build_model(task="facial_attribute", model_name="Emotion")
    except TypeError:  # DeepFace < 0.0.93: build_model(model_name)
        client = DeepFace.build_model("Emotion")
    return getattr(client, "model", client)


class DeepFaceModel(CardPreprocessing):
    """DeepFace's emotion CNN behind the same crop/predict interface as ExpressionModel."""

    def __init__(self, keras_model: Any) -> None:
        super().__init__(DEEPFACE_CARD)
        self._model = keras_model

    def predict(self, batch: np.ndarray) -> Float32Array:
        """Probabilities ``(N, 7)`` in :data:`EXPRESSIONS` order."""
        x = batch if batch.dtype == np.float32 else batch.astype(np.float32)
        if x.ndim == 3:
            x = x[None]
        if x.shape[1:] != self.card.input_shape:
            raise ValueError(
                f"input shape {x.shape[1:]} is not the model's {self.card.input_shape}"
            )
        out = self._model(x, training=False)
        probs = np.asarray(out.numpy() if hasattr(out, "numpy") else out, dtype=np.float32)
        probs = probs.reshape(len(x), len(EXPRESSIONS))
        total = probs.sum(axis=1, keepdims=True)
        np.divide(probs, total, out=probs, where=total > 0)
        return probs


def deepface_model(threads: int = 1) -> DeepFaceModel:
    """DeepFace's expression model; ``UserError`` (with what to do) when it cannot be used."""
    reason = unavailable_reason()
    if reason is not None:
        raise UserError(reason)
    try:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(max(1, threads))
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except (ImportError, RuntimeError, AttributeError) as exc:
        log.debug("could not set TensorFlow threads: %s", exc)
    try:
        keras_model = _build_keras_model()
    except Exception as exc:  # TensorFlow and DeepFace raise many kinds
        raise UserError(
            f"DeepFace's emotion model could not be loaded from {weights_path()}: {exc}"
        ) from None
    log.info("loaded DeepFace emotion model from %s", weights_path())
    return DeepFaceModel(keras_model)

"""The expression models by name and how to open one.

``bundled`` is the default classifier: the ensemble of ``models/emotion_ensemble.json``
(app/vision/ensemble.py); ``minixception`` is its lighter first member alone; ``faceapi`` is
face-api.js's FaceExpressionNet alone (the ensemble's third member); ``onnx`` a user's model;
``deepface`` DeepFace's; ``fake`` a hidden one for tests.

Every factory takes the same options, ``threads`` and ``onnx_path`` (used by ``onnx`` only), and
returns an :class:`~app.vision.classifier.ExpressionClassifier`. A backend that cannot run here
says why in ``unavailable_reason()`` without importing anything heavy.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from app import paths
from app.errors import UserError
from app.registry import Registry
from app.vision import deepface_backend
from app.vision.classifier import ExpressionClassifier
from app.vision.onnx_model import ExpressionModel

log = logging.getLogger(__name__)

BUNDLED_NAME = "emotion_minixception"
ENSEMBLE_CARD = "emotion_ensemble.json"
FACEAPI_NAME = "emotion_faceapi"


def bundled_path() -> Path:
    return paths.models_dir() / f"{BUNDLED_NAME}.onnx"


def bundled_model(threads: int = 1) -> ExpressionModel:
    """The mini-Xception model that ships with MoodPlayer."""
    return ExpressionModel.load(paths.models_dir() / f"{BUNDLED_NAME}.onnx", threads=threads)


def available_models() -> list[Path]:
    """The bundled model and every ``*.onnx`` in the user's models folder with a card beside it."""
    found = [paths.models_dir() / f"{BUNDLED_NAME}.onnx"]
    folder = paths.user_models_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.onnx")):
            if path.with_suffix(".json").is_file():
                found.append(path)
            else:
                log.info(
                    "ignoring %s: no model card %s beside it", path, path.with_suffix(".json").name
                )
    return found


def _onnxruntime_missing() -> str | None:
    if importlib.util.find_spec("onnxruntime") is None:
        return "onnxruntime is not installed: reinstall MoodPlayer (pip install moodplayer)."
    return None


def _minixception_missing() -> str | None:
    missing = _onnxruntime_missing()
    if missing is not None:
        return missing
    if not bundled_path().is_file():
        return f"The bundled model {bundled_path()} is missing: reinstall MoodPlayer."
    return None


def _ensemble_missing() -> str | None:
    missing = _onnxruntime_missing()
    if missing is not None:
        return missing
    card = paths.models_dir() / ENSEMBLE_CARD
    if not card.is_file():
        return f"The bundled model card {card} is missing: reinstall MoodPlayer."
    return None


def _bundled(*, threads: int = 1, onnx_path: str = "") -> ExpressionClassifier:
    from app.vision.ensemble import ensemble_model

    return ensemble_model(threads=threads)


def _minixception(*, threads: int = 1, onnx_path: str = "") -> ExpressionClassifier:
    return bundled_model(threads=threads)


def _onnx(*, threads: int = 1, onnx_path: str = "") -> ExpressionClassifier:
    if not onnx_path:
        raise UserError("No model file is chosen: pick an .onnx model in Settings → Model.")
    return ExpressionModel.load(Path(onnx_path).expanduser(), threads=threads)


def _faceapi(*, threads: int = 1, onnx_path: str = "") -> ExpressionClassifier:
    return ExpressionModel.load(paths.models_dir() / f"{FACEAPI_NAME}.onnx", threads=threads)


def _faceapi_missing() -> str | None:
    missing = _onnxruntime_missing()
    if missing is not None:
        return missing
    path = paths.models_dir() / f"{FACEAPI_NAME}.onnx"
    if not path.is_file():
        return f"The bundled model {path} is missing: reinstall MoodPlayer."
    return None


def _deepface(*, threads: int = 1, onnx_path: str = "") -> ExpressionClassifier:
    return deepface_backend.deepface_model(threads=threads)


def _fake(*, threads: int = 1, onnx_path: str = "") -> ExpressionClassifier:
    from app.vision.fakes import FakeModel

    return FakeModel()


MODELS: Registry[ExpressionClassifier] = Registry("expression model")
MODELS.register(
    "bundled",
    _bundled,
    label="Bundled model (mini-Xception + big-XCEPTION + face-api.js, MIT licence)",
    unavailable=_ensemble_missing,
)
MODELS.register(
    "minixception",
    _minixception,
    label="Bundled mini-Xception alone (lighter, a little less accurate)",
    unavailable=_minixception_missing,
)
MODELS.register(
    "faceapi",
    _faceapi,
    label="Bundled face-api.js FaceExpressionNet alone (112x112 colour, MIT licence)",
    unavailable=_faceapi_missing,
)
MODELS.register(
    "deepface", _deepface, label="DeepFace", unavailable=deepface_backend.unavailable_reason
)
MODELS.register(
    "onnx",
    _onnx,
    label="My own ONNX model (with its JSON model card beside it)",
    unavailable=_onnxruntime_missing,
)
MODELS.register("fake", _fake, label="Brightness (tests)", hidden=True)


def open_model(
    backend: str = "bundled", onnx_path: str = "", threads: int = 1
) -> ExpressionClassifier:
    """The model the settings choose (``model.backend``, ``model.onnx_path``); ``UserError`` if not.

    ``bundled``: the shipped model; ``onnx``: a user's ONNX model with its card; ``deepface``:
    DeepFace's model, only when installed with its weights on disk. See :data:`MODELS`.
    """
    model: ExpressionClassifier = MODELS.create(backend, threads=threads, onnx_path=onnx_path)
    return model

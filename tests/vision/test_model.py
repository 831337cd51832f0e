"""app/vision/model.py: cards, loading, the fer crop, prediction and bring-your-own models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from skimage import data

from app import paths
from app.errors import UserError
from app.vision.card import expression_for, load_card
from app.vision.model_registry import available_models, bundled_model, open_model
from app.vision.onnx_model import ExpressionModel
from app.vision.reading import EXPRESSIONS, Box

BUNDLED_ONNX = paths.models_dir() / "emotion_minixception.onnx"
BUNDLED_CARD = BUNDLED_ONNX.with_suffix(".json")


@pytest.fixture(scope="module")
def model() -> ExpressionModel:
    return bundled_model(threads=1)


@pytest.fixture(scope="module")
def astronaut() -> tuple[np.ndarray, Box]:
    """The NASA portrait scikit-image ships (BGR) and the face opencv's own Haar cascade finds."""
    frame = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    faces = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(50, 50))
    assert len(faces) == 1
    return frame, Box(*(int(v) for v in faces[0]))


def fer_preprocess(frame_bgr: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """What fer 25.10.3's FER.detect_emotions feeds its model for one face box, step by step."""
    gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
    row, col = gray.shape[:2]
    mean = cv2.mean(gray[row - 2 : row, 0:col])[0]
    padded = cv2.copyMakeBorder(gray, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=[mean] * 3)
    x, y, w, h = box
    if h > w:
        diff = h - w
        x -= diff // 2
        w += diff
    elif w > h:
        diff = w - h
        y -= diff // 2
        h += diff
    x1, x2, y1, y2 = x - 10, x + w + 10, y - 10, y + h + 10
    x1, y1, x2, y2 = max(0, x1 + 40), max(0, y1 + 40), x2 + 40, y2 + 40
    face = cv2.resize(padded[y1:y2, x1:x2], (64, 64))
    return (((face.astype("float32") / 255.0) - 0.5) * 2.0)[..., None]


# --- the bundled model -------------------------------------------------------------------------


def test_astronaut_reads_happy(model: ExpressionModel, astronaut: tuple[np.ndarray, Box]) -> None:
    frame, box = astronaut
    probs = model.predict(model.crop(frame, box)[None])
    assert probs.shape == (1, 7) and probs.dtype == np.float32
    assert abs(float(probs.sum()) - 1.0) < 1e-5
    assert EXPRESSIONS[int(probs[0].argmax())] == "happy"
    assert probs[0, EXPRESSIONS.index("happy")] > 0.9


def test_no_face_scores_differ_from_face(
    model: ExpressionModel, astronaut: tuple[np.ndarray, Box]
) -> None:
    frame, box = astronaut
    batch = np.stack([model.crop(frame, box), model.crop(frame, Box(380, 380, 90, 90))])
    probs = model.predict(batch)
    assert probs.shape == (2, 7)
    assert np.abs(probs[0] - probs[1]).max() > 0.1


@pytest.mark.parametrize(
    "box",
    [
        (177, 66, 95, 95),  # the face
        (150, 60, 121, 90),  # wider than tall, odd difference
        (0, 0, 60, 80),  # top-left corner: the crop reaches into fer's padding
        (470, 440, 41, 72),  # bottom-right corner, taller than wide
        (-30, 200, 70, 70),  # starts outside the frame, beyond the 40 px padding
        (300, 480, 100, 100),  # mostly below the frame
    ],
)
def test_crop_is_exactly_fers(
    model: ExpressionModel, astronaut: tuple[np.ndarray, Box], box: tuple[int, int, int, int]
) -> None:
    frame, _ = astronaut
    got = model.crop(frame, Box(*box))
    want = fer_preprocess(frame, box)
    assert got.shape == want.shape == (64, 64, 1) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    x=st.integers(-60, 540),
    y=st.integers(-60, 540),
    w=st.integers(8, 300),
    h=st.integers(8, 300),
)
def test_crop_is_fers_for_any_box_that_overlaps_the_frame(
    model: ExpressionModel, astronaut: tuple[np.ndarray, Box], x: int, y: int, w: int, h: int
) -> None:
    frame, _ = astronaut
    box = (x, y, w, h)
    assume(x < 512 and y < 512 and x + w > 0 and y + h > 0)
    np.testing.assert_allclose(model.crop(frame, Box(*box)), fer_preprocess(frame, box), atol=1e-6)


def test_crop_accepts_gray_and_bgra_frames(
    model: ExpressionModel, astronaut: tuple[np.ndarray, Box]
) -> None:
    frame, box = astronaut
    want = model.crop(frame, box)
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)
    np.testing.assert_array_equal(model.crop(gray, box), want)
    np.testing.assert_array_equal(model.crop(bgra, box), want)


def test_crop_refuses_box_outside_frame(model: ExpressionModel) -> None:
    frame = np.zeros((100, 100, 3), np.uint8)
    with pytest.raises(ValueError, match="outside"):
        model.crop(frame, Box(500, 500, 20, 20))


def test_preprocess_of_ready_face_and_mirror(model: ExpressionModel) -> None:
    face = np.tile(np.arange(48, dtype=np.uint8) * 5, (48, 1))  # 48x48 like FER2013
    item = model.preprocess(face)
    assert item.shape == (64, 64, 1)
    assert item.min() >= -1.0 and item.max() <= 1.0
    assert item[0, 0, 0] < item[0, -1, 0]  # brighter to the right
    mirrored = model.mirror(item)
    np.testing.assert_array_equal(mirrored[:, ::-1], item)


def test_predict_refuses_wrong_shape(model: ExpressionModel) -> None:
    with pytest.raises(ValueError, match="shape"):
        model.predict(np.zeros((1, 48, 48, 1), np.float32))


# --- cards and loading -------------------------------------------------------------------------


def _copy_bundled(folder: Path, stem: str = "mine", **card_changes: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    onnx_path = folder / f"{stem}.onnx"
    shutil.copyfile(BUNDLED_ONNX, onnx_path)
    card = json.loads(BUNDLED_CARD.read_text())
    card.update(card_changes)
    card = {k: v for k, v in card.items() if v is not None}
    onnx_path.with_suffix(".json").write_text(json.dumps(card))
    return onnx_path


def test_card_with_wrong_input_size_is_refused(tmp_path: Path) -> None:
    path = _copy_bundled(tmp_path, input_height=48, input_width=48)
    with pytest.raises(UserError, match=r"card says input 48x48x1 \(NHWC\).*model takes 64x64x1"):
        ExpressionModel.load(path)


def test_card_with_wrong_label_count_is_refused(tmp_path: Path) -> None:
    path = _copy_bundled(tmp_path, labels=["angry", "happy", "sad", "surprise", "neutral"])
    with pytest.raises(UserError, match="card lists 5 labels, the model gives 7 outputs"):
        ExpressionModel.load(path)


def test_card_with_wrong_channels_is_refused(tmp_path: Path) -> None:
    path = _copy_bundled(tmp_path, colour="bgr", channels=3)
    with pytest.raises(UserError, match=r"64x64x3 .*64x64x1"):
        ExpressionModel.load(path)


def test_truncated_onnx_is_refused(tmp_path: Path) -> None:
    path = _copy_bundled(tmp_path, sha256=None)  # no hash: the loader itself must notice
    data_bytes = path.read_bytes()
    path.write_bytes(data_bytes[: len(data_bytes) // 3])
    with pytest.raises(UserError, match=r"^Model file .*mine\.onnx could not be loaded: "):
        ExpressionModel.load(path)


def test_damaged_onnx_fails_the_card_hash(tmp_path: Path) -> None:
    path = _copy_bundled(tmp_path)
    data_bytes = bytearray(path.read_bytes())
    data_bytes[-100] ^= 0xFF
    path.write_bytes(bytes(data_bytes))
    with pytest.raises(UserError, match="does not match its card"):
        ExpressionModel.load(path)


def test_missing_model_and_missing_card(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        ExpressionModel.load(tmp_path / "nothing.onnx")
    lone = tmp_path / "lone.onnx"
    shutil.copyfile(BUNDLED_ONNX, lone)
    with pytest.raises(UserError, match=r"card .*lone\.json is missing"):
        ExpressionModel.load(lone)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"layout": "HWC"}, "'layout' must be one of NHWC, NCHW"),
        ({"colour": None}, "'colour' is missing"),
        ({"input_width": "64"}, "'input_width' must be a whole number"),
        ({"scale": "1/255"}, "'scale' must be a number"),
        ({"labels": ["happy"]}, "'labels' must be a list of at least two"),
        ({"labels": ["a", "b", "c", "d", "e", "f", "g"]}, "none of its 'labels'"),
        ({"labels": ["happy", "joy", "sad", "b", "c", "d", "e"]}, "same expression twice"),
        ({"colur": "gray"}, "unknown field 'colur'"),
        ({"pad_fill": "mirror"}, "'pad_fill' must be one of"),
        ({"sha256": "abc"}, "'sha256' must be 64 hexadecimal digits"),
        ({"square": "yes"}, "'square' must be true or false"),
    ],
)
def test_bad_card_field_is_named(tmp_path: Path, change: dict[str, object], message: str) -> None:
    path = _copy_bundled(tmp_path, **change)
    with pytest.raises(UserError, match=message):
        load_card(path.with_suffix(".json"))


def test_card_that_is_not_json(tmp_path: Path) -> None:
    card = tmp_path / "x.json"
    card.write_text("{ labels: [")
    with pytest.raises(UserError, match="not JSON"):
        load_card(card)


# --- bring your own model ----------------------------------------------------------------------


def _tiny_model(
    path: Path, weights: np.ndarray, layout: str, channels: int, batch: str | int = "N"
) -> None:
    """A linear classifier over the mean of each input channel: out = mean(x, channel) @ weights."""
    size = 8
    if layout == "NHWC":
        shape = [batch, size, size, channels]
        axes = [1, 2]
    else:
        shape = [batch, channels, size, size]
        axes = [2, 3]
    w = numpy_helper.from_array(weights.astype(np.float32), "w")
    ax = numpy_helper.from_array(np.array(axes, np.int64), "axes")
    nodes = [
        helper.make_node("ReduceMean", ["x", "axes"], ["m"], keepdims=0),
        helper.make_node("MatMul", ["m", "w"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, weights.shape[1]])],
        [w, ax],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)
    onnx.save(model, str(path))


def _card(path: Path, **fields: object) -> None:
    card = {
        "name": path.stem,
        "labels": ["happiness", "sadness", "contempt"],
        "input_height": 8,
        "input_width": 8,
        "channels": 1,
        "layout": "NHWC",
        "colour": "gray",
        "scale": 1 / 255,
        "offset": 0.0,
    }
    card.update(fields)
    path.with_suffix(".json").write_text(json.dumps(card))


def test_user_model_is_listed() -> None:
    folder = paths.user_models_dir()
    mine = _copy_bundled(folder, "my_model")
    shutil.copyfile(BUNDLED_ONNX, folder / "no_card.onnx")
    found = available_models()
    assert found[0] == BUNDLED_ONNX
    assert mine in found
    assert folder / "no_card.onnx" not in found
    assert ExpressionModel.load(mine).card.name == "emotion_minixception"


def test_user_logits_model_is_reordered_and_renormalised(tmp_path: Path) -> None:
    path = tmp_path / "three.onnx"
    # Logits: happiness = 2*mean, sadness = 0, contempt = mean.
    _tiny_model(path, np.array([[2.0, 0.0, 1.0]]), "NHWC", 1)
    _card(path, output="logits")
    model = ExpressionModel.load(path)
    x = np.ones((2, 8, 8, 1), np.float32)
    x[1] = 0.0
    probs = model.predict(x)
    assert probs.shape == (2, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    happy, sad = EXPRESSIONS.index("happy"), EXPRESSIONS.index("sad")
    others = [i for i in range(7) if i not in (happy, sad)]
    assert (probs[:, others] == 0).all()
    # Mean 1: softmax(2, 0, 1) without contempt, renormalised -> e^2 / (e^2 + 1).
    assert probs[0, happy] == pytest.approx(np.e**2 / (np.e**2 + 1), abs=1e-6)
    assert probs[1, happy] == pytest.approx(0.5, abs=1e-6)


def test_user_nchw_rgb_model_gets_rgb_planes(tmp_path: Path) -> None:
    path = tmp_path / "rgb.onnx"
    _tiny_model(path, np.eye(3), "NCHW", 3)
    _card(
        path, labels=["angry", "fear", "surprise"], channels=3, colour="rgb", layout="NCHW",
        crop_offset_px=0, output="logits",
    )  # fmt: skip
    model = ExpressionModel.load(path)
    frame = np.zeros((40, 40, 3), np.uint8)
    frame[:, :] = (10, 20, 30)  # B, G, R
    item = model.crop(frame, Box(10, 10, 16, 16))
    assert item.shape == (3, 8, 8)
    np.testing.assert_allclose(item[:, 0, 0], np.array([30, 20, 10]) / 255, atol=1e-6)
    probs = model.predict(item[None])[0]
    # Logits are the channel means R, G, B -> angry gets the largest share.
    assert probs.argmax() == EXPRESSIONS.index("angry")


def test_user_model_with_batch_fixed_at_one_takes_batches(tmp_path: Path) -> None:
    path = tmp_path / "single.onnx"
    _tiny_model(path, np.array([[1.0, 0.0], [0.0, 1.0]]).T[:1], "NHWC", 1, batch=1)
    _card(path, labels=["happy", "sad"], output="logits")
    model = ExpressionModel.load(path)
    x = np.stack([np.full((8, 8, 1), v, np.float32) for v in (0.0, 1.0, 3.0)])
    probs = model.predict(x)
    assert probs.shape == (3, 7)
    happy, sad = EXPRESSIONS.index("happy"), EXPRESSIONS.index("sad")
    np.testing.assert_allclose(
        probs[:, happy], 1 / (1 + np.exp(-np.array([0.0, 1.0, 3.0]))), atol=1e-6
    )
    np.testing.assert_allclose(probs[:, happy] + probs[:, sad], 1.0, atol=1e-6)


def test_expression_synonyms() -> None:
    assert expression_for("Happiness") == "happy"
    assert expression_for("surprised") == "surprise"
    assert expression_for("contempt") is None


def test_open_model_follows_the_settings(tmp_path: Path) -> None:
    assert open_model("bundled").card.name == "emotion_ensemble"
    assert open_model("minixception").card.name == "emotion_minixception"
    mine = _copy_bundled(tmp_path, "chosen", name="chosen-model")
    assert open_model("onnx", str(mine)).card.name == "chosen-model"
    with pytest.raises(UserError, match="No model file is chosen"):
        open_model("onnx", "")
    with pytest.raises(UserError, match=r"no expression model called 'tflite' \(known: bundled"):
        open_model("tflite")

"""The default classifier: the shipped ensemble computes what its card says from its members."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from app.errors import UserError
from app.vision.ensemble import EnsembleClassifier, ensemble_model, load_ensemble_card
from app.vision.model_registry import open_model
from app.vision.onnx_model import ExpressionModel
from app.vision.reading import EXPRESSIONS, Box

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "models"
CARD = MODELS / "emotion_ensemble.json"
ASTRONAUT_FACE = Box(177, 66, 95, 95)  # opencv's default Haar cascade on the astronaut


@pytest.fixture(scope="module")
def ensemble() -> EnsembleClassifier:
    return ensemble_model()


def _astronaut_bgr() -> np.ndarray:
    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])


def _by_hand(raw: dict[str, object], face: np.ndarray) -> np.ndarray:
    """The card's formula, computed from the members loaded on their own."""
    members = raw["members"]
    assert isinstance(members, list)
    z = np.zeros(len(EXPRESSIONS))
    for m in members:
        model = ExpressionModel.load(MODELS / m["file"])
        item = model.preprocess(face)
        p = model.predict(item[None])[0].astype(np.float64)
        if raw["mirror"]:
            p = (p + model.predict(model.mirror(item)[None])[0]) / 2
        z += m["weight"] * np.log(np.maximum(p, 1e-7))
    z += np.array(raw["bias"])
    e = np.exp(z - z.max())
    return e / e.sum()


def test_default_backend_is_the_ensemble(ensemble: EnsembleClassifier) -> None:
    model = open_model("bundled")
    assert isinstance(model, EnsembleClassifier)
    assert model.card.name == "emotion_ensemble"
    assert model.card.labels == EXPRESSIONS
    assert open_model("minixception").card.name == "emotion_minixception"


def test_card_members_are_shipped_with_matching_sha256() -> None:
    raw = json.loads(CARD.read_text(encoding="utf-8"))
    card = load_ensemble_card(CARD)
    assert len(card.members) >= 2
    for member in card.members:
        onnx = MODELS / member.file
        assert onnx.stat().st_size < 8 * 1024 * 1024
        member_card = json.loads(onnx.with_suffix(".json").read_text(encoding="utf-8"))
        assert member_card["sha256"] == member.sha256
        assert member_card["licence"] == "MIT"
    assert raw["figures"]["test"]["n"] == 7178


def test_prediction_is_the_cards_formula(ensemble: EnsembleClassifier) -> None:
    raw = json.loads(CARD.read_text(encoding="utf-8"))
    rng = np.random.default_rng(3)
    faces = [
        cv2.cvtColor(_astronaut_bgr()[66:161, 177:272], cv2.COLOR_BGR2GRAY),
        rng.integers(0, 256, (48, 48), dtype=np.uint8),
        np.full((48, 48), 90, np.uint8),
    ]
    batch = np.stack([ensemble.preprocess(f) for f in faces])
    got = ensemble.predict(batch)
    assert got.shape == (3, 7) and got.dtype == np.float32
    for face, row in zip(faces, got, strict=True):
        np.testing.assert_allclose(row, _by_hand(raw, face), atol=2e-5)
    # and the bias matters: without it the answer differs (the test can fail)
    raw["bias"] = [0.0] * 7
    assert np.abs(got[1] - _by_hand(raw, faces[1])).max() > 1e-3


def test_crop_and_mirror_go_member_by_member(ensemble: EnsembleClassifier) -> None:
    frame = _astronaut_bgr()
    item = ensemble.crop(frame, ASTRONAUT_FACE)
    parts = [m.crop(frame, ASTRONAUT_FACE).ravel() for m in ensemble.members]
    np.testing.assert_array_equal(item.ravel(), np.concatenate(parts))
    mirrored = ensemble.mirror(item)
    expected = [m.mirror(m.crop(frame, ASTRONAUT_FACE)).ravel() for m in ensemble.members]
    np.testing.assert_array_equal(mirrored.ravel(), np.concatenate(expected))
    np.testing.assert_array_equal(ensemble.mirror(mirrored), item)
    p = ensemble.predict(item[None])[0]
    assert EXPRESSIONS[int(p.argmax())] == "happy"  # she smiles


def test_members_that_crop_alike_share_one_crop(
    ensemble: EnsembleClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both Xceptions take fer's 64x64 grey crop: it is made once (face-api's 112x112 RGB is
    its own), and the input is the same as each member's own crop (test above)."""
    calls: list[str] = []
    for member in ensemble.members:
        real = member.crop

        def counted(frame: np.ndarray, box: Box, real=real, name=member.card.name) -> np.ndarray:
            calls.append(name)
            return real(frame, box)

        monkeypatch.setattr(member, "crop", counted)
    ensemble.crop(_astronaut_bgr(), ASTRONAUT_FACE)
    assert sorted(calls) == ["emotion_faceapi", "emotion_minixception"]


def test_a_replaced_member_is_refused(tmp_path: Path) -> None:
    raw = json.loads(CARD.read_text(encoding="utf-8"))
    for m in raw["members"]:
        shutil.copy(MODELS / m["file"], tmp_path / m["file"])
        shutil.copy(MODELS / m["file"].replace(".onnx", ".json"), tmp_path)
    raw["members"][0]["sha256"] = "0" * 64
    (tmp_path / "e.json").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(UserError, match=r"not the one e\.json was fitted with"):
        EnsembleClassifier.load(tmp_path / "e.json")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bias": [0.0] * 6}, "'bias' must be 7 finite numbers"),
        ({"bias": [float("nan")] * 7}, "'bias' must be 7 finite numbers"),
        ({"members": []}, "'members' must be a non-empty list"),
        ({"labels": ["happy", "sad"]}, "'labels' must be"),
        ({"mirror": "yes"}, "'mirror' must be true or false"),
    ],
)
def test_bad_cards_say_what_is_wrong(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    raw = json.loads(CARD.read_text(encoding="utf-8"))
    raw.update(change)
    path = tmp_path / "e.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(UserError, match=message):
        load_ensemble_card(path)

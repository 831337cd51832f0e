"""The 8-bit big-XCEPTION the default ensemble uses: its card, and that it reads faces as the
float model it was made from does (its accuracy on FER2013 and CK+ is on the ensemble's card)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np

from app.vision.ensemble import load_ensemble_card
from app.vision.onnx_model import ExpressionModel
from app.vision.reading import Box
from tests.media import ASTRONAUT_FACE, astronaut_bgr

MODELS = Path(__file__).resolve().parents[2] / "models"
INT8 = MODELS / "emotion_bigxception_int8.onnx"
FLOAT = MODELS / "emotion_bigxception.onnx"


def test_the_card_pins_the_file_and_the_ensemble_uses_it() -> None:
    card = json.loads(INT8.with_suffix(".json").read_text(encoding="utf-8"))
    assert card["sha256"] == hashlib.sha256(INT8.read_bytes()).hexdigest()
    source = json.loads(FLOAT.with_suffix(".json").read_text(encoding="utf-8"))
    crop_fields = ("input_height", "input_width", "colour", "scale", "offset", "pad_px", "square")
    assert {k: card[k] for k in crop_fields} == {k: source[k] for k in crop_fields}
    ensemble = load_ensemble_card(MODELS / "emotion_ensemble.json")
    files = [m.file for m in ensemble.members]
    assert INT8.name in files and FLOAT.name not in files
    assert INT8.stat().st_size < FLOAT.stat().st_size / 2  # 8-bit weights


def _faces() -> list[tuple[np.ndarray, Box]]:
    """The astronaut's face moved, scaled, turned and lit differently: 36 real inputs."""
    frame = astronaut_bgr()
    faces: list[tuple[np.ndarray, Box]] = []
    for dx in (-8, 0, 8):
        for scale in (0.9, 1.0, 1.15):
            for angle, gain in ((0, 1.0), (-12, 0.8), (12, 1.2), (0, 0.6)):
                size = round(ASTRONAUT_FACE.w * scale)
                box = Box(ASTRONAUT_FACE.x + dx, ASTRONAUT_FACE.y, size, size)
                centre = (box.x + size / 2, box.y + size / 2)
                turn = cv2.getRotationMatrix2D(centre, angle, 1.0)
                turned = cv2.warpAffine(frame, turn, (512, 512))
                lit = np.clip(turned.astype(np.float32) * gain, 0, 255).astype(np.uint8)
                faces.append((lit, box))
    return faces


def test_it_reads_faces_as_the_float_model_does() -> None:
    quantised, full = ExpressionModel.load(INT8), ExpressionModel.load(FLOAT)
    items = [(full.crop(f, b), quantised.crop(f, b)) for f, b in _faces()]
    a = full.predict(np.stack([x for x, _ in items]))
    b = quantised.predict(np.stack([y for _, y in items]))
    assert np.allclose(b.sum(axis=1), 1.0, atol=1e-3)
    agree = float(np.mean(a.argmax(axis=1) == b.argmax(axis=1)))
    assert agree >= 0.9, agree
    assert float(np.abs(a - b).mean()) < 0.03
    assert float(np.abs(a - b).max()) < 0.25

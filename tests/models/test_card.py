"""The committed model and its card belong together (no wheel needed)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import onnx

from app.vision.card import load_card
from app.vision.reading import EXPRESSIONS

MODELS = Path(__file__).resolve().parents[2] / "models"
ONNX_PATH = MODELS / "emotion_minixception.onnx"
CARD_PATH = MODELS / "emotion_minixception.json"


def test_card_sha256_matches_committed_onnx() -> None:
    card = json.loads(CARD_PATH.read_text(encoding="utf-8"))
    assert hashlib.sha256(ONNX_PATH.read_bytes()).hexdigest() == card["sha256"]


def test_card_describes_the_model() -> None:
    card = load_card(CARD_PATH)
    assert card.labels == EXPRESSIONS  # fer's output order
    assert (card.input_height, card.input_width, card.channels, card.layout) == (64, 64, 1, "NHWC")
    assert card.colour == "gray"
    assert abs(card.scale * 255 + card.offset - 1.0) < 1e-9 and card.offset == -1.0
    assert card.square and card.crop_offset_px == 10 and card.pad_px == 40
    assert card.licence == "MIT" and "oarriaga" in card.attribution and "Shenk" in card.attribution

    model = onnx.load(str(ONNX_PATH))
    onnx.checker.check_model(model)
    dims = [d.dim_value or d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims[1:] == [64, 64, 1]
    out = [d.dim_value or d.dim_param for d in model.graph.output[0].type.tensor_type.shape.dim]
    assert out[-1] == len(card.labels)
    assert ONNX_PATH.stat().st_size < 1_000_000

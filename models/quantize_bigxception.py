"""big-XCEPTION with 8-bit weights and activations: the same model at less than half the CPU.

The default ensemble's big-XCEPTION (``emotion_bigxception.onnx``, made by build_bigxception.py)
is quantised by onnxruntime's static quantiser: weights int8 per output channel, activations
uint8, QDQ format (the convolutions, pooling and additions; the final softmax stays float), the
activations' ranges measured (MinMax) on ``--count`` faces drawn with
``--seed`` from FER2013's *training* split (``fit.csv`` of models/fer2013.py; never the test
split). On this machine's CPU (one thread) it runs in 0.34 ms instead of 0.69 ms per face; the
mini-Xception and BlazeFace ran slower quantised and face-api.js's model no faster, so they stay
(docs/BENCHMARKS.md, "Cheaper eyes"). Its accuracy beside the float model is in that section
and on the ensemble's card.

    python models/quantize_bigxception.py --data /work/data/fer2013

writes ``models/emotion_bigxception_int8.onnx`` and its card, and puts it into the ensemble's
card (``models/emotion_ensemble.json``) in the float model's place, with the same weight: the
weights and biases are fitted (models/fit_ensemble.py) with the float model, and the card's
figures are measured with the 8-bit one. The same onnxruntime version and data give the same
file (the ensemble card pins its sha256).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fit_ensemble import read_split  # noqa: E402

from app.commands.analyze import read_image  # noqa: E402
from app.vision.onnx_model import ExpressionModel  # noqa: E402

MODELS = REPO / "models"
SOURCE = "emotion_bigxception"
NAME = "emotion_bigxception_int8"
COUNT = 512
SEED = 13


def calibration_faces(data: Path, count: int, seed: int) -> list[Path]:
    """``count`` faces of FER2013's training split (fit.csv), drawn with ``seed``."""
    paths, _labels = read_split(data, "fit")
    return random.Random(seed).sample(sorted(paths), count)


def quantise(source: Path, faces: list[Path], out: Path) -> None:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    model = ExpressionModel.load(source)
    inputs = []
    for path in faces:
        image = read_image(path)
        if image is None:
            raise SystemExit(f"{path}: not readable")
        inputs.append(model.preprocess(image)[None].astype(np.float32))

    class Faces(CalibrationDataReader):
        def __init__(self) -> None:
            self._items = iter(inputs)

        def get_next(self) -> dict[str, np.ndarray] | None:
            item = next(self._items, None)
            return None if item is None else {"input": item}

    quantize_static(
        str(source),
        str(out),
        Faces(),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        calibrate_method=CalibrationMethod.MinMax,
        # the scores stay float: a uint8 softmax gives probabilities in steps of 1/255, zeros
        # among them, which the ensemble's log would turn into -16
        op_types_to_quantize=["Conv", "MaxPool", "Add"],
        nodes_to_exclude=[n.name for n in _nodes(source) if n.op_type == "Softmax"],
    )


def _nodes(path: Path) -> list[Any]:
    import onnx

    return list(onnx.load(str(path)).graph.node)


def card(source_card: dict[str, Any], sha256: str, count: int, seed: int) -> dict[str, Any]:
    made = dict(source_card)
    made.update(
        name=NAME,
        description=(
            f"{source_card['description']} Quantised to 8 bits (weights int8 per channel, "
            f"activations uint8, QDQ) by models/quantize_bigxception.py, the ranges measured "
            f"on {count} FER2013 training faces (seed {seed})."
        ),
        source=f"{SOURCE}.onnx, quantised by onnxruntime.quantization.quantize_static",
        sha256=sha256,
    )
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="models/fer2013.py's --out")
    parser.add_argument("--count", type=int, default=COUNT, help="calibration faces")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=MODELS)
    args = parser.parse_args(argv)
    source = MODELS / f"{SOURCE}.onnx"
    out = args.out / f"{NAME}.onnx"
    quantise(source, calibration_faces(args.data, args.count, args.seed), out)
    sha256 = hashlib.sha256(out.read_bytes()).hexdigest()
    source_card = json.loads((MODELS / f"{SOURCE}.json").read_text(encoding="utf-8"))
    (args.out / f"{NAME}.json").write_text(
        json.dumps(card(source_card, sha256, args.count, args.seed), indent=2) + "\n",
        encoding="utf-8",
    )
    print(f"wrote {out} ({out.stat().st_size:,} bytes, sha256 {sha256[:12]}…)")
    ensemble = args.out / "emotion_ensemble.json"
    if ensemble.is_file():
        raw = json.loads(ensemble.read_text(encoding="utf-8"))
        for member in raw["members"]:
            if member["file"] in (f"{SOURCE}.onnx", f"{NAME}.onnx"):
                member["file"], member["sha256"] = f"{NAME}.onnx", sha256
        ensemble.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
        print(f"{ensemble.name}: big-XCEPTION is now {NAME}.onnx (the weights stay)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

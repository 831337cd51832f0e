"""Independent NumPy forward passes of the two tfjs expression models, the yardstick for parity.

Written from the TypeScript of face-api.js (FaceFeatureExtractor, denseBlock4, FaceExpressionNet)
and from the tfjs graph JSON of human-models' emotion and BlazeFace models, not from the
converters: their own
weight reader, NHWC float64 throughout, TensorFlow's "same" padding re-derived, convolutions as
``np.pad`` + strided windows + einsum. Slow, simple, and obviously TensorFlow's arithmetic.
"""

from __future__ import annotations

import base64
import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def read_tarball(tgz: Path, names: list[str]) -> dict[str, bytes]:
    wanted = {f"package/{n}" for n in names}
    found: dict[str, bytes] = {}
    with tarfile.open(tgz, "r:gz") as tar:
        for member in tar:
            if member.name in wanted:
                handle = tar.extractfile(member)
                assert handle is not None
                found[member.name[len("package/") :]] = handle.read()
                if len(found) == len(wanted):
                    break  # the rest of a 140 MB tarball need not be inflated
    missing = [n for n in names if n not in found]
    if missing:
        raise FileNotFoundError(f"{missing} not in {tgz}")
    return found


def tfjs_weights(manifest: list[dict[str, Any]], shards: dict[str, bytes]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for group in manifest:
        blob = b"".join(shards[p] for p in group["paths"])
        pos = 0
        for w in group["weights"]:
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            if q is not None and q["dtype"] == "uint8":
                raw = np.frombuffer(blob[pos : pos + n], np.uint8).astype(np.float64)
                values = raw * q["scale"] + q["min"]
                pos += n
            elif q is not None and q["dtype"] == "uint16":
                raw = np.frombuffer(blob[pos : pos + 2 * n], "<u2").astype(np.float64)
                values = raw * q["scale"] + q["min"]
                pos += 2 * n
            elif w["dtype"] == "int32":
                values = np.frombuffer(blob[pos : pos + 4 * n], "<i4").astype(np.int64)
                pos += 4 * n
            else:
                values = np.frombuffer(blob[pos : pos + 4 * n], "<f4").astype(np.float64)
                pos += 4 * n
            out[w["name"]] = values.reshape(w["shape"])
    return out


def _pad_same(x: np.ndarray, k: int, s: int) -> np.ndarray:
    """TensorFlow's SAME: output ceil(size / stride); the odd pixel of padding at the end."""
    pads = []
    for size in x.shape[1:3]:
        total = max((int(np.ceil(size / s)) - 1) * s + k - size, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))


def _windows(x: np.ndarray, k: int, s: int, padding: str) -> np.ndarray:
    if padding == "SAME":
        x = _pad_same(x, k, s)
    win = sliding_window_view(x, (k, k), axis=(1, 2))  # N, H', W', C, k, k
    return win[:, ::s, ::s]


def conv2d(x: np.ndarray, w: np.ndarray, s: int, padding: str) -> np.ndarray:
    return np.einsum("nhwcij,ijco->nhwo", _windows(x, w.shape[0], s, padding), w)


def depthwise(x: np.ndarray, w: np.ndarray, s: int, padding: str) -> np.ndarray:
    out = np.einsum("nhwcij,ijcm->nhwcm", _windows(x, w.shape[0], s, padding), w)
    return out.reshape(*out.shape[:3], -1)


def maxpool(x: np.ndarray, k: int, s: int, padding: str) -> np.ndarray:
    if padding == "SAME":
        pads = []
        for size in x.shape[1:3]:
            total = max((int(np.ceil(size / s)) - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=-np.inf)
    return sliding_window_view(x, (k, k), axis=(1, 2))[:, ::s, ::s].max(axis=(4, 5))


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


relu = np.maximum


class FaceApiReference:
    """FaceExpressionNet: x (N, 112, 112, 3) RGB 0..255 -> probabilities in face-api's order."""

    MANIFEST = "model/face_expression_model-weights_manifest.json"

    def __init__(self, tgz: Path) -> None:
        files = read_tarball(tgz, [self.MANIFEST])
        manifest = json.loads(files[self.MANIFEST])
        shards = read_tarball(tgz, [f"model/{p}" for g in manifest for p in g["paths"]])
        self.w = tfjs_weights(manifest, {k[len("model/") :]: v for k, v in shards.items()})

    def _sep(self, x: np.ndarray, p: str, s: int) -> np.ndarray:
        w = self.w
        dw = depthwise(x, w[f"{p}/depthwise_filter"], s, "SAME")
        return conv2d(dw, w[f"{p}/pointwise_filter"], 1, "SAME") + w[f"{p}/bias"]

    def _block(self, x: np.ndarray, b: str, first: bool) -> np.ndarray:
        if first:
            out1 = conv2d(x, self.w[f"{b}/conv0/filters"], 2, "SAME") + self.w[f"{b}/conv0/bias"]
        else:
            out1 = self._sep(x, f"{b}/conv0", 2)
        out1 = relu(out1, 0)
        out2 = self._sep(out1, f"{b}/conv1", 1)
        out3 = self._sep(relu(out1 + out2, 0), f"{b}/conv2", 1)
        out4 = self._sep(relu(out1 + out2 + out3, 0), f"{b}/conv3", 1)
        return relu(out1 + out2 + out3 + out4, 0)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = (x.astype(np.float64) - np.array([122.782, 117.001, 104.298])) / 255.0
        for i in range(4):
            x = self._block(x, f"dense{i}", i == 0)
        x = x.mean(axis=(1, 2))  # avgPool 7x7 valid on the 7x7 map: the mean
        return softmax(x @ self.w["fc/weights"] + self.w["fc/bias"])


class GraphReference:
    """A tfjs graph model run op by op in NumPy (the ops the emotion and BlazeFace graphs use).
    Calling it gives the last ``Identity`` output; :meth:`outputs` gives every one by name."""

    def __init__(self, tgz: Path, graph: str = "models/emotion.json") -> None:
        folder = graph.rsplit("/", 1)[0]
        spec = json.loads(read_tarball(tgz, [graph])[graph])
        paths = [f"{folder}/{p}" for g in spec["weightsManifest"] for p in g["paths"]]
        shards = read_tarball(tgz, paths)
        self.w = tfjs_weights(
            spec["weightsManifest"], {k[len(folder) + 1 :]: v for k, v in shards.items()}
        )
        self.nodes = spec["modelTopology"]["node"]

    @staticmethod
    def _s(attr: dict[str, Any], key: str) -> str:
        return base64.b64decode(attr[key]["s"]).decode()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return list(self.outputs(x).values())[-1]

    def outputs(self, x: np.ndarray) -> dict[str, np.ndarray]:
        env: dict[str, np.ndarray] = {}
        out: dict[str, np.ndarray] = {}
        for node in self.nodes:
            op, name, attr = node["op"], node["name"], node.get("attr", {})
            ins = [env.get(i, self.w.get(i)) for i in node.get("input", [])]
            if op == "Const":
                continue
            if op == "Placeholder":
                env[name] = x.astype(np.float64)
            elif op == "_FusedConv2D":
                s = int(attr["strides"]["list"]["i"][1])
                y = conv2d(ins[0], ins[1], s, self._s(attr, "padding")) + ins[2]
                fused = [base64.b64decode(f).decode() for f in attr["fused_ops"]["list"]["s"]]
                env[name] = relu(y, 0) if "Relu" in fused else y
            elif op == "DepthwiseConv2dNative":
                s = int(attr["strides"]["list"]["i"][1])
                env[name] = depthwise(ins[0], ins[1], s, self._s(attr, "padding"))
            elif op == "MaxPool":
                k = int(attr["ksize"]["list"]["i"][1])
                s = int(attr["strides"]["list"]["i"][1])
                env[name] = maxpool(ins[0], k, s, self._s(attr, "padding"))
            elif op == "AddV2":
                env[name] = ins[0] + ins[1]
            elif op == "Relu":
                env[name] = relu(ins[0], 0)
            elif op == "Mean":
                env[name] = ins[0].mean(axis=tuple(int(a) for a in np.ravel(ins[1])))
            elif op == "Softmax":
                env[name] = softmax(ins[0])
            elif op == "Pad":
                env[name] = np.pad(ins[0], np.asarray(ins[1], dtype=np.int64).reshape(4, 2))
            elif op == "Reshape":
                shape = [int(d) for d in np.ravel(ins[1])]
                env[name] = ins[0].reshape(len(ins[0]), *shape[1:])  # any batch size
            elif op == "Identity":
                env[name] = ins[0]
                out[name] = env[name]
            else:
                raise NotImplementedError(op)
        assert out
        return out

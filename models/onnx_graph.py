"""A small ONNX graph writer for TensorFlow-style convolution nets, with ``onnx.helper`` only.

Values are NCHW inside the graph (the input is transposed from the NHWC that TensorFlow used);
every value's (C, H, W) is tracked so that TensorFlow's "same" padding can be written as explicit
pads, computed the way TensorFlow does it (the odd extra pixel goes at the end). Weights come in
TensorFlow's layouts: HWIO for convolutions, HWCM for depthwise ones. Used by build_faceapi.py,
build_bigxception.py and build_blazeface.py (the last two through tfjs_graph.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
IR_VERSION = 8  # loadable by every onnxruntime >= 1.10


def same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "same" padding along one axis: (before, after)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def out_size(size: int, kernel: int, stride: int, pads: tuple[int, int]) -> int:
    return (size + pads[0] + pads[1] - kernel) // stride + 1


@dataclass
class Value:
    name: str
    # C, H, W (or (features, 1, 1) after flattening; after reshape_nhwc, the dims after the batch)
    shape: tuple[int, ...]


@dataclass
class Graph:
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)
    _count: int = 0

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint: str, array: np.ndarray) -> str:
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], hint: str, **attrs: object) -> str:
        out = self.fresh(hint)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def input_nhwc(self, name: str, height: int, width: int, channels: int) -> Value:
        out = self.node("Transpose", [name], "to_nchw", perm=[0, 3, 1, 2])
        return Value(out, (channels, height, width))

    def conv(
        self,
        x: Value,
        w_hwio: np.ndarray,
        bias: np.ndarray | None,
        stride: int,
        padding: str,
        hint: str,
        group: int = 1,
    ) -> Value:
        kh, kw = w_hwio.shape[:2]
        _, h, w = x.shape
        if padding == "same":
            ph, pw = same_pads(h, kh, stride), same_pads(w, kw, stride)
        else:
            ph, pw = (0, 0), (0, 0)
        weight = np.transpose(w_hwio.astype(np.float32), (3, 2, 0, 1))  # OIHW
        inputs = [x.name, self.const(hint + "_w", weight)]
        if bias is not None:
            inputs.append(self.const(hint + "_b", bias.astype(np.float32)))
        out = self.node(
            "Conv",
            inputs,
            hint,
            kernel_shape=[kh, kw],
            strides=[stride, stride],
            pads=[ph[0], pw[0], ph[1], pw[1]],
            group=group,
        )
        cout = weight.shape[0]
        return Value(out, (cout, out_size(h, kh, stride, ph), out_size(w, kw, stride, pw)))

    def depthwise(
        self, x: Value, w_hwcm: np.ndarray, stride: int, padding: str, hint: str
    ) -> Value:
        kh, kw, c, mult = w_hwcm.shape
        if c != x.shape[0]:
            raise ValueError(f"{hint}: depthwise filter for {c} channels on {x.shape[0]}")
        # HWCM -> HW1(C*M): ONNX grouped conv with group = C, output channel c*M + m.
        w = w_hwcm.reshape(kh, kw, 1, c * mult)
        return self.conv(x, w, None, stride, padding, hint, group=c)

    def relu(self, x: Value) -> Value:
        return Value(self.node("Relu", [x.name], "relu"), x.shape)

    def add(self, a: Value, b: Value) -> Value:
        if a.shape != b.shape:
            raise ValueError(f"add of {a.shape} and {b.shape}")
        return Value(self.node("Add", [a.name, b.name], "add"), a.shape)

    def pad_channels(self, x: Value, before: int, after: int) -> Value:
        """Zeros added before and after the channels (TensorFlow's Pad on the last axis)."""
        c, h, w = x.shape
        pads = self.const("pads", np.array([0, before, 0, 0, 0, after, 0, 0], dtype=np.int64))
        out = self.node("Pad", [x.name, pads], "pad", mode="constant")
        return Value(out, (c + before + after, h, w))

    def reshape_nhwc(self, x: Value, dims: list[int]) -> Value:
        """TensorFlow's Reshape of a feature map to (batch, *dims): on NHWC order, as TensorFlow
        lays it out, so the map goes back to NHWC first; the batch size stays free."""
        c, h, w = x.shape
        if int(np.prod(dims)) != c * h * w:
            raise ValueError(f"reshape of {(h, w, c)} to {dims}")
        nhwc = self.node("Transpose", [x.name], "to_nhwc", perm=[0, 2, 3, 1])
        shape = self.const("shape", np.array([-1, *dims], dtype=np.int64))
        return Value(self.node("Reshape", [nhwc, shape], "reshape"), tuple(dims))

    def concat(self, parts: list[Value], axis: int, hint: str) -> Value:
        """Reshaped values joined along ``axis`` (0 = the first dim after the batch)."""
        rest = {p.shape[:axis] + p.shape[axis + 1 :] for p in parts}
        if len(rest) != 1:
            raise ValueError(f"concat of {[p.shape for p in parts]} along {axis}")
        shape = list(parts[0].shape)
        shape[axis] = sum(p.shape[axis] for p in parts)
        out = self.node("Concat", [p.name for p in parts], hint, axis=axis + 1)
        return Value(out, tuple(shape))

    def add_const(self, x: Value, array: np.ndarray, hint: str) -> Value:
        return Value(self.node("Add", [x.name, self.const(hint, array)], hint), x.shape)

    def mul_const(self, x: Value, array: np.ndarray, hint: str) -> Value:
        return Value(self.node("Mul", [x.name, self.const(hint, array)], hint), x.shape)

    def pool(self, op: str, x: Value, kernel: int, stride: int, padding: str) -> Value:
        c, h, w = x.shape
        if padding == "same":
            ph, pw = same_pads(h, kernel, stride), same_pads(w, kernel, stride)
        else:
            ph, pw = (0, 0), (0, 0)
        attrs: dict[str, object] = {
            "kernel_shape": [kernel, kernel],
            "strides": [stride, stride],
            "pads": [ph[0], pw[0], ph[1], pw[1]],
        }
        if op == "AveragePool" and padding == "same":
            attrs["count_include_pad"] = 0  # TensorFlow averages over the real pixels only
        out = self.node(op, [x.name], op.lower(), **attrs)
        return Value(out, (c, out_size(h, kernel, stride, ph), out_size(w, kernel, stride, pw)))

    def global_average(self, x: Value) -> Value:
        out = self.node("GlobalAveragePool", [x.name], "gap")
        return Value(out, (x.shape[0], 1, 1))

    def flatten(self, x: Value) -> Value:
        out = self.node("Flatten", [x.name], "flatten", axis=1)
        return Value(out, (x.shape[0] * x.shape[1] * x.shape[2], 1, 1))

    def dense(self, x: Value, weight: np.ndarray, bias: np.ndarray, hint: str) -> Value:
        out = self.node(
            "Gemm",
            [
                x.name,
                self.const(hint + "_w", weight.astype(np.float32)),
                self.const(hint + "_b", bias.astype(np.float32)),
            ],
            hint,
        )
        return Value(out, (weight.shape[1], 1, 1))

    def model(
        self,
        name: str,
        input_hwc: tuple[int, int, int],
        output: Value,
        n_out: int,
        producer: str,
        doc: str,
    ) -> onnx.ModelProto:
        """The finished model: input ``input`` (N,H,W,C), output ``probabilities`` (N, n_out)."""
        self.nodes.append(
            helper.make_node("Softmax", [output.name], ["probabilities"], name="softmax", axis=1)
        )
        return self.finish(name, input_hwc, {"probabilities": ["N", n_out]}, producer, doc)

    def output(self, x: Value, name: str, op: str = "Identity") -> None:
        """Name ``x`` (through ``op``: Identity, Sigmoid, ...) as the graph output ``name``."""
        self.nodes.append(helper.make_node(op, [x.name], [name], name=name))

    def finish(
        self,
        name: str,
        input_hwc: tuple[int, int, int],
        outputs: dict[str, list[int | str]],
        producer: str,
        doc: str,
    ) -> onnx.ModelProto:
        """The model: input ``input`` (N,H,W,C), float outputs of these names and dims, which
        nodes already write (:meth:`output`)."""
        h, w, c = input_hwc
        graph = helper.make_graph(
            self.nodes,
            name,
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", h, w, c])],
            [
                helper.make_tensor_value_info(out, TensorProto.FLOAT, dims)
                for out, dims in outputs.items()
            ],
            self.initializers,
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name=producer,
            ir_version=IR_VERSION,
        )
        model.doc_string = doc
        onnx.checker.check_model(model, full_check=True)
        return model

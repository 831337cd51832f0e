"""The model card: the JSON file beside an ``.onnx`` that says how to feed the model.

The card is the single source of truth for preprocessing: which labels the outputs are, the input
size, layout and colour, how pixels are scaled, and how the face is cropped from the frame (made
square, a margin, a fixed pixel offset, and how to fill what falls outside the frame).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from pathlib import Path

from app.errors import UserError
from app.vision.reading import EXPRESSIONS

LAYOUTS = ("NHWC", "NCHW")
COLOURS = ("gray", "bgr", "rgb")
OUTPUTS = ("probabilities", "logits")
PAD_FILLS = ("bottom_mean", "edge", "black")
RESIZE_NAMES = ("linear", "area", "cubic", "nearest")

# Limits that keep a card from asking for absurd memory: a 1024x1024x3 float input is 12 MB, a
# face crop with the largest margin, offset and padding a few tens of MB.
MAX_INPUT_SIDE = 1024
MAX_CROP_MARGIN = 1.0
MAX_CROP_OFFSET_PX = 256
MAX_PAD_PX = 512

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


def _too_big(key: str, value: object, maximum: float) -> str:
    return (
        f"field {key!r} is {value!r}, more than the {maximum:g} allowed "
        "(a card like that would need gigabytes of memory per face)"
    )


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

    def integer(key: str, minimum: int, maximum: int | None = None) -> int:
        value = raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise _card_error(
                path, f"field {key!r} must be a whole number >= {minimum}, not {value!r}"
            )
        if maximum is not None and value > maximum:
            raise _card_error(path, _too_big(key, value, maximum))
        return value

    def number(key: str, minimum: float | None = None, maximum: float | None = None) -> float:
        value = raw.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
            if math.isfinite(number) and (minimum is None or number >= minimum):
                if maximum is not None and number > maximum:
                    raise _card_error(path, _too_big(key, value, maximum))
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
        input_height=integer("input_height", 1, MAX_INPUT_SIDE),
        input_width=integer("input_width", 1, MAX_INPUT_SIDE),
        channels=channels,
        layout=text("layout", LAYOUTS),
        colour=colour,
        scale=number("scale"),
        offset=number("offset"),
        crop_margin=number("crop_margin", 0.0, MAX_CROP_MARGIN) if "crop_margin" in raw else 0.0,
        square=square,
        source=text("source"),
        licence=text("licence"),
        attribution=text("attribution"),
        sha256=sha,
        output=text("output", OUTPUTS) if "output" in raw else "probabilities",
        crop_offset_px=integer("crop_offset_px", 0, MAX_CROP_OFFSET_PX)
        if "crop_offset_px" in raw
        else 0,
        pad_px=integer("pad_px", 0, MAX_PAD_PX) if "pad_px" in raw else 0,
        pad_fill=text("pad_fill", PAD_FILLS) if "pad_fill" in raw else "edge",
        resize=text("resize", RESIZE_NAMES) if "resize" in raw else "linear",
        description=text("description"),
    )

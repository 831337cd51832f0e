"""An ONNX expression classifier run by onnxruntime on the CPU, fed as its model card says.

Any ONNX classifier with a valid card can be used: put ``name.onnx`` and ``name.json`` in the
user's models folder (:func:`app.paths.user_models_dir`).
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import UserError
from app.vision.card import ModelCard, expression_for, load_card
from app.vision.classifier import BrokenModelError, broken_model_message
from app.vision.onnx_session import OnnxSession
from app.vision.preprocessing import CardPreprocessing, Float32Array
from app.vision.reading import EXPRESSIONS

log = logging.getLogger(__name__)


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
        try:
            session = OnnxSession(data, threads)
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
            session.threads,
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
        if not np.isfinite(np.asarray(out, dtype=np.float64)).all():
            raise BrokenModelError(broken_model_message(self.path.name))

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

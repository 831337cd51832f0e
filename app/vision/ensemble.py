"""The default expression classifier: several ONNX models and a learned way of combining them.

An ensemble card (``models/emotion_ensemble.json``, written by ``models/fit_ensemble.py``) names
its members -- ONNX models, each with its own model card -- with the sha256 of each file, one
weight per member and one bias per expression, and whether the mirrored face is averaged in:

    p_m = member m on the face (and on the mirrored face, the two averaged, when ``mirror``)
    P   = softmax(sum_m weight_m * log p_m + bias)          (EXPRESSIONS order)

Each member crops and prepares the face as its own card says; one ensemble input is the members'
inputs flattened and laid end to end, so the Analyzer, ``eval --no-detect`` and TTA treat the
ensemble like any other :class:`~app.vision.classifier.ExpressionClassifier`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app import paths
from app.errors import UserError
from app.vision.card import ModelCard
from app.vision.onnx_model import ExpressionModel
from app.vision.preprocessing import Float32Array
from app.vision.reading import EXPRESSIONS, Box

log = logging.getLogger(__name__)

ENSEMBLE_NAME = "emotion_ensemble"
_EPS = np.float32(1e-7)


@dataclass(frozen=True, slots=True)
class EnsembleMember:
    file: str
    sha256: str
    weight: float


@dataclass(frozen=True, slots=True)
class EnsembleCard:
    """What ``emotion_ensemble.json`` says; ``figures`` are the measured accuracies (for people)."""

    name: str
    members: tuple[EnsembleMember, ...]
    bias: tuple[float, ...]
    mirror: bool
    description: str = ""
    licence: str = ""
    attribution: str = ""
    figures: dict[str, Any] | None = None


def _bad(path: Path, message: str) -> UserError:
    return UserError(f"Ensemble card {path} is not valid: {message}.")


def load_ensemble_card(path: Path | str) -> EnsembleCard:
    """Read and check an ensemble card; ``UserError`` names what is wrong."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"Ensemble card {path} is missing (see models/README.md).") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"Ensemble card {path} could not be read: {exc}.") from None
    except json.JSONDecodeError as exc:
        raise _bad(path, f"it is not JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(raw, dict):
        raise _bad(path, "it must be a JSON object")
    if raw.get("labels") != list(EXPRESSIONS):
        raise _bad(path, f"'labels' must be {list(EXPRESSIONS)}")
    members_raw = raw.get("members")
    if not isinstance(members_raw, list) or not members_raw:
        raise _bad(path, "'members' must be a non-empty list")
    members = []
    for i, m in enumerate(members_raw):
        if not isinstance(m, dict):
            raise _bad(path, f"member {i + 1} must be an object")
        file, sha, weight = m.get("file"), m.get("sha256"), m.get("weight")
        if not isinstance(file, str) or not file.endswith(".onnx") or Path(file).name != file:
            raise _bad(path, f"member {i + 1}: 'file' must be an .onnx file name beside the card")
        if not isinstance(sha, str) or len(sha) != 64:
            raise _bad(path, f"member {i + 1}: 'sha256' must be 64 hexadecimal digits")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise _bad(path, f"member {i + 1}: 'weight' must be a number")
        if not math.isfinite(weight):
            raise _bad(path, f"member {i + 1}: 'weight' must be finite")
        members.append(EnsembleMember(file, sha.lower(), float(weight)))
    bias = raw.get("bias")
    if (
        not isinstance(bias, list)
        or len(bias) != len(EXPRESSIONS)
        or not all(
            isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b)
            for b in bias
        )
    ):
        raise _bad(path, f"'bias' must be {len(EXPRESSIONS)} finite numbers")
    mirror = raw.get("mirror", False)
    if not isinstance(mirror, bool):
        raise _bad(path, "'mirror' must be true or false")
    figures = raw.get("figures")
    return EnsembleCard(
        name=str(raw.get("name") or path.stem),
        members=tuple(members),
        bias=tuple(float(b) for b in bias),
        mirror=mirror,
        description=str(raw.get("description", "")),
        licence=str(raw.get("licence", "")),
        attribution=str(raw.get("attribution", "")),
        figures=figures if isinstance(figures, dict) else None,
    )


def _crop_key(card: ModelCard) -> ModelCard:
    """What a card's crop depends on: the card without the fields that say nothing about the
    crop (name, labels, output, provenance). Two cards with the same key crop a face alike; a
    field added to cards later counts as part of the crop until it is listed here."""
    return dataclasses.replace(
        card,
        name="",
        labels=(),
        output="",
        source="",
        licence="",
        attribution="",
        sha256="",
        description="",
    )


class EnsembleClassifier:
    """Several :class:`ExpressionModel` s combined as the ensemble card says."""

    def __init__(self, members: list[ExpressionModel], ensemble: EnsembleCard) -> None:
        if len(members) != len(ensemble.members):
            raise ValueError("one model per ensemble member is needed")
        self.ensemble = ensemble
        self._members = members
        self._shapes = [m.card.input_shape for m in members]
        sizes = [int(np.prod(s)) for s in self._shapes]
        self._bounds = np.cumsum([0, *sizes]).tolist()
        self._weights = np.array([m.weight for m in ensemble.members], np.float32)
        self._bias = np.array(ensemble.bias, np.float32)
        self._crop_keys = [_crop_key(m.card) for m in members]
        attribution = "; ".join(m.card.attribution for m in members if m.card.attribution)
        self._card = ModelCard(
            name=ensemble.name,
            labels=EXPRESSIONS,
            input_height=1,
            input_width=self._bounds[-1],
            channels=1,
            layout="NHWC",
            colour="gray",
            scale=1.0,
            offset=0.0,
            source=", ".join(m.file for m in ensemble.members),
            licence=ensemble.licence,
            attribution=attribution,
            description=ensemble.description,
        )

    @property
    def card(self) -> ModelCard:
        return self._card

    @property
    def members(self) -> tuple[ExpressionModel, ...]:
        return tuple(self._members)

    def _join(self, parts: list[Float32Array]) -> Float32Array:
        flat = np.concatenate([p.reshape(-1) for p in parts]).astype(np.float32, copy=False)
        return flat.reshape(1, -1, 1)

    def crop(self, frame_bgr: np.ndarray, box: Box) -> Float32Array:
        """Every member's input for the face in ``box``, each cropped as its own card says
        (once for members whose cards crop alike: both Xceptions take fer's 64x64 grey crop)."""
        made: dict[ModelCard, Float32Array] = {}
        parts = []
        for member, key in zip(self._members, self._crop_keys, strict=True):
            part = made.get(key)
            if part is None:
                part = made[key] = member.crop(frame_bgr, box)
            parts.append(part)
        return self._join(parts)

    def preprocess(self, face: np.ndarray) -> Float32Array:
        """Every member's input for an image that already is the face (resized as its card says)."""
        return self._join([m.preprocess(face) for m in self._members])

    def _part(self, batch: np.ndarray, i: int) -> Float32Array:
        lo, hi = self._bounds[i], self._bounds[i + 1]
        part: Float32Array = batch.reshape(len(batch), -1)[:, lo:hi]
        return part.reshape(len(batch), *self._shapes[i])

    def mirror(self, item: Float32Array) -> Float32Array:
        """The ensemble input of the left-right mirrored face."""
        one = item.reshape(1, -1)
        return self._join([m.mirror(self._part(one, i)[0]) for i, m in enumerate(self._members)])

    def predict(self, batch: np.ndarray) -> Float32Array:
        """Probabilities ``(N, 7)`` in :data:`EXPRESSIONS` order for a batch of ensemble inputs."""
        x = np.asarray(batch, np.float32)
        if x.ndim == 3:
            x = x[None]
        if x.shape[1:] != self._card.input_shape:
            raise ValueError(
                f"input shape {x.shape[1:]} is not the ensemble's {self._card.input_shape}"
            )
        n = len(x)
        z = np.zeros((n, len(EXPRESSIONS)), np.float32)
        for i, member in enumerate(self._members):
            part = self._part(x, i)
            if self.ensemble.mirror:
                axis = 2 if member.card.layout == "NHWC" else 3
                both = np.concatenate([part, np.flip(part, axis=axis)])
                out = member.predict(np.ascontiguousarray(both))
                p = (out[:n] + out[n:]) * np.float32(0.5)
            else:
                p = member.predict(np.ascontiguousarray(part))
            z += self._weights[i] * np.log(np.maximum(p, _EPS))
        z += self._bias
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    @classmethod
    def load(cls, card_path: Path | str, threads: int = 1) -> EnsembleClassifier:
        """The ensemble of a card, its members beside it; ``UserError`` if any is unusable."""
        card_path = Path(card_path)
        ensemble = load_ensemble_card(card_path)
        models = []
        for member in ensemble.members:
            onnx_path = card_path.parent / member.file
            try:
                digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
            except FileNotFoundError:
                raise UserError(
                    f"Model file {onnx_path}, a member of {card_path.name}, does not exist."
                ) from None
            except OSError as exc:
                raise UserError(f"Model file {onnx_path} could not be read: {exc}.") from None
            if digest != member.sha256:
                raise UserError(
                    f"Model file {onnx_path} is not the one {card_path.name} was fitted with: "
                    f"its sha256 is {digest[:12]}…, the card says {member.sha256[:12]}…."
                )
            models.append(ExpressionModel.load(onnx_path, threads=threads))
        log.info("loaded ensemble %s (%d members)", ensemble.name, len(models))
        return cls(models, ensemble)


def ensemble_model(threads: int = 1) -> EnsembleClassifier:
    """The default classifier that ships with MoodPlayer (``models/emotion_ensemble.json``)."""
    return EnsembleClassifier.load(paths.models_dir() / f"{ENSEMBLE_NAME}.json", threads=threads)

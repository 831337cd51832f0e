"""Finding faces in a frame: the :class:`FaceDetector` interface and OpenCV's Haar cascade (the
YuNet CNN detector is in :mod:`app.vision.yunet`).

The frontal-face Haar cascade that opencv ships is fast but fires on textures (coins, gravel,
fur, a galaxy field), and sometimes on a box larger than the real face around it. We keep it fast
and make it honest:

1. detect on a grey copy downscaled to :attr:`HaarFaceDetector.detect_width` pixels wide (boxes
   are scaled back to frame pixels);
2. keep only candidates in which OpenCV's eye cascade finds at least one eye in the eye band of
   the box (checked on the full-resolution crop, resized so eyes are big enough to find); texture
   rarely has eyes;
3. drop a box that contains another accepted box (a face does not contain a face);
4. for video (``track=True``), follow the face in a small crop around where it was and search
   the whole frame only every few frames or when the face is lost.

Measured on scikit-image's astronaut pasted at 48-240 px on textured backgrounds and on images
without faces (``bench/perception.py --quality``; numbers in docs/BENCHMARKS.md): the eye check
removed every false face while keeping every real one. Global histogram equalisation made
the cascade miss small faces on busy backgrounds, so it is off by default (the cascade already
normalises each window's contrast). The whole-frame search is what costs: see BENCHMARKS.md.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import cv2
import numpy as np

from app.errors import UserError
from app.vision.reading import Box

log = logging.getLogger(__name__)

FACE_CASCADE = "haarcascade_frontalface_default.xml"
EYE_CASCADE = "haarcascade_eye.xml"
GLASSES_CASCADE = "haarcascade_eye_tree_eyeglasses.xml"

# A frame counts as the same still scene when no pixel of its THUMBNAIL differs by more than
# STILL_DIFF grey levels (a face entering changes its blocks by tens of levels).
THUMBNAIL = (80, 60)
STILL_DIFF = 8

# Between two searches by the model a tracked face is followed by template matching: a grey
# copy of its box at the last search, FOLLOW_PX wide, is looked for around the box (FOLLOW_REACH
# of its width on every side) in the new frame; found with a normalised correlation of at least
# FOLLOW_MIN_SCORE, the box moves with it, without a search, for up to REUSE_MAX analyses in a
# row (always against the template of the last search, so small errors do not add up).
# REUSE_MAX 4 (a search every 5th analysis, twice a second at the default rate) kept every
# face and the same box IoU on bench/detectors.py's clips as a search at every analysis.
FOLLOW_PX = 32
FOLLOW_REACH = 0.25
FOLLOW_MIN_SCORE = 0.8
REUSE_MAX = 4

# Face width (pixels) in the small crop searched around a tracked face.
TRACK_FACE_PX = 48
# Face width (pixels) at which the eye check looks for eyes.
EYE_FACE_PX = 90

Policy = Literal["largest", "center"]
POLICIES: tuple[str, ...] = ("largest", "center")


class FaceDetector(Protocol):
    """Finds faces in a BGR frame; returns boxes in frame pixels, best first."""

    def detect(self, frame_bgr: np.ndarray) -> list[Box]: ...


def _load_cascade(name: str) -> cv2.CascadeClassifier:
    path = str(cv2.data.haarcascades) + name  # type: ignore[attr-defined]
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise UserError(f"OpenCV's face cascade {name} could not be loaded; reinstall opencv.")
    return cascade


def _to_gray(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return frame
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    if frame.ndim == 3 and frame.shape[2] == 1:
        return frame[..., 0]
    raise ValueError(f"expected a grey or BGR image, got shape {frame.shape}")


def thumbnail(frame: np.ndarray) -> np.ndarray:
    """An 80x60 grey thumbnail: each pixel the mean of a block, so camera noise averages out."""
    return cv2.resize(_to_gray(frame), THUMBNAIL, interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class FaceTemplate:
    """A tracked face as it looked at its last search: its box and a grey copy ``scale`` times
    its size (FOLLOW_PX wide)."""

    box: Box
    scale: float
    image: np.ndarray


def face_template(frame: np.ndarray, box: Box) -> FaceTemplate | None:
    """The template of ``box`` in ``frame``; None when the box is (partly) outside the frame or
    too small to follow."""
    height, width = frame.shape[:2]
    if box.x < 0 or box.y < 0 or box.x + box.w > width or box.y + box.h > height:
        return None
    if box.w < FOLLOW_PX // 2 or box.h < FOLLOW_PX // 2:
        return None
    scale = FOLLOW_PX / box.w
    size = (FOLLOW_PX, max(8, round(box.h * scale)))
    crop = _to_gray(frame[box.y : box.y + box.h, box.x : box.x + box.w])
    return FaceTemplate(box, scale, cv2.resize(crop, size, interpolation=cv2.INTER_AREA))


def follow(frame: np.ndarray, template: FaceTemplate, near: Box) -> tuple[Box, float] | None:
    """Where ``template`` is in ``frame`` around ``near`` (the box it was last seen at), and how
    well it matches (normalised correlation, 1 = the same); None when the search area leaves
    too little of the frame."""
    height, width = frame.shape[:2]
    reach_x, reach_y = round(FOLLOW_REACH * near.w), round(FOLLOW_REACH * near.h)
    x0, y0 = max(0, near.x - reach_x), max(0, near.y - reach_y)
    x1 = min(width, near.x + near.w + reach_x)
    y1 = min(height, near.y + near.h + reach_y)
    scale = template.scale
    area = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    th, tw = template.image.shape[:2]
    if area[0] < tw or area[1] < th:
        return None
    region = cv2.resize(_to_gray(frame[y0:y1, x0:x1]), area, interpolation=cv2.INTER_AREA)
    scores = cv2.matchTemplate(region, template.image, cv2.TM_CCOEFF_NORMED)
    _low, best, _at_low, at = cv2.minMaxLoc(scores)
    box = template.box
    moved = Box(round(x0 + at[0] / scale), round(y0 + at[1] / scale), box.w, box.h)
    return moved, float(best)


def overlaps(box: Box, others: Sequence[Box]) -> bool:
    """Whether ``box`` overlaps any of ``others`` by more than half of the smaller one."""
    for other in others:
        w = min(box.x + box.w, other.x + other.w) - max(box.x, other.x)
        h = min(box.y + box.h, other.y + other.h) - max(box.y, other.y)
        if w > 0 and h > 0 and w * h > 0.5 * min(box.area, other.area):
            return True
    return False


def _contains(outer: Box, inner: Box) -> bool:
    return (
        outer != inner
        and outer.x <= inner.x
        and outer.y <= inner.y
        and inner.x + inner.w <= outer.x + outer.w
        and inner.y + inner.h <= outer.y + outer.h
    )


@dataclass(frozen=True, slots=True)
class Candidate:
    """A cascade hit before filtering: its box, the cascade's level weight and the eyes found."""

    box: Box
    weight: float
    eyes: int


class TrackingDetector:
    """The tracking every face detector here shares.

    With ``track`` (for video) it follows up to ``max_tracked`` faces, largest first, each
    searched for near where it was (``_search_near``); losing the first one, every
    ``full_every``-th analysis, or a new frame size makes a whole-frame search (``_search_whole``,
    told ``quick`` when it only looks for a face lost between periodic searches). A still scene
    in which the last whole search found nobody is not searched again until the periodic one.
    Between two searches by the model each tracked face is followed by template matching
    (``follow``) for up to ``reuse_max`` analyses in a row (0: a search at every analysis); a
    face the template does not find well enough is searched for at once.
    """

    def _init_tracking(
        self, track: bool, full_every: int, max_tracked: int, reuse_max: int = REUSE_MAX
    ) -> None:
        self.track = track
        self.full_every = max(1, full_every)
        self.max_tracked = max(1, max_tracked)
        self.reuse_max = max(0, reuse_max)
        # The tracked faces at their last search, and how many analyses in a row may still
        # follow them by template instead of a search.
        self._templates: list[FaceTemplate | None] = []
        self._reuse_left = 0
        self.reused = 0  # analyses answered by following (for tests and the benchmark)
        # The faces followed between whole-frame searches, largest first (the first is the one
        # whose loss triggers a whole search; the others are dropped when lost).
        self._tracked: list[Box] = []
        self._tracked_in: tuple[int, int] = (0, 0)
        self._since_full = 0
        self.full_searches = 0  # whole-frame searches so far (for tests and the benchmark)
        self.still_frames = 0  # frames taken as the same still scene without a face
        self._empty_thumb: np.ndarray | None = None

    def _search_near(self, frame_bgr: np.ndarray, last: Box) -> Box | None:
        raise NotImplementedError

    def _search_whole(self, frame_bgr: np.ndarray, quick: bool) -> list[Box]:
        raise NotImplementedError

    def _prepare(self, frame_bgr: np.ndarray) -> np.ndarray:
        return frame_bgr

    def detect(self, frame_bgr: np.ndarray) -> list[Box]:
        frame_bgr = self._prepare(frame_bgr)
        shape = (int(frame_bgr.shape[0]), int(frame_bgr.shape[1]))
        between = shape == self._tracked_in and self._since_full < self.full_every
        if self.track and self._tracked and between:
            followed = self._follow(frame_bgr) if self._reuse_left > 0 else None
            if followed is not None:
                self._reuse_left -= 1
                self._since_full += 1
                self.reused += 1
                self._tracked = followed
                return list(followed)
            primary = self._search_near(frame_bgr, self._tracked[0])
            if primary is not None:
                found = [primary]
                for other in self._tracked[1:]:
                    again = self._search_near(frame_bgr, other)
                    if again is not None and not overlaps(again, found):
                        found.append(again)
                found.sort(key=lambda b: b.area, reverse=True)
                self._tracked = found
                self._remember_faces(frame_bgr)
                self._since_full += 1
                return list(found)
        thumb = None
        if self.track:
            thumb = thumbnail(frame_bgr)
            if (
                not self._tracked
                and self._empty_thumb is not None
                and self._empty_thumb.shape == thumb.shape
                and between
                and int(cv2.absdiff(thumb, self._empty_thumb).max()) <= STILL_DIFF
            ):
                # the same still scene in which the last whole search found nobody
                self._since_full += 1
                self.still_frames += 1
                return []
        # a face lost (or none yet) between periodic searches: a quick search will do; the
        # periodic one, which is there to find faces that came into view, is thorough
        boxes = self._search_whole(frame_bgr, self.track and between)
        self.full_searches += 1
        if self.track:
            self._tracked = boxes[: self.max_tracked]
            self._tracked_in = shape
            self._since_full = 0
            self._empty_thumb = None if boxes else thumb
            self._remember_faces(frame_bgr)
        return boxes

    def _remember_faces(self, frame_bgr: np.ndarray) -> None:
        """The tracked faces were just searched for: their templates, and following allowed."""
        if self.reuse_max <= 0:
            return
        self._templates = [face_template(frame_bgr, box) for box in self._tracked]
        self._reuse_left = self.reuse_max

    def _follow(self, frame_bgr: np.ndarray) -> list[Box] | None:
        """Every tracked face followed by its template, or None when one is not found well."""
        if len(self._templates) != len(self._tracked):
            return None
        moved: list[Box] = []
        for box, template in zip(self._tracked, self._templates, strict=True):
            if template is None:
                return None
            found = follow(frame_bgr, template, box)
            if found is None or found[1] < FOLLOW_MIN_SCORE:
                return None
            moved.append(found[0])
        return moved

    def reset(self) -> None:
        """Forget the tracked faces and the still scene (the next frame is searched whole)."""
        self._tracked = []
        self._templates = []
        self._reuse_left = 0
        self._empty_thumb = None


class HaarFaceDetector(TrackingDetector):
    """OpenCV's frontal-face Haar cascade on a downscaled grey frame, filtered against false faces.

    ``detect_width``: the frame is shrunk to this width before the cascade runs (never enlarged);
    320 finds faces from about 48 px wide in a 640x480 frame. ``min_face`` is the smallest face
    in detection pixels. ``verify_eyes`` turns the eye check off (not recommended).
    ``min_weight`` rejects cascade hits whose final-stage weight is below it (None: no limit).

    ``track`` (for video): after faces are found, the next frames are searched only near each
    of them (up to ``max_tracked``, largest first) and at about its size (a few hundred pixels
    instead of the whole frame, several times faster); the whole frame is searched again every
    ``full_every`` frames, whenever the largest face is lost, and when the frame size changes.
    Between whole-frame searches the tracked faces still found are returned (a new face is
    found at the next whole search). While no face is tracked, a frame whose 80x60 thumbnail
    differs from that of the last (faceless) whole search by at most :data:`STILL_DIFF` grey
    levels anywhere is the same still scene (an empty room; camera noise stays well below that)
    and is not searched again, up to ``full_every`` frames in a row. Leave ``track`` off for
    unrelated still images.
    """

    def __init__(
        self,
        detect_width: int = 320,
        scale_factor: float = 1.15,
        min_neighbors: int = 3,
        min_face: int = 24,
        verify_eyes: bool = True,
        min_weight: float | None = None,
        equalize: bool = False,
        track: bool = False,
        full_every: int = 20,
        max_tracked: int = 4,
        reuse_max: int = REUSE_MAX,
    ) -> None:
        if detect_width < 64:
            raise ValueError("detect_width must be at least 64 pixels")
        if scale_factor <= 1.0:
            raise ValueError("scale_factor must be greater than 1")
        self.detect_width = detect_width
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_face = min_face
        self.verify_eyes = verify_eyes
        self.min_weight = min_weight
        self.equalize = equalize
        self._init_tracking(track, full_every, max_tracked, reuse_max)
        self._faces = _load_cascade(FACE_CASCADE)
        self._eyes = _load_cascade(EYE_CASCADE) if verify_eyes else None
        self._glasses = _load_cascade(GLASSES_CASCADE) if verify_eyes else None

    def candidates(self, frame_bgr: np.ndarray) -> list[Candidate]:
        """Every cascade hit with its weight and eye count, before any filtering (for tuning)."""
        gray = _to_gray(frame_bgr)
        height, width = gray.shape[:2]
        scale = min(1.0, self.detect_width / width)
        small = gray
        if scale < 1.0:
            size = (self.detect_width, max(1, round(height * scale)))
            small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        if self.equalize:
            small = cv2.equalizeHist(small)
        if min(small.shape[:2]) < self.min_face:
            return []
        boxes, _levels, weights = self._faces.detectMultiScale3(
            small,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_face, self.min_face),
            outputRejectLevels=True,
        )
        found: list[Candidate] = []
        for (x, y, w, h), weight in zip(boxes, np.ravel(weights), strict=True):
            box = Box(
                round(float(x) / scale),
                round(float(y) / scale),
                round(float(w) / scale),
                round(float(h) / scale),
            )
            box = clip_box(box, width, height)
            eyes = self.count_eyes(gray, box) if self._eyes is not None else -1
            found.append(Candidate(box, float(weight), eyes))
        return found

    def _search_whole(self, frame_bgr: np.ndarray, quick: bool) -> list[Box]:
        return self._filter(self.candidates(frame_bgr))

    def _filter(self, candidates: list[Candidate]) -> list[Box]:
        kept = [
            c
            for c in candidates
            if (self.min_weight is None or c.weight >= self.min_weight)
            and (not self.verify_eyes or c.eyes >= 1)
        ]
        boxes = [c.box for c in kept]
        kept = [c for c in kept if not any(_contains(c.box, other) for other in boxes)]
        kept.sort(key=lambda c: (c.box.area, c.weight), reverse=True)
        return [c.box for c in kept]

    def _search_near(self, frame_bgr: np.ndarray, last: Box) -> Box | None:
        """The face near ``last`` at about its size, or None: the cascade runs on a small crop
        around it, scaled so the face is :data:`TRACK_FACE_PX` wide. Only that crop is made grey
        (not the whole frame)."""
        near = crop_near(frame_bgr, last, 0.6, TRACK_FACE_PX, grey=True)
        if near is None:
            return None
        gray, roi = near.region, near.scaled
        if self.equalize:
            roi = cv2.equalizeHist(roi)
        lo, hi = round(TRACK_FACE_PX * 0.75), round(TRACK_FACE_PX * 1.35)
        if min(roi.shape[:2]) < lo:
            return None
        boxes, _levels, weights = self._faces.detectMultiScale3(
            roi,
            scaleFactor=1.1,
            minNeighbors=self.min_neighbors,
            minSize=(lo, lo),
            maxSize=(hi, hi),
            outputRejectLevels=True,
        )
        candidates = []
        for (x, y, w, h), weight in zip(boxes, np.ravel(weights), strict=True):
            box = near.to_frame(x, y, w, h)
            local = Box(box.x - near.x0, box.y - near.y0, box.w, box.h)  # in the grey crop
            eyes = self.count_eyes(gray, local) if self._eyes is not None else -1
            candidates.append(Candidate(box, float(weight), eyes))
        kept = self._filter(candidates)
        return kept[0] if kept else None

    def count_eyes(self, gray: np.ndarray, box: Box) -> int:
        """Eyes found in the eye band of ``box`` (20-55 % of its height), face resized to 90 px.

        Tuned on 204 cascade hits (152 real faces, 52 textures): all real faces keep >= 1 eye,
        no texture does, in ~1.3 ms per box (a 120 px face and the whole upper 60 % took 6 ms).
        When the plain eye cascade finds none, OpenCV's eye-with-glasses cascade has a go (on
        299 hits it also found an eye in every real face and in no texture).
        """
        assert self._eyes is not None and self._glasses is not None
        band = gray[box.y + int(box.h * 0.2) : box.y + int(box.h * 0.55), box.x : box.x + box.w]
        if band.size == 0:
            return 0
        k = EYE_FACE_PX / max(box.w, 1)
        band = cv2.resize(
            band, None, fx=k, fy=k, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR
        )
        band = cv2.equalizeHist(band)
        for cascade in (self._eyes, self._glasses):
            eyes = cascade.detectMultiScale(
                band, scaleFactor=1.1, minNeighbors=3, minSize=(14, 14), maxSize=(36, 36)
            )
            if len(eyes):
                return len(eyes)
        return 0


def clip_box(box: Box, width: int, height: int) -> Box:
    x0, y0 = max(0, box.x), max(0, box.y)
    x1, y1 = min(width, box.x + box.w), min(height, box.y + box.h)
    return Box(x0, y0, max(0, x1 - x0), max(0, y1 - y0))


@dataclass(frozen=True)
class NearCrop:
    """The frame around a tracked face (``region``, grey when asked) and that region scaled by
    ``k`` so the face is the searched size (``scaled``); ``to_frame`` takes a box found in
    ``scaled`` back to frame pixels."""

    region: np.ndarray
    scaled: np.ndarray
    x0: int
    y0: int
    k: float
    frame_size: tuple[int, int]  # (width, height)

    def to_frame(self, x: float, y: float, w: float, h: float) -> Box:
        k = self.k
        box = Box(
            self.x0 + round(float(x) / k),
            self.y0 + round(float(y) / k),
            round(float(w) / k),
            round(float(h) / k),
        )
        return clip_box(box, *self.frame_size)


def crop_near(
    frame: np.ndarray, last: Box, margin: float, face_px: int, grey: bool = False
) -> NearCrop | None:
    """The crop a tracking search looks in: ``last`` grown by ``margin`` of its width on every
    side (inside the frame), scaled so the face is ``face_px`` wide; None when too little of it
    is in the frame. Only that crop is converted and resized, never the whole frame."""
    height, width = frame.shape[:2]
    pad = round(last.w * margin)
    x0, y0 = max(0, last.x - pad), max(0, last.y - pad)
    x1, y1 = min(width, last.x + last.w + pad), min(height, last.y + last.h + pad)
    if x1 - x0 < last.w // 2 or y1 - y0 < last.h // 2:
        return None
    k = face_px / max(last.w, 1)
    region = frame[y0:y1, x0:x1]
    if grey:
        region = _to_gray(region)
    interpolation = cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(region, None, fx=k, fy=k, interpolation=interpolation)
    return NearCrop(region, scaled, x0, y0, k, (width, height))


def choose_face(
    boxes: Sequence[Box], policy: str = "largest", frame_size: tuple[int, int] | None = None
) -> Box | None:
    """The face to read when there are several: the ``"largest"``, or the one nearest the
    ``"center"`` of the frame (``frame_size`` = (width, height); without it, the centre of all
    the boxes). None when there is no box."""
    if not boxes:
        return None
    if policy == "largest":
        return max(boxes, key=lambda b: b.area)
    if policy == "center":
        if frame_size is not None:
            cx, cy = frame_size[0] / 2, frame_size[1] / 2
        else:
            x0 = min(b.x for b in boxes)
            y0 = min(b.y for b in boxes)
            x1 = max(b.x + b.w for b in boxes)
            y1 = max(b.y + b.h for b in boxes)
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        return min(boxes, key=lambda b: (b.x + b.w / 2 - cx) ** 2 + (b.y + b.h / 2 - cy) ** 2)
    raise ValueError(f"unknown face policy {policy!r}; use one of {', '.join(POLICIES)}")

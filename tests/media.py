"""Test media, built honestly from images that are licensed to ship (nothing is downloaded).

Import from any test: ``from tests.media import astronaut_bgr, no_face_images, write_video``.

- Faces: the NASA astronaut portrait (public domain) that scikit-image ships — one smiling face,
  :data:`ASTRONAUT_FACE` marks where it is. :func:`face_on_background` pastes that head at any size
  onto a busy 640x480 background (the same builder the benchmark frames use, ``bench/frames.py``).
- No faces: :func:`no_face_images` — scikit-image's coffee cup, Chelsea the cat, brick, grass,
  gravel, rocket, ... (:data:`NO_FACE_NAMES`). Some of them (coins, gravel) are known to fool
  OpenCV's Haar cascade, which makes them good negatives.
- Rooms: :func:`room_scene` pastes several heads, each at its own brightness (which the
  brightness ``FakeModel`` reads as an expression).
- Files: :func:`write_image`, :func:`write_images` (a folder of images), :func:`write_video`
  (an .mp4 written with ``cv2.VideoWriter``; make it in ``tmp_path``), :func:`make_video` (a
  short video of face and no-face frames), :func:`write_labelled_set` (a tiny labelled image
  folder plus its CSV, for ``moodplayer eval``), :func:`fer_crop` (a 48x48 grey face crop like
  the FER data sets).

All images are BGR ``uint8`` arrays, as OpenCV uses them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from app.vision.reading import Box
from bench import frames as _frames

WIDTH, HEIGHT = _frames.WIDTH, _frames.HEIGHT

#: The astronaut's face in ``astronaut_bgr()`` (512x512), as OpenCV's Haar cascade finds it.
ASTRONAUT_FACE = Box(*_frames.ASTRONAUT_FACE)

#: scikit-image images without a human face.
NO_FACE_NAMES: tuple[str, ...] = (
    "coffee",
    "chelsea",
    "brick",
    "grass",
    "gravel",
    "rocket",
    "coins",
    "moon",
    "hubble_deep_field",
    "immunohistochemistry",
    "page",
    "text",
    "clock",
    "colorwheel",
)

#: Backgrounds with strong texture, for faces pasted onto busy scenes.
TEXTURED_BACKGROUNDS: tuple[str, ...] = ("brick", "grass", "gravel", "coins", "chelsea", "coffee")


def skimage_bgr(name: str) -> np.ndarray:
    """A scikit-image sample image (``skimage.data.<name>``) as a fresh BGR uint8 array."""
    return _frames.skimage_bgr(name).copy()


def astronaut_bgr() -> np.ndarray:
    """The astronaut portrait, 512x512 BGR, one smiling face at :data:`ASTRONAUT_FACE`."""
    return _frames.astronaut_bgr()


def no_face_images(names: Iterable[str] = NO_FACE_NAMES) -> dict[str, np.ndarray]:
    """Images without a human face, by scikit-image name (BGR, each a fresh copy)."""
    return {name: skimage_bgr(name) for name in names}


def background(name: str, width: int = WIDTH, height: int = HEIGHT, seed: int = 0) -> np.ndarray:
    """A scikit-image image scaled to cover ``width`` x ``height`` (a fresh BGR array)."""
    return _frames.background(name, width, height, seed)


def face_on_background(
    name: str = "brick",
    face_width: int = 120,
    center: tuple[int, int] | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, Box]:
    """A 640x480 frame: the astronaut's head (face ``face_width`` px) on background ``name``.

    Returns the frame and the true face box. ``center`` defaults to the middle of the frame.
    """
    frame = background(name, seed=seed)
    where = center if center is not None else (WIDTH // 2, HEIGHT // 2)
    return frame, Box(*_frames.paste_face(frame, face_width, where))


def room_scene(
    faces: Sequence[tuple[int, tuple[int, int], int]], name: str = "brick"
) -> tuple[np.ndarray, list[Box]]:
    """A 640x480 frame with several astronaut heads: ``(face width, centre, grey level)`` each.

    Each face and a 14 px ring around it is rescaled so its mean brightness is the level, which
    :class:`~app.vision.fakes.FakeModel` reads as an expression (``level_for``): a room of faces
    with different expressions, for the room's-mood tests. Returns the frame and the face boxes.
    """
    frame = background(name)
    boxes = []
    for width, center, level in faces:
        x, y, w, h = _frames.paste_face(frame, width, center)
        x0, y0 = max(0, x - 14), max(0, y - 14)
        x1, y1 = min(WIDTH, x + w + 14), min(HEIGHT, y + h + 14)
        region = frame[y0:y1, x0:x1].astype(np.float32)
        for _ in range(3):  # clipping moves the mean: a few rounds land on it
            region = np.clip(region * (level / max(region.mean(), 1.0)), 0, 255)
        frame[y0:y1, x0:x1] = region.astype(np.uint8)
        boxes.append(Box(x, y, w, h))
    return frame, boxes


def write_image(path: Path, image: np.ndarray) -> Path:
    """Write ``image`` with OpenCV (format from the suffix); fails loudly if it could not."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image):
        raise OSError(f"could not write {path}")
    return path


def write_images(folder: Path, images: dict[str, np.ndarray], suffix: str = ".png") -> list[Path]:
    """Write each image as ``folder/<name><suffix>``; returns the paths in sorted name order."""
    return [write_image(folder / f"{name}{suffix}", images[name]) for name in sorted(images)]


def write_video(path: Path, frames: Sequence[np.ndarray], fps: float = 10.0) -> Path:
    """Write BGR ``frames`` (all the same size) to an .mp4 with ``cv2.VideoWriter`` (mp4v)."""
    return _frames.write_video(path, list(frames), fps)


def make_video(
    path: Path, pattern: str = "FFNNF", size: tuple[int, int] = (320, 240), fps: float = 10.0
) -> Path:
    """A short video whose frame i shows the astronaut if ``pattern[i] == "F"``, else no face.

    Face frames are the astronaut portrait scaled to ``size``; no-face frames are the coffee cup.
    """
    face = cv2.resize(astronaut_bgr(), size, interpolation=cv2.INTER_AREA)
    empty = cv2.resize(skimage_bgr("coffee"), size, interpolation=cv2.INTER_AREA)
    return write_video(path, [face if c == "F" else empty for c in pattern], fps)


def scene_video(path: Path, pattern: str, fps: float) -> Path:
    """A 640x480 webcam-like clip: frame i shows the astronaut in front of a brick wall if
    ``pattern[i] == "F"``, else the empty wall (the listener left)."""
    face, _ = face_on_background("brick", face_width=140)
    empty = background("brick")
    return write_video(path, [face if c == "F" else empty for c in pattern], fps)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    ix = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    return inter / (a.area + b.area - inter)


def fer_crop(image: np.ndarray, box: Box = ASTRONAUT_FACE, size: int = 48) -> np.ndarray:
    """A ``size`` x ``size`` grey face crop (saved as BGR), like the images of FER-style sets."""
    crop = image[box.y : box.y + box.h, box.x : box.x + box.w]
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    gray = cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)


@dataclass(frozen=True)
class LabelledSet:
    """A labelled image folder: ``images`` holds the files, ``csv`` lists ``path,label`` rows."""

    images: Path
    csv: Path
    rows: tuple[tuple[str, str], ...]  # (relative path, label) in CSV order


def write_labelled_set(
    folder: Path,
    entries: Sequence[tuple[str, np.ndarray | None, str]],
    header: bool = True,
) -> LabelledSet:
    """Write ``(relative path, image, label)`` entries and a ``labels.csv`` beside the folder.

    An entry whose image is None is listed in the CSV but not written (a missing file); an entry
    whose image is an empty array is written as an unreadable file of junk bytes.
    """
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    for rel, image, _label in entries:
        if image is None:
            continue
        if image.size == 0:
            (images / rel).parent.mkdir(parents=True, exist_ok=True)
            (images / rel).write_bytes(b"this is not an image")
        else:
            write_image(images / rel, image)
    csv_path = folder / "labels.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        if header:
            writer.writerow(["path", "label"])
        for rel, _image, label in entries:
            writer.writerow([rel, label])
    return LabelledSet(images, csv_path, tuple((rel, label) for rel, _i, label in entries))

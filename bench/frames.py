"""The benchmark frames: 640x480 scenes built from images that are licensed to ship.

Every benchmark in this repository (ours, and the side-by-side run against ``fer``) reads the same
frames, so the numbers compare like with like. The frames are built, never downloaded:

- the face is the NASA astronaut portrait (public domain) that scikit-image ships
  (``skimage.data.astronaut()``), pasted with a soft edge at several sizes;
- the backgrounds are scikit-image's textured or busy images (brick, grass, gravel, coins, the
  coffee cup, Chelsea the cat, the rocket, the Hubble deep field, ...), scaled to cover 640x480;
- about a quarter of the frames have no face at all.

Frames come in short "shots" of :data:`SHOT_LENGTH` frames that share a background and a face size
while the face drifts a few pixels per frame, so a video made from them looks like a video.

This module needs only numpy, OpenCV and scikit-image (no ``app`` import), so a separate benchmark
environment can use it as well::

    python bench/frames.py --out bench-frames.mp4 --frames 300 --seed 0
"""

from __future__ import annotations

import argparse
import functools
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT = 640, 480
SHOT_LENGTH = 10
# Face widths (pixels in the 640x480 frame) the benchmark cycles through.
FACE_SIZES: tuple[int, ...] = (60, 80, 100, 130, 160, 200)
# Every NO_FACE_EVERY-th shot has no face (a quarter of the frames).
NO_FACE_EVERY = 4

# Where the face is in skimage.data.astronaut() (512x512): x, y, w, h.
ASTRONAUT_FACE: tuple[int, int, int, int] = (177, 67, 93, 93)

# scikit-image images that show no human face (all ship inside the scikit-image wheel).
BACKGROUND_NAMES: tuple[str, ...] = (
    "brick",
    "grass",
    "gravel",
    "coins",
    "coffee",
    "chelsea",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "moon",
    "page",
    "text",
    "clock",
    "colorwheel",
)


@dataclass(frozen=True)
class Scene:
    """One benchmark frame and the face pasted into it (``face`` is None for a frame without)."""

    frame: np.ndarray  # HxWx3 uint8 BGR
    face: tuple[int, int, int, int] | None  # x, y, w, h in frame pixels
    background: str


def _to_bgr(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8:
        image = (np.clip(image, 0, 1) * 255).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2BGR))


@functools.cache
def skimage_bgr(name: str) -> np.ndarray:
    """A scikit-image sample image as a BGR uint8 array (read-only; copy before drawing on it)."""
    import skimage.data

    image = _to_bgr(getattr(skimage.data, name)())
    image.setflags(write=False)
    return image


def astronaut_bgr() -> np.ndarray:
    """The NASA astronaut portrait (public domain), 512x512 BGR, one smiling face."""
    return skimage_bgr("astronaut").copy()


def background(name: str, width: int = WIDTH, height: int = HEIGHT, seed: int = 0) -> np.ndarray:
    """A scikit-image image scaled to cover ``width`` x ``height`` and cropped (offset by seed)."""
    image = skimage_bgr(name)
    h, w = image.shape[:2]
    scale = max(width / w, height / h) * 1.15
    resized = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(seed)
    x0 = int(rng.integers(0, resized.shape[1] - width + 1))
    y0 = int(rng.integers(0, resized.shape[0] - height + 1))
    return np.ascontiguousarray(resized[y0 : y0 + height, x0 : x0 + width])


@functools.cache
def _portrait() -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]:
    """The astronaut's head and shoulders, a soft-edged alpha mask, and the face box inside it."""
    fx, fy, fw, fh = ASTRONAUT_FACE
    x0, x1 = fx - int(0.9 * fw), fx + fw + int(0.9 * fw)
    y0, y1 = fy - int(0.65 * fh), fy + fh + int(1.2 * fh)
    x0, y0 = max(x0, 0), max(y0, 0)
    crop = skimage_bgr("astronaut")[y0:y1, x0:x1].copy()
    h, w = crop.shape[:2]
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (w // 2, h // 2), (int(w * 0.46), int(h * 0.48)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), sigmaX=w * 0.04)
    return crop, mask, (fx - x0, fy - y0, fw, fh)


def paste_face(
    frame: np.ndarray, face_width: int, center: tuple[int, int]
) -> tuple[int, int, int, int]:
    """Paste the astronaut's head (face ``face_width`` px wide, centred at ``center``) in place.

    The head is blended with a soft elliptical edge and clipped at the frame border; returns the
    face box in frame pixels.
    """
    crop, mask, (fx, fy, fw, fh) = _portrait()
    scale = face_width / fw
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    head = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    alpha = cv2.resize(mask, size, interpolation=cv2.INTER_LINEAR)[..., None]
    face = (round(fx * scale), round(fy * scale), round(fw * scale), round(fh * scale))
    # top-left of the head so that the face centre lands on `center`
    left = center[0] - face[0] - face[2] // 2
    top = center[1] - face[1] - face[3] // 2
    fh_, fw_ = frame.shape[:2]
    ax0, ay0 = max(left, 0), max(top, 0)
    ax1, ay1 = min(left + size[0], fw_), min(top + size[1], fh_)
    if ax1 > ax0 and ay1 > ay0:
        sx0, sy0 = ax0 - left, ay0 - top
        src = head[sy0 : sy0 + ay1 - ay0, sx0 : sx0 + ax1 - ax0].astype(np.float32)
        a = alpha[sy0 : sy0 + ay1 - ay0, sx0 : sx0 + ax1 - ax0]
        dst = frame[ay0:ay1, ax0:ax1].astype(np.float32)
        frame[ay0:ay1, ax0:ax1] = (src * a + dst * (1 - a) + 0.5).astype(np.uint8)
    return (left + face[0], top + face[1], face[2], face[3])


def make_benchmark_scenes(n: int, seed: int = 0) -> list[Scene]:
    """``n`` 640x480 scenes with their true face boxes; the same (n, seed) gives the same frames."""
    rng = np.random.default_rng(seed)
    scenes: list[Scene] = []
    shot = 0
    while len(scenes) < n:
        name = BACKGROUND_NAMES[int(rng.integers(len(BACKGROUND_NAMES)))]
        base = background(name, seed=int(rng.integers(1 << 30)))
        with_face = shot % NO_FACE_EVERY != NO_FACE_EVERY - 1
        size = FACE_SIZES[int(rng.integers(len(FACE_SIZES)))]
        margin_x, margin_y = size // 2 + 12, int(size * 0.6) + 12
        cx = int(rng.integers(margin_x, WIDTH - margin_x))
        cy = int(rng.integers(margin_y, HEIGHT - margin_y))
        dx, dy = (int(v) for v in rng.integers(-3, 4, size=2))
        for step in range(min(SHOT_LENGTH, n - len(scenes))):
            frame = base.copy()
            box = None
            if with_face:
                x = int(np.clip(cx + dx * step, margin_x, WIDTH - margin_x))
                y = int(np.clip(cy + dy * step, margin_y, HEIGHT - margin_y))
                box = paste_face(frame, size, (x, y))
            scenes.append(Scene(frame, box, name))
        shot += 1
    return scenes


def make_benchmark_frames(n: int, seed: int = 0) -> list[np.ndarray]:
    """``n`` 640x480 BGR frames: faces at several sizes on busy backgrounds, and frames without."""
    return [scene.frame for scene in make_benchmark_scenes(n, seed)]


def webcam_present(i: int, fps: float = 30.0) -> bool:
    """Whether frame ``i`` of :func:`make_webcam_frames` shows the face (away 2 s in every 10)."""
    return (i / fps) % 10.0 < 8.0


def webcam_face(i: int, fps: float = 30.0) -> tuple[int, int, int, int] | None:
    """The face box (x, y, w, h, before any roll) in frame ``i`` of :func:`make_webcam_frames`,
    or None while the listener is away."""
    if not webcam_present(i, fps):
        return None
    t = i / fps
    cx = WIDTH // 2 + round(60 * np.sin(2 * np.pi * t / 7.0))
    cy = HEIGHT // 2 + round(25 * np.sin(2 * np.pi * t / 5.0))
    width = 140 + round(12 * np.sin(2 * np.pi * t / 9.0))
    _crop, _mask, (_fx, _fy, fw, fh) = _portrait()
    scale = width / fw
    w, h = round(fw * scale), round(fh * scale)
    return (cx - w // 2, cy - h // 2, w, h)


def make_webcam_frames(
    n: int, fps: float = 30.0, seed: int = 0, tilt: float = 0.0
) -> list[np.ndarray]:
    """``n`` 640x480 frames like a webcam sees a listener: the astronaut's head (140 px face) in
    front of a brick wall, drifting slowly (a few pixels a frame, as a person sways), leaving
    for 2 s every 10 s (:func:`webcam_present`), with camera noise (sigma 3 grey levels).
    ``tilt``: the head also rolls up to that many degrees either way (a tilted head)."""
    rng = np.random.default_rng(seed)
    wall = background("brick", seed=seed)
    frames = []
    for i in range(n):
        t = i / fps
        frame = wall.copy()
        if webcam_present(i, fps):
            cx = WIDTH // 2 + round(60 * np.sin(2 * np.pi * t / 7.0))
            cy = HEIGHT // 2 + round(25 * np.sin(2 * np.pi * t / 5.0))
            width = 140 + round(12 * np.sin(2 * np.pi * t / 9.0))
            paste_face(frame, width, (cx, cy))
            if tilt:
                head = np.zeros_like(frame)
                paste_face(head, width, (cx, cy))
                mask = (head.sum(axis=2) > 0).astype(np.uint8)
                angle = tilt * np.sin(2 * np.pi * t / 6.0)
                rot = cv2.getRotationMatrix2D((float(cx), float(cy)), float(angle), 1.0)
                size = (WIDTH, HEIGHT)
                turned = cv2.warpAffine(frame, rot, size, borderMode=cv2.BORDER_REFLECT)
                inside = cv2.warpAffine(mask, rot, size)[..., None].astype(bool)
                frame = np.where(inside, turned, wall)
        noise = rng.normal(0.0, 3.0, frame.shape)
        frames.append(np.clip(frame + noise, 0, 255).astype(np.uint8))
    return frames


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0, raw: bool = False) -> Path:
    """Write ``frames`` (BGR) to an .mp4 (mp4v codec, which OpenCV's wheels can always write);
    ``raw``: uncompressed frames in an .avi instead, which stand in for a webcam's (a grab is a
    read of the frame, with nothing to decompress, as a camera's is a buffer dequeued)."""
    if not frames:
        raise ValueError("no frames to write")
    h, w = frames[0].shape[:2]
    fourcc = 0 if raw else cv2.VideoWriter_fourcc(*"mp4v")
    if raw:
        path = path.with_suffix(".avi")
    writer = cv2.VideoWriter(str(path), fourcc, fps, (w, h))
    if not writer.isOpened():
        raise OSError(f"cannot write a video to {path}")
    try:
        for frame in frames:
            writer.write(frame)
    finally:
        writer.release()
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the 640x480 benchmark video (.mp4).")
    parser.add_argument("--out", type=Path, default=Path("bench-frames.mp4"), help="video to write")
    parser.add_argument("--frames", type=int, default=300, help="number of frames (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--fps", type=float, default=10.0, help="frame rate (default 10)")
    parser.add_argument("--boxes", type=Path, help="also write the true face boxes as CSV here")
    args = parser.parse_args(argv)
    scenes = make_benchmark_scenes(args.frames, args.seed)
    write_video(args.out, [s.frame for s in scenes], args.fps)
    if args.boxes:
        lines = ["frame,x,y,w,h,background"]
        for i, s in enumerate(scenes):
            x, y, w, h = s.face if s.face else ("", "", "", "")
            lines.append(f"{i},{x},{y},{w},{h},{s.background}")
        args.boxes.write_text("\n".join(lines) + "\n", encoding="utf-8")
    faces = sum(s.face is not None for s in scenes)
    print(f"wrote {args.out}: {len(scenes)} frames {WIDTH}x{HEIGHT}, {faces} with a face")
    return 0


if __name__ == "__main__":
    sys.exit(main())

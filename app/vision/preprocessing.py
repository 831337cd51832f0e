"""The card's crop and pixel preparation, shared by every expression model backend."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from app.vision.card import ModelCard
from app.vision.reading import Box

Float32Array = npt.NDArray[np.float32]
ImageArray = npt.NDArray[Any]  # uint8 pixels; cv2's stubs do not keep the dtype

RESIZES = {
    "linear": cv2.INTER_LINEAR,
    "area": cv2.INTER_AREA,
    "cubic": cv2.INTER_CUBIC,
    "nearest": cv2.INTER_NEAREST,
}


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

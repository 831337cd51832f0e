"""BlazeFaceDetector on real faces: the public-domain astronaut is found where it is, tilted and
rolled too, several at once; textures and Chelsea the cat are not faces; tracking follows."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from app import paths
from app.errors import UserError
from app.vision.blazeface import BACK, FRONT, BlazeFaceDetector, anchors, weighted_nms
from app.vision.reading import Box
from tests.media import (
    ASTRONAUT_FACE,
    astronaut_bgr,
    background,
    face_on_background,
    iou,
    room_scene,
)


@pytest.fixture(scope="module")
def detector() -> BlazeFaceDetector:
    return BlazeFaceDetector()


@pytest.mark.parametrize("angle", [-30, -20, 20, 30])
def test_a_rolled_head_is_found(detector: BlazeFaceDetector, angle: int) -> None:
    frame, truth = face_on_background("brick", 140, (320, 240))
    turn = cv2.getRotationMatrix2D((320.0, 240.0), float(angle), 1.0)
    rolled = cv2.warpAffine(frame, turn, (640, 480), borderMode=cv2.BORDER_REFLECT)
    boxes = detector.detect(rolled)
    assert len(boxes) == 1
    centre = (boxes[0].x + boxes[0].w / 2, boxes[0].y + boxes[0].h / 2)
    assert abs(centre[0] - 320) < 0.25 * truth.w and abs(centre[1] - 240) < 0.3 * truth.h
    assert 0.7 * truth.w < boxes[0].w < 1.4 * truth.w


def test_a_head_turned_aside_is_found(detector: BlazeFaceDetector) -> None:
    """Squeezed to 75 % of its width, as a head turned about 40 degrees looks."""
    image = astronaut_bgr()
    turned = cv2.resize(image, (384, 512), interpolation=cv2.INTER_AREA)
    frame = background("grass")
    frame[0:480, 128:512] = turned[16:496]
    boxes = detector.detect(frame)
    assert len(boxes) == 1
    x = 128 + (ASTRONAUT_FACE.x + ASTRONAUT_FACE.w / 2) * 0.75
    assert abs(boxes[0].x + boxes[0].w / 2 - x) < 25


def test_several_faces_in_a_room(detector: BlazeFaceDetector) -> None:
    frame, truth = room_scene(
        [(120, (150, 200), 140), (90, (450, 180), 140), (70, (330, 380), 140)]
    )
    boxes = detector.detect(frame)
    assert len(boxes) == 3
    assert [b.w for b in boxes] == sorted((b.w for b in boxes), reverse=True)  # largest first
    for face in truth:
        assert max(iou(b, face) for b in boxes) > 0.6


def test_boxes_are_in_frame_pixels_for_large_frames(detector: BlazeFaceDetector) -> None:
    frame, truth = face_on_background("grass", 120, (320, 240))
    big = cv2.resize(frame, (1280, 960), interpolation=cv2.INTER_LINEAR)
    boxes = detector.detect(big)
    assert len(boxes) == 1
    assert iou(boxes[0], Box(truth.x * 2, truth.y * 2, truth.w * 2, truth.h * 2)) > 0.6


def test_tiny_blank_and_odd_frames_give_no_face(detector: BlazeFaceDetector) -> None:
    assert detector.detect(np.zeros((12, 16, 3), np.uint8)) == []
    assert detector.detect(np.full((480, 640, 3), 128, np.uint8)) == []
    assert detector.detect(np.full((1, 2000, 3), 255, np.uint8)) == []


# --- decoding -------------------------------------------------------------------------------


def test_anchors_are_the_cells_centres_in_output_order() -> None:
    spec = {"strides": [8, 16], "per_cell": [2, 6], "offset": 0.5, "count": 896}
    a = anchors(128, spec)
    assert a.shape == (896, 2)
    assert a[0].tolist() == a[1].tolist() == [4.0, 4.0]  # two anchors in the first 8 px cell
    assert a[2].tolist() == [12.0, 4.0]  # then the next cell along the row
    assert a[32].tolist() == [4.0, 12.0]  # the second row of the 16x16 grid
    assert a[512].tolist() == a[517].tolist() == [8.0, 8.0]  # the 8x8 grid, six per cell
    assert a[-1].tolist() == [120.0, 120.0]
    with pytest.raises(ValueError):
        anchors(128, {**spec, "count": 900})


def test_weighted_nms_merges_overlapping_boxes_and_keeps_apart_ones() -> None:
    scores = np.array([0.6, 0.9, 0.8, 0.7])
    boxes = np.array(
        [[10, 10, 50, 50], [12, 12, 52, 52], [100, 100, 140, 140], [11, 11, 51, 51]], float
    )
    hits = weighted_nms(scores, boxes)
    assert [round(h.score, 2) for h in hits] == [0.9, 0.8]
    merged = hits[0]
    x0 = (0.9 * 12 + 0.7 * 11 + 0.6 * 10) / (0.9 + 0.7 + 0.6)
    assert merged.x0 == pytest.approx(x0) and merged.x1 == pytest.approx(x0 + 40)
    assert (hits[1].x0, hits[1].y1) == (100.0, 140.0)


# --- tracking -------------------------------------------------------------------------------


def test_tracking_finds_every_face_with_few_whole_frame_searches() -> None:
    from bench.frames import make_webcam_frames, webcam_present

    frames = make_webcam_frames(90, tilt=20.0)[::3]  # 3 s of a rolling head at 10 analyses/s
    detector = BlazeFaceDetector(track=True)
    for i, frame in enumerate(frames):
        boxes = detector.detect(frame)
        assert bool(boxes) == webcam_present(3 * i)
        assert len(boxes) <= 1
    assert detector.full_searches <= 3  # once, then every 20th analysis


def test_tracking_searches_the_whole_frame_every_full_every_frames() -> None:
    frame, truth = face_on_background("brick", 120, (300, 220))
    detector = BlazeFaceDetector(track=True, full_every=3)
    for _ in range(10):  # F T T T F T T T F T
        boxes = detector.detect(frame)
        assert len(boxes) == 1 and iou(boxes[0], truth) > 0.6
    assert detector.full_searches == 3


def test_tracking_lets_go_when_the_face_leaves_or_the_frame_size_changes() -> None:
    frame, truth = face_on_background("grass", 120, (300, 220))
    detector = BlazeFaceDetector(track=True)
    assert len(detector.detect(frame)) == 1
    assert detector.detect(background("grass")) == []  # gone: searched whole, nothing kept
    assert detector.full_searches == 2
    assert detector.detect(background("grass")) == []  # the same empty scene: not searched
    assert detector.full_searches == 2 and detector.still_frames == 1
    assert len(detector.detect(frame)) == 1
    smaller = cv2.resize(frame, (320, 240), interpolation=cv2.INTER_AREA)
    boxes = detector.detect(smaller)
    assert detector.full_searches == 4
    assert len(boxes) == 1 and iou(boxes[0], Box(truth.x // 2, truth.y // 2, 60, 60)) > 0.5
    detector.reset()
    detector.detect(smaller)
    assert detector.full_searches == 5


def test_tracking_follows_two_faces() -> None:
    frame, truth = room_scene([(120, (170, 220), 140), (100, (470, 220), 140)])
    detector = BlazeFaceDetector(track=True)
    for _ in range(5):
        boxes = detector.detect(frame)
        assert len(boxes) == 2
        assert all(max(iou(b, t) for b in boxes) > 0.6 for t in truth)
    assert detector.full_searches == 1


# --- its files ------------------------------------------------------------------------------


def _copy_models(folder: Path) -> None:
    for name in (FRONT, BACK):
        for suffix in (".onnx", ".json"):
            shutil.copy(paths.models_dir() / f"{name}{suffix}", folder / f"{name}{suffix}")


def test_missing_model_files_are_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="haar"):
        BlazeFaceDetector(folder=tmp_path)


def test_a_replaced_model_file_is_refused(tmp_path: Path) -> None:
    _copy_models(tmp_path)
    onnx_path = tmp_path / f"{FRONT}.onnx"
    onnx_path.write_bytes(onnx_path.read_bytes() + b"\0")
    with pytest.raises(UserError, match="does not match its card"):
        BlazeFaceDetector(folder=tmp_path)


def test_the_cards_say_what_the_detector_assumes() -> None:
    for name, size in ((FRONT, 128), (BACK, 256)):
        card = json.loads((paths.models_dir() / f"{name}.json").read_text(encoding="utf-8"))
        data = (paths.models_dir() / f"{name}.onnx").read_bytes()
        assert card["sha256"] == hashlib.sha256(data).hexdigest()
        assert card["input_width"] == card["input_height"] == size
        assert card["colour"] == "rgb" and card["licence"] == "Apache-2.0"
        assert card["anchors"]["strides"] == [size // 16, size // 8]


def test_a_lost_face_is_looked_for_quickly_first_and_thoroughly_when_that_fails() -> None:
    big, big_truth = face_on_background("brick", 140, (320, 240))
    small, small_truth = face_on_background("brick", 48, (500, 120))
    detector = BlazeFaceDetector(track=True)
    assert [iou(b, big_truth) > 0.6 for b in detector.detect(big)] == [True]  # thorough
    assert detector.detect(background("grass")) == []  # lost: quick finds none, then thorough
    assert detector.quick_hits == 0
    assert [iou(b, big_truth) > 0.6 for b in detector.detect(big)] == [True]
    assert detector.quick_hits == 1  # the short-range model on the whole frame found it
    detector.reset()
    assert [iou(b, small_truth) > 0.5 for b in detector.detect(small)] == [True]
    assert detector.quick_hits == 1  # too small for the quick search: the thorough one found it
    assert detector.full_searches == 4

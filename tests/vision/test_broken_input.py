"""Broken models and junk input: a clear message, never a reading, never a flood of log lines.

- A model whose scores are NaN or infinite is broken: refused at load when it already fails on a
  blank input, and otherwise the first NaN stops the analysis with one sentence (no "Angry nan%",
  no poisoned voter).
- A card whose sizes or margins would allocate gigabytes is refused at load.
- A folder of 200 junk files and one good image logs one line per kind of problem, then a count.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from app import cli
from app.errors import UserError
from app.mood.voter import MoodVoter
from app.vision.analyzer import Analyzer
from app.vision.capture import CaptureState, CaptureWorker
from app.vision.card import load_card
from app.vision.classifier import BrokenModelError
from app.vision.detector import HaarFaceDetector
from app.vision.fakes import FakeSource
from app.vision.image_folder import ImageFolderSource
from app.vision.onnx_model import ExpressionModel
from app.vision.reading import EXPRESSIONS, Box, Reading
from tests.media import ASTRONAUT_FACE, astronaut_bgr, write_image

SIZE = 8


def _nan_model(folder: Path, blank_too: bool = False) -> Path:
    """An ONNX classifier whose scores are NaN for any real image: sqrt(-x*x) is 0 for a blank
    input (so it loads and warms up) and NaN for any other pixel. ``blank_too``: log(-1 - x*x),
    NaN for every input, the blank one included."""
    w = numpy_helper.from_array(np.ones((SIZE * SIZE, 7), np.float32), "w")
    shape = numpy_helper.from_array(np.array([-1, SIZE * SIZE], np.int64), "shape")
    one = numpy_helper.from_array(np.array(1.0, np.float32), "one")
    nodes = [
        helper.make_node("Mul", ["x", "x"], ["sq"]),
        helper.make_node("Neg", ["sq"], ["neg"]),
    ]
    if blank_too:
        nodes += [
            helper.make_node("Sub", ["neg", "one"], ["m"]),
            helper.make_node("Log", ["m"], ["r"]),
        ]
    else:
        nodes += [helper.make_node("Sqrt", ["neg"], ["r"])]
    nodes += [
        helper.make_node("Reshape", ["r", "shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "nan",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", SIZE, SIZE, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 7])],
        [w, shape, one],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)
    path = folder / ("nan_always.onnx" if blank_too else "nan.onnx")
    onnx.save(model, str(path))
    card = {
        "name": path.stem,
        "labels": list(EXPRESSIONS),
        "input_height": SIZE,
        "input_width": SIZE,
        "channels": 1,
        "layout": "NHWC",
        "colour": "gray",
        "scale": 1 / 255,
        "offset": 0.0,
        "output": "logits",
    }
    path.with_suffix(".json").write_text(json.dumps(card))
    return path


def test_a_model_that_is_nan_on_a_blank_input_is_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(BrokenModelError, match="NaN or infinite scores"):
        ExpressionModel.load(_nan_model(tmp_path, blank_too=True))


def test_a_nan_score_is_a_broken_model_never_a_reading(tmp_path: Path) -> None:
    model = ExpressionModel.load(_nan_model(tmp_path))  # finite on the blank warm-up input
    analyzer = Analyzer(HaarFaceDetector(), model)
    with pytest.raises(BrokenModelError, match=r"nan gives NaN or infinite scores.*Settings"):
        analyzer.analyze(astronaut_bgr(), 0.0)
    with pytest.raises(BrokenModelError):
        analyzer.classify([model.crop(astronaut_bgr(), ASTRONAUT_FACE)])


def test_the_capture_worker_stops_on_a_broken_model_and_publishes_nothing(
    tmp_path: Path,
) -> None:
    model = ExpressionModel.load(_nan_model(tmp_path))
    readings: list[Reading] = []
    done = threading.Event()
    worker = CaptureWorker(
        lambda: FakeSource([astronaut_bgr()] * 5, fps=50.0),
        Analyzer(HaarFaceDetector(), model),
        rate=50.0,
        on_reading=readings.append,
        on_state=lambda s: done.set() if s is CaptureState.FAILED else None,
    )
    worker.start()
    assert done.wait(10.0)
    worker.stop()
    assert readings == []
    assert worker.state is CaptureState.FAILED
    assert "NaN or infinite" in worker.message and "Settings → Model" in worker.message


def test_analyze_with_a_nan_model_says_so_in_one_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    image = write_image(tmp_path / "face.png", astronaut_bgr())
    code = cli.main(["analyze", str(image), "--model", str(_nan_model(tmp_path))])
    out, err = capfd.readouterr()
    assert code == 1 and out == ""
    assert "nan%" not in err.lower() and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("moodplayer: The expression model nan gives")


def test_a_nan_reading_does_not_poison_the_voter() -> None:
    voter = MoodVoter()
    happy = dict.fromkeys(EXPRESSIONS, 0.02) | {"happy": 0.88}
    for i in range(30):
        voter.update(Reading(i * 0.1, Box(0, 0, 10, 10), happy))
    assert voter.mood == "happy"
    before = voter.distribution
    nan = dict.fromkeys(EXPRESSIONS, float("nan"))
    voter.update(Reading(3.0, Box(0, 0, 10, 10), nan))
    voter.update(Reading(3.1, Box(0, 0, 10, 10), happy | {"angry": float("inf")}))
    after = voter.distribution
    assert all(np.isfinite(v) for v in after.values())
    assert after["happy"] == pytest.approx(before["happy"], abs=0.05)
    assert voter.mood == "happy" and voter.confidence > 0.5


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("input_height", 100_000),
        ("input_width", 65_536),
        ("pad_px", 10**9),
        ("crop_offset_px", 50_000),
        ("crop_margin", 1e6),
    ],
)
def test_a_card_that_would_need_gigabytes_is_refused(
    tmp_path: Path, field: str, value: object
) -> None:
    card = {
        "name": "huge",
        "labels": list(EXPRESSIONS),
        "input_height": 64,
        "input_width": 64,
        "channels": 1,
        "layout": "NHWC",
        "colour": "gray",
        "scale": 1 / 255,
        "offset": 0.0,
        field: value,
    }
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(card))
    with pytest.raises(UserError, match=rf"'{field}' is .*gigabytes"):
        load_card(path)


def _junk_folder(folder: Path) -> Path:
    folder.mkdir()
    for i in range(200):
        (folder / f"junk{i:03d}.jpg").write_bytes(b"not an image at all " * (i % 5 + 1))
    write_image(folder / "zz_face.png", astronaut_bgr())
    return folder


def test_a_folder_of_junk_and_one_image_logs_a_line_per_kind_then_a_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = ImageFolderSource(_junk_folder(tmp_path / "junk"), loop=True)
    source.open()
    with caplog.at_level(logging.INFO, logger="app.vision.image_folder"):
        frames = [source.read() for _ in range(50)]  # 50 passes over the folder
    assert all(f is not None and f.shape == (512, 512, 3) for f in frames)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert len(lines) == 2, lines
    assert "junk000.jpg" in lines[0] and "counted" in lines[0]
    assert "skipped 200 of 201 files" in lines[1]
    assert source.unreadable == 200


def test_analyze_over_a_junk_folder_prints_one_line_then_a_count(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.commands import analyze
    from app.vision.fakes import FakeModel

    monkeypatch.setattr(
        analyze,
        "make_analyzer",
        lambda model_path, tta, threads=1, track=False, detector="haar": Analyzer(
            HaarFaceDetector(), FakeModel()
        ),
    )
    code = cli.main(["analyze", str(_junk_folder(tmp_path / "junk"))])
    out, err = capfd.readouterr()
    assert code == 0
    assert len(out.splitlines()) == 1 and "zz_face.png" in out
    problems = [line for line in err.splitlines() if line.startswith("moodplayer:")]
    assert problems == [
        f"moodplayer: skipped {tmp_path / 'junk' / 'junk000.jpg'}: not a readable image",
        "moodplayer: skipped 200 of 201 files: not readable images",
    ]

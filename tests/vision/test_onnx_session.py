"""Model runs in flight on worker threads when the process exits: it ends cleanly (onnxruntime
aborted it, "terminate called without an active exception", 3 runs in 4 before the sessions
waited at exit)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from app import paths
from app.vision.onnx_model import ExpressionModel
from app.vision.onnx_session import OnnxSession
from tests.conftest import REPO

EXIT_DURING_RUNS = r"""
import threading
import numpy as np
from app import paths
from app.vision.blazeface import BlazeFaceModel
from app.vision.onnx_model import ExpressionModel

model = ExpressionModel.load(paths.models_dir() / "emotion_minixception.onnx")
detector = BlazeFaceModel("face_blazeface_front")
face = np.zeros((1, *model.card.input_shape), np.float32)
image = np.zeros((detector.size, detector.size, 3), np.uint8)
running = [threading.Event(), threading.Event()]

def classify():
    while True:
        model.predict(face)
        running[0].set()

def detect():
    while True:
        detector.find(image)
        running[1].set()

for work in (classify, detect):
    threading.Thread(target=work, daemon=True).start()
for event in running:
    event.wait()
print("exiting while both run", flush=True)
"""


def test_the_process_exits_cleanly_while_models_run_on_daemon_threads() -> None:
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", EXIT_DURING_RUNS],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
        )
        assert "exiting while both run" in done.stdout, done.stderr[-2000:]
        assert done.returncode == 0, done.stderr[-2000:]
        assert "terminate" not in done.stderr and "onnxruntime" not in done.stderr, done.stderr


def test_a_session_runs_as_onnxruntime_does() -> None:
    model = ExpressionModel.load(paths.models_dir() / "emotion_minixception.onnx")
    session = model._session
    assert isinstance(session, OnnxSession) and session.threads == 1
    face = np.zeros((1, *model.card.input_shape), np.float32)
    name = session.get_inputs()[0].name
    (out,) = session.run(None, {name: face})
    assert out.shape == (1, len(model.card.labels)) and np.isfinite(out).all()

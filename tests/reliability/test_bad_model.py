"""A broken expression model never takes the music down.

The real application (``application.start``: settings file, session, main window, pygame mixer on
the dummy driver) starts with ``settings.model`` pointing at a model that cannot be used: a file
that is not there, a truncated file, a model whose card does not fit it (input size, labels), or a
damaged bundled model. Each time the window says what is wrong in words (camera status), the app
keeps running, the listener plays a playlist by hand (manual mode), and quitting saves the settings
with the model choice untouched.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest
from media import make_video

from app import paths
from app import settings as settings_mod
from app.music.player import PlayerState
from app.ui import application
from app.vision import model_registry as model_mod

BUNDLED = paths.models_dir() / f"{model_mod.BUNDLED_NAME}.onnx"


def _copy_model(folder: Path, card_edit: dict | None = None, cut: int | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    onnx = folder / "mine.onnx"
    data = BUNDLED.read_bytes()
    onnx.write_bytes(data[:cut] if cut else data)
    card = json.loads(BUNDLED.with_suffix(".json").read_text())
    card.update(card_edit or {})
    card.pop("sha256", None)
    onnx.with_suffix(".json").write_text(json.dumps(card))
    return onnx


def _case(kind: str, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, str]:
    """(backend, onnx_path, words the message must contain)"""
    if kind == "missing":
        return "onnx", str(tmp / "gone" / "model.onnx"), "does not exist"
    if kind == "truncated":
        return "onnx", str(_copy_model(tmp / "cut", cut=5000)), "mine.onnx"
    if kind == "card-input-size":
        onnx = _copy_model(tmp / "size", {"input_height": 48, "input_width": 48})
        return "onnx", str(onnx), "48"
    if kind == "card-labels":
        onnx = _copy_model(tmp / "labels", {"labels": ["happy", "sad", "neutral"]})
        return "onnx", str(onnx), "3"
    if kind == "card-missing":
        onnx = _copy_model(tmp / "nocard")
        onnx.with_suffix(".json").unlink()
        return "onnx", str(onnx), "card"
    if kind == "bundled-damaged":
        # the shipped models folder, with the default ensemble's first member cut short
        shipped = tmp / "shipped"
        shutil.copytree(paths.models_dir(), shipped, ignore=shutil.ignore_patterns("*.py"))
        _copy_model(shipped, cut=20_000)
        (shipped / "mine.onnx").replace(shipped / BUNDLED.name)
        (shipped / "mine.json").replace(shipped / BUNDLED.with_suffix(".json").name)
        monkeypatch.setattr(paths, "models_dir", lambda: shipped)
        return "bundled", "", BUNDLED.name
    raise AssertionError(kind)


KINDS = [
    "missing",
    "truncated",
    "card-input-size",
    "card-labels",
    "card-missing",
    "bundled-damaged",
]


@pytest.mark.parametrize("kind", KINDS)
def test_bad_model_is_explained_and_music_plays_by_hand(
    kind: str, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend, onnx_path, words = _case(kind, tmp_path, monkeypatch)
    settings_path = tmp_path / "settings.toml"
    chosen = settings_mod.Settings()
    chosen.model.backend = backend
    chosen.model.onnx_path = onnx_path
    settings_mod.save(chosen, settings_path)
    video = make_video(tmp_path / "face.mp4", pattern="F" * 10)
    args = argparse.Namespace(
        source=str(video),
        no_camera=False,
        kiosk=False,
        pin=None,
        settings=str(settings_path),
        debug=False,
    )
    running = application.start(args)
    session = running.session
    try:
        qtbot.waitUntil(lambda: session.camera_state == "failed", timeout=20_000)
        text = session.camera_text
        assert words in text, text
        assert "music keeps playing" in text.lower()
        assert running.main is not None and running.main.isVisible()
        assert session.worker is None  # no camera thread runs without a model
        # the listener picks a playlist by hand: it plays on the real mixer
        controller = session.controller
        name = controller.playlist_names()[0]
        controller.select(name)
        session.poll()
        assert controller.mode.value == "manual"
        assert session.player.state is PlayerState.PLAYING, session.player.error
        assert session.output.busy()
        print(f"\n[reliability] model {kind}: {text!r}")
    finally:
        running.close()
    saved = settings_mod.load(settings_path).settings
    assert (saved.model.backend, saved.model.onnx_path) == (backend, onnx_path)
    assert saved.window.last_selection == name
    shutil.rmtree(tmp_path / "shipped", ignore_errors=True)

"""The whole chain with the real parts: video -> CaptureWorker -> bundled model -> voter ->
controller -> player (fake audio output) -> window. The astronaut smiles; the music follows."""

from __future__ import annotations

import pytest

from app.controller import ControlMode
from app.music.audio import FakeOutput
from app.session import CameraState
from app.settings import Settings
from app.ui.main_window import MainWindow
from app.ui.session import build_session
from tests.media import face_on_background, write_video
from tests.ui.conftest import make_playlists


@pytest.mark.slow
def test_a_smile_on_video_plays_the_upbeat_playlist(qtbot, tmp_path) -> None:
    frame, _box = face_on_background("brick", face_width=160)
    video = write_video(tmp_path / "smile.mp4", [frame] * 40, fps=10.0)
    settings = Settings()
    settings.camera.analysis_rate = 10.0
    session = build_session(
        settings, tmp_path / "settings.toml", source=str(video), output=FakeOutput()
    )
    playlists = make_playlists()
    session.controller.set_library(playlists)
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.show()
    session.start()
    try:
        qtbot.waitUntil(lambda: session.camera_state == CameraState.RUNNING, timeout=15000)
        qtbot.waitUntil(lambda: session.voter.mood == "happy", timeout=15000)
        qtbot.waitUntil(
            lambda: (
                session.player.playlist is not None and session.player.playlist.name == "upbeat"
            ),
            timeout=5000,
        )
        assert session.controller.mode is ControlMode.AUTO
        assert session.analyses_per_second > 0
        window.repaint_preview()
        assert window.camera_panel.preview.has_image
        assert window.mood_panel.mood_text == "Happy"
    finally:
        session.stop()
    assert session.worker is None  # stopped and joined

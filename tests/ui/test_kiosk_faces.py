"""The kiosk reads the room: with the kiosk up every face in view votes, and its camera chip says
how many faces it sees. A real video of two faces with different expressions (the public-domain
astronaut twice, scikit-image; the brightness ``FakeModel`` reads the bright one happy, the dark
one sad) runs through the real capture worker, Haar detector and voter; leaving the kiosk gives
the desktop its own setting back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.controller import Controller
from app.mood.voter import MoodVoter, VoterConfig
from app.music.audio import FakeOutput
from app.music.player import Player
from app.settings import Settings
from app.ui.kiosk import KioskWindow
from app.ui.kiosk_awake import ScreenAwake
from app.ui.session import Session
from app.vision.analyzer import Analyzer
from app.vision.capture import CaptureWorker
from app.vision.detector import HaarFaceDetector
from app.vision.fakes import FakeModel, level_for
from app.vision.source_registry import open_source
from tests.media import room_scene, write_video
from tests.ui.test_kiosk import FakeAwake, _library

HAPPY = (150, (190, 230), level_for("happy"))
SAD = (130, (470, 220), level_for("sad"))


def test_the_kiosk_counts_two_faces_in_a_video_and_both_vote(qtbot: Any, tmp_path: Path) -> None:
    frame, _boxes = room_scene([HAPPY, SAD])
    clip = str(write_video(tmp_path / "two.mp4", [frame] * 30, 10.0))
    settings = Settings()
    settings.camera.source = clip
    settings.kiosk.allowed_controls = []
    assert settings.mood.room is False  # the desktop's setting: one face votes
    player = Player(FakeOutput())
    controller = Controller(player, _library(), settings)

    def worker(analyzer: Any, on_reading: Any, on_state: Any) -> CaptureWorker:
        return CaptureWorker(
            lambda: open_source(clip, loop=True),
            analyzer,
            rate=10.0,
            on_reading=on_reading,
            on_state=on_state,
        )

    session = Session(
        settings,
        player,
        controller,
        MoodVoter(VoterConfig.from_settings(settings.mood)),
        source=clip,
        analyzer_factory=lambda: Analyzer(HaarFaceDetector(track=True), FakeModel()),
        worker_factory=worker,
        voter_factory=lambda s: MoodVoter(VoterConfig.from_settings(s.mood)),
    )
    window = KioskWindow(session, screen_awake=ScreenAwake(FakeAwake()))
    qtbot.addWidget(window, before_close_func=lambda w: w.leave_kiosk())
    try:
        window.show_kiosk()
        qtbot.waitExposed(window)
        assert session.view().room  # the kiosk reads the room
        assert session.core.worker is None or session.core.worker.preview_fps == 0.0
        session.start()
        qtbot.waitUntil(lambda: session.view().faces_voting == 2, timeout=20000)
        view = session.view()
        assert view.faces_seen == 2
        window.refresh()
        assert "Camera on · 2 faces" in window.camera_chip.text()
        assert session.core.worker is not None and session.core.worker.preview_fps == 0.0
        # both faces vote: the sad one's share is far above what one happy face leaves
        qtbot.waitUntil(lambda: session.voter.distribution["sad"] > 0.25, timeout=10000)
        shares = session.voter.distribution
        assert shares["happy"] > shares["sad"] > 0.25  # the larger happy face weighs more
        window.leave_kiosk()
        assert not session.view().room  # the desktop's own setting again: one face votes
        qtbot.waitUntil(lambda: session.view().faces_voting == 1, timeout=10000)
        assert session.view().faces_seen == 2
    finally:
        session.stop()

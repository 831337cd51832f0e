"""Kiosk mode with a pretend room, for screenshots and for trying the layout without a camera.

    python -m app.ui.kiosk_demo [--mood happy] [--idle] [--pin-dialog] [--screenshot FILE]

The session is real (player, controller) with a silent audio output and a voter that always sees a
face with the chosen mood. ``--screenshot`` grabs the screen after the window settled and exits
(``make kiosk-screenshot`` runs it under Xvfb to make docs/kiosk.png).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.controller import Controller
from app.kiosk import hash_pin
from app.mood.voter import MoodVoter
from app.music.audio import FakeOutput
from app.music.library import Playlist, Track
from app.session import CameraState
from app.settings import Settings
from app.ui import theme
from app.ui.kiosk import KioskWindow
from app.ui.session import Session

DEMO_TRACKS = {
    "upbeat": [
        ("Sunlit Steps", "The Morning Commons"),
        ("Paper Kites", "Ada & the Wide Fields"),
    ],
    "calm": [("Slow Harbour", "Lumen Quartet")],
}


class PretendVoter(MoodVoter):
    """A voter that always sees ``mood`` (and a face when ``face``)."""

    def __init__(self, mood: str | None, face: bool) -> None:
        super().__init__()
        self._pretend_mood = mood
        self._pretend_face = face

    @property
    def mood(self) -> str | None:
        return self._pretend_mood

    @property
    def face_present(self) -> bool:
        return self._pretend_face

    @property
    def confidence(self) -> float:
        return 0.8


def demo_session(mood: str | None, face: bool, controls: list[str]) -> Session:
    settings = Settings()
    settings.kiosk.allowed_controls = controls
    settings.kiosk.pin_hash = hash_pin("1234", iterations=1000)
    library = {
        name: Playlist(
            name,
            tuple(
                Track(Path(f"/demo/{name}/{i}.ogg"), title, artist, duration=200.0)
                for i, (title, artist) in enumerate(tracks)
            ),
        )
        for name, tracks in DEMO_TRACKS.items()
    }
    output = FakeOutput()
    from app.music.player import Player

    player = Player(output)
    controller = Controller(player, library, settings)
    voter = PretendVoter(mood, face)
    session = Session(settings, player, controller, voter, output=output)
    session.set_camera_state(CameraState.RUNNING, "Watching camera 0")
    controller.start()
    controller.on_mood(mood, 0.0)
    return session


def show_demo(
    mood: str | None = "happy",
    *,
    idle: bool = False,
    controls: list[str] | None = None,
    pin_dialog: bool = False,
) -> KioskWindow:
    """Show the kiosk full screen over a pretend room (a QApplication must exist)."""
    controls = ["play_pause", "skip", "volume"] if controls is None else controls
    session = demo_session(None if idle else mood, not idle, controls)
    clock_now = [0.0]
    window = KioskWindow(session, clock=lambda: clock_now[0])
    if idle:
        clock_now[0] = session.settings.kiosk.idle_after_s + 1
    window.show_kiosk()
    window.refresh()
    if pin_dialog:
        dialog = window.request_exit()
        for digit in "12":
            dialog.press(digit)
    return window


def screenshot(window: KioskWindow, target: str) -> tuple[int, int]:
    """Save what the screen shows (the window itself where the platform cannot grab screens)."""
    screen = window.screen()
    image = screen.grabWindow(0) if screen is not None else window.grab()
    if image.isNull() or image.width() < 10:
        image = window.grab()
    if not image.save(target):
        raise OSError(f"could not write {target}")
    return image.width(), image.height()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.ui.kiosk_demo")
    parser.add_argument("--mood", default="happy", help="expression the pretend room shows")
    parser.add_argument("--idle", action="store_true", help="show the idle screen (no face)")
    parser.add_argument("--pin-dialog", action="store_true", help="open the admin PIN dialog")
    parser.add_argument(
        "--controls", default="play_pause,skip,volume", help="allowed controls, comma separated"
    )
    parser.add_argument("--screenshot", help="write a PNG of the screen and exit")
    args = parser.parse_args(argv)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    theme.apply(app)
    window = show_demo(
        args.mood,
        idle=args.idle,
        controls=[c for c in args.controls.split(",") if c],
        pin_dialog=args.pin_dialog,
    )
    if args.screenshot:
        target = args.screenshot

        def grab() -> None:
            width, height = screenshot(window, target)
            print(f"wrote {target} ({width}x{height})")
            window.leave_kiosk()
            app.quit()

        QTimer.singleShot(1500, grab)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())

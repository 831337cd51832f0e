"""Screenshots of your neutral face and the room's mood in the real window and kiosk.

    xvfb-run -a -s "-screen 0 1280x800x24" env QT_QPA_PLATFORM=xcb SDL_AUDIODRIVER=dummy \
        .venv/bin/python bench/mood_screens.py docs/

Private XDG folders; the real session (`build_session`: bundled model, default detector) on a
webcam-like video of the public-domain astronaut (scikit-image), silent audio. Settings → Mood
calibrates with the running camera (``calibration-settings.png`` mid-way, while the countdown
runs), then the live bars show the corrected reading with the raw
one dashed behind it (``calibration-bars.png``: the mood panel). Then the kiosk watches a video
of two heads (the astronaut and its mirror image, different sizes) and says how many faces it
sees (``kiosk-faces.png``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def two_faces_video(path: Path, seconds: float = 30.0, fps: float = 15.0) -> Path:
    """640x480: the astronaut's head on a brick wall, and its mirror image, smaller."""
    import numpy as np

    from bench import frames

    wall = frames.background("brick")
    frame = wall.copy()
    frames.paste_face(frame, 150, (200, 230))
    mirrored = wall[:, ::-1].copy()
    frames.paste_face(mirrored, 120, (640 - 470, 210))
    frame[:, 320:] = mirrored[:, ::-1][:, 320:]
    clip = [np.roll(frame, round(4 * np.sin(i / 9)), axis=1) for i in range(int(seconds * fps))]
    return frames.write_video(path, clip, fps)


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    home = Path(tempfile.mkdtemp(prefix="moodplayer-mood-shots-"))
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        os.environ[var] = str(home / sub)
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    from bench.gui import make_portrait_video

    portrait = make_portrait_video(home / "portrait.mp4", seconds=40.0)
    room = two_faces_video(home / "two.mp4")

    from PySide6.QtWidgets import QApplication

    from app.music.audio import FakeOutput
    from app.settings import Settings
    from app.ui.application import make_qapplication
    from app.ui.kiosk import KioskWindow
    from app.ui.main_window import MainWindow
    from app.ui.session import build_session
    from app.ui.settings_dialog import SettingsDialog

    app = make_qapplication()
    settings = Settings()
    settings.camera.source = str(portrait)
    session = build_session(settings, home / "settings.toml", output=FakeOutput())
    window = MainWindow(session)
    window.resize(1240, 760)
    window.show()
    session.start()

    def wait(condition: object, timeout: float = 60.0) -> bool:
        end = time.monotonic() + timeout
        while not condition() and time.monotonic() < end:  # type: ignore[operator]
            app.processEvents()
            time.sleep(0.01)
        return bool(condition())  # type: ignore[operator]

    wait(lambda: session.view().camera.value == "running" and session.last_reading is not None)
    wait(lambda: False, 3.0)
    print("before:", {k: round(v, 2) for k, v in window.mood_panel.bars.values().items()})

    dialog = SettingsDialog(session.settings, session.settings_path, session=session)
    dialog.tabs.setCurrentIndex(
        [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())].index("Mood")
    )
    dialog.show()
    panel = dialog.calibration_panel
    assert panel is not None
    scroll = dialog.tabs.currentWidget()
    wait(lambda: False, 0.3)
    scroll.ensureWidgetVisible(panel)  # type: ignore[attr-defined]
    panel.calibrate_button.click()
    wait(lambda: session.calibration is not None and session.calibration.progress >= 0.4, 20)
    dialog.grab().save(str(out / "calibration-settings.png"))
    print("during:", panel.status.text())
    wait(lambda: not session.calibrating, 30)
    wait(lambda: False, 0.5)
    dialog.grab().save(str(home / "calibration-done.png"))
    print("after:", panel.status.text())
    dialog.accept()
    wait(lambda: False, 2.0)
    window.mood_panel.grab().save(str(out / "calibration-bars.png"))
    window.grab().save(str(home / "window.png"))
    print("corrected:", {k: round(v, 2) for k, v in window.mood_panel.bars.values().items()})
    print("raw:", window.mood_panel.bars.raw_values())

    session.reset_calibration()  # a room, not one person's face
    session.set_source(str(room))
    wait(lambda: session.view().faces_seen == 2, 30)
    wait(lambda: False, 1.5)
    window.grab().save(str(home / "window-faces.png"))
    print("window:", window.camera_status_label.text())
    kiosk = KioskWindow(session)
    kiosk.show_kiosk()
    window.hide()
    wait(lambda: session.view().faces_voting == 2 and session.voter.mood is not None, 30)
    wait(lambda: False, 1.0)
    kiosk.refresh()
    screen = QApplication.primaryScreen()
    screen.grabWindow(0).save(str(out / "kiosk-faces.png"))
    print("kiosk:", kiosk.camera_chip.text(), session.view().faces_seen, session.voter.mood)
    kiosk.leave_kiosk()
    session.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

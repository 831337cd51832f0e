"""Screenshots of the window's library: the scan's progress, and "why this track is here".

    xvfb-run -a -s "-screen 0 1280x800x24" env QT_QPA_PLATFORM=xcb \
        .venv/bin/python bench/library_screens.py docs/

Makes a private XDG home with an Artist/Album library of generated music (fast bright major
and slow dark minor pieces, FLAC/Ogg/WAV/Opus/MP3), already scanned except for a second folder of
hard links that the window's start-up scan listens to (real analysis), shows the real window,
grabs it while the scan runs (``library-progress.png``), then selects a track of a mood playlist,
opens its context menu and grabs the screen (``library-why.png``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    home = Path(tempfile.mkdtemp(prefix="moodplayer-shots-"))
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        os.environ[var] = str(home / sub)
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    from tests.music.mood_music import bright_fast_major, dark_slow_minor, write_audio

    music = home / "Music"
    pieces = {
        "Sunny Band/Morning/01 Wake Up.flac": bright_fast_major(20.0),
        "Sunny Band/Morning/02 Brighter.ogg": bright_fast_major(20.0),
        "Sunny Band/Morning/03 Run.mp3": bright_fast_major(20.0),
        "Grey Quartet/Night/01 Rain.wav": dark_slow_minor(20.0),
        "Grey Quartet/Night/02 Slow Grey.opus": dark_slow_minor(20.0),
    }
    for name, samples in pieces.items():
        path = music / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_audio(path, samples)
    from app.music import scanner
    from app.music.database import default_path

    scanner.scan_library([music], default_path())
    more = music / "Box Set"
    sources = sorted(music.rglob("*.*"))
    for disc in range(20):
        folder = more / f"Disc {disc + 1:02d}"
        folder.mkdir(parents=True)
        for i, source in enumerate(sources):
            os.link(source, folder / f"{i + 1:02d} {source.stem[3:]}{source.suffix}")

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.settings import Settings
    from app.ui.application import make_qapplication
    from app.ui.main_window import MainWindow
    from app.ui.session import build_session

    app = make_qapplication()
    settings = Settings()
    settings.music.playlist_folders = [str(music)]
    session = build_session(settings, None, no_camera=True)
    window = MainWindow(session)
    window.resize(1240, 760)
    window.show()
    session.start()

    def wait(condition: object, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while not condition() and time.monotonic() < end:  # type: ignore[operator]
            app.processEvents()
            time.sleep(0.01)

    wait(
        lambda: (
            "Listening to your library" in window.library_bar.text
            and " 20 of " not in window.library_bar.text
            and session.scan_progress is not None
            and session.scan_progress.done >= 12
        )
    )
    window.grab().save(str(out / "library-progress.png"))
    print("progress:", window.library_bar.text)
    wait(lambda: not session.scanning, 300)
    wait(lambda: "upbeat" in session.controller.playlist_names(), 30)
    mood = "upbeat" if "upbeat" in session.controller.playlist_names() else "energetic"
    session.controller.select(mood)
    for _ in range(20):
        session.poll()
        app.processEvents()
    window.refresh()
    titles = [t.title for t in session.view().tracks]
    index = next(i for i, t in enumerate(session.view().tracks) if "Music" in str(t.path))
    window.track_list.setCurrentItem(window.track_list.topLevelItem(index))
    wait(lambda: "Why here" in window.track_details.text(), 10)
    print("details:", window.track_details.text(), titles[:3])
    rect = window.track_list.visualItemRect(window.track_list.topLevelItem(index))
    point = rect.center()
    window.track_list.customContextMenuRequested.emit(point)
    wait(lambda: False, 0.5)
    menu = window.track_list.menu
    if menu is not None:
        moves = menu.actions()[2].menu()
        if moves is not None:
            menu.setActiveAction(menu.actions()[2])
            wait(lambda: False, 0.3)
            moves.popup(menu.geometry().topRight())
            wait(lambda: False, 0.5)
    screen = QApplication.primaryScreen()
    screen.grabWindow(0).save(str(out / "library-why.png"))
    QTimer.singleShot(0, app.quit)
    session.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

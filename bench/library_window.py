"""The real main window while its background library scan runs: the longest event-loop stall.

    .venv/bin/python bench/library_window.py                      # 20,000 files, stand-in analysis
    .venv/bin/python bench/library_window.py --files 300 --real   # real decoding and analysis

A library of ``--files`` tracks (hard links to four short generated Ogg Vorbis tracks, in an
Artist/Album layout; the scanner sees every link as its own file) is put in the settings'
playlist folders of a fresh, private XDG home; the real window (``build_session`` +
``MainWindow``, no camera, SDL's dummy audio driver) is shown and its start-up scan runs on its
own thread. A 10 ms QTimer on the GUI thread records how late every tick is, from the first paint
until the scan has ended and the smart playlists built from the database reached the controller
(all of it: the walk, the per-file commits, the progress posted to the window, the read of
20,000 rows and of the folder playlists, ``set_library``). ``--real`` decodes and analyses each
file; without it a stand-in analysis measures everything else (real analysis speed is
``bench/library.py``'s). Prints one JSON line and a Markdown summary.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
TICK_MS = 10


def make_library(root: Path, files: int) -> None:
    sys.path.insert(0, str(REPO / "bench"))
    from library import stereo_track  # bench/library.py

    from tests.music.mood_music import write_audio

    sources = [
        write_audio(root.parent / f"src{i}.ogg", stereo_track(2.0, 100 + i)) for i in range(4)
    ]
    per_album, made = 12, 0
    while made < files:
        album = root / f"Artist {made // (per_album * 10):04d}" / f"Album {made // per_album:05d}"
        album.mkdir(parents=True, exist_ok=True)
        for track in range(min(per_album, files - made)):
            os.link(sources[(made + track) % 4], album / f"{track + 1:02d} Track.ogg")
        made += min(per_album, files - made)


class GcLog:
    """Every cyclic-GC pass: when, which generation, how long, on which thread."""

    def __init__(self) -> None:
        self.passes: list[tuple[float, int, float, str]] = []
        self._began = 0.0
        self.origin = time.perf_counter()

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        import threading

        now = time.perf_counter()
        if phase == "start":
            self._began = now
            return
        self.passes.append(
            (
                now - self.origin,
                info["generation"],
                (now - self._began) * 1000,
                threading.current_thread().name,
            )
        )

    def summary(self) -> dict[str, object]:
        full = [p for p in self.passes if p[1] == 2]
        return {
            "gc_passes": len(self.passes),
            "gc_full_passes": len(full),
            "gc_longest_ms": round(max((p[2] for p in self.passes), default=0.0), 1),
            "gc_full": [(round(t, 2), round(ms), who) for t, _g, ms, who in full][:20],
        }


def _others() -> list[str]:
    """Where every other thread is now (right after a stall: what ran instead of the GUI)."""
    import threading
    import traceback

    names = {t.ident: t.name for t in threading.enumerate()}
    me = threading.get_ident()
    found = []
    for ident, frame in sys._current_frames().items():
        if ident == me:
            continue
        stack = traceback.extract_stack(frame)[-3:]
        where = " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(stack))
        found.append(f"{names.get(ident, ident)}: {where}")
    return found


def run(
    files: int,
    real: bool,
    timeout_s: float,
    gc_log: bool = False,
    baseline_s: float = 3.0,
    why: bool = False,
) -> dict[str, object]:
    home = Path(tempfile.mkdtemp(prefix="moodplayer-bench-"))
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        os.environ[var] = str(home / sub)
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    root = home / "Music"
    made_at = time.perf_counter()
    make_library(root, files)
    made_s = time.perf_counter() - made_at

    from PySide6.QtCore import QElapsedTimer, QTimer

    from app import logs
    from app.music import scanner
    from app.settings import Settings
    from app.ui.application import make_qapplication
    from app.ui.main_window import MainWindow
    from app.ui.session import build_session

    logs.setup(debug=False, log_file=False)
    app = make_qapplication()
    settings = Settings()
    settings.music.playlist_folders = [str(root)]
    session = build_session(settings, None, no_camera=True)
    if not real:
        from library import stand_in  # bench/library.py

        roots = [root]

        def factory(_settings: Settings, on_progress: object, on_done: object) -> object:
            return scanner.ScanTask(
                roots,
                session.database_path,
                on_progress=on_progress,  # type: ignore[arg-type]
                on_done=on_done,  # type: ignore[arg-type]
                analyse=stand_in,
            )

        session.core.scan_factory = factory  # type: ignore[assignment]
    window = MainWindow(session)
    window.resize(1100, 720)
    window.show()
    stalls: list[float] = []
    at: list[float] = []  # when each tick came (s after the start)
    texts: list[str] = []
    clock = QElapsedTimer()
    state: dict[str, float] = {}

    def tracks_in_moods() -> int:
        playlists = session.controller._playlists
        names = ("calm", "gentle", "upbeat", "energetic", "melancholy", "intense")
        return sum(len(playlists[n].tracks) for n in names if n in playlists)

    idle: list[float] = []  # the same ticks before the session starts: what the machine does
    caught: list[tuple[float, int, list[str]]] = []  # --why: where the other threads were

    def tick() -> None:
        elapsed = clock.restart()
        if "started" not in state:
            idle.append(max(0.0, elapsed - TICK_MS))
            return
        stalls.append(max(0.0, elapsed - TICK_MS))
        if why and elapsed - TICK_MS > 30:
            caught.append((round(time.perf_counter() - state["started"], 2), elapsed, _others()))
        at.append(time.perf_counter() - state.get("started", 0.0))
        text = window.library_bar.text
        if text and (not texts or texts[-1] != text):
            texts.append(text)
        if "scan_done" not in state and not session.scanning and "started" in state:
            state["scan_done"] = time.perf_counter()
        if "scan_done" in state and tracks_in_moods() >= files:
            state["ready"] = time.perf_counter()
            app.quit()
        if time.perf_counter() - state.get("started", time.perf_counter()) > timeout_s:
            app.quit()

    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)

    collector = GcLog()

    def begin() -> None:
        state["started"] = collector.origin = time.perf_counter()
        session.start()
        clock.restart()

    def idle_start() -> None:
        clock.start()
        timer.start()
        QTimer.singleShot(round(baseline_s * 1000), begin)

    if gc_log:
        import gc

        gc.callbacks.append(collector)
    QTimer.singleShot(200, idle_start)
    app.exec()
    timer.stop()
    session.stop()
    ordered = sorted(stalls)
    worst = sorted(range(len(stalls)), key=stalls.__getitem__)[-5:]
    started = state.get("started", 0.0)
    return {
        "files": files,
        "analysis": "real" if real else "stand-in",
        "made_s": round(made_s, 1),
        "scan_s": round(state.get("scan_done", 0.0) - started, 1) if "scan_done" in state else None,
        "ready_s": round(state.get("ready", 0.0) - started, 1) if "ready" in state else None,
        "in_moods": tracks_in_moods(),
        "stall_max_ms": round(ordered[-1], 1) if ordered else None,
        "stall_p99_ms": round(ordered[int(len(ordered) * 0.99)], 1) if ordered else None,
        "ticks": len(ordered),
        "idle_max_ms": round(max(idle), 1) if idle else None,
        "idle_p99_ms": round(sorted(idle)[int(len(idle) * 0.99)], 1) if idle else None,
        "worst_at_s": [(round(at[i], 2), round(stalls[i])) for i in worst],
        "progress_texts": len(texts),
        "first_text": texts[0] if texts else "",
        "last_text": texts[-1] if texts else "",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        **(collector.summary() if gc_log else {}),
        **({"stalls_caught": caught} if why else {}),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--real", action="store_true", help="decode and analyse every file")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--gc", action="store_true", help="time every garbage-collector pass")
    parser.add_argument(
        "--baseline", type=float, default=3.0, help="seconds of ticks before the start (idle)"
    )
    parser.add_argument(
        "--why", action="store_true", help="after each stall over 30 ms, where the threads are"
    )
    args = parser.parse_args()
    result = run(args.files, args.real, args.timeout, args.gc, args.baseline, args.why)
    print(json.dumps(result))
    print(
        f"- {result['files']:,} files, {result['analysis']} analysis: scan {result['scan_s']} s, "
        f"smart playlists in the window after {result['ready_s']} s; longest event-loop stall "
        f"{result['stall_max_ms']} ms, 99th percentile {result['stall_p99_ms']} ms "
        f"({result['ticks']:,} ticks of {TICK_MS} ms; idle before the start: longest "
        f"{result['idle_max_ms']} ms, p99 {result['idle_p99_ms']} ms; load average "
        f"{result['load_average']})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

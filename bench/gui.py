"""GUI benchmark: the real window, the real model, a video source.

Measures, in a fresh process (so the cold start is honest):

- cold start: from just before the process is spawned to the first paint of the main window;
- the longest event-loop stall: a 10 ms QTimer records how late each tick is, over ``--seconds``;
- CPU: the process's user+system time over the run, as a share of one core;
- resident memory (RSS) at the end and the peak seen;
- analyses per second and the latency the session reports.

    .venv/bin/python bench/gui.py --seconds 30            # prints a JSON line and a summary
    .venv/bin/python bench/gui.py video out.mp4           # the portrait video (make screenshot)

The video is built from scikit-image's astronaut portrait (NASA, public domain), never downloaded.
Music plays through SDL's dummy driver unless SDL_AUDIODRIVER says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TICK_MS = 10


def make_portrait_video(path: Path, seconds: float = 20.0, fps: float = 15.0) -> Path:
    """A 640x480 'webcam' video of the astronaut portrait, slowly drifting and zooming."""
    import cv2
    import numpy as np
    from skimage import data

    portrait = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)  # 512x512
    frames = int(seconds * fps)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 480))
    if not writer.isOpened():
        raise SystemExit(f"cannot write {path}")
    for i in range(frames):
        t = i / fps
        zoom = 1.18 + 0.04 * np.sin(t * 0.5)
        dx = 10 * np.sin(t * 0.7)
        dy = 6 * np.sin(t * 0.45)
        # Centre on the face (about x=223, y=113 in the portrait), fill 640x480.
        scale = zoom * 640 / 512
        m = np.array(
            [[scale, 0, 320 - 223 * scale + dx], [0, scale, 200 - 113 * scale + dy]],
            dtype=np.float32,
        )
        frame = cv2.warpAffine(portrait, m, (640, 480), borderMode=cv2.BORDER_REFLECT)
        writer.write(frame)
    writer.release()
    return path


def child(args: argparse.Namespace) -> int:
    """Runs inside the measured process."""
    import psutil
    from PySide6.QtCore import QElapsedTimer, QEvent, QObject, QTimer

    from app import logs
    from app import settings as settings_mod
    from app.ui.application import make_qapplication
    from app.ui.main_window import MainWindow
    from app.ui.session import build_session

    logs.setup(debug=False, log_file=False)
    if os.environ.get("BENCH_GUI_SWITCH_INTERVAL"):  # experiment: GIL hand-over interval
        sys.setswitchinterval(float(os.environ["BENCH_GUI_SWITCH_INTERVAL"]))
    app = make_qapplication()
    settings = settings_mod.Settings()
    settings.camera.analysis_rate = args.rate
    settings.camera.preview_visible = not args.no_preview
    session = build_session(settings, None, source=args.source, no_camera=args.no_camera)
    window = MainWindow(session)
    result: dict[str, float | int | str] = {}

    class FirstPaint(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and "painted_at" not in result:
                result["painted_at"] = time.monotonic()
            return False

    painter = FirstPaint()
    window.installEventFilter(painter)
    window.resize(1180, 760)
    window.show()
    QTimer.singleShot(0, session.start)

    process = psutil.Process()
    stalls: list[float] = []
    state = {"measuring": False, "peak_rss": 0}
    clock = QElapsedTimer()
    tick = QTimer()
    tick.setTimerType(tick.timerType().PreciseTimer)
    tick.setInterval(TICK_MS)

    def on_tick() -> None:
        elapsed = clock.nsecsElapsed() / 1e6
        clock.restart()
        if state["measuring"]:
            stalls.append(max(0.0, elapsed - TICK_MS))

    tick.timeout.connect(on_tick)
    sampler = QTimer()
    sampler.setInterval(500)
    sampler.timeout.connect(
        lambda: state.__setitem__("peak_rss", max(state["peak_rss"], process.memory_info().rss))
    )

    def begin() -> None:
        # Measure once the model has loaded and the camera runs (warm-up excluded).
        result["camera_state"] = session.camera_state
        state["measuring"] = True
        result["cpu_start"] = sum(process.cpu_times()[:2])
        result["gui_cpu_start"] = _gui_thread_cpu(process)
        result["wall_start"] = time.monotonic()
        result["analyses_start"] = _analyses(session)
        clock.restart()
        tick.start()
        sampler.start()
        QTimer.singleShot(int(args.seconds * 1000), finish)

    def finish() -> None:
        tick.stop()
        sampler.stop()
        wall = time.monotonic() - float(result["wall_start"])
        cpu = sum(process.cpu_times()[:2]) - float(result["cpu_start"])
        gui_cpu = _gui_thread_cpu(process) - float(result["gui_cpu_start"])
        rss = process.memory_info().rss
        worst = max(range(len(stalls)), key=stalls.__getitem__) if stalls else 0
        worst_at = round(worst * TICK_MS / 1000, 1)
        stalls.sort()
        out = {
            "painted_at": result.get("painted_at", 0.0),
            "camera_state": session.camera_state,
            "seconds": round(wall, 1),
            "stall_max_ms": round(stalls[-1], 1) if stalls else None,
            "stall_p99_ms": round(stalls[int(len(stalls) * 0.99)], 1) if stalls else None,
            "ticks": len(stalls),
            "worst_stall_near_s": worst_at,
            "cpu_percent_of_one_core": round(100 * cpu / wall, 1),
            "gui_thread_cpu_percent": round(100 * gui_cpu / wall, 1),
            "rss_mb": round(rss / 2**20, 1),
            "peak_rss_mb": round(max(rss, int(state["peak_rss"])) / 2**20, 1),
            "analyses_per_s": round((_analyses(session) - int(result["analyses_start"])) / wall, 2),
            "latency_ms": round((session.latency_s or 0.0) * 1000, 1),
            "rate": args.rate,
        }
        print("RESULT " + json.dumps(out), flush=True)
        app.quit()

    def wait_for_camera(deadline: float = time.monotonic() + 30.0) -> None:
        if session.camera_state == "running" and session.last_reading is not None:
            QTimer.singleShot(2000, begin)  # two more seconds of warm-up
        elif time.monotonic() > deadline or session.camera_state in ("failed", "off"):
            begin()
        else:
            QTimer.singleShot(100, wait_for_camera)

    QTimer.singleShot(100, wait_for_camera)
    profile_to = os.environ.get("BENCH_GUI_PROFILE")  # cProfile of the GUI thread only
    if profile_to:
        import cProfile

        profiler = cProfile.Profile()
        profiler.runcall(app.exec)
        profiler.dump_stats(profile_to)
    else:
        app.exec()
    session.stop()
    return 0


def _gui_thread_cpu(process: object) -> float:
    """CPU seconds of the main (GUI) thread: on Linux its thread id is the process id."""
    for thread in process.threads():  # type: ignore[attr-defined]
        if thread.id == process.pid:  # type: ignore[attr-defined]
            return float(thread.user_time + thread.system_time)
    return 0.0


def _analyses(session: object) -> int:
    worker = getattr(session, "worker", None)
    stats = getattr(worker, "stats", None)
    return int(getattr(stats, "analyses", 0) or 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    video = sub.add_parser("video", help="write the astronaut portrait video")
    video.add_argument("out", type=Path)
    video.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=30.0, help="measured run length")
    parser.add_argument("--rate", type=float, default=10.0, help="analyses per second")
    parser.add_argument("--source", help="video to watch (default: the portrait video)")
    parser.add_argument("--no-camera", action="store_true", help="the player alone (baseline)")
    parser.add_argument("--no-preview", action="store_true", help="hide the camera preview")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.command == "video":
        make_portrait_video(args.out, args.seconds)
        print(args.out)
        return 0
    if args.child:
        return child(args)

    with tempfile.TemporaryDirectory() as tmp:
        source = args.source or str(make_portrait_video(Path(tmp) / "portrait.mp4", 10.0))
        env = dict(os.environ)
        env.setdefault("SDL_AUDIODRIVER", "dummy")
        env.setdefault("QT_QPA_PLATFORM", "offscreen" if not env.get("DISPLAY") else "xcb")
        # Private user folders: the benchmark never touches real settings.
        for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            env[var] = str(Path(tmp) / var.lower())
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            "--seconds",
            str(args.seconds),
            "--rate",
            str(args.rate),
            "--source",
            source,
            *(["--no-camera"] if args.no_camera else []),
            *(["--no-preview"] if args.no_preview else []),
        ]
        spawned = time.monotonic()
        proc = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout + proc.stderr)
        return 1
    result = json.loads(lines[-1][len("RESULT ") :])
    result["cold_start_ms"] = round((float(result.pop("painted_at")) - spawned) * 1000)
    print(json.dumps(result))
    print(
        f"cold start {result['cold_start_ms']} ms | longest stall {result['stall_max_ms']} ms "
        f"(p99 {result['stall_p99_ms']} ms) | CPU {result['cpu_percent_of_one_core']} % of one "
        f"core (GUI thread {result['gui_thread_cpu_percent']} %) | RSS {result['rss_mb']} MB "
        f"(peak {result['peak_rss_mb']}) | "
        f"{result['analyses_per_s']} analyses/s at rate {result['rate']} | camera "
        f"{result['camera_state']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

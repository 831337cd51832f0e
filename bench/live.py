"""Live mood benchmark: the capture worker with the real model on a 640x480, 30 fps video.

Measures, on this machine:

- frame -> reading latency (capture of the frame to the reading published), median and p95,
  at the default analysis rate;
- analyses per second at the default rate, with the rate unlimited (bounded by the video's 30
  fps), and what one core could do (1 / mean analysis time);
- the share of one CPU core the process uses at the default rate (psutil ``cpu_times`` over the run;
  the process is only the worker: the grab thread decoding the video and the analysis thread);
- mean time per stage (read, detect, crop, infer).

The video is the benchmark scenes (``bench/frames.py``: the astronaut's face at several sizes on
busy backgrounds, a quarter of the frames without a face), written to a temporary folder and
deleted afterwards. Run::

    .venv/bin/python bench/live.py                 # print the table
    .venv/bin/python bench/live.py --write         # and put it into docs/BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from app.vision.capture import CaptureStats, CaptureWorker  # noqa: E402
from app.vision.reading import Reading  # noqa: E402
from app.vision.source_registry import open_source  # noqa: E402
from bench import frames as bench_frames  # noqa: E402

SECTION = "## Live mood"
DOC = REPO / "docs" / "BENCHMARKS.md"


@dataclass
class Result:
    rate: float
    seconds: float
    analyses: int
    frames: int
    drops: int
    latencies: list[float]
    cpu_share: float
    stats: CaptureStats
    # CPU share of one core by thread: the grab thread (grab, and decode of the frames analysed
    # or previewed), the analysis thread (detect, crop, classify), everything else
    grab_share: float = 0.0
    analysis_share: float = 0.0
    # process CPU seconds per analysis: the analysis thread's, and the whole process's
    analysis_cpu: float = 0.0

    @property
    def per_second(self) -> float:
        return self.analyses / self.seconds

    def pct(self, q: float) -> float:
        values = sorted(self.latencies)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def bgr_to_yuyv(frame: Any) -> Any:
    """A BGR frame as a UVC webcam sends it: YUYV 4:2:2 (Y0 U Y1 V), 2 bytes a pixel."""
    import cv2
    import numpy as np

    yuv = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV)
    packed = np.empty((*frame.shape[:2], 2), np.uint8)
    packed[:, :, 0] = yuv[:, :, 0]
    packed[:, 0::2, 1] = yuv[:, 0::2, 1]
    packed[:, 1::2, 1] = yuv[:, 0::2, 2]
    return packed


class CameraStandIn:
    """A webcam as the capture worker sees one, from frames kept in memory: live (``fps`` None,
    read as fast as frames come), ``grab()`` waits for the camera's next frame and takes its
    buffer (YUYV, as a UVC webcam sends 640x480), ``retrieve()`` converts it to BGR as OpenCV's
    V4L2 backend does. Asked for a lower rate (``hint_rate``, which the worker calls) it runs
    at what ``camera_fps_for`` asks for; ``fixed_fps`` is a camera that ignores the request.
    ``buffers``: the frames, each already ``bgr_to_yuyv``'s."""

    fps: float | None = None

    def __init__(self, buffers: list[Any], fixed_fps: float | None = None) -> None:
        self.name = "camera stand-in"
        self._buffers = buffers
        self.camera_fps = fixed_fps or 30.0
        self._fixed = fixed_fps is not None
        self._next = 0.0
        self._index = -1

    def hint_rate(self, analyses_per_s: float) -> None:
        from app.vision.camera import camera_fps_for

        if not self._fixed:
            self.camera_fps = camera_fps_for(analyses_per_s)

    def open(self) -> None:
        self._next = time.monotonic()

    def grab(self) -> bool:
        wait = self._next - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._next = max(self._next + 1.0 / self.camera_fps, time.monotonic() - 0.5)
        # the scene moves on at 30 fps whatever rate the camera was asked for
        self._index += round(30.0 / self.camera_fps)
        return True

    def retrieve(self) -> Any:
        import cv2

        buffer = self._buffers[self._index % len(self._buffers)]
        return cv2.cvtColor(buffer, cv2.COLOR_YUV2BGR_YUYV)

    def read(self) -> Any:
        self.grab()
        return self.retrieve()

    def close(self) -> None:
        pass


class NoAnalysis:
    """An analyser that reads nothing: what the video alone costs (grab, decode, pacing)."""

    def analyze(self, frame_bgr: object, time: float, frame_index: int = -1) -> Reading:
        return Reading(time, None, {}, frame_index=frame_index)


def run_worker(
    video: Path | list[Any],
    rate: float,
    seconds: float,
    threads: int,
    detector: str = "",
    analyse: bool = True,
    fixed_fps: float | None = None,
) -> Result:
    """The worker on ``video`` (a file), or on a ``CameraStandIn`` of these YUYV buffers."""
    from app.vision.analyzer import build_analyzer
    from app.vision.detector_registry import build_detector

    analyzer: Any = build_analyzer(threads=threads) if analyse else NoAnalysis()
    if detector and analyse:
        analyzer.detector = build_detector(detector, track=True)
    latencies: list[float] = []
    lock = threading.Lock()

    def on_reading(reading: Reading) -> None:
        done = time.monotonic()
        with lock:
            latencies.append(done - reading.time)

    def source() -> Any:
        if isinstance(video, list):
            stand_in = CameraStandIn(video, fixed_fps)
            stand_in.open()
            return stand_in
        return open_source(str(video), loop=True)

    worker = CaptureWorker(source, analyzer, rate=rate, on_reading=on_reading)
    process = psutil.Process()
    worker.start()
    time.sleep(1.0)  # warm up: model session, first decode
    with lock:
        latencies.clear()
    ids = {
        "grab": worker._grab_thread.native_id,  # the worker's threads, by their kernel ids
        "analysis": worker._analysis_thread.native_id,
    }

    def by_thread() -> dict[str, float]:
        times = {t.id: t.user_time + t.system_time for t in process.threads()}
        return {name: times.get(tid or -1, 0.0) for name, tid in ids.items()}

    before_stats = worker.stats
    before_threads = by_thread()
    before_cpu = process.cpu_times()
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    after_cpu = process.cpu_times()
    after_threads = by_thread()
    after_stats = worker.stats
    worker.stop()
    used = (after_cpu.user - before_cpu.user) + (after_cpu.system - before_cpu.system)
    spent = {k: after_threads[k] - before_threads[k] for k in ids}
    analyses = max(after_stats.analyses - before_stats.analyses, 1)
    with lock:
        measured = list(latencies)
    return Result(
        rate=rate,
        seconds=elapsed,
        analyses=after_stats.analyses - before_stats.analyses,
        frames=after_stats.frames - before_stats.frames,
        drops=after_stats.drops - before_stats.drops,
        latencies=measured,
        cpu_share=used / elapsed,
        stats=after_stats,
        grab_share=spent["grab"] / elapsed,
        analysis_share=spent["analysis"] / elapsed,
        analysis_cpu=spent["analysis"] / analyses,
    )


def budget(video: Path, rounds: int = 3, detectors: tuple[str, ...] = ("blazeface", "haar")) -> str:
    """CPU time per analysis by stage, measured in this thread (``time.thread_time``) on the
    frames a 10/s analysis of the clip takes (decoded beforehand), the detectors taking turns
    round after round so a busy machine disturbs them alike; the median of the rounds."""
    import cv2
    import numpy as np

    from app.vision.analyzer import build_analyzer
    from app.vision.detector_registry import build_detector

    capture = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    frames = frames[::3]
    base = build_analyzer(threads=1)
    per: dict[str, dict[str, list[float]]] = {d: {"detect": [], "read": []} for d in detectors}
    for _round in range(rounds):
        for name in detectors:
            detector = build_detector(name, track=True)
            detector.detect(frames[0])
            detect = read = 0.0
            for frame in frames:
                t0 = time.thread_time()
                boxes = detector.detect(frame)
                t1 = time.thread_time()
                if boxes:
                    items = [base.model.crop(frame, b) for b in boxes[:4]]
                    base.classify(items)
                t2 = time.thread_time()
                detect, read = detect + t1 - t0, read + t2 - t1
            per[name]["detect"].append(detect / len(frames))
            per[name]["read"].append(read / len(frames))
    lines = [
        "| detector | CPU per analysis: detect | crop + classify | total | at 10 analyses/s |",
        "|---|---|---|---|---|",
    ]
    for name in detectors:
        d = float(np.median(per[name]["detect"]))
        r = float(np.median(per[name]["read"]))
        share = 100 * 10 * (d + r)
        lines.append(f"| {name} | {_ms(d)} | {_ms(r)} | {_ms(d + r)} | {share:.1f} % of a core |")
    return "\n".join(lines)


def _vector(top: str, p: float, second: str | None = None, q: float = 0.0) -> dict[str, float]:
    from app.vision.reading import EXPRESSIONS

    rest = (1.0 - p - q) / (len(EXPRESSIONS) - (2 if second else 1))
    out = dict.fromkeys(EXPRESSIONS, rest)
    out[top] = p
    if second:
        out[second] = q
    return out


def voter_figures(rate: float = 10.0) -> list[tuple[str, str]]:
    """The voter with the default settings on scripted readings (time from the readings)."""
    import random

    from app.mood.voter import MoodVoter
    from app.vision.reading import Box

    face = Box(0, 0, 1, 1)
    rows: list[tuple[str, str]] = []
    for p in (0.5, 0.7, 0.9):
        voter, t, changed = MoodVoter(), 0.0, None
        for i in range(int(10 * rate)):
            t = i / rate
            top = "neutral" if t < 5.0 else "happy"
            change = voter.update(Reading(t, face, _vector(top, p)))
            if change is not None and change.current == "happy":
                changed = change.time - 5.0
                break
        value = "never" if changed is None else f"{changed:.1f} s"
        rows.append((f"voter: clean change neutral → happy (top p {p}), latency", value))
    for frac, hard in ((0.5, True), (0.4, True), (0.2, True), (0.5, False)):
        flips = 0
        for seed in range(20):
            rng, voter = random.Random(seed), MoodVoter()
            for i in range(40):
                voter.update(Reading(i / rate, face, _vector("sad", 0.7)))
            for i in range(40, 40 + int(60 * rate)):
                away = rng.random() < frac
                if hard:
                    vector = _vector("happy" if away else "sad", 0.7)
                else:
                    vector = _vector(
                        "happy" if away else "sad", 0.5, "sad" if away else "happy", 0.3
                    )
                flips += voter.update(Reading(i / rate, face, vector)) is not None
        kind = "sure readings (0.7)" if hard else "unsure readings (0.5 / 0.3)"
        rows.append(
            (
                f"voter: random flicker, {int(frac * 100)} % other mood, {kind}",
                f"{flips / 20:.1f} changes/min",
            )
        )
    return rows


def _ms(value: float) -> str:
    return f"{1000.0 * value:.1f} ms"


def table(
    default: Result,
    unlimited: Result,
    video_only: Result | None = None,
    repeats: list[Result] | None = None,
) -> str:
    """The table; ``repeats``: every run at the default rate (``default`` is their median run)."""
    s = default.stats
    n = max(s.analyses, 1)
    runs = sorted(repeats or [default], key=lambda r: r.cpu_share)
    shares = ", ".join(f"{100 * r.cpu_share:.1f}" for r in runs)
    p95s = ", ".join(f"{1000 * r.pct(0.95):.1f}" for r in runs)
    rows = [
        ("analyses per second at the default rate (10/s)", f"{default.per_second:.2f}"),
        ("frame → reading latency, median", _ms(default.pct(0.5))),
        ("frame → reading latency, p95", _ms(default.pct(0.95))),
        ("share of one core used at the default rate", f"{100 * default.cpu_share:.1f} %"),
        *(
            [
                (f"… in each of the {len(runs)} runs (the median run is shown)", f"{shares} %"),
                (f"frame → reading p95 in each of the {len(runs)} runs", f"{p95s} ms"),
            ]
            if len(runs) > 1
            else []
        ),
        (
            "… of it the grab thread (grab every frame, decode those analysed)",
            f"{100 * default.grab_share:.1f} %",
        ),
        (
            "… of it the analysis thread (detect, crop, classify)",
            f"{100 * default.analysis_share:.1f} %",
        ),
        ("CPU time per analysis (analysis thread)", _ms(default.analysis_cpu)),
        *(
            [
                (
                    "share of one core for the video alone (grab, decode, no analysis)",
                    f"{100 * video_only.cpu_share:.1f} %",
                )
            ]
            if video_only is not None
            else []
        ),
        ("frames read per second (30 fps video)", f"{default.frames / default.seconds:.1f}"),
        ("frames dropped (not analysed) per second", f"{default.drops / default.seconds:.1f}"),
        ("mean time per frame read (decode)", _ms(s.read_s / max(s.frames, 1))),
        ("mean time per analysis: detect", _ms(s.detect_s / n)),
        ("mean time per analysis: crop", _ms(s.crop_s / n)),
        ("mean time per analysis: infer", _ms(s.infer_s / n)),
        (
            "analyses per second, rate unlimited (never more than the 30 fps)",
            f"{unlimited.per_second:.1f}",
        ),
        (
            "analyses per second one core could do (1 / mean analysis time)",
            f"{unlimited.stats.analyses / max(unlimited.stats.analyze_s, 1e-9):.0f}",
        ),
        (
            "frame → reading latency at that rate, median",
            _ms(unlimited.pct(0.5)),
        ),
        ("share of one core used, rate unlimited", f"{100 * unlimited.cpu_share:.0f} %"),
    ]
    rows += voter_figures()
    lines = ["| measure | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)


VIDEO_TEXT = "reading a 640x480, 30 fps video of the benchmark scenes (`bench/frames.py`) in a loop"
CAMERA_TEXT = (
    "reading a webcam stand-in (`CameraStandIn`: the clip's 640x480 frames as YUYV buffers in "
    "memory, as a UVC webcam sends them; a grab takes the next buffer at the camera's pace, a "
    "retrieve converts it to BGR as OpenCV's V4L2 backend does; the camera runs at the rate the "
    "worker asks for, 15 fps for 10 analyses a second)"
)


def section(body: str, command: str, seconds: float, source_text: str = VIDEO_TEXT) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = cpu
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{SECTION}\n\n"
        f"The capture worker (grab thread + analysis thread) with the bundled model (onnxruntime, "
        f"1 thread) and the default face detector (BlazeFace), {source_text}; {seconds:g} s per "
        f"measurement after 1 s of warm-up. CPU share is the whole process (grab, decode and "
        f"analysis), psutil `cpu_times`. "
        f"Dropped frames are by design: the source brings more frames than the worker analyses "
        f"(the newest one, 10 times a second). The voter rows replay scripted readings at 10/s "
        f"through `MoodVoter` with the default settings (window 2 s, margin 0.12, dwell 0.6 s); "
        f"flicker rows average 20 seeded minutes.\n\n"
        f"Latency here is from the moment the frame was read to the Reading: it includes the "
        f"time the newest frame waited for the analysis thread's next turn (up to one video frame, "
        f"33 ms at 30 fps), so its p95 sits above the perception benchmark's (analysis alone). "
        f"The sustained-change target (music follows within 2.5 s) is voter latency plus the "
        f"controller's immediate switch; a 0.5 s grimace never flips (tests/mood).\n\n"
        f"- machine: {model}, {os.cpu_count()} logical CPUs (load average "
        f"{os.getloadavg()[0]:.1f} at the end), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}\n"
        f"- date: {when}\n"
        f"- command: `{command}`\n\n"
        f"{body}\n"
    )


def write_section(text: str, path: Path = DOC) -> None:
    """Replace the "Live mood" section of ``path`` (up to the next ``## `` heading) or append it."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda _: text + "\n", old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.write_text(new.rstrip("\n") + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per measurement (default 20)")
    parser.add_argument("--rate", type=float, default=10.0, help="default analysis rate (10)")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads (default 1)")
    parser.add_argument("--write", action="store_true", help="write the section into BENCHMARKS")
    parser.add_argument("--detector", default="", help="face detector (default: the app's)")
    parser.add_argument(
        "--clip",
        choices=("scenes", "webcam"),
        default="scenes",
        help="scenes: a new face and background every 1/3 s (the hard case); webcam: one "
        "listener swaying in front of a wall, away 2 s in 10 (bench/frames.py)",
    )
    parser.add_argument(
        "--camera",
        nargs="?",
        const="hinted",
        choices=("hinted", "30"),
        help="a webcam stand-in instead of a video file: YUYV frames in memory, grab takes a "
        "buffer, retrieve converts it; 'hinted' (default) runs at the rate the worker asks for "
        "(15 fps for 10 analyses/s), '30' is a camera that ignores it",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="measure the default rate N times; the table shows the median run and every share",
    )
    parser.add_argument(
        "--raw",
        action="store_true",
        help="uncompressed frames (an .avi): a webcam's cost, a grab with nothing to decompress",
    )
    parser.add_argument(
        "--budget",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="only the CPU per analysis by stage, in this thread, over this many rounds",
    )
    args = parser.parse_args(argv)
    if args.budget:
        with tempfile.TemporaryDirectory(prefix="moodplayer-bench-") as tmp:
            frames = (
                bench_frames.make_webcam_frames(600)
                if args.clip == "webcam"
                else bench_frames.make_benchmark_frames(300)
            )
            video = bench_frames.write_video(Path(tmp) / "clip.mp4", frames, fps=30.0)
            print(budget(video, args.budget))
        return 0
    with tempfile.TemporaryDirectory(prefix="moodplayer-bench-") as tmp:
        frames = (
            bench_frames.make_webcam_frames(600)
            if args.clip == "webcam"
            else bench_frames.make_benchmark_frames(300)
        )
        fixed = 30.0 if args.camera == "30" else None
        if args.camera:
            video: Path | list[Any] = [bgr_to_yuyv(f) for f in frames]
        else:
            video = bench_frames.write_video(Path(tmp) / "clip.mp4", frames, fps=30.0, raw=args.raw)
        print(f"default rate {args.rate:g}/s for {args.seconds:g} s ...", file=sys.stderr)
        repeats = [
            run_worker(video, args.rate, args.seconds, args.threads, args.detector, True, fixed)
            for _ in range(max(1, args.repeat))
        ]
        default = sorted(repeats, key=lambda r: r.cpu_share)[len(repeats) // 2]
        print(f"rate unlimited for {args.seconds / 2:g} s ...", file=sys.stderr)
        unlimited = run_worker(
            video, 1000.0, args.seconds / 2, args.threads, args.detector, True, fixed
        )
        print(f"the video alone for {args.seconds / 2:g} s ...", file=sys.stderr)
        video_only = run_worker(
            video, args.rate, args.seconds / 2, args.threads, analyse=False, fixed_fps=fixed
        )
    body = table(default, unlimited, video_only, repeats)
    print(body)
    if args.write:
        command = "python bench/live.py " + " ".join(argv if argv is not None else sys.argv[1:])
        source_text = CAMERA_TEXT if args.camera else VIDEO_TEXT
        if args.clip == "webcam":
            source_text = source_text.replace(
                "of the benchmark scenes", "of the webcam clip (a listener swaying)"
            ).replace("the clip's", "the webcam clip's (a listener swaying)")
        write_section(section(body, command.strip(), args.seconds, source_text))
        print(f"wrote the {SECTION[3:]!r} section of {DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

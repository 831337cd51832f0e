"""Face detectors compared where the app runs them: Haar, BlazeFace and YuNet, each tracking as in
the app, at 10 analyses a second (every 3rd frame of a 30 fps clip), on one CPU thread.

Clips (``bench/frames.py``, built from the public-domain astronaut portrait, nothing
downloaded): a listener swaying in front of a wall (away 2 s in 10), the same with the head
rolling up to 20 degrees either way, and the benchmark scenes (a new face size and background
every 1/3 s, a quarter without a face). Figures: faces found in frames with a face (a box with
IoU > 0.3 with the true face; the rolled head's truth is its unrolled box), faces "found" in
frames without one (or boxes away from the face), the mean IoU of the found boxes, CPU time per
analysis (``time.process_time``). ``--leak N``: the process's memory over N calls of each
detector (whole-frame searches and tracking), to show none grows. Run::

    .venv/bin/python bench/detectors.py [--leak 3000] [--write]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import psutil  # noqa: E402

from app.vision.detector import FaceDetector, HaarFaceDetector  # noqa: E402
from app.vision.reading import Box  # noqa: E402
from bench import frames as bench_frames  # noqa: E402

SECTION = "## Face detectors (cheaper eyes)"
DOC = REPO / "docs" / "BENCHMARKS.md"


Truth = tuple[int, int, int, int] | None
DETECTORS = ("haar", "blazeface", "yunet")


def clips(n: int) -> dict[str, tuple[list[np.ndarray], list[Truth]]]:
    every = range(0, n, 3)  # the frames a 10/s analysis of a 30 fps camera takes
    truth = [bench_frames.webcam_face(i) for i in every]
    steady = bench_frames.make_webcam_frames(n)
    tilted = bench_frames.make_webcam_frames(n, tilt=20.0)
    scenes = bench_frames.make_benchmark_scenes(n // 3)
    return {
        "webcam: listener swaying": ([steady[i] for i in every], truth),
        "webcam: head rolling ±20°": ([tilted[i] for i in every], truth),
        "benchmark scenes (new face every 1/3 s)": (
            [s.frame for s in scenes],
            [s.face for s in scenes],
        ),
    }


def build(name: str, track: bool = True) -> FaceDetector | None:
    """Each detector as the app would track with it (YuNet built directly: the registry turns
    the leaking release off)."""
    if name == "haar":
        return HaarFaceDetector(track=track)
    if name == "blazeface":
        from app.vision.blazeface import BlazeFaceDetector

        return BlazeFaceDetector(track=track)
    try:
        from app.vision.yunet import YuNetFaceDetector

        return YuNetFaceDetector(track=track)
    except Exception as exc:  # not installed here
        print(f"detectors: no yunet: {exc}", file=sys.stderr)
        return None


def iou(box: Box, truth: tuple[int, int, int, int]) -> float:
    x, y, w, h = truth
    ix = max(0, min(box.x + box.w, x + w) - max(box.x, x))
    iy = max(0, min(box.y + box.h, y + h) - max(box.y, y))
    inter = ix * iy
    return inter / (box.area + w * h - inter)


def measure(
    detector: FaceDetector, frames: list[np.ndarray], truth: list[Truth]
) -> dict[str, float]:
    detector.detect(frames[0])
    if hasattr(detector, "reset"):
        detector.reset()
    cpu, found, false, overlap = [], 0, 0, []
    for frame, face in zip(frames, truth, strict=True):
        start = time.process_time()
        boxes = detector.detect(frame)
        cpu.append(time.process_time() - start)
        best = max((iou(b, face) for b in boxes), default=0.0) if face else 0.0
        if best > 0.3:
            found += 1
            overlap.append(best)
        false += sum(1 for b in boxes if not face or iou(b, face) <= 0.3)
    ms = np.array(cpu) * 1000.0
    return {
        "found": found,
        "faces": sum(t is not None for t in truth),
        "false": false,
        "empty": sum(t is None for t in truth),
        "iou": float(np.mean(overlap)) if overlap else 0.0,
        "mean": float(ms.mean()),
        "p95": float(np.percentile(ms, 95)),
        "max": float(ms.max()),
    }


def table(n: int) -> str:
    lines = [
        "| clip | detector | faces found | false faces (faceless frames) | box IoU "
        "| CPU per analysis: mean | p95 | max |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for clip, (frames, truth) in clips(n).items():
        for name in DETECTORS:
            detector = build(name)
            if detector is None:
                continue
            r = measure(detector, frames, truth)
            lines.append(
                f"| {clip} | {name} | {r['found']}/{r['faces']} | {r['false']} ({r['empty']}) "
                f"| {r['iou']:.2f} | {r['mean']:.1f} ms | {r['p95']:.1f} ms | {r['max']:.1f} ms |"
            )
    return "\n".join(lines)


def leak_table(calls: int) -> str:
    """Resident memory of this process before and after ``calls`` calls of each detector, half
    on whole frames (track off) and half tracking the webcam clip, in steps."""
    process = psutil.Process()
    webcam = bench_frames.make_webcam_frames(90)
    scenes = [s.frame for s in bench_frames.make_benchmark_scenes(30)]
    steps = 4
    lines = [
        "| detector | RSS after 1 call | "
        + " | ".join(f"after {calls * (k + 1) // steps}" for k in range(steps))
        + " | growth per 1,000 calls |",
        "|---|---|" + "---|" * steps + "---|",
    ]
    for name in DETECTORS:
        whole, tracking = build(name, track=False), build(name, track=True)
        if whole is None or tracking is None:
            continue
        whole.detect(scenes[0])
        tracking.detect(webcam[0])
        start = process.memory_info().rss
        marks = []
        done = 0
        for k in range(steps):
            while done < calls * (k + 1) // steps:
                if done % 2:
                    whole.detect(scenes[done % len(scenes)])
                else:
                    tracking.detect(webcam[done % len(webcam)])
                done += 1
            marks.append(process.memory_info().rss)
        per_k = (marks[-1] - marks[0]) / 1e6 / (calls * (steps - 1) / steps) * 1000
        lines.append(
            f"| {name} | {start / 1e6:.0f} MB | "
            + " | ".join(f"{m / 1e6:.0f} MB" for m in marks)
            + f" | {per_k:+.1f} MB |"
        )
    return "\n".join(lines)


def write_section(text: str, path: Path = DOC) -> None:
    old = path.read_text(encoding="utf-8")
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda _: text + "\n", old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.write_text(new.rstrip("\n") + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600, help="30 fps frames per clip")
    parser.add_argument("--write", action="store_true", help="print the section for BENCHMARKS")
    parser.add_argument("--leak", type=int, default=0, help="also: memory over this many calls")
    parser.add_argument("--only-leak", action="store_true", help="skip the clips table")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    body = "" if args.only_leak else table(args.frames)
    if args.leak:
        body += ("\n\n" if body else "") + leak_table(args.leak)
    print(body)
    if args.write:
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        intro = (
            f"{SECTION}\n\n{__doc__.split(chr(10) + chr(10))[0]}\n\n"
            f"Command: `python bench/detectors.py --write` (load average {load}).\n\n"
        )
        write_section(intro + body + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Face detectors compared where the app runs them: Haar vs YuNet, each tracking as in the app,
at 10 analyses a second (every 3rd frame of a 30 fps clip), on one CPU thread.

Clips (``bench/frames.py``, built from the public-domain astronaut portrait, nothing
downloaded): a listener swaying in front of a wall (away 2 s in 10), the same with the head
rolling up to 20 degrees either way, and the benchmark scenes (a new face size and background
every 1/3 s, a quarter without a face). Figures: faces found in frames with a face, faces
"found" in frames without one, CPU time per analysis (``time.process_time``). Run::

    .venv/bin/python bench/detectors.py [--write]
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
from bench import frames as bench_frames  # noqa: E402

SECTION = "## Face detectors (cheaper eyes)"
DOC = REPO / "docs" / "BENCHMARKS.md"


def clips(n: int) -> dict[str, tuple[list[np.ndarray], list[bool]]]:
    every = range(0, n, 3)  # the frames a 10/s analysis of a 30 fps camera takes
    present = [bench_frames.webcam_present(i) for i in every]
    steady = bench_frames.make_webcam_frames(n)
    tilted = bench_frames.make_webcam_frames(n, tilt=20.0)
    scenes = bench_frames.make_benchmark_scenes(n // 3)
    return {
        "webcam: listener swaying": ([steady[i] for i in every], present),
        "webcam: head rolling ±20°": ([tilted[i] for i in every], present),
        "benchmark scenes (new face every 1/3 s)": (
            [s.frame for s in scenes],
            [s.face is not None for s in scenes],
        ),
    }


def build(name: str) -> FaceDetector | None:
    """Each detector as the app would track with it (YuNet built directly: the registry turns
    the leaking release off)."""
    if name == "haar":
        return HaarFaceDetector(track=True)
    try:
        from app.vision.yunet import YuNetFaceDetector

        return YuNetFaceDetector(track=True)
    except Exception as exc:  # not installed here
        print(f"detectors: no yunet: {exc}", file=sys.stderr)
        return None


def measure(
    detector: FaceDetector, frames: list[np.ndarray], present: list[bool]
) -> dict[str, float]:
    process = psutil.Process()
    detector.detect(frames[0])
    rss = process.memory_info().rss
    cpu, found, false = [], 0, 0
    for frame, face in zip(frames, present, strict=True):
        start = time.process_time()
        boxes = detector.detect(frame)
        cpu.append(time.process_time() - start)
        found += bool(face and boxes)
        false += bool(not face and boxes)
    ms = np.array(cpu) * 1000.0
    grown = (process.memory_info().rss - rss) / 1e6
    return {
        "grown": grown * 1000.0 / len(frames),
        "found": found,
        "faces": sum(present),
        "false": false,
        "empty": len(present) - sum(present),
        "mean": float(ms.mean()),
        "p95": float(np.percentile(ms, 95)),
        "max": float(ms.max()),
    }


def table(n: int) -> str:
    lines = [
        "| clip | detector | faces found | false faces | CPU per analysis: mean | p95 | max |",
        "|---|---|---|---|---|---|---|",
    ]
    for clip, (frames, present) in clips(n).items():
        for name in ("haar", "yunet"):
            detector = build(name)
            if detector is None:
                continue
            r = measure(detector, frames, present)
            lines.append(
                f"| {clip} | {name} | {r['found']}/{r['faces']} | {r['false']}/{r['empty']} "
                f"| {r['mean']:.1f} ms | {r['p95']:.1f} ms | {r['max']:.1f} ms |"
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
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    body = table(args.frames)
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

"""Library analysis speed and a 20,000-file scan (docs/BENCHMARKS.md, "Library").

    .venv/bin/python bench/library.py                       # everything, defaults below
    .venv/bin/python bench/library.py --tracks 24 --files 20000 --seconds 180

1. Analysis speed: ``--tracks`` generated stereo 44.1 kHz tracks of ``--seconds`` each in the
   formats a real library has (MP3, Ogg Vorbis, FLAC, Opus, M4A/AAC when PyAV is there), analysed
   one after another on one core (the process is pinned to CPU 0): tracks per second, and the
   time per format.
2. A 20,000-file library (``--files``): hard links to a few short generated tracks in an
   Artist/Album layout. First scan with a stand-in analysis (the walk, the stat calls and the
   database writes; real decoding is measured in 1), then a rescan where nothing changed (what
   every later start-up pays), then a rescan after 100 files changed.
3. While each scan runs on a worker thread, a "UI" thread asks to run every 5 ms and records how
   late it ran: the longest stall is what a window would feel (the scan must not hold the GIL).

Prints a Markdown section to paste into docs/BENCHMARKS.md; writes nothing else but temporary
files.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "music"))

from mood_music import piece, write_audio  # noqa: E402

from app.music import analysis, decode  # noqa: E402
from app.music.scanner import scan_library  # noqa: E402
from app.music.tags import Tags  # noqa: E402


def stereo_track(seconds: float, seed: int) -> np.ndarray:
    """A mono piece at 44.1 kHz (the writer makes one channel; decoders fold to stereo)."""
    rng = np.random.default_rng(seed)
    return piece(
        bpm=float(rng.uniform(60, 170)),
        root=int(rng.integers(55, 67)),
        minor=bool(rng.integers(0, 2)),
        harmonics=int(rng.integers(1, 10)),
        hats=bool(rng.integers(0, 2)),
        level=float(rng.uniform(0.1, 0.9)),
        seconds=seconds,
        rate=44100,
        seed=seed,
    )


class StallMeter:
    """A thread that wants to run every ``period`` s; records how late each wake-up was."""

    def __init__(self, period: float = 0.005) -> None:
        self.period = period
        self.late: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            start = time.perf_counter()
            time.sleep(self.period)
            self.late.append(time.perf_counter() - start - self.period)

    def __enter__(self) -> StallMeter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> str:
        if not self.late:
            return "n/a"
        ordered = sorted(self.late)
        p99 = ordered[int(len(ordered) * 0.99)]
        return f"longest {max(ordered) * 1000:.0f} ms, 99th percentile {p99 * 1000:.1f} ms"


def on_worker(work: Callable[[], object]) -> tuple[object, StallMeter, float]:
    result: dict[str, object] = {}
    with StallMeter() as meter:
        started = time.perf_counter()
        thread = threading.Thread(target=lambda: result.setdefault("r", work()))
        thread.start()
        thread.join()
        elapsed = time.perf_counter() - started
    return result.get("r"), meter, elapsed


@contextlib.contextmanager
def one_core() -> Iterator[str]:
    if hasattr(os, "sched_setaffinity"):
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(before)})
        try:
            yield f"pinned to CPU {min(before)}"
        finally:
            os.sched_setaffinity(0, before)
    else:
        yield "not pinned (no sched_setaffinity here)"


def bench_analysis(folder: Path, tracks: int, seconds: float) -> list[str]:
    formats = [".mp3", ".ogg", ".flac", ".opus"]
    if "pyav" in decode.DECODERS.available():
        formats.append(".m4a")
    paths = []
    for index in range(tracks):
        suffix = formats[index % len(formats)]
        paths.append(write_audio(folder / f"t{index:03d}{suffix}", stereo_track(seconds, index)))
    per_format: dict[str, list[float]] = {}
    with one_core() as pinned:
        analysis.analyse_file(paths[0])  # warm imports and caches
        started = time.perf_counter()
        for path in paths:
            t0 = time.perf_counter()
            analysis.analyse_file(path)
            per_format.setdefault(path.suffix, []).append(time.perf_counter() - t0)
        total = time.perf_counter() - started
        _, meter, _ = on_worker(lambda: [analysis.analyse_file(p) for p in paths[:8]])
    rows = [
        f"- {tracks} tracks of {seconds:.0f} s (3 excerpts of 10 s each decoded), {pinned}: "
        f"**{tracks / total:.1f} tracks/s** ({total / tracks * 1000:.0f} ms a track)",
        "- per format (median ms): "
        + ", ".join(
            f"{s[1:]} {statistics.median(v) * 1000:.0f}" for s, v in sorted(per_format.items())
        ),
        f"- a 5 ms UI thread while 8 tracks are analysed on a worker: {meter.summary()}",
    ]
    return rows


def stand_in(path: Path) -> analysis.Analysis:
    features = analysis.Features(0.5, 0.5, 120.0, -14.0, 0.9, 1500.0, 3.0, 0.5, "C major")
    return analysis.Analysis(
        features, Tags(), "upbeat", "audio", 180.0, "stand-in", -4.0, "measured"
    )


def bench_scan(folder: Path, files: int) -> list[str]:
    sources = [write_audio(folder / f"src{i}.ogg", stereo_track(2.0, 100 + i)) for i in range(4)]
    root = folder / "library"
    per_album = 12
    made = 0
    while made < files:
        artist = root / f"Artist {made // (per_album * 10):04d}"
        album = artist / f"Album {made // per_album:05d}"
        album.mkdir(parents=True, exist_ok=True)
        for track in range(min(per_album, files - made)):
            os.link(sources[(made + track) % 4], album / f"{track + 1:02d} Track.ogg")
        made += min(per_album, files - made)
    db = folder / "library.sqlite"
    first, meter1, t1 = on_worker(lambda: scan_library([root], db, analyse=stand_in))
    again, meter2, t2 = on_worker(lambda: scan_library([root], db, analyse=stand_in))
    changed = sorted(root.rglob("*.ogg"))[:100]
    for path in changed:  # a copy of its own (hard links share one mtime), then touched
        data = path.read_bytes()
        path.unlink()
        path.write_bytes(data)
        os.utime(path, ns=(time.time_ns(), time.time_ns() + 5 * 10**9))
    some, meter3, t3 = on_worker(lambda: scan_library([root], db, analyse=stand_in))
    assert first.tracks == files and again.analysed == 0  # type: ignore[union-attr]
    return [
        f"- first scan of {files:,} files (walk + stat + one commit per file; stand-in "
        f"analysis): {t1:.1f} s ({files / t1:,.0f} files/s); UI thread: {meter1.summary()}",
        f"- rescan, nothing changed (analysed {again.analysed}): {t2:.2f} s; "  # type: ignore[union-attr]
        f"UI thread: {meter2.summary()}",
        f"- rescan after 100 files changed ({some.analysed:,} analysed again): {t3:.2f} s; "  # type: ignore[union-attr]
        f"UI thread: {meter3.summary()}",
        f"- a real first scan of {files:,} tracks is bounded by the analysis speed above",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--files", type=int, default=20_000)
    args = parser.parse_args()
    with StallMeter() as idle:
        time.sleep(3.0)
    baseline = f"- the 5 ms UI thread with nothing else running in this process: {idle.summary()}"
    with tempfile.TemporaryDirectory(prefix="moodplayer-bench-") as temp:
        folder = Path(temp)
        (folder / "tracks").mkdir()
        (folder / "scan").mkdir()
        lines = [baseline]
        lines += bench_analysis(folder / "tracks", args.tracks, args.seconds)
        lines += bench_scan(folder / "scan", args.files)
    cpu = platform.processor() or platform.machine()
    print(f"Machine: {platform.node()} ({cpu}, {os.cpu_count()} cores), Python "
          f"{platform.python_version()}, numpy {np.__version__}, "
          f"decoders {', '.join(decode.DECODERS.available())}")  # fmt: skip
    print(f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average "
          f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "")  # fmt: skip
    print(f"Command: .venv/bin/python bench/library.py --tracks {args.tracks} "
          f"--seconds {args.seconds:g} --files {args.files}")  # fmt: skip
    print()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

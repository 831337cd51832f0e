"""The audio engine during a crossfade: memory (RSS), CPU, and the longest silent gap heard.

Runs a Player on the real ``EngineOutput`` in a child process with SDL's ``disk`` audio driver (the
decoded output is written to a file in real time), plays track A, crossfades to track B over
``--fade`` seconds, and reports:

- RSS before the first track, and the peak RSS sampled every 20 ms during the crossfade;
- CPU time of the whole process over the crossfade, as % of one core;
- the longest run of 5 ms windows under -50 dBFS between A's start and B's end (the gap), and
  under -30 dBFS RMS (an audible dip);
- underruns the engine counted (an idle channel while chunks should be flowing).

``--load N`` adds N busy processes; ``--gil`` a pure-Python thread in the engine's own process
(a GIL that is never free for long), the worst case for a Python-fed mixer. ``--chunk`` sets the
engine's chunk size in frames. Example::

    .venv/bin/python bench/audio_engine.py --load 2 --gil --chunk 8192
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def _music(seconds: float, rate: int, base: float, seed: int) -> np.ndarray:
    """A chord with a beat and some noise: decodes like music, not like one sine."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    chord = sum(np.sin(2 * np.pi * base * r * t) for r in (1.0, 1.25, 1.5)) / 3
    beat = 0.5 + 0.5 * (np.sin(2 * np.pi * 2 * t) > 0)
    signal = 0.4 * chord * beat + 0.02 * rng.standard_normal(len(t))
    return signal.astype(np.float32)


def _busy() -> None:  # pragma: no cover - a load generator
    while True:
        pass


def child(work: Path, fade: float, chunk: int, load: int, gil: bool, stream: bool) -> None:
    import psutil
    from audio_files import write_flac, write_mp3

    from app.music.audio import PygameOutput
    from app.music.engine import EngineOutput
    from app.music.library import Playlist, Track
    from app.music.player import Player

    rate = 44100
    a = write_mp3(work / "a.mp3", _music(12.0, rate, 220.0, 1), rate)
    b = write_flac(work / "b.flac", _music(12.0, rate, 330.0, 2), rate)
    proc = psutil.Process()
    hogs = [multiprocessing.Process(target=_busy, daemon=True) for _ in range(load)]
    for hog in hogs:
        hog.start()
    stop = threading.Event()
    if gil:

        def gil_hog() -> None:
            x = 0
            while not stop.is_set():
                x = (x * 31 + 7) % 1000003

        threading.Thread(target=gil_hog, daemon=True).start()
    rss_before = proc.memory_info().rss
    output: EngineOutput | PygameOutput = (
        PygameOutput() if stream else EngineOutput(chunk_frames=chunk)
    )
    output.open()
    player = Player(output)
    raw = work / "out.raw"

    def hold(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            player.poll()
            time.sleep(0.25)  # the window's poll timer

    start_bytes = raw.stat().st_size if raw.exists() else 0
    player.set_playlist(Playlist("A", (Track(a, "a", duration=12.0),)))
    hold(3.0)
    rss_playing = proc.memory_info().rss
    peak = [rss_playing]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    thread = getattr(output, "_thread", None)
    engine_id = thread.native_id if thread is not None else None

    def engine_cpu() -> float:
        for thread in proc.threads():
            if thread.id == engine_id:
                return float(thread.user_time + thread.system_time)
        return 0.0

    cpu0, wall0, eng0 = proc.cpu_times(), time.monotonic(), engine_cpu()
    player.set_playlist(Playlist("B", (Track(b, "b", duration=12.0),)), fade=fade)
    hold(fade + 0.5)
    cpu1, wall1, eng1 = proc.cpu_times(), time.monotonic(), engine_cpu()
    sampling.set()
    sampler.join()
    hold(2.0)
    stop.set()
    end_bytes = raw.stat().st_size
    result = {
        "chunk_frames": chunk,
        "load_processes": load,
        "gil_hog": gil,
        "fade_s": fade,
        "rss_before_mb": rss_before / 2**20,
        "rss_playing_mb": rss_playing / 2**20,
        "rss_peak_crossfade_mb": peak[0] / 2**20,
        # the whole process (with --load: the GIL hog thread too) and the mixing thread alone
        "cpu_process_pct": 100
        * ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system))
        / (wall1 - wall0),
        "cpu_engine_thread_pct": 100 * (eng1 - eng0) / (wall1 - wall0),
        "output": "pygame-music" if stream else "engine",
        "underruns": getattr(output, "underruns", None),
        "span_bytes": [start_bytes, end_bytes],
    }
    output.close()
    for hog in hogs:
        hog.terminate()
    (work / "result.json").write_text(json.dumps(result))


def run(fade: float, chunk: int, load: int, gil: bool, stream: bool) -> dict[str, object]:
    from audio_files import longest_silence, read_raw_pcm

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        env = dict(os.environ, SDL_AUDIODRIVER="disk", SDL_DISKAUDIOFILE=str(work / "out.raw"))
        env["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"
        args = [sys.executable, __file__, "--child", str(work), "--fade", str(fade)]
        args += ["--chunk", str(chunk), "--load", str(load)] + (["--gil"] if gil else [])
        args += ["--stream"] if stream else []
        subprocess.run(args, env=env, check=True, capture_output=True, timeout=120)
        result = json.loads((work / "result.json").read_text())
        samples = read_raw_pcm(work / "out.raw")
        start, end = (b // 4 for b in result.pop("span_bytes"))
        sounding = np.flatnonzero(np.abs(samples[start:end]) > 0.01)
        played = samples[start + sounding[0] : start + sounding[-1]]
        result["longest_gap_ms"] = 1000 * longest_silence(played, 44100)
        # An audible hole (under -30 dBFS RMS) even when not digital silence: a dip-and-rise fade.
        result["longest_dip_ms"] = 1000 * longest_silence(played, 44100, floor=0.0316)
        return dict(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fade", type=float, default=1.5)
    parser.add_argument("--chunk", type=int, default=8192)
    parser.add_argument("--load", type=int, default=0)
    parser.add_argument("--gil", action="store_true", help="a pure-Python thread beside it")
    parser.add_argument(
        "--stream", action="store_true", help="the old single-stream PygameOutput, for comparison"
    )
    parser.add_argument("--child", type=Path)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.fade, args.chunk, args.load, args.gil, args.stream)
        return
    result = run(args.fade, args.chunk, args.load, args.gil, args.stream)
    print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    main()

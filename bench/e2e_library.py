"""End to end as a user: a mixed-format Artist/Album library -> `moodplayer library scan` -> the
real application plays it in Auto through the smart mood playlists, heard on SDL's disk driver.

    .venv/bin/python bench/e2e_library.py [WORKDIR]

1. Writes an Artist/Album tree of generated music in WORKDIR/Music (fast, bright C-major pieces as
   FLAC/Ogg Vorbis/MP3, slow, dark A-minor pieces as WAV/Opus; M4A/AAC too when PyAV is there).
2. Runs ``moodplayer library scan --json`` on it with a private XDG home: every track's mood.
3. Starts the application (``application.start``, offscreen, no camera, that folder in the
   settings, SDL's ``disk`` audio driver writing what the sound card would play) and lets Auto
   play; then a mood change (the voter's "sad" -> lift -> upbeat) and records the crossfade.
4. Prints what played (from which playlist, whose file), the longest silence around the change
   and whether the two tracks overlapped; exits 1 when a check fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))


def make_tree(music: Path) -> dict[str, str]:
    from tests.music.mood_music import bright_fast_major, dark_slow_minor, write_audio

    files = {
        "Sunny Band/Morning/01 Wake Up.flac": "bright",
        "Sunny Band/Morning/02 Brighter.ogg": "bright",
        "Sunny Band/Noon/01 Run.mp3": "bright",
        "Grey Quartet/Night/01 Rain.wav": "dark",
        "Grey Quartet/Night/02 Slow Grey.opus": "dark",
    }
    try:
        import av  # noqa: F401

        files["Sunny Band/Noon/02 Jump.m4a"] = "bright"
    except ImportError:
        pass
    for name, kind in files.items():
        path = music / name
        path.parent.mkdir(parents=True, exist_ok=True)
        samples = bright_fast_major(16.0) if kind == "bright" else dark_slow_minor(16.0)
        write_audio(path, samples)
    return files


def child(work: Path) -> int:
    """Inside the process whose audio goes to the disk driver."""
    import argparse

    from app import paths
    from app import settings as settings_mod
    from app.ui import application

    raw = Path(os.environ["SDL_DISKAUDIOFILE"])
    settings_path = paths.settings_file()
    settings = settings_mod.Settings()
    settings.music.playlist_folders = [str(work / "Music")]
    settings.music.fade_s = 1.5
    settings.desktop.resume = False
    settings_path.parent.mkdir(parents=True, exist_ok=True)
    settings_mod.save(settings, settings_path)
    args = argparse.Namespace(
        source=None, no_camera=True, kiosk=False, settings=str(settings_path), debug=False
    )
    running = application.start(args)
    app, session = running.app, running.session
    bytes_per_second = 44100 * 2 * 2

    def size() -> int:
        return raw.stat().st_size if raw.exists() else 0

    def hold(seconds: float) -> tuple[int, int]:
        start = size()
        deadline = time.monotonic() + seconds * 4 + 3
        while size() < start + seconds * bytes_per_second and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        return start, size()

    report: dict[str, object] = {}
    # wait for the library read and its (quick, already scanned) rescan
    end = time.monotonic() + 30
    while time.monotonic() < end and (
        session.scanning
        or not any(
            str(t.path).startswith(str(work / "Music"))
            for name in ("upbeat", "energetic")
            for t in session.controller._playlists.get(name, type("P", (), {"tracks": ()})).tracks
        )
    ):
        app.processEvents()
        time.sleep(0.02)
    session.controller.settings.music.min_switch_s = 0.0
    before = hold(3.0)
    view = session.view()
    report["first"] = [view.playlist, str(view.track.path) if view.track else None]
    report["upbeat"] = [str(t.path) for t in session.controller._playlists["upbeat"].tracks]
    # the voter settles on "sad": lift -> upbeat (the smart playlist with the user's bright tracks)
    session.controller.on_mood("sad", session.clock())
    change = hold(4.0)
    view = session.view()
    report["after"] = [view.playlist, str(view.track.path) if view.track else None]
    report["segments"] = {"before": before, "change": change}
    report["auto"] = view.auto
    running.shut_down()
    (work / "report.json").write_text(json.dumps(report))
    return 0


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        return child(Path(sys.argv[2]))
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="mp-e2e-"))
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        env[var] = str(work / "home" / sub)
    files = make_tree(work / "Music")
    scan = subprocess.run(
        [sys.executable, "-m", "app", "library", "scan", "--json", str(work / "Music")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=REPO,
    )
    lines = [json.loads(line) for line in scan.stdout.splitlines() if line.strip()]
    moods = {Path(o["path"]).relative_to(work / "Music").as_posix(): o["mood"] for o in lines[:-1]}
    print("library scan:", scan.returncode, lines[-1] if lines else scan.stderr[-500:])
    ok = scan.returncode == 0
    for name, kind in files.items():
        mood = moods.get(name)
        good = mood in (("upbeat", "energetic") if kind == "bright" else ("melancholy", "calm"))
        ok &= good
        print(f"  {name}: {mood} ({kind}) {'ok' if good else 'WRONG'}")
    raw = work / "out.raw"
    env.update(SDL_AUDIODRIVER="disk", SDL_DISKAUDIOFILE=str(raw), QT_QPA_PLATFORM="offscreen")
    env.pop("SDL_DISKAUDIODELAY", None)
    played = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(work)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=REPO,
    )
    if played.returncode != 0:
        print(played.stderr[-3000:])
        return 1
    report = json.loads((work / "report.json").read_text())
    import numpy as np
    from audio_files import longest_silence, read_raw_pcm

    samples = read_raw_pcm(raw, 2)
    mono = samples
    start, end = (b // 4 for b in report["segments"]["change"])
    piece = mono[start:end]
    silence = longest_silence(piece, 44100)
    print("first:", report["first"])
    print("after the mood change:", report["after"], "auto:", report["auto"])
    mine = str(work / "Music")
    user_first = report["after"][1] is not None and report["after"][1].startswith(mine)
    print(f"user's track plays after the change: {user_first}")
    print(
        f"longest silence around the change: {silence * 1000:.0f} ms "
        f"(RMS of the change window {float(np.sqrt(np.mean(piece**2))):.3f})"
    )
    ok &= report["after"][0] == "upbeat" and report["auto"] and silence < 0.1
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

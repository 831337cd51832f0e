"""End to end as a user: a mixed-format Artist/Album library -> `moodplayer library scan` -> the
real application plays it in Auto through the smart mood playlists, heard on SDL's disk driver.

    .venv/bin/python bench/e2e_library.py [WORKDIR] [--no-pyav]

``--no-pyav`` hides PyAV from the scan and the player: M4A then decodes through the ffmpeg
program alone (the default install plus a system FFmpeg).

1. Writes an Artist/Album tree with ffmpeg and sox from generated music (fast, bright C-major
   pieces and slow, dark A-minor ones, at levels 16 LU apart): MP3, M4A (AAC), M4A (ALAC), Opus,
   Ogg Vorbis, FLAC, WAV; some tagged with ReplayGain and/or BPM (mutagen), some not; one
   damaged file; one name that is not UTF-8.
2. Runs ``moodplayer library scan --json`` on it with a private XDG home: every track's mood;
   and once more as on a machine without FFmpeg (PyAV hidden, no ffmpeg on PATH): each M4A must
   be a line saying "needs FFmpeg ...".
3. Starts the application (``application.start``, offscreen, no camera, that folder in the
   settings, SDL's ``disk`` audio driver writing what the sound card would play) in Auto; a
   mood ("happy") brings the bright tracks' playlist, each of the listener's tracks in it is
   played for a few seconds (a jump, as a double-click does), then another mood ("sad", the
   "match" strategy) crossfades to the dark tracks' playlist and each of those plays.
4. Checks on the recorded output: every format sounded, each track's loudness is within 1 LU of
   the others' median (levelled: ReplayGain tags first, else what the scan measured), the
   longest silence in each crossfade is under 100 ms. Prints a report; exits 1 when a check
   fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
RATE = 44100
SECONDS = 12.0
CROSSFADE_S = 1.5
HOLD_S = 3.5  # each track is heard this long; its loudness is measured after the first second

# name (relative to Music/), kind, level change (dB) of the generated piece, how it is encoded,
# tags (rg: a correct ReplayGain track gain, bpm: a tempo tag)
TREE: list[tuple[str, str, float, str, tuple[str, ...]]] = [
    ("Sunny Band/Morning/01 Wake Up.mp3", "bright", -4.0, "mp3", ("bpm",)),
    ("Sunny Band/Morning/02 Brighter.m4a", "bright", -12.0, "aac", ()),
    ("Sunny Band/Noon/01 Run.m4a", "bright", -8.0, "alac", ("rg",)),
    ("Sunny Band/Noon/02 Jump.ogg", "bright", -4.0, "vorbis", ("rg", "bpm")),
    ("Grey Quartet/Night/01 Rain.flac", "dark", 9.0, "flac", ("rg",)),
    ("Grey Quartet/Night/02 Slow Grey.opus", "dark", 18.0, "opus", ()),
    ("Grey Quartet/Night/03 Fog.wav", "dark", 12.0, "wav", ()),
    ("Grey Quartet/Night/04 Br\udcf6ken Sky.mp3", "dark", 16.0, "mp3", ("rg",)),
]
DAMAGED = "Grey Quartet/Night/05 Damaged.flac"


def _encode(source: Path, target: Path, how: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if how in ("flac", "wav"):  # sox for the lossless ones
        extra = ["-b", "16"] if how == "wav" else []
        command = ["sox", str(source), *extra, str(target)]
    else:
        codec = {
            "mp3": ["-c:a", "libmp3lame", "-q:a", "2"],
            "aac": ["-c:a", "aac", "-b:a", "192k"],
            "alac": ["-c:a", "alac", "-sample_fmt", "s16p"],
            "opus": ["-c:a", "libopus", "-b:a", "128k"],
            "vorbis": ["-c:a", "libvorbis", "-q:a", "5"],
        }[how]
        command = ["ffmpeg", "-v", "error", "-y", "-i", str(source), *codec, str(target)]
    subprocess.run(command, check=True, timeout=120)


def _tag(path: Path, how: str, tags: tuple[str, ...], gain_db: float) -> None:
    import mutagen

    gain = f"{gain_db:+.2f} dB"
    if how == "mp3":
        from mutagen.id3 import ID3, TBPM, TXXX, ID3NoHeaderError

        try:
            id3 = ID3(path)
        except ID3NoHeaderError:
            id3 = ID3()
        if "rg" in tags:
            id3.add(TXXX(encoding=3, desc="REPLAYGAIN_TRACK_GAIN", text=gain))
        if "bpm" in tags:
            id3.add(TBPM(encoding=3, text="140"))
        id3.save(path)
        return
    audio = mutagen.File(path)
    if how in ("aac", "alac"):
        from mutagen.mp4 import MP4FreeForm

        if "rg" in tags:
            key = "----:com.apple.iTunes:replaygain_track_gain"
            audio[key] = [MP4FreeForm(gain.encode())]
        if "bpm" in tags:
            audio["tmpo"] = [140]
    else:
        if "rg" in tags:
            audio["REPLAYGAIN_TRACK_GAIN"] = gain
        if "bpm" in tags:
            audio["BPM"] = "140"
    audio.save()


def make_tree(music: Path) -> dict[str, str]:
    """The library; returns relative name -> "bright" | "dark"."""
    import soundfile

    from app.music.r128 import integrated_loudness
    from tests.music.mood_music import bright_fast_major, dark_slow_minor

    sources = music.parent / "sources"
    sources.mkdir(parents=True, exist_ok=True)
    kinds: dict[str, str] = {}
    for name, kind, level_db, how, tags in TREE:
        piece = (
            bright_fast_major(SECONDS, RATE) if kind == "bright" else dark_slow_minor(SECONDS, RATE)
        )
        samples = (piece * 10 ** (level_db / 20)).astype(np.float32)
        stereo = np.stack([samples, samples * 0.9], axis=1)
        source = sources / f"{len(kinds):02d}.wav"
        soundfile.write(str(source), stereo, RATE, subtype="FLOAT")
        target = music / name
        _encode(source, target, how)
        lufs = integrated_loudness([stereo.T], RATE)
        if tags:
            _tag(target, how, tags, -18.0 - lufs)
        kinds[name] = kind
    damaged = music / DAMAGED
    damaged.write_bytes(b"fLaC\x00\x00\x00\x22" + bytes(range(256)) * 40)
    return kinds


HIDE_PYAV = "import sys; sys.modules['av'] = None"  # find_spec and import both say: not there


def child(work: Path) -> int:
    """Inside the process whose audio goes to the disk driver."""
    import argparse

    if os.environ.get("E2E_NO_PYAV"):
        sys.modules["av"] = None  # type: ignore[assignment]

    from app import paths
    from app import settings as settings_mod
    from app.music.scanner import shown
    from app.ui import application
    from app.vision.reading import EXPRESSIONS

    raw = Path(os.environ["SDL_DISKAUDIOFILE"])
    music = work / "Music"
    mine = str(music)
    settings_path = paths.settings_file()
    settings = settings_mod.Settings()
    settings.music.playlist_folders = [mine]
    settings.music.fade_s = CROSSFADE_S
    settings.music.strategy = "match"
    settings.desktop.resume = False
    settings_path.parent.mkdir(parents=True, exist_ok=True)
    settings_mod.save(settings, settings_path)
    args = argparse.Namespace(
        source=None, no_camera=True, kiosk=False, settings=str(settings_path), debug=False
    )
    running = application.start(args)
    app, session = running.app, running.session
    controller, player = session.controller, session.player
    bytes_per_second = RATE * 2 * 2

    def size() -> int:
        return raw.stat().st_size if raw.exists() else 0

    def hold(seconds: float) -> tuple[int, int]:
        start = size()
        deadline = time.monotonic() + seconds * 4 + 3
        while size() < start + seconds * bytes_per_second and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        return start, size()

    def users(name: str) -> list[int]:
        playlist = controller._playlists.get(name)
        tracks = playlist.tracks if playlist is not None else ()
        return [i for i, t in enumerate(tracks) if str(t.path).startswith(mine)]

    # the library read and its (quick, already scanned) rescan
    end = time.monotonic() + 60
    while time.monotonic() < end and (
        session.scanning or sum(len(users(m)) for m in controller.playlist_names()[:6]) < 8
    ):
        app.processEvents()
        time.sleep(0.02)
    controller.settings.music.min_switch_s = 0.0
    report: dict[str, object] = {"plays": [], "changes": [], "notices": []}
    plays: list[dict[str, object]] = report["plays"]  # type: ignore[assignment]
    changes: list[dict[str, object]] = report["changes"]  # type: ignore[assignment]
    hold(2.0)
    for expression in ("happy", "sad"):
        target = controller.playlist_for(expression)
        before = controller.playlist_name
        start = size()
        controller.on_mood(expression, session.clock())
        _start, after = hold(4.0)
        changes.append(
            {
                "expression": expression,
                "from": before,
                "to": controller.playlist_name,
                "wanted": target,
                "auto": session.view().auto,
                "bytes": [start, after],
            }
        )
        playlist = player.playlist
        for index in users(controller.playlist_name or ""):
            assert playlist is not None
            player.set_playlist(playlist, index=index)
            begin, finish = hold(HOLD_S)
            current = player.current
            plays.append(
                {
                    "playlist": playlist.name,
                    "path": shown(playlist.tracks[index].path),
                    "current": current is not None and current.path == playlist.tracks[index].path,
                    "state": player.state.value,
                    "bytes": [begin, finish],
                }
            )
    report["notices"] = [n.text for n in player.notices]
    report["expressions"] = {e: controller.playlist_for(e) for e in EXPRESSIONS}
    running.shut_down()
    (work / "report.json").write_text(json.dumps(report))
    return 0


def _env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        env[var] = str(work / "home" / sub)
    return env


def _scan(
    work: Path, env: dict[str, str], *, without_ffmpeg: bool = False, no_pyav: bool = False
) -> tuple[int, list[dict[str, object]], str]:
    words = ["library", "scan", "--json", str(work / "Music")]
    hide = without_ffmpeg or no_pyav
    database = ["--database", str(work / "bare.sqlite")] if without_ffmpeg else []
    if without_ffmpeg:  # and no ffmpeg program on PATH
        env = dict(env, PATH=str(work / "empty-path"))
        (work / "empty-path").mkdir(exist_ok=True)
    if hide:
        code = f"{HIDE_PYAV}; from app.cli import main; sys.exit(main(sys.argv[1:]))"
        command = [sys.executable, "-c", code, "library", *database, *words[1:]]
    else:
        command = [sys.executable, "-m", "app", *words]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=600, check=False, cwd=REPO
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return done.returncode, lines, done.stderr


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        return child(Path(sys.argv[2]))
    no_pyav = "--no-pyav" in sys.argv
    sys.argv = [a for a in sys.argv if a != "--no-pyav"]
    for program in ("ffmpeg", "sox"):
        if shutil.which(program) is None:
            print(f"needs the {program} program")
            return 2
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="mp-e2e-"))
    work.mkdir(parents=True, exist_ok=True)
    env = _env(work)
    music = work / "Music"
    kinds = make_tree(music)
    ok = True

    def check(good: bool, text: str) -> None:
        nonlocal ok
        ok &= good
        print(f"  [{'ok' if good else 'FAILED'}] {text}")

    if no_pyav:
        env["E2E_NO_PYAV"] = "1"
        print("PyAV hidden: M4A through the ffmpeg program")
    code, lines, _err = _scan(work, env, no_pyav=no_pyav)
    summary = lines[-1] if lines else {}
    print(
        f"library scan --json: exit {code}; "
        f"{ {k: summary.get(k) for k in ('tracks', 'analysed', 'skipped', 'seconds')} }"
    )
    from app.music.scanner import shown

    found = {o["path"]: o for o in lines[:-1]}  # paths as `shown` prints them (\xNN for non-UTF-8)
    for name, kind in kinds.items():
        line = found.get(shown(music / name))
        mood = line["mood"] if line else None
        wanted = ("upbeat", "energetic") if kind == "bright" else ("melancholy", "calm")
        gain = f"gain {line['replaygain']:+.1f} dB, {line['loudness']:.1f} LUFS" if line else ""
        check(mood in wanted, f"{shown(name)}: {mood} ({kind}); {gain}")
    check(code == 0 and summary.get("tracks") == len(kinds), f"{summary.get('tracks')} tracks")
    skipped = " ".join(f"{s['path']}: {s['reason']}" for s in summary.get("skipped_files", []))
    check("05 Damaged.flac" in skipped, f"the damaged file is a skipped line ({skipped[:160]})")
    bare_code, _bare, bare_err = _scan(work, env, without_ffmpeg=True)
    note = "needs FFmpeg: install the ffmpeg program or `pip install moodplayer[ffmpeg]`"
    m4a = [n for n in kinds if n.endswith(".m4a")]
    said = [n for n in m4a if f"{Path(n).name}: {note}" in bare_err]
    check(
        bare_code == 0 and said == m4a,
        f"without FFmpeg each M4A says '{note}' ({len(said)} of {len(m4a)})",
    )

    raw = work / "out.raw"
    env.update(SDL_AUDIODRIVER="disk", SDL_DISKAUDIOFILE=str(raw), QT_QPA_PLATFORM="offscreen")
    env.pop("SDL_DISKAUDIODELAY", None)
    played = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(work)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=REPO,
    )
    if played.returncode != 0:
        print(played.stderr[-3000:])
        return 1
    report = json.loads((work / "report.json").read_text())
    from audio_files import longest_silence, read_raw_stereo

    from app.music.r128 import integrated_loudness

    out = read_raw_stereo(raw, 2)
    for change in report["changes"]:
        start, end = (b // 4 for b in change["bytes"])
        silence = longest_silence(out[start:end].mean(axis=1), RATE)
        check(
            change["to"] == change["wanted"] and change["auto"] and silence < 0.1,
            f"Auto, {change['expression']}: {change['from']} -> {change['to']}, crossfade's "
            f"longest silence {silence * 1000:.0f} ms",
        )
    loudness: dict[str, float] = {}
    for play in report["plays"]:
        start, end = (b // 4 for b in play["bytes"])
        piece = out[start + RATE : end]
        lufs = integrated_loudness([piece.T.astype(np.float32)], RATE) if len(piece) else -70.0
        loudness[play["path"]] = lufs
    median = float(np.median(list(loudness.values()))) if loudness else -70.0
    heard = set()
    for play in report["plays"]:
        name = play["path"][len(str(music)) + 1 :]
        lufs = loudness[play["path"]]
        heard.add(Path(name).suffix + (" ALAC" if "Run" in name else ""))
        check(
            play["current"]
            and play["state"] == "playing"
            and lufs > -40
            and abs(lufs - median) <= 1.0,
            f"plays {name} ({play['playlist']}): {lufs:.1f} LUFS out ({lufs - median:+.1f} LU)",
        )
    check(
        len(report["plays"]) == len(kinds), f"{len(report['plays'])} of {len(kinds)} tracks played"
    )
    check(not report["notices"], f"no skipped track while playing ({report['notices']})")
    print(f"output loudness median {median:.1f} LUFS (volume 0.8: -18 LUFS target -1.9 dB)")
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

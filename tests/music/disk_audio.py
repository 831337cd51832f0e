"""Run a short scripted session on the real mixer with SDL's ``disk`` audio driver, in a child
process, and hand the decoded output back for analysis.

SDL reads ``SDL_AUDIODRIVER``/``SDL_DISKAUDIOFILE`` when the mixer opens, and the rest of the test
run uses the ``dummy`` driver, so every scenario runs in its own interpreter:

    samples, rate, segments = run_scenario("player", tmp_path)

The child writes ``out.raw`` (what the sound card would have played: S16LE interleaved) and
``segments.json``: ``[label, first_byte, end_byte]`` for each step, taken from the size of
``out.raw`` before and after the step (the disk driver writes in real time, so the file size is the
audio clock). The parent turns them into sample ranges; ``segment(...)`` trims a margin at both
ends for the mixer's buffering.

Scenarios (each a few seconds of real audio):
- ``player``: A (440 Hz) plays, pause, resume, ``next`` to B (880 Hz), a 0.6 s fade to a playlist
  whose first file is corrupt, so C (660 Hz) plays after it is skipped.
- ``controller``: AUTO with no mood (calm, 440 Hz), mood happy (upbeat, 880 Hz), manual override
  (intense, 660 Hz), back to AUTO (upbeat), mood surprise (energetic, 550 Hz).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
# engine-gapless: the album's three real lengths (s)
GAPLESS_LENGTHS = (2.0, 0.8, 0.8)
FREQS = {"calm": 440.0, "upbeat": 880.0, "intense": 660.0, "energetic": 550.0, "gentle": 330.0}


def run_scenario(name: str, workdir: Path) -> tuple[np.ndarray, int, dict[str, tuple[int, int]]]:
    """Run scenario ``name`` in a child process; (mono samples, rate, label -> sample range)."""
    raw = workdir / "out.raw"
    env = dict(os.environ)
    env.update(
        SDL_AUDIODRIVER="disk",
        SDL_DISKAUDIOFILE=str(raw),
        PYGAME_HIDE_SUPPORT_PROMPT="1",
    )
    env.pop("SDL_DISKAUDIODELAY", None)
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), name, str(workdir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads((workdir / "segments.json").read_text())
    rate, channels = int(info["rate"]), int(info["channels"])
    sys.path.insert(0, str(HERE.parent))
    from audio_files import read_raw_pcm

    samples = read_raw_pcm(raw, channels)
    frame_bytes = 2 * channels
    segments = {
        label: (start // frame_bytes, end // frame_bytes) for label, start, end in info["segments"]
    }
    return samples, rate, segments


def segment(
    samples: np.ndarray, rate: int, span: tuple[int, int], margin: float = 0.1
) -> np.ndarray:
    """The samples of ``span`` without ``margin`` seconds at each end (mixer buffering)."""
    start, end = span
    pad = int(margin * rate)
    assert end - start > 2 * pad, f"segment too short: {span}"
    return samples[start + pad : end - pad]


def tail(
    samples: np.ndarray, rate: int, span: tuple[int, int], seconds: float = 0.25
) -> np.ndarray:
    """The last ``seconds`` of ``span`` (after any fade at its start), less a small margin."""
    start, end = span
    end -= int(0.03 * rate)
    first = max(start, end - int(seconds * rate))
    assert end - first > rate // 10, f"segment too short: {span}"
    return samples[first:end]


# ---- the child side --------------------------------------------------------------------------


class Recorder:
    def __init__(self, raw: Path, tick: Callable[[], None]) -> None:
        self.raw = raw
        self.tick = tick
        self.segments: list[tuple[str, int, int]] = []

    def size(self) -> int:
        try:
            return self.raw.stat().st_size
        except FileNotFoundError:
            return 0

    def hold(
        self,
        label: str,
        seconds: float,
        start: int | None = None,
        until: Callable[[], bool] | None = None,
    ) -> None:
        """Let ``seconds`` of audio play (ticking the app), recorded as segment ``label``;
        ``start``: from that size of the output on (taken before a step that may take long);
        ``until``: or only until it is true, and 0.2 s more (what the mixer still holds)."""
        start = self.size() if start is None else start
        target = start + int(seconds * self.bytes_per_second)
        deadline = time.monotonic() + seconds * 4 + 2  # never wait forever on a stuck driver
        while self.size() < target and time.monotonic() < deadline:
            self.tick()
            if until is not None and until():
                target, until = min(target, self.size() + self.bytes_per_second // 5), None
            time.sleep(0.01)
        self.tick()
        self.segments.append((label, start, self.size()))

    bytes_per_second = 0


def _tones(folder: Path, spec: dict[str, float], seconds: float = 8.0) -> None:
    from audio_files import write_tone

    for name, freq in spec.items():
        write_tone(folder / name / f"{name}.ogg", freq, seconds, title=name)


def main(name: str, work: Path) -> None:
    sys.path.insert(0, str(HERE.parent))
    import pygame

    from app.music.audio import PygameOutput

    work.mkdir(parents=True, exist_ok=True)
    info: dict[str, object] = {}
    if name == "player":
        from audio_files import corrupt_files, write_tone

        from app.music.library import Playlist, Track, read_track
        from app.music.player import Player, PlayerState

        def track(path: Path) -> Track:
            found, reason = read_track(path)
            assert found is not None, reason
            return found

        a = track(write_tone(work / "a.ogg", 440, 8.0))
        b = track(write_tone(work / "b.wav", 880, 8.0))
        c = track(write_tone(work / "c.ogg", 660, 8.0))
        broken = Track(corrupt_files(work / "bad")[0], "broken")
        output = PygameOutput()
        output.open()
        player = Player(output)
        player.set_playlist(Playlist("first", (a, b)))
        rec = _recorder(work, player.poll, info)
        rec.hold("A", 0.5)
        player.pause()
        rec.hold("paused", 0.4)
        player.play()
        rec.hold("resumed", 0.4)
        player.next()
        rec.hold("B", 0.5)
        player.set_playlist(Playlist("second", (broken, c)), fade=0.6)
        rec.hold("fade", 0.6)
        rec.hold("C", 0.9)  # fades in over 0.6 s after the broken file is skipped
        info["final_state"] = player.state.value
        info["final_index"] = player.index
        assert player.state is PlayerState.PLAYING
    elif name == "controller":
        from app.controller import Controller
        from app.music.library import Library
        from app.music.player import Player
        from app.settings import Settings

        _tones(work / "lists", FREQS)
        settings = Settings()  # strategy "lift": neutral -> calm, happy -> upbeat
        settings.music.min_switch_s = 0.0  # every change at once: the crossfades are measured
        settings.music.fade_s = 0.2
        output = PygameOutput()
        output.open()
        player = Player(output)
        controller = Controller(player, Library([work / "lists"]), settings)
        rec = _recorder(work, controller.tick, info)
        steps: list[tuple[str, Callable[[], None]]] = [
            ("auto-start", controller.start),
            ("mood-happy", lambda: controller.on_mood("happy", time.monotonic())),
            ("manual-intense", lambda: controller.select("intense")),
            ("mood-ignored", lambda: controller.on_mood("surprise", time.monotonic())),
            ("back-to-auto", controller.set_auto),
            ("mood-happy-again", lambda: controller.on_mood("happy", time.monotonic())),
        ]
        log = []
        for label, step in steps:
            step()
            rec.hold(label, 0.6)
            log.append(
                [label, controller.mode.value, controller.playlist_name, round(player.position, 2)]
            )
        info["log"] = log
    elif name.startswith("engine-"):
        rec, output = _engine_scenario(name, work, info)
        output.close()  # stops the engine's thread before the mixer goes
    else:
        raise SystemExit(f"unknown scenario {name}")
    info["segments"] = rec.segments
    pygame.mixer.quit()
    (work / "segments.json").write_text(json.dumps(info))


def _engine_scenario(name: str, work: Path, info: dict[str, object]) -> tuple[Recorder, Any]:
    """The engine (EngineOutput) behind a real Player; see ENGINE_SCENARIOS."""
    from audio_files import corrupt_files, tone, write_flac, write_ogg, write_replaygain, write_wav

    from app.music.audio import AudioError
    from app.music.decoders import Decoder, open_decoder
    from app.music.engine import EngineOutput
    from app.music.library import Playlist, Track
    from app.music.loudness import Leveller, Loudness, integrated_lufs
    from app.music.player import Player, PlayerState

    rate = 44100
    measured: dict[Path, float] = {}

    def lookup(path: Path) -> Loudness | None:
        return Loudness(measured[path]) if path in measured else None

    level = name != "engine-level-off"
    opener = open_decoder
    if name == "engine-gapless":
        # In-process decoders only: the damaged file is turned down in milliseconds, not by
        # starting ffmpeg (0.2-0.5 s idle, seconds on a loaded machine: a race with the end of
        # the track before it, which is not what this scenario measures).
        def opener(path: Path, rate: int) -> Decoder:
            return open_decoder(path, rate, names=("soundfile", "pyav"))

    output = EngineOutput(leveller=Leveller(enabled=level, lookup=lookup), opener=opener)
    output.open()
    player = Player(output)
    rec = _recorder(work, player.poll, info)
    if name == "engine-crossfade":
        a = write_ogg(work / "a.ogg", tone(440, 6.0, rate, 0.5), rate)
        b = write_flac(work / "b.flac", tone(660, 6.0, rate, 0.5), rate)
        player.set_playlist(Playlist("first", (Track(a, "a", duration=6.0),)))
        rec.hold("A", 1.0)
        player.set_playlist(Playlist("second", (Track(b, "b", duration=6.0),)), fade=1.0)
        rec.hold("change", 1.6)
        rec.hold("B", 0.6)
    elif name == "engine-gapless":
        # One album: tones of 2, 0.8 and 0.8 s; the middle one's tag says 0.2 s, the last 9 s.
        # The damaged file after the first is skipped while it plays (the next one must be
        # primed before the first's last two chunks are handed over).
        freqs = (440.0, 550.0, 660.0)
        lengths = GAPLESS_LENGTHS
        files = [
            write_wav(work / f"{n}.wav", tone(f, s, rate, 0.5), rate)
            for n, (f, s) in enumerate(zip(freqs, lengths, strict=True))
        ]
        broken = corrupt_files(work / "bad")[0]
        tags = (lengths[0], 0.2, 9.0)
        tracks = [
            Track(p, p.stem, album="one", duration=d) for p, d in zip(files, tags, strict=True)
        ]
        album = Playlist("album", (tracks[0], Track(broken, "broken"), tracks[1], tracks[2]))
        player.repeat = "off"
        # The decoders' libraries are loaded (as a scan or an earlier track would have done),
        # not on first use in the middle of the race.
        with contextlib.suppress(AudioError):
            opener(broken, rate)
        # From before set_playlist: the first track starts sounding inside it (on a loaded
        # machine, a while before it returns).
        begin = rec.size()
        player.set_playlist(album)
        # to the end of the album (however late it started), 10 s more at the most
        rec.hold(
            "album",
            sum(lengths) + 10.0,
            start=begin,
            until=lambda: player.state is PlayerState.STOPPED,
        )
        info["notices"] = [n.text for n in player.notices]
        info["final_state"] = player.state.value
    elif name.startswith("engine-level"):
        # Two tracks 8 dB apart: one says so in a ReplayGain tag, the other through the lookup.
        loud = tone(440, 4.0, rate, 0.5)
        quiet = tone(660, 4.0, rate, 0.2)
        a = write_flac(work / "loud.flac", loud, rate)
        write_replaygain(a, -18.0 - integrated_lufs(loud, rate))
        b = write_ogg(work / "quiet.ogg", quiet, rate)
        measured[b] = integrated_lufs(quiet, rate)
        player.set_playlist(
            Playlist("mixed", (Track(a, "loud", duration=4.0), Track(b, "quiet", duration=4.0)))
        )
        rec.hold("loud", 1.5)
        player.next()
        rec.hold("quiet", 1.5)
    elif name == "engine-controller":
        from app.controller import Controller
        from app.music.library import Library
        from app.settings import Settings

        _tones(work / "lists", FREQS)
        settings = Settings()  # strategy "lift": neutral -> calm, happy -> upbeat
        settings.music.min_switch_s = 0.0  # every change at once: the crossfades are measured
        settings.music.fade_s = 0.6
        controller = Controller(player, Library([work / "lists"]), settings)
        rec = _recorder(work, controller.tick, info)
        controller.start()
        rec.hold("calm", 1.2)
        controller.on_mood("happy", time.monotonic())
        rec.hold("to-upbeat", 1.2)
        controller.select("intense")
        rec.hold("to-intense", 1.2)
        controller.set_auto()
        rec.hold("back-to-upbeat", 1.2)
    else:
        raise SystemExit(f"unknown scenario {name}")
    info["underruns"] = output.underruns
    return rec, output


def _recorder(work: Path, tick: Callable[[], None], info: dict[str, object]) -> Recorder:
    import pygame

    rec = Recorder(work / "out.raw", tick)
    freq, _size, channels = pygame.mixer.get_init()
    info["rate"], info["channels"] = freq, channels
    rec.bytes_per_second = freq * channels * 2
    return rec


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))

"""PygameOutput on the real mixer (SDL dummy driver) and what happens without an audio device."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from audio_files import corrupt_files, write_tone

from app.music.audio import AudioError, PygameOutput
from app.music.library import Playlist, Track, read_track
from app.music.player import Player, PlayerState


@pytest.fixture(scope="module")
def output() -> Iterator[PygameOutput]:
    out = PygameOutput()
    out.open()
    yield out
    out.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("formats")
    found = {
        s: write_tone(folder / f"tone{s}", 440, 2.0) for s in (".ogg", ".wav", ".flac", ".mp3")
    }
    for bad in corrupt_files(folder / "bad"):
        found[bad.name] = bad
    return found


@pytest.mark.parametrize("suffix", [".ogg", ".wav", ".flac", ".mp3"])
def test_every_format_loads_plays_and_seeks(
    output: PygameOutput, files: dict[str, Path], suffix: str
) -> None:
    output.load(files[suffix])
    output.play(start=1.0)  # seeking works: no SeekUnsupported fallback
    assert output.busy()
    output.pause()
    assert not output.busy()
    output.unpause()
    assert output.busy()
    output.stop()
    assert not output.busy()


@pytest.mark.parametrize("name", ["random.ogg", "empty.ogg", "truncated.ogg", "notes.mp3"])
def test_broken_files_raise_audio_error(
    output: PygameOutput, files: dict[str, Path], name: str
) -> None:
    with pytest.raises(AudioError):
        output.load(files[name])
        output.play()


def test_player_skips_every_kind_of_broken_file_on_the_real_mixer(
    output: PygameOutput, files: dict[str, Path]
) -> None:
    broken = [Track(files[n], n) for n in ("random.ogg", "empty.ogg", "truncated.ogg", "notes.mp3")]
    good, _ = read_track(files[".ogg"])
    assert good is not None
    player = Player(output)
    player.set_playlist(Playlist("mixed", (*broken, good)))
    assert player.state is PlayerState.PLAYING and player.index == 4
    assert output.busy()
    player.set_playlist(Playlist("all broken", tuple(broken)))
    assert player.state is PlayerState.ERROR and "all broken" in (player.error or "")
    player.stop()


def test_no_audio_device_is_an_error_state_and_the_app_goes_on(tmp_path: Path) -> None:
    tone = write_tone(tmp_path / "t.ogg", 440, 0.5)
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        from app.music.audio import PygameOutput
        from app.music.library import read_track, Playlist
        from app.music.player import Player
        track, _ = read_track(Path({str(tone)!r}))
        player = Player(PygameOutput())
        player.set_playlist(Playlist("p", (track,)))
        player.poll()
        player.next()
        print(player.state.value, "|", player.error)
        """
    )
    env = {"SDL_AUDIODRIVER": "no-such-driver", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    state, _, error = proc.stdout.strip().splitlines()[-1].partition(" | ")
    assert state == "error" and "No audio device" in error

"""Broken music never stops the music: bad files are skipped with a message and playing goes on.

The real mixer (pygame, SDL ``dummy`` driver: real decoding, no sound card) plays real files.
Missing, truncated, zero-byte, wrong-extension and random-bytes files are put in a playlist, both
before the library scan (the scan leaves them out and says why) and after it, while the music
plays (the player skips each with a logged reason and plays the next good one). A playlist folder
deleted while it plays leaves the app running, and a rescan drops it.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from audio_files import tone, write_tone, write_wav

from app.controller import Controller
from app.music.audio import PygameOutput
from app.music.library import Library, Playlist, read_track
from app.music.player import Player, PlayerState
from app.settings import Settings

HANG_GUARD_S = 30.0  # real seconds; a broken player fails the test instead of hanging it


@pytest.fixture(scope="module")
def output() -> Iterator[PygameOutput]:
    out = PygameOutput()
    out.open()  # the dummy driver: a real mixer that decodes and "plays" in real time
    yield out
    out.close()


def make_bad(kind: str, path: Path) -> None:
    """Turn ``path`` (a good file or nothing) into one of the broken cases."""
    rng = np.random.default_rng(len(kind))
    if kind == "missing":
        path.unlink(missing_ok=True)
    elif kind == "zero-byte":
        path.write_bytes(b"")
    elif kind == "truncated":
        data = path.read_bytes() if path.exists() else b""
        if not data:
            write_tone(path, 300, 1.0)
            data = path.read_bytes()
        path.write_bytes(data[:64])
    elif kind == "random-bytes":
        path.write_bytes(rng.integers(0, 256, 8192, dtype=np.uint8).tobytes())
    elif kind == "text-as-audio":
        path.write_text("not music at all\n" * 50)
    else:  # pragma: no cover
        raise ValueError(kind)


BAD_KINDS = ["missing", "zero-byte", "truncated", "random-bytes", "text-as-audio"]


def test_scan_skips_each_bad_file_with_a_reason(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="app.music.library")
    folder = tmp_path / "calm"
    folder.mkdir()
    write_tone(folder / "01 good.ogg", 440, 0.5)
    for kind in BAD_KINDS:
        make_bad(kind, folder / f"{kind}.ogg")
    # wrong extension: a text file with an audio name (above) and a real song named .txt
    write_wav(tmp_path / "song.wav", tone(550, 0.5))
    (tmp_path / "song.wav").rename(folder / "wrong-extension.txt")
    write_tone(folder / "99 good.wav", 660, 0.5)
    # the same files through an M3U and a PLS, plus an entry that was never there
    names = [f"calm/{p.name}" for p in sorted(folder.iterdir())] + ["calm/missing.ogg"]
    (tmp_path / "listed.m3u").write_text("#EXTM3U\n" + "\n".join(names) + "\n")
    (tmp_path / "listed.pls").write_text(
        "[playlist]\n" + "".join(f"File{i + 1}={n}\n" for i, n in enumerate(names))
    )

    playlists = Library([tmp_path]).scan()

    for name in ("calm", "listed"):
        titles = [t.path.name for t in playlists[name].tracks]
        assert titles == ["01 good.ogg", "99 good.wav"], name
    log = caplog.text
    for kind in ("zero-byte", "truncated", "random-bytes", "text-as-audio"):
        assert f"{kind}.ogg" in log
    assert "empty file" in log
    assert "missing" in log
    assert "unsupported file type '.txt'" in log
    skipped = [r for r in caplog.records if r.getMessage().startswith("skipped")]
    # each bad file in the folder, the M3U and the PLS (the .txt is not audio: the folder walk does
    # not even look at it, the playlist files name it)
    assert len(skipped) >= 3 * 4 + 2 * 2


def play_until(player: Player, done, what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while not done():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        player.poll()
        time.sleep(0.02)


def test_files_broken_after_the_scan_are_skipped_while_playing(
    output: PygameOutput, tmp_path: Path, caplog
) -> None:
    caplog.set_level(logging.INFO)
    folder = tmp_path / "upbeat"
    folder.mkdir()
    paths = [write_tone(folder / "00 first.ogg", 440, 0.4)]
    paths += [
        write_tone(folder / f"{i + 1:02} {kind}.ogg", 500, 0.4) for i, kind in enumerate(BAD_KINDS)
    ]
    paths += [write_tone(folder / "98 wav-named-ogg.ogg", 600, 0.4)]
    paths += [write_tone(folder / "99 last.flac", 700, 0.4)]
    playlist = Library([tmp_path]).scan()["upbeat"]
    assert len(playlist) == len(paths)  # all good at scan time

    player = Player(output)
    player.set_playlist(playlist)
    assert player.state is PlayerState.PLAYING and player.index == 0
    # now, while the first track plays, the files break on disk
    for kind, path in zip(BAD_KINDS, paths[1:], strict=False):
        make_bad(kind, path)
    # a real WAV behind an .ogg name (wrong extension): played or skipped, never a crash
    write_wav(paths[-2], tone(600, 0.4))

    seen: list[int] = []

    def reached_last() -> bool:
        if player.state is PlayerState.PLAYING and (not seen or seen[-1] != player.index):
            seen.append(player.index)
        return player.index == len(paths) - 1 and player.state is PlayerState.PLAYING

    play_until(player, reached_last, "the last good track")
    assert output.busy()  # it is sounding
    for kind, path in zip(BAD_KINDS, paths[1:], strict=False):
        assert f"skipped {path}" in caplog.text, kind
        assert paths.index(path) not in seen
    # the WAV behind an .ogg name: SDL_mixer picks the decoder by the name, so it is skipped too,
    # with its reason; playing it would be fine as well
    wrong = len(paths) - 2
    assert f"skipped {paths[wrong]}" in caplog.text or wrong in seen
    # the loop goes on: back to the first track, the broken ones are not tried again
    loads_before = caplog.text.count("skipped")
    play_until(player, lambda: player.index == 0 and player.state is PlayerState.PLAYING, "wrap")
    assert caplog.text.count("skipped") == loads_before
    print(f"\n[reliability] bad files while playing: played tracks {seen}, skipped {BAD_KINDS}")


def test_playlist_folder_removed_while_playing(
    output: PygameOutput, tmp_path: Path, caplog
) -> None:
    caplog.set_level(logging.INFO)
    root = tmp_path / "music"
    for name, freq in (("calm", 330), ("upbeat", 660)):
        for i in range(3):
            write_tone(root / name / f"{i}.ogg", freq + 10 * i, 0.6)
    library = Library([root])
    library.scan()
    settings = Settings()
    player = Player(output)
    controller = Controller(player, library, settings)
    controller.select("calm")
    assert player.state is PlayerState.PLAYING

    shutil.rmtree(root / "calm")  # the listener deletes the folder that is playing

    # the track already open keeps sounding (the decoder holds the file); at its end the player
    # tries the rest of the playlist, finds nothing, and says so instead of crashing or spinning
    play_until(player, lambda: player.state is not PlayerState.PLAYING, "the end of the folder")
    assert player.state is PlayerState.ERROR
    assert player.error and "calm" in player.error
    assert caplog.text.count("skipped") >= 2
    # the app is alive: another playlist plays, and a rescan drops the vanished one
    controller.select("upbeat")
    assert player.state is PlayerState.PLAYING and output.busy()
    library.scan()
    controller.set_library(library)
    assert controller.playlist_names() == ["upbeat"]
    assert read_track(root / "calm" / "0.ogg")[0] is None


def test_every_track_bad_is_an_error_not_a_spin(output: PygameOutput, tmp_path: Path) -> None:
    folder = tmp_path / "sad"
    paths = [write_tone(folder / f"{kind}.ogg", 400, 0.3) for kind in BAD_KINDS]
    playlist = Library([tmp_path]).scan()["sad"]
    for kind, path in zip(BAD_KINDS, paths, strict=True):
        make_bad(kind, path)
    player = Player(output)
    player.set_playlist(playlist)
    assert player.state is PlayerState.ERROR
    assert "could be played" in (player.error or "")
    player.poll()
    player.next()  # a command on a dead playlist neither raises nor loops forever
    assert player.state is PlayerState.ERROR
    assert isinstance(playlist, Playlist)

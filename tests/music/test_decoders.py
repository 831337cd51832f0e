"""Every format of a real library decodes to the right tone and length, with each decoder that
claims it; broken files fail with a reason; the engine plays, seeks and crossfades each format."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from audio_files import corrupt_files, dominant_frequency, tone, write_av, write_tone

from app.music.audio import AudioError
from app.music.decoders import DECODERS, open_decoder
from app.music.engine import EngineOutput
from app.registry import Registry

RATE = 44100
SECONDS = 1.5
FORMATS = [".wav", ".flac", ".ogg", ".mp3", ".opus", ".m4a", ".alac.m4a"]
# Which decoders read which format (the ``sdl`` one needs the mixer open: tested via the engine).
CLAIMS = {
    "soundfile": {".wav", ".flac", ".ogg", ".opus"},
    "pyav": set(FORMATS),
    "ffmpeg": set(FORMATS),
}


def make(folder: Path, suffix: str, freq: float = 440.0) -> Path:
    path = folder / f"tone{suffix}"
    if suffix in (".wav", ".flac", ".ogg", ".mp3"):
        return write_tone(path, freq, SECONDS, rate=RATE)
    if suffix == ".opus":
        import soundfile

        soundfile.write(str(path), tone(freq, SECONDS, 48000), 48000, format="OGG", subtype="OPUS")
        return path
    return write_av(path, tone(freq, SECONDS, RATE), RATE, "alac" if "alac" in suffix else "aac")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("formats")


def decode_all(name: str, path: Path) -> np.ndarray:
    decoder = DECODERS.get(name).factory(path, RATE)
    parts = []
    try:
        while len(part := decoder.read(4096)):
            parts.append(part)
    finally:
        decoder.close()
    return np.concatenate(parts)


@pytest.mark.parametrize("suffix", FORMATS)
@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_each_decoder_reads_each_format_it_claims(folder: Path, name: str, suffix: str) -> None:
    if suffix not in CLAIMS[name]:
        pytest.skip(f"{name} does not claim {suffix}")
    reason = DECODERS.unavailable_reason(name)
    if reason is not None:
        pytest.skip(reason)
    path = make(folder, suffix)
    frames = decode_all(name, path)
    assert frames.shape[1] == 2 and frames.dtype == np.float32
    assert len(frames) / RATE == pytest.approx(SECONDS, abs=0.06)  # codec padding at most
    assert dominant_frequency(frames[:, 0], RATE) == pytest.approx(440, abs=3)
    # Mono comes out on both channels at its own level (no -3 dB pan law).
    assert float(np.abs(frames).max()) == pytest.approx(0.5, abs=0.06)


@pytest.mark.parametrize("name", ["random.ogg", "empty.ogg", "truncated.ogg", "notes.mp3"])
def test_broken_files_fail_with_a_reason_from_every_decoder(tmp_path: Path, name: str) -> None:
    bad = {p.name: p for p in corrupt_files(tmp_path)}[name]
    with pytest.raises(AudioError, match="cannot"):
        decoder = open_decoder(bad, RATE, names=("soundfile", "pyav", "ffmpeg"))
        # Some containers open; then the first read finds nothing to play.
        assert len(decoder.read(4096)) == 0
        raise AudioError("cannot: empty")


def test_the_decoder_registry_says_why_a_backend_cannot_run() -> None:
    assert isinstance(DECODERS, Registry)
    assert DECODERS.names()[:2] == ("soundfile", "pyav")
    for backend in DECODERS:
        reason = backend.unavailable_reason()
        assert reason is None or reason.endswith(".")
    if shutil.which("ffmpeg") is None:
        assert "ffmpeg" in (DECODERS.unavailable_reason("ffmpeg") or "")


@pytest.fixture(scope="module")
def engine() -> Iterator[EngineOutput]:
    out = EngineOutput()
    out.open()
    yield out
    out.close()


def wait_until(check, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("suffix", FORMATS)
def test_the_engine_plays_seeks_and_crossfades_every_format(
    engine: EngineOutput, folder: Path, suffix: str
) -> None:
    path = make(folder, suffix)
    engine.load(path)
    engine.play(start=0.5)
    assert engine.busy()
    assert engine.length() == pytest.approx(SECONDS, abs=0.1) or engine.length() is None
    engine.pause()
    assert not engine.busy()
    engine.unpause()
    assert engine.busy()
    other = make(folder / "other", ".wav", 660)
    engine.crossfade(other, 0.0, 200)
    assert engine.busy()
    engine.stop()
    assert not engine.busy()


def test_a_broken_file_leaves_the_sounding_track_playing(engine: EngineOutput, tmp_path: Path):
    # Longer than the test: turning down the broken files takes seconds on a loaded machine
    # (each goes through every decoder, ffmpeg's start included), and the track must still be
    # playing for a reason other than time.
    good = write_tone(tmp_path / "good.wav", 440, 60.0)
    engine.load(good)
    engine.play()
    for bad in corrupt_files(tmp_path / "bad"):
        with pytest.raises(AudioError):
            engine.crossfade(bad, 0.0, 500)
        assert engine.busy()
    engine.queue(corrupt_files(tmp_path / "bad2")[0])
    assert wait_until(lambda: any(e.path.name == "random.ogg" for e in engine.events()), 60.0)
    assert engine.busy()
    engine.stop()


@pytest.mark.skipif(importlib.util.find_spec("av") is None, reason="PyAV is not installed")
def test_asking_which_formats_decode_does_not_import_pyav() -> None:
    """Importing PyAV loads FFmpeg's libraries with the interpreter lock held; a scan asks at
    its start, on its thread, while the window paints (a 120 ms stall): it looks, not imports."""
    code = (
        "import sys\n"
        "from app.music import decode\n"
        "assert '.m4a' in decode.decodable_suffixes()\n"
        "assert 'av' not in sys.modules, 'PyAV was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr

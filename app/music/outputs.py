"""The audio-output registry: which sound outputs exist and which can run here.

``OUTPUTS.create(name, **options)`` builds one; ``default_output(level=True, lookup=None)`` is
what the app plays through (the engine, levelling loudness unless turned off).
"""

from __future__ import annotations

import importlib.util

from app.music.audio import AudioOutput, FakeMixingOutput, FakeOutput, PygameOutput
from app.music.engine import EngineOutput
from app.music.loudness import Leveller, LoudnessLookup
from app.registry import Registry

OUTPUTS: Registry[AudioOutput] = Registry("audio output")


def _no_pygame() -> str | None:
    if importlib.util.find_spec("pygame") is None:
        return "pygame is not installed (pip install pygame)."
    return None


def _no_engine() -> str | None:
    missing = [m for m in ("pygame", "numpy") if importlib.util.find_spec(m) is None]
    if missing:
        return f"The audio engine needs {', '.join(missing)} (pip install {' '.join(missing)})."
    return None


def _engine(level: bool = True, lookup: LoudnessLookup | None = None) -> EngineOutput:
    return EngineOutput(leveller=Leveller(enabled=level, lookup=lookup))


OUTPUTS.register(
    "engine",
    _engine,
    label="MoodPlayer's engine (crossfades, gapless, levelled loudness)",
    unavailable=_no_engine,
)
OUTPUTS.register(
    "pygame-music",
    PygameOutput,
    label="pygame's music stream (no crossfade, no AAC)",
    unavailable=_no_pygame,
)
OUTPUTS.register("fake", FakeMixingOutput, label="silent (tests)", hidden=True)
OUTPUTS.register("fake-stream", FakeOutput, label="silent, one stream (tests)", hidden=True)


def default_output(level: bool = True, lookup: LoudnessLookup | None = None) -> AudioOutput:
    """The engine (``level``: loudness levelling on), or pygame's music stream without it."""
    if OUTPUTS.unavailable_reason("engine") is None:
        return _engine(level=level, lookup=lookup)
    return PygameOutput()

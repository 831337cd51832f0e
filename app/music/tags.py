"""The tags analysis uses, from any tag format mutagen reads (ID3, Vorbis comments, MP4 atoms).

Read: title, artist, album, genre, mood (``TMOO``/``MOOD``), BPM (``TBPM``/``BPM``/``tmpo``),
ReplayGain track gain and peak (``REPLAYGAIN_TRACK_GAIN``/``_PEAK``, ID3 ``TXXX`` or MP4
freeform), and Opus' ``R128_TRACK_GAIN`` (Q7.8 dB relative to -23 LUFS), turned into a
ReplayGain 2.0 gain (relative to -18 LUFS).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.music.r128 import R128_REFERENCE, REPLAYGAIN_REFERENCE

MAX_TAG_CHARS = 500

# our field -> tag keys (lower case; ID3 TXXX and MP4 freeform keys lose their prefix)
_ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title", "tit2", "©nam"),
    "artist": ("artist", "tpe1", "©art", "albumartist", "tpe2"),
    "album": ("album", "talb", "©alb"),
    "genre": ("genre", "tcon", "©gen"),
    "mood": ("mood", "tmoo"),
    "bpm": ("bpm", "tbpm", "tmpo"),
    "replaygain_track_gain": ("replaygain_track_gain",),
    "replaygain_track_peak": ("replaygain_track_peak",),
    "r128_track_gain": ("r128_track_gain",),
}
_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


@dataclass(frozen=True)
class Tags:
    title: str = ""
    artist: str = ""
    album: str = ""
    genre: str = ""
    mood: str = ""
    bpm: float | None = None
    replaygain_db: float | None = None  # ReplayGain 2.0 track gain (to -18 LUFS)
    peak: float | None = None  # linear sample peak, 1.0 = full scale
    duration: float = 0.0  # seconds, from the stream headers


def _text(value: Any) -> str:
    """One tag value as text (lists take their first item; MP4 freeform bytes are UTF-8)."""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    genres = getattr(value, "genres", None)  # ID3 TCON: "(17)" -> "Rock"
    if genres:
        value = genres[0]
    elif hasattr(value, "text"):
        text = value.text
        value = text[0] if isinstance(text, list) and text else text
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", "replace")
    text = str(value).replace("\x00", " ").strip()
    return text[:MAX_TAG_CHARS]


def _flatten(tags: Any) -> dict[str, str]:
    """Every tag as lower-case key -> first text value."""
    found: dict[str, str] = {}
    try:
        items = list(tags.items())
    except Exception:  # mutagen tag objects can raise on odd content
        return found
    for key, value in items:
        name = str(key).lower()
        if name.startswith("txxx:"):
            name = name[5:]
        elif name.startswith("----:"):
            name = name.rsplit(":", 1)[-1]
        if name not in found:
            try:
                text = _text(value)
            except Exception:  # a frame whose text cannot be rendered
                continue
            if text:
                found[name] = text
    return found


def _number(text: str) -> float | None:
    match = _NUMBER.search(text)
    if match is None:
        return None
    try:
        value = float(match.group().replace(",", "."))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_tags(path: Path) -> Tags:
    """The tags of ``path``; empty ``Tags`` when there are none or they cannot be read."""
    import mutagen

    try:
        audio = mutagen.File(path)
    except Exception:  # mutagen raises many kinds on broken files
        return Tags()
    if audio is None:
        return Tags()
    length = float(getattr(getattr(audio, "info", None), "length", 0.0) or 0.0)
    duration = length if math.isfinite(length) and 0 < length < 1e7 else 0.0
    flat = _flatten(audio.tags) if audio.tags is not None else {}

    def field(name: str) -> str:
        for key in _ALIASES[name]:
            if key in flat:
                return flat[key]
        return ""

    bpm = _number(field("bpm"))
    if bpm is not None and not 20 <= bpm <= 300:
        bpm = None
    gain = _number(field("replaygain_track_gain"))
    if gain is None:
        r128 = _number(field("r128_track_gain"))
        if r128 is not None:
            gain = r128 / 256.0 + (REPLAYGAIN_REFERENCE - R128_REFERENCE)
    if gain is not None and not -60 <= gain <= 60:
        gain = None
    peak = _number(field("replaygain_track_peak"))
    if peak is not None and not 0 < peak <= 100:
        peak = None
    return Tags(
        title=field("title"),
        artist=field("artist"),
        album=field("album"),
        genre=field("genre"),
        mood=field("mood"),
        bpm=bpm,
        replaygain_db=gain,
        peak=peak,
        duration=duration,
    )

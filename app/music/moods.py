"""The six mood playlists as regions of the energy/valence plane, and the words that name them.

Each mood has a centre (energy, valence), both 0..1; a track belongs to the mood whose centre is
nearest (so the regions are the Voronoi cells of the centres, drawn in docs/LIBRARY.md)::

    valence 1 |        gentle        upbeat
              |  calm                       energetic
              |  melancholy                 intense
            0 +------------------------------------- energy 1
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

MOODS: tuple[str, ...] = ("calm", "gentle", "upbeat", "energetic", "melancholy", "intense")


@dataclass(frozen=True)
class MoodRegion:
    name: str
    energy: float
    valence: float
    description: str


REGIONS: tuple[MoodRegion, ...] = (
    MoodRegion("calm", 0.20, 0.50, "quiet, slow, few onsets; neither happy nor sad"),
    MoodRegion("gentle", 0.40, 0.72, "soft and warm: low to middle energy, major, bright enough"),
    MoodRegion("upbeat", 0.65, 0.80, "cheerful: middle to high energy, major, brisk"),
    MoodRegion("energetic", 0.88, 0.58, "loud, fast, dense; happy or neutral"),
    MoodRegion("intense", 0.80, 0.22, "loud and dark: high energy, minor, harsh"),
    MoodRegion("melancholy", 0.35, 0.22, "slow and sad: low energy, minor, dark"),
)
_BY_NAME = {r.name: r for r in REGIONS}


def region(name: str) -> MoodRegion:
    return _BY_NAME[name]


def distance(mood: str, energy: float, valence: float) -> float:
    r = _BY_NAME[mood]
    return math.hypot(energy - r.energy, valence - r.valence)


def mood_at(energy: float, valence: float) -> str:
    """The mood whose centre is nearest to (energy, valence)."""
    return min(REGIONS, key=lambda r: math.hypot(energy - r.energy, valence - r.valence)).name


# Words found in mood and genre tags -> mood. Checked in order; whole words only.
_MOOD_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("melancholy", ("melancholy", "melancholic", "sad", "sorrow", "blue", "gloomy", "depressed")),
    ("intense", ("intense", "aggressive", "angry", "dark", "furious", "tense", "heavy")),
    ("energetic", ("energetic", "energy", "party", "driving", "powerful", "excited", "hype")),
    ("upbeat", ("upbeat", "happy", "cheerful", "joyful", "fun", "uplifting", "sunny", "bright")),
    ("gentle", ("gentle", "tender", "romantic", "warm", "soft", "sweet", "dreamy", "love")),
    ("calm", ("calm", "relaxed", "relaxing", "chill", "peaceful", "ambient", "meditative")),
)

# Genre words -> (energy, valence) hints, blended lightly with what the audio says.
GENRE_HINTS: tuple[tuple[tuple[str, ...], float, float], ...] = (
    (("metal", "hardcore", "grindcore", "thrash", "industrial", "punk"), 0.9, 0.25),
    (("techno", "house", "edm", "trance", "drum", "dubstep", "electro", "dance"), 0.85, 0.6),
    (("disco", "funk", "pop", "reggae", "ska", "salsa", "soca"), 0.65, 0.8),
    (("rock", "grunge", "alternative"), 0.7, 0.5),
    (("folk", "acoustic", "singer-songwriter", "bossa", "country"), 0.35, 0.65),
    (("jazz", "soul", "r&b", "lounge"), 0.4, 0.6),
    (("ambient", "new age", "meditation", "drone", "chillout", "lullaby"), 0.12, 0.5),
    (("classical", "baroque", "piano"), 0.25, 0.5),
    (("blues", "doom", "darkwave", "gothic", "emo"), 0.4, 0.2),
)

_WORD = re.compile(r"[a-z&]+(?:[- ][a-z&]+)?")


def _words(text: str) -> set[str]:
    lowered = text.lower()
    found = set(re.findall(r"[a-z&]+", lowered))
    found.update(w for w in _WORD.findall(lowered) if " " in w or "-" in w)
    return found


def mood_from_words(text: str) -> str | None:
    """The mood a tag such as ``mood=Happy`` or ``TMOO=Relaxed`` names, or None."""
    if not text:
        return None
    words = _words(text)
    for mood, names in _MOOD_WORDS:
        if words & set(names):
            return mood
    return None


def genre_hint(genre: str) -> tuple[float, float] | None:
    """(energy, valence) typical of ``genre``, or None for a genre we know nothing about."""
    if not genre:
        return None
    lowered = genre.lower()
    words = _words(genre)
    for names, energy, valence in GENRE_HINTS:
        if any((n in words) if " " not in n else (n in lowered) for n in names):
            return energy, valence
    return None


def mood_from_folder(path: Path) -> str | None:
    """The mood that a folder named exactly like one (``.../calm/track.ogg``) gives the tracks
    lying in it; the shipped playlists are laid out so."""
    name = path.parent.name.lower()
    return name if name in _BY_NAME else None

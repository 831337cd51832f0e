"""Loudness levelling at playback: one gain per track, to bring every track to one target level.

Where the gain comes from, in order:

1. ReplayGain track gain in the file's tags (``REPLAYGAIN_TRACK_GAIN`` in Vorbis comments/FLAC/APE,
   ``TXXX:REPLAYGAIN_TRACK_GAIN`` in ID3, the iTunes freeform atom in MP4, ``R128_TRACK_GAIN`` in
   Opus), read with mutagen. ReplayGain 2.0's reference is -18 LUFS ("89 dB"), so a tagged gain
   ``g`` means the track's loudness is ``-18 - g`` LUFS.
2. The loudness the library measured (EBU R128 integrated, LUFS), from a ``LoudnessLookup``: a
   callable ``path -> Loudness | None`` that the library's database provides.
3. Nothing known: the track plays at gain 1 (0 dB).

The gain is ``target - loudness`` dB, limited to ``-MAX_CUT_DB .. +MAX_BOOST_DB`` and, when the
track's sample peak is known, so that the peak stays at or below 0 dBFS. What is left (peaks not
known, two tracks summed in a crossfade) is caught by the engine's soft limiter.

``integrated_lufs(samples, rate)`` is a small BS.1770-4 meter (K-weighting applied in the
frequency domain per 400 ms block, absolute and relative gating) for tests and benchmarks.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

REFERENCE_LUFS = -18.0  # ReplayGain 2.0 reference level
DEFAULT_TARGET_LUFS = -18.0
MAX_BOOST_DB = 12.0
MAX_CUT_DB = 24.0
OPUS_R128_REFERENCE = -23.0  # R128_TRACK_GAIN is relative to -23 LUFS (RFC 7845)


@dataclass(frozen=True)
class Loudness:
    """A track's integrated loudness (LUFS) and, when known, its sample peak (linear, 1.0 = FS)."""

    lufs: float
    peak: float | None = None
    source: str = ""


class LoudnessInfo(Protocol):
    """What a lookup answers: ``Loudness`` here, or the library database's own record."""

    @property
    def lufs(self) -> float: ...

    @property
    def peak(self) -> float | None: ...

    @property
    def source(self) -> str: ...


LoudnessLookup = Callable[[Path], "LoudnessInfo | None"]

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def _first_number(value: Any) -> float | None:
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = getattr(value, "text", None)
    if text is not None:  # an ID3 frame
        return _first_number(text)
    match = _NUMBER.search(str(value))
    return float(match.group()) if match else None


def _lookup_tag(tags: Any, *names: str) -> Any:
    """The first of ``names`` present in a mutagen tag mapping, case-insensitively."""
    if tags is None:
        return None
    try:
        keys = list(tags.keys())
    except (AttributeError, TypeError):
        return None
    lowered = {str(k).lower(): k for k in keys}
    for name in names:
        key = lowered.get(name.lower())
        if key is not None:
            try:
                return tags[key]
            except (KeyError, ValueError):
                continue
    return None


def replaygain_from_tags(path: Path) -> Loudness | None:
    """The loudness a ReplayGain (or Opus R128) track tag implies, or None."""
    try:
        import mutagen

        audio: Any = mutagen.File(path)
    except Exception as exc:  # mutagen raises many kinds on odd files; tags are optional
        log.debug("no tags read from %s: %s", path, exc)
        return None
    if audio is None:
        return None
    tags = audio.tags
    gain = _first_number(
        _lookup_tag(
            tags,
            "replaygain_track_gain",
            "TXXX:REPLAYGAIN_TRACK_GAIN",
            "TXXX:replaygain_track_gain",
            "----:com.apple.iTunes:replaygain_track_gain",
            "----:com.apple.iTunes:REPLAYGAIN_TRACK_GAIN",
        )
    )
    peak = _first_number(
        _lookup_tag(
            tags,
            "replaygain_track_peak",
            "TXXX:REPLAYGAIN_TRACK_PEAK",
            "TXXX:replaygain_track_peak",
            "----:com.apple.iTunes:replaygain_track_peak",
            "----:com.apple.iTunes:REPLAYGAIN_TRACK_PEAK",
        )
    )
    if gain is not None:
        return Loudness(REFERENCE_LUFS - gain, peak if peak and peak > 0 else None, "replaygain")
    r128 = _first_number(_lookup_tag(tags, "r128_track_gain"))
    if r128 is not None:  # Q7.8 fixed point dB
        return Loudness(OPUS_R128_REFERENCE - r128 / 256.0, None, "r128")
    return None


@dataclass
class Leveller:
    """Per-track playback gain toward ``target_lufs``; ``enabled=False`` gives 1.0 for all."""

    enabled: bool = True
    target_lufs: float = DEFAULT_TARGET_LUFS
    lookup: LoudnessLookup | None = None
    read_tags: bool = True

    def loudness(self, path: Path) -> LoudnessInfo | None:
        if self.read_tags:
            found = replaygain_from_tags(path)
            if found is not None:
                return found
        if self.lookup is not None:
            try:
                return self.lookup(path)
            except Exception as exc:  # the library's database is not ours to trust blindly
                log.warning("loudness lookup failed for %s: %s", path.name, exc)
        return None

    def gain_db(self, path: Path) -> float:
        if not self.enabled:
            return 0.0
        info = self.loudness(path)
        if info is None or not math.isfinite(info.lufs):
            return 0.0
        gain = min(MAX_BOOST_DB, max(-MAX_CUT_DB, self.target_lufs - info.lufs))
        if info.peak is not None and info.peak > 0:
            gain = min(gain, -20.0 * math.log10(info.peak))
        log.debug("gain %.1f dB for %s (%s %.1f LUFS)", gain, path.name, info.source, info.lufs)
        return gain

    def gain(self, path: Path) -> float:
        """The linear factor to multiply ``path``'s samples by."""
        return float(10.0 ** (self.gain_db(path) / 20.0))


# ---- a BS.1770 meter (tests, benchmarks) -------------------------------------------------------


def _k_weighting_power(freqs: npt.NDArray[np.float64], rate: int) -> npt.NDArray[np.float64]:
    """|H(f)|² of the BS.1770 K-weighting (shelf + high-pass), from its biquads at ``rate``."""

    # Coefficients for 48 kHz re-derived for any rate (pyloudnorm / libebur128 formulae).
    def biquad(b: tuple[float, float, float], a: tuple[float, float, float]) -> Any:
        z = np.exp(-1j * 2 * np.pi * freqs / rate)
        return (b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z)

    # high shelf
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = biquad(
        ((vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0),
        (1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0),
    )
    # high pass
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    highpass = biquad((1.0, -2.0, 1.0), (1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0))
    return np.asarray(np.abs(shelf * highpass) ** 2, dtype=np.float64)


def integrated_lufs(samples: npt.NDArray[Any], rate: int) -> float:
    """BS.1770-4 integrated loudness of ``samples`` (``(n,)`` mono or ``(n, c)``) in LUFS."""
    data = np.asarray(samples, dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    block, hop = int(0.4 * rate), int(0.1 * rate)
    if len(data) < block:
        return float("-inf")
    freqs = np.asarray(np.fft.rfftfreq(block, 1.0 / rate), dtype=np.float64)
    weights = _k_weighting_power(freqs, rate)
    powers = []
    for start in range(0, len(data) - block + 1, hop):
        spectrum = np.abs(np.fft.rfft(data[start : start + block], axis=0)) ** 2
        # Parseval: mean square of the filtered block (one-sided spectrum, DC/Nyquist once).
        scale = np.full(len(weights), 2.0)
        scale[0] = 1.0
        if block % 2 == 0:
            scale[-1] = 1.0
        channel_power = (spectrum * (weights * scale)[:, None]).sum(axis=0) / (block * block)
        powers.append(float(channel_power.sum()))
    energy = np.asarray(powers)
    loudness = -0.691 + 10 * np.log10(np.maximum(energy, 1e-20))
    gated = energy[loudness > -70.0]
    if len(gated) == 0:
        return float("-inf")
    relative = -0.691 + 10 * math.log10(float(gated.mean())) - 10.0
    gated = energy[(loudness > -70.0) & (loudness > relative)]
    return float(-0.691 + 10 * math.log10(float(gated.mean())))

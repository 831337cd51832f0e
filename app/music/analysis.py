"""Mood features of one track from a few excerpts of its audio and from its tags.

What is measured (on 22050 Hz mono excerpts, 2048-sample frames, 512-sample hop; loudness on the
file's own channels and rate):

- ``loudness``: integrated loudness, LUFS (app/music/r128.py);
- ``brightness``: spectral centroid in Hz (mean over frames, weighted by frame energy);
- ``onset_rate``: note onsets per second (peaks of the spectral flux);
- ``tempo``: BPM from the autocorrelation of the onset envelope, weighted toward 120 BPM, the
  octave chosen by the onset rate (a BPM tag wins);
- ``major``: 0..1, how much more the pitch-class profile fits a major key than a minor one
  (Krumhansl-Kessler key profiles against the chroma of the excerpts); ``key`` names the best.

Then, all 0..1: ``energy`` (arousal) = 0.3 loudness + 0.35 onset rate + 0.1 tempo +
0.25 brightness, and ``valence`` = 0.55 major + 0.2 tempo + 0.25 brightness (each term scaled to
0..1 over the range music spans, see ``_scale``). A genre tag nudges both by a quarter toward
that genre's typical place; a mood tag or a mood-named folder sets the mood outright.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.music import decode, moods, r128
from app.music.tags import Tags, read_tags

# Bump when the features change: every track is then analysed again on the next scan.
ANALYSER_VERSION = 1

FloatArray = npt.NDArray[np.float64]

FRAME = 2048
HOP = 512
RATE = decode.ANALYSIS_RATE
MIN_BPM, MAX_BPM = 50.0, 220.0
GENRE_WEIGHT = 0.25

_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
_NOTES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


@dataclass(frozen=True)
class Features:
    energy: float
    valence: float
    tempo: float  # BPM (0.0 when no beat was found)
    loudness: float  # LUFS
    peak: float  # linear sample peak of the excerpts
    brightness: float  # Hz
    onset_rate: float  # per second
    major: float  # 0..1
    key: str


@dataclass(frozen=True)
class Analysis:
    """Everything stored for one track."""

    features: Features
    tags: Tags
    mood: str
    mood_source: str  # "audio", "tag" or "folder"
    duration: float
    decoder: str
    replaygain_db: float  # the gain to play it at -18 LUFS: the tag's, else from ``loudness``
    gain_source: str  # "tag" or "measured"


def _scale(value: float, low: float, high: float) -> float:
    return float(min(1.0, max(0.0, (value - low) / (high - low))))


def _spectra(mono: npt.NDArray[np.float32]) -> FloatArray:
    """Magnitude spectrogram (frames, FRAME//2+1) with a Hann window."""
    if len(mono) < FRAME:
        mono = np.pad(mono, (0, FRAME - len(mono)))
    frames = np.lib.stride_tricks.sliding_window_view(mono, FRAME)[::HOP]
    window = np.hanning(FRAME)
    magnitudes: FloatArray = np.abs(np.fft.rfft(frames * window, axis=1))
    return magnitudes


def _onset_envelope(spectra: FloatArray) -> FloatArray:
    """Spectral flux of the log-compressed magnitudes, local mean removed, half-wave rectified."""
    compressed = np.log1p(100.0 * spectra)
    flux: FloatArray = np.maximum(0.0, np.diff(compressed, axis=0)).sum(axis=1)
    if flux.size == 0:
        return flux
    width = 16
    kernel = np.ones(width) / width
    local = np.convolve(flux, kernel, mode="same")
    return np.maximum(0.0, flux - local)


def _onset_rate(envelope: FloatArray, seconds: float) -> float:
    if envelope.size < 3 or seconds <= 0:
        return 0.0
    threshold = envelope.mean() + 0.5 * envelope.std()
    if threshold <= 1e-9:
        return 0.0
    middle = envelope[1:-1]
    peaks = (middle > envelope[:-2]) & (middle >= envelope[2:]) & (middle > threshold)
    return float(peaks.sum()) / seconds


def _tempo_strength(envelope: FloatArray) -> FloatArray:
    """Autocorrelation of the onset envelope at lags 0..max (normalised by lag 0)."""
    smoothed = np.convolve(envelope, np.array([0.25, 0.5, 0.25]), mode="same")
    centred = smoothed - smoothed.mean()
    size = 1 << math.ceil(math.log2(max(2, 2 * len(centred))))
    spectrum = np.fft.rfft(centred, size)
    correlation = np.fft.irfft(np.abs(spectrum) ** 2, size)[: len(centred)]
    if correlation[0] <= 0:
        return np.zeros_like(correlation)
    normalised: FloatArray = correlation / correlation[0]
    return normalised


def _tempo(correlation: FloatArray) -> float:
    """BPM from a (summed) onset autocorrelation, with a log-normal prior around 120 BPM."""
    frame_rate = RATE / HOP
    lags = np.arange(len(correlation), dtype=np.float64)
    usable = (lags >= frame_rate * 60 / MAX_BPM) & (lags <= frame_rate * 60 / MIN_BPM)
    if not usable.any():
        return 0.0
    with np.errstate(divide="ignore"):
        bpm = np.where(lags > 0, 60.0 * frame_rate / np.maximum(lags, 1e-9), 0.0)
    prior = np.exp(-0.5 * (np.log2(np.maximum(bpm, 1e-9) / 120.0) / 1.0) ** 2)
    score = np.where(usable, np.maximum(correlation, 0.0) * prior, 0.0)
    best = int(np.argmax(score))
    if score[best] <= 0.05:
        return 0.0
    lag = float(best)
    if 0 < best < len(correlation) - 1:  # parabolic refinement of the peak
        left, middle, right = correlation[best - 1], correlation[best], correlation[best + 1]
        denominator = left - 2 * middle + right
        if denominator < 0:
            lag += 0.5 * (left - right) / denominator
    return float(60.0 * frame_rate / lag) if lag > 0 else 0.0


def _octave(tempo: float, onset_rate: float) -> float:
    """The autocorrelation cannot tell a tempo from its double; the onset rate picks: a tempo
    above 100 BPM with clearly fewer onsets than beats (under 0.85 a beat) is halved, one below
    90 BPM with more than four onsets a beat is doubled."""
    beats = tempo / 60.0
    if tempo > 100.0 and onset_rate < 0.85 * beats:
        return tempo / 2.0
    if 0 < tempo < 90.0 and onset_rate > 4.0 * beats:
        return tempo * 2.0
    return tempo


def _chroma(spectra: FloatArray) -> FloatArray:
    """12 pitch-class energies (C..B) summed over frames, from 65 Hz to 2.1 kHz."""
    freqs = np.fft.rfftfreq(FRAME, 1.0 / RATE)
    band = (freqs >= 65.0) & (freqs <= 2100.0)
    pitch = np.round(12.0 * np.log2(freqs[band] / 440.0) + 69.0).astype(int) % 12
    energy = (spectra[:, band] ** 2).sum(axis=0)
    chroma = np.zeros(12)
    np.add.at(chroma, pitch, energy)
    return chroma


def _key(chroma: FloatArray) -> tuple[float, str]:
    """(major 0..1, key name) from the chroma vector."""
    if chroma.sum() <= 0:
        return 0.5, ""
    best: dict[str, tuple[float, int]] = {}
    for mode, profile in (("major", _MAJOR), ("minor", _MINOR)):
        scores = [float(np.corrcoef(chroma, np.roll(profile, tonic))[0, 1]) for tonic in range(12)]
        tonic = int(np.argmax(scores))
        best[mode] = (scores[tonic], tonic)
    margin = best["major"][0] - best["minor"][0]
    mode = "major" if margin >= 0 else "minor"
    major = 1.0 / (1.0 + math.exp(-12.0 * margin))
    return float(major), f"{_NOTES[best[mode][1]]} {mode}"


def features_from_excerpts(excerpts: decode.Excerpts, bpm_tag: float | None = None) -> Features:
    """The features of decoded excerpts (``bpm_tag`` replaces the measured tempo)."""
    blocks: list[npt.NDArray[np.floating]] = []
    peak = float(max(float(np.abs(c).max()) for c in excerpts.clips))
    centroid_sum = 0.0
    weight_sum = 0.0
    onsets = 0.0
    seconds = 0.0
    correlation: FloatArray | None = None
    chroma = np.zeros(12)
    freqs = np.fft.rfftfreq(FRAME, 1.0 / RATE)
    for clip in excerpts.clips:
        spectrum = np.fft.rfft(clip.astype(np.float32), axis=1)
        blocks.append(r128.block_powers(spectrum, clip.shape[1], excerpts.rate))
        mono = decode.mono_from_spectrum(spectrum, clip.shape[1], excerpts.rate, RATE)
        spectra = _spectra(mono)
        power = (spectra**2).sum(axis=1)
        magnitude = spectra.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            centroids = np.where(magnitude > 0, (spectra * freqs).sum(axis=1) / magnitude, 0.0)
        centroid_sum += float((centroids * power).sum())
        weight_sum += float(power.sum())
        envelope = _onset_envelope(spectra)
        clip_seconds = len(mono) / RATE
        onsets += _onset_rate(envelope, clip_seconds) * clip_seconds
        seconds += clip_seconds
        if envelope.size > 8:
            strength = _tempo_strength(envelope)
            if correlation is None:
                correlation = strength
            else:
                size = min(len(correlation), len(strength))
                correlation = correlation[:size] + strength[:size]
        chroma += _chroma(spectra)
    lufs = r128.gated_loudness(np.concatenate(blocks))
    brightness = centroid_sum / weight_sum if weight_sum > 0 else 0.0
    onset_rate = onsets / seconds if seconds > 0 else 0.0
    tempo = _octave(_tempo(correlation) if correlation is not None else 0.0, onset_rate)
    if bpm_tag is not None:
        tempo = bpm_tag
    major, key = _key(chroma)
    silent = lufs <= r128.SILENCE + 1.0
    loud_n = 0.0 if silent else _scale(lufs, -30.0, -6.0)
    onset_n = _scale(onset_rate, 1.0, 6.0)
    tempo_n = _scale(tempo, 60.0, 170.0) if tempo > 0 else 0.3
    bright_n = _scale(math.log2(max(brightness, 1.0)), math.log2(300.0), math.log2(3500.0))
    energy = 0.3 * loud_n + 0.35 * onset_n + 0.1 * tempo_n + 0.25 * bright_n
    valence = 0.55 * major + 0.2 * tempo_n + 0.25 * bright_n
    return Features(
        energy=round(energy, 4),
        valence=round(valence, 4),
        tempo=round(tempo, 1),
        loudness=round(lufs, 2),
        peak=round(peak, 4),
        brightness=round(brightness, 1),
        onset_rate=round(onset_rate, 3),
        major=round(major, 4),
        key=key,
    )


def _with_genre(features: Features, genre: str) -> Features:
    hint = moods.genre_hint(genre)
    if hint is None:
        return features
    energy = (1 - GENRE_WEIGHT) * features.energy + GENRE_WEIGHT * hint[0]
    valence = (1 - GENRE_WEIGHT) * features.valence + GENRE_WEIGHT * hint[1]
    return replace(features, energy=round(energy, 4), valence=round(valence, 4))


def analyse_file(path: Path, excerpt_seconds: float = decode.EXCERPT_SECONDS) -> Analysis:
    """Decode a few excerpts of ``path`` and read its tags (``decode.DecodeError`` when it
    cannot be decoded)."""
    tags = read_tags(path)
    excerpts = decode.decode_excerpts(path, excerpt_seconds)
    features = _with_genre(features_from_excerpts(excerpts, tags.bpm), tags.genre)
    mood = moods.mood_at(features.energy, features.valence)
    source = "audio"
    tagged = moods.mood_from_words(tags.mood)
    folder = moods.mood_from_folder(path)
    if folder is not None:
        mood, source = folder, "folder"
    elif tagged is not None:
        mood, source = tagged, "tag"
    if tags.replaygain_db is not None:
        gain, gain_source = tags.replaygain_db, "tag"
    else:
        gain, gain_source = r128.replaygain_from_loudness(features.loudness), "measured"
    return Analysis(
        features=features,
        tags=tags,
        mood=mood,
        mood_source=source,
        duration=tags.duration or excerpts.duration,
        decoder=excerpts.decoder,
        replaygain_db=round(gain, 2),
        gain_source=gain_source,
    )

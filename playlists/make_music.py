#!/usr/bin/env python3
"""Synthesise MoodPlayer's default music: six playlists of short pieces, written to OGG Vorbis.

Everything here is the project's own work (CC0, see playlists/README.md): chords, bass lines,
melodies and drums are composed by small seeded rules and synthesised with NumPy alone (wavetable,
additive and FM voices, ADSR envelopes, noise drums, convolution reverb, ping-pong delay). The same
seeds give the same music on every machine.

    python playlists/make_music.py                 # render all playlists into playlists/<name>/
    python playlists/make_music.py --only calm     # one playlist
    python playlists/make_music.py --report        # measure the committed files, render nothing
    python playlists/make_music.py --report --spectrograms /tmp/spec   # and write PNGs

Encoding needs ``soundfile`` (its PyPI wheels bundle libsndfile with Vorbis); tags use mutagen.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SR = 44100
HERE = Path(__file__).resolve().parent
TARGET_RMS_DB = -17.0  # loudness of every track (whole-file RMS, dBFS)
CEILING_DB = -2.5  # sample peak before encoding; Vorbis adds up to ~1.5 dB on drums
MAX_DECODED_PEAK_DB = -1.5  # checked after encoding; louder files are re-encoded quieter
VORBIS_COMPRESSION = 0.86  # soundfile's compression_level: 0 = best quality, 1 = smallest
TAIL_SECONDS = 4.0  # reverb tail after the last bar
FADE_SECONDS = 2.5
TWO_PI = 2.0 * np.pi
ARTIST = "MoodPlayer"
LICENCE = "CC0 1.0 Universal (public domain dedication)"

# ---------------------------------------------------------------------------------------------
# Pitch and harmony
# ---------------------------------------------------------------------------------------------

MODES: dict[str, tuple[int, ...]] = {
    "ionian": (0, 2, 4, 5, 7, 9, 11),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "aeolian": (0, 2, 3, 5, 7, 8, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "harmonic": (0, 2, 3, 5, 7, 8, 11),
}


def hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


@dataclass(frozen=True)
class Key:
    root: int  # MIDI number of the tonic in octave 4 (60..71)
    mode: str

    def pitch(self, degree: int) -> int:
        """MIDI number of a scale degree (0 = tonic of octave 4, 7 = tonic an octave up)."""
        octave, index = divmod(degree, 7)
        return self.root + 12 * octave + MODES[self.mode][index]


def nearest_chord_tone(degree: int, chord: Sequence[int]) -> int:
    classes = {d % 7 for d in chord}
    for offset in (0, -1, 1, -2, 2, -3, 3):
        if (degree + offset) % 7 in classes:
            return degree + offset
    return degree


def voicing(pitches: Sequence[int], center: int) -> list[int]:
    """Close voicing: each chord tone moved to the octave nearest ``center``."""
    return sorted({p + 12 * round((center - p) / 12) for p in pitches})


# ---------------------------------------------------------------------------------------------
# Signal helpers
# ---------------------------------------------------------------------------------------------


def _t(n: int) -> np.ndarray:
    return np.arange(n) / SR


@functools.lru_cache(maxsize=256)
def fast_len(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= n: FFTs of such lengths are quick."""
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35 * (1 << max(0, (-(-n // p35) - 1).bit_length()))
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def fft_filter(x: np.ndarray, lo: float | None = None, hi: float | None = None, order: int = 2):
    """Zero-phase Butterworth-shaped band-pass by FFT (either edge optional), last axis."""
    n = x.shape[-1]
    size = fast_len(n)
    spectrum = np.fft.rfft(x, size, axis=-1)
    f = np.fft.rfftfreq(size, 1.0 / SR)
    gain = np.ones_like(f)
    if hi is not None:
        gain /= np.sqrt(1.0 + (f / hi) ** (2 * order))
    if lo is not None:
        gain /= np.sqrt(1.0 + (lo / np.maximum(f, 1e-6)) ** (2 * order))
    return np.fft.irfft(spectrum * gain, size, axis=-1)[..., :n]


def fft_convolve(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Linear convolution of ``x`` (1-D) with ``kernel`` (1-D or (channels, k)), cut to len(x)."""
    size = fast_len(x.shape[-1] + kernel.shape[-1] - 1)
    out = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(kernel, size, axis=-1), size, axis=-1)
    return out[..., : x.shape[-1]]


def env_adsr(n: int, gate: float, a: float, d: float, s: float, r: float) -> np.ndarray:
    """Attack (linear), decay (exponential to sustain), release (to exactly zero after ``r``)."""
    t = _t(n)
    a = max(a, 0.002)
    env = np.where(t < a, t / a, s + (1.0 - s) * np.exp(-np.maximum(t - a, 0.0) / max(d, 1e-3)))
    g = min(gate, (n - 1) / SR)
    level = env[min(int(g * SR), n - 1)]
    release = level * np.clip(1.0 - (t - g) / max(r, 1e-3), 0.0, 1.0) ** 2
    return np.where(t < g, env, release)


TABLE_N = 2048


@functools.lru_cache(maxsize=2048)
def _table(shape: str, nharm: int, kc: float) -> np.ndarray:
    """One band-limited cycle: harmonics up to ``nharm``, softened above harmonic ``kc``."""
    k = np.arange(1, nharm + 1, dtype=float)
    if shape == "saw":
        amps = 1.0 / k
    elif shape == "square":
        amps = np.where(k % 2 == 1, 1.0 / k, 0.0)
    elif shape == "tri":
        amps = np.where(k % 2 == 1, (-1.0) ** ((k - 1) // 2) / k**2, 0.0)
    else:  # "warm": between triangle and saw
        amps = 1.0 / k**1.6
    amps = amps / np.sqrt(1.0 + (k / kc) ** 4)
    phase = np.arange(TABLE_N) * (TWO_PI / TABLE_N)
    table = np.sin(np.outer(phase, k)) @ amps
    table /= np.max(np.abs(table))
    return np.append(table, table[:1])


def osc(shape: str, freq, n: int, cutoff: float = 20000.0, phase: float = 0.0) -> np.ndarray:
    """Band-limited wavetable oscillator; ``freq`` is a number or an array of ``n`` values (Hz)."""
    freq = np.asarray(freq, dtype=float)
    fmax = float(freq.max())
    nharm = max(1, min(160, int(0.45 * SR / fmax)))
    kc = max(0.5, round(2.0 * cutoff / fmax) / 2.0)
    table = _table(shape, nharm, kc)
    if freq.ndim:
        cycles = phase + np.cumsum(freq) / SR
    else:
        cycles = phase + np.arange(n) * (float(freq) / SR)
    pos = (cycles % 1.0) * TABLE_N
    i = pos.astype(np.int64)
    frac = pos - i
    return table[i] + (table[i + 1] - table[i]) * frac


def _noise(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


# ---------------------------------------------------------------------------------------------
# Instruments. Each returns a mono or stereo (2, n) float array; results are cached per track.
# ---------------------------------------------------------------------------------------------

cache = functools.lru_cache(maxsize=512)


@cache
def pad(
    midi: int,
    gate: float,
    vel: float,
    shape: str = "saw",
    cutoff: float = 1600.0,
    attack: float = 1.0,
    release: float = 2.0,
    vibrato: float = 0.0,
) -> np.ndarray:
    """Three detuned oscillators spread left-centre-right, slow envelope (pads and strings)."""
    f = hz(midi)
    n = int((gate + release) * SR) + 1
    t = _t(n)
    voices = []
    for cents, ph in ((-8.0, 0.0), (0.0, 0.37), (8.0, 0.71)):
        fv = f * 2.0 ** (cents / 1200.0)
        if vibrato:
            ramp = np.clip(t / 1.5, 0.0, 1.0)
            fv = fv * (1.0 + vibrato * ramp * np.sin(TWO_PI * (5.0 + cents / 20.0) * t + ph * 6))
        voices.append(osc(shape, fv, n, cutoff, ph))
    env = env_adsr(n, gate, attack, 1.5, 0.85, release) * vel / 3.0
    left = voices[0] + 0.7 * voices[1] + 0.3 * voices[2]
    right = voices[2] + 0.7 * voices[1] + 0.3 * voices[0]
    return np.stack([left * env, right * env])


@cache
def epiano(midi: int, gate: float, vel: float) -> np.ndarray:
    """FM electric piano: a ratio-1 modulator whose index fades, and a faint bell-like tine."""
    f = hz(midi)
    gate = min(gate, 3.0)
    n = int((gate + 0.5) * SR)
    t = _t(n)
    index = (0.4 + 1.6 * vel) * np.exp(-t * 2.5)
    body = np.sin(TWO_PI * f * t + index * np.sin(TWO_PI * f * t))
    tine = 0.0
    if f * 14 < 0.45 * SR:
        tine = 0.12 * vel * np.sin(TWO_PI * 14 * f * t) * np.exp(-t * 30)
    amp = np.exp(-t * (0.9 + f / 900.0)) * env_adsr(n, gate, 0.003, 1.0, 1.0, 0.45)
    return (body + tine) * amp * vel


@cache
def piano(midi: int, gate: float, vel: float) -> np.ndarray:
    """Additive piano: stretched partials, two slightly detuned strings, two-stage decay, hammer."""
    f = hz(midi)
    gate = min(gate, 4.0)
    n = int((gate + 0.35) * SR)
    t = _t(n)
    out = np.zeros(n)
    bright = 0.4 + vel
    sustain = 3.0 * (261.6 / f) ** 0.5
    for k in range(1, 15):
        fk = k * f * np.sqrt(1.0 + 0.0004 * k * k)
        if fk > 0.45 * SR:
            break
        ak = k**-1.1 * np.exp(-(k - 1) * 0.45 / bright)
        tau = sustain / (1.0 + 0.3 * (k - 1))
        decay = 0.65 * np.exp(-t / (0.18 * tau)) + 0.35 * np.exp(-t / tau)
        strings = np.sin(TWO_PI * fk * t + k) + np.sin(TWO_PI * fk * 1.0007 * t + 2 * k)
        out += ak * decay * strings
    hammer = fft_filter(_noise(n, midi), 300.0, 3000.0) * np.exp(-t * 90.0) * 0.15
    damper = env_adsr(n, gate, 0.002, 1.0, 1.0, 0.3)
    return (0.5 * out + hammer) * damper * vel


@cache
def pluck(
    midi: int, gate: float, vel: float, shape: str = "saw", bright: float = 10.0, decay: float = 6.0
) -> np.ndarray:
    """Plucked synth: a bright wave fading into a dark one, like a closing filter."""
    f = hz(midi)
    gate = min(gate, 1.5)
    n = int((gate + 0.12) * SR)
    t = _t(n)
    fast = np.exp(-t * decay * 2.0)
    sharp = osc(shape, f, n, f * bright)
    dull = osc(shape, f, n, f * 1.8)
    sig = sharp * fast + dull * (1.0 - fast) * np.exp(-t * decay * 0.25)
    return sig * env_adsr(n, gate, 0.002, 0.5, 1.0, 0.1) * vel


@cache
def lead(
    midi: int,
    gate: float,
    vel: float,
    shape: str = "saw",
    cutoff: float = 3500.0,
    vibrato: float = 0.004,
    detune: float = 6.0,
) -> np.ndarray:
    """Two detuned oscillators (one per side) with delayed vibrato."""
    f = hz(midi)
    n = int((gate + 0.2) * SR)
    t = _t(n)
    vib = 1.0 + vibrato * np.clip((t - 0.25) / 0.4, 0.0, 1.0) * np.sin(TWO_PI * 5.5 * t)
    left = osc(shape, f * vib * 2.0 ** (-detune / 1200.0), n, cutoff)
    right = osc(shape, f * vib * 2.0 ** (detune / 1200.0), n, cutoff, 0.5)
    env = env_adsr(n, gate, 0.012, 0.25, 0.75, 0.18) * vel
    return np.stack([left * env, right * env])


@cache
def flute(midi: int, gate: float, vel: float) -> np.ndarray:
    """Soft breathy lead: a rounded wave, slow vibrato and a little filtered breath noise."""
    f = hz(midi)
    n = int((gate + 0.35) * SR)
    t = _t(n)
    vib = 1.0 + 0.005 * np.clip((t - 0.3) / 0.6, 0.0, 1.0) * np.sin(TWO_PI * 4.8 * t)
    tone = osc("tri", f * vib, n, f * 3.0) + 0.25 * np.sin(TWO_PI * 2.0 * f * t)
    breath = fft_filter(_noise(n, midi + 7), f, f * 4.0) * 0.12
    env = env_adsr(n, gate, 0.12, 0.4, 0.8, 0.3)
    return (tone + breath) * env * vel


@cache
def bell(midi: int, vel: float, brightness: float = 2.0) -> np.ndarray:
    """FM bell with an inharmonic 3.5 ratio and a long ring."""
    f = hz(midi)
    n = int(3.0 * SR)
    t = _t(n)
    index = brightness * np.exp(-t * 2.0)
    sig = np.sin(TWO_PI * f * t + index * np.sin(TWO_PI * 3.5 * f * t))
    fade = np.clip((3.0 - t) / 0.3, 0.0, 1.0)
    return sig * np.exp(-t * 1.6) * np.minimum(t / 0.002, 1.0) * fade * vel


@cache
def bass(midi: int, gate: float, vel: float, drive: float = 0.0, bright: float = 4.0) -> np.ndarray:
    """Sine sub plus a saw whose brightness decays; optional tanh drive for a gritty bass."""
    f = hz(midi)
    n = int((gate + 0.08) * SR)
    t = _t(n)
    fast = np.exp(-t * 9.0)
    body = osc("saw", f, n, f * bright) * fast + osc("saw", f, n, f * 1.5) * (1.0 - fast)
    sig = 0.8 * np.sin(TWO_PI * f * t) + 0.55 * body
    if drive > 0:
        sig = np.tanh(drive * sig) / np.tanh(drive)
        sig = fft_filter(sig, None, 2500.0 + 600.0 * drive)
    return sig * env_adsr(n, gate, 0.004, 0.4, 0.8, 0.06) * vel


@cache
def power_chord(midi: int, gate: float, vel: float, drive: float = 6.0) -> np.ndarray:
    """Root, fifth and octave of saws through tanh distortion: a synthetic distorted guitar."""
    n = int((gate + 0.15) * SR)
    sig = sum(
        osc("saw", hz(m) * 2.0 ** (c / 1200.0), n, 3000.0, ph)
        for m, c, ph in ((midi, -5.0, 0.0), (midi + 7, 4.0, 0.3), (midi + 12, 0.0, 0.6))
    )
    sig = np.tanh(drive * sig / 3.0) / np.tanh(drive)
    sig = fft_filter(sig, 90.0, 3200.0)
    return sig * env_adsr(n, gate, 0.004, 0.3, 0.8, 0.12) * vel


# --- drums --------------------------------------------------------------------------------------


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.max(np.abs(x))


@cache
def kick(tone: float = 50.0, decay: float = 0.4, click: float = 0.5, drive: float = 0.0):
    n = int((decay + 0.1) * SR)
    t = _t(n)
    freq = tone * (1.0 + 2.5 * np.exp(-t * 30.0))
    body = np.sin(TWO_PI * np.cumsum(freq) / SR) * np.exp(-t * 4.0 / decay)
    snap = fft_filter(_noise(n, 11), 1500.0, 8000.0) * np.exp(-t * 250.0) * click * 0.5
    sig = body + snap
    if drive:
        sig = np.tanh(drive * sig)
    return _normalise(sig * np.minimum(t / 0.001, 1.0) * np.clip((n / SR - t) / 0.03, 0, 1))


@cache
def snare(tone: float = 185.0, snappy: float = 0.8, decay: float = 0.2) -> np.ndarray:
    n = int((decay + 0.15) * SR)
    t = _t(n)
    body = (np.sin(TWO_PI * tone * t) + 0.5 * np.sin(TWO_PI * tone * 1.62 * t)) * np.exp(-t * 28)
    rattle = fft_filter(_noise(n, 22), 1500.0, 9000.0) * np.exp(-t * 3.5 / decay)
    return _normalise(0.7 * body + snappy * rattle * 2.0)


@cache
def brush() -> np.ndarray:
    n = int(0.35 * SR)
    t = _t(n)
    sig = fft_filter(_noise(n, 33), 900.0, 6000.0) * np.minimum(t / 0.015, 1.0) * np.exp(-t * 14)
    return _normalise(sig)


@cache
def hat(decay: float = 0.05) -> np.ndarray:
    n = int((decay * 2 + 0.02) * SR)
    t = _t(n)
    metal = sum(
        np.sign(np.sin(TWO_PI * f * t + i))
        for i, f in enumerate((205.3, 304.4, 369.6, 522.7, 540.0, 800.0))
    )
    sig = fft_filter(metal * 0.4 + _noise(n, 44), 7000.0, None, order=3)
    return _normalise(sig * np.exp(-t * 3.5 / decay))


@cache
def shaker() -> np.ndarray:
    n = int(0.12 * SR)
    t = _t(n)
    sig = fft_filter(_noise(n, 55), 5000.0, 14000.0) * np.minimum(t / 0.012, 1.0) * np.exp(-t * 45)
    return _normalise(sig)


@cache
def clap() -> np.ndarray:
    n = int(0.4 * SR)
    t = _t(n)
    bursts = sum(np.exp(-np.maximum(t - d, 0) * 350) * (t >= d) for d in (0.0, 0.011, 0.023))
    tail = np.exp(-np.maximum(t - 0.03, 0) * 14) * (t >= 0.03) * 0.6
    return _normalise(fft_filter(_noise(n, 66), 900.0, 5000.0) * (bursts + tail))


@cache
def rim() -> np.ndarray:
    n = int(0.08 * SR)
    t = _t(n)
    sig = np.sin(TWO_PI * 1700 * t) * np.exp(-t * 120) + 0.3 * fft_filter(_noise(n, 77), 2000.0)
    return _normalise(sig * np.exp(-t * 60))


@cache
def tom(tone: float) -> np.ndarray:
    n = int(0.5 * SR)
    t = _t(n)
    freq = tone * (1.0 + 0.6 * np.exp(-t * 20))
    body = np.sin(TWO_PI * np.cumsum(freq) / SR) * np.exp(-t * 8)
    return _normalise(body + 0.2 * fft_filter(_noise(n, 88), 200, 3000) * np.exp(-t * 40))


INSTRUMENTS = (pad, epiano, piano, pluck, lead, flute, bell, bass, power_chord)
DRUMS = (kick, snare, brush, hat, shaker, clap, rim, tom)

# ---------------------------------------------------------------------------------------------
# Mixing: stereo buses with reverb and delay sends, side-chain ducking, mastering
# ---------------------------------------------------------------------------------------------


@dataclass
class Bus:
    data: np.ndarray
    gain: float
    pan: float
    reverb: float
    delay: float
    duck: float


def reverb_ir(seconds: float, seed: int, damping: float = 0.45, predelay: float = 0.02):
    """Stereo impulse response: early reflections and a decaying tail that darkens with time."""
    n = int(seconds * SR)
    t = _t(n)
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((2, n))
    dark = fft_filter(noise, None, 2500.0)
    bright = noise - dark
    tail = dark * np.exp(-6.9 * t / seconds) + bright * np.exp(-6.9 * t / (seconds * damping))
    tail *= np.minimum(t / 0.03, 1.0)
    for delay_s, gain in zip(rng.uniform(0.005, 0.07, 10), rng.uniform(0.3, 0.8, 10), strict=True):
        i = int(delay_s * SR)
        tail[:, i] += gain * rng.choice((-1.0, 1.0), 2) * 6.0
    tail = fft_filter(tail, 180.0, None)  # no reverb on the low end: it turns kicks into rumble
    tail /= np.sqrt(np.sum(tail**2) / 2.0)
    return np.concatenate([np.zeros((2, int(predelay * SR))), tail], axis=1)


def ping_pong(x: np.ndarray, delay_s: float, feedback: float = 0.45, taps: int = 6) -> np.ndarray:
    mono = x.mean(axis=0)
    n = mono.size
    out = np.zeros((2, n))
    d = int(delay_s * SR)
    for i in range(1, taps + 1):
        s = i * d
        if s >= n:
            break
        out[i % 2, s:] += mono[: n - s] * feedback ** (i - 1)
    return fft_filter(out, 200.0, 4500.0)


class Mix:
    def __init__(
        self, seconds: float, seed: int, reverb_seconds: float = 2.2, delay_s: float = 0.375
    ) -> None:
        self.n = int(seconds * SR)
        self.seed = seed
        self.reverb_seconds = reverb_seconds
        self.delay_s = delay_s
        self.buses: dict[str, Bus] = {}
        self.duck_times: list[float] = []

    def bus(
        self,
        name: str,
        gain: float = 1.0,
        pan: float = 0.0,
        reverb: float = 0.0,
        delay: float = 0.0,
        duck: float = 0.0,
    ) -> None:
        self.buses[name] = Bus(np.zeros((2, self.n), np.float32), gain, pan, reverb, delay, duck)

    def add(
        self, name: str, t: float, sig: np.ndarray, gain: float = 1.0, pan: float | None = None
    ):
        bus = self.buses[name]
        i = round(t * SR)
        if i >= self.n or i < 0:
            return
        if sig.ndim == 1:
            p = bus.pan if pan is None else pan
            angle = (p + 1.0) * np.pi / 4.0
            sig = np.stack([sig * np.cos(angle), sig * np.sin(angle)]) * np.sqrt(2.0)
        m = min(sig.shape[1], self.n - i)
        bus.data[:, i : i + m] += sig[:, :m] * gain

    def render(self) -> np.ndarray:
        out = np.zeros((2, self.n))
        reverb_send = np.zeros(self.n)
        delay_send = np.zeros((2, self.n))
        duck_env = np.ones(self.n)
        if self.duck_times:
            impulses = np.zeros(self.n)
            for t in self.duck_times:
                if 0 <= round(t * SR) < self.n:
                    impulses[round(t * SR)] = 1.0
            tk = _t(int(0.3 * SR))
            kernel = np.minimum(tk / 0.004, 1.0) * np.exp(-tk / 0.09)
            duck_env = 1.0 - np.clip(fft_convolve(impulses, kernel), 0.0, 1.0)
        for bus in self.buses.values():
            sig = bus.data.astype(np.float64) * bus.gain
            if bus.duck:
                sig *= 1.0 - bus.duck * (1.0 - duck_env)
            out += sig
            reverb_send += sig.mean(axis=0) * bus.reverb
            delay_send += sig * bus.delay
        echoes = ping_pong(delay_send, self.delay_s)
        out += echoes
        reverb_send += echoes.mean(axis=0) * 0.3
        out += fft_convolve(reverb_send, reverb_ir(self.reverb_seconds, self.seed))
        return out


def rms_db(x: np.ndarray) -> float:
    return 20.0 * np.log10(np.sqrt(np.mean(np.square(x))) + 1e-12)


def peak_db(x: np.ndarray) -> float:
    return 20.0 * np.log10(np.max(np.abs(x)) + 1e-12)


def _running_min(g: np.ndarray, w: int) -> np.ndarray:
    """out[i] = min(g[i : i + w]) in O(n) (van Herk / Gil-Werman)."""
    n = g.size
    blocks = -(-(n + w) // w)
    padded = np.ones(blocks * w)
    padded[:n] = g
    b = padded.reshape(blocks, w)
    prefix = np.minimum.accumulate(b, axis=1).ravel()
    suffix = np.minimum.accumulate(b[:, ::-1], axis=1)[:, ::-1].ravel()
    return np.minimum(suffix[:n], prefix[w - 1 : w - 1 + n])


def limit(x: np.ndarray, ceiling_db: float, hold_s: float = 0.02) -> np.ndarray:
    """Look-ahead peak limiter: the gain falls smoothly before a peak and never lets it through."""
    ceiling = 10.0 ** (ceiling_db / 20.0)
    peak = np.max(np.abs(x), axis=0)
    gain = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12))
    w = max(2, int(hold_s * SR))
    padded = np.concatenate([np.ones(w), gain])
    held = _running_min(padded, 2 * w + 1)[: gain.size]  # min over [i - w, i + w]
    c = np.concatenate([[0.0], np.cumsum(np.concatenate([np.ones(w // 2), held, np.ones(w)]))])
    smooth = (c[w : w + gain.size] - c[: gain.size]) / w  # mean over [i - w/2, i + w/2)
    return x * np.minimum(smooth, gain)


def master(x: np.ndarray) -> np.ndarray:
    x = fft_filter(x, 28.0, None)
    x -= x.mean(axis=1, keepdims=True)
    level = np.max(np.abs(x), axis=0)
    audible = np.flatnonzero(level > 1e-3 * level.max())  # cut the silent end of the tail
    x = x[:, : min(x.shape[1], audible[-1] + int(0.3 * SR))]
    t = _t(x.shape[1])
    fade_out = np.clip((t[-1] - t) / FADE_SECONDS, 0.0, 1.0)
    x *= np.minimum(t / 0.01, 1.0) * (0.5 - 0.5 * np.cos(np.pi * fade_out))
    for _ in range(5):
        x *= 10.0 ** ((TARGET_RMS_DB - rms_db(x)) / 20.0)
        x = limit(x, CEILING_DB)
    return x * min(1.0, 10.0 ** (CEILING_DB / 20.0) / np.max(np.abs(x)))


# ---------------------------------------------------------------------------------------------
# Composition
# ---------------------------------------------------------------------------------------------

VELOCITY = {"X": 1.0, "x": 0.75, "o": 0.45, "-": 0.25, ".": 0.0}


@dataclass(frozen=True)
class TrackSpec:
    playlist: str
    title: str
    seed: int
    bpm: float
    root: int
    mode: str
    progression: tuple[int, ...]  # chord root degrees, one per bar, repeated as needed
    form: tuple[tuple[str, int], ...]  # (section, bars)
    variant: int = 0  # arrangers pick small options with it

    @property
    def bars(self) -> int:
        return sum(b for _, b in self.form)

    @property
    def seconds(self) -> float:
        return self.bars * 240.0 / self.bpm + TAIL_SECONDS


class Song:
    """Timing, harmony and melody shared by the layers of one track."""

    def __init__(self, spec: TrackSpec, sevenths: bool) -> None:
        self.spec = spec
        self.key = Key(spec.root, spec.mode)
        self.rng = np.random.default_rng(spec.seed)
        self.bar_s = 240.0 / spec.bpm
        self.step_s = self.bar_s / 16.0
        self.sevenths = sevenths
        self.sections: list[tuple[str, int, int]] = []  # (name, first bar, bars)
        bar = 0
        for name, bars in spec.form:
            self.sections.append((name, bar, bars))
            bar += bars
        self.bars = bar

    def t(self, bar: int, step: float = 0.0, jitter: float = 0.0) -> float:
        wobble = self.rng.normal(0.0, jitter) if jitter else 0.0
        return max(0.0, (bar * 16 + step) * self.step_s + wobble)

    def chord(self, bar: int) -> list[int]:
        """Scale degrees of the chord in ``bar`` (root, third, fifth and maybe seventh)."""
        root = self.spec.progression[bar % len(self.spec.progression)]
        return [root + 2 * i for i in range(4 if self.sevenths else 3)]

    def pitches(self, bar: int) -> list[int]:
        return [self.key.pitch(d) for d in self.chord(bar)]

    def bass_note(self, bar: int, octave: int = -2) -> int:
        return self.key.pitch(self.chord(bar)[0]) + 12 * octave

    def bars_of(self, *names: str):
        for name, first, count in self.sections:
            if name in names:
                yield from range(first, first + count)

    def section_ends(self) -> set[int]:
        return {first + count - 1 for _, first, count in self.sections}

    def last_bar(self) -> int:
        return self.bars - 1


Motif = tuple[list[tuple[int, int]], list[int]]


def make_motif(rng: np.random.Generator, grid: int, density: float, steps: int = 32) -> Motif:
    """A two-bar rhythm on a grid of ``grid`` sixteenths and a contour in scale steps."""
    onsets = [0]
    for s in range(grid, steps - grid, grid):
        p = density * (1.25 if s % 8 == 0 else 0.9 if s % 4 == 0 else 0.65)
        if s >= steps - 2 * grid and rng.random() < 0.6:
            continue  # breathe before the next phrase
        if rng.random() < p:
            onsets.append(s)
    rhythm = []
    for a, b in zip(onsets, [*onsets[1:], steps], strict=True):
        gap = b - a
        length = gap if gap <= grid or rng.random() < 0.75 else max(grid, gap // 2)
        rhythm.append((a, length))
    moves = np.array([-3, -2, -1, 0, 1, 2, 3, 4])
    weights = np.array([0.05, 0.15, 0.25, 0.08, 0.25, 0.14, 0.05, 0.03])
    contour = [0]
    for _ in rhythm[1:]:
        step = int(rng.choice(moves, p=weights))
        contour.append(int(np.clip(contour[-1] + step, -4, 6)))
    return rhythm, contour


def vary(rng: np.random.Generator, motif: Motif) -> Motif:
    rhythm, contour = motif
    contour = list(contour)
    for i in range(max(1, len(contour) - 2), len(contour)):
        contour[i] += int(rng.choice([-2, -1, 1, 2]))
    return rhythm, contour


def melody(
    song: Song,
    bars: Sequence[int],
    motifs: dict[str, Motif],
    plan: str,
    lo: int,
    hi: int,
    lift: int = 0,
) -> list[tuple[float, float, int, float]]:
    """Realise motifs over consecutive two-bar phrases; strong beats land on chord tones.

    Returns (start time, seconds, MIDI pitch, velocity) notes.
    """
    notes = []
    prev = (lo + hi) // 2
    bars = list(bars)
    phrases = [bars[i] for i in range(0, len(bars) - 1, 2)]
    for index, bar0 in enumerate(phrases):
        rhythm, contour = motifs[plan[index % len(plan)]]
        start = nearest_chord_tone(prev + lift, song.chord(bar0))
        last = index == len(phrases) - 1
        for j, ((onset, length), c) in enumerate(zip(rhythm, contour, strict=True)):
            bar = bar0 + onset // 16
            d = start + c
            while d > hi:
                d -= 7
            while d < lo:
                d += 7
            if onset % 8 == 0:
                d = nearest_chord_tone(d, song.chord(bar))
            if last and j == len(rhythm) - 1:
                d = nearest_chord_tone(7 * round(d / 7), song.chord(bar))
            vel = (0.95 if onset % 8 == 0 else 0.8) * float(song.rng.uniform(0.88, 1.0))
            notes.append((song.t(bar0, onset, 0.004), length * song.step_s, song.key.pitch(d), vel))
            prev = d
    return notes


def play_drums(
    mix: Mix,
    song: Song,
    bus: str,
    bars: Sequence[int],
    pattern: str,
    sample: np.ndarray,
    gain: float = 1.0,
    pan: float | None = None,
    duck: bool = False,
    fills: dict[int, str] | None = None,
) -> None:
    """Place a drum sample by a pattern string (16 chars = sixteenths of one bar; 8 = eighths)."""
    for bar in bars:
        pat = (fills or {}).get(bar, pattern)
        per = 16 // len(pat) if len(pat) <= 16 else 1
        for i, ch in enumerate(pat):
            v = VELOCITY[ch]
            if not v:
                continue
            t = song.t(bar, i * per if len(pat) <= 16 else i * 16 / len(pat), 0.002)
            mix.add(bus, t, sample, gain * v * float(song.rng.uniform(0.9, 1.0)), pan)
            if duck:
                mix.duck_times.append(t)


def two_motifs(song: Song, grid: int, density: float) -> dict[str, Motif]:
    a = make_motif(song.rng, grid, density)
    b = make_motif(song.rng, grid, density * 1.1)
    return {"A": a, "a": vary(song.rng, a), "B": b, "b": vary(song.rng, b)}


def add_notes(
    mix: Mix,
    bus: str,
    notes,
    voice: Callable[..., np.ndarray],
    gain: float = 1.0,
    pan: float | None = None,
    *params,
) -> None:
    """Play melody notes on ``voice``; ``params`` follow the voice's (midi, gate, velocity)."""
    for t, seconds, midi, vel in notes:
        mix.add(bus, t, voice(midi, round(seconds, 3), round(vel, 2), *params), gain, pan)


# --- one arranger per playlist ---------------------------------------------------------------


def arrange_calm(spec: TrackSpec) -> Mix:
    song = Song(spec, sevenths=True)
    mix = Mix(spec.seconds, spec.seed, reverb_seconds=3.2, delay_s=song.step_s * 6)
    mix.bus("pad", 0.62, reverb=0.55)
    mix.bus("bass", 0.28, reverb=0.12)
    mix.bus("lead", 0.6, pan=-0.15, reverb=0.45, delay=0.3)
    mix.bus("bells", 0.4, reverb=0.6, delay=0.4)
    mix.bus("perc", 0.5, reverb=0.3)
    center = spec.root - 2
    for bar in range(song.bars):
        gate = song.bar_s * (1.6 if bar == song.last_bar() else 1.02)
        for i, m in enumerate(voicing(song.pitches(bar), center)):
            mix.add(
                "pad",
                song.t(bar),
                pad(
                    m, round(gate, 3), 0.5, "warm", 1400.0, 1.2, 2.8, 0.0 if spec.variant else 0.002
                ),
                pan=i / 2 - 0.75,
            )
    for bar in song.bars_of("a", "b", "a2"):
        root = song.bass_note(bar)
        mix.add("bass", song.t(bar), bass(root, round(song.bar_s * 0.55, 3), 0.8, 0.0, 1.5))
        fifth = root + 7 if spec.variant != 1 else root + 12
        mix.add("bass", song.t(bar, 10), bass(fifth, round(song.bar_s * 0.3, 3), 0.55, 0.0, 1.5))
    motifs = two_motifs(song, 4, 0.45)
    notes = melody(song, song.bars_of("a"), motifs, "Aa", 5, 12)
    notes += melody(song, song.bars_of("b"), motifs, "Bb", 7, 14)
    notes += melody(song, song.bars_of("a2"), motifs, "aA", 5, 12)
    add_notes(mix, "lead", notes, flute)
    for bar in song.bars_of("intro", "b", "outro"):
        for step in sorted(song.rng.choice(np.arange(0, 16, 2), 3, replace=False)):
            d = int(song.rng.choice(song.chord(bar))) + 7
            mix.add(
                "bells",
                song.t(bar, int(step)),
                bell(song.key.pitch(d), 0.6, 0.8),
                pan=float(song.rng.uniform(-0.7, 0.7)),
            )
    play_drums(mix, song, "perc", list(song.bars_of("a", "b", "a2")), "x.o.-.o.x.o.-.o.", shaker())
    play_drums(
        mix,
        song,
        "perc",
        list(song.bars_of("b", "a2")),
        "x.......o.......",
        kick(45.0, 0.5, 0.1),
        gain=1.6,
    )
    return mix


def arrange_gentle(spec: TrackSpec) -> Mix:
    song = Song(spec, sevenths=True)
    mix = Mix(spec.seconds, spec.seed, reverb_seconds=2.4, delay_s=song.step_s * 3)
    mix.bus("keys", 0.55, reverb=0.35, delay=0.12)
    mix.bus("pad", 0.55, reverb=0.5)
    mix.bus("bass", 0.3, reverb=0.08)
    mix.bus("lead", 0.8, pan=0.1, reverb=0.4, delay=0.22)
    mix.bus("drums", 1.3, reverb=0.18)
    arps = ((0, 1, 2, 3, 4, 3, 2, 1), (0, 2, 1, 3, 2, 4, 3, 1), (0, 1, 2, 4, 3, 2, 1, 2))
    pattern = arps[spec.variant % 3]
    for bar in range(song.bars):
        tones = voicing(song.pitches(bar), spec.root - 3)
        tones = [tones[0] - 12, *tones]
        for i, idx in enumerate(pattern):
            m = tones[idx % len(tones)]
            vel = 0.75 if i % 4 == 0 else 0.55
            mix.add(
                "keys",
                song.t(bar, 2 * i, 0.006),
                epiano(m, round(song.step_s * 5, 3), vel),
                pan=(idx / 4.0 - 0.5) * 0.8,
            )
        if bar not in set(song.bars_of("intro")):
            gate = round(song.bar_s * (1.5 if bar == song.last_bar() else 1.0), 3)
            for m in voicing(song.pitches(bar), spec.root + 5):
                mix.add("pad", song.t(bar), pad(m, gate, 0.4, "tri", 1200.0, 0.7, 1.5))
    for bar in song.bars_of("a", "b", "a2"):
        root = song.bass_note(bar)
        mix.add("bass", song.t(bar), bass(root, round(song.step_s * 11, 3), 0.8, 0.0, 2.0))
        mix.add("bass", song.t(bar, 12), bass(root + 7, round(song.step_s * 3.5, 3), 0.55))
    motifs = two_motifs(song, 2, 0.4)
    notes = melody(song, song.bars_of("b"), motifs, "AaBA", 7, 15)
    notes += melody(song, song.bars_of("a2"), motifs, "Ab", 7, 15)
    add_notes(mix, "lead", notes, lead, 0.7, None, "tri", 2200.0, 0.004, 4.0)
    drum_bars = list(song.bars_of("a", "b", "a2"))
    play_drums(mix, song, "drums", drum_bars, "x.......x.o.....", kick(52.0, 0.35, 0.2), 0.9)
    play_drums(mix, song, "drums", drum_bars, "....x.......x...", brush(), 0.5, pan=0.15)
    play_drums(mix, song, "drums", drum_bars, "x.o.x.o.x.o.x.ox", shaker(), 0.22, pan=-0.35)
    return mix


def arrange_upbeat(spec: TrackSpec) -> Mix:
    song = Song(spec, sevenths=False)
    mix = Mix(spec.seconds, spec.seed, reverb_seconds=1.6, delay_s=song.step_s * 3)
    mix.bus("kick", 1.7)
    mix.bus("snare", 2.1, reverb=0.2)
    mix.bus("hats", 1.0, pan=0.3, reverb=0.05)
    mix.bus("bass", 0.32, reverb=0.03, duck=0.3)
    mix.bus("chords", 0.27, reverb=0.25, duck=0.25)
    mix.bus("lead", 0.34, reverb=0.22, delay=0.25)
    mix.bus("pad", 0.45, reverb=0.4, duck=0.5)
    grooves = ("x...x...x...x...", "x.....x.x...x...", "x...x...x...x.x.")
    groove = grooves[spec.variant % 3]
    main = list(song.bars_of("verse", "chorus"))
    ends = song.section_ends()
    fills = {b: "....x.......x.xx" for b in ends}
    play_drums(
        mix,
        song,
        "kick",
        list(song.bars_of("intro", "verse", "chorus", "outro")),
        groove,
        kick(55.0, 0.3, 0.6),
        duck=True,
    )
    play_drums(
        mix, song, "snare", main, "....x.......x...", snare(200.0, 0.7, 0.18), 0.8, fills=fills
    )
    play_drums(mix, song, "snare", list(song.bars_of("chorus")), "....x.......x...", clap(), 0.7)
    play_drums(mix, song, "hats", list(range(song.bars)), "o.x.o.x.o.x.o.xo", hat(0.04))
    play_drums(mix, song, "hats", list(song.bars_of("chorus")), "..x...x...x...x.", hat(0.22), 0.5)
    for bar in song.bars_of("verse", "chorus", "outro"):
        root = song.bass_note(bar)
        for i, off in enumerate((0, 0, 12, 0, 7, 0, 12, 7)):
            mix.add(
                "bass",
                song.t(bar, 2 * i),
                bass(
                    root + off, round(song.step_s * 1.6, 3), 0.85 if i % 2 == 0 else 0.65, 0.0, 5.0
                ),
            )
    stabs = ("..x...x...x..x.x", "..x..x..x.x...x.", "x..x..x...x..x..")[spec.variant % 3]
    for bar in range(song.bars):
        tones = voicing(song.pitches(bar), spec.root + 4)
        for i, ch in enumerate(stabs):
            if ch == "x":
                for j, m in enumerate(tones):
                    mix.add(
                        "chords",
                        song.t(bar, i, 0.003),
                        pluck(m, round(song.step_s * 1.5, 3), 0.7, "saw", 14.0, 9.0),
                        pan=(j - 1) * 0.5,
                    )
    for bar in song.bars_of("chorus"):
        for m in voicing(song.pitches(bar), spec.root + 7):
            mix.add("pad", song.t(bar), pad(m, round(song.bar_s, 3), 0.5, "saw", 3000.0, 0.2, 0.6))
    motifs = two_motifs(song, 2, 0.6)
    notes = melody(song, song.bars_of("verse"), motifs, "AaAB", 5, 13)
    notes += melody(song, song.bars_of("chorus"), motifs, "BbBA", 8, 16, lift=3)
    add_notes(mix, "lead", notes, pluck, 1.0, None, "square", 8.0, 3.0)
    return mix


def arrange_energetic(spec: TrackSpec) -> Mix:
    song = Song(spec, sevenths=False)
    mix = Mix(spec.seconds, spec.seed, reverb_seconds=1.8, delay_s=song.step_s * 3)
    mix.bus("kick", 1.25)
    mix.bus("snare", 2.1, reverb=0.25)
    mix.bus("hats", 1.0, pan=-0.25)
    mix.bus("bass", 0.31, duck=0.5)
    mix.bus("arp", 0.35, reverb=0.25, delay=0.2, duck=0.4)
    mix.bus("lead", 0.44, reverb=0.25, delay=0.2, duck=0.2)
    mix.bus("pad", 0.45, reverb=0.4, duck=0.7)
    drops = list(song.bars_of("drop", "drop2"))
    four = list(song.bars_of("intro", "build", "drop", "drop2", "outro"))
    ends = song.section_ends()
    rolls = {b: "x.x.x.x.xxxxXXXX" for b in ends if b in set(song.bars_of("build", "break"))}
    rolls.update({b: "....x.......x.xx" for b in ends if b in set(drops)})
    play_drums(mix, song, "kick", four, "x...x...x...x...", kick(52.0, 0.28, 0.8, 1.5), duck=True)
    play_drums(mix, song, "snare", drops, "....x.......x...", clap(), 0.9)
    play_drums(
        mix,
        song,
        "snare",
        drops + list(song.bars_of("build", "break")),
        "................",
        snare(210.0, 0.9, 0.15),
        0.8,
        fills=rolls,
    )
    hats16 = ("xoxoxoxoxoxoxoxo", "x-xox-xox-xox-xo", "xxoxxxoxxxoxxxox")[spec.variant % 3]
    play_drums(mix, song, "hats", four, hats16, hat(0.03))
    play_drums(mix, song, "hats", drops, "..x...x...x...x.", hat(0.2), 0.6, pan=0.3)
    for bar in song.bars_of("build", "drop", "drop2", "outro"):
        root = song.bass_note(bar)
        for step in range(16):
            if step % 4 == 0:
                continue
            off = 12 if step % 4 == 2 and spec.variant == 1 else 0
            mix.add(
                "bass",
                song.t(bar, step),
                bass(root + off, round(song.step_s * 0.8, 3), 0.8, 1.5, 6.0),
            )
    arp_shapes = ((0, 1, 2, 3), (0, 2, 1, 3), (3, 2, 1, 0))
    for bar in range(song.bars):
        tones = voicing(song.pitches(bar), spec.root + 2)
        tones = [*tones, tones[0] + 12, tones[1] + 12]
        shape = arp_shapes[spec.variant % 3]
        for step in range(16):
            m = tones[shape[step % 4] + (step // 4) % 2]
            vel = 0.8 if step % 4 == 0 else 0.55
            mix.add(
                "arp",
                song.t(bar, step),
                pluck(m, round(song.step_s * 0.9, 3), vel, "saw", 12.0, 12.0),
                pan=0.4 * np.sin(step),
            )
    for bar in song.bars_of("break", "drop", "drop2"):
        for m in voicing(song.pitches(bar), spec.root + 5):
            mix.add("pad", song.t(bar), pad(m, round(song.bar_s, 3), 0.5, "saw", 2500.0, 0.1, 0.5))
    motifs = two_motifs(song, 2, 0.65)
    notes = melody(song, song.bars_of("drop"), motifs, "AaAB", 7, 15)
    notes += melody(song, song.bars_of("drop2"), motifs, "AaBb", 7, 16, lift=2)
    add_notes(mix, "lead", notes, lead, 1.0, None, "saw", 4500.0, 0.003, 12.0)
    return mix


def arrange_melancholy(spec: TrackSpec) -> Mix:
    song = Song(spec, sevenths=spec.variant != 2)
    mix = Mix(spec.seconds, spec.seed, reverb_seconds=3.0, delay_s=song.step_s * 6)
    mix.bus("piano", 0.5, reverb=0.4)
    mix.bus("strings", 0.25, reverb=0.5)
    mix.bus("drums", 0.45, reverb=0.35)
    broken = ((0, 2, 4, 2, 5, 2, 4, 2), (0, 3, 4, 5, 4, 3, 2, 3), (0, 2, 3, 4, 3, 2, 3, 2))
    shape = broken[spec.variant % 3]
    for bar in range(song.bars):
        root = song.bass_note(bar, -1)
        chord = song.chord(bar)
        low = [root, root + 7, *(song.key.pitch(d) - 12 for d in chord[1:]), root + 12]
        low = sorted(low)
        for i, idx in enumerate(shape):
            vel = 0.55 if i == 0 else 0.38
            gate = song.step_s * (14 if i == 0 else 4)
            mix.add(
                "piano",
                song.t(bar, 2 * i, 0.008),
                piano(low[idx % len(low)], round(gate, 3), vel),
                pan=-0.3 + 0.08 * idx,
            )
    motifs = two_motifs(song, 2, 0.42)
    notes = melody(song, song.bars_of("a"), motifs, "Aa", 5, 12)
    notes += melody(song, song.bars_of("b"), motifs, "BA", 6, 13)
    notes += melody(song, song.bars_of("a2"), motifs, "aA", 5, 12)
    for t, seconds, midi, vel in notes:
        mix.add("piano", t, piano(midi, round(seconds * 1.2, 3), round(vel * 0.75, 2)), pan=0.2)
    for bar in song.bars_of("b", "a2", "outro"):
        gate = round(song.bar_s * (1.5 if bar == song.last_bar() else 1.0), 3)
        for m in voicing(song.pitches(bar)[:3], spec.root - 5):
            mix.add("strings", song.t(bar), pad(m, gate, 0.5, "saw", 1100.0, 0.9, 1.8, 0.004))
        mix.add(
            "strings",
            song.t(bar),
            pad(song.bass_note(bar, -1), gate, 0.45, "saw", 500.0, 0.9, 1.8, 0.003),
        )
    beat = list(song.bars_of("a", "b", "a2"))
    play_drums(mix, song, "drums", beat, "x..o............", kick(46.0, 0.45, 0.0), 1.0)
    play_drums(mix, song, "drums", list(song.bars_of("b", "a2")), "........o.......", brush(), 0.55)
    play_drums(mix, song, "drums", list(song.bars_of("b")), "..-...-...-...-.", shaker(), 0.35)
    return mix


def arrange_intense(spec: TrackSpec) -> Mix:
    song = Song(spec, sevenths=False)
    mix = Mix(spec.seconds, spec.seed, reverb_seconds=2.0, delay_s=song.step_s * 3)
    mix.bus("kick", 0.75)
    mix.bus("snare", 2.8, reverb=0.35)
    mix.bus("hats", 1.0, pan=0.3)
    mix.bus("toms", 0.8, reverb=0.25)
    mix.bus("bass", 0.34, duck=0.25)
    mix.bus("guitar", 0.34, reverb=0.15, duck=0.15)
    mix.bus("pad", 0.36, reverb=0.45)
    mix.bus("lead", 0.56, reverb=0.3, delay=0.18)
    grooves = ("x..x..x...x.x...", "x.x...x..xx.....", "x..x.x....x..x..")
    groove = grooves[spec.variant % 3]
    main = list(song.bars_of("a", "b"))
    play_drums(
        mix,
        song,
        "kick",
        main + list(song.bars_of("outro")),
        groove,
        kick(48.0, 0.35, 0.7, 3.0),
        duck=True,
    )
    play_drums(
        mix,
        song,
        "kick",
        list(song.bars_of("intro")),
        "x.......x.......",
        kick(48.0, 0.35, 0.7, 3.0),
        duck=True,
    )
    play_drums(mix, song, "snare", main, "....x.......x...", snare(170.0, 0.9, 0.25))
    play_drums(mix, song, "hats", main, "x.x.x.x.x.x.x.xx", hat(0.05))
    for bar in song.section_ends():
        if bar == song.last_bar():
            continue
        for i, step in enumerate((8, 10, 12, 14)):
            mix.add("toms", song.t(bar, step), tom((160.0, 130.0, 100.0, 80.0)[i]), 0.9)
    riff = ("xx.xx.x.xx.x.xxx", "x.xxx.xxx.x.xx.x", "xxx.xx.xxxx.xx.x")[spec.variant % 3]
    for bar in song.bars_of("a", "b", "outro"):
        root = song.bass_note(bar, -3 if spec.root > 64 else -2)
        for step, ch in enumerate(riff):
            if ch == "x":
                mix.add(
                    "bass",
                    song.t(bar, step),
                    bass(root, round(song.step_s * 0.85, 3), 0.8, 5.0, 8.0),
                )
    for bar in song.bars_of("a", "b"):
        root = song.bass_note(bar, -1)
        for step, length in ((0, 3), (3, 3), (6, 4), (10, 6)):
            mix.add(
                "guitar",
                song.t(bar, step),
                power_chord(root, round(song.step_s * length, 3), 0.8, 7.0),
                pan=-0.5 if step % 2 else 0.5,
            )
    for bar in range(song.bars):
        gate = round(song.bar_s * (1.5 if bar == song.last_bar() else 1.0), 3)
        for m in voicing(song.pitches(bar), spec.root - 2):
            mix.add("pad", song.t(bar), pad(m, gate, 0.5, "saw", 900.0, 0.4, 1.2, 0.003))
    motifs = two_motifs(song, 2, 0.55)
    notes = melody(song, song.bars_of("b"), motifs, "AaBA", 5, 13)
    add_notes(mix, "lead", notes, lead, 1.0, None, "saw", 3000.0, 0.006, 9.0)
    return mix


ARRANGERS: dict[str, Callable[[TrackSpec], Mix]] = {
    "calm": arrange_calm,
    "gentle": arrange_gentle,
    "upbeat": arrange_upbeat,
    "energetic": arrange_energetic,
    "melancholy": arrange_melancholy,
    "intense": arrange_intense,
}

GENRES = {
    "calm": "Ambient",
    "gentle": "Easy Listening",
    "upbeat": "Pop",
    "energetic": "Electronic",
    "melancholy": "Piano",
    "intense": "Industrial",
}

# (playlist, title, seed, bpm, root, mode, progression, form, variant)
CALM_FORM = (("intro", 2), ("a", 4), ("b", 4), ("outro", 2))
GENTLE_FORM = (("intro", 2), ("a", 4), ("b", 4), ("a2", 2), ("outro", 2))
UPBEAT_FORM = (("intro", 2), ("verse", 8), ("chorus", 8), ("outro", 2))
ENERGETIC_FORM = (("intro", 2), ("build", 4), ("drop", 8), ("break", 2), ("drop2", 8), ("outro", 2))
MELANCHOLY_FORM = (("intro", 2), ("a", 4), ("b", 4), ("outro", 2))
INTENSE_FORM = (("intro", 2), ("a", 8), ("b", 8), ("outro", 2))

TRACKS: tuple[TrackSpec, ...] = (
    TrackSpec("calm", "Still Water at Dawn", 101, 66, 60, "lydian", (0, 1, 0, 4), CALM_FORM, 0),
    TrackSpec("calm", "Lanterns on the Lake", 102, 62, 65, "ionian", (0, 5, 3, 4), CALM_FORM, 1),
    TrackSpec("calm", "Slow Clouds Over Fields", 103, 70, 62, "lydian", (0, 3, 1, 4), CALM_FORM, 2),
    TrackSpec("gentle", "Warm Kitchen Light", 201, 80, 67, "ionian", (0, 3, 5, 4), GENTLE_FORM, 0),
    TrackSpec("gentle", "Hand in Hand", 202, 76, 62, "ionian", (0, 2, 3, 4), GENTLE_FORM, 1),
    TrackSpec(
        "gentle", "A Blanket of Snow", 203, 84, 64, "mixolydian", (0, 6, 3, 0), GENTLE_FORM, 2
    ),
    TrackSpec("upbeat", "Sunday Bicycle", 301, 120, 62, "ionian", (0, 4, 5, 3), UPBEAT_FORM, 0),
    TrackSpec("upbeat", "Lemonade Sky", 302, 124, 67, "ionian", (0, 3, 5, 4), UPBEAT_FORM, 1),
    TrackSpec("upbeat", "Open Windows", 303, 118, 65, "mixolydian", (0, 6, 3, 0), UPBEAT_FORM, 2),
    TrackSpec(
        "energetic", "Night Runner", 401, 140, 69, "aeolian", (0, 5, 2, 6), ENERGETIC_FORM, 0
    ),
    TrackSpec("energetic", "Voltage", 402, 142, 64, "dorian", (0, 3, 0, 6), ENERGETIC_FORM, 1),
    TrackSpec(
        "energetic",
        "Skyline at Full Throttle",
        403,
        138,
        62,
        "ionian",
        (0, 4, 5, 3),
        ENERGETIC_FORM,
        2,
    ),
    TrackSpec(
        "melancholy", "Letters Never Sent", 501, 66, 69, "aeolian", (0, 5, 2, 6), MELANCHOLY_FORM, 0
    ),
    TrackSpec(
        "melancholy",
        "Rain on the Old Station",
        502,
        62,
        64,
        "harmonic",
        (0, 3, 5, 4),
        MELANCHOLY_FORM,
        1,
    ),
    TrackSpec(
        "melancholy", "The Empty Chair", 503, 70, 62, "dorian", (0, 6, 5, 6), MELANCHOLY_FORM, 2
    ),
    TrackSpec("intense", "Iron Horizon", 601, 112, 64, "phrygian", (0, 1, 0, 5), INTENSE_FORM, 0),
    TrackSpec("intense", "Storm Engine", 602, 126, 62, "harmonic", (0, 5, 3, 4), INTENSE_FORM, 1),
    TrackSpec("intense", "Black Glass", 603, 104, 65, "aeolian", (0, 5, 6, 4), INTENSE_FORM, 2),
)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def track_path(spec: TrackSpec, number: int, root: Path = HERE) -> Path:
    return root / spec.playlist / f"{number:02d}-{slug(spec.title)}.ogg"


def render(spec: TrackSpec) -> np.ndarray:
    """The mastered stereo signal of one track, shape (2, n), float64 in [-1, 1]."""
    for fn in (*INSTRUMENTS, *DRUMS):
        fn.cache_clear()
    return master(ARRANGERS[spec.playlist](spec).render())


def write_ogg(path: Path, audio: np.ndarray, spec: TrackSpec, number: int, total: int) -> None:
    import soundfile
    from mutagen.oggvorbis import OggVorbis

    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(4):
        frames = np.ascontiguousarray(audio.T, dtype=np.float32)
        with soundfile.SoundFile(
            path, "w", SR, 2, "VORBIS", format="OGG", compression_level=VORBIS_COMPRESSION
        ) as out:
            for i in range(0, len(frames), 16384):  # one big write crashes libsndfile's Vorbis
                out.write(frames[i : i + 16384])
        decoded_peak = peak_db(soundfile.read(path)[0])
        if decoded_peak <= MAX_DECODED_PEAK_DB:
            break
        audio = audio * 10.0 ** ((MAX_DECODED_PEAK_DB - 0.3 - decoded_peak) / 20.0)
    tags = OggVorbis(path)
    tags.delete()
    tags["title"] = spec.title
    tags["artist"] = ARTIST
    tags["album"] = spec.playlist
    tags["genre"] = GENRES[spec.playlist]
    tags["tracknumber"] = f"{number}/{total}"
    tags["copyright"] = f"{ARTIST} project; {LICENCE}"
    tags["license"] = "https://creativecommons.org/publicdomain/zero/1.0/"
    tags["comment"] = (
        f"Synthesised by playlists/make_music.py (seed {spec.seed}, {spec.bpm:g} bpm, "
        f"{spec.mode} on MIDI {spec.root})"
    )
    tags.save()
    fix_serial(path, spec.seed)


def fix_serial(path: Path, serial: int) -> None:
    """Give the Ogg stream a fixed serial number (libsndfile picks a random one).

    With it, rendering again writes byte-identical files, so git sees only real changes.
    """
    import io

    from mutagen.ogg import OggPage

    data = io.BytesIO(path.read_bytes())
    pages = []
    while True:
        try:
            pages.append(OggPage(data))
        except EOFError:
            break
    for page in pages:
        page.serial = serial
    path.write_bytes(b"".join(page.write() for page in pages))


# ---------------------------------------------------------------------------------------------
# Listening with numbers
# ---------------------------------------------------------------------------------------------


def analyse(audio: np.ndarray, sr: int) -> dict[str, float]:
    """Loudness, peak, DC, longest quiet stretch, brightness and tempo of (n, 2) audio."""
    mono = audio.mean(axis=1)
    hop = 512
    frames = np.lib.stride_tricks.sliding_window_view(mono, 2048)[::hop] * np.hanning(2048)
    spectrum = np.abs(np.fft.rfft(frames, axis=1))
    freqs = np.fft.rfftfreq(2048, 1.0 / sr)
    power = spectrum**2
    centroid = float(np.sum(power @ freqs) / np.sum(power))
    treble = float(10 * np.log10(np.sum(power[:, freqs > 2000]) / np.sum(power)))
    frame_rms = np.sqrt(np.mean(frames**2, axis=1) * (8 / 3))  # Hann power correction
    blocks = np.sqrt(np.convolve(frame_rms**2, np.ones(258) / 258, "valid"))  # 3 s windows
    spread = np.percentile(20 * np.log10(blocks + 1e-9), [10, 95])
    quiet = frame_rms < 10 ** (-50 / 20)
    longest, run = 0, 0
    for q in quiet[: -int(FADE_SECONDS * sr / hop)]:  # the fade-out at the end is meant
        run = run + 1 if q else 0
        longest = max(longest, run)
    flux = np.maximum(np.diff(np.log1p(spectrum * 10), axis=0), 0).sum(axis=1)
    flux -= flux.mean()
    ac = np.correlate(flux, flux, "full")[flux.size - 1 :]
    fps = sr / hop
    lags = np.arange(int(fps * 60 / 180), int(fps * 60 / 55))
    tempo = 60.0 * fps / lags[np.argmax(ac[lags])]
    return {
        "seconds": audio.shape[0] / sr,
        "rms_db": rms_db(audio),
        "peak_db": peak_db(audio),
        "dc": float(np.max(np.abs(audio.mean(axis=0)))),
        "silence_s": longest * hop / sr,
        "centroid_hz": centroid,
        "treble_db": treble,
        "range_db": float(spread[1] - spread[0]),
        "tempo_bpm": float(tempo),
    }


def spectrogram_png(
    audio: np.ndarray, sr: int, path: Path, seconds: float = 8.0, start: float = 12.0
) -> None:
    import cv2

    mono = audio[int(start * sr) : int((start + seconds) * sr)].mean(axis=1)
    hop = 256
    frames = np.lib.stride_tricks.sliding_window_view(mono, 4096)[::hop] * np.hanning(4096)
    mag = 20 * np.log10(np.abs(np.fft.rfft(frames, axis=1)) + 1e-9)
    freqs = np.fft.rfftfreq(4096, 1.0 / sr)
    rows = np.geomspace(40.0, 16000.0, 480)  # log-frequency axis, low at the bottom
    image = np.stack([np.interp(rows, freqs, frame) for frame in mag], axis=1)[::-1]
    image = np.clip((image - (image.max() - 80.0)) / 80.0, 0.0, 1.0)
    cv2.imwrite(str(path), cv2.applyColorMap((image * 255).astype(np.uint8), cv2.COLORMAP_MAGMA))


def report(root: Path, spectrograms: Path | None) -> int:
    import soundfile
    from mutagen.oggvorbis import OggVorbis

    total_bytes = 0
    bpm = {s.title: s.bpm for s in TRACKS}
    print(
        f"{'file':42} {'s':>5} {'kB':>4} {'RMS':>6} {'peak':>5} {'DC':>6} {'quiet':>5} "
        f"{'range':>5} {'>2kHz':>6} {'tempo':>5} {'bpm':>4}  title / genre"
    )
    for playlist in ARRANGERS:
        for path in sorted((root / playlist).glob("*.ogg")):
            audio, sr = soundfile.read(path, always_2d=True)
            m = analyse(audio, sr)
            size = path.stat().st_size
            total_bytes += size
            tags = OggVorbis(path)
            print(
                f"{playlist + '/' + path.name:42} {tags.info.length:5.1f} {size / 1000:4.0f} "
                f"{m['rms_db']:6.1f} {m['peak_db']:5.1f} {m['dc']:6.4f} {m['silence_s']:5.1f} "
                f"{m['range_db']:5.1f} {m['treble_db']:6.1f} {m['tempo_bpm']:5.0f} "
                f"{bpm.get(tags['title'][0], 0):4.0f}  "
                f"{tags['title'][0]} / {tags['genre'][0]}"
            )
            if spectrograms:
                spectrograms.mkdir(parents=True, exist_ok=True)
                spectrogram_png(audio, sr, spectrograms / f"{playlist}-{path.stem}.png")
    print(
        f"total {total_bytes / 1e6:.2f} MB\n(RMS, peak: dBFS; quiet: longest stretch under "
        "-50 dBFS before the fade, s; range: 95th - 10th percentile of 3 s loudness, dB; "
        ">2kHz: share of energy above 2 kHz, dB; tempo: autocorrelation estimate, "
        "may be half or double the bpm)"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=list(ARRANGERS), help="playlist(s)")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for <playlist>/ folders")
    parser.add_argument("--report", action="store_true", help="measure files, render nothing")
    parser.add_argument("--spectrograms", type=Path, help="with --report: write PNGs here")
    args = parser.parse_args(argv)
    if args.report:
        return report(args.out, args.spectrograms)
    wanted = set(args.only or ARRANGERS)
    for playlist in wanted:
        for old in (args.out / playlist).glob("*.ogg"):
            old.unlink()
    for playlist in ARRANGERS:
        specs = [s for s in TRACKS if s.playlist == playlist]
        if playlist not in wanted:
            continue
        for number, spec in enumerate(specs, 1):
            started = time.perf_counter()
            audio = render(spec)
            path = track_path(spec, number, args.out)
            write_ogg(path, audio, spec, number, len(specs))
            print(
                f"{path.relative_to(args.out)}: {audio.shape[1] / SR:.1f} s, "
                f"RMS {rms_db(audio):.1f} dBFS, peak {peak_db(audio):.1f} dBFS, "
                f"{path.stat().st_size / 1000:.0f} kB, {time.perf_counter() - started:.1f} s",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

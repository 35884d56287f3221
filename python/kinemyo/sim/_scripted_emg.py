"""Scripted surface EMG for the demo session: bursts at given times (the randomised benchmark
simulator is :func:`kinemyo.sim.emg.simulate_emg`).

Physics: surface EMG is well modelled as zero-mean band-limited Gaussian noise whose variance is
modulated by the muscle's activation (e.g. Hogan & Mann, IEEE Trans. Biomed. Eng. 27, 1980;
Merletti & Farina, *Surface Electromyography*, 2016). Here the carrier is white noise shaped by a
band-pass (20–250 Hz, 4th-order Butterworth on each edge: power mostly 20–250 Hz, peak near
80–120 Hz after the electrode-filter product), multiplied by an envelope made of bursts with ramped
rises and falls, over coloured baseline noise at a chosen SNR. Trunk-EMG contaminations: ECG (QRS
complexes at 50–100 bpm, comparable to weak EMG), power-line hum and baseline wander.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import filters

__all__ = ["EmgRecording", "scripted_emg"]


@dataclasses.dataclass
class EmgRecording:
    """Simulated EMG with its truth.

    Attributes
    ----------
    fs : float
    x : (n, n_channels) signal (arbitrary units, burst amplitude ~1)
    events : list of (n_events, 2) int64 arrays per channel: true [onset, offset) sample indices,
        the onset being the first sample of the rise
    """

    fs: float
    x: np.ndarray
    events: list[np.ndarray]


def _qrs(fs: float) -> np.ndarray:
    """A QRS-like biphasic complex ~80 ms long, unit peak."""
    t = np.arange(-0.04, 0.04, 1 / fs)
    w = -np.diff(np.exp(-(t / 0.008) ** 2), prepend=0.0)
    return w / np.abs(w).max()


def scripted_emg(duration_s: float, fs: float = 2000.0, n_channels: int = 1, *,
                 bursts: list[list[tuple[float, float, float]]] | None = None, snr_db: float = 20.0,
                 rise_s: tuple[float, float] = (0.0, 0.06), ecg_amplitude: float = 0.0, hum_amplitude: float = 0.0,
                 hum_hz: float = 50.0, wander_amplitude: float = 0.0, seed: int = 0) -> EmgRecording:
    """Simulate multi-channel surface EMG with bursts at scripted times.

    Parameters
    ----------
    duration_s, fs, n_channels
        Length (s), rate (Hz) and channel count.
    bursts : per channel, list of (onset_s, duration_s, amplitude)
        Default: random bursts (0.5–2 s long, 1–4 s apart, amplitude 0.5–1.5).
    snr_db : float
        Ratio of the burst power (amplitude 1) to the baseline noise power, dB.
    rise_s : (min, max)
        Rise (and fall) ramps drawn uniformly in this range, seconds.
    ecg_amplitude : float
        Peak of the QRS complexes relative to a unit burst (0 = none); heart rate 50–100 bpm.
    hum_amplitude, hum_hz : float
        Power-line sinusoid amplitude and frequency.
    wander_amplitude : float
        Baseline wander (< 1 Hz) amplitude.
    seed : int
    """
    rng = np.random.default_rng(seed)
    n = round(duration_s * fs)
    t = np.arange(n) / fs
    sos = filters.butter(4, (20.0, min(250.0, 0.45 * fs)), fs, "bandpass")
    carrier = filters.sosfilt(sos, rng.standard_normal((n, n_channels)))
    carrier /= carrier.std(axis=0, keepdims=True)
    env = np.zeros((n, n_channels))
    events = []
    for c in range(n_channels):
        if bursts is None:
            plan = []
            start = rng.uniform(2.0, 4.0)
            while start < duration_s - 2.5:
                d = rng.uniform(0.5, 2.0)
                plan.append((start, d, rng.uniform(0.5, 1.5)))
                start += d + rng.uniform(1.0, 4.0)
        else:
            plan = bursts[c] if c < len(bursts) else []
        ev = []
        for onset, dur, amp in plan:
            rise = float(rng.uniform(*rise_s))
            fall = float(rng.uniform(*rise_s))
            a = np.clip((t - onset) / max(rise, 1e-9), 0, 1) if rise > 0 else (t >= onset).astype(float)
            b = np.clip((onset + dur - t) / max(fall, 1e-9), 0, 1) if fall > 0 else (t < onset + dur).astype(float)
            env[:, c] = np.maximum(env[:, c], amp * np.minimum(a, b))
            ev.append((round(onset * fs), round((onset + dur) * fs)))
        events.append(np.array(ev, dtype=np.int64).reshape(-1, 2))
    noise_sd = 10 ** (-snr_db / 20)
    baseline = filters.sosfilt(filters.butter(2, (10.0, min(450.0, 0.45 * fs)), fs, "bandpass"),
                               rng.standard_normal((n, n_channels)))
    baseline *= noise_sd / baseline.std(axis=0, keepdims=True)
    x = carrier * env + baseline
    if ecg_amplitude > 0:
        qrs = _qrs(fs)
        bpm = rng.uniform(50, 100)
        beats = np.arange(rng.uniform(0, 60 / bpm), duration_s, 60 / bpm)
        beats += rng.normal(0, 0.02, len(beats))
        ecg = np.zeros(n)
        for bt in beats.tolist():
            i = round(bt * fs)
            j = min(n, i + len(qrs))
            if 0 <= i < n:
                ecg[i:j] += qrs[: j - i]
        x += ecg_amplitude * ecg[:, None] * rng.uniform(0.6, 1.0, n_channels)
    if hum_amplitude > 0:
        x += hum_amplitude * np.sin(2 * np.pi * hum_hz * t + rng.uniform(0, 2 * np.pi))[:, None]
    if wander_amplitude > 0:
        x += wander_amplitude * np.sin(2 * np.pi * 0.3 * t[:, None] + rng.uniform(0, 2 * np.pi, n_channels))
    return EmgRecording(float(fs), x, events)

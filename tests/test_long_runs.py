"""Long runs: no drift over many samples in any streaming processor.

Each processor is fed a periodic signal (one block, repeated) for ``N`` samples. Once the start-up
transient has gone, a processor without drift gives the same output for every block; each block's
output is compared with a reference block early in the run (the recomputation), and invariants
are tracked over every sample (unit quaternions, bias estimates, moving-window sums, event times).

``N`` is 1e6 samples per processor in the default run (about 10 s in all) and 1e8 with
``KINEMYO_LONG=1`` (about 15 min on one core: ``KINEMYO_LONG=1 pytest -s tests/test_long_runs.py``
prints the figures recorded in docs/reliability.md). ``KINEMYO_LONG_SAMPLES`` overrides ``N``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from kinemyo import filters as kf
from kinemyo import fusion as kfu
from kinemyo import kinematics as km
from kinemyo import onset
from kinemyo.stream import OnlineHolds, OnlineMovementOnsets, OnlineRepetitions

LONG = os.environ.get("KINEMYO_LONG") == "1"
N = int(float(os.environ.get("KINEMYO_LONG_SAMPLES", "1e8" if LONG else "1e6")))
N_PY = N if LONG else 200_000  # the pure-Python online measures (~1-3 us per sample)


def report(name: str, n: int, seconds: float, **figures: float) -> None:
    figs = ", ".join(f"{k}={v:.3g}" for k, v in figures.items())
    print(f"\nLONG-RUN {name}: {n:.3g} samples in {seconds:.1f} s; {figs}")


# ---------------------------------------------------------------------------------------------
# filters: periodic EMG-like signal with a large offset and rare huge spikes

FS = 2000.0
L_EMG = 100_000  # block: 50 s at 2 kHz (whole periods of the 50-Hz component)


def emg_block(n_ch: int = 2) -> np.ndarray:
    rng = np.random.default_rng(1)
    t = np.arange(L_EMG) / FS
    x = rng.standard_normal((L_EMG, n_ch)) * np.array([1.0, 50.0][:n_ch])
    x += 1e4 + 3.0 * np.sin(2 * np.pi * 50.0 * t)[:, None]
    x[rng.integers(0, L_EMG, 5), rng.integers(0, n_ch, 5)] += 1e9  # rare spikes
    return x


FILTERS: dict[str, Callable[[Any], kf.Processor]] = {
    "SosFilter": lambda dt: kf.SosFilter(kf.butter(4, (20.0, 450.0), FS, "bandpass"), 2, dtype=dt, init="steady"),
    "MovingAverage": lambda dt: kf.MovingAverage(FS, 2, 0.1, dtype=dt),
    "MovingRMS": lambda dt: kf.MovingRMS(FS, 2, 0.25, dtype=dt),
    "TKEO": lambda dt: kf.TKEO(2, dtype=dt),
    "Envelope": lambda dt: kf.Envelope(FS, 2, highpass=30.0, dtype=dt),
    "Chain": lambda dt: kf.Chain([kf.SosFilter(kf.notch(50.0, FS, harmonics=3), 2, dtype=dt, init="steady"),
                                  kf.Envelope(FS, 2, highpass=30.0, dtype=dt)]),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(FILTERS))
def test_filters_do_not_drift(name: str, dtype: Any) -> None:
    x = emg_block().astype(dtype)
    p = FILTERS[name](dtype)
    n_blocks = max(3, N // L_EMG)
    t0 = time.perf_counter()
    p(x)  # block 0: start-up transient
    ref = p(x).astype(np.float64)  # block 1: the periodic steady state
    scale = float(np.max(np.abs(ref)))
    dev = 0.0
    for _ in range(n_blocks - 2):
        y = p(x)
        dev = max(dev, float(np.max(np.abs(y - ref))))
    seconds = time.perf_counter() - t0
    # the last block, recomputed directly from the window definition for the windowed filters
    if name in ("MovingAverage", "MovingRMS"):
        w = p.window_samples  # type: ignore[attr-defined]
        xx = np.concatenate([x[-w + 1:], x]).astype(np.float64)  # the previous block's tail, then x
        sq = xx if name == "MovingAverage" else xx * xx
        direct = np.lib.stride_tricks.sliding_window_view(sq, w, axis=0).sum(axis=-1) / w  # pairwise sums
        direct = np.sqrt(direct) if name == "MovingRMS" else direct
        rel_err = np.abs(y - direct) / np.abs(direct)
        # Away from the spikes (no spike in the window or the one before it) the output is exact to
        # rounding. Right after a 1e9 spike has left the window the running sum has lost digits to
        # cancellation (the spike's square is 1e10 x the window's sum for MovingRMS) until the next
        # recomputation from the window, at most N samples later: bounded, never accumulating.
        near = np.zeros(len(x), bool)
        for k in np.flatnonzero((np.abs(x) > 1e8).any(axis=1)):
            near[k:k + 2 * w] = True
        direct_dev = float(np.max(rel_err[~near]))
        spike_dev = float(np.max(rel_err))
        assert direct_dev < (1e-6 if dtype == np.float32 else 1e-12), direct_dev
        assert spike_dev < (1e-6 if dtype == np.float32 else 1e-7), spike_dev
        report(f"{name} {np.dtype(dtype).name} vs exact sums", L_EMG, 0.0, max_rel_error=direct_dev,
               max_rel_error_after_spike=spike_dev)
    rel = dev / scale
    report(f"{name} {np.dtype(dtype).name}", n_blocks * L_EMG, seconds, max_rel_deviation=rel)
    # float64: rounding only; float32: the float64 result rounded (at most an ulp or two apart)
    assert rel <= (3e-7 if dtype == np.float32 else 1e-12), rel


# ---------------------------------------------------------------------------------------------
# orientation filters: periodic 9D motion (rest, then bending and twisting) with a gyroscope bias

FS_IMU = 100.0
T_IMU = 2000  # one period: 20 s (10 s rest, 10 s motion)
BIAS = np.array([0.01, -0.02, 0.005])


def _qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w1, x1, y1, z1 = np.moveaxis(a, -1, 0)
    w2, x2, y2, z2 = np.moveaxis(b, -1, 0)
    return np.stack([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2], axis=-1)


def _axis_angle(axis: int, angle: np.ndarray) -> np.ndarray:
    q = np.zeros((len(angle), 4))
    q[:, 0] = np.cos(angle / 2)
    q[:, axis + 1] = np.sin(angle / 2)
    return q


def _rotate_inv(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """R(q)^T v for each q (earth -> sensor)."""
    qc = q * np.array([1, -1, -1, -1])
    vq = np.concatenate([np.zeros((len(q), 1)), np.broadcast_to(v, (len(q), 3))], axis=1)
    return _qmul(_qmul(qc, vq), q)[:, 1:]


def imu_period() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One period of (truth q, gyr, acc, mag); the truth returns to its start, so the block repeats."""
    k = np.arange(T_IMU + 1)
    s = np.clip((k - T_IMU / 2) / (T_IMU / 2), 0.0, 1.0)  # 0 during rest, 0..1 during motion
    bump = 0.5 * (1 - np.cos(2 * np.pi * s))
    q = _qmul(_qmul(_axis_angle(2, 0.8 * np.sin(2 * np.pi * s)), _axis_angle(1, 0.9 * bump)),
              _axis_angle(0, 0.3 * np.sin(4 * np.pi * s)))
    d = _qmul(q[:-1] * np.array([1, -1, -1, -1]), q[1:])  # body-frame increment per sample
    d *= np.sign(d[:, :1])
    half = np.arccos(np.clip(d[:, 0], -1, 1))
    axis = d[:, 1:] / np.maximum(np.sin(half), 1e-300)[:, None]
    gyr = axis * (2 * half * FS_IMU)[:, None]
    rng = np.random.default_rng(2)
    gyr = gyr + BIAS + rng.normal(0, 0.002, (T_IMU, 3))
    acc = _rotate_inv(q[:-1], np.array([0.0, 0.0, 9.81])) + rng.normal(0, 0.05, (T_IMU, 3))
    mag = _rotate_inv(q[:-1], np.array([0.0, 20.0, -40.0])) + rng.normal(0, 0.3, (T_IMU, 3))
    return q[:-1], gyr, acc, mag


FUSION: dict[str, Callable[[], Any]] = {
    "Madgwick": lambda: kfu.Madgwick(FS_IMU, beta=0.1),
    "Mahony": lambda: kfu.Mahony(FS_IMU, kp=1.0, ki=0.3),
    "Complementary": lambda: kfu.Complementary(FS_IMU, gain=0.01),
    "RobustAHRS": lambda: kfu.RobustAHRS(FS_IMU),
}


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation angle between unit quaternions, accurate for tiny angles (no arccos near 1)."""
    s = np.where(np.sum(a * b, axis=1) < 0, -1.0, 1.0)[:, None]
    chord = np.linalg.norm(a - s * b, axis=1)
    return np.degrees(4 * np.arcsin(np.clip(chord / 2, 0, 1)))


@pytest.mark.parametrize("name", sorted(FUSION))
def test_orientation_filters_do_not_drift(name: str) -> None:
    truth, gyr, acc, mag = imu_period()
    reps = 10  # 200-s blocks: fewer calls
    g, a, m = (np.tile(v, (reps, 1)) for v in (gyr, acc, mag))
    f = FUSION[name]()
    n_blocks = max(8, N // len(g))
    t0 = time.perf_counter()
    for _ in range(5):  # 1000 s: converged (heading, bias)
        f.update(g, a, m)
    ref = f.update(g, a, m, return_all=True)
    dev_q = dev_b = norm_dev = 0.0
    for _ in range(n_blocks - 6):
        out = f.update(g, a, m, return_all=True)
        dev_q = max(dev_q, float(np.max(_angle_deg(out.q, ref.q))))
        dev_b = max(dev_b, float(np.max(np.abs(out.bias - ref.bias))))
        norm_dev = max(norm_dev, float(np.max(np.abs(np.linalg.norm(out.q, axis=1) - 1.0))))
    seconds = time.perf_counter() - t0
    err = _angle_deg(out.q, np.tile(truth, (reps, 1)))
    bias_err = np.abs(out.bias[-1] - BIAS) if name in ("Mahony", "RobustAHRS") else np.zeros(3)
    report(name, n_blocks * len(g), seconds, max_q_deviation_deg=dev_q, max_bias_deviation=dev_b,
           max_norm_deviation=norm_dev, rms_error_vs_truth_deg=float(np.sqrt(np.mean(err**2))),
           final_bias_error=float(np.max(bias_err)))
    assert norm_dev < 1e-12
    assert dev_q < 1e-9 and dev_b < 1e-12
    assert np.isfinite(out.q).all()
    if name in ("Mahony", "RobustAHRS"):
        assert np.max(bias_err) < 0.005, (out.bias[-1], BIAS)


# ---------------------------------------------------------------------------------------------
# lumbar angles (per sample): the same block gives the same angles, however late


def test_lumbar_angles_do_not_drift() -> None:
    truth, _, _, _ = imu_period()
    qu = np.tile(truth, (25, 1))
    ql = np.tile(_axis_angle(2, np.linspace(0, 0.3, T_IMU)), (25, 1))
    p = km.LumbarAngles(km.Calibration.nominal())
    ref = p(qu, ql)
    n_blocks = max(2, N // len(qu))
    t0 = time.perf_counter()
    dev = 0.0
    for _ in range(n_blocks - 1):
        dev = max(dev, float(np.max(np.abs(p(qu, ql) - ref))))
    report("LumbarAngles", n_blocks * len(qu), time.perf_counter() - t0, max_deviation_deg=dev)
    assert dev == 0.0


# ---------------------------------------------------------------------------------------------
# onset detector: the same bursts in every block give the same events, however late

L_ONSET = 20_000  # 10 s at 2 kHz


def onset_block() -> np.ndarray:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((L_ONSET, 2)) * 0.02
    for c, (a, b) in enumerate([(6000, 8000), (12000, 15000)]):
        x[a:b, c] += rng.standard_normal(b - a) * 0.5
        x[a + 4000:b + 3000, 1 - c] += rng.standard_normal(b - a - 1000) * 0.3
    return x


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("method", ["cusum", "hodges_bui", "bonato", "tkeo"])
def test_onset_detector_does_not_drift(method: str, dtype: Any) -> None:
    x = onset_block().astype(dtype)
    reps = 10
    big = np.tile(x, (reps, 1))
    d = onset.OnlineDetector(FS, 2, method, rest=(0.0, 1.0), dtype=dtype)
    n_big = max(3, N // len(big))
    t0 = time.perf_counter()
    rows = [d.process(big) for _ in range(n_big)]
    seconds = time.perf_counter() - t0
    ev = np.concatenate(rows)
    closed = ev[ev[:, 2] >= 0]
    block = closed[:, 1] // L_ONSET
    last_full = n_big * reps - 2  # the last blocks may still have an activation open
    pattern = {k: [] for k in range(1, last_full + 1)}
    for (ch, on, off), b in zip(closed, block, strict=True):
        if 1 <= b <= last_full:
            pattern[int(b)].append((int(ch), int(on - b * L_ONSET), int(off - b * L_ONSET)))
    ref = sorted(pattern[1])
    assert ref, "no activations detected in the periodic block"
    bad = [k for k, v in pattern.items() if sorted(v) != ref]
    report(f"OnlineDetector {method} {np.dtype(dtype).name}", n_big * len(big), seconds,
           events=len(closed), blocks_differing=len(bad))
    assert not bad, (bad[:5], ref, sorted(pattern[bad[0]]) if bad else None)
    assert d.position == n_big * len(big)


# ---------------------------------------------------------------------------------------------
# online measures (pure Python, per sample): events repeat with the period; running sums exact

FS_ANG = 100.0
T_ANG = 6000  # 60 s: rest, a 10-s hold at 40 deg, three bends


def angle_period() -> np.ndarray:
    rng = np.random.default_rng(4)
    a = np.zeros(T_ANG)
    a[500:700] = np.linspace(0, 40, 200)
    a[700:1700] = 40.0
    a[1700:1900] = np.linspace(40, 0, 200)
    for k in range(3):
        s = 2500 + k * 800
        a[s:s + 400] = 50 * np.sin(np.linspace(0, np.pi, 400))
    return a + rng.normal(0, 0.2, T_ANG)


MEASURES: dict[str, Callable[[], Any]] = {
    "OnlineHolds": lambda: OnlineHolds(FS_ANG, min_duration_s=2.0, limit_s=5.0),
    "OnlineRepetitions": lambda: OnlineRepetitions(FS_ANG),
    "OnlineMovementOnsets": lambda: OnlineMovementOnsets(FS_ANG),
}


@pytest.mark.parametrize("name", sorted(MEASURES))
def test_online_measures_do_not_drift(name: str) -> None:
    a = [float(v) for v in angle_period()]
    m = MEASURES[name]()
    n_periods = max(3, N_PY // T_ANG)
    t0 = time.perf_counter()
    per: list[list[tuple[str, float]]] = []
    win_dev = 0.0
    for k in range(n_periods):
        evs: list[dict[str, Any]] = []
        for v in a:
            evs += m.update(v)
        # event times relative to the period start (times are i / fs with i counted from 0)
        per.append([(e["type"], round(e["time_s"] - k * T_ANG / FS_ANG, 6)) for e in evs])
        if name == "OnlineHolds" and m._win:
            exact = math.fsum(v for _, v in m._win)
            win_dev = max(win_dev, abs(m._win_sum - exact) / max(1.0, abs(exact)))
    seconds = time.perf_counter() - t0
    ref = per[1]
    assert ref, "no events in the periodic block"
    bad = [k for k in range(1, n_periods) if per[k] != ref]
    report(name, n_periods * T_ANG, seconds, events_per_period=len(ref), periods_differing=len(bad),
           window_sum_rel_deviation=win_dev)
    assert not bad, (bad[:5], ref, per[bad[0]] if bad else None)
    assert win_dev < 1e-9


# ---------------------------------------------------------------------------------------------
# no memory growth over many create / process / pickle / destroy cycles of the processors that
# tests/test_memory.py leaves out (orientation filters, onset detection, lumbar angles)


def _rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4


def test_no_memory_growth_fusion_onset_cycles() -> None:
    import copy
    import gc
    import pickle

    rng = np.random.default_rng(0)
    g = rng.normal(0, 0.1, (64, 3))
    a = np.tile([0.0, 0.0, 9.81], (64, 1))
    m = np.tile([0.0, 20.0, -40.0], (64, 1))
    x = rng.standard_normal((256, 2))
    qi = np.tile([1.0, 0.0, 0.0, 0.0], (8, 1))

    def cycle() -> None:
        for f in (kfu.Madgwick(100.0), kfu.Mahony(100.0), kfu.Complementary(100.0), kfu.RobustAHRS(100.0)):
            f.update(g, a, m, return_all=True)
            pickle.loads(pickle.dumps(f)).update(g, a, None)
            copy.deepcopy(f).reset()
            _ = f.state
            with pytest.raises(ValueError):
                f.update(g[:3], a, m)
        kfu.estimate(g, a, m, fs=100.0, offline=True)
        d = onset.OnlineDetector(FS, 2, rest=(0.0, 0.1))
        d.process(x)
        d.finish()
        onset.detect(x, FS, rest=(0.0, 0.1))
        with pytest.raises(ValueError):
            d.process(x[:, :1])
        km.LumbarAngles()(qi, qi)

    n = 10_000 if LONG else 1_000
    for _ in range(200):
        cycle()
    gc.collect()
    before = _rss_kb()
    for _ in range(n):
        cycle()
    gc.collect()
    grown = _rss_kb() - before
    print(f"\nLONG-RUN memory: {n} fusion/onset/lumbar cycles, RSS grew {grown} kB")
    assert grown < (4096 if LONG else 1024), grown

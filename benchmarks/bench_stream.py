"""Online processing latency: the added processing time per chunk of the online pipeline at
16 EMG channels @ 2 kHz + 2 IMUs @ 100 Hz (the #8 target: <= 1 ms beyond the chunk duration),
with 20-ms chunks (40 EMG samples, 2 IMU samples), and the same through a naive SciPy chain
(sosfilt with carried zi per chunk, the way one would write it by hand) for comparison.

``python benchmarks/bench_stream.py`` prints the per-chunk distribution; the pytest benchmarks time
one chunk each. Measured on the demo session's signals tiled to 16 channels, after calibration.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from kinemyo.sim import DEMO_CONFIG, make_demo_session
from kinemyo.stream import OnlinePipeline

N_EMG = 16
CHUNK_S = 0.02


def _data(seconds: float = 60.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = make_demo_session()
    emg = np.tile(s["emg"].data, (1, N_EMG // 4))[: round(seconds * 2000)].astype(np.float64)
    return emg, s["imu_upper"].data[: round(seconds * 100)], s["imu_lower"].data[: round(seconds * 100)]


def _warm_pipeline() -> tuple[OnlinePipeline, np.ndarray, np.ndarray, np.ndarray]:
    emg, up, lo = _data(60.0)
    p = OnlinePipeline(DEMO_CONFIG, emg_fs=2000.0, n_emg=N_EMG, imu_fs=100.0)
    n = round(20.0 / CHUNK_S)  # past calibration (neutral 1-9 s, flexion 10-16 s)
    for k in range(n):
        p.push_emg(emg[40 * k: 40 * (k + 1)])
        p.push_imu(up[2 * k: 2 * (k + 1)], lo[2 * k: 2 * (k + 1)])
    return p, emg[40 * n:], up[2 * n:], lo[2 * n:]


def per_chunk_ms() -> np.ndarray:
    """Processing time of every 20-ms chunk (EMG + both IMUs) over 40 s after calibration, ms."""
    p, emg, up, lo = _warm_pipeline()
    out = []
    for k in range(len(up) // 2):
        t = time.perf_counter()
        p.push_emg(emg[40 * k: 40 * (k + 1)])
        p.push_imu(up[2 * k: 2 * (k + 1)], lo[2 * k: 2 * (k + 1)])
        out.append(time.perf_counter() - t)
    return 1e3 * np.asarray(out)


@pytest.mark.benchmark(group="online: one 20-ms chunk, 16 EMG @ 2 kHz + 2 IMUs @ 100 Hz")
def test_online_chunk(benchmark) -> None:
    p, emg, up, lo = _warm_pipeline()
    k = [0]

    def chunk() -> None:
        i = k[0] % (len(up) // 2)
        k[0] += 1
        p.push_emg(emg[40 * i: 40 * (i + 1)])
        p.push_imu(up[2 * i: 2 * (i + 1)], lo[2 * i: 2 * (i + 1)])

    benchmark(chunk)
    assert p.status()["calibrated"]


@pytest.mark.benchmark(group="online: one 20-ms chunk, 16 EMG @ 2 kHz + 2 IMUs @ 100 Hz")
def test_scipy_chunk_emg_filters_only(benchmark) -> None:
    """The EMG filters alone (band-pass+notch, rectify, low-pass, 30-Hz high-pass) with scipy.signal."""
    sig = pytest.importorskip("scipy.signal")
    from kinemyo import filters

    emg, _, _ = _data(10.0)
    sos = np.vstack([filters.notch(50.0, 2000.0, 30.0, 3), filters.butter(4, (20.0, 450.0), 2000.0, "bandpass")])
    lp = filters.butter(2, 6.0, 2000.0)
    hp = filters.butter(4, 30.0, 2000.0, "highpass")
    zi = [np.zeros((s.shape[0], 2, N_EMG)) for s in (sos, lp, hp)]
    k = [0]

    def chunk() -> None:
        i = k[0] % (len(emg) // 40)
        k[0] += 1
        x = emg[40 * i: 40 * (i + 1)]
        y, zi[0] = sig.sosfilt(sos, x, axis=0, zi=zi[0])
        _, zi[1] = sig.sosfilt(lp, np.abs(y), axis=0, zi=zi[1])
        _, zi[2] = sig.sosfilt(hp, y, axis=0, zi=zi[2])

    benchmark(chunk)


if __name__ == "__main__":
    ms = per_chunk_ms()
    print(f"online pipeline, {N_EMG} EMG @ 2 kHz + 2 IMUs @ 100 Hz, {CHUNK_S * 1e3:.0f}-ms chunks, {len(ms)} chunks:")
    print(f"  added processing per chunk: median {np.median(ms):.3f} ms, 95 % {np.percentile(ms, 95):.3f} ms, "
          f"99 % {np.percentile(ms, 99):.3f} ms, max {ms.max():.3f} ms")
    print(f"  CPU load at real time: {100 * ms.sum() / (len(ms) * CHUNK_S * 1e3):.1f} % of one core")

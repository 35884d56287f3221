"""Onset detection on simulated EMG with known truth; bad input."""

from __future__ import annotations

import numpy as np
import pytest

from kinemyo import onset
from kinemyo.sim import simulate_emg

FS = 2000.0


def match(det: np.ndarray, truth: np.ndarray, fs: float) -> tuple[np.ndarray, int]:
    errs = []
    used: set[int] = set()
    for t in truth[:, 0]:
        if len(det) == 0:
            break
        j = int(np.argmin(np.abs(det[:, 0] - t)))
        if abs(det[j, 0] - t) <= 0.2 * fs and j not in used:
            used.add(j)
            errs.append((det[j, 0] - t) / fs * 1000.0)
    return np.array(errs), len(det) - len(used)


@pytest.mark.parametrize("ecg", [0.0, 0.3])
def test_default_detector_at_20_and_6_db(ecg: float) -> None:
    for snr, max_mae, min_rate, max_fp in ((20.0, 12.0, 0.99, 0), (6.0, 25.0, 0.95, 2)):
        errs, fps, n = [], 0, 0
        for seed in range(3):
            r = simulate_emg(120.0, FS, 1, snr_db=snr, ecg_amplitude=ecg, seed=seed)
            e, fp = match(onset.detect(r.x[:, 0], FS), r.events[0], FS)
            errs.append(e)
            fps += fp
            n += len(r.events[0])
        all_e = np.concatenate(errs)
        assert np.mean(np.abs(all_e)) < max_mae, (snr, np.mean(np.abs(all_e)))
        assert len(all_e) / n >= min_rate
        assert fps <= max_fp


def test_methods_and_multichannel() -> None:
    r = simulate_emg(60.0, FS, 3, snr_db=20.0, seed=4)
    for method in ("default", "hodges", "tkeo"):
        ev = onset.detect(r.x, FS, method, rest=(0.0, 1.5))
        assert isinstance(ev, list) and len(ev) == 3
        for c in range(3):
            e, _ = match(ev[c], r.events[c], FS)
            assert len(e) >= 0.9 * len(r.events[c]), method
            assert ev[c].dtype == np.int64 and ev[c].shape[1] == 2
            assert (ev[c][:, 1] > ev[c][:, 0]).all()


def test_no_activity_zero_constant_and_nan_runs() -> None:
    rng = np.random.default_rng(0)
    quiet = rng.standard_normal(int(30 * FS)) * 0.01
    assert len(onset.detect(quiet, FS)) <= 1
    assert len(onset.detect(np.zeros(int(10 * FS)), FS)) == 0
    assert len(onset.detect(np.full(int(10 * FS), 3.0), FS)) == 0
    r = simulate_emg(60.0, FS, 1, snr_db=20.0, seed=6)
    x = r.x[:, 0].copy()
    x[int(30 * FS):int(31 * FS)] = np.nan
    ev = onset.detect(x, FS)
    assert len(ev) >= len(r.events[0]) - 2
    assert len(onset.detect(r.x[:, 0] * 1e150, FS)) == len(onset.detect(r.x[:, 0], FS))


def test_bad_input() -> None:
    x = np.zeros(2000)
    with pytest.raises(ValueError, match="fs"):
        onset.detect(x, 0.0)
    with pytest.raises(ValueError, match="method"):
        onset.detect(x, FS, method="magic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rest"):
        onset.detect(np.ones(20000), FS, rest=(5.0, 20.0))
    with pytest.raises(ValueError, match="rest"):
        onset.detect(np.ones(20000), FS, rest=(1.0, 1.01))
    with pytest.raises(ValueError, match="shape"):
        onset.detect(np.zeros((3, 3, 3)), FS)
    with pytest.raises(TypeError):
        onset.detect(np.array(["a"] * 100), FS)


def test_movement_onsets_and_latency_table() -> None:
    fs_imu = 100.0
    t = np.arange(0, 30, 1 / fs_imu)
    w = np.zeros((len(t), 3))
    for t0 in (5.0, 15.0, 25.0):
        m = (t >= t0) & (t < t0 + 2)
        w[m, 1] = np.sin(np.pi * (t[m] - t0) / 2) * 1.0
    w += np.random.default_rng(1).standard_normal(w.shape) * 0.005
    mov = onset.movement_onsets(w, fs_imu)
    assert len(mov) == 3
    np.testing.assert_allclose(mov[:, 0] / fs_imu, [5.0, 15.0, 25.0], atol=0.15)
    emg = [np.array([[round(4.95 * FS), round(6 * FS)], [round(15.02 * FS), round(16 * FS)]])]
    rows = onset.onset_latencies(emg, FS, mov, fs_imu)
    assert len(rows) == 3
    assert rows[0]["latency_ms"] < 0 < rows[1]["latency_ms"] + 200
    assert np.isnan(rows[2]["latency_ms"])

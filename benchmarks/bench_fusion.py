"""Orientation filters: kinemyo against VQF (C++ batch) and the pure-Python `ahrs` package, side by
side; ns per sample in the group names' terms. Each benchmark checks its result is a unit
quaternion track close to the truth."""

from __future__ import annotations

import numpy as np
import pytest

from kinemyo import fusion as kfu
from kinemyo import quaternion as kq
from kinemyo.sim import random_rotation, simulate_imu

FS = 100.0


@pytest.fixture(scope="module")
def rec():
    q, _ = random_rotation(100.0, FS, rate_dps=60, seed=1)
    return simulate_imu(q, FS, seed=2)


def _check(q: np.ndarray, rec, max_deg: float) -> None:
    assert np.isfinite(q).all()
    err = np.degrees(np.asarray(kq.angle_between(q[-2000:], rec.q[-2000:])))
    assert np.median(err) < max_deg


@pytest.mark.benchmark(group="9D batch, 10,000 samples")
@pytest.mark.parametrize("impl", ["kinemyo-robust", "vqf", "kinemyo-madgwick", "kinemyo-mahony"])
def test_batch_9d(benchmark, impl: str, rec) -> None:
    g, a, m = (np.ascontiguousarray(v) for v in (rec.gyr, rec.acc, rec.mag))
    if impl == "vqf":
        vqf = pytest.importorskip("vqf")
        out = benchmark(lambda: vqf.VQF(1 / FS).updateBatch(g, a, m)["quat9D"])
        _check(out, rec, 5.0)
        return
    method = impl.split("-")[1]
    q = benchmark(lambda: kfu.estimate(g, a, m, fs=FS, method=method))
    _check(q, rec, 10.0)


@pytest.mark.benchmark(group="6D batch, 10,000 samples")
@pytest.mark.parametrize("impl", ["kinemyo-robust", "vqf", "kinemyo-madgwick", "kinemyo-mahony"])
def test_batch_6d(benchmark, impl: str, rec) -> None:
    g, a = np.ascontiguousarray(rec.gyr), np.ascontiguousarray(rec.acc)
    if impl == "vqf":
        vqf = pytest.importorskip("vqf")
        out = benchmark(lambda: vqf.VQF(1 / FS).updateBatch(g, a)["quat6D"])
        assert np.isfinite(out).all()
        return
    q = benchmark(lambda: kfu.estimate(g, a, fs=FS, method=impl.split("-")[1]))
    assert np.isfinite(q).all()


@pytest.mark.benchmark(group="madgwick 6D, 500 samples (ahrs is pure Python)")
@pytest.mark.parametrize("impl", ["kinemyo", "ahrs"])
def test_madgwick_vs_ahrs(benchmark, impl: str, rec) -> None:
    g, a = rec.gyr[:500], rec.acc[:500]
    q0 = rec.q[0]
    if impl == "ahrs":
        ahrs = pytest.importorskip("ahrs")
        q0n = kq.multiply(kq.conjugate(kfu.NWU_TO_ENU), q0)
        out = benchmark(lambda: ahrs.filters.Madgwick(gyr=g, acc=a, frequency=FS, gain=0.1, q0=q0n).Q)
        assert out.shape == (500, 4)
        return
    q = benchmark(lambda: kfu.Madgwick(FS, beta=0.1, q0=q0).update(g, a))
    assert q.shape == (500, 4)


@pytest.mark.benchmark(group="streaming, 1 sample per call (9D)")
@pytest.mark.parametrize("impl", ["kinemyo", "vqf"])
def test_stream_one_sample(benchmark, impl: str, rec) -> None:
    g, a, m = rec.gyr[:1].copy(), rec.acc[:1].copy(), rec.mag[:1].copy()
    if impl == "vqf":
        vqf = pytest.importorskip("vqf")
        v = vqf.VQF(1 / FS)
        g1, a1, m1 = g[0].copy(), a[0].copy(), m[0].copy()

        def step() -> np.ndarray:
            v.update(g1, a1, m1)
            return v.getQuat9D()

        out = benchmark(step)
        assert out.shape == (4,)
        return
    f = kfu.RobustAHRS(FS)
    q = benchmark(f.update, g, a, m)
    assert q.shape == (1, 4)

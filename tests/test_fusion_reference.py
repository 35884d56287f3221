"""Madgwick and Mahony against the PyPI `ahrs` package; streaming contract; bad input."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from kinemyo import fusion
from kinemyo import quaternion as Q

ahrs = pytest.importorskip("ahrs")

F_ENU_NWU = np.array([np.sqrt(0.5), 0.0, 0.0, np.sqrt(0.5)])  # q_ENU = F * q_NWU


def _data(n: int = 1500, seed: int = 1):
    rng = np.random.default_rng(seed)
    gyr = rng.standard_normal((n, 3)) * 0.5
    acc = rng.standard_normal((n, 3)) + np.array([0.0, 0.0, 9.81])
    mag = rng.standard_normal((n, 3)) * 3 + np.array([0.0, 20.0, -40.0])
    q0 = np.array([0.9, 0.1, 0.2, 0.3])
    return gyr, acc, mag, q0 / np.linalg.norm(q0)


@pytest.mark.parametrize("use_mag", [False, True])
@pytest.mark.parametrize("beta", [0.033, 0.1, 0.5])
def test_madgwick_matches_ahrs(use_mag: bool, beta: float) -> None:
    gyr, acc, mag, q0 = _data()
    m = mag if use_mag else None
    ref = ahrs.filters.Madgwick(gyr=gyr, acc=acc, mag=m, frequency=100.0, gain=beta, q0=q0).Q
    # ahrs ignores q0 in MARG mode (starts from its own ecompass): start from its first sample
    ours = fusion.Madgwick(100.0, beta, q0=Q.multiply(F_ENU_NWU, ref[0])).update(gyr, acc, m)
    np.testing.assert_allclose(ours, Q.multiply(F_ENU_NWU, ref), atol=1e-9)


@pytest.mark.parametrize("use_mag", [False, True])
@pytest.mark.parametrize(("kp", "ki"), [(1.0, 0.3), (0.5, 0.01), (2.0, 0.05)])
def test_mahony_matches_ahrs(use_mag: bool, kp: float, ki: float) -> None:
    gyr, acc, mag, q0 = _data(seed=2)
    m = mag if use_mag else None
    ref = ahrs.filters.Mahony(gyr=gyr, acc=acc, mag=m, frequency=50.0, k_P=kp, k_I=ki, q0=q0).Q
    ours = fusion.Mahony(50.0, kp, ki, q0=q0).update(gyr, acc, m)
    np.testing.assert_allclose(ours, ref, atol=1e-9)


def test_ned_output_is_rotated_enu() -> None:
    gyr, acc, mag, q0 = _data(300)
    enu = fusion.Mahony(100.0, q0=q0).update(gyr, acc, mag)
    f = np.array([0.0, np.sqrt(0.5), np.sqrt(0.5), 0.0])
    ned = fusion.Mahony(100.0, frame="NED", q0=Q.multiply(f, q0)).update(gyr, acc, mag)
    np.testing.assert_allclose(ned, Q.multiply(f, enu), atol=1e-12)


@pytest.mark.parametrize("cls", [fusion.Madgwick, fusion.Mahony, fusion.Complementary,
                                 fusion.RobustAHRS])
@pytest.mark.parametrize("use_mag", [False, True])
def test_streaming_contract(cls, use_mag: bool) -> None:
    gyr, acc, mag, _ = _data(700, seed=3)
    m = mag if use_mag else None
    whole = cls(100.0).update(gyr, acc, m)
    f = cls(100.0)
    rng = np.random.default_rng(0)
    cuts = np.sort(rng.choice(np.arange(1, 700), 12, replace=False))
    parts, start = [], 0
    for c in [*cuts, 700]:
        parts.append(f.update(gyr[start:c], acc[start:c], None if m is None else m[start:c]))
        start = c
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    # single-sample (3,) call
    g = cls(100.0)
    singles = np.stack([g.update(gyr[i], acc[i], None if m is None else m[i])
                        for i in range(20)])
    np.testing.assert_array_equal(singles, whole[:20])
    # pickle / deepcopy mid-stream, reset
    h = cls(100.0)
    h.update(gyr[:350], acc[:350], None if m is None else m[:350])
    for clone in (pickle.loads(pickle.dumps(h)), copy.deepcopy(h)):
        rest = clone.update(gyr[350:], acc[350:], None if m is None else m[350:])
        np.testing.assert_array_equal(rest, whole[350:])
    h.reset()
    np.testing.assert_array_equal(h.update(gyr, acc, m), whole)
    empty = np.zeros((0, 3))
    assert f.update(empty, empty, None if m is None else empty).shape == (0, 4)


def test_6d_heading_starts_at_zero() -> None:
    q_true = Q.from_euler("ZYX", [1.0, 0.3, -0.2])
    acc = np.tile(Q.rotate(Q.conjugate(q_true), [0, 0, 9.81]), (5, 1))
    for cls in (fusion.Madgwick, fusion.Mahony, fusion.Complementary, fusion.RobustAHRS):
        for frame, up in (("ENU", 9.81), ("NED", -9.81)):
            q = cls(100.0, frame=frame).update(np.zeros((5, 3)), acc)
            assert abs(Q.heading(q[0])) < 1e-12
            np.testing.assert_allclose(Q.rotate(q[0], acc[0]), [0, 0, up], atol=1e-9)


@pytest.mark.parametrize("cls", [fusion.Madgwick, fusion.Mahony, fusion.Complementary,
                                 fusion.RobustAHRS])
def test_bad_input(cls) -> None:
    gyr, acc, mag, _ = _data(50)
    f = cls(100.0)
    with pytest.raises(ValueError, match="fs"):
        cls(0.0)
    with pytest.raises(ValueError, match="fs"):
        cls(-5.0)
    with pytest.raises(ValueError, match="gyr must have shape"):
        f.update(gyr[:, :2], acc)
    with pytest.raises(ValueError, match="acc must have shape"):
        f.update(gyr, acc.T)
    with pytest.raises(ValueError, match="acc must have as many samples"):
        f.update(gyr, acc[:-1])
    with pytest.raises(ValueError, match="mag must have as many samples"):
        f.update(gyr, acc, mag[:-2])
    with pytest.raises(TypeError):
        f.update(np.array([["a"] * 3] * 4), acc[:4])
    with pytest.raises(ValueError, match="frame"):
        cls(100.0, frame="XYZ")
    # NaN / Inf / zero-norm / huge samples: never poison the state
    g2, a2, m2 = gyr.copy(), acc.copy(), mag.copy()
    g2[10] = np.nan
    a2[20] = 0.0
    a2[21] = np.inf
    m2[30] = 0.0
    m2[31] = np.nan
    g2[40] = 1e300
    q = cls(100.0).update(g2, a2, m2)
    assert np.all(np.isnan(q[10]))
    good = np.delete(q, [10, 40], axis=0)
    assert np.all(np.isfinite(good))
    np.testing.assert_allclose(np.linalg.norm(good, axis=1), 1.0, atol=1e-12)
    # a NaN gyro sample holds the state: same output as leaving that sample out... up to 1 step
    assert np.all(np.isfinite(q[41:]))


def test_param_errors() -> None:
    with pytest.raises(ValueError, match="beta"):
        fusion.Madgwick(100.0, beta=-1.0)
    with pytest.raises(ValueError, match="kp"):
        fusion.Mahony(100.0, kp=-1.0)
    with pytest.raises(ValueError, match="gain"):
        fusion.Complementary(100.0, gain=2.0)
    with pytest.raises(ValueError, match="tau_acc"):
        fusion.RobustAHRS(100.0, tau_acc=0.0)
    with pytest.raises(TypeError, match="unexpected"):
        fusion.RobustAHRS(100.0, tau_foo=1.0)
    with pytest.raises(ValueError, match="q0"):
        fusion.Madgwick(100.0, q0=[1.0, 0.0])
    with pytest.raises(ValueError, match="method"):
        fusion.estimate(np.zeros((2, 3)), np.zeros((2, 3)), fs=100.0, method="kalman")
    with pytest.raises(ValueError, match="offline"):
        fusion.estimate(np.zeros((2, 3)), np.zeros((2, 3)), fs=100.0, method="madgwick",
                        offline=True)


def test_non_contiguous_int_and_float32_input() -> None:
    gyr, acc, mag, _ = _data(200, seed=4)
    ref = fusion.RobustAHRS(100.0).update(gyr, acc, mag)
    wide = np.zeros((200, 6))
    wide[:, ::2] = gyr
    np.testing.assert_array_equal(fusion.RobustAHRS(100.0).update(wide[:, ::2], acc, mag), ref)
    q32 = fusion.RobustAHRS(100.0).update(gyr.astype(np.float32), acc.astype(np.float32),
                                          mag.astype(np.float32))
    assert q32.dtype == np.float64  # float64-only core: float32 input is converted
    assert Q.angle_between(q32, ref).max() < 1e-4
    qi = fusion.Madgwick(100.0).update(np.zeros((5, 3), int), np.tile([0, 0, 10], (5, 1)))
    assert np.all(np.isfinite(qi))

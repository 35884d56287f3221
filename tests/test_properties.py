"""Property tests (hypothesis) of the streaming contract for every streaming processor.

For each processor: chunk invariance for random splits (bit for bit), pickle / deepcopy in the
middle of a stream then continuing = the uninterrupted run (bit for bit), ``reset()`` = a fresh
object, float32 against float64 within the documented tolerance, and the algebra the maths
promises (linearity and time invariance of the linear filters, homogeneity of the others,
per-sample independence of the lumbar angles, unit quaternions of the orientation filters).

Processors: every class of :mod:`kinemyo.filters` (``SosFilter`` both inits, ``MovingAverage``,
``MovingRMS``, ``TKEO``, ``Envelope`` with and without high-pass, ``Chain``), the orientation
filters (``Madgwick``, ``Mahony``, ``Complementary``, ``RobustAHRS``), ``kinematics.LumbarAngles``,
``onset.OnlineDetector`` and the online measures of :mod:`kinemyo.stream` (``OnlineHolds``,
``OnlineRepetitions``, ``OnlineMovementOnsets``).

Examples are few per property (the default run stays fast) and derandomised under CI so that a
submission's result does not depend on luck; run locally with ``KINEMYO_HYPOTHESIS_EXAMPLES=500``
for a deeper search.
"""

from __future__ import annotations

import copy
import os
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinemyo import filters as kf
from kinemyo import fusion as kfu
from kinemyo import kinematics as km
from kinemyo import onset
from kinemyo.stream import OnlineHolds, OnlineMovementOnsets, OnlineRepetitions

N_EXAMPLES = int(os.environ.get("KINEMYO_HYPOTHESIS_EXAMPLES", "12"))
SETTINGS = settings(max_examples=N_EXAMPLES, deadline=None, derandomize=os.environ.get("CI") == "true",
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

FS = 2000.0

# ---------------------------------------------------------------------------------------------
# signals and splits


def signal(seed: int, n: int, n_ch: int, *, nan_rate: float = 0.0, offset: float = 0.0) -> np.ndarray:
    """Gaussian noise with a random offset and slow drift per channel; optional NaN/Inf holes."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_ch)) * rng.uniform(0.1, 10.0, n_ch)
    x += offset + np.linspace(0.0, 1.0, n)[:, None] * rng.uniform(-5, 5, n_ch)
    if nan_rate > 0 and n:
        bad = rng.random((n, n_ch)) < nan_rate
        x[bad] = rng.choice([np.nan, np.inf, -np.inf], size=int(bad.sum()))
    return x


def cut_points(n: int, fractions: list[float]) -> list[int]:
    """Split positions (sorted, repeats allowed: empty chunks) from fractions of n."""
    return sorted(int(f * n) for f in fractions)


def run_split(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, cuts: list[int]) -> np.ndarray:
    bounds = [0, *cuts, len(x)]
    parts = [fn(x[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return np.concatenate(parts, axis=0)


splits = st.lists(st.floats(0.0, 1.0), min_size=0, max_size=12)
seeds = st.integers(0, 2**32 - 1)

# ---------------------------------------------------------------------------------------------
# the filters


def _chain(nc: int, dtype: Any) -> kf.Chain:
    return kf.Chain([kf.SosFilter(kf.notch(50.0, FS, harmonics=3), nc, dtype=dtype),
                     kf.Envelope(FS, nc, highpass=30.0, dtype=dtype), kf.MovingRMS(FS, nc, 0.01, dtype=dtype)])


FILTERS: dict[str, Callable[[int, Any], kf.Processor]] = {
    "sos_bandpass_zero": lambda nc, dt: kf.SosFilter(kf.butter(4, (20.0, 450.0), FS, "bandpass"), nc, dtype=dt),
    "sos_lowpass_steady": lambda nc, dt: kf.SosFilter(kf.butter(3, 10.0, FS), nc, dtype=dt, init="steady"),
    "sos_notch": lambda nc, dt: kf.SosFilter(kf.notch(50.0, FS, harmonics=4), nc, dtype=dt),
    "moving_average": lambda nc, dt: kf.MovingAverage(FS, nc, 0.0125, dtype=dt),
    "moving_rms": lambda nc, dt: kf.MovingRMS(FS, nc, 0.02, dtype=dt),
    "tkeo": lambda nc, dt: kf.TKEO(nc, dtype=dt),
    "envelope": lambda nc, dt: kf.Envelope(FS, nc, dtype=dt),
    "envelope_highpass": lambda nc, dt: kf.Envelope(FS, nc, cutoff=8.0, highpass=25.0, order=3, dtype=dt),
    "chain": _chain,
}
ALL_FILTERS = sorted(FILTERS)
# zero initial state and a linear recursion: superposition and shift invariance hold
LINEAR = ["sos_bandpass_zero", "sos_notch"]


def test_every_filter_class_is_covered() -> None:
    made = {type(FILTERS[k](2, np.float64)).__name__ for k in FILTERS}
    public = {n for n in kf.__all__ if isinstance(getattr(kf, n), type) and issubclass(getattr(kf, n), kf.Processor)}
    assert public <= made, public - made


@pytest.mark.parametrize("name", ALL_FILTERS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@SETTINGS
@given(seed=seeds, n=st.integers(0, 600), n_ch=st.integers(1, 5), fr=splits, holes=st.booleans())
def test_filter_chunk_invariance(name: str, dtype: Any, seed: int, n: int, n_ch: int, fr: list[float],
                                 holes: bool) -> None:
    x = signal(seed, n, n_ch, nan_rate=0.02 if holes else 0.0).astype(dtype)
    whole = FILTERS[name](n_ch, dtype)(x)
    assert whole.dtype == dtype and whole.shape == x.shape
    parts = run_split(FILTERS[name](n_ch, dtype), x, cut_points(n, fr))
    np.testing.assert_array_equal(parts, whole)  # bit for bit, NaN where NaN


@pytest.mark.parametrize("name", ALL_FILTERS)
@pytest.mark.parametrize("how", ["pickle", "deepcopy", "state"])
@SETTINGS
@given(seed=seeds, n=st.integers(1, 600), n_ch=st.integers(1, 4), f=st.floats(0.0, 1.0), holes=st.booleans())
def test_filter_checkpoint_midstream(name: str, how: str, seed: int, n: int, n_ch: int, f: float,
                                     holes: bool) -> None:
    x = signal(seed, n, n_ch, nan_rate=0.02 if holes else 0.0)
    k = int(f * n)
    ref = FILTERS[name](n_ch, np.float64)(x)
    p = FILTERS[name](n_ch, np.float64)
    head = p(x[:k])
    if how == "pickle":
        q = pickle.loads(pickle.dumps(p))
    elif how == "deepcopy":
        q = copy.deepcopy(p)
    else:
        if name == "chain":
            pytest.skip("a Chain carries its state in its stages (pickle / deepcopy)")
        q = FILTERS[name](n_ch, np.float64)
        q.state = p.state
    tail_copy = q(x[k:])
    tail_orig = p(x[k:])  # the original goes on unaffected by the copy
    np.testing.assert_array_equal(np.concatenate([head, tail_copy]), ref)
    np.testing.assert_array_equal(tail_orig, tail_copy)


@pytest.mark.parametrize("name", ALL_FILTERS)
@SETTINGS
@given(seed=seeds, n=st.integers(0, 400), n_ch=st.integers(1, 4))
def test_filter_reset_equals_fresh(name: str, seed: int, n: int, n_ch: int) -> None:
    x = signal(seed, n, n_ch)
    fresh = FILTERS[name](n_ch, np.float64)
    used = FILTERS[name](n_ch, np.float64)
    used(signal(seed + 1, 333, n_ch, nan_rate=0.05, offset=100.0))
    used.reset()
    if name != "chain":
        s_used, s_fresh = used.state, fresh.state
        assert s_used.keys() == s_fresh.keys()
        for key in s_fresh:
            np.testing.assert_array_equal(s_used[key], s_fresh[key], err_msg=key)
    np.testing.assert_array_equal(used(x), fresh(x))


@pytest.mark.parametrize("name", ALL_FILTERS)
@SETTINGS
@given(seed=seeds, n=st.integers(1, 600), n_ch=st.integers(1, 4))
def test_filter_float32_agrees_with_float64(name: str, seed: int, n: int, n_ch: int) -> None:
    """docs/filters.md: float32 results equal the float64 results (on the same, float32-rounded
    input) rounded to float32, to 1e-5 relative to the signal's scale."""
    x32 = signal(seed, n, n_ch).astype(np.float32)
    y32 = FILTERS[name](n_ch, np.float32)(x32)
    y64 = FILTERS[name](n_ch, np.float64)(x32.astype(np.float64))
    assert y32.dtype == np.float32
    scale = max(float(np.max(np.abs(y64))), 1e-30)
    err = float(np.max(np.abs(y32.astype(np.float64) - y64)))
    assert err <= 1e-5 * scale, (err, scale)


@pytest.mark.parametrize("name", LINEAR)
@SETTINGS
@given(seed=seeds, n=st.integers(1, 500), a=st.floats(-100, 100), b=st.floats(-100, 100))
def test_linear_filters_superpose(name: str, seed: int, n: int, a: float, b: float) -> None:
    x, y = signal(seed, n, 2), signal(seed + 7, n, 2)
    f = FILTERS[name]
    lhs = f(2, np.float64)(a * x + b * y)
    rhs = a * f(2, np.float64)(x) + b * f(2, np.float64)(y)
    scale = (abs(a) + abs(b)) * max(1.0, float(np.max(np.abs(f(2, np.float64)(x)))),
                                    float(np.max(np.abs(f(2, np.float64)(y)))))
    np.testing.assert_allclose(lhs, rhs, rtol=0, atol=1e-12 * scale + 1e-300)


@pytest.mark.parametrize("name", LINEAR)
@SETTINGS
@given(seed=seeds, n=st.integers(0, 400), d=st.integers(0, 300))
def test_linear_filters_are_shift_invariant(name: str, seed: int, n: int, d: int) -> None:
    """Zero initial state: delaying the input by d zero samples delays the output, bit for bit."""
    x = signal(seed, n, 3)
    y = FILTERS[name](3, np.float64)(x)
    yd = FILTERS[name](3, np.float64)(np.concatenate([np.zeros((d, 3)), x]))
    np.testing.assert_array_equal(yd[:d], 0.0)
    np.testing.assert_array_equal(yd[d:], y)


@pytest.mark.parametrize(("name", "memory"), [("moving_average", 25), ("moving_rms", 40), ("tkeo", 2)])
@SETTINGS
@given(seed=seeds, n=st.integers(0, 400), d=st.integers(0, 300))
def test_finite_memory_filters_forget_the_past(name: str, memory: int, seed: int, n: int, d: int) -> None:
    """Windowed filters are time invariant once their window has filled: any history, then x,
    gives the same output as x alone from ``memory`` samples on (to rounding of the running sum)."""
    x = signal(seed, n, 2)
    past = signal(seed + 3, d, 2, offset=1e3)
    y = FILTERS[name](2, np.float64)(x)
    yd = FILTERS[name](2, np.float64)(np.concatenate([past, x]))[d:]
    np.testing.assert_allclose(yd[memory:], y[memory:], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(("name", "power"), [("moving_average", 1), ("moving_rms", 1), ("tkeo", 2),
                                             ("envelope", 1), ("envelope_highpass", 1), ("chain", 1)])
@SETTINGS
@given(seed=seeds, n=st.integers(1, 500), a=st.floats(1e-3, 1e3))
def test_positive_homogeneity(name: str, power: int, seed: int, n: int, a: float) -> None:
    """f(a x) = a^p f(x) for a > 0: p = 1 for averages, RMS and envelopes (|a x| = a |x|), 2 for TKEO."""
    x = signal(seed, n, 2)
    y = FILTERS[name](2, np.float64)(x)
    ya = FILTERS[name](2, np.float64)(a * x)
    scale = a**power * max(float(np.max(np.abs(y))), 1e-300)
    np.testing.assert_allclose(ya, a**power * y, rtol=0, atol=1e-11 * scale)


def test_steady_init_starts_in_steady_state() -> None:
    x = np.full((500, 2), 123.456)
    y = FILTERS["sos_lowpass_steady"](2, np.float64)(x)
    np.testing.assert_allclose(y, x, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# orientation filters

FUSION: dict[str, Callable[[], kfu._Filter]] = {
    "madgwick": lambda: kfu.Madgwick(100.0, beta=0.1),
    "mahony": lambda: kfu.Mahony(100.0, kp=1.0, ki=0.3),
    "complementary": lambda: kfu.Complementary(100.0, gain=0.02),
    "robust": lambda: kfu.RobustAHRS(100.0, rest_min_t=0.2, mag_init_t=0.5, mag_new_t=2.0),
}


def imu(seed: int, n: int, *, holes: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random motion with rest stretches: gyroscope (bias + smooth rate + noise), accelerometer
    (gravity seen by a tilting sensor + linear acceleration), magnetometer (a dipping field)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 100.0
    rate = np.sin(2 * np.pi * rng.uniform(0.1, 1.0, 3) * t[:, None] + rng.uniform(0, 6, 3)) * rng.uniform(0, 2, 3)
    rate[(t % 4.0) < 1.5] = 0.0  # rest
    gyr = rate + rng.normal(0, 0.003, (n, 3)) + rng.normal(0, 0.01, 3)
    tilt = np.cumsum(rate[:, :2], axis=0) / 100.0
    acc = np.column_stack([9.81 * np.sin(tilt[:, 1]), -9.81 * np.sin(tilt[:, 0]),
                           9.81 * np.cos(tilt[:, 0]) * np.cos(tilt[:, 1])]) + rng.normal(0, 0.3, (n, 3))
    mag = np.array([0.0, 20.0, -40.0]) + rng.normal(0, 0.5, (n, 3))
    if holes and n:
        for arr in (gyr, acc, mag):
            bad = rng.random(n) < 0.02
            arr[bad, rng.integers(0, 3)] = rng.choice([np.nan, np.inf, 0.0])
        acc[rng.random(n) < 0.01] = 0.0  # zero-norm samples
    return gyr, acc, mag


def fusion_run(f: kfu._Filter, gyr: np.ndarray, acc: np.ndarray, mag: np.ndarray | None) -> np.ndarray:
    out = f.update(gyr, acc, mag, return_all=True)
    # one array with everything the filter reports per sample: q, bias, flags
    return np.column_stack([out.q, out.bias, out.flags.astype(np.float64)])


@pytest.mark.parametrize("name", sorted(FUSION))
@pytest.mark.parametrize("use_mag", [False, True])
@SETTINGS
@given(seed=seeds, n=st.integers(0, 700), fr=splits, holes=st.booleans())
def test_fusion_chunk_invariance(name: str, use_mag: bool, seed: int, n: int, fr: list[float], holes: bool) -> None:
    gyr, acc, mag = imu(seed, n, holes=holes)
    m = mag if use_mag else None
    whole = fusion_run(FUSION[name](), gyr, acc, m)
    f = FUSION[name]()
    bounds = [0, *cut_points(n, fr), n]
    parts = [fusion_run(f, gyr[a:b], acc[a:b], None if m is None else m[a:b])
             for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    # unit quaternions wherever there is an orientation, whatever the input
    ok = np.isfinite(whole[:, 0])
    np.testing.assert_allclose(np.linalg.norm(whole[ok, :4], axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("name", [
    "madgwick", "mahony", "complementary", "robust",
])
def test_fusion_bad_gyroscope_sample_holds_the_orientation(name: str) -> None:
    """docs/fusion.md: 'a non-finite or implausible (> 1000 rad/s) gyroscope sample holds the
    orientation'. Madgwick and Mahony output the previous sample's orientation; Complementary
    skips the gyroscope propagation but still applies that sample's accelerometer/magnetometer
    correction (a step of ``gain`` towards them). Later samples go on, finite and unit."""
    gyr, acc, mag = imu(3, 400)
    for bad in (np.nan, np.inf, 2000.0):
        g = gyr.copy()
        g[200, 1] = bad
        out = FUSION[name]().update(g, acc, mag, return_all=True)
        assert out.flags[200] & kfu.FLAG_GYR_SKIPPED
        assert np.isfinite(out.q).all()
        np.testing.assert_allclose(np.linalg.norm(out.q, axis=1), 1.0, atol=1e-12)
        if name == "complementary":
            step = 2 * np.degrees(np.arccos(min(1.0, abs(float(out.q[200] @ out.q[199])))))
            assert step < 1.0, step
        else:
            np.testing.assert_array_equal(out.q[200], out.q[199])


@pytest.mark.parametrize("name", sorted(FUSION))
@pytest.mark.parametrize("how", ["pickle", "deepcopy", "state"])
@SETTINGS
@given(seed=seeds, n=st.integers(1, 700), f=st.floats(0.0, 1.0), use_mag=st.booleans())
def test_fusion_checkpoint_midstream(name: str, how: str, seed: int, n: int, f: float, use_mag: bool) -> None:
    gyr, acc, mag = imu(seed, n, holes=True)
    m = mag if use_mag else None
    k = int(f * n)

    def sl(a: np.ndarray | None, s: slice) -> np.ndarray | None:
        return None if a is None else a[s]

    ref = fusion_run(FUSION[name](), gyr, acc, m)
    p = FUSION[name]()
    head = fusion_run(p, gyr[:k], acc[:k], sl(m, slice(0, k)))
    if how == "pickle":
        q = pickle.loads(pickle.dumps(p))
    elif how == "deepcopy":
        q = copy.deepcopy(p)
    else:
        q = FUSION[name]()
        q.state = p.state
    tail = fusion_run(q, gyr[k:], acc[k:], sl(m, slice(k, None)))
    np.testing.assert_array_equal(np.concatenate([head, tail]), ref)
    np.testing.assert_array_equal(fusion_run(p, gyr[k:], acc[k:], sl(m, slice(k, None))), tail)


@pytest.mark.parametrize("name", sorted(FUSION))
@SETTINGS
@given(seed=seeds, n=st.integers(0, 500), use_mag=st.booleans())
def test_fusion_reset_equals_fresh(name: str, seed: int, n: int, use_mag: bool) -> None:
    gyr, acc, mag = imu(seed, n)
    m = mag if use_mag else None
    used = FUSION[name]()
    g2, a2, m2 = imu(seed + 1, 450, holes=True)
    used.update(g2, a2, m2)
    used.reset()
    fresh = FUSION[name]()
    for key, v in fresh.state.items():
        np.testing.assert_array_equal(used.state[key], v, err_msg=key)
    np.testing.assert_array_equal(fusion_run(used, gyr, acc, m), fusion_run(fresh, gyr, acc, m))


@pytest.mark.parametrize("name", sorted(FUSION))
@SETTINGS
@given(seed=seeds, n=st.integers(1, 500), use_mag=st.booleans())
def test_fusion_float32_input(name: str, seed: int, n: int, use_mag: bool) -> None:
    """The orientation filters compute in double: float32 input gives exactly the result of the
    same (float32-rounded) values as float64, and float64 output."""
    gyr, acc, mag = (a.astype(np.float32) for a in imu(seed, n))
    m = mag if use_mag else None
    a = FUSION[name]().update(gyr, acc, m, return_all=True)
    b = FUSION[name]().update(gyr.astype(np.float64), acc.astype(np.float64),
                              None if m is None else m.astype(np.float64), return_all=True)
    assert a.q.dtype == np.float64
    np.testing.assert_array_equal(a.q, b.q)
    np.testing.assert_array_equal(a.bias, b.bias)
    np.testing.assert_array_equal(a.flags, b.flags)


# ---------------------------------------------------------------------------------------------
# lumbar angles (per sample)


def quats(seed: int, n: int) -> np.ndarray:
    q = np.random.default_rng(seed).standard_normal((n, 4))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


CALIBRATIONS = {
    "nominal": km.Calibration.nominal(),
    "absolute": km.Calibration((0.9, 0.1, -0.2, 0.3), (0.95, -0.1, 0.1, 0.0), heading="absolute",
                               neutral_offset=(0.99, 0.05, 0.05, 0.0)),
}


@pytest.mark.parametrize("cal", sorted(CALIBRATIONS))
@SETTINGS
@given(seed=seeds, n=st.integers(0, 400), fr=splits, perm_seed=seeds)
def test_lumbar_angles_streaming(cal: str, seed: int, n: int, fr: list[float], perm_seed: int) -> None:
    qu, ql = quats(seed, n), quats(seed + 1, n)
    c = CALIBRATIONS[cal]
    whole = km.LumbarAngles(c)(qu, ql)
    assert whole.shape == (n, 3)
    p = km.LumbarAngles(c)
    cuts = cut_points(n, fr)
    bounds = [0, *cuts, n]
    parts = []
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        if i == len(bounds) // 2:  # checkpoint half-way
            p = pickle.loads(pickle.dumps(p)) if i % 2 else copy.deepcopy(p)
        parts.append(p(qu[a:b], ql[a:b]))
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    p.reset()
    np.testing.assert_array_equal(p(qu, ql), whole)
    # per sample: permuting the samples permutes the output — in align mode except the samples
    # whose upper anterior axis is within 10 deg of the vertical, which hold the heading
    # correction of the sample before them
    perm = np.random.default_rng(perm_seed).permutation(n)
    free = np.ones(n, dtype=bool)
    if c.heading == "align" and n:
        u = km._rotate(km._quat_mul(qu, np.asarray(c.upper_mount)[None, :]), np.array([1.0, 0.0, 0.0]))
        free = np.abs(u[:, 2]) <= np.cos(np.radians(10.0)) - 1e-9
    got = km.LumbarAngles(c)(qu[perm], ql[perm])
    np.testing.assert_array_equal(got[free[perm]], whole[perm][free[perm]])
    # float32 quaternions: the same as their float64 values (angles are computed in double)
    q32u, q32l = qu.astype(np.float32), ql.astype(np.float32)
    np.testing.assert_array_equal(km.LumbarAngles(c)(q32u, q32l),
                                  km.LumbarAngles(c)(q32u.astype(np.float64), q32l.astype(np.float64)))


# ---------------------------------------------------------------------------------------------
# online onset detector


def emg(seed: int, n: int, n_ch: int) -> np.ndarray:
    """Rest (1 s) then random bursts, per channel."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_ch)) * 0.02
    for c in range(n_ch):
        for _ in range(rng.integers(0, 4)):
            a = int(rng.integers(int(1.2 * FS), max(int(1.2 * FS) + 1, n - 200)))
            b = min(n, a + int(rng.integers(200, 1500)))
            if b > a:
                x[a:b, c] += rng.standard_normal(b - a) * rng.uniform(0.2, 1.0)
    return x


METHODS = ["cusum", "hodges_bui", "bonato", "tkeo"]


def detector(method: str, n_ch: int, dtype: Any = np.float64) -> onset.OnlineDetector:
    return onset.OnlineDetector(FS, n_ch, method, rest=(0.0, 1.0), dtype=dtype)


def events(d: onset.OnlineDetector, x: np.ndarray, cuts: list[int]) -> np.ndarray:
    rows = run_split(d.process, x, cuts)
    return np.concatenate([rows, d.finish()])


def canon(rows: np.ndarray) -> np.ndarray:
    """Event rows in a fixed order (channel, onset, offset): the set of events, whatever the order
    of the rows within one call."""
    return rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))] if len(rows) else rows


@pytest.mark.parametrize("method", METHODS)
@SETTINGS
@given(seed=seeds, n=st.integers(0, 12000), n_ch=st.integers(1, 3), fr=splits)
def test_onset_chunk_invariance(method: str, seed: int, n: int, n_ch: int, fr: list[float]) -> None:
    x = emg(seed, n, n_ch)
    whole = events(detector(method, n_ch), x, [])
    parts = events(detector(method, n_ch), x, cut_points(n, fr))
    np.testing.assert_array_equal(canon(parts), canon(whole))


@pytest.mark.parametrize("method", METHODS)
@SETTINGS
@given(seed=seeds, n_ch=st.integers(2, 3), fr=splits)
def test_onset_row_order_does_not_depend_on_chunking(method: str, seed: int, n_ch: int, fr: list[float]) -> None:
    """Bit for bit, as DESIGN.md's streaming contract says: the rows come in the same order too
    (a caller that forwards them as they come must see the same sequence)."""
    x = emg(seed, 12000, n_ch)
    whole = events(detector(method, n_ch), x, [])
    parts = events(detector(method, n_ch), x, cut_points(12000, fr))
    np.testing.assert_array_equal(parts, whole)


@pytest.mark.parametrize("method", METHODS)
@SETTINGS
@given(seed=seeds, n=st.integers(0, 9000), n_ch=st.integers(1, 3))
def test_onset_reset_equals_fresh(method: str, seed: int, n: int, n_ch: int) -> None:
    x = emg(seed, n, n_ch)
    used = detector(method, n_ch)
    used.process(emg(seed + 1, 7000, n_ch) * 3.0)
    used.reset()
    assert used.position == 0
    np.testing.assert_array_equal(events(used, x, []), events(detector(method, n_ch), x, []))
    # finish() resets the decision state but keeps the baseline for the next stream: sigma0^2 as
    # tracked at the end of the stream (documented), so without the rest-level tracking the same
    # stream again gives the same events; with it, the second pass is still deterministic
    fixed = onset.OnlineDetector(FS, n_ch, method, rest=(0.0, 1.0), track_rest=0.0)
    first = events(fixed, x, [])
    np.testing.assert_array_equal(events(fixed, x, []), first)
    again = events(used, x, [])
    twin = detector(method, n_ch)
    events(twin, x, [])
    np.testing.assert_array_equal(events(twin, x, []), again)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_onset_checkpoint_midstream(method: str, how: str) -> None:
    """The streaming contract asks for pickling of the full state; OnlineDetector documents that
    it cannot be pickled yet. Until it can, checking that the refusal is clean (TypeError, the
    object unharmed); once it can, the copy must continue exactly like the original."""
    x = emg(5, 12000, 2)
    ref = events(detector(method, 2), x, [])
    d = detector(method, 2)
    head = d.process(x[:5000])
    try:
        q = pickle.loads(pickle.dumps(d)) if how == "pickle" else copy.deepcopy(d)
    except TypeError as exc:
        assert "cannot be pickled" in str(exc)
        tail = np.concatenate([d.process(x[5000:]), d.finish()])
        np.testing.assert_array_equal(np.concatenate([head, tail]), ref)
        pytest.skip("OnlineDetector has no state export yet (documented; C++ onset code)")
    tail = np.concatenate([q.process(x[5000:]), q.finish()])
    np.testing.assert_array_equal(canon(np.concatenate([head, tail])), canon(ref))


@pytest.mark.parametrize("method", METHODS)
@SETTINGS
@given(seed=seeds, n_ch=st.integers(1, 2))
def test_onset_float32_agrees_with_float64(method: str, seed: int, n_ch: int) -> None:
    """float32 and float64 find the same activations on the same (float32-rounded) signal, with
    boundaries within 2 ms (4 samples at 2 kHz), except where a statistic sits on its threshold."""
    x = emg(seed, 16000, n_ch).astype(np.float32)
    e32 = events(detector(method, n_ch, np.float32), x, [])
    e64 = events(detector(method, n_ch), x.astype(np.float64), [])
    c32 = e32[e32[:, 2] >= 0]
    c64 = e64[e64[:, 2] >= 0]
    assert len(c32) == len(c64), (c32, c64)
    if len(c64):
        np.testing.assert_array_equal(c32[:, 0], c64[:, 0])
        assert np.max(np.abs(c32[:, 1:] - c64[:, 1:])) <= 4, (c32, c64)


# ---------------------------------------------------------------------------------------------
# online measures of kinemyo.stream (per-sample update in Python)


def angle_trace(seed: int, n: int, fs: float) -> np.ndarray:
    """Bends, holds and rest at 100 Hz, with noise and a few NaN."""
    rng = np.random.default_rng(seed)
    out: list[np.ndarray] = []
    level = 0.0
    while sum(len(o) for o in out) < n:
        target = float(rng.choice([0.0, rng.uniform(-20, 60)]))
        ramp = np.linspace(level, target, int(rng.integers(20, 200)))
        hold = np.full(int(rng.integers(10, 500)), target)
        out += [ramp, hold]
        level = target
    a = np.concatenate(out)[:n] + rng.normal(0, 0.3, n)
    a[rng.random(n) < 0.005] = np.nan
    return a


def measure_run(m: Any, a: np.ndarray, i0: int = 0) -> list[dict[str, Any]]:
    ev: list[dict[str, Any]] = []
    for v in a:
        ev += m.update(float(v))
    return ev


MEASURES: dict[str, Callable[[], Any]] = {
    "holds": lambda: OnlineHolds(100.0, tolerance_deg=3.0, min_duration_s=1.0, limit_s=3.0),
    "repetitions": lambda: OnlineRepetitions(100.0),
    "movement_onsets": lambda: OnlineMovementOnsets(100.0),
}


@pytest.mark.parametrize("name", sorted(MEASURES))
@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
@settings(max_examples=max(3, N_EXAMPLES // 3), deadline=None, derandomize=os.environ.get("CI") == "true")
@given(seed=seeds, n=st.integers(1, 3000), f=st.floats(0.0, 1.0))
def test_online_measures_checkpoint_and_reset(name: str, how: str, seed: int, n: int, f: float) -> None:
    a = angle_trace(seed, n, 100.0)
    k = int(f * n)
    ref = measure_run(MEASURES[name](), a)
    m = MEASURES[name]()
    head = measure_run(m, a[:k])
    q = pickle.loads(pickle.dumps(m)) if how == "pickle" else copy.deepcopy(m)
    assert measure_run(q, a[k:]) == ref[len(head):]
    assert head == ref[:len(head)]
    # reset = fresh
    m.reset()
    assert measure_run(m, a) == ref

"""The C++ scans of kinemyo.metrics against plain-Python references and invariants."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from kinemyo import _core


def ref_holds(x: np.ndarray, tol: float, m: int) -> list[tuple[int, int]]:
    """O(n^2) statement of the greedy hold scan (the smallest valid start for every end)."""
    out = []
    s = 0
    for r in range(len(x)):
        if not np.isfinite(x[r]):
            if r - s >= m:
                out.append((s, r))
            s = r + 1
            continue
        w = x[s : r + 1]
        if w.max() - w.min() <= tol:
            continue
        if r - s >= m:
            out.append((s, r))
            s = r
            continue
        while x[s : r + 1].max() - x[s : r + 1].min() > tol:
            s += 1
    if len(x) - s >= m:
        out.append((s, len(x)))
    return out


def ref_active(x: np.ndarray, high: float, low: float, min_on: int, min_off: int):
    above = np.isfinite(x) & (x > low)
    runs = []
    i = 0
    while i < len(x):
        if above[i]:
            j = i
            while j < len(x) and above[j]:
                j += 1
            if np.any(x[i:j] > high):
                runs.append([i, j])
            i = j
        else:
            i += 1
    merged: list[list[int]] = []
    for r in runs:
        if merged and r[0] - merged[-1][1] < min_off:
            merged[-1][1] = r[1]
        else:
            merged.append(r)
    return [tuple(r) for r in merged if r[1] - r[0] >= min_on]


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_find_holds_matches_reference(seed: int, dtype) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 300))
    x = np.cumsum(rng.standard_normal(n) * rng.choice([0.1, 1.0, 3.0], n)).astype(dtype)
    if n and seed % 3 == 0:
        x[rng.integers(0, n, 3)] = np.nan
    tol, m = float(rng.uniform(0.5, 5)), int(rng.integers(1, 20))
    got = [tuple(r) for r in _core.find_holds(x, tol, m).tolist()]
    assert got == ref_holds(x.astype(np.float64), tol, m)


@pytest.mark.parametrize("seed", range(30))
def test_find_active_segments_matches_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 400))
    x = np.abs(np.convolve(rng.standard_normal(n + 9), np.ones(10) / 3, "valid"))[:n]
    if n and seed % 4 == 0:
        x[rng.integers(0, n, 4)] = np.nan
    high = float(rng.uniform(0.5, 1.5))
    low = float(rng.uniform(0.1, high))
    on, off = int(rng.integers(1, 10)), int(rng.integers(0, 10))
    got = [tuple(r) for r in _core.find_active_segments(x, high, low, on, off).tolist()]
    assert got == ref_active(x, high, low, on, off)


@pytest.mark.parametrize("seed", range(30))
def test_find_turning_points_invariants(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 2000))
    x = np.cumsum(rng.standard_normal(n))
    h, band = float(rng.uniform(0.5, 6)), float(rng.uniform(0, 2))
    tp = _core.find_turning_points(x, h, band)
    idx, val, peak = tp["index"], tp["value"], tp["is_peak"]
    assert np.all(np.diff(idx) > 0)
    assert np.all(peak[1:] != peak[:-1])  # alternate
    np.testing.assert_array_equal(val, x[idx])
    assert np.all(np.abs(np.diff(val)) > h)  # every swing exceeds the hysteresis
    for k in range(len(idx)):
        lo = 0 if k == 0 else idx[k - 1]
        hi = n if k + 1 == len(idx) else idx[k + 1] + 1
        seg = x[lo:hi]
        # each extreme is the extreme between its neighbours
        assert val[k] == (seg.max() if peak[k] else seg.min())
        pf, pl = tp["plateau_first"][k], tp["plateau_last"][k]
        assert pf <= idx[k] <= pl
        assert abs(x[pf] - val[k]) <= band and abs(x[pl] - val[k]) <= band
    # no swing larger than h is missed: between consecutive extremes, and before the first /
    # after the last, the signal never reverses by more than h
    bounds = np.concatenate([[0], idx, [n - 1]])
    for a, b in itertools.pairwise(bounds):
        seg = x[a : b + 1]
        run_max = np.maximum.accumulate(seg)
        run_min = np.minimum.accumulate(seg)
        rising = seg[-1] >= seg[0]
        rev = (run_max - seg).max() if rising else (seg - run_min).max()
        assert rev <= h + 1e-12


def test_scan_bad_arguments() -> None:
    with pytest.raises(ValueError, match="1-D"):
        _core.find_holds(np.zeros((3, 2)), 1.0, 1)
    with pytest.raises(ValueError, match="tolerance"):
        _core.find_holds(np.zeros(3), -1.0, 1)
    with pytest.raises(ValueError, match="low"):
        _core.find_active_segments(np.zeros(3), 1.0, 2.0, 1, 0)
    with pytest.raises(TypeError):
        _core.find_turning_points(np.array(["a"]), 1.0, 1.0)

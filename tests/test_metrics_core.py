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


# ------------------------------------------------------------------------------ EMG passes


@pytest.mark.parametrize("c", [1, 3, 8])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_spectral_frames_match_numpy(c: int, dtype) -> None:
    rng = np.random.default_rng(c)
    x = (rng.standard_normal((1000, c)) + 5.0).astype(dtype)
    x[437, c - 1] = np.nan
    nw, step = 100, 70
    taper = np.hanning(nw)
    n_win = (x.shape[0] - nw) // step + 1
    got = _core.spectral_frames(x, nw, step, 2, n_win - 2, taper)
    assert got.dtype == dtype and got.shape == (n_win - 2, nw, c)
    xd = x.astype(np.float64)
    for w in range(2, n_win):
        seg = xd[w * step : w * step + nw]
        ref = (seg - seg.mean(axis=0)) * taper[:, None]
        np.testing.assert_allclose(got[w - 2], ref, rtol=1e-5 if dtype == np.float32 else 1e-12,
                                   atol=1e-5 if dtype == np.float32 else 1e-12)
    wide = _core.spectral_frames(x, nw, step, 0, n_win, taper, True)
    assert wide.dtype == np.float64
    with pytest.raises(ValueError, match="w0"):
        _core.spectral_frames(x, nw, step, 0, n_win + 1, taper)
    with pytest.raises(ValueError, match="taper"):
        _core.spectral_frames(x, nw, step, 0, 1, taper[:-1])


@pytest.mark.parametrize("layout", ["bins-middle", "bins-last"])
def test_spectral_moments_match_numpy(layout: str) -> None:
    rng = np.random.default_rng(5)
    k, nbins, c = 7, 51, 3
    spec = rng.standard_normal((k, nbins, c)) + 1j * rng.standard_normal((k, nbins, c))
    spec[3, :, 1] = 0.0  # no power: NaN
    spec[4, 7, 2] = np.nan
    if layout == "bins-last":  # same values, another memory layout (strided view)
        spec = np.ascontiguousarray(spec.transpose(0, 2, 1)).transpose(0, 2, 1)
    b0, b1 = 5, 40
    f = np.arange(nbins) * 2.0
    mnf, mdf = _core.spectral_moments(spec, b0, b1, f[b0:b1], 2.0)
    p = np.abs(spec[:, b0:b1]) ** 2
    tot = p.sum(axis=1)
    with np.errstate(invalid="ignore"):
        ref_mnf = (p * f[b0:b1, None]).sum(axis=1) / tot
    cum = np.cumsum(p, axis=1)
    for w in range(k):
        for ch in range(c):
            if not (np.isfinite(tot[w, ch]) and tot[w, ch] > 0):
                assert np.isnan(mnf[w, ch]) and np.isnan(mdf[w, ch])
                continue
            j = int(np.argmax(cum[w, :, ch] >= 0.5 * tot[w, ch]))
            prev = cum[w, j - 1, ch] if j else 0.0
            frac = (0.5 * tot[w, ch] - prev) / (cum[w, j, ch] - prev)
            assert mdf[w, ch] == pytest.approx(f[b0 + j] - 1.0 + 2.0 * frac, rel=1e-12)
            assert mnf[w, ch] == pytest.approx(ref_mnf[w, ch], rel=1e-12)
    m32 = _core.spectral_moments(spec.astype(np.complex64), b0, b1, f[b0:b1], 2.0)[1]
    np.testing.assert_allclose(m32, mdf, rtol=1e-5)
    with pytest.raises(TypeError):
        _core.spectral_moments(spec.real.copy(), b0, b1, f[b0:b1], 2.0)
    with pytest.raises(ValueError):
        _core.spectral_moments(spec, b0, nbins + 1, np.zeros(nbins + 1 - b0), 2.0)


@pytest.mark.parametrize("c", [1, 2, 5, 8])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_block_sums_and_decimated_rms(c: int, dtype) -> None:
    rng = np.random.default_rng(c)
    n, d, wb = 1013, 10, 7
    x = rng.standard_normal((n, c)).astype(dtype)
    ss = _core.block_sum_squares(x, d)
    xd = x.astype(np.float64)
    nb = -(-n // d)
    ref = np.array([(xd[j * d : (j + 1) * d] ** 2).sum(axis=0) for j in range(nb)])
    np.testing.assert_allclose(ss, ref, rtol=1e-12)
    x[505, 0] = np.nan  # block 50: only windows that contain it become NaN
    rms = _core.decimated_moving_rms(x, d, wb)
    assert rms.dtype == dtype and rms.shape == (nb, c)
    xd = x.astype(np.float64)
    hb = (wb - 1) // 2
    for j in range(nb):
        lo, hi = max(0, j - hb), min(nb, j - hb + wb)
        seg = xd[lo * d : min(n, hi * d)]
        ref = np.sqrt((seg**2).mean(axis=0))
        np.testing.assert_allclose(rms[j], ref, rtol=2e-6 if dtype == np.float32 else 1e-12)
    assert np.isnan(rms[47:54, 0]).all() and np.isfinite(rms[:47, 0]).all() and np.isfinite(rms[54:, 0]).all()


def test_trim_to_band_and_segment_stats() -> None:
    rng = np.random.default_rng(2)
    x = rng.uniform(-3, 3, 500)
    x[100] = np.nan
    segs = np.array([[0, 50], [40, 120], [200, 200], [300, 500], [90, 101]])
    centres = np.array([0.0, 1.0, 0.0, -2.0, 10.0])
    got = _core.trim_to_band(x, segs, centres, 0.5)
    for (s, e), m, (gs, ge) in zip(segs, centres, got, strict=True):
        near = np.flatnonzero(np.abs(x[s:e] - m) <= 0.5)
        if near.size:
            assert (gs, ge) == (s + near[0], s + near[-1] + 1)
        else:
            assert gs == ge == s
    st = _core.segment_stats(x, segs)
    for i, (s, e) in enumerate(segs):
        v = x[s:e][np.isfinite(x[s:e])]
        assert st["count"][i] == v.size
        if v.size:
            assert st["min"][i] == v.min() and st["max"][i] == v.max()
            assert st["mean"][i] == pytest.approx(v.mean(), rel=1e-12)
            assert st["argmax"][i] == s + int(np.nanargmax(x[s:e]))
        else:
            assert np.isnan(st["max"][i]) and st["argmax"][i] == -1
    x2 = np.column_stack([x, -x])
    st2 = _core.segment_stats(x2, segs)
    assert st2["max"].shape == (5, 2)
    np.testing.assert_array_equal(st2["max"][:, 0], st["max"])
    np.testing.assert_array_equal(st2["max"][[0, 1, 3, 4], 1], -st["min"][[0, 1, 3, 4]])
    with pytest.raises(ValueError, match="segments"):
        _core.segment_stats(x, np.array([[0, 501]]))
    with pytest.raises(ValueError, match="band"):
        _core.trim_to_band(x, segs, centres, -1.0)

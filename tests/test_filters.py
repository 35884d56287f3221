"""Filter bank: designs and filtering against SciPy (the oracle), the streaming contract, bad input."""

from __future__ import annotations

import copy
import pickle
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from kinemyo import filters as kf

from .conftest import random_splits, run_in_chunks

FS = 2000.0


def response(sos: np.ndarray, freqs: np.ndarray, fs: float) -> np.ndarray:
    return signal.sosfreqz(sos, worN=freqs, fs=fs)[1]


# ---------------------------------------------------------------- design


@pytest.mark.parametrize("order", range(1, 11))
@pytest.mark.parametrize("btype", ["lowpass", "highpass", "bandpass", "bandstop"])
def test_butter_response_equals_scipy(order: int, btype: str) -> None:
    fs = 1000.0
    cut = (35.0, 180.0) if btype.startswith("band") else 60.0
    ours = kf.butter(order, cut, fs, btype)
    ref = signal.butter(order, cut, btype, fs=fs, output="sos")
    assert ours.shape == ref.shape
    freqs = np.linspace(0, fs / 2, 512, endpoint=False)
    np.testing.assert_allclose(response(ours, freqs, fs), response(ref, freqs, fs), rtol=0, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(order=st.integers(1, 10), lo=st.floats(0.01, 0.45), width=st.floats(0.01, 0.5),
       btype=st.sampled_from(["lowpass", "highpass", "bandpass", "bandstop"]))
def test_butter_response_random_cutoffs(order: int, lo: float, width: float, btype: str) -> None:
    fs = 100.0
    hi = min(lo + width, 0.49)
    if btype.startswith("band"):
        if hi - lo < 0.005:
            return
        cut: float | tuple[float, float] = (lo * fs, hi * fs)
    else:
        cut = lo * fs
    ours = kf.butter(order, cut, fs, btype)
    ref = signal.butter(order, cut, btype, fs=fs, output="sos")
    freqs = np.linspace(0, fs / 2, 256, endpoint=False)
    np.testing.assert_allclose(response(ours, freqs, fs), response(ref, freqs, fs), rtol=0, atol=1e-9)


@pytest.mark.parametrize("freq,q", [(50.0, 30.0), (60.0, 10.0), (50.0, 100.0), (333.0, 3.0)])
def test_notch_equals_iirnotch(freq: float, q: float) -> None:
    sos = kf.notch(freq, FS, q)
    b, a = signal.iirnotch(freq, q, fs=FS)
    np.testing.assert_allclose(sos[0], np.concatenate([b, a]), rtol=1e-12, atol=1e-15)


def test_notch_harmonics_below_nyquist() -> None:
    sos = kf.notch(50.0, 500.0, 30.0, harmonics=10)
    assert sos.shape == (4, 6)  # 50, 100, 150, 200 Hz: 250 Hz is Nyquist
    for k, row in enumerate(sos, start=1):
        b, a = signal.iirnotch(50.0 * k, 30.0, fs=500.0)
        np.testing.assert_allclose(row, np.concatenate([b, a]), rtol=1e-12, atol=1e-15)


def test_sosfilt_zi_equals_scipy() -> None:
    sos = kf.butter(6, (20.0, 450.0), FS, "bandpass")
    np.testing.assert_allclose(kf.sosfilt_zi(sos), signal.sosfilt_zi(sos), rtol=1e-10, atol=1e-14)


# ---------------------------------------------------------------- offline filtering


@pytest.mark.parametrize("shape", [(5000,), (5000, 1), (3000, 16), (257, 3)])
def test_sosfilt_equals_scipy(shape: tuple[int, ...], rng: np.random.Generator) -> None:
    sos = kf.butter(4, (20.0, 450.0), FS, "bandpass")
    x = rng.standard_normal(shape)
    ref = signal.sosfilt(sos, x, axis=0)
    y = kf.sosfilt(sos, x)
    assert y.shape == x.shape and y.dtype == np.float64
    np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-12 * np.abs(ref).max())


@pytest.mark.parametrize("order,btype,cut", [(4, "bandpass", (20.0, 450.0)), (3, "lowpass", 6.0),
                                             (2, "highpass", 30.0), (5, "bandstop", (45.0, 55.0)),
                                             (1, "lowpass", 100.0), (10, "lowpass", 300.0)])
def test_sosfiltfilt_equals_scipy(order: int, btype: str, cut, rng: np.random.Generator) -> None:
    sos = kf.butter(order, cut, FS, btype)
    x = rng.standard_normal((4000, 5)) + np.linspace(0, 3, 4000)[:, None]
    ref = signal.sosfiltfilt(sos, x, axis=0)
    y = kf.sosfiltfilt(sos, x)
    np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-10 * np.abs(ref).max())
    y1 = kf.sosfiltfilt(sos, x[:, 2])
    np.testing.assert_allclose(y1, ref[:, 2], rtol=1e-10, atol=1e-10 * np.abs(ref).max())


def test_sosfiltfilt_padlen_and_short_input(rng: np.random.Generator) -> None:
    sos = kf.butter(2, 10.0, 100.0)
    x = rng.standard_normal((200, 2))
    for padlen in (0, 1, 10, 199):
        np.testing.assert_allclose(kf.sosfiltfilt(sos, x, padlen=padlen),
                                   signal.sosfiltfilt(sos, x, axis=0, padlen=padlen), rtol=1e-10, atol=1e-12)
    padlen = 3 * (2 * len(sos) + 1)
    with pytest.raises(ValueError, match="padlen"):
        kf.sosfiltfilt(sos, x[:padlen])


def test_float32_is_float32_and_close(rng: np.random.Generator) -> None:
    sos = kf.butter(4, (20.0, 450.0), FS, "bandpass")
    x = rng.standard_normal((3000, 4)).astype(np.float32)
    y = kf.sosfilt(sos, x)
    assert y.dtype == np.float32
    ref = signal.sosfilt(sos, x.astype(np.float64), axis=0)
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-5 * np.abs(ref).max())
    yy = kf.sosfiltfilt(sos, x)
    assert yy.dtype == np.float32
    ref = signal.sosfiltfilt(sos, x.astype(np.float64), axis=0)
    np.testing.assert_allclose(yy, ref, rtol=0, atol=1e-5 * np.abs(ref).max())


def test_int_noncontiguous_and_empty_input(rng: np.random.Generator) -> None:
    sos = kf.butter(2, 50.0, FS)
    xi = rng.integers(-1000, 1000, size=(500, 6))
    ref = signal.sosfilt(sos, xi.astype(float), axis=0)
    np.testing.assert_allclose(kf.sosfilt(sos, xi), ref, rtol=1e-10, atol=1e-9)
    xf = rng.standard_normal((6, 500)).T  # Fortran order
    np.testing.assert_allclose(kf.sosfilt(sos, xf), signal.sosfilt(sos, xf, axis=0), rtol=1e-10, atol=1e-12)
    xs = rng.standard_normal((1000, 8))[::2, ::3]  # strided view
    np.testing.assert_allclose(kf.sosfilt(sos, xs), signal.sosfilt(sos, xs, axis=0), rtol=1e-10, atol=1e-12)
    assert kf.sosfilt(sos, np.zeros((0, 3))).shape == (0, 3)
    assert kf.sosfilt(sos, np.zeros(0)).shape == (0,)
    f = kf.SosFilter(sos, 3)
    assert f(np.zeros((0, 3))).shape == (0, 3)


def test_no_copy_of_contiguous_input(rng: np.random.Generator) -> None:
    sos = kf.butter(4, (20.0, 450.0), FS, "bandpass")
    x = rng.standard_normal((200_000, 8))  # 12.8 MB
    tracemalloc.start()
    try:
        y = kf.sosfilt(sos, x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < x.nbytes * 1.1, peak  # the output, and nothing the size of the input
    tracemalloc.start()
    try:
        y = kf.sosfiltfilt(sos, x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < x.nbytes * 1.1, peak
    assert y.shape == x.shape


# ---------------------------------------------------------------- streaming processors


def make_processors(C: int, dtype=np.float64) -> list[kf.Processor]:
    return [
        kf.SosFilter(kf.butter(4, (20.0, 450.0), FS, "bandpass"), C, dtype=dtype),
        kf.SosFilter(kf.butter(3, 10.0, FS), C, dtype=dtype, init="steady"),
        kf.SosFilter(kf.butter(10, 300.0, FS), C, dtype=dtype),  # 5 sections
        kf.SosFilter(np.tile(kf.butter(2, 100.0, FS), (6, 1)), C, dtype=dtype),  # 6 sections
        kf.SosFilter(kf.butter(10, (20.0, 450.0), FS, "bandpass"), C, dtype=dtype),  # 10 sections
        kf.Envelope(FS, C, cutoff=6.0, highpass=30.0, dtype=dtype),
        kf.Envelope(FS, C, dtype=dtype),
        kf.MovingAverage(FS, C, 0.05, dtype=dtype),
        kf.MovingRMS(FS, C, 0.1, dtype=dtype),
        kf.TKEO(C, dtype=dtype),
        kf.Chain([kf.SosFilter(kf.notch(50.0, FS), C, dtype=dtype), kf.TKEO(C, dtype=dtype),
                  kf.MovingAverage(FS, C, 0.01, dtype=dtype)]),
    ]


@pytest.mark.parametrize("C", [1, 3, 8, 16, 21])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_chunk_invariance_bitwise(C: int, dtype, rng: np.random.Generator) -> None:
    x = (rng.standard_normal((1500, C)) + 2.0).astype(dtype)
    for proc in make_processors(C, dtype):
        whole = proc(x)
        assert whole.dtype == dtype
        for _ in range(3):
            proc.reset()
            chunked = run_in_chunks(proc, x, random_splits(len(x), rng, 130))
            np.testing.assert_array_equal(chunked, whole, err_msg=repr(proc))


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(0, 400), max_size=8), C=st.integers(1, 9),
       which=st.integers(0, 10))
def test_chunk_invariance_property(cuts: list[int], C: int, which: int) -> None:
    x = np.random.default_rng(C).standard_normal((400, C))
    proc = make_processors(C)[which]
    whole = proc(x)
    proc.reset()
    edges = [0, *sorted(cuts), 400]
    out = np.concatenate([proc(x[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)])
    np.testing.assert_array_equal(out, whole)


@pytest.mark.parametrize("clone", [copy.deepcopy, lambda p: pickle.loads(pickle.dumps(p))])
def test_checkpoint_mid_stream(clone, rng: np.random.Generator) -> None:
    x = rng.standard_normal((2000, 4))
    for proc in make_processors(4):
        whole = proc(x)
        proc.reset()
        first = proc(x[:777])
        twin = clone(proc)
        assert type(twin) is type(proc)
        rest = twin(x[777:])
        np.testing.assert_array_equal(np.concatenate([first, rest]), whole, err_msg=repr(proc))
        # the original is unaffected by its twin
        np.testing.assert_array_equal(proc(x[777:]), rest)


def test_reset_equals_fresh(rng: np.random.Generator) -> None:
    x = rng.standard_normal((600, 2))
    for proc, fresh in zip(make_processors(2), make_processors(2), strict=True):
        proc(rng.standard_normal((321, 2)))
        proc.reset()
        np.testing.assert_array_equal(proc(x), fresh(x))


def test_state_roundtrip_and_validation(rng: np.random.Generator) -> None:
    f = kf.SosFilter(kf.butter(4, 30.0, FS), 3)
    f(rng.standard_normal((100, 3)))
    st_ = f.state
    g = kf.SosFilter(kf.butter(4, 30.0, FS), 3)
    g.state = st_
    x = rng.standard_normal((50, 3))
    np.testing.assert_array_equal(f(x), g(x))
    with pytest.raises(ValueError, match="z"):
        g.state = {"z": np.zeros(3), "primed": np.ones(3), "n_nonfinite": np.zeros(3)}
    with pytest.raises(ValueError, match="missing"):
        g.state = {}
    with pytest.raises(TypeError):
        g.state = [1, 2]  # type: ignore[assignment]


def test_state_of_another_kind_of_object_is_refused(rng: np.random.Generator) -> None:
    """A state carries a fingerprint of class, dtype and parameters (review: a moving-average
    state into a MovingRMS, or another filter's coefficients, continued with wrong output)."""
    x = rng.standard_normal((100, 2)) + 3.0
    pairs = [(kf.MovingRMS(FS, 2, 0.05), kf.MovingAverage(FS, 2, 0.05)),
             (kf.SosFilter(kf.butter(2, 10, FS), 2), kf.SosFilter(kf.butter(2, 40, FS), 2)),
             (kf.SosFilter(kf.butter(2, 10, FS), 2, init="steady"), kf.SosFilter(kf.butter(2, 10, FS), 2)),
             (kf.SosFilter(kf.butter(2, 10, FS), 2, np.float32), kf.SosFilter(kf.butter(2, 10, FS), 2)),
             (kf.Envelope(FS, 2, 6.0), kf.Envelope(FS, 2, 10.0))]
    for dst, src in pairs:
        src(x)
        before = dst.state
        with pytest.raises(ValueError, match="another kind of object"):
            dst.state = src.state
        for k, v in dst.state.items():
            np.testing.assert_array_equal(v, before[k])  # unchanged
    # the same construction (also in another object, and after pickling) is accepted
    a, b = kf.Envelope(FS, 2, 6.0), kf.Envelope(FS, 2, 6.0)
    a(x)
    b.state = pickle.loads(pickle.dumps(a)).state
    np.testing.assert_array_equal(a(x), b(x))
    # a Chain's identity covers its stages' coefficients; 50 and 50.0 are the same parameter
    lp = kf.Chain([kf.SosFilter(kf.butter(2, 10, FS), 2)])
    hp = kf.Chain([kf.SosFilter(kf.butter(2, 10, FS, "highpass"), 2)])
    lp(x)
    with pytest.raises(ValueError, match="another kind of object"):
        hp.state = lp.state
    e50, e50f = kf.Envelope(FS, 2, 6), kf.Envelope(FS, 2, 6.0)
    e50(x)
    e50f.state = e50.state
    # a state without the entry (earlier versions) is checked on its fields alone
    legacy = {k: v for k, v in a.state.items() if k != "identity"}
    b.state = legacy
    np.testing.assert_array_equal(a(x), b(x))


def test_sosfilter_equals_scipy_and_steady_init(rng: np.random.Generator) -> None:
    sos = kf.butter(4, (20.0, 450.0), FS, "bandpass")
    x = rng.standard_normal((3000, 5)) + 5.0
    f = kf.SosFilter(sos, 5)
    np.testing.assert_allclose(f(x), signal.sosfilt(sos, x, axis=0), rtol=1e-10, atol=1e-12)
    g = kf.SosFilter(sos, 5, init="steady")
    zi = signal.sosfilt_zi(sos)[:, :, None] * x[0]
    ref, _ = signal.sosfilt(sos, x, axis=0, zi=zi)
    np.testing.assert_allclose(g(x), ref, rtol=1e-10, atol=1e-10)
    # steady start: no start-up transient for a constant signal
    lp = kf.SosFilter(kf.butter(2, 5.0, FS), 2, init="steady")
    np.testing.assert_allclose(lp(np.full((100, 2), 3.0)), 3.0, rtol=1e-12)


def test_envelope_equals_scipy_composition(rng: np.random.Generator) -> None:
    x = rng.standard_normal((4000, 3))
    env = kf.Envelope(FS, 3, cutoff=8.0, highpass=25.0, order=3, highpass_order=2)
    hp = signal.sosfilt(signal.butter(2, 25.0, "highpass", fs=FS, output="sos"), x, axis=0)
    ref = signal.sosfilt(signal.butter(3, 8.0, fs=FS, output="sos"), np.abs(hp), axis=0)
    np.testing.assert_allclose(env(x), ref, rtol=1e-9, atol=1e-12)


def test_moving_windows_equal_direct_computation(rng: np.random.Generator) -> None:
    x = rng.standard_normal((3000, 3))
    n = 37
    ma = kf.MovingAverage(1000.0, 3, 0.037)
    rms = kf.MovingRMS(1000.0, 3, 0.037)
    assert ma.window_samples == n
    y, r = ma(x), rms(x)
    for k in (0, 5, 36, 37, 1000, 2999):
        w = x[max(0, k - n + 1):k + 1]
        np.testing.assert_allclose(y[k], w.mean(axis=0), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(r[k], np.sqrt((w ** 2).mean(axis=0)), rtol=1e-12)


@pytest.mark.parametrize("cls", [kf.MovingAverage, kf.MovingRMS])
def test_moving_window_no_drift_over_1e8_samples(cls) -> None:
    # 1e8 samples with a large offset and rare huge spikes: the last windows equal exact sums.
    rng = np.random.default_rng(3)
    n, win, chunk = 100_000_000, 200, 1_000_000
    base = 1e4 + rng.standard_normal(chunk)
    base[rng.integers(0, chunk, 5)] += 1e9
    proc = cls(1000.0, 1, win / 1000.0)
    for k in range(n // chunk):
        x = base + 1e-3 * k
        y = proc(x)
    sq = x if cls is kf.MovingAverage else x * x
    ref = np.convolve(sq, np.ones(win) / win, mode="valid")[-1000:]
    if cls is kf.MovingRMS:
        ref = np.sqrt(ref)
    np.testing.assert_allclose(y[-1000:], ref, rtol=1e-12)


def test_tkeo_definition_and_delay(rng: np.random.Generator) -> None:
    x = rng.standard_normal((500, 2))
    y = kf.TKEO(2)(x)
    psi = x[1:-1] ** 2 - x[:-2] * x[2:]
    np.testing.assert_allclose(y[2:], psi, rtol=1e-12)  # y[k] = psi[k-1]
    np.testing.assert_array_equal(y[0], 0.0)
    np.testing.assert_allclose(y[1], x[0] ** 2)


def test_chain_equals_sequential(rng: np.random.Generator) -> None:
    x = rng.standard_normal((5000, 4))
    a = kf.SosFilter(kf.notch(50.0, FS, harmonics=3), 4)
    b = kf.Envelope(FS, 4, highpass=30.0)
    c = kf.MovingRMS(FS, 4, 0.05)
    chain = kf.Chain([a, b, c])
    np.testing.assert_array_equal(chain(x), c(b(a(x))))
    assert len(chain.stages) == 3
    with pytest.raises(ValueError, match="n_channels"):
        kf.Chain([kf.TKEO(2), kf.TKEO(3)])
    with pytest.raises(ValueError, match="dtype"):
        kf.Chain([kf.TKEO(2), kf.TKEO(2, dtype=np.float32)])
    with pytest.raises(ValueError, match="at least one"):
        kf.Chain([])
    with pytest.raises(TypeError):
        kf.Chain([lambda v: v])  # type: ignore[list-item]


# ---------------------------------------------------------------- non-finite samples


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nan_burst_does_not_poison_state(dtype, rng: np.random.Generator) -> None:
    C = 3
    x = rng.standard_normal((20_000, C)).astype(dtype)
    x[5000:5200, 0] = np.nan
    x[7000, 1] = np.inf
    settle = 2000  # samples: > 10 time constants of the slowest filter below (6 Hz at 2 kHz)
    for proc in make_processors(C, dtype):
        y = proc(x)
        assert np.isnan(y[5100, 0]), repr(proc)
        assert np.all(np.isfinite(y[5200 + settle:, 0])), repr(proc)
        assert np.all(np.isfinite(y[:, 2])), repr(proc)  # other channels untouched
        assert np.all(np.isfinite(y[7000 + settle:, 1])), repr(proc)
    f = kf.SosFilter(kf.butter(2, 50.0, FS), C)
    f(x)
    np.testing.assert_array_equal(f.n_nonfinite, [200, 1, 0])


def test_offline_nan_is_local(rng: np.random.Generator) -> None:
    x = rng.standard_normal(10_000)
    x[3000:3010] = np.nan
    y = kf.sosfiltfilt(kf.butter(4, 20.0, FS), x)
    assert np.isnan(y[3005])
    assert np.isfinite(y[6000:]).all() and np.isfinite(y[:1000]).all()


@pytest.mark.parametrize("where", ["first", "padlen", "last", "last-padlen", "second"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_sosfiltfilt_nan_at_an_end_or_pad_mirror_is_local(where: str, bad: float,
                                                          rng: np.random.Generator) -> None:
    # The odd extensions used to be built from x[0], x[padlen], x[-1], x[-1-padlen]: one NaN there
    # seeded the delays with NaN and wiped the whole channel.
    sos = kf.butter(4, 10.0, 100.0)
    pad = 3 * (2 * len(sos) + 1)
    n = 300
    i = {"first": 0, "padlen": pad, "last": n - 1, "last-padlen": n - 1 - pad, "second": 1}[where]
    x = rng.standard_normal((n, 2))
    x[i, 0] = bad
    y = kf.sosfiltfilt(sos, x)
    assert np.isnan(y[i, 0])
    assert np.isfinite(np.delete(y[:, 0], i)).all()
    np.testing.assert_allclose(y[:, 1], signal.sosfiltfilt(sos, x[:, 1]), rtol=1e-10, atol=1e-12)
    if i in (0, n - 1):  # a leading/trailing drop-out: SciPy's result on the finite span
        span = slice(1, None) if i == 0 else slice(None, -1)
        np.testing.assert_allclose(y[span, 0], signal.sosfiltfilt(sos, x[span, 0]), rtol=1e-10, atol=1e-12)
    else:  # "hold" differs from interpolation near the sample only
        xi = x[:, 0].copy()
        xi[i] = 0.5 * (x[i - 1, 0] + x[i + 1, 0])
        ref = signal.sosfiltfilt(sos, xi)
        far = np.abs(np.arange(n) - i) > 50
        np.testing.assert_allclose(y[far, 0], ref[far], rtol=0, atol=1e-3 * np.abs(ref).max())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(max_examples=60, deadline=None)
@given(n=st.integers(16, 80), frac=st.sampled_from([0.0, 0.05, 0.3, 0.9, 1.0]),
       padlen=st.sampled_from([0, 1, 15, None]), seed=st.integers(0, 2**32 - 1))
def test_sosfiltfilt_output_is_nan_exactly_where_input_is_not_finite(
        dtype, n: int, frac: float, padlen: int | None, seed: int) -> None:
    r = np.random.default_rng(seed)
    sos = kf.butter(4, 10.0, 100.0)
    x = r.standard_normal((n, 3)).astype(dtype)
    bad = r.random(x.shape) < frac
    x[bad] = r.choice([np.nan, np.inf, -np.inf], size=int(bad.sum()))
    y = kf.sosfiltfilt(sos, x, padlen=padlen)
    assert y.dtype == dtype
    np.testing.assert_array_equal(np.isfinite(y), np.isfinite(x))


def test_tkeo_infinite_input_gives_nan() -> None:
    y = kf.TKEO(1)(np.array([1.0, 2.0, np.inf, 3.0, 4.0, 5.0, -np.inf, 1.0, 1.0, 1.0]))
    assert np.isnan(y[[2, 3, 4, 6, 7, 8]]).all()  # every output involving the sample (was +-inf)
    np.testing.assert_array_equal(y[[0, 1, 5, 9]], [0.0, 1.0, 4.0 ** 2 - 3.0 * 5.0, 0.0])


@pytest.mark.parametrize("cls,big", [(kf.MovingRMS, 1e200), (kf.MovingAverage, 1e308)])
def test_moving_window_sample_too_large_for_the_sum_is_missing(cls, big: float) -> None:
    # x**2 (or the window's sum) would overflow: the sample is treated like a non-finite one,
    # instead of inf outputs and then NaN (inf - inf) until the next recompute
    x = np.ones(45)
    x[3], x[4] = big, -big
    y = cls(10.0, 1, 1.0)(x)
    assert np.isnan(y[[3, 4]]).all()
    np.testing.assert_array_equal(np.delete(y, [3, 4]), 1.0)
    # float32 input never gets near the limit
    x32 = np.full(30, np.finfo(np.float32).max, dtype=np.float32)
    y32 = cls(10.0, 1, 1.0, dtype=np.float32)(x32)
    np.testing.assert_allclose(y32, np.finfo(np.float32).max, rtol=1e-6)


def test_offline_big_endian_float32_stays_float32(rng: np.random.Generator) -> None:
    sos = kf.butter(4, 10.0, 100.0)
    x = rng.standard_normal((50, 2)).astype(">f4")
    for fn in (kf.sosfilt, kf.sosfiltfilt):
        y = fn(sos, x)
        assert y.dtype == np.float32, fn
        np.testing.assert_array_equal(y, fn(sos, x.astype(np.float32)))
    assert kf.sosfilt(sos, x.astype(">f8")).dtype == np.float64


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs,match", [
    (dict(order=2, cutoff=0.0, fs=FS), "cutoff"),
    (dict(order=2, cutoff=-5.0, fs=FS), "cutoff"),
    (dict(order=2, cutoff=1000.0, fs=FS), "cutoff"),
    (dict(order=2, cutoff=1500.0, fs=FS), "cutoff"),
    (dict(order=0, cutoff=10.0, fs=FS), "order"),
    (dict(order=11, cutoff=10.0, fs=FS), "order"),
    (dict(order=2, cutoff=10.0, fs=0.0), "fs"),
    (dict(order=2, cutoff=10.0, fs=-1.0), "fs"),
    (dict(order=2, cutoff=(50.0, 10.0), fs=FS, btype="bandpass"), "cutoff"),
    (dict(order=2, cutoff=10.0, fs=FS, btype="bandpass"), "cutoff"),
    (dict(order=2, cutoff=(10.0, 20.0), fs=FS, btype="lowpass"), "cutoff"),
    (dict(order=2, cutoff=10.0, fs=FS, btype="sideways"), "btype"),
])
def test_butter_bad_parameters(kwargs, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        kf.butter(**kwargs)


def test_butter_order_must_be_integer() -> None:
    with pytest.raises(TypeError, match="order"):
        kf.butter(2.5, 10.0, FS)  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs,match", [
    (dict(freq=0.0, fs=FS), "freq"), (dict(freq=1000.0, fs=FS), "freq"),
    (dict(freq=50.0, fs=FS, q=0.0), "q"), (dict(freq=50.0, fs=FS, harmonics=0), "harmonics"),
    (dict(freq=50.0, fs=-2.0), "fs"),
])
def test_notch_bad_parameters(kwargs, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        kf.notch(**kwargs)


@pytest.mark.parametrize("sos,match", [
    (np.zeros((0, 6)), "sos"),
    (np.zeros((2, 5)), "sos"),
    (np.zeros(6), "sos"),
    ([[1, 0, 0, 0, 0, 0]], "a0"),
    ([[1, 0, 0, 1, 0, 1.5]], "stable"),
    ([[1, 0, 0, 1, -2.0, 1.0]], "stable"),
    ([[1, np.nan, 0, 1, 0, 0]], "finite"),
])
def test_malformed_sos(sos, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        kf.SosFilter(sos, 1)
    with pytest.raises(ValueError, match=match):
        kf.sosfilt(sos, np.zeros(100))


def test_processor_bad_arrays() -> None:
    f = kf.SosFilter(kf.butter(2, 10.0, FS), 8)
    with pytest.raises(ValueError, match=r"x must have shape \(n_samples, 8\); got \(8, 1000\)"):
        f(np.zeros((8, 1000)))
    with pytest.raises(ValueError, match="shape"):
        f(np.zeros(100))
    with pytest.raises(ValueError, match="shape"):
        f(np.zeros((10, 8, 2)))
    with pytest.raises(TypeError, match="numeric"):
        f(np.array([["a"] * 8]))
    with pytest.raises(TypeError, match="numeric"):
        f(np.zeros((3, 8), dtype=complex))
    with pytest.raises(TypeError):
        f(object())
    with pytest.raises(ValueError, match="shape"):
        kf.sosfilt(kf.butter(2, 10.0, FS), np.zeros((3, 3, 3)))
    with pytest.raises(TypeError, match="numeric"):
        kf.sosfilt(kf.butter(2, 10.0, FS), np.array(["x", "y"]))


@pytest.mark.parametrize("make,match", [
    (lambda: kf.MovingAverage(FS, 2, 0.0001), "window_s"),
    (lambda: kf.MovingRMS(FS, 2, -1.0), "window_s"),
    (lambda: kf.MovingRMS(0.0, 2, 1.0), "fs"),
    (lambda: kf.MovingAverage(FS, 0, 1.0), "n_channels"),
    (lambda: kf.TKEO(0), "n_channels"),
    (lambda: kf.Envelope(FS, 2, cutoff=1000.0), "cutoff"),
    (lambda: kf.Envelope(FS, 2, highpass=0.0), "highpass"),
    (lambda: kf.Envelope(FS, 2, order=11), "order"),
    (lambda: kf.Envelope(FS, 2, highpass_order=99), "highpass_order"),  # checked without highpass too
    (lambda: kf.Envelope(FS, 2, highpass_order=0), "highpass_order"),
    (lambda: kf.Envelope(-1.0, 2), "fs"),
    (lambda: kf.SosFilter(kf.butter(2, 10.0, FS), 0), "n_channels"),
    (lambda: kf.SosFilter(kf.butter(2, 10.0, FS), 2, init="warm"), "init"),
    (lambda: kf.SosFilter(kf.butter(2, 10.0, FS), 2, dtype=np.int32), "dtype"),
])
def test_constructor_errors(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_object_dtype_conversion(rng: np.random.Generator) -> None:
    f32 = kf.SosFilter(kf.butter(2, 10.0, FS), 2, dtype=np.float32)
    y = f32(rng.standard_normal((10, 2)))  # float64 in, object's dtype out
    assert y.dtype == np.float32
    f64 = kf.SosFilter(kf.butter(2, 10.0, FS), 1)
    y1 = f64(np.arange(10))  # int, 1-D
    assert y1.dtype == np.float64 and y1.shape == (10,)
    assert f64(np.zeros((10, 1))).shape == (10, 1)


def test_repr_and_params() -> None:
    f = kf.MovingRMS(FS, 4, 0.1, dtype=np.float32)
    assert "MovingRMS" in repr(f) and "window_s=0.1" in repr(f)
    assert f.params["fs"] == FS and f.n_channels == 4 and f.dtype == np.float32 and f.fs == FS


@pytest.fixture(params=[0, 1, 2], ids=["baseline", "avx2", "avx512"])
def simd_level(request):
    from kinemyo import _core

    _core._set_max_simd_level(request.param)
    try:
        yield request.param
    finally:
        _core._set_max_simd_level(2)


@pytest.mark.parametrize("C", [1, 2, 3, 5, 8, 16, 19, 24])
def test_every_kernel_equals_scipy(C: int, simd_level: int, rng: np.random.Generator) -> None:
    """Each build of the SOS kernel (baseline x86-64 for older CPUs, AVX2, AVX-512) is exact; the
    levels the CPU lacks fall back to the best it has."""
    from kinemyo import _core

    assert _core.simd_level() <= simd_level
    x = rng.standard_normal((2000, C))
    # (design, tolerance relative to the output's scale): a 10th-order low-pass at 0.05 Nyquist
    # amplifies rounding differences (SciPy vs any other order of operations) to ~1e-9.
    for sos, tol in ((kf.butter(4, (20.0, 450.0), FS, "bandpass"), 1e-10),
                     (kf.butter(10, 100.0, FS), 1e-8),
                     (kf.butter(9, (20.0, 450.0), FS, "bandstop"), 1e-9)):
        ref = signal.sosfilt(sos, x, axis=0)
        np.testing.assert_allclose(kf.sosfilt(sos, x), ref, rtol=0, atol=tol * np.abs(ref).max())
        ref = signal.sosfiltfilt(sos, x, axis=0)
        np.testing.assert_allclose(kf.sosfiltfilt(sos, x), ref, rtol=0, atol=tol * np.abs(ref).max())
        f = kf.SosFilter(sos, C)
        whole = f(x)
        f.reset()
        np.testing.assert_array_equal(run_in_chunks(f, x, random_splits(len(x), rng, 70)), whole)


def test_out_parameter_and_in_place(rng: np.random.Generator) -> None:
    sos = kf.butter(4, (20.0, 450.0), FS, "bandpass")
    x = rng.standard_normal((1000, 4))
    ref = kf.SosFilter(sos, 4)(x)
    f = kf.SosFilter(sos, 4)
    out = np.empty_like(x)
    assert f.process(x, out=out) is out
    np.testing.assert_array_equal(out, ref)
    g = kf.SosFilter(sos, 4)
    y = x.copy()
    g(y, out=y)  # in place
    np.testing.assert_array_equal(y, ref)
    with pytest.raises(ValueError, match="shape"):
        f(x, out=np.empty((999, 4)))
    with pytest.raises(TypeError, match="out"):
        f(x, out=np.empty((1000, 4), dtype=np.float32))
    with pytest.raises(TypeError, match="out"):
        f(x, out=np.empty((4, 1000)).T)
    ro = np.empty_like(x)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        f(x, out=ro)

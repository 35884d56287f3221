"""Filter bank against SciPy: throughput on 16 x 1e6 samples, streaming call overhead.

Each group holds kinemyo and its SciPy/NumPy peer; every benchmark checks its own result.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from kinemyo import filters as kf

FS = 2000.0
N, C = 1_000_000, 16
SOS = kf.butter(4, (20.0, 450.0), FS, "bandpass")


@pytest.fixture(scope="module")
def x64() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((N, C))


@pytest.fixture(scope="module")
def ref_sosfilt(x64: np.ndarray) -> np.ndarray:
    return signal.sosfilt(SOS, x64[:20_000], axis=0)


def _check(y: np.ndarray, ref: np.ndarray, tol: float) -> None:
    np.testing.assert_allclose(y[: len(ref)], ref, rtol=0, atol=tol * np.abs(ref).max())


@pytest.mark.benchmark(group="sosfilt 16x1e6 bandpass 20-450 Hz")
@pytest.mark.parametrize("impl", ["kinemyo-f64", "kinemyo-f32", "scipy-f64"])
def test_sosfilt(benchmark, impl: str, x64: np.ndarray, ref_sosfilt: np.ndarray) -> None:
    if impl == "scipy-f64":
        y = benchmark(signal.sosfilt, SOS, x64, axis=0)
        tol = 1e-10
    elif impl == "kinemyo-f64":
        y = benchmark(kf.sosfilt, SOS, x64)
        tol = 1e-10
    else:
        x32 = x64.astype(np.float32)
        y = benchmark(kf.sosfilt, SOS, x32)
        assert y.dtype == np.float32
        tol = 1e-5
    _check(y, ref_sosfilt, tol)


@pytest.mark.benchmark(group="sosfiltfilt 16x1e6 bandpass 20-450 Hz")
@pytest.mark.parametrize("impl", ["kinemyo-f64", "kinemyo-f32", "scipy-f64"])
def test_sosfiltfilt(benchmark, impl: str, x64: np.ndarray) -> None:
    ref = signal.sosfiltfilt(SOS, x64[:20_000], axis=0)
    if impl == "scipy-f64":
        y = benchmark(signal.sosfiltfilt, SOS, x64, axis=0)
    elif impl == "kinemyo-f64":
        y = benchmark(kf.sosfiltfilt, SOS, x64)
    else:
        y = benchmark(kf.sosfiltfilt, SOS, x64.astype(np.float32))
    # the end effects of the short reference differ; compare its middle
    np.testing.assert_allclose(y[2000:18000], ref[2000:18000], rtol=0,
                               atol=(1e-4 if impl.endswith("f32") else 1e-8) * np.abs(ref).max())


@pytest.mark.benchmark(group="streaming 16 channels, chunk of 1 sample")
@pytest.mark.parametrize("impl", ["kinemyo", "scipy-zi"])
def test_stream_chunk1(benchmark, impl: str) -> None:
    chunk = np.random.default_rng(1).standard_normal((1, C))
    if impl == "kinemyo":
        f = kf.SosFilter(SOS, C)
        y = benchmark(f.process, chunk)
    else:
        state = {"zi": np.zeros((len(SOS), 2, C))}

        def step(c: np.ndarray) -> np.ndarray:
            out, state["zi"] = signal.sosfilt(SOS, c, axis=0, zi=state["zi"])
            return out

        y = benchmark(step, chunk)
    assert y.shape == (1, C) and np.isfinite(y).all()


@pytest.mark.benchmark(group="streaming 16 channels, chunk of 64 samples")
@pytest.mark.parametrize("impl", ["kinemyo", "scipy-zi"])
def test_stream_chunk64(benchmark, impl: str) -> None:
    chunk = np.random.default_rng(2).standard_normal((64, C))
    if impl == "kinemyo":
        f = kf.SosFilter(SOS, C)
        y = benchmark(f.process, chunk)
    else:
        state = {"zi": np.zeros((len(SOS), 2, C))}

        def step(c: np.ndarray) -> np.ndarray:
            out, state["zi"] = signal.sosfilt(SOS, c, axis=0, zi=state["zi"])
            return out

        y = benchmark(step, chunk)
    assert y.shape == (64, C) and np.isfinite(y).all()


@pytest.mark.benchmark(group="envelope 16x1e6 (hp 30 Hz, |x|, lp 6 Hz)")
@pytest.mark.parametrize("impl", ["kinemyo", "scipy"])
def test_envelope(benchmark, impl: str, x64: np.ndarray) -> None:
    hp = signal.butter(4, 30.0, "highpass", fs=FS, output="sos")
    lp = signal.butter(2, 6.0, fs=FS, output="sos")

    def scipy_env(x: np.ndarray) -> np.ndarray:
        return signal.sosfilt(lp, np.abs(signal.sosfilt(hp, x, axis=0)), axis=0)

    if impl == "kinemyo":
        y = benchmark(lambda: kf.Envelope(FS, C, highpass=30.0)(x64))
    else:
        y = benchmark(scipy_env, x64)
    ref = scipy_env(x64[:20_000])
    np.testing.assert_allclose(y[:20_000], ref, rtol=0, atol=1e-9 * np.abs(ref).max())


@pytest.mark.benchmark(group="moving RMS 16x1e6, 100 ms window")
@pytest.mark.parametrize("impl", ["kinemyo", "numpy-cumsum"])
def test_moving_rms(benchmark, impl: str, x64: np.ndarray) -> None:
    w = 200

    def numpy_rms(x: np.ndarray) -> np.ndarray:
        c = np.cumsum(np.vstack([np.zeros((1, x.shape[1])), x * x]), axis=0)
        out = np.empty_like(x)
        k = np.arange(1, len(x) + 1)
        lo = np.maximum(k - w, 0)
        out[:] = (c[k] - c[lo]) / np.minimum(k, w)[:, None]
        return np.sqrt(np.maximum(out, 0))

    if impl == "kinemyo":
        y = benchmark(lambda: kf.MovingRMS(FS, C, w / FS)(x64))
    else:
        y = benchmark(numpy_rms, x64)
    ref = numpy_rms(x64[:5000])
    np.testing.assert_allclose(y[:5000], ref, rtol=1e-8)

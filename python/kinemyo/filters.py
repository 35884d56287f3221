"""Filters for IMU and EMG streams: design, streaming processors and offline (zero-phase) filtering.

All filters run in the C++ core, vectorised across channels. Signals are ``(n_samples,
n_channels)`` arrays (time-major) or 1-D for one channel. Filter designs use SciPy's SOS layout
(rows ``[b0, b1, b2, a0, a1, a2]``) and equal SciPy's designs, so the two can be mixed freely; SciPy
is not needed at run time.

Examples
--------
>>> import numpy as np
>>> from kinemyo import filters
>>> sos = filters.butter(4, (20.0, 450.0), fs=2000.0, btype="bandpass")
>>> x = np.random.default_rng(0).standard_normal((2000, 8))
>>> y = filters.sosfiltfilt(sos, x)            # offline, zero phase
>>> f = filters.SosFilter(sos, n_channels=8)    # streaming
>>> y0 = f(x[:100]); y1 = f(x[100:])           # == filters.sosfilt(sos, x)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from . import _core
from ._processor import Processor, _check_dtype, _suffix

__all__ = [
    "TKEO",
    "Chain",
    "Envelope",
    "MovingAverage",
    "MovingRMS",
    "SosFilter",
    "butter",
    "notch",
    "sosfilt",
    "sosfilt_zi",
    "sosfiltfilt",
]

BandType = Literal["lowpass", "highpass", "bandpass", "bandstop"]


def butter(order: int, cutoff: float | Sequence[float], fs: float,
           btype: BandType = "lowpass") -> np.ndarray:
    """Design a digital Butterworth filter as second-order sections.

    The same filter as ``scipy.signal.butter(order, cutoff, btype, fs=fs, output="sos")`` (its
    frequency response agrees to 1e-9), designed in the C++ core.

    Parameters
    ----------
    order : int
        Filter order, 1 to 10. Band-pass and band-stop designs have ``2 * order`` poles and
        ``order`` sections; low/high-pass designs have ``ceil(order / 2)`` sections.
    cutoff : float or (float, float)
        Cut-off frequency in Hz (-3 dB), or ``(low, high)`` for band filters; each in ``(0, fs/2)``.
    fs : float
        Sampling rate in Hz, > 0.
    btype : {"lowpass", "highpass", "bandpass", "bandstop"}
        Band type.

    Returns
    -------
    sos : ndarray, shape (n_sections, 6), float64

    Raises
    ------
    ValueError
        Naming the parameter and its allowed range.
    """
    cut = [float(c) for c in np.atleast_1d(np.asarray(cutoff, dtype=float))]
    return _core.butter(_int_param("order", order), cut, float(fs), str(btype))


def notch(freq: float, fs: float, q: float = 30.0, harmonics: int = 1) -> np.ndarray:
    """Design a power-line notch filter (e.g. 50 or 60 Hz) as second-order sections.

    Each section equals ``scipy.signal.iirnotch(f, q, fs=fs)``. With ``harmonics = h`` the cascade
    holds notches at ``freq, 2*freq, ..., h*freq`` (same quality factor); multiples at or above
    Nyquist are left out.

    Parameters
    ----------
    freq : float
        Notch frequency in Hz, in ``(0, fs/2)``.
    fs : float
        Sampling rate in Hz, > 0.
    q : float
        Quality factor, ``freq / bandwidth(-3 dB)``, > 0. Default 30.
    harmonics : int
        Number of notches (the fundamental counts as the first), >= 1. Default 1.

    Returns
    -------
    sos : ndarray, shape (n_notches, 6), float64
    """
    return _core.notch(float(freq), float(fs), float(q), _int_param("harmonics", harmonics))


def sosfilt_zi(sos: npt.ArrayLike) -> np.ndarray:
    """Steady-state initial delays for a unit step, shape (n_sections, 2), as
    ``scipy.signal.sosfilt_zi``. Multiply by the first sample to start in steady state."""
    return _core.sosfilt_zi(sos)


def _int_param(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__}")
    return int(value)


def _offline_dtype(x: npt.ArrayLike) -> tuple[np.ndarray, str]:
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"x must be a real numeric array (bool, int or float); got dtype {a.dtype}")
    if a.ndim not in (1, 2):
        raise ValueError(
            f"x must be 1-D (n_samples,) or 2-D (n_samples, n_channels); got shape {a.shape}")
    # float32 in either byte order stays float32 (output in native order); other types -> float64
    is_f32 = a.dtype.kind == "f" and a.dtype.itemsize == 4
    return a, ("_f32" if is_f32 else "_f64")


def sosfilt(sos: npt.ArrayLike, x: npt.ArrayLike) -> np.ndarray:
    """Filter along axis 0 with a cascade of second-order sections, from zero initial state.

    The same as ``scipy.signal.sosfilt(sos, x, axis=0)`` (to 1e-10 relative on float64).

    Parameters
    ----------
    sos : array_like, shape (n_sections, 6)
        Second-order sections; each must be stable (poles inside the unit circle).
    x : array_like, shape (n_samples,) or (n_samples, n_channels)
        Signal. float32 stays float32 (computed in double internally); other numeric types give
        float64.

    Returns
    -------
    y : ndarray, same shape as ``x``.

    Notes
    -----
    Non-finite samples give NaN output and leave the filter state untouched (the "hold" policy of
    :class:`SosFilter`), unlike SciPy where one NaN poisons the rest of the output.
    """
    a, sfx = _offline_dtype(x)
    return getattr(_core, "sosfilt" + sfx)(sos, a)


def sosfiltfilt(sos: npt.ArrayLike, x: npt.ArrayLike, padlen: int | None = None) -> np.ndarray:
    """Zero-phase forward-backward filtering along axis 0.

    The same as ``scipy.signal.sosfiltfilt(sos, x, axis=0)`` with its default odd extension of
    ``padlen = 3 * (2 * n_sections + 1 - min(#(b2 == 0), #(a2 == 0)))`` samples and steady-state
    initial conditions (to 1e-10 relative on float64). The magnitude response is squared; there is
    no phase lag. Memory: the output plus ``O(padlen * n_channels)``.

    Non-finite samples ("hold" policy, unlike SciPy where one NaN poisons everything): their output
    is NaN and nothing else is. Each channel's odd extensions are built around its first and last
    finite samples, so a channel's leading/trailing NaNs are NaN in the output and the rest equals
    SciPy's result on its finite span; a pad sample mirroring a non-finite one is held too, and the
    delays are seeded from the first finite sample each pass meets. An all-NaN channel stays NaN.

    Parameters
    ----------
    sos : array_like, shape (n_sections, 6)
    x : array_like, shape (n_samples,) or (n_samples, n_channels)
        Must have more than ``padlen`` samples. float32 (either byte order) gives float32.
    padlen : int, optional
        Number of samples of odd extension at each end; default as SciPy.

    Returns
    -------
    y : ndarray, same shape as ``x``.
    """
    a, sfx = _offline_dtype(x)
    if padlen is not None:
        padlen = _int_param("padlen", padlen)
    return getattr(_core, "sosfiltfilt" + sfx)(sos, a, padlen)


class SosFilter(Processor):
    """Streaming IIR filter: a cascade of second-order sections.

    The recursion is SciPy's (transposed direct form II per section, ``scipy.signal.sosfilt``);
    delays are kept in double for both dtypes.

    Parameters
    ----------
    sos : array_like, shape (n_sections, 6)
        Second-order sections (e.g. from :func:`butter` or :func:`notch`). Rows with ``a0 != 1``
        are normalised; unstable sections raise ``ValueError``.
    n_channels : int
        Number of channels, >= 1.
    dtype : float32 or float64
        Sample dtype of input and output. Default float64.
    init : {"zero", "steady"}
        ``"zero"`` starts from zero delays (as ``sosfilt``); ``"steady"`` starts each channel in
        the steady state of its first finite sample (as ``sosfilt_zi(sos) * x[0]``), which removes
        the start-up transient of a signal with an offset.

    Notes
    -----
    Non-finite policy ("hold"): a NaN or Inf sample gives NaN output for that channel and sample
    and leaves that channel's delays unchanged, so a sensor drop-out does not poison the rest of
    the recording. :attr:`n_nonfinite` counts such samples per channel.

    Examples
    --------
    >>> import numpy as np
    >>> f = SosFilter(butter(2, 6.0, fs=100.0), n_channels=3)
    >>> f(np.ones((5, 3))).shape
    (5, 3)
    """

    def __init__(self, sos: npt.ArrayLike, n_channels: int, dtype: npt.DTypeLike = np.float64,
                 init: Literal["zero", "steady"] = "zero") -> None:
        dt = _check_dtype(dtype)
        sos_arr = np.array(sos, dtype=np.float64)
        nc = _int_param("n_channels", n_channels)
        if nc < 1:
            raise ValueError(f"n_channels must be >= 1; got {nc}")
        core = getattr(_core, "SosFilter" + _suffix(dt))(sos_arr, nc, str(init))
        self._init_core(core, {"sos": sos_arr, "n_channels": nc, "dtype": dt.name,
                               "init": str(init)}, dt)

    @property
    def sos(self) -> np.ndarray:
        """The cascade in use (normalised to a0 = 1)."""
        return self._core.sos

    @property
    def n_nonfinite(self) -> np.ndarray:
        """Number of NaN/Inf input samples seen per channel since construction or reset."""
        return np.asarray(self._core.n_nonfinite, dtype=np.int64)


class _Window(Processor):
    _rms = False

    def __init__(self, fs: float, n_channels: int, window_s: float,
                 dtype: npt.DTypeLike = np.float64) -> None:
        dt = _check_dtype(dtype)
        nc = _int_param("n_channels", n_channels)
        if nc < 1:
            raise ValueError(f"n_channels must be >= 1; got {nc}")
        core = getattr(_core, "MovingWindow" + _suffix(dt))(float(fs), nc, float(window_s), self._rms)
        self._init_core(core, {"fs": float(fs), "n_channels": nc, "window_s": float(window_s),
                               "dtype": dt.name}, dt)

    @property
    def fs(self) -> float:
        """Sampling rate in Hz."""
        return float(self._params["fs"])

    @property
    def window_samples(self) -> int:
        """Window length in samples, ``round(window_s * fs)``."""
        return int(self._core.window_samples)


class MovingAverage(_Window):
    """Trailing moving average over ``window_s`` seconds, O(1) per sample.

    ``y[k] = mean(x[k-N+1 .. k])`` with ``N = round(window_s * fs)`` samples: the output belongs to
    the window's last sample and lags the signal by ``(N - 1) / 2`` samples. Until N samples have
    been seen the window holds only the samples seen so far (growing window, no ramp from zero).

    No drift over arbitrarily long runs: the running sum is recomputed from the window every N
    samples, so rounding never accumulates (tested over 1e8 samples). Between recomputations the
    relative error is bounded by about ``N * eps * max(v) / sum(v)`` over the last two windows
    (``v`` = the samples, or their squares for :class:`MovingRMS`): ~1e-15 on ordinary signals, up to
    ~2e-8 right after a 1e9 spike has left an RMS window of ~5e10 (docs/reliability.md). Non-finite samples count as
    missing: they give NaN output and do not enter the window. So do samples too large for the
    running sum to stay finite: ``|x| > sqrt(DBL_MAX / (2 N))`` (about 1e150) for
    :class:`MovingRMS`, whose square would overflow, and ``|x| > DBL_MAX / (2 N)`` for the mean;
    float32 input never comes near.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz, > 0.
    n_channels : int
        Number of channels, >= 1.
    window_s : float
        Window length in seconds; must be at least one sample long.
    dtype : float32 or float64
        Default float64.
    """


class MovingRMS(_Window):
    """Trailing moving root-mean-square over ``window_s`` seconds, O(1) per sample.

    ``y[k] = sqrt(mean(x[k-N+1 .. k] ** 2))``; alignment, start-up, rounding bound and non-finite
    policy as :class:`MovingAverage`. The usual amplitude estimate of surface EMG (e.g. 50–250 ms
    windows; Merletti & Di Torino, "Standards for reporting EMG data", J. Electromyogr. Kinesiol.
    1999).
    """

    _rms = True


class TKEO(Processor):
    """Teager–Kaiser energy operator, streaming.

    ``psi[n] = x[n]**2 - x[n-1] * x[n+1]`` (Kaiser, ICASSP 1990), the conditioning step of
    TKEO-based EMG onset detection (Li, Zhou & Aruin, 2007; Solnik et al., Eur. J. Appl. Physiol.
    2010). ``psi[n]`` needs the next sample, so the output is **delayed by one sample**:
    ``y[k] = psi[k-1]``, with zeros before the start (``y[0] = 0``, ``y[1] = x[0]**2``).

    Parameters
    ----------
    n_channels : int
        Number of channels, >= 1.
    dtype : float32 or float64
        Default float64.

    Notes
    -----
    A non-finite sample (NaN or ±Inf) makes the outputs that involve it NaN (at most three); later
    outputs are finite again.
    """

    def __init__(self, n_channels: int, dtype: npt.DTypeLike = np.float64) -> None:
        dt = _check_dtype(dtype)
        nc = _int_param("n_channels", n_channels)
        if nc < 1:
            raise ValueError(f"n_channels must be >= 1; got {nc}")
        core = getattr(_core, "TKEO" + _suffix(dt))(nc)
        self._init_core(core, {"n_channels": nc, "dtype": dt.name}, dt)


class Envelope(Processor):
    """Linear envelope of EMG: optional high-pass, full-wave rectification, low-pass.

    Causal (streaming) and starting from zero state. The low-pass output lags the true amplitude by
    the filter's group delay (about 40 ms for the default 2nd-order 6 Hz filter); use
    :func:`sosfiltfilt` on the rectified signal offline when a zero-lag envelope is wanted.
    Reference: Winter, *Biomechanics and Motor Control of Human Movement*, 4th ed., 2009.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz, > 0.
    n_channels : int
        Number of channels, >= 1.
    cutoff : float
        Low-pass cut-off in Hz. Default 6 Hz.
    highpass : float, optional
        High-pass cut-off in Hz applied before rectification (20–30 Hz removes movement artefact
        and most ECG energy). Default None (no high-pass).
    order : int
        Low-pass Butterworth order, 1..10. Default 2.
    highpass_order : int
        High-pass Butterworth order, 1..10. Default 4.
    dtype : float32 or float64
        Default float64.
    """

    def __init__(self, fs: float, n_channels: int, cutoff: float = 6.0,
                 highpass: float | None = None, order: int = 2, highpass_order: int = 4,
                 dtype: npt.DTypeLike = np.float64) -> None:
        dt = _check_dtype(dtype)
        nc = _int_param("n_channels", n_channels)
        if nc < 1:
            raise ValueError(f"n_channels must be >= 1; got {nc}")
        hp = None if highpass is None else float(highpass)
        core = getattr(_core, "Envelope" + _suffix(dt))(
            float(fs), nc, float(cutoff), _int_param("order", order), hp,
            _int_param("highpass_order", highpass_order))
        self._init_core(core, {"fs": float(fs), "n_channels": nc, "cutoff": float(cutoff),
                               "highpass": hp, "order": int(order),
                               "highpass_order": int(highpass_order), "dtype": dt.name}, dt)


class Chain(Processor):
    """Processors run back to back inside the C++ core, in one call per chunk.

    Parameters
    ----------
    stages : sequence of processors
        Each a kinemyo processor with the same ``n_channels`` and ``dtype``. The chain works on
        deep copies: the objects passed in are not changed by processing the chain. The copies are
        available as :attr:`stages`.

    Examples
    --------
    >>> fs = 2000.0
    >>> c = Chain([SosFilter(notch(50.0, fs), 4), Envelope(fs, 4, highpass=30.0)])
    """

    def __init__(self, stages: Sequence[Processor]) -> None:
        import copy

        stages = list(stages)
        if not stages:
            raise ValueError("stages must hold at least one processor; got 0")
        for i, s in enumerate(stages):
            if not isinstance(s, Processor):
                raise TypeError(f"stages[{i}] must be a kinemyo processor; got {type(s).__name__}")
        dt = stages[0].dtype
        for i, s in enumerate(stages):
            if s.dtype != dt:
                raise ValueError(f"stages[{i}] must have dtype {dt} like stages[0]; got {s.dtype}")
        self._stages = [copy.deepcopy(s) for s in stages]
        core = getattr(_core, "Chain" + _suffix(dt))([s._core for s in self._stages])
        self._init_core(core, {"stages": self._stages}, dt)

    @property
    def stages(self) -> list[Processor]:
        """The chain's own stages (processing the chain advances their state)."""
        return list(self._stages)

    def __getstate__(self) -> dict[str, Any]:
        return {"format": 1, "class": "Chain", "stages": self._stages}

    def __setstate__(self, record: dict[str, Any]) -> None:
        if record.get("format") != 1:
            raise ValueError(f"unsupported pickle format {record.get('format')!r} for Chain")
        stages = record["stages"]
        self._stages = stages
        core = getattr(_core, "Chain" + _suffix(stages[0].dtype))([s._core for s in stages])
        self._init_core(core, {"stages": stages}, stages[0].dtype)

    def __repr__(self) -> str:
        return f"Chain({self._stages!r})"

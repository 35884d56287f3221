"""Muscle-activation onset/offset detection on surface EMG, offline and online.

All detectors run in the C++ core, over one streaming engine: :func:`detect` is an
:class:`OnlineDetector` run over the whole recording, so the two give the same events (see
:class:`OnlineDetector` for the one documented difference: the automatic baseline).

Methods
-------
``"default"`` / ``"cusum"``
    kinemyo's detector. The conditioned signal (Butterworth band-pass 20-450 Hz, 4th order per
    edge, causal) is normalised by the rest energy ``sigma0^2`` and a Page (1954, Biometrika 41:100)
    CUSUM ``S = max(0, S + x^2/sigma0^2 - k)`` (``k = drift = 1.5``) raises an alarm when
    ``S > h``, ``h = threshold * fs`` (``threshold = 0.05`` s of unit drift). When ``threshold``
    is not given, ``h`` also adapts to the colour of the rest noise: ``h = max(0.05 fs, 40,
    20 v)`` per channel, ``v`` the long-run variance of ``x^2/sigma0^2`` at rest, estimated from
    the autocorrelation ``rho_k`` of the conditioned rest signal as ``2 (1 + 2 sum rho_k^2)``
    (lags up to 20 ms; the rest window, or offline without one the quiet windows of the automatic
    baseline). The CUSUM's false-alarm rate is set by ``h / v`` (Siegmund 1985), so a narrow-band
    or 1/f rest noise (e.g. low-level tonic muscle activity at rest) would otherwise give many
    false activations (docs/onset.md "Coloured rest noise"); at 20 dB-clean white-like noise at
    2 kHz ``20 v`` stays under 100 and nothing changes. The floor of 40 matters below 800 Hz
    (docs/onset.md "Low sampling rates"; the mirror offset CUSUM's level is at least 20 there).
    ``OnlineDetector.alarm_levels`` gives the levels in use.
    Rest-level tracking (``track_rest`` = 10 s; 0 turns it off): once the baseline is known,
    ``sigma0^2`` follows the 2 ms energy bins that are certainly rest (those before the CUSUM's
    last zero, never inside an activation), in batches of 128 bins, ``1/sigma0^2 *= 1 - a sum
    (e_j - 1)`` with ``a`` = bin / ``track_rest`` (an exponential average to first order; bins
    clipped at 8). A slow drift of the noise level (electrode contact, sweat) then does not turn
    into false or endless activations: a 1.5x rise over 2 minutes gave 47 % detected and 8 false
    activations per minute with a fixed ``sigma0^2``, 100 % and 0.17 with the tracking. A sudden
    rise of the noise power above ``drift`` x ``sigma0^2`` cannot be told from an activation and
    is not followed (docs/onset.md "Rest-level tracking"). The change time is the last zero
    of ``S`` before the alarm; the onset is then refined *backwards* on 2 ms energy bins (data up to
    ``refine_delay`` = 50 ms after the alarm): a rest level (known, ``sigma0^2``), a linear
    amplitude ramp (power ``∝ r^2``) of R bins (grid 0 to ``max_rise`` = 0.1 s) and a plateau,
    each bin a scaled chi-square (0.85 effective dof: a tempered likelihood, the bins of the
    narrow-band sEMG carrier are correlated); the onset is the median of the marginal
    posterior of the ramp start (R summed out under an exponential prior of mean
    ``rise_prior`` = 50 ms on [0, ``max_rise``]; flat prior from ``refine_window`` = 80 ms before
    the change time to 60 ms after it or to the alarm, whichever is later), moved earlier by the
    group delay of the band-pass at the centre of its band (about 2 ms: the envelope of the
    causally filtered signal lags the raw one).
    Offsets use the mirror CUSUM ``D = max(0, D + k - x^2/sigma0^2)``. Activations shorter than
    ``min_active`` (50 ms) are dropped, gaps shorter than ``min_gap`` (100 ms) merged; every method
    keeps both in what it reports: an activation is announced only once its offset can no longer
    fall before onset + ``min_active`` (the offset statistics look back; the cusum waits at most
    ``refine_delay`` more for that, after which the announced activation keeps ``min_active``),
    and an onset is never placed within ``min_gap`` of the previous reported offset.
    Movement artefacts (``reject_artefacts=True``; off by default, see below): motion artefacts carry most of their
    power below ~20 Hz (De Luca et al. 2010, J. Biomech. 43:1573-1579; Clancy, Morin & Merletti
    2002, J. Electromyogr. Kinesiol. 12:1-16), so what passes the band-pass is one or two slow
    lobes at its low edge, or for a sharp pop a burst that is over within one lobe, while an
    activation is a sustained noise-like carrier. Before an event is announced, the 2 ms energy
    bins ``e_j`` (units of ``sigma0^2``) of its first ``artefact_window`` (0.1 s) are checked; it is
    dropped as an artefact when their envelope is smooth, ``sum (e_j - (e_{j-1} + e_{j+1})/2)^2 <
    0.12 sum e_j^2`` (independent chi-square bins of a noise-like carrier give about 0.6), or when
    it is not sustained (mean of the second half < 0.2 x the first half) with more than 55 % of
    its excess energy ``sum max(e_j - 1, 0)`` inside 20 ms. The CUSUM then restarts after it; an
    event that starts within ``artefact_window`` after a rejection (in the artefact's decaying
    tail) must also have a second-half mean energy of at least ``drift`` (1.5 ``sigma0^2``).
``"hodges_bui"``
    Hodges & Bui (1996), Electroencephalogr. Clin. Neurophysiol. 101:511-519: full-wave rectified,
    low-pass 50 Hz (2nd-order Butterworth), 25 ms moving mean above the rest mean + ``h`` SD
    (``h = 3``); onset = start of the first window above.
``"bonato"``
    Bonato, D'Alessio & Knaflitz (1998), IEEE Trans. Biomed. Eng. 45:287-299: double threshold on
    ``z = (x_k^2 + x_{k+1}^2)/sigma0^2`` over non-overlapping sample pairs; active while at least
    ``r0 = 1`` of the last ``m = 5`` pairs exceed ``zeta`` (default 9.17, a per-pair false-alarm
    probability of 0.0102, i.e. 0.05 over the 5-pair window); activations shorter than 30 ms
    are dropped.
    (The paper whitens the signal first; here the band-pass conditioning is used instead.)
``"tkeo"``
    Li, Zhou & Aruin (2007), Ann. Biomed. Eng. 35:1532-1538; Solnik et al. (2010), Eur. J. Appl.
    Physiol. 110:489-498: Teager-Kaiser energy of the conditioned signal, rectified, low-pass 50 Hz,
    above the rest mean + ``h`` SD (``h = 15``) for 25 ms. The threshold multiple is our reading of
    the TKEO literature (large multiples because TKEO output is peaky); tune it for your data.

Conventions: events are ``[onset, offset)`` int64 sample indices counted from the start of the
recording (online: from construction or ``reset()``); times in seconds; rest windows in seconds.

Rest window: the baseline (``sigma0^2``, and the rest mean and SD of the statistic for the
literature methods) is learnt over it as the stream passes, leaving out artefacts inside it
(``robust_rest``, default True except with ``ecg="highpass"`` and, online, ``ecg="template"``,
whose causal template has not started subtracting in the rest window): its 10 ms sub-windows whose mean
conditioned energy exceeds 10x the median sub-window's, with the contiguous sub-windows around
them still above 2x (the artefact's decay and the band-pass ringing). A pop of 20x the noise for
20 ms in a 1.5 s rest would otherwise triple ``sigma0^2``. On a clean rest nothing is left out
(Gaussian noise exceeds 10x the median with probability ~1e-8 per sub-window at 20-450 Hz). With
``ecg="highpass"`` the QRS complexes that remain in the signal recur through the rest window and
belong to the background the baseline describes, so they are kept.

ECG: ``ecg="highpass"`` moves the band-pass low edge to 30 Hz (Drake & Callaghan 2006, J.
Electromyogr. Kinesiol. 16:175-187); ``ecg="template"`` additionally subtracts an
averaged QRS template at detected R peaks before detection: offline (:func:`detect`,
:func:`remove_ecg`) the median of the neighbouring beats on both sides; online
(:class:`OnlineDetector`) a causal version from the past beats only, 160 ms more latency.

Power-line hum: ``mains=50`` / ``60`` adds notches at the line frequency and its first
harmonics to the conditioning (``detect`` and ``OnlineDetector``); ``detect(mains="auto")``
notches only when :func:`estimate_mains` finds a line. Off by default (see ``detect``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from ._checks import check_fs
from ._processor import IDENTITY, StatefulCore, identity_of, split_identity

__all__ = ["METHODS", "OnlineDetector", "detect", "estimate_mains", "latency_table",
           "movement_onsets", "remove_ecg"]

METHODS = ("default", "cusum", "hodges_bui", "bonato", "tkeo")

_FLOAT_KEYS = ("threshold", "drift", "window", "min_active", "min_gap", "refine_window",
               "refine_delay", "max_rise", "rise_prior", "band_low", "band_high", "ecg_highpass",
               "artefact_window", "mains_q", "track_rest")
_BOOL_KEYS = ("refine", "reject_artefacts", "robust_rest")


_check_fs = check_fs


def _params(fs: float, n_channels: int, method: str, preprocess: bool, ecg: str,
            rest: tuple[float, float] | None, n_samples: int | None,
            extra: dict[str, Any], mains: float | None = None, auto_mains: bool = False,
            online: bool = False) -> Any:
    _check_fs(fs)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    if ecg not in ("none", "highpass", "template"):
        raise ValueError(f"ecg must be 'none', 'highpass' or 'template'; got {ecg!r}")
    p = _core.OnsetParams()
    p.fs = float(fs)
    p.n_channels = int(n_channels)
    p.method = "cusum" if method == "default" else method
    p.preprocess = bool(preprocess)
    p.ecg = "none" if ecg == "none" else "highpass"
    # ECG left in the signal (only high-passed) recurs through the rest window: part of the
    # background, so the baseline keeps it; otherwise artefact windows are left out of the rest.
    # Online, the causal template subtracts nothing until it has 8 beats, so the QRS complexes of
    # the rest window are still there: left out, they made every later residue an activation
    # when the ECG is large (review, eighth session: 20 dB, ECG 5 x the EMG, 44 -> 1.8 FP/min)
    p.robust_rest = ecg == "none" or (ecg == "template" and not online)
    if mains is not None:
        try:
            m = float(mains)
        except (TypeError, ValueError, OverflowError):
            m = math.nan
        if not (math.isfinite(m) and 0 <= m < fs / 2):
            raise ValueError(f"mains must be None, 'auto' (detect only) or a frequency in [0, fs/2) Hz; "
                             f"got {mains!r}")
        p.mains = m
    for k, v in extra.items():
        if k in _FLOAT_KEYS:
            setattr(p, k, float(v))
        elif k in ("band_order", "mains_harmonics"):
            setattr(p, k, int(v))
        elif k in _BOOL_KEYS:
            setattr(p, k, bool(v))
        else:
            known = sorted((*_FLOAT_KEYS, "band_order", "mains_harmonics", *_BOOL_KEYS))
            raise TypeError(f"unknown parameter {k!r}; known: {known}")
    if auto_mains and preprocess:
        # the notch settings of mains="auto" are checked whatever the data: the same call must
        # not succeed on a clean file and fail on one with hum (notches count below the band's
        # high edge, as in the core; the worse of 50 and 60 Hz)
        h, q = p.mains_harmonics, p.mains_q
        hi = min(p.band_high, 0.45 * p.fs)
        used = max(sum(1 for j in range(1, h + 1) if j * F < hi) for F in (50.0, 60.0)) if h >= 1 else 0
        if not 1 <= h <= 10 or p.band_order + used > 10:
            raise ValueError(f"mains_harmonics must be in 1..10 with band_order + the notches below the band's "
                             f"high edge <= 10 (filter sections); got {h} ({used} in the band) with "
                             f"band_order {p.band_order}")
        if not (math.isfinite(q) and 0.5 <= q <= 1000):
            raise ValueError(f"mains_q must be in [0.5, 1000]; got {q!r}")
    if rest is not None:
        r = tuple(float(v) for v in rest)
        if len(r) != 2 or not all(math.isfinite(v) for v in r) or r[0] < 0 or r[1] <= r[0]:
            raise ValueError(f"rest must be (start_s, stop_s) with 0 <= start < stop; got {rest!r}")
        if not math.isfinite(r[1] * fs) or r[1] * fs > 2.0**62:
            raise ValueError(f"rest window {rest!r} s is too long for a stream of any length at {fs:g} Hz")
        b, e = round(r[0] * fs), round(r[1] * fs)
        if n_samples is not None and e > n_samples:
            raise ValueError(f"rest window {rest!r} s lies outside the signal "
                             f"({n_samples} samples = {n_samples / fs:g} s)")
        p.rest_begin, p.rest_end = b, e
    return p


def _as_float(x: npt.ArrayLike) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"x must be a real numeric array; got dtype {a.dtype}")
    dt = np.float32 if a.dtype == np.float32 else np.float64
    return np.ascontiguousarray(a, dtype=dt)


def _auto_mains(x: np.ndarray, p: Any, rest: tuple[float, float] | None) -> float | None:
    """The hum check of mains="auto" (detect and OnlineDetector alike) on raw ``x`` (n, C), for
    the validated parameters ``p``: in the rest window when given (all of it, <= 8 s), else in
    the first 4 s (recordings usually begin before the task; activity there only masks the line
    more); within the conditioned band. ~0.1-0.3 ms per channel (docs/onset.md "Power-line hum")."""
    lo = p.ecg_highpass if p.ecg == "highpass" else p.band_low
    hi = min(p.band_high, 0.45 * p.fs)
    if not 0 < lo < hi:
        return None
    if rest is not None:
        return estimate_mains(x, p.fs, rest, band=(lo, hi), segment_s=8.0)
    return estimate_mains(x[:int(min(4.0 * p.fs, x.shape[0]))], p.fs, band=(lo, hi), max_segments=1)


def _warn_quantised(r: np.ndarray, rest: Any) -> None:
    """Warn when a rest window's noise is below half the signal's quantisation step.

    The detectors' rest statistics assume noise well above the step; below about 0.4 step most
    rest samples are exact repeats, the conditioned noise is far from Gaussian (kurtosis 5 at 0.3
    step) and the default method's adaptive alarm level comes out too low (6 dB, 0.3 step: 36
    false activations per minute; docs/onset.md "Known gaps"). The step is the smallest non-zero
    difference of consecutive rest samples (float data of fine resolution: a tiny step, no
    warning); a flat rest (no non-zero difference) is not flagged here. Looks at the window's
    first 1024 samples, and returns at once when no two consecutive ones are equal (continuous
    data): a few microseconds.
    """
    r = r[:1024]
    if not np.any(r[1:] == r[:-1]):
        return
    d = np.abs(np.diff(r, axis=0))
    with np.errstate(invalid="ignore"):
        step = np.where(d > 0, d, np.inf).min(axis=0) if d.shape[0] else np.full(r.shape[1], np.inf)
        sd = np.std(r, axis=0)
        bad = np.isfinite(step) & (sd < 0.5 * step)
    if bad.any():
        import warnings
        chans = [int(c) for c in np.flatnonzero(bad)]
        c0 = chans[0]
        warnings.warn(
            f"onset.detect: the rest window {tuple(rest)} s is coarsely quantised in channel(s) {chans} "
            f"(noise SD {float(sd[c0]):.3g} against a step of {float(step[c0]):.3g}): below about half a step "
            "the rest statistics are not Gaussian and false activations are likely; pass an explicit "
            "threshold (threshold=0.2 for the default method holds down to about 0.3 step) or record at "
            "a finer resolution (docs/onset.md, Known gaps)", RuntimeWarning, stacklevel=3)


def detect(x: npt.ArrayLike, fs: float, method: str = "default",
           rest: tuple[float, float] | None = None, *, preprocess: bool = True,
           ecg: str = "none", mains: float | str | None = None,
           **params: Any) -> np.ndarray | list[np.ndarray]:
    """Detect muscle activations (onset and offset) in raw surface EMG.

    Parameters
    ----------
    x : array_like, shape (n_samples,) or (n_samples, n_channels)
        Raw EMG (any unit), time first. float32 stays float32 in the core; ints are converted. A
        2-D array with more channels than samples is refused (``ValueError``): it is almost surely
        channel-major, ``(n_channels, n_samples)``; pass ``x.T``.
    fs : float
        Sampling rate in Hz.
    method : {"default", "cusum", "hodges_bui", "bonato", "tkeo"}
        Detector (see the module docstring for each method, its paper and defaults).
    rest : (float, float) or None
        Rest window ``(start, stop)`` in seconds for the baseline (at least 0.1 s, inside the
        signal; artefacts inside it are left out, see ``robust_rest``). No activation starting
        before ``stop`` is reported. None: the baseline is estimated
        from the quietest 100 ms windows (at least 64 samples) of the recording (those within
        1.5x the 20th percentile).
    preprocess : bool
        Band-pass the signal first (default). False: ``x`` is already conditioned.
    ecg : {"none", "highpass", "template"}
        ECG handling: a 30 Hz high-pass edge, or (offline) QRS template subtraction then the
        30 Hz edge.
    mains : float, "auto" or None
        Power-line hum: notch filters at this frequency and its multiples (``mains_harmonics``,
        default 3: 50, 100, 150 Hz for 50; quality factor ``mains_q``, default 30), in the
        conditioning cascade after the band-pass. ``"auto"`` notches only when
        :func:`estimate_mains` finds 50 or 60 Hz hum in the band: with ``rest``,
        ``estimate_mains(x, fs, rest, band=..., segment_s=8)`` (the whole rest window up to 8 s),
        else ``estimate_mains(x[:4 s], fs, band=..., max_segments=1)``;
        ``OnlineDetector(mains="auto")`` gives the same events. None (default) or 0: no notch.
        Ignored with ``preprocess=False``. Recordings with
        visible hum should pass it: hum of 2x the noise RMS at 6 dB costs 13 % of the bursts and
        6 false activations per minute without a notch, nothing with one (docs/onset.md). Not
        the default because the spectral check costs 0.1-0.3 ms per channel, a third of the
        whole detection of a channel-minute.
    **params
        Method parameters: ``threshold``, ``drift``, ``window``, ``min_active``, ``min_gap`` (s),
        ``refine``, ``refine_window``, ``refine_delay``, ``max_rise``, ``rise_prior`` (s; mean
        of the exponential prior over the rise length, ``inf`` = flat), ``band_low``,
        ``band_high`` (Hz), ``band_order``, ``ecg_highpass`` (Hz), ``robust_rest`` (bool: leave
        artefacts out of the rest window's baseline; default True, False with
        ``ecg="highpass"``; see the module docstring), ``mains_harmonics``, ``mains_q`` (see
        ``mains``). The refinement's defaults suit rises of 0-60 ms; for slow rises of 100-300
        ms pass e.g. ``refine_window=0.2, max_rise=0.3, rise_prior=0.08`` (docs/onset.md "Slow
        rises"). Default method only:
        ``reject_artefacts`` (bool, default False; True drops movement-artefact transients, see
        the module docstring, at the cost of ``artefact_window`` more decision latency; default
        method only, the literature methods ignore it) and ``artefact_window``
        (s, default 0.1, in [0.04, 1]: the part of each event after its onset that is checked);
        ``track_rest`` (s, default 10; 0 = a fixed baseline; else >= 0.5: the time constant of
        the rest-level tracking, see the module docstring).

    Returns
    -------
    ndarray (n_events, 2) int64, or list of them (one per channel) for 2-D input
        ``[onset, offset)`` sample indices. An activation still on at the end ends at n_samples.

    Notes
    -----
    Non-finite samples are skipped (the detector holds its state through a drop-out). A constant
    or all-zero signal, or a channel without activity, gives no events. Enormous or tiny amplitudes
    are rescaled exactly by a power of two (the detectors are scale invariant). A rest window
    whose noise is below half the signal's quantisation step (e.g. a 10- or 12-bit ADC at low
    gain) gives a ``RuntimeWarning``: false activations are likely there; pass an explicit
    ``threshold`` (see ``docs/onset.md``, Known gaps).

    Examples
    --------
    >>> from kinemyo import onset
    >>> from kinemyo.sim import simulate_emg
    >>> rec = simulate_emg(20.0, fs=2000.0, snr_db=10.0, seed=3, n_channels=None)
    >>> ev = onset.detect(rec.signal, 2000.0, rest=(0.0, 1.5))
    >>> ev.shape[1]
    2
    """
    a = _as_float(x)
    if a.ndim not in (1, 2):
        raise ValueError("x must be 1-D (n_samples,) or 2-D (n_samples, n_channels); "
                         f"got shape {a.shape}")
    one = a.ndim == 1
    a2 = a.reshape(-1, 1) if one else a
    if a2.shape[1] == 0:
        return []
    if a2.shape[0] == 0:
        raise ValueError("x is empty (0 samples)")
    if a2.shape[1] > a2.shape[0]:
        raise ValueError(f"x has more channels ({a2.shape[1]}) than samples ({a2.shape[0]}): detect takes "
                         "(n_samples, n_channels), time first; pass x.T if your array is channel-major")
    auto = isinstance(mains, str)
    if auto and mains != "auto":
        raise ValueError(f"mains must be 'auto', None or a frequency in Hz; got {mains!r}")
    p = _params(fs, a2.shape[1], method, preprocess, ecg, rest, a2.shape[0], params,
                None if isinstance(mains, str) or not preprocess else mains, auto_mains=auto)
    if rest is not None and p.rest_end > p.rest_begin >= 0:
        # the baseline needs data: a rest window of NaN samples (a drop-out) gave one event over
        # the whole recording (review); 0.1 s of finite samples per channel (or the whole window
        # when it is that short), counted over the core's own window
        n_fin = np.count_nonzero(np.isfinite(a2[p.rest_begin:p.rest_end]), axis=0)
        need = min(p.rest_end - p.rest_begin, round(0.1 * fs))
        if n_fin.size and int(n_fin.min()) < need:
            raise ValueError(f"the rest window {tuple(rest)} s holds {int(n_fin.min())} finite samples in a "
                             f"channel; at least {need} (0.1 s) are needed for its baseline")
        _warn_quantised(a2[p.rest_begin:p.rest_end], rest)
    if auto and preprocess:
        found = _auto_mains(a2, p, rest)
        if found is not None:
            p.mains = found
    if ecg == "template":
        a2 = np.ascontiguousarray(remove_ecg(a2, fs), dtype=a2.dtype)
    fn = _core.onset_detect_f32 if a2.dtype == np.float32 else _core.onset_detect_f64
    out = fn(a2, p)
    return out[0] if one else out


class OnlineDetector(StatefulCore):
    """Streaming onset detector: feed chunks, get the events that became certain.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    n_channels : int
        Number of channels (columns of every chunk).
    method : str
        As in :func:`detect`.
    rest : (float, float) or None
        Rest window in seconds counted from construction/``reset()``; the baseline is learnt as the
        stream passes it and no decision is taken before its end. None: call
        :meth:`set_baseline` (e.g. with the values of a calibration run) before streaming, or
        the default rest window ``(0, 1)`` s is used.
    mains : float, "auto" or None
        Power-line frequency to notch out (Hz; see :func:`detect`), or None (default).
        ``"auto"`` needs ``rest``: the rest window's samples are held back until its end (no
        decision is taken before it anyway), :func:`estimate_mains` checks them exactly as
        ``detect(mains="auto")`` does, then the detector runs over them with or without the
        notch: the same events as ``detect(..., mains="auto")``. :attr:`mains` tells the
        outcome. Each new stream (after :meth:`finish` or :meth:`reset`) is checked again.
        Everything from the stream's start to the rest window's end is held (a rest window at
        10 min would hold 10 minutes of samples) and run in the call that reaches its end (a
        one-off longer call); a stream that ends before it runs without a check.
    dtype : numpy dtype
        float64 (default) or float32.
    **params
        As in :func:`detect`. ``ecg="template"`` online is a *causal* QRS template subtraction
        (:class:`kinemyo._core.EcgCanceller`: R peaks on the channels' QRS energy at 5-25 Hz, each
        channel scaled by its running mean absolute value and weighted by its energy at the
        previous beats, so ECG polarity and channel scales do not matter; tapered template =
        median of the last 15 accepted beats, 90 ms before to 70 ms after the detected peak, a beat
        subtracted only if it correlates >= 0.5 with the template and has a similar height, and
        only once 8 beats are known), followed by the 30 Hz high-pass edge. It delays every
        decision by 160 ms (:attr:`latency_samples` includes it) and differs from the offline
        ``detect(ecg="template")``, which also uses the following beats.

    Notes
    -----
    ``process(chunk)`` returns an ``(n, 3)`` int64 array of rows ``[channel, onset, offset]``:
    ``offset == -1`` announces an onset that became certain; a row with both closes an activation
    (its onset may have been announced before). Decision latency: an onset is certain once the
    activation has lasted ``min_active`` (cusum: also ``refine_delay`` after the alarm, and with
    ``reject_artefacts`` the ``artefact_window`` = 0.1 s after the onset, rounded up to whole
    2 ms bins, so that the artefact check has seen it; the alarm itself comes
    ``h / (x^2/sigma0^2 - drift)`` samples after the change, ``h`` as in the module docstring);
    an offset ``min_gap`` after the
    offset (an event that ends before its check is checked on what it has).
    :attr:`latency_samples` gives the bound after an activation is established.

    Same events as :func:`detect` with the same ``rest`` and ``mains`` (tested, bit for bit, for
    any chunking, also with ``mains="auto"``).
    With ``rest=None``, :func:`detect` estimates the baseline from the whole recording, which a
    stream cannot do; pass that baseline (with its long-run variance ``lrv``, which sets the
    alarm level) to :meth:`set_baseline` to get the same events. ``finish()`` keeps the baseline
    (``sigma0^2`` as tracked at the end of the stream) and the alarm levels for the next stream.
    """

    def __init__(self, fs: float, n_channels: int, method: str = "default",
                 rest: tuple[float, float] | None = None, *, preprocess: bool = True,
                 ecg: str = "none", mains: float | None = None,
                 dtype: npt.DTypeLike = np.float64, **params: Any) -> None:
        if isinstance(n_channels, bool) or not isinstance(n_channels, (int, np.integer)) or n_channels < 1:
            raise ValueError(f"n_channels must be an integer >= 1; got {n_channels!r}")
        self._dtype = np.dtype(dtype)
        if self._dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"dtype must be float32 or float64; got {self._dtype}")
        self._params = {"fs": float(fs), "n_channels": int(n_channels), "method": method,
                        "rest": None if rest is None else (float(rest[0]), float(rest[1])),
                        "preprocess": bool(preprocess), "ecg": ecg, "mains": mains,
                        "dtype": self._dtype.name, **params}
        self._rest_default = rest is None
        # mains="auto": the rest window's raw samples are held back (no decision is taken before
        # its end anyway), the hum check runs on them exactly as detect(mains="auto") does, and
        # then the detector (with or without notches) runs over them: the same events
        self._auto = isinstance(mains, str)
        if self._auto and (mains != "auto" or (rest is None and preprocess)):
            raise ValueError("OnlineDetector: mains must be None, a frequency in Hz, or 'auto' "
                             f"together with a rest window; got mains={mains!r}, rest={rest!r}")
        self._p = _params(fs, int(n_channels), method, preprocess, ecg,
                          (0.0, 1.0) if rest is None else rest, None, params,
                          None if self._auto or not preprocess else mains, auto_mains=self._auto,
                          online=True)
        self._auto = self._auto and bool(preprocess)
        self._cls = _core.OnsetDetector_f32 if self._dtype == np.float32 else _core.OnsetDetector_f64
        self._core = self._cls(self._p)
        self._pending: list[np.ndarray] | None = [] if self._auto else None
        self._n_pending = 0
        # ecg="template" online: causal QRS template subtraction (C++ EcgCanceller) ahead of the
        # detector, which then sees the cleaned samples `delay` samples later (same indices)
        self._ecg: Any = None
        if ecg == "template":
            ecls = _core.EcgCanceller_f32 if self._dtype == np.float32 else _core.EcgCanceller_f64
            self._ecg = ecls(float(fs), int(n_channels))
        self.fs = float(fs)
        self.n_channels = int(n_channels)

    def process(self, chunk: npt.ArrayLike) -> np.ndarray:
        """Process a chunk (n_samples, n_channels) (1-D when n_channels == 1); see class notes."""
        try:
            x = np.ascontiguousarray(chunk, dtype=self._dtype)
        except (TypeError, ValueError) as e:  # (no check on the hot path: only a failed conversion)
            raise TypeError(f"chunk must be a real numeric array: {e}") from None
        if self._pending is not None:
            return self._hold(x)
        return self._run(x)

    __call__ = process

    def _run(self, x: np.ndarray) -> np.ndarray:
        if self._ecg is not None:
            if x.ndim == 1 and self.n_channels == 1:
                x = x.reshape(-1, 1)
            x = self._ecg.process(x)
        return self._core.process(x)

    def _hold(self, x: np.ndarray) -> np.ndarray:
        """mains='auto' before the rest window's end: keep the chunk; at the end, decide."""
        if x.ndim == 1 and self.n_channels == 1:
            x = x.reshape(-1, 1)
        if x.ndim != 2 or x.shape[1] != self.n_channels:
            raise ValueError(f"chunk must have shape (n_samples, {self.n_channels}); got {x.shape}")
        assert self._pending is not None
        if len(x):
            self._pending.append(x.copy())
            self._n_pending += len(x)
        if self._n_pending < int(self._p.rest_end):
            return np.zeros((0, 3), np.int64)
        held = np.concatenate(self._pending)
        return self._decide(held, _auto_mains(held, self._p, self._params["rest"]))

    def _decide(self, held: np.ndarray, found: float | None) -> np.ndarray:
        """Build the detector with the notch found (or none) and run the held samples."""
        self._pending = None
        self._n_pending = 0
        self._p.mains = 0.0 if found is None else float(found)
        self._core = self._cls(self._p)
        return self._run(held) if len(held) else np.zeros((0, 3), np.int64)

    @property
    def mains(self) -> float | None:
        """The power-line frequency notched (Hz), None without a notch; with ``mains='auto'``
        None until the rest window has passed and the check has run."""
        return float(self._p.mains) if self._p.mains > 0 else None

    def finish(self) -> np.ndarray:
        """End of stream: close open activations at the current position, report them, reset."""
        pre = np.zeros((0, 3), np.int64)
        if self._pending is not None:
            # the stream ended inside the rest window: no hum check (as detect, which refuses a
            # rest window outside the signal), the held samples run without a notch
            held = (np.concatenate(self._pending) if self._pending
                    else np.zeros((0, self.n_channels), self._dtype))
            pre = self._decide(held, None)
        if self._ecg is None:
            rows = self._core.finish()
        else:
            rows = self._core.process(self._ecg.flush())  # the last `delay` samples
            rows = np.concatenate([rows, self._core.finish()])
        self._restart_auto()
        return np.concatenate([pre, rows]) if len(pre) else rows

    def _restart_auto(self) -> None:
        """mains='auto': the next stream gets its own hum check (a fresh detector, no notch)."""
        if self._auto:
            self._p.mains = 0.0
            self._core = self._cls(self._p)
            self._pending = []
            self._n_pending = 0

    def reset(self) -> None:
        """Return to the initial state (a baseline given by set_baseline is kept)."""
        self._core.reset()
        if self._ecg is not None:
            self._ecg.reset()
        self._restart_auto()

    @property
    def state(self) -> dict[str, np.ndarray]:
        """A copy of the full evolving state (with ``ecg="template"``, the canceller's fields are
        prefixed ``ecg.``); assigning it restores it."""
        st = dict(self._core.get_state())
        st[IDENTITY] = np.array([identity_of(self)])
        if self._ecg is not None:
            st.update({"ecg." + k: v for k, v in self._ecg.get_state().items()})
        if self._auto:
            # [decided (0/1), notch frequency (0: none)] and the samples held before the decision
            st["mains_auto"] = np.array([0.0 if self._pending is not None else 1.0, float(self._p.mains)])
            held = (np.concatenate(self._pending) if self._pending
                    else np.zeros((0, self.n_channels)))
            st["mains_auto.held"] = np.asarray(held, dtype=np.float64)
        return st

    @state.setter
    def state(self, value: dict[str, Any]) -> None:
        if not isinstance(value, dict):
            raise TypeError(f"state must be a dict; got {type(value).__name__}")
        value = split_identity(self, value)
        if self._auto or any(k.startswith("mains_auto") for k in value):
            self._set_auto_state(value)
            return
        self._set_state(value)

    def _set_auto_state(self, value: dict[str, Any]) -> None:
        if not self._auto:
            raise ValueError("state holds 'mains_auto' fields (of a detector with mains='auto'); "
                             "this one has none")
        if "mains_auto" not in value or "mains_auto.held" not in value:
            raise ValueError("state of a detector with mains='auto' needs 'mains_auto' and 'mains_auto.held'")
        unknown = sorted(k for k in value if k.startswith("mains_auto") and k not in ("mains_auto", "mains_auto.held"))
        if unknown:
            raise ValueError(f"unknown state fields {unknown}")
        flag = np.asarray(value["mains_auto"], dtype=np.float64).ravel()
        held = np.asarray(value["mains_auto.held"], dtype=np.float64)
        # (the check only ever finds 50 or 60 Hz, and nothing before the rest window's end)
        if flag.shape != (2,) or flag[0] not in (0.0, 1.0) or flag[1] not in (0.0, 50.0, 60.0) or (
                flag[0] == 0.0 and flag[1] != 0.0):
            shown = np.array2string(flag[:4], threshold=4) + ("..." if flag.size > 4 else "")
            raise ValueError(f"state field 'mains_auto' must be [decided 0/1, notch 0, 50 or 60 Hz (0 while "
                             f"undecided)]; got {shown} (size {flag.size})")
        decided = flag[0] == 1.0
        if held.ndim != 2 or held.shape[1] != self.n_channels or (decided and len(held)) or (
                not decided and len(held) >= int(self._p.rest_end)):
            raise ValueError(f"state field 'mains_auto.held' must be (n, {self.n_channels}) with n below the "
                             f"rest window's end (empty once decided); got shape {held.shape}")
        own = {k: v for k, v in value.items() if not k.startswith("mains_auto")}
        # all or nothing: a new detector takes the state (_set_state is itself all or nothing
        # for the ECG canceller), the old one stays in place if anything is refused
        old_mains, old_core = self._p.mains, self._core
        old_ecg = self._ecg.get_state() if self._ecg is not None else None
        try:
            self._p.mains = float(flag[1]) if decided else 0.0
            core = self._cls(self._p)
            self._core = core
            self._set_state(own)
            # the phase must agree with the positions: undecided = nothing run yet; decided = the
            # stream has reached the rest window's end
            ran = int(self._ecg.position) if self._ecg is not None else int(self._core.position)
            if not decided and (int(self._core.position) != 0 or
                                (self._ecg is not None and int(self._ecg.position) != 0)):
                raise ValueError("state says the hum check has not run, but the detector has "
                                 f"processed {int(self._core.position)} samples")
            if decided and ran < int(self._p.rest_end):
                raise ValueError(f"state says the hum check has run, but the stream is at {ran}, "
                                 f"before the rest window's end ({int(self._p.rest_end)})")
        except Exception:
            self._p.mains, self._core = old_mains, old_core
            if old_ecg is not None:
                self._ecg.set_state(old_ecg)
            raise
        if decided:
            self._pending, self._n_pending = None, 0
        else:
            self._pending = [held.astype(self._dtype)] if len(held) else []
            self._n_pending = len(held)

    def _set_state(self, value: dict[str, Any]) -> None:
        own = {k: v for k, v in value.items() if not k.startswith("ecg.")}
        ecg_st = {k[4:]: v for k, v in value.items() if k.startswith("ecg.")}
        if self._ecg is None:
            if ecg_st:
                raise ValueError("state holds 'ecg.' fields (of a detector with ecg='template'); "
                                 "this one has none")
            self._core.set_state(own)
            return
        # all or nothing: both parts, and their positions must agree
        old_ecg, old_core = self._ecg.get_state(), self._core.get_state()
        try:
            self._ecg.set_state(ecg_st)
            self._core.set_state(own)
            want = max(0, int(self._ecg.position) - int(self._ecg.delay))
            if int(self._core.position) != want:
                raise ValueError(f"state positions disagree: detector at {int(self._core.position)}, "
                                 f"ECG canceller at {int(self._ecg.position)} (delay {int(self._ecg.delay)})")
        except Exception:
            self._ecg.set_state(old_ecg)
            self._core.set_state(old_core)
            raise

    def set_baseline(self, mean: Sequence[float], sd: Sequence[float],
                     energy: Sequence[float], lrv: Sequence[float] | None = None) -> None:
        """Give the baseline per channel: mean and SD of the method statistic, and ``sigma0^2``.

        ``lrv`` (default method without an explicit ``threshold``): per channel the long-run
        variance of ``x^2/sigma0^2`` at rest (NaN: unknown); the alarm level is then
        ``max(0.05 fs, 40, 20 lrv)``. Without it the fixed default level is used.
        """
        if self._auto:
            raise ValueError("with mains='auto' the baseline is learnt from the rest window (the "
                             "hum check needs it); give mains as a frequency to set a baseline")
        self._core.set_baseline([float(v) for v in mean], [float(v) for v in sd],
                                [float(v) for v in energy],
                                [] if lrv is None else [float(v) for v in lrv])

    @property
    def alarm_levels(self) -> np.ndarray:
        """Onset alarm level per channel (default method: the CUSUM's ``h`` in units of
        ``x^2/sigma0^2``, adapted to the rest noise once the baseline is known; other methods: the
        threshold)."""
        return np.asarray(self._core.alarm_levels, dtype=float)

    @property
    def latency_samples(self) -> int:
        """Bound on the decision latency (samples) after an activation is established (with
        ``ecg="template"`` including the canceller's delay)."""
        extra = 0 if self._ecg is None else int(self._ecg.delay)
        return int(self._core.latency_samples) + extra

    @property
    def position(self) -> int:
        """Global index of the next sample."""
        if self._pending is not None:
            return self._n_pending
        if self._ecg is not None:
            return int(self._ecg.position)
        return int(self._core.position)

    # reset, params, state and pickling (versioned record; a copy continues the stream exactly
    # where the original was, bit for bit): StatefulCore.


def estimate_mains(x: npt.ArrayLike, fs: float, rest: tuple[float, float] | None = None, *,
                   candidates: Sequence[float] = (50.0, 60.0), harmonics: int = 3,
                   band: tuple[float, float] = (20.0, 450.0),
                   min_fraction: float = 0.01, min_snr: float = 12.0, segment_s: float = 4.0,
                   max_segments: int = 4) -> float | None:
    """The power-line frequency whose hum is strong enough to notch out, or None.

    Averaged periodogram (numpy only: Hann segments of ``segment_s`` = 4 s, 0.25 Hz resolution,
    or the whole signal if shorter; at most ``max_segments``, spread evenly over ``rest`` when
    given, else over the whole recording). For each candidate frequency F the hum power is the
    power in the main lobe (+-2 bins) around F, 2F, ..., ``harmonics`` x F (those inside
    ``band``) above the continuum there (mean of the bins 3-10 Hz to each side). A candidate is
    accepted when on some channel the hum power is at least ``min_fraction`` of the analysed
    signal's power in ``band`` **and** the fundamental's line is at least ``min_snr`` = 12 x the
    continuum power of its lobe. Measured on simulated records (`simulate_emg`, 3-20 dB,
    spectra 60/120, 40/80 and 25/50 Hz, half with ECG; docs/onset.md): no line reported in 1000
    records without hum, from a 1.5 s rest window or from the first 4 s; from the rest window a
    line of 0.5 / 1 / 2 x the noise RMS was found in 98 / 100 / 100 % of 100 records (0.25 x:
    5 %), from the first 4 s of the recording in 39 / 75 / 94 % (activity masks the line).

    Why it matters: the onset detectors normalise by the rest level, and a stationary line adds to
    it without adding anything that changes at an onset. On the simulator at 6 dB, hum of 0.25 /
    0.5 / 2 x the noise RMS (50 Hz + 3rd harmonic) raised the onset MAE from 9.2 ms to 10.4 /
    11.6 / 30 ms (2 x: 87 % detected, 6.4 false positives per minute); notched, 9.4 / 9.4 / 9.8 ms
    at 100 %. Without hum a notch costs about 0.2-0.3 ms of MAE (docs/onset.md), so
    ``detect(mains="auto")`` only notches when a line is found.

    Parameters
    ----------
    x : array_like, shape (n_samples,) or (n_samples, n_channels)
        Raw EMG.
    fs : float
        Sampling rate (Hz).
    rest : (float, float) or None
        Analyse only this window (s), e.g. the rest window given to :func:`detect`.
    candidates : sequence of float
        Line frequencies to test (Hz).
    harmonics : int
        Multiples of each candidate that count (fundamental included).
    band : (float, float)
        Band (Hz) of the conditioned signal the hum is compared with.
    min_fraction : float
        Least hum power, as a fraction of the in-band power, that is reported.

    Returns
    -------
    float or None
        The candidate with the largest hum fraction among those accepted; None if none is, or if
        less than 0.25 s of signal is available (non-finite samples count as zeros), or for 0
        channels. A candidate whose fundamental is outside ``band`` is not tested.
    """
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"x must be a real numeric array; got dtype {a.dtype}")
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"x must be 1-D or 2-D; got shape {a.shape}")
    _check_fs(fs)
    for iname, iv in (("harmonics", harmonics), ("max_segments", max_segments)):
        if isinstance(iv, bool) or not isinstance(iv, (int, np.integer)) or not 1 <= iv <= 1000:
            raise ValueError(f"{iname} must be an integer in 1..1000; got {iv!r}")
    fs = float(fs)
    for name, v in (("segment_s", segment_s), ("min_fraction", min_fraction), ("min_snr", min_snr)):
        if not (isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a finite number >= 0; got {v!r}")
    if not segment_s > 0:
        raise ValueError(f"segment_s must be > 0; got {segment_s!r}")
    try:
        blo, bhi = (float(v) for v in band)
        cands = tuple(float(F) for F in candidates)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"band must be (low_hz, high_hz) and candidates numbers; got {band!r}, "
                         f"{candidates!r}") from exc
    if not (math.isfinite(blo) and math.isfinite(bhi) and 0 <= blo < bhi):
        raise ValueError(f"band must be (low_hz, high_hz) with 0 <= low < high; got {band!r}")
    if not all(math.isfinite(F) and F > 0 for F in cands):
        raise ValueError(f"candidates must be frequencies > 0 Hz; got {candidates!r}")
    if rest is not None:
        try:
            r0, r1 = (float(v) for v in rest)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"rest must be (start_s, stop_s); got {rest!r}") from exc
        if not (math.isfinite(r0 * fs) and math.isfinite(r1 * fs) and 0 <= r0 < r1):
            raise ValueError(f"rest must be (start_s, stop_s) with 0 <= start < stop; got {rest!r}")
        b, e = round(r0 * fs), min(a.shape[0], round(r1 * fs))
        if b >= a.shape[0] and a.shape[0] > 0:
            raise ValueError(f"rest window {rest!r} s lies outside the signal "
                             f"({a.shape[0]} samples = {a.shape[0] / fs:g} s)")
        a = a[b:e]
    if a.shape[1] == 0 or not cands:
        return None
    n = a.shape[0]
    # a line's power grows with the segment's length, the continuum's per bin does not: long
    # segments (segment_s), spread evenly, overlapping by at most half
    nseg = int(min(segment_s * fs, float(n)))
    if nseg < 0.25 * fs or nseg < 16:
        return None
    nst = min(int(max_segments), max(1, (n - nseg) // max(1, nseg // 2) + 1))
    starts = sorted({round(i * (n - nseg) / max(1, nst - 1)) for i in range(nst)})
    S, C = len(starts), a.shape[1]
    # (segments x channels, nseg), contiguous along time (a strided FFT axis costs 4x)
    seg = np.empty((S * C, nseg))
    for i, s0 in enumerate(starts):
        seg[i * C:(i + 1) * C] = a[s0:s0 + nseg].T
    hi_v, lo_v = seg.max(axis=1), seg.min(axis=1)
    if not (np.isfinite(hi_v).all() and np.isfinite(lo_v).all()):
        seg[~np.isfinite(seg)] = 0.0
        hi_v, lo_v = seg.max(axis=1), seg.min(axis=1)
    # exact power-of-two rescaling per channel (1e200, 1e-200 or subnormal input: no overflow,
    # same answer): ldexp on the values themselves, never a factor 2^1000+ on its own
    peak = np.maximum(hi_v, -lo_v).reshape(S, C).max(axis=0)
    expo = np.frexp(np.where(peak > 0, peak, 1.0))[1]
    np.ldexp(seg, np.tile(-expo, S)[:, None], out=seg)
    seg -= seg.mean(axis=1, keepdims=True)
    seg *= _hann(nseg)
    X = np.fft.rfft(seg, axis=1)
    Pk = (X.real ** 2 + X.imag ** 2).reshape(S, C, -1)
    Pk = Pk[0] if S == 1 else Pk.sum(axis=0)  # (channels, bins)
    lay = _mains_layout(fs, nseg, cands, int(harmonics), blo, bhi)
    if lay is None:
        return None
    b0, b1, line_idx, side_idx, group, fund, valid = lay
    total = Pk[:, b0:b1].sum(axis=1)  # in-band power per channel
    line = Pk[:, line_idx].sum(axis=2)  # (channels, pairs)
    lobe = (5.0 / side_idx.shape[1]) * Pk[:, side_idx].sum(axis=2)
    excess = line - lobe
    hum = excess @ group.T  # (channels, candidates)
    z = excess[:, fund] / np.maximum(lobe[:, fund], 1e-300)  # the fundamental's line / its lobe
    ok = (total[:, None] > 0) & (hum >= min_fraction * total[:, None]) & (z >= min_snr)
    if not ok.any():
        return None
    frac = np.where(ok, hum / np.where(total > 0, total, 1.0)[:, None], -1.0).max(axis=0)
    return float(candidates[valid[int(np.argmax(frac))]])


@functools.lru_cache(maxsize=32)
def _mains_layout(fs: float, nseg: int, candidates: tuple[float, ...], harmonics: int,
                  band_lo: float, band_hi: float) -> tuple | None:
    """Bin indices for estimate_mains: in-band range, main lobes (+-2 bins) and continuum bins
    (3-10 Hz, at least 3-8 bins, to each side) of every (candidate, harmonic) inside the band,
    the candidate each belongs to (0/1 matrix) and each candidate's fundamental."""
    df = fs / nseg
    nb = nseg // 2 + 1
    hi = min(band_hi, 0.45 * fs)
    lo_off = max(3, math.ceil(3.0 / df))
    hi_off = max(lo_off + 2, int(10.0 / df))
    if 2 * hi_off + 1 > nb:  # too coarse a spectrum for a line and its continuum (tiny fs)
        return None
    side_off = np.r_[-np.arange(hi_off, lo_off - 1, -1), np.arange(lo_off, hi_off + 1)]
    centre: list[int] = []
    owner: list[int] = []
    fund: list[int] = []
    valid: list[int] = []
    for ci, F in enumerate(candidates):
        pairs = [(h, round(h * F / df)) for h in range(1, min(harmonics, int(hi // F)) + 1)
                 if band_lo <= h * F < hi and round(h * F / df) - hi_off >= 0
                 and round(h * F / df) + hi_off < nb]
        if not pairs or pairs[0][0] != 1:
            continue  # no fundamental inside the band: not a candidate here
        fund.append(len(centre))
        valid.append(ci)
        for _, k in pairs:
            centre.append(k)
            owner.append(len(valid) - 1)
    if not valid:
        return None
    kc = np.asarray(centre)[:, None]
    group = (np.asarray(owner)[None, :] == np.arange(len(valid))[:, None]).astype(np.float64)
    return (math.ceil(band_lo / df), int(hi / df) + 1, kc + np.arange(-2, 3), kc + side_off,
            group, np.asarray(fund), tuple(valid))


@functools.lru_cache(maxsize=8)
def _hann(n: int) -> np.ndarray:
    return np.hanning(n + 2)[1:-1]


def _r_peaks(q: np.ndarray, dist: int) -> list[int]:
    """Local maxima of ``q`` above 25 % of its 99th percentile, at least ``dist`` samples apart
    (the larger one kept)."""
    thr = 0.25 * np.percentile(q, 99)
    cand = np.flatnonzero((q[1:-1] > q[:-2]) & (q[1:-1] >= q[2:]) & (q[1:-1] > thr)) + 1
    peaks: list[int] = []
    for c in cand:
        if peaks and c - peaks[-1] < dist:
            if q[c] > q[peaks[-1]]:
                peaks[-1] = int(c)
            continue
        peaks.append(int(c))
    return peaks


def remove_ecg(x: npt.ArrayLike, fs: float, *, qrs_band: tuple[float, float] = (5.0, 25.0),
               window_s: tuple[float, float] = (0.06, 0.1), n_average: int = 15) -> np.ndarray:
    """Subtract a running-average QRS template at detected R peaks (offline, per channel).

    R peaks are found on all channels together (ECG is common to trunk channels): each channel
    band-passed to ``qrs_band`` Hz and divided by its own robust scale (median absolute value),
    the squares summed over channels, and the peaks are the local maxima of that sum above 25 % of
    its 99th percentile, at least 0.3 s apart. Summing squares of scaled channels (a spatial
    energy, as in multi-lead QRS detection) keeps the beats when the ECG has opposite polarity on
    two channels (left and right erector spinae, back and abdomen) and when an ECG-free channel is
    much larger than the others; the plain channel sum of earlier builds cancelled or buried them
    there (review, eighth session: 0.1 -> 29 false activations per minute at 20 dB). With several
    channels the peaks are then found again with each channel's square weighted by its median
    energy at the first beats (ECG-free channels count for almost nothing). One channel gives the
    same peaks as before. Each channel's template is the sample-wise median of the ``n_average``
    neighbouring beats' windows
    ``[-window_s[0], +window_s[1]]`` s around the peak; it is subtracted beat by beat. The template
    median suppresses the (uncorrelated) EMG, also when some beats fall inside bursts.
    """
    a = np.array(x, dtype=np.float64, copy=True)
    one = a.ndim == 1
    a2 = a.reshape(-1, 1) if one else a
    n = a2.shape[0]
    from .filters import butter, sosfiltfilt
    if n < int(2 * fs):
        return a
    bp = sosfiltfilt(butter(2, qrs_band, fs, "bandpass"), np.nan_to_num(a2))
    # each channel's scale over the samples where it has data (finite, non-zero input): a channel
    # that is mostly a NaN gap or zeros would otherwise take the median of the filter's dying
    # ringing (~1e-200), its scaled squares overflow, and no beat would be found on any channel
    # (review, eighth session)
    has = np.isfinite(a2) & (a2 != 0)
    absbp = np.abs(bp)
    scale = np.array([np.median(absbp[has[:, c], c]) if has[:, c].any() else 0.0
                      for c in range(a2.shape[1])])
    live = np.isfinite(scale) & (scale > 1e-12 * np.max(absbp, axis=0, initial=0.0))
    if not np.any(live):
        return a
    with np.errstate(over="ignore"):
        z2 = (bp[:, live] / scale[live]) ** 2
    z2[~np.isfinite(z2)] = 0.0
    peaks = _r_peaks(z2.sum(axis=1), int(0.3 * fs))
    if z2.shape[1] > 1 and len(peaks) >= 3:
        # second pass, channels weighted by their own QRS energy at the first pass's beats (the
        # energy detector's weights, SNR^2): an ECG-free channel (another muscle) then adds
        # almost none of its bursts' low-frequency content
        snr = np.median(z2[peaks], axis=0)
        peaks = _r_peaks(z2 @ (snr / snr.max()), int(0.3 * fs))
    w0, w1 = int(window_s[0] * fs), int(window_s[1] * fs)
    peaks = [p for p in peaks if p - w0 >= 0 and p + w1 < n]
    if len(peaks) < 3:
        return a
    hp = sosfiltfilt(butter(2, 1.0, fs, "highpass"), np.nan_to_num(a2))
    segs = np.stack([hp[p - w0:p + w1] for p in peaks])  # (beats, L, C)
    taper = np.hanning(w0 + w1 + 2)[1:-1] ** 0.25
    half = n_average // 2
    for i, p in enumerate(peaks):
        lo = max(0, min(i - half, len(peaks) - n_average))
        hi = min(len(peaks), lo + n_average)
        # median over neighbouring beats: robust to beats that fall inside EMG bursts
        tmpl = np.median(segs[lo:hi], axis=0)
        a2[p - w0:p + w1] -= tmpl * taper[:, None]
    return a2[:, 0] if one else a2


def movement_onsets(gyro: npt.ArrayLike, fs: float, *, rest: tuple[float, float] = (0.0, 1.0),
                    k: float = 5.0, min_duration: float = 0.1, smooth_s: float = 0.02,
                    min_gap: float = 0.3, k_low: float = 2.0) -> np.ndarray:
    """Movement onsets from IMU angular velocity: norm above rest mean + ``k`` SD (C++ core).

    Parameters
    ----------
    gyro : array_like (n_samples, n_axes) in rad/s (any unit), or (n_samples,) for one axis
        Non-finite rows count as 0 (NaN) or as a very large speed (inf).
    fs : float
        Sampling rate in Hz.
    rest : (float, float)
        Rest window in seconds for the noise statistics of the (smoothed) angular-speed norm;
        movements starting inside it are not reported.
    k : float
        Threshold multiple of the rest SD (default 5).
    min_duration : float
        Minimum time above threshold (s) for a movement.
    smooth_s : float
        Causal moving-mean smoothing of the norm (s; 0 = none).
    min_gap : float
        A new movement must start at least this long (s) after the previous one ended.
    k_low : float
        Level of the backward refinement, rest mean + ``k_low`` SD (default 2; 0 <= k_low <= k).

    Returns
    -------
    ndarray (n_movements,) int64
        Onset sample of each movement: the last sample, before the crossing, where the speed was
        still at or below rest mean + ``k_low`` SD (backward refinement of the crossing).

    Raises
    ------
    ValueError
        fs <= 0, a rest window outside the signal or shorter than 10 samples, negative times,
        k <= 0 or k_low outside [0, k], a gyro array of more than 2 dimensions.
    """
    _check_fs(fs)
    if len(rest) != 2:
        raise ValueError(f"rest must be a (start, end) pair in seconds; got {rest!r}")
    return _core.movement_onsets(gyro, float(fs), float(rest[0]), float(rest[1]), float(k),
                                 float(k_low), float(min_duration), float(smooth_s),
                                 float(min_gap))


def latency_table(emg_onsets: Sequence[npt.ArrayLike] | npt.ArrayLike,
                  movement_onsets_: npt.ArrayLike, fs: float, *,
                  window: tuple[float, float] = (-0.5, 0.5),
                  channel_names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """EMG onset latency relative to each movement onset, per channel and movement.

    Parameters
    ----------
    emg_onsets : sequence of arrays (one per channel) of onset samples, or the output of
        :func:`detect` (arrays (n, 2): the first column is used); a single array (1-D onset
        samples, or one (n, 2) event array) is one channel
    movement_onsets_ : array of movement onset samples
    fs : float
        Sampling rate (Hz) of both (same clock).
    window : (float, float)
        Search window around each movement onset in seconds; the EMG onset in it closest to the
        movement onset is taken. (:func:`kinemyo.metrics.onset_latencies` takes the *earliest*
        onset in its window instead, the usual rule for feed-forward studies, and returns a
        table object; the two agree when a window holds one onset.)

    Returns
    -------
    list of dict
        One row per (movement, channel): ``movement`` (index), ``channel`` (name or index),
        ``movement_onset_s``, ``emg_onset_s`` (NaN if none in the window) and ``latency_ms``
        (EMG onset minus movement onset; negative = feed-forward, before the movement).
    """
    _check_fs(fs)
    if isinstance(emg_onsets, np.ndarray) and emg_onsets.ndim in (1, 2):
        chans = [emg_onsets]  # one channel: onset samples, or detect's (n, 2) events
    else:
        chans = list(emg_onsets)  # type: ignore[arg-type]
        if chans and all(np.ndim(v) == 0 for v in chans):
            chans = [np.asarray(chans)]  # a plain list of onset samples: one channel
    if channel_names is not None and len(channel_names) != len(chans):
        raise ValueError(f"channel_names has {len(channel_names)} names for {len(chans)} channels")
    if not (len(window) == 2 and math.isfinite(window[0]) and math.isfinite(window[1]) and window[0] < window[1]):
        raise ValueError(f"window must be (lo, hi) in s with lo < hi, finite; got {window!r}")
    mv = np.asarray(movement_onsets_, dtype=np.int64).ravel()
    rows: list[dict[str, Any]] = []
    for i, m in enumerate(mv):
        for c, on in enumerate(chans):
            o = np.asarray(on)
            o = o[:, 0] if o.ndim == 2 else o.ravel()
            d = (o.astype(np.float64) - m) / fs
            ok = (d >= window[0]) & (d <= window[1])
            name = channel_names[c] if channel_names is not None else c
            if ok.any():
                j = np.flatnonzero(ok)[np.argmin(np.abs(d[ok]))]
                rows.append({"movement": i, "channel": name, "movement_onset_s": m / fs,
                             "emg_onset_s": o[j] / fs, "latency_ms": 1000.0 * d[j]})
            else:
                rows.append({"movement": i, "channel": name, "movement_onset_s": m / fs,
                             "emg_onset_s": float("nan"), "latency_ms": float("nan")})
    return rows

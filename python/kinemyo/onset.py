"""Muscle-activation onset and offset detection (offline).

``detect(x, fs, method="default", rest=None, **params)`` takes raw EMG and returns, per channel, an
``(n_events, 2)`` int64 array of ``[onset, offset)`` sample indices (a list of arrays for 2-D
input). It conditions the signal itself unless ``preprocess=False``.

Methods
-------
``"default"`` (kinemyo)
    High-pass 30 Hz (removes movement artefact and most ECG energy; Drake & Callaghan, J.
    Electromyogr. Kinesiol. 16, 2006), Teager–Kaiser energy (sharpens onsets at low SNR; Li, Zhou &
    Aruin, Med. Eng. Phys. 2007; Solnik et al., Eur. J. Appl. Physiol. 110, 2010), a 20 Hz zero-phase
    envelope, robust baseline statistics (median and MAD) of the rest window, hysteresis thresholds
    (on ``k_on``, off ``k_off`` robust SDs above the rest median), minimum active duration and gap,
    and a **backward refinement** of each onset to the last sample at or below ``k_refine`` robust
    SDs — the start of the rise rather than the threshold crossing.
``"hodges"``
    Hodges & Bui, Electroencephalogr. Clin. Neurophysiol. 101, 1996: full-wave rectified EMG
    low-passed at 50 Hz; onset when the mean over ``window_s`` (25 ms) exceeds the rest mean by
    ``h`` (3) rest SDs.
``"tkeo"``
    Solnik et al. 2010: band-pass 30–300 Hz, TKEO, rectification, 50 Hz low-pass, threshold at the
    rest mean + ``j`` (15) rest SDs, minimum duration 25 ms.

The rest window ``rest=(t0_s, t1_s)`` gives the baseline; without it the quietest 1-s window of the
signal (in steps of 0.25 s) is used. A channel without activity gives no events; a constant or
all-zero channel gives no events.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from . import filters

__all__ = ["detect", "movement_onsets", "onset_latencies"]

Method = Literal["default", "hodges", "tkeo"]


def _runs(mask: np.ndarray) -> np.ndarray:
    """[start, stop) of the True runs of a boolean vector, (n, 2) int64."""
    m = np.concatenate([[False], mask, [False]])
    d = np.flatnonzero(m[1:] != m[:-1])
    return d.reshape(-1, 2).astype(np.int64)


def _merge(ev: np.ndarray, min_gap: int, min_dur: int) -> np.ndarray:
    if len(ev) == 0:
        return ev
    if min_gap > 0 and len(ev) > 1:
        gaps = ev[1:, 0] - ev[:-1, 1]
        keep_break = np.concatenate([[True], gaps >= min_gap])
        starts = ev[keep_break, 0]
        ends = np.concatenate([ev[np.flatnonzero(keep_break)[1:] - 1, 1], [ev[-1, 1]]])
        ev = np.column_stack([starts, ends])
    return ev[(ev[:, 1] - ev[:, 0]) >= min_dur]


def _rest_slice(env: np.ndarray, fs: float, rest: Any) -> slice:
    n = len(env)
    if rest is not None:
        try:
            t0, t1 = (float(v) for v in rest)
        except (TypeError, ValueError):
            raise ValueError(f"rest must be (t0_s, t1_s); got {rest!r}") from None
        if not (np.isfinite(t0) and np.isfinite(t1) and 0 <= t0 < t1 <= n / fs + 1e-9):
            raise ValueError(f"rest = ({t0:g}, {t1:g}) s must lie within the signal (0, {n / fs:g}) s with t0 < t1")
        i0, i1 = round(t0 * fs), min(n, round(t1 * fs))
        if i1 - i0 < max(10, round(0.1 * fs)):
            raise ValueError(f"rest must be at least 0.1 s long; got {(i1 - i0) / fs:g} s")
        return slice(i0, i1)
    w = min(n, max(1, round(1.0 * fs)))
    step = max(1, round(0.25 * fs))
    c = np.concatenate([[0.0], np.cumsum(env)])
    starts = np.arange(0, n - w + 1, step)
    means = (c[starts + w] - c[starts]) / w
    i = int(starts[np.nanargmin(means)]) if len(starts) else 0
    return slice(i, i + w)


def _stats(v: np.ndarray, robust: bool) -> tuple[float, float]:
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return np.nan, np.nan
    if robust:
        med = float(np.median(v))
        return med, float(1.4826 * np.median(np.abs(v - med)))
    return float(v.mean()), float(v.std())


def _changepoint(e2: np.ndarray, lo: int, hi: int, min_seg: int) -> int | None:
    """Maximum-likelihood change point of the variance of a zero-mean Gaussian segment e2 = x^2
    over [lo, hi) (Basseville & Nikiforov, *Detection of Abrupt Changes*, 1993, ch. 2): the k that
    maximises -k log s1 - (n-k) log s2, s1 and s2 the mean powers before and after k."""
    seg = e2[lo:hi]
    n = len(seg)
    if n < 2 * min_seg + 1:
        return None
    c = np.concatenate([[0.0], np.cumsum(seg)])
    k = np.arange(min_seg, n - min_seg)
    s1 = np.maximum(c[k] / k, 1e-300)
    s2 = np.maximum((c[n] - c[k]) / (n - k), 1e-300)
    ll = -k * np.log(s1) - (n - k) * np.log(s2)
    return lo + int(k[np.argmax(ll)])


def _refine_changepoints(ev: np.ndarray, e2: np.ndarray, fs: float, p: dict[str, Any]) -> np.ndarray:
    """Move each onset (offset) to the maximum-likelihood change of signal power in a window around
    the threshold crossing of the smooth envelope, staying clear of the neighbouring events."""
    out = ev.copy()
    n = len(e2)
    back = round(p.get("refine_back_s", 0.4) * fs)
    fwd = round(p.get("refine_fwd_s", 0.25) * fs)
    min_seg = max(2, round(0.02 * fs))
    for i, (a, b) in enumerate(ev):
        prev_end = int(out[i - 1, 1]) if i > 0 else 0
        next_start = int(ev[i + 1, 0]) if i + 1 < len(ev) else n
        mid = (int(a) + int(b)) // 2
        k = _changepoint(e2, max(prev_end, int(a) - back), min(mid, int(a) + fwd), min_seg)
        if k is not None:
            # a ramped rise puts the power change mid-ramp: a second, local change point between
            # the baseline and the first one moves towards the first sample of the rise
            k2 = _changepoint(e2, max(prev_end, k - round(p.get("ramp_s", 0.08) * fs)), k + min_seg, min_seg)
            out[i, 0] = k2 if k2 is not None and k2 < k else k
        k = _changepoint(e2, max(mid, int(b) - fwd), min(next_start, int(b) + back), min_seg)
        if k is not None:
            out[i, 1] = k
    keep = out[:, 1] > out[:, 0]
    return out[keep]


def _condition(xs: np.ndarray, fs: float, method: str, preprocess: bool, p: dict[str, Any]
               ) -> tuple[np.ndarray, np.ndarray | None]:
    """The method's detection envelope for all channels at once (2-D in, 2-D out; the filters run
    vectorised across channels), and for the default method the signal power used to refine."""
    C = xs.shape[1]
    if method == "hodges":
        y = filters.sosfiltfilt(filters.butter(4, min(20.0, 0.4 * fs / 2), fs, "highpass"), xs) if preprocess else xs
        env = filters.sosfiltfilt(filters.butter(2, min(50.0, 0.4 * fs), fs), np.abs(y))
        w = max(1, round(p.get("window_s", 0.025) * fs))
        env = filters.MovingAverage(fs, C, w / fs)(env)  # trailing mean over the window
        env = np.concatenate([env[w - 1:], np.repeat(env[-1:], w - 1, axis=0)])  # align to the window start
        return env, None
    if method == "tkeo":
        bp = filters.butter(4, (30.0, min(300.0, 0.45 * fs)), fs, "bandpass")
        y = filters.sosfiltfilt(bp, xs) if preprocess else xs
        tk = filters.TKEO(C)(y)
        tk = np.concatenate([tk[1:], np.zeros((1, C))])  # undo the one-sample delay
        return filters.sosfiltfilt(filters.butter(2, min(50.0, 0.4 * fs), fs), np.abs(tk)), None
    if preprocess:
        y = filters.sosfiltfilt(filters.butter(4, min(p.get("highpass_hz", 30.0), 0.4 * fs), fs, "highpass"), xs)
        if p.get("notch_hz") and float(p["notch_hz"]) < fs / 2:
            y = filters.sosfiltfilt(filters.notch(float(p["notch_hz"]), fs, 30.0, 3), y)
    else:
        y = xs
    e2 = y * y
    # detection on a smooth amplitude envelope (robust at low SNR)
    lp = filters.butter(2, min(p.get("envelope_hz", 4.0), 0.4 * fs), fs)
    env = np.sqrt(np.maximum(filters.sosfiltfilt(lp, e2), 0.0))
    return env, e2


def _events_1d(env: np.ndarray, e2: np.ndarray | None, finite: np.ndarray, scale: float, fs: float, method: str,
               rest: Any, p: dict[str, Any]) -> np.ndarray:
    empty = np.zeros((0, 2), dtype=np.int64)
    min_dur = round(p.get("min_duration_s", 0.025 if method == "tkeo" else 0.05) * fs)
    min_gap = round(p.get("min_gap_s", 0.05) * fs)
    sl = _rest_slice(env, fs, rest)
    mu, sd = _stats(env[sl], robust=method == "default")
    env = np.where(finite, env, np.nan)
    if not (np.isfinite(mu) and np.isfinite(sd)):
        return empty
    # numerical floor: filtering a constant leaves rounding noise ~1e-16 of the signal's scale,
    # which must never count as activity
    sd = max(sd, 1e-9 * scale, 1e-300)
    if method == "default":
        on, off = mu + p.get("k_on", 8.0) * sd, mu + p.get("k_off", 3.0) * sd
    elif method == "hodges":
        on = off = mu + p.get("h", 3.0) * sd
    else:
        on = off = mu + p.get("j", 15.0) * sd
    above_on = env > on
    above_off = env > off
    # hysteresis: runs of above_off that contain at least one above_on sample
    runs = _runs(above_off)
    if len(runs):
        c = np.concatenate([[0], np.cumsum(above_on)])
        runs = runs[(c[runs[:, 1]] - c[runs[:, 0]]) > 0]
    ev = _merge(runs, min_gap, min_dur)
    if e2 is not None and len(ev):
        ev = _refine_changepoints(ev, e2, fs, p)
    return ev.astype(np.int64)


def _detect_2d(x: np.ndarray, fs: float, method: str, rest: Any, preprocess: bool, p: dict[str, Any]
               ) -> list[np.ndarray]:
    n, C = x.shape
    if n < 16:
        return [np.zeros((0, 2), dtype=np.int64) for _ in range(C)]
    finite = np.isfinite(x)
    xs = np.where(finite, x, 0.0)
    env, e2 = _condition(np.ascontiguousarray(xs), fs, method, preprocess, p)
    out = []
    for c in range(C):
        scale = float(np.max(np.abs(xs[:, c])))
        out.append(_events_1d(np.ascontiguousarray(env[:, c]), None if e2 is None else e2[:, c], finite[:, c],
                              scale, fs, method, rest, p))
    return out


def detect(x: npt.ArrayLike, fs: float, method: Method = "default", rest: tuple[float, float] | None = None, *,
           preprocess: bool = True, **params: Any) -> np.ndarray | list[np.ndarray]:
    """Detect muscle activations in raw EMG.

    Parameters
    ----------
    x : (n_samples,) or (n_samples, n_channels)
        Raw EMG (any unit).
    fs : float
        Sampling rate, Hz (> 0).
    method : {"default", "hodges", "tkeo"}
        See the module docs.
    rest : (t0_s, t1_s), optional
        Rest window for the baseline; default: the quietest 1-s window.
    preprocess : bool
        Apply the method's conditioning filters (default True).
    **params
        ``min_duration_s`` (0.05), ``min_gap_s`` (0.05), and per method: default — ``k_on`` (8),
        ``k_off`` (4), ``k_refine`` (2), ``highpass_hz`` (30), ``envelope_hz`` (20), ``notch_hz``
        (None); hodges — ``h`` (3), ``window_s`` (0.025); tkeo — ``j`` (15).

    Returns
    -------
    events : (n_events, 2) int64 ``[onset, offset)`` sample indices, or a list of those per channel.
    """
    if method not in ("default", "hodges", "tkeo"):
        raise ValueError(f"method must be one of 'default', 'hodges', 'tkeo'; got {method!r}")
    if not (np.isfinite(fs) and fs > 0):
        raise ValueError(f"fs must be > 0 Hz; got {fs}")
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"x must be a real numeric array; got dtype {a.dtype}")
    a = a.astype(np.float64, copy=False)
    if a.ndim not in (1, 2):
        raise ValueError(f"x must have shape (n_samples,) or (n_samples, n_channels); got {a.shape}")
    if a.ndim == 1:
        return _detect_2d(a[:, None], float(fs), method, rest, preprocess, params)[0]
    return _detect_2d(a, float(fs), method, rest, preprocess, params)


def movement_onsets(angular_velocity: npt.ArrayLike, fs: float, rest: tuple[float, float] | None = None,
                    k: float = 5.0, min_duration_s: float = 0.3, min_speed: float = 0.17) -> np.ndarray:
    """Movement onsets from an angular velocity in rad/s (a 2-D input uses its norm).

    The speed (5 Hz low-passed) must exceed the rest median + ``k`` robust SDs of the rest window
    (default: the quietest 1-s window) and at least ``min_speed`` (0.17 rad/s ≈ 10 °/s: postural
    sway and wobble stay below it) for ``min_duration_s``; each onset is then placed where the
    tangent of the speed's rise (through 20 % and 50 % of the movement's peak speed) reaches zero —
    the start of the movement rather than the threshold crossing. Returns ``(n, 2)`` int64
    ``[onset, offset)`` sample indices.
    """
    w = np.asarray(angular_velocity, dtype=float)
    speed = np.linalg.norm(w, axis=1) if w.ndim == 2 else np.abs(w)
    if not (np.isfinite(fs) and fs > 0):
        raise ValueError(f"fs must be > 0 Hz; got {fs}")
    return _movement(speed, float(fs), rest, k, min_duration_s, min_speed)


def _movement(speed: np.ndarray, fs: float, rest: Any, k: float, min_duration_s: float, min_speed: float) -> np.ndarray:
    env = filters.sosfiltfilt(filters.butter(2, min(5.0, 0.4 * fs), fs), speed) if len(speed) > 20 else speed
    sl = _rest_slice(env, fs, rest)
    mu, sd = _stats(env[sl], robust=True)
    if not np.isfinite(mu):
        return np.zeros((0, 2), dtype=np.int64)
    sd = max(sd, 1e-12)
    runs = _runs(env > max(mu + k * sd, min_speed))
    ev = _merge(runs, round(0.1 * fs), round(min_duration_s * fs))
    # Onset by tangent extrapolation: the line through the speeds at 20 % and 50 % of the
    # movement's peak speed, extended back to zero speed. Exact for a speed rising linearly from
    # rest (a smooth, minimum-jerk-like start), and insensitive to the detection threshold.
    out = ev.copy()
    for i, (a, b) in enumerate(ev):
        prev_end = int(out[i - 1, 1]) if i > 0 else 0
        seg = env[a:b]
        pk = a + int(np.argmax(seg))
        peak = env[pk]
        lo_i = max(prev_end, a - round(2.0 * fs))
        rise = env[lo_i:pk + 1]
        below20 = np.flatnonzero(rise < 0.2 * peak)
        i1 = lo_i + (int(below20[-1]) + 1 if len(below20) else 0)
        below50 = np.flatnonzero(env[i1:pk + 1] < 0.5 * peak)
        i2 = i1 + (int(below50[-1]) + 1 if len(below50) else 0)
        s1, s2 = env[i1], env[i2]
        if i2 > i1 and s2 > s1:
            onset_f = i1 - s1 * (i2 - i1) / (s2 - s1)
            out[i, 0] = int(np.clip(round(onset_f), prev_end, i1))
        else:
            out[i, 0] = max(prev_end, i1)
    return out.astype(np.int64)


def onset_latencies(emg_events: list[np.ndarray], emg_fs: float, movement_events: np.ndarray, move_fs: float,
                    window_s: tuple[float, float] = (-0.5, 0.5)) -> list[dict[str, float | int]]:
    """Latency of each channel's EMG onset relative to each movement onset (negative = the muscle
    switched on before the movement: feed-forward; Hodges & Richardson, Spine 21, 1996).

    For every movement onset and channel, the EMG onset nearest to it within ``window_s`` is taken.
    Returns rows ``{"movement": i, "movement_onset_s", "channel": c, "emg_onset_s", "latency_ms"}``
    (latency NaN when no EMG onset lies in the window).
    """
    rows: list[dict[str, float | int]] = []
    for i, m in enumerate(np.asarray(movement_events).reshape(-1, 2)):
        tm = m[0] / move_fs
        for c, ev in enumerate(emg_events):
            on = np.asarray(ev).reshape(-1, 2)[:, 0] / emg_fs
            d = on - tm
            inwin = (d >= window_s[0]) & (d <= window_s[1])
            if inwin.any():
                j = np.flatnonzero(inwin)[np.argmin(np.abs(d[inwin]))]
                rows.append({"movement": i, "movement_onset_s": float(tm), "channel": c,
                             "emg_onset_s": float(on[j]), "latency_ms": float(1000 * d[j])})
            else:
                rows.append({"movement": i, "movement_onset_s": float(tm), "channel": c,
                             "emg_onset_s": float("nan"), "latency_ms": float("nan")})
    return rows

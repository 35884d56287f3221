"""Clinical measures of lumbar kinematics and trunk EMG.

What a therapist or researcher reads from a recording: range of motion, holds, repetitions,
movement phases and EMG onset latencies, %MVC, co-contraction, flexion-relaxation, PNF exercise
timing and EMG fatigue. Every measure cites the definition it implements.

Conventions
-----------
- Angles are in **degrees** (flexion positive), angular velocities in **deg/s**, times in
  **seconds**, latencies in **milliseconds**, frequencies in **Hz**.
- Signals are 1-D ``(n_samples,)`` or, for EMG, ``(n_samples, n_channels)`` (time-major).
- Events are reported as sample indices (int64, of the signal they were found in) *and* seconds
  (``index / fs``). Segments are half-open ``[start, end)``: ``end_s = end_index / fs`` is the end
  of the last sample's interval.
- Every per-sample loop runs in the C++ core: the serial scans (holds, hysteresis turning points,
  threshold segments, per-segment statistics; ``cpp/include/kinemyo/metrics/scan.hpp``) and the
  EMG passes (fatigue windows and spectral moments, decimated moving RMS;
  ``cpp/include/kinemyo/metrics/emg.hpp``). The FFT is SciPy's or NumPy's (never our own).
- Results are small dataclasses whose array fields hold one entry per event; ``to_dict()`` gives
  a JSON-ready dict (arrays as lists, NaN as ``None``).
- Non-finite samples: documented per function; they never crash a measure.

Examples
--------
>>> import numpy as np
>>> from kinemyo import metrics
>>> fs = 100.0
>>> t = np.arange(0, 60, 1 / fs)
>>> angle = 20 * (1 - np.cos(2 * np.pi * t / 6))      # ten 6-s Cat-Cow-like cycles
>>> reps = metrics.repetitions(angle, fs)
>>> reps.count
10
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from . import _core
from . import filters as _filters
from ._checks import check_fs

__all__ = [
    "CocontractionMethod",
    "FlexionRelaxation",
    "Holds",
    "LatencyTable",
    "MovementPhases",
    "PnfTiming",
    "RangeOfMotion",
    "Repetitions",
    "SpectralFatigue",
    "angular_velocity",
    "cocontraction",
    "emg_amplitude",
    "flexion_relaxation",
    "holds",
    "movement_phases",
    "mvc_reference",
    "normalize_mvc",
    "onset_latencies",
    "pnf_timing",
    "range_of_motion",
    "repetitions",
    "spectral_fatigue",
]

CocontractionMethod = Literal["falconer_winter", "overlap", "rudolph"]


# --------------------------------------------------------------------------------------------
# helpers


_check_fs = check_fs


def _check_pos(name: str, value: Any, allow_zero: bool = False) -> float:
    v = float(value)
    ok = math.isfinite(v) and (v >= 0 if allow_zero else v > 0)
    if not ok:
        raise ValueError(
            f"{name} must be finite and {'>= 0' if allow_zero else '> 0'}; got {value}"
        )
    return v


def _numeric(x: npt.ArrayLike, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must be a real numeric array (bool, int or float); got dtype {a.dtype}"
        )
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    return a


def _angle_1d(angle: npt.ArrayLike, name: str = "angle", allow_empty: bool = False) -> np.ndarray:
    a = _numeric(angle, name)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_samples,); got shape {a.shape}")
    if a.size == 0 and not allow_empty:
        raise ValueError(f"{name} must hold at least one sample; got 0")
    return np.ascontiguousarray(a, dtype=np.float64)


def _emg_2d(emg: npt.ArrayLike, name: str = "emg") -> tuple[np.ndarray, bool]:
    a = _numeric(emg, name)
    if a.ndim == 1:
        a2, was_1d = a[:, None], True
    elif a.ndim == 2:
        a2, was_1d = a, False
    else:
        raise ValueError(
            f"{name} must be 1-D (n_samples,) or 2-D (n_samples, n_channels); got shape {a.shape}"
        )
    if a2.shape[0] == 0 or a2.shape[1] == 0:
        raise ValueError(
            f"{name} must hold at least one sample and one channel; got shape {a.shape}"
        )
    return np.ascontiguousarray(a2), was_1d


def _json(v: Any) -> Any:
    if isinstance(v, Result):
        return v.to_dict()
    if isinstance(v, np.ndarray):
        return _json(v.tolist())
    if isinstance(v, (list, tuple)):
        return [_json(u) for u in v]
    if isinstance(v, dict):
        return {str(k): _json(u) for k, u in v.items()}
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


@dataclasses.dataclass(frozen=True)
class Result:
    """Base of the result tables: ``to_dict()`` for JSON (arrays to lists, NaN to ``None``)."""

    def to_dict(self) -> dict[str, Any]:
        """All fields as plain Python values (JSON-serialisable; non-finite floats become None)."""
        return {f.name: _json(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _segments_to_s(seg: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    return seg[:, 0] / fs, seg[:, 1] / fs


def _quiet_stats(x: np.ndarray, n_win: int) -> tuple[float, float]:
    """Mean and SD of ``x`` in its quietest block of ``n_win`` samples (lowest block mean),
    ignoring non-finite samples: the rest-noise estimate when no rest window is given."""
    n = x.shape[0]
    n_win = max(1, min(n_win, n))
    nb = n // n_win
    blocks = x[: nb * n_win].reshape(nb, n_win)
    fin = np.isfinite(blocks)
    cnt = fin.sum(axis=1)
    good = cnt >= max(2, n_win // 2)
    if not good.any():
        fx = x[np.isfinite(x)]
        if fx.size == 0:
            raise ValueError("the signal has no finite samples")
        return float(fx.mean()), float(fx.std())
    b = np.where(fin, blocks, 0.0)
    mean = b.sum(axis=1) / np.maximum(cnt, 1)
    mean[~good] = np.inf
    k = int(np.argmin(mean))
    sel = blocks[k][fin[k]]
    return float(sel.mean()), float(sel.std())


def _window_stats(
    x: np.ndarray, fs: float, window: tuple[float, float], name: str
) -> tuple[float, float]:
    t0, t1 = (float(window[0]), float(window[1]))
    i0, i1 = max(0, round(t0 * fs)), min(x.shape[0], round(t1 * fs))
    if not (t1 > t0 and i1 - i0 >= 2):
        raise ValueError(
            f"{name} must be (t0_s, t1_s) with t1 > t0 inside the recording "
            f"(0 to {x.shape[0] / fs:.3f} s) and >= 2 samples; got {window}"
        )
    sel = x[i0:i1]
    sel = sel[np.isfinite(sel)]
    if sel.size < 2:
        raise ValueError(f"{name} {window} holds fewer than 2 finite samples")
    return float(sel.mean()), float(sel.std())


# --------------------------------------------------------------------------------------------
# kinematics: velocity, range of motion, holds, repetitions, phases


def angular_velocity(
    angle: npt.ArrayLike, fs: float, lowpass_hz: float | None = None
) -> np.ndarray:
    """Angular velocity of an angle signal, in deg/s.

    Central differences (``numpy.gradient``; one-sided at the ends) times ``fs``, optionally after
    a zero-lag 2nd-order Butterworth low-pass (``sosfiltfilt``), the usual treatment of
    kinematic data before differentiation (Winter, *Biomechanics and Motor Control of Human
    Movement*, 4th ed., Wiley 2009, ch. 2-3).

    Parameters
    ----------
    angle : array_like, shape (n_samples,)
        Angle in degrees.
    fs : float
        Sampling rate in Hz, > 0.
    lowpass_hz : float, optional
        Cut-off of the optional low-pass in Hz, in (0, fs/2). Default None (no filtering).

    Returns
    -------
    ndarray, shape (n_samples,), float64, deg/s. A non-finite sample makes the (at most three)
    velocities that use it NaN. Fewer than 2 samples give zeros. A signal too short for the
    low-pass (not longer than its ``sosfiltfilt`` pad length, 9 samples) is differentiated
    unfiltered.
    """
    fs = _check_fs(fs)
    a = _angle_1d(angle, allow_empty=True)
    if lowpass_hz is not None and a.size > 0:
        sos = _filters.butter(2, float(lowpass_hz), fs, "lowpass")
        if a.size > _core.sosfiltfilt_padlen(sos):
            a = _filters.sosfiltfilt(sos, a)
    if a.size < 2:
        return np.zeros_like(a)
    return np.gradient(a) * fs


@dataclasses.dataclass(frozen=True)
class RangeOfMotion(Result):
    """Range of motion of a recording and of each movement (degrees, seconds).

    ``min_deg``/``max_deg``/``range_deg``/``peak_flexion_deg``/``peak_index``/``peak_s`` are for
    the whole recording; the ``movement_*`` arrays have one entry per movement segment.
    """

    min_deg: float
    max_deg: float
    range_deg: float
    peak_flexion_deg: float
    peak_index: int
    peak_s: float
    movement_start_index: np.ndarray
    movement_end_index: np.ndarray
    movement_min_deg: np.ndarray
    movement_max_deg: np.ndarray
    movement_range_deg: np.ndarray
    movement_peak_index: np.ndarray
    movement_peak_s: np.ndarray


def range_of_motion(
    angle: npt.ArrayLike,
    fs: float,
    segments: npt.ArrayLike | None = None,
    hysteresis_deg: float = 5.0,
) -> RangeOfMotion:
    """Range of motion (max - min angle) and peak flexion, per recording and per movement.

    ROM is the excursion between the extreme angles reached, the classic definition of spinal
    ROM (Mayer, Tencer, Kristoferson & Mooney 1984, "Use of noninvasive techniques for
    quantification of spinal range-of-motion in normal subjects and chronic low-back dysfunction
    patients", Spine 9(6):588-595). Peak flexion is the maximum angle (flexion positive).

    Parameters
    ----------
    angle : array_like, shape (n_samples,)
        Lumbar angle in degrees, flexion positive. NaN samples are ignored.
    fs : float
        Sampling rate in Hz, > 0.
    segments : array_like, shape (k, 2), optional
        Movements as ``[start, end)`` sample ranges. Default: the cycles of :func:`repetitions`
        with ``hysteresis_deg`` (one movement = trough -> peak -> trough).
    hysteresis_deg : float
        Used only to find the default segments. Default 5 deg.

    Raises
    ------
    ValueError
        For an empty or all-NaN angle, fs <= 0, or segments outside the recording.
    """
    fs = _check_fs(fs)
    a = _angle_1d(angle)
    fin = np.isfinite(a)
    if not fin.any():
        raise ValueError("angle has no finite samples")
    if segments is None:
        reps = repetitions(a, fs, hysteresis_deg=hysteresis_deg)
        seg = (
            np.stack([reps.start_index, reps.end_index + 1], axis=1)
            if reps.count
            else np.zeros((0, 2), np.int64)
        )
    else:
        seg = np.asarray(segments, dtype=np.int64).reshape(-1, 2)
        if seg.size and (seg.min() < 0 or seg.max() > a.size or np.any(seg[:, 1] <= seg[:, 0])):
            raise ValueError(
                f"segments must be [start, end) ranges with 0 <= start < end <= {a.size}"
            )
    lo = np.where(fin, a, np.inf)
    hi = np.where(fin, a, -np.inf)
    st = _core.segment_stats(a, seg)  # per movement: finite min, max and where (C++)
    mn, mx, pk = st["min"], st["max"], st["argmax"]
    p = int(np.argmax(hi))
    return RangeOfMotion(
        min_deg=float(lo.min()),
        max_deg=float(hi.max()),
        range_deg=float(hi.max() - lo.min()),
        peak_flexion_deg=float(hi.max()),
        peak_index=p,
        peak_s=p / fs,
        movement_start_index=seg[:, 0].copy(),
        movement_end_index=seg[:, 1].copy(),
        movement_min_deg=mn,
        movement_max_deg=mx,
        movement_range_deg=mx - mn,
        movement_peak_index=pk,
        movement_peak_s=np.where(pk >= 0, pk / fs, np.nan),
    )


@dataclasses.dataclass(frozen=True)
class Holds(Result):
    """Static periods of an angle: one entry per hold.

    ``end_index`` is exclusive; ``duration_s = (end_index - start_index) / fs``.
    ``over_limit`` flags holds longer than ``limit_s``; ``over_limit_s`` is the time beyond it.
    """

    fs: float
    tolerance_deg: float
    min_duration_s: float
    limit_s: float
    start_index: np.ndarray
    end_index: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    duration_s: np.ndarray
    mean_deg: np.ndarray
    over_limit: np.ndarray
    over_limit_s: np.ndarray

    @property
    def count(self) -> int:
        """Number of holds."""
        return int(self.start_index.size)

    @property
    def total_over_limit_s(self) -> float:
        """Total time spent in holds beyond the limit, in seconds."""
        return float(self.over_limit_s.sum())

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["count"] = self.count
        d["total_over_limit_s"] = self.total_over_limit_s
        return d


def holds(
    angle: npt.ArrayLike,
    fs: float,
    tolerance_deg: float = 3.0,
    min_duration_s: float = 2.0,
    limit_s: float = 30.0,
    max_gap_s: float = 0.5,
) -> Holds:
    """Static periods (holds) of an angle and the time spent beyond a hold limit.

    Three steps: (1) the angle is cut greedily into runs whose range (max - min) stays within
    ``tolerance_deg`` (one O(n) pass in the C++ core with two monotonic deques; a ramp becomes
    many short runs); (2) neighbouring runs separated by at most ``max_gap_s`` whose mean angles
    differ by at most ``tolerance_deg / 2`` are joined, because the range of noise grows with
    the length of a hold and one noise peak must not cut a long hold in two; (3) each joined run
    is trimmed to its first and last samples within ``tolerance_deg / 2`` of its mean (this
    removes the ends of the ramps in and out), and kept if it lasts at least
    ``min_duration_s``. Holds never overlap; a rest at neutral is a hold too (filter on
    ``mean_deg`` to keep end-range holds). Holds longer than ``limit_s`` are
    flagged, as static stretching guidance does (holds of 15-30 s; Bandy & Irion 1994, "The
    effect of time on static stretch on the flexibility of the hamstring muscles", Phys. Ther.
    74(9):845-850, found no added benefit beyond 30 s).

    Parameters
    ----------
    angle : array_like, shape (n_samples,)
        Angle in degrees.
    fs : float
        Sampling rate in Hz, > 0.
    tolerance_deg : float
        Largest max - min spread inside a hold, degrees, > 0. Default 3 deg (a wobble of +-1.5 deg).
    min_duration_s : float
        Shortest hold in seconds, > 0 (at least one sample). Default 2 s (shorter "holds" are
        the slow turns of a cyclic movement).
    limit_s : float
        Hold limit in seconds, >= 0. Default 30 s.
    max_gap_s : float
        Longest gap bridged when merging holds, seconds, >= 0. Default 0.5 s.

    Returns
    -------
    Holds
        Empty arrays when there is no hold.

    Notes
    -----
    Boundary accuracy: a hold's edges are where the angle comes within ``tolerance_deg / 2`` of
    the hold's mean, so on a ramp of speed v they are about ``tolerance_deg / (2 v)`` early/late
    (0.05 s at 30 deg/s with the default). NaN samples end a hold; a NaN run of at most
    ``max_gap_s`` inside a hold is bridged by the merge (``mean_deg`` uses finite samples only).

    Examples
    --------
    >>> a = np.concatenate([np.zeros(500), np.linspace(0, 40, 200), np.full(4000, 40.0)])
    >>> h = holds(a, fs=100.0)
    >>> h.count, h.mean_deg.round(1).tolist(), h.over_limit_s.round(2).tolist()
    (2, [0.0, 40.0], [0.0, 10.05])
    """
    fs = _check_fs(fs)
    a = _angle_1d(angle, allow_empty=True)
    tol = _check_pos("tolerance_deg", tolerance_deg)
    mind = _check_pos("min_duration_s", min_duration_s)
    lim = _check_pos("limit_s", limit_s, allow_zero=True)
    gap = round(_check_pos("max_gap_s", max_gap_s, allow_zero=True) * fs)
    min_len = max(1, round(mind * fs))
    # 1) greedy partition into runs of range <= tol (C++; NaN samples belong to no run)
    runs = _core.find_holds(a, tol, 1)
    fin = np.isfinite(a)
    c = np.concatenate([[0.0], np.cumsum(np.where(fin, a, 0.0))])
    cn = np.concatenate([[0], np.cumsum(fin)])

    def means(sg: np.ndarray) -> np.ndarray:
        return (c[sg[:, 1]] - c[sg[:, 0]]) / np.maximum(cn[sg[:, 1]] - cn[sg[:, 0]], 1)

    seg = np.zeros((0, 2), np.int64)
    if runs.shape[0]:
        # 2) join neighbouring runs at the same level (a noise peak must not cut a long hold)
        m = means(runs)
        join = (runs[1:, 0] - runs[:-1, 1] <= gap) & (np.abs(np.diff(m)) <= tol / 2)
        first = np.flatnonzero(np.concatenate([[True], ~join]))
        last = np.concatenate([first[1:] - 1, [runs.shape[0] - 1]])
        cand = np.stack([runs[first, 0], runs[last, 1]], axis=1)
        cand = cand[cand[:, 1] - cand[:, 0] >= min_len]
        # 3) trim ramp ends: keep from the first to the last sample within tol/2 of the mean (C++)
        seg = _core.trim_to_band(a, cand, means(cand), tol / 2)
        seg = seg[seg[:, 1] - seg[:, 0] >= min_len]
    mean = means(seg)
    s_s, e_s = _segments_to_s(seg, fs)
    dur = (seg[:, 1] - seg[:, 0]) / fs
    over = np.maximum(dur - lim, 0.0)
    return Holds(
        fs=fs,
        tolerance_deg=tol,
        min_duration_s=mind,
        limit_s=lim,
        start_index=seg[:, 0].copy(),
        end_index=seg[:, 1].copy(),
        start_s=s_s,
        end_s=e_s,
        duration_s=dur,
        mean_deg=mean,
        over_limit=dur > lim,
        over_limit_s=over,
    )


@dataclasses.dataclass(frozen=True)
class Repetitions(Result):
    """Cycles of a cyclic movement (trough -> peak -> trough), one entry per cycle.

    Timing (sample indices and seconds):

    - ``start``/``end``: the troughs around the cycle (centre of the trough's plateau: the
      extreme itself for a smooth turn, the middle of a rest; the extreme sample when the
      plateau is cut by the start or end of the recording), so ``duration_s = end_s - start_s``
      is the cycle period and consecutive cycles share a trough;
    - ``peak``: centre of the peak's plateau (the middle of a hold at full flexion);
    - ``move_start``/``move_end``: departure from the start trough's plateau and arrival at the end
      trough's plateau (movement onset and return, for repetitions separated by rests);
    - ``peak_first``/``peak_last``: the plateau of the peak (e.g. the full-flexion period).

    Accuracy: on a smooth turn between half-cycles of different speed the plateau centre leans
    towards the slower side by about ``acos(1 - 2 * plateau / amplitude) / (2 * pi)`` times the
    difference of the two half-cycle durations (a few % of it with the defaults).

    ``amplitude_deg`` is the peak minus the mean of the two trough values, ``range_deg`` the max -
    min within the cycle, ``tempo_cpm`` the instantaneous rate (60 / duration) in cycles/min.
    """

    fs: float
    hysteresis_deg: float
    plateau_deg: float
    start_index: np.ndarray
    peak_index: np.ndarray
    end_index: np.ndarray
    move_start_index: np.ndarray
    move_end_index: np.ndarray
    peak_first_index: np.ndarray
    peak_last_index: np.ndarray
    start_s: np.ndarray
    peak_s: np.ndarray
    end_s: np.ndarray
    move_start_s: np.ndarray
    move_end_s: np.ndarray
    duration_s: np.ndarray
    movement_duration_s: np.ndarray
    peak_deg: np.ndarray
    amplitude_deg: np.ndarray
    range_deg: np.ndarray
    tempo_cpm: np.ndarray

    @property
    def count(self) -> int:
        """Number of complete cycles."""
        return int(self.start_index.size)

    @property
    def mean_tempo_cpm(self) -> float:
        """Cycles per minute over the cycles (count / summed duration); NaN with no cycle."""
        tot = float(self.duration_s.sum())
        return 60.0 * self.count / tot if tot > 0 else math.nan

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["count"] = self.count
        d["mean_tempo_cpm"] = _json(self.mean_tempo_cpm)
        return d


def repetitions(
    angle: npt.ArrayLike,
    fs: float,
    hysteresis_deg: float = 5.0,
    plateau_deg: float = 1.0,
    polarity: Literal["peak", "trough"] = "peak",
) -> Repetitions:
    """Repetitions of a cyclic movement (Cat-Cow cycles, repeated forward bends).

    Turning points are confirmed with hysteresis (a peak-valley / zig-zag detector, the
    prominence criterion used for cycle counting in fatigue analysis and gait; cf. rainflow
    reversal filtering, ASTM E1049-85): a peak counts only once the angle has dropped more than
    ``hysteresis_deg`` below it, so wobbles smaller than that never start a cycle. A cycle is
    trough -> peak -> trough; cycles at the edges of the recording without both troughs are not
    counted. One O(n) pass in the C++ core.

    Parameters
    ----------
    angle : array_like, shape (n_samples,)
        Angle in degrees (flexion positive). NaN samples are skipped.
    fs : float
        Sampling rate in Hz, > 0.
    hysteresis_deg : float
        Reversal that confirms a turning point, degrees, > 0; also the smallest cycle amplitude.
        Default 5 deg: ignores postural sway and sensor noise, keeps any deliberate lumbar
        flexion-extension (typical Cat-Cow lumbar range 20-40 deg).
    plateau_deg : float
        Band around each extreme counted as "at" it (defines plateaus, rests and movement
        onset), degrees, >= 0. Default 1 deg; set it above the noise amplitude.
    polarity : {"peak", "trough"}
        "peak": cycles run trough -> peak -> trough (flexion peaks). "trough": the reverse
        (e.g. extension-first movements); the angle is negated for detection and the reported
        ``peak_deg`` is then the minimum.

    Returns
    -------
    Repetitions
        ``count == 0`` and empty arrays for a recording without movement.
    """
    fs = _check_fs(fs)
    a = _angle_1d(angle, allow_empty=True)
    h = _check_pos("hysteresis_deg", hysteresis_deg)
    pl = _check_pos("plateau_deg", plateau_deg, allow_zero=True)
    if polarity not in ("peak", "trough"):
        raise ValueError(f"polarity must be 'peak' or 'trough'; got {polarity!r}")
    sgn = 1.0 if polarity == "peak" else -1.0
    x = a if sgn > 0 else -a
    tp = _core.find_turning_points(x, h, pl)
    is_peak = tp["is_peak"]
    # cycles: peaks j with a trough at j-1 and j+1 (the detector alternates)
    j = np.flatnonzero(is_peak)
    j = j[(j >= 1) & (j + 1 < is_peak.size)]
    pf, plast, val = tp["plateau_first"], tp["plateau_last"], tp["value"]
    centre = (pf + plast) // 2
    # a plateau cut by the start/end of the recording has no centre: use the extreme itself
    if centre.size:
        fin = np.flatnonzero(np.isfinite(x))
        cut = (pf <= fin[0]) | (plast >= fin[-1])
        centre = np.where(cut, tp["index"], centre)
    t0, t1 = j - 1, j + 1
    start, peak, end = centre[t0], centre[j], centre[t1]
    mstart, mend = plast[t0], pf[t1]
    amp = val[j] - 0.5 * (val[t0] + val[t1])
    # range within each cycle: the peak minus the lower trough (troughs/peaks are the extremes)
    rng = val[j] - np.minimum(val[t0], val[t1])
    dur = (end - start) / fs
    with np.errstate(divide="ignore"):
        tempo = np.where(dur > 0, 60.0 / np.where(dur > 0, dur, 1.0), np.nan)
    return Repetitions(
        fs=fs,
        hysteresis_deg=h,
        plateau_deg=pl,
        start_index=start,
        peak_index=peak,
        end_index=end,
        move_start_index=mstart,
        move_end_index=mend,
        peak_first_index=pf[j],
        peak_last_index=plast[j],
        start_s=start / fs,
        peak_s=peak / fs,
        end_s=end / fs,
        move_start_s=mstart / fs,
        move_end_s=mend / fs,
        duration_s=dur,
        movement_duration_s=(mend - mstart) / fs,
        peak_deg=sgn * val[j],
        amplitude_deg=amp,
        range_deg=rng,
        tempo_cpm=tempo,
    )


@dataclasses.dataclass(frozen=True)
class MovementPhases(Result):
    """Movement phases from angular velocity: one entry per phase.

    ``direction`` is +1 for flexion (angle increasing) and -1 for extension. ``onset_*`` is the
    phase start. Thresholds in deg/s.
    """

    fs: float
    threshold_high_deg_s: float
    threshold_low_deg_s: float
    rest_mean_deg_s: float
    rest_sd_deg_s: float
    start_index: np.ndarray
    end_index: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    duration_s: np.ndarray
    direction: np.ndarray
    peak_velocity_deg_s: np.ndarray
    excursion_deg: np.ndarray

    @property
    def count(self) -> int:
        """Number of phases."""
        return int(self.start_index.size)

    def onsets(self, direction: int | None = None) -> np.ndarray:
        """Onset sample indices, optionally only of one direction (+1 flexion, -1 extension)."""
        if direction is None:
            return self.start_index.copy()
        return self.start_index[self.direction == int(direction)]


def movement_phases(
    angle: npt.ArrayLike,
    fs: float,
    k_sd: float = 3.0,
    min_velocity_deg_s: float = 10.0,
    rest: tuple[float, float] | None = None,
    rest_window_s: float = 0.5,
    min_duration_s: float = 0.2,
    min_gap_s: float = 0.1,
    lowpass_hz: float | None = 5.0,
) -> MovementPhases:
    """Movement phases and onsets from angular velocity, with a rest-noise threshold.

    The standard threshold onset detector (Hodges & Bui 1996, "A comparison of computer-based
    methods for the determination of onset of muscle activity using surface electromyography",
    Electroencephalogr. Clin. Neurophysiol. 101:511-519), applied to angular velocity: with the
    mean ``mu`` and SD ``sd`` of ``|velocity|`` at rest, ``b = mu + k_sd * sd``. A phase is a run
    with ``|velocity| > b`` (onset where it leaves the rest noise) that somewhere exceeds
    ``high = max(b, min_velocity_deg_s)`` (so noise bursts are not movements). Flexion (velocity
    > 0) and extension (< 0) phases are found separately (C++ core), so a reversal always starts
    a new phase; gaps shorter than ``min_gap_s`` within one direction are bridged, phases shorter
    than ``min_duration_s`` dropped.

    Parameters
    ----------
    angle : array_like, shape (n_samples,)
        Angle in degrees.
    fs : float
        Sampling rate in Hz, > 0.
    k_sd : float
        Number of rest SDs above the rest mean, >= 0. Default 3.
    min_velocity_deg_s : float
        Least peak angular speed of a movement, deg/s, >= 0. Default 10 deg/s.
    rest : (t0_s, t1_s), optional
        Rest window in seconds. Default: the quietest ``rest_window_s`` block of the recording.
    rest_window_s : float
        Block length of the automatic rest estimate, seconds. Default 0.5 s. The automatic
        estimate assumes the recording holds a rest (or a slow turn) that long; otherwise pass
        ``rest``.
    min_duration_s, min_gap_s : float
        Shortest phase and longest bridged gap, seconds. Defaults 0.2 s and 0.1 s.
    lowpass_hz : float, optional
        Zero-lag low-pass before differentiation (see :func:`angular_velocity`), Hz, below
        fs/2. Default 5 Hz (trunk movements lie below ~3 Hz; differentiation amplifies sensor
        noise); None disables it.

    Returns
    -------
    MovementPhases
        Empty arrays for a recording without movement (no sample faster than ``high``).
    """
    fs = _check_fs(fs)
    a = _angle_1d(angle)
    k_sd = _check_pos("k_sd", k_sd, allow_zero=True)
    vmin = _check_pos("min_velocity_deg_s", min_velocity_deg_s, allow_zero=True)
    mind = _check_pos("min_duration_s", min_duration_s, allow_zero=True)
    gap = _check_pos("min_gap_s", min_gap_s, allow_zero=True)
    rw = _check_pos("rest_window_s", rest_window_s)
    v = angular_velocity(a, fs, lowpass_hz)
    sp = np.abs(v)
    if not np.isfinite(sp).any():
        raise ValueError("angle has no finite velocity (all samples NaN?)")
    if rest is None:
        mu, sd = _quiet_stats(sp, max(2, round(rw * fs)))
    else:
        mu, sd = _window_stats(sp, fs, rest, "rest")
    b = mu + k_sd * sd
    high = max(b, vmin)
    low = min(b, high)
    min_on, min_off = max(1, round(mind * fs)), round(gap * fs)
    parts = []
    for sign in (1, -1):
        seg = _core.find_active_segments(sign * v, high, low, min_on, min_off)
        parts.append(np.column_stack([seg, np.full(seg.shape[0], sign, np.int64)]))
    allseg = np.concatenate(parts)
    allseg = allseg[np.argsort(allseg[:, 0], kind="stable")]
    st, en, dr = allseg[:, 0], allseg[:, 1], allseg[:, 2]
    k = st.size
    pv = np.zeros(k)
    ex = np.zeros(k)
    if k:
        pv = _core.segment_stats(sp, allseg[:, :2])["max"]  # peak speed per phase (C++)
        ex = a[np.minimum(en, a.size - 1)] - a[st]
    return MovementPhases(
        fs=fs,
        threshold_high_deg_s=float(high),
        threshold_low_deg_s=float(low),
        rest_mean_deg_s=mu,
        rest_sd_deg_s=sd,
        start_index=st,
        end_index=en,
        start_s=st / fs,
        end_s=en / fs,
        duration_s=(en - st) / fs,
        direction=dr,
        peak_velocity_deg_s=pv,
        excursion_deg=ex,
    )


# --------------------------------------------------------------------------------------------
# EMG onset latency relative to movement onset


@dataclasses.dataclass(frozen=True)
class LatencyTable(Result):
    """EMG onset latency relative to movement onset: one row per (movement, channel).

    ``latency_ms = (emg_onset_s - movement_onset_s) * 1000``; negative = the muscle switched on
    before the movement (feed-forward). Rows without an EMG onset in the search window have
    ``emg_onset_index == -1`` and NaN latency.
    """

    fs_emg: float
    fs_movement: float
    window_ms: tuple[float, float]
    feedforward_ms: float
    channel_names: tuple[str, ...]
    movement: np.ndarray
    movement_onset_index: np.ndarray
    movement_onset_s: np.ndarray
    channel: np.ndarray
    emg_onset_index: np.ndarray
    emg_onset_s: np.ndarray
    latency_ms: np.ndarray
    feedforward: np.ndarray

    def rows(self) -> list[dict[str, Any]]:
        """The table as a list of row dicts (JSON-ready)."""
        cols = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), np.ndarray)
        }
        out = []
        for i in range(self.movement.size):
            r = {n: _json(c[i]) for n, c in cols.items()}
            r["channel_name"] = self.channel_names[int(self.channel[i])]
            out.append(r)
        return out


def onset_latencies(
    emg_onsets: Sequence[npt.ArrayLike] | Mapping[str, npt.ArrayLike],
    fs_emg: float,
    movement_onsets: npt.ArrayLike | MovementPhases,
    fs_movement: float | None = None,
    window_ms: tuple[float, float] = (-500.0, 500.0),
    feedforward_ms: float = 0.0,
) -> LatencyTable:
    """Per-trial table of EMG onset latencies relative to movement onsets.

    For each movement onset and each EMG channel, the **earliest** EMG onset inside
    ``[movement_onset + window_ms[0], movement_onset + window_ms[1]]`` is taken and its latency
    reported in ms. A latency below ``feedforward_ms`` is flagged feed-forward: with the default
    0 ms, activation before movement onset; Hodges & Richardson (1997, "Feedforward contraction of
    transversus abdominis is not influenced by the direction of arm movement", Exp. Brain Res.
    114:362-370) counted onsets up to 50 ms after the prime mover as feed-forward
    (``feedforward_ms=50``). Plain arrays in, so it composes with any onset detector.

    Parameters
    ----------
    emg_onsets : sequence of int arrays, or mapping name -> int array
        EMG onset sample indices per channel, at ``fs_emg``; each channel's array may also be
        :func:`kinemyo.onset.detect`'s ``(n, 2)`` [onset, offset) events (the onsets are used).
        A single 1-D array (or a plain list of indices) is one channel; a 2-D array is one
        channel per row.
    fs_emg : float
        EMG sampling rate in Hz.
    movement_onsets : int array or MovementPhases
        Movement onset sample indices at ``fs_movement`` (a :class:`MovementPhases` gives its
        ``start_index`` and ``fs``).
    fs_movement : float
        IMU/angle sampling rate in Hz (optional with a MovementPhases).
    window_ms : (float, float)
        Search window around each movement onset, ms, ``lo < hi``. Default (-500, 500).
    feedforward_ms : float
        Latency threshold for the feed-forward flag, ms. Default 0.

    Returns
    -------
    LatencyTable
        ``n_movements * n_channels`` rows ordered by movement then channel; empty when there
        is no movement onset.

    Examples
    --------
    >>> tab = onset_latencies({"TrA": [5800], "ES": [6100]}, 2000.0, [300], 100.0)
    >>> tab.latency_ms.tolist(), tab.feedforward.tolist()
    ([-100.0, 50.0], [True, False])
    """
    fs_e = _check_fs(fs_emg, "fs_emg")
    if isinstance(movement_onsets, MovementPhases):
        fs_m = movement_onsets.fs if fs_movement is None else _check_fs(fs_movement, "fs_movement")
        mv = movement_onsets.start_index
    else:
        if fs_movement is None:
            raise ValueError("fs_movement must be given (Hz) when movement_onsets is an array")
        fs_m = _check_fs(fs_movement, "fs_movement")
        mv = np.asarray(movement_onsets)
    if mv.dtype.kind not in "iu" and mv.size:
        if mv.dtype.kind != "f" or not np.all(np.isfinite(mv)) or np.any(mv != np.round(mv)):
            raise TypeError("movement_onsets must hold integer sample indices")
    mv = np.asarray(mv, dtype=np.int64).ravel()
    if isinstance(emg_onsets, Mapping):
        names = tuple(str(k) for k in emg_onsets)
        chans = [emg_onsets[k] for k in emg_onsets]
    elif isinstance(emg_onsets, np.ndarray) and emg_onsets.ndim == 1:
        # one channel: its onset indices (a 2-D array stays a sequence of channels, one per row, as
        # it always was; a channel's (n, 2) detect events go inside a list or mapping)
        chans = [emg_onsets]
        names = ("ch0",)
    else:
        chans = list(emg_onsets)
        if chans and all(np.ndim(v) == 0 for v in chans):
            chans = [np.asarray(chans)]  # a plain list of onset indices: one channel
        names = tuple(f"ch{i}" for i in range(len(chans)))
    if not chans:
        raise ValueError("emg_onsets must hold at least one channel; got 0")
    lo, hi = float(window_ms[0]), float(window_ms[1])
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"window_ms must be (lo, hi) with lo < hi, finite; got {window_ms}")
    ff = float(feedforward_ms)
    tm = mv / fs_m
    nm, nc = mv.size, len(chans)
    e_idx = np.full((nm, nc), -1, np.int64)
    for c, on in enumerate(chans):
        o = np.asarray(on)
        if o.size and o.dtype.kind not in "iu":
            raise TypeError(
                f"emg_onsets[{names[c]!r}] must hold integer sample indices; got dtype {o.dtype}"
            )
        if o.ndim == 2 and o.shape[1] == 2:
            o = o[:, 0]  # onset.detect's [onset, offset) events: the onsets
        elif o.ndim > 1 and not (o.ndim == 2 and o.shape[1] == 1):
            raise ValueError(f"emg_onsets[{names[c]!r}] must be 1-D onset indices or (n, 2) [onset, offset) "
                             f"events; got shape {o.shape}")
        o = np.sort(o.astype(np.int64).ravel())
        if o.size == 0 or nm == 0:
            continue
        te = o / fs_e
        first = np.searchsorted(te, tm + lo / 1000.0 - 1e-12, side="left")
        ok = first < o.size
        cand = np.where(ok, o[np.minimum(first, o.size - 1)], -1)
        ok &= (cand / fs_e) <= tm + hi / 1000.0 + 1e-12
        e_idx[:, c] = np.where(ok, cand, -1)
    e_flat = e_idx.ravel()
    has = e_flat >= 0
    e_s = np.where(has, e_flat / fs_e, np.nan)
    m_rep = np.repeat(np.arange(nm), nc)
    # (e / fs_e - m / fs_m) in ms, on one common denominator so round numbers stay exact
    lat = np.where(has, (e_flat * fs_m - mv[m_rep] * fs_e) * 1000.0 / (fs_e * fs_m), np.nan)
    return LatencyTable(
        fs_emg=fs_e,
        fs_movement=fs_m,
        window_ms=(lo, hi),
        feedforward_ms=ff,
        channel_names=names,
        movement=m_rep,
        movement_onset_index=mv[m_rep],
        movement_onset_s=tm[m_rep],
        channel=np.tile(np.arange(nc), nm),
        emg_onset_index=e_flat,
        emg_onset_s=e_s,
        latency_ms=lat,
        feedforward=has & (lat < ff),
    )


# --------------------------------------------------------------------------------------------
# EMG amplitude and normalisation


def emg_amplitude(
    emg: npt.ArrayLike,
    fs: float,
    method: Literal["rms", "envelope"] = "rms",
    window_s: float = 0.5,
    cutoff_hz: float = 6.0,
    decimate: int = 1,
) -> np.ndarray:
    """Amplitude of raw (band-passed) EMG: centred moving RMS or zero-lag linear envelope.

    - ``"rms"``: root mean square over a centred window of ``window_s`` (the amplitude estimate
      recommended by Merletti, "Standards for reporting EMG data", J. Electromyogr. Kinesiol.
      9(1), 1999; computed with the exact O(1) moving window of the C++ core). Near the ends the
      window holds the samples available.
    - ``"envelope"``: full-wave rectification then a 2nd-order Butterworth low-pass at
      ``cutoff_hz`` run forward and backward (zero lag; Winter, *Biomechanics and Motor Control
      of Human Movement*, 4th ed., 2009), over a mirror extension of ``3 * fs / cutoff_hz``
      samples at each end (no start-up overshoot).

    Parameters
    ----------
    emg : array_like, shape (n_samples,) or (n_samples, n_channels)
        EMG, offset-free (band-pass it first). float32 stays float32.
    fs : float
        Sampling rate in Hz.
    method : {"rms", "envelope"}
    window_s : float
        RMS window in seconds. Default 0.5 s.
    cutoff_hz : float
        Envelope low-pass cut-off in Hz. Default 6 Hz.
    decimate : int
        Keep every ``decimate``-th sample: the amplitude at ``fs / decimate`` Hz, sample ``j``
        belonging to input sample ``j * decimate``. The amplitude is band-limited by the window
        or low-pass (a 0.5-s RMS or 6-Hz envelope has nothing above ~10 Hz), so e.g. 2000 Hz ->
        100 Hz (``decimate=20``) loses nothing the measures use and makes every later step 20x
        cheaper. Default 1. For the RMS with ``decimate > 1`` the sums of squares are taken per
        block of ``decimate`` samples (one pass, no full-rate array) and the window is rounded to
        whole blocks, centred on the block (within half a block of sample ``j * decimate``); a
        non-finite sample then makes the windows that contain it NaN.

    Returns
    -------
    ndarray, shape ``(ceil(n_samples / decimate),) + emg.shape[1:]``, dtype of ``emg`` (float32
    stays float32, other types give float64).
    """
    fs = _check_fs(fs)
    x2, was_1d = _emg_2d(emg)
    dt = np.float32 if x2.dtype == np.float32 else np.float64
    x2 = x2.astype(dt, copy=False)
    n, c = x2.shape
    if isinstance(decimate, bool) or not isinstance(decimate, (int, np.integer)) or decimate < 1:
        raise ValueError(f"decimate must be an integer >= 1; got {decimate!r}")
    d = int(decimate)
    if method == "rms" and d > 1:
        y = _block_rms(x2, fs, _check_pos("window_s", window_s), d)
    elif method == "rms":
        _check_pos("window_s", window_s)
        mw = _filters.MovingRMS(fs, c, window_s, dtype=dt)
        nw = mw.window_samples
        h = (nw - 1) // 2
        y = mw(x2)
        # Centre the trailing window: y_c[k] = y[k + s]; the last s outputs use a window that
        # shrinks at the end (a trailing window run over the reversed signal).
        s = nw - 1 - h
        inner = y[s::d]
        k = np.arange(inner.shape[0] * d, n, d)
        if k.size:
            z = _filters.MovingRMS(fs, c, window_s, dtype=dt)(np.ascontiguousarray(x2[::-1][:nw]))
            j = np.minimum(n - 1 - k + h, z.shape[0] - 1)
            y = np.concatenate([inner, z[j]], axis=0)
        else:
            y = np.ascontiguousarray(inner)
        bad = ~np.isfinite(x2)
        if bad.any():
            # NaN where the centred window holds a non-finite sample (as the decimated path does;
            # the trailing filter's own NaN marker sat s samples early after the centring)
            cb = np.concatenate([np.zeros((1, c), np.int64), np.cumsum(bad, axis=0)])
            kk = np.arange(0, n, d)[:y.shape[0]]
            lo_k, hi_k = np.maximum(kk - h, 0), np.minimum(kk - h + nw, n)
            y = np.where(cb[hi_k] - cb[lo_k] > 0, np.nan, y).astype(y.dtype, copy=False)
    elif method == "envelope":
        sos = _filters.butter(2, float(cutoff_hz), fs, "lowpass")
        if n < 2:
            raise ValueError(f"emg must have at least 2 samples for the envelope; got {n}")
        # Even (mirror) extension of the rectified signal keeps its level at the ends, so the
        # filter's start-up transient does not overshoot (sosfiltfilt's odd extension would).
        npad = min(n - 1, round(3 * fs / float(cutoff_hz)))
        r = np.pad(np.abs(x2), ((npad, npad), (0, 0)), mode="reflect")
        y = np.ascontiguousarray(_filters.sosfiltfilt(sos, r, padlen=0)[npad : npad + n : d])
    else:
        raise ValueError(f"method must be 'rms' or 'envelope'; got {method!r}")
    return y[:, 0] if was_1d else y


def _block_rms(x2: np.ndarray, fs: float, window_s: float, d: int) -> np.ndarray:
    # block sums of squares, centred window of whole blocks, one pass over the EMG (C++)
    return _core.decimated_moving_rms(x2, d, max(1, round(window_s * fs / d)))


def mvc_reference(
    mvc_emg: npt.ArrayLike,
    fs: float,
    window: tuple[float, float] | None = None,
    method: Literal["rms", "envelope"] = "rms",
    window_s: float = 0.5,
    cutoff_hz: float = 6.0,
) -> np.ndarray:
    """Reference amplitude of a maximal voluntary contraction (MVC), per channel.

    The peak of the amplitude (:func:`emg_amplitude`: a 500-ms moving RMS by default, or the
    linear envelope) over the MVC recording or over ``window`` of it (e.g. the MVC trial within a
    session recording). Normalising to the MVC is the usual amplitude normalisation of surface
    EMG (Burden 2010, "How should we normalize electromyograms obtained from healthy
    participants? What we have learned from over 25 years of research", J. Electromyogr.
    Kinesiol. 20(6):1023-1035; Konrad, *The ABC of EMG*, 2005, who uses the peak of a 500-ms
    average). For the RMS only full windows count, so a window at the edge cannot inflate it.

    Parameters
    ----------
    mvc_emg : array_like, shape (n_samples,) or (n_samples, n_channels)
        Band-passed EMG of the reference contraction.
    fs : float
        Sampling rate in Hz.
    window : (t0_s, t1_s), optional
        Part of the recording holding the MVC. Default: all of it.
    method, window_s, cutoff_hz
        As :func:`emg_amplitude`.

    Returns
    -------
    ndarray, shape (n_channels,) (a 0-d array for 1-D input), float64.

    Raises
    ------
    ValueError
        Window outside the recording, shorter than the RMS window, or a channel whose
        reference is zero or not finite (a silent or broken MVC channel cannot normalise).
    """
    fs = _check_fs(fs)
    x2, was_1d = _emg_2d(mvc_emg, "mvc_emg")
    if window is not None:
        t0, t1 = float(window[0]), float(window[1])
        i0, i1 = round(t0 * fs), round(t1 * fs)
        if not (0 <= i0 < i1 <= x2.shape[0]):
            raise ValueError(
                f"window must be (t0_s, t1_s) inside the recording (0 to "
                f"{x2.shape[0] / fs:.3f} s) with t1 > t0; got {window}"
            )
        x2 = x2[i0:i1]
    if method == "rms":
        nw = max(1, round(_check_pos("window_s", window_s) * fs))
        if x2.shape[0] < nw:
            raise ValueError(
                f"the MVC window ({x2.shape[0]} samples) must be at least window_s "
                f"({nw} samples) long"
            )
        y = _filters.MovingRMS(fs, x2.shape[1], window_s)(x2.astype(np.float64))[nw - 1 :]
    else:
        y = emg_amplitude(x2.astype(np.float64), fs, method, window_s, cutoff_hz)
        y = y.reshape(x2.shape[0], -1)
    ref = (
        np.nanmax(np.where(np.isfinite(y), y, np.nan), axis=0)
        if np.isfinite(y).any()
        else np.full(y.shape[1], np.nan)
    )
    bad = ~(np.isfinite(ref) & (ref > 0))
    if bad.any():
        raise ValueError(
            f"MVC reference of channel(s) {np.flatnonzero(bad).tolist()} is zero or "
            "not finite: cannot normalise to it"
        )
    return ref[0] if was_1d else ref


def normalize_mvc(amplitude: npt.ArrayLike, reference: npt.ArrayLike) -> np.ndarray:
    """Amplitude in %MVC: ``100 * amplitude / reference`` per channel.

    Parameters
    ----------
    amplitude : array_like, shape (n_samples,) or (n_samples, n_channels)
        EMG amplitude (same method and units as the reference, e.g. :func:`emg_amplitude`).
    reference : array_like, shape () or (n_channels,)
        From :func:`mvc_reference`; every value finite and > 0.

    Returns
    -------
    ndarray, the shape of ``amplitude``, in %MVC.
    """
    a = _numeric(amplitude, "amplitude")
    r = np.asarray(reference, dtype=np.float64)
    if not (np.all(np.isfinite(r)) and np.all(r > 0)):
        raise ValueError(f"reference must be finite and > 0 for every channel; got {r}")
    if a.ndim == 2:
        if r.ndim > 1 or (r.ndim == 1 and r.size not in (1, a.shape[1])):
            raise ValueError(f"reference must have shape ({a.shape[1]},); got {r.shape}")
    elif a.ndim == 1:
        if r.size != 1:
            raise ValueError(f"reference must be a scalar for 1-D amplitude; got shape {r.shape}")
        r = r.reshape(())
    else:
        raise ValueError(f"amplitude must be 1-D or 2-D; got shape {a.shape}")
    scale = (100.0 / r).astype(a.dtype)  # float32 amplitude stays float32
    return a * scale


# --------------------------------------------------------------------------------------------
# co-contraction


def cocontraction(
    agonist: npt.ArrayLike,
    antagonist: npt.ArrayLike,
    method: CocontractionMethod = "overlap",
    segments: npt.ArrayLike | None = None,
) -> float | np.ndarray:
    """Co-contraction index (CCI) of an agonist/antagonist pair, from their envelopes.

    Methods (``a`` agonist, ``b`` antagonist envelopes, sums over the samples of the period):

    - ``"falconer_winter"``: ``100 * 2 * sum(b) / (sum(a) + sum(b))`` — Falconer & Winter
      (1985), "Quantitative assessment of co-contraction at the ankle joint in walking",
      Electromyogr. Clin. Neurophysiol. 25:135-149 (antagonist activity relative to the pair;
      100 % when both are equal, the roles fixed by the caller).
    - ``"overlap"``: ``100 * 2 * sum(min(a, b)) / (sum(a) + sum(b))`` — the common-area %COCON of
      Winter, *Biomechanics and Motor Control of Human Movement*, 4th ed., Wiley 2009, ch. 10
      (the overlap of the two envelopes; symmetric in ``a`` and ``b``).
    - ``"rudolph"``: ``mean((low / high) * (low + high))`` with ``low = min(a, b)``,
      ``high = max(a, b)`` per sample — Rudolph, Axe & Snyder-Mackler (2000), "Dynamic stability
      after ACL injury: who can hop?", Knee Surg. Sports Traumatol. Arthrosc. 8:262-269 (as
      used by Lewek et al. 2004); in the envelopes' units (e.g. %MVC), samples where both are 0
      contribute 0.

    Normalise both envelopes to the same reference (e.g. %MVC) first, so they are comparable.

    Parameters
    ----------
    agonist, antagonist : array_like, shape (n_samples,)
        Non-negative envelopes of the same length. Samples where either is NaN are left out.
    method : {"overlap", "falconer_winter", "rudolph"}
        Default "overlap".
    segments : array_like, shape (k, 2), optional
        ``[start, end)`` sample ranges; one CCI per segment. Default: one CCI for all samples.

    Returns
    -------
    float (or ndarray of shape (k,) with ``segments``), in % (unitless for "rudolph"). NaN for a
    period without activity (both envelopes zero) or without finite samples.

    Examples
    --------
    >>> ag, an = np.array([4.0, 4.0, 2.0, 0.0]), np.array([1.0, 2.0, 2.0, 3.0])
    >>> cci = [cocontraction(ag, an, m) for m in ("overlap", "falconer_winter")]
    >>> [round(c, 2) for c in cci]
    [55.56, 88.89]
    """
    a = _angle_1d(agonist, "agonist", allow_empty=True)
    b = _angle_1d(antagonist, "antagonist", allow_empty=True)
    if a.shape != b.shape:
        raise ValueError(
            f"agonist and antagonist must have the same length; got {a.size} and {b.size}"
        )
    fin = np.isfinite(a) & np.isfinite(b)
    if np.any((a < 0) & fin) or np.any((b < 0) & fin):
        raise ValueError(
            "agonist and antagonist must be non-negative envelopes (rectify/envelope first)"
        )
    a = np.where(fin, a, 0.0)
    b = np.where(fin, b, 0.0)
    if method == "falconer_winter":
        num, den = 2.0 * b, a + b
    elif method == "overlap":
        num, den = 2.0 * np.minimum(a, b), a + b
    elif method == "rudolph":
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        with np.errstate(invalid="ignore", divide="ignore"):
            num = np.where(hi > 0, lo / np.where(hi > 0, hi, 1.0) * (lo + hi), 0.0)
        den = fin.astype(np.float64)
    else:
        raise ValueError(
            f"method must be 'falconer_winter', 'overlap' or 'rudolph'; got {method!r}"
        )
    scale = 1.0 if method == "rudolph" else 100.0
    if segments is None:
        s_num, s_den = float(num.sum()), float(den.sum())
        return scale * s_num / s_den if s_den > 0 else math.nan
    seg = np.asarray(segments, dtype=np.int64).reshape(-1, 2)
    if seg.size and (seg.min() < 0 or seg.max() > a.size or np.any(seg[:, 1] <= seg[:, 0])):
        raise ValueError(f"segments must be [start, end) ranges with 0 <= start < end <= {a.size}")
    cn = np.concatenate([[0.0], np.cumsum(num)])
    cd = np.concatenate([[0.0], np.cumsum(den)])
    sn = cn[seg[:, 1]] - cn[seg[:, 0]]
    sd = cd[seg[:, 1]] - cd[seg[:, 0]]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sd > 0, scale * sn / np.where(sd > 0, sd, 1.0), np.nan)


# --------------------------------------------------------------------------------------------
# flexion-relaxation


def _emg_index(i_angle: np.ndarray, fs_angle: float, fs_emg: float, n_emg: int) -> np.ndarray:
    return np.clip(np.round(i_angle * (fs_emg / fs_angle)).astype(np.int64), 0, n_emg)


def _check_same_duration(n_a: int, fs_a: float, n_e: int, fs_e: float, tol_s: float = 1.0) -> None:
    da, de = n_a / fs_a, n_e / fs_e
    if abs(da - de) > tol_s:
        raise ValueError(
            f"angle ({da:.3f} s) and emg ({de:.3f} s) must cover the same time "
            f"(within {tol_s} s): different lengths or sampling rates?"
        )


@dataclasses.dataclass(frozen=True)
class FlexionRelaxation(Result):
    """Flexion-relaxation per forward bend (rows) and EMG channel (columns).

    Phases (angle sample indices and seconds): flexion ``[move_start, full_start)``, full flexion
    ``[full_start, full_end]`` (the peak plateau), re-extension ``(full_end, move_end]``.
    ``frr = flexion_max / full_flexion_mean``; ``err = extension_max / full_flexion_mean``.
    """

    fs_angle: float
    fs_emg: float
    move_start_s: np.ndarray
    full_start_s: np.ndarray
    full_end_s: np.ndarray
    move_end_s: np.ndarray
    peak_deg: np.ndarray
    flexion_max: np.ndarray
    full_flexion_mean: np.ndarray
    extension_max: np.ndarray
    frr: np.ndarray
    err: np.ndarray

    @property
    def count(self) -> int:
        """Number of forward bends."""
        return int(self.move_start_s.size)


def flexion_relaxation(
    angle: npt.ArrayLike,
    fs_angle: float,
    emg_amplitude: npt.ArrayLike,
    fs_emg: float,
    hysteresis_deg: float = 10.0,
    plateau_deg: float = 2.0,
    min_full_flexion_s: float = 0.3,
) -> FlexionRelaxation:
    """Flexion-relaxation ratio (FRR) of the erector spinae, per forward bend.

    ``FRR = max EMG amplitude in the flexion phase / mean EMG amplitude at full flexion`` and
    ``ERR = max EMG amplitude in the re-extension phase / mean EMG amplitude at full flexion``, the
    flexion- and extension-relaxation ratios as Neblett, Mayer, Gatchel, Keeley, Proctor & Anagnostis
    2003 define them ("Quantifying the lumbar flexion-relaxation phenomenon", Spine 28(13):1435-1446;
    review: Colloca & Hinrichs 2005, J. Manipulative Physiol. Ther. 28(8):623-631). **Watson,
    Booker, Main & Chen 1997** ("Surface electromyography in the identification of chronic low back
    pain patients: the development of the flexion relaxation ratio", Clin. Biomech. 12(3):165-171)
    named "FRR" the re-extension ratio: their FRR is the ``err`` field here. A high ratio means the
    muscle relaxes at full flexion (the flexion-relaxation phenomenon); values near 1 mean it stays
    active.

    Phase detection from the lumbar angle: forward bends are the cycles of :func:`repetitions`
    (hysteresis ``hysteresis_deg``); flexion runs from the departure from standing to the start
    of the peak plateau (angle within ``plateau_deg`` of the bend's peak = full flexion), then
    re-extension to the return to standing. Bends whose full-flexion period is shorter than
    ``min_full_flexion_s`` are dropped (no reliable relaxation reading).

    Parameters
    ----------
    angle : array_like, shape (n_samples,)
        Lumbar flexion angle in degrees (flexion positive).
    fs_angle : float
        Angle sampling rate in Hz.
    emg_amplitude : array_like, shape (n_emg,) or (n_emg, n_channels)
        Erector-spinae amplitude (e.g. :func:`emg_amplitude`; Watson et al. used 1-s RMS), at
        ``fs_emg``, covering the same time as ``angle`` (within 1 s).
    fs_emg : float
        EMG sampling rate in Hz.
    hysteresis_deg, plateau_deg : float
        Turning-point hysteresis and full-flexion band in degrees. Defaults 10 and 2 deg.
    min_full_flexion_s : float
        Shortest full-flexion period, seconds. Default 0.3 s.

    Returns
    -------
    FlexionRelaxation
        Arrays (n_bends,) for the phases and (n_bends, n_channels) (or (n_bends,) for 1-D EMG)
        for the amplitudes; empty when there is no forward bend. A zero full-flexion mean gives
        ``inf`` ratios.
    """
    fs_a = _check_fs(fs_angle, "fs_angle")
    fs_e = _check_fs(fs_emg, "fs_emg")
    a = _angle_1d(angle)
    e2, was_1d = _emg_2d(emg_amplitude, "emg_amplitude")
    _check_same_duration(a.size, fs_a, e2.shape[0], fs_e)
    minf = _check_pos("min_full_flexion_s", min_full_flexion_s, allow_zero=True)
    reps = repetitions(a, fs_a, hysteresis_deg=hysteresis_deg, plateau_deg=plateau_deg)
    keep = (reps.peak_last_index - reps.peak_first_index + 1) / fs_a >= minf
    ms, fs_i, fe_i, me = (
        reps.move_start_index[keep],
        reps.peak_first_index[keep],
        reps.peak_last_index[keep],
        reps.move_end_index[keep],
    )
    n_e, _ = e2.shape
    ems, efs, efe, eme = (_emg_index(v, fs_a, fs_e, n_e) for v in (ms, fs_i, fe_i + 1, me + 1))
    # per bend and channel, over the finite samples (NaN for a phase that is empty or lost in a
    # NaN run); one C++ pass per phase
    fmax = _core.segment_stats(e2, np.column_stack([ems, np.maximum(efs, ems)]))["max"]
    fmean = _core.segment_stats(e2, np.column_stack([efs, np.maximum(efe, efs)]))["mean"]
    emax = _core.segment_stats(e2, np.column_stack([efe, np.maximum(eme, efe)]))["max"]
    with np.errstate(divide="ignore", invalid="ignore"):
        frr, err = fmax / fmean, emax / fmean
    sq = (lambda v: v[:, 0]) if was_1d else (lambda v: v)
    return FlexionRelaxation(
        fs_angle=fs_a,
        fs_emg=fs_e,
        move_start_s=ms / fs_a,
        full_start_s=fs_i / fs_a,
        full_end_s=(fe_i + 1) / fs_a,
        move_end_s=(me + 1) / fs_a,
        peak_deg=reps.peak_deg[keep],
        flexion_max=sq(fmax),
        full_flexion_mean=sq(fmean),
        extension_max=sq(emax),
        frr=sq(frr),
        err=sq(err),
    )


# --------------------------------------------------------------------------------------------
# exercise timing (PNF)


@dataclasses.dataclass(frozen=True)
class PnfTiming(Result):
    """PNF contract-relax / hold-relax timing.

    Stretch phases (``stretch_*``, one entry per stretch, angle samples) and contraction phases
    (``contraction_*``, one entry per contraction, EMG samples). ``contraction_stretch`` is the
    index of the stretch a contraction starts in (-1: outside any stretch);
    ``contraction_delay_s`` is the time from that stretch's onset to the contraction's onset.
    ``stretch_delay_s`` is the delay to the first contraction in each stretch (NaN if none).
    ``*_ok`` flag values inside the configured windows.
    """

    fs_angle: float
    fs_emg: float
    duration_window_s: tuple[float, float]
    delay_window_s: tuple[float, float]
    threshold: float
    stretch_start_index: np.ndarray
    stretch_end_index: np.ndarray
    stretch_start_s: np.ndarray
    stretch_end_s: np.ndarray
    stretch_mean_deg: np.ndarray
    stretch_delay_s: np.ndarray
    stretch_delay_ok: np.ndarray
    stretch_n_contractions: np.ndarray
    contraction_start_index: np.ndarray
    contraction_end_index: np.ndarray
    contraction_start_s: np.ndarray
    contraction_end_s: np.ndarray
    contraction_duration_s: np.ndarray
    contraction_duration_ok: np.ndarray
    contraction_stretch: np.ndarray
    contraction_delay_s: np.ndarray


def _emg_thresholds(
    x: np.ndarray,
    fs: float,
    k_sd: float,
    rest: tuple[float, float] | None,
    rest_window_s: float,
    min_fraction: float,
) -> tuple[float, float]:
    if rest is None:
        mu, sd = _quiet_stats(x, max(2, round(rest_window_s * fs)))
    else:
        mu, sd = _window_stats(x, fs, rest, "rest")
    fx = x[np.isfinite(x)]
    top = float(np.percentile(fx, 99)) if fx.size else mu
    high = mu + max(k_sd * sd, min_fraction * max(top - mu, 0.0))
    low = mu + 0.5 * (high - mu)
    return high, low


def pnf_timing(
    angle: npt.ArrayLike,
    fs_angle: float,
    emg_amplitude: npt.ArrayLike,
    fs_emg: float,
    stretch_min_deg: float | None = None,
    tolerance_deg: float = 3.0,
    min_stretch_s: float = 2.0,
    threshold: float | None = None,
    k_sd: float = 3.0,
    min_fraction: float = 0.1,
    rest: tuple[float, float] | None = None,
    min_contraction_s: float = 0.5,
    min_gap_s: float = 0.2,
    duration_window_s: tuple[float, float] = (2.0, 4.0),
    delay_window_s: tuple[float, float] = (2.0, 4.0),
) -> PnfTiming:
    """Timing of a PNF contract-relax or hold-relax sequence, checked against the protocol.

    PNF stretching alternates a passive stretch to end range with an isometric contraction of the
    stretched muscle, then relaxation and further stretch (Sharman, Cresswell & Riek 2006,
    "Proprioceptive neuromuscular facilitation stretching: mechanisms and clinical
    implications", Sports Med. 36(11):929-939). Here:

    - **stretch phases** are holds of the angle (:func:`holds`, ``tolerance_deg``, at least
      ``min_stretch_s``) whose mean angle is at least ``stretch_min_deg`` (default: halfway
      between the 5th and 95th percentiles of the angle); stretch onset is the hold's start;
    - **contraction phases** are runs where the EMG amplitude exceeds a threshold (C++
      hysteresis segments): ``high = mu + max(k_sd * sd, min_fraction * (p99 - mu))`` from the
      rest mean/SD ``mu``/``sd`` (quietest 1-s block, or ``rest``) and the 99th percentile, the
      run extending down to ``low = (mu + high) / 2``; or ``threshold`` as ``high`` (low = the
      midpoint to the rest mean);
    - each contraction's duration is flagged against ``duration_window_s`` and the delay from
      stretch onset to the first contraction against ``delay_window_s`` (defaults 2-4 s).

    Parameters
    ----------
    angle : array_like, shape (n_samples,)
        Angle in degrees (stretch direction positive).
    fs_angle : float
        Angle sampling rate in Hz.
    emg_amplitude : array_like, shape (n_emg,)
        Amplitude (envelope or RMS) of the contracting muscle, at ``fs_emg``, same duration as
        ``angle`` (within 1 s).
    fs_emg : float
        EMG sampling rate in Hz.
    min_contraction_s, min_gap_s : float
        Shortest contraction and longest bridged dip, seconds. Defaults 0.5 and 0.2 s.

    Returns
    -------
    PnfTiming
        Empty tables when there is no stretch / no contraction.
    """
    fs_a = _check_fs(fs_angle, "fs_angle")
    fs_e = _check_fs(fs_emg, "fs_emg")
    a = _angle_1d(angle)
    e = _angle_1d(emg_amplitude, "emg_amplitude")
    _check_same_duration(a.size, fs_a, e.size, fs_e)
    dwin = (float(duration_window_s[0]), float(duration_window_s[1]))
    lwin = (float(delay_window_s[0]), float(delay_window_s[1]))
    for nm, w in (("duration_window_s", dwin), ("delay_window_s", lwin)):
        if not (0 <= w[0] <= w[1]):
            raise ValueError(f"{nm} must be (lo, hi) with 0 <= lo <= hi; got {w}")
    h = holds(a, fs_a, tolerance_deg=tolerance_deg, min_duration_s=min_stretch_s)
    if stretch_min_deg is None:
        fa = a[np.isfinite(a)]
        if fa.size == 0:
            raise ValueError("angle has no finite samples")
        p5, p95 = np.percentile(fa, [5, 95])
        stretch_min_deg = 0.5 * (p5 + p95)
    sel = h.mean_deg >= float(stretch_min_deg)
    ss, se = h.start_index[sel], h.end_index[sel]
    if threshold is None:
        high, low = _emg_thresholds(
            e,
            fs_e,
            _check_pos("k_sd", k_sd, allow_zero=True),
            rest,
            1.0,
            _check_pos("min_fraction", min_fraction, allow_zero=True),
        )
    else:
        high = float(threshold)
        mu, _ = _quiet_stats(e, max(2, round(fs_e)))
        low = min(high, mu + 0.5 * (high - mu))
    seg = _core.find_active_segments(
        e,
        high,
        low,
        max(1, round(_check_pos("min_contraction_s", min_contraction_s) * fs_e)),
        round(_check_pos("min_gap_s", min_gap_s, allow_zero=True) * fs_e),
    )
    cs, ce = seg[:, 0], seg[:, 1]
    cs_s, ce_s = cs / fs_e, ce / fs_e
    st_s, en_s = ss / fs_a, se / fs_a
    # stretch containing each contraction onset
    nstr = st_s.size
    if nstr:
        k = np.searchsorted(st_s, cs_s, side="right") - 1
        kk = np.clip(k, 0, nstr - 1)
        inside = (k >= 0) & (cs_s < en_s[kk])
        cdelay = np.where(inside, cs_s - st_s[kk], np.nan)
    else:
        kk = np.zeros(cs.size, np.int64)
        inside = np.zeros(cs.size, bool)
        cdelay = np.full(cs.size, np.nan)
    cst = np.where(inside, kk, -1)
    dur = ce_s - cs_s
    sdelay = np.full(nstr, np.nan)
    ncon = np.zeros(nstr, np.int64)
    if cs.size:
        np.add.at(ncon, cst[cst >= 0], 1)
        for i in range(nstr):  # first contraction per stretch (one lookup per stretch)
            m = np.flatnonzero(cst == i)
            if m.size:
                sdelay[i] = cdelay[m[0]]
    return PnfTiming(
        fs_angle=fs_a,
        fs_emg=fs_e,
        duration_window_s=dwin,
        delay_window_s=lwin,
        threshold=float(high),
        stretch_start_index=ss,
        stretch_end_index=se,
        stretch_start_s=st_s,
        stretch_end_s=en_s,
        stretch_mean_deg=h.mean_deg[sel],
        stretch_delay_s=sdelay,
        stretch_delay_ok=(sdelay >= lwin[0]) & (sdelay <= lwin[1]),
        stretch_n_contractions=ncon,
        contraction_start_index=cs,
        contraction_end_index=ce,
        contraction_start_s=cs_s,
        contraction_end_s=ce_s,
        contraction_duration_s=dur,
        contraction_duration_ok=(dur >= dwin[0]) & (dur <= dwin[1]),
        contraction_stretch=cst,
        contraction_delay_s=cdelay,
    )


# --------------------------------------------------------------------------------------------
# fatigue


@dataclasses.dataclass(frozen=True)
class SpectralFatigue(Result):
    """Spectral fatigue indices of EMG in sliding windows, and their trend.

    ``time_s`` (n_windows,) is each window's centre; ``mnf_hz``/``mdf_hz`` are (n_windows,
    n_channels) (or (n_windows,) for 1-D input). Slopes come from a least-squares line over the
    finite windows: ``*_slope_hz_s`` in Hz/s, ``*_slope_pct_s`` in %/s of the fitted value at the
    first window (``*_initial_hz``), as Mannion & Dolan (1994) normalise.
    """

    fs: float
    window_s: float
    step_s: float
    band_hz: tuple[float, float]
    time_s: np.ndarray
    mnf_hz: np.ndarray
    mdf_hz: np.ndarray
    mnf_initial_hz: np.ndarray
    mdf_initial_hz: np.ndarray
    mnf_slope_hz_s: np.ndarray
    mdf_slope_hz_s: np.ndarray
    mnf_slope_pct_s: np.ndarray
    mdf_slope_pct_s: np.ndarray


_FATIGUE_BLOCK_VALUES = 1 << 20  # values per block of windows (4-8 MB of frames)
_RFFT: tuple[Any, bool] | None = None


def _rfft_impl() -> tuple[Any, bool]:
    """The real FFT along axis 1 of (windows, samples, channels) used by :func:`spectral_fatigue`, and whether float32
    windows stay float32 for it: ``numpy.fft.rfft`` on float64 windows.

    SciPy is not used at run time (numpy is kinemyo's only numeric dependency), although
    ``scipy.fft`` measured 2x faster here; NumPy < 2 computes float32 FFTs in double anyway, and
    NumPy 2.4's float32 transform measured 1.5x slower than its float64 one."""
    global _RFFT
    if _RFFT is None:

        def rfft(a: np.ndarray) -> np.ndarray:
            return np.fft.rfft(a, axis=1)

        _RFFT = (rfft, False)
    return _RFFT


_SQRT_HALF = math.sqrt(0.5)


def _linfit(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares slope and value at t[0] per column, over finite entries (NaN if < 2)."""
    m = np.isfinite(y)
    n = m.sum(axis=0)
    tt = np.where(m, t[:, None], 0.0)
    yy = np.where(m, y, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        tm = tt.sum(axis=0) / n
        ym = yy.sum(axis=0) / n
        dt = np.where(m, t[:, None] - tm, 0.0)
        slope = (dt * (yy - ym)).sum(axis=0) / (dt * dt).sum(axis=0)
        y0 = ym + slope * (t[0] - tm) if t.size else ym
    bad = n < 2
    slope[bad] = np.nan
    y0[bad] = np.nan
    return slope, y0


def spectral_fatigue(
    emg: npt.ArrayLike,
    fs: float,
    window_s: float = 1.0,
    step_s: float | None = None,
    band_hz: tuple[float, float] = (20.0, 450.0),
    max_block_values: int = 8_000_000,
) -> SpectralFatigue:
    """Mean and median frequency of EMG in sliding windows and their slopes over time.

    The spectral fatigue indices of the Biering-Sorensen test (Biering-Sorensen 1984, Spine
    9(2):106-119): during a sustained contraction the EMG spectrum compresses and the median
    frequency (MDF) and mean frequency (MNF) fall roughly linearly; the slope, normalised to the
    initial value, indexes fatigue (Mannion & Dolan 1994, "Electromyographic median frequency
    changes during isometric contraction of the back extensors to fatigue", Spine
    19(11):1223-1229; Merletti, Knaflitz & De Luca 1990, J. Appl. Physiol. 69(5):1810-1820).

    Per window (mean removed, Hann taper ``numpy.hanning``, periodogram), within ``band_hz``:
    ``MNF = sum(f P) / sum(P)``; ``MDF`` = the frequency splitting the band power in halves
    (linear interpolation of the cumulative power, each bin's power spread over +-df/2). The
    windows and the moments are computed in the C++ core (sums in double); the FFT is
    ``numpy.fft.rfft`` on float64 windows (see :func:`_rfft_impl`). Agreement with
    ``scipy.signal.periodogram`` per window: 1e-10 relative for float64 EMG, 1e-3 Hz for float32.

    Parameters
    ----------
    emg : array_like, shape (n_samples,) or (n_samples, n_channels)
        Raw (band-passed) EMG.
    fs : float
        Sampling rate in Hz.
    window_s : float
        Window length in seconds (0.5-1 s is usual). Default 1 s.
    step_s : float, optional
        Window step in seconds. Default ``window_s`` (non-overlapping, as most Biering-Sorensen
        analyses; use e.g. ``window_s / 2`` for 50 % overlap).
    band_hz : (float, float)
        Frequency band in Hz; clipped to ``[0, fs/2]``. Default 20-450 Hz.
    max_block_values : int
        Memory bound: windows are transformed in blocks of at most about this many values (and
        of at most 2**20 values, which keeps a block in cache between the passes).

    Returns
    -------
    SpectralFatigue
        A window with a non-finite sample, or without power in the band, gives NaN and is left
        out of the slopes. A recording shorter than one window gives no window (empty arrays)
        and NaN slopes.

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal((60_000, 2))   # 30 s at 2 kHz
    >>> res = spectral_fatigue(x, fs=2000.0)
    >>> res.mdf_hz.shape, bool(abs(res.mdf_slope_hz_s[0]) < 0.5)
    ((30, 2), True)
    """
    fs = _check_fs(fs)
    x2, was_1d = _emg_2d(emg)
    dt = np.float32 if x2.dtype == np.float32 else np.float64
    x2 = x2.astype(dt, copy=False)
    nw = round(_check_pos("window_s", window_s) * fs)
    if nw < 4:
        raise ValueError(f"window_s must span at least 4 samples; got {nw}")
    st = nw if step_s is None else round(_check_pos("step_s", step_s) * fs)
    if st < 1:
        raise ValueError(f"step_s must be at least one sample; got {step_s}")
    f_lo, f_hi = float(band_hz[0]), min(float(band_hz[1]), fs / 2)
    if not (0 <= f_lo < f_hi):
        raise ValueError(f"band_hz must be (lo, hi) with 0 <= lo < hi and lo < fs/2; got {band_hz}")
    n, c = x2.shape
    n_win = 0 if n < nw else (n - nw) // st + 1
    freqs = np.fft.rfftfreq(nw, 1.0 / fs)
    band = np.flatnonzero((freqs >= f_lo) & (freqs <= f_hi))
    if band.size < 2:
        raise ValueError(
            f"band_hz {band_hz} holds fewer than 2 frequency bins at this window length"
        )
    b0, b1 = int(band[0]), int(band[-1]) + 1
    fb = np.ascontiguousarray(freqs[b0:b1])
    df = float(fb[1] - fb[0])
    taper = np.hanning(nw)
    rfft, keep_f32 = _rfft_impl()
    mnf = np.empty((n_win, c))
    mdf = np.empty((n_win, c))
    # Blocks of windows small enough to stay in cache between the three passes below.
    blk = max(1, min(int(max_block_values), _FATIGUE_BLOCK_VALUES) // max(1, nw * c))
    for w0 in range(0, n_win, blk):
        k = min(blk, n_win - w0)
        # (k, nw, c): mean removed, Hann taper, time-major like the signal (C++)
        fr = _core.spectral_frames(x2, nw, st, w0, k, taper, not keep_f32)
        spec = rfft(fr)  # (k, n_bins, c)
        # one-sided periodogram: every bin counts twice except DC and, for an even window, the
        # Nyquist bin (they have no mirror image): scale those two by 1/sqrt(2) in power terms,
        # as scipy.signal.periodogram does (review: MNF/MDF were off by ~2e-5 relative when the
        # band reaches fs/2)
        if b0 == 0:
            spec[:, 0, :] *= _SQRT_HALF
        if nw % 2 == 0 and b1 == spec.shape[1]:
            spec[:, -1, :] *= _SQRT_HALF
        # |X|^2 over the band, MNF and MDF per (window, channel), sums in double (C++)
        mnf[w0 : w0 + k], mdf[w0 : w0 + k] = _core.spectral_moments(spec, b0, b1, fb, df)
    t = (np.arange(n_win) * st + nw / 2) / fs
    s_mnf, i_mnf = _linfit(t, mnf)
    s_mdf, i_mdf = _linfit(t, mdf)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_mnf, p_mdf = 100 * s_mnf / i_mnf, 100 * s_mdf / i_mdf
    sq = (lambda v: v[..., 0]) if was_1d else (lambda v: v)
    return SpectralFatigue(
        fs=fs,
        window_s=nw / fs,
        step_s=st / fs,
        band_hz=(f_lo, f_hi),
        time_s=t,
        mnf_hz=sq(mnf),
        mdf_hz=sq(mdf),
        mnf_initial_hz=sq(i_mnf),
        mdf_initial_hz=sq(i_mdf),
        mnf_slope_hz_s=sq(s_mnf),
        mdf_slope_hz_s=sq(s_mdf),
        mnf_slope_pct_s=sq(p_mnf),
        mdf_slope_pct_s=sq(p_mdf),
    )

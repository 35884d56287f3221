"""Clinical measures of the lumbar angle used by the pipeline: range of motion, holds, repetitions.

Vectorised NumPy over the whole recording (no per-sample Python loops).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .. import filters

__all__ = ["Hold", "Repetition", "find_holds", "find_repetitions", "range_of_motion"]


@dataclasses.dataclass
class Hold:
    """A static period of the lumbar flexion angle."""

    start: int
    end: int
    start_s: float
    end_s: float
    duration_s: float
    mean_deg: float
    over_limit: bool
    time_over_limit_s: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Repetition:
    """One flexion–extension cycle: from a trough through a peak back to a trough."""

    start: int
    peak: int
    end: int
    start_s: float
    peak_s: float
    end_s: float
    amplitude_deg: float
    peak_deg: float
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def range_of_motion(angles: np.ndarray) -> dict[str, float]:
    """Range of motion per angle (degrees): min, max, max - min; NaN-aware."""
    out: dict[str, float] = {}
    for k, name in enumerate(("flexion", "lateral", "axial")[: angles.shape[1]]):
        col = angles[:, k]
        if np.isfinite(col).any():
            lo, hi = float(np.nanmin(col)), float(np.nanmax(col))
            out.update({f"{name}_min_deg": lo, f"{name}_max_deg": hi, f"{name}_rom_deg": hi - lo})
    return out


def _smooth(x: np.ndarray, fs: float, hz: float) -> np.ndarray:
    ok = np.isfinite(x)
    if ok.sum() < 20:
        return x
    y = np.interp(np.arange(len(x)), np.flatnonzero(ok), x[ok])
    return filters.sosfiltfilt(filters.butter(2, min(hz, 0.4 * fs), fs), y)


def find_holds(angle_deg: np.ndarray, fs: float, tolerance_deg: float = 3.0, min_duration_s: float = 2.0,
               limit_s: float = 30.0, min_abs_deg: float = 10.0) -> list[Hold]:
    """Static holds of the angle: maximal periods covered by windows of ``min_duration_s`` in which
    the (1 Hz low-passed) angle stays within a band of ``2 * tolerance_deg``, whose whole range
    stays within ``2 * tolerance_deg`` too, at an angle of at least ``min_abs_deg`` in magnitude (so
    that neutral standing is not a hold). Holds longer than ``limit_s`` (default 30 s, the usual
    ceiling of a static stretch hold) are flagged, with the time spent beyond it.
    """
    a = _smooth(np.asarray(angle_deg, dtype=float), fs, 1.0)
    step = max(1, int(fs // 10))  # evaluate at ~10 Hz: plenty for 1 Hz content
    ad = a[::step]
    w = max(2, round(min_duration_s * fs / step))
    if len(ad) < w:
        return []
    win = np.lib.stride_tricks.sliding_window_view(ad, w)
    ok = (win.max(axis=1) - win.min(axis=1)) <= 2 * tolerance_deg
    # union of the qualifying windows: coverage count by a difference array
    cover = np.zeros(len(ad) + 1)
    starts = np.flatnonzero(ok)
    np.add.at(cover, starts, 1)
    np.add.at(cover, starts + w, -1)
    covered = np.cumsum(cover)[:-1] > 0
    m = np.concatenate([[False], covered, [False]])
    runs = np.flatnonzero(m[1:] != m[:-1]).reshape(-1, 2)
    holds = []
    for s_d, e_d in runs:
        s, e = int(s_d * step), int(min(len(a), e_d * step))
        seg = a[s:e]
        if len(seg) == 0:
            continue
        # the windows' union may include the ends of the movements into and out of the hold:
        # keep the longest run within +-tolerance of the region's median
        inside = np.abs(seg - np.nanmedian(seg)) <= tolerance_deg
        mm = np.concatenate([[False], inside, [False]])
        rr = np.flatnonzero(mm[1:] != mm[:-1]).reshape(-1, 2)
        if len(rr) == 0:
            continue
        k = int(np.argmax(rr[:, 1] - rr[:, 0]))
        s, e = s + int(rr[k, 0]), s + int(rr[k, 1])
        seg = a[s:e]
        if (e - s) < min_duration_s * fs or abs(np.nanmean(seg)) < min_abs_deg:
            continue
        dur = (e - s) / fs
        holds.append(Hold(s, e, s / fs, e / fs, dur, float(np.nanmean(seg)), dur > limit_s, max(0.0, dur - limit_s)))
    return holds


def find_repetitions(angle_deg: np.ndarray, fs: float, min_amplitude_deg: float = 10.0) -> list[Repetition]:
    """Flexion–extension cycles of the (2 Hz low-passed) angle, robust to small wobbles.

    Turning points are found with hysteresis: an extremum counts only after the angle has moved
    ``min_amplitude_deg / 2`` back from it (a zig-zag / "peak-valley with hysteresis" detector), so
    wobbles smaller than that never split a cycle. A repetition is trough → peak → trough with the
    rise and the return each at least ``min_amplitude_deg``.
    """
    a = _smooth(np.asarray(angle_deg, dtype=float), fs, 2.0)
    if len(a) < 3:
        return []
    h = min_amplitude_deg / 2.0
    # zig-zag turning points, vectorised via running extrema between reversals: a short loop over
    # candidate extrema (local maxima/minima), not over samples
    da = np.diff(a)
    sign = np.sign(da)
    sign[sign == 0] = 1
    idx = np.flatnonzero(np.diff(sign) != 0) + 1
    cand = np.concatenate([[0], idx, [len(a) - 1]])
    turns: list[int] = []
    kinds: list[int] = []  # +1 peak, -1 trough
    lo = hi = int(cand[0])
    for i in cand[1:].tolist():
        if not turns:  # direction not known yet: track the running extremes
            if a[i] < a[lo]:
                lo = i
            if a[i] > a[hi]:
                hi = i
            if a[i] - a[lo] >= h:
                turns, kinds = [lo, i], [-1, 1]
            elif a[hi] - a[i] >= h:
                turns, kinds = [hi, i], [1, -1]
            continue
        last, k = turns[-1], kinds[-1]
        if k == 1:
            if a[i] > a[last]:
                turns[-1] = i
            elif a[last] - a[i] >= h:
                turns.append(i)
                kinds.append(-1)
        else:
            if a[i] < a[last]:
                turns[-1] = i
            elif a[i] - a[last] >= h:
                turns.append(i)
                kinds.append(1)
    reps = []
    for j in range(1, len(turns) - 1):
        if kinds[j] != 1 or kinds[j - 1] != -1 or kinds[j + 1] != -1:
            continue
        s, p, e = turns[j - 1], turns[j], turns[j + 1]
        rise, ret = a[p] - a[s], a[p] - a[e]
        if rise >= min_amplitude_deg and ret >= min_amplitude_deg:
            reps.append(Repetition(int(s), int(p), int(e), s / fs, p / fs, e / fs, float(min(rise, ret)),
                                   float(a[p]), (e - s) / fs))
    return reps

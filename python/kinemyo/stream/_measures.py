"""Causal (online) versions of the lumbar measures: holds, repetitions, movement onsets.

They see each angle sample once, keep O(1) state per sample (a few seconds of history at most)
and report an event as soon as it is certain. They follow the offline definitions in
:mod:`kinemyo.metrics` as far as causality allows; the differences are listed per class and in
docs/stream.md.
"""

from __future__ import annotations

import collections
import math
from typing import Any

__all__ = ["OnlineHolds", "OnlineMovementOnsets", "OnlineRepetitions"]

Event = dict[str, Any]


class OnlineHolds:
    """Static holds of an angle, reported while they happen.

    Definition (as :func:`kinemyo.metrics.holds`, made causal): a hold starts when the angle has
    stayed within ``tolerance_deg`` (max - min) for ``min_duration_s``, at ``|mean| >=
    min_abs_deg`` (standing at neutral is not a hold, as in the pipeline). While it lasts, samples
    within ``tolerance_deg / 2`` of its running mean are "in"; it ends when no sample has been in
    for ``max_gap_s`` (so one noise spike does not cut it), at the last sample in. Start and end are
    trimmed to the first/last sample within ``tolerance_deg / 2`` of the mean, as offline.

    Events (``type``): ``hold_start`` (after ``min_duration_s``), ``hold_over_limit`` (when the
    hold passes ``limit_s``), ``hold_end`` (``max_gap_s`` after the end) with ``start_s``,
    ``end_s``, ``duration_s``, ``mean_deg``, ``over_limit``, ``over_limit_s``.

    Differences from offline: the offline joining of runs whose means differ by up to half the
    tolerance is replaced by the running-mean band; boundaries agree within ``max_gap_s``.
    """

    def __init__(self, fs: float, tolerance_deg: float = 3.0, min_duration_s: float = 2.0,
                 limit_s: float = 30.0, max_gap_s: float = 0.5, min_abs_deg: float = 10.0) -> None:
        if fs <= 0 or tolerance_deg <= 0 or min_duration_s <= 0 or limit_s < 0 or max_gap_s < 0:
            raise ValueError("fs, tolerance_deg and min_duration_s must be > 0; limit_s, max_gap_s >= 0")
        self.fs = float(fs)
        self.tol = float(tolerance_deg)
        self.n_min = max(1, math.ceil(min_duration_s * fs))
        self.limit_s = float(limit_s)
        self.n_gap = round(max_gap_s * fs)
        self.min_abs = float(min_abs_deg)
        self.reset()

    def reset(self) -> None:
        """Forget everything (e.g. after a long gap in the data)."""
        self._i = 0
        self._win: collections.deque[tuple[int, float]] = collections.deque()
        self._maxq: collections.deque[tuple[int, float]] = collections.deque()
        self._minq: collections.deque[tuple[int, float]] = collections.deque()
        self._win_sum = 0.0
        self._holding = False
        self._sum = 0.0
        self._count = 0
        self._start = 0
        self._last_in = 0
        self._over = False

    @property
    def active(self) -> bool:
        """True while a hold is going on."""
        return self._holding

    def current(self, t0: float = 0.0) -> Event | None:
        """The hold going on now (``start_s``, ``duration_s``, ``mean_deg``), or None."""
        if not self._holding:
            return None
        return {"start_s": t0 + self._start / self.fs, "duration_s": (self._i - self._start) / self.fs,
                "mean_deg": self._sum / max(self._count, 1)}

    def update(self, a: float, t0: float = 0.0) -> list[Event]:
        """Feed one angle sample (degrees; NaN is ignored); return the events it completes.
        ``t0`` is added to every reported time."""
        i = self._i
        self._i += 1
        if not math.isfinite(a):
            return []
        out: list[Event] = []
        if self._holding:
            mean = self._sum / self._count
            if abs(a - mean) <= self.tol / 2:
                self._last_in = i
                self._sum += a
                self._count += 1
            dur = (self._last_in + 1 - self._start) / self.fs
            if not self._over and dur > self.limit_s:
                self._over = True
                out.append({"type": "hold_over_limit", "time_s": t0 + i / self.fs,
                            "start_s": t0 + self._start / self.fs, "mean_deg": mean, "limit_s": self.limit_s})
            if i - self._last_in > self.n_gap:
                out.append(self._end(t0))
                self._holding = False
                self._clear_window()
            return out
        # searching: sliding window whose range stays within the tolerance (monotonic deques)
        self._win.append((i, a))
        self._win_sum += a
        while self._maxq and self._maxq[-1][1] <= a:
            self._maxq.pop()
        self._maxq.append((i, a))
        while self._minq and self._minq[-1][1] >= a:
            self._minq.pop()
        self._minq.append((i, a))
        while self._maxq[0][1] - self._minq[0][1] > self.tol:
            self._drop_oldest()
        if len(self._win) >= self.n_min:
            mean = self._win_sum / len(self._win)
            if abs(mean) >= self.min_abs:
                inside = [(j, v) for j, v in self._win if abs(v - mean) <= self.tol / 2]
                self._holding = True
                self._over = False
                self._start = inside[0][0]
                self._last_in = inside[-1][0]
                self._sum = sum(v for _, v in inside)
                self._count = len(inside)
                out.append({"type": "hold_start", "time_s": t0 + i / self.fs, "start_s": t0 + self._start / self.fs,
                            "mean_deg": self._sum / self._count})
            else:  # a long quiet stretch at neutral: keep the window bounded
                self._drop_oldest()
        return out

    def _drop_oldest(self) -> None:
        j, v = self._win.popleft()
        self._win_sum -= v
        if self._maxq[0][0] == j:
            self._maxq.popleft()
        if self._minq[0][0] == j:
            self._minq.popleft()

    def finish(self, t0: float = 0.0) -> list[Event]:
        """End of stream: close a hold that is going on."""
        out = [self._end(t0)] if self._holding else []
        self._holding = False
        self._clear_window()
        return out

    def _clear_window(self) -> None:
        self._win.clear()
        self._maxq.clear()
        self._minq.clear()
        self._win_sum = 0.0

    def _end(self, t0: float) -> Event:
        dur = (self._last_in + 1 - self._start) / self.fs
        return {"type": "hold_end", "time_s": t0 + self._i / self.fs, "start_s": t0 + self._start / self.fs,
                "end_s": t0 + (self._last_in + 1) / self.fs, "duration_s": dur,
                "mean_deg": self._sum / self._count, "over_limit": dur > self.limit_s,
                "over_limit_s": max(0.0, dur - self.limit_s)}


class OnlineRepetitions:
    """Repetitions of a cyclic movement (trough -> peak -> trough), counted as they complete.

    The turning-point detector with hysteresis of :func:`kinemyo.metrics.repetitions` (a peak is
    confirmed once the angle has fallen ``hysteresis_deg`` below it, a trough once it has risen
    ``hysteresis_deg`` above it). Causal addition: a trough is also confirmed when the angle has
    stayed within ``hysteresis_deg / 2`` of it for ``settle_s`` (the person is back at rest), so a
    bend is counted when it ends, not when the next one starts. A repetition whose amplitude (peak
    minus the mean of its troughs) is below ``min_amplitude_deg`` is not counted; one that overlaps
    a hold by more than half the hold is a hold, not a repetition (``holds`` tells, as in the
    pipeline).

    Event: ``repetition`` with ``count``, ``start_s``, ``peak_s``, ``end_s``, ``peak_deg``,
    ``amplitude_deg``, ``duration_s``. Times are those of the turning points.
    """

    def __init__(self, fs: float, hysteresis_deg: float = 5.0, min_amplitude_deg: float = 10.0,
                 settle_s: float = 1.0) -> None:
        if fs <= 0 or hysteresis_deg <= 0:
            raise ValueError("fs and hysteresis_deg must be > 0")
        self.fs = float(fs)
        self.h = float(hysteresis_deg)
        self.min_amp = float(min_amplitude_deg)
        self.n_settle = max(1, round(settle_s * fs))
        self.reset()

    def reset(self) -> None:
        """Forget everything (e.g. after a long gap in the data)."""
        self._i = 0
        self._dir = 0  # 0 unknown, +1 rising (tracking a peak), -1 falling (tracking a trough)
        self._hi = (-math.inf, 0)
        self._lo = (math.inf, 0)
        self._trough: tuple[float, int] | None = None
        self._peak: tuple[float, int] | None = None
        self._settle = 0
        self._settle_ref = 0.0
        self.count = 0

    def update(self, a: float, holds: list[tuple[float, float]] | None = None, t0: float = 0.0) -> list[Event]:
        """Feed one angle sample; ``holds`` are (start_s, end_s) of the holds so far (same time base
        as the events, ``t0`` included). Returns the repetitions completed."""
        i = self._i
        self._i += 1
        if not math.isfinite(a):
            return []
        h = self.h
        if self._dir == 0:
            if a > self._hi[0]:
                self._hi = (a, i)
            if a < self._lo[0]:
                self._lo = (a, i)
            if a >= self._lo[0] + h:
                self._trough, self._dir, self._hi = self._lo, 1, (a, i)
            elif a <= self._hi[0] - h:
                self._dir, self._lo = -1, (a, i)
            return []
        if self._dir == 1:
            if a > self._hi[0]:
                self._hi = (a, i)
            if a <= self._hi[0] - h:
                self._peak, self._dir, self._lo, self._settle = self._hi, -1, (a, i), 0
                self._settle_ref = a
            return []
        # falling: track the trough; confirm it by a rise or by settling at rest
        if a < self._lo[0]:
            self._lo = (a, i)
        if abs(a - self._settle_ref) <= h / 2:  # still within h/2 of where it came to rest
            self._settle += 1
        else:
            self._settle_ref, self._settle = a, 0
        if a >= self._lo[0] + h or self._settle >= self.n_settle:
            out = self._cycle(holds or [], t0)
            self._trough, self._dir, self._hi = self._lo, 1, (a, i)
            if a < self._lo[0] + h:  # settled: wait for the next rise from here
                self._dir, self._lo = 0, (a, i)
                self._hi = (a, i)
            return out
        return []

    def _cycle(self, holds: list[tuple[float, float]], t0: float) -> list[Event]:
        if self._trough is None or self._peak is None:
            return []
        (v0, i0), (vp, ip), (v1, i1) = self._trough, self._peak, self._lo
        self._peak = None
        amp = vp - 0.5 * (v0 + v1)
        start, end = t0 + i0 / self.fs, t0 + i1 / self.fs
        if amp < self.min_amp:
            return []
        if any(min(end, he) - max(start, hs) > 0.5 * (he - hs) for hs, he in holds):
            return []
        self.count += 1
        return [{"type": "repetition", "time_s": t0 + self._i / self.fs, "count": self.count, "start_s": start,
                 "peak_s": t0 + ip / self.fs, "end_s": end, "peak_deg": vp, "amplitude_deg": amp,
                 "duration_s": end - start}]


class OnlineMovementOnsets:
    """Movement onsets from the angular velocity of an angle, causally.

    As :func:`kinemyo.metrics.movement_phases` (Hodges & Bui 1996 threshold applied to angular
    velocity): the velocity comes from a causal 2nd-order Butterworth low-pass (``lowpass_hz``)
    and a first difference; a movement is a run with ``|v| > b`` that reaches ``high =
    max(b, min_velocity_deg_s)``; its onset is where ``|v|`` last rose above ``b``, moved back by
    the low-pass's group delay at DC (``sqrt(2) / (2 pi lowpass_hz)``, 45 ms at 5 Hz) so that the
    onset is not late. ``b = mean + k_sd * SD`` of ``|v|`` over the quietest ``rest_window_s``
    block of the rest samples given to :meth:`learn_rest` (as offline, where the block is sought in
    the whole recording; default ``b = 0.3 * min_velocity_deg_s`` until then).

    Event: ``movement_onset`` with ``onset_s``, ``direction`` (``flexion``/``extension``), reported
    when ``|v|`` reaches ``high``.
    """

    def __init__(self, fs: float, min_velocity_deg_s: float = 10.0, k_sd: float = 3.0,
                 lowpass_hz: float = 5.0, min_gap_s: float = 0.1, rest_window_s: float = 0.5) -> None:
        from .. import filters

        if fs <= 0 or lowpass_hz <= 0 or lowpass_hz >= fs / 2:
            raise ValueError("fs must be > 0 and 0 < lowpass_hz < fs/2")
        self.fs = float(fs)
        self.high_min = float(min_velocity_deg_s)
        self.k_sd = float(k_sd)
        self.rest_window_s = float(rest_window_s)
        self.delay_s = math.sqrt(2.0) / (2.0 * math.pi * lowpass_hz)
        self._lp = filters.SosFilter(filters.butter(2, lowpass_hz, fs), 1, init="steady")
        self.n_gap = max(1, round(min_gap_s * fs))
        self.b = 0.3 * self.high_min
        self.reset()

    def reset(self) -> None:
        self._lp.reset()
        self._i = 0
        self._prev: float | None = None
        self._rise: int | None = None  # where |v| last rose above b
        self._dir = 0
        self._fired = False
        self._below = 0

    def learn_rest(self, angles: Any) -> None:
        """Set the rest threshold from angle samples at rest (e.g. the neutral calibration window)."""
        import numpy as np

        from .. import filters

        a = np.asarray(angles, dtype=float)
        a = a[np.isfinite(a)]
        if a.size < 3:
            return
        lp = filters.SosFilter(self._lp.sos, 1, init="steady")
        v = np.abs(np.diff(lp(a[:, None])[:, 0])) * self.fs
        # as offline: the quietest rest_window_s block (postural sway elsewhere in the window
        # would raise the threshold and delay every onset)
        m = max(2, round(self.rest_window_s * self.fs))
        if v.size >= 2 * m:
            blocks = v[: v.size // m * m].reshape(-1, m)
            v = blocks[int(np.argmin(blocks.mean(axis=1)))]
        self.b = float(v.mean() + self.k_sd * v.std())

    def update(self, a: float, t0: float = 0.0) -> list[Event]:
        """Feed one angle sample; return the movement onsets it confirms."""
        import numpy as np

        i = self._i
        self._i += 1
        if not math.isfinite(a):
            return []
        y = float(self._lp(np.array([[a]]))[0, 0])
        if self._prev is None:
            self._prev = y
            return []
        v = (y - self._prev) * self.fs
        self._prev = y
        high = max(self.b, self.high_min)
        d = 1 if v > 0 else -1
        if abs(v) > self.b:
            if self._rise is None or d != self._dir:
                self._rise, self._dir, self._fired = i, d, False
            self._below = 0
        elif self._rise is not None:
            self._below += 1
            if self._below >= self.n_gap:
                self._rise = None
        if self._rise is not None and not self._fired and abs(v) >= high and d == self._dir:
            self._fired = True
            onset = max(0.0, self._rise / self.fs - self.delay_s)
            return [{"type": "movement_onset", "time_s": t0 + i / self.fs, "onset_s": t0 + onset,
                     "direction": "flexion" if d > 0 else "extension"}]
        return []

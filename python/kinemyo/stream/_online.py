"""The online pipeline: push chunks of EMG and IMU samples, get envelopes, lumbar angles and events.

This is the processing of :func:`kinemyo.pipeline.run` made causal, for live feedback, with no
dependency on Lab Streaming Layer (:mod:`kinemyo.stream` adds LSL inlets and outlets around it).
"""

from __future__ import annotations

import bisect
import collections
import dataclasses
import math
import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import filters, fusion, kinematics, onset, quaternion
from ..pipeline.config import PipelineConfig, load_config, parse_config
from ._measures import OnlineHolds, OnlineMovementOnsets, OnlineRepetitions

__all__ = ["OnlineOutput", "OnlinePipeline"]

Event = dict[str, Any]


@dataclasses.dataclass
class OnlineOutput:
    """What one :meth:`OnlinePipeline.push` produced (arrays may be empty).

    Attributes
    ----------
    envelope : (m, n_emg) EMG linear envelopes at ``envelope_fs`` (about 100 Hz)
    envelope_t : (m,) their times, s (session time: 0 = first sample pushed; with timestamps, the
        times of the samples they come from on the stream's fitted clock, see :class:`_Timeline`)
    angles : (k, 3) lumbar angles in degrees (flexion, lateral bending, axial rotation)
    angles_t : (k,) their times, s
    events : list of dicts, each with ``type`` and ``time_s`` (when it was decided), see
        docs/stream.md for the types and fields
    """

    envelope: np.ndarray
    envelope_t: np.ndarray
    angles: np.ndarray
    angles_t: np.ndarray
    events: list[Event]


# a timeline's output: (restart, data, times, the segment's clock line, segment index of data[0])
_Block = tuple[bool, np.ndarray, np.ndarray, "_ClockLine", int]


class _Timeline:
    """Per-stream time keeping: a clock model fitted to the timestamps, gaps, repeats, clock steps.

    Timestamps are judged against the sample count, not sample by sample: the stream's clock is
    modelled as ``t = offset + period * i`` (``i`` = samples since the segment's start, filled ones
    included), fitted by least squares with exponential forgetting (half-life ``HALFLIFE_S``) in
    blocks of ``BLOCK_S`` (so the fit follows a device clock that runs fast or slow, and a clock
    correction; the period stays within 10 % of the nominal one). Each sample's time is a
    dejittered time: within a block a line that starts where the previous block's ended and meets
    the fit at the block's end (continuous, strictly increasing, piecewise linear). With the jitter allowance ``J``
    (the peak-to-peak residual of the recent blocks, at most ``JITTER_MAX_S``; ``JITTER_MAX_S``
    until the first block has been measured):

    - a **gap** is a timestamp more than ``1.5 periods + J`` later than the model predicts for the
      next sample; ``round(delay / period)`` samples are missing. Up to ``max_fill_s`` they are
      filled by linear interpolation (and the model skips them); longer gaps restart the segment;
    - an **early** timestamp is more than ``3 periods + J`` earlier than predicted. If it and the
      sample's values equal those of a sample already received (the last ``REPEAT_S`` of stamped
      samples, or earlier in the chunk), it is a **repeat** (a chunk sent again): dropped and
      reported, and so are the samples after it while they repeat received ones (the end of a
      resent chunk is not early). Otherwise the sample is real and kept: a lone early stamp is an
      outlier (kept out of the fit), a second early sample in a row is a **clock step** (e.g. a
      clocksync re-estimate or an NTP step backwards): the fit is moved by its residual
      (re-anchored; the period estimate is kept) and the step reported. The samples' times stay
      continuous and strictly increasing and meet the moved fit from the next block on.

    So jitter, packets of samples stamped with one time, and a drifting or corrected device clock
    lose nothing and invent nothing, while a gap longer than the source's jitter is still found.
    Decisions and times do not depend on the chunking (blocks are fixed by sample index).
    """

    BLOCK_S = 0.25
    HALFLIFE_S = 10.0
    JITTER_MAX_S = 0.02
    JITTER_BLOCKS = 8
    REPEAT_S = 1.0   # received samples kept this long (s of samples) to recognise a resent chunk

    def __init__(self, name: str, fs: float, max_fill_s: float) -> None:
        self.name = name
        self.fs = float(fs)
        self.period = 1.0 / self.fs
        self.max_fill = max(0, math.floor(max_fill_s * fs))
        self.block = max(4, round(self.BLOCK_S * fs))
        self.forget = 0.5 ** (self.block / self.fs / self.HALFLIFE_S)
        self.n_gaps = 0
        self.n_missing = 0
        self.n_dropped = 0
        self.n_steps = 0
        self.jitter = self.JITTER_MAX_S
        self._spreads: collections.deque[float] = collections.deque(maxlen=self.JITTER_BLOCKS)
        self._rate = self.period       # period estimate, kept across restarts (the clock is the same)
        self._running = False          # a segment is going on
        self.last_raw: float | None = None
        self.last_x: np.ndarray | None = None
        self._n_plain = 0              # samples pushed without timestamps
        self._ar = np.arange(64, dtype=np.float64)
        self._early = False            # the last sample taken was stamped early (an outlier, or a step begins)
        self._resend = False           # the last sample was dropped as a repeat (a resent chunk goes on)
        self._hist: collections.deque[tuple[np.ndarray, np.ndarray]] = collections.deque()  # (stamps, data)
        self._hist_n = 0
        self._hist_max = max(self.block, round(self.REPEAT_S * self.fs))

    # ------------------------------------------------------------------ clock model
    def _start(self, t: float) -> None:
        self._running = True
        self.n = 0                      # index of the next sample in the segment
        self._k0, self._t0, self._slope = 0, t, self._rate   # the current block's line
        self.line = _ClockLine()
        self.line.add(0, t, self._rate)
        self._next = self.block         # index of the next block start
        self._w = self._mx = self._my = self._cxx = self._cxy = 0.0
        self._fit = (0.0, t, self._rate)   # the fitted line (mean index, mean time, period): predictions
        self._bi: list[np.ndarray | list[float]] = []   # the current block's samples (index, timestamp)
        self._bt: list[np.ndarray | list[float]] = []
        self._early = self._resend = False

    def _at(self, i: np.ndarray | float) -> Any:
        """The samples' times: the current block's line (continuous with the previous block's)."""
        return self._t0 + self._slope * (np.asarray(i, dtype=np.float64) - self._k0)

    def _pred(self, i: np.ndarray) -> np.ndarray:
        """Where the fit expects the timestamps (gaps and early stamps are judged against it)."""
        mx, my, p = self._fit
        return my + p * (i - mx)

    def _end_block(self) -> None:
        """At a block start: update the fit with the block's samples; the next block's line starts
        where this one ends (continuous times) and meets the fit at the block's end."""
        nb = self._next
        t_nb = self._t0 + self._slope * (float(nb) - self._k0)   # (self._at(nb) in Python floats)
        if self._bi:
            i = np.concatenate(self._bi).astype(np.float64)
            t = np.concatenate(self._bt)
            add = np.add.reduce  # (what mean() and sum() do, without their wrappers: the same sums)
            n_b = len(i)
            w, cx, cy = float(n_b), float(add(i)) / n_b, float(add(t)) / n_b
            d = i - cx
            sxx, sxy = float(add(d ** 2)), float(add(d * (t - cy)))
            f = self.forget
            self._w, self._cxx, self._cxy = f * self._w, f * self._cxx, f * self._cxy
            w1 = self._w + w
            dx, dy = cx - self._mx, cy - self._my
            self._cxx += sxx + dx * dx * self._w * w / w1
            self._cxy += sxy + dx * dy * self._w * w / w1
            self._mx += dx * w / w1
            self._my += dy * w / w1
            self._w = w1
            p = self._cxy / self._cxx if self._cxx > 0 else self._rate
            p = min(max(p, 0.9 * self.period), 1.1 * self.period)   # a nominal rate is near the truth
            self._rate = p
            self._fit = (self._mx, self._my, p)
            e = t - (self._my + p * (i - self._mx))
            self._spreads.append(float(np.maximum.reduce(e) - np.minimum.reduce(e)))
            self.jitter = min(self.JITTER_MAX_S, max(self._spreads))
            target = self._my + p * (nb + self.block - self._mx)
            self._slope = min(max((target - t_nb) / self.block, 0.5 * p), 1.5 * p)
        self._k0, self._t0 = nb, t_nb
        self.line.add(nb, t_nb, self._slope)
        self._next = nb + self.block
        self._bi, self._bt = [], []

    def _restep(self, d: float) -> None:
        """A clock step of ``d`` s: the fit and the current block's stamps move by ``d`` (the times
        stay continuous; the next block's line meets the moved fit)."""
        self._my += d
        mx, my, p = self._fit
        self._fit = (mx, my + d, p)
        self._bt = [np.asarray(b, dtype=np.float64) + d for b in self._bt]
        self.n_steps += 1

    def _repeated(self, x: np.ndarray, ts: np.ndarray, pos: int) -> bool:
        """Whether sample ``pos`` repeats a received one: the same timestamp and the same values
        (in the recent history or earlier in this chunk)."""
        tj, xj = ts[pos], x[pos]
        # earlier in this chunk: the same REPEAT_S of samples as the history keeps, so that the
        # decision does not depend on the chunking (review); NaN values match NaN (a resent NaN
        # sample is a repeat too)
        lo = max(0, pos - self._hist_max)
        parts = [(ts[lo:pos], x[lo:pos])]
        need = self._hist_max - (pos - lo)  # the last REPEAT_S of received samples in all
        for th, xh in reversed(self._hist):
            if need <= 0:
                break
            take = min(need, len(th))
            parts.append((th[len(th) - take:], xh[len(th) - take:]))
            need -= take
        for th, xh in parts:
            hit = np.flatnonzero(th == tj)
            if hit.size:
                xs = xh[hit]
                same = (xs == xj) | (np.isnan(xs) & np.isnan(xj))
                if bool(same.all(axis=1).any()):
                    return True
        return False

    def _remember(self, ts: np.ndarray, x: np.ndarray) -> None:
        """Keep the stamped samples of the last ``REPEAT_S`` (for :meth:`_repeated`)."""
        self._hist.append((ts, x.copy()))
        self._hist_n += len(ts)
        while self._hist_n - len(self._hist[0][0]) >= self._hist_max:
            self._hist_n -= len(self._hist.popleft()[0])

    # ------------------------------------------------------------------ feeding
    def _arange(self, n: int) -> np.ndarray:
        """``0.0, 1.0, ..., n - 1`` (a cached float array: indices are exact in float64)."""
        if n > len(self._ar):
            self._ar = np.arange(max(n, 2 * len(self._ar)), dtype=np.float64)
        return self._ar[:n]

    _SMALL = 8  # chunks up to this many samples are checked in Python floats (faster than numpy)

    def _plain_piece(self, x: np.ndarray, ts: np.ndarray | None, tsl: list[float] | None, pos: int, end: int,
                     restart: bool, pieces: list[_Block]) -> bool:
        """The common case of :meth:`feed`, the same arithmetic in fewer steps: if no sample of
        ``pos:end`` (within one block) can be late (a gap) or early (a repeat or a clock step), take
        them all and return True; else change nothing and return False (the detailed path decides)."""
        n, m = self.n, end - pos
        mx, my, p = self._fit
        late = 1.5 * self._rate + self.jitter
        early = -(3.0 * self._rate + self.jitter) if self.last_raw is not None else -math.inf
        k0, t0, slope = self._k0, self._t0, self._slope
        idx: Any
        t: Any
        if tsl is not None:  # Python floats
            t = tsl[pos:end]
            idx = [float(n + j) for j in range(m)]
            for i, tj in zip(idx, t, strict=True):
                r = tj - (my + p * (i - mx))
                if r > late or r < early:
                    return False
            times = np.array([t0 + slope * (i - k0) for i in idx])
            last_raw = t[-1]
        else:
            assert ts is not None
            t = ts[pos:end]
            idx = self._arange(m) + n
            rl = (t - ((idx - mx) * p + my)).tolist()
            if max(rl) > late or min(rl) < early:
                return False
            times = (idx - k0) * slope + t0
            last_raw = float(t[-1])
        pieces.append((restart, x[pos:end], times, self.line, n))
        self._bi.append(idx)
        self._bt.append(t)
        self.n = n + m
        self.last_raw = last_raw
        self.last_x = x[end - 1]
        self._early = False
        return True

    def feed(self, x: np.ndarray,
             ts: np.ndarray | None) -> tuple[list[_Block], list[Event]]:
        """Blocks ``(restart, data, times, line, i0)`` in order: times from the clock model (gaps
        filled), the segment's :class:`_ClockLine` and the segment index of the first sample;
        ``restart`` asks for fresh processors."""
        n_x = len(x)
        stamped = ts is not None
        tsl: list[float] | None = None   # (a small chunk's timestamps as Python floats)
        if ts is None:  # contiguous samples at the nominal rate from 0
            n0 = self._n_plain
            self._n_plain += n_x
            if n_x <= self._SMALL:
                fs = self.fs
                tsl = [(n0 + j) / fs for j in range(n_x)]
            else:
                ts = (self._arange(n_x) + n0) / self.fs
        elif n_x <= self._SMALL:
            tsl = ts.tolist()
        events: list[Event] = []
        pieces: list[_Block] = []
        restart = False
        n_drop = 0
        pos = 0
        while pos < n_x:
            if not self._running:
                self._start(tsl[pos] if tsl is not None else float(ts[pos]))  # type: ignore[index]
                restart = True
            if self.n >= self._next:
                self._end_block()
                continue
            if self._resend:  # a resent chunk goes on while its samples repeat received ones
                if ts is None:
                    ts = np.array(tsl)
                if self._repeated(x, ts, pos):
                    n_drop += 1
                    pos += 1
                    continue
                self._resend = False
            end = min(n_x, pos + self._next - self.n)
            if self._plain_piece(x, ts, tsl, pos, end, restart, pieces):
                restart = False
                pos = end
                continue
            if ts is None:
                ts = np.array(tsl)
            t = ts[pos:end]
            idx = self.n + np.arange(end - pos)
            r = t - self._pred(idx)
            late = r > 1.5 * self._rate + self.jitter
            early = r < -(3.0 * self._rate + self.jitter)
            if self.last_raw is None:
                early[:] = False
            bad = np.flatnonzero(late | early)
            k = int(bad[0]) if bad.size else end - pos
            if k:
                pieces.append((restart, x[pos:pos + k], np.asarray(self._at(idx[:k])), self.line, self.n))
                restart = False
                self._bi.append(idx[:k])
                self._bt.append(t[:k])
                self.n += k
                self.last_raw = float(t[k - 1])
                self.last_x = x[pos + k - 1]
                self._early = False
                pos += k
            if not bad.size:
                continue
            if early[k]:
                if self._repeated(x, ts, pos):  # a resent sample: dropped
                    n_drop += 1
                    self._resend = True
                    self._early = False  # (a repeat is not a real early sample: no step begins)
                    pos += 1
                    continue
                # a real sample stamped early: kept; the second in a row is a clock step
                ik, tk = idx[k:k + 1], t[k:k + 1]
                if self._early:
                    step = float(r[k])
                    self._restep(step)
                    events.append({"type": "clock_step", "stream": self.name, "time_s": float(tk[0]),
                                   "step_s": step})
                    self._bi.append(ik)
                    self._bt.append(tk)
                pieces.append((restart, x[pos:pos + 1], np.asarray(self._at(ik)), self.line, self.n))
                restart = False
                self._early = not self._early
                self.n += 1
                self.last_raw = float(tk[0])
                self.last_x = x[pos]
                pos += 1
                continue
            # a gap before ts[pos]
            delay = float(r[k])
            m = max(1, round(delay / self._rate))
            start = float(self._at(self.n))
            self.n_gaps += 1
            self.n_missing += m
            filled = m <= self.max_fill and self.last_x is not None
            events.append({"type": "gap", "stream": self.name, "time_s": float(ts[pos]), "start_s": start,
                           "duration_s": delay, "missing_samples": m, "filled": filled})
            if filled:  # linear interpolation across the gap keeps the filters' state meaningful
                assert self.last_x is not None
                w = (np.arange(1, m + 1) / (m + 1))[:, None]
                fill = (1 - w) * self.last_x[None, :] + w * x[pos][None, :]
                pieces.append((restart, fill.astype(x.dtype), np.asarray(self._at(self.n + np.arange(m))), self.line,
                               self.n))
                restart = False
                self.n += m
            else:
                self._running = False
        if n_drop:
            assert ts is not None  # (a repeat is found by the detailed path, which has the array)
            self.n_dropped += n_drop
            events.append({"type": "dropped", "stream": self.name, "time_s": float(ts[-1]), "n_samples": n_drop,
                           "reason": "repeated samples: the timestamps and values of samples already received"})
        if stamped:
            assert ts is not None
            self._remember(ts, x)
        if self.last_x is not None:
            self.last_x = self.last_x.copy()
        if len(pieces) == 1:
            return pieces, events
        blocks: list[_Block] = []
        for piece in pieces:  # join consecutive pieces of one segment
            if blocks and not piece[0]:
                r0, x0, t0, line, i0 = blocks[-1]
                blocks[-1] = (r0, np.concatenate([x0, piece[1]]), np.concatenate([t0, piece[2]]), line, i0)
            else:
                blocks.append(piece)
        return blocks, events


class _OrientationBuffer:
    """One IMU's orientations waiting to be paired, in growable arrays (live part ``[a:b]``):
    orientation, time, segment number and (upper IMU) the index in the segment. Appending copies
    into place and dropping moves ``a`` (no concatenation per chunk); the views it hands out are
    only valid until the next :meth:`append`."""

    def __init__(self, with_index: bool, cap: int = 256) -> None:
        self.q = np.empty((cap, 4))
        self.t = np.empty(cap)
        self.s = np.empty(cap, dtype=np.int64)
        self.i = np.empty(cap, dtype=np.int64) if with_index else None
        self.a = self.b = 0

    def __len__(self) -> int:
        return self.b - self.a

    def append(self, q: np.ndarray, t: np.ndarray, seg: int, i0: int) -> None:
        m, a, b = len(t), self.a, self.b
        if b + m > len(self.t):  # move the live part to the front (into larger arrays if needed)
            n = b - a
            cap = len(self.t) if 2 * (n + m) <= len(self.t) else 2 * (n + m)
            for name in ("q", "t", "s", "i"):
                old = getattr(self, name)
                if old is not None:
                    new = np.empty((cap, *old.shape[1:]), dtype=old.dtype) if cap != len(old) else old
                    new[:n] = old[a:b]
                    setattr(self, name, new)
            a, b = self.a, self.b = 0, n
        self.q[b:b + m] = q
        self.t[b:b + m] = t
        self.s[b:b + m] = seg
        if self.i is not None:
            self.i[b:b + m] = np.arange(i0, i0 + m)
        self.b = b + m

    def drop(self, k: int) -> None:
        """Forget the ``k`` oldest."""
        self.a += k
        if self.a >= self.b:
            self.a = self.b = 0


class _ClockLine:
    """The times of one timeline segment: sample index ``i`` -> ``t0 + slope * (i - k0)`` of the
    block holding ``i`` (the very formula of the timeline, so times agree bit for bit and do not
    depend on the chunking). Fractional indices are allowed; before the first block, and after the
    last, the nearest block's line is extended."""

    MAX_BLOCKS = 200_000

    def __init__(self) -> None:
        self.k: list[int] = []
        self.t: list[float] = []
        self.s: list[float] = []

    def add(self, k0: int, t0: float, slope: float) -> None:
        self.k.append(k0)
        self.t.append(t0)
        self.s.append(slope)
        if len(self.k) > self.MAX_BLOCKS:  # (about 14 h at 4 blocks/s) older times are extrapolated
            del self.k[:1000], self.t[:1000], self.s[:1000]

    def at(self, i: float) -> float:
        j = max(bisect.bisect_right(self.k, i) - 1, 0)
        return self.t[j] + self.s[j] * (float(i) - self.k[j])


def _config(config: PipelineConfig | Mapping[str, Any] | str | os.PathLike[str] | None) -> PipelineConfig:
    if isinstance(config, PipelineConfig):
        return config
    if isinstance(config, Mapping):
        return parse_config(config, "<online configuration>")
    return load_config(config)


class OnlinePipeline:
    """The pipeline of a configuration, run causally on pushed chunks (no LSL needed).

    Parameters
    ----------
    config : PipelineConfig, mapping, TOML path or None
        The same configuration as :func:`kinemyo.pipeline.run`. Online, filters are causal
        (``emg.zero_phase`` is ignored), fusion is real-time (``fusion.offline`` is ignored) and
        ``onset.ecg = "template"`` falls back to ``"highpass"`` (the causal template subtraction of
        ``onset.OnlineDetector(ecg="template")`` would delay the EMG outputs by 160 ms). Windows
        (``kinematics.neutral_s``, ``flexion_s``, ``onset.rest_s``) count from the first sample of
        their stream.
    emg_fs, n_emg : float, int
        EMG rate and channel count (``n_emg = 0``: no EMG).
    imu_fs : float, optional
        IMU rate (both IMUs); None: no IMUs. IMU chunks have 6 (gyr, acc) or 9 (+ mag) columns,
        fixed per IMU at its first chunk (a chunk with the other count is a ``ValueError``).
    emg_channels : list of str, optional
        Names used in the events (default ``emg0, emg1, ...``).
    calibration : kinematics.Calibration, optional
        A calibration saved from an earlier recording of the same session: angles start at once
        instead of after the neutral/flexion windows.
    on_event : callable, optional
        Called with every event dict as soon as it is decided (also returned by :meth:`push`).
    max_fill_s : float
        Gaps up to this long (from the timestamps) are filled by linear interpolation; longer gaps
        restart that stream's processors (the state before the gap is not valid after it; what
        was learnt at rest is kept: the EMG detector's baseline, the calibration and the movement
        threshold). Every gap is reported as a ``gap`` event. Default 0.25 s.

    Notes
    -----
    Push with :meth:`push_emg`, :meth:`push_imu` (upper and lower together) or :meth:`push`
    (any stream by its configured name, e.g. from separate LSL inlets). Timestamps (s, any clock,
    one per sample) enable gap detection; without them the samples are taken as contiguous.
    Timestamps are judged against the sample count, not one by one: each stream's clock is fitted
    (``t = offset + period * i``, least squares with forgetting), jitter and samples stamped in
    packets are tolerated, a gap is a timestamp later than the fit predicts by more than 1.5
    periods plus the stream's measured jitter, only samples sent again (the timestamps and values
    of received ones) are dropped (a clock set back re-anchors the fit), and output and event
    times are the fitted times of the samples they come from (so they follow a device clock that
    drifts; see docs/stream.md).
    Each IMU's orientation filter runs on all of its own samples; the angles are computed at the
    upper IMU's instants, with the lower IMU's orientation interpolated (slerp) between its two
    samples around each instant; upper samples with no lower orientation around them (before the
    lower IMU starts, or in a gap of it that restarted it) are reported as ``unpaired``.
    """

    _reps: OnlineRepetitions
    _moves: OnlineMovementOnsets
    MAX_WAIT_S = 5.0  # an IMU's orientations wait this long (s of its data) for the other IMU

    def __init__(self, config: PipelineConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None, *,
                 emg_fs: float | None = None, n_emg: int = 0, imu_fs: float | None = None,
                 emg_channels: list[str] | None = None, calibration: kinematics.Calibration | None = None,
                 on_event: Callable[[Event], None] | None = None, max_fill_s: float = 0.25) -> None:
        self.config = _config(config)
        cfg = self.config
        self.on_event = on_event
        self.max_fill_s = float(max_fill_s)
        names = cfg["streams"]
        self.stream_names = {"emg": names["emg"], "imu_upper": names["imu_upper"], "imu_lower": names["imu_lower"]}
        self.t0: float | None = None
        # ------------------------------------------------ EMG
        self.n_emg = int(n_emg) if cfg["emg"]["enabled"] else 0
        if self.n_emg:
            if emg_fs is None or not emg_fs > 0:
                raise ValueError(f"emg_fs must be > 0 when n_emg > 0; got {emg_fs}")
            self.emg_fs = float(emg_fs)
            self.emg_channels = list(emg_channels or [f"emg{i}" for i in range(self.n_emg)])
            if len(self.emg_channels) != self.n_emg:
                raise ValueError(f"emg_channels has {len(self.emg_channels)} names for {self.n_emg} channels")
            self.env_step = max(1, round(self.emg_fs / 100.0))
            self.envelope_fs = self.emg_fs / self.env_step
            self._emg_tl = _Timeline(names["emg"], self.emg_fs, max_fill_s)
            self._make_emg()
        else:
            self.emg_fs = float(emg_fs or 0.0)
            self.emg_channels = []
            self.envelope_fs = 0.0
        # ------------------------------------------------ IMUs
        self.imu_fs = float(imu_fs) if imu_fs and cfg["fusion"]["enabled"] else None
        self._cal: kinematics.Calibration | None = calibration
        if self.imu_fs is not None:
            self._imu_tl = {"upper": _Timeline(names["imu_upper"], self.imu_fs, max_fill_s),
                            "lower": _Timeline(names["imu_lower"], self.imu_fs, max_fill_s)}
            self._imu_cols: dict[str, int] = {}    # columns of each IMU, fixed at its first chunk
            self._use_mag: bool | None = None      # decided once both IMUs have sent a chunk
            self._ahrs: dict[str, Any] = {"upper": None, "lower": None}
            self._imu_wait: dict[str, list[_Block]] = {"upper": [], "lower": []}
            # orientations waiting to be paired: (q, times, segment number, index in the segment)
            self._q_buf = {"upper": _OrientationBuffer(True), "lower": _OrientationBuffer(False)}
            self._imu_seg = {"upper": 0, "lower": 0}   # segment number of each IMU (+1 at each restart)
            self._upper_lines: dict[int, _ClockLine] = {}
            self._last_pair: tuple[int, int] | None = None
            self._unpaired_tail = False
            self.n_unpaired = 0
            if cfg["metrics"]["movement_threshold_deg_s"] == 0 and (
                    cfg["kinematics"]["neutral_s"] is None or calibration is not None):
                # online the rest noise is learnt in the neutral window only; without it a threshold
                # of 0 would count every sample as movement (review, eighth session)
                raise ValueError(
                    "metrics.movement_threshold_deg_s = 0 (threshold from the rest noise alone) needs "
                    "kinematics.neutral_s in a stream, and no ready-made calibration: the rest noise is "
                    "learnt in that window; give a threshold > 0 otherwise")
            self._make_measures()
        self._emg_onsets: dict[int, collections.deque[float]] = collections.defaultdict(
            lambda: collections.deque(maxlen=64))
        self._pending_moves: list[Event] = []
        self.n_onsets = [0] * self.n_emg
        self.last_angles = np.full(3, np.nan)
        self.emg_time = -math.inf

    # ---------------------------------------------------------------- construction of the processors
    def _make_emg(self, keep_detector: bool = False) -> None:
        """The EMG processors; ``keep_detector``: after a restart, the onset detector goes on with the
        baseline it learnt (its ``finish()`` has closed the activations and kept the baseline)."""
        c, o, fs, n = self.config["emg"], self.config["onset"], self.emg_fs, self.n_emg
        hi = min(c["bandpass_hz"][1], 0.45 * fs)
        sos = filters.butter(c["bandpass_order"], (c["bandpass_hz"][0], hi), fs, "bandpass")
        if c["notch_hz"] == "auto":
            raise ValueError("emg.notch_hz = 'auto' needs the whole recording (kinemyo.onset."
                             "estimate_mains); a stream needs the frequency (50 or 60) or 0")
        if 0 < c["notch_hz"] < fs / 2:
            sos = np.vstack([filters.notch(c["notch_hz"], fs, 30.0, c["notch_harmonics"]), sos])
        self._bp = filters.SosFilter(sos, n)
        self._env = filters.SosFilter(filters.butter(2, c["envelope_cutoff_hz"], fs), n)
        self._hp = (filters.SosFilter(filters.butter(4, 30.0, fs, "highpass"), n)
                    if o["ecg"] in ("highpass", "template") and c["bandpass_hz"][0] < 30.0 else None)
        if not keep_detector:
            self._det = (onset.OnlineDetector(fs, n, o["method"], tuple(o["rest_s"]) if o["rest_s"] else None,
                                              preprocess=False, min_active=o["min_duration_s"],
                                              min_gap=o["min_gap_s"])
                         if o["enabled"] else None)
        self._emg_n = 0                  # samples since the (re)start of the EMG processors
        self._emg_line: _ClockLine | None = None   # their times (the EMG timeline's segment)

    def _make_measures(self, carry: bool = False) -> None:
        """Holds, repetitions and movement onsets (fresh after a restart; ``carry``: the repetition
        count and the movement threshold learnt at rest go on)."""
        m = self.config["metrics"]
        fs = self.imu_fs
        assert fs is not None
        count = self._reps.count if carry else 0
        b = self._moves.b if carry else None
        self._holds = OnlineHolds(fs, m["hold_tolerance_deg"], m["hold_min_s"], m["hold_limit_s"])
        self._reps = OnlineRepetitions(fs, m["rep_min_amplitude_deg"] / 2, m["rep_min_amplitude_deg"])
        self._reps.count = count
        # 0 is a threshold (from the rest noise alone), not "unset"
        self._moves = OnlineMovementOnsets(fs, m["movement_threshold_deg_s"])
        if b is not None:
            self._moves.b = b
        self._hold_spans: list[tuple[float, float]] = []
        # measure sample index k -> time: sample ang_j0 + k of an upper IMU segment
        self._ang_line: _ClockLine | None = None
        self._ang_j0 = 0
        self._calib_q: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._imu_n = 0
        self._angles_proc: kinematics.LumbarAngles | None = None

    # ---------------------------------------------------------------- public API
    def push(self, stream: str, chunk: npt.ArrayLike, timestamps: npt.ArrayLike | None = None) -> OnlineOutput:
        """Push samples of one stream by its configured name (``streams.emg``, ``streams.imu_upper``,
        ``streams.imu_lower``) or role (``emg``, ``imu_upper``, ``imu_lower``)."""
        role = next((r for r, n in self.stream_names.items() if stream in (r, n)), None)
        if role is None:
            raise ValueError(f"unknown stream {stream!r}; configured: {sorted(set(self.stream_names.values()))}")
        if role == "emg":
            return self.push_emg(chunk, timestamps)
        return self._push_imu_one(role[4:], *self._check_imu(role[4:], chunk, timestamps))

    def push_emg(self, chunk: npt.ArrayLike, timestamps: npt.ArrayLike | None = None) -> OnlineOutput:
        """Push EMG samples ``(n, n_emg)``; returns the envelopes and the events decided."""
        if not self.n_emg:
            raise ValueError("this pipeline has no EMG (n_emg = 0 or emg.enabled = false)")
        x, ts = self._check(chunk, timestamps, self.n_emg, "EMG")
        events: list[Event] = []
        env_out: list[np.ndarray] = []
        env_t: list[np.ndarray] = []
        if len(x):
            self._set_t0(ts)
            blocks, ev = self._emg_tl.feed(x, None if ts is None else ts - self._t0())
            events += ev
            for restart, xb, tb, line, _ in blocks:
                if restart and self._emg_n:  # a long gap: fresh filters, the detector keeps its baseline
                    events += self._close_emg()
                    self._make_emg(keep_detector=True)
                self._emg_line = line
                events += self._run_emg(xb, tb, env_out, env_t)
                self.emg_time = float(tb[-1])
        events += self._check_latencies()
        return self._emit(events, env_out, env_t, [], [])

    def push_imu(self, upper: npt.ArrayLike, lower: npt.ArrayLike, timestamps: npt.ArrayLike | None = None,
                 lower_timestamps: npt.ArrayLike | None = None) -> OnlineOutput:
        """Push samples of both IMUs (``(n, 6)`` or ``(n, 9)`` each); returns angles and events. Both
        chunks and their timestamps are checked before either changes anything."""
        xu, tu = self._check_imu("upper", upper, timestamps)
        xl, tl = self._check_imu("lower", lower, timestamps if lower_timestamps is None else lower_timestamps)
        a = self._push_imu_one("upper", xu, tu)
        b = self._push_imu_one("lower", xl, tl)
        if not len(a.angles):  # (both are fresh arrays: no need to copy one)
            return OnlineOutput(a.envelope, a.envelope_t, b.angles, b.angles_t, a.events + b.events)
        return OnlineOutput(a.envelope, a.envelope_t, np.concatenate([a.angles, b.angles]),
                            np.concatenate([a.angles_t, b.angles_t]), a.events + b.events)

    def finish(self) -> OnlineOutput:
        """End of the stream: close open activations and holds; returns their events."""
        events: list[Event] = []
        if self.n_emg and self._emg_n:
            events += self._close_emg()
        if self.imu_fs is not None:
            events += [self._retime(e) for e in self._holds.finish()]
        events += self._check_latencies(final=True)
        return self._emit(events, [], [], [], [])

    def status(self) -> dict[str, Any]:
        """A snapshot for a status line: last angles, current hold, counts, gaps, unpaired IMU samples."""
        hold = None
        if self.imu_fs is not None:
            cur = self._holds.current()
            hold = None if cur is None else self._retime(cur)
        return {"emg_time_s": self.emg_time, "angles_deg": self.last_angles.tolist(),
                "calibrated": self.imu_fs is not None and self._cal is not None,
                "hold": hold, "repetitions": self._reps.count if self.imu_fs is not None else 0,
                "onsets": dict(zip(self.emg_channels, self.n_onsets, strict=True)),
                "gaps": (self._emg_tl.n_gaps if self.n_emg else 0)
                + (sum(t.n_gaps for t in self._imu_tl.values()) if self.imu_fs is not None else 0),
                "unpaired": self.n_unpaired if self.imu_fs is not None else 0}

    @property
    def calibration(self) -> kinematics.Calibration | None:
        """The calibration in use (None until the neutral/flexion windows have passed)."""
        return self._cal if self.imu_fs is not None else None

    # ---------------------------------------------------------------- internals
    def _t0(self) -> float:
        return 0.0 if self.t0 is None else self.t0

    def _set_t0(self, ts: np.ndarray | None) -> None:
        if self.t0 is None:
            self.t0 = float(ts[0]) if ts is not None else 0.0

    @staticmethod
    def _check(chunk: npt.ArrayLike, ts: npt.ArrayLike | None, n_ch: int | tuple[int, ...],
               what: str) -> tuple[np.ndarray, np.ndarray | None]:
        x = np.asarray(chunk, dtype=np.float64)
        if x.ndim == 1 and (n_ch == 1):
            x = x[:, None]
        allowed = n_ch if isinstance(n_ch, tuple) else (n_ch,)
        if x.ndim != 2 or x.shape[1] not in allowed:
            raise ValueError(f"{what} chunk must have shape (n_samples, {' or '.join(map(str, allowed))}); "
                             f"got {x.shape}")
        t = None
        if ts is not None:
            t = np.asarray(ts, dtype=np.float64).reshape(-1)
            if t.shape[0] != x.shape[0]:
                raise ValueError(f"{what}: {t.shape[0]} timestamps for {x.shape[0]} samples")
            if not np.isfinite(t).all():
                raise ValueError(f"{what}: timestamps must be finite")
        return x, t

    def _check_cols(self, which: str, x: np.ndarray) -> None:
        n = self._imu_cols.get(which)
        if n is not None and x.shape[1] != n:
            raise ValueError(f"IMU {which} (stream {self._imu_tl[which].name!r}) chunk must have shape "
                             f"(n_samples, {n}), the column count of its first chunk; got {x.shape}")

    def _emit(self, events: list[Event], env: list[np.ndarray], env_t: list[np.ndarray],
              ang: list[np.ndarray], ang_t: list[np.ndarray]) -> OnlineOutput:
        if self.on_event is not None:
            for e in events:
                self.on_event(e)
        return OnlineOutput(np.concatenate(env) if env else np.empty((0, self.n_emg)),
                            np.concatenate(env_t) if env_t else np.empty(0),
                            np.concatenate(ang) if ang else np.empty((0, 3)),
                            np.concatenate(ang_t) if ang_t else np.empty(0), events)

    def _run_emg(self, x: np.ndarray, t: np.ndarray, env_out: list[np.ndarray],
                 env_t: list[np.ndarray]) -> list[Event]:
        y = self._bp(x)
        env = self._env(np.abs(y))
        n0, step = self._emg_n, self.env_step
        first = (-n0) % step
        idx = np.arange(first, len(x), step)
        if idx.size:
            env_out.append(env[idx])
            env_t.append(t[idx])
        self._emg_n += len(x)
        if self._det is None:
            return []
        yo = self._hp(y) if self._hp is not None else y
        return self._onset_events(self._det.process(yo))

    def _onset_events(self, rows: np.ndarray) -> list[Event]:
        out: list[Event] = []
        assert self._emg_line is not None
        at = self._emg_line.at
        now = at(self._emg_n)
        for ch, a, b in np.asarray(rows).reshape(-1, 3).tolist():
            name = self.emg_channels[ch]
            t_on = at(a)
            if b < 0:
                self.n_onsets[ch] += 1
                self._emg_onsets[ch].append(t_on)
                out.append({"type": "emg_onset", "time_s": now, "channel": name, "onset_s": t_on})
            else:
                t_off = at(b)
                out.append({"type": "emg_offset", "time_s": now, "channel": name, "onset_s": t_on,
                            "offset_s": t_off, "duration_s": t_off - t_on})
        return out

    def _close_emg(self) -> list[Event]:
        return self._onset_events(self._det.finish()) if self._det is not None else []

    def _retime(self, e: Event) -> Event:
        """A measure's event with its times (sample index / fs) replaced by the samples' times."""
        fs = self.imu_fs or 1.0
        out = dict(e)
        if self._ang_line is None:
            return out
        for k in ("time_s", "start_s", "end_s", "peak_s", "onset_s"):
            if k in out:
                out[k] = self._ang_line.at(self._ang_j0 + out[k] * fs)
        return out

    def _check_imu(self, which: str, chunk: npt.ArrayLike,
                   timestamps: npt.ArrayLike | None) -> tuple[np.ndarray, np.ndarray | None]:
        """An IMU chunk and its timestamps, checked (changes nothing)."""
        if self.imu_fs is None:
            raise ValueError("this pipeline has no IMUs (imu_fs is None or fusion.enabled = false)")
        x, ts = self._check(chunk, timestamps, (6, 9), f"IMU {which}")
        self._check_cols(which, x)
        return x, ts

    def _push_imu_one(self, which: str, x: np.ndarray, ts: np.ndarray | None) -> OnlineOutput:
        """Push a chunk checked by :meth:`_check_imu`."""
        events: list[Event] = []
        ang: list[np.ndarray] = []
        ang_t: list[np.ndarray] = []
        if len(x):
            self._imu_cols[which] = x.shape[1]
            self._set_t0(ts)
            blocks, ev = self._imu_tl[which].feed(x, None if ts is None else ts - self._t0())
            events += ev
            self._imu_wait[which] += blocks
            if self._use_mag is None and len(self._imu_cols) == 2:
                self._use_mag = bool(self.config["fusion"]["magnetometer"]
                                     and all(n == 9 for n in self._imu_cols.values()))
            if self._use_mag is not None:  # (before: the first IMU waits for the other's columns)
                events += self._fuse("upper") + self._fuse("lower")
                events += self._pair_and_run(ang, ang_t)
        events += self._check_latencies()
        return self._emit(events, [], [], ang, ang_t)

    def _fuse(self, which: str) -> list[Event]:
        """Run this IMU's orientation filter on all its samples (gaps filled); buffer the orientations."""
        events: list[Event] = []
        for restart, xb, tb, line, i0 in self._imu_wait[which]:
            if restart or self._ahrs[which] is None:
                if self._ahrs[which] is not None:  # a long gap restarts this IMU's orientation
                    events.append({"type": "restart", "stream": self._imu_tl[which].name, "time_s": float(tb[0]),
                                   "reason": "gap longer than max_fill_s"})
                self._ahrs[which] = fusion._METHODS[self.config["fusion"]["method"]](self.imu_fs)  # type: ignore[call-arg]
                self._imu_seg[which] += 1
                if which == "upper":  # the lines of the segments still waiting to be paired are kept
                    bu = self._q_buf["upper"]
                    live = int(bu.s[bu.a]) if len(bu) else self._imu_seg[which]
                    self._upper_lines = {k: v for k, v in self._upper_lines.items() if k >= live}
                    self._upper_lines[self._imu_seg[which]] = line
            g = np.ascontiguousarray(xb[:, 0:3])
            a = np.ascontiguousarray(xb[:, 3:6])
            m = np.ascontiguousarray(xb[:, 6:9]) if self._use_mag else None
            q = self._ahrs[which].update(g, a, m)
            self._q_buf[which].append(q, tb, self._imu_seg[which], i0)
        self._imu_wait[which] = []
        return events

    def _pair_and_run(self, ang: list[np.ndarray], ang_t: list[np.ndarray]) -> list[Event]:
        """Angles at the upper IMU's instants: the lower orientation interpolated (slerp) between its
        samples around each instant (same segment), or its nearest sample within half a period.
        An upper instant is decided once the lower stream has passed it (or ``MAX_WAIT_S`` later)."""
        fs = self.imu_fs
        assert fs is not None
        bu, bl = self._q_buf["upper"], self._q_buf["lower"]
        a, b = bl.a, bl.b
        ql, tl, sl = bl.q[a:b], bl.t[a:b], bl.s[a:b]
        ntl = b - a
        if not len(bu):  # nothing waits for the lower orientations older than MAX_WAIT_S
            if ntl:
                bl.drop(int(tl.searchsorted(tl[-1] - self.MAX_WAIT_S, "left")))
            return []
        a, b = bu.a, bu.b
        assert bu.i is not None
        qu, tu, su, iu = bu.q[a:b], bu.t[a:b], bu.s[a:b], bu.i[a:b]
        ntu = b - a
        # decided: the instants the lower stream has reached (or left waiting for MAX_WAIT_S)
        t_dec = max(tl[-1] if ntl else -math.inf, tu[-1] - self.MAX_WAIT_S)
        nd = int(tu.searchsorted(t_dec, "right"))
        events: list[Event] = []
        if nd:
            if nd <= self._PAIR_LOOP_MAX:
                plan = self._pair_plan_loop(tu[:nd], ql, tl, sl, 0.5 / fs)
            else:
                plan = self._pair_plan_vec(tu[:nd], ql, tl, sl, 0.5 / fs)
            events += self._run_pairs(nd, qu, tu, su, iu, plan, ang, ang_t)
        # keep the undecided upper samples and the lower ones they may still need
        if ntl:
            t_ref = tu[nd] if nd < ntu else tu[-1]
            bl.drop(max(int(tl.searchsorted(t_ref, "right")) - 1, 0))
        bu.drop(nd)
        return events

    # a pairing plan: (decided instants paired, their lower orientation (slerped), its segment,
    # unpaired instants, whether the last instant is paired); index lists or arrays
    _PAIR_LOOP_MAX = 32  # up to this many decided instants, the plan is made in a Python loop

    @staticmethod
    def _pair_plan_loop(t: np.ndarray, ql: np.ndarray, tl: np.ndarray, sl: np.ndarray,
                        half: float) -> tuple[Any, np.ndarray, Any, list[int], bool]:
        """:meth:`_pair_plan_vec` for a few instants: the same arithmetic on Python floats."""
        tt = t.tolist()
        ntl = len(tl)
        if not ntl:
            return [], np.empty((0, 4)), [], list(range(len(tt))), False
        good: list[int] = []
        bad: list[int] = []
        los: list[int] = []
        his: list[int] = []
        ws: list[float] = []
        segs: list[int] = []
        last = ntl - 1
        inf = math.inf
        tl_item, sl_item = tl.item, sl.item
        for j, (ti, p) in enumerate(zip(tt, tl.searchsorted(t, "right").tolist(), strict=True)):
            lo = p - 1 if p >= 1 else 0
            hi = p if p < last else last
            t_lo, t_hi = tl_item(lo), tl_item(hi)
            s_lo, s_hi = sl_item(lo), sl_item(hi)
            span = t_hi - t_lo
            if p >= 1 and t_hi >= ti and s_lo == s_hi:  # inside
                w = (ti - t_lo) / span if span > 0 else 0.0
            else:
                d_lo = ti - t_lo if p >= 1 else inf
                d_hi = t_hi - ti if t_hi >= ti else inf
                if not min(d_lo, d_hi) <= half:
                    bad.append(j)
                    continue
                w = 0.0 if d_lo <= d_hi else 1.0
            good.append(j)
            los.append(lo)
            his.append(hi)
            ws.append(w)
            segs.append(s_lo if w < 0.5 else s_hi)
        q_low = quaternion.slerp(ql.take(los, 0), ql.take(his, 0), np.array(ws)) if good else np.empty((0, 4))
        return good, q_low, segs, bad, not bad or bad[-1] != len(tt) - 1

    @staticmethod
    def _pair_plan_vec(t: np.ndarray, ql: np.ndarray, tl: np.ndarray, sl: np.ndarray,
                       half: float) -> tuple[Any, np.ndarray, Any, list[int], bool]:
        """The pairing of the decided upper instants ``t`` with the lower orientations."""
        nd = len(t)
        if len(tl):
            p = np.searchsorted(tl, t, "right")        # tl[p - 1] <= t < tl[p]
            lo = np.maximum(p - 1, 0)
            hi = np.minimum(p, len(tl) - 1)
            span = tl[hi] - tl[lo]
            w = np.where(span > 0, (t - tl[lo]) / np.where(span > 0, span, 1.0), 0.0)
            inside = (p >= 1) & (tl[hi] >= t) & (sl[lo] == sl[hi])
            d_lo = np.where(p >= 1, t - tl[lo], np.inf)
            d_hi = np.where(tl[hi] >= t, tl[hi] - t, np.inf)
            near = np.minimum(d_lo, d_hi) <= half
            ok = inside | near
            w = np.where(inside, w, np.where(d_lo <= d_hi, 0.0, 1.0))
            seg_l = np.where(w < 0.5, sl[lo], sl[hi])
        else:
            ok = np.zeros(nd, dtype=bool)
            lo = hi = np.zeros(nd, dtype=np.int64)
            w = seg_l = np.zeros(nd)
        good = np.flatnonzero(ok)
        q_low = quaternion.slerp(ql[lo[good]], ql[hi[good]], w[good]) if good.size else np.empty((0, 4))
        return good, q_low, seg_l[good], np.flatnonzero(~ok).tolist(), bool(ok[-1])

    def _run_pairs(self, nd: int, qu: np.ndarray, tu: np.ndarray, su: np.ndarray, iu: np.ndarray,
                   plan: tuple[Any, np.ndarray, Any, list[int], bool], ang: list[np.ndarray],
                   ang_t: list[np.ndarray]) -> list[Event]:
        """Angles of the paired instants, in runs of one upper and one lower segment each (the
        measures start again where the angles break off); the unpaired ones are reported."""
        good, q_low, seg_l, bad, ok_last = plan
        events: list[Event] = []
        if bad:
            self.n_unpaired += len(bad)
            events.append({"type": "unpaired", "stream": self._imu_tl["upper"].name, "time_s": float(tu[bad[-1]]),
                           "n_samples": len(bad), "start_s": float(tu[bad[0]]), "end_s": float(tu[bad[-1]]),
                           "reason": "no orientation of the lower IMU around these instants"})
        n_good = len(good)
        if n_good:
            if isinstance(good, list):
                su_good = su[:nd].tolist() if not bad else su[good].tolist()
                prev_u, prev_l = self._last_pair or (-1, -1)
                prev_j = -1
                starts = []
                for r, (a, b, j) in enumerate(zip(su_good, seg_l, good, strict=True)):
                    if a != prev_u or b != prev_l or j - prev_j > 1 or (r == 0 and self._unpaired_tail):
                        starts.append(r)
                    prev_u, prev_l, prev_j = a, b, j
                brk = set(starts)
                last_key = (int(prev_u), int(prev_l))
            else:
                key = np.stack([su[good], seg_l], axis=1)
                prev = np.concatenate([[self._last_pair or (-1, -1)], key[:-1]])
                brk_a = np.any(key != prev, axis=1) | (np.diff(np.concatenate([[-1], good])) > 1)
                brk_a[0] |= self._unpaired_tail
                starts = np.flatnonzero(brk_a).tolist()
                brk = set(starts)
                last_key = (int(key[-1, 0]), int(key[-1, 1]))
            starts.append(n_good)
            if starts[0] != 0:
                starts.insert(0, 0)
            for r0, r1 in zip(starts[:-1], starts[1:], strict=True):
                if r1 <= r0:
                    continue
                if r0 in brk and self._imu_n:  # the angles break off: the measures start again
                    events += [self._retime(e) for e in self._holds.finish()]
                    self._make_measures(carry=True)
                j0, j1 = int(good[r0]), int(good[r1 - 1]) + 1
                sel: Any = slice(j0, j1) if j1 - j0 == r1 - r0 else good[r0:r1]
                if not self._imu_n:  # the measures' times: this run's upper samples
                    self._ang_line, self._ang_j0 = self._upper_lines[int(su[j0])], int(iu[j0])
                events += self._run_imu(qu[sel], q_low[r0:r1], tu[sel], ang, ang_t)
            self._last_pair = last_key
        self._unpaired_tail = not ok_last
        return events

    def _run_imu(self, qu: np.ndarray, ql: np.ndarray, t: np.ndarray, ang: list[np.ndarray],
                 ang_t: list[np.ndarray]) -> list[Event]:
        fs = self.imu_fs
        assert fs is not None
        events: list[Event] = []
        n_before = self._imu_n
        self._imu_n += len(t)
        if self._angles_proc is None:
            if self._cal is None:
                self._calib_q.append((qu.copy(), ql, t.copy()))  # (qu, t: views of a buffer)
                events += self._try_calibrate(float(t[-1]))
                if self._cal is None:
                    return events
            if self._calib_q:  # the samples buffered while calibrating: nothing is lost
                qu = np.concatenate([q[0] for q in self._calib_q])
                ql = np.concatenate([q[1] for q in self._calib_q])
                t = np.concatenate([q[2] for q in self._calib_q])
                n_before = 0
                self._calib_q = []
            self._angles_proc = kinematics.LumbarAngles(self._cal)
        angles = self._angles_proc.process(qu, ql)
        ang.append(angles)
        ang_t.append(t)
        self.last_angles = angles[-1].copy()
        # the measures count samples (times = index / fs); _retime gives them the samples' times
        holds, reps, moves, retime = self._holds, self._reps, self._moves, self._retime
        for k, a in enumerate(angles[:, 0].tolist()):
            i = n_before + k
            evh = holds.update(a)
            if evh:
                for e in evh:
                    if e["type"] == "hold_end":
                        self._hold_spans.append((e["start_s"], e["end_s"]))
                events += [retime(e) for e in evh]
            spans = self._hold_spans
            cur = holds.current()
            if cur is not None:
                spans = [*spans, (cur["start_s"], (i + 1) / fs)]
            evr = reps.update(a, spans)
            if evr:
                events += [retime(e) for e in evr]
            evm = moves.update(a)
            if evm:
                evm = [retime(e) for e in evm]
                self._pending_moves += evm
                events += evm
        return events

    def _try_calibrate(self, t_now: float) -> list[Event]:
        k = self.config["kinematics"]
        fs = self.imu_fs
        assert fs is not None
        heading: Any = k["heading"] if k["heading"] != "auto" else ("absolute" if self._use_mag else "align")
        if not k["enabled"]:
            return []
        if k["neutral_s"] is None:
            self._cal = kinematics.Calibration.nominal(tuple(k["mounting"]), heading=heading)  # type: ignore[arg-type]
            return [{"type": "calibrated", "time_s": t_now, "nominal": True,
                     "warning": "no kinematics.neutral_s window: nominal mounting, angles not calibrated"}]
        end = max(k["neutral_s"][1], k["flexion_s"][1] if k["flexion_s"] else 0.0)
        if self._imu_n / fs < end:  # the windows count samples from the first angle sample
            return []
        qu = np.concatenate([q[0] for q in self._calib_q])
        ql = np.concatenate([q[1] for q in self._calib_q])
        try:
            self._cal = kinematics.calibrate(qu, ql, fs, neutral=tuple(k["neutral_s"]),  # type: ignore[arg-type]
                                             flexion=tuple(k["flexion_s"]) if k["flexion_s"] else None,  # type: ignore[arg-type]
                                             mounting=tuple(k["mounting"]), heading=heading)
        except ValueError as exc:
            self._cal = kinematics.Calibration.nominal(tuple(k["mounting"]), heading=heading)  # type: ignore[arg-type]
            return [{"type": "calibrated", "time_s": t_now, "nominal": True,
                     "warning": f"calibration failed ({exc}); nominal mounting used"}]
        # the rest threshold of the movement detector from the neutral window's angles
        neutral_angles = kinematics.lumbar_angles(qu, ql, self._cal)[:, 0]
        i0, i1 = (round(v * fs) for v in k["neutral_s"])
        self._moves.learn_rest(neutral_angles[i0:i1])
        return [{"type": "calibrated", "time_s": t_now, "nominal": False,
                 "calibration": self._cal.to_dict()}]

    def _check_latencies(self, final: bool = False) -> list[Event]:
        """EMG onset latency relative to each movement onset, once the EMG up to 500 ms after the
        movement onset is decided (as :func:`kinemyo.metrics.onset_latencies`, window +-500 ms)."""
        if not self._pending_moves or not self.n_emg:
            self._pending_moves = [] if not self.n_emg else self._pending_moves
            return []
        lag = (self._det.latency_samples / self.emg_fs if self._det is not None else 0.0)
        out: list[Event] = []
        keep: list[Event] = []
        for mv in self._pending_moves:
            t_m = mv["onset_s"]
            if not final and self.emg_time < t_m + 0.5 + lag:
                keep.append(mv)
                continue
            for ch, name in enumerate(self.emg_channels):
                cands = [t for t in self._emg_onsets[ch] if t_m - 0.5 <= t <= t_m + 0.5]
                t_e = min(cands) if cands else None
                out.append({"type": "latency", "time_s": max(self.emg_time, mv["time_s"]), "channel": name,
                            "movement_onset_s": t_m, "direction": mv["direction"],
                            "emg_onset_s": t_e, "latency_ms": None if t_e is None else 1000.0 * (t_e - t_m)})
        self._pending_moves = keep
        return out

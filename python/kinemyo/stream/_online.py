"""The online pipeline: push chunks of EMG and IMU samples, get envelopes, lumbar angles and events.

This is the processing of :func:`kinemyo.pipeline.run` made causal, for live feedback, with no
dependency on Lab Streaming Layer (:mod:`kinemyo.stream` adds LSL inlets and outlets around it).
"""

from __future__ import annotations

import collections
import dataclasses
import math
import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import filters, fusion, kinematics, onset
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
    envelope_t : (m,) their times, s (session time: 0 = first sample pushed, or the caller's clock
        when timestamps are given)
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


class _Timeline:
    """Per-stream time keeping: gaps and drop-outs from timestamps, short gaps filled by linear
    interpolation, long ones reported so that the caller resets its processors."""

    def __init__(self, name: str, fs: float, max_fill_s: float) -> None:
        self.name = name
        self.fs = float(fs)
        self.max_fill = max(0, math.floor(max_fill_s * fs))
        self.last_t: float | None = None
        self.last_x: np.ndarray | None = None
        self.n_gaps = 0
        self.n_missing = 0
        self.n_dropped = 0

    def feed(self, x: np.ndarray,
             ts: np.ndarray | None) -> tuple[list[tuple[bool, np.ndarray, np.ndarray]], list[Event]]:
        """Blocks ``(restart, data, times)`` in order; ``restart`` asks for fresh processors."""
        dt = 1.0 / self.fs
        events: list[Event] = []
        if ts is None:
            start = 0.0 if self.last_t is None else self.last_t + dt
            ts = start + np.arange(len(x)) * dt
        if self.last_t is not None:  # out-of-order or repeated timestamps are dropped
            prev = np.concatenate([[self.last_t], np.maximum.accumulate(ts)[:-1]])
            keep = ts > prev + 0.5 * dt
            if not keep.all():
                self.n_dropped += int((~keep).sum())
                events.append({"type": "dropped", "stream": self.name, "time_s": float(ts[-1]),
                               "n_samples": int((~keep).sum()), "reason": "timestamp not after the previous one"})
                x, ts = x[keep], ts[keep]
        if len(ts) == 0:
            return [], events
        blocks: list[tuple[bool, np.ndarray, np.ndarray]] = []
        restart = self.last_t is None
        ref_t = ts[0] - dt if self.last_t is None else self.last_t
        ref_x = x[0] if self.last_x is None else self.last_x
        d = np.diff(np.concatenate([[ref_t], ts]))
        missing = np.rint(d * self.fs).astype(np.int64) - 1
        cuts = np.flatnonzero(missing >= 1)
        lo = 0
        for c in [*cuts.tolist(), len(ts)]:
            if c > lo or (c == len(ts) and lo < len(ts)):
                blocks.append((restart, x[lo:c], ts[lo:c]))
                restart = False
            if c == len(ts):
                break
            m = int(missing[c])
            t_prev = ts[c - 1] if c > 0 else ref_t
            x_prev = x[c - 1] if c > 0 else ref_x
            self.n_gaps += 1
            self.n_missing += m
            filled = m <= self.max_fill
            events.append({"type": "gap", "stream": self.name, "time_s": float(ts[c]), "start_s": float(t_prev + dt),
                           "duration_s": float(ts[c] - t_prev - dt), "missing_samples": m, "filled": filled})
            if filled:  # linear interpolation across the gap keeps the filters' state meaningful
                w = (np.arange(1, m + 1) / (m + 1))[:, None]
                fill = (1 - w) * x_prev[None, :] + w * x[c][None, :]
                blocks.append((False, fill.astype(x.dtype), t_prev + np.arange(1, m + 1) * (ts[c] - t_prev) / (m + 1)))
            else:
                restart = True
            lo = c
        self.last_t = float(ts[-1])
        self.last_x = x[-1].copy()
        return blocks, events


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
        IMU rate (both IMUs); None: no IMUs. IMU chunks have 6 (gyr, acc) or 9 (+ mag) columns.
    emg_channels : list of str, optional
        Names used in the events (default ``emg0, emg1, ...``).
    calibration : kinematics.Calibration, optional
        A calibration saved from an earlier recording of the same session: angles start at once
        instead of after the neutral/flexion windows.
    on_event : callable, optional
        Called with every event dict as soon as it is decided (also returned by :meth:`push`).
    max_fill_s : float
        Gaps up to this long (from the timestamps) are filled by linear interpolation; longer gaps
        restart that stream's processors (the state before the gap is not valid after it). Every
        gap is reported as a ``gap`` event. Default 0.25 s.

    Notes
    -----
    Push with :meth:`push_emg`, :meth:`push_imu` (upper and lower together) or :meth:`push`
    (any stream by its configured name, e.g. from separate LSL inlets; the IMUs are paired by
    timestamp). Timestamps (s, any clock, one per sample) enable gap detection; without them the
    samples are taken as contiguous.
    """

    _reps: OnlineRepetitions

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
        self._given_cal = calibration
        if self.imu_fs is not None:
            self._imu_tl = {"upper": _Timeline(names["imu_upper"], self.imu_fs, max_fill_s),
                            "lower": _Timeline(names["imu_lower"], self.imu_fs, max_fill_s)}
            self._make_imu()
        self._emg_onsets: dict[int, collections.deque[float]] = collections.defaultdict(
            lambda: collections.deque(maxlen=64))
        self._pending_moves: list[Event] = []
        self.n_onsets = [0] * self.n_emg
        self.last_angles = np.full(3, np.nan)
        self.emg_time = -math.inf

    # ---------------------------------------------------------------- construction of the processors
    def _make_emg(self) -> None:
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
        self._det = (onset.OnlineDetector(fs, n, o["method"], tuple(o["rest_s"]) if o["rest_s"] else None,
                                          preprocess=False, min_active=o["min_duration_s"], min_gap=o["min_gap_s"])
                     if o["enabled"] else None)
        self._emg_n = 0        # samples since the (re)start of the EMG processors
        self._emg_seg_t = 0.0  # session time of sample 0 of the current segment

    def _make_imu(self, keep_calibration: bool = False) -> None:
        f = self.config["fusion"]
        cls = fusion._METHODS[f["method"]]
        assert self.imu_fs is not None
        self._ahrs = {"upper": cls(self.imu_fs), "lower": cls(self.imu_fs)}  # type: ignore[call-arg]
        self._imu_buf: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"upper": [], "lower": []}
        if not keep_calibration:
            self._cal: kinematics.Calibration | None = self._given_cal
        self._calib_q: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._imu_n = 0
        self._imu_seg_t: float | None = None
        self._use_mag: bool | None = None
        m = self.config["metrics"]
        fs = self.imu_fs
        self._holds = OnlineHolds(fs, m["hold_tolerance_deg"], m["hold_min_s"], m["hold_limit_s"])
        count: int = self._reps.count if keep_calibration else 0  # counts go on across a restart
        self._reps = OnlineRepetitions(fs, m["rep_min_amplitude_deg"] / 2, m["rep_min_amplitude_deg"])
        self._reps.count = count
        self._moves = OnlineMovementOnsets(fs, m["movement_threshold_deg_s"] or 10.0)
        self._hold_spans: list[tuple[float, float]] = []
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
        return self._push_imu_one(role[4:], chunk, timestamps)

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
            for restart, xb, tb in blocks:
                if restart:
                    if self._emg_n:
                        events += self._close_emg()
                        self._make_emg()
                    self._emg_seg_t = float(tb[0])
                events += self._run_emg(xb, env_out, env_t)
                self.emg_time = float(tb[-1])
        events += self._check_latencies()
        return self._emit(events, env_out, env_t, [], [])

    def push_imu(self, upper: npt.ArrayLike, lower: npt.ArrayLike, timestamps: npt.ArrayLike | None = None,
                 lower_timestamps: npt.ArrayLike | None = None) -> OnlineOutput:
        """Push samples of both IMUs (``(n, 6)`` or ``(n, 9)`` each); returns angles and events."""
        a = self._push_imu_one("upper", upper, timestamps)
        b = self._push_imu_one("lower", lower, timestamps if lower_timestamps is None else lower_timestamps)
        return OnlineOutput(a.envelope, a.envelope_t, np.concatenate([a.angles, b.angles]),
                            np.concatenate([a.angles_t, b.angles_t]), a.events + b.events)

    def finish(self) -> OnlineOutput:
        """End of the stream: close open activations and holds; returns their events."""
        events: list[Event] = []
        if self.n_emg and self._emg_n:
            events += self._close_emg()
        if self.imu_fs is not None:
            events += self._holds.finish(self._imu_seg_t or 0.0)
        events += self._check_latencies(final=True)
        return self._emit(events, [], [], [], [])

    def status(self) -> dict[str, Any]:
        """A snapshot for a status line: last angles, current hold, counts, gaps."""
        hold = self._holds.current(self._imu_seg_t or 0.0) if self.imu_fs is not None else None
        return {"emg_time_s": self.emg_time, "angles_deg": self.last_angles.tolist(),
                "calibrated": self.imu_fs is not None and self._cal is not None,
                "hold": hold, "repetitions": self._reps.count if self.imu_fs is not None else 0,
                "onsets": dict(zip(self.emg_channels, self.n_onsets, strict=True)),
                "gaps": (self._emg_tl.n_gaps if self.n_emg else 0)
                + (sum(t.n_gaps for t in self._imu_tl.values()) if self.imu_fs is not None else 0)}

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

    def _emit(self, events: list[Event], env: list[np.ndarray], env_t: list[np.ndarray],
              ang: list[np.ndarray], ang_t: list[np.ndarray]) -> OnlineOutput:
        if self.on_event is not None:
            for e in events:
                self.on_event(e)
        return OnlineOutput(np.concatenate(env) if env else np.empty((0, self.n_emg)),
                            np.concatenate(env_t) if env_t else np.empty(0),
                            np.concatenate(ang) if ang else np.empty((0, 3)),
                            np.concatenate(ang_t) if ang_t else np.empty(0), events)

    def _run_emg(self, x: np.ndarray, env_out: list[np.ndarray], env_t: list[np.ndarray]) -> list[Event]:
        y = self._bp(x)
        env = self._env(np.abs(y))
        n0, step = self._emg_n, self.env_step
        first = (-n0) % step
        idx = np.arange(first, len(x), step)
        if idx.size:
            env_out.append(env[idx])
            env_t.append(self._emg_seg_t + (n0 + idx) / self.emg_fs)
        self._emg_n += len(x)
        if self._det is None:
            return []
        yo = self._hp(y) if self._hp is not None else y
        return self._onset_events(self._det.process(yo))

    def _onset_events(self, rows: np.ndarray) -> list[Event]:
        out: list[Event] = []
        fs, t_seg = self.emg_fs, self._emg_seg_t
        now = t_seg + self._emg_n / fs
        for ch, a, b in np.asarray(rows).reshape(-1, 3).tolist():
            name = self.emg_channels[ch]
            if b < 0:
                self.n_onsets[ch] += 1
                self._emg_onsets[ch].append(t_seg + a / fs)
                out.append({"type": "emg_onset", "time_s": now, "channel": name, "onset_s": t_seg + a / fs})
            else:
                out.append({"type": "emg_offset", "time_s": now, "channel": name, "onset_s": t_seg + a / fs,
                            "offset_s": t_seg + b / fs, "duration_s": (b - a) / fs})
        return out

    def _close_emg(self) -> list[Event]:
        return self._onset_events(self._det.finish()) if self._det is not None else []

    def _imu_t(self, n: int) -> float:
        return (self._imu_seg_t or 0.0) + n / (self.imu_fs or 1.0)

    def _push_imu_one(self, which: str, chunk: npt.ArrayLike, timestamps: npt.ArrayLike | None) -> OnlineOutput:
        if self.imu_fs is None:
            raise ValueError("this pipeline has no IMUs (imu_fs is None or fusion.enabled = false)")
        x, ts = self._check(chunk, timestamps, (6, 9), f"IMU {which}")
        events: list[Event] = []
        ang: list[np.ndarray] = []
        ang_t: list[np.ndarray] = []
        if len(x):
            self._set_t0(ts)
            blocks, ev = self._imu_tl[which].feed(x, None if ts is None else ts - self._t0())
            events += ev
            for restart, xb, tb in blocks:
                if restart and self._imu_n:  # a long gap in one IMU restarts orientation and measures
                    events += self._holds.finish(self._imu_seg_t or 0.0)
                    self._make_imu(keep_calibration=True)  # the sensors' mounting has not changed
                    events.append({"type": "restart", "stream": self._imu_tl[which].name, "time_s": float(tb[0]),
                                   "reason": "gap longer than max_fill_s"})
                self._imu_buf[which].append((xb, tb))
            events += self._pair_and_run(ang, ang_t)
        events += self._check_latencies()
        return self._emit(events, [], [], ang, ang_t)

    def _pair_and_run(self, ang: list[np.ndarray], ang_t: list[np.ndarray]) -> list[Event]:
        """Pair upper and lower samples by time (to half a period) and run fusion + angles."""
        fs = self.imu_fs
        assert fs is not None
        bu, bl = self._imu_buf["upper"], self._imu_buf["lower"]
        if not bu or not bl:
            return []
        xu, tu = np.concatenate([b[0] for b in bu]), np.concatenate([b[1] for b in bu])
        xl, tl = np.concatenate([b[0] for b in bl]), np.concatenate([b[1] for b in bl])
        # walk both in time order; a sample with no partner within half a period (one IMU started
        # earlier, or lost samples the other has) is dropped; the tail of the longer one waits
        iu = il = 0
        pu: list[int] = []
        pl: list[int] = []
        half = 0.5 / fs
        while iu < len(tu) and il < len(tl):
            d = tu[iu] - tl[il]
            if d < -half:
                iu += 1
            elif d > half:
                il += 1
            else:
                pu.append(iu)
                pl.append(il)
                iu += 1
                il += 1
        self._imu_buf["upper"] = [(xu[iu:], tu[iu:])] if iu < len(tu) else []
        self._imu_buf["lower"] = [(xl[il:], tl[il:])] if il < len(tl) else []
        if not pu:
            return []
        return self._run_imu(xu[pu], xl[pl], tu[pu], ang, ang_t)

    def _run_imu(self, xu: np.ndarray, xl: np.ndarray, t: np.ndarray, ang: list[np.ndarray],
                 ang_t: list[np.ndarray]) -> list[Event]:
        fs = self.imu_fs
        assert fs is not None
        events: list[Event] = []
        if self._imu_seg_t is None:
            self._imu_seg_t = float(t[0])
        if self._use_mag is None:
            self._use_mag = bool(self.config["fusion"]["magnetometer"] and xu.shape[1] == 9 and xl.shape[1] == 9)
        qs = []
        for x, f in ((xu, self._ahrs["upper"]), (xl, self._ahrs["lower"])):
            g = np.ascontiguousarray(x[:, 0:3])
            a = np.ascontiguousarray(x[:, 3:6])
            m = np.ascontiguousarray(x[:, 6:9]) if self._use_mag else None
            qs.append(f.update(g, a, m))
        qu, ql = qs
        n_before = self._imu_n
        self._imu_n += len(t)
        if self._angles_proc is None:
            if self._cal is None:
                self._calib_q.append((qu, ql, t))
                events += self._try_calibrate()
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
        times = t
        ang.append(angles)
        ang_t.append(times)
        self.last_angles = angles[-1].copy()
        t_seg = self._imu_seg_t
        for k, a in enumerate(angles[:, 0].tolist()):
            i = n_before + k
            evh = self._holds.update(a, t_seg)
            for e in evh:
                if e["type"] == "hold_end":
                    self._hold_spans.append((e["start_s"], e["end_s"]))
            events += evh
            spans = self._hold_spans
            cur = self._holds.current(t_seg)
            if cur is not None:
                spans = [*spans, (cur["start_s"], t_seg + (i + 1) / fs)]
            events += self._reps.update(a, spans, t_seg)
            evm = self._moves.update(a, t_seg)
            self._pending_moves += evm
            events += evm
        return events

    def _try_calibrate(self) -> list[Event]:
        k = self.config["kinematics"]
        fs = self.imu_fs
        assert fs is not None
        heading: Any = k["heading"] if k["heading"] != "auto" else ("absolute" if self._use_mag else "align")
        t_now = self._imu_n / fs
        if not k["enabled"]:
            return []
        if k["neutral_s"] is None:
            self._cal = kinematics.Calibration.nominal(tuple(k["mounting"]), heading=heading)  # type: ignore[arg-type]
            return [{"type": "calibrated", "time_s": self._imu_t(self._imu_n), "nominal": True,
                     "warning": "no kinematics.neutral_s window: nominal mounting, angles not calibrated"}]
        end = max(k["neutral_s"][1], k["flexion_s"][1] if k["flexion_s"] else 0.0)
        if t_now < end:
            return []
        qu = np.concatenate([q[0] for q in self._calib_q])
        ql = np.concatenate([q[1] for q in self._calib_q])
        try:
            self._cal = kinematics.calibrate(qu, ql, fs, neutral=tuple(k["neutral_s"]),  # type: ignore[arg-type]
                                             flexion=tuple(k["flexion_s"]) if k["flexion_s"] else None,  # type: ignore[arg-type]
                                             mounting=tuple(k["mounting"]), heading=heading)
        except ValueError as exc:
            self._cal = kinematics.Calibration.nominal(tuple(k["mounting"]), heading=heading)  # type: ignore[arg-type]
            return [{"type": "calibrated", "time_s": self._imu_t(self._imu_n), "nominal": True,
                     "warning": f"calibration failed ({exc}); nominal mounting used"}]
        # the rest threshold of the movement detector from the neutral window's angles
        neutral_angles = kinematics.lumbar_angles(qu, ql, self._cal)[:, 0]
        i0, i1 = (round(v * fs) for v in k["neutral_s"])
        self._moves.learn_rest(neutral_angles[i0:i1])
        return [{"type": "calibrated", "time_s": self._imu_t(self._imu_n), "nominal": False,
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

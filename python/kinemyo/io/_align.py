"""Multi-rate alignment on a common time base, and gap / drop-out detection from timestamps."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ._model import Recording, Stream

__all__ = ["Gap", "align", "find_gaps", "resample"]

Method = Literal["linear", "nearest", "previous"]


@dataclasses.dataclass(frozen=True)
class Gap:
    """A run of missing samples in one stream.

    Attributes
    ----------
    stream : str
        Stream name.
    start : float
        Time in s where the missing run begins (where the first missing sample was due).
    end : float
        Time in s where data resumes (the first sample after the run).
    n_missing : int
        Number of samples missing (timestamp gap) or unusable (NaN run).
    kind : {"time", "nan"}
        ``"time"``: the timestamps jump (samples never arrived); ``"nan"``: samples are present but
        not finite (the device flagged a drop-out).
    """

    stream: str
    start: float
    end: float
    n_missing: int
    kind: Literal["time", "nan"] = "time"

    @property
    def duration(self) -> float:
        """``end - start`` in s."""
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _period(s: Stream) -> float | None:
    """Expected sample interval in s: ``1/fs``, else the median interval of the timestamps."""
    if s.fs is not None:
        return 1.0 / s.fs
    if s.n_samples < 2:
        return None
    d = np.diff(s.time)
    d = d[d > 0]
    return float(np.median(d)) if d.size else None


def find_gaps(data: Recording | Stream, *, name: str = "stream", tolerance: float = 1.5,
              nan: bool = True) -> list[Gap]:
    """Find gaps (missing timestamps) and drop-outs (runs of non-finite samples).

    Parameters
    ----------
    data : Recording or Stream
        All streams of a recording are checked, in order.
    name : str
        Stream name used in the report when ``data`` is a single stream.
    tolerance : float
        An interval longer than ``tolerance`` expected periods is a gap; the expected period is
        ``1/fs``, or the median interval for an irregular stream. Must be > 1.
    nan : bool
        Also report runs of samples in which any channel is NaN or infinite.

    Returns
    -------
    list of Gap
        Sorted by stream (in recording order), then time. For a timestamp gap between samples at
        ``t_i`` and ``t_{i+1}``: ``start = t_i + period``, ``end = t_{i+1}``,
        ``n_missing = round((t_{i+1} - t_i) / period) - 1`` (at least 1). For a NaN run:
        ``start`` is its first sample's time, ``end`` the first finite sample's time (or the last
        sample's time + period), ``n_missing`` its length.
    """
    if not tolerance > 1:
        raise ValueError(f"tolerance must be > 1 (in sample periods); got {tolerance}")
    items = list(data.items()) if isinstance(data, Recording) else [(name, data)]
    out: list[Gap] = []
    for sname, s in items:
        per = _period(s)
        found: list[Gap] = []
        if per is not None and s.n_samples > 1:
            d = np.diff(s.time)
            for i in np.flatnonzero(d > tolerance * per):
                t0, t1 = float(s.time[i]), float(s.time[i + 1])
                miss = max(1, round((t1 - t0) / per) - 1)
                found.append(Gap(sname, t0 + per, t1, miss, "time"))
        if nan and s.n_samples:
            bad = ~np.all(np.isfinite(s.data), axis=1)
            if bad.any():
                edges = np.diff(np.concatenate(([0], bad.view(np.int8), [0])))
                starts = np.flatnonzero(edges == 1)
                stops = np.flatnonzero(edges == -1)
                for a, b in zip(starts, stops, strict=True):
                    end = float(s.time[b]) if b < s.n_samples else float(s.time[b - 1]) + (per or 0.0)
                    found.append(Gap(sname, float(s.time[a]), end, int(b - a), "nan"))
        out.extend(sorted(found, key=lambda g: (g.start, g.kind)))
    return out


def resample(stream: Stream, time: npt.ArrayLike, *, method: Method = "linear",
             max_gap: float | Literal["auto"] | None = "auto", fs: float | None = None) -> Stream:
    """Evaluate a stream at new timestamps (interpolation, vectorised across channels).

    Parameters
    ----------
    stream : Stream
    time : array_like, shape (n,)
        New timestamps in s, non-decreasing.
    method : {"linear", "nearest", "previous"}
        Linear interpolation between neighbours; the nearest sample; or the last sample at or
        before each time (sample and hold, for step-like signals and states).
    max_gap : float, "auto" or None
        Neighbours further apart than this (s) are not bridged: times inside a longer interval
        give NaN, so a drop-out stays visible. ``"auto"``: 1.5 sample periods (as
        :func:`find_gaps`). ``None``: bridge everything.
    fs : float, optional
        Nominal rate of the new time base (Hz), recorded on the result.

    Returns
    -------
    Stream
        Same channels, units, metadata and dtype. Times before the first or after the last sample
        are NaN (no extrapolation). A time equal to a sample's timestamp gives that sample
        exactly.

    Notes
    -----
    Interpolation does not low-pass filter: to go to a lower rate (EMG at 2 kHz onto IMU at
    100 Hz), first filter or take the envelope (:mod:`kinemyo.filters`), or aliasing folds
    high-frequency power into the result.
    """
    if method not in ("linear", "nearest", "previous"):
        raise ValueError(f"method must be 'linear', 'nearest' or 'previous'; got {method!r}")
    tq = np.array(time, dtype=np.float64)  # a copy: the output owns its time base (review: align's
    # outputs shared the reference stream's array, so editing one shifted the input recording)
    if tq.ndim != 1:
        raise ValueError(f"time must be 1-D; got shape {tq.shape}")
    if stream.n_samples == 0:
        raise ValueError("cannot resample a stream with zero samples")
    if max_gap == "auto":
        per = _period(stream)
        gap = 1.5 * per if per is not None else math.inf
    elif max_gap is None:
        gap = math.inf
    else:
        gap = float(max_gap)
        if not gap > 0:
            raise ValueError(f"max_gap must be > 0 s, 'auto' or None; got {max_gap}")
    t, x = stream.time, stream.data
    n = t.shape[0]
    idx = np.searchsorted(t, tq, side="right")  # t[idx-1] <= tq < t[idx]
    i0 = np.clip(idx - 1, 0, n - 1)
    i1 = np.clip(idx, 0, n - 1)
    span = t[i1] - t[i0]
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(span > 0, (tq - t[i0]) / np.where(span > 0, span, 1.0), 0.0)
    exact = w == 0
    if method == "linear":
        # np.interp per channel (a loop over channels, not samples) is several times faster than
        # gathering rows; it returns a sample exactly at its own timestamp
        y = np.empty((tq.shape[0], x.shape[1]), dtype=x.dtype)
        for j in range(x.shape[1]):
            y[:, j] = np.interp(tq, t, x[:, j])
    elif method == "nearest":
        y = x[np.where(w < 0.5, i0, i1)]
    else:
        y = x[i0]
    outside = (tq < t[0]) | (tq > t[-1])
    bridged = (~exact) & (span > gap)
    y[outside | bridged] = np.nan
    return Stream(y, fs, time=tq, channel_names=stream.channel_names, units=stream.units,
                  metadata=stream.metadata)


def align(recording: Recording, reference: str | None = None, *, fs: float | None = None,
          streams: Sequence[str] | None = None, method: Method = "linear",
          max_gap: float | Literal["auto"] | None = "auto") -> Recording:
    """Put streams of different rates on one common time base.

    Parameters
    ----------
    recording : Recording
    reference : str, optional
        Stream whose timestamps become the common time base (it is copied unchanged). Default:
        the stream with the highest rate, unless ``fs`` is given.
    fs : float, optional
        Instead of a reference stream, a uniform time base at ``fs`` Hz over the time all the
        chosen streams overlap (latest start to earliest last sample).
    streams : sequence of str, optional
        Streams to align (default: all). The reference is always included.
    method, max_gap
        As in :func:`resample`; each stream's ``"auto"`` gap limit is 1.5 of its own periods.

    Returns
    -------
    Recording
        The chosen streams, all with the same ``time`` array and ``fs`` (the reference's), so their
        data can be stacked column-wise. Samples outside a stream's range or inside one of its gaps
        are NaN. ``metadata["aligned_to"]`` says what the time base is.

    Examples
    --------
    >>> import numpy as np
    >>> rec = Recording({"emg": Stream(np.zeros((2000, 2)), fs=2000.0),
    ...                  "imu": Stream(np.arange(100.0), fs=100.0)})
    >>> out = align(rec, "emg")
    >>> out["imu"].n_samples, float(out["imu"].data[40, 0])   # t = 0.02 s -> imu sample 2
    (2000, 2.0)
    """
    names = list(recording) if streams is None else list(streams)
    for nm in names:
        recording[nm]
    empty = [nm for nm in names if recording[nm].n_samples == 0]
    if empty:
        raise ValueError(f"cannot align streams with zero samples: {empty}")
    if fs is not None and reference is not None:
        raise ValueError("give either reference= (a stream name) or fs= (Hz), not both")
    if fs is not None:
        if not (math.isfinite(fs) and fs > 0):
            raise ValueError(f"fs must be a finite rate > 0 Hz; got {fs}")
        t0 = max(recording[nm].start for nm in names)
        t1 = min(float(recording[nm].time[-1]) for nm in names)
        if t1 < t0:
            raise ValueError(f"streams {names} do not overlap in time")
        # (tolerance 1e-6 samples: with LSL/XDF timestamps near 1e5 s, (t1 - t0) carries ~1e-11 s of
        # rounding, 2e-8 samples at 2 kHz, and 1e-9 dropped the last common sample half the time;
        # the grid is then clamped to t1 so that the rounding cannot put its end outside the data)
        tq = np.minimum(t0 + np.arange(math.floor((t1 - t0) * fs + 1e-6) + 1) / fs, t1)
        base_fs: float | None = float(fs)
        label = f"uniform {fs:g} Hz from {t0:g} s"
    else:
        if reference is None:
            rated = [nm for nm in names if recording[nm].fs is not None]
            if not rated:
                raise ValueError("no stream has a nominal rate; pass reference= or fs=")
            reference = max(rated, key=lambda nm: recording[nm].fs or 0.0)
        ref = recording[reference]
        if reference not in names:
            names.insert(0, reference)
        tq = ref.time
        base_fs = ref.fs
        label = f"stream {reference}"
    out = Recording(metadata={**recording.metadata, "aligned_to": label}, source=recording.source)
    for nm in names:
        s = recording[nm]
        if fs is None and nm == reference:
            out.add(nm, s.copy())
        else:
            out.add(nm, resample(s, tq, method=method, max_gap=max_gap, fs=base_fs))
    return out

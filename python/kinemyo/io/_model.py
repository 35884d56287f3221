"""The in-memory model: :class:`Stream` and :class:`Recording`, and the I/O error types."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["MissingDependencyError", "ReadError", "Recording", "Stream", "WriteError"]


class ReadError(ValueError):
    """A file could not be read: missing, wrong extension, unreadable, truncated or corrupt.

    The message names the file and the reason; both are also attributes.

    Attributes
    ----------
    path : str
        The file that failed.
    reason : str
        What went wrong, in words.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across process pools
        return (type(self), (self.path, self.reason))


class WriteError(ValueError):
    """A recording could not be written (bad path, unsupported extension, unrepresentable data)."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.reason))


class MissingDependencyError(ImportError):
    """An optional library needed for a file format is not installed; names the extra to install."""


def _as_float_array(data: npt.ArrayLike, what: str) -> np.ndarray:
    arr = np.asarray(data)
    if arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind != "f":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{what} must be numeric; got dtype {arr.dtype}") from None
    return arr


class Stream:
    """One stream of a recording: an ``(n_samples, n_channels)`` array with its time base.

    Parameters
    ----------
    data : array_like, shape (n_samples, n_channels) or (n_samples,)
        The samples, time-major. 1-D means one channel. Integer input is converted to float64;
        float32 and float64 are kept.
    fs : float or None
        Sampling rate in Hz (the nominal rate when ``time`` is given too), or ``None`` for an
        irregularly sampled stream, which then needs ``time``.
    time : array_like, shape (n_samples,), optional
        Timestamps in seconds, finite and non-decreasing. When omitted,
        ``time = t0 + arange(n_samples) / fs``.
    channel_names : sequence of str, optional
        One unique name per channel; default ``"ch0", "ch1", ...``.
    units : str or sequence of str, optional
        Physical unit of each channel (e.g. ``"mV"``, ``"m/s^2"``, ``"rad/s"``); one string applies
        to all channels; default ``""`` (unknown).
    t0 : float
        Time of the first sample in seconds when ``time`` is omitted.
    metadata : mapping, optional
        Free-form, JSON-friendly information (sensor type, placement, ...).

    Notes
    -----
    ``time`` is always the truth; ``fs`` is what the device promised. :func:`kinemyo.io.find_gaps`
    compares the two to report drop-outs.

    Examples
    --------
    >>> import numpy as np
    >>> s = Stream(np.zeros((2000, 4)), fs=2000.0, channel_names=["a", "b", "c", "d"], units="mV")
    >>> s.n_samples, s.n_channels, s.duration
    (2000, 4, 1.0)
    """

    __slots__ = ("channel_names", "data", "fs", "metadata", "time", "units")

    def __init__(self, data: npt.ArrayLike, fs: float | None = None, *,
                 time: npt.ArrayLike | None = None,
                 channel_names: Sequence[str] | None = None,
                 units: str | Sequence[str] | None = None,
                 t0: float = 0.0,
                 metadata: Mapping[str, Any] | None = None) -> None:
        arr = _as_float_array(data, "data")
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ValueError(f"data must have shape (n_samples, n_channels); got {arr.shape}")
        n, c = arr.shape
        if c == 0:
            raise ValueError(f"data must have at least one channel; got shape {arr.shape}")
        if fs is not None:
            try:
                fs = float(fs)
            except (TypeError, ValueError):
                raise TypeError(f"fs must be a number in Hz or None; got {fs!r}") from None
            if not (math.isfinite(fs) and fs > 0):
                raise ValueError(f"fs must be a finite rate > 0 Hz or None; got {fs}")
        if time is None:
            if fs is None:
                raise ValueError("a stream needs fs (Hz) or time (s); got neither")
            if not math.isfinite(t0):
                raise ValueError(f"t0 must be finite; got {t0}")
            t = float(t0) + np.arange(n, dtype=np.float64) / fs
        else:
            t = _as_float_array(time, "time").astype(np.float64, copy=False)
            if t.ndim != 1 or t.shape[0] != n:
                raise ValueError(f"time must have shape ({n},) to match data; got {t.shape}")
            if n and not np.all(np.isfinite(t)):
                k = int(np.argmin(np.isfinite(t)))
                raise ValueError(f"time must be finite; sample {k} is {float(t[k])}")
            if n > 1:
                d = np.diff(t)
                if np.any(d < 0):
                    i = int(np.argmax(d < 0))
                    raise ValueError(f"time must be non-decreasing; it goes back from {float(t[i])!r} s to "
                                     f"{float(t[i + 1])!r} s at sample {i + 1}")
        if channel_names is None:
            names = tuple(f"ch{i}" for i in range(c))
        else:
            if isinstance(channel_names, str):
                channel_names = [channel_names]
            names = tuple(str(x) for x in channel_names)
            if len(names) != c:
                raise ValueError(f"channel_names must have {c} entries (one per channel); got {len(names)}")
            dup = sorted({x for x in names if names.count(x) > 1})
            if dup:
                raise ValueError(f"channel_names must be unique; repeated: {dup}")
        if units is None:
            u = ("",) * c
        elif isinstance(units, str):
            u = (units,) * c
        else:
            u = tuple(str(x) for x in units)
            if len(u) != c:
                raise ValueError(f"units must have {c} entries (one per channel) or be one string; got {len(u)}")
        self.data: np.ndarray = arr
        self.fs: float | None = fs
        self.time: np.ndarray = t
        self.channel_names: tuple[str, ...] = names
        self.units: tuple[str, ...] = u
        self.metadata: dict[str, Any] = dict(metadata or {})

    # -- shape and time ---------------------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        return int(self.data.shape[0])

    @property
    def n_channels(self) -> int:
        return int(self.data.shape[1])

    @property
    def regular(self) -> bool:
        """True when the stream has a nominal sampling rate."""
        return self.fs is not None

    @property
    def start(self) -> float:
        """Time of the first sample in s (NaN for an empty stream)."""
        return float(self.time[0]) if self.n_samples else math.nan

    @property
    def end(self) -> float:
        """End of the stream in s: last timestamp plus one sample period (``1/fs``) if regular."""
        if not self.n_samples:
            return math.nan
        return float(self.time[-1]) + (1.0 / self.fs if self.fs else 0.0)

    @property
    def duration(self) -> float:
        """``end - start`` in s; for a regular stream without gaps that is ``n_samples / fs``."""
        return 0.0 if not self.n_samples else self.end - self.start

    @property
    def effective_fs(self) -> float | None:
        """Mean rate measured from the timestamps in Hz (``None`` with fewer than 2 samples)."""
        if self.n_samples < 2 or self.time[-1] == self.time[0]:
            return None
        return (self.n_samples - 1) / float(self.time[-1] - self.time[0])

    # -- access -------------------------------------------------------------------------------------
    def channel(self, name: str) -> np.ndarray:
        """The samples of one channel as a 1-D array (a view)."""
        try:
            return self.data[:, self.channel_names.index(name)]
        except ValueError:
            raise KeyError(f"no channel {name!r}; channels are {list(self.channel_names)}") from None

    def __getitem__(self, name: str) -> np.ndarray:
        return self.channel(name)

    def select(self, channels: Sequence[str]) -> Stream:
        """A new stream with only the named channels, in that order."""
        idx = []
        for ch in channels:
            if ch not in self.channel_names:
                raise KeyError(f"no channel {ch!r}; channels are {list(self.channel_names)}")
            idx.append(self.channel_names.index(ch))
        return Stream(self.data[:, idx], self.fs, time=self.time.copy(),
                      channel_names=[self.channel_names[i] for i in idx],
                      units=[self.units[i] for i in idx], metadata=self.metadata)

    def crop(self, t_start: float | None = None, t_stop: float | None = None) -> Stream:
        """A new stream with the samples whose time is in ``[t_start, t_stop)`` (seconds)."""
        lo = 0 if t_start is None else int(np.searchsorted(self.time, t_start, side="left"))
        hi = self.n_samples if t_stop is None else int(np.searchsorted(self.time, t_stop, side="left"))
        return Stream(self.data[lo:hi].copy(), self.fs, time=self.time[lo:hi].copy(),
                      channel_names=self.channel_names, units=self.units, metadata=self.metadata)

    def copy(self) -> Stream:
        return Stream(self.data.copy(), self.fs, time=self.time.copy(), channel_names=self.channel_names,
                      units=self.units, metadata=dict(self.metadata))

    def summary(self) -> dict[str, Any]:
        """JSON-friendly description: rate, samples, channels, units, start, duration."""
        eff = self.effective_fs
        return {
            "fs": self.fs,
            "effective_fs": eff,
            "n_samples": self.n_samples,
            "n_channels": self.n_channels,
            "dtype": str(self.data.dtype),
            "start_s": None if not self.n_samples else self.start,
            "duration_s": self.duration,
            "channel_names": list(self.channel_names),
            "units": list(self.units),
            "metadata": _jsonable(self.metadata),
        }

    # -- interop ------------------------------------------------------------------------------------
    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` indexed by ``time`` (s), one column per channel (pandas needed)."""
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - depends on the environment
            raise MissingDependencyError("Stream.to_pandas needs pandas: pip install pandas") from None
        return pd.DataFrame(self.data, index=pd.Index(self.time, name="time"), columns=list(self.channel_names))

    def to_mne(self, ch_types: str | Sequence[str] = "misc") -> Any:
        """An ``mne.io.RawArray`` of this stream (mne needed; regular streams only).

        Samples are scaled to SI units MNE expects where the unit says so (``mV``, ``uV``/``µV``
        -> V). ``ch_types`` is one MNE channel type for all channels (e.g. ``"emg"``) or one per
        channel. The timestamps are dropped: MNE assumes a regular rate.
        """
        if self.fs is None:
            raise ValueError("to_mne needs a regularly sampled stream (fs is None); align or resample it first")
        try:
            import mne
        except ImportError:  # pragma: no cover - depends on the environment
            raise MissingDependencyError("Stream.to_mne needs mne: pip install mne") from None
        scale = np.array([_SI_SCALE.get(u, 1.0) for u in self.units])
        info = mne.create_info(list(self.channel_names), self.fs, ch_types=ch_types)  # type: ignore[arg-type]
        return mne.io.RawArray((self.data * scale).T, info, verbose=False)

    def __repr__(self) -> str:
        rate = "irregular" if self.fs is None else f"{self.fs:g} Hz"
        return (f"Stream({self.n_samples} samples x {self.n_channels} channels, {rate}, "
                f"{self.duration:.3f} s, dtype={self.data.dtype})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Stream):
            return NotImplemented
        return (self.fs == other.fs and self.channel_names == other.channel_names
                and self.units == other.units and self.data.shape == other.data.shape
                and np.array_equal(self.time, other.time)
                and np.array_equal(self.data, other.data, equal_nan=True))

    __hash__ = None  # type: ignore[assignment]


_SI_SCALE = {"V": 1.0, "mV": 1e-3, "uV": 1e-6, "µV": 1e-6, "μV": 1e-6}


def _jsonable(x: Any) -> Any:
    """A JSON-serialisable copy of ``x`` (numpy scalars/arrays, tuples, datetimes -> str)."""
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, np.generic):
        return _jsonable(x.item())
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    return str(x)


class Recording(Mapping[str, Stream]):
    """A recorded session: named streams (e.g. ``emg``, ``imu_upper``, ``imu_lower``) plus metadata.

    A read-only mapping from stream name to :class:`Stream` (``rec["emg"]``, ``"emg" in rec``,
    ``list(rec)``); use :meth:`add` / :meth:`remove` to change it. All streams share one time axis
    in seconds (readers put its origin at the start of the recording unless told otherwise; the
    original origin is kept in ``metadata``).

    Parameters
    ----------
    streams : mapping of str to Stream, optional
    metadata : mapping, optional
        Free-form, JSON-friendly information (subject, date, device, ...).
    source : str, optional
        The file it was read from.

    Examples
    --------
    >>> import numpy as np
    >>> rec = Recording({"emg": Stream(np.zeros((4000, 2)), fs=2000.0),
    ...                  "imu": Stream(np.zeros((200, 6)), fs=100.0)})
    >>> rec["emg"].fs, rec.duration
    (2000.0, 2.0)
    """

    def __init__(self, streams: Mapping[str, Stream] | None = None, *,
                 metadata: Mapping[str, Any] | None = None, source: str | None = None) -> None:
        self._streams: dict[str, Stream] = {}
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.source = source
        for name, s in (streams or {}).items():
            self.add(name, s)

    def add(self, name: str, stream: Stream) -> None:
        """Add a stream under a new, non-empty name."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"stream name must be a non-empty string; got {name!r}")
        if name in self._streams:
            raise ValueError(f"a stream named {name!r} already exists; streams are {list(self._streams)}")
        if not isinstance(stream, Stream):
            raise TypeError(f"stream {name!r} must be a kinemyo.io.Stream; got {type(stream).__name__}")
        self._streams[name] = stream

    def remove(self, name: str) -> Stream:
        """Remove and return a stream."""
        s = self[name]
        del self._streams[name]
        return s

    def __getitem__(self, name: str) -> Stream:
        try:
            return self._streams[name]
        except KeyError:
            raise KeyError(f"no stream {name!r}; streams are {list(self._streams)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._streams)

    def __len__(self) -> int:
        return len(self._streams)

    @property
    def start(self) -> float:
        """Earliest stream start in s (NaN if there are no samples)."""
        v = [s.start for s in self._streams.values() if s.n_samples]
        return min(v) if v else math.nan

    @property
    def end(self) -> float:
        v = [s.end for s in self._streams.values() if s.n_samples]
        return max(v) if v else math.nan

    @property
    def duration(self) -> float:
        """From the earliest start to the latest end over all streams, in s."""
        v = [s for s in self._streams.values() if s.n_samples]
        return self.end - self.start if v else 0.0

    def summary(self) -> dict[str, Any]:
        """JSON-friendly description of the recording and each stream (see :meth:`Stream.summary`)."""
        return {
            "source": self.source,
            "duration_s": self.duration,
            "start_s": None if not len(self) else _jsonable(self.start),
            "metadata": _jsonable(self.metadata),
            "streams": {k: s.summary() for k, s in self._streams.items()},
        }

    def describe(self) -> str:
        """A human-readable multi-line description (what ``kinemyo info`` prints)."""
        lines = [f"{self.source or '<recording>'}: {len(self)} stream(s), {self.duration:.3f} s"]
        for name, s in self._streams.items():
            rate = "irregular" if s.fs is None else f"{s.fs:g} Hz"
            eff = s.effective_fs
            if eff is not None and (s.fs is None or abs(eff - s.fs) > 1e-3 * s.fs):
                rate += f" (measured {eff:.6g} Hz)"
            lines.append(f"  {name}: {s.n_channels} channel(s), {rate}, {s.n_samples} samples, "
                         f"{s.duration:.3f} s from {s.start:.3f} s")
            chans = [f"{c} [{u}]" if u else c for c, u in zip(s.channel_names, s.units, strict=True)]
            lines.append("    channels: " + ", ".join(chans))
        return "\n".join(lines)

    def to_pandas(self, stream: str | None = None) -> Any:
        """``DataFrame`` of one stream, or a dict of them (one per stream) when ``stream`` is None."""
        if stream is not None:
            return self[stream].to_pandas()
        return {k: s.to_pandas() for k, s in self._streams.items()}

    def to_mne(self, stream: str, ch_types: str | Sequence[str] = "misc") -> Any:
        """``mne.io.RawArray`` of one (regular) stream; see :meth:`Stream.to_mne`."""
        return self[stream].to_mne(ch_types)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}: {v!r}" for k, v in self._streams.items())
        return f"Recording({inner})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Recording):
            return NotImplemented
        return list(self) == list(other) and all(self[k] == other[k] for k in self)

    __hash__ = None  # type: ignore[assignment]

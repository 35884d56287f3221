"""Run the pipeline on one recording: EMG conditioning and onsets, orientation, lumbar angles,
clinical measures; write the tables and the summary.

Recording model: any mapping-like object with ``name in rec`` and ``rec[name]`` giving a stream
with ``.data`` (n_samples, n_channels) and ``.fs`` (Hz) — :class:`kinemyo.io.Recording` or a dict of
such streams. IMU streams hold 6 or 9 channels in the order gyroscope x, y, z (rad/s),
accelerometer x, y, z (m/s²), magnetometer x, y, z (any unit); EMG streams hold one channel per
muscle.
"""

from __future__ import annotations

import csv
import dataclasses
import io as _io
import itertools
import json
import math
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import filters, fusion, kinematics, onset
from .. import metrics as kmetrics
from .config import PipelineConfig, load_config, parse_config

__all__ = ["Result", "run", "write_result"]


@dataclasses.dataclass
class Result:
    """What the pipeline computed for one recording.

    Attributes
    ----------
    source : str
        Where the recording came from.
    signals : dict
        Time series for tables and the report: ``angles`` (n, 3) deg with ``angles_t`` (s) and
        ``angles_fs``; ``envelope`` (n, C) with ``envelope_t``; ``emg_channels``.
    events : dict of lists of dicts
        ``holds``, ``repetitions``, ``emg_onsets`` (channel, onset_s, offset_s),
        ``movement_onsets``, ``latencies``.
    metrics : dict
        Summary numbers (range of motion, peak flexion, counts, durations, timings).
    warnings : list of str
        What could not be computed and why (e.g. no neutral window: nominal calibration).
    seconds : float
        Processing time of :func:`run` in s.
    config : PipelineConfig or None
        The validated configuration the result was computed with (set by :func:`run`);
        :func:`write_result` takes its ``[output]`` formats and signals from it.
    """

    source: str
    signals: dict[str, Any]
    events: dict[str, list[dict[str, Any]]]
    metrics: dict[str, Any]
    warnings: list[str]
    seconds: float = 0.0
    config: PipelineConfig | None = None

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary: metrics, event counts, warnings."""
        return {"source": self.source, "metrics": self.metrics,
                "events": {k: len(v) for k, v in self.events.items()}, "warnings": self.warnings,
                "processing_seconds": self.seconds}


def _stream(rec: Any, name: str) -> Any | None:
    try:
        return rec[name] if name in rec else None
    except TypeError:
        return None


def _start(stream: Any, name: str, warnings: list[str]) -> float:
    """Time of ``stream``'s first sample on the recording's axis (0 for plain arrays), with a warning
    when its timestamps are not regular: the pipeline takes sample i at start + i / fs."""
    t = np.asarray(getattr(stream, "time", None) if hasattr(stream, "time") else np.zeros(0), dtype=float)
    if t.size == 0 or not np.isfinite(t[0]):
        return 0.0
    fs = float(stream.fs)
    dev = np.abs(t - (t[0] + np.arange(t.size) / fs))
    if t.size > 1 and float(np.nanmax(dev)) > 0.5 / fs:
        warnings.append(f"stream {name!r} has gaps or jumps in its timestamps (up to {float(np.nanmax(dev)):.3g} s "
                        "off a regular grid); it is processed as contiguous from its first sample, so times "
                        "after a gap are early: fill or split it first (kinemyo.io.find_gaps, kinemyo.io.align)")
    return float(t[0])


def _shift_window(w: Any, origin: float, t0: float, duration: float, what: str, min_s: float,
                  warnings: list[str]) -> tuple[float, float] | None:
    """A configured window (seconds from the recording's start, ``origin`` on its time axis) as
    seconds from the first sample of a stream that starts at ``t0`` and lasts ``duration``: clipped
    to the stream with a warning; None (with a warning) when less than ``min_s`` of it is left."""
    if not w:
        return None
    a, b = float(w[0]) + origin - t0, float(w[1]) + origin - t0
    ca, cb = max(a, 0.0), min(b, duration)
    if cb - ca < min_s:
        warnings.append(f"{what} [{float(w[0]):g}, {float(w[1]):g}] s lies (mostly) outside its stream, which "
                        f"covers [{t0 - origin:g}, {t0 - origin + duration:g}] s of the recording: not used")
        return None
    if (ca, cb) != (a, b):
        warnings.append(f"{what} [{float(w[0]):g}, {float(w[1]):g}] s reaches outside its stream: cut to "
                        f"[{ca + t0 - origin:g}, {cb + t0 - origin:g}] s")
    return ca, cb


def _origin(recording: Any) -> float:
    """Time of the recording's earliest sample (0 for containers without timestamps)."""
    streams = recording.values() if hasattr(recording, "values") else []
    starts = []
    for s in streams:  # the first timestamp, as _start reads it (any object with .time)
        t = np.asarray(getattr(s, "time", None) if hasattr(s, "time") else np.zeros(0), dtype=float)
        if t.ndim == 1 and t.size and np.isfinite(t[0]):
            starts.append(float(t[0]))
    return min(starts) if starts else 0.0


def _imu_overlap(up: Any, lo: Any) -> bool:
    """Whether two IMU streams share at least three samples' time (plain arrays without
    timestamps: yes); with less, nothing is left to pair after the head of one is dropped."""
    try:
        return bool(min(up.end, lo.end) - max(up.start, lo.start) >= 3.0 / float(up.fs))
    except (AttributeError, TypeError, ValueError):
        return True


def _imu_columns(data: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    if data.ndim != 2 or data.shape[1] not in (6, 9):
        raise ValueError(f"stream {name!r} must have 6 (gyr, acc) or 9 (gyr, acc, mag) channels; "
                         f"got shape {data.shape}")
    gyr = np.ascontiguousarray(data[:, 0:3], dtype=float)
    acc = np.ascontiguousarray(data[:, 3:6], dtype=float)
    mag = np.ascontiguousarray(data[:, 6:9], dtype=float) if data.shape[1] == 9 else None
    return gyr, acc, mag


def _as_config(config: Any) -> PipelineConfig:
    """A :class:`PipelineConfig` from what :func:`run` accepts."""
    if isinstance(config, PipelineConfig):
        return config
    if isinstance(config, Mapping):
        return parse_config(config)
    if config is None or isinstance(config, (str, os.PathLike)):
        return load_config(config)
    raise TypeError("config must be a PipelineConfig, a mapping such as {'emg': {'notch_hz': 60.0}}, "
                    f"the path of a TOML file or None; got {type(config).__name__}")


def run(recording: Any,
        config: PipelineConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None) -> Result:
    """Process one recording with a pipeline configuration.

    Parameters
    ----------
    recording : Recording or mapping of streams
        :class:`kinemyo.io.Recording` or any mapping ``name -> stream`` with ``.data``
        (n_samples, n_channels) and ``.fs`` (Hz) (see the module docs for the channel order).
    config : PipelineConfig, mapping, path or None
        A validated :class:`PipelineConfig`; a mapping of sections such as
        ``{"kinematics": {"neutral_s": [1, 9]}}`` (validated by :func:`parse_config`, omitted keys
        take their defaults); the path of a TOML file (read by :func:`load_config`); or ``None``
        for the defaults.

    Returns
    -------
    Result
        With the configuration used in ``result.config``.

    Raises
    ------
    ConfigError
        (a ``ValueError``) An invalid configuration, every problem listed — the same errors for a
        mapping as for a TOML file.
    TypeError
        ``config`` of another type.
    ValueError
        A configured stream is malformed (named in the message).
    """
    t_start = time.perf_counter()
    cfg = _as_config(config)
    warnings: list[str] = []
    signals: dict[str, Any] = {}
    events: dict[str, list[dict[str, Any]]] = {"holds": [], "repetitions": [], "emg_onsets": [],
                                               "movement_onsets": [], "latencies": []}
    metrics: dict[str, Any] = {}
    names = cfg["streams"]
    emg_events: list[np.ndarray] | None = None
    emg_fs = 0.0

    # ---------------------------------------------------------------- EMG
    emg = _stream(recording, names["emg"]) if cfg["emg"]["enabled"] else None
    if cfg["emg"]["enabled"] and emg is None:
        warnings.append(f"no EMG stream {names['emg']!r}: EMG steps skipped")
    # configured windows count from the recording's start (its earliest sample); result times are
    # on the recording's time axis (the streams' timestamps)
    origin = _origin(recording)
    t_emg = 0.0
    if emg is not None:
        t_emg = _start(emg, names["emg"], warnings)
        x = np.asarray(emg.data)
        if x.dtype not in (np.float32, np.float64):
            x = x.astype(np.float64)
        if x.ndim == 1:
            x = x[:, None]
        emg_fs = float(emg.fs)
        c = cfg["emg"]
        hi = min(c["bandpass_hz"][1], 0.45 * emg_fs)
        bp = filters.butter(c["bandpass_order"], (c["bandpass_hz"][0], hi), emg_fs, "bandpass")
        notch_hz = c["notch_hz"]
        if notch_hz == "auto":
            # the line frequency if estimate_mains finds hum (in the onset rest window when one is
            # configured, else over the whole recording), else no notch; reported in the metrics
            rest = (_shift_window(cfg["onset"]["rest_s"], origin, t_emg, x.shape[0] / emg_fs, "onset.rest_s", 0.1,
                                  []) if cfg["onset"]["enabled"] else None)
            found = onset.estimate_mains(x, emg_fs, rest,
                                         band=(c["bandpass_hz"][0], hi))
            notch_hz = 0.0 if found is None else found
            metrics["emg_notch_hz"] = notch_hz
        if 0 < notch_hz < emg_fs / 2:
            # notch and band-pass as one cascade: one pass over the data instead of two (the same
            # filter; only the edge padding of the zero-phase version differs, within the first and
            # last ~0.1 s)
            bp = np.vstack([filters.notch(notch_hz, emg_fs, 30.0, c["notch_harmonics"]), bp])
        y = filters.sosfiltfilt(bp, x) if c["zero_phase"] else filters.sosfilt(bp, x)
        lp = filters.butter(2, c["envelope_cutoff_hz"], emg_fs)
        env = filters.sosfiltfilt(lp, np.abs(y)) if c["zero_phase"] else filters.sosfilt(lp, np.abs(y))
        step = max(1, round(emg_fs / 100.0))  # envelopes are kept at ~100 Hz
        signals["envelope"] = env[::step]
        signals["envelope_t"] = t_emg + np.arange(0, len(env), step) / emg_fs
        chans = list(getattr(emg, "channel_names", None) or [f"emg{i}" for i in range(x.shape[1])])
        signals["emg_channels"] = chans
        # peak of the moving RMS evaluated at the envelopes' ~100 Hz (one C++ pass; the full-rate
        # MovingRMS cost 14x more for a peak that differs by ~1 %)
        rms = kmetrics.emg_amplitude(y, emg_fs, "rms", window_s=c["rms_window_s"], decimate=step)
        metrics["emg_rms_max"] = {ch: float(np.nanmax(rms[:, i])) for i, ch in enumerate(chans)}
        if cfg["onset"]["enabled"]:
            o = cfg["onset"]
            # onsets on the notched, band-passed signal; ECG handling raises the low edge to 30 Hz
            # (Drake & Callaghan 2006) and, for "template", first subtracts the QRS template
            yo = y
            if o["ecg"] == "template":
                yo = onset.remove_ecg(yo, emg_fs)
            if o["ecg"] in ("highpass", "template") and c["bandpass_hz"][0] < 30.0:
                yo = filters.sosfiltfilt(filters.butter(4, 30.0, emg_fs, "highpass"), yo)
            rest_w = _shift_window(o["rest_s"], origin, t_emg, x.shape[0] / emg_fs, "onset.rest_s", 0.1, warnings)
            res = onset.detect(yo, emg_fs, o["method"], rest_w, preprocess=False,
                               min_active=o["min_duration_s"], min_gap=o["min_gap_s"])
            emg_events = res if isinstance(res, list) else [res]
            for ch, ev in zip(chans, emg_events, strict=True):
                for a, b in ev:
                    events["emg_onsets"].append({"channel": ch, "onset_s": t_emg + a / emg_fs,
                                                 "offset_s": t_emg + b / emg_fs,
                                                 "duration_s": (b - a) / emg_fs})
            metrics["emg_activations"] = {ch: len(ev) for ch, ev in zip(chans, emg_events, strict=True)}

    # ---------------------------------------------------------------- IMUs
    up = _stream(recording, names["imu_upper"])
    lo = _stream(recording, names["imu_lower"])
    if cfg["fusion"]["enabled"] and (up is None or lo is None):
        missing = [n for n, s in ((names["imu_upper"], up), (names["imu_lower"], lo)) if s is None]
        warnings.append(f"no IMU stream(s) {missing}: orientation and lumbar angles skipped")
    if cfg["fusion"]["enabled"] and up is not None and lo is not None and not _imu_overlap(up, lo):
        warnings.append(f"IMU streams {names['imu_upper']!r} and {names['imu_lower']!r} do not overlap in time: "
                        "orientation and lumbar angles skipped")
    elif cfg["fusion"]["enabled"] and up is not None and lo is not None:
        fs_imu = float(up.fs)
        if not math.isclose(fs_imu, float(lo.fs)):
            raise ValueError(f"IMU streams {names['imu_upper']!r} and {names['imu_lower']!r} must have the same rate; "
                             f"got {fs_imu} and {lo.fs} Hz (resample one first)")
        gu, au, mu = _imu_columns(np.asarray(up.data), names["imu_upper"])
        gl, al, ml = _imu_columns(np.asarray(lo.data), names["imu_lower"])
        # pair the two sensors' samples by time: drop the head of the one that starts earlier
        t_up, t_lo = _start(up, names["imu_upper"], warnings), _start(lo, names["imu_lower"], warnings)
        lead = round((t_lo - t_up) * fs_imu)
        if lead:
            warnings.append(f"IMU streams start at different times ({t_up:.6g} and {t_lo:.6g} s): the first "
                            f"{abs(lead)} samples of {names['imu_upper' if lead > 0 else 'imu_lower']!r} are "
                            "dropped so that both start together")
            if lead > 0:
                gu, au, mu = gu[lead:], au[lead:], None if mu is None else mu[lead:]
            else:
                gl, al, ml = gl[-lead:], al[-lead:], None if ml is None else ml[-lead:]
        t_imu = max(t_up, t_lo) if lead else t_up
        n = min(len(gu), len(gl))
        if len(gu) != len(gl):
            warnings.append(f"IMU streams differ in length ({len(gu)} vs {len(gl)}); the common {n} samples are used")
        use_mag = cfg["fusion"]["magnetometer"] and mu is not None and ml is not None
        f = cfg["fusion"]
        kw: dict[str, Any] = {"fs": fs_imu, "method": f["method"]}
        if f["method"] in ("default", "robust"):
            kw["offline"] = f["offline"]
        qu = fusion.estimate(gu[:n], au[:n], mu[:n] if use_mag and mu is not None else None, **kw)
        ql = fusion.estimate(gl[:n], al[:n], ml[:n] if use_mag and ml is not None else None, **kw)
        if cfg["kinematics"]["enabled"]:
            k = cfg["kinematics"]
            heading: Any = k["heading"] if k["heading"] != "auto" else ("absolute" if use_mag else "align")
            dur_imu = n / fs_imu
            neutral = _shift_window(k["neutral_s"], origin, t_imu, dur_imu, "kinematics.neutral_s", 0.5, warnings)
            if neutral is None:
                warnings.append("no usable kinematics.neutral_s window: nominal mounting, angles not calibrated")
                cal = kinematics.Calibration.nominal(tuple(k["mounting"]), heading=heading)  # type: ignore[arg-type]
            else:
                cal = kinematics.calibrate(qu, ql, fs_imu, neutral=neutral,
                                           flexion=_shift_window(k["flexion_s"], origin, t_imu, dur_imu,
                                                                 "kinematics.flexion_s", 0.5, warnings),
                                           mounting=tuple(k["mounting"]), heading=heading)
                metrics["calibration"] = cal.to_dict()
            ang = kinematics.lumbar_angles(qu, ql, cal)
            signals["angles"] = ang
            signals["angles_fs"] = fs_imu
            signals["angles_t"] = t_imu + np.arange(len(ang)) / fs_imu
            for k_i, nm in enumerate(("flexion", "lateral", "axial")):
                col = ang[:, k_i]
                if np.isfinite(col).any():
                    lo_v, hi_v = float(np.nanmin(col)), float(np.nanmax(col))
                    metrics.update({f"{nm}_min_deg": lo_v, f"{nm}_max_deg": hi_v, f"{nm}_rom_deg": hi_v - lo_v})
            flex = ang[:, 0]
            if np.isfinite(flex).any():
                metrics["peak_flexion_deg"] = float(np.nanmax(flex))
                vel = np.gradient(np.nan_to_num(flex)) * fs_imu
                metrics["peak_flexion_velocity_deg_s"] = float(np.nanmax(np.abs(vel)))
            if cfg["metrics"]["enabled"]:
                mcfg = cfg["metrics"]
                hl = kmetrics.holds(flex, fs_imu, mcfg["hold_tolerance_deg"], mcfg["hold_min_s"],
                                    mcfg["hold_limit_s"])
                hold_keys = ["start_index", "end_index", "start_s", "end_s", "duration_s", "mean_deg", "over_limit",
                             "over_limit_s"]
                # standing at neutral is not a hold
                hold_rows = [h for h in _rows(hl.to_dict(), hold_keys) if abs(h["mean_deg"]) >= 10.0]
                rp = kmetrics.repetitions(flex, fs_imu, hysteresis_deg=mcfg["rep_min_amplitude_deg"] / 2)
                rep_keys = ["start_index", "peak_index", "end_index", "start_s", "peak_s", "end_s", "peak_deg",
                            "amplitude_deg", "duration_s", "tempo_cpm"]
                min_amp = mcfg["rep_min_amplitude_deg"]
                rep_rows = [r for r in _rows(rp.to_dict(), rep_keys) if r["amplitude_deg"] >= min_amp]
                # a bend held statically is a hold, not a repetition
                rep_rows = [r for r in rep_rows if not any(
                    min(r["end_s"], h["end_s"]) - max(r["start_s"], h["start_s"]) > 0.5 * h["duration_s"]
                    for h in hold_rows)]
                # times on the recording's axis (the metrics count from the first IMU sample)
                for row in (*hold_rows, *rep_rows):
                    for key in ("start_s", "peak_s", "end_s"):
                        if key in row:
                            row[key] = t_imu + float(row[key])
                events["holds"] = hold_rows
                events["repetitions"] = rep_rows
                metrics["n_holds"] = len(hold_rows)
                metrics["longest_hold_s"] = max((h["duration_s"] for h in hold_rows), default=0.0)
                metrics["holds_over_limit"] = sum(bool(h["over_limit"]) for h in hold_rows)
                metrics["n_repetitions"] = len(rep_rows)
                if rep_rows:
                    metrics["mean_repetition_amplitude_deg"] = float(np.mean([r["amplitude_deg"] for r in rep_rows]))
                    metrics["mean_repetition_duration_s"] = float(np.mean([r["duration_s"] for r in rep_rows]))
                # 0 is a threshold (from the rest noise alone), not "unset"
                thr = mcfg["movement_threshold_deg_s"]
                mp = kmetrics.movement_phases(flex, fs_imu, min_velocity_deg_s=thr)
                events["movement_onsets"] = [
                    {"onset_s": t_imu + float(a), "offset_s": t_imu + float(b), "direction": str(d)}
                    for a, b, d in zip(mp.start_s.tolist(), mp.end_s.tolist(), mp.direction.tolist(), strict=True)]
                metrics["n_movements"] = int(mp.start_index.size)
                if emg_events is not None:
                    chans = list(signals.get("emg_channels", []))
                    # EMG onsets as sample indices from the first IMU sample's time (the streams
                    # may start at different times)
                    shift = round((t_emg - t_imu) * emg_fs)
                    tab = kmetrics.onset_latencies(
                        {ch: ev[:, 0] + shift for ch, ev in zip(chans, emg_events, strict=True)}, emg_fs, mp)
                    lat = []
                    for r in tab.rows():
                        lm = r["latency_ms"]
                        lat.append({"movement": int(r["movement"]),
                                    "movement_onset_s": t_imu + float(r["movement_onset_s"]),
                                    "channel": r["channel_name"],
                                    "emg_onset_s": (float("nan") if r["emg_onset_s"] is None
                                                    else t_imu + float(r["emg_onset_s"])),
                                    "latency_ms": float("nan") if lm is None else float(lm)})
                    events["latencies"] = lat
                    vals = [r["latency_ms"] for r in lat if np.isfinite(r["latency_ms"])]
                    if vals:
                        metrics["median_emg_latency_ms"] = float(np.median(vals))
                        metrics["feedforward_fraction"] = float(np.mean(np.array(vals) < 0))
    return Result(str(getattr(recording, "source", "") or ""), signals, events, metrics, warnings,
                  time.perf_counter() - t_start, cfg)


def _rows(d: dict[str, Any], keys: list[str]) -> list[dict[str, Any]]:
    """Per-event rows from a metrics result's to_dict() (arrays of equal length)."""
    cols = {k: d[k] for k in keys if k in d}
    n = len(next(iter(cols.values()))) if cols else 0
    return [{k: v[i] for k, v in cols.items()} for i in range(n)]


def _num(key: str, v: Any) -> str:
    """A number for the CSV tables: integers (sample indices, counts) exactly; times (columns
    ending in ``_s``) to 1 µs whatever the recording's length (.6g rounded them to 10 ms after
    1000 s); other values to 6 significant digits."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
        return str(int(v))
    if key.endswith("_s"):
        return f"{float(v):.6f}".rstrip("0").rstrip(".") if np.isfinite(v) else str(float(v))
    return f"{v:.6g}"


def _csv_lines(rows: Iterable[list[str]]) -> str:
    """Rows of cells as CSV text with the csv module's quoting (channel names may hold commas,
    quotes or line breaks), one "\\n" per row. The writer is given "\\r\\n" as line terminator
    and each row's terminator is cut to "\\n": the csv module quotes the characters of its line
    terminator, so a lone carriage return in a name is quoted too."""
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    out: list[str] = []
    for r in rows:
        w.writerow(r)
        out.append(buf.getvalue()[:-2])
        buf.seek(0)
        buf.truncate()
    return "".join(line + "\n" for line in out)


def _csv_text(columns: dict[str, Any]) -> str:
    """A table (column name -> values) as CSV: numbers as :func:`_num` writes them, everything
    else as text, quoted where the csv module needs (``csv.reader`` and :func:`kinemyo.io.read`
    read it back)."""
    keys = list(columns)
    n = len(next(iter(columns.values()))) if columns else 0
    cols = [np.asarray(columns[k]) for k in keys]
    num = [np.issubdtype(c.dtype, np.number) for c in cols]
    rows = ([_num(k, c[i]) if isnum else str(c[i]) for k, c, isnum in zip(keys, cols, num, strict=True)]
            for i in range(n))
    return _csv_lines(itertools.chain([keys], rows))


def write_result(result: Result, out_dir: str | os.PathLike[str], formats: tuple[str, ...] | None = None,
                 signals: bool | None = None) -> list[str]:
    """Write a result into ``out_dir``: ``summary.json`` always; the event tables and (with
    ``signals``) the angle and envelope time series as CSV and/or Parquet. Every file is written
    atomically. Not the report: that is :func:`kinemyo.pipeline.report.write_report`
    (needs matplotlib), whatever ``output.report`` says.

    Parameters
    ----------
    result : Result
        What :func:`run` returned.
    out_dir : path
        Folder, created if missing; files already in it with the same names are replaced.
    formats : tuple of {"csv", "parquet"}, optional
        Table formats. Default: the ``output.formats`` of the configuration the result was computed
        with (``result.config``), or ``("csv",)`` for a result that carries none.
    signals : bool, optional
        Also write ``angles`` and ``emg_envelope``. Default: ``output.signals`` of
        ``result.config``, or ``True``.

    Returns
    -------
    list of str
        The paths written, ``summary.json`` first.

    Raises
    ------
    ValueError
        A format other than csv or parquet.
    RuntimeError
        Parquet without pyarrow installed.
    """
    from ..batch import atomic_write_bytes, atomic_write_text

    output = result.config["output"] if result.config is not None else {}
    if formats is None:
        formats = tuple(output.get("formats", ("csv",)))
    if signals is None:
        signals = bool(output.get("signals", True))
    if isinstance(formats, str):
        formats = (formats,)
    bad = [f for f in formats if f not in ("csv", "parquet")]
    if bad:
        raise ValueError(f"formats must hold 'csv' and/or 'parquet'; got {list(formats)!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    atomic_write_text(out / "summary.json", json.dumps(_jsonable(result.summary()), indent=2))
    written.append(str(out / "summary.json"))
    tables: dict[str, dict[str, Any]] = {}
    if signals and "angles" in result.signals:
        a = result.signals["angles"]
        tables["angles"] = {"time_s": result.signals["angles_t"], "flexion_deg": a[:, 0], "lateral_deg": a[:, 1],
                            "axial_deg": a[:, 2]}
    if signals and "envelope" in result.signals:
        env = result.signals["envelope"]
        cols: dict[str, Any] = {"time_s": result.signals["envelope_t"]}
        for i, ch in enumerate(result.signals["emg_channels"]):
            cols[f"{ch}_envelope"] = env[:, i]
        tables["emg_envelope"] = cols
    for name, rows in result.events.items():
        if rows:
            tables[name] = {k: [r[k] for r in rows] for k in rows[0]}
    for name, cols in tables.items():
        if "csv" in formats:
            atomic_write_text(out / f"{name}.csv", _csv_text(cols))
            written.append(str(out / f"{name}.csv"))
        if "parquet" in formats:
            try:
                import pyarrow as pa
                import pyarrow.parquet as pq
            except ImportError as exc:
                raise RuntimeError("writing Parquet needs pyarrow: pip install 'kinemyo[parquet]'") from exc
            buf = _io.BytesIO()
            pq.write_table(pa.table({k: np.asarray(v) for k, v in cols.items()}), buf)
            atomic_write_bytes(out / f"{name}.parquet", buf.getvalue())
            written.append(str(out / f"{name}.parquet"))
    return written


def _jsonable(o: Any) -> Any:
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, (np.floating, float)):
        v = float(o)
        return v if math.isfinite(v) else None
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return _jsonable(o.tolist())
    return o

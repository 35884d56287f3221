"""Lab Streaming Layer in and out: :class:`LSLRunner` (inlets -> online pipeline -> outlets) and
:func:`replay` (a recording played to LSL outlets at its real rate).

pylsl (from PyPI; its wheels carry liblsl) is imported when one of these is used. LSL finds peers by
multicast and broadcast; to keep it on one machine (tests, CI), point ``LSLAPICFG`` to a config
file such as ``tests/lsl_api.cfg`` before the first import of pylsl.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..io._util import require
from ..pipeline.config import PipelineConfig
from ._online import OnlinePipeline, _config

__all__ = ["LSLRunner", "Replay", "format_status", "replay"]

Event = dict[str, Any]


def _pylsl() -> Any:
    return require("pylsl", "Lab Streaming Layer streaming", "stream")


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _event_json(e: Event) -> str:
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in e.items()}
    return json.dumps(clean, default=_json_default)


# ------------------------------------------------------------------------------------------- replay
class Replay:
    """Plays streams to LSL outlets at their real rate, in a background thread.

    Created by :func:`replay`; ``stop()`` ends it, ``join()`` waits for the end of the data.
    ``drop`` and ``outage`` simulate faults: samples never sent, and an outlet that disappears for a
    while and comes back (same ``source_id``, so inlets can recover).
    """

    def __init__(self, streams: Mapping[str, tuple[np.ndarray, float, Sequence[str], str]], *,
                 chunk_s: float = 0.02, speed: float = 1.0, prefix: str = "",
                 drop: Sequence[tuple[str, float, float]] = (),
                 outage: Sequence[tuple[str, float, float]] = (), start_delay_s: float = 0.0) -> None:
        pylsl = _pylsl()
        if chunk_s <= 0 or speed <= 0:
            raise ValueError("chunk_s and speed must be > 0")
        self._pylsl = pylsl
        self.streams = dict(streams)
        self.chunk_s = float(chunk_s)
        self.speed = float(speed)
        self.prefix = prefix
        self.drop = list(drop)
        self.outage = list(outage)
        self.start_delay_s = float(start_delay_s)
        self._stop = threading.Event()
        self._outlets: dict[str, Any] = {name: self._outlet(name) for name in self.streams}
        self._thread = threading.Thread(target=self._run, name="kinemyo-replay", daemon=True)
        self.start_time: float | None = None
        self.samples_sent = dict.fromkeys(self.streams, 0)

    def _outlet(self, name: str) -> Any:
        pylsl = self._pylsl
        data, fs, channels, stype = self.streams[name]
        info = pylsl.StreamInfo(self.prefix + name, stype, data.shape[1], fs, "float32",
                                f"kinemyo-replay-{self.prefix}{name}")
        chans = info.desc().append_child("channels")
        for c in channels:
            chans.append_child("channel").append_child_value("label", str(c))
        return pylsl.StreamOutlet(info, chunk_size=max(1, round(self.chunk_s * fs)), max_buffered=60)

    def start(self) -> Replay:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop playing and close the outlets (they disappear from the network)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)
        self._outlets = dict.fromkeys(self._outlets)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        pylsl = self._pylsl
        if self.start_delay_s:
            self._stop.wait(self.start_delay_s)
        t_start = pylsl.local_clock()
        self.start_time = t_start
        pos = dict.fromkeys(self.streams, 0)
        down: set[str] = set()
        duration = max(d.shape[0] / fs for d, fs, _, _ in self.streams.values())
        while not self._stop.is_set():
            now = (pylsl.local_clock() - t_start) * self.speed  # data time due now
            for name, (data, fs, _, _) in self.streams.items():
                out = [o for o in self.outage if o[0] == name and o[1] <= now < o[2]]
                if out and name not in down:
                    down.add(name)
                    self._outlets[name] = None  # the outlet disappears (liblsl closes it)
                elif not out and name in down:
                    down.discard(name)
                    self._outlets[name] = self._outlet(name)
                n_due = min(data.shape[0], int(now * fs) + 1)
                a = pos[name]
                if n_due <= a:
                    continue
                pos[name] = n_due
                if name in down:
                    continue
                t = np.arange(a, n_due) / fs
                keep = np.ones(n_due - a, dtype=bool)
                for s, t0, t1 in self.drop:
                    if s == name:
                        keep &= ~((t >= t0) & (t < t1))
                if not keep.any():
                    continue
                # push runs of kept samples, each stamped with its last sample's time (LSL
                # back-dates the others at the nominal rate)
                idx = np.flatnonzero(keep)
                runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
                for r in runs:
                    chunk = np.ascontiguousarray(data[a + r[0]: a + r[-1] + 1], dtype=np.float32)
                    # data time, spaced 1/fs whatever the speed (LSL back-dates at the nominal rate)
                    self._outlets[name].push_chunk(chunk, t_start + (a + r[-1]) / fs)
                    self.samples_sent[name] += len(r)
            if now >= duration:
                break
            self._stop.wait(self.chunk_s / self.speed)


def replay(recording: Any, *, streams: Mapping[str, str] | None = None, chunk_s: float = 0.02,
           speed: float = 1.0, prefix: str = "", drop: Sequence[tuple[str, float, float]] = (),
           outage: Sequence[tuple[str, float, float]] = (), start: bool = True,
           start_delay_s: float = 0.0) -> Replay:
    """Play a recording's streams to LSL outlets at their real rate (background thread).

    Parameters
    ----------
    recording : kinemyo.io.Recording, demo session or mapping of streams
        Streams with ``data`` (n, channels), ``fs`` and ``channel_names``.
    streams : mapping, optional
        Stream name -> LSL stream type; default every stream with a rate, typed ``EMG`` when its
        name contains "emg", ``IMU`` when it contains "imu", else ``Misc``.
    chunk_s : float
        Push period (s of data per chunk). Default 20 ms.
    speed : float
        Playback speed (1 = real time).
    prefix : str
        Prepended to the LSL stream names (so parallel tests don't see each other's streams).
    drop : list of (stream, t0_s, t1_s)
        Samples in these windows are never sent (drop-outs the receiver must detect).
    outage : list of (stream, t0_s, t1_s)
        The outlet is destroyed at ``t0`` and re-created at ``t1`` with the same ``source_id``.
    start : bool
        Start at once (default) or call ``.start()`` later.
    """
    items: dict[str, tuple[np.ndarray, float, Sequence[str], str]] = {}
    names = list(recording.streams) if hasattr(recording, "streams") else list(recording)
    for name in names:
        s = recording[name]
        if getattr(s, "fs", None) is None:
            continue
        if streams is not None and name not in streams:
            continue
        stype = streams[name] if streams is not None else (
            "EMG" if "emg" in name.lower() else "IMU" if "imu" in name.lower() else "Misc")
        data = np.asarray(s.data, dtype=np.float32)
        if data.ndim == 1:
            data = data[:, None]
        items[name] = (data, float(s.fs), list(getattr(s, "channel_names", []) or []), stype)
    if not items:
        raise ValueError("nothing to replay: no regularly sampled stream selected")
    r = Replay(items, chunk_s=chunk_s, speed=speed, prefix=prefix, drop=drop, outage=outage,
               start_delay_s=start_delay_s)
    return r.start() if start else r


# ------------------------------------------------------------------------------------------- runner
class _Inlet:
    """One resolved input stream, reconnected when it disappears."""

    def __init__(self, role: str, name: str, stype: str | None, timeout: float) -> None:
        self.role, self.name, self.stype = role, name, stype
        self.inlet: Any = None
        self.fs = 0.0
        self.n_channels = 0
        self.channel_names: list[str] = []
        self.last_data = time.monotonic()
        self.stalled = False
        self.samples = 0
        self._connect(timeout)

    def _resolve(self, timeout: float) -> Any:
        pylsl = _pylsl()
        found = pylsl.resolve_byprop("name", self.name, 1, timeout)
        if not found and self.stype:
            found = pylsl.resolve_byprop("type", self.stype, 1, timeout)
        return found[0] if found else None

    def _connect(self, timeout: float) -> None:
        pylsl = _pylsl()
        info = self._resolve(timeout)
        if info is None:
            typed = f" or typed {self.stype!r}" if self.stype else ""
            raise TimeoutError(f"no LSL stream named {self.name!r}{typed} found within {timeout:g} s "
                               "(is the outlet running on this network?)")
        # clock sync (remote clocks corrected) and monotonic stamps; no proc_dejitter: liblsl's
        # dejitter fits time against the sample count over minutes (half-life 90 s), so samples
        # that never arrived leave no step in its stamps and a gap could no longer be found (a
        # 100-ms drop-out shows as a 0.5-ms step, the following stamps 40 ms early). The online
        # pipeline fits each stream's clock itself and skips the missing samples (_Timeline).
        self.inlet = pylsl.StreamInlet(info, max_buflen=60, recover=True,
                                       processing_flags=pylsl.proc_clocksync | pylsl.proc_monotonize
                                       | pylsl.proc_threadsafe)
        full = self.inlet.info(timeout=max(timeout, 1.0))
        self.fs = float(full.nominal_srate())
        self.n_channels = int(full.channel_count())
        if self.fs <= 0:
            raise ValueError(f"LSL stream {full.name()!r} is irregular; kinemyo needs a nominal rate")
        labels: list[str] = []
        ch = full.desc().child("channels").child("channel")
        while not ch.empty() and len(labels) < self.n_channels:
            labels.append(ch.child_value("label"))
            ch = ch.next_sibling()
        self.channel_names = labels if len(labels) == self.n_channels and all(labels) else []
        self.source = f"{full.name()} ({full.type()}, {self.n_channels} ch @ {self.fs:g} Hz, {full.hostname()})"

    def pull(self, max_samples: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        pylsl = _pylsl()
        try:
            x, ts = self.inlet.pull_chunk(timeout=0.0, max_samples=max_samples, as_numpy=True)
        except pylsl.LostError:
            return None, None
        if ts is None or len(ts) == 0:
            return None, None
        self.samples += len(ts)
        self.last_data = time.monotonic()
        return np.asarray(x, dtype=np.float64).reshape(len(ts), -1), np.asarray(ts, dtype=np.float64)


class LSLRunner:
    """Pull EMG and IMU chunks from LSL inlets, run the online pipeline, push results to outlets.

    Parameters
    ----------
    config : PipelineConfig, mapping, TOML path or None
        Pipeline configuration (see :class:`OnlinePipeline` for what changes online). The stream
        names in its ``[streams]`` section are the LSL stream names looked for.
    emg, imu_upper, imu_lower : str or None, optional
        Override the LSL names; ``""`` disables that input. EMG falls back to the first stream of
        type ``EMG`` when none has the name.
    prefix : str
        Names of the outlets: ``<prefix>-envelope`` (type ``EMG-envelope``, one channel per EMG
        channel at ~100 Hz), ``<prefix>-angles`` (type ``Angles``, flexion/lateral/axial in degrees at
        the IMU rate), ``<prefix>-events`` (type ``Markers``, irregular, one JSON string per event).
    resolve_timeout : float
        Seconds to wait for each input stream at start.
    calibration : kinematics.Calibration, optional
        Use a saved calibration instead of the neutral/flexion windows.
    on_event : callable, optional
        Called with each event dict (besides the marker outlet).
    stall_s : float
        An input with no data for this long is reported stalled (``stream_stalled`` event) and
        reported again when data resumes (``stream_resumed``); liblsl reconnects a lost outlet by its
        ``source_id`` (``recover=True``).

    Times: events carry session times (s from the first sample received) and ``lsl_time`` (the LSL
    clock, clock-corrected); outlet samples are stamped on the LSL clock of the data they come from.
    """

    def __init__(self, config: PipelineConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None, *,
                 emg: str | None = None, imu_upper: str | None = None, imu_lower: str | None = None,
                 prefix: str = "kinemyo", resolve_timeout: float = 10.0, calibration: Any = None,
                 on_event: Callable[[Event], None] | None = None, stall_s: float = 1.0,
                 max_fill_s: float = 0.25) -> None:
        pylsl = _pylsl()
        self.config = _config(config)
        names = self.config["streams"]
        want = {"emg": names["emg"] if emg is None else emg,
                "imu_upper": names["imu_upper"] if imu_upper is None else imu_upper,
                "imu_lower": names["imu_lower"] if imu_lower is None else imu_lower}
        if not self.config["emg"]["enabled"]:
            want["emg"] = ""
        if not self.config["fusion"]["enabled"]:
            want["imu_upper"] = want["imu_lower"] = ""
        if bool(want["imu_upper"]) != bool(want["imu_lower"]):
            raise ValueError("give both IMU streams (imu_upper and imu_lower) or neither")
        self.inlets: dict[str, _Inlet] = {}
        for role, name in want.items():
            if name:
                self.inlets[role] = _Inlet(role, name, "EMG" if role == "emg" else None, resolve_timeout)
        if not self.inlets:
            raise ValueError("no input stream configured")
        emg_in = self.inlets.get("emg")
        up, lo = self.inlets.get("imu_upper"), self.inlets.get("imu_lower")
        if up is not None and lo is not None and not math.isclose(up.fs, lo.fs):
            raise ValueError(f"the IMU streams must have the same rate; got {up.fs:g} and {lo.fs:g} Hz")
        self.user_on_event = on_event
        self.pipeline = OnlinePipeline(
            self.config, emg_fs=emg_in.fs if emg_in else None, n_emg=emg_in.n_channels if emg_in else 0,
            imu_fs=up.fs if up else None, emg_channels=(emg_in.channel_names or None) if emg_in else None,
            calibration=calibration, max_fill_s=max_fill_s)
        self.prefix = prefix
        self.stall_s = float(stall_s)
        self.outlets: dict[str, Any] = {}
        if emg_in is not None:
            info = pylsl.StreamInfo(f"{prefix}-envelope", "EMG-envelope", emg_in.n_channels,
                                    self.pipeline.envelope_fs, "float32", f"{prefix}-envelope")
            chans = info.desc().append_child("channels")
            for c in self.pipeline.emg_channels:
                chans.append_child("channel").append_child_value("label", c)
            self.outlets["envelope"] = pylsl.StreamOutlet(info)
        if up is not None:
            info = pylsl.StreamInfo(f"{prefix}-angles", "Angles", 3, up.fs, "float32", f"{prefix}-angles")
            chans = info.desc().append_child("channels")
            for c in ("flexion", "lateral", "axial"):
                chans.append_child("channel").append_child_value("label", c)
            self.outlets["angles"] = pylsl.StreamOutlet(info)
        self.outlets["events"] = pylsl.StreamOutlet(pylsl.StreamInfo(
            f"{prefix}-events", "Markers", 1, pylsl.IRREGULAR_RATE, "string", f"{prefix}-events"))
        self.events: list[Event] = []
        self.chunk_ms: list[float] = []
        self._stop = threading.Event()
        self.cpu_s = 0.0
        self.wall_s = 0.0

    # ------------------------------------------------------------------ running
    def stop(self) -> None:
        """Ask :meth:`run` to return (thread-safe)."""
        self._stop.set()

    def step(self) -> int:
        """Pull what is available from every inlet, process it, push the results. Returns the
        number of input samples handled; the processing time goes into :attr:`chunk_ms`."""
        n = 0
        for role, inlet in self.inlets.items():
            x, ts = inlet.pull(max_samples=4096)
            if x is None or ts is None:
                if not inlet.stalled and time.monotonic() - inlet.last_data > self.stall_s:
                    inlet.stalled = True
                    self._publish([{"type": "stream_stalled", "stream": inlet.name, "time_s": self._now_session()}])
                continue
            t_start = time.perf_counter()
            if inlet.stalled:
                inlet.stalled = False
                resumed = [{"type": "stream_resumed", "stream": inlet.name,
                            "time_s": float(ts[0]) - (self.pipeline.t0 or float(ts[0]))}]
            else:
                resumed = []
            out = self.pipeline.push(role, x, ts)
            t0 = self.pipeline.t0 or 0.0
            if out.envelope.size and "envelope" in self.outlets:
                self._push_regular("envelope", out.envelope, out.envelope_t + t0)
            if out.angles.size and "angles" in self.outlets:
                self._push_regular("angles", out.angles, out.angles_t + t0)
            self._publish(resumed + out.events)
            self.chunk_ms.append(1e3 * (time.perf_counter() - t_start))
            n += len(ts)
        return n

    def _now_session(self) -> float:
        pylsl = _pylsl()
        return pylsl.local_clock() - (self.pipeline.t0 or pylsl.local_clock())

    def _push_regular(self, name: str, data: np.ndarray, t: np.ndarray) -> None:
        out = np.ascontiguousarray(data, dtype=np.float32)
        self.outlets[name].push_chunk(out, t.tolist())  # each sample its own time (gaps, drift)

    def _publish(self, events: list[Event]) -> None:
        t0 = self.pipeline.t0 or 0.0
        for e in events:
            e.setdefault("lsl_time", float(e.get("time_s", 0.0)) + t0)
            self.events.append(e)
            self.outlets["events"].push_sample([_event_json(e)], float(e["lsl_time"]))
            if self.user_on_event is not None:
                self.user_on_event(e)

    def run(self, duration: float | None = None, *, status: Callable[[dict[str, Any]], None] | None = None,
            status_every_s: float = 0.5, poll_s: float = 0.002) -> dict[str, Any]:
        """Process until ``duration`` seconds have passed (None: until :meth:`stop`). ``status`` is
        called every ``status_every_s`` with :meth:`stats`. Returns the final :meth:`stats`."""
        wall0, cpu0 = time.perf_counter(), time.process_time()
        next_status = wall0
        try:
            while not self._stop.is_set():
                if duration is not None and time.perf_counter() - wall0 >= duration:
                    break
                if self.step() == 0:
                    time.sleep(poll_s)
                if status is not None and time.perf_counter() >= next_status:
                    self.wall_s = time.perf_counter() - wall0
                    self.cpu_s = time.process_time() - cpu0
                    status(self.stats())
                    next_status += status_every_s
        finally:
            self._publish(self.pipeline.finish().events)
            self.wall_s = time.perf_counter() - wall0
            self.cpu_s = time.process_time() - cpu0
        return self.stats()

    def stats(self) -> dict[str, Any]:
        """Processing latency per chunk (ms: median, 95th percentile, max), CPU load (process CPU
        time / wall time, in % of one core), samples per input, events, and the pipeline status."""
        ms = np.asarray(self.chunk_ms) if self.chunk_ms else np.zeros(1)
        return {"chunks": len(self.chunk_ms), "latency_ms_median": float(np.median(ms)),
                "latency_ms_p95": float(np.percentile(ms, 95)), "latency_ms_max": float(ms.max()),
                "cpu_percent": 100.0 * self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0,
                "wall_s": self.wall_s, "samples": {i.name: i.samples for i in self.inlets.values()},
                "events": len(self.events), **self.pipeline.status()}


def format_status(s: dict[str, Any]) -> str:
    """One status line: angles, hold, repetitions, onsets, gaps, latency and CPU."""
    a = s.get("angles_deg", [math.nan] * 3)
    parts = [f"{s.get('wall_s', 0.0):6.1f} s"]
    if s.get("calibrated"):
        parts.append("flex {:+6.1f}  lat {:+6.1f}  ax {:+6.1f} deg".format(*a))
    else:
        parts.append("calibrating: stand still")
    if s.get("hold"):
        parts.append(f"hold {s['hold']['duration_s']:.1f} s")
    parts.append(f"reps {s.get('repetitions', 0)}")
    if s.get("onsets"):
        parts.append("onsets " + " ".join(f"{k} {v}" for k, v in s["onsets"].items()))
    parts.append(f"gaps {s.get('gaps', 0)}")
    parts.append(f"{s.get('latency_ms_median', 0.0):.2f} ms/chunk, CPU {s.get('cpu_percent', 0.0):.0f} %")
    return " | ".join(parts)

"""kinemyo.stream over real Lab Streaming Layer outlets and inlets on this machine's loopback
(tests/lsl_api.cfg keeps LSL off the network): a replay of the demo session at 4x real time with a
drop-out and an outlet that disappears and comes back; results against the online pipeline fed
directly, and the events arriving at a marker inlet."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid

import numpy as np
import pytest

from kinemyo.sim import DEMO_CONFIG, make_demo_session
from kinemyo.stream import LSLRunner, OnlinePipeline, replay

pylsl = pytest.importorskip("pylsl")
pytestmark = pytest.mark.skipif("lsl_api.cfg" not in os.environ.get("LSLAPICFG", ""),
                                reason="LSL tests run only confined by tests/lsl_api.cfg")

SECONDS = 70.0
SPEED = 4.0


def _cfg(prefix: str) -> dict:
    cfg = {k: dict(v) for k, v in DEMO_CONFIG.items()}
    cfg["streams"] = {"emg": f"{prefix}emg", "imu_upper": f"{prefix}imu_upper", "imu_lower": f"{prefix}imu_lower"}
    return cfg


class _Cut:
    def __init__(self, s, n_s: float) -> None:
        self.streams = {k: type(v)(v.data[: round(n_s * v.fs)], v.fs, v.channel_names, v.units)
                        for k, v in s.streams.items()}

    def __getitem__(self, k):
        return self.streams[k]


@pytest.fixture(scope="module")
def lsl_run():
    prefix = f"kt{uuid.uuid4().hex[:6]}-"
    session = _Cut(make_demo_session(), SECONDS)
    rp = replay(session, prefix=prefix, speed=SPEED, start=False, start_delay_s=1.0,
                drop=[("emg", 30.0, 30.1)], outage=[("imu_lower", 50.0, 50.5)])
    runner = LSLRunner(_cfg(prefix), prefix=prefix + "out", resolve_timeout=10.0)
    markers: list[dict] = []
    angles: list[np.ndarray] = []
    stop = threading.Event()

    def listen() -> None:
        ev = pylsl.StreamInlet(pylsl.resolve_byprop("name", prefix + "out-events", 1, 10.0)[0])
        an = pylsl.StreamInlet(pylsl.resolve_byprop("name", prefix + "out-angles", 1, 10.0)[0])
        ev.open_stream(5.0)
        an.open_stream(5.0)
        while not stop.is_set():
            x, _ = ev.pull_chunk(timeout=0.05)
            markers.extend(json.loads(m[0]) for m in x)
            y, _ = an.pull_chunk(timeout=0.0, max_samples=4096)
            if y:
                angles.append(np.asarray(y))

    th = threading.Thread(target=listen, daemon=True)
    th.start()
    rp.start()
    stats = runner.run(duration=1.0 + SECONDS / SPEED + 1.5)
    stop.set()
    th.join(5.0)
    rp.stop()
    return session, runner, stats, markers, angles


def test_events_arrive_at_a_marker_inlet(lsl_run) -> None:
    _, runner, _, markers, angles = lsl_run
    types = {m["type"] for m in markers}
    assert {"emg_onset", "repetition", "movement_onset", "calibrated", "gap"} <= types
    assert len(markers) >= 0.95 * len(runner.events)  # a few may still be in flight at the end
    assert sum(len(a) for a in angles) > 0.5 * (SECONDS - 16.0) * 100  # angles after calibration


def test_faults_are_detected_and_survived(lsl_run) -> None:
    _, runner, stats, _, _ = lsl_run
    gaps = [e for e in runner.events if e["type"] == "gap"]
    emg_gap = [g for g in gaps if g["stream"].endswith("emg")]
    assert len(emg_gap) == 1 and emg_gap[0]["filled"] and emg_gap[0]["missing_samples"] == 200
    assert emg_gap[0]["start_s"] == pytest.approx(30.0, abs=0.01)
    imu_gap = [g for g in gaps if g["stream"].endswith("imu_lower")]
    assert len(imu_gap) == 1 and not imu_gap[0]["filled"] and imu_gap[0]["start_s"] == pytest.approx(50.0, abs=0.05)
    assert any(e["type"] == "restart" for e in runner.events)          # orientation restarted
    assert any(e["type"] == "stream_resumed" and e["stream"].endswith("imu_lower") for e in runner.events)
    assert stats["samples"][next(k for k in stats["samples"] if k.endswith("imu_upper"))] >= SECONDS * 100 * 0.99
    assert stats["calibrated"] and np.isfinite(stats["angles_deg"][0])


def test_lsl_results_equal_the_online_pipeline_fed_directly(lsl_run) -> None:
    session, runner, stats, _, _ = lsl_run
    p = OnlinePipeline(DEMO_CONFIG, emg_fs=2000.0, n_emg=4, imu_fs=100.0,
                       emg_channels=list(session["emg"].channel_names))
    ev = p.push_emg(session["emg"].data).events + p.push_imu(session["imu_upper"].data,
                                                             session["imu_lower"].data).events + p.finish().events

    def sel(events, t, t_max=49.0, key="onset_s"):
        return sorted((e.get("channel", ""), round(e[key], 2)) for e in events if e["type"] == t and e[key] < t_max)

    # before the faults, the same onsets and repetitions (LSL times are within a ms of the data's)
    a, b = sel(runner.events, "emg_onset", 29.5), sel(ev, "emg_onset", 29.5)
    assert len(a) == len(b) and all(x[0] == y[0] and abs(x[1] - y[1]) <= 0.011 for x, y in zip(a, b, strict=True))
    assert len(sel(runner.events, "repetition", key="end_s")) == len(sel(ev, "repetition", key="end_s")) == 5
    assert stats["latency_ms_median"] < 1.0


def test_missing_stream_times_out_clearly() -> None:
    with pytest.raises(TimeoutError, match="no LSL stream named 'nobody-here-emg'"):
        LSLRunner({"streams": {"emg": "nobody-here-emg"}, "fusion": {"enabled": False}}, resolve_timeout=0.3)


def test_cli_stream_and_replay(tmp_path) -> None:
    from click.testing import CliRunner

    from kinemyo.cli import main

    prefix = f"kc{uuid.uuid4().hex[:6]}-"
    toml = tmp_path / "p.toml"
    toml.write_text(f'[streams]\nemg = "{prefix}emg"\nimu_upper = "{prefix}imu_upper"\n'
                    f'imu_lower = "{prefix}imu_lower"\n'
                    "[kinematics]\nneutral_s = [1.0, 9.0]\n[onset]\nrest_s = [1.0, 9.0]\n")
    rp = replay(_Cut(make_demo_session(), 40.0), prefix=prefix, speed=8.0, start_delay_s=0.5)
    events = tmp_path / "events.jsonl"
    res = CliRunner().invoke(main, ["stream", "--config", str(toml), "--duration", "5", "--events-out", str(events),
                                    "--prefix", prefix + "o"])
    rp.stop()
    assert res.exit_code == 0, res.output
    assert "processed" in res.output and "latency per chunk" in res.output
    lines = [json.loads(x) for x in events.read_text().splitlines()]
    assert any(e["type"] == "calibrated" for e in lines) and any(e["type"] == "emg_onset" for e in lines)
    res = CliRunner().invoke(main, ["replay"])
    assert res.exit_code != 0 and "FILE or --demo" in res.output
    res = CliRunner().invoke(main, ["stream", "--emg", "nobody-emg-x", "--imu-upper", "", "--imu-lower", "",
                                    "--resolve-timeout", "0.2"])
    assert res.exit_code != 0 and "no LSL stream named 'nobody-emg-x'" in res.output


def test_outlet_chunks_carry_per_sample_timestamps() -> None:
    """Envelope/angle chunks are pushed with each sample's own time (a gap or a drifting clock stays
    visible), not with one stamp back-dated at the nominal rate."""
    name = f"kp{uuid.uuid4().hex[:6]}-angles"
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Angles", 3, 100.0, "float32", name))
    inlet = pylsl.StreamInlet(pylsl.resolve_byprop("name", name, 1, 10.0)[0])  # raw stamps
    inlet.open_stream(5.0)
    stub = type("Runner", (), {"outlets": {"angles": outlet}})()
    t = np.array([10.0, 10.01, 10.02, 10.5, 10.51])
    LSLRunner._push_regular(stub, "angles", np.zeros((5, 3)), t)  # type: ignore[arg-type]
    got: list[float] = []
    deadline = time.monotonic() + 5.0
    while len(got) < len(t) and time.monotonic() < deadline:
        _, ts = inlet.pull_chunk(timeout=0.2)
        got += ts
    np.testing.assert_allclose(got, t, rtol=0, atol=1e-9)

"""The pipeline end to end on the demo session: measures against the simulator's truth, outputs,
report, CLI (demo, process with failures and resume, config)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kinemyo.cli import main
from kinemyo.pipeline import ConfigError, parse_config, run, write_result
from kinemyo.pipeline.files import read_recording, write_npz
from kinemyo.sim import DEMO_CONFIG, make_demo_session


@pytest.fixture(scope="module")
def session():
    return make_demo_session(2024)


@pytest.fixture(scope="module")
def result(session):
    return run(session, parse_config(DEMO_CONFIG, "demo"))


def test_measures_match_the_script(session, result) -> None:
    truth = session.truth["angles"]
    ang = result.signals["angles"]
    sel = np.arange(len(ang)) / 100.0 > 16.0
    rmse = np.sqrt(np.mean((ang[sel, :2] - truth[sel, :2]) ** 2, axis=0))
    assert (rmse < 1.5).all(), rmse
    holds = result.events["holds"]
    assert len(holds) == 1 and holds[0]["over_limit"]
    hold_phase = next(p for p in session.truth["phases"] if p[0] == "hold")
    # the hold plateau is between the 2-s ramps; boundaries within the tolerance band
    assert abs(holds[0]["start_s"] - (hold_phase[1] + 2.0)) < 0.7
    assert abs(holds[0]["end_s"] - (hold_phase[2] - 2.0)) < 0.7
    # one functional flexion + five bends + six Cat-Cow cycles
    assert result.metrics["n_repetitions"] == 12
    # the oblique switches on before each forward bend (feed-forward)
    bends = session.truth["movement_onsets_s"]
    lat = [r for r in result.events["latencies"] if r["channel"] == "OBL" and np.isfinite(r["latency_ms"])
           and min(abs(r["movement_onset_s"] - b) for b in bends) < 0.3]
    assert len(lat) >= 4 and all(r["latency_ms"] < 0 for r in lat)
    assert result.metrics["emg_activations"]["OBL"] >= 10


def test_outputs_and_report(result, tmp_path: Path) -> None:
    files = write_result(result, tmp_path, ("csv",))
    names = {Path(f).name for f in files}
    assert {"summary.json", "angles.csv", "holds.csv", "repetitions.csv", "emg_onsets.csv", "latencies.csv"} <= names
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["metrics"]["n_holds"] == 1
    header = (tmp_path / "angles.csv").read_text().splitlines()[0]
    assert header == "time_s,flexion_deg,lateral_deg,axial_deg"
    pytest.importorskip("matplotlib")
    from kinemyo.pipeline.report import write_report

    png, html = write_report(result, tmp_path, "demo")
    assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = Path(html).read_text()
    assert "Peak flexion" in text and "data:image/png;base64," in text


def test_run_takes_a_mapping_validated_like_a_toml_file(session, result, tmp_path: Path) -> None:
    """run(recording, {...}) = run(recording, parse_config({...})); an invalid mapping gets the
    problems a TOML file with the same content gets (the OnlinePipeline's configuration form)."""
    r = run(session, DEMO_CONFIG)
    assert r.metrics["n_repetitions"] == result.metrics["n_repetitions"]
    assert r.metrics["emg_activations"] == result.metrics["emg_activations"]
    assert r.config is not None and r.config.to_dict() == parse_config(DEMO_CONFIG).to_dict()
    bad = {"kinematics": {"neutral": [1, 9]}, "emg": {"notch_hz": "60Hz"}}
    with pytest.raises(ConfigError) as from_dict:
        run(session, bad)
    toml = tmp_path / "bad.toml"
    toml.write_text('[kinematics]\nneutral = [1, 9]\n[emg]\nnotch_hz = "60Hz"\n')
    with pytest.raises(ConfigError) as from_toml:
        run(session, toml)
    assert from_dict.value.problems == from_toml.value.problems and len(from_dict.value.problems) == 2
    assert "unknown key kinematics.neutral" in str(from_dict.value)


def test_run_refuses_a_config_of_another_type(session) -> None:
    with pytest.raises(TypeError, match=r"config must be a PipelineConfig, a mapping .*; got int"):
        run(session, 3)  # type: ignore[arg-type]


def test_write_result_follows_the_results_configuration(session, tmp_path: Path) -> None:
    """write_result(result, dir) writes the formats and signals of the configuration the result was
    computed with; explicit arguments override it; a Result without a configuration writes CSV."""
    cfg = dict(DEMO_CONFIG, output={"formats": ["csv"], "signals": False})
    r = run(session, cfg)
    names = {Path(f).name for f in write_result(r, tmp_path / "a")}
    assert "holds.csv" in names and "angles.csv" not in names and "emg_envelope.csv" not in names
    names = {Path(f).name for f in write_result(r, tmp_path / "b", signals=True)}
    assert "angles.csv" in names
    bare = dataclasses.replace(r, config=None)
    names = {Path(f).name for f in write_result(bare, tmp_path / "c")}
    assert "angles.csv" in names and not any(n.endswith(".parquet") for n in names)
    with pytest.raises(ValueError, match="formats must hold 'csv' and/or 'parquet'"):
        write_result(r, tmp_path / "d", ("xlsx",))
    assert not (tmp_path / "d").exists()
    pytest.importorskip("pyarrow")
    r = run(session, dict(DEMO_CONFIG, output={"formats": ["parquet"]}))
    names = {Path(f).name for f in write_result(r, tmp_path / "e")}
    assert "angles.parquet" in names and not any(n.endswith(".csv") for n in names)


def test_csv_tables_quote_names_and_write_integers_exactly(tmp_path: Path) -> None:
    """Review: channel names with commas, quotes or line breaks broke the CSV tables (joined with
    ","), and sample indices were rounded to 6 digits (1048574 -> 1.04857e+06)."""
    import csv

    from kinemyo import io as kio
    from kinemyo.pipeline.run import Result

    chans = ["ES, left", 'MF "deep"', "OBL\nright", "RA\rx"]
    env = np.arange(12, dtype=float).reshape(3, 4) / 8
    hold = {"start_index": 1048574, "end_index": 1250001, "start_s": 10485.74, "end_s": 12500.01,
            "duration_s": 2014.27, "mean_deg": 12.3456789, "over_limit": True, "over_limit_s": 1984.27}
    res = Result("s", {"envelope": env, "envelope_t": np.array([0.0, 0.01, 0.02]), "emg_channels": chans},
                 {"holds": [hold], "emg_onsets": [{"channel": "ES, left", "onset_s": 1.5, "offset_s": 2.0,
                                                   "duration_s": 0.5}]}, {}, [])
    write_result(res, tmp_path, ("csv",))
    with open(tmp_path / "emg_envelope.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["time_s"] + [f"{c}_envelope" for c in chans] and len(rows) == 4
    assert [float(v) for v in rows[2]] == [0.01, *env[1]]
    back = kio.read(tmp_path / "emg_envelope.csv")["data"]
    assert back.channel_names == tuple(f"{c}_envelope" for c in chans) and back.fs == 100.0
    np.testing.assert_array_equal(back.data, env)
    with open(tmp_path / "holds.csv", newline="") as f:
        holds = list(csv.DictReader(f))
    assert holds[0]["start_index"] == "1048574" and holds[0]["end_index"] == "1250001"
    assert holds[0]["start_s"] == "10485.74" and holds[0]["mean_deg"] == "12.3457"
    assert holds[0]["over_limit"] == "True"
    with open(tmp_path / "emg_onsets.csv", newline="") as f:
        assert list(csv.reader(f))[1] == ["ES, left", "1.5", "2", "0.5"]


def test_movement_threshold_zero_is_a_threshold_not_the_default(session) -> None:
    """Review: metrics.movement_threshold_deg_s = 0 (documented: from the rest noise alone) was
    replaced by the default 10 deg/s."""
    def n_movements(thr: float) -> int:
        cfg = dict(DEMO_CONFIG, emg={"enabled": False}, metrics={"movement_threshold_deg_s": thr})
        return int(run(session, cfg).metrics["n_movements"])

    assert n_movements(0.0) == n_movements(1e-9) > n_movements(10.0)


def test_npz_round_trip_and_bad_files(session, tmp_path: Path) -> None:
    write_npz(session, tmp_path / "s.npz")
    rec = read_recording(tmp_path / "s.npz")
    np.testing.assert_array_equal(rec["emg"].data, session["emg"].data)
    assert rec["imu_upper"].fs == 100.0
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"bad\.npz"):
        read_recording(tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError, match="missing"):
        read_recording(tmp_path / "missing.npz")


def test_missing_streams_and_calibration_are_reported(session) -> None:
    only_emg = {"emg": session["emg"]}
    r = run(only_emg, parse_config({}, "x"))
    assert any("IMU" in w for w in r.warnings) and "angles" not in r.signals
    r2 = run(session, parse_config({}, "x"))
    assert any("neutral" in w for w in r2.warnings)


def test_cli_demo_process_resume_and_failures(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["demo", "--out", str(tmp_path / "demo")])
    assert res.exit_code == 0, res.output
    assert "hold" in res.output and (tmp_path / "demo" / "report.html").exists()
    npz = next((tmp_path / "demo").glob("demo_session.*"))  # .h5 with h5py, else .npz
    (tmp_path / "corrupt.npz").write_bytes(npz.read_bytes()[:500])
    cfg = tmp_path / "p.toml"
    cfg.write_text("[kinematics]\nneutral_s = [1.0, 9.0]\nflexion_s = [10.0, 16.0]\n")
    out = tmp_path / "out"
    res = runner.invoke(main, ["process", str(npz), str(tmp_path / "corrupt.npz"), "--config", str(cfg),
                               "--out", str(out), "--quiet"])
    assert res.exit_code == 1
    manifest = json.loads((out / "manifest.json").read_text())
    status = {Path(f["input"]).name: f["status"] for f in manifest["files"]}
    assert status == {npz.name: "ok", "corrupt.npz": "failed"}
    res = runner.invoke(main, ["process", str(npz), "--config", str(cfg), "--out", str(out), "--quiet"])
    assert res.exit_code == 0 and "1 already done" in res.output
    bad_cfg = tmp_path / "bad.toml"
    bad_cfg.write_text("[emg]\nnotch = 5\n")
    res = runner.invoke(main, ["process", str(npz), "--config", str(bad_cfg), "--out", str(out)])
    assert res.exit_code != 0 and "emg.notch" in res.output
    res = runner.invoke(main, ["config"])
    assert res.exit_code == 0 and "[kinematics]" in res.output


def test_notch_auto_finds_the_line_and_streams_refuse_it(session) -> None:
    """emg.notch_hz = 'auto': the demo EMG's 50 Hz hum is found, 60 Hz hum is found instead
    when the 50 Hz line is replaced by it, clean EMG gets no notch (reported as emg_notch_hz);
    the online pipeline refuses 'auto'."""
    import dataclasses

    from kinemyo.sim import simulate_emg
    from kinemyo.sim.session import SimStream
    from kinemyo.stream import OnlinePipeline

    cfg = parse_config({**DEMO_CONFIG, "emg": {"notch_hz": "auto"}}, "auto")
    assert run({"emg": session["emg"]}, cfg).metrics["emg_notch_hz"] == 50.0
    fs = 2000.0
    clean = simulate_emg(30.0, fs, 2, snr_db=10, seed=5).signal
    stream = SimStream(clean, fs, ["a", "b"], ["mV", "mV"])
    assert run({"emg": stream}, cfg).metrics["emg_notch_hz"] == 0.0
    t = np.arange(clean.shape[0]) / fs
    hum = clean + np.sqrt(2) * np.sin(2 * np.pi * 60.0 * t)[:, None]
    assert run({"emg": dataclasses.replace(stream, data=hum)}, cfg).metrics["emg_notch_hz"] == 60.0
    # a fixed frequency is used as given, and not reported
    assert "emg_notch_hz" not in run({"emg": stream}, parse_config(DEMO_CONFIG, "demo")).metrics
    with pytest.raises(ValueError, match="notch_hz = 'auto'"):
        OnlinePipeline(cfg, n_emg=2, emg_fs=fs)


def test_streams_starting_at_different_times_share_the_recording_time_axis(session, result) -> None:
    """Event times and latencies are on the recording's time axis: the same session with the EMG
    stream starting 0.5 s late (and the lower IMU 0.3 s late) gives the same onsets, latencies and
    angles at the same times (issue found by review: each stream used to start at its own 0)."""
    from kinemyo import io as kio
    rec = session.to_recording()
    late = kio.Recording({k: (s.crop(0.5, None) if k == "emg" else s.crop(0.3, None) if k == "imu_lower" else s)
                          for k, s in rec.items()}, metadata=rec.metadata)
    assert late["emg"].start == pytest.approx(0.5)
    r = run(late, parse_config(DEMO_CONFIG, "demo"))
    assert r.signals["envelope_t"][0] == pytest.approx(0.5)
    assert r.signals["angles_t"][0] == pytest.approx(0.3)
    assert any("start at different times" in w for w in r.warnings)

    def onsets(res):
        return np.array([e["onset_s"] for e in res.events["emg_onsets"]])
    a, b = onsets(result), onsets(r)
    assert a.size == b.size and np.abs(a - b).max() < 0.01
    lat0 = np.array([x["latency_ms"] for x in result.events["latencies"]])
    lat1 = np.array([x["latency_ms"] for x in r.events["latencies"]])
    assert lat0.size == lat1.size and np.allclose(lat0, lat1, atol=15.0, equal_nan=True)
    m0 = np.array([m["onset_s"] for m in result.events["movement_onsets"]])
    m1 = np.array([m["onset_s"] for m in r.events["movement_onsets"]])
    assert m0.size == m1.size and np.abs(m0 - m1).max() < 0.05
    # angles at the same recording times agree once the filters have converged (the lower IMU's
    # orientation filter starts 0.3 s later)
    t0, t1 = result.signals["angles_t"], r.signals["angles_t"]
    i0 = np.searchsorted(t0, 30.0)
    i1 = np.searchsorted(t1, 30.0)
    assert t0[i0] == pytest.approx(t1[i1])
    assert np.abs(result.signals["angles"][i0:i0 + 1000, 0] - r.signals["angles"][i1:i1 + 1000, 0]).max() < 1.0
    gappy = kio.Recording({k: (kio.Stream(s.data, s.fs, time=np.where(np.arange(s.n_samples) < 1000, s.time,
                                                                         s.time + 1.0), channel_names=s.channel_names,
                                          units=s.units) if k == "emg" else s) for k, s in rec.items()},
                          metadata=rec.metadata)
    assert any("gaps or jumps" in w for w in run(gappy, parse_config(DEMO_CONFIG, "demo")).warnings)


def test_windows_count_from_the_recordings_start_and_are_cut_to_each_stream(session, result) -> None:
    """Review: a configured window that began before a stream's first sample (EMG started 0.4 s
    after the IMUs, rest_s = [0, 5]) failed the whole file; a recording on an absolute time axis
    (timestamps from 100 s) put every window outside it; IMU streams that do not overlap crashed."""
    from kinemyo import io as kio

    def shifted(**t0):
        rec = session.to_recording()
        return kio.Recording({k: kio.Stream(s.data, s.fs, time=t0.get(k, 0.0) + np.arange(s.n_samples) / s.fs,
                                            channel_names=s.channel_names, units=s.units)
                              for k, s in rec.items()}, metadata=rec.metadata)

    cfg = parse_config(DEMO_CONFIG, "demo")
    absolute = run(shifted(emg=100.0, imu_upper=100.0, imu_lower=100.0, truth=100.0), cfg)
    assert len(absolute.events["emg_onsets"]) == len(result.events["emg_onsets"])
    assert len(absolute.events["repetitions"]) == len(result.events["repetitions"])
    first = result.events["emg_onsets"][0]["onset_s"]
    assert absolute.events["emg_onsets"][0]["onset_s"] == pytest.approx(100.0 + first)
    late = run(shifted(emg=0.4), {**cfg.to_dict(), "onset": {**cfg["onset"], "rest_s": [0.0, 5.0]}})
    assert any("onset.rest_s [0, 5] s reaches outside its stream: cut to [0.4, 5]" in w for w in late.warnings)
    assert len(late.events["emg_onsets"]) > 0
    apart = run(shifted(imu_lower=1000.0), cfg)
    assert any("do not overlap" in w for w in apart.warnings) and "angles" not in apart.signals
    # one sample of overlap is no overlap either (third review: it crashed)
    end = session.to_recording()["imu_upper"].end
    touch = run(shifted(imu_lower=end - 0.01), cfg)
    assert any("do not overlap" in w for w in touch.warnings)
    # a plain mapping of objects with .time (no Recording): windows from its first timestamp
    import types
    rec100 = shifted(emg=100.0, imu_upper=100.0, imu_lower=100.0, truth=100.0)
    duck = {k: types.SimpleNamespace(data=s.data, fs=s.fs, time=s.time, channel_names=s.channel_names)
            for k, s in rec100.items()}
    assert "calibration" in run(duck, cfg).metrics


def test_report_draws_dollar_signs_as_text(result, tmp_path: Path) -> None:
    """Review: matplotlib took '$...$' in a file or channel name for maths; an invalid one raised
    ValueError and failed the file in a batch."""
    pytest.importorskip("matplotlib")
    from kinemyo.pipeline.report import write_report

    png, html = write_report(result, tmp_path, "run_$x_{1$.edf")
    assert Path(png).stat().st_size > 0 and "run_$x_{1$.edf" in Path(html).read_text()


def test_cli_stream_bad_calibration_and_events_path_are_clean_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    r = CliRunner().invoke(main, ["stream", "--calibration", str(bad), "--resolve-timeout", "0.1"])
    assert r.exit_code == 1 and "not a kinemyo calibration" in r.output and isinstance(r.exception, SystemExit)
    r = CliRunner().invoke(main, ["stream", "--events-out", str(tmp_path / "no" / "ev.jsonl"),
                                  "--resolve-timeout", "0.1"])
    assert r.exit_code == 1 and "cannot write the events" in r.output

"""The demo session shipped in the package (EDF+) and the EDF writer that makes it."""

from __future__ import annotations

import filecmp
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kinemyo import io as kio
from kinemyo.cli import main
from kinemyo.pipeline import parse_config, run
from kinemyo.sim import DEMO_CONFIG, DEMO_FILE, DEMO_SEED, load_demo_session, make_demo_session

ROOT = Path(__file__).resolve().parent.parent


def test_demo_file_is_shipped_small_and_real_edf() -> None:
    assert DEMO_FILE.is_file(), "the demo session must be installed with the package"
    assert DEMO_FILE.stat().st_size <= 5_000_000
    assert DEMO_FILE.read_bytes()[:8] == b"0       "  # the EDF header's version field
    pyedflib = pytest.importorskip("pyedflib")
    with pyedflib.EdfReader(str(DEMO_FILE)) as f:  # readable by the format's own library, not just by us
        rates = set(f.getSampleFrequencies())
        assert rates == {2000.0, 100.0}
        assert f.file_duration >= 180


def test_demo_file_matches_the_generator() -> None:
    """The shipped bytes are what tools/make_demo_data.py writes today (no stale file)."""
    pytest.importorskip("pyedflib")
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "make_demo_data.py"), "--check"],
                          capture_output=True, text=True, check=False)
    if "differs" in proc.stdout and not filecmp.cmp(DEMO_FILE, ROOT / "python/kinemyo/data/demo_session.edf",
                                                    shallow=False):
        pytest.skip("the installed package is older than the checkout")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_demo_file_content_matches_the_simulated_session() -> None:
    pytest.importorskip("pyedflib")
    rec = load_demo_session()
    ref = make_demo_session(DEMO_SEED)
    assert list(rec) == ["emg", "imu_upper", "imu_lower", "truth"]
    for name in ("emg", "imu_upper", "imu_lower"):
        s, r = rec[name], ref[name]
        assert s.fs == r.fs and list(s.channel_names) == r.channel_names and list(s.units) == r.units
        x = np.asarray(r.data, dtype=np.float64)
        step = (x.max(0) - x.min(0)) / 65535  # 16-bit quantisation over each channel's range
        assert np.all(np.abs(s.data - x) <= 1.02 * step + 1e-6)
    np.testing.assert_allclose(rec["truth"].data, ref.truth["angles"], atol=0.01)
    texts = [a["text"] for a in rec.metadata["annotations"]]
    assert texts.count("movement onset") == len(ref.truth["movement_onsets_s"])
    assert "phase hold" in texts and "phase lateral" in texts and "phase rotation" in texts
    n_bursts = sum(len(np.asarray(e).reshape(-1, 2)) for e in ref.truth["emg_events"])
    assert sum(t.startswith("truth ") for t in texts) == n_bursts


def test_pipeline_on_the_file_equals_the_generated_session() -> None:
    pytest.importorskip("pyedflib")
    cfg = parse_config(DEMO_CONFIG, "demo")
    a = run(load_demo_session(), cfg)
    b = run(make_demo_session(DEMO_SEED), cfg)
    assert a.metrics["n_repetitions"] == b.metrics["n_repetitions"] == 12
    assert a.metrics["peak_flexion_deg"] == pytest.approx(b.metrics["peak_flexion_deg"], abs=0.05)
    assert a.metrics["emg_activations"] == b.metrics["emg_activations"]
    truth = load_demo_session()["truth"].data
    rmse = np.sqrt(np.mean((np.asarray(a.signals["angles"]) - truth) ** 2, axis=0))
    assert np.all(rmse < 1.0), rmse  # 9D demo config: flexion, lateral bending and axial rotation


def test_demo_cli_reads_the_shipped_file(tmp_path: Path) -> None:
    pytest.importorskip("pyedflib")
    res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "read from demo_session.edf" in res.output
    assert filecmp.cmp(tmp_path / "demo_session.edf", DEMO_FILE, shallow=False)
    out = tmp_path / "batch"
    res = CliRunner().invoke(main, ["process", str(tmp_path / "demo_session.edf"), "--config",
                                    str(tmp_path / "demo_pipeline.toml"), "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output


def test_demo_cli_generates_without_pyedflib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kinemyo.sim.session as session

    def missing(path: object = None) -> object:
        raise kio.MissingDependencyError("reading EDF/BDF files needs pyedflib: pip install 'kinemyo[io]'")

    monkeypatch.setattr(session, "load_demo_session", missing)
    monkeypatch.setattr("kinemyo.sim.load_demo_session", missing)
    res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "generating the same session instead" in res.output and "(generated)" in res.output


def test_demo_without_matplotlib_lists_the_files_it_wrote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without matplotlib the report is skipped, and the summary line names and counts only the
    files that are in the folder."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    out = tmp_path / "nd"
    res = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "report skipped: matplotlib is not installed" in res.output
    assert not (out / "report.html").exists() and not (out / "report.png").exists()
    written = sorted(p.name for p in out.iterdir())
    line = next(ln for ln in res.output.splitlines() if "wrote" in ln)
    assert f"wrote {len(written)} files to {out}/ (summary.json, " in line and "report" not in line
    n_csv = sum(n.endswith(".csv") for n in written)
    assert f"{n_csv} CSV tables" in line and "demo_pipeline.toml" in line
    session_file = next(n for n in written if n.startswith("demo_session."))
    assert session_file in line


def test_demo_with_report_lists_it_first(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    n = len(list(tmp_path.iterdir()))
    assert f"wrote {n} files to {tmp_path}/ (report.html, report.png, summary.json, " in res.output


def test_demo_toml_header_names_commands_that_work(tmp_path: Path) -> None:
    """The comment at the top of the demo's demo_pipeline.toml names kinemyo commands; each runs."""
    res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    toml = tmp_path / "demo_pipeline.toml"
    header = [ln for ln in toml.read_text().splitlines() if ln.startswith("#")]
    commands = re.findall(r"`kinemyo ([^`]*)`", "\n".join(header))
    assert "config" in commands, header
    for cmd in commands:
        res = CliRunner().invoke(main, shlex.split(cmd.replace("FILE", str(toml))))
        assert res.exit_code == 0, (cmd, res.output)
        assert "[kinematics]" in res.output or '"kinematics"' in res.output
    res = CliRunner().invoke(main, ["config", "--check", str(toml)])
    assert json.loads(res.output)["kinematics"]["neutral_s"] == DEMO_CONFIG["kinematics"]["neutral_s"]


# ------------------------------------------------------------------------------------------- write_edf
def _rec(rng: np.random.Generator, n_s: int = 3) -> kio.Recording:
    return kio.Recording({
        "emg": kio.Stream(rng.normal(0, 0.3, (2000 * n_s, 2)), 2000.0, channel_names=["a", "b"], units="mV"),
        "imu": kio.Stream(rng.normal(0, 5, (100 * n_s, 3)), 100.0, units="m/s^2"),
    }, metadata={"annotations": [{"onset_s": 1.25, "duration_s": 0.5, "text": "bend"}]})


@pytest.mark.parametrize(("ext", "bits"), [(".edf", 16), (".bdf", 24)])
def test_write_edf_round_trip(tmp_path: Path, rng: np.random.Generator, ext: str, bits: int) -> None:
    pytest.importorskip("pyedflib")
    rec = _rec(rng)
    path = tmp_path / f"r{ext}"
    assert kio.write(rec, path) == [str(path)]
    back = kio.read(path)
    assert list(back) == ["emg", "imu"]
    for name in rec:
        x, y = rec[name], back[name]
        assert y.fs == x.fs and list(y.channel_names) == list(x.channel_names) and list(y.units) == list(x.units)
        rng_ = x.data.max(0) - x.data.min(0)
        err = np.abs(y.data - x.data).max(0)
        assert np.all(err <= 1.05 * rng_ / (2**bits - 1) + 1e-12), (err, rng_)
    assert back.metadata["annotations"] == [{"onset_s": 1.25, "duration_s": 0.5, "text": "bend"}]


def test_write_edf_refuses_what_edf_cannot_hold(tmp_path: Path, rng: np.random.Generator) -> None:
    pytest.importorskip("pyedflib")
    rec = _rec(rng)
    with pytest.raises(kio.WriteError, match=r"\.edf or \.bdf"):
        kio.write_edf(rec, tmp_path / "x.dat")
    bad = _rec(rng)
    bad["emg"].data[10, 1] = np.nan
    with pytest.raises(kio.WriteError, match="NaN"):
        kio.write_edf(bad, tmp_path / "x.edf")
    long_name = kio.Recording({"a_very_long_stream": kio.Stream(np.zeros((100, 1)), 100.0,
                                                                channel_names=["channel"])})
    with pytest.raises(kio.WriteError, match="16 characters"):
        kio.write_edf(long_name, tmp_path / "x.edf")
    partial = kio.Recording({"s": kio.Stream(np.zeros((150, 1)), 100.0)})
    with pytest.raises(kio.WriteError, match="whole number"):
        kio.write_edf(partial, tmp_path / "x.edf")
    gappy = kio.Recording({"s": kio.Stream(np.zeros((100, 1)), 100.0,
                                           time=np.r_[np.arange(50), np.arange(60, 110)] / 100.0)})
    with pytest.raises(kio.WriteError, match="gaps"):
        kio.write_edf(gappy, tmp_path / "x.edf")
    uneven = kio.Recording({"a": kio.Stream(np.zeros((200, 1)), 100.0), "b": kio.Stream(np.zeros((100, 1)), 100.0)})
    with pytest.raises(kio.WriteError, match="same time"):
        kio.write_edf(uneven, tmp_path / "x.edf")
    assert not list(tmp_path.glob("*.edf")) and not list(tmp_path.glob(".*"))  # nothing half-written


@pytest.mark.parametrize("scale", [1e-5, 1e-4, 1.0, 3e3, 5e6])
def test_write_edf_header_bounds_fit_8_characters(tmp_path: Path, rng: np.random.Generator, scale: float) -> None:
    """Values whose 3-digit bounds need more than 8 characters (EMG in volts: -0.000195) are bounded
    with fewer digits; the header holds exactly the scale the samples were written with."""
    pyedflib = pytest.importorskip("pyedflib")
    x = rng.normal(0, 0.5, (2000, 2)) * scale
    x[0, 0], x[1, 0] = -1.95 * scale, 1.5678 * scale
    path = tmp_path / "v.edf"
    kio.write(kio.Recording({"emg": kio.Stream(x, 1000.0, channel_names=["a", "b"], units="V")}), path)
    f = pyedflib.EdfReader(str(path))
    try:
        lo, hi = f.getPhysicalMinimum(0), f.getPhysicalMaximum(0)
    finally:
        f.close()
    assert lo <= x[:, 0].min() and hi >= x[:, 0].max() and (hi - lo) < 1.25 * np.ptp(x[:, 0])
    y = kio.read(path)["emg"].data
    assert np.all(np.abs(y - x).max(0) <= 1.3 * np.ptp(x, 0) / 65535)


def test_write_edf_bounds_edge_cases_and_many_annotations(tmp_path: Path) -> None:
    """Review: -9.995e6 was refused (-9,999,999 fits), [0, 1e-5] got a maximum of 1.1e-5, a
    note ending exactly at the first sample was kept, and edflib kept one note per record."""
    from kinemyo.io._formats import _edf_bounds

    assert _edf_bounds(0.0, 1e-5) == (0.0, 1e-5)
    lo, hi = _edf_bounds(-9.995e6, 5.0)
    assert lo <= -9.995e6 and len(f"{lo:.0f}") <= 8 and hi >= 5.0
    pytest.importorskip("pyedflib")
    notes = [{"onset_s": 0.01 * i, "duration_s": -1.0, "text": f"n{i}"} for i in range(5)]
    notes.append({"onset_s": 0.5, "duration_s": 0.5, "text": "ends_at_start"})
    rec = kio.Recording({"s": kio.Stream(np.zeros((200, 1)), 100.0, t0=1.0, units="mV")},
                        metadata={"annotations": [{**a, "onset_s": a["onset_s"] + (0 if a["text"] ==
                                                                                     "ends_at_start" else 1.0)}
                                                  for a in notes]})
    with pytest.warns(UserWarning, match="1 annotation"):
        kio.write_edf(rec, tmp_path / "n.edf")
    assert [a["text"] for a in kio.read(tmp_path / "n.edf").metadata["annotations"]] == [f"n{i}" for i in range(5)]


def test_write_edf_refuses_values_the_header_cannot_bound(tmp_path: Path) -> None:
    pytest.importorskip("pyedflib")
    tiny = kio.Recording({"emg": kio.Stream(np.linspace(-3e-8, 3e-8, 100)[:, None], 100.0, units="V")})
    with pytest.raises(kio.WriteError, match="uV instead of V"):
        kio.write_edf(tiny, tmp_path / "x.edf")
    huge = kio.Recording({"p": kio.Stream(np.linspace(-3e9, 3e9, 100)[:, None], 100.0, units="Pa")})
    with pytest.raises(kio.WriteError, match="8-character"):
        kio.write_edf(huge, tmp_path / "x.edf")


def test_write_edf_annotations_follow_the_streams_start(tmp_path: Path, rng: np.random.Generator) -> None:
    """A cropped recording (streams starting at 10 s) is written with its first sample at the file's
    time 0: notes move by -10 s, a note overlapping the start is cut, notes outside are left out."""
    pytest.importorskip("pyedflib")
    import datetime
    notes = [{"onset_s": 12.0, "duration_s": 1.0, "text": "lift"},
             {"onset_s": 9.0, "duration_s": 2.0, "text": "hold"},
             {"onset_s": 3.0, "duration_s": -1.0, "text": "before"},
             {"onset_s": 25.0, "duration_s": -1.0, "text": "after"}]
    full = kio.Stream(rng.normal(0, 1, (20 * 200, 1)), 200.0, channel_names=["a"], units="mV")
    rec = kio.Recording({"emg": full.crop(10.0, 20.0)}, metadata={"annotations": notes})
    assert rec["emg"].start == pytest.approx(10.0)
    path = tmp_path / "crop.edf"
    with pytest.warns(UserWarning, match="2 annotation"):
        kio.write_edf(rec, path, start=datetime.datetime(2024, 5, 1, 9, 0, 0))
    back = kio.read(path)
    assert back["emg"].start == 0.0 and back["emg"].duration == pytest.approx(10.0)
    assert back.metadata["annotations"] == [{"onset_s": 2.0, "duration_s": 1.0, "text": "lift"},
                                            {"onset_s": 0.0, "duration_s": 1.0, "text": "hold"}]
    assert back.metadata["start_datetime"] == "2024-05-01 09:00:10"
    with pytest.raises(kio.WriteError, match="onset_s"):
        kio.write_edf(kio.Recording({"emg": full}, metadata={"annotations": [{"text": "x"}]}), tmp_path / "b.edf")


def test_write_edf_micro_sign_units_and_non_ascii_header_text(tmp_path: Path, rng: np.random.Generator) -> None:
    """Review: edflib wrote each UTF-8 byte of a non-ASCII character as a character of its own
    (``µV`` came back as ``AuV``, ``Mültifidus_L`` as ``MA ltifidus_``). The micro sign is written as
    ``u``; other non-ASCII header text is refused, naming the field."""
    pytest.importorskip("pyedflib")
    x = rng.normal(0, 50, (200, 3))
    rec = kio.Recording({"emg": kio.Stream(x, 100.0, channel_names=["a", "b", "c"],
                                           units=["\u00b5V", "\u03bcV", "uV"])})
    kio.write_edf(rec, tmp_path / "u.edf")
    back = kio.read(tmp_path / "u.edf")["emg"]
    assert back.channel_names == ("a", "b", "c") and back.units == ("uV", "uV", "uV")
    bad_label = kio.Recording({"emg": kio.Stream(x[:, :1], 100.0, channel_names=["M\u00fcltifidus_L"], units="uV")})
    with pytest.raises(kio.WriteError, match=r"label 'emg:M\u00fcltifidus_L'.*'\u00fc'.*printable ASCII"):
        kio.write_edf(bad_label, tmp_path / "l.edf")
    bad_unit = kio.Recording({"acc": kio.Stream(x[:, :1], 100.0, channel_names=["z"], units="m/s\u00b2")})
    with pytest.raises(kio.WriteError, match=r"unit 'm/s\u00b2' of 'acc:z'.*printable ASCII"):
        kio.write_edf(bad_unit, tmp_path / "m.bdf")
    assert not (tmp_path / "l.edf").exists() and not (tmp_path / "m.bdf").exists()


def test_write_edf_cuts_long_annotation_texts_with_a_warning(tmp_path: Path) -> None:
    """Review: edflib silently kept 40 bytes of an annotation's text, and cut a UTF-8 character in
    two (the reader then decoded the whole text as Latin-1). The texts are cut on a character
    boundary, with a warning saying how many were."""
    pytest.importorskip("pyedflib")
    notes = [{"onset_s": 1.0, "duration_s": -1.0, "text": "M\u00fcdigkeit"},
             {"onset_s": 2.0, "duration_s": -1.0, "text": "x" * 45},
             {"onset_s": 3.0, "duration_s": -1.0, "text": "y" + "\u00fc" * 30}]
    rec = kio.Recording({"s": kio.Stream(np.zeros((500, 1)), 100.0, units="mV")}, metadata={"annotations": notes})
    with pytest.warns(UserWarning, match=r"2 annotation text\(s\) longer than the 40 bytes"):
        kio.write_edf(rec, tmp_path / "n.edf")
    texts = [a["text"] for a in kio.read(tmp_path / "n.edf").metadata["annotations"]]
    assert texts == ["M\u00fcdigkeit", "x" * 40, "y" + "\u00fc" * 19]


def test_read_edf_label_convention_falls_back_to_rates(tmp_path: Path, rng: np.random.Generator) -> None:
    """Labels that only look like ``stream:channel`` but mix rates in one prefix keep the rate grouping."""
    pyedflib = pytest.importorskip("pyedflib")
    path = tmp_path / "m.edf"
    w = pyedflib.EdfWriter(str(path), 2, file_type=pyedflib.FILETYPE_EDFPLUS)
    w.setSignalHeaders([{"label": lab, "dimension": "uV", "sample_frequency": r, "physical_max": 10.0,
                         "physical_min": -10.0, "digital_max": 32767, "digital_min": -32768,
                         "transducer": "", "prefilter": ""} for lab, r in (("x:a", 200), ("x:b", 100))])
    w.writeSamples([rng.uniform(-9, 9, 400), rng.uniform(-9, 9, 200)])
    w.close()
    assert list(kio.read(path)) == ["signals_200hz", "signals_100hz"]

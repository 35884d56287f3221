"""kinemyo.io: the Recording/Stream model, CSV/HDF5/Parquet/JSON round trips, bad input, atomic writes,
alignment, gap detection and ``kinemyo info``."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from kinemyo import io as kio
from kinemyo.cli import main
from kinemyo.io import Gap, ReadError, Recording, Stream


def make_recording(rng: np.random.Generator) -> Recording:
    emg = Stream(rng.standard_normal((4000, 3)), 2000.0, channel_names=["ES_L", "ES_R", "RA (x)"],
                 units=["mV", "mV", ""], metadata={"placement": "L3"})
    imu = Stream(rng.standard_normal((200, 6)).astype(np.float32), 100.0, t0=0.005,
                 channel_names=["gx", "gy", "gz", "ax", "ay", "az"],
                 units=["rad/s"] * 3 + ["m/s^2"] * 3)
    t = np.cumsum(rng.uniform(0.01, 0.05, 60))
    events = Stream(rng.standard_normal(60), None, time=t, channel_names=["force"], units="N")
    return Recording({"emg": emg, "imu_upper": imu, "events": events}, metadata={"subject": "s01", "n": 3})


# ------------------------------------------------------------------------------------------ model
def test_stream_basics(rng: np.random.Generator) -> None:
    s = Stream(np.arange(10), fs=5.0)
    assert s.data.shape == (10, 1) and s.data.dtype == np.float64
    assert s.channel_names == ("ch0",) and s.units == ("",)
    assert s.duration == 2.0 and s.start == 0.0 and s.end == 2.0
    np.testing.assert_array_equal(s.time, np.arange(10) / 5.0)
    f = Stream(rng.standard_normal((5, 2)).astype(np.float32), 1.0, channel_names=["a", "b"], units="V")
    assert f.data.dtype == np.float32 and f.units == ("V", "V")
    np.testing.assert_array_equal(f["b"], f.data[:, 1])
    assert f.select(["b"]).channel_names == ("b",)
    c = Stream(np.arange(100.0), 10.0).crop(1.0, 2.0)
    assert c.n_samples == 10 and c.start == 1.0
    irr = Stream(np.ones(3), None, time=[0.0, 0.1, 0.5])
    assert irr.fs is None and irr.duration == pytest.approx(0.5) and not irr.regular
    assert "irregular" in repr(irr)
    empty = Stream(np.zeros((0, 2)), 100.0)
    assert empty.n_samples == 0 and empty.duration == 0.0


@pytest.mark.parametrize(("kwargs", "exc", "msg"), [
    ({"data": np.zeros((2, 2, 2)), "fs": 1.0}, ValueError, "shape"),
    ({"data": np.zeros((3, 0)), "fs": 1.0}, ValueError, "at least one channel"),
    ({"data": np.zeros(3), "fs": 0.0}, ValueError, "fs must be"),
    ({"data": np.zeros(3), "fs": float("nan")}, ValueError, "fs must be"),
    ({"data": np.zeros(3), "fs": "fast"}, TypeError, "fs must be"),
    ({"data": np.zeros(3)}, ValueError, "fs (Hz) or time"),
    ({"data": np.zeros(3), "time": [0.0, 1.0]}, ValueError, "time must have shape (3,)"),
    ({"data": np.zeros(3), "time": [0.0, 2.0, 1.0]}, ValueError, "non-decreasing"),
    ({"data": np.zeros(3), "time": [0.0, np.nan, 1.0]}, ValueError, "finite"),
    ({"data": np.zeros((3, 2)), "fs": 1.0, "channel_names": ["a"]}, ValueError, "2 entries"),
    ({"data": np.zeros((3, 2)), "fs": 1.0, "channel_names": ["a", "a"]}, ValueError, "unique"),
    ({"data": np.zeros((3, 2)), "fs": 1.0, "units": ["V"]}, ValueError, "units must have 2"),
    ({"data": np.array([["a", "b"]]), "fs": 1.0}, TypeError, "numeric"),
])
def test_stream_validation(kwargs: dict, exc: type, msg: str) -> None:
    data = kwargs.pop("data")
    with pytest.raises(exc, match=msg.replace("(", r"\(").replace(")", r"\)")):
        Stream(data, **kwargs)


def test_recording_mapping_and_summary(rng: np.random.Generator) -> None:
    rec = make_recording(rng)
    assert list(rec) == ["emg", "imu_upper", "events"] and len(rec) == 3 and "emg" in rec
    assert rec["emg"].fs == 2000.0
    assert rec.duration == pytest.approx(max(s.end for s in rec.values()) - 0.0)
    with pytest.raises(KeyError, match="streams are"):
        rec["nope"]
    with pytest.raises(ValueError, match="already exists"):
        rec.add("emg", rec["emg"])
    with pytest.raises(TypeError, match=r"kinemyo\.io\.Stream"):
        rec.add("x", np.zeros(3))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty"):
        rec.add("", rec["emg"])
    summary = rec.summary()
    json.dumps(summary, allow_nan=False)
    assert summary["streams"]["imu_upper"]["channel_names"][0] == "gx"
    assert summary["streams"]["events"]["fs"] is None
    text = rec.describe()
    assert "emg: 3 channel(s), 2000 Hz" in text and "ES_L [mV]" in text and "irregular" in text
    assert rec.remove("events").n_channels == 1 and "events" not in rec
    assert pickle.loads(pickle.dumps(rec)) == rec
    err = pickle.loads(pickle.dumps(ReadError("f.edf", "broken")))
    assert str(err) == "f.edf: broken" and err.path == "f.edf" and err.reason == "broken"


def test_to_pandas_and_mne(rng: np.random.Generator) -> None:
    rec = make_recording(rng)
    pd = pytest.importorskip("pandas")
    df = rec.to_pandas("emg")
    assert isinstance(df, pd.DataFrame) and list(df.columns) == ["ES_L", "ES_R", "RA (x)"]
    np.testing.assert_array_equal(df.index.to_numpy(), rec["emg"].time)
    assert set(rec.to_pandas()) == set(rec)
    pytest.importorskip("mne")
    raw = rec.to_mne("emg", ch_types="emg")
    assert raw.info["sfreq"] == 2000.0
    np.testing.assert_allclose(raw.get_data()[0], rec["emg"].data[:, 0] * 1e-3)  # mV -> V
    with pytest.raises(ValueError, match="regularly sampled"):
        rec["events"].to_mne()


def test_import_kinemyo_does_not_load_io_or_optional_libraries() -> None:
    code = ("import sys, kinemyo; print(sorted(m for m in ('kinemyo.io', 'h5py', 'pyarrow', 'pyedflib', "
            "'ezc3d', 'pyxdf', 'pandas', 'mne') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    code = ("import sys; from kinemyo import io; print(sorted(m for m in ('h5py', 'pyarrow', 'pyedflib', "
            "'ezc3d', 'pyxdf', 'pandas', 'mne') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_missing_optional_library_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import importlib

    real = importlib.import_module

    def fake(name: str, *a: object) -> object:
        if name.split(".")[0] in ("h5py", "pyarrow"):
            raise ImportError(f"No module named {name!r}")
        return real(name, *a)

    monkeypatch.setattr(importlib, "import_module", fake)
    f = tmp_path / "x.h5"
    f.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(kio.MissingDependencyError, match=r"kinemyo\[io\]"):
        kio.read(f)
    rec = Recording({"a": Stream(np.zeros(3), 1.0)})
    with pytest.raises(kio.MissingDependencyError, match=r"kinemyo\[parquet\]"):
        kio.write(rec, tmp_path / "x.parquet")
    assert not (tmp_path / "x.parquet").exists()


# ------------------------------------------------------------------------------------ round trips
def test_hdf5_round_trip(rng: np.random.Generator, tmp_path: Path) -> None:
    pytest.importorskip("h5py")
    rec = make_recording(rng)
    rec["emg"].data[5:8, 1] = np.nan
    for comp in (None, "gzip"):
        out = kio.write(rec, tmp_path / "s.h5", compression=comp)
        assert out == [str(tmp_path / "s.h5")]
        back = kio.read(tmp_path / "s.h5")
        assert back == rec and list(back) == list(rec)
        assert back.metadata == rec.metadata and back["emg"].metadata == {"placement": "L3"}
        assert back["imu_upper"].data.dtype == np.float32 and back["events"].fs is None
        assert back.source == str(tmp_path / "s.h5")
    part = kio.read_hdf5(tmp_path / "s.h5", streams=["imu_upper"])
    assert list(part) == ["imu_upper"]
    with pytest.raises(ReadError, match="no stream 'x'"):
        kio.read_hdf5(tmp_path / "s.h5", streams=["x"])


def test_hdf5_large_metadata_and_bad_names(rng: np.random.Generator, tmp_path: Path) -> None:
    pytest.importorskip("h5py")
    markers = [[i * 0.01, f"marker {i}"] for i in range(20000)]  # ~400 kB: over the attribute limit
    rec = Recording({"emg": Stream(np.zeros((10, 1)), 100.0, metadata={"notes": "x" * 100000})},
                    metadata={"markers": markers})
    kio.write(rec, tmp_path / "big.h5")
    back = kio.read(tmp_path / "big.h5")
    assert back.metadata["markers"][-1] == markers[-1] and len(back["emg"].metadata["notes"]) == 100000
    slash = Recording({"a/b": Stream(np.zeros(3), 1.0), "c": Stream(np.zeros(3), 1.0)})
    with pytest.raises(kio.WriteError, match="HDF5 group name"):
        kio.write(slash, tmp_path / "slash.h5")
    with pytest.raises(kio.WriteError, match="cannot be part of a file name"):
        kio.write(slash, tmp_path / "slash.csv")
    assert not list(tmp_path.glob("slash*")) and not list(tmp_path.glob(".slash*"))


def test_hdf5_layout_is_as_documented(rng: np.random.Generator, tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    rec = make_recording(rng)
    kio.write(rec, tmp_path / "s.hdf5")
    with h5py.File(tmp_path / "s.hdf5", "r") as f:
        assert f.attrs["kinemyo_format"] == "kinemyo.recording" and f.attrs["format_version"] == 1
        assert json.loads(f.attrs["metadata"]) == {"subject": "s01", "n": 3}
        assert list(f["streams"]) == ["emg", "imu_upper", "events"]
        g = f["streams/emg"]
        assert g.attrs["fs"] == 2000.0 and np.isnan(f["streams/events"].attrs["fs"])
        names = [c.decode() if isinstance(c, bytes) else c for c in g.attrs["channel_names"]]
        assert names == ["ES_L", "ES_R", "RA (x)"]
        assert g["data"].shape == (4000, 3) and g["time"].shape == (4000,)
    # a file following the layout, written by hand (e.g. from MATLAB or another tool), reads too
    with h5py.File(tmp_path / "hand.h5", "w") as f:
        f.attrs["kinemyo_format"] = "kinemyo.recording"
        f.attrs["format_version"] = 1
        g = f.create_group("streams/acc")
        g.attrs["fs"] = 50.0
        g["data"] = np.ones((10, 3))
        g["time"] = np.arange(10) / 50.0
    back = kio.read(tmp_path / "hand.h5")
    assert back["acc"].fs == 50.0 and back["acc"].channel_names == ("ch0", "ch1", "ch2")


def test_hdf5_bad_files(tmp_path: Path, rng: np.random.Generator) -> None:
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = np.ones(3)
    with pytest.raises(ReadError, match=r"other\.h5: not a kinemyo HDF5 recording"):
        kio.read(tmp_path / "other.h5")
    kio.write(make_recording(rng), tmp_path / "good.h5")
    raw = (tmp_path / "good.h5").read_bytes()
    (tmp_path / "trunc.h5").write_bytes(raw[: len(raw) // 3])
    with pytest.raises(ReadError, match=r"trunc\.h5"):
        kio.read(tmp_path / "trunc.h5")
    (tmp_path / "garbage.h5").write_bytes(b"this is not hdf5" * 10)
    with pytest.raises(ReadError, match=r"garbage\.h5: not a readable HDF5 file"):
        kio.read(tmp_path / "garbage.h5")
    with h5py.File(tmp_path / "empty.h5", "w") as f:
        f.attrs["kinemyo_format"] = "kinemyo.recording"
        f.attrs["format_version"] = 1
        g = f.create_group("streams/emg")
        g.attrs["fs"] = 1000.0
        g["data"] = np.zeros((0, 2))
        g["time"] = np.zeros(0)
    with pytest.raises(ReadError, match=r"empty\.h5: stream 'emg' has zero samples"):
        kio.read(tmp_path / "empty.h5")
    with h5py.File(tmp_path / "v9.h5", "w") as f:
        f.attrs["kinemyo_format"] = "kinemyo.recording"
        f.attrs["format_version"] = 9
    with pytest.raises(ReadError, match="format_version 9"):
        kio.read(tmp_path / "v9.h5")


def test_hdf5_scalar_string_units_and_channel_names(tmp_path: Path) -> None:
    """Review: a scalar string attribute was iterated into characters (units "mV" on two channels
    read as ("m", "V")). A scalar unit applies to every channel (as Stream(units="mV")); a scalar
    channel name is the name of a one-channel stream and an error for more channels."""
    h5py = pytest.importorskip("h5py")

    def make(path: Path, n_ch: int, names: object, units: object) -> None:
        with h5py.File(path, "w") as f:
            f.attrs["kinemyo_format"] = "kinemyo.recording"
            f.attrs["format_version"] = 1
            g = f.create_group("streams/emg")
            g.attrs["fs"] = 100.0
            g.attrs["channel_names"] = names
            g.attrs["units"] = units
            g["data"] = np.zeros((10, n_ch))
            g["time"] = np.arange(10) / 100.0

    make(tmp_path / "u.h5", 2, ["ES_L", "ES_R"], "mV")
    s = kio.read(tmp_path / "u.h5")["emg"]
    assert s.channel_names == ("ES_L", "ES_R") and s.units == ("mV", "mV")
    make(tmp_path / "one.h5", 1, np.bytes_(b"EMG"), np.bytes_(b"uV"))  # fixed-length scalars too
    s = kio.read(tmp_path / "one.h5")["emg"]
    assert s.channel_names == ("EMG",) and s.units == ("uV",)
    make(tmp_path / "two.h5", 2, "EMG", "mV")
    with pytest.raises(ReadError, match=r"two\.h5: stream 'emg': the channel_names attribute is one string "
                                        r"\('EMG'\) but the stream has 2 channels"):
        kio.read(tmp_path / "two.h5")


def test_parquet_round_trip(rng: np.random.Generator, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    rec = make_recording(rng)
    out = kio.write(rec, tmp_path / "s.parquet")
    assert out == [str(tmp_path / f"s.{n}.parquet") for n in rec]
    for name, path in zip(rec, out, strict=True):
        back = kio.read(path)
        assert list(back) == [name] and back[name] == rec[name]
        assert back[name].metadata == rec[name].metadata and back.metadata == rec.metadata
    one = kio.write(rec, tmp_path / "emg.parquet", stream="emg")
    assert one == [str(tmp_path / "emg.parquet")]
    # a plain table from another tool: time column + channels, rate inferred
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = np.arange(500) / 250.0
    pq.write_table(pa.table({"time": t, "a": np.sin(t), "b": np.cos(t)}), tmp_path / "plain.parquet")
    back = kio.read(tmp_path / "plain.parquet")
    assert back["data"].fs == 250.0 and back["data"].channel_names == ("a", "b")
    pq.write_table(pa.table({"a": ["x", "y"]}), tmp_path / "text.parquet")
    with pytest.raises(ReadError, match=r"text\.parquet"):
        kio.read(tmp_path / "text.parquet", time_column=None, fs=1.0)
    raw = (tmp_path / "emg.parquet").read_bytes()
    (tmp_path / "trunc.parquet").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ReadError, match=r"trunc\.parquet: not a readable Parquet file"):
        kio.read(tmp_path / "trunc.parquet")


def test_csv_round_trip(rng: np.random.Generator, tmp_path: Path) -> None:
    rec = make_recording(rng)
    rec["emg"].data[10, 0] = np.nan
    out = kio.write(rec, tmp_path / "s.csv")
    assert out == [str(tmp_path / f"s.{n}.csv") for n in rec]
    for name, path in zip(rec, out, strict=True):
        back = kio.read(path)["data"]
        s = rec[name]
        assert back.channel_names == s.channel_names and back.units == s.units
        assert back.fs == s.fs  # nominal rate inferred from the uniform time column
        np.testing.assert_array_equal(back.time, s.time)
        np.testing.assert_array_equal(back.data.astype(s.data.dtype), s.data)
    first = (tmp_path / "s.emg.csv").read_text().splitlines()[0]
    assert first == "time [s],ES_L [mV],ES_R [mV],RA (x) []"
    kio.write(rec, tmp_path / "s.tsv", stream="imu_upper")
    assert "\t" in (tmp_path / "s.tsv").read_text().splitlines()[0]
    assert kio.read(tmp_path / "s.tsv")["data"].n_samples == 200
    with pytest.raises(kio.WriteError, match="clashes"):
        kio.write(Recording({"a": Stream(np.zeros(2), 1.0, channel_names=["time"])}), tmp_path / "t.csv")


def test_csv_units_with_brackets_round_trip(rng: np.random.Generator, tmp_path: Path) -> None:
    """Review: a unit with brackets or parentheses of its own ("mV (RMS)") was lost on the round
    trip; one level of them now round-trips, and a unit the header cannot hold is refused."""
    names, units = ["ES_L", "RA (x)", "acc"], ["mV (RMS)", "uV [pk]", "m/s^2"]
    s = Stream(rng.standard_normal((20, 3)), 100.0, channel_names=names, units=units)
    kio.write(Recording({"s": s}), tmp_path / "u.csv")
    assert (tmp_path / "u.csv").read_text().splitlines()[0] == "time [s],ES_L [mV (RMS)],RA (x) [uV [pk]],acc [m/s^2]"
    back = kio.read(tmp_path / "u.csv")["data"]
    assert back.channel_names == tuple(names) and back.units == tuple(units)
    assert kio._csv._split_header("EMG1 (mV)") == ("EMG1", "mV")  # device exports as before
    assert kio._csv._split_header("a (b) (c)") == ("a (b)", "c")
    for bad in ("mV)", "((mV))", "x] [y"):
        with pytest.raises(kio.WriteError, match=r"cannot be written in a CSV header"):
            kio.write(Recording({"s": Stream(np.zeros(3), 1.0, channel_names=["a"], units=bad)}), tmp_path / "b.csv")
    assert not (tmp_path / "b.csv").exists()


def test_csv_device_exports(tmp_path: Path) -> None:
    # semicolon separated, a preamble, time in ms, units in parentheses, no nominal rate
    f = tmp_path / "export.csv"
    f.write_text("Device: XYZ\nSubject: 01\nTime (ms);EMG 1 (uV);EMG 2 (uV)\n"
                 "0;1.5;2\n0.5;1.25;3\n1.0;-1;4\n1.5;0;5\n")
    rec = kio.read(f, skip_rows=2, stream_name="emg")
    s = rec["emg"]
    np.testing.assert_allclose(s.time, [0, 5e-4, 1e-3, 1.5e-3])
    assert s.fs == 2000.0 and s.channel_names == ("EMG 1", "EMG 2") and s.units == ("uV", "uV")
    # two sensors of different rates side by side, each with its own time column; the slow one ends early
    f2 = tmp_path / "multi.csv"
    rows = ["emg_t,emg,acc_t,acc_x,acc_y"]
    for i in range(8):
        slow = f"{i * 0.01},{i},{-i}" if i < 2 else ",,"
        rows.append(f"{i * 0.005},{i * 1.0},{slow}")
    f2.write_text("\n".join(rows) + "\n")
    rec = kio.read(f2, streams={"emg": {"columns": ["emg"], "time": "emg_t", "units": "mV"},
                                "imu": {"columns": ["acc_x", "acc_y"], "time": "acc_t", "fs": 100.0}})
    assert rec["emg"].n_samples == 8 and rec["imu"].n_samples == 2 and rec["imu"].fs == 100.0
    assert rec["emg"].units == ("mV",)
    # fixed rate, no time column; empty cells inside a stream are drop-outs (NaN)
    f3 = tmp_path / "norate.csv"
    f3.write_text("a,b\n1,2\n,4\n5,6\n")
    s = kio.read(f3, fs=10.0, streams={"x": ["a", "b"]})["x"]
    assert s.fs == 10.0 and np.isnan(s.data[1, 0]) and s.data[1, 1] == 4.0
    assert kio.find_gaps(s) == [Gap("stream", 0.1, 0.2, 1, "nan")]
    s = kio.read(f3, fs=10.0, units={"a": "V"})["data"]
    assert s.units == ("V", "")
    # a trailing delimiter on every line, quoted numbers
    f5 = tmp_path / "trail.csv"
    f5.write_text('t,a,\n0,"1",\n0.5,2,\n1.0,3,\n')
    s = kio.read(f5)["data"]
    assert s.channel_names == ("a",) and s.fs == 2.0 and s.data[0, 0] == 1.0
    # irregular timestamps stay irregular
    f4 = tmp_path / "irr.csv"
    f4.write_text("t,x\n0,1\n0.1,2\n0.35,3\n0.4,4\n")
    assert kio.read(f4)["data"].fs is None


@pytest.mark.parametrize(("text", "kwargs", "msg"), [
    ("time,a\n0,1\n", {"streams": {"emg": ["a", "b"]}}, r"stream 'emg': missing column\(s\) \['b'\]"),
    ("time,a\n0,1\n0.1,oops\n", {}, r"non-numeric value 'oops' in column 'a' at line 3"),
    ("time,a,b\n0,1,2\n0.2,1,x,7\n", {}, r"line 3 has 4 fields but the header has 3"),
    ("time,a,b\n0,1,2\n0.1,2\n", {}, r"line 3 has 2 fields but the header has 3 \(truncated"),
    ("time,a\n", {}, r"no data rows"),
    ("a,b\n1,2\n", {}, r"stream 'data' has no time column; pass fs="),
    ("a,b\n1,2\n", {"time_column": "t"}, r"missing time column 't'"),
    ("t,a\n0,1\n,2\n", {}, r"stream 'data': empty time cell in column 't' at line 3"),
    ("t,a\n0,1\n1,2\n0.5,3\n", {},
     r"stream 'data': time must be non-decreasing; it goes back from 1.0 s to 0.5 s at sample 2"),
    ("t,a,b\n0,1,\n1,2,\n", {"streams": {"x": ["a"], "y": ["b"]}, "time_column": None, "fs": 1.0},
     r"stream 'y' has zero samples"),
    ("t\n0\n1\n", {}, r"no data columns"),
    ("\n\n", {}, r"no header row"),
])
def test_csv_bad_input(tmp_path: Path, text: str, kwargs: dict, msg: str) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(ReadError, match=r"bad\.csv: " + msg):
        kio.read(f, **kwargs)


def test_no_time_column_error_names_the_python_and_the_command_line_options(tmp_path: Path) -> None:
    """The error says what to pass in Python (fs=, time_column=) and on the command line
    (kinemyo info --fs / --time-column), and where kinemyo process users look (docs/pipeline.md);
    the CLI options it names work."""
    f = tmp_path / "nt.csv"
    f.write_text("x,y\n1,2\n3,4\n")
    with pytest.raises(ReadError) as err:
        kio.read(f)
    msg = str(err.value)
    for part in ("pass fs= (Hz) or time_column=", "kinemyo info: --fs HZ or --time-column NAME",
                 "kinemyo process", "docs/pipeline.md"):
        assert part in msg, msg
    res = CliRunner().invoke(main, ["info", str(f)])
    assert res.exit_code == 1 and "--fs HZ" in res.output
    res = CliRunner().invoke(main, ["info", "--fs", "2", str(f)])
    assert res.exit_code == 0 and "2 Hz" in res.output, res.output
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": [1.0, 2.0]}), tmp_path / "nt.parquet")
    with pytest.raises(ReadError, match=r"no time column; pass fs= \(Hz\) or time_column= \(kinemyo info: --fs"):
        kio.read(tmp_path / "nt.parquet", time_column=None)


def test_csv_bad_options(tmp_path: Path) -> None:
    f = tmp_path / "ok.csv"
    f.write_text("t,a\n0,1\n1,2\n")
    with pytest.raises(ValueError, match="unknown key"):
        kio.read(f, streams={"x": {"columns": ["a"], "rate": 3}})
    with pytest.raises(TypeError, match="unexpected keyword"):
        kio.read(f, colour="red")
    (tmp_path / "latin.csv").write_bytes("t,\xe9\n0,1\n".encode("latin-1"))
    with pytest.raises(ReadError, match=r"latin\.csv: not a utf-8-sig text file"):
        kio.read(tmp_path / "latin.csv")
    assert kio.read(tmp_path / "latin.csv", encoding="latin-1")["data"].channel_names == ("\xe9",)


def test_read_dispatch_errors(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match=r"missing\.edf: no such file"):
        kio.read(tmp_path / "missing.edf")
    with pytest.raises(ReadError, match=r"missing\.xyz: no such file"):
        kio.read(tmp_path / "missing.xyz")
    (tmp_path / "data.xyz").write_text("1,2\n")
    with pytest.raises(ReadError, match=r"data\.xyz: unsupported file extension '\.xyz'"):
        kio.read(tmp_path / "data.xyz")
    (tmp_path / "data.csv").write_text("t,a\n0,1\n")
    with pytest.raises(ReadError, match=r"data\.csv: wrong extension '\.csv' for this reader"):
        kio.read_edf(tmp_path / "data.csv")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(ReadError, match=r"empty\.csv: file is empty"):
        kio.read(tmp_path / "empty.csv")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(ReadError, match=r"dir\.csv: not a regular file"):
        kio.read(tmp_path / "dir.csv")
    if hasattr(os, "geteuid") and os.geteuid() != 0:  # root reads anything
        (tmp_path / "locked.csv").write_text("t,a\n0,1\n")
        (tmp_path / "locked.csv").chmod(0)
        with pytest.raises(ReadError, match="permission denied"):
            kio.read(tmp_path / "locked.csv")
    assert isinstance(ReadError("f", "r"), ValueError)
    assert kio.readers()[".edf"] == "read_edf"
    with pytest.raises(kio.WriteError, match="unsupported output extension"):
        kio.write(Recording(), tmp_path / "x.mat")


def test_json_summary(rng: np.random.Generator, tmp_path: Path) -> None:
    rec = make_recording(rng)
    emg = rec.remove("emg")
    keep = np.ones(emg.n_samples, bool)
    keep[1000:1010] = False
    rec.add("emg", Stream(emg.data[keep], 2000.0, time=emg.time[keep], channel_names=emg.channel_names))
    out = kio.write(rec, tmp_path / "summary.json", extra={"tool": "test"})
    doc = json.loads(Path(out[0]).read_text())
    assert doc["tool"] == "test" and doc["metadata"]["subject"] == "s01"
    assert doc["streams"]["emg"]["fs"] == 2000.0 and doc["streams"]["emg"]["n_samples"] == 3990
    emg_gaps = [g for g in doc["gaps"] if g["stream"] == "emg"]
    assert emg_gaps == [{"stream": "emg", "start": 0.5, "end": 0.505, "n_missing": 10, "kind": "time"}]


# --------------------------------------------------------------------------------------- atomic
def test_atomic_write_failure_keeps_old_version(rng: np.random.Generator, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    rec = make_recording(rng)
    formats = ["x.csv", "x.json"]
    for mod, ext in (("h5py", "x.h5"), ("pyarrow", "x.parquet")):
        try:
            __import__(mod)
            formats.append(ext)
        except ImportError:
            pass
    done: list[str] = []
    for name in formats:
        done.append(name)
        target = tmp_path / name
        target.write_text("old version")
        single = Recording({"emg": rec["emg"]})

        def boom(*a: object, **k: object) -> None:
            raise KeyboardInterrupt("interrupted")

        with monkeypatch.context() as m:
            m.setattr(kio._util.os, "replace", boom)
            with pytest.raises(KeyboardInterrupt):
                kio.write(single, target)
        assert target.read_text() == "old version"
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(done), \
            "temporary file left behind"
        kio.write(single, target)
        assert target.read_bytes() != b"old version"


def test_atomic_write_hard_kill_mid_write(tmp_path: Path) -> None:
    """A process killed while writing leaves no file that looks complete (nor a changed old one)."""
    child = textwrap.dedent(f"""
        import os, numpy as np
        from kinemyo import io
        class Dying(np.ndarray):
            def __getitem__(self, k):
                if isinstance(k, slice) and (k.start or 0) >= 65536:
                    os._exit(3)   # the power goes off after the first block was written
                return np.asarray(self)[k]
        s = io.Stream(np.random.default_rng(0).standard_normal((200000, 4)), 2000.0)
        s.data = s.data.view(Dying)
        io.write(io.Recording({{"emg": s}}), {str(tmp_path / "out.csv")!r})
    """)
    for existing in (False, True):
        if existing:
            (tmp_path / "out.csv").write_text("old version")
        r = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True)
        assert r.returncode == 3, r.stderr
        if existing:
            assert (tmp_path / "out.csv").read_text() == "old version"
        else:
            assert not (tmp_path / "out.csv").exists()
        leftovers = [p.name for p in tmp_path.iterdir() if p.name != "out.csv"]
        assert leftovers and all(p.startswith(".out.csv.") and p.endswith(".tmp") for p in leftovers)
        assert not list(tmp_path.glob("*.csv")) or existing  # a glob for results never sees the temp file
        for p in leftovers:
            (tmp_path / p).unlink()


def test_atomic_path_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    with kio.atomic_path(target) as tmp:
        tmp.write_text("{}")
    assert target.stat().st_mode & 0o777 == 0o644
    target.chmod(0o600)
    with kio.atomic_path(target) as tmp:
        tmp.write_text("[]")
    assert target.stat().st_mode & 0o777 == 0o600 and target.read_text() == "[]"


# -------------------------------------------------------------------------------------- alignment
def test_align_onto_reference_stream() -> None:
    emg = Stream(np.zeros((2000, 2)), 2000.0)
    ramp = Stream(np.column_stack([np.arange(100.0), -np.arange(100.0)]), 100.0, t0=0.003,
                  channel_names=["a", "b"], units="deg")
    rec = Recording({"emg": emg, "imu": ramp})
    out = kio.align(rec)  # default reference: the fastest stream
    assert out.metadata["aligned_to"] == "stream emg"
    assert out["emg"] == emg and out["imu"].n_samples == 2000
    np.testing.assert_array_equal(out["imu"].time, emg.time)
    assert out["imu"].fs == 2000.0 and out["imu"].units == ("deg", "deg")
    y = out["imu"].data
    t = emg.time
    inside = (t >= 0.003) & (t <= 0.003 + 0.99)
    assert np.all(np.isnan(y[~inside]))  # no extrapolation
    np.testing.assert_allclose(y[inside, 0], (t[inside] - 0.003) * 100.0, atol=1e-9)
    np.testing.assert_allclose(y[inside, 1], -(t[inside] - 0.003) * 100.0, atol=1e-9)
    # onto the slow stream, exact samples; nearest and previous
    back = kio.align(rec, "imu", method="nearest")
    assert back["imu"] == ramp and back["emg"].n_samples == 100
    tq = np.array([0.003, 0.0079, 0.0081, 0.0129])
    np.testing.assert_array_equal(kio.resample(ramp, tq, method="nearest").data[:, 0], [0, 0, 1, 1])
    np.testing.assert_array_equal(kio.resample(ramp, tq, method="previous").data[:, 0], [0, 0, 0, 0])
    np.testing.assert_allclose(kio.resample(ramp, tq).data[:, 0], [0, 0.49, 0.51, 0.99])


def test_align_keeps_dtype_and_does_not_bridge_gaps() -> None:
    t = np.concatenate([np.arange(10), np.arange(20, 30)]) / 10.0  # 1 s drop-out
    s = Stream(np.arange(20, dtype=np.float32), 10.0, time=t)
    tq = np.arange(0, 30) / 10.0
    y = kio.resample(s, tq).data[:, 0]
    assert y.dtype == np.float32
    assert np.all(np.isnan(y[10:20])) and np.all(np.isfinite(y[:10])) and np.all(np.isfinite(y[20:]))
    y = kio.resample(s, tq + 0.05, max_gap=None).data[:, 0]
    assert np.all(np.isfinite(y[:29]))
    y = kio.resample(s, tq + 0.05, max_gap=2.0).data[:, 0]
    assert np.all(np.isfinite(y[:29]))
    y = kio.resample(s, tq + 0.05, max_gap=0.05).data[:, 0]
    assert np.all(np.isnan(y))


def test_align_uniform_grid_and_errors() -> None:
    a = Stream(np.arange(200.0), 100.0, t0=0.5)
    b = Stream(np.arange(50.0), 20.0)
    rec = Recording({"a": a, "b": b})
    out = kio.align(rec, fs=50.0)
    assert out["a"].time[0] == 0.5 and out["a"].time[-1] == pytest.approx(2.44)  # b ends at 2.45
    np.testing.assert_array_equal(out["a"].time, out["b"].time)
    assert out["a"].fs == 50.0
    np.testing.assert_allclose(out["a"].data[:, 0], (out["a"].time - 0.5) * 100.0, atol=1e-9)
    with pytest.raises(ValueError, match="not both"):
        kio.align(rec, "a", fs=10.0)
    with pytest.raises(KeyError, match="streams are"):
        kio.align(rec, streams=["a", "zz"])
    with pytest.raises(ValueError, match="fs must be"):
        kio.align(rec, fs=-1.0)
    with pytest.raises(ValueError, match="method"):
        kio.resample(a, [0.0], method="cubic")  # type: ignore[arg-type]
    rec.add("empty", Stream(np.zeros((0, 1)), 10.0))
    with pytest.raises(ValueError, match="zero samples"):
        kio.align(rec)
    irr = Recording({"x": Stream(np.ones(3), None, time=[0, 1, 3])})
    with pytest.raises(ValueError, match="no stream has a nominal rate"):
        kio.align(irr)
    far = Recording({"a": a, "c": Stream(np.ones(3), 1.0, t0=100.0)})
    with pytest.raises(ValueError, match="do not overlap"):
        kio.align(far, fs=10.0)


def test_align_keeps_the_last_common_sample_at_lsl_timestamps_and_owns_its_time() -> None:
    """Review: with timestamps near 1e5 s (LSL/XDF) the uniform grid dropped the last common
    sample half the time; and align's outputs shared the reference stream's time array, so
    editing one shifted the input recording."""
    rng = np.random.default_rng(2)
    for t0, k in zip(rng.uniform(1e5, 2e5, 60), rng.integers(100, 700, 60), strict=True):
        ti = t0 + np.arange(k + 1) * 0.01
        te = t0 + np.arange(20 * k + 1) * 0.0005
        rec = Recording({"emg": Stream(np.ones(len(te)), 2000.0, time=te),
                         "imu": Stream(np.ones(len(ti)), 100.0, time=ti)})
        out = kio.align(rec, fs=2000.0)
        assert out["imu"].n_samples == 20 * k + 1
        assert np.isfinite(out["imu"].data).all() and np.isfinite(out["emg"].data).all()
    rec = Recording({"emg": Stream(np.zeros(400), 2000.0), "imu": Stream(np.zeros(20), 100.0)})
    out = kio.align(rec)
    before = rec["emg"].time.copy()
    out["imu"].time += 5.0
    out["emg"].time += 1.0
    np.testing.assert_array_equal(rec["emg"].time, before)
    t = np.linspace(0, 0.1, 11)
    r = kio.resample(rec["imu"], t)
    r.time[:] = -1.0
    assert t[0] == 0.0


def test_find_gaps() -> None:
    fs = 100.0
    t = np.arange(1000) / fs
    keep = np.ones(1000, bool)
    keep[100:105] = False  # 5 samples lost
    keep[500] = False  # 1 sample lost
    x = np.ones((keep.sum(), 2))
    x[700:703, 1] = np.nan  # a 3-sample drop-out flagged by the device
    x[-1, 0] = np.inf
    s = Stream(x, fs, time=t[keep])
    gaps = kio.find_gaps(Recording({"imu": s}))
    tt = t[keep]
    assert gaps == [
        Gap("imu", pytest.approx(1.0), pytest.approx(1.05), 5, "time"),  # type: ignore[arg-type]
        Gap("imu", pytest.approx(5.0), pytest.approx(5.01), 1, "time"),  # type: ignore[arg-type]
        Gap("imu", tt[700], tt[703], 3, "nan"),
        Gap("imu", tt[-1], pytest.approx(tt[-1] + 0.01), 1, "nan"),  # type: ignore[arg-type]
    ]
    assert gaps[0].duration == pytest.approx(0.05)
    assert kio.find_gaps(s, nan=False, name="x")[0].stream == "x" and len(kio.find_gaps(s, nan=False)) == 2
    assert kio.find_gaps(s, nan=False, tolerance=2.5, name="imu") == [gaps[0]]
    # irregular stream: the median interval is the expectation
    irr = Stream(np.ones(6), None, time=[0.0, 0.1, 0.2, 0.3, 0.9, 1.0])
    assert kio.find_gaps(irr) == [Gap("stream", pytest.approx(0.4), 0.9, 5, "time")]  # type: ignore[arg-type]
    assert kio.find_gaps(Stream(np.ones(1), 10.0)) == []
    with pytest.raises(ValueError, match="tolerance"):
        kio.find_gaps(s, tolerance=1.0)


# -------------------------------------------------------------------------------------------- CLI
def test_cli_info(rng: np.random.Generator, tmp_path: Path) -> None:
    runner = CliRunner()
    rec = make_recording(rng)
    kio.write(rec, tmp_path / "s.csv")
    res = runner.invoke(main, ["info", str(tmp_path / "s.emg.csv")])
    assert res.exit_code == 0, res.output
    assert "data: 3 channel(s), 2000 Hz, 4000 samples, 2.000 s" in res.output
    assert "ES_L [mV], ES_R [mV], RA (x)" in res.output and "no gaps" in res.output
    res = runner.invoke(main, ["info", "--json", str(tmp_path / "s.imu_upper.csv")])
    assert res.exit_code == 0 and json.loads(res.output)["streams"]["data"]["fs"] == 100.0
    (tmp_path / "raw.csv").write_text("a,b\n1,2\nnan,4\n")
    res = runner.invoke(main, ["info", "--fs", "50", str(tmp_path / "raw.csv")])
    assert res.exit_code == 0 and "50 Hz" in res.output and "1 non-finite samples" in res.output
    res = runner.invoke(main, ["info", str(tmp_path / "raw.csv")])
    assert res.exit_code == 1 and "raw.csv" in res.output and "pass fs=" in res.output
    res = runner.invoke(main, ["info", str(tmp_path / "nope.edf")])
    assert res.exit_code == 1 and "nope.edf: no such file" in res.output
    res = runner.invoke(main, ["info", "--help"])
    assert res.exit_code == 0 and "channel names" in res.output
    res = runner.invoke(main, ["--help"])
    assert "info" in res.output


# ------------------------------------------------------------------------------------- properties
_names = st.text(alphabet="abcXYZ_ 019()[]µ", min_size=1, max_size=8).filter(lambda s: s.strip() == s)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), c=st.integers(1, 4), f32=st.booleans(), fs=st.sampled_from([None, 1.0, 100.0, 1925.926]),
       data=st.data())
def test_round_trips_property(tmp_path_factory: pytest.TempPathFactory, n: int, c: int, f32: bool,
                              fs: float | None, data: st.DataObject) -> None:
    """Any stream survives CSV (and HDF5, Parquet when installed) exactly: values, time, names, units."""
    names = data.draw(st.lists(_names, min_size=c, max_size=c, unique=True).filter(
        lambda xs: "time" not in xs and len({kio._csv._split_header(x)[0] for x in xs}) == len(xs)))
    units = data.draw(st.lists(st.sampled_from(["", "mV", "m/s^2", "deg"]), min_size=c, max_size=c))
    vals = data.draw(st.lists(st.floats(allow_nan=True, allow_infinity=False, width=32 if f32 else 64),
                              min_size=n * c, max_size=n * c))
    x = np.array(vals, dtype=np.float32 if f32 else np.float64).reshape(n, c)
    steps = data.draw(st.lists(st.floats(1e-3, 10.0), min_size=n, max_size=n))
    t = np.cumsum(steps) if fs is None else None
    s = Stream(x, fs, time=t, channel_names=names, units=units)
    folder = tmp_path_factory.mktemp("prop")
    kio.write(Recording({"s": s}), folder / "s.csv")
    back = kio.read(folder / "s.csv", fs=fs, time_column="time")["data"]
    assert back.channel_names == s.channel_names and back.units == s.units
    np.testing.assert_array_equal(back.time, s.time)
    np.testing.assert_array_equal(back.data.astype(s.data.dtype), s.data)
    for mod, ext in (("h5py", ".h5"), ("pyarrow", ".parquet")):
        try:
            __import__(mod)
        except ImportError:
            continue
        kio.write(Recording({"s": s}), folder / f"s{ext}")
        assert kio.read(folder / f"s{ext}")["s"] == s


@settings(max_examples=25, deadline=None)
@given(steps=st.lists(st.floats(1e-3, 1.0), min_size=1, max_size=30), seed=st.integers(0, 2**16),
       method=st.sampled_from(["linear", "nearest", "previous"]))
def test_resample_at_own_timestamps_is_identity(steps: list[float], seed: int, method: str) -> None:
    t = np.cumsum(steps)
    x = np.random.default_rng(seed).standard_normal((t.size, 3))
    s = Stream(x, None, time=t)
    y = kio.resample(s, t, method=method, max_gap=None).data  # type: ignore[arg-type]
    np.testing.assert_array_equal(y, x)

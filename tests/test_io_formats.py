"""kinemyo.io readers of EDF/BDF, C3D and XDF files, written here by the formats' own libraries
(pyedflib, ezc3d) or, for XDF (pyxdf only reads), by a small writer of the documented chunk format."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from kinemyo import io as kio
from kinemyo.io import ReadError


# ------------------------------------------------------------------------------------------------ EDF
def write_edf(path: Path, signals: Sequence[np.ndarray], rates: Sequence[float], labels: Sequence[str],
              dimension: str = "uV", bdf: bool = False, annotations: bool = False) -> None:
    pyedflib = pytest.importorskip("pyedflib")
    ftype = pyedflib.FILETYPE_BDFPLUS if bdf else pyedflib.FILETYPE_EDFPLUS
    w = pyedflib.EdfWriter(str(path), len(signals), file_type=ftype)
    try:
        dmax = 8388607 if bdf else 32767
        w.setSignalHeaders([
            {"label": lab, "dimension": dimension, "sample_frequency": r, "physical_max": 1000.0,
             "physical_min": -1000.0, "digital_max": dmax, "digital_min": -dmax - 1, "transducer": "",
             "prefilter": ""}
            for lab, r in zip(labels, rates, strict=True)])
        if annotations:
            w.writeAnnotation(1.5, 0.5, "bend")
        w.writeSamples([np.asarray(s, dtype=np.float64) for s in signals])
    finally:
        w.close()


@pytest.mark.parametrize("bdf", [False, True])
def test_edf_round_trip(tmp_path: Path, rng: np.random.Generator, bdf: bool) -> None:
    pytest.importorskip("pyedflib")
    path = tmp_path / ("s.bdf" if bdf else "s.edf")
    fast = [rng.uniform(-900, 900, 4000) for _ in range(2)]
    slow = [rng.uniform(-900, 900, 200)]
    write_edf(path, fast + slow, [2000, 2000, 100], ["EMG L", "EMG R", "Acc"], bdf=bdf, annotations=True)
    rec = kio.read(path)
    assert list(rec) == ["signals_2000hz", "signals_100hz"]
    emg = rec["signals_2000hz"]
    assert emg.fs == 2000.0 and emg.channel_names == ("EMG L", "EMG R") and emg.units == ("uV", "uV")
    resolution = 2000.0 / (2 ** (24 if bdf else 16) - 1)  # physical range / digital steps
    np.testing.assert_allclose(emg.data, np.column_stack(fast), atol=resolution)
    np.testing.assert_allclose(rec["signals_100hz"].data[:, 0], slow[0], atol=resolution)
    assert rec.duration == pytest.approx(2.0) and rec["signals_100hz"].fs == 100.0
    assert rec.metadata["format"] == ("bdf" if bdf else "edf")
    assert rec.metadata["annotations"] == [{"onset_s": 1.5, "duration_s": 0.5, "text": "bend"}]
    custom = kio.read(path, streams={"emg": ["EMG L", "EMG R"], "acc": ["Acc"]})
    assert list(custom) == ["emg", "acc"] and custom["emg"] == emg
    with pytest.raises(ReadError, match="different rates"):
        kio.read(path, streams={"mixed": ["EMG L", "Acc"]})
    with pytest.raises(ReadError, match="no signal labelled 'X'"):
        kio.read(path, streams={"x": ["X"]})


def test_edf_one_rate_and_repeated_labels(tmp_path: Path, rng: np.random.Generator) -> None:
    pytest.importorskip("pyedflib")
    write_edf(tmp_path / "s.edf", [rng.uniform(-1, 1, 500)] * 3, [250] * 3, ["EMG", "EMG", "ECG"], dimension="mV")
    rec = kio.read(tmp_path / "s.edf", stream_name="emg")
    assert list(rec) == ["emg"] and rec["emg"].channel_names == ("EMG", "EMG_2", "ECG")


def test_edf_truncated_and_corrupt(tmp_path: Path, rng: np.random.Generator) -> None:
    pytest.importorskip("pyedflib")
    write_edf(tmp_path / "good.edf", [rng.uniform(-1, 1, 1000)], [100], ["a"])
    raw = (tmp_path / "good.edf").read_bytes()
    for cut in (len(raw) - 7, len(raw) // 2, 200):
        (tmp_path / "trunc.edf").write_bytes(raw[:cut])
        with pytest.raises(ReadError, match=r"trunc\.edf: not a readable EDF/BDF file"):
            kio.read(tmp_path / "trunc.edf")
    (tmp_path / "junk.edf").write_bytes(b"definitely not an EDF header " * 20)
    with pytest.raises(ReadError, match=r"junk\.edf: not a readable EDF/BDF file"):
        kio.read(tmp_path / "junk.edf")
    (tmp_path / "zero.edf").write_bytes(b"")
    with pytest.raises(ReadError, match=r"zero\.edf: file is empty"):
        kio.read(tmp_path / "zero.edf")


# ------------------------------------------------------------------------------------------------ C3D
def write_c3d(path: Path, points: np.ndarray | None, point_rate: float, point_labels: Sequence[str],
              analogs: np.ndarray | None = None, analog_rate: float = 0.0,
              analog_labels: Sequence[str] = (), analog_units: Sequence[str] = ()) -> None:
    """points: (n_frames, n_points, 3), NaN for an invalid point; analogs: (n_samples, n_channels)."""
    ezc3d = pytest.importorskip("ezc3d")
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = [point_rate]
    c["parameters"]["POINT"]["UNITS"]["value"] = ["mm"]
    if points is not None:
        c["parameters"]["POINT"]["LABELS"]["value"] = tuple(point_labels)
        xyz = points.transpose(2, 1, 0)  # (3, n_points, n_frames)
        c["data"]["points"] = np.concatenate([xyz, np.ones((1, *xyz.shape[1:]))])
    if analogs is not None:
        c["parameters"]["ANALOG"]["RATE"]["value"] = [analog_rate]
        c["parameters"]["ANALOG"]["LABELS"]["value"] = tuple(analog_labels)
        c["parameters"]["ANALOG"]["UNITS"]["value"] = tuple(analog_units)
        c["data"]["analogs"] = analogs.T[None]
    c.write(str(path))


def test_c3d_round_trip(tmp_path: Path, rng: np.random.Generator) -> None:
    pytest.importorskip("ezc3d")
    pts = rng.uniform(-500, 500, (60, 2, 3))
    pts[10, 1] = np.nan  # marker occluded in one frame
    ana = rng.standard_normal((600, 3))
    write_c3d(tmp_path / "s.c3d", pts, 100.0, ["L3", "T12"], ana, 1000.0, ["EMG1", "EMG2", "Fz"], ["V", "V", "N"])
    rec = kio.read(tmp_path / "s.c3d")
    assert list(rec) == ["points", "analogs"]
    p = rec["points"]
    assert p.fs == 100.0 and p.n_samples == 60 and p.units == ("mm",) * 6
    assert p.channel_names == ("L3_x", "L3_y", "L3_z", "T12_x", "T12_y", "T12_z")
    assert np.all(np.isnan(p.data[10, 3:])) and np.all(np.isfinite(p.data[10, :3]))
    ok = np.isfinite(pts.reshape(60, 6))
    np.testing.assert_allclose(p.data[ok], pts.reshape(60, 6)[ok], rtol=1e-6)  # stored as float32
    a = rec["analogs"]
    assert a.fs == 1000.0 and a.channel_names == ("EMG1", "EMG2", "Fz") and a.units == ("V", "V", "N")
    np.testing.assert_allclose(a.data, ana, rtol=1e-6, atol=1e-7)
    assert rec["analogs"].duration == pytest.approx(rec["points"].duration)
    split = kio.read(tmp_path / "s.c3d", points=False, analog_streams={"emg": ["EMG1", "EMG2"], "force": "Fz"})
    assert list(split) == ["emg", "force"] and split["force"].units == ("N",)
    with pytest.raises(ReadError, match=r"no analog channel\(s\) \['EMG9'\]"):
        kio.read(tmp_path / "s.c3d", analog_streams={"emg": ["EMG9"]})
    write_c3d(tmp_path / "pts.c3d", pts, 100.0, ["L3", "T12"])
    assert list(kio.read(tmp_path / "pts.c3d")) == ["points"]


def test_c3d_labels_past_255_points_and_first_frame(tmp_path: Path, rng: np.random.Generator) -> None:
    """Review: only POINT:LABELS was read, so a file of 300 points (ezc3d writes labels 256-300 to
    POINT:LABELS2, as the C3D standard says) failed with "channel_names must have 900 entries"; and
    metadata["first_frame"] was ezc3d's 0-based number, one less than the header's."""
    ezc3d = pytest.importorskip("ezc3d")
    labels = [f"M{i}" for i in range(300)]
    write_c3d(tmp_path / "big.c3d", rng.uniform(-500, 500, (20, 300, 3)), 100.0, labels)
    assert len(ezc3d.c3d(str(tmp_path / "big.c3d"))["parameters"]["POINT"]["LABELS2"]["value"]) == 45
    rec = kio.read(tmp_path / "big.c3d")
    p = rec["points"]
    assert p.n_channels == 900 and p.channel_names[:3] == ("M0_x", "M0_y", "M0_z")
    assert p.channel_names[-3:] == ("M299_x", "M299_y", "M299_z")
    assert rec.metadata["first_frame"] == 1  # the header's frame numbers start at 1
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = [100.0]
    c["parameters"]["POINT"]["LABELS"]["value"] = ("A",)
    c["data"]["points"] = np.concatenate([rng.uniform(-1, 1, (3, 1, 30)), np.ones((1, 1, 30))])
    c["header"]["points"]["first_frame"] = 49  # ezc3d's count: frame 50 in the header
    c.write(str(tmp_path / "late.c3d"))
    first, last = struct.unpack("<HH", (tmp_path / "late.c3d").read_bytes()[6:10])
    assert (first, last) == (50, 79)
    assert kio.read(tmp_path / "late.c3d").metadata["first_frame"] == 50


def test_c3d_truncated_and_corrupt(tmp_path: Path, rng: np.random.Generator) -> None:
    pytest.importorskip("ezc3d")
    write_c3d(tmp_path / "good.c3d", rng.standard_normal((50, 2, 3)), 100.0, ["a", "b"],
              rng.standard_normal((500, 2)), 1000.0, ["e1", "e2"], ["V", "V"])
    raw = (tmp_path / "good.c3d").read_bytes()
    for cut in (len(raw) - 200, len(raw) // 2):
        (tmp_path / "trunc.c3d").write_bytes(raw[:cut])
        with pytest.raises(ReadError, match=r"trunc\.c3d: truncated C3D file: the header promises 50 frames"):
            kio.read(tmp_path / "trunc.c3d")
    for cut in (300, 20):
        (tmp_path / "trunc.c3d").write_bytes(raw[:cut])
        with pytest.raises(ReadError, match=r"trunc\.c3d: not a readable C3D file"):
            kio.read(tmp_path / "trunc.c3d")
    (tmp_path / "junk.c3d").write_bytes(b"not a c3d file at all " * 40)
    with pytest.raises(ReadError, match=r"junk\.c3d: not a readable C3D file"):
        kio.read(tmp_path / "junk.c3d")
    with pytest.raises(ReadError, match=r"good\.c3d: no point or analog data"):
        kio.read(tmp_path / "good.c3d", points=False, analogs=False)


# ------------------------------------------------------------------------------------------------ XDF
def _xdf_chunk(tag: int, content: bytes) -> bytes:
    body = struct.pack("<H", tag) + content
    return (struct.pack("<BB", 1, len(body)) if len(body) < 256 else struct.pack("<BI", 4, len(body))) + body


def _xdf_count(n: int) -> bytes:
    return struct.pack("<BB", 1, n) if n < 256 else struct.pack("<BI", 4, n)


def write_xdf(path: Path, streams: Sequence[dict]) -> None:
    """A minimal valid XDF 1.0 file (the chunk format of the XDF specification): file header,
    one stream header per stream, one samples chunk each (every sample with its timestamp), footers.
    ``streams``: dicts with name, type, srate, format ("float32" or "string"), labels, units, time, data."""
    out = [b"XDF:", _xdf_chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>')]
    for sid, s in enumerate(streams, start=1):
        chans = "".join(f"<channel><label>{lab}</label><unit>{u}</unit></channel>"
                        for lab, u in zip(s["labels"], s["units"], strict=True))
        xml = (f'<?xml version="1.0"?><info><name>{s["name"]}</name><type>{s["type"]}</type>'
               f'<channel_count>{len(s["labels"])}</channel_count><nominal_srate>{s["srate"]}</nominal_srate>'
               f'<channel_format>{s["format"]}</channel_format><source_id>src{sid}</source_id>'
               f"<desc><channels>{chans}</channels></desc></info>")
        out.append(_xdf_chunk(2, struct.pack("<I", sid) + xml.encode()))
    for sid, s in enumerate(streams, start=1):
        parts = [struct.pack("<I", sid), _xdf_count(len(s["time"]))]
        for t, v in zip(s["time"], s["data"], strict=True):
            parts.append(struct.pack("<Bd", 8, t))
            if s["format"] == "string":
                b = v.encode()
                parts.append(_xdf_count(len(b)) + b)
            else:
                parts.append(np.asarray(v, dtype="<f4").tobytes())
        out.append(_xdf_chunk(3, b"".join(parts)))
    for sid, s in enumerate(streams, start=1):
        t = s["time"]
        xml = (f'<?xml version="1.0"?><info><first_timestamp>{t[0] if len(t) else 0}</first_timestamp>'
               f"<last_timestamp>{t[-1] if len(t) else 0}</last_timestamp>"
               f"<sample_count>{len(t)}</sample_count><clock_offsets></clock_offsets></info>")
        out.append(_xdf_chunk(6, struct.pack("<I", sid) + xml.encode()))
    path.write_bytes(b"".join(out))


def _lsl_session(rng: np.random.Generator) -> tuple[list[dict], np.ndarray, np.ndarray]:
    emg = rng.standard_normal((1000, 2)).astype(np.float32)
    imu = rng.standard_normal((50, 3)).astype(np.float32)
    t0 = 5000.0  # LSL clock: seconds since the computer started
    streams = [
        {"name": "EMG", "type": "EMG", "srate": 1000, "format": "float32", "labels": ["ES_L", "ES_R"],
         "units": ["mV", "mV"], "time": t0 + np.arange(1000) / 1000.0, "data": emg},
        {"name": "IMU", "type": "IMU", "srate": 50, "format": "float32", "labels": ["gx", "gy", "gz"],
         "units": ["rad/s"] * 3, "time": t0 + 0.25 + np.arange(50) / 50.0, "data": imu},
        {"name": "Markers", "type": "Markers", "srate": 0, "format": "string", "labels": ["event"],
         "units": [""], "time": [t0 + 0.5, t0 + 0.75], "data": ["bend", "upright"]},
        {"name": "Unused", "type": "Force", "srate": 0, "format": "float32", "labels": ["f"], "units": ["N"],
         "time": [], "data": []},
    ]
    return streams, emg, imu


def test_xdf_round_trip(tmp_path: Path, rng: np.random.Generator) -> None:
    pytest.importorskip("pyxdf")
    streams, emg, imu = _lsl_session(rng)
    write_xdf(tmp_path / "s.xdf", streams)
    rec = kio.read(tmp_path / "s.xdf")
    assert list(rec) == ["EMG", "IMU"]
    e, i = rec["EMG"], rec["IMU"]
    assert e.fs == 1000.0 and e.channel_names == ("ES_L", "ES_R") and e.units == ("mV", "mV")
    assert i.fs == 50.0 and i.units == ("rad/s",) * 3 and e.metadata["type"] == "EMG"
    np.testing.assert_array_equal(e.data, emg)
    np.testing.assert_array_equal(i.data, imu)
    assert rec.metadata["time_origin_s"] == pytest.approx(5000.0)
    np.testing.assert_allclose(e.time, np.arange(1000) / 1000.0, atol=1e-9)
    np.testing.assert_allclose(i.time, 0.25 + np.arange(50) / 50.0, atol=1e-9)
    assert [m[1] for m in rec.metadata["markers"]["Markers"]] == ["bend", "upright"]
    assert rec.metadata["markers"]["Markers"][0][0] == pytest.approx(0.5)
    assert rec.metadata["empty_streams"] == ["Unused"]
    raw = kio.read(tmp_path / "s.xdf", relative_time=False, dejitter=False)
    assert raw["EMG"].time[0] == 5000.0
    aligned = kio.align(rec, "EMG")  # the use case: IMU onto the EMG clock
    assert np.all(np.isnan(aligned["IMU"].data[:250])) and np.all(np.isfinite(aligned["IMU"].data[250:1230 - 250]))


def test_xdf_bad_files(tmp_path: Path, rng: np.random.Generator) -> None:
    pytest.importorskip("pyxdf")
    streams, _, _ = _lsl_session(rng)
    write_xdf(tmp_path / "good.xdf", streams)
    raw = (tmp_path / "good.xdf").read_bytes()
    (tmp_path / "junk.xdf").write_bytes(b"XYZ!" + raw[4:])
    with pytest.raises(ReadError, match=r"junk\.xdf: not a readable XDF file"):
        kio.read(tmp_path / "junk.xdf")
    (tmp_path / "head.xdf").write_bytes(raw[:10])
    with pytest.raises(ReadError, match=r"head\.xdf: not a readable XDF file"):
        kio.read(tmp_path / "head.xdf")
    # cut inside the first samples chunk: pyxdf recovers what it can (LSL recordings often end
    # abruptly); with no numeric samples left it is an error
    (tmp_path / "cut.xdf").write_bytes(raw[: len(raw) // 3])
    with pytest.raises(ReadError, match=r"cut\.xdf: no numeric stream with samples"):
        kio.read(tmp_path / "cut.xdf")
    write_xdf(tmp_path / "markers.xdf", streams[2:])
    with pytest.raises(ReadError, match=r"markers\.xdf: no numeric stream with samples"):
        kio.read(tmp_path / "markers.xdf")

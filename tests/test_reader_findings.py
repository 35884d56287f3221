"""Regression tests for the reader fuzzing findings (fuzz/findings/, docs/reliability.md).

Each finding is a file that once crashed, hung or exhausted the memory of the process reading it
with ``kinemyo.io.read`` (ezc3d and libhdf5 are native code). They are read here *in-process*, as a
user would, but inside one child interpreter under an address-space limit and a timeout: if a fix
regresses, the child dies or stalls and the test fails with the finding's name, instead of taking
the test run down with it. Every finding must end as a ``ReadError`` naming the file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from kinemyo import io as kio

ROOT = Path(__file__).resolve().parents[1]
FINDINGS = sorted((ROOT / "fuzz" / "findings").glob("*"))
FORMATS = [".csv", ".tsv", ".edf", ".bdf", ".c3d", ".xdf", ".h5", ".parquet", ".npz"]  # fuzz_readers.py

_CHILD = textwrap.dedent("""
    import json, resource, sys, warnings
    resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, resource.getrlimit(resource.RLIMIT_AS)[1]))
    from kinemyo import io as kio
    for path in sys.argv[1:]:
        print(json.dumps({"path": path, "start": True}), flush=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                kio.read(path)
                out = {"path": path, "outcome": "read"}
            except kio.ReadError as e:
                out = {"path": path, "outcome": "ReadError", "message": str(e)}
            except BaseException as e:
                out = {"path": path, "outcome": type(e).__name__, "message": str(e)}
        print(json.dumps(out), flush=True)
""")


def _cases(tmp_path: Path) -> list[Path]:
    out = []
    for f in FINDINGS:
        data = f.read_bytes()
        p = tmp_path / f"{f.name}{FORMATS[data[0] % len(FORMATS)]}"
        p.write_bytes(data[1:])
        out.append(p)
    return out


def test_findings_are_committed() -> None:
    names = {f.name for f in FINDINGS}
    assert {"c3d_ezc3d_12GB_oom", "h5_libhdf5_hang"} <= names
    assert {FORMATS[f.read_bytes()[0] % len(FORMATS)] for f in FINDINGS} == {".c3d", ".h5"}


def test_every_finding_is_a_read_error_in_process(tmp_path: Path) -> None:
    """All findings, read with plain ``kinemyo.io.read`` (no isolation): a ReadError each, fast."""
    pytest.importorskip("ezc3d")
    pytest.importorskip("h5py")
    cases = _cases(tmp_path)
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD, *map(str, cases)], capture_output=True, text=True,
                              timeout=120, check=False)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        started = [json.loads(line)["path"] for line in out.splitlines() if '"start"' in line]
        pytest.fail(f"reading hung on {started[-1] if started else '?'}")
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    starts = [r["path"] for r in lines if r.get("start")]
    results = {r["path"]: r for r in lines if not r.get("start")}
    assert done.returncode == 0, (f"the reading process died (status {done.returncode}) on {starts[-1]}: "
                                  f"{done.stderr[-2000:]}")
    for p in cases:
        r = results[str(p)]
        assert r["outcome"] == "ReadError", (p.name, r)
        assert p.name in r["message"], r["message"]


@pytest.mark.parametrize("name, expected", [
    ("c3d_ezc3d_12GB_oom", "description length byte of 136"),
    ("c3d_ezc3d_dims_hang", "declares 123 dimensions"),
    ("c3d_ezc3d_negative_ndims_segv", "dimension count of -75"),
    ("h5_libhdf5_hang", "free-space object of size 0"),
    ("h5_libhdf5_vlen_attr_segv", "datatype class 9"),
    ("h5_libhdf5_vlen_length_oom", "3758096384 elements claimed"),
    ("c3d_ezc3d_frame_wrap_oom", "frame count would wrap around"),
    ("c3d_ezc3d_negative_ratio_segv", "-1 rotation subframes per frame"),
])
def test_finding_reason(tmp_path: Path, name: str, expected: str) -> None:
    """The pre-checks say what is wrong (checked in-process: each of these is refused before the
    library sees the file, so reading them here is safe once the suite above passes)."""
    pytest.importorskip("ezc3d")
    pytest.importorskip("h5py")
    (p,) = [c for c in _cases(tmp_path) if c.name.startswith(name + ".")]
    with pytest.raises(kio.ReadError, match=expected):
        kio.read(p)


def _write_c3d(path: Path, n_frames: int = 12) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("io_helpers", ROOT / "tests" / "test_io_formats.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rng = np.random.default_rng(1)
    mod.write_c3d(path, rng.standard_normal((n_frames, 3, 3)), 100.0, ["L1", "L3", "T12"],
                  rng.standard_normal((4 * n_frames, 2)), 400.0, ["EMG1", "EMG2"], ["V", "V"])


def test_valid_files_pass_the_pre_checks(tmp_path: Path) -> None:
    """Files written by kinemyo and by ezc3d read back unchanged through the pre-checks."""
    pytest.importorskip("ezc3d")
    pytest.importorskip("h5py")
    _write_c3d(tmp_path / "a.c3d")
    rec = kio.read(tmp_path / "a.c3d")
    assert rec["points"].n_samples == 12 and rec["analogs"].n_samples == 48
    rng = np.random.default_rng(2)
    big_meta = {"note": "x" * 40_000}  # over the 32-kB attribute limit: a string dataset
    src = kio.Recording({"emg": kio.Stream(rng.standard_normal((5000, 4)), 2000.0, units="mV",
                                           metadata=big_meta)}, metadata=big_meta)
    for comp in (None, "gzip"):
        kio.write_hdf5(src, tmp_path / f"a{comp}.h5", compression=comp)
        back = kio.read(tmp_path / f"a{comp}.h5")
        np.testing.assert_array_equal(back["emg"].data, src["emg"].data)
        assert back.metadata == big_meta and back["emg"].metadata == big_meta


def test_truncated_hdf5_dataset_bound(tmp_path: Path) -> None:
    """A dataset that declares more bytes than the file could hold even compressed is refused
    before h5py allocates it."""
    h5py = pytest.importorskip("h5py")
    p = tmp_path / "huge.h5"
    kio.write_hdf5(kio.Recording({"emg": kio.Stream(np.zeros((10, 1)), 100.0)}), p)
    with h5py.File(p, "a") as f:
        g = f["streams/emg"]
        del g["data"]
        g.create_dataset("data", shape=(2**31, 8), dtype="f8", chunks=(1024, 8), compression="gzip")
    with pytest.raises(kio.ReadError, match=r"more than a \d+-byte file can hold"):
        kio.read(p)


def test_read_isolated(tmp_path: Path) -> None:
    """``isolate=True`` reads in a child interpreter: same recording; a stall or a crash of the
    reader (here forced by a tiny time or memory limit) is a ReadError naming the file."""
    pytest.importorskip("h5py")
    rng = np.random.default_rng(3)
    src = kio.Recording({"emg": kio.Stream(rng.standard_normal((300, 2)), 1000.0, channel_names=["a", "b"])})
    kio.write_hdf5(src, tmp_path / "ok.h5")
    back = kio.read(tmp_path / "ok.h5", isolate=True, timeout=60)
    np.testing.assert_array_equal(back["emg"].data, src["emg"].data)
    assert back["emg"].channel_names == ("a", "b") or list(back["emg"].channel_names) == ["a", "b"]
    with pytest.raises(kio.ReadError, match=r"ok\.h5: the reader did not finish within 0\.01 s"):
        kio.read(tmp_path / "ok.h5", isolate=True, timeout=0.01)
    with pytest.raises(kio.ReadError, match=r"ok\.h5: (the reader crashed|the reader ran out of memory|MemoryError)"):
        kio.read(tmp_path / "ok.h5", isolate=True, memory_mb=40)
    with pytest.raises(kio.ReadError, match=r"nope\.h5: no such file"):
        kio.read(tmp_path / "nope.h5", isolate=True)
    (tmp_path / "bad.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(kio.ReadError, match=r"bad\.h5: not a readable HDF5 file"):
        kio.read(tmp_path / "bad.h5", isolate=True)
    with pytest.raises(TypeError, match="isolate=True only"):
        kio.read(tmp_path / "ok.h5", timeout=5)

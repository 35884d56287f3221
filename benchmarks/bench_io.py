"""kinemyo.io: read/write speed per format and alignment, with numpy peers where one exists.

One minute of a session: 8 EMG channels at 2 kHz and a 6-channel IMU at 100 Hz (float64). Every
benchmark checks its result. Run: ``python -m pytest benchmarks/bench_io.py``; the figures for a
10-minute session in docs/io.md come from ``python benchmarks/bench_io.py``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from kinemyo import io

SECONDS = 60.0


def session(seconds: float = SECONDS) -> io.Recording:
    rng = np.random.default_rng(0)
    return io.Recording({
        "emg": io.Stream(rng.standard_normal((int(seconds * 2000), 8)), 2000.0, units="mV"),
        "imu": io.Stream(rng.standard_normal((int(seconds * 100), 6)), 100.0, units="rad/s"),
    })


@pytest.fixture(scope="module")
def rec() -> io.Recording:
    return session()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench_io")


@pytest.mark.benchmark(group="io write 1 min session")
@pytest.mark.parametrize("ext", [".h5", ".parquet", ".csv"])
def test_write(benchmark, rec: io.Recording, folder: Path, ext: str) -> None:
    pytest.importorskip({".h5": "h5py", ".parquet": "pyarrow", ".csv": "csv"}[ext])
    files = benchmark(io.write, rec, folder / f"w{ext}")
    assert all(Path(f).exists() for f in files)


@pytest.mark.benchmark(group="io read 1 min EMG")
@pytest.mark.parametrize("impl", ["kinemyo-h5", "kinemyo-parquet", "kinemyo-csv", "numpy-loadtxt-csv"])
def test_read(benchmark, rec: io.Recording, folder: Path, impl: str) -> None:
    emg = io.Recording({"emg": rec["emg"]})
    ext = {"kinemyo-h5": ".h5", "kinemyo-parquet": ".parquet"}.get(impl, ".csv")
    pytest.importorskip({".h5": "h5py", ".parquet": "pyarrow", ".csv": "csv"}[ext])
    path = folder / f"r{ext}"
    if not path.exists():
        io.write(emg, path)
    if impl == "numpy-loadtxt-csv":
        x = benchmark(np.loadtxt, path, delimiter=",", skiprows=1)[:, 1:]
    else:
        out = benchmark(io.read, path)
        x = next(iter(out.values())).data
    np.testing.assert_array_equal(x, rec["emg"].data)


def _interp_loop(s: io.Stream, t: np.ndarray) -> np.ndarray:
    return np.column_stack([np.interp(t, s.time, s.data[:, i], left=np.nan, right=np.nan)
                            for i in range(s.n_channels)])


@pytest.mark.benchmark(group="io align IMU onto EMG, 1 min")
@pytest.mark.parametrize("impl", ["kinemyo-align", "numpy-interp-per-channel"])
def test_align(benchmark, rec: io.Recording, impl: str) -> None:
    t = rec["emg"].time
    if impl == "kinemyo-align":
        y = benchmark(io.align, rec, "emg", max_gap=None)["imu"].data
    else:
        y = benchmark(_interp_loop, rec["imu"], t)
    np.testing.assert_allclose(y, _interp_loop(rec["imu"], t), rtol=1e-12, atol=1e-12)


def _main(seconds: float = 600.0) -> None:  # pragma: no cover - the docs/io.md table
    rec = session(seconds)
    folder = tempfile.mkdtemp()

    def med(f, n):
        ts = []
        for _ in range(n):
            a = time.perf_counter()
            f()
            ts.append(time.perf_counter() - a)
        return float(np.median(ts))

    print(f"{seconds:g} s session: EMG 8 ch @ 2 kHz + IMU 6 ch @ 100 Hz, float64")
    for ext, n in ((".h5", 3), (".parquet", 3), (".csv", 1)):
        p = os.path.join(folder, "s" + ext)
        tw = med(lambda p=p: io.write(rec, p), n)
        files = io.write(rec, p)
        tr = med(lambda files=files: [io.read(f) for f in files], n)
        size = sum(os.path.getsize(f) for f in files) / 1e6
        print(f"{ext:9s} write {tw:6.2f} s  read {tr:6.2f} s  {size:7.1f} MB")
    print(f"align IMU onto EMG: {med(lambda: io.align(rec, 'emg'), 3):.3f} s")
    print(f"find_gaps: {med(lambda: io.find_gaps(rec), 3):.3f} s")


if __name__ == "__main__":  # pragma: no cover
    _main(float(sys.argv[1]) if len(sys.argv) > 1 else 600.0)

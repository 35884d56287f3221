"""Write the seed corpus of fuzz/fuzz_readers.py: one small, valid file of every format kinemyo
reads (CSV, TSV, EDF, BDF, C3D, XDF, HDF5, Parquet, kinemyo .npz), each prefixed with the format
byte the fuzz target uses. Run once (the output is committed); the fuzzer mutates these real
files.

    python fuzz/make_reader_seeds.py fuzz/corpus/readers
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzz_readers import FORMATS  # noqa: E402


def _test_helpers() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("io_helpers", ROOT / "tests" / "test_io_formats.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def seeds(tmp: Path) -> dict[str, list[bytes]]:
    from kinemyo import io as kio
    from kinemyo.pipeline.files import write_npz

    h = _test_helpers()
    rng = np.random.default_rng(0)
    n = 200
    t = np.arange(n) / 100.0
    emg = kio.Stream(rng.standard_normal((n, 2)), 100.0, channel_names=["EMG L", "EMG R"], units=["V", "V"])
    imu = kio.Stream(rng.standard_normal((n // 2, 3)), 50.0, channel_names=["gx", "gy", "gz"])
    rec = kio.Recording({"emg": emg, "imu": imu})
    out: dict[str, list[bytes]] = {k: [] for k in FORMATS}

    kio.write_csv(kio.Recording({"emg": emg}), tmp / "a.csv")
    out[".csv"].append((tmp / "a.csv").read_bytes())
    rows = "\n".join(f"{ti:.3f},{a:.4f},{b:.4f}" for ti, (a, b) in zip(t, rng.standard_normal((n, 2)), strict=True))
    out[".csv"].append(("time,acc_x [m/s^2],acc_y [m/s^2]\n" + rows + "\n").encode())
    out[".tsv"].append(out[".csv"][1].replace(b",", b"\t"))
    kio.write_edf(rec, tmp / "a.edf")
    out[".edf"].append((tmp / "a.edf").read_bytes())
    h.write_edf(tmp / "b.bdf", [rng.uniform(-1, 1, 50), rng.uniform(-1, 1, 10)], [50, 10], ["EMG", "Acc"],
                bdf=True, annotations=True)
    out[".bdf"].append((tmp / "b.bdf").read_bytes())
    h.write_c3d(tmp / "a.c3d", rng.standard_normal((10, 2, 3)), 100.0, ["L3", "T12"],
                rng.standard_normal((20, 2)), 200.0, ["EMG1", "EMG2"], ["V", "V"])
    out[".c3d"].append((tmp / "a.c3d").read_bytes())
    h.write_xdf(tmp / "a.xdf", [
        {"name": "emg", "type": "EMG", "srate": 100.0, "format": "float32", "labels": ["a", "b"],
         "units": ["V", "V"], "time": t[:20], "data": rng.standard_normal((20, 2))},
        {"name": "markers", "type": "Markers", "srate": 0.0, "format": "string", "labels": ["m"],
         "units": [""], "time": t[:3], "data": ["go", "stop", "x"]},
    ])
    out[".xdf"].append((tmp / "a.xdf").read_bytes())
    kio.write_hdf5(rec, tmp / "a.h5")
    out[".h5"].append((tmp / "a.h5").read_bytes())
    kio.write_parquet(kio.Recording({"emg": emg}), tmp / "a.parquet")
    out[".parquet"].append((tmp / "a.parquet").read_bytes())
    write_npz({"emg": types.SimpleNamespace(data=emg.data, fs=100.0, channel_names=["a", "b"])}, tmp / "a.npz")
    out[".npz"].append((tmp / "a.npz").read_bytes())
    return out


def main() -> None:
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "fuzz" / "corpus" / "readers")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        for ext, files in seeds(Path(d)).items():
            for data in files:
                case = bytes([FORMATS.index(ext)]) + data
                name = f"seed{ext.replace('.', '_')}_{hashlib.sha1(case).hexdigest()[:12]}"
                (dest / name).write_bytes(case)
                print(f"{name}: {len(case)} bytes")


if __name__ == "__main__":
    main()

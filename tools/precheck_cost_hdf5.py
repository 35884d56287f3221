"""Cost of read_hdf5's global heap pre-check (docs/reliability.md, "File readers").

Writes a 450-MB recording (6.25 M samples x 8 channels, float64) uncompressed and gzip-compressed
and times, median of 5: opening the file + locating the datasets' raw data + the heap walk (what
``read_hdf5`` adds), the whole ``kinemyo.io.read``, and the walk without skipping the raw data.

    python tools/precheck_cost_hdf5.py [folder]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from kinemyo import io
from kinemyo.io import _hdf5


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir())
    p = folder / "kinemyo-bench-precheck.h5"
    rec = io.Recording({"emg": io.Stream(np.random.default_rng(0).standard_normal((6_250_000, 8)), 2000.0)})
    try:
        for comp in (None, "gzip"):
            io.write_hdf5(rec, p, compression=comp)
            chk, rd, whole = [], [], []
            for _ in range(5):
                t = time.perf_counter()
                with h5py.File(p, "r") as f:
                    _hdf5._check_global_heaps(p, _hdf5._raw_extents(f, h5py))
                chk.append(time.perf_counter() - t)
                t = time.perf_counter()
                io.read(p)
                rd.append(time.perf_counter() - t)
                t = time.perf_counter()
                _hdf5._check_global_heaps(p)
                whole.append(time.perf_counter() - t)
            m = statistics.median
            print(f"{comp or 'uncompressed'}: {os.path.getsize(p) / 1e6:.0f} MB; pre-check {m(chk) * 1e3:.2f} ms; "
                  f"read {m(rd):.3f} s; walk over every byte {m(whole):.3f} s")
    finally:
        p.unlink(missing_ok=True)


if __name__ == "__main__":
    main()

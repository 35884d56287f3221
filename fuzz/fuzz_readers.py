"""Fuzz every file reader with atheris: mutated real files of every format kinemyo reads.

The first byte of a case picks the format (CSV, TSV, EDF, BDF, C3D, XDF, HDF5, Parquet, kinemyo
.npz), the rest is the file's content; the seed corpus (``fuzz/corpus/readers``, made by
``fuzz/make_reader_seeds.py``) holds one small valid file of each, so the fuzzer starts from real
files and mutates them. Reading must either succeed or raise the documented error: ``ReadError``
(a ``ValueError``) naming the file, for :func:`kinemyo.io.read`, and a ``ValueError`` naming the
file for :func:`kinemyo.pipeline.files.read_recording` (the batch's reader); a crash, a hang,
another exception or an error that does not name the file is a finding.

    python fuzz/fuzz_readers.py -max_total_time=45 -rss_limit_mb=2048 -timeout=20 fuzz/corpus/readers

``KINEMYO_FUZZ_SKIP=.csv,.tsv`` leaves formats out (comma-separated extensions), e.g. to spend a
local run on one format. CI fuzzes all nine. The reproducers of past findings are in
``fuzz/findings/`` (first byte = format index, the rest = the file; tests/test_reader_findings.py
reads each of them in-process).
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from pathlib import Path

import atheris

FORMATS = [".csv", ".tsv", ".edf", ".bdf", ".c3d", ".xdf", ".h5", ".parquet", ".npz"]

with atheris.instrument_imports(include=["kinemyo"]):
    from kinemyo import io as kio
    from kinemyo.pipeline.files import read_recording

SKIP = {e.strip() for e in os.environ.get("KINEMYO_FUZZ_SKIP", "").split(",") if e.strip()}
_DIR = Path(tempfile.mkdtemp(prefix="kinemyo-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))


class Finding(Exception):
    """An error that does not follow the documented contract."""


def one_input(data: bytes) -> None:
    if not data:
        return
    ext = FORMATS[data[0] % len(FORMATS)]
    if ext in SKIP:
        return
    path = _DIR / f"case{ext}"
    path.write_bytes(data[1:])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if ext == ".npz":
                read_recording(path)
            else:
                kio.read(path)
        except kio.ReadError as exc:
            if path.name not in str(exc):
                raise Finding(f"ReadError does not name the file: {exc}") from exc
        except ValueError as exc:
            if ext != ".npz":
                raise Finding(f"{type(exc).__name__} instead of ReadError: {exc}") from exc
            if path.name not in str(exc):
                raise Finding(f"error does not name the file: {exc}") from exc


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

"""Recorded sessions: one in-memory model, readers and writers for common formats, alignment.

A :class:`Recording` holds named :class:`Stream` objects (``rec["emg"]``, ``rec["imu_upper"]``),
each an ``(n_samples, n_channels)`` array with its sampling rate (Hz, or ``None`` when irregular),
timestamps (s), channel names and units. :func:`read` and :func:`write` pick the format from the
file extension:

==============  ============================  ========================  ======================
format          extensions                    library (extra)           read / write
==============  ============================  ========================  ======================
CSV / TSV       .csv .tsv .txt                csv module                :func:`read_csv` / :func:`write_csv`
EDF / BDF       .edf .bdf                     pyedflib (``io``)         :func:`read_edf` / :func:`write_edf`
C3D             .c3d                          ezc3d (``io``)            :func:`read_c3d`
XDF (LSL)       .xdf .xdfz                    pyxdf (``io``)            :func:`read_xdf`
HDF5            .h5 .hdf5 .hdf                h5py (``io``)             :func:`read_hdf5` / :func:`write_hdf5`
Parquet         .parquet .pq                  pyarrow (``parquet``)     :func:`read_parquet` / :func:`write_parquet`
JSON summary    .json                         json module               :func:`write_summary`
==============  ============================  ========================  ======================

Optional libraries are imported only when a file of their format is read or written; when one is
missing, :class:`MissingDependencyError` says which extra to install (``pip install kinemyo[io]``).
Every unreadable input raises :class:`ReadError` (a ``ValueError``) naming the file and the reason.
Every output is written atomically (temporary file in the same folder, then ``os.replace``).

:func:`align` puts streams of different rates on one time base; :func:`find_gaps` reports
drop-outs. The layout of kinemyo's HDF5 files and every reader option are in docs/io.md.

Examples
--------
>>> import numpy as np
>>> from kinemyo import io
>>> rec = io.Recording({"emg": io.Stream(np.zeros((4000, 2)), fs=2000.0, units="mV")})
>>> rec["emg"].duration
2.0
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._align import Gap, align, find_gaps, resample
from ._csv import read_csv, write_csv
from ._formats import read_c3d, read_edf, read_parquet, read_xdf, write_edf, write_parquet
from ._hdf5 import read_hdf5, write_hdf5
from ._model import MissingDependencyError, ReadError, Recording, Stream, WriteError, _jsonable
from ._util import atomic_path, check_input

__all__ = [
    "Gap",
    "MissingDependencyError",
    "ReadError",
    "Recording",
    "Stream",
    "WriteError",
    "align",
    "atomic_path",
    "find_gaps",
    "read",
    "read_c3d",
    "read_csv",
    "read_edf",
    "read_hdf5",
    "read_parquet",
    "read_xdf",
    "readers",
    "resample",
    "write",
    "write_csv",
    "write_edf",
    "write_hdf5",
    "write_parquet",
    "write_summary",
]

_READERS: dict[str, Callable[..., Recording]] = {
    ".csv": read_csv, ".tsv": read_csv, ".txt": read_csv,
    ".edf": read_edf, ".bdf": read_edf,
    ".c3d": read_c3d,
    ".xdf": read_xdf, ".xdfz": read_xdf,
    ".h5": read_hdf5, ".hdf5": read_hdf5, ".hdf": read_hdf5,
    ".parquet": read_parquet, ".pq": read_parquet,
}


def readers() -> dict[str, str]:
    """Extension -> reader function name, for every format :func:`read` knows."""
    return {ext: f.__name__ for ext, f in _READERS.items()}


def read(path: str | os.PathLike[str], *, isolate: bool = False, timeout: float | None = None,
         memory_mb: float | None = None, **options: Any) -> Recording:
    """Read a recording, choosing the reader from the file extension.

    ``options`` go to the reader (:func:`read_csv`, :func:`read_edf`, :func:`read_c3d`,
    :func:`read_xdf`, :func:`read_hdf5`, :func:`read_parquet`; see each for its options).

    The readers check what they can before the format's library parses a file (docs/reliability.md),
    but the libraries (ezc3d, libhdf5, pyedflib, ...) are native code that a crafted or corrupt file
    can still crash or stall. ``isolate=True`` reads in a child process instead, so that such a file
    costs a ``ReadError``, never the calling process.

    Parameters
    ----------
    isolate : bool
        Read in a separate process (spawned; about 0.5 s more per file for the start-up) under
        ``timeout`` and ``memory_mb``; a crash, a hang or an allocation over the limit of the reader
        becomes a :class:`ReadError`. Default: read in this process.
    timeout : float, optional
        With ``isolate``: wall-clock seconds before the child is ended (default 300).
    memory_mb : float, optional
        With ``isolate``: address-space limit of the child in MiB (POSIX ``RLIMIT_AS``; default half
        the physical memory).

    Raises
    ------
    ReadError
        Unknown extension, missing/empty/unreadable file, truncated or corrupt content, zero-length
        streams; with ``isolate`` also a reader that crashed, stalled or ran out of memory. The
        message names the file and the reason.
    MissingDependencyError
        The format's optional library is not installed (the message names the extra).
    """
    if isolate:
        from ._isolate import read_isolated

        return read_isolated(path, options, timeout=300.0 if timeout is None else timeout, memory_mb=memory_mb)
    if timeout is not None or memory_mb is not None:
        raise TypeError("timeout= and memory_mb= apply to isolate=True only")
    p = Path(path)
    ext = p.suffix.lower()
    reader = _READERS.get(ext)
    if reader is None:
        check_input(p)  # a missing file is reported as such first
        raise ReadError(p, f"unsupported file extension {p.suffix!r}; known: {sorted(_READERS)}")
    return reader(p, **options)


def write_summary(recording: Recording, path: str | os.PathLike[str], *, gaps: bool = True,
                  extra: dict[str, Any] | None = None) -> list[str]:
    """Write a JSON summary of a recording atomically: streams, rates, durations, channels, gaps.

    The document is ``recording.summary()`` plus ``"gaps"`` (a list of :class:`Gap` as dicts, when
    ``gaps``) plus the items of ``extra``. Non-finite numbers are written as ``null``.
    """
    doc = recording.summary()
    if gaps:
        doc["gaps"] = [g.to_dict() for g in find_gaps(recording)]
    if extra:
        doc.update(extra)
    text = json.dumps(_jsonable(doc), indent=2, allow_nan=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return [os.fspath(path)]


_WRITERS: dict[str, Callable[..., list[str]]] = {
    ".csv": write_csv, ".tsv": write_csv,
    ".h5": write_hdf5, ".hdf5": write_hdf5, ".hdf": write_hdf5,
    ".edf": write_edf, ".bdf": write_edf,
    ".parquet": write_parquet, ".pq": write_parquet,
    ".json": write_summary,
}


def write(recording: Recording, path: str | os.PathLike[str], **options: Any) -> list[str]:
    """Write a recording, choosing the writer from the extension; returns the files written.

    ``.h5``/``.hdf5`` -> :func:`write_hdf5` (everything, one file); ``.edf``/``.bdf`` ->
    :func:`write_edf` (everything, one file, quantised to 16/24 bits); ``.csv``/``.tsv`` ->
    :func:`write_csv` and ``.parquet`` -> :func:`write_parquet` (one file per stream when there
    are several); ``.json`` -> :func:`write_summary`. All atomic.
    """
    ext = Path(path).suffix.lower()
    writer = _WRITERS.get(ext)
    if writer is None:
        raise WriteError(path, f"unsupported output extension {Path(path).suffix!r}; known: {sorted(_WRITERS)}")
    if ext == ".tsv" and "delimiter" not in options:
        options["delimiter"] = "\t"
    return writer(recording, path, **options)

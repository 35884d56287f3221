"""CSV/TSV text files: a configurable reader for device exports and a writer (standard ``csv`` module)."""

from __future__ import annotations

import csv
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._model import ReadError, Recording, Stream, WriteError
from ._util import atomic_path, check_input

__all__ = ["infer_fs", "per_stream_paths", "read_csv", "write_csv"]

EXTENSIONS = (".csv", ".tsv", ".txt")
# "name [unit]" or "name (unit)"; the unit may hold one level of brackets or parentheses of its own
# ("EMG [mV (RMS)]"), and the name is the shortest that leaves such a unit at the end ("RA (x) [mV]":
# name "RA (x)"; "a [mV (RMS)]": unit "mV (RMS)", not "RMS")
_UNIT_RE = re.compile(r"^(.*?\S)\s+[\[(]((?:[^\[\]()]|\[[^\[\]()]*\]|\([^\[\]()]*\))*)[\])]$")
_TIME_NAMES = {"time", "t", "timestamp", "timestamps", "time_s", "seconds", "sec", "time_ms"}
_TIME_SCALE = {"s": 1.0, "sec": 1.0, "seconds": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "μs": 1e-6,
               "ns": 1e-9, "min": 60.0}


def _split_header(col: str) -> tuple[str, str]:
    """``"EMG1 [mV]"`` / ``"EMG1 (mV)"`` -> ``("EMG1", "mV")``; otherwise ``(col, "")``."""
    m = _UNIT_RE.match(col.strip())
    return (m.group(1).strip(), m.group(2).strip()) if m else (col.strip(), "")


def infer_fs(time: np.ndarray) -> float | None:
    """Nominal rate in Hz from timestamps that are uniform (99 % of intervals within 1 % of the
    median, no gaps counted), rounded to 9 significant digits; ``None`` when they are not."""
    if time.shape[0] < 3:
        return None
    d = np.diff(time)
    med = float(np.median(d))
    if not med > 0:
        return None
    if np.mean(np.abs(d - med) <= 0.01 * med) < 0.99:
        return None
    # a regular clock: the mean interval over the uninterrupted runs is more exact than the median
    ok = np.abs(d - med) <= 0.01 * med
    return float(f"{1.0 / float(np.mean(d[ok])):.9g}")


class _Table:
    """The parsed text: header, rows of strings, and column lookup by full or bare name."""

    def __init__(self, path: Path, header: list[str], rows: list[list[str]], first_line: int,
                 values: np.ndarray | None = None) -> None:
        self.path = path
        self.header = header
        self.rows = rows
        self.values = values  # the whole table as float64 when numpy could parse it in one go
        self.n_rows = len(rows) if values is None else int(values.shape[0])
        self.first_line = first_line
        self.bare = [_split_header(h) for h in header]
        self._index: dict[str, int] = {}
        for i, (h, _hb) in enumerate(zip(header, self.bare, strict=True)):
            self._index.setdefault(h.strip(), i)
        for i, (b, _) in enumerate(self.bare):
            self._index.setdefault(b, i)

    def index(self, col: str) -> int | None:
        return self._index.get(col.strip())

    def require(self, cols: Sequence[str], stream: str) -> list[int]:
        idx = [self.index(c) for c in cols]
        missing = [c for c, i in zip(cols, idx, strict=True) if i is None]
        if missing:
            raise ReadError(self.path, f"stream {stream!r}: missing column(s) {missing}; the file has {self.header}")
        return [i for i in idx if i is not None]

    def empty(self, k: int, cols: Sequence[int]) -> bool:
        """True when row ``k`` has only empty cells in columns ``cols``."""
        return self.values is None and all(not self.rows[k][i].strip() for i in cols)

    def column(self, i: int, n_rows: int) -> np.ndarray:
        """Column ``i`` of the first ``n_rows`` rows as float64; empty cells are NaN."""
        if self.values is not None:
            return self.values[:n_rows, i].copy()
        cells = np.array([r[i] for r in self.rows[:n_rows]], dtype=str)
        cells = np.char.strip(cells)
        empty = cells == ""
        out = np.full(n_rows, np.nan)
        try:
            out[~empty] = cells[~empty].astype(np.float64)
        except ValueError:
            for k, c in enumerate(cells.tolist()):
                if c:
                    try:
                        float(c)
                    except ValueError:
                        raise ReadError(self.path, f"non-numeric value {c!r} in column {self.header[i]!r} "
                                                   f"at line {self.first_line + k}") from None
            raise  # pragma: no cover - numpy and float() disagree
        return out


def _read_table(p: Path, delimiter: str | None, skip_rows: int, encoding: str) -> _Table:
    try:
        with open(p, newline="", encoding=encoding) as f:
            for _ in range(skip_rows):
                f.readline()
            pos = f.tell()
            sample = f.read(64 * 1024)
            f.seek(pos)
            if delimiter is None:
                try:
                    delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
                except csv.Error:
                    delimiter = "\t" if p.suffix.lower() == ".tsv" else ","
            reader = csv.reader(f, delimiter=delimiter)
            header = next(reader, None)
            values = None
            if header and any(h.strip() for h in header):
                # fast path: numpy's C parser, for the usual all-numeric, rectangular file; anything
                # else (empty cells, text, ragged rows) goes through the csv module below, which
                # tells the user where the problem is
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # "input contained no data"
                    try:
                        values = np.loadtxt(f, delimiter=delimiter, ndmin=2, dtype=np.float64, comments=None,
                                            quotechar='"')
                    except ValueError:
                        values = None
                if values is not None and (values.shape[0] == 0 or values.shape[1] != len(header)):
                    values = None
            if values is not None:
                rows = []
            else:
                f.seek(pos)
                reader = csv.reader(f, delimiter=delimiter)
                header = next(reader, None)
                rows = [r for r in reader if r and (r[0] or any(c.strip() for c in r))]
    except UnicodeDecodeError as e:
        raise ReadError(p, f"not a {encoding} text file: {e}") from None
    except csv.Error as e:
        raise ReadError(p, f"malformed CSV: {e}") from None
    except OSError as e:
        raise ReadError(p, f"cannot read: {e}") from None
    if not header or not any(h.strip() for h in header):
        raise ReadError(p, "no header row (column names) found")
    while header and not header[-1].strip():
        header.pop()  # a trailing delimiter after the last column name
    first = skip_rows + 2
    if values is not None:
        return _Table(p, header, [], first, values)
    for k, r in enumerate(rows):
        if len(r) != len(header):
            if len(r) > len(header) and all(not c.strip() for c in r[len(header):]):
                del r[len(header):]  # a trailing delimiter
            else:
                raise ReadError(p, f"line {first + k} has {len(r)} fields but the header has {len(header)} "
                                   "(truncated or malformed file?)")
    if not rows:
        raise ReadError(p, "no data rows (zero-length streams)")
    return _Table(p, header, rows, first)


def read_csv(path: str | os.PathLike[str], *,
             streams: Mapping[str, Sequence[str] | Mapping[str, Any]] | None = None,
             time_column: str | None = "auto",
             time_scale: float | None = None,
             fs: float | None = None,
             units: Mapping[str, str] | None = None,
             stream_name: str = "data",
             delimiter: str | None = None,
             skip_rows: int = 0,
             encoding: str = "utf-8-sig") -> Recording:
    """Read a CSV/TSV export into a :class:`Recording`.

    The first line (after ``skip_rows``) names the columns. A unit may follow a name in brackets or
    parentheses, separated by a space: ``"EMG1 [mV]"``, ``"Acc X (m/s^2)"``; columns can then be
    referred to as ``"EMG1 [mV]"`` or ``"EMG1"``. Empty cells are NaN (drop-outs); trailing empty
    cells of a stream are trimmed, so exports that put a low-rate sensor beside a high-rate one (the
    low-rate columns end early) read as two streams of their own lengths. Text in a numeric cell is an
    error naming the line and column.

    Parameters
    ----------
    path : path-like
        ``.csv``, ``.tsv`` or ``.txt`` file.
    streams : mapping, optional
        Stream name -> list of column names, or -> a dict with keys ``columns`` (list, required),
        ``time`` (its own time column, or None), ``fs`` (Hz), ``units`` (str or list),
        ``time_scale``. Default: one stream named ``stream_name`` with every non-time column.
    time_column : str or None
        Column with the timestamps; ``"auto"`` (default) takes the first column named like ``time``,
        ``t``, ``timestamp``, ``time_s``, ``seconds`` (case-insensitive, units allowed); ``None``
        means there is none and ``fs`` is required.
    time_scale : float, optional
        Seconds per time-column unit (``1e-3`` for milliseconds). Default: from the time column's
        unit (``s``, ``ms``, ``us``, ``ns``, ``min``), else 1.
    fs : float, optional
        Sampling rate in Hz. Without a time column the stream is ``t = arange(n) / fs``. With one,
        it is the nominal rate; when omitted it is inferred from uniform timestamps (see
        :func:`infer_fs`) and left ``None`` (irregular) otherwise.
    units : mapping, optional
        Column name -> unit, overriding units read from the header.
    stream_name : str
        Name of the single stream when ``streams`` is not given.
    delimiter : str, optional
        Field separator; default: sniffed among ``,`` ``;`` and tab.
    skip_rows : int
        Lines to skip before the header (device preambles).
    encoding : str
        Text encoding (default UTF-8, with or without a byte-order mark).

    Raises
    ------
    ReadError
        Missing/empty file, wrong extension, no header, no data rows, missing columns, non-numeric
        cells, rows with the wrong number of fields, bad timestamps.
    """
    p = check_input(path, EXTENSIONS)
    if skip_rows < 0:
        raise ValueError(f"skip_rows must be >= 0; got {skip_rows}")
    table = _read_table(p, delimiter, skip_rows, encoding)

    if time_column == "auto":
        time_column = next((h for h, (b, _) in zip(table.header, table.bare, strict=True)
                            if b.lower() in _TIME_NAMES or h.strip().lower() in _TIME_NAMES), None)
    if time_column is not None and table.index(time_column) is None:
        raise ReadError(p, f"missing time column {time_column!r}; the file has {table.header}")

    specs: dict[str, dict[str, Any]] = {}
    if streams is None:
        tcol = None if time_column is None else table.index(time_column)
        cols = [h for i, h in enumerate(table.header) if i != tcol]
        if not cols:
            raise ReadError(p, "no data columns besides the time column")
        specs[stream_name] = {"columns": cols}
    else:
        if not streams:
            raise ValueError("streams must name at least one stream")
        for name, spec in streams.items():
            if isinstance(spec, Mapping):
                unknown = set(spec) - {"columns", "time", "fs", "units", "time_scale"}
                if unknown:
                    raise ValueError(f"streams[{name!r}] has unknown key(s) {sorted(unknown)}; allowed: "
                                     "columns, time, fs, units, time_scale")
                if "columns" not in spec:
                    raise ValueError(f"streams[{name!r}] needs 'columns'")
                specs[name] = dict(spec)
            elif isinstance(spec, str):
                specs[name] = {"columns": [spec]}
            else:
                specs[name] = {"columns": list(spec)}

    rec = Recording(source=str(p), metadata={"format": "csv"})
    n_all = table.n_rows
    for name, spec in specs.items():
        cols = list(spec["columns"])
        if not cols:
            raise ValueError(f"streams[{name!r}] has no columns")
        idx = table.require(cols, name)
        tname = spec.get("time", time_column)
        tidx = None if tname is None else table.require([tname], name)[0]
        # trim the stream's trailing rows where all its cells are empty (multi-rate exports)
        own = idx + ([tidx] if tidx is not None else [])
        n = n_all
        while n > 0 and table.empty(n - 1, own):
            n -= 1
        if n == 0:
            raise ReadError(p, f"stream {name!r} has zero samples (its columns are empty)")
        data = np.column_stack([table.column(i, n) for i in idx])
        sfs = spec.get("fs", fs)
        time = None
        if tidx is not None:
            scale = spec.get("time_scale", time_scale)
            if scale is None:
                tunit = table.bare[tidx][1].lower()
                bare = table.bare[tidx][0].lower()
                scale = _TIME_SCALE.get(tunit, 1e-3 if bare == "time_ms" else 1.0)
            time = table.column(tidx, n) * float(scale)
            if np.any(np.isnan(time)):
                k = int(np.argmax(np.isnan(time)))
                raise ReadError(p, f"stream {name!r}: empty time cell in column {table.header[tidx]!r} "
                                   f"at line {table.first_line + k}")
            if sfs is None:
                sfs = infer_fs(time)
        elif sfs is None:
            raise ReadError(p, f"stream {name!r} has no time column; pass fs= (Hz) or time_column= "
                                  "(kinemyo info: --fs HZ or --time-column NAME; kinemyo process needs "
                                  "timestamps in the file: see docs/pipeline.md)")
        u = spec.get("units")
        if u is None:
            u = [(units or {}).get(c, (units or {}).get(table.bare[i][0], table.bare[i][1]))
                 for c, i in zip(cols, idx, strict=True)]
        try:
            s = Stream(data, sfs, time=time, channel_names=[table.bare[i][0] for i in idx], units=u)
        except (ValueError, TypeError) as e:
            raise ReadError(p, f"stream {name!r}: {e}") from None
        rec.add(name, s)
    return rec


def per_stream_paths(recording: Recording, path: str | os.PathLike[str],
                     stream: str | None) -> list[tuple[str, Path]]:
    """(stream, file) pairs: ``path`` itself for one stream, else ``<stem>.<stream><suffix>``."""
    target = Path(path)
    if stream is not None:
        recording[stream]
        return [(stream, target)]
    if len(recording) == 0:
        raise WriteError(target, "the recording has no streams")
    if len(recording) == 1:
        return [(next(iter(recording)), target)]
    bad = [n for n in recording if any(c in n for c in '/\\:*?"<>|') or n in (".", "..")]
    if bad:
        raise WriteError(target, f"stream name(s) {bad} cannot be part of a file name; rename them or pass stream=")
    return [(name, target.with_name(f"{target.stem}.{name}{target.suffix}")) for name in recording]


def _header_cell(path: str | os.PathLike[str], name: str, unit: str) -> str:
    if not unit:
        # a name that looks like "name (unit)" would be split on reading: mark the unit as empty
        return f"{name} []" if _UNIT_RE.match(name) else name
    cell = f"{name} [{unit}]"
    if _split_header(cell)[1] != unit.strip():
        raise WriteError(path, f"unit {unit!r} of channel {name!r} cannot be written in a CSV header "
                               "(unbalanced or more than one level of brackets or parentheses)")
    return cell


def write_csv(recording: Recording, path: str | os.PathLike[str], *, stream: str | None = None,
              delimiter: str = ",") -> list[str]:
    """Write stream(s) as CSV, atomically: a ``time [s]`` column, then one column per channel.

    Headers carry the units (``"EMG1 [mV]"``), which :func:`read_csv` reads back. Values are
    written with enough digits to round-trip exactly (17 significant digits for float64, 9 for
    float32); NaN as ``nan``. One stream goes to ``path``; several go to one file each, named
    ``<stem>.<stream><suffix>`` beside ``path`` (or pass ``stream=`` to write only one).

    Returns
    -------
    list of str
        The files written.
    """
    out: list[str] = []
    for name, target in per_stream_paths(recording, path, stream):
        s = recording[name]
        if "time" in s.channel_names:
            raise WriteError(target, f"stream {name!r} has a channel named 'time', which clashes with the time column")
        header = ["time [s]"] + [_header_cell(target, c, u) for c, u in zip(s.channel_names, s.units, strict=True)]
        dfmt = ".9g" if s.data.dtype == np.float32 else ".17g"
        with atomic_path(target) as tmp:
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                w = csv.writer(f, delimiter=delimiter, lineterminator="\n")
                w.writerow(header)
                block = 65536
                for a in range(0, s.n_samples, block):
                    t = s.time[a:a + block]
                    x = s.data[a:a + block]
                    lines = [delimiter.join([format(ti, ".17g")] + [format(v, dfmt) for v in row])
                             for ti, row in zip(t.tolist(), x.tolist(), strict=True)]
                    f.write("\n".join(lines) + "\n")
        out.append(str(target))
    return out


"""Readers for EDF/BDF (pyedflib), C3D (ezc3d) and XDF (pyxdf), and Parquet I/O (pyarrow).

Each reader lets the format's own library parse the file and only maps what it returns onto
:class:`~kinemyo.io.Recording`; every failure of the library becomes a :class:`ReadError` naming the
file and the reason.
"""

from __future__ import annotations

import gc
import json
import math
import mmap
import os
import struct
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._csv import infer_fs, per_stream_paths
from ._model import ReadError, Recording, Stream, WriteError, _jsonable
from ._util import atomic_path, check_input, require

__all__ = ["read_c3d", "read_edf", "read_parquet", "read_xdf", "write_edf", "write_parquet"]


def _unique(names: Sequence[str]) -> list[str]:
    """Make names unique by appending ``_2``, ``_3``, ... to repeats (empty names -> ``ch<i>``)."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        n = n.strip() or f"ch{i}"
        if n in seen:
            seen[n] += 1
            n = f"{n}_{seen[n]}"
        seen.setdefault(n, 1)
        out.append(n)
    return out


def _stream(p: os.PathLike[str] | str, name: str, *args: Any, **kw: Any) -> Stream:
    try:
        s = Stream(*args, **kw)
    except (ValueError, TypeError) as e:
        raise ReadError(p, f"stream {name!r}: {e}") from None
    if s.n_samples == 0:
        raise ReadError(p, f"stream {name!r} has zero samples")
    return s


# ------------------------------------------------------------------------------------------------ EDF
def read_edf(path: str | os.PathLike[str], *,
             streams: Mapping[str, Sequence[str]] | None = None,
             stream_name: str = "signals") -> Recording:
    """Read an EDF/EDF+/BDF/BDF+ file (pyedflib; ``kinemyo[io]``).

    Signals are read in physical units (the header's physical dimension becomes the unit). EDF
    allows a different rate per signal; a stream needs one rate, so signals are grouped by rate --
    unless every label follows kinemyo's convention ``<stream>:<channel>`` (what :func:`write_edf`
    writes) with one rate per stream: then the streams are those prefixes and the channels the rest.

    Parameters
    ----------
    path : path-like
        ``.edf`` or ``.bdf`` file.
    streams : mapping, optional
        Stream name -> list of signal labels (all of one rate). Default: one stream per distinct
        rate, named ``stream_name`` when there is one rate and ``<stream_name>_<rate>hz`` otherwise.
    stream_name : str
        Base name of the default streams.

    Notes
    -----
    Time 0 is the start of the recording; its date and time go into ``metadata["start_datetime"]``,
    the EDF+ annotations into ``metadata["annotations"]`` (onset and duration in s, text). Repeated
    labels get ``_2``, ``_3``, ... appended.
    """
    p = check_input(path, (".edf", ".bdf"))
    pyedflib = require("pyedflib", "reading EDF/BDF files", "io")
    try:
        f = pyedflib.EdfReader(str(p))
    except Exception as e:  # pyedflib raises OSError with the reason (truncated, not EDF, ...)
        raise ReadError(p, f"not a readable EDF/BDF file: {e}") from None
    try:
        n = f.signals_in_file
        labels = _unique([str(x) for x in f.getSignalLabels()])
        rates = [float(f.getSampleFrequency(i)) for i in range(n)]
        units = [str(f.getPhysicalDimension(i)).strip() for i in range(n)]
        signals = [np.asarray(f.readSignal(i), dtype=np.float64) for i in range(n)]
        try:
            onsets, durations, texts = f.readAnnotations()
            annotations = [{"onset_s": float(o), "duration_s": float(d), "text": str(t)}
                           for o, d, t in zip(onsets, durations, texts, strict=True)]
        except Exception:
            annotations = []
        header = {k: _jsonable(v) for k, v in f.getHeader().items()}
        start = f.getStartdatetime()
        file_type = "BDF" if p.suffix.lower() == ".bdf" else "EDF"
    except ReadError:
        raise
    except Exception as e:
        raise ReadError(p, f"corrupt EDF/BDF file: {e}") from None
    finally:
        f.close()
    if n == 0:
        raise ReadError(p, "the file has no signals")
    groups: dict[str, list[int]] = {}
    if streams is None:
        groups = _groups_from_labels(labels, rates)
    if streams is None and groups:
        labels = [lab.split(":", 1)[1].strip() for lab in labels]
    elif streams is None:
        distinct = sorted(set(rates), reverse=True)
        for r in distinct:
            name = stream_name if len(distinct) == 1 else f"{stream_name}_{r:g}hz"
            groups[name] = [i for i in range(n) if rates[i] == r]
    else:
        for name, labs in streams.items():
            idx = []
            for lab in ([labs] if isinstance(labs, str) else labs):
                if lab not in labels:
                    raise ReadError(p, f"stream {name!r}: no signal labelled {lab!r}; labels are {labels}")
                idx.append(labels.index(lab))
            if len({rates[i] for i in idx}) > 1:
                raise ReadError(p, f"stream {name!r}: signals {list(labs)} have different rates "
                                   f"{sorted({rates[i] for i in idx})} Hz; put them in separate streams")
            groups[name] = idx
    rec = Recording(source=str(p), metadata={"format": file_type.lower(), "start_datetime": str(start),
                                             "header": header, "annotations": annotations})
    for name, idx in groups.items():
        lens = {signals[i].shape[0] for i in idx}
        if len(lens) > 1:  # pragma: no cover - same rate means same length in EDF
            raise ReadError(p, f"stream {name!r}: signals of different lengths {sorted(lens)}")
        data = np.column_stack([signals[i] for i in idx])
        rec.add(name, _stream(p, name, data, rates[idx[0]], channel_names=[labels[i] for i in idx],
                              units=[units[i] for i in idx]))
    return rec


def _groups_from_labels(labels: Sequence[str], rates: Sequence[float]) -> dict[str, list[int]]:
    """kinemyo's label convention ``<stream>:<channel>`` (what :func:`write_edf` writes): one stream per
    prefix, in order of first appearance. Empty when any label does not follow it or a prefix mixes rates."""
    groups: dict[str, list[int]] = {}
    for i, lab in enumerate(labels):
        stream, sep, chan = lab.partition(":")
        if not sep or not stream.strip() or not chan.strip() or ":" in chan:
            return {}
        groups.setdefault(stream.strip(), []).append(i)
    if any(len({rates[i] for i in idx}) > 1 for idx in groups.values()):
        return {}
    return groups


def _edf_number(v: float) -> str:
    """``v`` as the plain decimal (no exponent) an EDF header field holds: what pyedflib writes."""
    return np.format_float_positional(v, trim="-")


def _edf_field(v: float) -> float | int:
    """A header bound as pyedflib should get it: whole numbers as int (pyedflib checks ``str(v)``,
    which would add ".0" to a bound that fills the 8 characters)."""
    return int(v) if float(v).is_integer() else v


def _edf_bounds(lo: float, hi: float) -> tuple[float, float]:
    """Physical minimum and maximum for the 8-character EDF header fields: ``[lo, hi]`` rounded outward
    to three significant digits of the larger magnitude (two or one when three do not fit in 8
    characters as a plain decimal, e.g. -0.000195), so no sample is clipped by the rounding and the
    header holds exactly the values the samples were scaled with.

    Raises ValueError when even one significant digit or a whole number does not fit (below
    about -9,999,999 or above 99,999,999, or negative values smaller in magnitude than 1e-5): the
    signal must be written in another unit.
    """
    m = max(abs(lo), abs(hi))
    if m == 0.0:
        return -1.0, 1.0
    e = int(np.floor(np.log10(m)))
    candidates = []
    for digits in (3, 2, 1):
        nd = digits - 1 - e  # decimals of the rounding step 10^-nd
        step = 10.0 ** -nd
        # (lo / step and hi / step rounded to 9 digits first: 1e-5 / 1e-7 is 100.00000000000001,
        # whose ceiling would widen the range by a step)
        plo = round(float(np.floor(round(lo / step, 9))) * step, nd)
        phi = round(float(np.ceil(round(hi / step, 9))) * step, nd)
        if phi <= plo:
            phi = round(plo + step, nd)
        candidates.append((plo, phi))
    # whole numbers as the last resort for large values (-9,999,999 fits where -10,000,000 does
    # not); never for small ones, whose resolution they would destroy
    if m >= 1e3:
        candidates.append((float(np.floor(lo)), float(max(np.ceil(hi), np.floor(lo) + 1.0))))
    for plo, phi in candidates:
        if len(_edf_number(plo)) <= 8 and len(_edf_number(phi)) <= 8:
            return plo, phi
    raise ValueError(f"values from {lo:.6g} to {hi:.6g} do not fit the 8-character EDF header fields (about "
                     "-9,999,999 to 99,999,999, and magnitudes of at least 1e-5 for negative values)")


#: micro signs EDF headers cannot hold, and the ASCII letter every EDF reader takes for them
_MICRO = str.maketrans({"\u00b5": "u", "\u03bc": "u"})


def _edf_unit(unit: str) -> str:
    """A unit as the EDF header can hold it: the micro sign (U+00B5 or Greek mu, U+03BC) as ``u``
    (``µV`` -> ``uV``, the spelling EDF files use and :meth:`Stream.to_mne` scales)."""
    return unit.translate(_MICRO)


def _edf_ascii(path: str | os.PathLike[str], text: str, field: str) -> None:
    """EDF header fields hold printable ASCII only (edflib writes each byte of any other character
    as a character of its own: ``Mültifidus`` became ``MA ltifidus``): refuse anything else."""
    bad = sorted({ch for ch in text if not " " <= ch <= "~"})
    if bad:
        raise WriteError(path, f"{field} holds {', '.join(repr(ch) for ch in bad)}: EDF header fields hold "
                               "printable ASCII only; rename it (e.g. 'u' for the micro sign, 'deg' for "
                               "'\u00b0', '^2' for '\u00b2')")


def _edf_notes(path: str | os.PathLike[str], notes: Sequence[Mapping[str, Any]], t0: float,
               duration: float) -> list[tuple[float, float, str]]:
    """Annotations (onset and duration in s on the recording's time axis) moved to the file's axis,
    whose 0 is the first sample at ``t0``: ``(onset - t0, duration, text)``. A note that starts
    before ``t0`` but lasts into the file starts at 0 with what is left of it; notes wholly outside
    ``[t0, t0 + duration]`` (a cropped recording keeps its metadata) are left out with a warning."""
    out: list[tuple[float, float, str]] = []
    left_out = 0
    for a in notes:
        try:
            on = float(a["onset_s"])
            d = a.get("duration_s", -1.0)
            dur = -1.0 if d is None else float(d)
            text = str(a["text"])
        except (KeyError, TypeError, ValueError) as e:
            raise WriteError(path, f"annotation {a!r} is not a mapping with onset_s, duration_s and "
                                   f"text: {e}") from None
        if not np.isfinite(on) or not np.isfinite(dur):
            raise WriteError(path, f"annotation {a!r} has a non-finite onset or duration")
        end = on + max(dur, 0.0)
        # (a note that ends exactly at t0 does not last into the file)
        if end < t0 or (dur > 0 and end <= t0) or on > t0 + duration:
            left_out += 1
            continue
        if on < t0:
            dur, on = end - t0, t0
        out.append((on - t0, dur, text))
    if left_out:
        warnings.warn(f"{path}: {left_out} annotation(s) outside the recorded time "
                      f"[{t0:g}, {t0 + duration:g}] s were not written", UserWarning, stacklevel=3)
    return out


#: edflib writes at most this many bytes of an annotation's text (EDFLIB_WRITE_MAX_ANNOTATION_LEN)
_EDF_NOTE_BYTES = 40


def _edf_note_texts(notes: list[tuple[float, float, str]]) -> tuple[list[tuple[float, float, str]], int]:
    """Annotation texts cut to the bytes edflib writes, on a character boundary (edflib cuts the
    UTF-8 bytes wherever the limit falls, and a split character makes readers decode the whole
    text as Latin-1); returns the notes and how many were cut."""
    out: list[tuple[float, float, str]] = []
    cut = 0
    for on, dur, text in notes:
        raw = text.encode("utf-8")
        if len(raw) > _EDF_NOTE_BYTES:
            text = raw[:_EDF_NOTE_BYTES].decode("utf-8", "ignore")
            cut += 1
        out.append((on, dur, text))
    return out, cut


def write_edf(recording: Recording, path: str | os.PathLike[str], *, record_duration: float = 1.0,
              annotations: Sequence[Mapping[str, Any]] | None = None,
              start: Any = None) -> list[str]:
    """Write a recording to EDF+ (16-bit) or BDF+ (24-bit, ``.bdf``) with pyedflib, atomically.

    Each channel becomes one EDF signal labelled ``<stream>:<channel>`` (at most 16 characters, the
    format's limit), so :func:`read_edf` gives back the same streams and channel names. Labels and
    units must be printable ASCII, as EDF header fields are; the micro sign in a unit (``µ``, U+00B5,
    or Greek ``μ``, U+03BC) is written as ``u`` (``µV`` -> ``uV``). Every channel
    is quantised over its own range: the physical minimum and maximum are the channel's extremes
    rounded outward to three significant digits (fewer when the 8-character header field needs it,
    e.g. -0.0002 for -0.000195), so the quantisation step is about 1/65,000 (EDF) or 1/16,000,000
    (BDF) of the channel's range and nothing is clipped.

    Parameters
    ----------
    recording : Recording
        Regular streams (``fs`` set) that start at the same time and last the same whole number of
        data records.
    path : path-like
        ``.edf`` or ``.bdf`` file; replaced atomically if it exists.
    record_duration : float
        Duration of one EDF data record in s; ``fs * record_duration`` must be an integer for every
        stream.
    annotations : sequence of mappings, optional
        EDF+ annotations (``onset_s``, ``duration_s`` (``-1`` or absent: none), ``text``). Default: the
        recording's ``metadata["annotations"]`` (what :func:`read_edf` fills in). Texts are UTF-8;
        edflib writes at most 40 bytes of each: longer ones are cut there (on a character boundary)
        with a ``UserWarning`` saying how many were.
    start : datetime.datetime, optional
        Date and time of the recording's time 0 (default: 2000-01-01 00:00:00, so that the same
        recording always gives the same bytes). The header gets the date and time of the first
        sample, ``start`` + the streams' start, to the second (EDF's resolution); the file's time 0
        is that first sample, and annotations are moved onto that axis (onset − start of the
        streams; notes wholly outside the recorded time are left out with a ``UserWarning``).

    Raises
    ------
    WriteError
        Non-finite samples, irregular streams, streams of different start or duration, a duration
        that is not a whole number of records, labels or units too long for the format or not
        printable ASCII (other than the micro sign in a unit), values too
        small or too large for the header fields in their unit (negative values of magnitude
        below 1e-5, values below -9,999,999 or above 99,999,999), malformed annotations, more
        annotations than the file can hold (64 per data record).
    """
    import datetime

    target = os.fspath(path)
    ext = os.path.splitext(target)[1].lower()
    if ext not in (".edf", ".bdf"):
        raise WriteError(path, f"EDF/BDF files end with .edf or .bdf, not {ext!r}")
    pyedflib = require("pyedflib", "writing EDF/BDF files", "io")
    bdf = ext == ".bdf"
    if len(recording) == 0:
        raise WriteError(path, "the recording has no streams")
    headers: list[dict[str, Any]] = []
    signals: list[np.ndarray] = []
    n_records: int | None = None
    t0: float | None = None
    for name in recording:
        s = recording[name]
        if s.fs is None:
            raise WriteError(path, f"stream {name!r} is irregular; EDF holds regularly sampled signals only")
        if s.n_samples and np.abs(s.time - (s.start + np.arange(s.n_samples) / s.fs)).max() > 0.5 / s.fs:
            raise WriteError(path, f"stream {name!r} has gaps in its timestamps, which EDF cannot hold; "
                                   "fill or split it first (see kinemyo.io.find_gaps)")
        spr = s.fs * record_duration
        if abs(spr - round(spr)) > 1e-9 or round(spr) < 1:
            raise WriteError(path, f"stream {name!r}: {s.fs:g} Hz x record_duration {record_duration:g} s is "
                                   "not a whole number of samples; choose another record_duration")
        spr = round(spr)
        if s.n_samples % spr:
            raise WriteError(path, f"stream {name!r}: {s.n_samples} samples are not a whole number of "
                                   f"{record_duration:g}-s records ({spr} samples each); crop or pad it first")
        if n_records is None:
            n_records, t0 = s.n_samples // spr, s.start
        elif s.n_samples // spr != n_records or abs(s.start - (t0 or 0.0)) > 0.5 / s.fs:
            raise WriteError(path, f"stream {name!r} does not cover the same time as the first stream; EDF "
                                   "signals share one start and one number of records")
        data = np.asarray(s.data, dtype=np.float64)
        if not np.isfinite(data).all():
            raise WriteError(path, f"stream {name!r} has NaN or infinite samples, which EDF cannot hold")
        for c, chan in enumerate(s.channel_names):
            label = f"{name}:{chan}"
            _edf_ascii(path, label, f"label {label!r} (stream and channel name)")
            if len(label.encode("ascii")) > 16:
                raise WriteError(path, f"label {label!r} is longer than the 16 characters EDF allows; "
                                       "rename the stream or the channel")
            unit = _edf_unit(s.units[c] if c < len(s.units) else "")
            _edf_ascii(path, unit, f"unit {unit!r} of {label!r}")
            if len(unit.encode("ascii")) > 8:
                raise WriteError(path, f"unit {unit!r} of {label!r} is longer than the 8 characters EDF allows")
            col = data[:, c]
            try:
                lo, hi = _edf_bounds(float(col.min()), float(col.max()))
            except ValueError as e:
                raise WriteError(path, f"channel {label!r}: {e} (unit {unit!r}); write it in another unit "
                                       "(e.g. uV instead of V, kPa instead of Pa)") from None
            dmax = 8388607 if bdf else 32767
            headers.append({"label": label, "dimension": unit, "sample_frequency": float(s.fs),
                            "physical_min": _edf_field(lo), "physical_max": _edf_field(hi), "digital_min": -dmax - 1,
                            "digital_max": dmax, "transducer": "", "prefilter": ""})
            signals.append(np.ascontiguousarray(col))
    notes = _edf_notes(path, recording.metadata.get("annotations", []) if annotations is None else annotations,
                       t0 or 0.0, (n_records or 0) * record_duration)
    if len(notes) > 64 * max(n_records or 1, 1):
        raise WriteError(path, f"{len(notes)} annotations do not fit {n_records} data records (at most 64 each); "
                               "use a shorter record_duration")
    notes, cut = _edf_note_texts(notes)
    if cut:
        warnings.warn(f"{path}: {cut} annotation text(s) longer than the {_EDF_NOTE_BYTES} bytes (UTF-8) "
                      f"edflib writes were cut to {_EDF_NOTE_BYTES} bytes", UserWarning, stacklevel=2)
    with atomic_path(target) as tmp:
        ftype = pyedflib.FILETYPE_BDFPLUS if bdf else pyedflib.FILETYPE_EDFPLUS
        try:
            w = pyedflib.EdfWriter(str(tmp), len(signals), file_type=ftype)
            try:
                w.setSignalHeaders(headers)
                if record_duration != 1.0:  # pyedflib's default; it warns about rounding, checked above
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", UserWarning)
                        w.setDatarecordDuration(record_duration)
                # EDF's time 0 is the first sample, t0 on the recording's axis (whole seconds in the header)
                t_first = (start if start is not None else datetime.datetime(2000, 1, 1)) + \
                    datetime.timedelta(seconds=float(t0 or 0.0))
                w.setStartdatetime(t_first.replace(microsecond=0))
                # edflib keeps one annotation per data record and annotation signal: enough signals
                # for all of them (it silently dropped the rest; review)
                if notes:
                    w.set_number_of_annotation_signals(min(64, -(-len(notes) // max(n_records or 1, 1))))
                for onset_s, dur, text in notes:
                    w.writeAnnotation(onset_s, dur, text)
                w.writeSamples(signals)
            finally:
                w.close()
        except WriteError:
            raise
        except Exception as e:
            raise WriteError(path, f"pyedflib could not write the file: {e}") from None
    return [target]


# ------------------------------------------------------------------------------------------------ C3D
def _c3d_header_frames(path: os.PathLike[str] | str, n_points: int) -> int | None:
    """Frame count the C3D header promises (words 4-5 of the 512-byte header), or None if unknown.

    ezc3d parses the file but, on a truncated file, quietly returns the frames it could read and
    rewrites its header copy to match; this reads the original two words to catch that. The byte
    order is the one for which word 2 equals the point count ezc3d found. Files with 65535 frames or
    more keep the real count elsewhere and are not checked.
    """
    with open(path, "rb") as f:
        head = f.read(10)
    if len(head) < 10:
        return None
    for order in "<>":
        _, _, pts, _, first, last = struct.unpack(order + "BBHHHH", head)
        if pts == n_points:
            if last >= 65535 or last < first:
                return None
            return last - first + 1
    return None


def _big(n: int) -> str:
    """An integer for a message: exact up to 15 digits, else its order of magnitude."""
    return str(n) if n < 10**15 else f"~10^{len(str(n)) - 1}"


def _c3d_precheck(path: os.PathLike[str] | str) -> None:
    """Refuse a C3D file whose declared sizes would make ezc3d crash, hang or allocate gigabytes.

    ezc3d (1.7) trusts the sizes and counts a C3D file declares. The first fuzzing finding,
    ``fuzz/findings/c3d_ezc3d_12GB_oom``, is a 2-kB file with one byte inserted in the parameter
    section: a description-length byte of 0x88 (136), which ezc3d reads as a signed byte (-120)
    and then as an unsigned count, 4,294,967,176 characters, so it allocates and fills ~12 GB before
    failing. This walks the header and the parameter records the way ezc3d does (layout from the
    C3D file format user guide, c3d.org: a 512-byte header whose first byte is the block number of
    the parameter section; records of name length, group id, name, 2-byte offset to the next record,
    then for a parameter type, dimension count, dimensions, data; then description length and
    description) and raises :class:`ReadError` for what no valid file contains and ezc3d would turn
    into a crash, a hang or a huge allocation (each rule from a finding in ``fuzz/findings/``):

    * a description length of 128-255 (negative for ezc3d, then a 4-GB count);
    * a negative dimension count, or text (type -1) with none (an empty dimension list: segfault);
    * parameter data beyond the end of the file, or dimensions whose non-zero sizes multiply to more
      than the file's size in bytes (ezc3d loops over them even when a zero dimension leaves no
      data: empty strings, or a hang);
    * records that run past the end of the file (ezc3d reads garbage lengths from the failed
      stream);
    * a data section, as the header declares it, that does not fit in the file (truncated);
    * scalar parameters ezc3d reads as ``values[0]`` without a check, present with no value;
    * analog channels without enough ``ANALOG:SCALE``/``OFFSET`` values (indexed unchecked);
    * an impossible ``ROTATION`` subframe ratio or rotation block (see :func:`_c3d_check_rotations`).

    Everything else is left to ezc3d, which reports it. Reads the header and the parameter records
    only (microseconds).
    """
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < 512:
            raise ReadError(path, f"not a readable C3D file (truncated?): {size} bytes, less than the "
                                  "512-byte header")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            # ezc3d skips zero bytes before the header (some writers pad the file's start)
            zeros = len(buf[:65536]) - len(buf[:65536].lstrip(b"\0"))
            head = bytes(buf[zeros:zeros + 512])
            if len(head) < 512:
                return  # ezc3d reports it
            proc, counts = _c3d_walk_parameters(path, buf, head, zeros, size)
    _c3d_check_scalars(path, counts)
    _c3d_check_data_size(path, head, proc, zeros, size, counts)
    _c3d_check_analog_info(path, head, proc, counts)
    _c3d_check_rotations(path, head, proc, zeros, size, counts)


def _c3d_walk_parameters(path: os.PathLike[str] | str, sect: Any, head: bytes, zeros: int,
                         size: int) -> tuple[int, dict[str, float]]:
    """Walk the parameter records as ezc3d does (see :func:`_c3d_precheck`).

    Returns the processor type and the number of values of each parameter, ``"GROUP:NAME"`` (a
    later record of the same name replaces an earlier one, as in ezc3d), ``"GROUP:"`` for each
    group and ``"=GROUP:NAME"`` for the first value of each numeric parameter.
    """
    pblock = head[0]
    base = zeros + (pblock - 1) * 512  # ezc3d follows the records up to the end of the file
    groups: dict[int, str] = {}
    values: dict[tuple[int, str], int] = {}
    first: dict[tuple[int, str], float] = {}
    if pblock < 2 or base + 4 > size:
        return 84, {}  # ezc3d reports a parameter section it cannot find
    # the section's first two bytes (first record, 0x50 key) are ignored by ezc3d 1.7: the records
    # start right after the 4-byte section header
    proc = sect[base + 3]
    w = ">H" if proc == 86 else "<H"  # 84 Intel, 85 DEC: little-endian words; 86 MIPS: big-endian
    n = size
    pos = nxt = base + 4
    bad = "not a readable C3D file (corrupt parameter section)"
    # ezc3d reads on past the end of the file (a failed stream yields garbage lengths): a chain of
    # records that is not closed inside the file is refused as truncated
    short = f"{bad}: the parameter records run past the end of the {size}-byte file (truncated?)"
    while nxt:  # each record starts where the last one ended, so pos grows: the walk ends
        if pos != nxt:
            break  # ezc3d stops here ("Bad c3d formatting")
        if pos + 2 > n:
            raise ReadError(path, short)
        nch = struct.unpack_from("b", sect, pos)[0]
        if nch == 0:
            break
        gid = struct.unpack_from("b", sect, pos + 1)[0]
        q = pos + 2 + abs(nch)
        if q + 2 > n:
            raise ReadError(path, short)
        off = struct.unpack_from(w, sect, q)[0]
        nxt = 0 if off == 0 else q + off
        q += 2
        name = bytes(sect[pos + 2:pos + 2 + abs(nch)]).decode("latin-1")
        if gid >= 0 and q + 2 > n:
            raise ReadError(path, short)
        if gid >= 0:  # a parameter: type, dimensions, data
            typ = struct.unpack_from("b", sect, q)[0]
            nd = struct.unpack_from("b", sect, q + 1)[0]
            if typ not in (-1, 1, 2, 4):
                break  # ezc3d: "Parameter type unrecognized"
            if nd < 0 or (nd == 0 and typ == -1):
                raise ReadError(path, f"{bad}: parameter {name!r} (group {gid}) at byte {pos} has "
                                      f"{'a dimension count of ' + str(nd) if nd < 0 else 'text with no dimension'}"
                                      " (ezc3d would crash on it)")
            q += 2
            if q + nd > n:
                raise ReadError(path, short)
            dims = list(bytes(sect[q:q + nd]))
            q += nd
            if nd == 0:
                dims = [1]
            nbytes = math.prod(dims) * abs(typ)
            # ezc3d loops over every index of the dimensions before a zero one, so [0, 2] costs 2
            # (empty strings) and [123] * 110 + [0] forever: bound the product of the non-zero ones
            loops = math.prod(d for d in dims if d)
            if nbytes > size - q or loops > size:
                raise ReadError(path, f"{bad}: parameter {name!r} (group {gid}) at byte {pos} declares "
                                      f"{len(dims)} dimensions {dims[:8]}{'...' if len(dims) > 8 else ''} "
                                      f"({_big(nbytes)} bytes, {_big(loops)} values), more than the "
                                      f"{size}-byte file holds")
            key = (gid, name)  # exact: ezc3d compares names as stored (a "SCALe" is not its "SCALE")
            values[key] = (math.prod(dims[1:]) if dims else 0) if typ == -1 else math.prod(dims)
            if typ in (1, 2, 4) and nbytes >= typ:  # first value of a numeric parameter (USED, RATE, ...)
                first[key] = (sect[q] if typ == 1 else struct.unpack_from(w.replace("H", "h" if typ == 2 else "f"),
                                                                          sect, q)[0])
            q += nbytes
        elif gid < 0:
            groups[-gid] = name
        if q >= n:
            raise ReadError(path, short)
        ndesc = struct.unpack_from("b", sect, q)[0]
        if ndesc < 0:
            kind = "group" if gid < 0 else "parameter"
            raise ReadError(path, f"{bad}: {kind} {name!r} at byte {pos} has a description length byte of "
                                  f"{ndesc & 0xFF} (over 127: ezc3d would try to allocate 4 GB)")
        pos = q + 1 + ndesc
    counts: dict[str, float] = {f"{groups.get(g, '')}:{k}": v for (g, k), v in values.items()}
    counts.update({f"{g}:": 1 for g in groups.values()})
    counts.update({f"={groups.get(g, '')}:{k}": v for (g, k), v in first.items()})
    return int(proc), counts


def _c3d_check_data_size(path: os.PathLike[str] | str, head: bytes, proc: int, zeros: int, size: int,
                         counts: dict[str, float]) -> None:
    """The data section the file declares must fit in it (see :func:`_c3d_precheck`).

    Frames: POINT:FRAMES when present (ezc3d takes it over the header; 65535 means "more, counted
    elsewhere" and is not checked), else the header's last - first + 1, which ezc3d computes in
    unsigned arithmetic: a last frame before first - 1 wraps around to ~2^64 frames and ezc3d reads
    (garbage) until memory runs out. Points and analog samples per frame: the larger of the header's
    and the parameters' (ezc3d updates its header from POINT:USED and ANALOG:USED).
    """
    e = ">" if proc == 86 else "<"
    points, analog, first, last = struct.unpack_from(e + "HHHH", head, 2)
    data_start, sub = struct.unpack_from(e + "HH", head, 16)
    points = max(points, int(counts.get("=POINT:USED", 0)))
    analog = max(analog, int(counts.get("=ANALOG:USED", 0)) * max(sub, 1))
    if proc == 85:
        bps = 2  # DEC (VAX) float for the scale factor: assume the smaller, 2-byte integer data
    else:
        scale = struct.unpack_from(e + "f", head, 12)[0]
        bps = 4 if scale < 0 else 2
    if "=POINT:FRAMES" in counts:
        frames = int(counts["=POINT:FRAMES"]) % 65536  # ezc3d: a negative count is read as uint16
    else:
        if last + 1 < first and (points or analog):
            raise ReadError(path, f"not a readable C3D file (inconsistent header): last frame {last} before "
                                  f"first frame {first} and no POINT:FRAMES (ezc3d's frame count would wrap "
                                  "around)")
        frames = last - first + 1
    if data_start < 1 or frames <= 0 or frames >= 65535:
        return  # long files keep the frame count elsewhere; odd headers are ezc3d's to report
    need = zeros + (data_start - 1) * 512 + frames * (4 * points + analog) * bps
    if need > size:
        raise ReadError(path, f"truncated C3D file: the header promises {frames} frames ({points} points and "
                              f"{analog} analog samples per frame from block {data_start}: {need} bytes), the "
                              f"file has {size} bytes")


def _c3d_check_analog_info(path: os.PathLike[str] | str, head: bytes, proc: int, counts: dict[str, float]) -> None:
    """Every analog channel needs a scale and an offset: ezc3d indexes ANALOG:SCALE (then SCALE2,
    ...) and ANALOG:OFFSET (OFFSET2, ...) by channel, and GEN_SCALE at 0, without bounds checks
    (a segmentation fault when they are short). The channel count is the larger of the header's
    (analog samples per frame, word 3, over samples per channel per frame, word 10) and
    ANALOG:USED."""
    e = ">" if proc == 86 else "<"
    per_frame, = struct.unpack_from(e + "H", head, 4)
    sub, = struct.unpack_from(e + "H", head, 18)
    # ezc3d also takes the count from ANALOG:USED when it updates the header from the parameters
    channels = max(per_frame // sub if sub else 0, int(counts.get("=ANALOG:USED", 0)))
    if channels <= 0:
        return
    shadow = "SHADOW:" in counts  # ezc3d fills in defaults for empty ones in files with this group
    for key in ("SCALE", "OFFSET"):
        have, i = counts.get(f"ANALOG:{key}", 0), 2
        while f"ANALOG:{key}{i}" in counts:
            have += counts[f"ANALOG:{key}{i}"]
            i += 1
        if have < channels and not (shadow and have == 0):
            raise ReadError(path, f"not a readable C3D file (inconsistent parameters): {channels} analog "
                                  f"channels (header, ANALOG:USED) but {have} values in ANALOG:{key} (ezc3d "
                                  "would read past them)")
    if counts.get("ANALOG:GEN_SCALE", 1) < 1:
        raise ReadError(path, "not a readable C3D file (inconsistent parameters): ANALOG:GEN_SCALE is empty")


_C3D_SCALARS = ("POINT:USED", "POINT:SCALE", "POINT:RATE", "POINT:DATA_START", "POINT:FRAMES", "ANALOG:USED",
                "ANALOG:RATE", "ANALOG:GEN_SCALE", "ROTATION:USED", "ROTATION:DATA_START", "ROTATION:RATE",
                "ROTATION:RATIO", "FORCE_PLATFORM:USED")


def _c3d_check_scalars(path: os.PathLike[str] | str, counts: dict[str, float]) -> None:
    """The scalar parameters ezc3d reads as ``values[0]`` without a check (``updateHeader``,
    ``setMandatoryParameters``): present with no value (a zero dimension), a segmentation fault."""
    for key in _C3D_SCALARS:
        if key in counts and counts[key] < 1:
            raise ReadError(path, f"not a readable C3D file (inconsistent parameters): {key} has no value "
                                  "(ezc3d would read past it)")


def _c3d_check_rotations(path: os.PathLike[str] | str, head: bytes, proc: int, zeros: int, size: int,
                         counts: dict[str, float]) -> None:
    """ezc3d's ROTATION group (USED 4 x 4 matrices per subframe, RATIO subframes per frame, from
    ROTATION:DATA_START). ezc3d sizes the subframes from the ratio (ROTATION:RATIO when not 0, else
    ROTATION:RATE / POINT:RATE): a ratio of 0 allocates without bound (size_t wrap-around) and a
    huge one allocates gigabytes; and with ROTATION:USED > 0 and no room for the matrices in the
    file, ezc3d's Python wrapper throws from a function that may not (``get_rotations``: "subframe
    0 while the maximum number of subframes is 0"), so the C++ runtime aborts the process. Refuse a
    ratio that is not finite, below 1 or more than the file's size, and matrices that cannot fit
    in the file."""
    if "ROTATION:" not in counts:
        return
    e = ">" if proc == 86 else "<"
    first, last = struct.unpack_from(e + "HH", head, 6)
    frames = max(last - first + 1, 1)
    ratio = counts.get("=ROTATION:RATIO", 0)  # ezc3d takes any non-zero RATIO as it is (-1: a crash)
    if ratio == 0:  # ezc3d's defaults: POINT:RATE 0, ROTATION:RATE = POINT:RATE
        point_rate = counts.get("=POINT:RATE", 0.0)
        rate = counts.get("=ROTATION:RATE", point_rate)
        ratio = rate / point_rate if point_rate else math.nan
    if not (math.isfinite(ratio) and 1 <= int(ratio) and frames * int(ratio) <= size):
        raise ReadError(path, f"not a readable C3D file (inconsistent parameters): {ratio} rotation subframes "
                              "per frame (ROTATION:RATIO, or ROTATION:RATE / POINT:RATE)")
    used = int(counts.get("=ROTATION:USED", 0))
    if used <= 0:
        return
    start = max(int(counts.get("=ROTATION:DATA_START", 1)), 1)
    need = zeros + (start - 1) * 512 + frames * int(ratio) * used * 16 * 4
    if need > size:
        raise ReadError(path, f"not a readable C3D file (truncated or inconsistent): ROTATION:USED is {used}, "
                              f"{frames} frames of 4 x 4 matrices from block {start} need {need} bytes, the file "
                              f"has {size}")


def _c3d_text(group: Mapping[str, Any], name: str) -> list[str]:
    """A C3D text parameter with its continuations ``NAME2``, ``NAME3``, ... joined: the standard
    goes on in ``LABELS2`` (and so on) past 255 entries, as ezc3d writes files of over 255 points."""
    out: list[str] = []
    key, i = name, 2
    while key in group:
        out += [str(x) for x in group[key]["value"]]
        key, i = f"{name}{i}", i + 1
    return out


def _c3d_fit(labels: list[str], n: int) -> list[str]:
    """``n`` labels: missing ones empty (named ``ch<i>`` by :func:`_unique`), extra ones dropped."""
    return (labels + [""] * n)[:n]


def read_c3d(path: str | os.PathLike[str], *, points: bool = True, analogs: bool = True,
             analog_streams: Mapping[str, Sequence[str]] | None = None,
             point_stream: str = "points", analog_stream: str = "analogs") -> Recording:
    """Read a C3D file's point (marker) and analog data (ezc3d; ``kinemyo[io]``).

    Parameters
    ----------
    path : path-like
        ``.c3d`` file.
    points : bool
        Read the 3-D points into stream ``point_stream``: ``(n_frames, 3 * n_points)``, channels
        ``<label>_x``, ``<label>_y``, ``<label>_z``, unit from ``POINT:UNITS``; points the file marks
        invalid (negative residual) are NaN.
    analogs : bool
        Read the analog channels (EMG, force plates, ...) at ``ANALOG:RATE``, units from
        ``ANALOG:UNITS``.
    analog_streams : mapping, optional
        Split the analog channels: stream name -> list of analog labels. Default: all in one
        stream named ``analog_stream``.

    Notes
    -----
    Time 0 is the first frame of the file; ``metadata["first_frame"]`` keeps the frame number the
    C3D header gives it (counted from 1, as in the header; ezc3d's own count starts at 0). Labels
    and analog units of more than 255 points or channels continue in ``LABELS2``, ``LABELS3``, ...
    (``UNITS2``, ...; the C3D standard), which are joined; points or channels without a label are
    named ``ch<i>``. Streams with no channels (a file without analogs, say) are left out; a file
    with no data at all is an error.
    """
    p = check_input(path, (".c3d",))
    ezc3d = require("ezc3d", "reading C3D files", "io")
    try:
        _c3d_precheck(p)
    except OSError as e:
        raise ReadError(p, f"cannot read the file: {e}") from None
    try:
        c = ezc3d.c3d(str(p))
        params = c["parameters"]
        pt = params["POINT"]
        point_rate = float(pt["RATE"]["value"][0])
        pdata = np.asarray(c["data"]["points"])  # (4, n_points, n_frames)
        plabels = _unique(_c3d_fit(_c3d_text(pt, "LABELS"), pdata.shape[1]))
        punit = str(pt["UNITS"]["value"][0]).strip() if "UNITS" in pt and len(pt["UNITS"]["value"]) else ""
        try:
            resid = np.asarray(c["data"]["meta_points"]["residuals"])  # (1, n_points, n_frames)
        except (KeyError, TypeError):
            resid = None
        adata = np.asarray(c["data"]["analogs"])  # (1, n_channels, n_samples)
        an = params.get("ANALOG", {})
        analog_rate = float(an["RATE"]["value"][0]) if "RATE" in an and len(an["RATE"]["value"]) else 0.0
        alabels = _unique(_c3d_fit(_c3d_text(an, "LABELS"), adata.shape[1]))
        aunits = [u.strip() for u in _c3d_text(an, "UNITS")]
        # ezc3d counts frames from 0; the header (and every C3D tool) from 1
        first_frame = int(c["header"]["points"]["first_frame"]) + 1
        n_frames = int(pdata.shape[2]) if pdata.shape[1] else None
        if n_frames is None and adata.shape[1]:
            ratio = analog_rate / point_rate if point_rate > 0 else 0.0
            n_frames = round(adata.shape[2] / ratio) if ratio > 0 else None
        promised = _c3d_header_frames(p, int(c["header"]["points"]["size"]))
    except ReadError:
        raise
    except Exception as e:  # ezc3d raises RuntimeError/IndexError/... with the reason
        raise ReadError(p, f"not a readable C3D file (truncated or corrupt?): {e}") from None
    if promised is not None and n_frames is not None and n_frames < promised:
        raise ReadError(p, f"truncated C3D file: the header promises {promised} frames, the file holds {n_frames}")
    rec = Recording(source=str(p), metadata={"format": "c3d", "first_frame": first_frame,
                                             "point_rate": point_rate, "analog_rate": analog_rate})
    if points and pdata.shape[1] and pdata.shape[2]:
        xyz = pdata[:3].transpose(2, 1, 0).copy()  # (n_frames, n_points, 3)
        if resid is not None and resid.shape[1:] == pdata.shape[1:]:
            xyz[resid[0].T < 0] = np.nan
        names = [f"{lab}_{ax}" for lab in plabels for ax in "xyz"]
        rec.add(point_stream, _stream(p, point_stream, xyz.reshape(xyz.shape[0], -1), point_rate,
                                      channel_names=names, units=punit))
    if analogs and adata.shape[1] and adata.shape[2]:
        if analog_rate <= 0:
            raise ReadError(p, f"ANALOG:RATE is {analog_rate}; cannot time the analog data")
        a = np.ascontiguousarray(adata[0].T)
        units = (aunits + [""] * len(alabels))[:len(alabels)]
        groups = {analog_stream: alabels} if analog_streams is None else dict(analog_streams)
        for name, labs in groups.items():
            labs = [labs] if isinstance(labs, str) else list(labs)
            missing = [lab for lab in labs if lab not in alabels]
            if missing:
                raise ReadError(p, f"stream {name!r}: no analog channel(s) {missing}; labels are {alabels}")
            idx = [alabels.index(lab) for lab in labs]
            rec.add(name, _stream(p, name, a[:, idx], analog_rate, channel_names=labs,
                                  units=[units[i] for i in idx]))
    if len(rec) == 0:
        raise ReadError(p, "no point or analog data (zero-length streams)")
    return rec


# ------------------------------------------------------------------------------------------------ XDF
def _xdf_text(d: Any, key: str, default: str = "") -> str:
    try:
        v = d[key][0]
        return default if v is None else str(v)
    except (KeyError, IndexError, TypeError):
        return default


def read_xdf(path: str | os.PathLike[str], *, dejitter: bool = True, synchronize_clocks: bool = True,
             relative_time: bool = True, select_streams: Any = None) -> Recording:
    """Read an XDF file recorded with Lab Streaming Layer (pyxdf; ``kinemyo[io]``).

    Parameters
    ----------
    path : path-like
        ``.xdf`` or ``.xdfz`` file.
    dejitter : bool
        Let pyxdf replace jittery LSL timestamps of regular streams by a least-squares linear fit
        (pyxdf's ``dejitter_timestamps``).
    synchronize_clocks : bool
        Apply the recorded clock offsets so all streams share the recording computer's clock.
    relative_time : bool
        Shift time so the earliest sample of any stream is at 0 s; the LSL clock time of that
        origin goes into ``metadata["time_origin_s"]``.
    select_streams : optional
        Passed to ``pyxdf.load_xdf`` (e.g. ``[{"type": "EMG"}]``).

    Notes
    -----
    Stream names come from the stream header (repeats get ``_2``...), channel labels and units from
    ``desc/channels/channel``, the nominal rate from ``nominal_srate`` (0 means irregular ->
    ``fs=None``). String streams (markers) become ``metadata["markers"][name]`` as
    ``[time_s, text]`` pairs; numeric streams with no samples are listed in
    ``metadata["empty_streams"]``. A file with no samples at all is an error.
    """
    p = check_input(path, (".xdf", ".xdfz"))
    pyxdf = require("pyxdf", "reading XDF files", "io")
    reason = None
    # pyxdf may leave its file handle to the garbage collector when it rejects a file: that is not
    # the caller's concern, so the ResourceWarning is silenced here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            xstreams, header = pyxdf.load_xdf(str(p), select_streams=select_streams,
                                              synchronize_clocks=synchronize_clocks,
                                              dejitter_timestamps=dejitter)
        except Exception as e:  # pyxdf raises struct.error, ValueError, ExpatError, ... on bad files
            reason = f"{type(e).__name__}: {e}"
        if reason is not None:
            gc.collect()  # a handle held in a reference cycle is closed here, under the filter
    if reason is not None:
        raise ReadError(p, f"not a readable XDF file (truncated or corrupt?): {reason}")
    try:  # pyxdf passes malformed chunks through as odd values: map whatever they break to ReadError
        firsts = [float(np.asarray(s["time_stamps"])[0]) for s in xstreams if len(s["time_stamps"])]
        origin = min(firsts) if (relative_time and firsts) else 0.0
        names = _unique([_xdf_text(s["info"], "name", f"stream{i}").replace("/", "_") for i, s in enumerate(xstreams)])
        markers: dict[str, list[list[Any]]] = {}
        empty: list[str] = []
        rec = Recording(source=str(p), metadata={"format": "xdf", "time_origin_s": origin,
                                                 "header": _jsonable(header.get("info", {}) if isinstance(header, dict)
                                                                     else {})})
        for name, s in zip(names, xstreams, strict=True):
            info = s["info"]
            ts = np.asarray(s["time_stamps"], dtype=np.float64) - origin
            fmt = _xdf_text(info, "channel_format", "float32")
            if fmt == "string":
                markers[name] = [[float(t), str(v[0] if isinstance(v, (list, tuple)) else v)]
                                 for t, v in zip(ts, s["time_series"], strict=True)]
                continue
            if ts.shape[0] == 0:
                empty.append(name)
                continue
            x = np.asarray(s["time_series"])
            if x.ndim == 1:
                x = x[:, None]
            n_ch = x.shape[1]
            labels: list[str] = []
            units: list[str] = []
            try:
                chans = info["desc"][0]["channels"][0]["channel"]
                labels = [_xdf_text(ch, "label") for ch in chans]
                units = [_xdf_text(ch, "unit") for ch in chans]
            except (KeyError, IndexError, TypeError):
                pass
            if len(labels) != n_ch:
                labels, units = [f"ch{i}" for i in range(n_ch)], [""] * n_ch
            srate = float(_xdf_text(info, "nominal_srate", "0") or 0)
            meta = {"type": _xdf_text(info, "type"), "source_id": _xdf_text(info, "source_id"),
                    "hostname": _xdf_text(info, "hostname")}
            rec.add(name, _stream(p, name, x, srate if srate > 0 else None, time=ts,
                                  channel_names=_unique(labels), units=units, metadata=meta))
        if markers:
            rec.metadata["markers"] = markers
        if empty:
            rec.metadata["empty_streams"] = empty
        if len(rec) == 0:
            raise ReadError(p, "no numeric stream with samples (zero-length streams)")
        return rec
    except ReadError:
        raise
    except (KeyError, TypeError, IndexError, AttributeError, ValueError, OverflowError) as e:
        raise ReadError(p, f"malformed XDF content: {type(e).__name__}: {e}") from None


# -------------------------------------------------------------------------------------------- Parquet
_PQ_KEY = b"kinemyo"


def write_parquet(recording: Recording, path: str | os.PathLike[str], *, stream: str | None = None,
                  compression: str = "zstd") -> list[str]:
    """Write stream(s) to Parquet, atomically (pyarrow; ``kinemyo[parquet]``).

    Each file holds one stream as a table: a ``time`` column (s, float64), then one column per
    channel, in the stream's dtype. The rate, units and metadata travel in the schema metadata
    (key ``kinemyo``, JSON) and :func:`read_parquet` restores them; other tools see a plain table
    (``pandas.read_parquet`` works). One stream goes to ``path``; several go to one file each,
    ``<stem>.<stream>.parquet`` beside ``path`` (or pass ``stream=``).

    Returns
    -------
    list of str
        The files written.
    """
    pa = require("pyarrow", "writing Parquet files", "parquet")
    pq = require("pyarrow.parquet", "writing Parquet files", "parquet")
    out: list[str] = []
    for name, target in per_stream_paths(recording, path, stream):
        s = recording[name]
        if "time" in s.channel_names:
            raise WriteError(target, f"stream {name!r} has a channel named 'time', which clashes with the time column")
        meta = {"format_version": 1, "stream": name, "fs": s.fs, "units": list(s.units),
                "metadata": _jsonable(s.metadata), "recording_metadata": _jsonable(recording.metadata)}
        cols = [pa.array(s.time)] + [pa.array(np.ascontiguousarray(s.data[:, i])) for i in range(s.n_channels)]
        table = pa.table(cols, names=["time", *s.channel_names])
        table = table.replace_schema_metadata({_PQ_KEY: json.dumps(meta).encode()})
        with atomic_path(target) as tmp:
            pq.write_table(table, tmp, compression=compression)
        out.append(str(target))
    return out


def read_parquet(path: str | os.PathLike[str], *, time_column: str | None = "time",
                 fs: float | None = None, stream_name: str | None = None) -> Recording:
    """Read a Parquet table as a one-stream recording (pyarrow; ``kinemyo[parquet]``).

    Files written by :func:`write_parquet` come back with their stream name, rate, units and
    metadata. Any other table works too: ``time_column`` (s) gives the timestamps (or ``None`` with
    ``fs``), every other numeric column is a channel, the rate is ``fs`` or inferred from uniform
    timestamps.
    """
    p = check_input(path, (".parquet", ".pq"))
    pq = require("pyarrow.parquet", "reading Parquet files", "parquet")
    try:
        table = pq.read_table(p)
    except Exception as e:
        raise ReadError(p, f"not a readable Parquet file (truncated or corrupt?): {e}") from None
    try:  # a mangled file can still parse: bad kinemyo metadata or columns are a ReadError
        raw = (table.schema.metadata or {}).get(_PQ_KEY)
        meta: dict[str, Any] = json.loads(raw) if raw else {}
        names = list(table.column_names)
        if time_column is not None and time_column not in names:
            raise ReadError(p, f"missing time column {time_column!r}; columns are {names}")
        chans = [c for c in names if c != time_column]
        if not chans:
            raise ReadError(p, "no data columns")
        try:
            data = np.column_stack([table.column(c).to_numpy(zero_copy_only=False) for c in chans])
            time = None if time_column is None else table.column(time_column).to_numpy(zero_copy_only=False)
        except Exception as e:
            raise ReadError(p, f"cannot convert columns to numbers: {e}") from None
        if data.dtype.kind not in "fiub":
            raise ReadError(p, f"non-numeric columns (dtype {data.dtype})")
        rate = fs if fs is not None else meta.get("fs")
        if rate is None and time is not None and not meta:
            rate = infer_fs(np.asarray(time, dtype=np.float64))
        if time is None and rate is None:
            raise ReadError(p, "no time column; pass fs= (Hz) or time_column= (kinemyo info: --fs HZ or "
                                  "--time-column NAME; kinemyo process needs timestamps in the file: "
                                  "see docs/pipeline.md)")
        name = stream_name or meta.get("stream") or "data"
        units = meta.get("units") if meta.get("units") and len(meta["units"]) == len(chans) else None
        rec = Recording(source=str(p), metadata=dict(meta.get("recording_metadata") or {"format": "parquet"}))
        rec.add(name, _stream(p, name, data, rate, time=time, channel_names=chans, units=units,
                              metadata=meta.get("metadata") or {}))
        return rec
    except ReadError:
        raise
    except (KeyError, TypeError, IndexError, AttributeError, ValueError, OverflowError) as e:
        raise ReadError(p, f"malformed Parquet content: {type(e).__name__}: {e}") from None




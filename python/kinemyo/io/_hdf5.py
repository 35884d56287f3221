"""HDF5 files in kinemyo's documented layout (h5py).

Layout (format version 1; see docs/io.md)::

    /                         attrs: kinemyo_format = "kinemyo.recording"
                                     format_version = 1
                                     metadata = JSON text (recording metadata; a scalar string
                                                dataset of the same name when over 32 kB)
    /streams/                 group, streams in insertion order
    /streams/<name>/          attrs: fs = rate in Hz, NaN when irregular
                                     channel_names = array of UTF-8 strings
                                     units = array of UTF-8 strings
                                     metadata = JSON text (stream metadata; dataset if large)
    /streams/<name>/data      (n_samples, n_channels) float32 or float64
    /streams/<name>/time      (n_samples,) float64, seconds
"""

from __future__ import annotations

import contextlib
import json
import math
import mmap
import os
import struct
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ._model import ReadError, Recording, Stream, WriteError, _jsonable
from ._util import atomic_path, check_input, require

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "read_hdf5", "write_hdf5"]

FORMAT_NAME = "kinemyo.recording"
FORMAT_VERSION = 1
EXTENSIONS = (".h5", ".hdf5", ".hdf")


_MAX_EXPANSION = 1100  # deflate's best ratio is about 1032:1; nothing in a file decompresses to more
_ATTR_LIMIT = 32 * 1024  # HDF5 attributes are limited to 64 kB; larger metadata goes to a dataset


def _text(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def _texts(v: Any) -> list[str] | str | None:
    """A string attribute as a list of strings, or one string when it is a scalar (h5py gives a
    scalar string attribute as ``str`` or ``bytes``, which iterating would split into characters);
    ``None`` for an empty array."""
    if isinstance(v, (str, bytes)) or np.ndim(v) == 0:
        return _text(v.item() if isinstance(v, np.ndarray) else v)
    return [_text(x) for x in np.ravel(v)] or None


# HDF5 datatype classes (H5T_class_t) kinemyo writes: integer, float, string
_H5T_INTEGER, _H5T_FLOAT, _H5T_STRING = 0, 1, 3


_VLEN_MARGIN = 256 * 2**20  # bytes of address space a string read may add
_limit_lock = threading.Lock()


@contextlib.contextmanager
def _bounded_allocation() -> Iterator[None]:
    """Cap the process's address space at its current size + 256 MiB while libhdf5 reads strings.

    A variable-length value on disk carries its element count, and libhdf5 allocates that count
    before it looks for the data; a corrupt count (up to 2^32) costs gigabytes even when the data
    is missing, and kinemyo cannot find every such count without parsing HDF5 object headers (see
    :func:`_check_references` for the ones it can). Under the cap the allocation fails at once and
    libhdf5 reports an error (-> ReadError). Linux only (``/proc/self/statm``, ``RLIMIT_AS``); left
    alone when a lower limit is already set. The cap is process-wide for the microseconds of the
    read: another thread that maps more than the margin at that very moment would see a failed
    allocation.
    """
    try:
        import resource

        with open("/proc/self/statm") as fh:
            vm = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError, IndexError):
        yield
        return
    with _limit_lock:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = vm + _VLEN_MARGIN
        if (soft != resource.RLIM_INFINITY and soft <= cap) or (hard != resource.RLIM_INFINITY and hard < cap):
            yield
            return
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        try:
            yield
        finally:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _attr(obj: Any, name: str, default: Any, classes: tuple[int, ...]) -> Any:
    """Attribute ``name`` of ``obj`` (``default`` when absent), after checking its datatype class.

    kinemyo writes numbers and strings only. A corrupt file can give an attribute another class
    (e.g. a variable-length sequence of integers where the channel names were strings); libhdf5
    2.0 crashes converting some of those (a segmentation fault in ``H5VL_blob_put``, fuzzing), so
    only the expected classes are read and anything else is a :class:`ReadError`.
    """
    if name not in obj.attrs:
        return default
    cls = obj.attrs.get_id(name).get_type().get_class()
    if cls not in classes:
        raise _Unexpected(f"attribute {name!r} of {obj.name!r} has HDF5 datatype class {cls}, not "
                          f"{' or '.join(_CLASS_NAMES[c] for c in classes)}")
    if cls == _H5T_STRING:
        with _bounded_allocation():
            return obj.attrs[name]
    return obj.attrs[name]


class _Unexpected(Exception):
    """An object of the file is not of the kind the layout says (turned into a ReadError)."""


_CLASS_NAMES = {_H5T_INTEGER: "integer", _H5T_FLOAT: "float", _H5T_STRING: "string"}


def _get_meta(g: Any) -> dict[str, Any]:
    if "metadata" in g.attrs:
        return dict(json.loads(_text(_attr(g, "metadata", "", (_H5T_STRING,)))))
    if "metadata" in g:
        d = g["metadata"]
        if not hasattr(d, "id") or not hasattr(d.id, "get_type") or d.id.get_type().get_class() != _H5T_STRING:
            raise _Unexpected(f"{d.name!r} is not a string dataset")
        with _bounded_allocation():
            text = d[()]
        return dict(json.loads(_text(text)))
    return {}


def _set_meta(g: Any, meta: Any, str_dt: Any) -> None:
    text = json.dumps(_jsonable(meta))
    if len(text.encode()) <= _ATTR_LIMIT:
        g.attrs["metadata"] = text
    else:
        g.create_dataset("metadata", data=text, dtype=str_dt)


# --------------------------------------------------------------------------- global heap pre-check
_SUPERBLOCK_SIG = b"\x89HDF\r\n\x1a\n"


def _sizes(buf: Any) -> tuple[int, int]:
    """'Size of offsets' and 'size of lengths' from the superblock (HDF5 file format spec, section
    II.A), default 8 and 8.

    The superblock sits at offset 0, 512, 1024, 2048, ... (after a user block); versions 0 and 1
    keep the sizes at bytes 13 and 14, versions 2 and 3 at bytes 9 and 10.
    """
    n = len(buf)
    pos = 0
    while pos + 16 <= n:
        if buf[pos:pos + 8] == _SUPERBLOCK_SIG:
            at = pos + 13 if buf[pos + 8] in (0, 1) else pos + 9
            offs, lens = buf[at], buf[at + 1]
            return (offs if offs in (2, 4, 8, 16) else 8), (lens if lens in (2, 4, 8, 16) else 8)
        pos = 512 if pos == 0 else pos * 2
    return 8, 8


def _raw_extents(f: Any, h5py: Any) -> list[tuple[int, int]]:
    """Byte ranges of the raw data of the layout's datasets (``/streams/<name>/data|time``).

    The global heap check skips them: they hold samples, not heap collections, and they are nearly
    all of a recording's bytes. Opening the datasets reads object headers and links only (no
    variable-length data, so no global heap). Any trouble: no ranges (the whole file is scanned).
    """
    out: list[tuple[int, int]] = []
    try:
        group = f.get("streams")
        if not isinstance(group, h5py.Group):
            return []
        for i, name in enumerate(group):
            if i >= 10_000:
                break
            g = group.get(name)
            if not isinstance(g, h5py.Group):
                continue
            for key in ("data", "time"):
                d = g.get(key)
                if not isinstance(d, h5py.Dataset):
                    continue
                off = d.id.get_offset()
                if off is not None:
                    out.append((int(off), int(off) + int(d.id.get_storage_size())))
                elif d.chunks is not None and hasattr(d.id, "chunk_iter"):  # one pass over the chunk index
                    d.id.chunk_iter(lambda info: out.append((int(info.byte_offset),
                                                             int(info.byte_offset) + int(info.size))))
    except Exception:  # a corrupt file: fall back to scanning everything
        return []
    return out


def _check_global_heaps(path: os.PathLike[str] | str, skip: Sequence[tuple[int, int]] = ()) -> None:
    """Refuse a file whose global heap collections would hang or over-read libhdf5.

    Variable-length strings (every kinemyo attribute: format name, metadata, channel names, units)
    live in global heap collections ("GCOL", HDF5 file format spec, section III.E). libhdf5 walks a
    collection's objects when it first loads it (``H5HG__cache_heap_deserialize``), advancing by
    each object's stored size; a free-space object (index 0) of size 0 never advances, and libhdf5
    (2.0.0, the one h5py 3.16 ships) spins there forever in native code, holding the GIL (the
    fuzzing finding ``fuzz/findings/h5_libhdf5_hang``). An object larger than the rest of its
    collection would run the walk past the collection's end. Neither occurs in a file any HDF5
    writer produces, so this walks every collection the way libhdf5 will and raises
    :class:`ReadError` for either, before h5py touches one. A "GCOL" that is not a version-1 header
    with a size inside the file cannot be loaded by libhdf5 either and is skipped.

    The search skips the byte ranges in ``skip`` (the datasets' raw data, :func:`_raw_extents`),
    so its cost is that of the file's metadata, not of its samples; a raw data block that happens
    to contain a collection's signature is not mistaken for one. (A file corrupted so that a
    dataset's address covers the heap *and* the heap is broken would get past it; that takes two
    coordinated changes, and ``kinemyo.io.read(..., isolate=True)`` bounds even that.)
    """
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size < 16:
            return
        gaps, at = [], 0
        for a, b in sorted((max(a, 0), min(b, size)) for a, b in skip if b > a):
            if a > at:
                gaps.append((at, a))
            at = max(at, b)
        if at < size:
            gaps.append((at, size))
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            size_o, L = _sizes(buf)
            head = 8 + L            # "GCOL", version, 3 reserved, collection size
            objhead = 8 + L         # index (2), references (2), reserved (4), object size
            heaps: dict[int, dict[int, int]] = {}
            for lo, hi in gaps:
                _walk_heaps(path, buf, size, L, head, objhead, lo, hi, heaps)
            for lo, hi in gaps:
                _check_references(path, buf, size_o, heaps, lo, hi)


def _check_references(path: os.PathLike[str] | str, buf: Any, size_o: int, heaps: dict[int, dict[int, int]],
                      lo: int, hi: int) -> None:
    """Refuse a variable-length value that claims more elements than its heap object holds.

    A variable-length value on disk (in an attribute, say) is a 4-byte element count followed by
    the heap ID: the collection's address and the object's 4-byte index. libhdf5 allocates the
    count's worth of memory before it reads the object, so a corrupt count (0xE0000000 in a fuzzing
    finding: 3.5 GB for a 2-character unit) allocates gigabytes. The count can never exceed the
    object's size in bytes (each element takes at least one byte), so every place in the file's
    metadata that holds a known collection's address followed by one of its object indices is
    checked against that object.
    """
    for addr, objects in heaps.items():
        pat = addr.to_bytes(size_o, "little")
        at = buf.find(pat, max(lo, 4), hi)
        while at >= 0:
            if at + size_o + 4 <= len(buf):
                idx = int.from_bytes(buf[at + size_o:at + size_o + 4], "little")
                count = int.from_bytes(buf[at - 4:at], "little")
                if idx in objects and count > objects[idx]:
                    raise ReadError(path, f"corrupt HDF5 variable-length value at byte {at - 4}: {count} "
                                          f"elements claimed, its global heap object {idx} (collection at "
                                          f"byte {addr}) holds {objects[idx]} bytes")
            at = buf.find(pat, at + 1, hi)


def _walk_heaps(path: os.PathLike[str] | str, buf: Any, size: int, L: int, head: int, objhead: int,
                lo: int, hi: int, heaps: dict[int, dict[int, int]]) -> None:
    """Check each collection whose signature starts in ``buf[lo:hi]`` (see :func:`_check_global_heaps`)."""
    at = buf.find(b"GCOL", lo, hi)
    while at >= 0:
        if at + head <= size and buf[at + 4] == 1:
            total = int.from_bytes(buf[at + 8:at + 8 + L], "little")
            if head <= total <= size - at:
                end = at + total
                p = at + head
                objects: dict[int, int] = {}
                while p < end:
                    if p + objhead > end:
                        break  # a tail too small for an object header is free space
                    idx = struct.unpack_from("<H", buf, p)[0]
                    osize = int.from_bytes(buf[p + 8:p + 8 + L], "little")
                    need = objhead + (osize + 7) // 8 * 8 if idx > 0 else osize
                    if need == 0:
                        raise ReadError(path, f"corrupt HDF5 global heap at byte {at}: a free-space "
                                              f"object of size 0 at byte {p} (libhdf5 would loop "
                                              "forever reading it)")
                    if need > end - p:
                        raise ReadError(path, f"corrupt HDF5 global heap at byte {at}: object {idx} "
                                              f"at byte {p} claims {osize} bytes, past the end of "
                                              f"its {total}-byte collection")
                    if idx > 0:
                        objects[idx] = osize
                    p += need
                heaps[at] = objects
        at = buf.find(b"GCOL", at + 1, hi)


def read_hdf5(path: str | os.PathLike[str], *, streams: Sequence[str] | None = None) -> Recording:
    """Read a recording from an HDF5 file in kinemyo's layout (needs h5py: ``kinemyo[io]``).

    Parameters
    ----------
    path : path-like
        A ``.h5``/``.hdf5`` file written by :func:`write_hdf5` (or by anything following the
        layout documented in docs/io.md).
    streams : sequence of str, optional
        Read only these streams (default: all).

    Raises
    ------
    ReadError
        Missing, unreadable, truncated or corrupt file, or not in kinemyo's layout.
    """
    p = check_input(path, EXTENSIONS)
    h5py = require("h5py", "reading HDF5 files", "io")
    try:
        f = h5py.File(p, "r")
    except OSError as e:
        raise ReadError(p, f"not a readable HDF5 file (truncated or corrupt?): {e}") from None
    try:
        with f:
            try:  # before any variable-length string is read
                _check_global_heaps(p, _raw_extents(f, h5py))
            except OSError as e:
                raise ReadError(p, f"cannot read the file: {e}") from None
            fmt = _text(_attr(f, "kinemyo_format", "", (_H5T_STRING,)))
            if fmt != FORMAT_NAME:
                raise ReadError(p, "not a kinemyo HDF5 recording (root attribute kinemyo_format != "
                                   f"{FORMAT_NAME!r}); see docs/io.md for the layout")
            version = int(_attr(f, "format_version", -1, (_H5T_INTEGER, _H5T_FLOAT)))
            if version != FORMAT_VERSION:
                raise ReadError(p, f"unsupported kinemyo HDF5 format_version {version}; this kinemyo reads "
                                   f"{FORMAT_VERSION}")
            meta = _get_meta(f)
            if "streams" not in f:
                raise ReadError(p, "no /streams group")
            group = f["streams"]
            if not isinstance(group, h5py.Group):
                raise ReadError(p, "/streams is not a group")
            names = list(group.keys()) if streams is None else list(streams)
            rec = Recording(metadata=meta, source=str(p))
            limit = _MAX_EXPANSION * os.path.getsize(p) + 2**20
            for name in names:
                if name not in group:
                    raise ReadError(p, f"no stream {name!r}; streams are {list(group.keys())}")
                g = group[name]
                if not isinstance(g, h5py.Group):
                    raise ReadError(p, f"stream {name!r} is not a group")
                arrays = []
                for key in ("data", "time"):
                    d = g.get(key)
                    if not isinstance(d, h5py.Dataset):
                        raise ReadError(p, f"stream {name!r} has no {key!r} dataset")
                    if d.id.get_type().get_class() not in (_H5T_FLOAT, _H5T_INTEGER):
                        raise ReadError(p, f"stream {name!r}: the {key!r} dataset is not numeric (HDF5 "
                                           f"datatype class {d.id.get_type().get_class()})")
                    n = math.prod(d.shape or ()) * d.dtype.itemsize
                    if n > limit:
                        raise ReadError(p, f"stream {name!r}: the {key!r} dataset declares {d.shape} x "
                                           f"{d.dtype.itemsize} bytes, more than a {os.path.getsize(p)}-byte "
                                           "file can hold even compressed")
                    arrays.append(d[()])
                data, time = arrays
                fs = float(_attr(g, "fs", math.nan, (_H5T_FLOAT, _H5T_INTEGER)))
                chans = _texts(_attr(g, "channel_names", [], (_H5T_STRING,)))
                if isinstance(chans, str):  # a scalar string: the name of a one-channel stream
                    n_ch = data.shape[1] if data.ndim == 2 else 1
                    if n_ch != 1:
                        raise ReadError(p, f"stream {name!r}: the channel_names attribute is one string "
                                           f"({chans!r}) but the stream has {n_ch} channels; it must be an "
                                           "array of one name per channel")
                    chans = [chans]
                # a scalar string for units is the unit of every channel (as Stream(units="mV"))
                units = _texts(_attr(g, "units", [], (_H5T_STRING,)))
                smeta = _get_meta(g)
                try:
                    s = Stream(data, None if math.isnan(fs) else fs, time=time, channel_names=chans,
                               units=units, metadata=smeta)
                except (ValueError, TypeError) as e:
                    raise ReadError(p, f"stream {name!r}: {e}") from None
                if s.n_samples == 0:
                    raise ReadError(p, f"stream {name!r} has zero samples")
                rec.add(name, s)
            return rec
    except ReadError:
        raise
    except _Unexpected as e:
        raise ReadError(p, f"corrupt HDF5 file: {e}") from None
    except (OSError, KeyError, ValueError, RuntimeError, TypeError, AttributeError, MemoryError) as e:
        # h5py/libhdf5 errors on a corrupt file; TypeError/AttributeError when an object has another
        # kind than the layout says (a named datatype where a dataset should be, say)
        raise ReadError(p, f"corrupt HDF5 file: {type(e).__name__}: {e}") from None


def write_hdf5(recording: Recording, path: str | os.PathLike[str], *,
               compression: str | None = None) -> list[str]:
    """Write a recording to HDF5 in kinemyo's layout, atomically (needs h5py: ``kinemyo[io]``).

    Parameters
    ----------
    recording : Recording
    path : path-like
        Target ``.h5``/``.hdf5`` file; replaced atomically if it exists.
    compression : {"gzip", "lzf", None}
        Dataset compression (default none: fastest to write and read).

    Returns
    -------
    list of str
        The file written.
    """
    target = os.fspath(path)
    if not target.lower().endswith(EXTENSIONS):
        raise WriteError(target, f"HDF5 output must end with one of {list(EXTENSIONS)}")
    h5py = require("h5py", "writing HDF5 files", "io")
    str_dt = h5py.string_dtype("utf-8")
    with atomic_path(target) as tmp:
        with h5py.File(tmp, "w", track_order=True) as f:
            f.attrs["kinemyo_format"] = FORMAT_NAME
            f.attrs["format_version"] = FORMAT_VERSION
            _set_meta(f, recording.metadata, str_dt)
            group = f.create_group("streams", track_order=True)
            for name, s in recording.items():
                if "/" in name or name in (".", ".."):
                    raise WriteError(target, f"stream name {name!r} cannot be an HDF5 group name (contains '/')")
                g = group.create_group(name)
                g.attrs["fs"] = math.nan if s.fs is None else float(s.fs)
                g.attrs.create("channel_names", np.array(s.channel_names, dtype=object), dtype=str_dt)
                g.attrs.create("units", np.array(s.units, dtype=object), dtype=str_dt)
                _set_meta(g, s.metadata, str_dt)
                opts: dict[str, Any] = {"compression": compression} if compression and s.n_samples else {}
                g.create_dataset("data", data=s.data, **opts)
                g.create_dataset("time", data=s.time, **opts)
    return [target]

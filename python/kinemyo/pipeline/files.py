"""Reading a recording for the pipeline and processing one file (the batch task).

Recordings are read with :func:`kinemyo.io.read` when the ``kinemyo.io`` readers are available
(CSV, EDF/BDF, C3D, XDF, HDF5); kinemyo's own ``.npz`` layout is always readable: for every stream
``<name>`` the arrays ``<name>.data`` (n_samples, n_channels) and ``<name>.fs`` (scalar, Hz), and
optionally ``<name>.channel_names``.
"""

from __future__ import annotations

import dataclasses
import os
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from .config import PipelineConfig, load_config
from .run import run, write_result

__all__ = ["NpzRecording", "process_file", "read_recording", "write_npz"]


@dataclasses.dataclass
class _NpzStream:
    data: np.ndarray
    fs: float
    channel_names: list[str]


class NpzRecording(dict):  # type: ignore[type-arg]
    """A recording read from kinemyo's ``.npz`` layout: a dict of streams with a ``source``."""

    source: str = ""


def write_npz(recording: Any, path: str | os.PathLike[str]) -> None:
    """Write streams (``.data``, ``.fs``, ``.channel_names``) to kinemyo's ``.npz`` layout, atomically."""
    import io

    from ..batch import atomic_write_bytes

    arrays: dict[str, Any] = {}
    streams = recording.streams if hasattr(recording, "streams") else recording
    for name, s in streams.items():
        arrays[f"{name}.data"] = np.asarray(s.data)
        arrays[f"{name}.fs"] = np.float64(s.fs)
        arrays[f"{name}.channel_names"] = np.array(list(getattr(s, "channel_names", []) or []), dtype=str)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def read_recording(path: str | os.PathLike[str]) -> Any:
    """Read a recording; raises ValueError naming the file and the reason."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    if p.suffix.lower() == ".npz":
        try:
            with open(p, "rb") as fh, np.load(fh, allow_pickle=False) as z:
                rec = NpzRecording()
                names = sorted({k.rsplit(".", 1)[0] for k in z.files})
                for n in names:
                    if f"{n}.data" not in z.files or f"{n}.fs" not in z.files:
                        raise ValueError(f"stream {n!r} needs {n}.data and {n}.fs")
                    chans = [str(c) for c in z[f"{n}.channel_names"]] if f"{n}.channel_names" in z.files else []
                    data = np.asarray(z[f"{n}.data"])
                    if data.ndim == 1:
                        data = data[:, None]
                    if data.shape[0] == 0:
                        raise ValueError(f"stream {n!r} has zero samples")
                    fs = float(z[f"{n}.fs"])
                    if not (np.isfinite(fs) and fs > 0):
                        raise ValueError(f"stream {n!r} has sampling rate {fs}; must be finite and > 0 Hz")
                    rec[n] = _NpzStream(data, fs, chans)
                rec.source = str(p)
                return rec
        except ValueError as exc:
            raise ValueError(f"{p}: not a kinemyo .npz recording ({exc})") from None
        except (OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError,
                struct.error, TypeError, IndexError) as exc:  # what numpy/zipfile raise on mangled archives
            raise ValueError(f"{p}: unreadable or corrupt .npz file ({type(exc).__name__}: {exc})") from None
    try:
        import kinemyo.io as kio
    except ImportError:
        raise ValueError(f"{p}: unsupported file type {p.suffix!r} (this installation reads .npz; "
                         "the other formats come with kinemyo.io)") from None
    return kio.read(p)


def process_file(path: str, work_dir: str, config: PipelineConfig | str | None = None) -> dict[str, Any]:
    """Batch task: read ``path``, run the pipeline, write report, tables and summary into ``work_dir``.
    Returns a few summary numbers for the manifest.

    ``config`` is best given as the :class:`PipelineConfig` itself (it pickles to the workers), so
    that every file of a batch uses the configuration that was fingerprinted; a path is read here.
    The summary is written last, so that it holds every warning (also "report skipped")."""
    cfg = config if isinstance(config, PipelineConfig) else load_config(config)
    rec = read_recording(path)
    result = run(rec, cfg)
    if cfg["output"]["report"]:
        try:
            from .report import write_report

            write_report(result, work_dir, Path(path).name)
        except ImportError:
            result.warnings.append("report skipped: matplotlib is not installed (pip install 'kinemyo[plot]')")
        except Exception as exc:  # the figure is a by-product: its failure must not fail the analysis
            result.warnings.append(f"report failed: {type(exc).__name__}: {exc}")
    write_result(result, work_dir, tuple(cfg["output"]["formats"]), cfg["output"]["signals"])
    m = result.metrics
    return {k: m[k] for k in ("peak_flexion_deg", "n_repetitions", "n_holds", "median_emg_latency_ms") if k in m}

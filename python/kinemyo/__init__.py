"""kinemyo: wearable IMU and surface-EMG processing with a fast C++ core.

Subpackages and modules
-----------------------
filters
    Butterworth/notch design, streaming SOS filters, envelope, moving RMS/average, TKEO, chains,
    offline ``sosfilt``/``sosfiltfilt``.
io
    Recordings (named multi-rate streams), readers/writers for CSV, EDF/BDF, C3D, XDF, HDF5,
    Parquet, alignment and gap detection. Loaded on first use (``kinemyo.io``).

Conventions: signals are ``(n_samples, n_channels)`` arrays (time-major), float32 or float64;
sampling rates in Hz, times in seconds.
"""

from __future__ import annotations

from . import (
    _core,  # noqa: F401  (loads the extension; fails early if it is missing)
    filters,
)

__version__ = "0.1.0"
__all__ = ["__version__", "filters", "io"]


def __getattr__(name: str) -> object:
    # kinemyo.io loads on first use, keeping ``import kinemyo`` light
    if name == "io":
        import importlib

        return importlib.import_module(".io", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


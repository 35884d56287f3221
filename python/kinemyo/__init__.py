"""kinemyo: wearable IMU and surface-EMG processing with a fast C++ core.

Subpackages and modules
-----------------------
filters
    Butterworth/notch design, streaming SOS filters, envelope, moving RMS/average, TKEO, chains,
    offline ``sosfilt``/``sosfiltfilt``.
quaternion
    Quaternion algebra over arrays (products, rotations, Euler sequences, slerp, heading split).
fusion
    Orientation filters: Madgwick, Mahony, complementary, and kinemyo's RobustAHRS; ``estimate``.
kinematics
    Two-IMU lumbar angles (flexion, lateral bending, axial rotation) and sensor-to-segment
    calibration.
onset
    Muscle-activation onsets/offsets, movement onsets, EMG onset latency tables.
metrics
    Clinical measures: range of motion, holds, repetitions, movement phases and EMG onset
    latencies, %MVC, co-contraction, flexion-relaxation, PNF timing, EMG spectral fatigue.
io
    Recordings (named multi-rate streams), readers/writers for CSV, EDF/BDF, C3D, XDF, HDF5,
    Parquet, alignment and gap detection. Loaded on first use (``kinemyo.io``).
pipeline, batch, sim
    TOML-configured processing of recordings, batch runs (processes, any Executor, Dask),
    simulators with ground truth (IMU, EMG, the demo session).

Conventions: signals are ``(n_samples, n_channels)`` arrays (time-major), float32 or float64;
sampling rates in Hz, times in seconds; quaternions (w, x, y, z), sensor -> earth, ENU.
"""

from __future__ import annotations

from . import (
    _core,  # noqa: F401  (loads the extension; fails early if it is missing)
    filters,
)

__version__ = "0.1.0"
__all__ = ["__version__", "filters", "fusion", "io", "kinematics", "metrics", "onset", "quaternion"]

_LAZY = {"io", "metrics", "fusion", "kinematics", "onset", "quaternion", "pipeline", "batch", "sim"}


def __getattr__(name: str) -> object:
    # submodules load on first use, keeping ``import kinemyo`` light
    if name in _LAZY:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

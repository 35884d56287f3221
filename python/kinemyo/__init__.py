"""kinemyo: wearable IMU and surface-EMG processing with a fast C++ core.

Subpackages and modules
-----------------------
filters
    Butterworth/notch design, streaming SOS filters, envelope, moving RMS/average, TKEO, chains,
    offline ``sosfilt``/``sosfiltfilt``.
quaternion
    Quaternion algebra (w, x, y, z), Hamilton, sensor -> earth, vectorised over arrays.
fusion
    Orientation filters (Madgwick, Mahony, Complementary, RobustAHRS) and ``estimate``.
sim_imu
    IMU simulator with ground truth (import explicitly: ``from kinemyo import sim_imu``).

Conventions: signals are ``(n_samples, n_channels)`` arrays (time-major), float32 or float64;
sampling rates in Hz, times in seconds.
"""

from __future__ import annotations

from . import _core, filters, fusion, quaternion

__version__ = "0.1.0"
__all__ = ["__version__", "filters", "fusion", "quaternion"]

assert _core is not None

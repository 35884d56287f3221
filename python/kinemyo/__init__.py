"""kinemyo: wearable IMU and surface-EMG processing with a fast C++ core.

Subpackages and modules
-----------------------
filters
    Butterworth/notch design, streaming SOS filters, envelope, moving RMS/average, TKEO, chains,
    offline ``sosfilt``/``sosfiltfilt``.
onset
    Muscle-activation onset/offset detection (offline ``detect``, streaming ``OnlineDetector``),
    ECG removal, movement onsets and EMG-movement latency tables.
sim
    Simulators with known truth (surface EMG).

Conventions: signals are ``(n_samples, n_channels)`` arrays (time-major), float32 or float64;
sampling rates in Hz, times in seconds.
"""

from __future__ import annotations

from . import _core, filters, onset, sim

__version__ = "0.1.0"
__all__ = ["__version__", "filters", "onset", "sim"]

assert _core is not None

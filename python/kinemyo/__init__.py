"""kinemyo: wearable IMU and surface-EMG processing with a fast C++ core.

Subpackages and modules
-----------------------
filters
    Butterworth/notch design, streaming SOS filters, envelope, moving RMS/average, TKEO, chains,
    offline ``sosfilt``/``sosfiltfilt``.
metrics
    Clinical measures: range of motion, holds, repetitions, movement phases and EMG onset
    latencies, %MVC, co-contraction, flexion-relaxation, PNF timing, EMG spectral fatigue.

Conventions: signals are ``(n_samples, n_channels)`` arrays (time-major), float32 or float64;
sampling rates in Hz, times in seconds.
"""

from __future__ import annotations

from . import _core, filters, metrics

__version__ = "0.1.0"
__all__ = ["__version__", "filters", "metrics"]

assert _core is not None

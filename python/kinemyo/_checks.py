"""Argument checks shared by the modules of the Python API."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["check_fs"]


def check_fs(fs: Any, name: str = "fs") -> float:
    """A sampling rate as a float: a real number (a Python or NumPy scalar, or a 0-d array),
    finite and > 0. ``TypeError`` for anything else that is not one number (a string, ``None``,
    a bool, an array of several values), ``ValueError`` for a rate that is not finite and > 0."""
    if isinstance(fs, np.ndarray) and fs.ndim == 0:
        fs = fs[()]
    if isinstance(fs, (bool, np.bool_)) or not isinstance(fs, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number (Hz); got {type(fs).__name__}")
    v = float(fs)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a finite sampling rate > 0 Hz; got {fs!r}")
    return v

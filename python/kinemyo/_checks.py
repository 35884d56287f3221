"""Argument checks shared by the modules of the Python API."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["check_fs"]


def check_fs(fs: Any, name: str = "fs") -> float:
    """A sampling rate as a float: a real number (a Python or NumPy scalar, a Fraction or Decimal,
    a 0-d array), finite and > 0. ``TypeError`` for what is not one number (a string — even
    ``"2000"`` —, ``None``, a bool, an array of several values), ``ValueError`` for a rate that is
    not finite and > 0."""
    if isinstance(fs, np.ndarray) and fs.ndim == 0:
        fs = fs[()]
    if isinstance(fs, (bool, np.bool_, str, bytes, np.ndarray)) or fs is None:
        raise TypeError(f"{name} must be a number (Hz); got {type(fs).__name__}")
    try:
        v = float(fs)  # any real number type (int, float, NumPy scalars, Fraction, Decimal)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number (Hz); got {type(fs).__name__}") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a finite sampling rate > 0 Hz; got {fs!r}")
    return v

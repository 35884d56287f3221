"""Shared fixtures and helpers for the test suite."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# Lab Streaming Layer stays on this machine in the tests: no multicast or broadcast to the network
# (tests/lsl_api.cfg). Set before anything imports pylsl (liblsl reads it once, at load).
os.environ.setdefault("LSLAPICFG", str(Path(__file__).resolve().parent / "lsl_api.cfg"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


def random_splits(n: int, rng: np.random.Generator, max_chunk: int = 50) -> list[int]:
    """Chunk lengths summing to n, with empty and one-sample chunks among them."""
    out: list[int] = []
    left = n
    while left > 0:
        k = int(min(left, rng.integers(0, max_chunk)))
        out.append(k)
        left -= k
    return out


def run_in_chunks(proc, x: np.ndarray, splits: list[int]) -> np.ndarray:
    parts = []
    t = 0
    for k in splits:
        parts.append(proc(x[t:t + k]))
        t += k
    return np.concatenate(parts, axis=0) if parts else proc(x[:0])

"""No memory growth over many create / process / destroy cycles (leaks in the binding layer)."""

from __future__ import annotations

import copy
import gc
import pickle

import numpy as np

from kinemyo import filters as kf
from kinemyo import kinematics as km


def rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4


def cycle(x: np.ndarray, q: np.ndarray) -> None:
    sos = kf.butter(4, (20.0, 450.0), 2000.0, "bandpass")
    procs = [kf.SosFilter(sos, 4, init="steady"), kf.MovingRMS(2000.0, 4, 0.05), kf.TKEO(4),
             kf.Envelope(2000.0, 4, highpass=30.0)]
    chain = kf.Chain(procs)
    chain(x)
    twin = pickle.loads(pickle.dumps(chain))
    copy.deepcopy(procs[0])(x)
    twin(x)
    _ = procs[0].state
    kf.sosfiltfilt(sos, x)
    km.lumbar_angles(q, q)
    try:
        procs[0](x[:, :3])
    except ValueError:
        pass


def test_no_growth_over_10000_cycles() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 4))
    q = np.tile([1.0, 0.0, 0.0, 0.0], (64, 1))
    for _ in range(500):  # warm-up: allocator pools, caches
        cycle(x, q)
    gc.collect()
    before = rss_kb()
    for _ in range(10_000):
        cycle(x, q)
    gc.collect()
    grown = rss_kb() - before
    assert grown < 4096, f"RSS grew by {grown} kB over 10,000 cycles"

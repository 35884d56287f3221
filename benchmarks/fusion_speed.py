"""Orientation filters, ns per sample, side by side with VQF (C++ via `vqf.VQF.updateBatch`) in the
same run: batch over 10,000 samples at 100 Hz (7 rounds of 3 calls, interleaved), and streaming
with one sample per Python call (Madgwick's streaming figure is mostly the cost of the call
itself). Prints median and minimum over the rounds (the machine is shared: compare ratios within
one run).

    python benchmarks/fusion_speed.py
    python benchmarks/fusion_speed.py --streaming   # streaming rows only, 15 rounds of 10,000 calls
"""

from __future__ import annotations

import sys
import timeit

import numpy as np

from kinemyo import fusion as kfu
from kinemyo.sim import random_rotation, simulate_imu


def main(streaming_only: bool = False) -> None:
    from vqf import VQF

    q, _ = random_rotation(100.0, 100.0, rate_dps=60, seed=1)
    rec = simulate_imu(q, 100.0, seed=2)
    g, a, m = (np.ascontiguousarray(v) for v in (rec.gyr, rec.acc, rec.mag))
    n = len(g)
    cases = {
        "Madgwick 6D": lambda: kfu.Madgwick(100.0).update(g, a),
        "Madgwick 9D": lambda: kfu.Madgwick(100.0).update(g, a, m),
        "Mahony 6D": lambda: kfu.Mahony(100.0).update(g, a),
        "Mahony 9D": lambda: kfu.Mahony(100.0).update(g, a, m),
        "RobustAHRS 6D": lambda: kfu.RobustAHRS(100.0).update(g, a),
        "RobustAHRS 9D": lambda: kfu.RobustAHRS(100.0).update(g, a, m),
        "VQF 6D": lambda: VQF(0.01).updateBatch(g, a),
        "VQF 9D": lambda: VQF(0.01).updateBatch(g, a, m),
    }
    if streaming_only:
        cases = {}
    res: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(7):
        for k, f in cases.items():
            res[k].append(timeit.timeit(f, number=3) / 3 / n * 1e9)
    f = kfu.RobustAHRS(100.0)
    g1, a1, m1 = g[:1].copy(), a[:1].copy(), m[:1].copy()
    v = VQF(0.01)
    gg, aa, mm = g[0].copy(), a[0].copy(), m[0].copy()

    def vqf_step() -> np.ndarray:
        v.update(gg, aa, mm)
        return v.getQuat9D()

    mw = kfu.Madgwick(100.0)  # ~50 ns of filtering: its streaming figure is the call overhead
    res["RobustAHRS streaming 9D, 1 sample/call"] = []
    res["VQF streaming 9D, 1 sample/call"] = []
    res["Madgwick streaming 9D, 1 sample/call"] = []
    rounds, calls = (15, 10000) if streaming_only else (7, 20000)
    for _ in range(rounds):
        res["RobustAHRS streaming 9D, 1 sample/call"].append(
            timeit.timeit(lambda: f.update(g1, a1, m1), number=calls) / calls * 1e9)
        res["VQF streaming 9D, 1 sample/call"].append(timeit.timeit(vqf_step, number=calls) / calls * 1e9)
        res["Madgwick streaming 9D, 1 sample/call"].append(
            timeit.timeit(lambda: mw.update(g1, a1, m1), number=calls) / calls * 1e9)
    print("| filter | median ns/sample | min ns/sample |")
    print("|---|---|---|")
    for k, t in res.items():
        print(f"| {k} | {np.median(t):.0f} | {np.min(t):.0f} |")


if __name__ == "__main__":
    main(streaming_only="--streaming" in sys.argv[1:])

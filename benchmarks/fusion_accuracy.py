"""Orientation accuracy on the simulator suite: kinemyo vs the published VQF (PyPI `vqf`) and the
classic filters at their best single gain, side by side in one run.

    python benchmarks/fusion_accuracy.py [--duration 300] [--seeds 3]

Prints a Markdown table of RMSE in degrees (total / heading / inclination for 9D, inclination
for 6D) over the movement phases (rest phases and the first 5 s excluded).
"""

from __future__ import annotations

import argparse

import numpy as np

from kinemyo import fusion as kfu
from kinemyo.sim import FUSION_SCENARIOS, fusion_scenario, orientation_errors


def run(duration: float, seeds: int) -> None:
    from vqf import VQF, offlineVQF

    fs = 100.0
    rows = []
    for use_mag in (False, True):
        for name in FUSION_SCENARIOS:
            if name == "magnetic disturbance" and not use_mag:
                continue
            acc_: dict[str, list[tuple[float, float, float]]] = {}
            for seed in range(seeds):
                rec = fusion_scenario(name, fs, duration, seed)
                mag = rec.mag if use_mag else None
                mask = ~rec.rest.copy()
                mask[: round(5 * fs)] = False
                g, a = np.ascontiguousarray(rec.gyr), np.ascontiguousarray(rec.acc)
                m = None if mag is None else np.ascontiguousarray(mag)
                key = "quat9D" if use_mag else "quat6D"
                res = {
                    "kinemyo": kfu.estimate(g, a, m, fs=fs),
                    "VQF": VQF(1 / fs).updateBatch(g, a, m)[key],
                    "kinemyo offline": kfu.estimate(g, a, m, fs=fs, offline=True),
                    "offlineVQF": offlineVQF(g, a, m, 1 / fs)[key],
                }
                for b in (0.01, 0.03, 0.1):
                    res[f"Madgwick b={b}"] = kfu.estimate(g, a, m, fs=fs, method="madgwick", beta=b)
                for kp in (0.1, 0.5, 1.0):
                    res[f"Mahony kp={kp}"] = kfu.estimate(g, a, m, fs=fs, method="mahony", kp=kp, ki=0.1 * kp)
                for k, q in res.items():
                    acc_.setdefault(k, []).append(orientation_errors(q, rec.q, mask))
            mean = {k: np.mean(v, axis=0) for k, v in acc_.items()}
            best_mw = min((k for k in mean if k.startswith("Madgwick")), key=lambda k: mean[k][0 if use_mag else 2])
            best_mh = min((k for k in mean if k.startswith("Mahony")), key=lambda k: mean[k][0 if use_mag else 2])
            rows.append((("9D " if use_mag else "6D ") + name, mean, best_mw, best_mh, use_mag))
    cols = ["kinemyo", "VQF", "kinemyo offline", "offlineVQF"]
    print("| scenario | " + " | ".join(cols) + " | best Madgwick | best Mahony |")
    print("|---" * (len(cols) + 3) + "|")
    def fmt(v: np.ndarray, nine: bool) -> str:
        return f"{v[0]:.3f} / {v[1]:.3f} / {v[2]:.3f}" if nine else f"{v[2]:.3f}"

    for label, mean, bmw, bmh, use_mag in rows:
        cells = [fmt(mean[c], use_mag) for c in cols]
        cells += [f"{fmt(mean[bmw], use_mag)} ({bmw.split()[1]})", f"{fmt(mean[bmh], use_mag)} ({bmh.split()[1]})"]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=float, default=300.0)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    run(args.duration, args.seeds)

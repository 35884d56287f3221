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


def run_white_translation(duration: float, seeds: int) -> None:
    """6D inclination RMSE on the translation scenario as it was before 2026-11-29: band-limited
    white linear acceleration (flat down to 0 Hz, 3 m/s² RMS), not physical (see docs/fusion.md)."""
    from vqf import VQF, offlineVQF

    from kinemyo.sim import random_rotation, simulate_imu
    from kinemyo.sim.imu import _smooth_noise

    fs = 100.0
    res: dict[str, list[float]] = {}
    for seed in range(seeds):
        q, rest = random_rotation(duration, fs, rate_dps=40, bandwidth_hz=0.5, seed=seed)
        lin = _smooth_noise(np.random.default_rng(seed + 100), len(q), fs, 2.0) * 3.0
        rec = simulate_imu(q, fs, lin, rest=rest, seed=seed + 1, gyr_bias_dps=(0.8, -0.5, 0.4))
        mask = ~rec.rest.copy()
        mask[: round(5 * fs)] = False
        g, a = np.ascontiguousarray(rec.gyr), np.ascontiguousarray(rec.acc)
        out = {"kinemyo": kfu.estimate(g, a, fs=fs), "VQF": VQF(1 / fs).updateBatch(g, a)["quat6D"],
               "kinemyo offline": kfu.estimate(g, a, fs=fs, offline=True),
               "offlineVQF": offlineVQF(g, a, None, 1 / fs)["quat6D"]}
        for k, qq in out.items():
            res.setdefault(k, []).append(orientation_errors(qq, rec.q, mask)[2])
    print("| 6D white translation (legacy) | " + " | ".join(f"{k} {np.mean(v):.3f}" for k, v in res.items()) + " |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=float, default=300.0)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--white-translation", action="store_true",
                    help="only the legacy (non-physical) white-acceleration translation scenario, 6D")
    args = ap.parse_args()
    if args.white_translation:
        run_white_translation(args.duration, args.seeds)
    else:
        run(args.duration, args.seeds)

"""Onset accuracy of kinemyo's detectors on the EMG simulator, per SNR, with and without ECG.

    python benchmarks/onset_accuracy.py [--seeds 6] [--minutes 2]

Truth = first sample of each (0–60 ms ramped) rise; an onset matches within ±200 ms; MAE in ms of
matched onsets, detection rate, false positives per minute (unmatched detections, fragments
included). The peers named in the issue (biosppy, neurokit2) are not in this table yet.
"""

from __future__ import annotations

import argparse

import numpy as np

from kinemyo import onset
from kinemyo.sim import simulate_emg

FS = 2000.0


def score(det: np.ndarray, truth: np.ndarray) -> tuple[list[float], int, int]:
    errs: list[float] = []
    used: set[int] = set()
    for t in truth[:, 0]:
        if len(det) == 0:
            break
        j = int(np.argmin(np.abs(det[:, 0] - t)))
        if abs(det[j, 0] - t) <= 0.2 * FS and j not in used:
            used.add(j)
            errs.append(float((det[j, 0] - t) / FS * 1000.0))
    return errs, len(truth), len(det) - len(used)


def main(seeds: int, minutes: float) -> None:
    print("| method | ECG | " + " | ".join(f"{s} dB: MAE ms / det % / FP/min" for s in (3, 6, 10, 20)) + " |")
    print("|---|---|---|---|---|---|")
    for method in ("default", "hodges", "tkeo"):
        for ecg in (0.0, 0.3):
            cells = []
            for snr in (3, 6, 10, 20):
                errs: list[float] = []
                n = fp = 0
                for seed in range(seeds):
                    r = simulate_emg(60 * minutes, FS, 1, snr_db=snr, ecg_amplitude=ecg, seed=seed)
                    e, k, f = score(onset.detect(r.x[:, 0], FS, method), r.events[0])
                    errs += e
                    n += k
                    fp += f
                mae = float(np.mean(np.abs(errs))) if errs else float("nan")
                cells.append(f"{mae:.1f} / {100 * len(errs) / max(n, 1):.0f} / {fp / (seeds * minutes):.1f}")
            print(f"| {method} | {'yes' if ecg else 'no'} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--minutes", type=float, default=2.0)
    a = ap.parse_args()
    main(a.seeds, a.minutes)

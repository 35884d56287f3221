"""Movement-artefact rejection of kinemyo's default onset detector, on artefact shapes other than
the simulator's spike (script; the numbers in docs/onset.md give the command actually used).

    python benchmarks/bench_onset_artefacts.py [--minutes 2] [--rate 10]
    python benchmarks/bench_onset_artefacts.py --speed   (cost of the check: same build, with and
        without it, interleaved; 1 channel-minute at 10 dB, rest window and automatic baseline)
    python benchmarks/bench_onset_artefacts.py --keep    (activations kept: records without
        artefacts, 16 simulator settings x 4 records x 2 baselines, events with vs without the check)

For each shape and peak amplitude (units of the baseline-noise RMS; each artefact 0.5-1 x the
peak, random sign) the artefacts are added at Poisson times to baseline noise only (the
simulator at -300 dB: no visible bursts), and the events of ``onset.detect`` are counted with and
without ``reject_artefacts`` (every event here is a false positive). Shapes:

- ``spike``: the simulator's biphasic Gaussian derivative, but with sigma 4-16 ms (it uses 8 ms);
- ``lobe``: monophasic Gaussian lobe, sigma 5-30 ms;
- ``slow``: one cycle of a 2-5 Hz sinusoid (cable sway);
- ``step``: electrode shift, raised-cosine edge of 1-20 ms then exponential decay 0.1-0.5 s;
- ``pop``: short sharp pop, 0.5-2 ms rise then 2-10 ms exponential decay;
- ``sway``: damped 5-15 Hz oscillation, three cycles.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from kinemyo import onset
from kinemyo.sim import simulate_emg

FS = 2000.0
REST = (0.0, 1.5)
KINDS = ("spike", "lobe", "slow", "step", "pop", "sway")


def shape(kind: str, rng: np.random.Generator) -> np.ndarray:
    """One artefact waveform of unit peak (samples at FS)."""
    if kind == "spike":
        s = rng.uniform(0.004, 0.016)
        t = np.arange(-6 * s, 6 * s, 1 / FS)
        return -t / s * np.exp(0.5 - 0.5 * (t / s) ** 2)
    if kind == "lobe":
        s = rng.uniform(0.005, 0.03)
        t = np.arange(-5 * s, 5 * s, 1 / FS)
        return np.exp(-0.5 * (t / s) ** 2)
    if kind == "slow":
        f = rng.uniform(2.0, 5.0)
        t = np.arange(0.0, 1.0 / f, 1 / FS)
        return np.sin(2 * np.pi * f * t)
    if kind == "step":
        rise, tau = rng.uniform(0.001, 0.02), rng.uniform(0.1, 0.5)
        t = np.arange(0.0, rise + 12 * tau, 1 / FS)
        up = np.where(t < rise, 0.5 - 0.5 * np.cos(np.pi * t / rise), 1.0)
        return up * np.exp(-np.maximum(t - rise, 0.0) / tau)
    if kind == "pop":
        rise, tau = rng.uniform(0.0005, 0.002), rng.uniform(0.002, 0.01)
        t = np.arange(0.0, rise + 12 * tau, 1 / FS)
        return np.where(t < rise, t / rise, np.exp(-(t - rise) / tau))
    if kind == "sway":
        f = rng.uniform(5.0, 15.0)
        t = np.arange(0.0, 3.0 / f, 1 / FS)
        return np.sin(2 * np.pi * f * t) * np.exp(-t * f)
    raise ValueError(kind)


def run(minutes: float, rate: float, amps=(10, 30, 100, 300)) -> str:
    lines = ["| shape | peak (x noise RMS) | artefacts | events without check | events with check |",
             "|---|---|---|---|---|"]
    for kind in KINDS:
        for amp in amps:
            n_art = n_off = n_on = 0
            for s in range(max(1, round(minutes / 2))):
                rng = np.random.default_rng(1000 * KINDS.index(kind) + s)
                x = simulate_emg(120.0, FS, None, snr_db=-300.0, seed=50 + s).signal.copy()
                k = int(rng.poisson(rate * 2.0))
                pos = np.sort(rng.integers(int(1.6 * FS), len(x) - int(0.5 * FS), size=k))
                for p in pos:
                    w = shape(kind, rng) * amp * rng.uniform(0.5, 1.0) * rng.choice([-1.0, 1.0])
                    m = min(len(w), len(x) - p)
                    x[p:p + m] += w[:m]
                n_art += k
                n_off += len(onset.detect(x, FS, rest=REST, reject_artefacts=False))
                n_on += len(onset.detect(x, FS, rest=REST, reject_artefacts=True))
            lines.append(f"| {kind} | {amp} | {n_art} | {n_off} | {n_on} |")
    return "\n".join(lines)


KEEP = [("3 dB", {"snr_db": 3}), ("6 dB", {"snr_db": 6}), ("10 dB", {"snr_db": 10}),
        ("20 dB", {"snr_db": 20}), ("3 dB ECG", {"snr_db": 3, "ecg": True}),
        ("6 dB ECG", {"snr_db": 6, "ecg": True}), ("10 dB ECG", {"snr_db": 10, "ecg": True}),
        ("20 dB ECG", {"snr_db": 20, "ecg": True}),
        ("6 dB, EMG spectrum 40/80 Hz", {"snr_db": 6, "spectrum": (40.0, 80.0)}),
        ("20 dB, EMG spectrum 40/80 Hz", {"snr_db": 20, "spectrum": (40.0, 80.0)}),
        ("10 dB abrupt", {"snr_db": 10, "rise_s": (0.0, 0.0)}),
        ("6 dB sigmoid rises", {"snr_db": 6, "rise_shape": "sigmoid"}),
        ("10 dB bursts 0.1-0.2 s", {"snr_db": 10, "burst_s": (0.1, 0.2), "fall_s": (0.01, 0.03)}),
        ("6 dB wander 20", {"snr_db": 6, "wander_amplitude": 20.0}),
        ("6 dB hum 50 Hz", {"snr_db": 6, "hum_hz": 50.0, "hum_amplitude": 1.0}),
        ("6 dB rises 0-150 ms", {"snr_db": 6, "rise_s": (0.0, 0.15)})]


def keep(records: int = 4) -> str:
    lines = ["| setting | events without check | events that differ with the check |", "|---|---|---|"]
    for name, kw in KEEP:
        n = d = 0
        ecg = "template" if kw.get("ecg") else "none"
        for s in range(records):
            r = simulate_emg(120.0, FS, None, seed=2000 + s, **kw)  # type: ignore[arg-type]
            for rest in (REST, None):
                a = onset.detect(r.signal, FS, rest=rest, ecg=ecg, reject_artefacts=True)
                b = onset.detect(r.signal, FS, rest=rest, ecg=ecg, reject_artefacts=False)
                n += len(b)
                d += len({tuple(e) for e in b.tolist()} ^ {tuple(e) for e in a.tolist()})
        lines.append(f"| {name} | {n} | {d} |")
    return "\n".join(lines)


def speed(rounds: int = 60) -> str:
    x = simulate_emg(60.0, FS, None, snr_db=10.0, seed=1).signal
    runs = {"rest window, check": lambda: onset.detect(x, FS, rest=REST, reject_artefacts=True),
            "rest window, no check": lambda: onset.detect(x, FS, rest=REST, reject_artefacts=False),
            "automatic baseline, check": lambda: onset.detect(x, FS, reject_artefacts=True),
            "automatic baseline, no check": lambda: onset.detect(x, FS, reject_artefacts=False)}
    ts: dict[str, list[float]] = {k: [] for k in runs}
    for f in runs.values():
        f()
    for _ in range(rounds):
        for k, f in runs.items():
            t0 = time.perf_counter()
            f()
            ts[k].append(time.perf_counter() - t0)
    lines = ["| 1 channel x 1 min @ 2 kHz, 10 dB | median ms | min ms |", "|---|---|---|"]
    lines += [f"| {k} | {1e3 * float(np.median(v)):.3f} | {1e3 * min(v):.3f} |" for k, v in ts.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=2.0, help="minutes of noise per shape and amplitude")
    ap.add_argument("--rate", type=float, default=10.0, help="artefacts per minute")
    ap.add_argument("--speed", action="store_true", help="cost of the check (see the module doc)")
    ap.add_argument("--keep", action="store_true", help="activations kept (see the module doc)")
    a = ap.parse_args()
    t0 = time.time()
    print(speed() if a.speed else keep() if a.keep else run(a.minutes, a.rate))
    print(f"\n_{time.time() - t0:.0f} s, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}_")

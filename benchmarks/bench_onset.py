"""Onset detection: speed (pytest-benchmark) and accuracy vs biosppy / neurokit2 (script).

Speed:     pytest benchmarks/bench_onset.py --benchmark-only
           (also passes with --benchmark-disable)
Speed side by side with ratios: python benchmarks/bench_onset.py --speed
Accuracy:  python benchmarks/bench_onset.py --minutes 20 --calib-minutes 2 > table.md
           (--no-peers / --no-kinemyo / --snr 6 3 / --ecg no|yes to split the run; --rise-shape
           cosine|sigmoid for rise shapes the flagship does not model; --spikes-per-min 6
           --spike-amplitude 20 adds the simulator's movement-artefact spikes, --carrier muap
           simulates motor-unit action-potential trains instead of the Gaussian carrier (--truth
           first-activity scores against each burst's first action potential), --artefact-check
           runs the flagship with reject_artefacts=True; the peers need
           the `bench-onset` extra: pip install kinemyo[bench-onset]; they are skipped if missing)
           (the numbers in docs/onset.md give the command actually used)

Scoring (per SNR, with/without ECG): truth onset = first sample of the rise; a detected onset
within +/-200 ms of a true onset is matched (each detection at most once, nearest first); MAE of
matched onsets (ms), detection rate (matched / true), false positives per minute (unmatched
detections, so a fragment inside a burst counts as one).

Fair chance for the peers: the signal is band-passed 20-450 Hz (zero phase, 4th order; with ECG the
low edge is 30 Hz), divided by the SD of the rest window (0-1.5 s), the rest window is passed to
the detector, and the main threshold is chosen from a grid on separate calibration records (other
seeds) by minimising J = MAE + 200 (1 - detection rate) + 10 FP/min. kinemyo runs with its
defaults (ecg="template" on the ECG records), untuned.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable

import numpy as np
import pytest

from kinemyo import onset
from kinemyo.sim import simulate_emg

FS = 2000.0
REST = (0.0, 1.5)


# ----------------------------------------------------------------------------------- scoring
def score(on: np.ndarray, truth: np.ndarray, fs: float,
          dur_s: float) -> tuple[float, int, int, int]:
    """(sum of |error| ms, n matched, n true, n false positives)."""
    on = np.sort(np.asarray(on, dtype=np.int64).ravel())
    used_t: set[int] = set()
    used_o: set[int] = set()
    err = 0.0
    idx = {}
    for j, t in enumerate(truth[:, 0]):
        sel = np.flatnonzero((on >= t - 0.2 * fs) & (on <= t + 0.2 * fs))
        idx[j] = sel
    pairs = sorted((abs(int(on[i]) - int(truth[j, 0])), i, j)
                   for j, sel in idx.items() for i in sel)
    for d, i, j in pairs:
        if i in used_o or j in used_t:
            continue
        used_o.add(i)
        used_t.add(j)
        err += d / fs * 1000.0
    return err, len(used_t), len(truth), len(on) - len(used_o)


# ----------------------------------------------------------------------------------- peers
def _condition(x: np.ndarray, fs: float, ecg: bool) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt
    sos = butter(4, (30.0 if ecg else 20.0, 450.0), "bandpass", fs=fs, output="sos")
    y = sosfiltfilt(sos, x)
    r = y[int(REST[0] * fs):int(REST[1] * fs)]
    return y / np.std(r)


def _biosppy(name: str, **kw) -> Callable[[np.ndarray, float, float], np.ndarray]:
    def run(y: np.ndarray, fs: float, thr: float) -> np.ndarray:
        from biosppy.signals import emg
        rest = y[int(REST[0] * fs):int(REST[1] * fs)]
        f = getattr(emg, f"{name}_onset_detector")
        args = dict(signal=y, sampling_rate=fs, threshold=thr, **kw)
        if name != "silva":
            args["rest"] = rest
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = np.asarray(f(**args)[0], dtype=np.int64)
        return out[0::2]  # merged sorted onsets/offsets: onsets at even positions
    return run


def _neurokit(method: str) -> Callable[[np.ndarray, float, float | None], np.ndarray]:
    def run(y: np.ndarray, fs: float, thr: float | None) -> np.ndarray:
        import neurokit2 as nk
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            amp = nk.emg_amplitude(y)
            kw = {} if thr is None else {"threshold": thr}
            _, info = nk.emg_activation(emg_amplitude=amp, emg_cleaned=y, sampling_rate=int(fs),
                                        method=method, **kw)
        return np.asarray(info["EMG_Onsets"], dtype=np.int64)
    return run


def peers(fs: float) -> dict[str, tuple[Callable, list]]:
    w = int(0.025 * fs)
    d = int(0.03 * fs)
    return {
        "biosppy hodges_bui": (_biosppy("hodges_bui", size=w), [2, 3, 5, 8, 12, 20]),
        "biosppy bonato": (_biosppy("bonato", active_state_duration=d, samples_above_fail=1,
                                    fail_size=5), [5, 9, 15, 25, 40, 70]),
        "biosppy lidierth": (_biosppy("lidierth", size=w, active_state_duration=d,
                                      fail_size=int(0.01 * fs)), [2, 3, 5, 8, 12, 20]),
        "biosppy londral": (_biosppy("londral", size=w, active_state_duration=d),
                            [2, 3, 5, 8, 12, 20]),
        "biosppy solnik": (_biosppy("solnik", active_state_duration=d), [3, 8, 15, 30, 60, 120]),
        "biosppy silva": (_biosppy("silva", size=w, threshold_size=int(0.1 * fs)),
                          [1.5, 2, 3, 5, 8, 12]),
        "neurokit2 threshold": (_neurokit("threshold"), [0.5, 1, 1.5, 2, 3, 5]),
        "neurokit2 mixture": (_neurokit("mixture"), [0.1, 0.33, 0.5, 0.7, 0.9]),
        "neurokit2 biosppy": (_neurokit("biosppy"), [0.5, 1, 2, 3, 5]),
    }


def _available(module: str) -> bool:
    """Is the peer package installed (the `bench-onset` extra)? Missing peers are skipped."""
    import importlib.util
    ok = importlib.util.find_spec(module) is not None
    if not ok:
        print(f"# {module} not installed (pip install kinemyo[bench-onset]): its rows are skipped",
              file=sys.stderr)
    return ok


def _j(res: tuple[float, int, int, int], minutes: float) -> float:
    err, m, n, fp = res
    mae = err / m if m else 200.0
    return mae + 200.0 * (1 - m / n) + 10.0 * fp / minutes


RISE_SHAPE = "linear"  # --rise-shape: the simulator's rise shape (the default draws are unchanged)
SPIKES: dict[str, object] = {}  # --spikes-per-min / --spike-amplitude / --spectrum / --carrier: simulator options
FLAGSHIP: dict[str, object] = {}  # --artefact-check: {"reject_artefacts": True}
TRUTH = ["onset"]  # --truth: "onset" (the rise's first sample) or "first-activity"


def _records(minutes: float, snr: float, ecg: bool, seed0: int, chunk_min: float = 2.0):
    k = max(1, round(minutes / chunk_min))
    kw: dict[str, object] = {} if RISE_SHAPE == "linear" else {"rise_shape": RISE_SHAPE}
    kw.update(SPIKES)
    for s in range(k):
        r = simulate_emg(60.0 * minutes / k, FS, None, snr_db=snr, seed=seed0 + s, ecg=ecg, **kw)
        if TRUTH[0] == "first-activity":
            # bursts that recruit no unit (no EMG at all) are left out of the truth
            ev = r.events[0].copy()
            ev[:, 0] = r.first_activity[0]
            r.events[0] = ev[ev[:, 0] >= 0]
        yield r


def accuracy(minutes: float, calib_minutes: float, snrs=(3, 6, 10, 20), only=None,
             kinemyo: bool = True, with_peers: bool = True, ecgs=(False, True)) -> str:
    lines = ["| SNR dB | ECG | detector | threshold | MAE ms | detected % | FP/min |",
             "|---|---|---|---|---|---|---|"]
    for ecg in ecgs:
        for snr in snrs:
            seed_base = int(1000 * snr + (500 if ecg else 0))
            cal = ([(_condition(r.signal, FS, ecg), r.events[0], r.signal.size / FS)
                    for r in _records(calib_minutes, snr, ecg, 10**6 + seed_base)]
                   if with_peers else [])
            test = list(_records(minutes, snr, ecg, seed_base))
            rows = []
            # kinemyo (defaults, untuned)
            for name, kw in (("kinemyo default", {"ecg": "template" if ecg else "none", **FLAGSHIP}),
                             ("kinemyo hodges_bui", {"method": "hodges_bui"}),
                             ("kinemyo bonato", {"method": "bonato"}),
                             ("kinemyo tkeo", {"method": "tkeo"})):
                if not kinemyo:
                    break
                if ecg and name != "kinemyo default":
                    kw = {**kw, "ecg": "highpass"}
                tot = [0.0, 0, 0, 0]
                for r in test:
                    ev = onset.detect(r.signal, FS, rest=REST, **kw)
                    res = score(ev[:, 0], r.events[0], FS, r.signal.size / FS)
                    tot = [a + b for a, b in zip(tot, res, strict=False)]
                rows.append((name, "default", tot))
            for name, (fn, grid) in peers(FS).items():
                if not with_peers:
                    break
                if not _available(name.split()[0]):
                    continue
                if only and not any(o in name for o in only):
                    continue
                best, best_thr = np.inf, grid[0]
                for thr in grid:
                    tot = [0.0, 0, 0, 0]
                    try:
                        for y, ev, dur in cal:
                            res = score(fn(y, FS, thr), ev, FS, dur)
                            tot = [a + b for a, b in zip(tot, res, strict=False)]
                    except Exception:  # a peer that fails at this threshold
                        continue
                    jj = _j(tuple(tot), calib_minutes)
                    if jj < best:
                        best, best_thr = jj, thr
                variants = [(best_thr, name)]
                if name.startswith("neurokit2"):
                    variants.append((None, name + " (defaults)"))
                for thr, label in variants:
                    tot = [0.0, 0, 0, 0]
                    ok = True
                    for r in test:
                        try:
                            on = fn(_condition(r.signal, FS, ecg), FS, thr)
                        except Exception as e:  # report, do not hide
                            print(f"# {label} failed: {e!r}", file=sys.stderr)
                            ok = False
                            break
                        res = score(on, r.events[0], FS, r.signal.size / FS)
                        tot = [a + b for a, b in zip(tot, res, strict=False)]
                    thr_s = "default" if thr is None else f"{thr:g}"
                    rows.append((label, thr_s, tot if ok else None))
            for label, thr, tot in rows:
                if tot is None:
                    yn = "yes" if ecg else "no"
                    lines.append(f"| {snr} | {yn} | {label} | {thr} | failed | | |")
                    continue
                err, m, n, fp = tot
                lines.append(f"| {snr} | {'yes' if ecg else 'no'} | {label} | {thr} | "
                             f"{err / m if m else float('nan'):.1f} | {100 * m / n:.1f} | "
                             f"{fp / minutes:.2f} |")
            print("\n".join(lines[-len(rows):]), file=sys.stderr, flush=True)
    return "\n".join(lines)


# ----------------------------------------------------------------------------------- speed
@pytest.fixture(scope="module")
def minute():
    return simulate_emg(60.0, FS, None, snr_db=10.0, seed=1).signal


@pytest.mark.benchmark(group="onset-detect-1ch-1min")
def test_speed_kinemyo(benchmark, minute):
    ev = benchmark(onset.detect, minute, FS, "default", REST)
    assert len(ev) > 10


@pytest.mark.benchmark(group="onset-detect-1ch-1min")
def test_speed_kinemyo_auto_baseline(benchmark, minute):
    ev = benchmark(onset.detect, minute, FS)
    assert len(ev) > 10


@pytest.mark.benchmark(group="onset-detect-1ch-1min")
def test_speed_biosppy_hodges(benchmark, minute):
    pytest.importorskip("biosppy")
    y = _condition(minute, FS, False)
    on = benchmark(_biosppy("hodges_bui", size=50), y, FS, 5.0)
    assert len(on) > 5


@pytest.mark.benchmark(group="onset-detect-1ch-1min")
def test_speed_neurokit2_threshold(benchmark, minute):
    pytest.importorskip("neurokit2")
    y = _condition(minute, FS, False)
    on = benchmark.pedantic(_neurokit("threshold"), args=(y, FS, 1.0), rounds=2, iterations=1)
    assert len(on) > 5


@pytest.mark.benchmark(group="onset-online-16ch-1sample")
def test_speed_online_call(benchmark):
    det = onset.OnlineDetector(FS, 16, rest=(0.0, 0.5))
    x = np.random.default_rng(0).standard_normal((1, 16))
    for _ in range(1200):
        det.process(x)
    out = benchmark(det.process, x)
    assert out.shape[1] == 3


@pytest.mark.benchmark(group="onset-online-16ch-1sample")
def test_speed_online_core_call(benchmark):
    """The core object directly (what the Python wrapper adds is the ascontiguousarray call)."""
    det = onset.OnlineDetector(FS, 16, rest=(0.0, 0.5))
    x = np.random.default_rng(0).standard_normal((1, 16))
    core = det._core
    for _ in range(1200):
        core.process(x)
    out = benchmark(core.process, x)
    assert out.shape[1] == 3


def speed_table(rounds: int = 7) -> str:
    """Side-by-side timing (median of `rounds`, interleaved) of one channel-minute at 2 kHz, and
    the ratios peer / kinemyo; also 8 channels x 1 h through kinemyo.onset.detect."""
    x = simulate_emg(60.0, FS, None, snr_db=10.0, seed=1).signal
    y = _condition(x, FS, False)
    runs: dict[str, Callable[[], object]] = {
        "kinemyo detect (rest window)": lambda: onset.detect(x, FS, rest=REST),
        "kinemyo detect (automatic baseline)": lambda: onset.detect(x, FS),
    }
    try:
        import biosppy  # noqa: F401
        runs["biosppy hodges_bui (conditioned input)"] = lambda: _biosppy("hodges_bui", size=50)(y, FS, 5.0)
        runs["biosppy lidierth (conditioned input)"] = lambda: _biosppy(
            "lidierth", size=50, active_state_duration=60, fail_size=20)(y, FS, 3.0)
    except ImportError:
        print("# biosppy not installed: pip install kinemyo[bench-onset]", file=sys.stderr)
    try:
        import neurokit2  # noqa: F401
        runs["neurokit2 emg_activation threshold (conditioned input)"] = lambda: _neurokit("threshold")(y, FS, 1.0)
    except ImportError:
        print("# neurokit2 not installed: pip install kinemyo[bench-onset]", file=sys.stderr)
    times: dict[str, list[float]] = {k: [] for k in runs}
    for f in runs.values():
        f()  # warm up
    for _ in range(rounds):
        for k, f in runs.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    ref = float(np.median(times["kinemyo detect (rest window)"]))
    lines = ["| 1 channel x 1 min @ 2 kHz | median ms | min ms | / kinemyo (rest) |", "|---|---|---|---|"]
    for k, v in times.items():
        med = float(np.median(v))
        lines.append(f"| {k} | {1e3 * med:.2f} | {1e3 * min(v):.2f} | {med / ref:.1f} |")
    # the same two calls back to back (warm caches), CPU time of this process: what the kernel
    # costs without the interleaved peers evicting its data between calls
    for label in ("rest window", "automatic baseline"):
        f = runs[f"kinemyo detect ({label})"]
        cpu = []
        for _ in range(9):
            t0 = time.process_time()
            for _ in range(20):
                f()
            cpu.append((time.process_time() - t0) / 20)
        lines.append(f"| kinemyo detect ({label}), CPU time, 9 x 20 back-to-back calls | "
                     f"{1e3 * float(np.median(cpu)):.2f} | {1e3 * min(cpu):.2f} | |")
    big = simulate_emg(600.0, FS, 8, snr_db=10.0, seed=2).signal
    big = np.concatenate([big] * 6)  # 1 h x 8 channels
    tb = []
    for _ in range(3):
        t0 = time.perf_counter()
        onset.detect(big, FS, rest=REST)
        tb.append(time.perf_counter() - t0)
    lines.append(f"| kinemyo detect, 8 channels x 1 h (rest window) | {1e3 * float(np.median(tb)):.0f} | "
                 f"{1e3 * min(tb):.0f} | |")
    det = onset.OnlineDetector(FS, 16, rest=(0.0, 0.5))
    one = np.random.default_rng(0).standard_normal((1, 16))
    for _ in range(1200):
        det.process(one)
    ts = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(20000):
            det.process(one)
        ts.append((time.perf_counter() - t0) / 20000)
    lines.append(f"| OnlineDetector.process, 16 channels x 1 sample (per call) | {1e3 * float(np.median(ts)):.5f} | "
                 f"{1e3 * min(ts):.5f} | |")
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--calib-minutes", type=float, default=2.0)
    ap.add_argument("--snr", type=float, nargs="*", default=[3, 6, 10, 20])
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--no-kinemyo", action="store_true", help="peers only")
    ap.add_argument("--no-peers", action="store_true", help="kinemyo only")
    ap.add_argument("--ecg", choices=["both", "no", "yes"], default="both")
    ap.add_argument("--speed", action="store_true", help="speed table (side by side, ratios) only")
    ap.add_argument("--rise-shape", choices=["linear", "cosine", "sigmoid"], default="linear",
                    help="rise shape of the simulated bursts (robustness to a shape not modelled)")
    ap.add_argument("--spikes-per-min", type=float, default=0.0,
                    help="movement-artefact spikes of the simulator (rate per minute)")
    ap.add_argument("--spike-amplitude", type=float, default=20.0,
                    help="peak of the spikes in units of the noise RMS (x U(0.5, 1) per channel)")
    ap.add_argument("--spectrum", type=float, nargs=2, default=None, metavar=("F_LOW", "F_HIGH"),
                    help="the simulator's Shwedyk spectrum (Hz; default: simulate_emg's own)")
    ap.add_argument("--carrier", choices=["gaussian", "muap"], default="gaussian",
                    help="the simulator's EMG carrier: Gaussian (default) or motor-unit action "
                         "potential trains (simulate_emg(carrier='muap'))")
    ap.add_argument("--truth", choices=["onset", "first-activity"], default="onset",
                    help="score against the rise's first sample (default) or the first sample of "
                         "EMG activity (SimulatedEMG.first_activity: the first action potential with "
                         "--carrier muap; the same as the onset with the Gaussian carrier)")
    ap.add_argument("--artefact-check", action="store_true",
                    help="kinemyo with reject_artefacts=True (off by default)")
    a = ap.parse_args()
    RISE_SHAPE = a.rise_shape
    if a.spikes_per_min > 0:
        SPIKES.update(spikes_per_min=a.spikes_per_min, spike_amplitude=a.spike_amplitude)
    if a.spectrum is not None:
        SPIKES["spectrum"] = tuple(a.spectrum)
    if a.carrier != "gaussian":
        SPIKES["carrier"] = a.carrier
    TRUTH[0] = a.truth
    if a.artefact_check:
        FLAGSHIP["reject_artefacts"] = True
    t0 = time.time()
    if a.speed:
        print(speed_table())
        sys.exit(0)
    ecgs = {"both": (False, True), "no": (False,), "yes": (True,)}[a.ecg]
    print(accuracy(a.minutes, a.calib_minutes, tuple(a.snr), a.only, kinemyo=not a.no_kinemyo,
                   with_peers=not a.no_peers, ecgs=ecgs))
    print(f"\n_{time.time() - t0:.0f} s, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}_")

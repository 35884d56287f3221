"""kinemyo.metrics on one hour of a session: 2 angle channels at 100 Hz + 8 EMG at 2 kHz.

The ``metrics 1 h session`` group times every measure of the module on the whole hour, one core,
float32 EMG (the usual acquisition dtype). Peers, where one exists, sit in their own group next to
the kinemyo call: repetitions vs ``scipy.signal.find_peaks`` (prominence), spectral fatigue vs
``scipy.signal.stft``. Every benchmark checks its result.

Run: ``python -m pytest benchmarks/bench_metrics.py --benchmark-columns=median,iqr,rounds``
(``-p no:randomly`` not needed); ``--benchmark-disable`` runs each once as a test.

``python benchmarks/bench_metrics.py [rounds]`` prints the median (and min) wall time and the
median CPU time of ``all_measures`` and of the spectral-fatigue step over ``rounds`` runs (default 9)
after one warm-up run, for side-by-side comparisons of two builds on a shared machine (run each
interpreter in turn, twice; CPU time leaves out the waits for a core).
"""

from __future__ import annotations

import numpy as np
import pytest

from kinemyo import metrics as km

FS_A, FS_E, T = 100.0, 2000.0, 3600.0
CYCLE_S = 12.0  # stand 3 s, bend 2 s, hold 2 s, return 2 s, stand 3 s
N_CYCLES = int(T / CYCLE_S)


def make_session() -> dict[str, np.ndarray]:
    """One hour: flexion with a 12-s forward-bend cycle, a second angle, 8 float32 EMG channels."""
    rng = np.random.default_rng(0)
    t = np.arange(int(T * FS_A)) / FS_A
    ph = t % CYCLE_S
    flex = np.interp(ph, [0, 3, 5, 7, 9, 12], [0, 0, 50, 50, 0, 0]) + 0.1 * rng.standard_normal(
        t.size
    )
    lat = 0.3 * flex + 0.1 * rng.standard_normal(t.size)
    # EMG: erector spinae (0, 1) active while bending, relaxed in full flexion; others steady
    n_e = int(T * FS_E)
    emg = rng.standard_normal((n_e, 8), dtype=np.float32)
    te = np.arange(n_e, dtype=np.float32) / np.float32(FS_E)
    phe = te % np.float32(CYCLE_S)
    gain = np.where((phe >= 3) & (phe < 5), 3.0, np.where((phe >= 5) & (phe < 7), 0.3, 1.0))
    emg[:, :2] *= gain.astype(np.float32)[:, None]
    return {"flex": flex, "lat": lat, "emg": emg}


@pytest.fixture(scope="module")
def session() -> dict[str, np.ndarray]:
    return make_session()


def all_measures(s: dict[str, np.ndarray]) -> dict[str, object]:
    """Every measure of kinemyo.metrics on the session, the way a report would call them."""
    out: dict[str, object] = {}
    for name in ("flex", "lat"):
        a = s[name]
        out[name] = {
            "rom": km.range_of_motion(a, FS_A),
            "holds": km.holds(a, FS_A),
            "reps": km.repetitions(a, FS_A),
            "phases": km.movement_phases(a, FS_A),
            "velocity": km.angular_velocity(a, FS_A),
        }
    emg = s["emg"]
    amp = km.emg_amplitude(emg, FS_E, "rms", window_s=0.5, decimate=20)  # 100 Hz amplitude
    fs_amp = FS_E / 20
    ref = km.mvc_reference(emg[: int(30 * FS_E)], FS_E)
    pct = km.normalize_mvc(amp, ref)
    onsets = [
        np.flatnonzero(np.diff((pct[:, c] > 150).astype(np.int8)) == 1) * 20 for c in range(8)
    ]
    out["latency"] = km.onset_latencies(onsets, FS_E, out["flex"]["phases"])  # type: ignore[index]
    out["cci"] = [km.cocontraction(pct[:, 2 * i], pct[:, 2 * i + 1]) for i in range(4)]
    out["cci_fw"] = km.cocontraction(pct[:, 0], pct[:, 2], "falconer_winter")
    out["frr"] = km.flexion_relaxation(s["flex"], FS_A, pct[:, :2], fs_amp)
    out["pnf"] = km.pnf_timing(s["flex"], FS_A, pct[:, 0], fs_amp)
    out["fatigue"] = km.spectral_fatigue(emg, FS_E, window_s=1.0)
    return out


def check(out: dict[str, object]) -> None:
    flex = out["flex"]
    assert abs(flex["reps"].count - N_CYCLES) <= 1  # type: ignore[index]
    assert flex["holds"].count >= 2 * N_CYCLES - 1  # type: ignore[index]
    assert flex["phases"].count == 2 * N_CYCLES  # type: ignore[index]
    frr = out["frr"]
    assert frr.count >= N_CYCLES - 1  # type: ignore[attr-defined]
    assert np.nanmedian(frr.frr) > 5  # type: ignore[attr-defined]
    fat = out["fatigue"]
    assert fat.mdf_hz.shape == (int(T), 8)  # type: ignore[attr-defined]
    assert np.all(np.abs(fat.mdf_slope_hz_s) < 0.01)  # type: ignore[attr-defined]  white noise


@pytest.mark.benchmark(group="metrics 1 h session (2 angles @100 Hz + 8 EMG @2 kHz)")
def test_all_measures(benchmark, session) -> None:
    out = benchmark.pedantic(all_measures, args=(session,), rounds=9, iterations=1, warmup_rounds=1)
    check(out)


@pytest.mark.benchmark(group="metrics 1 h session (2 angles @100 Hz + 8 EMG @2 kHz)")
@pytest.mark.parametrize(
    "part", ["kinematics", "emg_amplitude", "amplitude_measures", "spectral_fatigue"]
)
def test_parts(benchmark, session, part: str) -> None:
    emg = session["emg"]
    if part == "kinematics":

        def run():
            return [
                (
                    km.range_of_motion(a, FS_A),
                    km.holds(a, FS_A),
                    km.repetitions(a, FS_A),
                    km.movement_phases(a, FS_A),
                )
                for a in (session["flex"], session["lat"])
            ]

        r = benchmark(run)
        assert abs(r[0][2].count - N_CYCLES) <= 1
    elif part == "emg_amplitude":
        r = benchmark(km.emg_amplitude, emg, FS_E, "rms", 0.5, 6.0, 20)
        assert r.shape == (int(T * FS_A), 8)
    elif part == "amplitude_measures":
        amp = km.emg_amplitude(emg, FS_E, decimate=20)

        def run2():
            ref = km.mvc_reference(emg[: int(30 * FS_E)], FS_E)
            pct = km.normalize_mvc(amp, ref)
            return (
                [km.cocontraction(pct[:, 2 * i], pct[:, 2 * i + 1]) for i in range(4)],
                km.flexion_relaxation(session["flex"], FS_A, pct[:, :2], 100.0),
                km.pnf_timing(session["flex"], FS_A, pct[:, 0], 100.0),
            )

        r = benchmark(run2)
        assert r[1].count >= N_CYCLES - 1
    else:
        r = benchmark.pedantic(km.spectral_fatigue, args=(emg, FS_E), rounds=9, iterations=1, warmup_rounds=1)
        assert r.mdf_hz.shape == (int(T), 8)


@pytest.mark.benchmark(group="repetitions 1 h angle @100 Hz")
@pytest.mark.parametrize("impl", ["kinemyo", "scipy-find_peaks"])
def test_repetitions_vs_find_peaks(benchmark, session, impl: str) -> None:
    a = session["flex"]
    if impl == "kinemyo":
        n = benchmark(lambda: km.repetitions(a, FS_A, hysteresis_deg=5.0).count)
    else:
        signal = pytest.importorskip("scipy.signal")
        n = benchmark(lambda: signal.find_peaks(a, prominence=5.0, plateau_size=1)[0].size)
    assert abs(n - N_CYCLES) <= 1


@pytest.mark.benchmark(group="median frequency 8 x 1 h EMG @2 kHz, 1-s windows")
@pytest.mark.parametrize("impl", ["kinemyo", "scipy-stft"])
def test_fatigue_vs_scipy(benchmark, session, impl: str) -> None:
    emg = session["emg"][: int(600 * FS_E)]  # 10 min keeps the peer's memory in bounds

    def scipy_mdf():
        signal = pytest.importorskip("scipy.signal")
        f, _, z = signal.stft(
            emg,
            FS_E,
            window="hann",
            nperseg=2000,
            noverlap=0,
            axis=0,
            boundary=None,
            padded=False,
            detrend="constant",
        )
        p = np.abs(z[(f >= 20) & (f <= 450)]) ** 2
        c = np.cumsum(p, axis=0)
        j = np.argmax(c >= 0.5 * c[-1:], axis=0)
        return f[(f >= 20) & (f <= 450)][j]

    if impl == "kinemyo":
        mdf = benchmark(lambda: km.spectral_fatigue(emg, FS_E).mdf_hz)
        assert mdf.shape == (600, 8)
    else:
        mdf = benchmark(scipy_mdf)
        assert mdf.shape == (8, 600)


def _main(rounds: int = 9) -> None:
    import sys
    import time

    s = make_session()
    for name, fn in (
        ("all measures, 1 h", lambda: all_measures(s)),
        ("spectral fatigue, 8 x 1 h", lambda: km.spectral_fatigue(s["emg"], FS_E)),
    ):
        out = fn()  # warm-up (imports, allocator)
        if name.startswith("all"):
            check(out)  # type: ignore[arg-type]
        ts, cpu = [], []
        for _ in range(rounds):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            ts.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        # CPU time excludes the time spent waiting for a core on a shared machine
        print(f"{name}: median {1e3 * np.median(ts):.0f} ms, min {1e3 * min(ts):.0f} ms; "
              f"CPU time median {1e3 * np.median(cpu):.0f} ms ({rounds} rounds, {sys.executable})")


if __name__ == "__main__":
    import sys

    _main(int(sys.argv[1]) if len(sys.argv) > 1 else 9)

"""kinemyo.metrics: accuracy on simulated scripts, hand-computed values, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kinemyo import metrics as km

FS = 100.0


def smooth_noise(n: int, sd: float, rng: np.random.Generator, width: int = 10) -> np.ndarray:
    """Low-pass noise (a fused IMU angle's noise is correlated), standard deviation ``sd``."""
    w = rng.standard_normal(n + width)
    k = np.convolve(w, np.ones(width) / width, mode="valid")[:n]
    return sd * k / k.std()


def script(parts: list[tuple[float, float]], fs: float = FS, start: float = 0.0) -> np.ndarray:
    """Piecewise-linear angle: ``parts`` of (duration_s, end_angle_deg) from ``start``."""
    out = []
    cur = start
    for dur, target in parts:
        n = round(dur * fs)
        out.append(
            np.linspace(cur, target, n, endpoint=False) if target != cur else np.full(n, cur)
        )
        cur = target
    return np.concatenate(out)


def bends(n_bends: int = 4, peak: float = 50.0) -> tuple[np.ndarray, list[dict[str, float]]]:
    """Forward bends: stand 3 s, bend 2 s, hold 2 s, return 2 s, ... stand 3 s at the end."""
    parts: list[tuple[float, float]] = []
    truth = []
    t = 0.0
    for _ in range(n_bends):
        parts += [(3.0, 0.0), (2.0, peak), (2.0, peak), (2.0, 0.0)]
        truth.append(
            {"move_start": t + 3.0, "hold_start": t + 5.0, "hold_end": t + 7.0, "move_end": t + 9.0}
        )
        t += 9.0
    parts.append((3.0, 0.0))
    return script(parts), truth


# ------------------------------------------------------------------------------ holds


def test_holds_script_exact_count_and_boundaries(rng: np.random.Generator) -> None:
    parts = [(5, 0), (2, 40), (35, 40), (2, 0), (5, 0), (1.5, 30), (10, 30), (1.5, 0), (5, 0)]
    a = script(parts)
    t = np.arange(a.size) / FS
    a = a + smooth_noise(a.size, 0.2, rng) + 0.4 * np.sin(2 * np.pi * 0.3 * t)
    h = km.holds(a, FS, tolerance_deg=3.0, min_duration_s=2.0, limit_s=30.0)
    truth = [(0, 5), (7, 42), (44, 49), (50.5, 60.5), (62, 67)]
    assert h.count == len(truth)
    np.testing.assert_allclose(h.start_s, [s for s, _ in truth], atol=0.2)
    np.testing.assert_allclose(h.end_s, [e for _, e in truth], atol=0.2)
    np.testing.assert_allclose(h.mean_deg, [0, 40, 0, 30, 0], atol=0.5)
    assert h.over_limit.tolist() == [False, True, False, False, False]
    assert h.over_limit_s[1] == pytest.approx(5.0, abs=0.4)
    assert h.total_over_limit_s == pytest.approx(5.0, abs=0.4)
    np.testing.assert_array_equal(h.start_index, np.round(h.start_s * FS).astype(int))
    json.dumps(h.to_dict())


def test_holds_nan_run_splits_and_empty() -> None:
    a = np.zeros(1000)
    a[400:500] = np.nan  # 1 s drop-out: longer than max_gap_s
    h = km.holds(a, FS, min_duration_s=1.0)
    assert h.count == 2
    assert h.end_index[0] == 400 and h.start_index[1] == 500
    a[450:500] = 0.0  # 0.5 s drop-out: bridged
    h = km.holds(a, FS, min_duration_s=1.0)
    assert h.count == 1 and h.mean_deg[0] == 0.0
    assert km.holds(a, FS, min_duration_s=1.0, max_gap_s=0.0).count == 2
    moving = np.linspace(0, 100, 1000)  # never static
    assert km.holds(moving, FS).count == 0
    assert km.holds(np.zeros(0), FS).count == 0
    assert km.holds(moving.astype(np.float32), FS).count == 0


@pytest.mark.parametrize(
    "kw", [{"tolerance_deg": 0}, {"min_duration_s": -1}, {"limit_s": -1}, {"tolerance_deg": np.nan}]
)
def test_holds_bad_params(kw: dict) -> None:
    with pytest.raises(ValueError):
        km.holds(np.zeros(100), FS, **kw)


# ------------------------------------------------------------------------------ repetitions


def test_repetitions_catcow_counts_and_timing(rng: np.random.Generator) -> None:
    periods = [5.0, 6.0, 7.0, 5.5, 6.5, 4.5, 6.0]
    # phase-accumulated cycles from a trough at t=0
    t_edges = np.concatenate([[0.0], np.cumsum(periods)])
    t = np.arange(0, t_edges[-1], 1 / FS)
    k = np.searchsorted(t_edges, t, side="right") - 1
    phase = 2 * np.pi * (k + (t - t_edges[k]) / np.asarray(periods)[k])
    a = 5 - 15 * np.cos(phase)
    a += smooth_noise(a.size, 0.2, rng) + 1.0 * np.sin(2 * np.pi * 1.3 * t)  # wobble < hysteresis
    r = km.repetitions(a, FS, hysteresis_deg=5.0, plateau_deg=1.5)
    assert r.count == len(periods)
    np.testing.assert_allclose(r.start_s, t_edges[:-1], atol=0.2)
    np.testing.assert_allclose(r.end_s, t_edges[1:], atol=0.2)
    np.testing.assert_allclose(r.peak_s, t_edges[:-1] + np.asarray(periods) / 2, atol=0.2)
    np.testing.assert_allclose(r.duration_s, periods, atol=0.3)
    np.testing.assert_allclose(r.amplitude_deg, 30.0, atol=2.5)
    np.testing.assert_allclose(r.tempo_cpm, 60 / np.asarray(periods), rtol=0.06)
    assert r.mean_tempo_cpm == pytest.approx(60 * len(periods) / sum(periods), rel=0.03)
    d = r.to_dict()
    assert d["count"] == len(periods)
    json.dumps(d)


def test_repetitions_forward_bends_move_boundaries(rng: np.random.Generator) -> None:
    a, truth = bends(4)
    a = a + smooth_noise(a.size, 0.15, rng)
    r = km.repetitions(a, FS, hysteresis_deg=10.0, plateau_deg=1.0)
    assert r.count == 4
    np.testing.assert_allclose(r.move_start_s, [d["move_start"] for d in truth], atol=0.2)
    np.testing.assert_allclose(r.move_end_s, [d["move_end"] for d in truth], atol=0.2)
    np.testing.assert_allclose(r.peak_first_index / FS, [d["hold_start"] for d in truth], atol=0.2)
    np.testing.assert_allclose(r.peak_last_index / FS, [d["hold_end"] for d in truth], atol=0.2)
    np.testing.assert_allclose(r.peak_deg, 50.0, atol=1.0)
    np.testing.assert_allclose(r.movement_duration_s, 6.0, atol=0.3)


def test_repetitions_wobbles_and_no_movement(rng: np.random.Generator) -> None:
    t = np.arange(0, 60, 1 / FS)
    a = 1.5 * np.sin(2 * np.pi * 0.5 * t) + smooth_noise(t.size, 0.2, rng)  # ~4.5 deg p-p
    assert km.repetitions(a, FS, hysteresis_deg=5.0).count == 0
    assert km.repetitions(np.zeros(500), FS).count == 0
    assert km.repetitions(np.zeros(0), FS).count == 0
    # NaN runs are skipped
    b, _ = bends(3)
    b[450:480] = np.nan  # inside the standing of the 2nd bend
    assert km.repetitions(b, FS, hysteresis_deg=10.0).count == 3


def test_repetitions_trough_polarity() -> None:
    t = np.arange(0, 30, 1 / FS)
    a = -10 + 10 * np.cos(2 * np.pi * t / 5)  # starts at a maximum, dips to -20
    r = km.repetitions(a, FS, polarity="trough")
    assert r.count == 6
    np.testing.assert_allclose(r.peak_deg, -20.0, atol=0.01)
    with pytest.raises(ValueError, match="polarity"):
        km.repetitions(a, FS, polarity="up")  # type: ignore[arg-type]


def test_range_of_motion() -> None:
    a, _ = bends(3, peak=45.0)
    a[100] = np.nan
    rom = km.range_of_motion(a, FS, hysteresis_deg=10.0)
    assert rom.range_deg == pytest.approx(45.0 - 0.0, abs=0.5)
    assert rom.peak_flexion_deg == pytest.approx(45.0, abs=0.5)
    assert rom.movement_range_deg.size == 3
    np.testing.assert_allclose(rom.movement_range_deg, 45.0, atol=0.5)
    seg = [[0, 300], [300, 900]]
    rom2 = km.range_of_motion(a, FS, segments=seg)
    assert rom2.movement_max_deg[0] == 0.0
    with pytest.raises(ValueError):
        km.range_of_motion(a, FS, segments=[[10, 5]])
    with pytest.raises(ValueError):
        km.range_of_motion(np.full(10, np.nan), FS)
    json.dumps(rom.to_dict())


def test_angular_velocity() -> None:
    t = np.arange(0, 10, 1 / FS)
    a = 30 * np.sin(2 * np.pi * 0.2 * t)
    v = km.angular_velocity(a, FS)
    truth = 30 * 2 * np.pi * 0.2 * np.cos(2 * np.pi * 0.2 * t)
    np.testing.assert_allclose(v[1:-1], truth[1:-1], atol=0.1)
    v2 = km.angular_velocity(a, FS, lowpass_hz=5.0)
    np.testing.assert_allclose(v2[50:-50], truth[50:-50], atol=0.2)
    assert km.angular_velocity([1.0], FS).tolist() == [0.0]


# ------------------------------------------------------------------------------ phases / latencies


def test_movement_phases_onsets(rng: np.random.Generator) -> None:
    a, truth = bends(4)
    a = a + smooth_noise(a.size, 0.1, rng)
    ph = km.movement_phases(a, FS)
    assert ph.count == 8
    assert ph.direction.tolist() == [1, -1] * 4
    np.testing.assert_allclose(ph.start_s[::2], [d["move_start"] for d in truth], atol=0.2)
    np.testing.assert_allclose(ph.end_s[::2], [d["hold_start"] for d in truth], atol=0.2)
    np.testing.assert_allclose(ph.start_s[1::2], [d["hold_end"] for d in truth], atol=0.2)
    np.testing.assert_allclose(ph.peak_velocity_deg_s, 25.0, atol=4.0)  # ramp 25 deg/s + noise
    np.testing.assert_allclose(ph.excursion_deg, [50, -50] * 4, atol=3.0)
    np.testing.assert_array_equal(ph.onsets(1), ph.start_index[::2])
    # explicit rest window gives the same phases here
    ph2 = km.movement_phases(a, FS, rest=(0.0, 2.5))
    assert ph2.count == 8


def test_movement_phases_no_movement(rng: np.random.Generator) -> None:
    a = smooth_noise(3000, 0.2, rng)
    ph = km.movement_phases(a, FS)
    assert ph.count == 0 and ph.start_index.dtype == np.int64
    with pytest.raises(ValueError):
        km.movement_phases(np.full(100, np.nan), FS)
    with pytest.raises(ValueError, match="rest"):
        km.movement_phases(a, FS, rest=(5.0, 1.0))


def test_onset_latencies_table() -> None:
    fs_emg, fs_imu = 2000.0, 100.0
    move = np.array([300, 1200])  # 3.0 s and 12.0 s
    emg = {
        "TrA": np.array([5800, 23900]),  # 2.9 s (-100 ms), 11.95 s (-50 ms)
        "ES": np.array([6100, 30000]),  # 3.05 s (+50 ms); 15 s outside the window
        "RA": np.array([], dtype=np.int64),
    }
    tab = km.onset_latencies(emg, fs_emg, move, fs_imu)
    assert tab.movement.tolist() == [0, 0, 0, 1, 1, 1]
    np.testing.assert_allclose(tab.latency_ms, [-100, 50, np.nan, -50, np.nan, np.nan])
    assert tab.feedforward.tolist() == [True, False, False, True, False, False]
    assert tab.emg_onset_index.tolist() == [5800, 6100, -1, 23900, -1, -1]
    assert tab.rows()[1]["channel_name"] == "ES"
    tab50 = km.onset_latencies(emg, fs_emg, move, fs_imu, feedforward_ms=50.0)
    assert tab50.feedforward[1] == False  # noqa: E712  (50 ms is not < 50 ms)
    json.dumps(tab.to_dict())
    # earliest onset in the window is taken
    t2 = km.onset_latencies([np.array([5500, 5900])], fs_emg, [300], fs_imu)
    assert t2.latency_ms[0] == pytest.approx(-250.0)
    # from a MovementPhases
    a, _ = bends(2)
    ph = km.movement_phases(a, FS)
    t3 = km.onset_latencies([np.array([])], fs_emg, ph)
    assert t3.movement.size == ph.count
    # empty movement list -> empty table
    assert km.onset_latencies([np.array([1, 2])], fs_emg, [], fs_imu).latency_ms.size == 0
    # onset.detect's (n, 2) [onset, offset) events: only the onsets count (offsets used to be
    # taken as onsets), per channel or as one channel; a 1-D array is one channel
    ev = [np.array([[5800, 6500], [23900, 25000]]), np.array([[5000, 6100], [6100, 9000]])]
    t4 = km.onset_latencies(ev, fs_emg, move, fs_imu)
    np.testing.assert_allclose(t4.latency_ms, [-100, -500, -50, np.nan])
    t5 = km.onset_latencies({"TrA": ev[0]}, fs_emg, move, fs_imu)
    assert t5.channel_names == ("TrA",)
    np.testing.assert_allclose(t5.latency_ms, [-100, -50])
    # a 2-D array is one channel per row, whatever its width (review: a (2, 2) array was taken
    # for one channel's events)
    rows = km.onset_latencies(np.array([[5800, 23900], [6100, 30000]]), fs_emg, move, fs_imu)
    assert rows.channel_names == ("ch0", "ch1")
    np.testing.assert_allclose(rows.latency_ms, [-100, 50, -50, np.nan])
    np.testing.assert_allclose(km.onset_latencies(np.array([5800, 23900]), fs_emg, move, fs_imu).latency_ms,
                               [-100, -50])
    t6 = km.onset_latencies([5800, 23900], fs_emg, move, fs_imu)  # a plain list: one channel too
    assert t6.channel_names == ("ch0",)
    np.testing.assert_allclose(t6.latency_ms, [-100, -50])


def test_onset_latencies_bad_input() -> None:
    with pytest.raises(ValueError, match="fs_movement"):
        km.onset_latencies([np.array([1])], 2000.0, [1])
    with pytest.raises(ValueError, match="fs_emg"):
        km.onset_latencies([np.array([1])], 0.0, [1], 100.0)
    with pytest.raises(ValueError, match="window_ms"):
        km.onset_latencies([np.array([1])], 2000.0, [1], 100.0, window_ms=(10, -10))
    with pytest.raises(TypeError):
        km.onset_latencies([np.array([1.5])], 2000.0, [1], 100.0)
    with pytest.raises(ValueError):
        km.onset_latencies([], 2000.0, [1], 100.0)
    with pytest.raises(ValueError, match="shape"):
        km.onset_latencies([np.zeros((3, 3), np.int64)], 2000.0, [1], 100.0)


# ------------------------------------------------------------------------------ amplitude / %MVC


def test_mvc_and_normalisation_hand_values() -> None:
    fs = 2000.0
    t = np.arange(0, 4, 1 / fs)
    mvc = np.column_stack([2.0 * np.sin(2 * np.pi * 100 * t), 4.0 * np.sin(2 * np.pi * 80 * t)])
    mvc[: int(fs)] *= 0.1  # the first second is weak: the peak is elsewhere
    ref = km.mvc_reference(mvc, fs, window_s=0.5)
    np.testing.assert_allclose(ref, [2 / np.sqrt(2), 4 / np.sqrt(2)], rtol=1e-6)
    trial = 0.5 * mvc[int(fs) :]
    amp = km.emg_amplitude(trial, fs, "rms", window_s=0.5)
    pct = km.normalize_mvc(amp, ref)
    np.testing.assert_allclose(pct[1000:-1000], 50.0, rtol=1e-6)
    # window of the same recording
    ref_w = km.mvc_reference(mvc[:, 0], fs, window=(0.0, 1.0))
    assert ref_w == pytest.approx(0.2 / np.sqrt(2), rel=1e-6)
    # envelope method: peak of the zero-lag envelope of a rectified sine ~ mean |sin| = 2/pi
    mean_abs = 2.0 * np.mean(np.abs(np.sin(2 * np.pi * 100 * t[:20])))  # one sampled period
    env = km.emg_amplitude(mvc[int(fs) :, 0], fs, method="envelope")
    np.testing.assert_allclose(env[1000:-1000], mean_abs, rtol=1e-4)
    ref_e = km.mvc_reference(mvc[int(fs) :, 0], fs, method="envelope")
    assert ref_e == pytest.approx(mean_abs, rel=0.05)  # edge transients of the filter


def test_emg_amplitude_centring_and_float32() -> None:
    fs = 1000.0
    x = np.zeros(1001)
    x[500] = 1.0
    y = km.emg_amplitude(x, fs, "rms", window_s=0.101)  # 101 samples, centred
    np.testing.assert_array_equal(np.flatnonzero(y), np.arange(450, 551))
    np.testing.assert_allclose(y[450:551], np.sqrt(1 / 101))
    y32 = km.emg_amplitude(x.astype(np.float32), fs, "rms", window_s=0.1)
    assert y32.dtype == np.float32 and y32.shape == x.shape
    short = km.emg_amplitude(np.ones(10), fs, "rms", window_s=0.1)
    np.testing.assert_allclose(short, 1.0)


def test_emg_amplitude_decimated_matches_full_rate(rng: np.random.Generator) -> None:
    fs = 2000.0
    x = rng.standard_normal((20_013, 3)) * np.array([1.0, 2.0, 0.5])
    full = km.emg_amplitude(x, fs, "rms", window_s=0.5)
    dec = km.emg_amplitude(x, fs, "rms", window_s=0.5, decimate=20)
    assert dec.shape == (1001, 3)
    # same window length, centred within half a block: close to the full-rate values
    np.testing.assert_allclose(dec[20:-20], full[::20][20:-20], rtol=0.02)
    env = km.emg_amplitude(x, fs, "envelope", decimate=20)
    np.testing.assert_array_equal(env, km.emg_amplitude(x, fs, "envelope")[::20])
    assert km.emg_amplitude(x.astype(np.float32), fs, decimate=20).dtype == np.float32
    with pytest.raises(ValueError, match="decimate"):
        km.emg_amplitude(x, fs, decimate=0)


def test_mvc_bad_input() -> None:
    fs = 1000.0
    with pytest.raises(ValueError, match="zero or not finite"):
        km.mvc_reference(np.zeros((2000, 2)), fs)
    with pytest.raises(ValueError, match="window"):
        km.mvc_reference(np.ones(2000), fs, window=(1.5, 3.0))
    with pytest.raises(ValueError):
        km.mvc_reference(np.ones(100), fs, window_s=0.5)
    with pytest.raises(ValueError):
        km.mvc_reference(np.ones(100), -1.0)
    with pytest.raises(ValueError):
        km.mvc_reference(np.ones((0, 2)), fs)
    with pytest.raises(ValueError, match="reference"):
        km.normalize_mvc(np.ones((10, 2)), [1.0, 0.0])
    with pytest.raises(ValueError, match="shape"):
        km.normalize_mvc(np.ones((10, 2)), [1.0, 2.0, 3.0])
    with pytest.raises(TypeError):
        km.emg_amplitude(np.array(["a", "b"]), fs)


# ------------------------------------------------------------------------------ co-contraction


def test_cocontraction_hand_values() -> None:
    ag = np.array([4.0, 4.0, 2.0, 0.0])
    an = np.array([1.0, 2.0, 2.0, 3.0])
    # Falconer & Winter: 2 * 8 / (10 + 8) * 100
    assert km.cocontraction(ag, an, "falconer_winter") == pytest.approx(2 * 8 / 18 * 100)
    # overlap: sum(min) = 1 + 2 + 2 + 0 = 5
    assert km.cocontraction(ag, an, "overlap") == pytest.approx(2 * 5 / 18 * 100)
    # Rudolph: mean of (lo/hi)(lo+hi): 0.25*5, 0.5*6, 1*4, 0*3
    assert km.cocontraction(ag, an, "rudolph") == pytest.approx((1.25 + 3 + 4 + 0) / 4)
    # symmetric for overlap, per segment, NaN ignored
    assert km.cocontraction(an, ag) == pytest.approx(km.cocontraction(ag, an))
    seg = km.cocontraction(ag, an, "overlap", segments=[[0, 2], [2, 4]])
    np.testing.assert_allclose(seg, [2 * 3 / 11 * 100, 2 * 2 / 7 * 100])
    ag2 = np.append(ag, np.nan)
    an2 = np.append(an, 5.0)
    assert km.cocontraction(ag2, an2, "overlap") == pytest.approx(2 * 5 / 18 * 100)
    assert np.isnan(km.cocontraction(np.zeros(5), np.zeros(5)))
    assert np.isnan(km.cocontraction(np.zeros(0), np.zeros(0)))


def test_cocontraction_bad_input() -> None:
    with pytest.raises(ValueError, match="same length"):
        km.cocontraction(np.ones(5), np.ones(4))
    with pytest.raises(ValueError, match="non-negative"):
        km.cocontraction(-np.ones(5), np.ones(5))
    with pytest.raises(ValueError, match="method"):
        km.cocontraction(np.ones(5), np.ones(5), "foo")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="segments"):
        km.cocontraction(np.ones(5), np.ones(5), segments=[[0, 9]])


# ------------------------------------------------------------------------------ flexion-relaxation


def test_flexion_relaxation_ratio() -> None:
    a, truth = bends(3, peak=60.0)
    fs_emg = 1000.0
    t_e = np.arange(round(a.size / FS * fs_emg)) / fs_emg
    ang_e = np.interp(t_e, np.arange(a.size) / FS, a)
    vel_e = np.gradient(ang_e)
    amp = np.full(t_e.size, 10.0)  # standing
    amp[(vel_e > 0)] = 50.0  # active while flexing ...
    amp[ang_e > 0.8 * 60.0] = 5.0  # ... relaxed near full flexion
    amp[(vel_e < 0) & (ang_e <= 0.8 * 60)] = 40.0  # re-extension
    amp2 = np.column_stack([amp, 2 * amp])
    fr = km.flexion_relaxation(a, FS, amp2, fs_emg)
    assert fr.count == 3
    np.testing.assert_allclose(fr.frr, 10.0, rtol=1e-9)
    np.testing.assert_allclose(fr.err, 8.0, rtol=1e-9)
    np.testing.assert_allclose(fr.full_flexion_mean[:, 1], 10.0)
    np.testing.assert_allclose(fr.move_start_s, [d["move_start"] for d in truth], atol=0.2)
    np.testing.assert_allclose(fr.full_start_s, [d["hold_start"] for d in truth], atol=0.2)
    fr1 = km.flexion_relaxation(a, FS, amp, fs_emg)
    assert fr1.frr.shape == (3,)
    json.dumps(fr1.to_dict())
    # no forward bend: empty
    assert km.flexion_relaxation(np.zeros(a.size), FS, amp, fs_emg).count == 0
    with pytest.raises(ValueError, match="same time"):
        km.flexion_relaxation(a, FS, amp[: amp.size // 2], fs_emg)


# ------------------------------------------------------------------------------ PNF timing


def test_pnf_timing(rng: np.random.Generator) -> None:
    # rest 5 s, stretch A (hold 10 s), release, rest, stretch B (hold 12 s), release, rest
    parts = [(5, 0), (2, 40), (10, 40), (2, 0), (5, 0), (2, 45), (12, 45), (2, 0), (5, 0)]
    a = script(parts) + smooth_noise(round(45 * FS), 0.2, rng)
    fs_e = 1000.0
    t = np.arange(round(45 * fs_e)) / fs_e
    env = 1.0 + 0.1 * np.abs(rng.standard_normal(t.size))
    # stretch A onset 7 s: contraction 3 s later for 3 s (both ok)
    env[(t >= 10.0) & (t < 13.0)] = 20.0
    # stretch B onset 26 s: contraction 1 s later for 6 s (both out of the window)
    env[(t >= 27.0) & (t < 33.0)] = 20.0
    res = km.pnf_timing(a, FS, env, fs_e)
    assert res.stretch_start_s.size == 2
    np.testing.assert_allclose(res.stretch_start_s, [7.0, 26.0], atol=0.2)
    np.testing.assert_allclose(res.contraction_start_s, [10.0, 27.0], atol=0.05)
    np.testing.assert_allclose(res.contraction_duration_s, [3.0, 6.0], atol=0.05)
    assert res.contraction_duration_ok.tolist() == [True, False]
    np.testing.assert_allclose(res.stretch_delay_s, [3.0, 1.0], atol=0.2)
    assert res.stretch_delay_ok.tolist() == [True, False]
    assert res.contraction_stretch.tolist() == [0, 1]
    assert res.stretch_n_contractions.tolist() == [1, 1]
    json.dumps(res.to_dict())
    # no contraction at all: empty contraction table, NaN delays
    quiet = km.pnf_timing(a, FS, np.ones(t.size), fs_e, threshold=5.0)
    assert quiet.contraction_start_s.size == 0
    assert np.all(np.isnan(quiet.stretch_delay_s))
    with pytest.raises(ValueError, match="duration_window_s"):
        km.pnf_timing(a, FS, env, fs_e, duration_window_s=(4.0, 2.0))


# ------------------------------------------------------------------------------ fatigue


def shifting_emg(
    fs: float, dur: float, f0: float, slope: float, rng: np.random.Generator, block_s: float = 1.0
) -> np.ndarray:
    """Noise shaped per block by a Gaussian band centred at f0 + slope * t (block centre)."""
    nb = round(block_s * fs)
    out = []
    f = np.fft.rfftfreq(nb, 1 / fs)
    for b in range(int(dur / block_s)):
        fc = f0 + slope * (b + 0.5) * block_s
        spec = np.fft.rfft(rng.standard_normal(nb)) * np.exp(-0.5 * ((f - fc) / 25.0) ** 2)
        out.append(np.fft.irfft(spec, nb))
    return np.concatenate(out)


def test_spectral_fatigue_slope_recovered(rng: np.random.Generator) -> None:
    fs = 2000.0
    x = np.column_stack(
        [shifting_emg(fs, 60, 120.0, -0.5, rng), shifting_emg(fs, 60, 90.0, 0.0, rng)]
    )
    res = km.spectral_fatigue(x, fs, window_s=1.0)
    assert res.time_s.size == 60
    assert res.mdf_slope_hz_s[0] == pytest.approx(-0.5, rel=0.1)
    assert res.mnf_slope_hz_s[0] == pytest.approx(-0.5, rel=0.1)
    assert abs(res.mdf_slope_hz_s[1]) < 0.05
    # %/s relative to the initial value (~120 Hz at t = 0.5 s)
    assert res.mdf_slope_pct_s[0] == pytest.approx(-0.5 / 119.75 * 100, rel=0.1)
    assert res.mdf_initial_hz[0] == pytest.approx(119.75, abs=2.0)
    assert np.mean(res.mdf_hz[:, 1]) == pytest.approx(90.0, abs=2.0)
    # float32 and 50 % overlap give the same trend
    r32 = km.spectral_fatigue(x.astype(np.float32), fs, window_s=1.0, step_s=0.5)
    assert r32.time_s.size == 119
    assert r32.mdf_slope_hz_s[0] == pytest.approx(-0.5, rel=0.15)
    json.dumps(res.to_dict())


def test_spectral_fatigue_median_of_known_spectrum() -> None:
    fs = 1000.0
    # 21 equal sines at 50, 60, ..., 250 Hz: MNF = 150 Hz, half the power below 150 Hz's bin
    t = np.arange(0, 3, 1 / fs)
    rng = np.random.default_rng(3)
    x = sum(np.sin(2 * np.pi * f * t + rng.random() * 6.28) for f in range(50, 251, 10))
    res = km.spectral_fatigue(x, fs, window_s=1.0, band_hz=(20, 450))
    np.testing.assert_allclose(res.mnf_hz, 150.0, atol=1e-6)
    np.testing.assert_allclose(res.mdf_hz, 150.0, atol=1.0)


def test_spectral_fatigue_nan_and_short() -> None:
    fs = 1000.0
    rng = np.random.default_rng(1)
    x = rng.standard_normal(5000)
    x[1200] = np.nan
    res = km.spectral_fatigue(x, fs, window_s=1.0)
    assert np.isnan(res.mdf_hz[1]) and np.isfinite(res.mdf_hz[0])
    assert np.isfinite(res.mdf_slope_hz_s)
    short = km.spectral_fatigue(x[:500], fs, window_s=1.0)
    assert short.time_s.size == 0 and np.isnan(short.mdf_slope_hz_s)
    with pytest.raises(ValueError, match="band_hz"):
        km.spectral_fatigue(x, fs, band_hz=(600, 700))
    with pytest.raises(ValueError, match="window_s"):
        km.spectral_fatigue(x, fs, window_s=0.001)


# ------------------------------------------------------------------------------ general bad input


@pytest.mark.parametrize(
    "fn",
    [
        lambda fs: km.holds(np.zeros(10), fs),
        lambda fs: km.repetitions(np.zeros(10), fs),
        lambda fs: km.movement_phases(np.zeros(10), fs),
        lambda fs: km.angular_velocity(np.zeros(10), fs),
        lambda fs: km.spectral_fatigue(np.zeros(100), fs),
        lambda fs: km.emg_amplitude(np.zeros(100), fs),
    ],
)
@pytest.mark.parametrize("fs", [0.0, -100.0, np.nan, np.inf])
def test_bad_fs(fn, fs: float) -> None:
    with pytest.raises(ValueError, match="fs"):
        fn(fs)


def test_bad_shapes_and_empty() -> None:
    with pytest.raises(ValueError, match="1-D"):
        km.holds(np.zeros((10, 2)), FS)
    with pytest.raises(ValueError, match="at least one sample"):
        km.movement_phases(np.zeros(0), FS)
    with pytest.raises(ValueError):
        km.spectral_fatigue(np.zeros((10, 2, 2)), 1000.0)
    with pytest.raises(TypeError):
        km.holds(np.array(["x"] * 10), FS)
    # integer input is converted
    assert km.holds(np.zeros(500, dtype=np.int32), FS).count == 1


# ------------------------------------------------------------------------------ random scripts


@pytest.mark.parametrize("seed", range(6))
def test_holds_random_scripts(seed: int) -> None:
    rng = np.random.default_rng(seed)
    parts: list[tuple[float, float]] = []
    truth = []
    t, cur = 0.0, 0.0
    for _ in range(8):
        dur = float(rng.uniform(3, 40))
        parts.append((dur, cur))
        truth.append((t, t + dur, cur))
        t += dur
        nxt = cur
        while abs(nxt - cur) < 10:
            nxt = float(rng.uniform(-10, 60))
        ramp = abs(nxt - cur) / rng.uniform(15, 40)
        parts.append((ramp, nxt))
        t += round(ramp * FS) / FS
        cur = nxt
    parts.append((5.0, cur))
    truth.append((t, t + 5.0, cur))
    a = script(parts)
    ts = np.arange(a.size) / FS
    a = a + smooth_noise(a.size, 0.2, rng) + 0.3 * np.sin(2 * np.pi * 0.2 * ts + seed)
    h = km.holds(a, FS, tolerance_deg=3.0, min_duration_s=2.0)
    assert h.count == len(truth)
    np.testing.assert_allclose(h.start_s, [s for s, _, _ in truth], atol=0.2)
    np.testing.assert_allclose(h.end_s, [e for _, e, _ in truth], atol=0.2)
    np.testing.assert_allclose(h.mean_deg, [m for _, _, m in truth], atol=0.5)
    d = np.array([e - s for s, e, _ in truth])
    np.testing.assert_allclose(h.over_limit_s, np.maximum(d - 30, 0), atol=0.4)


@pytest.mark.parametrize("seed", range(6))
def test_catcow_random_cycles(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n_cyc = int(rng.integers(5, 12))
    periods = rng.uniform(4, 8) * rng.uniform(0.85, 1.15, n_cyc)  # a tempo, +-15 % per cycle
    amps = rng.uniform(15, 40, n_cyc)
    edges = np.concatenate([[0.0], np.cumsum(periods)])
    t = np.arange(0, edges[-1], 1 / FS)
    k = np.searchsorted(edges, t, side="right") - 1
    u = (t - edges[k]) / periods[k]
    a = -10 + amps[k] * (1 - np.cos(2 * np.pi * u)) / 2
    # the recording goes on rising for a third of a cycle after the last trough
    t_more = np.arange(0, 2.0, 1 / FS)
    a = np.concatenate([a, -10 + amps[-1] * (1 - np.cos(2 * np.pi * t_more / 6.0)) / 2])
    t = np.arange(a.size) / FS
    a += smooth_noise(a.size, 0.15, rng) + 0.5 * np.sin(2 * np.pi * 1.1 * t)
    r = km.repetitions(a, FS, hysteresis_deg=5.0, plateau_deg=1.5)
    assert r.count == n_cyc
    np.testing.assert_allclose(r.start_s, edges[:-1], atol=0.2)
    np.testing.assert_allclose(r.end_s, edges[1:], atol=0.2)
    np.testing.assert_allclose(r.peak_s, edges[:-1] + periods / 2, atol=0.2)
    np.testing.assert_allclose(r.range_deg, amps, atol=2.5)


@pytest.mark.parametrize("seed", range(6))
def test_forward_bends_random(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    parts: list[tuple[float, float]] = []
    truth = []
    t = 0.0
    n = int(rng.integers(3, 8))
    for _ in range(n):
        rest, down, hold, up = (
            rng.uniform(1.5, 4),
            rng.uniform(1.5, 3),
            rng.uniform(0.5, 3),
            rng.uniform(1.5, 3),
        )
        peak = float(rng.uniform(30, 70))
        parts += [(rest, 0.0), (down, peak), (hold, peak), (up, 0.0)]
        times = np.cumsum([t, rest, down, hold, up])
        times = np.round(times * FS) / FS
        truth.append(times[1:])
        t = float(np.round((t + rest + down + hold + up) * FS) / FS)
        # keep the truth on the sample grid used by script()
    parts.append((3.0, 0.0))
    a = script(parts)
    a = a + smooth_noise(a.size, 0.15, rng)
    r = km.repetitions(a, FS, hysteresis_deg=10.0, plateau_deg=1.0)
    assert r.count == n
    tr = np.array(truth)
    np.testing.assert_allclose(r.move_start_s, tr[:, 0], atol=0.2)
    np.testing.assert_allclose(r.peak_first_index / FS, tr[:, 1], atol=0.2)
    np.testing.assert_allclose(r.peak_last_index / FS, tr[:, 2], atol=0.2)
    np.testing.assert_allclose(r.move_end_s, tr[:, 3], atol=0.2)
    ph = km.movement_phases(a, FS)
    assert ph.count == 2 * n
    np.testing.assert_allclose(ph.start_s[::2], tr[:, 0], atol=0.2)
    np.testing.assert_allclose(ph.start_s[1::2], tr[:, 2], atol=0.2)


# ------------------------------------------------------------------------------ more bad input


def test_two_rate_measures_bad_input() -> None:
    a, _ = bends(2)
    env = np.ones(round(a.size / FS * 1000))
    for fn in (km.flexion_relaxation, km.pnf_timing):
        with pytest.raises(ValueError, match="fs_angle"):
            fn(a, 0.0, env, 1000.0)
        with pytest.raises(ValueError, match="fs_emg"):
            fn(a, FS, env, -1.0)
        with pytest.raises(ValueError, match="same time"):
            fn(a, FS, env, 2000.0)  # wrong EMG rate: half the duration
        with pytest.raises(ValueError):
            fn(np.zeros(0), FS, env, 1000.0)
    with pytest.raises(ValueError, match="1-D"):
        km.pnf_timing(a, FS, np.ones((env.size, 2)), 1000.0)


def test_nan_runs_do_not_break_measures(rng: np.random.Generator) -> None:
    a, _ = bends(4)
    a = a + smooth_noise(a.size, 0.1, rng)
    a[1500:1550] = np.nan  # 0.5 s drop-out in the standing before the 2nd... 4th bend
    r = km.repetitions(a, FS, hysteresis_deg=10.0)
    assert r.count == 4
    ph = km.movement_phases(a, FS)
    assert ph.count == 8
    rom = km.range_of_motion(a, FS)
    assert np.isfinite(rom.range_deg)
    fs_e = 1000.0
    env = np.ones(round(a.size / FS * fs_e))
    env[3000:4000] = np.nan
    fr = km.flexion_relaxation(a, FS, env, fs_e)
    assert fr.count == 4
    env[:] = np.nan  # EMG lost entirely: NaN ratios, no warning, no error
    assert np.all(np.isnan(km.flexion_relaxation(a, FS, env, fs_e).frr))
    env[:] = 1.0
    assert km.cocontraction(env, env) == pytest.approx(100.0)


def test_results_are_json_ready() -> None:
    a, _ = bends(2)
    for res in (
        km.holds(a, FS),
        km.repetitions(a, FS),
        km.movement_phases(a, FS),
        km.range_of_motion(a, FS),
    ):
        d = res.to_dict()
        text = json.dumps(d, allow_nan=False)
        assert json.loads(text).keys() == d.keys()
    empty = km.repetitions(np.zeros(100), FS).to_dict()
    assert empty["count"] == 0 and empty["mean_tempo_cpm"] is None


def test_docstring_examples_run() -> None:
    import doctest

    res = doctest.testmod(km, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted >= 10 and res.failed == 0


# ------------------------------------------------------------------------------ oracles (SciPy)


def scipy_mnf_mdf(x: np.ndarray, fs: float, nw: int, step: int, band: tuple[float, float]):
    """Per-window MNF/MDF from scipy.signal.periodogram (Hann taper, mean removed), MDF with the
    same in-bin interpolation as kinemyo (each bin's power spread over +-df/2)."""
    signal = pytest.importorskip("scipy.signal")
    n_win = (x.shape[0] - nw) // step + 1
    frames = np.stack([x[w * step : w * step + nw] for w in range(n_win)])  # (w, nw, c)
    f, p = signal.periodogram(frames, fs, window=np.hanning(nw), detrend="constant", axis=1)
    sel = (f >= band[0]) & (f <= band[1])
    f, p = f[sel], p[:, sel]
    tot = p.sum(axis=1)
    mnf = (p * f[None, :, None]).sum(axis=1) / tot
    cum = np.cumsum(p, axis=1)
    j = np.argmax(cum >= 0.5 * tot[:, None], axis=1)
    cj = np.take_along_axis(cum, j[:, None], axis=1)[:, 0]
    cjm = np.where(j > 0, np.take_along_axis(cum, np.maximum(j - 1, 0)[:, None], axis=1)[:, 0], 0.0)
    df = f[1] - f[0]
    mdf = f[j] - df / 2 + (0.5 * tot - cjm) / (cj - cjm) * df
    return mnf, mdf


@pytest.mark.parametrize("backend", ["default", "scipy"])
def test_spectral_fatigue_matches_scipy_periodogram(rng: np.random.Generator, monkeypatch, backend) -> None:
    fs = 2000.0
    x = np.column_stack([shifting_emg(fs, 12, 120.0, -1.0, rng), rng.standard_normal(24_000)])
    if backend == "scipy":  # the float32 transform path (a user may plug in scipy.fft the same way)
        sfft = pytest.importorskip("scipy.fft")
        monkeypatch.setattr(km, "_RFFT", (lambda a: sfft.rfft(a, axis=1), True))
    for step_s, nw, st in ((None, 2000, 2000), (0.25, 1000, 500)):
        res = km.spectral_fatigue(x, fs, window_s=nw / fs, step_s=step_s)
        mnf, mdf = scipy_mnf_mdf(x, fs, nw, st, (20.0, 450.0))
        np.testing.assert_allclose(res.mnf_hz, mnf, rtol=1e-10)
        np.testing.assert_allclose(res.mdf_hz, mdf, rtol=1e-10)
        # float32 EMG (float32 FFT on the scipy path): within 1e-3 Hz of the float64 oracle
        r32 = km.spectral_fatigue(x.astype(np.float32), fs, window_s=nw / fs, step_s=step_s)
        np.testing.assert_allclose(r32.mnf_hz, mnf, atol=1e-3)
        np.testing.assert_allclose(r32.mdf_hz, mdf, atol=1e-3)
    # several blocks of windows give the same as one
    small = km.spectral_fatigue(x, fs, max_block_values=5000)
    np.testing.assert_array_equal(small.mdf_hz, km.spectral_fatigue(x, fs).mdf_hz)


def test_spectral_fatigue_dc_and_nyquist_bins_match_the_periodogram(rng: np.random.Generator) -> None:
    """A band that reaches fs/2 (fs = 800 or 900 Hz with the default 20-450 Hz) or starts at DC:
    those bins count once in a one-sided periodogram (review: they were counted twice)."""
    for fs, band, nw in ((800.0, (20.0, 450.0), 800), (900.0, (20.0, 450.0), 900), (800.0, (20.0, 450.0), 801),
                         (2000.0, (0.0, 300.0), 2000)):
        x = np.column_stack([shifting_emg(fs, 8, 120.0, -1.0, rng), rng.standard_normal(int(8 * fs))])
        res = km.spectral_fatigue(x, fs, window_s=nw / fs, band_hz=band)
        st = nw  # default step: the window
        mnf, mdf = scipy_mnf_mdf(x, fs, nw, st, (band[0], min(band[1], fs / 2)))
        np.testing.assert_allclose(res.mnf_hz, mnf, rtol=1e-10)
        np.testing.assert_allclose(res.mdf_hz, mdf, rtol=1e-10)


def test_decimated_rms_nan_stays_local(rng: np.random.Generator) -> None:
    fs = 2000.0
    x = rng.standard_normal((40_000, 2))
    x[20_000:20_010, 0] = np.nan  # 5 ms drop-out at 10 s
    y = km.emg_amplitude(x, fs, "rms", window_s=0.5, decimate=20)
    bad = np.flatnonzero(np.isnan(y[:, 0]))
    assert bad.size and bad.min() >= 1000 - 26 and bad.max() <= 1000 + 26  # only windows over it
    assert np.isfinite(y[:, 1]).all()
    clean = km.emg_amplitude(np.nan_to_num(x), fs, "rms", window_s=0.5, decimate=20)
    np.testing.assert_allclose(y[np.isfinite(y)], clean[np.isfinite(y)], rtol=1e-12)


def test_decimated_rms_is_centred_like_the_full_rate_one() -> None:
    """Review: with an even number of blocks per window the decimated RMS was centred d - 1
    samples late (a step crossed 19 samples early at d = 20); now within one sample."""
    fs = 2000.0
    x = np.zeros(20000)
    x[10000:] = 1.0
    full = km.emg_amplitude(x, fs, "rms", 0.5)
    lvl = np.sqrt(0.5)
    tf = np.interp(lvl, full, np.arange(x.size))
    for d, tol in ((20, 1.0), (25, 1.0), (40, 21.0)):  # 1000 / 40 = 25 blocks (odd): half a block
        dec = km.emg_amplitude(x, fs, "rms", 0.5, decimate=d)
        td = np.interp(lvl, dec, np.arange(0, x.size, d))
        assert abs(td - tf) <= tol + 1e-9, (d, td, tf)


def test_full_rate_rms_nan_marks_the_windows_that_hold_the_sample() -> None:
    """Review: the NaN of a dropped sample sat (window - 1 - half) samples before it; now every
    centred window holding it is NaN, as in the decimated path, and nothing else."""
    fs = 1000.0
    x = np.random.default_rng(1).standard_normal(3000)
    for i in (1000, 2900, 3):
        xi = x.copy()
        xi[i] = np.nan
        y = km.emg_amplitude(xi, fs, "rms", 0.5)
        nw = 500
        h = (nw - 1) // 2
        k = np.arange(x.size)
        expect = (k - h <= i) & (i < k - h + nw)
        np.testing.assert_array_equal(np.isnan(y), expect)
        clean = km.emg_amplitude(np.where(np.isfinite(xi), xi, 0.0), fs, "rms", 0.5)
        assert np.isfinite(y[~expect]).all() and np.abs(y[~expect] - clean[~expect]).max() < 0.05


def test_fs_accepts_any_real_number_type_and_refuses_strings() -> None:
    """The shared fs check (kinemyo._checks): Fraction, Decimal, NumPy scalars and 0-d arrays are
    numbers; a string, even "2000", None and a bool are not."""
    from decimal import Decimal
    from fractions import Fraction

    a = np.sin(np.linspace(0, 6, 500))
    ref = km.angular_velocity(a, 100.0)
    for fs in (100, Fraction(100), Decimal("100"), np.float32(100.0), np.array(100.0)):
        np.testing.assert_array_equal(km.angular_velocity(a, fs), ref)
    for bad in ("100", None, True):
        with pytest.raises(TypeError, match="number"):
            km.angular_velocity(a, bad)

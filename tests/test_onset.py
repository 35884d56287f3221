"""kinemyo.onset: accuracy on the simulator, online == offline, ECG, movement latency, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kinemyo import onset
from kinemyo.sim import simulate_emg

FS = 2000.0


def score(ev: np.ndarray, truth: np.ndarray, fs: float, dur_s: float) -> tuple[float, float, float]:
    """(MAE ms of onsets matched within 200 ms, detection rate, false positives per minute)."""
    on = ev[:, 0] if len(ev) else np.zeros(0, np.int64)
    used: set[int] = set()
    errs = []
    for t in truth[:, 0]:
        if len(on) == 0:
            break
        d = np.abs(on - t)
        j = int(np.argmin(d))
        if d[j] <= 0.2 * fs and j not in used:
            used.add(j)
            errs.append(abs(on[j] - t) / fs * 1000.0)
    mae = float(np.mean(errs)) if errs else float("nan")
    return mae, len(errs) / len(truth), (len(on) - len(used)) / (dur_s / 60.0)


@pytest.mark.parametrize(("snr", "mae_max", "det_min", "fp_max"),
                         [(3, 13.5, 0.9, 1.0), (6, 11, 0.98, 0.5), (10, 8, 0.99, 0.5),
                          (20, 4.2, 0.99, 0.5)])
def test_default_accuracy(snr, mae_max, det_min, fp_max):
    """Short version of the benchmark (bounds = measured values + margin; see docs/onset.md)."""
    res = []
    for seed in range(2):
        rec = simulate_emg(120.0, FS, None, snr_db=snr, seed=100 + seed)
        ev = onset.detect(rec.signal, FS, rest=(0.0, 1.5))
        res.append(score(ev, rec.events[0], FS, 120.0))
    mae, det, fp = np.mean(res, axis=0)
    assert mae <= mae_max and det >= det_min and fp <= fp_max, (mae, det, fp)


@pytest.mark.parametrize(("snr", "mae_max", "mae_drive_max"),
                         [(3, 13.5, 12.0), (6, 8.0, 7.5), (10, 4.0, 5.5), (20, 2.0, 5.5)])
def test_default_accuracy_motor_unit_carrier(snr, mae_max, mae_drive_max):
    """A physically different generator than the Gaussian carrier the detector's likelihood
    assumes: motor-unit action-potential trains (simulate_emg(carrier="muap"); sparse and spiky
    at the foot of a rise). Against the first action potential of each burst (the EMG's own
    onset, ``first_activity``) the issue's targets hold (measured 11.8 / 6.6 / 3.2 / 1.4 ms,
    100 %, 0 FP/min on these records); against the drive's onset (``events``) the error is larger
    at high SNR by the time the drive takes to recruit the first unit and its potential to build
    up (measured 10.2 / 6.3 / 4.5 / 4.7 ms; docs/onset.md "A second generator"). Bounds =
    measured + margin."""
    res, res_drive = [], []
    for seed in range(2):
        rec = simulate_emg(120.0, FS, None, snr_db=snr, seed=100 + seed, carrier="muap")
        ev = onset.detect(rec.signal, FS, rest=(0.0, 1.5))
        truth = rec.events[0].copy()
        truth[:, 0] = rec.first_activity[0]
        assert np.all(truth[:, 0] >= rec.events[0][:, 0])
        res.append(score(ev, truth, FS, 120.0))
        res_drive.append(score(ev, rec.events[0], FS, 120.0))
    mae, det, fp = np.mean(res, axis=0)
    assert mae <= mae_max and det >= 0.99 and fp <= 0.5, (mae, det, fp)
    assert np.mean(res_drive, axis=0)[0] <= mae_drive_max


def test_quantised_rest_warns_and_explicit_threshold_holds():
    """Rest noise below half an ADC step (documented limit, docs/onset.md Known gaps): detect warns;
    the documented workaround (threshold=0.2) keeps false activations down at 0.3 step; noise of a
    few steps or continuous data give no warning."""
    rec = simulate_emg(120.0, FS, None, snr_db=6, seed=500)
    coarse = np.round(rec.signal * 0.3)  # noise RMS 0.3 step
    with pytest.warns(RuntimeWarning, match="coarsely quantised"):
        onset.detect(coarse, FS, rest=(0.0, 1.5))
    with pytest.warns(RuntimeWarning, match="coarsely quantised"):
        ev = onset.detect(coarse, FS, rest=(0.0, 1.5), threshold=0.2)
    mae, det, fp = score(ev, rec.events[0], FS, 120.0)
    assert det >= 0.95 and fp <= 1.0, (mae, det, fp)
    # no warning (filterwarnings = error): 2 steps of noise, continuous data, 2-D with one fine channel
    onset.detect(np.round(rec.signal * 2.0), FS, rest=(0.0, 1.5))
    onset.detect(rec.signal, FS, rest=(0.0, 1.5))
    two = np.column_stack([rec.signal, coarse])
    with pytest.warns(RuntimeWarning, match=r"channel\(s\) \[1\]"):
        onset.detect(two, FS, rest=(0.0, 1.5))


def test_ecg_template_and_highpass():
    rec = simulate_emg(120.0, FS, None, snr_db=20, seed=7, ecg=True)
    plain = score(onset.detect(rec.signal, FS, rest=(0, 1.5)), rec.events[0], FS, 120.0)
    ev = onset.detect(rec.signal, FS, rest=(0, 1.5), ecg="template")
    tmpl = score(ev, rec.events[0], FS, 120.0)
    assert plain[2] > 5  # ECG makes false positives without handling
    assert tmpl[2] <= 1.0 and tmpl[1] >= 0.98 and tmpl[0] <= 6.0
    hp = onset.detect(rec.signal, FS, rest=(0, 1.5), ecg="highpass")
    assert len(hp) > 0


def test_ecg_template_opposite_polarity_and_ecg_free_neighbour():
    """Review (eighth session): the R peaks were found on the plain channel sum, so an ECG of
    opposite polarity on two channels (left / right erector spinae) cancelled (0.1 -> 29 false
    activations per minute at 20 dB), and an ECG-free channel 30 x larger buried the beats."""
    rec = simulate_emg(120.0, FS, 2, snr_db=20, seed=601, ecg=True)
    same = onset.detect(rec.signal, FS, rest=(0, 1.5), ecg="template")
    flip = onset.detect(rec.signal * np.array([-1.0, 1.0]), FS, rest=(0, 1.5), ecg="template")
    for c in range(2):
        np.testing.assert_array_equal(same[c], flip[c])  # the sign of a channel does not matter
        mae, det, fp = score(flip[c], rec.events[c], FS, 120.0)
        assert fp <= 1.0 and det >= 0.98 and mae <= 6.0, (c, mae, det, fp)
    one = simulate_emg(120.0, FS, None, snr_db=20, seed=603, ecg=True)
    other = simulate_emg(120.0, FS, None, snr_db=20, seed=703).signal  # another muscle, no ECG
    for k in (1.0, 30.0):
        ev = onset.detect(np.column_stack([one.signal, k * other]), FS, rest=(0, 1.5), ecg="template")
        mae, det, fp = score(ev[0], one.events[0], FS, 120.0)
        assert fp <= 1.0 and det >= 0.98 and mae <= 6.0, (k, mae, det, fp)
    # one channel: the same beats as the plain sum of earlier builds (a single z^2 is bp^2 scaled)
    x = one.signal
    np.testing.assert_allclose(onset.remove_ecg(x, FS), onset.remove_ecg(x[:, None], FS)[:, 0])


def test_remove_ecg_with_a_channel_that_is_mostly_a_gap():
    """Review (eighth session): a channel mostly NaN (a lost electrode) or zeros took the median of
    the band-pass's dying ringing (~1e-280) as its scale; its scaled squares overflowed and no
    beat was removed on any channel."""
    x = simulate_emg(120.0, FS, 3, seed=4, ecg=True, snr_db=20).signal.copy()
    ref = onset.remove_ecg(x[:, :2], FS)
    x[int(25 * FS):, 2] = np.nan
    with np.errstate(over="raise", invalid="raise"):
        got = onset.remove_ecg(x, FS)
    assert np.max(np.abs(got[:, :2] - x[:, :2])) > 5.0  # beats removed on the other channels
    np.testing.assert_allclose(got[:, :2], ref, atol=1.0)
    y = np.concatenate([np.zeros(int(80 * FS)), simulate_emg(10.0, FS, None, seed=1, ecg=True, snr_db=20).signal])
    assert np.max(np.abs(onset.remove_ecg(y, FS) - y)) > 5.0


def _online_onsets(x: np.ndarray, ch: int, **kw) -> np.ndarray:
    det = onset.OnlineDetector(FS, x.shape[1], rest=(0.0, 1.5), **kw)
    rows = np.concatenate([det.process(x[i:i + 40]) for i in range(0, len(x), 40)] + [det.finish()])
    return np.sort(rows[(rows[:, 0] == ch) & (rows[:, 2] >= 0)][:, 1:], axis=0)


def test_online_ecg_template_polarity_scale_and_large_ecg():
    """Review (eighth session), online ecg="template": (1) the causal R-peak finder used the plain
    channel sum: a 30 x larger ECG-free channel stopped all subtraction (30 FP/min at 20 dB);
    (2) with an ECG 5 x the EMG the rest window's QRS complexes (not yet subtracted: the template
    needs 8 beats) were left out of the baseline by robust_rest, so every later residue became an
    activation (44 FP/min)."""
    one = simulate_emg(120.0, FS, None, snr_db=20, seed=603, ecg=True)
    other = simulate_emg(120.0, FS, None, snr_db=20, seed=703).signal
    alone = score(_online_onsets(one.signal[:, None], 0, ecg="template"), one.events[0], FS, 120.0)
    for k in (1.0, 30.0):  # an ECG-free neighbour, at any scale, changes (almost) nothing
        got = _online_onsets(np.column_stack([k * other, one.signal]), 1, ecg="template")
        mae, det, fp = score(got, one.events[0], FS, 120.0)
        assert det >= 0.98 and fp <= alone[2] + 1.0 and mae <= alone[0] + 1.0, (k, mae, det, fp, alone)
    flip = simulate_emg(120.0, FS, 2, snr_db=20, seed=601, ecg=True)
    a = _online_onsets(flip.signal, 1, ecg="template")
    b = _online_onsets(flip.signal * np.array([-1.0, 1.0]), 1, ecg="template")
    np.testing.assert_array_equal(a, b)  # the sign of the other channel does not matter
    assert not onset.OnlineDetector(FS, 1, rest=(0.0, 1.5), ecg="template")._p.robust_rest
    assert onset.OnlineDetector(FS, 1, rest=(0.0, 1.5))._p.robust_rest
    fps = []
    for seed in (501, 502):
        big = simulate_emg(120.0, FS, None, snr_db=20, seed=seed, ecg=True, ecg_amplitude=5.0)
        ev = _online_onsets(big.signal[:, None], 0, ecg="template")
        fps.append(score(ev, big.events[0], FS, 120.0)[2])
    assert np.mean(fps) < 6.0, fps  # 44 before (the 8-beat warm-up of each record remains)


@pytest.mark.parametrize("method", ["default", "hodges_bui", "bonato", "tkeo"])
def test_online_equals_offline(method):
    rec = simulate_emg(30.0, FS, 3, snr_db=8, seed=3)
    off = onset.detect(rec.signal, FS, method, rest=(0.0, 1.5))
    det = onset.OnlineDetector(FS, 3, method, rest=(0.0, 1.5))
    rng = np.random.default_rng(0)
    rows = []
    i = 0
    n = rec.signal.shape[0]
    while i < n:
        m = int(rng.integers(0, 3000))
        rows.append(det.process(rec.signal[i:i + m]))
        i += m
    rows.append(det.finish())
    allr = np.concatenate(rows)
    closed = allr[allr[:, 2] >= 0]
    for c in range(3):
        got = closed[closed[:, 0] == c][:, 1:]
        np.testing.assert_array_equal(got[np.argsort(got[:, 0], kind="stable")], off[c])
    # every closed event whose onset was announced earlier: announcement precedes the close
    assert det.latency_samples > 0


def test_online_latency_bounded():
    rec = simulate_emg(30.0, FS, None, snr_db=10, seed=5, rise_s=(0, 0))
    det = onset.OnlineDetector(FS, 1, rest=(0.0, 1.5))
    ann = []
    for i in range(0, len(rec.signal), 20):
        r = det.process(rec.signal[i:i + 20])
        ann += [(row[1], i + 20) for row in r if row[2] == -1]
    assert ann
    delays = [(t - on) / FS for on, t in ann]
    assert max(delays) < 0.4


def test_auto_baseline_and_online_with_given_baseline():
    rec = simulate_emg(60.0, FS, None, snr_db=10, seed=8)
    ev = onset.detect(rec.signal, FS)  # automatic baseline
    mae, det, fp = score(ev, rec.events[0], FS, 60.0)
    assert det >= 0.95 and fp <= 1.0 and mae < 9


def test_dtypes_and_layouts():
    rec = simulate_emg(20.0, FS, 2, snr_db=10, seed=2)
    a = onset.detect(rec.signal, FS, rest=(0, 1.5))
    b = onset.detect(np.asfortranarray(rec.signal), FS, rest=(0, 1.5))
    for u, v in zip(a, b, strict=False):
        np.testing.assert_array_equal(u, v)
    f = onset.detect(rec.signal.astype(np.float32), FS, rest=(0, 1.5))
    for u, v in zip(a, f, strict=False):
        assert len(u) == len(v)
    one = onset.detect(rec.signal[:, 0], FS, rest=(0, 1.5))
    assert one.dtype == np.int64 and one.shape[1] == 2
    np.testing.assert_array_equal(one, a[0])


def test_bad_input():
    x = np.random.default_rng(0).standard_normal(20000)
    with pytest.raises(ValueError, match="fs"):
        onset.detect(x, 0.0)
    with pytest.raises(ValueError, match="fs"):
        onset.detect(x, -5.0)
    with pytest.raises(ValueError, match="outside"):
        onset.detect(x, FS, rest=(5.0, 20.0))
    with pytest.raises(ValueError, match=r"at least 0\.1 s"):
        onset.detect(x, FS, rest=(0.0, 0.01))
    with pytest.raises(ValueError, match="rest"):
        onset.detect(x, FS, rest=(2.0, 1.0))
    with pytest.raises(ValueError, match="method"):
        onset.detect(x, FS, method="nope")
    with pytest.raises(TypeError, match="unknown parameter"):
        onset.detect(x, FS, bogus=1)
    with pytest.raises(ValueError, match="threshold"):
        onset.detect(x, FS, threshold=-1.0)
    for bad in (0.0, -0.01, float("nan")):
        with pytest.raises(ValueError, match="rise_prior"):
            onset.detect(x, FS, rise_prior=bad)
    with pytest.raises(ValueError, match="shape"):
        onset.OnlineDetector(FS, 2).process(np.zeros((10, 3)))
    with pytest.raises(TypeError):
        onset.detect(np.array(["a", "b"]), FS)
    with pytest.raises(TypeError, match="number"):
        onset.detect(x, "2000")
    with pytest.raises(TypeError, match="real numeric"):
        onset.OnlineDetector(FS, 2).process(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="n_channels"):
        onset.OnlineDetector(FS, 2.5)  # type: ignore[arg-type]
    # channel-major input (a review found it crashed the interpreter): refused with a hint
    with pytest.raises(ValueError, match=r"x\.T"):
        onset.detect(np.zeros((4, 3000)), FS)
    # a rest window with less than 0.1 s of finite samples (review: one event over the whole record)
    xn = x.copy()
    xn[:2950] = np.nan
    with pytest.raises(ValueError, match="finite"):
        onset.detect(xn, FS, rest=(0.0, 1.5))
    # channels of very different scales: each is rescaled on its own (review: a 1e150 channel
    # wiped out the events of a normal one next to it)
    two = np.column_stack([x, x])
    ref = onset.detect(two, FS, rest=(0.0, 1.5))
    for sc in (1e150, 1e-160):
        mixed = two.copy()
        mixed[:, 1] *= sc
        got = onset.detect(mixed, FS, rest=(0.0, 1.5))
        assert all(np.array_equal(a, b) for a, b in zip(got, ref, strict=True))
    with pytest.raises(ValueError, match="empty"):
        onset.detect(np.zeros(0), FS)
    # a fully finite rest window of exactly 0.1 s at a rate where 0.1 fs is not whole is accepted
    # (review: the check counted int(rest fs) samples against 0.1 fs)
    assert isinstance(onset.detect(np.random.default_rng(2).standard_normal(20000), 1024.0, rest=(0.0, 0.1)),
                      np.ndarray)
    # a tiny signal with a huge fs: the baseline pass's buffers follow the signal, not fs (a
    # valgrind sweep found 2 x 800 GB asked for 8 samples at 1e12 Hz)
    assert onset.detect(np.ones(8), 1e12, "bonato", preprocess=False).shape == (0, 2)
    # shorter than one automatic-baseline window (0.1 s): a result per channel, no events
    for n in (3, 150):
        for method in ("default", "tkeo"):
            r = onset.detect(np.random.default_rng(n).standard_normal((n, 2)), FS, method)
            assert len(r) == 2 and all(e.shape == (0, 2) for e in r)


@pytest.mark.parametrize("method", ["default", "hodges_bui", "bonato", "tkeo"])
def test_degenerate_signals_give_no_events(method):
    n = 20000
    for x in (np.zeros(n), np.full(n, 7.0)):
        assert len(onset.detect(x, FS, method, rest=(0, 1))) == 0
        assert len(onset.detect(x, FS, method)) == 0
    # a channel without activity: white noise only
    noise = np.random.default_rng(1).standard_normal(4 * 60000)
    ev = onset.detect(noise, FS, method, rest=(0, 1))
    assert len(ev) <= (4 if method != "bonato" else 20)


def test_nan_run_and_huge_amplitudes():
    rec = simulate_emg(30.0, FS, None, snr_db=10, seed=11)
    x = rec.signal.copy()
    ref = onset.detect(x, FS, rest=(0, 1.5))
    b = rec.events[0][2]
    x[b[0] + 400:b[0] + 800] = np.nan  # drop-out inside a burst
    ev = onset.detect(x, FS, rest=(0, 1.5))
    assert abs(len(ev) - len(ref)) <= 1
    assert np.all(np.diff(ev[:, 0]) > 0)
    big = onset.detect(rec.signal * 1e200, FS, rest=(0, 1.5))
    np.testing.assert_array_equal(big, ref)
    tiny = onset.detect(rec.signal * 1e-200, FS, rest=(0, 1.5))
    np.testing.assert_array_equal(tiny, ref)


def test_movement_onsets_and_latency_table():
    fs = 200.0
    n = int(20 * fs)
    rng = np.random.default_rng(0)
    gyro = 0.01 * rng.standard_normal((n, 3))
    truth = np.array([800, 1800, 2800])
    for t in truth:
        k = np.arange(400)
        gyro[t:t + 400, 0] += 1.5 * np.sin(np.pi * k / 400)
    mv = onset.movement_onsets(gyro, fs, rest=(0.0, 2.0))
    assert len(mv) == 3
    assert np.all(np.abs(mv - truth) <= 0.03 * fs)
    emg = [np.array([[t - 10, t + 100]]) for t in truth]  # 50 ms before: feed-forward
    ch = [np.concatenate(emg), np.concatenate([e + 20 for e in emg])]
    table = onset.latency_table(ch, truth, fs, channel_names=["TrA", "MF"])
    assert len(table) == 6
    lat = {(r["movement"], r["channel"]): r["latency_ms"] for r in table}
    assert lat[(0, "TrA")] == pytest.approx(-50.0)
    assert lat[(0, "MF")] == pytest.approx(50.0)
    # a single 1-D array of onsets is one channel (it used to become one channel per onset)
    one = onset.latency_table(ch[0][:, 0], truth, fs)
    assert len(one) == 3 and {r["channel"] for r in one} == {0}
    assert onset.latency_table(ch[0][:, 0].tolist(), truth, fs) == one  # a plain list too
    with pytest.raises(ValueError, match="channel_names"):
        onset.latency_table(ch, truth, fs, channel_names=["A"])
    with pytest.raises(ValueError, match="window"):
        onset.latency_table(ch, truth, fs, window=(0.5, -0.5))
    # a rest window without noise (a quantised gyroscope at rest) or without finite samples
    # (review: a one-step flicker read as movements; an all-NaN rest found a movement at its end)
    flat = np.zeros((4000, 3))
    flat[400:] = np.round(np.random.default_rng(0).standard_normal((3600, 3)) * 0.4) * 0.001
    assert onset.movement_onsets(flat, fs, rest=(0.0, 2.0)).size == 0
    lost = 0.01 * np.random.default_rng(1).standard_normal((4000, 3))
    lost[:400] = np.nan
    with pytest.raises(ValueError, match="finite"):
        onset.movement_onsets(lost, fs, rest=(0.0, 2.0))
    assert [r["latency_ms"] for r in one] == pytest.approx([-50.0] * 3)
    with pytest.raises(ValueError, match="rest"):
        onset.movement_onsets(gyro, fs, rest=(0.0, 100.0))


def _movement_onsets_numpy(gyro, fs, rest, k, min_duration, smooth_s, min_gap):
    """Independent numpy oracle of onset.movement_onsets (k_low = 2)."""
    g = np.asarray(gyro, dtype=np.float64)
    w = np.abs(g) if g.ndim == 1 else np.linalg.norm(g, axis=1)
    m = max(1, round(smooth_s * fs))
    w = np.convolve(w, np.ones(m) / m, mode="full")[: w.size]
    b, e = round(rest[0] * fs), round(rest[1] * fs)
    mu, sd = float(np.mean(w[b:e])), float(np.std(w[b:e]))
    if not sd > 1e-9 * max(1.0, abs(mu)):  # a rest without noise: the core's 1e-3 rad/s
        sd = max(1e-3, 1e-12 * abs(mu))
    above, low = w > mu + k * sd, w <= mu + 2 * sd
    d = np.diff(np.concatenate([[0], above.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    keep = (ends - starts) >= max(1, round(min_duration * fs))
    out, last_end, low_idx = [], -10**18, np.flatnonzero(low)
    for s, en in zip(starts[keep], ends[keep], strict=True):
        if s >= e and s - last_end >= int(min_gap * fs):
            j = np.searchsorted(low_idx, s) - 1
            out.append(int(low_idx[j]) if j >= 0 else int(s))
        last_end = int(en)
    return np.asarray(out, dtype=np.int64)


@pytest.mark.parametrize("seed", range(6))
def test_movement_onsets_core_equals_numpy_oracle(seed: int) -> None:
    rng = np.random.default_rng(seed)
    fs = float(rng.choice([100.0, 200.0, 1000.0]))
    n = int(30 * fs)
    axes = int(rng.choice([1, 3]))
    gyro = 0.02 * rng.standard_normal((n, axes))
    for t in rng.integers(int(2 * fs), n - int(2 * fs), 8):  # overlapping or close movements too
        L = int(rng.uniform(0.05, 1.5) * fs)
        gyro[t:t + L, 0] += rng.uniform(0.1, 2.0) * np.sin(np.pi * np.arange(L) / L)
    kw = dict(rest=(0.0, 2.0), k=float(rng.uniform(3, 8)), min_duration=float(rng.uniform(0, 0.2)),
              smooth_s=float(rng.choice([0.0, 0.02, 0.1])), min_gap=float(rng.uniform(0, 0.5)))
    x = gyro[:, 0] if axes == 1 else gyro
    got = onset.movement_onsets(x, fs, **kw)
    np.testing.assert_array_equal(got, _movement_onsets_numpy(x, fs, **kw))


def test_movement_onsets_bad_input_and_nonfinite() -> None:
    fs = 100.0
    g = np.zeros((500, 3))
    g[300:350, 2] = 1.0
    assert onset.movement_onsets(g, fs).tolist() == [299]
    g2 = g.copy()
    g2[100, :] = np.nan  # no information: no movement there
    assert onset.movement_onsets(g2, fs).tolist() == [299]
    with pytest.raises(ValueError, match="fs"):
        onset.movement_onsets(g, 0.0)
    with pytest.raises(ValueError, match="rest window"):
        onset.movement_onsets(g, fs, rest=(1.0, 1.05))
    with pytest.raises(ValueError, match="k_low"):
        onset.movement_onsets(g, fs, k_low=6.0)
    with pytest.raises(ValueError, match="min_gap"):
        onset.movement_onsets(g, fs, min_gap=-1.0)
    with pytest.raises(ValueError, match="gyro must have shape"):
        onset.movement_onsets(np.zeros((10, 3, 2)), fs)
    with pytest.raises(TypeError, match="gyro"):
        onset.movement_onsets("abc", fs)


@pytest.mark.parametrize("method", ["default", "hodges_bui", "bonato", "tkeo"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_online_pickle_and_deepcopy_mid_stream(method, dtype):
    """A copy taken mid-stream (inside a burst, with a pending onset) continues exactly like the
    uninterrupted run: same events, same later state."""
    import copy
    import pickle
    rec = simulate_emg(20.0, FS, 2, snr_db=8, seed=21)
    x = rec.signal.astype(dtype)
    ref = onset.OnlineDetector(FS, 2, method, rest=(0.0, 1.5), dtype=dtype)
    full = [ref.process(x[i:i + 333]) for i in range(0, len(x), 333)] + [ref.finish()]
    full_rows = np.concatenate(full)
    b = rec.events[0][3]
    for cut in (1000, int(b[0]) + 30, int(b[0]) + 700):  # in the rest window, rising, inside
        det = onset.OnlineDetector(FS, 2, method, rest=(0.0, 1.5), dtype=dtype)
        head = [det.process(x[i:min(i + 333, cut)]) for i in range(0, cut, 333)]
        for clone in (pickle.loads(pickle.dumps(det)), copy.deepcopy(det)):
            assert clone.position == det.position == cut
            assert clone.params == det.params
            tail = [clone.process(x[i:i + 333]) for i in range(cut, len(x), 333)] + [clone.finish()]
            rows = np.concatenate(head + tail)
            # the events (and their order per channel) are those of the uninterrupted run
            for c in range(2):
                np.testing.assert_array_equal(rows[rows[:, 0] == c], full_rows[full_rows[:, 0] == c])
        # the original is untouched by the copies
        rest_rows = np.concatenate([*head, det.process(x[cut:]), det.finish()])
        for c in range(2):
            np.testing.assert_array_equal(np.unique(rest_rows[rest_rows[:, 0] == c], axis=0),
                                          np.unique(full_rows[full_rows[:, 0] == c], axis=0))


def test_online_state_roundtrip_and_validation():
    det = onset.OnlineDetector(FS, 3, rest=(0.0, 0.5))
    det.set_baseline([0, 0, 0], [1, 1, 1], [1.0, 2.0, 3.0])
    x = np.random.default_rng(3).standard_normal((5000, 3))
    det.process(x)
    st = det.state
    assert all(isinstance(v, np.ndarray) for v in st.values())
    other = onset.OnlineDetector(FS, 3, rest=(0.0, 0.5))
    other.state = st
    np.testing.assert_array_equal(other.process(x), det.process(x))
    for k, v in other.state.items():
        np.testing.assert_array_equal(v, det.state[k])
    bad = dict(st)
    bad["channels"] = bad["channels"][:-1]
    with pytest.raises(ValueError, match="channels"):
        other.state = bad
    with pytest.raises(ValueError, match="missing"):
        other.state = {k: v for k, v in st.items() if k != "bins" and k != "rings"}
    with pytest.raises(TypeError):
        other.state = [1, 2]
    # the record is versioned
    rec = det.__getstate__()
    assert rec["format"] == 1 and rec["class"] == "OnlineDetector"
    rec["format"] = 99
    with pytest.raises(ValueError, match="format"):
        onset.OnlineDetector.__new__(onset.OnlineDetector).__setstate__(rec)


@pytest.mark.parametrize(("name", "kw", "mae_max", "fp_max"), [
    ("hum", {"hum_hz": 50.0, "hum_amplitude": 1.0}, 10, 0.5),
    ("wander", {"wander_amplitude": 20.0}, 9, 0.5),
    ("amplitudes 0.5-2", {"amplitude_range": (0.5, 2.0)}, 9, 0.5),
    ("ramps 0-150 ms", {"rise_s": (0.0, 0.15)}, 15, 0.5),
    # rise shapes the refinement does not model (its ramp is linear in amplitude)
    ("raised-cosine rises", {"rise_shape": "cosine"}, 10, 0.5),
    ("sigmoid rises", {"rise_shape": "sigmoid"}, 11, 0.5),
    # movement-artefact spikes (20x the noise, 6/min) with reject_artefacts=True (0.17 FP/min
    # measured, 2.8 without it; tests/test_onset_artefacts.py, docs/onset.md)
    ("spikes", {"spikes_per_min": 6.0, "reject_artefacts": True}, 10, 0.5),
])
def test_default_accuracy_varied_simulator(name, kw, mae_max, fp_max):
    """10 dB, 3 seeds x 2 min per setting (bounds = measured values + margin, docs/onset.md)."""
    res = []
    for seed in range(3):
        sim_kw = {k: v for k, v in kw.items() if k != "reject_artefacts"}
        det_kw = {k: v for k, v in kw.items() if k == "reject_artefacts"}
        rec = simulate_emg(120.0, FS, None, snr_db=10, seed=300 + seed, **sim_kw)
        res.append(score(onset.detect(rec.signal, FS, rest=(0.0, 1.5), **det_kw), rec.events[0], FS, 120.0))
    mae, det, fp = np.mean(res, axis=0)
    assert mae <= mae_max and det >= 0.99 and fp <= fp_max, (name, mae, det, fp)


def test_online_finish_keeps_baseline_for_the_next_stream():
    rec = simulate_emg(20.0, FS, 2, snr_db=10, seed=4)
    det = onset.OnlineDetector(FS, 2, rest=(0.0, 1.5))
    first = np.concatenate([det.process(rec.signal), det.finish()])
    # the next stream starts at sample 0 with the baseline learnt (sigma0^2 as tracked at the
    # end of the first stream) and its alarm levels, so decisions start at once
    base = [list(getattr(det._core, f"baseline_{k}")) for k in ("mean", "sd", "energy")]
    levels = det.alarm_levels
    assert levels.min() >= 100.0
    x2 = rec.signal[20000:]
    second = np.concatenate([det.process(x2), det.finish()])
    ref = onset.OnlineDetector(FS, 2, rest=(0.0, 1.5))
    ref.set_baseline(*base, lrv=list(levels / 20.0))
    np.testing.assert_allclose(ref.alarm_levels, levels, rtol=1e-12)
    expect = np.concatenate([ref.process(x2), ref.finish()])
    np.testing.assert_array_equal(second, expect)
    assert len(first) > 0 and len(second) > 0
    np.testing.assert_allclose(det.alarm_levels, levels)  # kept again for a third stream


@pytest.mark.parametrize("method", ["default", "bonato"])
def test_online_rows_and_their_order_do_not_depend_on_chunking(method):
    """Rows come in decision order (time, then channel) whatever the chunking."""
    rec = simulate_emg(30.0, FS, 4, snr_db=8, seed=13)
    outs = []
    for step in (1, 37, 5000, 60000):
        det = onset.OnlineDetector(FS, 4, method, rest=(0.0, 1.5))
        rows = [det.process(rec.signal[i:i + step]) for i in range(0, len(rec.signal), step)]
        outs.append(np.concatenate([*rows, det.finish()]))
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])


def test_rise_prior_moves_onsets_along_the_ridge():
    """The rise-length prior acts as documented: a prior that favours short rises reports later
    onsets on long ramps than the flat one (the start and the rise length trade off along the
    likelihood's ridge), a very long mean is the flat prior, and the default lies in between."""
    sim = simulate_emg(60.0, FS, None, snr_db=10.0, seed=41, rise_s=(0.05, 0.06))
    truth = sim.events[0][:, 0]

    def mean_err(**kw: float) -> float:
        on = onset.detect(sim.signal, FS, rest=(0.0, 1.5), **kw)[:, 0]
        d = np.array([on[np.argmin(np.abs(on - t))] - t for t in truth], dtype=float)
        assert np.all(np.abs(d) < 0.2 * FS)
        return float(d.mean()) / FS * 1000.0

    short, default, flat = mean_err(rise_prior=0.005), mean_err(), mean_err(rise_prior=float("inf"))
    assert short > default + 1.0 and default > flat + 1.0
    assert abs(mean_err(rise_prior=1e6) - flat) < 0.05


def _pop(x: np.ndarray, at_s: float, amp: float, fs: float = FS) -> np.ndarray:
    """A 20 ms movement pop (a 30 Hz square burst under a Hann window, amp x the noise RMS)."""
    y = x.copy()
    i0, n = int(at_s * fs), int(0.02 * fs)
    burst = amp * np.hanning(n) * np.sign(np.sin(2 * np.pi * 30.0 * np.arange(n) / fs))
    if y.ndim == 1:
        y[i0:i0 + n] += burst
    else:
        y[i0:i0 + n] += burst[:, None]
    return y


def _onset_errors(on: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(detected fraction within 200 ms, mean absolute error ms of those)."""
    d = np.array([np.min(np.abs(on - t)) if on.size else np.inf for t in truth], dtype=float)
    ok = d <= 0.2 * FS
    return float(ok.mean()), float(d[ok].mean() / FS * 1000.0)


def test_rest_window_artefact_is_left_out_of_the_baseline():
    """A pop inside the rest window (20 x the noise RMS for 20 ms) would inflate sigma0^2 about
    threefold: onsets late and false alarms. The robust baseline leaves its windows out and finds
    the onsets of the clean recording; without it (robust_rest=False, no rest-level tracking) the
    same record is worse; the tracking alone recovers part of it."""
    worse = 0
    for seed in (5, 6, 7):
        rec = simulate_emg(60.0, FS, None, snr_db=6.0, seed=seed)
        truth = rec.events[0][:, 0]
        spiky = _pop(rec.signal, 0.7, 20.0)
        det_c, mae_c = _onset_errors(onset.detect(rec.signal, FS, rest=(0.0, 1.5))[:, 0], truth)
        det_r, mae_r = _onset_errors(onset.detect(spiky, FS, rest=(0.0, 1.5))[:, 0], truth)
        # (the rest-level tracking would correct the inflated sigma0^2 within ~10 s: off here,
        # to see the robust baseline on its own)
        det_p, mae_p = _onset_errors(
            onset.detect(spiky, FS, rest=(0.0, 1.5), robust_rest=False, track_rest=0)[:, 0], truth)
        det_t, mae_t = _onset_errors(
            onset.detect(spiky, FS, rest=(0.0, 1.5), robust_rest=False)[:, 0], truth)
        assert det_r >= det_c and abs(mae_r - mae_c) < 0.3
        worse += (mae_p > mae_c + 2.0) or (det_p < det_c)
        assert det_t >= det_p and mae_t <= mae_p + 0.3
    assert worse >= 2


def test_robust_rest_changes_nothing_on_a_clean_rest_and_follows_ecg_mode():
    for seed in (8, 9):
        rec = simulate_emg(30.0, FS, 2, snr_db=10.0, seed=seed)
        for method in ("default", "hodges_bui"):
            a = onset.detect(rec.signal, FS, method, rest=(0.0, 1.5))
            b = onset.detect(rec.signal, FS, method, rest=(0.0, 1.5), robust_rest=False)
            for ea, eb in zip(a, b, strict=True):
                np.testing.assert_array_equal(ea, eb)
    # ECG only high-passed recurs through the rest window: part of the background (kept);
    # the user's explicit choice wins
    p_hp = onset._params(FS, 1, "default", True, "highpass", (0.0, 1.0), None, {})
    p_none = onset._params(FS, 1, "default", True, "none", (0.0, 1.0), None, {})
    p_tmpl = onset._params(FS, 1, "default", True, "template", (0.0, 1.0), None, {})
    p_set = onset._params(FS, 1, "default", True, "highpass", (0.0, 1.0), None, {"robust_rest": True})
    assert (p_hp.robust_rest, p_none.robust_rest, p_tmpl.robust_rest, p_set.robust_rest) == \
        (False, True, True, True)


def test_robust_rest_online_equals_offline_across_a_pickle_inside_the_rest_window():
    import pickle
    rec = simulate_emg(20.0, FS, 2, snr_db=8.0, seed=23)
    x = _pop(rec.signal, 0.6, 25.0)
    ref = onset.detect(x, FS, rest=(0.0, 1.5))
    det = onset.OnlineDetector(FS, 2, rest=(0.0, 1.5))
    head = [det.process(x[i:min(i + 250, 1400)]) for i in range(0, 1400, 250)]  # up to 0.7 s
    clone = pickle.loads(pickle.dumps(det))
    rows = np.concatenate(head + [clone.process(x[i:i + 777]) for i in range(1400, len(x), 777)]
                          + [clone.finish()])
    closed = rows[rows[:, 2] >= 0]
    for c in range(2):
        got = closed[closed[:, 0] == c][:, 1:]
        np.testing.assert_array_equal(got[np.argsort(got[:, 0], kind="stable")], ref[c])
    # the pop was left out: the same events as without it
    clean = onset.detect(rec.signal, FS, rest=(0.0, 1.5))
    assert sum(len(a) for a in clean) == sum(len(a) for a in ref)


def _closed(rows: np.ndarray, c: int) -> np.ndarray:
    got = rows[(rows[:, 2] >= 0) & (rows[:, 0] == c)][:, 1:]
    return got[np.argsort(got[:, 0], kind="stable")]


def _fp_per_min(on: np.ndarray, truth: np.ndarray, minutes: float) -> float:
    used: set[int] = set()
    fp = 0
    for o in on:
        d = np.abs(truth - o)
        j = int(np.argmin(d)) if d.size else -1
        if j >= 0 and d[j] <= 0.2 * FS and j not in used:
            used.add(j)
        else:
            fp += 1
    return fp / minutes


def test_online_ecg_template_removes_qrs_activations():
    """Strong ECG (R peak 2 x the EMG RMS at 20 dB): the 30 Hz high-pass alone leaves QRS residue
    that becomes activations; the causal template subtraction removes most of them and keeps the
    bursts."""
    rec = simulate_emg(180.0, FS, None, snr_db=20.0, seed=31, ecg=True)
    truth = rec.events[0][:, 0]
    out = {}
    for mode in ("highpass", "template"):
        det = onset.OnlineDetector(FS, 1, rest=(0.0, 1.5), ecg=mode)
        rows = np.concatenate([det.process(rec.signal[i:i + 500]) for i in range(0, rec.signal.size, 500)]
                              + [det.finish()])
        out[mode] = _closed(rows, 0)[:, 0]
    fp_hp = _fp_per_min(out["highpass"], truth, 3.0)
    fp_t = _fp_per_min(out["template"], truth, 3.0)
    det_t, mae_t = _onset_errors(out["template"], truth)
    assert fp_hp > 10.0 and fp_t < 0.3 * fp_hp
    assert det_t >= 0.98 and mae_t < 8.0


def test_online_ecg_template_chunking_and_pickling():
    import pickle
    rec = simulate_emg(40.0, FS, 2, snr_db=15.0, seed=32, ecg=True)
    x = rec.signal
    ref = onset.OnlineDetector(FS, 2, rest=(0.0, 1.5), ecg="template")
    one = np.concatenate([ref.process(x), ref.finish()])
    det = onset.OnlineDetector(FS, 2, rest=(0.0, 1.5), ecg="template")
    assert det.latency_samples >= 320 + onset.OnlineDetector(FS, 2, rest=(0.0, 1.5)).latency_samples
    rng = np.random.default_rng(5)
    rows, i = [], 0
    while i < len(x):
        m = int(rng.integers(0, 2500))
        rows.append(det.process(x[i:i + m]))
        i += m
        if len(rows) == 7:  # a copy mid-stream continues bit for bit
            det = pickle.loads(pickle.dumps(det))
            assert det.position == i
    rows.append(det.finish())
    many = np.concatenate(rows)
    for c in range(2):
        np.testing.assert_array_equal(_closed(many, c), _closed(one, c))
    assert any(k.startswith("ecg.") for k in ref.state)


def test_online_ecg_template_state_is_all_or_nothing_and_survives_a_huge_sample():
    import pickle
    rec = simulate_emg(20.0, FS, 1, snr_db=15.0, seed=33, ecg=True)
    x = rec.signal.copy()
    x[3000, 0] = 1e200  # its square overflows: the canceller restarts its QRS filter
    det = onset.OnlineDetector(FS, 1, rest=(0.0, 1.5), ecg="template")
    det.process(x[:10000])
    clone = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(clone.process(x[10000:]), det.process(x[10000:]))
    good = det.state
    bad = dict(good)
    bad["ecg.position"] = np.array([1e6])
    with pytest.raises(ValueError):
        det.state = bad
    assert det.state["ecg.position"][0] == good["ecg.position"][0]  # unchanged
    bad = dict(good)
    bad["artefact_check"] = np.zeros(7)
    with pytest.raises(ValueError):
        det.state = bad
    for k, v in det.state.items():
        np.testing.assert_array_equal(v, good[k])
    with pytest.raises(ValueError, match="another kind of object"):
        onset.OnlineDetector(FS, 1, rest=(0.0, 1.5)).state = good
    # a state without its identity entry (earlier versions) is checked on its fields
    legacy = {k: v for k, v in good.items() if k != "identity"}
    with pytest.raises(ValueError, match="ecg"):
        onset.OnlineDetector(FS, 1, rest=(0.0, 1.5)).state = legacy


def test_online_state_with_an_index_out_of_range_is_refused_and_changes_nothing():
    """Found by fuzzing the state setter (bindings fuzzer, seed 7): an index field of a channel
    (ring slot, bin slot, ...) set out of range corrupted memory on the next chunk."""
    det = onset.OnlineDetector(FS, 2, "bonato", rest=(0.0, 0.1))
    x = np.random.default_rng(1).standard_normal((3000, 2))
    det.process(x)
    good = det.state
    for bad_value in (1e9, -5.0, 3.5, float("nan")):
        for i in range(0, good["channels"].size, 7):
            bad = dict(good)
            ch = np.array(good["channels"], dtype=float)
            ch[i] = bad_value
            bad["channels"] = ch
            try:
                det.state = bad
            except ValueError:
                for k, v in det.state.items():
                    np.testing.assert_array_equal(v, good[k])
            else:
                det.process(x[:500])  # accepted values must be safe to run with
                det.state = good


# ----------------------------------------------------------------------------- power-line hum
@pytest.mark.parametrize("hz", [50.0, 60.0])
def test_estimate_mains_finds_hum_and_nothing_on_clean_records(hz):
    for seed in range(3):
        clean = simulate_emg(30.0, FS, None, snr_db=6, seed=900 + seed, ecg=seed == 1)
        assert onset.estimate_mains(clean.signal, FS, (0.0, 1.5)) is None
        assert onset.estimate_mains(clean.signal, FS) is None
        hum = simulate_emg(30.0, FS, None, snr_db=6, seed=900 + seed, hum_hz=hz, hum_amplitude=1.0)
        assert onset.estimate_mains(hum.signal, FS, (0.0, 1.5)) == hz
    # several channels: a line on one channel is enough; float32 and int input
    two = np.column_stack([clean.signal, hum.signal])
    assert onset.estimate_mains(two, FS, (0.0, 1.5)) == hz
    assert onset.estimate_mains(two.astype(np.float32), FS, (0.0, 1.5)) == hz
    assert onset.estimate_mains((1000 * two).astype(np.int32), FS, (0.0, 1.5)) == hz
    # scale invariant (exact power-of-two rescaling inside)
    assert onset.estimate_mains(two * 1e200, FS, (0.0, 1.5)) == hz
    assert onset.estimate_mains(two * 1e-200, FS, (0.0, 1.5)) == hz
    assert onset.estimate_mains(clean.signal * 1e300, FS, (0.0, 1.5)) is None
    assert onset.estimate_mains(two * 1e-310, FS, (0.0, 1.5)) == hz  # subnormal


def test_estimate_mains_bad_and_short_input():
    x = np.random.default_rng(0).normal(size=4000)
    assert onset.estimate_mains(x[:100], FS) is None  # < 0.25 s
    assert onset.estimate_mains(np.zeros(4000), FS) is None
    y = x.copy()
    y[100:200] = np.nan
    assert onset.estimate_mains(y, FS) is None
    with pytest.raises(ValueError, match="fs"):
        onset.estimate_mains(x, 0.0)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        onset.estimate_mains(x.reshape(2, 2, -1), FS)
    with pytest.raises(TypeError, match="real numeric"):
        onset.estimate_mains(x.astype(complex), FS)
    with pytest.raises(ValueError, match="harmonics"):
        onset.estimate_mains(x, FS, harmonics=0)
    for bad in ({"harmonics": float("inf")}, {"harmonics": 2.0}, {"max_segments": float("nan")},
                {"band": (-1.0, 450.0)}, {"band": (-math.inf, 450.0)}, {"band": (20.0,)},
                {"band": (450.0, 20.0)}, {"segment_s": 0.0}, {"candidates": (50.0, -1.0)},
                {"rest": (10.0, 11.0)}, {"rest": (1.0, 0.5)}):
        with pytest.raises(ValueError):
            onset.estimate_mains(x, FS, **bad)
    assert onset.estimate_mains(np.zeros((4000, 0)), FS) is None
    # tiny fs and long segments, or absurd harmonics: an answer at once, no huge allocation
    assert onset.estimate_mains(x[:100], 1e-6, segment_s=1e10) is None
    assert onset.estimate_mains(x, FS, harmonics=1000) is None


def test_mains_notch_restores_onsets_under_strong_hum():
    """Hum of 2x the noise RMS at 6 dB (docs/onset.md "Power-line hum"): without a notch bursts
    are missed and false activations appear; detect(mains="auto") finds the line in the rest
    window and notches it."""
    res = {}
    for m in (None, "auto", 50.0):
        r = []
        for seed in range(2):
            rec = simulate_emg(120.0, FS, None, snr_db=6, seed=777 + seed, hum_hz=50.0, hum_amplitude=2.0)
            r.append(score(onset.detect(rec.signal, FS, rest=(0.0, 1.5), mains=m), rec.events[0], FS, 120.0))
        res[m] = np.mean(r, axis=0)
    assert res[None][0] > 20 and (res[None][1] < 0.95 or res[None][2] > 2), res[None]
    for m in ("auto", 50.0):
        mae, det, fp = res[m]
        assert mae < 11 and det >= 0.99 and fp <= 0.5, (m, res[m])


def test_mains_auto_changes_nothing_without_hum():
    rec = simulate_emg(60.0, FS, 2, snr_db=10, seed=31)
    for rest in ((0.0, 1.5), None):
        a = onset.detect(rec.signal, FS, rest=rest, mains="auto")
        b = onset.detect(rec.signal, FS, rest=rest)
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)


def test_mains_online_equals_offline_and_bad_values():
    rec = simulate_emg(30.0, FS, 2, snr_db=8, seed=3, hum_hz=60.0, hum_amplitude=1.0)
    off = onset.detect(rec.signal, FS, rest=(0.0, 1.5), mains=60.0)
    assert onset.estimate_mains(rec.signal, FS, (0.0, 1.5)) == 60.0
    auto = onset.detect(rec.signal, FS, rest=(0.0, 1.5), mains="auto")
    for x, y in zip(off, auto, strict=True):
        np.testing.assert_array_equal(x, y)
    det = onset.OnlineDetector(FS, 2, rest=(0.0, 1.5), mains=60.0)
    rows = [det.process(rec.signal[i:i + 777]) for i in range(0, rec.signal.shape[0], 777)]
    rows.append(det.finish())
    allr = np.concatenate(rows)
    for c in range(2):
        np.testing.assert_array_equal(_closed(allr, c), off[c])
    with pytest.raises(ValueError, match="together with a rest window"):
        onset.OnlineDetector(FS, 1, mains="auto")
    with pytest.raises(ValueError, match="together with a rest window"):
        onset.OnlineDetector(FS, 1, rest=(0.0, 1.0), mains="50")
    # without conditioning mains is not used, as in detect
    onset.OnlineDetector(FS, 1, preprocess=False, mains="auto")
    # "auto" counts the notches below the band's high edge, the worse of 50 and 60 Hz (review)
    x250 = simulate_emg(5.0, 250.0, None, snr_db=8, seed=1).signal
    onset.detect(x250, 250.0, rest=(0.0, 1.5), mains="auto", band_order=8)
    onset.detect(rec.signal[:, 0], FS, rest=(0.0, 1.5), mains="auto", band_high=200.0, mains_harmonics=6)
    for bad in (-1.0, FS, float("nan"), "60Hz"):
        with pytest.raises(ValueError, match="mains"):
            onset.detect(rec.signal, FS, rest=(0.0, 1.5), mains=bad)
    with pytest.raises(ValueError, match="mains_q"):
        onset.detect(rec.signal, FS, rest=(0.0, 1.5), mains=50.0, mains_q=0.0)
    for q in (1e17, 1e-3):
        with pytest.raises(ValueError, match="mains_q"):
            onset.detect(rec.signal, FS, rest=(0.0, 1.5), mains=50.0, mains_q=q)
    for bad in (1e-300, 10**400):
        with pytest.raises(ValueError, match="mains"):
            onset.detect(rec.signal, FS, rest=(0.0, 1.5), mains=bad)
    # mains="auto": the notch settings are checked whatever the data (a clean record here)
    clean = simulate_emg(5.0, FS, None, snr_db=8, seed=1).signal
    for kw in ({"band_order": 8}, {"mains_harmonics": 0}, {"mains_q": 0.0}, {"mains_harmonics": 50}):
        with pytest.raises(ValueError, match="mains_"):
            onset.detect(clean, FS, rest=(0.0, 1.5), mains="auto", **kw)
        with pytest.raises(ValueError, match="mains_"):
            onset.OnlineDetector(FS, 1, rest=(0.0, 1.5), mains="auto", **kw)
    with pytest.raises(ValueError, match="mains_harmonics"):
        onset.detect(rec.signal, FS, rest=(0.0, 1.5), mains=50.0, mains_harmonics=0)
    # band_order 4 = 4 sections; 10 sections in all at most
    with pytest.raises(ValueError, match="mains_harmonics"):
        onset.detect(rec.signal, FS, rest=(0.0, 1.5), mains=20.0, mains_harmonics=10)
    # harmonics above the band's high edge are left out (no error): 9 x 50 = 450 is not below it
    onset.detect(rec.signal, FS, rest=(0.0, 1.5), mains=50.0, mains_harmonics=6)


def _stream_rows(det, x, rng, max_chunk=3000):
    rows, i = [], 0
    while i < x.shape[0]:
        m = int(rng.integers(0, max_chunk))
        rows.append(det.process(x[i:i + m]))
        i += m
    rows.append(det.finish())
    return np.concatenate(rows)


def _closed(allr, c):
    got = allr[(allr[:, 0] == c) & (allr[:, 2] >= 0)][:, 1:]
    return got[np.argsort(got[:, 0], kind="stable")]


@pytest.mark.parametrize(("hum", "ecg", "dtype"), [(60.0, "none", np.float64), (None, "none", np.float64),
                                                   (50.0, "template", np.float32)])
def test_online_mains_auto_equals_detect_auto(hum, ecg, dtype):
    kw = {} if hum is None else {"hum_hz": hum, "hum_amplitude": 1.0}
    rec = simulate_emg(30.0, FS, 2, snr_db=8, seed=13, ecg=ecg == "template", **kw)
    x = rec.signal.astype(dtype)
    assert onset.estimate_mains(x, FS, (0.0, 1.5), segment_s=8.0) == hum
    rng = np.random.default_rng(1)
    if ecg == "none":
        off = onset.detect(x, FS, rest=(0.0, 1.5), mains="auto")
    else:  # the online QRS canceller is causal (documented difference): compare with the stream
        # given the frequency itself
        ref = _stream_rows(onset.OnlineDetector(FS, 2, rest=(0.0, 1.5), ecg=ecg, mains=hum, dtype=dtype),
                           x, rng)
        off = [_closed(ref, c) for c in range(2)]
    det = onset.OnlineDetector(FS, 2, rest=(0.0, 1.5), ecg=ecg, mains="auto", dtype=dtype)
    for _rep in range(2):  # a second stream after finish() is checked again
        assert det.mains is None and det.position == 0
        allr = _stream_rows(det, x, rng)
        for c in range(2):
            np.testing.assert_array_equal(_closed(allr, c), off[c])
    # pickled while holding the rest window, and after the decision: the copy continues exactly
    import pickle
    for cut in (1000, 2500, 9000):
        det.reset()
        rows = [det.process(x[:cut])]
        assert det.position == cut
        if cut >= 3000:
            assert det.mains == hum
        det2 = pickle.loads(pickle.dumps(det))
        rows2 = list(rows)
        rows.append(det.process(x[cut:]))
        rows.append(det.finish())
        rows2.append(det2.process(x[cut:]))
        rows2.append(det2.finish())
        np.testing.assert_array_equal(np.concatenate(rows), np.concatenate(rows2))
        for c in range(2):
            np.testing.assert_array_equal(_closed(np.concatenate(rows), c), off[c])


def test_online_mains_auto_state_validation_and_short_stream():
    rec = simulate_emg(10.0, FS, 1, snr_db=8, seed=2, hum_hz=50.0, hum_amplitude=1.0)
    det = onset.OnlineDetector(FS, 1, rest=(0.0, 1.5), mains="auto")
    det.process(rec.signal[:1000])
    st = det.state
    assert st["mains_auto"].tolist() == [0.0, 0.0] and st["mains_auto.held"].shape == (1000, 1)
    with pytest.raises(ValueError, match="mains_auto"):
        det.state = {**st, "mains_auto": np.array([2.0, 0.0])}
    with pytest.raises(ValueError, match=r"mains_auto\.held"):
        det.state = {**st, "mains_auto.held": np.zeros((5000, 1))}
    with pytest.raises(ValueError, match=r"mains_auto\.held"):
        det.state = {**st, "mains_auto.held": np.zeros((10, 2))}
    with pytest.raises(ValueError, match="needs 'mains_auto'"):
        det.state = {k: v for k, v in st.items() if k != "mains_auto"}
    with pytest.raises(ValueError, match="unknown state fields"):
        det.state = {**st, "mains_auto.extra": np.zeros(1)}
    # the phase must agree with the positions (review): "decided" at position 0, a frequency the
    # check cannot find, "undecided" with a frequency, "undecided" for a stream past the rest
    for bad in (np.array([1.0, 0.0]), np.array([1.0, 999.0]), np.array([0.0, 50.0])):
        with pytest.raises(ValueError, match=r"mains_auto|hum check"):
            det.state = {**st, "mains_auto": bad, "mains_auto.held": np.zeros((0, 1))}
    late = onset.OnlineDetector(FS, 1, rest=(0.0, 1.5), mains="auto")
    late.process(rec.signal[:8000])
    lst = late.state
    assert lst["mains_auto"].tolist() == [1.0, 50.0]
    with pytest.raises(ValueError, match="has not run"):
        late.state = {**lst, "mains_auto": np.array([0.0, 0.0]), "mains_auto.held": np.zeros((1000, 1))}
    assert late.position == 8000 and late.mains == 50.0
    assert det.position == 1000  # refused states changed nothing
    plain = onset.OnlineDetector(FS, 1, rest=(0.0, 1.5))
    with pytest.raises(ValueError, match="another kind of object"):
        plain.state = st
    with pytest.raises(ValueError, match="mains='auto'"):  # without the identity entry: on its fields
        plain.state = {k: v for k, v in st.items() if k != "identity"}
    with pytest.raises(ValueError, match="baseline is learnt"):
        det.set_baseline([0.0], [1.0], [1.0])
    # a stream that ends inside the rest window: no check, no events, ready for the next one
    assert det.finish().shape == (0, 3)
    assert det.position == 0 and det.mains is None
    det.process(rec.signal)
    assert det.mains == 50.0


@pytest.mark.parametrize("fs", [200.0, 250.0, 512.0])
def test_low_sampling_rates_keep_false_activations_rare(fs):
    """Wearables sample at 200-512 Hz. The default CUSUM alarm level is at least 40 units there
    and the automatic baseline uses windows of at least 64 samples (before: 24-64 false
    activations per minute at 200-250 Hz; docs/onset.md "Low sampling rates")."""
    for rest in ((0.0, 1.5), None):
        res = []
        for seed in range(2):
            rec = simulate_emg(120.0, fs, None, snr_db=10, seed=777 + seed)
            res.append(score(onset.detect(rec.signal, fs, rest=rest), rec.events[0], fs, 120.0))
        mae, det, fp = np.mean(res, axis=0)
        assert det >= 0.98 and fp <= 0.75 and mae < 15, (fs, rest, mae, det, fp)
    # an explicit threshold is taken as given (0.05 s x 250 Hz = 12.5 units: many false alarms)
    if fs == 250.0:
        rec = simulate_emg(60.0, fs, None, snr_db=10, seed=777)
        assert score(onset.detect(rec.signal, fs, rest=(0.0, 1.5), threshold=0.05),
                     rec.events[0], fs, 60.0)[2] > 5


def _coloured_noise(n: int, fs: float, f_low: float, f_high: float, seed: int) -> np.ndarray:
    """Gaussian noise with a Shwedyk sEMG spectrum (low-level tonic muscle activity at rest)."""
    from kinemyo.sim.emg import _bandlimit, _shaped_noise, emg_spectrum
    rng = np.random.default_rng(seed)
    return _shaped_noise(rng, n, 1, fs,
                         lambda f: emg_spectrum(f, f_low, f_high) * _bandlimit(f, 10.0, 450.0))[:, 0]


@pytest.mark.parametrize("band", [(40.0, 80.0), (60.0, 120.0)])
def test_coloured_rest_noise_keeps_false_activations_rare(band):
    """A narrow-band rest noise (the sEMG spectrum itself: tonic activity at rest) has a larger
    long-run variance of x^2/sigma0^2 than the band-passed white noise the fixed level was set
    for; the default alarm level follows it (before: 5.6-22.7 false activations per minute with
    a rest window, 14-50 with the automatic baseline; docs/onset.md "Coloured rest noise")."""
    minutes = 4.0
    x = _coloured_noise(int(minutes * 60 * FS), FS, *band, seed=int(band[0]))
    for rest in ((0.0, 1.5), None):
        ev = onset.detect(x, FS, rest=rest)
        assert len(ev) / minutes <= 0.75, (band, rest, len(ev))
    det = onset.OnlineDetector(FS, 1, rest=(0.0, 1.5))
    assert det.alarm_levels.tolist() == [100.0]  # before the rest window: the fixed level
    det.process(x[:4000])
    assert det.alarm_levels[0] > 150.0  # 20 x the long-run variance (10.5 / 15.7 for these bands)
    # an explicit threshold is taken as given: the narrow-band rest fires often
    assert len(onset.detect(x, FS, rest=(0.0, 1.5), threshold=0.05)) / minutes > 2.0


def test_adaptive_alarm_level_changes_nothing_on_white_like_noise_and_is_streamed():
    rec = simulate_emg(60.0, FS, 2, snr_db=6, seed=5)
    det = onset.OnlineDetector(FS, 2, rest=(0.0, 1.5))
    det.process(rec.signal[:3000])
    lv = det.alarm_levels
    # the simulator's rest noise (half white, half 1/f, band-passed): long-run variance ~5.5
    assert np.all((lv >= 100.0) & (lv < 130.0)), lv
    # set_baseline with the long-run variance gives the same level; without it the fixed one
    d2 = onset.OnlineDetector(FS, 2)
    d2.set_baseline([0.0, 0.0], [1.0, 1.0], [1.0, 1.0], lrv=[lv[0] / 20.0, float("nan")])
    np.testing.assert_allclose(d2.alarm_levels, [max(100.0, lv[0]), 100.0])
    d2.set_baseline([0.0, 0.0], [1.0, 1.0], [1.0, 1.0])
    assert d2.alarm_levels.tolist() == [100.0, 100.0]
    with pytest.raises(ValueError, match="lrv"):
        d2.set_baseline([0.0, 0.0], [1.0, 1.0], [1.0, 1.0], lrv=[1.0])
    with pytest.raises(ValueError, match="lrv"):
        d2.set_baseline([0.0, 0.0], [1.0, 1.0], [1.0, 1.0], lrv=[1.0, -1.0])
    # other methods and an explicit threshold: no adaptation
    d3 = onset.OnlineDetector(FS, 2, rest=(0.0, 1.5), threshold=0.05)
    d3.process(rec.signal[:3000])
    assert d3.alarm_levels.tolist() == [100.0, 100.0]


def test_adaptive_alarm_level_survives_a_pickle_inside_the_rest_window():
    import pickle
    x = _coloured_noise(int(60 * FS), FS, 40.0, 80.0, seed=3)
    x = np.stack([x, _coloured_noise(int(60 * FS), FS, 60.0, 120.0, seed=4)], axis=1)
    ref = onset.OnlineDetector(FS, 2, rest=(0.0, 1.5))
    ref.process(x[:4000])
    for cut in (1, 517, 1999, 2999):
        det = onset.OnlineDetector(FS, 2, rest=(0.0, 1.5))
        det.process(x[:cut])
        clone = pickle.loads(pickle.dumps(det))
        clone.process(x[cut:4000])
        np.testing.assert_array_equal(clone.alarm_levels, ref.alarm_levels)
    # a damaged record is refused
    det = onset.OnlineDetector(FS, 2, rest=(0.0, 1.5))
    det.process(x[:1000])
    st = det.state
    bad = dict(st)
    bad["rest_ybuf"] = np.asarray(st["rest_ybuf"], float).copy()
    bad["rest_ybuf"][0] = 1e9
    with pytest.raises(ValueError):
        det.state = bad
    bad = dict(st)
    bad["alarm_levels"] = np.array([np.nan, 1.0])
    with pytest.raises(ValueError):
        det.state = bad


def _noise_and_activity(dur: float, snr: float, seed: int):
    """The simulator's record split into its rest noise and its activity (same seed, same draws)."""
    rec = simulate_emg(dur, FS, None, snr_db=snr, seed=seed)
    noise = simulate_emg(dur, FS, None, snr_db=-400.0, seed=seed).signal
    return rec, noise, rec.signal - noise


def test_rest_level_tracking_follows_a_drifting_noise_level():
    """The noise level rising 1.5x (amplitude) over 2 minutes (electrode contact, sweat): with a
    fixed sigma0^2 the CUSUM stays active once the noise power passes drift x sigma0^2 (47 %
    detected, 8 false activations per minute measured); the tracked rest level follows it
    (docs/onset.md "Rest-level tracking")."""
    res_on, res_off = [], []
    for seed in (900, 901):
        rec, noise, act = _noise_and_activity(120.0, 6.0, seed)
        ramp = 1.0 + 0.5 * np.arange(noise.size) / noise.size
        x = noise * ramp + act
        res_on.append(score(onset.detect(x, FS, rest=(0.0, 1.5)), rec.events[0], FS, 120.0))
        res_off.append(score(onset.detect(x, FS, rest=(0.0, 1.5), track_rest=0),
                             rec.events[0], FS, 120.0))
    mae, det, fp = np.mean(res_on, axis=0)
    assert det >= 0.98 and fp <= 0.75 and mae < 15, (mae, det, fp)
    assert np.mean(res_off, axis=0)[1] < 0.8
    # online (any chunking, pickled midway) equals offline with the tracking on
    rec, noise, act = _noise_and_activity(40.0, 6.0, 902)
    x = noise * (1.0 + 0.5 * np.arange(noise.size) / noise.size) + act
    ref = onset.detect(x, FS, rest=(0.0, 1.5))
    import pickle
    det_ = onset.OnlineDetector(FS, 1, rest=(0.0, 1.5))
    rows = [det_.process(x[i:i + 1234]) for i in range(0, 40000, 1234)]
    det_ = pickle.loads(pickle.dumps(det_))
    rows += [det_.process(x[i:i + 999]) for i in range(40000 - 40000 % 1234 + 1234, x.size, 999)]
    rows.append(det_.finish())
    np.testing.assert_array_equal(_closed(np.concatenate(rows), 0), ref)


def test_track_rest_parameter_is_checked():
    x = np.random.default_rng(0).standard_normal(8000)
    for bad in (-1.0, 0.3, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="track_rest"):
            onset.detect(x, FS, rest=(0.0, 1.5), track_rest=bad)
    onset.detect(x, FS, rest=(0.0, 1.5), track_rest=0)


def test_lag_sums_leave_out_an_artefact_in_the_rest_window():
    """A spike inside the rest window is left out of sigma0^2 by the robust baseline, and out of
    the long-run variance too (the lag products that reach back into its sub-windows): with
    preprocess=False a 1e4 spike once raised the alarm level to 31 296 (no event found)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((30000, 1))
    x[8000:12000] *= 3.0  # an activation
    for amp in (0.0, 1e3, 1e4):
        y = x.copy()
        y[1005] += amp
        det = onset.OnlineDetector(FS, 1, rest=(0.0, 1.5), preprocess=False)
        det.process(y[:3000])
        assert det.alarm_levels[0] < 120.0, (amp, det.alarm_levels)
        ev = onset.detect(y[:, 0], FS, rest=(0.0, 1.5), preprocess=False)
        assert len(ev) == 1 and abs(ev[0, 0] - 8000) < 100, (amp, ev)


def test_finish_keeps_the_adapted_alarm_level():
    x = _coloured_noise(int(120 * FS), FS, 40.0, 80.0, seed=8)
    det = onset.OnlineDetector(FS, 1, rest=(0.0, 1.5))
    det.process(x[:120000])
    lv = det.alarm_levels.copy()
    assert lv[0] > 200
    det.finish()
    np.testing.assert_array_equal(det.alarm_levels, lv)
    assert "rest_lags" not in det.state or np.asarray(det.state["rest_lags"]).size == 0
    rows = np.concatenate([det.process(x[120000:]), det.finish()])
    n2 = int(np.sum(rows[:, 2] >= 0))
    assert n2 <= 2, n2  # the same noise in the next stream: (before the fix: 22 in 2 minutes)


def test_full_rest_buffer_record_is_refused():
    det = onset.OnlineDetector(FS, 1, rest=(0.0, 1.5))
    det.process(np.random.default_rng(2).standard_normal(500))
    st = det.state
    bad = dict(st)
    yb = np.asarray(st["rest_ybuf"], float).copy()
    yb[0] = yb.size - 1  # n_lags + 256: a full buffer never occurs (it is flushed when full)
    bad["rest_ybuf"] = yb
    with pytest.raises(ValueError, match="fill count"):
        det.state = bad


def test_rest_level_tracking_survives_drop_outs_silence_and_fast_settings():
    """Review cases: a NaN drop-out's bins (repeats of the last value) are not rest evidence; a
    silent stretch (lead-off, zero padding) does not collapse sigma0^2; the exact exponential
    average stays positive with a short time constant at a low rate."""
    import pickle
    rng = np.random.default_rng(0)
    x = rng.standard_normal(40000)
    x[5996:6000] = np.sqrt(8.0)  # one loud bin (no alarm) just before the drop-out
    x[6000:12000] = np.nan
    x[20000:24000] *= 4.0
    x[30000:34000] *= 4.0
    fixed = onset.detect(x, FS, rest=(0.0, 1.5), preprocess=False, track_rest=0)
    tracked = onset.detect(x, FS, rest=(0.0, 1.5), preprocess=False)
    assert len(fixed) == 2
    np.testing.assert_allclose(tracked, fixed, atol=40)
    det = onset.OnlineDetector(FS, 1, rest=(0.0, 1.5), preprocess=False)
    det.process(x[:15000])
    assert 0.8 < det._core.baseline_energy[0] < 1.25
    pickle.loads(pickle.dumps(det))
    # 15 s of exact zeros inside the record
    rng = np.random.default_rng(1)
    x = rng.standard_normal(110000)
    x[20000:50000] = 0.0
    x[70000:74000] *= 4.0
    x[90000:94000] *= 4.0
    fixed = onset.detect(x, FS, rest=(0.0, 1.5), track_rest=0)
    tracked = onset.detect(x, FS, rest=(0.0, 1.5))
    assert len(tracked) == len(fixed) == 2
    np.testing.assert_allclose(tracked, fixed, atol=60)
    # 100 Hz (one sample per bin), track_rest=0.5, the noise power rising 1.4x
    rng = np.random.default_rng(0)
    x = rng.standard_normal(2000)
    x[150:] *= np.sqrt(1.4)
    x[1200:1400] *= 5.0
    ev = onset.detect(x, 100.0, rest=(0.0, 1.5), preprocess=False, track_rest=0.5)
    assert any(abs(a - 1200) < 10 for a in ev[:, 0]), ev
    det = onset.OnlineDetector(100.0, 1, rest=(0.0, 1.5), preprocess=False, track_rest=0.5)
    det.process(x[:1200])
    assert det._core.baseline_energy[0] > 0
    pickle.loads(pickle.dumps(det))


def test_tracking_state_must_be_consistent():
    det = onset.OnlineDetector(FS, 1, rest=(0.0, 1.5))
    det.process(np.random.default_rng(3).standard_normal(8000))
    st = det.state
    tr = np.asarray(st["tracking"], float)
    assert tr[0] >= 0  # tracking is running
    for bad_tr in ([tr[0] + 1, tr[1]], [tr[0], tr[1] + 1], [4e18, 0.0]):
        bad = dict(st)
        bad["tracking"] = np.asarray(bad_tr, float)
        with pytest.raises(ValueError, match="tracking"):
            det.state = bad
    bad = dict(st)
    bl = np.asarray(st["baseline"], float).copy()
    bl[2] = 0.0
    bad["baseline"] = bl
    with pytest.raises(ValueError, match="baseline"):
        det.state = bad
    det.state = st  # the original record still loads


def test_reported_activations_respect_min_active_and_min_gap():
    """Audit of the issue's points: activations shorter than min_active were reported (a 10 ms
    spike as 21 ms with min_active 50 ms; tkeo/bonato below 30 ms), and the default method
    reported gaps shorter than min_gap (an onset refined back into the gap after the previous
    activation was already reported: 21 of 40 two-burst records)."""
    rng = np.random.default_rng(0)
    for length_ms in (10, 20, 30, 40):
        for amp in (3, 10, 30):
            x = rng.standard_normal(20000)
            x[10000:10000 + 2 * length_ms] *= amp
            for method, ma in (("default", 0.05), ("hodges_bui", 0.03), ("bonato", 0.03), ("tkeo", 0.03)):
                ev = onset.detect(x, FS, method, rest=(0.0, 1.5))
                assert ((ev[:, 1] - ev[:, 0]) >= round(ma * FS)).all(), (length_ms, amp, method, ev)
    for _ in range(40):
        gap = int(rng.integers(120, 320))
        y = rng.standard_normal(20000)
        y[8000:8400] *= 6
        y[8400 + gap:8800 + gap] *= 6
        ev = onset.detect(y, FS, rest=(0.0, 1.5))
        assert (ev[1:, 0] - ev[:-1, 1] >= round(0.1 * FS)).all(), (gap, ev)
    rec = simulate_emg(30.0, FS, None, snr_db=10, seed=3)
    ev = onset.detect(rec.signal, FS, rest=(0.0, 1.5), min_active=0.5)
    assert ((ev[:, 1] - ev[:, 0]) >= 0.5 * FS).all()

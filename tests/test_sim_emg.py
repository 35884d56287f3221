"""kinemyo.sim.emg: the simulator's truth and spectrum."""

from __future__ import annotations

import numpy as np
import pytest

from kinemyo.sim import simulate_emg


def test_shapes_truth_and_seed():
    a = simulate_emg(30.0, 2000.0, 3, snr_db=6.0, seed=4)
    b = simulate_emg(30.0, 2000.0, 3, snr_db=6.0, seed=4)
    assert a.signal.shape == (60000, 3)
    np.testing.assert_array_equal(a.signal, b.signal)
    for ev, env in zip(a.events, a.envelope.T, strict=False):
        assert ev.ndim == 2 and ev.shape[1] == 2 and len(ev) > 5
        assert np.all(ev[:, 1] > ev[:, 0])
        # onset = first sample of the rise: envelope 0 there, > 0 right after
        assert np.all(env[ev[:, 0]] == 0) and np.all(env[ev[:, 0] + 1] > 0)
    one = simulate_emg(5.0, 1000.0, None, seed=1)
    assert one.signal.ndim == 1


def test_spectrum_and_snr():
    from scipy.signal import welch
    rec = simulate_emg(60.0, 2000.0, 1, snr_db=20.0, seed=0, rise_s=(0, 0))
    x = rec.signal[:, 0]
    on = rec.envelope[:, 0] > 0
    f, p = welch(x[on], 2000.0, nperseg=256)
    # the spectrum (#5): peak near 80-120 Hz, energy mostly 20-250 Hz
    assert 78 <= f[np.argmax(p)] <= 120
    band = (f >= 20) & (f <= 250)
    assert p[band].sum() / p.sum() > 0.8
    c = np.cumsum(p) / p.sum()
    assert 105 <= f[np.searchsorted(c, 0.5)] <= 140  # median near 123 Hz
    rest = x[~on]
    assert np.std(rest) == pytest.approx(1.0, rel=0.1)
    plateau = rec.envelope[:, 0] >= 0.99 * np.repeat(rec.amplitude[0], 1).min()
    assert np.std(x[plateau]) > 5


def test_contaminations_and_errors():
    rec = simulate_emg(20.0, 2000.0, 2, seed=1, ecg=True, hum_hz=50.0, wander_amplitude=2.0,
                       spikes_per_min=10.0)
    assert len(rec.ecg_r_peaks) >= 20 * 50 / 60 - 2
    assert np.all(np.isfinite(rec.signal))
    # R peaks index the signal (review: a last beat at t fs in [n - 1/2, n) gave index n)
    for dur, fs, seed in ((3.0, 200.0, 306), (1.0, 2000.0, 636)):
        r = simulate_emg(dur, fs, 1, seed=seed, ecg=True)
        assert r.ecg_r_peaks.size == 0 or r.ecg_r_peaks.max() < r.signal.shape[0]
    with pytest.raises(ValueError, match="fs"):
        simulate_emg(10.0, 0.0)
    with pytest.raises(ValueError, match="rise_s"):
        simulate_emg(10.0, 2000.0, rise_s=(0.05, 0.01))
    with pytest.raises(ValueError, match="rise_shape"):
        simulate_emg(10.0, 2000.0, rise_shape="square")


@pytest.mark.parametrize("shape", ["cosine", "sigmoid"])
def test_rise_shapes(shape):
    """Other rise shapes: same draws and truth as linear, envelope 0 at the onset, monotone rise
    to the plateau over the rise time, and below the linear ramp early in the rise."""
    kw = dict(snr_db=20.0, seed=4, rise_s=(0.04, 0.06))
    lin = simulate_emg(20.0, 2000.0, None, **kw)
    oth = simulate_emg(20.0, 2000.0, None, rise_shape=shape, **kw)
    np.testing.assert_array_equal(lin.events[0], oth.events[0])
    for (on, _), r in zip(oth.events[0], oth.rise[0], strict=True):
        n = int(r * 2000.0 + 0.5)
        seg = oth.envelope[on:on + n + 1]
        assert seg[0] == 0.0 and np.all(np.diff(seg) >= 0)
        plateau = oth.envelope[on + n + 5]
        assert oth.envelope[on + n + 2] == plateau and seg[-1] > 0.99 * plateau
        q = n // 4
        assert oth.envelope[on + q] < lin.envelope[on + q]


def test_muap_carrier_truth_spectrum_and_level():
    """carrier="muap": the same timing, noise and contaminations as the Gaussian carrier for a
    seed; a spectrum peaking near 100 Hz (issue #5's 80-120 Hz); plateau RMS near the amplitude;
    non-Gaussian (spiky) at low excitation, where the Gaussian carrier is exactly Gaussian."""
    from scipy.signal import welch
    kw = dict(snr_db=20.0, seed=11, ecg=True)
    m = simulate_emg(60.0, 2000.0, 2, carrier="muap", **kw)
    g = simulate_emg(60.0, 2000.0, 2, **kw)
    for a, b in zip(m.events, g.events, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(m.ecg_r_peaks, g.ecg_r_peaks)
    assert not np.allclose(m.signal, g.signal)
    for ch in range(2):
        x, env = m.signal[:, ch], m.envelope[:, ch]
        # the rest (noise and ECG) is the Gaussian record's, away from the action potentials'
        # tails (at most 17.5 ms past a burst's last discharge)
        rest = np.convolve((env > 0).astype(float), np.ones(81), mode="same") == 0
        np.testing.assert_allclose(x[rest], g.signal[rest, ch], rtol=0, atol=1e-12)
        on = env > 0.7 * env.max()
        f, p = welch(x[on], 2000.0, nperseg=512)
        peak = f[np.argmax(p)]
        assert 60.0 <= peak <= 160.0
        band = (f >= 20) & (f <= 250)
        assert p[band].sum() / p.sum() > 0.8
        # plateau RMS over all plateaus ~ the envelope's (noise RMS 1 removed)
        ratio = np.sqrt((np.mean(x[on] ** 2) - 1.0) / np.mean(env[on] ** 2))
        assert 0.85 < ratio < 1.15
    # spiky at low excitation: kurtosis of signal / envelope on the rises' first fifth
    # (60 dB: the unit noise is negligible against 2 % of the nominal level)
    rec_m = simulate_emg(60.0, 2000.0, None, snr_db=60.0, seed=4, carrier="muap", rise_s=(0.2, 0.3))
    rec_g = simulate_emg(60.0, 2000.0, None, snr_db=60.0, seed=4, rise_s=(0.2, 0.3))
    low = (rec_m.envelope > 20.0) & (rec_m.envelope < 120.0)

    def kurt(v):
        return float(np.mean((v - v.mean()) ** 4) / np.var(v) ** 2)
    assert kurt(rec_g.signal[low] / rec_g.envelope[low]) < 4.0
    assert kurt(rec_m.signal[low] / rec_m.envelope[low]) > 6.0
    # no EMG before a burst's first action potential (review: potentials centred on their
    # discharge put energy before the truth); first_activity inside the burst, within ~20 ms
    for ev, fa in zip(rec_m.events, rec_m.first_activity, strict=True):
        assert np.all((fa >= ev[:, 0]) & (fa < ev[:, 1]))
        assert np.median(fa - ev[:, 0]) < 0.02 * 2000.0
        for (on, _), f in zip(ev, fa, strict=True):
            if f > on:  # before it: the unit noise only (nominal 1000)
                assert np.max(np.abs(rec_m.signal[on:f])) < 6.0
            assert np.max(np.abs(rec_m.signal[f:f + 40])) > 20.0
    for ev, fa in zip(g.events, g.first_activity, strict=True):
        np.testing.assert_array_equal(fa, ev[:, 0])
    with pytest.raises(ValueError, match="carrier"):
        simulate_emg(5.0, 2000.0, carrier="spikes")
    with pytest.raises(ValueError, match="1000"):
        simulate_emg(5.0, 500.0, carrier="muap")

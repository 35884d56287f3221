"""IMU simulator: readings from a ground-truth orientation trajectory, with the errors real MEMS
sensors have (white noise, constant and drifting gyroscope bias) and the magnetic disturbances
of real rooms (segments where the field's direction and norm change, as near steel furniture).

Physics: the gyroscope measures the body angular velocity ``ω`` with
``q[k] = q[k-1] ⊗ exp(ω[k] / (2 fs))`` exactly (ω[k] is the mean rate over the sample interval
ending at k — the convention of strapdown integration in every orientation filter); the
accelerometer measures the specific force ``R^T (a_lin + g·up)`` (+9.81 m/s² on the upward axis at
rest); the magnetometer measures ``R^T m_earth`` with ``m_earth`` = ``norm · (0, cos dip, −sin dip)``
(ENU: north component and a downward dip). Frames: ENU, quaternions (w, x, y, z) sensor -> earth.

Everything is seeded and reproducible; the truth comes back with the readings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import quaternion as kq

__all__ = ["FUSION_SCENARIOS", "ImuRecording", "TrunkMotion", "fusion_scenario", "orientation_errors",
           "random_rotation", "simulate_imu", "trunk_motion"]

G = 9.81
DEG = np.pi / 180.0


@dataclasses.dataclass
class ImuRecording:
    """Simulated IMU readings with their ground truth.

    Attributes
    ----------
    fs : float
        Sampling rate (Hz).
    gyr : (n, 3) rad/s;  acc : (n, 3) m/s²;  mag : (n, 3) µT
        Readings in the sensor frame.
    q : (n, 4)
        True orientation (w, x, y, z), sensor -> ENU.
    gyr_bias : (n, 3) rad/s
        True gyroscope bias at each sample.
    rest : (n,) bool
        True where the sensor does not rotate or translate.
    mag_disturbed : (n,) bool
        True inside magnetic disturbances.
    acc_lin : (n, 3) m/s²
        True linear acceleration, earth frame.
    """

    fs: float
    gyr: np.ndarray
    acc: np.ndarray
    mag: np.ndarray
    q: np.ndarray
    gyr_bias: np.ndarray
    rest: np.ndarray
    mag_disturbed: np.ndarray
    acc_lin: np.ndarray

    @property
    def t(self) -> np.ndarray:
        return np.arange(len(self.q)) / self.fs


def _smooth_noise(rng: np.random.Generator, n: int, fs: float, cutoff_hz: float, dims: int = 3) -> np.ndarray:
    """Gaussian noise low-passed (FFT brick wall) to cutoff_hz, unit RMS per column."""
    x = rng.standard_normal((n, dims))
    spec = np.fft.rfft(x, axis=0)
    f = np.fft.rfftfreq(n, 1.0 / fs)
    spec[f > cutoff_hz] = 0.0
    y = np.fft.irfft(spec, n=n, axis=0)
    return y / np.maximum(y.std(axis=0, keepdims=True), 1e-12)


def integrate_rate(omega: np.ndarray, fs: float, q0: npt.ArrayLike = (1.0, 0.0, 0.0, 0.0)) -> np.ndarray:
    """Orientations from body angular velocity: q[k] = q[k-1] ⊗ exp(ω[k]/(2 fs)), q[0] = q0."""
    n = len(omega)
    steps = kq.from_rotvec(omega / fs)
    q = np.empty((n, 4))
    q[0] = np.asarray(q0, dtype=float)
    # serial product; in blocks to keep it vectorised-ish and exact
    for k in range(1, n):
        q[k] = _qmul1(q[k - 1], steps[k])
        if k % 1000 == 0:
            q[k] /= np.linalg.norm(q[k])
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _qmul1(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w1, x1, y1, z1 = a
    w2, x2, y2, z2 = b
    return np.array([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2])


def body_rate(q: np.ndarray, fs: float) -> np.ndarray:
    """Body angular velocity (rad/s) that maps q[k-1] to q[k] over one sample; row 0 repeats row 1."""
    rel = kq.multiply(kq.conjugate(q[:-1]), q[1:])
    w = kq.to_rotvec(rel) * fs
    return np.vstack([w[:1], w]) if len(w) else np.zeros((len(q), 3))


def random_rotation(duration_s: float, fs: float, *, rate_dps: float = 60.0, bandwidth_hz: float = 1.0,
                    rest_every_s: float | None = None, rest_s: float = 5.0, seed: int = 0
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Random smooth rotation: band-limited angular velocity with RMS ``rate_dps`` per axis.

    With ``rest_every_s``, the sensor rests for ``rest_s`` seconds at that period (the rate ramps to
    zero over 0.5 s). Returns (q (n, 4), rest mask (n,)).
    """
    rng = np.random.default_rng(seed)
    n = round(duration_s * fs)
    omega = _smooth_noise(rng, n, fs, bandwidth_hz) * rate_dps * DEG
    rest = np.zeros(n, dtype=bool)
    if rest_every_s:
        t = np.arange(n) / fs
        gate = np.ones(n)
        start = rest_every_s
        while start < duration_s:
            a, b = start, start + rest_s
            rest |= (t >= a) & (t < b)
            ramp_in = np.clip((t - (a - 0.5)) / 0.5, 0, 1)
            ramp_out = np.clip(((b + 0.5) - t) / 0.5, 0, 1)
            gate = np.minimum(gate, 1 - np.minimum(ramp_in, ramp_out))
            start += rest_every_s + rest_s
        omega *= gate[:, None]
        rest &= gate == 0
    q0 = kq.from_rotvec(rng.uniform(-np.pi, np.pi, 3) * 0.5)
    return integrate_rate(omega, fs, q0), rest


def simulate_imu(q: npt.ArrayLike, fs: float, acc_lin: npt.ArrayLike | None = None, *,
                 gyr_noise_dps_rthz: float = 0.007, acc_noise_rthz: float = 0.0018,
                 mag_noise_ut: float = 0.3, gyr_bias_dps: Sequence[float] | float = (0.5, -0.3, 0.2),
                 gyr_bias_drift_dps_rths: float = 0.002, mag_norm_ut: float = 50.0, mag_dip_deg: float = 60.0,
                 mag_disturbances: Sequence[tuple[float, float, float, float]] = (),
                 rest: npt.ArrayLike | None = None, seed: int = 0) -> ImuRecording:
    """IMU readings of a sensor following the orientations ``q``.

    Parameters
    ----------
    q : (n, 4)
        True orientations (w, x, y, z), sensor -> ENU.
    fs : float
        Sampling rate in Hz.
    acc_lin : (n, 3), optional
        Linear acceleration in the earth frame, m/s² (default none).
    gyr_noise_dps_rthz, acc_noise_rthz : float
        White-noise densities: °/s/√Hz and m/s²/√Hz (defaults of a consumer MEMS IMU: 0.007 and
        0.0018, i.e. 0.07 °/s and 0.018 m/s² RMS at 100 Hz).
    mag_noise_ut : float
        Magnetometer white noise RMS in µT.
    gyr_bias_dps : float or 3 floats
        Constant gyroscope bias, °/s.
    gyr_bias_drift_dps_rths : float
        Random-walk density of the bias, °/s/√s (slow drift).
    mag_norm_ut, mag_dip_deg : float
        Undisturbed field norm (µT) and dip angle (degrees below the horizon).
    mag_disturbances : sequence of (t0_s, t1_s, rotation_deg, norm_factor)
        Disturbed segments: the field turns by ``rotation_deg`` about a random axis and its norm is
        scaled by ``norm_factor`` (both ramped over 1 s at the edges).
    rest : (n,) bool, optional
        Rest mask to return as truth (default: where the true rate is below 0.1 °/s and there is no
        linear acceleration).
    seed : int
        Random seed.
    """
    qa = kq.normalize(np.asarray(q, dtype=float))
    n = len(qa)
    if not (np.isfinite(fs) and fs > 0):
        raise ValueError(f"fs must be > 0 Hz; got {fs}")
    rng = np.random.default_rng(seed)
    lin = np.zeros((n, 3)) if acc_lin is None else np.asarray(acc_lin, dtype=float)
    if lin.shape != (n, 3):
        raise ValueError(f"acc_lin must have shape ({n}, 3); got {lin.shape}")
    omega = body_rate(qa, fs)
    bias0 = np.broadcast_to(np.asarray(gyr_bias_dps, dtype=float), (3,)) * DEG
    walk = np.cumsum(rng.standard_normal((n, 3)), axis=0) * (gyr_bias_drift_dps_rths * DEG / np.sqrt(fs))
    bias = bias0 + walk
    gyr = omega + bias + rng.standard_normal((n, 3)) * gyr_noise_dps_rthz * DEG * np.sqrt(fs)
    f_earth = lin + np.array([0.0, 0.0, G])
    acc = kq.rotate(kq.conjugate(qa), f_earth) + rng.standard_normal((n, 3)) * acc_noise_rthz * np.sqrt(fs)
    dip = mag_dip_deg * DEG
    m0 = mag_norm_ut * np.array([0.0, np.cos(dip), -np.sin(dip)])
    m_earth = np.tile(m0, (n, 1))
    disturbed = np.zeros(n, dtype=bool)
    t = np.arange(n) / fs
    for t0, t1, rot_deg, factor in mag_disturbances:
        w = np.clip(np.minimum(t - t0, t1 - t), 0.0, 1.0)  # 1-s ramps
        axis = rng.standard_normal(3)
        axis /= np.linalg.norm(axis)
        rot = kq.from_rotvec(np.outer(w * rot_deg * DEG, axis))
        m_earth = kq.rotate(rot, m_earth) * (1.0 + w * (factor - 1.0))[:, None]
        disturbed |= w > 0
    mag = kq.rotate(kq.conjugate(qa), m_earth) + rng.standard_normal((n, 3)) * mag_noise_ut
    if rest is None:
        rest_mask = (np.linalg.norm(omega, axis=1) < 0.1 * DEG) & (np.linalg.norm(lin, axis=1) < 1e-6)
    else:
        rest_mask = np.asarray(rest, dtype=bool)
    return ImuRecording(float(fs), gyr, acc, mag, qa, bias, rest_mask, disturbed, lin)


# ------------------------------------------------------------------------------ trunk movements


@dataclasses.dataclass
class TrunkMotion:
    """Scripted two-segment trunk movement with its truth.

    Attributes
    ----------
    fs : float
    q_upper, q_lower : (n, 4)
        Orientations of the upper (L1) and lower (S1) *segments* (ISB axes: X anterior, Y superior,
        Z right), segment -> ENU.
    angles : (n, 3)
        True lumbar angles in degrees (flexion, lateral bending, axial rotation), as defined in
        :mod:`kinemyo.kinematics`.
    phases : list of (name, t0_s, t1_s)
        The script's phases.
    """

    fs: float
    q_upper: np.ndarray
    q_lower: np.ndarray
    angles: np.ndarray
    phases: list[tuple[str, float, float]]

    def sensors(self, mounting: Sequence[str] = ("x", "z"), misalign_deg: float = 0.0,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """True sensor orientations of both sensors (sensor -> ENU) for a nominal mounting plus a
        random misalignment up to ``misalign_deg``; returns (q_upper, q_lower, mount_upper, mount_lower)
        with the true segment -> sensor rotations."""
        from ..kinematics import mounting_quaternion

        rng = np.random.default_rng(seed)
        nominal = mounting_quaternion(*mounting)
        out = []
        mounts = []
        for seg in (self.q_upper, self.q_lower):
            axis = rng.standard_normal(3)
            mis = kq.from_rotvec(axis / np.linalg.norm(axis) * rng.uniform(0, misalign_deg) * DEG)
            mount = kq.multiply(mis, nominal)
            mounts.append(mount)
            out.append(kq.multiply(seg, kq.conjugate(mount)))
        return out[0], out[1], mounts[0], mounts[1]


_SEG_BASE = np.array([0.5, 0.5, 0.5, 0.5])  # segment (X ant, Y sup, Z right) -> ENU facing north


def _rel(flex: np.ndarray, lat: np.ndarray, axial: np.ndarray) -> np.ndarray:
    z = kq.from_rotvec(np.outer(-flex * DEG, [0.0, 0.0, 1.0]))
    x = kq.from_rotvec(np.outer(lat * DEG, [1.0, 0.0, 0.0]))
    y = kq.from_rotvec(np.outer(axial * DEG, [0.0, 1.0, 0.0]))
    return kq.multiply(kq.multiply(z, x), y)


def _bell(t: np.ndarray, t0: float, dur: float) -> np.ndarray:
    """Smooth 0 -> 1 -> 0 over [t0, t0 + dur] (sin²), 0 elsewhere."""
    u = np.clip((t - t0) / dur, 0.0, 1.0)
    return np.sin(np.pi * u) ** 2


def _step(t: np.ndarray, t0: float, dur: float) -> np.ndarray:
    """Smooth 0 -> 1 over [t0, t0 + dur] (raised cosine)."""
    u = np.clip((t - t0) / dur, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * u)


def trunk_motion(script: Sequence[tuple[Any, ...]] | None = None, fs: float = 100.0,
                 pelvis_ratio: float = 0.3, wobble_deg: float = 0.5, seed: int = 0) -> TrunkMotion:
    """Scripted trunk movements of a lower (sacrum) and upper (L1) segment.

    ``script`` is a list of steps, run one after the other:

    * ``("stand", seconds)`` — neutral standing.
    * ``("flexion", amplitude_deg, seconds)`` — forward bend and return (smooth), repeated if the
      step has a fourth element ``repetitions``.
    * ``("catcow", amplitude_deg, period_s, cycles)`` — flexion–extension cycles (±amplitude).
    * ``("lateral", amplitude_deg, period_s, cycles)`` — lateral bending cycles (±amplitude).
    * ``("rotation", amplitude_deg, period_s, cycles)`` — axial rotation cycles (±amplitude).
    * ``("hold", angle_deg, seconds)`` — bend to a flexion angle (2 s), hold, return (2 s).

    The pelvis tilts forward by ``pelvis_ratio`` × the flexion (lumbo-pelvic rhythm), and small
    physiological wobbles (``wobble_deg`` RMS, < 1 Hz) ride on everything. Default script: stand
    5 s, one 40° flexion, Cat-Cow ×4, lateral bending ×2, a 35 s hold at 30°, three 50° bends,
    stand 5 s.
    """
    if script is None:
        script = [("stand", 5.0), ("flexion", 40.0, 6.0), ("stand", 3.0), ("catcow", 20.0, 5.0, 4),
                  ("stand", 3.0), ("lateral", 25.0, 6.0, 2), ("stand", 3.0), ("hold", 30.0, 35.0),
                  ("stand", 3.0), ("flexion", 50.0, 5.0, 3), ("stand", 5.0)]
    durations = []
    for step in script:
        kind = step[0]
        if kind == "stand":
            durations.append(float(step[1]))
        elif kind == "flexion":
            durations.append(float(step[2]) * (int(step[3]) if len(step) > 3 else 1))
        elif kind in ("catcow", "lateral", "rotation"):
            durations.append(float(step[2]) * int(step[3]))
        elif kind == "hold":
            durations.append(float(step[2]) + 4.0)
        else:
            raise ValueError(f"unknown script step {kind!r}; allowed: stand, flexion, catcow, lateral, rotation, hold")
    n = round(sum(durations) * fs)
    t = np.arange(n) / fs
    flex = np.zeros(n)
    lat = np.zeros(n)
    axial = np.zeros(n)
    phases: list[tuple[str, float, float]] = []
    t0 = 0.0
    for step, dur in zip(script, durations, strict=True):
        kind = step[0]
        if kind == "flexion":
            reps = int(step[3]) if len(step) > 3 else 1
            for r in range(reps):
                flex += step[1] * _bell(t, t0 + r * step[2], step[2])
        elif kind == "catcow":
            m = (t >= t0) & (t < t0 + dur)
            flex[m] += step[1] * np.sin(2 * np.pi * (t[m] - t0) / step[2])
        elif kind == "lateral":
            m = (t >= t0) & (t < t0 + dur)
            lat[m] += step[1] * np.sin(2 * np.pi * (t[m] - t0) / step[2])
        elif kind == "rotation":
            m = (t >= t0) & (t < t0 + dur)
            axial[m] += step[1] * np.sin(2 * np.pi * (t[m] - t0) / step[2])
        elif kind == "hold":
            flex += step[1] * (_step(t, t0, 2.0) - _step(t, t0 + 2.0 + step[2], 2.0))
        phases.append((kind, t0, t0 + dur))
        t0 += dur
    rng = np.random.default_rng(seed)
    if wobble_deg > 0:
        wob = _smooth_noise(rng, n, fs, 0.8, 3) * wobble_deg
        flex, lat, axial = flex + wob[:, 0], lat + wob[:, 1], axial + wob[:, 2] * 0.5
    pelvis = pelvis_ratio * np.clip(flex, 0.0, None)
    q_lower = kq.multiply(_SEG_BASE, kq.from_rotvec(np.outer(-pelvis * DEG, [0.0, 0.0, 1.0])))
    q_upper = kq.multiply(q_lower, _rel(flex, lat, axial))
    return TrunkMotion(float(fs), q_upper, q_lower, np.column_stack([flex, lat, axial]), phases)


# ------------------------------------------------------------------------------ accuracy suite

FUSION_SCENARIOS = ("slow", "fast", "translation", "rests", "magnetic disturbance")


def _displacement_acc(rng: np.random.Generator, n: int, fs: float, cutoff_hz: float) -> np.ndarray:
    """Acceleration (per unit displacement RMS) of a random displacement band-limited to cutoff_hz:
    the exact second derivative of the (periodic) displacement, taken in the frequency domain."""
    x = rng.standard_normal((n, 3))
    spec = np.fft.rfft(x, axis=0)
    f = np.fft.rfftfreq(n, 1.0 / fs)
    spec[f > cutoff_hz] = 0.0
    spec[0] = 0.0
    p = np.fft.irfft(spec, n=n, axis=0)
    scale = 1.0 / np.maximum(p.std(axis=0, keepdims=True), 1e-12)
    return np.fft.irfft(spec * (-(2 * np.pi * f) ** 2)[:, None], n=n, axis=0) * scale


def _translation_acc(rng: np.random.Generator, n: int, fs: float, rms: float = 3.0) -> np.ndarray:
    """Linear acceleration (earth frame) of a body that moves about a room: the second derivative of
    a bounded displacement — a slow wander (0.5 m RMS, below 0.2 Hz) plus vigorous movement (below
    2 Hz) scaled so that the total is ``rms`` m/s² per axis. Being a derivative of a bounded
    velocity, it has zero mean and little power at low frequencies, as any real movement has."""
    slow = _displacement_acc(rng, n, fs, 0.2) * 0.5
    fast = _displacement_acc(rng, n, fs, 2.0)
    s2, f2 = (slow ** 2).mean(axis=0), (fast ** 2).mean(axis=0)
    k = np.sqrt(np.maximum(rms ** 2 - s2, 0.0) / np.maximum(f2, 1e-24))
    return slow + fast * k


def fusion_scenario(name: str, fs: float = 100.0, duration_s: float = 300.0, seed: int = 0) -> ImuRecording:
    """The orientation-accuracy scenarios of the benchmarks (seeded):

    * ``slow``: smooth random rotation, 30 °/s RMS per axis, 0.5 Hz bandwidth;
    * ``fast``: 200 °/s RMS, 2 Hz bandwidth;
    * ``translation``: slow rotation plus 3 m/s² RMS linear acceleration per axis, the second
      derivative of a bounded displacement (0.5 m RMS wander below 0.2 Hz plus vigorous movement
      below 2 Hz). Until 2026-11-29 this was band-limited white acceleration (flat spectrum down to
      0 Hz), whose integral — the velocity — random-walks to tens of m/s over 300 s: not a movement
      any body-worn sensor makes, and its sub-0.05-Hz content is indistinguishable from tilt for
      every filter;
    * ``rests``: 60 °/s RMS with a 10 s rest every 25 s;
    * ``magnetic disturbance``: slow rotation with three disturbed segments (30 s, 40° and ×1.3;
      50 s, 70° and ×0.7; 20 s, 30° and ×1.5).

    All with gyroscope bias (0.8, −0.5, 0.4) °/s plus a slow random walk, and the default noise.
    """
    if name == "slow":
        q, rest = random_rotation(duration_s, fs, rate_dps=30, bandwidth_hz=0.5, seed=seed)
        lin, dist = None, ()  # type: ignore[assignment]
    elif name == "fast":
        q, rest = random_rotation(duration_s, fs, rate_dps=200, bandwidth_hz=2.0, seed=seed)
        lin, dist = None, ()
    elif name == "translation":
        q, rest = random_rotation(duration_s, fs, rate_dps=40, bandwidth_hz=0.5, seed=seed)
        lin = _translation_acc(np.random.default_rng(seed + 100), len(q), fs)
        dist = ()
    elif name == "rests":
        q, rest = random_rotation(duration_s, fs, rate_dps=60, bandwidth_hz=1.0, rest_every_s=25, rest_s=10,
                                  seed=seed)
        lin, dist = None, ()
    elif name == "magnetic disturbance":
        q, rest = random_rotation(duration_s, fs, rate_dps=40, bandwidth_hz=0.5, seed=seed)
        lin = None
        f = duration_s / 300.0
        dist = ((60 * f, 90 * f, 40.0, 1.3), (150 * f, 200 * f, 70.0, 0.7),  # type: ignore[assignment]
                (240 * f, 260 * f, 30.0, 1.5))
    else:
        raise ValueError(f"scenario must be one of {FUSION_SCENARIOS}; got {name!r}")
    return simulate_imu(q, fs, lin, mag_disturbances=dist, rest=rest, seed=seed + 1, gyr_bias_dps=(0.8, -0.5, 0.4))


def orientation_errors(q_est: np.ndarray, q_true: np.ndarray, mask: np.ndarray | None = None
                       ) -> tuple[float, float, float]:
    """RMSE in degrees of (total, heading, inclination) error over ``mask``: the error rotation
    ``q_est ⊗ q_true*`` (earth frame) split into heading (about the vertical) and inclination."""
    e = kq.multiply(q_est, kq.conjugate(q_true))
    h, inc = kq.heading_inclination(e)
    tot = np.degrees(np.asarray(kq.angle_between(q_est, q_true)))
    hd = np.degrees(2 * np.arctan2(np.abs(h[:, 3]), np.abs(h[:, 0])))
    ic = np.degrees(2 * np.arctan2(np.linalg.norm(inc[:, 1:], axis=1), np.abs(inc[:, 0])))
    m = np.ones(len(tot), dtype=bool) if mask is None else mask

    def r(x: np.ndarray) -> float:
        return float(np.sqrt(np.mean(x[m] ** 2)))

    return r(tot), r(hd), r(ic)

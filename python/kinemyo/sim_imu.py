"""IMU simulator: ground-truth orientation trajectories and the gyro/acc/mag readings they produce.

Used as ground truth by the tests and benchmarks of :mod:`kinemyo.fusion` (NumPy only).

Conventions: quaternions ``(w, x, y, z)``, sensor -> earth, earth frame ENU (x east, y north,
z up); gyroscope rad/s, accelerometer m/s^2 (specific force: ``R^T (a_lin + [0, 0, g])``),
magnetometer in microtesla. The angular rate of sample ``k`` is the constant body rate taking
``q[k-1]`` to ``q[k]`` (``q[k] = q[k-1] * exp(gyr_true[k] / fs)``), so an exact strapdown
integration reproduces the truth. Everything is seeded and reproducible.

Scenarios (``SCENARIOS``): ``"slow"`` (random smooth rotation, ~30-60 deg/s), ``"fast"`` (up to
several hundred deg/s), ``"translation"`` (slow rotation with strong linear acceleration),
``"rest"`` (slow rotation with rest phases), ``"mag_disturbance"`` (slow rotation with magnetic
disturbance segments), ``"trunk"`` (scripted lumbar movements: static, forward flexion and
return, Cat-Cow cycles, lateral bending, axial rotation, static hold).

Examples
--------
>>> from kinemyo import sim_imu
>>> d = sim_imu.simulate("slow", duration=10.0, fs=100.0, seed=1)
>>> d.gyr.shape, d.quat.shape
((1000, 3), (1000, 4))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from . import quaternion as Q

__all__ = ["SCENARIOS", "ImuData", "imu_from_orientation", "simulate"]

SCENARIOS = ("slow", "fast", "translation", "rest", "mag_disturbance", "trunk")
G = 9.81


@dataclass
class ImuData:
    """Simulated recording with its ground truth (arrays of n samples)."""

    fs: float
    t: np.ndarray              #: time, s (n,)
    quat: np.ndarray           #: true orientation (n, 4), sensor -> ENU
    gyr: np.ndarray            #: measured gyro, rad/s (n, 3)
    acc: np.ndarray            #: measured acc, m/s^2 (n, 3)
    mag: np.ndarray            #: measured mag, uT (n, 3)
    gyr_true: np.ndarray       #: true angular rate, rad/s (n, 3)
    gyr_bias: np.ndarray       #: true gyro bias, rad/s (n, 3)
    acc_lin: np.ndarray        #: true linear acceleration in earth frame, m/s^2 (n, 3)
    rest: np.ndarray           #: true rest flag (n,)
    mag_disturbed: np.ndarray  #: true magnetic-disturbance flag (n,)
    scenario: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def movement(self) -> np.ndarray:
        """Samples not at rest (where errors are evaluated)."""
        return ~self.rest


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _segments_mask(t: np.ndarray, segs: list[tuple[float, float]], ramp: float) -> np.ndarray:
    """Soft mask in [0, 1]: 1 inside the segments, smooth ramps of `ramp` s at their edges."""
    m = np.zeros_like(t)
    for a, b in segs:
        up = _smoothstep((t - a) / ramp) if ramp > 0 else (t >= a).astype(float)
        down = 1 - _smoothstep((t - (b - ramp)) / ramp) if ramp > 0 else (t < b).astype(float)
        m = np.maximum(m, up * down)
    return m


def _random_smooth(t: np.ndarray, rng: np.random.Generator, amp: float, fmax: float,
                   k: int = 5) -> np.ndarray:
    """Sum of k random sinusoids per column (3 columns), peak amplitude about `amp`."""
    out = np.zeros((t.size, 3))
    for c in range(3):
        f = rng.uniform(0.05, fmax, k)
        ph = rng.uniform(0, 2 * np.pi, k)
        a = rng.uniform(0.3, 1.0, k)
        a *= amp / a.sum()
        out[:, c] = (a[None, :] * np.sin(2 * np.pi * f[None, :] * t[:, None] + ph[None, :])).sum(1)
    return out


def _gyr_from_quat(q: np.ndarray, fs: float) -> np.ndarray:
    w = np.zeros((q.shape[0], 3))
    if q.shape[0] > 1:
        w[1:] = Q.to_rotvec(Q.multiply(Q.conjugate(q[:-1]), q[1:])) * fs
    return w


def imu_from_orientation(quat: npt.ArrayLike, fs: float, acc_lin: npt.ArrayLike | None = None, *,
                         seed: int = 0, gyr_noise: float = 1.7e-4, acc_noise: float = 1.2e-3,
                         mag_noise: float = 0.05, gyr_bias: npt.ArrayLike | float = 0.0,
                         gyr_bias_drift: float = 0.0, mag_norm: float = 50.0,
                         mag_dip_deg: float = 60.0, mag_field: npt.ArrayLike | None = None
                         ) -> dict[str, np.ndarray]:
    """Gyro, acc and mag readings of a sensor following ``quat`` (n, 4).

    Parameters
    ----------
    quat : (n, 4)
        True orientation, sensor -> ENU.
    fs : float
        Sampling rate, Hz.
    acc_lin : (n, 3), optional
        Linear acceleration in the earth frame, m/s^2 (default 0).
    gyr_noise, acc_noise, mag_noise : float
        White-noise densities: rad/s/sqrt(Hz), m/s^2/sqrt(Hz), uT/sqrt(Hz).
    gyr_bias : float or (3,)
        Constant gyro bias, rad/s (a float gives a random direction with that norm).
    gyr_bias_drift : float
        Random-walk density of the bias, rad/s/sqrt(s).
    mag_norm, mag_dip_deg : float
        Earth field strength (uT) and dip angle (deg, positive downwards).
    mag_field : (n, 3), optional
        Earth-frame field per sample (overrides norm/dip; used for disturbances).
    """
    if not fs > 0:
        raise ValueError(f"fs must be > 0 Hz; got {fs}")
    q = Q.normalize(np.asarray(quat, dtype=np.float64))
    if q.ndim != 2:
        raise ValueError(f"quat must have shape (n, 4); got {q.shape}")
    n = q.shape[0]
    rng = np.random.default_rng(seed)
    a_lin = np.zeros((n, 3)) if acc_lin is None else np.asarray(acc_lin, dtype=np.float64)
    if a_lin.shape != (n, 3):
        raise ValueError(f"acc_lin must have shape ({n}, 3); got {a_lin.shape}")
    if mag_field is None:
        d = np.deg2rad(mag_dip_deg)
        m_e = np.tile([0.0, mag_norm * np.cos(d), -mag_norm * np.sin(d)], (n, 1))
    else:
        m_e = np.asarray(mag_field, dtype=np.float64)
    qc = Q.conjugate(q)
    w_true = _gyr_from_quat(q, fs)
    b = np.asarray(gyr_bias, dtype=np.float64)
    if b.ndim == 0:
        v = rng.standard_normal(3)
        b = float(b) * v / np.linalg.norm(v)
    bias = np.tile(b, (n, 1))
    if gyr_bias_drift > 0:
        bias += np.cumsum(rng.standard_normal((n, 3)) * gyr_bias_drift / np.sqrt(fs), axis=0)
    sq = np.sqrt(fs)
    gyr = w_true + bias + rng.standard_normal((n, 3)) * gyr_noise * sq
    acc = Q.rotate(qc, a_lin + np.array([0.0, 0.0, G]))
    acc += rng.standard_normal((n, 3)) * acc_noise * sq
    mag = Q.rotate(qc, m_e) + rng.standard_normal((n, 3)) * mag_noise * sq
    return {"gyr": gyr, "acc": acc, "mag": mag, "gyr_true": w_true, "gyr_bias": bias}


def _trunk_angles(t: np.ndarray) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Scripted lumbar movements as intrinsic ZXY angles (heading, flexion, lateral), rad."""
    ang = np.zeros((t.size, 3))
    rests: list[tuple[float, float]] = []
    s = 0.0

    def seg(dur: float, col: int, fn: Any) -> None:
        nonlocal s
        m = (t >= s) & (t < s + dur)
        ang[m, col] += fn((t[m] - s) / dur)
        s += dur

    def hold(dur: float) -> None:
        nonlocal s
        rests.append((s + 0.05, s + dur - 0.05))
        s += dur

    def up_down(peak: float):
        return lambda x: peak * np.sin(np.pi * x) ** 2

    hold(6.0)
    seg(6.0, 1, up_down(np.deg2rad(-60.0)))        # forward flexion and return
    hold(3.0)
    seg(12.0, 1, lambda x: np.deg2rad(20.0) * np.sin(2 * np.pi * 3 * x))  # 3 Cat-Cow cycles
    hold(3.0)
    seg(8.0, 2, lambda x: np.deg2rad(30.0) * np.sin(2 * np.pi * x))   # lateral bending L/R
    hold(3.0)
    seg(8.0, 0, lambda x: np.deg2rad(45.0) * np.sin(2 * np.pi * x))   # axial rotation L/R
    hold(max(t[-1] - s + 1.0, 1.0))                                    # static hold
    return ang, rests


def simulate(scenario: str = "slow", duration: float = 60.0, fs: float = 100.0, seed: int = 0,
             **kwargs: Any) -> ImuData:
    """Simulate a recording of one of ``SCENARIOS`` with ground truth.

    Parameters
    ----------
    scenario : str
        One of ``SCENARIOS`` (see module docs).
    duration : float
        Seconds (the ``"trunk"`` script needs about 60 s; shorter cuts it).
    fs : float
        Sampling rate, Hz.
    seed : int
        Seed of every random choice (trajectory, bias, noise).
    **kwargs
        Sensor options of :func:`imu_from_orientation` (noise densities, ``gyr_bias`` (default
        0.5 deg/s), ``gyr_bias_drift``, ``mag_norm``, ``mag_dip_deg``), plus ``rest_segments``
        (list of (t0, t1) s) and ``mag_disturbances`` (list of (t0, t1) s).
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}; got {scenario!r}")
    if not (np.isfinite(fs) and fs > 0):
        raise ValueError(f"fs must be > 0 Hz; got {fs}")
    if not duration > 0:
        raise ValueError(f"duration must be > 0 s; got {duration}")
    rng = np.random.default_rng(seed)
    n = round(duration * fs)
    t = np.arange(n) / fs
    rest_segs = kwargs.pop("rest_segments", None)
    dist_segs = kwargs.pop("mag_disturbances", None)
    kwargs.setdefault("gyr_bias", np.deg2rad(0.5))
    lin = np.zeros((n, 3))
    q0 = Q.from_euler("ZYX", [rng.uniform(-np.pi, np.pi), rng.uniform(-0.3, 0.3),
                              rng.uniform(-0.3, 0.3)])
    if scenario == "trunk":
        ang, rests = _trunk_angles(t)
        heading0 = rng.uniform(-np.pi, np.pi)
        ang[:, 0] += heading0
        q = Q.from_euler("ZXY", ang)
        rest_segs = rests if rest_segs is None else rest_segs
    else:
        if scenario == "rest" and rest_segs is None:
            rest_segs = [(0.0, 3.0)] + [(a, a + 6.0) for a in np.arange(12.0, duration - 6.0, 18.0)]
        rest_segs = rest_segs or []
        # time warp: the trajectory stops during rest segments (smooth 0.3 s ramps)
        speed = 1.0 - _segments_mask(t, [(a - 0.3, b + 0.3) for a, b in rest_segs], 0.3)
        tau = np.concatenate([[0.0], np.cumsum(speed[1:]) / fs])
        amp, fmax = {"fast": (2.5, 0.8)}.get(scenario, (0.6, 0.15))
        rv = _random_smooth(tau, rng, amp, fmax)
        q = Q.multiply(q0, Q.from_rotvec(rv - rv[0]))
        if scenario == "translation":
            lin = _random_smooth(tau, rng, 1.0, 1.5, k=4)
            lin *= 4.0 / max(np.abs(lin).max(), 1e-9)    # up to ~4 m/s^2 per axis
            lin *= speed[:, None]
    rest = (_segments_mask(t, rest_segs or [], 0.0) > 0.5) if rest_segs else np.zeros(n, bool)
    mag_field = None
    dist = np.zeros(n, bool)
    if scenario == "mag_disturbance" and dist_segs is None:
        dist_segs = [(a, a + 8.0) for a in np.arange(15.0, duration - 10.0, 25.0)]
    if dist_segs:
        d = np.deg2rad(kwargs.get("mag_dip_deg", 60.0))
        norm = kwargs.get("mag_norm", 50.0)
        base = np.array([0.0, norm * np.cos(d), -norm * np.sin(d)])
        mag_field = np.tile(base, (n, 1))
        for a, b in dist_segs:
            r = Q.from_rotvec(rng.standard_normal(3) * 0.6)
            scale = rng.uniform(0.6, 1.5)
            dist_vec = Q.rotate(r, base) * scale
            w = _segments_mask(t, [(a, b)], 0.5)[:, None]
            mag_field = mag_field * (1 - w) + dist_vec[None, :] * w
        dist = _segments_mask(t, dist_segs, 0.0) > 0.5
        kwargs["mag_field"] = mag_field
        kwargs.pop("mag_dip_deg", None)
        kwargs.pop("mag_norm", None)
    r = imu_from_orientation(q, fs, lin, seed=seed + 1, **kwargs)
    return ImuData(fs=fs, t=t, quat=q, gyr=r["gyr"], acc=r["acc"], mag=r["mag"],
                   gyr_true=r["gyr_true"], gyr_bias=r["gyr_bias"], acc_lin=lin, rest=rest,
                   mag_disturbed=dist, scenario=scenario,
                   info={"rest_segments": rest_segs, "mag_disturbances": dist_segs})

"""Orientation estimation (AHRS) from gyroscope, accelerometer and optional magnetometer.

All filters run in the C++ core, sample by sample, and are streaming objects: ``update(gyr, acc,
mag=None)`` takes any number of samples and returns one quaternion per sample; any split of the
data gives bit-identical output; ``reset()``, ``copy.deepcopy`` and ``pickle`` are supported.
``estimate`` is the one-shot entry.

Conventions
-----------
- gyroscope ``gyr`` in rad/s, accelerometer ``acc`` in m/s^2, magnetometer ``mag`` in any
  consistent unit; arrays ``(n_samples, 3)`` (a single sample ``(3,)`` gives ``(4,)``).
- quaternions ``(w, x, y, z)``, Hamilton, rotating sensor -> earth; earth frame ENU (x east,
  y north, z up) unless ``frame="NED"``. Without magnetometer (6D) the heading is arbitrary and
  starts at 0.
- The first sample after construction/``reset`` initialises the orientation (``q0`` if given,
  else from acc, and acc+mag in 9D) and is returned as is; updates start with the second sample
  (as in ``ahrs``).
- Bad samples: a non-finite gyroscope sample gives a NaN quaternion for that sample and leaves the
  state unchanged; a non-finite or zero-norm acc (mag) sample skips the acc (mag) correction.
  A gyro sample faster than 1e6 rad/s, or any input that would overflow the state, is treated
  like a NaN gyro sample; acc/mag samples whose norm overflows are skipped like zero-norm ones.
  The state is never poisoned.
- float64 only: other numeric input is converted to float64.

Filters
-------
Madgwick
    Madgwick, Harrison & Vaidyanathan (2011), "Estimation of IMU and MARG orientation using a
    gradient descent algorithm", IEEE ICORR. Equal to ``ahrs.filters.Madgwick(gain=beta)``
    (ahrs 0.4) to 1e-9 after the frame change described in :class:`Madgwick`.
Mahony
    Mahony, Hamel & Pflimlin (2008), "Nonlinear complementary filters on the special orthogonal
    group", IEEE Trans. Automatic Control 53(5). Equal to ``ahrs.filters.Mahony(k_P=kp, k_I=ki)``.
Complementary
    Gyro strapdown plus a fixed fraction of the acc/mag alignment rotation per sample.
RobustAHRS (the default of :func:`estimate`)
    Inertial-frame accelerometer low-pass (robust to linear acceleration), gyro-bias estimation in
    motion and at rest, rest detection, heading correction with magnetic-disturbance rejection,
    and an offline forward-backward mode. Inspired by VQF (Laidig & Seel 2023, "VQF: Highly
    accurate IMU orientation estimation with bias estimation and magnetic disturbance rejection",
    Information Fusion 91); our own simplified formulation (see docs/fusion.md).

Examples
--------
>>> import numpy as np
>>> from kinemyo import fusion
>>> gyr = np.zeros((100, 3)); acc = np.tile([0.0, 0.0, 9.81], (100, 1))
>>> q = fusion.estimate(gyr, acc, fs=100.0)
>>> q.shape
(100, 4)
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core

__all__ = ["Complementary", "Madgwick", "Mahony", "RobustAHRS", "estimate"]

_FORMAT = 1
_c: Any = _core.fusion


def _q0(q0: npt.ArrayLike | None) -> list[float] | None:
    if q0 is None:
        return None
    a = np.asarray(q0, dtype=np.float64).ravel()
    if a.shape != (4,):
        raise ValueError(f"q0 must have 4 values (w, x, y, z); got shape {np.shape(q0)}")
    return [float(v) for v in a]


class _Filter:
    """Common streaming behaviour of the orientation filters."""

    _core: Any
    _params: dict[str, Any]

    def _init_core(self, core: Any, params: dict[str, Any]) -> None:
        self._core = core
        self._params = params
        self.update = core.update  # no Python frame on the hot path

    def update(self, gyr: npt.ArrayLike, acc: npt.ArrayLike,
               mag: npt.ArrayLike | None = None) -> np.ndarray:
        """Process a chunk: ``gyr``, ``acc`` (and ``mag``) ``(n, 3)``; returns ``(n, 4)``."""
        return self._core.update(gyr, acc, mag)  # pragma: no cover - replaced per instance

    def __call__(self, gyr: npt.ArrayLike, acc: npt.ArrayLike,
                 mag: npt.ArrayLike | None = None) -> np.ndarray:
        return self._core.update(gyr, acc, mag)

    def reset(self) -> None:
        """Return to the state right after construction."""
        self._core.reset()

    @property
    def quaternion(self) -> np.ndarray:
        """The current orientation ``(4,)`` (NaN before the first sample)."""
        return self._core.quaternion

    @property
    def params(self) -> dict[str, Any]:
        """The constructor parameters (a copy)."""
        return copy.deepcopy(self._params)

    @property
    def state(self) -> dict[str, np.ndarray]:
        """A copy of the full evolving state; assigning a dict from a twin restores it."""
        return dict(self._core.get_state())

    @state.setter
    def state(self, value: dict[str, Any]) -> None:
        if not isinstance(value, dict):
            raise TypeError(f"state must be a dict; got {type(value).__name__}")
        self._core.set_state(value)

    def __getstate__(self) -> dict[str, Any]:
        return {"format": _FORMAT, "class": type(self).__name__, "params": self._params,
                "state": self.state}

    def __setstate__(self, record: dict[str, Any]) -> None:
        if record.get("format") != _FORMAT:
            raise ValueError(f"unsupported pickle format {record.get('format')!r} for "
                             f"{type(self).__name__}; this version reads format {_FORMAT}")
        self.__init__(**record["params"])  # type: ignore[misc]
        self.state = record["state"]

    def __deepcopy__(self, memo: dict[int, Any]) -> _Filter:
        new = type(self).__new__(type(self))
        new.__setstate__(self.__getstate__())
        return new

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"{type(self).__name__}({args})"


class Madgwick(_Filter):
    """Madgwick's gradient-descent orientation filter, 6D (no mag) or 9D.

    Parameters
    ----------
    fs : float
        Sampling rate, Hz (> 0).
    beta : float
        Gradient-descent gain (rad/s), > 0. ``ahrs`` calls it ``gain``.
    frame : {"ENU", "NED"}
        Earth frame of the output.
    q0 : array-like (4,), optional
        Initial orientation (w, x, y, z) in ``frame``; default: from acc (+mag) of the first sample.

    Notes
    -----
    The filter is exactly the ``ahrs.filters.Madgwick`` formulation (ahrs 0.4). Its magnetic
    reference ``[bx, 0, bz]`` makes its native earth frame North-West-Up; the state is kept in
    NWU and the output rotated: ``q_ENU = q_z(+90 deg) * q_NWU``, ``q_NED = q_x(180 deg) * q_NWU``.
    So ``ahrs.filters.Madgwick(gyr, acc, mag, frequency=fs, gain=beta, q0=q_nwu)`` equals
    ``quaternion.multiply([cos45, 0, 0, sin45], Madgwick(fs, beta, q0=q_enu).update(...))`` with
    ``q_enu = q_z(+90) * q_nwu``. Differences: ahrs skips the whole update when the gyro is
    exactly zero (we do not), and our first orientation has heading 0 in 6D.

    Reference: Madgwick, Harrison & Vaidyanathan (2011), IEEE ICORR.
    """

    def __init__(self, fs: float, beta: float = 0.1, frame: str = "ENU",
                 q0: npt.ArrayLike | None = None) -> None:
        q = _q0(q0)
        self._init_core(_c.Madgwick(float(fs), float(beta), frame, q),
                        {"fs": fs, "beta": beta, "frame": frame, "q0": q})


class Mahony(_Filter):
    """Mahony's explicit complementary filter with integral (gyro-bias) term, 6D or 9D.

    Parameters
    ----------
    fs : float
        Sampling rate, Hz (> 0).
    kp, ki : float
        Proportional (rad/s) and integral gains, >= 0 (ahrs defaults 1.0 and 0.3).
    frame : {"ENU", "NED"}
        Earth frame of the output; the native frame is ENU (as in ``ahrs``).
    q0 : array-like (4,), optional
        Initial orientation; default from acc (+mag).
    b0 : array-like (3,)
        Initial integral term (rad/s).

    Notes
    -----
    Equal to ``ahrs.filters.Mahony(k_P=kp, k_I=ki)`` (ahrs 0.4) in ENU, except that ahrs skips
    the update when the gyro is exactly zero. ``bias`` is the integral term ``b`` (the gyro
    correction is ``gyr - b + kp * e``).

    Reference: Mahony, Hamel & Pflimlin (2008), IEEE Trans. Automatic Control 53(5).
    """

    def __init__(self, fs: float, kp: float = 1.0, ki: float = 0.3, frame: str = "ENU",
                 q0: npt.ArrayLike | None = None, b0: npt.ArrayLike = (0.0, 0.0, 0.0)) -> None:
        q = _q0(q0)
        b = [float(v) for v in np.asarray(b0, dtype=np.float64).ravel()]
        self._init_core(_c.Mahony(float(fs), float(kp), float(ki), frame, q, b),
                        {"fs": fs, "kp": kp, "ki": ki, "frame": frame, "q0": q, "b0": b})

    @property
    def bias(self) -> np.ndarray:
        """Current integral term (rad/s)."""
        return np.array(self._core.bias)


class Complementary(_Filter):
    """Simple complementary filter: gyro strapdown plus ``gain`` of the acc/mag alignment.

    Parameters
    ----------
    fs : float
        Sampling rate, Hz (> 0).
    gain : float
        Fraction in [0, 1] of the inclination (and heading) correction applied per sample.
    frame, q0
        As for :class:`Madgwick`.
    """

    def __init__(self, fs: float, gain: float = 0.01, frame: str = "ENU",
                 q0: npt.ArrayLike | None = None) -> None:
        q = _q0(q0)
        self._init_core(_c.Complementary(float(fs), float(gain), frame, q),
                        {"fs": fs, "gain": gain, "frame": frame, "q0": q})


class RobustAHRS(_Filter):
    """The kinemyo flagship orientation filter (6D or 9D, real-time).

    Algorithm (per sample; details in docs/fusion.md):

    1. strapdown integration of the bias-corrected gyro into an almost-inertial frame;
    2. rest detection: gyro and acc deviations from 0.5 s low-passed values below ``rest_th_gyr``
       / ``rest_th_acc`` and the corrected rate below ``rest_th_gyr + bias_max``, for
       ``rest_min_t`` s; at rest the bias follows the
       gyro with time constant ``tau_bias_rest``;
    3. the accelerometer, rotated into the inertial frame and low-passed (``tau_acc``), which
       averages out linear acceleration, defines the inclination correction;
    4. the magnetometer, rotated into the 6D earth frame, gives the heading correction (time
       constant ``tau_mag``), unless its norm or dip deviates from the learnt reference by more
       than ``mag_norm_th`` (relative) / ``mag_dip_th`` (rad): then it is rejected (flag
       ``mag_disturbed``); a new field stable for ``mag_new_t`` s becomes the reference;
    5. in motion, the steady part of the corrections, mapped to the sensor frame, updates the
       gyro bias (time constant ``tau_bias_motion``); bias clamped to ``bias_max`` rad/s.

    Parameters
    ----------
    fs : float
        Sampling rate, Hz.
    frame : {"ENU", "NED"}
        Output earth frame.
    q0 : array-like (4,), optional
        Initial orientation; default from acc (6D: heading 0) and mag.
    **params
        ``tau_acc`` (1.5 s), ``tau_mag`` (3 s), ``tau_bias_motion`` (4 s; <= 0 disables),
        ``tau_bias_rest`` (0.5 s), ``bias_max`` (0.035 rad/s), ``rest_th_gyr`` (0.01 rad/s:
        per-sample gyro deviation; set it ~3x above the per-sample gyro noise norm of your sensor),
        ``rest_th_acc`` (0.5 m/s^2), ``rest_min_t`` (1 s), ``mag_norm_th`` (0.1),
        ``mag_dip_th`` (0.1745 rad), ``mag_new_t`` (20 s), ``mag_init_t`` (5 s),
        ``acc_dev_scale`` (m/s^2, default 1e9 = off: the accelerometer low-pass gain is scaled by
        ``1 / (1 + ((|acc| - 9.81) / acc_dev_scale)^2)``).

    Reference: the structure follows Laidig & Seel (2023), Information Fusion 91, 187-204.
    """

    def __init__(self, fs: float, frame: str = "ENU", q0: npt.ArrayLike | None = None,
                 **params: float) -> None:
        q = _q0(q0)
        self._init_core(_c.RobustAHRS(float(fs), frame, q, dict(params)),
                        {"fs": fs, "frame": frame, "q0": q, **params})

    def update_full(self, gyr: npt.ArrayLike, acc: npt.ArrayLike,
                    mag: npt.ArrayLike | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """As ``update``, also returning per sample the gyro bias estimate ``(n, 3)`` (rad/s),
        the rest flag ``(n,)`` and the magnetic-disturbance flag ``(n,)`` (bool)."""
        q, b, r, d = self._core.update_ex(gyr, acc, mag)
        return q, b, r.astype(bool), d.astype(bool)

    @property
    def bias(self) -> np.ndarray:
        """Current gyro bias estimate (rad/s, sensor frame)."""
        return np.array(self._core.bias)

    @property
    def rest(self) -> bool:
        """Whether the last sample was detected as rest."""
        return bool(self._core.rest)

    @property
    def mag_disturbed(self) -> bool:
        """Whether the last magnetometer sample was rejected as disturbed."""
        return bool(self._core.mag_disturbed)


_METHODS = {"default": RobustAHRS, "robust": RobustAHRS, "madgwick": Madgwick,
            "mahony": Mahony, "complementary": Complementary}


def estimate(gyr: npt.ArrayLike, acc: npt.ArrayLike, mag: npt.ArrayLike | None = None, *,
             fs: float, method: str = "default", offline: bool = False,
             **params: Any) -> np.ndarray:
    """Estimate orientation quaternions ``(n, 4)`` for a whole recording.

    Parameters
    ----------
    gyr, acc, mag : array-like (n, 3)
        rad/s, m/s^2, any unit; ``mag=None`` for 6D.
    fs : float
        Sampling rate, Hz.
    method : {"default", "robust", "madgwick", "mahony", "complementary"}
        ``"default"`` is :class:`RobustAHRS`.
    offline : bool
        Non-causal forward-backward RobustAHRS: a backward pass starts from the forward pass's
        final state (time reversed, gyro negated) and the two are slerped with forward weight
        ``k / (n - 1)``. Only for the robust method.
    **params
        Passed to the filter's constructor (``frame``, ``q0`` and the filter's parameters).
    """
    key = method.lower()
    if key not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)}; got {method!r}")
    if offline:
        if _METHODS[key] is not RobustAHRS:
            raise ValueError(f"offline=True is only available for method='default'/'robust'; "
                             f"got {method!r}")
        frame = params.pop("frame", "ENU")
        q0 = _q0(params.pop("q0", None))
        q, _ = _c.robust_offline(gyr, acc, mag, float(fs), frame, q0, dict(params))
        return q
    f = _METHODS[key](fs, **params)
    return f.update(gyr, acc, mag)

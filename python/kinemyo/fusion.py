"""Orientation estimation (AHRS) from gyroscope, accelerometer and optional magnetometer.

All filters run in the C++ core, in double precision, and share one interface:
``f.update(gyr, acc, mag=None) -> q (n, 4)`` for any number of samples (the result does not
depend on how a recording is split into calls), ``reset()``, ``state``, pickling and ``deepcopy``.
``update(..., return_all=True)`` also gives the gyroscope bias estimate and per-sample flags.

Conventions
-----------
* Gyroscope rad/s, accelerometer m/s² (only its direction matters), magnetometer any unit (only
  its direction matters); arrays ``(n_samples, 3)``.
* Quaternions ``(w, x, y, z)``, Hamilton, sensor -> earth. Earth frame ENU (x east, y north,
  z up) when a magnetometer is used; without one (6D) the heading is arbitrary and starts at 0
  (the initial orientation is the smallest tilt that levels the first accelerometer sample, or
  ``q0``).
* Frame conversions for the reference packages: ``ahrs.filters.Madgwick`` works in a frame with x
  towards magnetic north and z up (NWU): ``q_kinemyo = R_z(+90°) ⊗ q_ahrs``
  (:data:`NWU_TO_ENU`), and its ``q0`` maps the other way; ``ahrs.filters.Mahony`` is ENU like
  kinemyo. The ``ahrs`` filters skip a whole update when a gyroscope sample is exactly zero;
  kinemyo applies the accelerometer correction then too.

Bad samples: a non-finite gyroscope sample holds the orientation; a non-finite or zero-norm
accelerometer (magnetometer) sample skips the inclination (heading) correction for that sample.
The state is never poisoned; flags report what happened. Assigning ``state`` to Madgwick, Mahony
or Complementary refuses (``ValueError``) a non-finite or zero ``q`` and a non-finite or
implausible (>= 1000 rad/s) ``bias``; a finite ``q`` of norm != 1 is normalised, as ``q0`` is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt

from . import _core
from ._processor import StatefulCore

__all__ = [
    "FLAG_ACC_SKIPPED", "FLAG_GYR_SKIPPED", "FLAG_MAG_DISTURBED", "FLAG_MAG_SKIPPED", "FLAG_REST",
    "NWU_TO_ENU", "Complementary", "FusionOutput", "Madgwick", "Mahony", "RobustAHRS", "estimate",
]

FLAG_REST = 1
FLAG_MAG_DISTURBED = 2
FLAG_ACC_SKIPPED = 4
FLAG_MAG_SKIPPED = 8
FLAG_GYR_SKIPPED = 16
NWU_TO_ENU = np.array([np.sqrt(0.5), 0.0, 0.0, np.sqrt(0.5)])


@dataclasses.dataclass
class FusionOutput:
    """Everything a filter reports per sample.

    Attributes
    ----------
    q : (n, 4) orientation (w, x, y, z), sensor -> earth
    bias : (n, 3) gyroscope bias estimate, rad/s (zeros for filters without one)
    flags : (n,) uint8 bit field (FLAG_REST, FLAG_MAG_DISTURBED, FLAG_ACC_SKIPPED, ...)
    """

    q: np.ndarray
    bias: np.ndarray
    flags: np.ndarray

    @property
    def rest(self) -> np.ndarray:
        """True where rest was detected."""
        return (self.flags & FLAG_REST) != 0

    @property
    def mag_disturbed(self) -> np.ndarray:
        """True where the field departs from the reference (a magnetic disturbance): the heading is
        held by the gyroscope, or corrected against a learnt landmark field (RobustAHRS)."""
        return (self.flags & FLAG_MAG_DISTURBED) != 0


def _q0(q0: npt.ArrayLike | None) -> list[float]:
    if q0 is None:
        return [1.0, 0.0, 0.0, 0.0]
    a = np.asarray(q0, dtype=float)
    if a.shape != (4,) or not np.isfinite(a).all() or not np.linalg.norm(a) > 0:
        raise ValueError(f"q0 must be a finite non-zero quaternion (w, x, y, z); got {q0!r}")
    return (a / np.linalg.norm(a)).tolist()


class _Filter(StatefulCore):
    """Shared behaviour of the orientation filters (state and pickling from StatefulCore)."""

    def update(self, gyr: npt.ArrayLike, acc: npt.ArrayLike, mag: npt.ArrayLike | None = None, *,
               return_all: bool = False) -> Any:
        """Process samples; returns the orientations ``(n, 4)``, or a :class:`FusionOutput` with
        ``return_all=True``."""
        if return_all:
            q, bias, flags = self._core.update(gyr, acc, mag)
            return FusionOutput(q, bias, flags)
        return self._core.update_q(gyr, acc, mag)  # no bias and flags arrays: the streaming fast path

    __call__ = update

    @property
    def fs(self) -> float:
        """Sampling rate in Hz."""
        return float(self._core.fs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self._params.items())})"


class Madgwick(_Filter):
    """Madgwick's gradient-descent filter (Madgwick, Harrison & Vaidyanathan, IEEE ICORR 2011).

    Parameters
    ----------
    fs : float
        Sampling rate, Hz.
    beta : float
        Gradient-descent gain, rad/s (default 0.1).
    q0 : (4,), optional
        Initial orientation (sensor -> ENU); default identity.

    Equals ``ahrs.filters.Madgwick(frequency=fs, gain=beta, q0=...)`` to 1e-9 (tested), with the
    frame conversion described in the module docs.
    """

    def __init__(self, fs: float, beta: float = 0.1, q0: npt.ArrayLike | None = None) -> None:
        self._params = {"fs": float(fs), "beta": float(beta), "q0": _q0(q0)}
        self._core = _core.Madgwick(float(fs), float(beta), self._params["q0"])


class Mahony(_Filter):
    """Mahony's explicit complementary filter with gyroscope-bias integral term (Mahony, Hamel &
    Pflimlin, IEEE Trans. Autom. Control 53, 2008).

    Parameters
    ----------
    fs : float
        Sampling rate, Hz.
    kp : float
        Proportional gain, rad/s (default 1.0).
    ki : float
        Integral gain, rad/s² (default 0.3).
    q0 : (4,), optional
        Initial orientation (sensor -> ENU).
    b0 : (3,), optional
        Initial gyroscope bias estimate, rad/s: finite, with norm < 1000 rad/s (the gyroscope
        plausibility limit); otherwise ``ValueError``.

    Equals ``ahrs.filters.Mahony(frequency=fs, k_P=kp, k_I=ki, q0=...)`` to 1e-9 (tested).
    """

    def __init__(self, fs: float, kp: float = 1.0, ki: float = 0.3, q0: npt.ArrayLike | None = None,
                 b0: Sequence[float] | None = None) -> None:
        b = [0.0, 0.0, 0.0] if b0 is None else [float(v) for v in b0]
        if len(b) != 3:
            raise ValueError(f"b0 must have 3 values (rad/s); got {b0!r}")
        self._params = {"fs": float(fs), "kp": float(kp), "ki": float(ki), "q0": _q0(q0), "b0": b}
        self._core = _core.Mahony(float(fs), float(kp), float(ki), self._params["q0"], b)


class Complementary(_Filter):
    """Quaternion complementary filter: gyroscope integration, then a normalised interpolation by
    ``gain`` towards the accelerometer tilt (and magnetometer heading) each sample (Valenti,
    Dryanovski & Xiao, Sensors 15, 2015, simplest form).

    Parameters
    ----------
    fs : float
        Sampling rate, Hz.
    gain : float
        Weight of the accelerometer/magnetometer orientation per sample, in [0, 1] (default 0.01,
        a time constant of about 1 s at 100 Hz).
    q0 : (4,), optional
        Initial orientation.
    """

    def __init__(self, fs: float, gain: float = 0.01, q0: npt.ArrayLike | None = None) -> None:
        self._params = {"fs": float(fs), "gain": float(gain), "q0": _q0(q0)}
        self._core = _core.Complementary(float(fs), float(gain), self._params["q0"])


class RobustAHRS(_Filter):
    """kinemyo's orientation filter: robust to linear acceleration, with gyroscope-bias estimation
    in motion and at rest and magnetic-disturbance rejection. The default of :func:`estimate`.

    Structure after VQF (Laidig & Seel, "VQF: Highly accurate IMU orientation estimation with bias
    estimation and magnetic disturbance rejection", Information Fusion 91, 2023), implemented from
    the paper's description, with additions:

    * strapdown integration of the bias-corrected gyroscope into a quasi-inertial frame; the
      accelerometer rotated into that frame and low-pass filtered there (second-order Butterworth,
      started as a running mean, as VQF) before its direction corrects the inclination;
    * two such low-passes (``tau_acc``, ``tau_acc_lin``) blended by the measured level of linear
      acceleration ``L`` (RMS deviation from the fast low-pass) with weight
      ``1 / (1 + L² / lin_acc_ref²)`` for the fast one: fast and lag-free in quiet movement, slow
      under translation;
    * bias in motion from VQF's measurement model (the inclination-correction rate equals the
      low-passed earth-frame image of the bias error; rotation matrix and its product with the bias
      low-passed by the same blended filters), a gradient step with time constant
      ``tau_bias_motion``; heading corrections also feed it; at rest from the gyroscope
      (``tau_bias_rest``; rest = gyroscope within ``rest_th_gyr`` rad/s and accelerometer within
      ``rest_th_acc`` m/s² of their 0.5-s low-passes for ``rest_min_t`` s);
    * heading from the magnetometer's horizontal component (``tau_mag``); disturbance = field norm
      (``mag_norm_th``) or dip (``mag_dip_th`` rad) away from the reference learnt over the first
      ``mag_init_t`` s and tracked slowly (``mag_new_t``); a disturbed field that stays steady in
      norm, dip and earth-frame azimuth (``mag_az_th``) for ``mag_lm_t`` s becomes a *landmark*: its
      azimuth is measured with the gyroscope-held heading and the heading is then corrected against
      it (in the spirit of modelling the disturbance in the earth frame, Roetenberg et al., IEEE
      TNSRE 13, 2005) instead of taking it for north as a new reference; the landmark's azimuth
      relaxes to north with ``mag_lm_tau`` (in case the first reference was the disturbed one).

    Parameters
    ----------
    fs : float
        Sampling rate, Hz.
    **params
        Any of (defaults): tau_acc (1.5 s), tau_acc_lin (4 s), lin_acc_ref (0.3 m/s²), tau_mag (3 s),
        tau_bias_motion (6 s; <= 0 disables), tau_bias_rest (0.5 s), bias_max (0.035 rad/s),
        rest_th_gyr (0.01 rad/s: set about 3x the per-sample gyroscope noise norm of your sensor),
        rest_th_acc (0.5 m/s²), rest_min_t (1 s), mag_norm_th (0.1), mag_dip_th (0.1745 rad),
        mag_new_t (20 s), mag_init_t (5 s), mag_lm_t (3 s), mag_az_th (0.1745 rad), mag_lm_tau
        (3600 s), acc_dev_scale (1e9 m/s²: off; smaller values weight down samples whose norm is far
        from g). Accelerometer samples of 1e6 m/s² or more are skipped as implausible. After a
        gyroscope gap (held orientation) the inclination re-levels quickly and motion-bias
        learning pauses meanwhile (see docs/fusion.md, "Gyroscope gaps").
    """

    DEFAULTS: ClassVar[dict[str, float]] = {
        "tau_acc": 1.5, "tau_mag": 3.0, "tau_bias_motion": 6.0, "tau_bias_rest": 0.5, "bias_max": 0.035,
        "rest_th_gyr": 0.01, "rest_th_acc": 0.5, "rest_min_t": 1.0, "mag_norm_th": 0.1, "mag_dip_th": 0.1745,
        "mag_new_t": 20.0, "mag_init_t": 5.0, "acc_dev_scale": 1e9, "mag_lm_t": 3.0, "mag_az_th": 0.1745,
        "mag_lm_tau": 3600.0, "lin_acc_ref": 0.3, "tau_acc_lin": 4.0,
    }

    def __init__(self, fs: float, **params: float) -> None:
        unknown = set(params) - set(self.DEFAULTS)
        if unknown:
            raise TypeError(f"unknown parameter(s) {sorted(unknown)}; allowed: {sorted(self.DEFAULTS)}")
        p = {**self.DEFAULTS, **{k: float(v) for k, v in params.items()}}
        self._params = {"fs": float(fs), **p}
        self._core = _core.RobustAhrs({"fs": float(fs), **p})


_METHODS: dict[str, type[_Filter]] = {
    "default": RobustAHRS, "robust": RobustAHRS, "madgwick": Madgwick, "mahony": Mahony,
    "complementary": Complementary,
}


def estimate(gyr: npt.ArrayLike, acc: npt.ArrayLike, mag: npt.ArrayLike | None = None, *, fs: float,
             method: Literal["default", "robust", "madgwick", "mahony", "complementary"] = "default",
             offline: bool = False, return_all: bool = False, **params: Any) -> Any:
    """Orientation of a whole recording.

    Parameters
    ----------
    gyr, acc : (n, 3)
        Gyroscope (rad/s) and accelerometer (m/s²) samples.
    mag : (n, 3), optional
        Magnetometer samples (9D; heading in ENU). Without it (6D) the heading starts at 0.
    fs : float
        Sampling rate, Hz.
    method : str
        ``"default"``/``"robust"`` (:class:`RobustAHRS`), ``"madgwick"``, ``"mahony"``,
        ``"complementary"``.
    offline : bool
        Non-causal estimation for recorded files (robust filter only): a forward pass, a backward
        pass (time-reversed recording, started from the forward pass's final state) and the
        forward pass again, started from the bias the backward pass ends with (the first forward
        pass has not converged at the start), give a bias estimate per sample, blended with a
        backward weight falling linearly from 1 at the start to 0 at the end and low-passed
        without lag (2 ``tau_bias_motion``). The gyroscope corrected by that bias is integrated
        once more; the accelerometer in that quasi-inertial frame is low-passed forwards and
        backwards (no lag; the two low-passes blended by the linear-acceleration level as in real
        time) and its direction gives the inclination. With a magnetometer, the residual azimuth
        of the field, over the samples the forward pass found undisturbed, is smoothed forwards and
        backwards (2.5 ``tau_mag``) and removed; without one, the heading is the blend (slerp,
        same weights) of the two passes'. Gyroscope gaps (unusable samples) break the integrated
        frame: that smoothing runs per gap-free segment, and the gap samples are interpolated
        (slerp) between the orientations at the gap's ends.
    return_all : bool
        Return a :class:`FusionOutput` (orientations, bias estimate, flags) instead of ``q``.
    **params
        Parameters of the filter class.

    Returns
    -------
    q : (n, 4) or FusionOutput
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)}; got {method!r}")
    cls = _METHODS[method]
    f = cls(fs, **params)  # type: ignore[call-arg]
    for name, v in (("gyr", gyr), ("acc", acc), ("mag", mag)):  # as update(): no silent casts
        if v is not None and np.asarray(v).dtype.kind not in "fiu":
            raise TypeError(f"{name} must be a real numeric array; got dtype {np.asarray(v).dtype}")
    g = np.ascontiguousarray(gyr, dtype=float)
    a = np.ascontiguousarray(acc, dtype=float)
    m = None if mag is None else np.ascontiguousarray(mag, dtype=float)
    if not offline:
        fwd: FusionOutput = f.update(g, a, m, return_all=True)
        return fwd if return_all else fwd.q
    if cls is not RobustAHRS:
        raise ValueError("offline=True is available for the robust (default) filter only")
    q, bias, flags = _core.robust_offline({"fs": float(fs), **{k: v for k, v in f.params.items() if k != "fs"}},
                                          g, a, m)
    out = FusionOutput(q, bias, flags)
    return out if return_all else out.q

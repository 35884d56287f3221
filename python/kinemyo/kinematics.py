"""Lumbar kinematics from two trunk IMUs: sensor-to-segment calibration and lumbar angles.

Two sensors, one over the upper lumbar spine (L1/T12) and one over the sacrum (S1), give the
orientation of an upper and a lower trunk segment. The lumbar angles are the orientation of the
upper segment relative to the lower one, in degrees, in the order
**(flexion, lateral bending, axial rotation)**.

Conventions
-----------
* Quaternions ``(w, x, y, z)``, Hamilton, rotating sensor frame -> earth frame (as produced by
  :mod:`kinemyo.fusion`); earth frame ENU (z up) unless ``frame="NED"``.
* Segment frames follow ISB (Wu et al., "ISB recommendation on definitions of joint coordinate
  system of various joints for the reporting of human joint motion — part I", J. Biomech. 35,
  2002): **X anterior, Y superior (cranial), Z to the right**.
* Angles: the Cardan sequence Z–X′–Y″ of ``R = R_lower^T R_upper = R_Z(a) R_X(b) R_Y(c)`` — the
  joint coordinate system of Grood & Suntay (J. Biomech. Eng. 105, 1983): flexion about the lower
  segment's medio-lateral axis, lateral bending about the floating (antero-posterior) axis, axial
  rotation about the upper segment's longitudinal axis.

  ============== ========= ============================================================
  angle          sign      meaning
  ============== ========= ============================================================
  flexion        ``-a``    positive = forward bending (superior axis tilts anteriorly);
                           negative = extension
  lateral        ``b``     positive = bending to the right
  axial          ``c``     positive = the upper segment turning to the left
  ============== ========= ============================================================

* Default mounting: each sensor worn on the back with its **x axis up the spine and its z axis
  pointing out of the skin** (posterior); so the sensor's y axis points to the subject's left.
  Other mountings: ``mounting=("x", "z")`` names the sensor axis that points up the spine and the
  one that points out of the back (prefix ``-`` for negative axes), per sensor if they differ.

Heading (6D vs 9D)
------------------
Without a magnetometer the heading of each sensor drifts independently, and a heading difference
between the sensors would leak into lateral bending and flexion whenever the pelvis is tilted.
With ``heading="align"`` (the default, for 6D fusion) each sample's relative heading is chosen so
that the relative rotation has **zero axial rotation**: the upper segment is turned about the
earth vertical until its anterior axis is perpendicular to the lower segment's medio-lateral axis
(a closed-form solution of ``A + B cos d + C sin d = 0``; of its two roots the one that leaves the
smaller relative rotation — until the seventh session the one nearest to the heading difference of
the projected anterior axes, which turned the upper segment round once it tilted past 90 deg, a
toe-touch bend with the pelvis flexed). Flexion and lateral bending are then exact — whatever the
heading drift, mounting error or pelvis tilt — as long as the true axial rotation is small; axial
rotation itself is reported as NaN. Within 10 deg of the singular posture (the upper segment's
anterior axis vertical, where gravity cannot fix the heading) the correction of the last
well-conditioned sample is held. True axial rotation in flexed postures leaks
into the other two angles (measured on the test simulator: ±10° of axial rotation on top of
±35° flexion and ±30° lateral bending gives about 2.5° / 8° RMSE in flexion / lateral bending).
With 9D fusion (common magnetic north) use ``heading="absolute"``: the neutral posture's heading
offset is removed by the calibration and all three angles are reported.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from . import _core
from . import quaternion as kq
from ._checks import check_fs

__all__ = ["Calibration", "LumbarAngles", "calibrate", "lumbar_angles", "mounting_quaternion"]

Heading = Literal["align", "absolute"]
_AXES = {"x": 0, "y": 1, "z": 2}


# ------------------------------------------------------------------------------------- helpers


def _axis(name: str) -> np.ndarray:
    s = name.strip().lower()
    sign = -1.0 if s.startswith("-") else 1.0
    s = s.lstrip("+-")
    if s not in _AXES:
        raise ValueError(f"sensor axis must be one of x, y, z, -x, -y, -z; got {name!r}")
    v = np.zeros(3)
    v[_AXES[s]] = sign
    return v


def _matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """Rotation matrix -> unit quaternion (w >= 0)."""
    return np.asarray(kq.from_matrix(np.asarray(m, dtype=float)))


def _quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(kq.multiply(a, b))


def _quat_conj(q: np.ndarray) -> np.ndarray:
    return np.asarray(kq.conjugate(q))


def _rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vector(s) v by unit quaternion(s) q."""
    return np.asarray(kq.rotate(q, v))


def _mean_quat(q: np.ndarray) -> np.ndarray:
    """Average orientation: the principal eigenvector of sum(q q^T) (Markley et al., "Averaging
    quaternions", J. Guid. Control Dyn. 30, 2007); sign-invariant."""
    m = q.T @ q
    _, v = np.linalg.eigh(m)
    out = v[:, -1]
    return out if out[0] >= 0 else -out


def _angle_deg(q: np.ndarray) -> np.ndarray:
    return np.degrees(2.0 * np.arccos(np.clip(np.abs(q[..., 0]), 0.0, 1.0)))


def mounting_quaternion(up: str = "x", out: str = "z") -> np.ndarray:
    """Nominal segment -> sensor rotation of a sensor worn on the back.

    Parameters
    ----------
    up : str
        Sensor axis pointing up the spine (cranial): ``"x"``, ``"-y"``, ...
    out : str
        Sensor axis pointing out of the back (posterior), perpendicular to ``up``.

    Returns
    -------
    q : ndarray (4,)
        Quaternion whose rotation maps ISB segment axes (X anterior, Y superior, Z right) to the
        sensor axes they coincide with.
    """
    y = _axis(up)
    x = -_axis(out)  # anterior = opposite of "out of the back"
    if abs(float(x @ y)) > 1e-12:
        raise ValueError(f"up ({up!r}) and out ({out!r}) must be perpendicular sensor axes")
    z = np.cross(x, y)
    return _matrix_to_quat(np.column_stack([x, y, z]))


def _as_quats(q: npt.ArrayLike, name: str) -> np.ndarray:
    a = np.asarray(q)
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a numeric array; got dtype {a.dtype}")
    a = np.ascontiguousarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 4:
        raise ValueError(f"{name} must have shape (n_samples, 4) (w, x, y, z); got {a.shape}")
    return a


# --------------------------------------------------------------------------------- calibration


@dataclasses.dataclass(frozen=True)
class Calibration:
    """Sensor-to-segment calibration of a two-IMU lumbar set-up; reusable across the recordings of
    one session (same sensor placement). Save with :meth:`save`, load with :meth:`load`.

    Attributes
    ----------
    upper_mount, lower_mount : (4,) quaternions
        Segment -> sensor rotation of each sensor (removes the mounting misalignment).
    neutral_offset : (4,) quaternion
        Relative orientation in the neutral posture (removed in ``heading="absolute"``).
    heading : {"align", "absolute"}
        Heading handling (see the module docs).
    frame : {"ENU", "NED"}
        Earth frame of the orientations.
    functional : (bool, bool)
        Whether the flexion axis of the (upper, lower) segment came from its own functional
        flexion movement (True) or not (False: the nominal mounting, or with
        ``heading="absolute"`` the other segment's functional axis, see :func:`calibrate`).
    neutral_spread_deg : float
        Largest angular deviation of either sensor from its mean during the neutral period
        (how still the subject stood).
    """

    upper_mount: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)
    lower_mount: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)
    neutral_offset: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)
    heading: Heading = "align"
    frame: Literal["ENU", "NED"] = "ENU"
    functional: tuple[bool, bool] = (False, False)
    neutral_spread_deg: float = 0.0

    @classmethod
    def nominal(cls, mounting: tuple[str, str] | Sequence[tuple[str, str]] = ("x", "z"),
                heading: Heading = "align", frame: Literal["ENU", "NED"] = "ENU") -> Calibration:
        """Calibration from the nominal mounting only (no standing trial)."""
        mu, ml = _mountings(mounting)
        return cls(tuple(mounting_quaternion(*mu)), tuple(mounting_quaternion(*ml)),  # type: ignore[arg-type]
                   heading=heading, frame=frame)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["format"] = 1
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibration:
        d = dict(d)
        if d.pop("format", 1) != 1:
            raise ValueError("unsupported calibration format")
        for k in ("upper_mount", "lower_mount", "neutral_offset"):
            d[k] = tuple(float(v) for v in d[k])
        d["functional"] = tuple(bool(v) for v in d.get("functional", (False, False)))
        return cls(**d)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the calibration as JSON (atomically)."""
        from .batch import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=2))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Calibration:
        """Read a calibration written by :meth:`save`."""
        try:
            with open(path, encoding="utf-8") as f:
                return cls.from_dict(json.load(f))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a kinemyo calibration ({exc})") from exc


def _mountings(mounting: Any) -> tuple[tuple[str, str], tuple[str, str]]:
    if (isinstance(mounting, (tuple, list)) and len(mounting) == 2
            and all(isinstance(m, str) for m in mounting)):
        return (mounting[0], mounting[1]), (mounting[0], mounting[1])
    try:
        (a, b), (c, d) = mounting
        return (str(a), str(b)), (str(c), str(d))
    except (TypeError, ValueError):
        raise ValueError("mounting must be (up, out) or ((up, out) of the upper sensor, "
                         f"(up, out) of the lower sensor); got {mounting!r}") from None


_check_fs = check_fs


def _window(name: str, window: Any, fs: float, n: int, min_s: float) -> slice:
    try:
        t0, t1 = (float(v) for v in window)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be (t0_s, t1_s); got {window!r}") from None
    if not (np.isfinite(t0 * fs) and np.isfinite(t1 * fs) and 0 <= t0 * fs < t1 * fs <= n + 0.5):
        raise ValueError(f"{name} = ({t0:g}, {t1:g}) s must lie within the recording "
                         f"(0, {n / fs:g}) s with t0 < t1")
    i0, i1 = round(t0 * fs), round(t1 * fs)
    if not (0 <= i0 < i1 <= n):
        raise ValueError(f"{name} = ({t0:g}, {t1:g}) s must lie within the recording "
                         f"(0, {n / fs:g}) s with t0 < t1")
    if (i1 - i0) < max(2, round(min_s * fs)):
        raise ValueError(f"{name} must be at least {min_s:g} s long; got {(i1 - i0) / fs:g} s")
    return slice(i0, i1)


def _functional_axis(q: np.ndarray, q0: np.ndarray, up_earth: np.ndarray,
                     min_angle_deg: float = 10.0) -> np.ndarray | None:
    """Mean rotation axis, in sensor coordinates at q0, of the movement away from q0, weighted by
    its angle; None if the sensor turned less than min_angle_deg.

    The rotations are taken in the earth frame (q(t) q0^-1) and their twist about the vertical is
    split off (swing-twist decomposition) before averaging the swing axes: a flexion axis is
    horizontal in neutral standing, and what turns about the vertical during the movement
    (heading drift of 6D fusion, the subject turning) is not flexion."""
    e = _quat_mul(q, _quat_conj(q0)[None, :])
    # swing-twist split e = twist (about the vertical) * swing (about a horizontal axis)
    p = e[:, 1:] @ up_earth
    tw = np.column_stack([e[:, 0], np.outer(p, up_earth)])
    tn = np.linalg.norm(tw, axis=1, keepdims=True)
    tw = np.where(tn > 1e-12, tw / np.where(tn > 0, tn, 1.0), np.array([1.0, 0.0, 0.0, 0.0]))
    e = _quat_mul(_quat_conj(tw), e)
    e = np.where(e[:, :1] < 0, -e, e)
    ang = 2.0 * np.arccos(np.clip(e[:, 0], -1.0, 1.0))
    if np.degrees(ang.max(initial=0.0)) < min_angle_deg:
        return None
    s = np.sin(ang / 2)
    ok = s > 1e-9
    rv = np.zeros((len(e), 3))
    rv[ok] = e[ok, 1:] / s[ok, None] * ang[ok, None]  # rotation vectors, earth frame
    rv -= np.outer(rv @ up_earth, up_earth)          # horizontal part only
    v = rv.sum(axis=0)
    nv = np.linalg.norm(v)
    if not nv > 0:
        return None
    return _rotate(_quat_conj(q0), v / nv)


def calibrate(q_upper: npt.ArrayLike, q_lower: npt.ArrayLike, fs: float,
              neutral: tuple[float, float], flexion: tuple[float, float] | None = None, *,
              mounting: Any = ("x", "z"), heading: Heading = "align",
              frame: Literal["ENU", "NED"] = "ENU", max_spread_deg: float = 10.0) -> Calibration:
    """Sensor-to-segment calibration from a neutral standing period (and optionally a flexion).

    Method: during the static neutral period the superior (Y) axis of each segment is taken as
    the earth vertical seen from its sensor (gravity); the anterior (X) axis is the nominal
    mounting's anterior axis made perpendicular to it. Neutral standing then reads 0 in every
    angle, and mounting tilt of either sensor is removed. If a functional flexion movement is
    given (forward bending and return, ideally 30–60°), each segment's medio-lateral (Z) axis is
    taken as the mean axis of that sensor's rotation during it, made perpendicular to the vertical
    (a functional calibration in the manner of Favre et al., "Functional calibration procedure for
    3D knee joint angle description using inertial sensors", J. Biomech. 42, 2009), which also
    corrects a sensor rotated about the vertical, so pure flexion shows up in flexion only. A sensor
    that turns less than 10° during the movement (often the pelvis sensor: the pelvis may tilt
    less than that in a calibration bend) gets no functional axis (see ``functional``): with
    ``heading="absolute"`` (9D, a common heading) it takes the other sensor's medio-lateral axis,
    carried through the neutral posture (the segments' axes are parallel when standing); with
    ``heading="align"`` (6D) the two headings are independent, nothing can be carried, and it keeps
    its nominal axis — a mounting rotation of that sensor about the spine axis then stays in and
    leaks part of the flexion into lateral bending (a 15° rotation: about 3.6° of lateral bending
    on a 50° bend). Make the calibration bend deep enough for both sensors to turn 10°, or mount
    the sensors carefully.

    Parameters
    ----------
    q_upper, q_lower : array_like (n_samples, 4)
        Orientations (w, x, y, z), sensor -> earth, of the upper and lower sensor, same rate and
        length.
    fs : float
        Sampling rate in Hz (a number: a string, ``None`` or an array raise ``TypeError``).
    neutral : (t0_s, t1_s)
        Static neutral standing period in seconds (at least 0.5 s; 2–5 s recommended).
    flexion : (t0_s, t1_s), optional
        Functional forward-flexion movement.
    mounting : (up, out) or ((up, out), (up, out))
        Nominal sensor axes pointing up the spine and out of the back (default ``("x", "z")``).
    heading : {"align", "absolute"}
        ``"align"`` for 6D orientations (default), ``"absolute"`` for 9D (see module docs).
    frame : {"ENU", "NED"}
        Earth frame of the orientations.
    max_spread_deg : float
        The neutral period is rejected (ValueError) if a sensor moves more than this.

    Returns
    -------
    Calibration
    """
    qu = _as_quats(q_upper, "q_upper")
    ql = _as_quats(q_lower, "q_lower")
    if len(qu) != len(ql):
        raise ValueError(f"q_upper and q_lower must have the same length; got {len(qu)} and {len(ql)} "
                         "(resample the sensors to a common rate first)")
    fs = _check_fs(fs)
    if heading not in ("align", "absolute"):
        raise ValueError(f"heading must be 'align' or 'absolute'; got {heading!r}")
    if frame not in ("ENU", "NED"):
        raise ValueError(f"frame must be 'ENU' or 'NED'; got {frame!r}")
    up_earth = np.array([0.0, 0.0, 1.0 if frame == "ENU" else -1.0])
    n = len(qu)
    sl = _window("neutral", neutral, fs, n, 0.5)
    fl = _window("flexion", flexion, fs, n, 0.5) if flexion is not None else None
    mu, ml = _mountings(mounting)

    mounts = []
    functional = []
    frames: list[tuple[np.ndarray, np.ndarray]] = []  # (q0, ysup) per sensor
    spread = 0.0
    for q, (m_up, m_out) in ((qu, mu), (ql, ml)):
        qn = q / np.linalg.norm(q, axis=1, keepdims=True)
        win = qn[sl]
        if not np.isfinite(win).all():
            raise ValueError("the neutral period holds non-finite orientations")
        q0 = _mean_quat(win)
        dev = _angle_deg(_quat_mul(_quat_conj(q0)[None, :], win)).max()
        spread = max(spread, float(dev))
        if dev > max_spread_deg:
            raise ValueError(f"the neutral period is not static: a sensor moves {dev:.1f}° "
                             f"(> max_spread_deg = {max_spread_deg:g}°); choose a still standing period")
        nominal = _quat_to_matrix(mounting_quaternion(m_up, m_out))
        ysup = _rotate(_quat_conj(q0), up_earth)  # earth up in sensor coordinates
        ysup /= np.linalg.norm(ysup)
        axis = None
        if fl is not None:
            fq = qn[fl]
            fq = fq[np.isfinite(fq).all(axis=1)]
            axis = _functional_axis(fq, q0, up_earth) if len(fq) else None
        if axis is not None:
            if axis @ nominal[:, 2] < 0:
                axis = -axis
            zr = axis - (axis @ ysup) * ysup
            zr /= np.linalg.norm(zr)
            xa = np.cross(ysup, zr)
            functional.append(True)
        else:
            a = nominal[:, 0]
            xa = a - (a @ ysup) * ysup
            if np.linalg.norm(xa) < 1e-6:
                raise ValueError("the nominal anterior axis is vertical in the neutral period: check mounting")
            xa /= np.linalg.norm(xa)
            zr = np.cross(xa, ysup)
            functional.append(False)
        frames.append((q0, ysup))
        mounts.append(_matrix_to_quat(np.column_stack([xa, ysup, zr])))
    if heading == "absolute" and functional.count(True) == 1:
        # one sensor hardly moved in the flexion trial (the pelvis often tilts < 10 deg): with a
        # common heading (9D) its medio-lateral axis is the other's, carried through the neutral
        # posture (the segments' medio-lateral axes are parallel when standing). In 6D the two
        # headings are independent, so nothing can be carried: that sensor keeps its nominal axis.
        src, dst = (0, 1) if functional[0] else (1, 0)
        z_src = _quat_to_matrix(mounts[src])[:, 2]
        z_earth = _rotate(frames[src][0], z_src)
        q0d, ysup = frames[dst]
        zr = _rotate(_quat_conj(q0d), z_earth)
        zr = zr - (zr @ ysup) * ysup
        if np.linalg.norm(zr) > 1e-6:
            zr /= np.linalg.norm(zr)
            mounts[dst] = _matrix_to_quat(np.column_stack([np.cross(ysup, zr), ysup, zr]))

    cal = Calibration(tuple(mounts[0]), tuple(mounts[1]), heading=heading, frame=frame,  # type: ignore[arg-type]
                      functional=(functional[0], functional[1]), neutral_spread_deg=spread)
    if heading == "absolute":
        su = _quat_mul(qu[sl], mounts[0][None, :])
        sl_ = _quat_mul(ql[sl], mounts[1][None, :])
        rel = _quat_mul(_quat_conj(sl_), su)
        cal = dataclasses.replace(cal, neutral_offset=tuple(_mean_quat(rel / np.linalg.norm(rel, axis=1,
                                                                                             keepdims=True))))
    return cal


def _quat_to_matrix(q: np.ndarray) -> np.ndarray:
    return np.asarray(kq.to_matrix(q))


# ------------------------------------------------------------------------------------- angles


def lumbar_angles(q_upper: npt.ArrayLike, q_lower: npt.ArrayLike,
                  calibration: Calibration | None = None) -> np.ndarray:
    """Lumbar angles in degrees: (flexion, lateral bending, axial rotation) per sample.

    Parameters
    ----------
    q_upper, q_lower : array_like (n_samples, 4)
        Orientations (w, x, y, z), sensor -> earth, of the upper (L1/T12) and lower (S1) sensor,
        same rate and length.
    calibration : Calibration, optional
        From :func:`calibrate`. Default: :meth:`Calibration.nominal` (sensors worn with x up the
        spine and z out of the back, 6D heading alignment, no mounting correction).

    Returns
    -------
    angles : ndarray (n_samples, 3), degrees
        Flexion (+ forward), lateral bending (+ right), axial rotation (+ upper turning left; NaN
        with ``heading="align"``). A sample with a non-finite orientation gives NaN.

    Notes
    -----
    ``heading="align"`` (6D) fixes the heading between the sensors by assuming no axial rotation:
    of the two solutions of that condition, the one that leaves the smaller relative rotation is
    taken (correct at any tilt, also a toe-touch bend with the upper segment past 90 deg). When the
    upper segment's anterior axis is within 10 deg of the vertical, gravity no longer fixes the
    heading, so the correction of the last sample outside that cone is held (the sensors' heading
    drift is slow); a recording that starts inside it uses the solution of each sample.
    """
    cal = calibration if calibration is not None else Calibration.nominal()
    if not isinstance(cal, Calibration):
        raise TypeError(f"calibration must be a Calibration; got {type(cal).__name__}")
    qu = _as_quats(q_upper, "q_upper")
    ql = _as_quats(q_lower, "q_lower")
    return _angles(cal, qu, ql, np.array([np.nan]))


def _angles(cal: Calibration, qu: np.ndarray, ql: np.ndarray, carry: np.ndarray) -> np.ndarray:
    up = (0.0, 0.0, 1.0) if cal.frame == "ENU" else (0.0, 0.0, -1.0)
    return _core.lumbar_angles(cal.upper_mount, cal.lower_mount, cal.neutral_offset, cal.heading, up, qu, ql,
                               carry)


class LumbarAngles:
    """Streaming twin of :func:`lumbar_angles`: ``process(q_upper_chunk, q_lower_chunk)`` gives the
    angles of exactly those samples; any chunking gives the angles of one call over the whole
    stream. The only thing carried between samples is, with ``heading="align"``, the heading
    correction of the last well-conditioned sample, held while the upper segment's anterior axis
    is within 10 deg of the vertical (see :func:`lumbar_angles`). Pickles with its calibration and
    that correction; ``reset()`` forgets it."""

    def __init__(self, calibration: Calibration | None = None) -> None:
        self.calibration = calibration if calibration is not None else Calibration.nominal()
        self._carry = np.array([np.nan])

    def process(self, q_upper: npt.ArrayLike, q_lower: npt.ArrayLike) -> np.ndarray:
        cal = self.calibration
        if not isinstance(cal, Calibration):
            raise TypeError(f"calibration must be a Calibration; got {type(cal).__name__}")
        return _angles(cal, _as_quats(q_upper, "q_upper"), _as_quats(q_lower, "q_lower"), self._carry)

    __call__ = process

    def reset(self) -> None:
        """Forget the held heading correction (align mode): the state right after construction."""
        self._carry = np.array([np.nan])

    def __getstate__(self) -> dict[str, Any]:
        return {"format": 1, "calibration": self.calibration.to_dict(), "heading_carry": float(self._carry[0])}

    def __setstate__(self, record: dict[str, Any]) -> None:
        if record.get("format") != 1:
            raise ValueError(f"unsupported pickle format {record.get('format')!r} for LumbarAngles")
        self.calibration = Calibration.from_dict(record["calibration"])
        # records of earlier versions have no held correction
        self._carry = np.array([float(record.get("heading_carry", np.nan))])

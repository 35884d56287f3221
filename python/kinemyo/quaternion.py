"""Unit-quaternion algebra, vectorised over arrays, computed in the C++ core.

Conventions
-----------
Quaternions are ``(w, x, y, z)`` (scalar first), Hamilton product, and rotate the sensor frame
into the reference (earth) frame: ``v_earth = q * v_sensor * conj(q)``. Rotation matrices satisfy
``v_earth = R @ v_sensor``. Angles are in **radians**. Every function accepts a single quaternion
``(4,)`` or any stack ``(..., 4)`` (vectors ``(..., 3)``, matrices ``(..., 3, 3)``); two-argument
functions broadcast their leading dimensions like numpy. Output is float64.

Euler sequences follow :class:`scipy.spatial.transform.Rotation`: three letters, lower case for
extrinsic (``"xyz"``: about fixed axes), upper case for intrinsic (``"ZYX"``: about moving axes).
``to_euler`` uses the general method of Bernardes & Maxim (2022, PLoS ONE 17(11): e0276302); at
gimbal lock one outer angle is set to 0.

Examples
--------
>>> import numpy as np
>>> from kinemyo import quaternion as Q
>>> q = Q.from_rotvec([0.0, 0.0, np.pi / 2])      # 90 deg about z
>>> np.round(Q.rotate(q, [1.0, 0.0, 0.0]), 12)
array([0., 1., 0.])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core

__all__ = [
    "angle_between",
    "conjugate",
    "from_euler",
    "from_matrix",
    "from_rotvec",
    "heading",
    "heading_inclination",
    "identity",
    "inclination",
    "inverse",
    "multiply",
    "normalize",
    "relative",
    "rotate",
    "slerp",
    "to_euler",
    "to_matrix",
    "to_rotvec",
]

_c: Any = _core.quaternion


def _arr(x: npt.ArrayLike, width: int, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric array; got dtype {a.dtype}")
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0 or a.shape[-1] != width:
        raise ValueError(f"{name} must have shape (..., {width}); got {a.shape}")
    return a


def _apply1(fn: Any, x: npt.ArrayLike, win: int, wout: int, name: str) -> np.ndarray:
    a = _arr(x, win, name)
    lead = a.shape[:-1]
    y = fn(np.ascontiguousarray(a.reshape(-1, win)))
    return y.reshape(*lead, wout) if wout > 0 else y.reshape(lead)


def _apply2(fn: Any, x: npt.ArrayLike, y: npt.ArrayLike, wx: int, wy: int, wout: int,
            nx: str, ny: str) -> np.ndarray:
    a = _arr(x, wx, nx)
    b = _arr(y, wy, ny)
    lead = np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    a = np.broadcast_to(a, (*lead, wx)).reshape(-1, wx)
    b = np.broadcast_to(b, (*lead, wy)).reshape(-1, wy)
    out = fn(np.ascontiguousarray(a), np.ascontiguousarray(b))
    return out.reshape(*lead, wout) if wout > 0 else out.reshape(lead)


def identity(n: int | None = None) -> np.ndarray:
    """The identity quaternion ``(1, 0, 0, 0)``, or ``n`` of them as ``(n, 4)``."""
    if n is None:
        return np.array([1.0, 0.0, 0.0, 0.0])
    return np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))


def multiply(p: npt.ArrayLike, q: npt.ArrayLike) -> np.ndarray:
    """Hamilton product ``p * q`` (apply ``q`` first, then ``p``)."""
    return _apply2(_c.multiply, p, q, 4, 4, 4, "p", "q")


def conjugate(q: npt.ArrayLike) -> np.ndarray:
    """Conjugate ``(w, -x, -y, -z)``: the inverse rotation of a unit quaternion."""
    return _apply1(_c.conjugate, q, 4, 4, "q")


def inverse(q: npt.ArrayLike) -> np.ndarray:
    """Inverse ``conj(q) / |q|^2`` (equal to the conjugate for unit quaternions)."""
    a = _arr(q, 4, "q")
    return conjugate(a) / np.sum(a * a, axis=-1, keepdims=True)


def normalize(q: npt.ArrayLike) -> np.ndarray:
    """Scale to unit norm; a zero quaternion gives NaN."""
    return _apply1(_c.normalize, q, 4, 4, "q")


def rotate(q: npt.ArrayLike, v: npt.ArrayLike) -> np.ndarray:
    """Rotate vectors ``v (..., 3)`` by ``q``: sensor-frame vectors to earth frame."""
    return _apply2(_c.rotate, q, v, 4, 3, 3, "q", "v")


def to_matrix(q: npt.ArrayLike) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` with ``v_earth = R @ v_sensor`` (q is normalised first)."""
    a = _arr(q, 4, "q")
    return _c.to_matrix(np.ascontiguousarray(a.reshape(-1, 4))).reshape(*a.shape[:-1], 3, 3)


def from_matrix(matrix: npt.ArrayLike) -> np.ndarray:
    """Quaternions (``w >= 0``) from rotation matrices ``(..., 3, 3)`` (Shepperd's method)."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim < 2 or m.shape[-2:] != (3, 3):
        raise ValueError(f"matrix must have shape (..., 3, 3); got {m.shape}")
    return _c.from_matrix(np.ascontiguousarray(m.reshape(-1, 9))).reshape(*m.shape[:-2], 4)


def to_rotvec(q: npt.ArrayLike) -> np.ndarray:
    """Rotation vectors (axis * angle, radians, angle in [0, pi])."""
    return _apply1(_c.to_rotvec, q, 4, 3, "q")


def from_rotvec(rotvec: npt.ArrayLike) -> np.ndarray:
    """Quaternions from rotation vectors (axis * angle, radians)."""
    return _apply1(_c.from_rotvec, rotvec, 3, 4, "rotvec")


def from_euler(seq: str, angles: npt.ArrayLike, degrees: bool = False) -> np.ndarray:
    """Quaternions from Euler angles ``(..., 3)`` in sequence ``seq`` (see module docs)."""
    a = _arr(angles, 3, "angles")
    if degrees:
        a = np.deg2rad(a)
    return _c.from_euler(seq, np.ascontiguousarray(a.reshape(-1, 3))).reshape(*a.shape[:-1], 4)


def to_euler(seq: str, q: npt.ArrayLike, degrees: bool = False) -> np.ndarray:
    """Euler angles ``(..., 3)`` in sequence ``seq``; radians unless ``degrees``."""
    a = _arr(q, 4, "q")
    e = _c.to_euler(seq, np.ascontiguousarray(a.reshape(-1, 4))).reshape(*a.shape[:-1], 3)
    return np.rad2deg(e) if degrees else e


def slerp(q0: npt.ArrayLike, q1: npt.ArrayLike, t: npt.ArrayLike) -> np.ndarray:
    """Spherical linear interpolation along the shortest arc; ``t`` in [0, 1] broadcasts."""
    a = _arr(q0, 4, "q0")
    b = _arr(q1, 4, "q1")
    tt = np.asarray(t, dtype=np.float64)
    lead = np.broadcast_shapes(a.shape[:-1], b.shape[:-1], tt.shape)
    a2 = np.ascontiguousarray(np.broadcast_to(a, (*lead, 4)).reshape(-1, 4))
    b2 = np.ascontiguousarray(np.broadcast_to(b, (*lead, 4)).reshape(-1, 4))
    t2 = np.ascontiguousarray(np.broadcast_to(tt, lead).reshape(-1))
    return _c.slerp(a2, b2, t2).reshape(*lead, 4)


def relative(p: npt.ArrayLike, q: npt.ArrayLike) -> np.ndarray:
    """Orientation of ``q`` relative to ``p``, ``conj(p) * q`` (expressed in p's frame)."""
    return multiply(conjugate(p), q)


def angle_between(p: npt.ArrayLike, q: npt.ArrayLike) -> np.ndarray:
    """Rotation angle (radians, [0, pi]) between orientations ``p`` and ``q``."""
    return _apply2(_c.angle_between, p, q, 4, 4, 0, "p", "q")


def heading_inclination(q: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split ``q = q_heading * q_inclination``.

    ``q_heading`` is a rotation about the earth's vertical (z) axis, ``q_inclination`` a rotation
    about a horizontal axis. Returns ``(heading, inclination, q_heading, q_inclination)`` with the
    heading angle in radians ``(-pi, pi]`` and the inclination angle (tilt) in ``[0, pi]``.
    """
    a = _arr(q, 4, "q")
    lead = a.shape[:-1]
    h, i, qh, qi = _c.heading_inclination(np.ascontiguousarray(a.reshape(-1, 4)))
    return h.reshape(lead), i.reshape(lead), qh.reshape(*lead, 4), qi.reshape(*lead, 4)


def heading(q: npt.ArrayLike) -> np.ndarray:
    """Heading angle (radians) of the heading/inclination split."""
    return heading_inclination(q)[0]


def inclination(q: npt.ArrayLike) -> np.ndarray:
    """Inclination (tilt) angle (radians) of the heading/inclination split."""
    return heading_inclination(q)[1]

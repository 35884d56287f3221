"""Unit-quaternion algebra over arrays, in the C++ core.

Conventions (used everywhere in kinemyo): quaternions are ``(w, x, y, z)``, Hamilton product; an
orientation ``q`` rotates sensor-frame vectors into the reference (earth) frame,
``v_earth = q ⊗ v_sensor ⊗ q*``; the reference frame is ENU (x east, y north, z up) unless a
function says otherwise. Angles are radians.

Every function takes one item (``(4,)`` quaternion, ``(3,)`` vector) or arrays of items
(``(n, 4)``, ``(n, 3)``); an argument with one item broadcasts against the others.

Examples
--------
>>> import numpy as np
>>> from kinemyo import quaternion as kq
>>> q = kq.from_euler([0.0, 0.0, np.pi / 2], "xyz")      # 90 deg about z
>>> np.round(kq.rotate(q, [1.0, 0.0, 0.0]), 12)
array([0., 1., 0.])
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from . import _core

__all__ = [
    "angle_between", "conjugate", "from_euler", "from_matrix", "from_rotvec", "heading_inclination",
    "inverse", "multiply", "normalize", "relative", "rotate", "slerp", "to_euler", "to_matrix", "to_rotvec",
]



def multiply(q1: npt.ArrayLike, q2: npt.ArrayLike) -> np.ndarray:
    """Hamilton product ``q1 ⊗ q2`` (apply ``q2`` first, then ``q1``)."""
    return _core.quat_multiply(q1, q2)


def conjugate(q: npt.ArrayLike) -> np.ndarray:
    """Conjugate ``(w, -x, -y, -z)``: the inverse of a unit quaternion."""
    return _core.quat_conjugate(q)


def inverse(q: npt.ArrayLike) -> np.ndarray:
    """Inverse ``q* / |q|²``."""
    a = np.asarray(q, dtype=float)
    return _core.quat_conjugate(a) / np.sum(a * a, axis=-1, keepdims=True)


def normalize(q: npt.ArrayLike) -> np.ndarray:
    """Unit quaternions; a zero or non-finite quaternion gives NaN."""
    return _core.quat_normalize(q)


def rotate(q: npt.ArrayLike, v: npt.ArrayLike) -> np.ndarray:
    """Rotate vectors: ``q ⊗ v ⊗ q*`` (sensor -> earth for an orientation)."""
    return _core.quat_rotate(q, v)


def to_matrix(q: npt.ArrayLike) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)``; ``R @ v`` equals ``rotate(q, v)``."""
    return _core.quat_to_matrix(q)


def from_matrix(m: npt.ArrayLike) -> np.ndarray:
    """Unit quaternions (``w >= 0``) of rotation matrices (Shepperd, J. Guid. Control 1, 1978)."""
    return _core.quat_from_matrix(m)


def to_rotvec(q: npt.ArrayLike) -> np.ndarray:
    """Rotation vectors (axis × angle in radians, angle in [0, π])."""
    return _core.quat_to_rotvec(q)


def from_rotvec(r: npt.ArrayLike) -> np.ndarray:
    """Quaternions of rotation vectors (axis × angle in radians)."""
    return _core.quat_from_rotvec(r)


def to_euler(q: npt.ArrayLike, seq: str) -> np.ndarray:
    """Euler angles (radians) in a named sequence, SciPy's ``Rotation`` convention.

    ``seq`` is three axis letters: lowercase = extrinsic (fixed axes, e.g. ``"xyz"``), uppercase =
    intrinsic (moving axes, e.g. ``"ZYX"`` = yaw, pitch, roll); Tait–Bryan and proper Euler
    sequences. First and third angles in (−π, π], the second in [−π/2, π/2] (Tait–Bryan) or [0, π]
    (proper Euler); at gimbal lock the third angle is set to 0. Computed directly from the
    quaternion (Bernardes & Viollet, PLoS ONE 17, 2022).
    """
    return _core.quat_to_euler(q, seq)


def from_euler(angles: npt.ArrayLike, seq: str) -> np.ndarray:
    """Quaternions (``w >= 0``) of Euler angles (radians) in a named sequence (see :func:`to_euler`)."""
    return _core.quat_from_euler(angles, seq)


def slerp(q0: npt.ArrayLike, q1: npt.ArrayLike, t: npt.ArrayLike) -> np.ndarray:
    """Spherical linear interpolation along the shorter arc: ``t = 0`` gives ``q0``, ``1`` gives ``q1``
    (or ``-q1``) exactly (Shoemake, SIGGRAPH 1985). Unit quaternions in; constant angular speed at
    every angle, however small (the angle is taken as ``atan2(|q0 ^ q1|, q0 . q1)``, with no switch
    to linear interpolation)."""
    return _core.quat_slerp(q0, q1, np.asarray(t, dtype=float))


def relative(q_ref: npt.ArrayLike, q: npt.ArrayLike) -> np.ndarray:
    """Orientation of ``q`` relative to ``q_ref``: ``q_ref* ⊗ q`` (``q`` seen from the ``q_ref`` frame)."""
    return _core.quat_multiply(_core.quat_conjugate(q_ref), q)


def angle_between(q0: npt.ArrayLike, q1: npt.ArrayLike) -> np.ndarray | float:
    """Rotation angle in radians ([0, π]) from ``q0`` to ``q1`` (sign-invariant)."""
    return _core.quat_angle_between(q0, q1)


def heading_inclination(q: npt.ArrayLike, up: npt.ArrayLike = (0.0, 0.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """Split orientations as ``q = heading ⊗ inclination``.

    ``heading`` rotates about the reference vertical ``up`` (ENU: z); ``inclination`` rotates
    about a horizontal axis (swing–twist decomposition). Heading errors are what a 6D filter
    cannot correct; inclination errors are what the accelerometer corrects.
    """
    u = np.asarray(up, dtype=float)
    n = np.linalg.norm(u)
    if u.shape != (3,) or not n > 0:
        raise ValueError(f"up must be a non-zero 3-vector; got {up!r}")
    return _core.quat_heading_inclination(q, (u / n).tolist())

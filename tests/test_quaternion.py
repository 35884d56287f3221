"""Quaternion algebra against SciPy's Rotation (the oracle; note SciPy stores (x, y, z, w))."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from kinemyo import quaternion as kq


def to_scipy(q: np.ndarray) -> Rotation:
    return Rotation.from_quat(np.roll(q, -1, axis=-1))


def from_scipy(r: Rotation) -> np.ndarray:
    return np.roll(r.as_quat(), 1, axis=-1)


@pytest.fixture
def qs() -> np.ndarray:
    return from_scipy(Rotation.random(500, random_state=1))


def same_rotation(a: np.ndarray, b: np.ndarray, tol: float = 1e-12) -> None:
    d = np.abs(np.sum(a * b, axis=-1))
    np.testing.assert_allclose(d, 1.0, atol=tol)


def test_multiply_rotate_matrix(qs: np.ndarray) -> None:
    q2 = np.roll(qs, 7, axis=0)
    same_rotation(kq.multiply(qs, q2), from_scipy(to_scipy(qs) * to_scipy(q2)))
    v = np.random.default_rng(0).standard_normal((500, 3))
    np.testing.assert_allclose(kq.rotate(qs, v), to_scipy(qs).apply(v), atol=1e-12)
    np.testing.assert_allclose(kq.to_matrix(qs), to_scipy(qs).as_matrix(), atol=1e-12)
    same_rotation(kq.from_matrix(to_scipy(qs).as_matrix()), qs)
    np.testing.assert_allclose(kq.rotate(qs[0], v[:3]), to_scipy(qs[0]).apply(v[:3]), atol=1e-12)  # broadcast


def test_rotvec_roundtrip(qs: np.ndarray) -> None:
    np.testing.assert_allclose(kq.to_rotvec(qs), to_scipy(qs).as_rotvec(), atol=1e-10)
    same_rotation(kq.from_rotvec(to_scipy(qs).as_rotvec()), qs)
    tiny = np.array([[1e-12, 0, 0], [0, 0, 0]])
    same_rotation(kq.from_rotvec(tiny), from_scipy(Rotation.from_rotvec(tiny)))


SEQS = ["".join(p) for p in itertools.permutations("xyz")] + ["xyx", "xzx", "yxy", "yzy", "zxz", "zyz"]


@pytest.mark.parametrize("seq", SEQS + [s.upper() for s in SEQS])
def test_euler_matches_scipy(seq: str, qs: np.ndarray) -> None:
    ours = kq.to_euler(qs, seq)
    ref = to_scipy(qs).as_euler(seq)
    np.testing.assert_allclose(ours, ref, atol=1e-9)
    same_rotation(kq.from_euler(ref, seq), qs)


def test_euler_gimbal_lock_round_trips() -> None:
    for seq in ("xyz", "ZYX", "zxz"):
        mid = 0.0 if seq == "zxz" else np.pi / 2
        ang = np.array([0.3, mid, 0.0])
        q = kq.from_euler(ang, seq)
        same_rotation(kq.from_euler(kq.to_euler(q, seq), seq), q, 1e-7)
    # at the lock the angles themselves match SciPy's (third angle of the sequence as given 0; a
    # review found intrinsic sequences zeroing the first one)
    import warnings

    for seq in ("xyz", "ZYX", "ZXY", "XYZ", "zxz", "ZXZ", "YXY", "yzy"):
        proper = seq[0].lower() == seq[2].lower()
        for mid in ((0.0, np.pi) if proper else (np.pi / 2, -np.pi / 2)):
            r = Rotation.from_euler(seq, [0.3, mid, 0.5])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # SciPy's gimbal-lock warning
                ref = r.as_euler(seq)
            ours = kq.to_euler(from_scipy(r), seq)
            np.testing.assert_allclose(np.remainder(ours - ref + np.pi, 2 * np.pi) - np.pi, 0.0, atol=1e-6)
    with pytest.raises(ValueError, match="seq"):
        kq.to_euler(np.array([1.0, 0, 0, 0]), "xxy")
    with pytest.raises(ValueError, match="seq"):
        kq.to_euler(np.array([1.0, 0, 0, 0]), "xYz")


def test_slerp_angle_relative_heading(qs: np.ndarray) -> None:
    q0, q1 = qs[:100], qs[100:200]
    t = np.linspace(0, 1, 100)
    from scipy.spatial.transform import Slerp

    ref = np.array([from_scipy(Slerp([0, 1], to_scipy(np.stack([a, b])))([tt]))[0]
                    for a, b, tt in zip(q0, q1, t, strict=True)])
    same_rotation(kq.slerp(q0, q1, t), ref, 1e-9)
    ang = kq.angle_between(q0, q1)
    np.testing.assert_allclose(ang, (to_scipy(q0).inv() * to_scipy(q1)).magnitude(), atol=1e-10)
    rel = kq.relative(q0, q1)
    same_rotation(kq.multiply(q0, rel), q1)
    h, inc = kq.heading_inclination(qs)
    same_rotation(kq.multiply(h, inc), qs)
    np.testing.assert_allclose(h[:, 1:3], 0.0, atol=1e-15)  # heading: about z only
    # inclination: its axis is horizontal
    np.testing.assert_allclose(inc[:, 3], 0.0, atol=1e-12)


@pytest.mark.parametrize("deg", [3.5, 1.0, 1e-3, 1e-7, 0.0])
def test_slerp_constant_angular_speed_at_small_angles(deg: float) -> None:
    # below 3.6 degrees slerp used to switch to normalised linear interpolation (1e-6 rad off)
    rng = np.random.default_rng(5)
    q0 = kq.normalize(rng.standard_normal((20, 4)))
    axis = rng.standard_normal((20, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    q1 = kq.multiply(q0, kq.from_rotvec(axis * np.radians(deg)))
    t = np.array([0.0, 0.1, 0.25, 0.5, 0.9, 1.0])
    for a, b in zip(q0, q1, strict=True):
        r = kq.slerp(a, b, t)
        np.testing.assert_allclose(kq.angle_between(a, r), t * np.radians(deg), rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(np.linalg.norm(r, axis=1), 1.0, atol=1e-15)
        np.testing.assert_array_equal(r[0], a)  # exact endpoints
        np.testing.assert_array_equal(r[-1], b)


def test_shapes_and_errors() -> None:
    q = np.array([1.0, 0, 0, 0])
    assert kq.multiply(q, q).shape == (4,)
    assert isinstance(kq.angle_between(q, q), float)
    with pytest.raises(ValueError, match="shape"):
        kq.multiply(np.zeros((3, 3)), q)
    with pytest.raises(ValueError, match="same number"):
        kq.multiply(np.tile(q, (3, 1)), np.tile(q, (4, 1)))
    assert np.isnan(kq.normalize(np.zeros(4))).all()
    with pytest.raises(TypeError):
        kq.rotate(np.array(["a", "b", "c", "d"]), [1, 0, 0])
    np.testing.assert_allclose(kq.inverse([2.0, 0, 0, 0]), [0.5, 0, 0, 0])

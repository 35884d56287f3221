"""kinemyo.quaternion against scipy.spatial.transform.Rotation and algebraic identities."""

from __future__ import annotations

import numpy as np
import pytest
from kinemyo import quaternion as Q

R = pytest.importorskip("scipy.spatial.transform").Rotation


def _rand(n: int, seed: int = 0) -> np.ndarray:
    q = np.random.default_rng(seed).standard_normal((n, 4))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _sp(q: np.ndarray):
    return R.from_quat(q[..., [1, 2, 3, 0]])


def _same_rot(a: np.ndarray, b: np.ndarray, tol: float = 1e-12) -> None:
    assert np.all(np.abs(np.abs(np.sum(a * b, axis=-1)) - 1.0) < tol)


def test_multiply_matches_scipy_composition() -> None:
    p, q = _rand(100, 1), _rand(100, 2)
    ref = (_sp(p) * _sp(q)).as_quat()[:, [3, 0, 1, 2]]
    _same_rot(Q.multiply(p, q), ref)


def test_broadcast_and_single() -> None:
    p = _rand(5)
    assert Q.multiply(p[0], p).shape == (5, 4)
    assert Q.multiply(p[0], p[1]).shape == (4,)
    assert Q.rotate(p, [1.0, 0.0, 0.0]).shape == (5, 3)
    assert Q.multiply(p.reshape(5, 1, 4), p.reshape(1, 5, 4)).shape == (5, 5, 4)


def test_conjugate_inverse_normalize() -> None:
    q = _rand(50)
    np.testing.assert_allclose(Q.multiply(q, Q.conjugate(q)), Q.identity(50), atol=1e-15)
    np.testing.assert_allclose(Q.inverse(3 * q), Q.conjugate(q) / 3, rtol=1e-14)
    np.testing.assert_allclose(Q.normalize(3 * q), q, rtol=1e-14)
    with np.errstate(invalid="ignore", divide="ignore"):
        assert np.all(np.isnan(Q.normalize([0.0, 0, 0, 0])))


def test_rotate_matrix_rotvec_against_scipy() -> None:
    q = _rand(200, 3)
    v = np.random.default_rng(4).standard_normal((200, 3))
    np.testing.assert_allclose(Q.rotate(q, v), _sp(q).apply(v), atol=1e-13)
    np.testing.assert_allclose(Q.to_matrix(q), _sp(q).as_matrix(), atol=1e-14)
    _same_rot(Q.from_matrix(_sp(q).as_matrix()), q)
    np.testing.assert_allclose(Q.to_rotvec(q), _sp(q).as_rotvec(), atol=1e-13)
    _same_rot(Q.from_rotvec(_sp(q).as_rotvec()), q)
    small = np.array([[1e-9, -2e-9, 3e-10], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(Q.to_rotvec(Q.from_rotvec(small)), small, atol=1e-20, rtol=1e-9)


@pytest.mark.parametrize("seq", ["xyz", "zyx", "xzy", "ZYX", "XYZ", "YXZ", "zxz", "ZXZ", "xyx",
                                 "YZY"])
def test_euler_against_scipy(seq: str) -> None:
    q = _rand(200, 5)
    np.testing.assert_allclose(Q.to_euler(seq, q), _sp(q).as_euler(seq), atol=1e-12)
    _same_rot(Q.from_euler(seq, _sp(q).as_euler(seq)), q)
    np.testing.assert_allclose(Q.to_euler(seq, q, degrees=True), np.rad2deg(Q.to_euler(seq, q)))


@pytest.mark.parametrize("seq", ["xyz", "ZYX", "zxz", "XYX"])
def test_euler_gimbal_lock_round_trip(seq: str) -> None:
    if seq[0] == seq[2]:
        ang = np.array([[0.3, 0.0, 0.2], [0.3, np.pi, 0.2]])
    else:
        ang = np.array([[0.3, np.pi / 2, 0.2], [0.3, -np.pi / 2, 0.2]])
    q = Q.from_euler(seq, ang)
    e = Q.to_euler(seq, q)
    assert np.all((e[:, 0] == 0.0) | (e[:, 2] == 0.0))
    _same_rot(Q.from_euler(seq, e), q, 1e-12)


def test_euler_bad_sequence() -> None:
    with pytest.raises(ValueError, match="seq"):
        Q.to_euler("xxy", Q.identity())
    with pytest.raises(ValueError, match="seq"):
        Q.from_euler("xYz", [0.0, 0, 0])


def test_slerp_against_scipy() -> None:
    from scipy.spatial.transform import Slerp

    a, b = _rand(1, 6)[0], _rand(1, 7)[0]
    t = np.linspace(0, 1, 11)
    ref = Slerp([0, 1], _sp(np.stack([a, b])))(t).as_quat()[:, [3, 0, 1, 2]]
    _same_rot(Q.slerp(a, b, t), ref)
    np.testing.assert_allclose(Q.slerp(a, a, 0.3), a, atol=1e-15)


def test_relative_and_angle_between() -> None:
    p, q = _rand(100, 8), _rand(100, 9)
    _same_rot(Q.multiply(p, Q.relative(p, q)), q)
    ref = (_sp(p).inv() * _sp(q)).magnitude()
    np.testing.assert_allclose(Q.angle_between(p, q), ref, atol=1e-12)
    assert Q.angle_between(p[0], -p[0]) == pytest.approx(0.0, abs=1e-7)


def test_heading_inclination_split() -> None:
    q = _rand(300, 10)
    _h, inc, qh, qi = Q.heading_inclination(q)
    _same_rot(Q.multiply(qh, qi), q)
    assert np.allclose(qh[:, 1:3], 0.0) and np.allclose(qi[:, 3], 0.0, atol=1e-15)
    z = Q.rotate(q, [0.0, 0.0, 1.0])
    np.testing.assert_allclose(inc, np.arccos(np.clip(z[:, 2], -1, 1)), atol=1e-7)
    qz = Q.from_rotvec([0.0, 0.0, 0.7])
    assert Q.heading(qz) == pytest.approx(0.7)
    assert Q.inclination(qz) == pytest.approx(0.0)


def test_bad_shapes_and_types() -> None:
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\)"):
        Q.multiply(np.zeros((3, 3)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        Q.rotate(Q.identity(), [1.0, 2.0])
    with pytest.raises(ValueError):
        Q.multiply(np.zeros((3, 4)), np.zeros((2, 4)))
    with pytest.raises(TypeError):
        Q.normalize(np.array(["a", "b", "c", "d"]))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3, 3\)"):
        Q.from_matrix(np.eye(4))


def test_empty_and_int_input() -> None:
    assert Q.multiply(np.zeros((0, 4)), np.zeros((0, 4))).shape == (0, 4)
    np.testing.assert_array_equal(Q.normalize(np.array([2, 0, 0, 0])), [1.0, 0, 0, 0])


def test_property_rotation_preserves_norm_and_round_trips() -> None:
    hyp = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")
    fin = st.floats(-1e3, 1e3, allow_nan=False)

    @hyp.given(st.tuples(fin, fin, fin, fin).filter(lambda q: sum(x * x for x in q) > 1e-6),
               st.tuples(fin, fin, fin))
    @hyp.settings(max_examples=200, deadline=None)
    def check(q: tuple, v: tuple) -> None:
        qn = Q.normalize(np.array(q))
        r = Q.rotate(qn, np.array(v))
        assert np.linalg.norm(r) == pytest.approx(np.linalg.norm(v), rel=1e-12, abs=1e-9)
        _same_rot(Q.from_matrix(Q.to_matrix(qn)), qn, 1e-12)
        _same_rot(Q.from_rotvec(Q.to_rotvec(qn)), qn, 1e-12)
        back = Q.rotate(Q.conjugate(qn), r)
        np.testing.assert_allclose(back, v, atol=1e-9 * (1 + np.linalg.norm(v)))

    check()


def test_non_contiguous_and_float32_input() -> None:
    q = _rand(20, 11)
    big = np.zeros((20, 8))
    big[:, ::2] = q
    np.testing.assert_array_equal(Q.normalize(big[:, ::2]), Q.normalize(q))
    out = Q.multiply(q.astype(np.float32), q.astype(np.float32))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, Q.multiply(q, q), atol=1e-6)

"""Lumbar angles and calibration on synthetic two-segment trunk motion with known truth."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from kinemyo import kinematics as km

FS = 100.0


def qmul(a, b):
    return km._quat_mul(np.asarray(a, float), np.asarray(b, float))


def axis_angle(axis, deg):
    axis = np.asarray(axis, float)
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    half = np.radians(np.asarray(deg, float))[..., None] / 2
    return np.concatenate([np.cos(half), np.sin(half) * axis], axis=-1)


# segment axes (X anterior, Y superior, Z right) -> earth ENU (north, up, east) when facing north
BASE = km._matrix_to_quat(np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))


def rel_rotation(flex, lat, axial):
    """R_Z(-flex) R_X(lat) R_Y(axial), degrees -> quaternions."""
    n = len(flex)
    one = np.ones(n)
    z = axis_angle(np.tile([0, 0, 1.0], (n, 1)), -flex * one)
    x = axis_angle(np.tile([1.0, 0, 0], (n, 1)), lat * one)
    y = axis_angle(np.tile([0, 1.0, 0], (n, 1)), axial * one)
    return qmul(qmul(z, x), y)


def session(rng, misalign_deg=20.0, drift=True, axial_amp=20.0):
    """Neutral 0-3 s, functional flexion 3-9 s, then 60 s of mixed trunk movement."""
    t = np.arange(0, 72.0, 1 / FS)
    n = len(t)
    flex = np.zeros(n)
    lat = np.zeros(n)
    axial = np.zeros(n)
    m = (t >= 3) & (t < 9)
    flex[m] = 50 * np.sin(np.pi * (t[m] - 3) / 6) ** 2
    m = t >= 9
    tt = t[m] - 9
    flex[m] = 35 * np.sin(2 * np.pi * tt / 8) + 25 * np.sin(2 * np.pi * tt / 23) ** 2
    lat[m] = 30 * np.sin(2 * np.pi * tt / 11)
    axial[m] = axial_amp * np.sin(2 * np.pi * tt / 13)
    pelvis_tilt = 0.3 * np.clip(flex, 0, None)  # the pelvis tilts forward in deep flexion
    turn = np.where(t >= 9, 40 * np.sin(2 * np.pi * (t - 9) / 30), 0.0)  # subject turns around
    q_turn = axis_angle(np.tile([0, 0, 1.0], (n, 1)), turn)
    lower = qmul(qmul(q_turn, np.tile(BASE, (n, 1))), axis_angle(np.tile([0, 0, 1.0], (n, 1)), -pelvis_tilt))
    upper = qmul(lower, rel_rotation(flex, lat, axial))
    mounts = []
    sensors = []
    nominal = km.mounting_quaternion("x", "z")
    for seg in (upper, lower):
        mis = axis_angle(rng.normal(size=3), rng.uniform(0, misalign_deg))
        mount = qmul(mis, nominal)  # true segment -> sensor rotation
        mounts.append(mount)
        sensors.append(qmul(seg, km._quat_conj(mount)[None, :].repeat(n, 0)))
    if drift:  # 6D: each sensor's heading drifts on its own (offset + 1 deg/s)
        for i in range(2):
            d = rng.uniform(-180, 180) + rng.uniform(-1, 1) * t
            sensors[i] = qmul(axis_angle(np.tile([0, 0, 1.0], (n, 1)), d), sensors[i])
    truth = np.column_stack([flex, lat, axial])
    return sensors[0], sensors[1], truth, t


def rmse(a, b):
    return float(np.sqrt(np.nanmean((a - b) ** 2)))


@pytest.mark.parametrize("seed", range(5))
def test_6d_heading_drift_and_misalignment(seed: int) -> None:
    """Flexion up to 60 deg, lateral bending +-30 deg, pelvis tilt and whole-body turns, 20 deg
    mounting errors and independent heading drift of each sensor: exact without axial rotation."""
    rng = np.random.default_rng(seed)
    qu, ql, truth, t = session(rng, misalign_deg=20.0, drift=True, axial_amp=0.0)
    cal = km.calibrate(qu, ql, FS, neutral=(0.0, 3.0), flexion=(3.0, 9.0))
    assert cal.functional == (True, True)
    ang = km.lumbar_angles(qu, ql, cal)
    m = t >= 9
    assert np.isnan(ang[:, 2]).all()  # axial rotation is not observable in 6D
    assert rmse(ang[m, 0], truth[m, 0]) < 0.01
    assert rmse(ang[m, 1], truth[m, 1]) < 0.01
    np.testing.assert_allclose(ang[t < 3, :2], 0.0, atol=1e-6)  # neutral reads 0


def test_6d_with_true_axial_rotation_degrades_gracefully() -> None:
    """6D cannot see axial rotation: alignment assumes none, so true axial rotation during flexed
    postures leaks into lateral bending (documented in kinemyo.kinematics with these figures:
    +-10 deg of axial rotation on top of the movements above -> about 2.5 / 8 deg RMSE)."""
    rng = np.random.default_rng(11)
    qu, ql, truth, t = session(rng, misalign_deg=20.0, drift=True, axial_amp=10.0)
    ang = km.lumbar_angles(qu, ql, km.calibrate(qu, ql, FS, neutral=(0.0, 3.0), flexion=(3.0, 9.0)))
    m = t >= 9
    assert rmse(ang[m, 0], truth[m, 0]) < 3.0
    assert rmse(ang[m, 1], truth[m, 1]) < 9.0


@pytest.mark.parametrize("seed", range(3))
def test_9d_absolute_heading_gives_axial_rotation(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    qu, ql, truth, t = session(rng, misalign_deg=20.0, drift=False)
    cal = km.calibrate(qu, ql, FS, neutral=(0.0, 3.0), flexion=(3.0, 9.0), heading="absolute")
    ang = km.lumbar_angles(qu, ql, cal)
    m = t >= 9
    for k in range(3):
        assert rmse(ang[m, k], truth[m, k]) < 0.05, k


def test_pure_flexion_only_in_flexion_with_sensor_rotated_on_the_skin() -> None:
    # Upper sensor rotated 15 deg about the spine axis: gravity alone cannot see it, the
    # functional flexion trial removes it.
    rng = np.random.default_rng(7)
    n = 1200
    t = np.arange(n) / FS
    flex = np.where(t < 3, 0.0, 60 * np.sin(np.pi * np.clip(t - 3, 0, 6) / 6) ** 2)
    lower = np.tile(BASE, (n, 1))
    upper = qmul(lower, rel_rotation(flex, np.zeros(n), np.zeros(n)))
    nominal = km.mounting_quaternion("x", "z")
    mount_u = qmul(axis_angle([1.0, 0, 0], 15.0), nominal)  # about the sensor's x (up the spine)
    qu = qmul(upper, np.tile(km._quat_conj(mount_u), (n, 1)))
    ql = qmul(lower, np.tile(km._quat_conj(nominal), (n, 1)))
    no_func = km.lumbar_angles(qu, ql, km.calibrate(qu, ql, FS, neutral=(0, 3)))
    func = km.lumbar_angles(qu, ql, km.calibrate(qu, ql, FS, neutral=(0, 3), flexion=(3, 9)))
    assert np.abs(no_func[:, 1]).max() > 5.0  # cross-talk without the functional axis
    assert np.abs(func[:, 1]).max() < 0.5
    np.testing.assert_allclose(func[:, 0], flex, atol=0.5)
    assert rng is not None


def test_sign_conventions_nominal_mounting() -> None:
    n = 3
    lower = np.tile(BASE, (n, 1))
    nominal = km.mounting_quaternion("x", "z")
    conj = np.tile(km._quat_conj(nominal), (n, 1))
    for k, (f, l_, a) in enumerate([(30.0, 0, 0), (0, 20.0, 0), (0, 0, 25.0)]):
        upper = qmul(lower, rel_rotation(np.full(n, f), np.full(n, l_), np.full(n, a)))
        ang = km.lumbar_angles(qmul(upper, conj), qmul(lower, conj),
                               km.Calibration.nominal(heading="absolute"))
        np.testing.assert_allclose(ang[0], [f, l_, a], atol=1e-9, err_msg=str(k))
    # forward bending: the upper sensor's x axis (up the spine) tilts toward the front (north)
    upper = qmul(lower, rel_rotation(np.full(n, 30.0), np.zeros(n), np.zeros(n)))
    up_axis_earth = km._rotate(qmul(upper, conj)[0], np.array([1.0, 0, 0]))
    assert up_axis_earth[1] > 0.4  # north component


def test_mounting_quaternion_and_errors() -> None:
    q = km.mounting_quaternion("x", "z")
    m = km._quat_to_matrix(q)
    np.testing.assert_allclose(m[:, 0], [0, 0, -1], atol=1e-12)  # anterior = -z (into the body)
    np.testing.assert_allclose(m[:, 1], [1, 0, 0], atol=1e-12)   # superior = x
    np.testing.assert_allclose(m[:, 2], [0, -1, 0], atol=1e-12)  # right = -y
    with pytest.raises(ValueError, match="perpendicular"):
        km.mounting_quaternion("x", "-x")
    with pytest.raises(ValueError, match="axis"):
        km.mounting_quaternion("w", "z")


def test_bad_input() -> None:
    rng = np.random.default_rng(1)
    qu, ql, _, _ = session(rng)
    with pytest.raises(ValueError, match="same length"):
        km.calibrate(qu, ql[:-5], FS, neutral=(0, 3))
    with pytest.raises(ValueError, match="within the recording"):
        km.calibrate(qu, ql, FS, neutral=(70, 80))
    with pytest.raises(ValueError, match="at least"):
        km.calibrate(qu, ql, FS, neutral=(1.0, 1.1))
    with pytest.raises(ValueError, match="not static"):
        km.calibrate(qu, ql, FS, neutral=(3.0, 9.0))
    with pytest.raises(ValueError, match="fs"):
        km.calibrate(qu, ql, 0.0, neutral=(0, 3))
    with pytest.raises(ValueError, match="neutral"):
        km.calibrate(qu, ql, FS, neutral=5.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"shape \(n_samples, 4\)"):
        km.lumbar_angles(qu[:, :3], ql)
    with pytest.raises(ValueError, match="same number"):
        km.lumbar_angles(qu, ql[:10])
    with pytest.raises(TypeError):
        km.lumbar_angles(qu, ql, calibration="nope")  # type: ignore[arg-type]
    bad = qu.copy()
    bad[50:60] = np.nan
    bad[70] = 0.0
    ang = km.lumbar_angles(bad, ql)
    assert np.isnan(ang[50:60]).all() and np.isnan(ang[70]).all() and np.isfinite(ang[100:, :2]).all()


@pytest.mark.parametrize(("fs", "kind"), [("100", "str"), (None, "NoneType"), (np.array([FS]), "ndarray"),
                                        (b"100", "bytes")])
def test_calibrate_fs_not_a_number_is_a_clear_type_error(fs, kind) -> None:
    """A rate that is not one number gets the wording of kinemyo.metrics, not a NumPy ufunc or
    format error from inside calibrate."""
    qu, ql, _, _ = session(np.random.default_rng(0))
    with pytest.raises(TypeError, match=rf"^fs must be a number \(Hz\); got {kind}$"):
        km.calibrate(qu, ql, fs, neutral=(0, 3))


@pytest.mark.parametrize("fs", [0.0, -100.0, float("nan"), float("inf")])
def test_calibrate_fs_out_of_range_is_a_value_error(fs) -> None:
    qu, ql, _, _ = session(np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"^fs must be a finite sampling rate > 0 Hz; got "):
        km.calibrate(qu, ql, fs, neutral=(0, 3))


def test_calibrate_fs_numpy_scalars_and_integers_are_accepted() -> None:
    qu, ql, _, _ = session(np.random.default_rng(0))
    ref = km.calibrate(qu, ql, FS, neutral=(0, 3))
    for fs in (100, np.float32(100.0), np.int64(100), np.array(100.0)):
        assert km.calibrate(qu, ql, fs, neutral=(0, 3)) == ref


def test_calibration_save_load_and_streaming(tmp_path) -> None:
    rng = np.random.default_rng(3)
    qu, ql, _, _ = session(rng)
    cal = km.calibrate(qu, ql, FS, neutral=(0, 3), flexion=(3, 9))
    path = tmp_path / "cal.json"
    cal.save(path)
    cal2 = km.Calibration.load(path)
    assert cal2 == cal
    whole = km.lumbar_angles(qu, ql, cal2)
    stream = km.LumbarAngles(cal2)
    parts = [stream(qu[a:b], ql[a:b]) for a, b in [(0, 0), (0, 1), (1, 500), (500, len(qu))]]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    twin = pickle.loads(pickle.dumps(stream))
    np.testing.assert_array_equal(twin(qu, ql), whole)
    assert copy.deepcopy(stream).calibration == cal
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"bad\.json"):
        km.Calibration.load(tmp_path / "bad.json")


def test_bad_input_missing_calibration_period_no_movement_and_nan() -> None:
    """The issue's bad-input cases for the kinematics: a missing or broken neutral period, a
    functional flexion window without movement, sensors of different lengths."""
    rng = np.random.default_rng(4)
    qu, ql, _, _ = session(rng)
    with pytest.raises(ValueError, match="neutral"):
        km.calibrate(qu, ql, FS, neutral=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        km.calibrate(qu, ql, FS)  # type: ignore[call-arg]
    bad = qu.copy()
    bad[100:110] = np.nan  # a drop-out inside the neutral stand
    with pytest.raises(ValueError, match="non-finite"):
        km.calibrate(bad, ql, FS, neutral=(0.0, 3.0))
    # a drop-out outside the neutral period only blanks those samples
    bad = qu.copy()
    bad[2000:2050] = np.nan
    cal = km.calibrate(bad, ql, FS, neutral=(0.0, 3.0), flexion=(3.0, 9.0))
    ang = km.lumbar_angles(bad, ql, cal)
    assert np.isnan(ang[2000:2050, :2]).all() and np.isfinite(ang[2050:, :2]).all()
    # "flexion" window in which nobody moves: nominal axes kept and reported, angles still ~0
    still_u, still_l = qu[:300], ql[:300]  # the 3-s neutral stand only
    cal = km.calibrate(still_u, still_l, FS, neutral=(0.0, 1.5), flexion=(1.5, 3.0))
    assert cal.functional == (False, False)
    np.testing.assert_allclose(km.lumbar_angles(still_u, still_l, cal)[:, :2], 0.0, atol=1e-6)
    # sensors of different lengths (e.g. different rates): an error naming both lengths
    with pytest.raises(ValueError, match=r"same length; got 7200 and 3600"):
        km.calibrate(qu, ql[::2], FS, neutral=(0.0, 3.0))
    with pytest.raises(ValueError, match="same number"):
        km.LumbarAngles(cal)(qu, ql[::2])


def test_align_heading_past_90_degrees_of_upper_segment_tilt() -> None:
    """6D (heading="align") with the upper segment tilted past vertical-horizontal: a toe-touch
    bend (lumbar flexion + pelvic tilt > 90 deg). Review: the root of the heading equation was
    chosen by the projected anterior axes, which point backwards there (50 deg read -132..-170)."""
    from scipy.spatial.transform import Rotation as R

    def toq(r):
        a = r.as_quat()
        return np.r_[a[3], a[:3]]

    seg0 = R.from_matrix(np.column_stack([[0, 1, 0], [0, 0, 1], [1, 0, 0]]))  # segment -> earth, neutral
    mq = km.mounting_quaternion("x", "z")
    mount = R.from_quat(np.r_[mq[1:], mq[0]])
    cal = km.Calibration.nominal(heading="align")
    worst = 0.0
    for flex in (0, 30, 50, 80, 110):
        for lat in (-20, 0, 15):
            for pelvis in (0, 20, 45, 70):
                if abs(flex + pelvis - 90) < 8:
                    continue  # the upper segment's anterior axis near vertical: heading undefined
                for head in (-120, 0, 33, 170):
                    rl = (R.from_euler("z", head, degrees=True) * seg0
                          * R.from_euler("ZXY", [-pelvis, 0, 0], degrees=True))
                    # the upper sensor's heading drifted by -40 deg (6D: no magnetometer)
                    ru = R.from_euler("z", -40, degrees=True) * rl * R.from_euler("ZXY", [-flex, lat, 0], degrees=True)
                    a = km.lumbar_angles(toq(ru * mount.inv())[None], toq(rl * mount.inv())[None], cal)[0]
                    worst = max(worst, abs(a[0] - flex), abs(a[1] - lat))
    assert worst < 1e-6, worst


def test_align_end_to_end_deep_bends_with_a_moving_pelvis() -> None:
    """Simulator -> 6D orientation -> calibration -> angles with lumbo-pelvic rhythm 1:1 (upper
    segment tilting ~110 deg): flexion within a few degrees (it was 75 deg RMS, -166 at the
    deepest bend)."""
    from kinemyo import fusion as kf
    from kinemyo.sim import imu as si

    script = [("stand", 5.0), ("flexion", 40.0, 6.0), ("stand", 3.0), ("flexion", 55.0, 8.0, 2), ("stand", 5.0)]
    tm = si.trunk_motion(script, fs=FS, pelvis_ratio=1.0, seed=0)
    qu_s, ql_s, _, _ = tm.sensors(misalign_deg=10, seed=1)
    qs = [kf.estimate(r.gyr, r.acc, fs=FS) for r in (si.simulate_imu(q, FS, seed=10 + k)
                                                        for k, q in enumerate((qu_s, ql_s)))]
    cal = km.calibrate(qs[0], qs[1], FS, neutral=(0.5, 4.5), flexion=(5, 11))
    a = km.lumbar_angles(qs[0], qs[1], cal)
    err = a[:, 0] - tm.angles[:, 0]
    assert np.sqrt(np.mean(err ** 2)) < 1.5 and np.abs(err).max() < 3.0, (np.sqrt(np.mean(err ** 2)), np.abs(err).max())
    # the streaming twin carries the held heading correction: any chunking and a pickle
    # mid-stream give the same angles as one call
    la = km.LumbarAngles(cal)
    cuts = [0, 1, 700, 1683, 1684, 2000, 2716, 2718, len(a)]
    parts = []
    for i0, i1 in zip(cuts[:-1], cuts[1:], strict=True):
        parts.append(la(qs[0][i0:i1], qs[1][i0:i1]))
        if i1 == 1684:
            la = pickle.loads(pickle.dumps(la))
    np.testing.assert_array_equal(np.concatenate(parts), a)
    la.reset()
    np.testing.assert_array_equal(la(qs[0], qs[1]), a)


def test_sensor_without_functional_axis_takes_the_others_in_absolute_mode() -> None:
    """The pelvis sensor turns < 10 deg in the calibration bend: with a common heading (9D) it takes
    the upper sensor's medio-lateral axis, so its 15 deg mounting rotation about the spine axis is
    corrected (review: 3.6 deg of the bend leaked into lateral bending); in 6D it keeps its nominal
    axis (documented)."""
    from scipy.spatial.transform import Rotation as R

    def toq(r):
        a = r.as_quat()
        return np.column_stack([a[..., 3], a[..., :3]])

    fs = 50.0
    t = np.arange(0, 20, 1 / fs)
    f = np.where((t > 4) & (t < 10), 50 * np.sin(np.pi * (t - 4) / 6) ** 2, 0.0)
    f += np.where(t >= 10, 30 * np.sin(2 * np.pi * (t - 10) / 5) ** 2, 0)
    b = np.where(t >= 10, 15 * np.sin(2 * np.pi * (t - 10) / 7), 0)
    pel = 0.15 * f  # the pelvis tilts 7.5 deg at most
    seg0 = R.from_matrix(np.column_stack([[0, 1, 0], [0, 0, 1], [1, 0, 0]]))
    rl = seg0 * R.from_euler("ZXY", np.column_stack([-pel, 0 * t, 0 * t]), degrees=True)
    ru = rl * R.from_euler("ZXY", np.column_stack([-f, b, 0 * t]), degrees=True)
    mq = km.mounting_quaternion("x", "z")
    m = R.from_quat(np.r_[mq[1:], mq[0]])
    ml = m * R.from_euler("xyz", (0, 15, 0), degrees=True)  # rotated about the spine axis
    qu, ql = toq(ru * m.inv()), toq(rl * ml.inv())
    cal = km.calibrate(qu, ql, fs, neutral=(0.5, 3.5), flexion=(4, 10), heading="absolute")
    assert cal.functional == (True, False)
    err = np.abs(km.lumbar_angles(qu, ql, cal)[:, :2] - np.column_stack([f, b])).max(axis=0)
    assert (err < 0.05).all(), err
    cal6 = km.calibrate(qu, ql, fs, neutral=(0.5, 3.5), flexion=(4, 10), heading="align")
    err6 = np.abs(km.lumbar_angles(qu, ql, cal6)[:, :2] - np.column_stack([f, b])).max(axis=0)
    assert 2.0 < err6[1] < 6.0  # the documented 6D limitation

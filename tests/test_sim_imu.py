"""The IMU simulator: reproducibility, physical consistency of the readings, scenario flags."""

from __future__ import annotations

import numpy as np
import pytest
from kinemyo import quaternion as Q
from kinemyo import sim_imu


@pytest.mark.parametrize("scenario", sim_imu.SCENARIOS)
def test_reproducible_and_shapes(scenario: str) -> None:
    a = sim_imu.simulate(scenario, duration=20.0, fs=50.0, seed=3)
    b = sim_imu.simulate(scenario, duration=20.0, fs=50.0, seed=3)
    c = sim_imu.simulate(scenario, duration=20.0, fs=50.0, seed=4)
    for name in ("quat", "gyr", "acc", "mag", "gyr_bias"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert getattr(a, name).shape[0] == 1000
    assert not np.array_equal(a.gyr, c.gyr)
    np.testing.assert_allclose(np.linalg.norm(a.quat, axis=1), 1.0, atol=1e-12)


def test_noise_free_readings_are_consistent() -> None:
    d = sim_imu.simulate("fast", duration=10.0, fs=200.0, seed=1, gyr_noise=0.0, acc_noise=0.0,
                         mag_noise=0.0, gyr_bias=0.0)
    # exact strapdown integration of the gyro reproduces the truth
    q = d.quat[0]
    for k in range(1, 400):
        q = Q.multiply(q, Q.from_rotvec(d.gyr[k] / d.fs))
    assert Q.angle_between(q, d.quat[399]) < 1e-9
    # acc is gravity in the sensor frame, mag the earth field
    np.testing.assert_allclose(Q.rotate(d.quat, d.acc), np.tile([0, 0, 9.81], (2000, 1)), atol=1e-9)
    m = Q.rotate(d.quat, d.mag)
    np.testing.assert_allclose(np.linalg.norm(m, axis=1), 50.0, rtol=1e-12)
    np.testing.assert_allclose(m[:, 0], 0.0, atol=1e-9)


def test_rest_disturbance_translation_flags() -> None:
    d = sim_imu.simulate("rest", duration=40.0, fs=100.0, seed=0, gyr_noise=0.0)
    assert d.rest.any() and d.movement.any()
    assert np.abs(d.gyr_true[d.rest]).max() < 1e-9
    d = sim_imu.simulate("mag_disturbance", duration=40.0, fs=100.0, seed=0, mag_noise=0.0)
    m = np.linalg.norm(Q.rotate(d.quat, d.mag), axis=1)
    assert d.mag_disturbed.any()
    assert np.abs(m[~d.mag_disturbed] / 50.0 - 1).max() < 0.5
    d = sim_imu.simulate("translation", duration=20.0, fs=100.0, seed=0)
    assert np.abs(d.acc_lin).max() > 2.0
    t = sim_imu.simulate("trunk", duration=60.0, fs=50.0, seed=0)
    assert t.rest[10:200].all() and t.movement.sum() > 1000


def test_bias_and_drift() -> None:
    d = sim_imu.simulate("slow", duration=30.0, fs=100.0, seed=2, gyr_bias=[0.01, -0.02, 0.0],
                         gyr_bias_drift=1e-4)
    assert np.allclose(d.gyr_bias[0], [0.01, -0.02, 0.0], atol=1e-4)
    assert np.ptp(d.gyr_bias[:, 2]) > 0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="scenario"):
        sim_imu.simulate("jump")
    with pytest.raises(ValueError, match="fs"):
        sim_imu.simulate("slow", fs=0.0)
    with pytest.raises(ValueError, match="duration"):
        sim_imu.simulate("slow", duration=-1.0)
    with pytest.raises(ValueError, match="acc_lin"):
        sim_imu.imu_from_orientation(Q.identity(5), 100.0, np.zeros((4, 3)))

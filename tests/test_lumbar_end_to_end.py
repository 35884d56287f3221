"""Issue targets for the lumbar angles, end to end: simulated two-sensor trunk motion (flexion up to
60 deg, lateral bending +-30 deg, Cat-Cow, a hold, axial rotation), random mounting misalignments up
to 20 deg, simulated IMU readings with noise and gyroscope bias, kinemyo's orientation filter,
calibration on a neutral stand and a functional flexion, lumbar angles."""

from __future__ import annotations

import numpy as np
import pytest

from kinemyo import fusion as kfu
from kinemyo import kinematics as km
from kinemyo.sim import simulate_imu, trunk_motion

FS = 100.0
SCRIPT = [("stand", 10.0), ("flexion", 50.0, 6.0), ("stand", 3.0), ("flexion", 60.0, 6.0, 2), ("stand", 3.0),
          ("catcow", 20.0, 5.0, 4), ("stand", 3.0), ("lateral", 30.0, 6.0, 3), ("stand", 3.0),
          ("hold", 40.0, 35.0), ("stand", 3.0), ("rotation", 20.0, 6.0, 2), ("stand", 5.0)]


def run(seed: int, mag: bool, offline: bool):
    m = trunk_motion(SCRIPT, FS, seed=seed)
    qu_s, ql_s, _, _ = m.sensors(misalign_deg=20.0, seed=seed)
    ru = simulate_imu(qu_s, FS, seed=10 + seed, gyr_bias_dps=(0.5, -0.4, 0.3))
    rl = simulate_imu(ql_s, FS, seed=20 + seed, gyr_bias_dps=(-0.3, 0.6, -0.2))
    qu = kfu.estimate(ru.gyr, ru.acc, ru.mag if mag else None, fs=FS, offline=offline)
    ql = kfu.estimate(rl.gyr, rl.acc, rl.mag if mag else None, fs=FS, offline=offline)
    cal = km.calibrate(qu, ql, FS, neutral=(4.0, 9.0), flexion=(10.0, 16.0),
                       heading="absolute" if mag else "align")
    ang = km.lumbar_angles(qu, ql, cal)
    sel = np.arange(len(ang)) / FS > 16.0
    return [float(np.sqrt(np.mean((ang[sel, k] - m.angles[sel, k]) ** 2))) for k in range(3)]


@pytest.mark.parametrize("seed", [0, 1])
def test_6d_realtime_flexion_and_lateral_within_1_5_deg(seed: int) -> None:
    flex, lat, _ = run(seed, mag=False, offline=False)
    assert flex <= 1.5 and lat <= 1.5, (flex, lat)


@pytest.mark.parametrize("seed", [0, 1])
def test_9d_recorded_within_1_deg_and_axial_within_2_deg(seed: int) -> None:
    flex, lat, axial = run(seed, mag=True, offline=True)
    assert flex <= 1.0 and lat <= 1.0 and axial <= 2.0, (flex, lat, axial)

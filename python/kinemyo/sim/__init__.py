"""Simulators with known ground truth, for tests, benchmarks and the demo session.

``kinemyo.sim.emg``: surface EMG with bursts of known onset and offset (:func:`simulate_emg`).
``kinemyo.sim.imu``: IMU readings (gyroscope, accelerometer, magnetometer) from orientation
trajectories, with noise, gyroscope bias, rest phases and magnetic disturbances; scripted trunk
movements of two segments for the lumbar measures.
``kinemyo.sim.session``: the demo session (both, scripted together).
"""

from .emg import SimulatedEMG, emg_spectrum, simulate_emg
from .imu import (
    FUSION_SCENARIOS,
    ImuRecording,
    TrunkMotion,
    fusion_scenario,
    orientation_errors,
    random_rotation,
    simulate_imu,
    trunk_motion,
)
from .session import DEMO_CONFIG, DEMO_FILE, DEMO_SEED, DemoSession, load_demo_session, make_demo_session

__all__ = [
    "DEMO_CONFIG",
    "DEMO_FILE",
    "DEMO_SEED",
    "FUSION_SCENARIOS",
    "DemoSession",
    "ImuRecording",
    "SimulatedEMG",
    "TrunkMotion",
    "emg_spectrum",
    "fusion_scenario",
    "load_demo_session",
    "make_demo_session",
    "orientation_errors",
    "random_rotation",
    "simulate_emg",
    "simulate_imu",
    "trunk_motion",
]

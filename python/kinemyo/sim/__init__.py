"""Simulators with known ground truth, for tests, benchmarks and the demo session.

``kinemyo.sim.imu``: IMU readings (gyroscope, accelerometer, magnetometer) from orientation
trajectories, with noise, gyroscope bias, rest phases and magnetic disturbances; scripted trunk
movements of two segments for the lumbar measures.
"""

from .imu import (
    FUSION_SCENARIOS,
    fusion_scenario,
    orientation_errors,
    ImuRecording,
    TrunkMotion,
    random_rotation,
    simulate_imu,
    trunk_motion,
)

__all__ = ["FUSION_SCENARIOS", "ImuRecording", "fusion_scenario", "orientation_errors", "TrunkMotion", "random_rotation", "simulate_imu", "trunk_motion"]

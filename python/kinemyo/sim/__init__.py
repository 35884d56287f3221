"""Simulators with known truth.

``kinemyo.sim.emg``: surface EMG with bursts of known onset/offset (:func:`simulate_emg`).
"""

from __future__ import annotations

from .emg import SimulatedEMG, emg_spectrum, simulate_emg

__all__ = ["SimulatedEMG", "emg_spectrum", "simulate_emg"]

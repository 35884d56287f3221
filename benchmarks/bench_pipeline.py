"""The whole pipeline on one hour of demo-like data (2 IMUs at 100 Hz + 4 EMG channels at 2 kHz),
and the measures alone; checks the results."""

from __future__ import annotations

import numpy as np
import pytest

from kinemyo import metrics
from kinemyo.pipeline import parse_config, run
from kinemyo.sim import DEMO_CONFIG, make_demo_session
from kinemyo.sim.session import DemoSession, SimStream


@pytest.fixture(scope="module")
def hour() -> DemoSession:
    s = make_demo_session()
    reps = int(np.ceil(3600 / (s["emg"].data.shape[0] / s["emg"].fs)))
    streams = {k: SimStream(np.tile(v.data, (reps, 1)), v.fs, v.channel_names, v.units) for k, v in s.streams.items()}
    return DemoSession(streams, {})


@pytest.mark.benchmark(group="pipeline, 1 h of 2 IMUs + 4 EMG channels")
def test_pipeline_one_hour(benchmark, hour: DemoSession) -> None:
    cfg = parse_config(DEMO_CONFIG, "demo")
    r = benchmark.pedantic(run, args=(hour, cfg), rounds=3, iterations=1)
    tiles = hour["emg"].data.shape[0] // make_demo_session()["emg"].data.shape[0]  # one hold, 12 reps each
    assert r.metrics["n_holds"] >= tiles and r.metrics["n_repetitions"] >= 12 * tiles - 1


@pytest.mark.benchmark(group="measures, 1 h of lumbar angle at 100 Hz")
def test_measures_one_hour(benchmark) -> None:
    t = np.arange(0, 3600, 0.01)
    a = 30 * np.sin(2 * np.pi * t / 8) ** 2 + 0.3 * np.sin(2 * np.pi * 0.7 * t)

    def measures() -> tuple[int, int]:
        return metrics.holds(a, 100.0).count, metrics.repetitions(a, 100.0).count

    _, reps = benchmark(measures)
    assert reps >= 440

"""Real-time run over Lab Streaming Layer on this machine: a separate process replays 16 EMG
channels @ 2 kHz + 2 IMUs @ 100 Hz at real time; this process runs ``LSLRunner`` and reports the
added processing latency per chunk (pull -> process -> push) and its CPU load.

    LSLAPICFG=tests/lsl_api.cfg python benchmarks/stream_latency.py --seconds 60
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

os.environ.setdefault("LSLAPICFG", str(Path(__file__).resolve().parent.parent / "tests" / "lsl_api.cfg"))

REPLAYER = textwrap.dedent("""
    import sys, numpy as np
    from kinemyo.sim import make_demo_session
    from kinemyo.stream import replay
    prefix, seconds = sys.argv[1], float(sys.argv[2])
    s = make_demo_session()
    class S:
        def __init__(self, d, fs): self.data, self.fs, self.channel_names = d, fs, []
    reps = int(np.ceil(seconds / 196.0))
    streams = {"emg": S(np.tile(s["emg"].data, (reps, 4)), 2000.0),
               "imu_upper": S(np.tile(s["imu_upper"].data, (reps, 1)), 100.0),
               "imu_lower": S(np.tile(s["imu_lower"].data, (reps, 1)), 100.0)}
    r = replay(streams, prefix=prefix, start_delay_s=2.0)
    r.join(seconds + 5)
    r.stop()
""")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    from kinemyo.sim import DEMO_CONFIG
    from kinemyo.stream import LSLRunner

    prefix = f"bench{uuid.uuid4().hex[:6]}-"
    proc = subprocess.Popen([sys.executable, "-c", REPLAYER, prefix, str(args.seconds)])
    try:
        cfg = {k: dict(v) for k, v in DEMO_CONFIG.items()}
        cfg["streams"] = {"emg": prefix + "emg", "imu_upper": prefix + "imu_upper", "imu_lower": prefix + "imu_lower"}
        runner = LSLRunner(cfg, prefix=prefix + "out", resolve_timeout=30.0)
        time.sleep(0.5)
        st = runner.run(duration=args.seconds)
    finally:
        proc.terminate()
        proc.wait(10)
    print(f"LSL real time, 16 EMG @ 2 kHz + 2 IMUs @ 100 Hz, {st['wall_s']:.0f} s, {st['chunks']} chunks pulled: "
          f"added latency per chunk median {st['latency_ms_median']:.3f} ms, 95 % {st['latency_ms_p95']:.3f} ms, "
          f"max {st['latency_ms_max']:.2f} ms; CPU of the processing process {st['cpu_percent']:.1f} % of one core; "
          f"{st['events']} events, {st['gaps']} gaps")
    return 0


if __name__ == "__main__":
    sys.exit(main())

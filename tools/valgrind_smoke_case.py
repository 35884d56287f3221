"""The workload of tools/valgrind_smoke.py: every binding entry point once, small sizes."""

import numpy as np

from kinemyo import filters as kf
from kinemyo import kinematics as km

x = np.random.default_rng(0).standard_normal((500, 3))
sos = kf.butter(4, (20.0, 450.0), 2000.0, "bandpass")
procs = [kf.SosFilter(sos, 3, init="steady"), kf.MovingRMS(2000.0, 3, 0.05), kf.TKEO(3),
         kf.Envelope(2000.0, 3, highpass=30.0)]
for p in procs:
    p(x)
    p.state = p.state
    p.reset()
kf.Chain([kf.TKEO(3), kf.MovingAverage(2000.0, 3, 0.01)])(x)
kf.sosfiltfilt(sos, x)
kf.sosfilt(sos, x.astype(np.float32))
q = np.tile([1.0, 0, 0, 0], (50, 1))
km.lumbar_angles(q, q)
x[10] = np.nan
kf.SosFilter(sos, 3)(x)
try:
    kf.butter(20, 1.0, 10.0)
except ValueError:
    pass
print("smoke ok")

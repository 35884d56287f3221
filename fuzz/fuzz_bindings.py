"""Fuzz the binding layer with atheris: random shapes, dtypes, strides, values and parameters.

Every call must either succeed or raise one of the documented exceptions (ValueError, TypeError,
RuntimeError for concurrent use); a crash, a hang or another exception is a finding.

    python fuzz/fuzz_bindings.py -max_total_time=60 fuzz/corpus/bindings     # CI: one minute
    python fuzz/fuzz_bindings.py fuzz/corpus/bindings                         # locally, unbounded

The corpus folder is committed so that each run starts from the cases found before.
"""

from __future__ import annotations

import sys
import warnings

import atheris

with atheris.instrument_imports():
    import numpy as np

    from kinemyo import filters as kf
    from kinemyo import fusion as kfu
    from kinemyo import kinematics as km
    from kinemyo import onset

DOCUMENTED = (ValueError, TypeError)
DTYPES = [np.float64, np.float32, np.int16, np.int64, np.uint8, np.bool_, np.complex64, object, "U3"]
SPECIAL = [0.0, -0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, 1e308, -1e308, 5e-324, 1e-300, 3.4e38, 1e20]


def make_array(fdp: atheris.FuzzedDataProvider) -> np.ndarray:
    ndim = fdp.ConsumeIntInRange(0, 3)
    shape = tuple(fdp.ConsumeIntInRange(0, 40) for _ in range(ndim))
    size = int(np.prod(shape)) if shape else 1
    kind = fdp.ConsumeIntInRange(0, 2)
    if kind == 0:
        vals = np.array(fdp.ConsumeFloatListInRange(size, -1e6, 1e6) + [0.0] * size)[:size]
    elif kind == 1:
        vals = np.array([SPECIAL[fdp.ConsumeIntInRange(0, len(SPECIAL) - 1)] for _ in range(size)])
    else:
        vals = np.array(fdp.ConsumeFloatList(size) + [0.0] * size)[:size]
    dt = DTYPES[fdp.ConsumeIntInRange(0, len(DTYPES) - 1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            a = vals.reshape(shape).astype(dt)
        except (ValueError, OverflowError):
            a = vals.reshape(shape)
    if ndim >= 1 and fdp.ConsumeBool():
        step = fdp.ConsumeIntInRange(1, 3)
        a = a[::step]
    if ndim == 2 and fdp.ConsumeBool():
        a = a.T
    return a


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    which = fdp.ConsumeIntInRange(0, 13)
    try:
        if which == 0:
            btype = ["lowpass", "highpass", "bandpass", "bandstop", "x"][fdp.ConsumeIntInRange(0, 4)]
            cut = [fdp.ConsumeFloat() for _ in range(fdp.ConsumeIntInRange(0, 3))]
            kf.butter(fdp.ConsumeIntInRange(-2, 12), cut, fdp.ConsumeFloat(), btype)
        elif which == 1:
            kf.notch(fdp.ConsumeFloat(), fdp.ConsumeFloat(), fdp.ConsumeFloat(), fdp.ConsumeIntInRange(-1, 50))
        elif which in (2, 3):
            sos = make_array(fdp) if fdp.ConsumeBool() else kf.butter(2, 0.1, 1.0)
            fn = kf.sosfilt if which == 2 else kf.sosfiltfilt
            fn(sos, make_array(fdp))
        elif which == 4:
            c = fdp.ConsumeIntInRange(1, 5)
            dt = np.float32 if fdp.ConsumeBool() else np.float64
            proc = [kf.SosFilter(kf.butter(3, 0.2, 1.0), c, dtype=dt, init="steady"),
                    kf.MovingRMS(100.0, c, 0.05, dtype=dt), kf.MovingAverage(100.0, c, 0.2, dtype=dt),
                    kf.TKEO(c, dtype=dt), kf.Envelope(100.0, c, cutoff=5.0, highpass=10.0, dtype=dt)]
            p = proc[fdp.ConsumeIntInRange(0, len(proc) - 1)]
            for _ in range(fdp.ConsumeIntInRange(1, 4)):
                p(make_array(fdp))
        elif which == 5:
            kf.MovingRMS(fdp.ConsumeFloat(), fdp.ConsumeIntInRange(-1, 3), fdp.ConsumeFloat())
        elif which == 6:
            kf.Envelope(fdp.ConsumeFloat(), fdp.ConsumeIntInRange(0, 3), fdp.ConsumeFloat(),
                        highpass=fdp.ConsumeFloat() if fdp.ConsumeBool() else None,
                        order=fdp.ConsumeIntInRange(-1, 12))
        elif which == 7:
            km.lumbar_angles(make_array(fdp), make_array(fdp))
        elif which == 8:
            n = fdp.ConsumeIntInRange(0, 300)
            q = np.array(fdp.ConsumeFloatListInRange(4 * n, -2, 2) + [1.0] * 4 * n)[: 4 * n].reshape(n, 4)
            km.calibrate(q, q, fdp.ConsumeFloat(), neutral=(fdp.ConsumeFloat(), fdp.ConsumeFloat()))
        elif which == 10:  # orientation filters: random arrays, parameters and states
            kind = fdp.ConsumeIntInRange(0, 3)
            fs = fdp.ConsumeFloat() if fdp.ConsumeBool() else 100.0
            f = [lambda: kfu.Madgwick(fs, beta=fdp.ConsumeFloat()), lambda: kfu.Mahony(fs, fdp.ConsumeFloat()),
                 lambda: kfu.Complementary(fs, fdp.ConsumeFloat()),
                 lambda: kfu.RobustAHRS(fs, tau_acc=fdp.ConsumeFloat())][kind]()
            for _ in range(fdp.ConsumeIntInRange(1, 3)):
                f.update(make_array(fdp), make_array(fdp), make_array(fdp) if fdp.ConsumeBool() else None,
                         return_all=fdp.ConsumeBool())
            if fdp.ConsumeBool():
                f.state = {k: make_array(fdp) for k in f.state}
                f.update(make_array(fdp), make_array(fdp))
        elif which == 11:
            kfu.estimate(make_array(fdp), make_array(fdp), make_array(fdp) if fdp.ConsumeBool() else None,
                         fs=fdp.ConsumeFloat() if fdp.ConsumeBool() else 100.0, offline=fdp.ConsumeBool())
        elif which == 12:  # offline onset detection
            method = ["default", "cusum", "hodges_bui", "bonato", "tkeo", "x"][fdp.ConsumeIntInRange(0, 5)]
            rest = (fdp.ConsumeFloat(), fdp.ConsumeFloat()) if fdp.ConsumeBool() else None
            fs = fdp.ConsumeFloat() if fdp.ConsumeBool() else 2000.0
            x = make_array(fdp)
            ecg12 = ["none", "highpass"][fdp.ConsumeIntInRange(0, 1)]
            mains = [None, "auto", 50.0, 60.0, "?"][fdp.ConsumeIntInRange(0, 4)]
            if mains == "?":
                mains = fdp.ConsumeFloat()
            if fdp.ConsumeBool():  # the hum check on its own, random segment length
                onset.estimate_mains(x, fs, rest, segment_s=fdp.ConsumeFloat() if fdp.ConsumeBool() else 4.0)
            onset.detect(x, fs, method=method, rest=rest, ecg=ecg12, mains=mains)
        elif which == 13:  # streaming onset detection
            c = fdp.ConsumeIntInRange(1, 3)
            ecg = ["none", "highpass", "template"][fdp.ConsumeIntInRange(0, 2)]
            mains13 = [None, "auto", 50.0][fdp.ConsumeIntInRange(0, 2)]
            d = onset.OnlineDetector(2000.0, c, ["cusum", "hodges_bui", "bonato", "tkeo"][fdp.ConsumeIntInRange(0, 3)],
                                     rest=(0.0, 0.1), dtype=np.float32 if fdp.ConsumeBool() else np.float64,
                                     ecg=ecg, mains=mains13)
            if fdp.ConsumeBool():
                d.set_baseline(*(fdp.ConsumeFloatList(c) for _ in range(3)))
            for _ in range(fdp.ConsumeIntInRange(1, 4)):
                d.process(make_array(fdp))
            if (ecg == "template" or mains13 == "auto") and fdp.ConsumeBool():  # a random state: refused or taken
                st = d.state
                k = sorted(st)[fdp.ConsumeIntInRange(0, len(st) - 1)]
                st[k] = make_array(fdp)
                d.state = st
                d.process(make_array(fdp))
            d.finish()
        else:
            state = {k: make_array(fdp) for k in ("z", "primed", "n_nonfinite")}
            f = kf.SosFilter(kf.butter(2, 0.1, 1.0), fdp.ConsumeIntInRange(1, 3))
            f.state = state
            f(make_array(fdp))
    except DOCUMENTED:
        pass


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

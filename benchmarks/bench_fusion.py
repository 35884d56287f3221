"""Benchmarks of kinemyo.fusion against vqf (PyPI) and ahrs (PyPI), and the accuracy table.

Speed:    pytest benchmarks/bench_fusion.py --benchmark-only   (each benchmark checks its result)
Accuracy: python benchmarks/bench_fusion.py                     (prints the docs/fusion.md table)
"""

from __future__ import annotations

import numpy as np
import pytest
from kinemyo import fusion, sim_imu
from kinemyo import quaternion as Q

FS = 100.0


def _data(seconds: float = 120.0):
    d = sim_imu.simulate("fast", duration=seconds, fs=FS, seed=1)
    return [np.ascontiguousarray(x) for x in (d.gyr, d.acc, d.mag)] + [d]


G, A, M, D = _data()


def _ok(q: np.ndarray, n: int) -> None:
    assert q.shape == (n, 4) and np.all(np.isfinite(q))


@pytest.mark.parametrize("dim", ["6D", "9D"])
def test_robust_batch(benchmark, dim: str) -> None:
    benchmark.group = f"fusion-batch-{dim}"
    m = M if dim == "9D" else None
    q = benchmark(lambda: fusion.RobustAHRS(FS).update(G, A, m))
    _ok(q, len(G))


@pytest.mark.parametrize("dim", ["6D", "9D"])
def test_vqf_batch(benchmark, dim: str) -> None:
    vqf = pytest.importorskip("vqf")
    benchmark.group = f"fusion-batch-{dim}"
    args = (G, A, M) if dim == "9D" else (G, A)
    out = benchmark(lambda: vqf.VQF(1 / FS).updateBatch(*args))
    _ok(out["quat9D" if dim == "9D" else "quat6D"], len(G))


@pytest.mark.parametrize("name", ["Madgwick", "Mahony"])
def test_classic_batch(benchmark, name: str) -> None:
    benchmark.group = f"fusion-{name}-9D"
    cls = getattr(fusion, name)
    q = benchmark(lambda: cls(FS).update(G, A, M))
    _ok(q, len(G))


@pytest.mark.parametrize("name", ["Madgwick", "Mahony"])
def test_ahrs_batch(benchmark, name: str) -> None:
    ahrs = pytest.importorskip("ahrs")
    benchmark.group = f"fusion-{name}-9D"
    n = 300  # ahrs is pure Python: keep it short; compare per sample
    cls = getattr(ahrs.filters, name)
    out = benchmark.pedantic(lambda: cls(gyr=G[:n], acc=A[:n], mag=M[:n], frequency=FS).Q,
                             rounds=3, iterations=1)
    _ok(out, n)


def test_robust_streaming_per_sample(benchmark) -> None:
    benchmark.group = "fusion-streaming-1-sample"
    f = fusion.RobustAHRS(FS)
    g, a, m = G[0].copy(), A[0].copy(), M[0].copy()
    q = benchmark(f.update, g, a, m)
    assert q.shape == (4,) and np.all(np.isfinite(q))


def test_vqf_streaming_per_sample(benchmark) -> None:
    vqf = pytest.importorskip("vqf")
    benchmark.group = "fusion-streaming-1-sample"
    v = vqf.VQF(1 / FS)
    g, a, m = G[0].copy(), A[0].copy(), M[0].copy()
    benchmark(v.update, g, a, m)
    assert np.all(np.isfinite(v.getQuat9D()))


# ---------------------------------------------------------------------------- accuracy table

def _rmse(qe: np.ndarray, qt: np.ndarray, mask: np.ndarray) -> np.ndarray:
    e = Q.multiply(qe, Q.conjugate(qt))
    h, i, _, _ = Q.heading_inclination(e)
    t = Q.angle_between(qe, qt)
    return np.array([np.rad2deg(np.sqrt(np.mean(x[mask] ** 2))) for x in (t, h, i)])


def _align6(qe: np.ndarray, qt: np.ndarray) -> np.ndarray:
    hq = Q.heading_inclination(Q.multiply(qe[0], Q.conjugate(qt[0])))[2]
    return Q.multiply(Q.conjugate(hq), qe)


def accuracy_table(seeds=(3, 4, 5), duration: float = 60.0) -> str:
    import vqf

    rows = []
    for sc in sim_imu.SCENARIOS:
        for use_mag in (False, True):
            acc = {k: [] for k in ("ours", "vqf", "ours_off", "vqf_off", "madg", "mahony")}
            for seed in seeds:
                d = sim_imu.simulate(sc, duration=duration, fs=FS, seed=seed)
                mv = d.movement.copy()
                mv[: int(5 * FS)] = False
                m = d.mag if use_mag else None
                key = "quat9D" if use_mag else "quat6D"
                args = [np.ascontiguousarray(d.gyr), np.ascontiguousarray(d.acc)]
                if use_mag:
                    args.append(np.ascontiguousarray(d.mag))
                est = {
                    "ours": fusion.estimate(d.gyr, d.acc, m, fs=FS),
                    "ours_off": fusion.estimate(d.gyr, d.acc, m, fs=FS, offline=True),
                    "vqf": vqf.VQF(1 / FS).updateBatch(*args)[key],
                    "vqf_off": vqf.offlineVQF(d.gyr, d.acc, m, 1 / FS)[key],
                    "madg": fusion.Madgwick(FS, beta=0.02).update(d.gyr, d.acc, m),
                    "mahony": fusion.Mahony(FS, kp=0.2, ki=0.01).update(d.gyr, d.acc, m),
                }
                for k, q in est.items():
                    acc[k].append(_rmse(q if use_mag else _align6(q, d.quat), d.quat, mv))
            mean = {k: np.mean(v, axis=0) for k, v in acc.items()}
            rows.append((sc, "9D" if use_mag else "6D", mean))
    fmt = lambda e: "/".join(f"{x:.2f}" for x in e)  # noqa: E731
    out = ["| scenario | dim | ours RT | vqf RT | ours offline | offlineVQF | Madgwick b=0.02 | "
           "Mahony kp=0.2 ki=0.01 |", "|---|---|---|---|---|---|---|---|"]
    for sc, dim, m in rows:
        out.append(f"| {sc} | {dim} | {fmt(m['ours'])} | {fmt(m['vqf'])} | {fmt(m['ours_off'])} | "
                   f"{fmt(m['vqf_off'])} | {fmt(m['madg'])} | {fmt(m['mahony'])} |")
    return "\n".join(out)


if __name__ == "__main__":
    print(accuracy_table())

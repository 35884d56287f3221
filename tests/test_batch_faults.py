"""Batch faults at scale: 200 real recordings through the real pipeline, 10 % of them corrupt or
truncated and one that kills its worker process; and ``kinemyo process`` killed with SIGKILL half
way through a batch, then restarted.

The promise (issue 9, docs/reliability.md): the batch completes, every good file is processed
exactly once, every bad one is in the manifest with its error; a killed and restarted run ends
with the same outputs as an uninterrupted one, nothing duplicated or half-written.

Heavier variants (1000 files, several kills) run with ``KINEMYO_LONG=1``.
"""

from __future__ import annotations

import faulthandler
import functools
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import types
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kinemyo import batch
from kinemyo.pipeline import load_config
from kinemyo.pipeline.files import process_file, write_npz

LONG = os.environ.get("KINEMYO_LONG") == "1"
CONFIG = '[output]\nreport = false\nformats = ["csv"]\n'
N_VARIANTS = 8
CRASH_NAME = "crash_in_reader.npz"


# ---------------------------------------------------------------------------------------------
# inputs


def _variants(folder: Path, n: int = N_VARIANTS) -> list[Path]:
    """A few distinct small, valid recordings (14 s of the demo session, seeds differ)."""
    from kinemyo.sim import make_demo_session

    out = []
    base = make_demo_session(1)
    for v in range(n):
        rng = np.random.default_rng(v)
        streams = {}
        for name, s in base.streams.items():
            n = int(14 * s.fs)
            data = np.asarray(s.data[:n], dtype=np.float64).copy()
            data += rng.normal(0.0, 1e-3 * (np.std(data, axis=0) + 1e-9), data.shape)
            streams[name] = types.SimpleNamespace(data=data, fs=s.fs, channel_names=list(s.channel_names))
        p = folder / f"variant_{v}.npz"
        write_npz(streams, p)
        out.append(p)
    return out


def _bad_files(folder: Path, good: Path, n: int) -> dict[str, str]:
    """n corrupt or truncated files of several kinds; name -> kind."""
    raw = good.read_bytes()
    with np.load(good) as z:
        arrays = {k: z[k] for k in z.files}
    kinds: dict[str, str] = {}
    for i in range(n):
        kind = ["truncated_half", "truncated_head", "empty", "random_bytes", "flipped_bytes",
                "missing_fs", "zero_samples", "text", "edf_truncated", "nan_fs"][i % 10]
        p = folder / f"bad_{i:03d}_{kind}" if kind != "edf_truncated" else folder / f"bad_{i:03d}.edf"
        if kind != "edf_truncated":
            p = p.with_suffix(".npz")
        if kind == "truncated_half":
            p.write_bytes(raw[: len(raw) // 2])
        elif kind == "truncated_head":
            p.write_bytes(raw[:300])
        elif kind == "empty":
            p.write_bytes(b"")
        elif kind == "random_bytes":
            p.write_bytes(np.random.default_rng(i).bytes(4096))
        elif kind == "flipped_bytes":
            b = bytearray(raw)
            for j in np.random.default_rng(i).integers(0, len(b), 64):
                b[j] ^= 0xFF
            p.write_bytes(bytes(b))
        elif kind == "missing_fs":
            np.savez(p, **{k: v for k, v in arrays.items() if k != "emg.fs"})
        elif kind == "zero_samples":
            np.savez(p, **{**arrays, "imu_upper.data": arrays["imu_upper.data"][:0]})
        elif kind == "text":
            p.write_text("time,emg\n0.0,1.0\n0.0005,")
        elif kind == "edf_truncated":
            from kinemyo.sim.session import DEMO_FILE

            p.write_bytes(Path(DEMO_FILE).read_bytes()[:2000])
        elif kind == "nan_fs":
            np.savez(p, **{**arrays, "emg.fs": np.float64(np.nan)})
        kinds[p.name] = kind
    return kinds


def make_batch(folder: Path, n_files: int, *, crash: bool) -> tuple[list[str], set[str], set[str]]:
    """n_files inputs: 10 % bad, optionally one that crashes its worker, the rest good copies of
    the variants. Returns (inputs in order, good names, bad names)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_variants").mkdir()
    variants = _variants(folder / "_variants")
    n_bad = n_files // 10
    bad = _bad_files(folder, variants[0], n_bad)
    names: list[str] = list(bad)
    if crash:
        shutil.copy(variants[1], folder / CRASH_NAME)
        names.append(CRASH_NAME)
    good: set[str] = set()
    i = 0
    while len(names) < n_files:
        name = f"rec_{i:04d}.npz"
        os.link(variants[i % N_VARIANTS], folder / name)  # same bytes, own path
        good.add(name)
        names.append(name)
        i += 1
    order = np.random.default_rng(0).permutation(len(names))
    return [str(folder / names[j]) for j in order], good, set(bad) | ({CRASH_NAME} if crash else set())


def crash_or_process(path: str, work_dir: str, config: str) -> dict[str, Any]:
    """The batch task with one simulated native crash: a segmentation fault inside the 'reader' for
    one file (as a broken C extension would), otherwise :func:`process_file`."""
    if Path(path).name == CRASH_NAME:
        faulthandler.disable()
        faulthandler._sigsegv()  # a real SIGSEGV in this worker process
    return process_file(path, work_dir, config=config)


def result_tree(out: Path) -> dict[str, str]:
    """Relative path -> sha1 of every result file (manifests and time-stamped markers aside)."""
    tree = {}
    for p in sorted(out.rglob("*")):
        if p.is_file() and p.parent != out:
            rel = str(p.relative_to(out))
            data = p.read_bytes()
            if p.name == batch.DONE_MARKER:
                rec = json.loads(data)
                data = json.dumps({"outputs": rec["outputs"], "info": rec["info"],
                                   "signature": rec["signature"]}, sort_keys=True).encode()
            elif p.name == "summary.json":  # everything but the wall-clock time
                rec = json.loads(data)
                rec.pop("processing_seconds", None)
                data = json.dumps(rec, sort_keys=True).encode()
            tree[rel] = hashlib.sha1(data).hexdigest()
    return tree


def check_complete(out: Path, inputs: list[str], good: set[str], bad: set[str], *, resumed: bool = False) -> None:
    manifest = json.loads((out / "manifest.json").read_text())
    files = {Path(f["input"]).name: f for f in manifest["files"]}
    assert len(manifest["files"]) == len(inputs) == len(files)
    ok_states = {"ok", "skipped"} if resumed else {"ok"}
    for name in good:
        assert files[name]["status"] in ok_states, files[name]
    for name in bad:
        f = files[name]
        assert f["status"] == "failed" and f["error"], f
        assert f["output_dir"] is None and f["outputs"] == []
    # exactly one complete result folder per good input, none for the bad ones, nothing partial
    dirs = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert dirs == sorted(batch.result_dir_name(p) for p in inputs if Path(p).name in good)
    for d in dirs:
        rec = json.loads((out / d / batch.DONE_MARKER).read_text())
        present = sorted(str(p.relative_to(out / d)) for p in (out / d).rglob("*")
                         if p.is_file() and p.name != batch.DONE_MARKER)
        assert present == sorted(rec["outputs"]) and "summary.json" in present
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "temporary files left behind"


@pytest.fixture(scope="module")
def inputs200(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], set[str], set[str]]:
    root = tmp_path_factory.mktemp("batch200")
    (root / "in").mkdir()
    (root / "config.toml").write_text(CONFIG)
    paths, good, bad = make_batch(root / "in", 200, crash=True)
    return root, paths, good, bad


@pytest.fixture(scope="module")
def one_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _variants(tmp_path_factory.mktemp("one"), 1)[0]


# ---------------------------------------------------------------------------------------------
# the configuration and the summary of one file


def test_process_uses_the_configuration_it_fingerprinted(one_recording: Path, tmp_path: Path, monkeypatch) -> None:
    """`kinemyo process` hands the validated configuration to the workers: a config file edited (here:
    broken) while the batch runs changes nothing, and the results carry the fingerprint they were
    made with."""
    from click.testing import CliRunner

    from kinemyo.cli import main

    config = tmp_path / "p.toml"
    config.write_text(CONFIG)
    fp = load_config(str(config)).fingerprint()
    real_run_batch = batch.run_batch

    def edit_config_then_run(*args: Any, **kwargs: Any) -> batch.BatchReport:
        config.write_text("[output\nreport = ")  # the user edits the file for the next batch
        kwargs.update(isolate=False, cpu_limit_s=None, memory_limit_mb=None)  # in this process: fast
        return real_run_batch(*args, **kwargs)

    monkeypatch.setattr(batch, "run_batch", edit_config_then_run)
    res = CliRunner().invoke(main, ["process", str(one_recording), "--config", str(config),
                                    "--out", str(tmp_path / "out"), "--quiet"])
    assert res.exit_code == 0, res.output
    [entry] = json.loads((tmp_path / "out" / "manifest.json").read_text())["files"]
    assert entry["status"] == "ok" and "report.png" not in entry["outputs"]  # CONFIG: report = false
    done = json.loads((Path(entry["output_dir"]) / batch.DONE_MARKER).read_text())
    assert done["signature"]["config"] == fp


def test_report_skipped_warning_is_in_the_summary(one_recording: Path, tmp_path: Path, monkeypatch) -> None:
    from kinemyo.pipeline import parse_config

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # not installed: importing it raises ImportError
    cfg = parse_config({"output": {"report": True, "signals": False}})
    process_file(str(one_recording), str(tmp_path), config=cfg)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert any(w.startswith("report skipped: matplotlib is not installed") for w in summary["warnings"])
    assert not (tmp_path / "report.png").exists()


# ---------------------------------------------------------------------------------------------
# a corrupt tenth and a crashing worker


def test_200_files_with_corrupt_tenth_and_a_worker_crash(inputs200) -> None:
    root, paths, good, bad = inputs200
    assert len(paths) == 200 and len(bad) == 21 and len(good) == 179
    task = functools.partial(crash_or_process, config=str(root / "config.toml"))
    fp = load_config(str(root / "config.toml")).fingerprint()
    out = root / "out_pool"
    t0 = time.perf_counter()
    rep = batch.run_batch(paths, task, out, jobs=2, fingerprint=fp, progress=False)
    seconds = time.perf_counter() - t0
    assert rep.n_ok == 179 and rep.n_failed == 21, (rep.n_ok, rep.n_failed)
    by_name = {Path(r.input).name: r for r in rep.results}
    assert "worker process died" in (by_name[CRASH_NAME].error or "")
    for name in bad - {CRASH_NAME}:
        err = by_name[name].error or ""
        assert name in err or "worker" not in err, (name, err)  # the error names the file
        assert "worker process died" not in err
    check_complete(out, paths, good, bad)
    # the good results equal a serial run of the same files (one of each variant checked in full)
    info = {Path(r.input).name: r.info for r in rep.results if r.status == "ok"}
    ref = {}
    for name in sorted(good):
        v = os.stat(root / "in" / name).st_ino
        if v not in ref:
            d = root / f"ref_{len(ref)}"
            d.mkdir()
            ref[v] = process_file(str(root / "in" / name), str(d), config=str(root / "config.toml"))
        assert info[name] == json.loads(json.dumps(ref[v])), name
    print(f"200 files (21 bad incl. 1 worker crash), jobs=2: {seconds:.1f} s")


def test_rerun_after_faults_redoes_nothing_good(inputs200) -> None:
    """A second run over the same folder skips every good file and reports the bad ones again."""
    root, paths, good, bad = inputs200
    task = functools.partial(crash_or_process, config=str(root / "config.toml"))
    fp = load_config(str(root / "config.toml")).fingerprint()
    out = root / "out_pool"
    before = result_tree(out)
    rep = batch.run_batch(paths, task, out, jobs=2, fingerprint=fp, progress=False)
    assert rep.n_skipped == 179 and rep.n_failed == 21 and rep.n_ok == 0
    assert result_tree(out) == before
    check_complete(out, paths, good, bad, resumed=True)


# ---------------------------------------------------------------------------------------------
# SIGKILL of the command line half way, then restart


def _cli(paths: list[str], out: Path, config: Path, jobs: int) -> list[str]:
    return [sys.executable, "-m", "kinemyo", "process", *paths, "--out", str(out), "--config", str(config),
            "--jobs", str(jobs), "--quiet"]


def _done_count(out: Path) -> int:
    return sum(1 for _ in out.glob(f"*/{batch.DONE_MARKER}")) if out.exists() else 0


def _children(pid: int) -> list[int]:
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with the test extra (distributed)
        return []
    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def kill_midway(paths: list[str], out: Path, config: Path, *, jobs: int, at: int,
                group: bool) -> tuple[int, list[int]]:
    """Start `kinemyo process`, SIGKILL it once ``at`` results are complete (the command alone, or
    its whole process group with ``group``). Returns (results complete at the kill, the workers
    that outlived the command)."""
    proc = subprocess.Popen(_cli(paths, out, config, jobs), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while _done_count(out) < at:
            assert proc.poll() is None, f"finished before the kill: {proc.stderr.read().decode()[-2000:]}"  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "batch too slow"
            workers.update(_children(proc.pid))
            time.sleep(0.005)
        workers.update(_children(proc.pid))
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()
    # orphaned pool workers notice that their parent is gone and exit
    t_end = time.monotonic() + 10
    while time.monotonic() < t_end and any(_alive(w) for w in workers):
        time.sleep(0.05)
    survivors = [w for w in workers if _alive(w)]
    for w in survivors:  # our own children's children: ended by pid, then reported by the caller
        os.kill(w, signal.SIGKILL)
    return _done_count(out), survivors


@pytest.fixture(scope="module")
def uninterrupted(inputs200) -> Path:
    root, all_paths, _, _ = inputs200
    paths = [p for p in all_paths if Path(p).name != CRASH_NAME]  # the CLI runs the real task
    out = root / "out_cli_ref"
    r = subprocess.run(_cli(paths, out, root / "config.toml", 2), capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr[-3000:]  # 1: some files failed
    return out


@pytest.mark.parametrize("group", [False, True], ids=["kill_cli", "kill_process_group"])
def test_sigkill_half_way_then_restart_equals_uninterrupted(inputs200, uninterrupted: Path, group: bool) -> None:
    root, all_paths, good, bad = inputs200
    paths = [p for p in all_paths if Path(p).name != CRASH_NAME]  # the CLI runs the real task
    out = root / f"out_killed_{int(group)}"
    done_at_kill, survivors = kill_midway(paths, out, root / "config.toml", jobs=2, at=60, group=group)
    assert 60 <= done_at_kill < len(good), done_at_kill
    assert not survivors, f"pool workers {survivors} outlived the killed command"
    # at this point the folder may hold partial folders of the killed run; nothing is half-written
    for d in out.iterdir():
        if d.is_dir() and not d.name.startswith("."):
            assert (d / batch.DONE_MARKER).exists(), f"{d.name}: result folder without its marker"
    r = subprocess.run(_cli(paths, out, root / "config.toml", 2), capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    status = [f["status"] for f in manifest["files"]]
    assert status.count("skipped") == done_at_kill
    assert status.count("ok") == len(good) - done_at_kill
    check_complete(out, paths, good, bad - {CRASH_NAME}, resumed=True)
    # the same result files, byte for byte, as the uninterrupted run (which also saw the crash file)
    ref = result_tree(uninterrupted)
    got = result_tree(out)
    assert set(ref) == set(got) and got == ref


@pytest.mark.skipif(not LONG, reason="heavy variant: KINEMYO_LONG=1")
def test_1000_files_killed_five_times(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(CONFIG)
    paths, good, bad = make_batch(tmp_path / "in", 1000, crash=False)
    out = tmp_path / "out"
    for k in range(5):
        _, survivors = kill_midway(paths, out, tmp_path / "config.toml", jobs=2,
                                      at=_done_count(out) + 120, group=bool(k % 2))
        assert not survivors
    r = subprocess.run(_cli(paths, out, tmp_path / "config.toml", 2), capture_output=True, text=True, timeout=900)
    assert r.returncode == 1, r.stderr[-3000:]
    check_complete(out, paths, good, bad, resumed=True)
    ref = tmp_path / "ref"
    r = subprocess.run(_cli(paths, ref, tmp_path / "config.toml", 2), capture_output=True, text=True, timeout=900)
    assert result_tree(out) == result_tree(ref)


def test_bad_file_kinds_are_all_rejected(inputs200, tmp_path: Path) -> None:
    """Each kind of corrupt file fails on its own (so the 10 % are really bad), naming the file."""
    root, paths, _, bad = inputs200
    for p in paths:
        name = Path(p).name
        if name in bad and name != CRASH_NAME:
            with pytest.raises((ValueError, OSError, KeyError, zipfile.BadZipFile)) as ei:
                process_file(p, str(tmp_path), config=str(root / "config.toml"))
            assert name in str(ei.value) or Path(p).stem in str(ei.value), (name, ei.value)

"""Batch engine: failures recorded, worker crashes survived, atomic results, resume, executors, Dask."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from kinemyo import batch


def copy_task(path: str, work_dir: str) -> dict:
    """Toy task: 'process' a text file holding a number; special contents trigger faults."""
    text = Path(path).read_text()
    if text == "raise":
        raise ValueError(f"{path}: corrupt file (test)")
    if text == "crash":
        os._exit(13)  # the worker process dies
    value = float(text)
    Path(work_dir, "result.txt").write_text(str(value * 2))
    Path(work_dir, "sub").mkdir()
    Path(work_dir, "sub", "more.txt").write_text("x")
    return {"value": value}


def make_inputs(tmp: Path, n: int, bad: dict[int, str] | None = None) -> list[str]:
    bad = bad or {}
    paths = []
    for i in range(n):
        p = tmp / f"in_{i:03d}.txt"
        p.write_text(bad.get(i, str(i)))
        paths.append(str(p))
    return paths


def test_serial_batch_records_failures(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    inputs = [*make_inputs(tmp_path / "in", 6, {2: "raise"}), str(tmp_path / "missing.txt")]
    rep = batch.run_batch(inputs, copy_task, tmp_path / "out", progress=False)
    assert [r.status for r in rep.results] == ["ok", "ok", "failed", "ok", "ok", "ok", "failed"]
    assert "corrupt file" in rep.results[2].error and "in_002" in rep.results[2].error
    assert "no such file" in rep.results[6].error
    assert not rep.ok and rep.n_failed == 2
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["n_failed"] == 2 and len(manifest["files"]) == 7
    assert (tmp_path / "out" / "manifest.csv").read_text().count("\n") == 8
    ok = rep.results[0]
    assert Path(ok.output_dir, "result.txt").read_text() == "0.0"
    assert sorted(ok.outputs) == ["result.txt", "sub/more.txt"]
    # no partial folders left behind
    assert not list((tmp_path / "out").glob(".*partial"))


def test_resume_skips_done_and_redoes_changed(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    inputs = make_inputs(tmp_path / "in", 5)
    rep1 = batch.run_batch(inputs, copy_task, tmp_path / "out", progress=False)
    assert rep1.n_ok == 5
    time.sleep(0.01)
    Path(inputs[1]).write_text("41")  # changed input: redone
    rep2 = batch.run_batch(inputs, copy_task, tmp_path / "out", progress=False)
    assert [r.status for r in rep2.results] == ["skipped", "ok", "skipped", "skipped", "skipped"]
    assert Path(rep2.results[1].output_dir, "result.txt").read_text() == "82.0"
    rep3 = batch.run_batch(inputs, copy_task, tmp_path / "out", progress=False, fingerprint="other config")
    assert rep3.n_ok == 5
    rep4 = batch.run_batch(inputs, copy_task, tmp_path / "out", progress=False, fingerprint="other config",
                           force=True)
    assert rep4.n_ok == 5
    # one result folder per input, never duplicated
    assert len([p for p in (tmp_path / "out").iterdir() if p.is_dir()]) == 5


def test_incomplete_result_is_redone(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    inputs = make_inputs(tmp_path / "in", 2)
    rep = batch.run_batch(inputs, copy_task, tmp_path / "out", progress=False)
    (Path(rep.results[0].output_dir) / batch.DONE_MARKER).unlink()  # as if killed before the end
    rep2 = batch.run_batch(inputs, copy_task, tmp_path / "out", progress=False)
    assert [r.status for r in rep2.results] == ["ok", "skipped"]


def test_process_pool_survives_worker_crash(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    inputs = make_inputs(tmp_path / "in", 24, {3: "crash", 10: "raise", 17: "crash"})
    rep = batch.run_batch(inputs, copy_task, tmp_path / "out", jobs=2, progress=False)
    status = {Path(r.input).name: r.status for r in rep.results}
    assert status.pop("in_003.txt") == "failed" and status.pop("in_017.txt") == "failed"
    assert status.pop("in_010.txt") == "failed"
    assert set(status.values()) == {"ok"}
    assert "worker process died" in rep.results[3].error
    assert len(rep.results) == 24
    # every good file processed exactly once: one folder each
    dirs = [p for p in (tmp_path / "out").iterdir() if p.is_dir()]
    assert len(dirs) == 21
    assert not list((tmp_path / "out").glob(".*partial"))


def test_any_executor(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    inputs = make_inputs(tmp_path / "in", 8, {5: "raise"})
    with ThreadPoolExecutor(2) as ex:
        rep = batch.run_batch(inputs, copy_task, tmp_path / "out", executor=ex, progress=False)
    assert rep.n_ok == 7 and rep.n_failed == 1


def test_dask_local_cluster(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    (tmp_path / "in").mkdir()
    inputs = make_inputs(tmp_path / "in", 6, {4: "raise"})
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", host="127.0.0.1") as cluster:
        rep = batch.run_batch(inputs, copy_task, tmp_path / "out", scheduler=cluster.scheduler_address,
                              progress=False)
    assert rep.n_ok == 5 and rep.n_failed == 1
    assert "corrupt file" in rep.results[4].error


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="jobs"):
        batch.run_batch([], copy_task, tmp_path, jobs=0)
    with pytest.raises(ValueError, match="at most one"):
        batch.run_batch([], copy_task, tmp_path, scheduler="tcp://x:1", executor=ThreadPoolExecutor(1))


def test_atomic_write_leaves_old_file_on_failure(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "a.json"
    batch.atomic_write_text(target, "old")

    def boom(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        batch.atomic_write_text(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


# ---------------------------------------------------------------------------------------------
# one batch per output folder; a work folder that disappears


class _Abort(BaseException):
    """Stands for Ctrl-C or a kill that ends the batch itself."""


def probe_lock_task(path: str, work_dir: str) -> dict:
    """Records whether the output folder (the work folder's parent) is locked, then succeeds or,
    for the input 'abort', ends the batch with an exception."""
    import fcntl

    with open(Path(work_dir).parent / batch.LOCK_FILE, "rb") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            locked = False
        except BlockingIOError:
            locked = True
    if Path(path).read_text() == "abort":
        raise _Abort
    return {"locked": locked}


@pytest.mark.skipif(os.name != "posix", reason="the output folder's lock uses fcntl.flock")
def test_second_batch_on_the_same_output_folder_is_refused(tmp_path: Path) -> None:
    import fcntl

    from click.testing import CliRunner

    from kinemyo.cli import main

    (tmp_path / "in").mkdir()
    inputs = make_inputs(tmp_path / "in", 2)
    out = tmp_path / "out"
    out.mkdir()
    live = out / ".in_000.txt-0123abcd.k2j4x9.partial"  # the running batch's work in progress
    live.mkdir()
    with open(out / batch.LOCK_FILE, "w") as running:  # the running batch holds the lock
        fcntl.flock(running, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(batch.OutputFolderInUseError, match="in use by another batch") as ei:
            batch.run_batch(inputs, copy_task, out, progress=False)
        assert str(out) in str(ei.value)
        res = CliRunner().invoke(main, ["process", *inputs, "--out", str(out), "--quiet"])
        assert res.exit_code == 1 and "in use by another batch" in res.output and "Traceback" not in res.output
        assert live.is_dir() and not (out / "manifest.json").exists()  # the running batch's files untouched
    rep = batch.run_batch(inputs, copy_task, out, progress=False)  # released: this one runs
    assert rep.n_ok == 2
    assert not (out / batch.LOCK_FILE).exists() and not live.exists()


@pytest.mark.skipif(os.name != "posix", reason="the output folder's lock uses fcntl.flock")
def test_output_folder_locked_during_the_batch_and_released_on_exceptions(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    inputs = make_inputs(tmp_path / "in", 3, {1: "abort"})
    out = tmp_path / "out"
    with pytest.raises(_Abort):
        batch.run_batch(inputs, probe_lock_task, out, progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert [f["info"] for f in manifest["files"]] == [{"locked": True}]
    assert not (out / batch.LOCK_FILE).exists()
    rep = batch.run_batch(inputs[:1], probe_lock_task, out, progress=False, force=True)
    assert rep.n_ok == 1 and rep.results[0].info == {"locked": True}


def _as_other_user(fn) -> str:
    """What ``fn()`` returns (a str), or its exception's type and message, run in a forked child
    as user and group 65534 (nobody)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(r)
            os.setgid(65534)
            os.setuid(65534)
            try:
                msg = fn()
            except BaseException as exc:
                msg = f"{type(exc).__name__}: {exc}"
            os.write(w, msg.encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        msg = f.read().decode()
    os.waitpid(pid, 0)
    return msg


@pytest.mark.skipif(os.name != "posix", reason="the output folder's lock uses fcntl.flock")
def test_lock_file_of_another_user_does_not_block_a_shared_output_folder() -> None:
    if os.geteuid() != 0:
        pytest.skip("acting as a second user (uid 65534) needs root")
    shared = Path(tempfile.mkdtemp())  # pytest's tmp_path is private to its user
    try:
        if any(not os.stat(d).st_mode & 0o001 for d in shared.parents):
            pytest.skip(f"{shared.parent} is not reachable for other users")
        os.chmod(shared, 0o755)
        inp = shared / "in.txt"
        inp.write_text("4")
        os.chmod(inp, 0o644)
        out = shared / "out"
        out.mkdir()
        os.chmod(out, 0o1777)  # shared: everyone may write, only the owner may remove a file
        lock = out / batch.LOCK_FILE

        def run() -> str:
            return batch.run_batch([str(inp)], copy_task, out, progress=False).results[0].status

        fd = batch._lock_output_folder(out)  # user A's batch runs
        assert fd is not None
        os.chmod(lock, 0o644)  # A's umask 022
        msg = _as_other_user(run)
        assert msg.startswith("OutputFolderInUseError") and "in use by another batch (pid" in msg, msg
        batch._held_locks.discard(fd)  # A's batch is killed: the lock is released, its file stays
        os.close(fd)
        assert _as_other_user(run) == "ok"
        assert lock.stat().st_uid == 0 and Path(out, batch.result_dir_name(inp), "result.txt").read_text() == "8.0"
        os.chmod(lock, 0o600)  # A's umask 077: B may not even read it
        msg = _as_other_user(run)
        assert msg.startswith("OutputFolderInUseError") and "belongs to another user" in msg, msg
    finally:
        shutil.rmtree(shared)


def vanishing_task(path: str, work_dir: str) -> dict:
    """Writes one output; then, for 'remove', its work folder is deleted (as another batch's clean-up
    of 'stale' temporary folders did) or, for 'recreate', deleted and made again (as a writer's
    mkdir(parents=True) would), before the next output. 'nested' writes into subfolders."""
    mode = Path(path).read_text()
    if mode == "nested":
        batch.atomic_write_text(Path(work_dir, "a", "b", "deep.txt"), "x")
        return {}
    batch.atomic_write_text(Path(work_dir, "summary.json"), "{}")
    shutil.rmtree(work_dir)
    if mode == "recreate":
        Path(work_dir).mkdir()
    batch.atomic_write_text(Path(work_dir, "angles.csv"), "t,x\n")
    return {}


def test_work_folder_that_disappears_fails_the_file(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    inputs = make_inputs(tmp_path / "in", 3, {0: "remove", 1: "recreate", 2: "nested"})
    out = tmp_path / "out"
    rep = batch.run_batch(inputs, vanishing_task, out, progress=False)
    assert [r.status for r in rep.results] == ["failed", "failed", "ok"]
    for r in rep.results[:2]:
        assert "temporary result folder" in r.error and "result is discarded" in r.error, r.error
    assert rep.results[2].outputs == ["a/b/deep.txt"]
    assert [p.name for p in out.iterdir() if p.is_dir()] == [batch.result_dir_name(inputs[2])]
    assert not list(out.glob(".*"))
    # nothing marked done: a re-run redoes them
    rep2 = batch.run_batch(inputs, vanishing_task, out, progress=False)
    assert [r.status for r in rep2.results] == ["failed", "failed", "skipped"]


# ---------------------------------------------------------------------------------------------
# long names, workers that fail outside the task, duplicates, relative paths


def test_long_file_name_does_not_stop_the_batch(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    inputs = make_inputs(tmp_path / "in", 2)
    long = tmp_path / "in" / ("被験者" * 26 + ".txt")  # 238 bytes: legal; its temporary folder's is 27 longer
    long.write_text("7")
    inputs.insert(1, str(long))
    for n, kw in enumerate([{}, {"isolate": True}]):
        rep = batch.run_batch(inputs, copy_task, tmp_path / f"out{n}", progress=False, **kw)
        assert [r.status for r in rep.results] == ["ok", "ok", "ok"], [r.error for r in rep.results]
        assert Path(rep.results[1].output_dir, "result.txt").read_text() == "14.0"
    name = batch.result_dir_name(long)
    assert name.startswith("被験者" * 10 + "被験.txt-") and len(name.encode()) == 100 + 9
    # names within 100 bytes are unchanged, so existing result folders are recognised on resume
    short = Path(inputs[0])
    assert batch.result_dir_name(short) == f"{short.name}-{hashlib.sha1(str(short.resolve()).encode()).hexdigest()[:8]}"
    edge = "é" * 48 + ".txt"  # exactly 100 bytes
    assert batch.result_dir_name(tmp_path / edge).startswith(edge + "-")


def test_resume_finds_result_folders_named_before_the_100_byte_cap(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "in").mkdir()
    long = tmp_path / "in" / ("subject_017_session_02_lumbar_flexion_extension_" * 2 + "04.txt")  # 102 bytes
    assert len(batch.result_dir_name(long).encode()) == 100 + 9  # capped today
    long.write_text("7")
    out = tmp_path / "out"
    cap = batch._NAME_MAX_BYTES
    for fingerprint, status in (("cfg", "skipped"), ("other", "ok")):
        monkeypatch.setattr(batch, "_NAME_MAX_BYTES", 10**6)  # the release before the cap
        old = batch.run_batch([str(long)], copy_task, out, progress=False, fingerprint="cfg", force=True)
        assert Path(old.results[0].output_dir).name.startswith(long.name + "-")
        monkeypatch.setattr(batch, "_NAME_MAX_BYTES", cap)
        rep = batch.run_batch([str(long)], copy_task, out, progress=False, fingerprint=fingerprint)
        # found (or, for another configuration, redone) under today's name; never two result folders
        assert [r.status for r in rep.results] == [status]
        assert rep.results[0].output_dir == str(out / batch.result_dir_name(long))
        assert Path(rep.results[0].output_dir, "result.txt").read_text() == "14.0"
        assert [p.name for p in out.iterdir() if p.is_dir()] == [batch.result_dir_name(long)]
        again = batch.run_batch([str(long)], copy_task, out, progress=False, fingerprint=fingerprint)
        assert [r.status for r in again.results] == ["skipped"]


def test_pool_records_a_worker_failure_outside_the_task(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    inputs = make_inputs(tmp_path / "in", 3)
    rep = batch.run_batch(inputs, lambda path, work_dir: {}, tmp_path / "out", jobs=2, progress=False)
    assert rep.n_failed == 3 and len(rep.results) == 3  # the task cannot be pickled: every file fails
    assert all("worker failed" in r.error and "pickle" in r.error for r in rep.results), rep.results[0].error
    assert len(json.loads((tmp_path / "out" / "manifest.json").read_text())["files"]) == 3


class _BreaksOnSecondSubmit(ProcessPoolExecutor):
    """A pool whose worker died between two submissions: the second submit finds it broken."""

    submitted = 0

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        type(self).submitted += 1
        if type(self).submitted == 2:
            raise BrokenProcessPool("a child process terminated abruptly (simulated)")
        return super().submit(fn, *args, **kwargs)


def test_pool_found_broken_at_submit_does_not_stop_the_batch(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "in").mkdir()
    inputs = make_inputs(tmp_path / "in", 4)
    monkeypatch.setattr(batch, "_pool", lambda jobs: _BreaksOnSecondSubmit(max_workers=jobs))
    rep = batch.run_batch(inputs, copy_task, tmp_path / "out", jobs=2, progress=False)
    assert [r.status for r in rep.results] == ["ok"] * 4


def test_duplicates_under_any_spelling_are_processed_once(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "in").mkdir()
    [path] = make_inputs(tmp_path / "in", 1)
    os.symlink(path, tmp_path / "link.txt")
    monkeypatch.chdir(tmp_path)
    spellings = ["in/in_000.txt", "./in/in_000.txt", path, "in//in_000.txt", "link.txt"]
    for jobs in (1, 2):
        rep = batch.run_batch(spellings, copy_task, "out", jobs=jobs, progress=False, force=True)
        assert [r.status for r in rep.results] == ["ok"]
        assert rep.results[0].input == os.path.join(os.getcwd(), "in", "in_000.txt")  # the first, made absolute
        assert len(json.loads(Path("out", "manifest.json").read_text())["files"]) == 1
        assert [p.name for p in Path("out").iterdir() if p.is_dir()] == [batch.result_dir_name(path)]


class _ElsewhereExecutor(Executor):
    """Runs each call at once in another working folder, as a Dask worker started elsewhere does."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        fut: Future = Future()
        here = os.getcwd()
        os.chdir(self.cwd)
        try:
            fut.set_result(fn(*args, **kwargs))
        except Exception as exc:
            fut.set_exception(exc)
        finally:
            os.chdir(here)
        return fut


def test_relative_paths_are_made_absolute_before_dispatch(tmp_path: Path, monkeypatch) -> None:
    for side, value in (("client", "3"), ("worker", "5")):
        (tmp_path / side / "data").mkdir(parents=True)
        (tmp_path / side / "data" / "s1.txt").write_text(value)
    (tmp_path / "worker" / "results").mkdir()
    monkeypatch.chdir(tmp_path / "client")
    rep = batch.run_batch(["data/s1.txt"], copy_task, "results", executor=_ElsewhereExecutor(tmp_path / "worker"),
                          progress=False)
    assert rep.n_ok == 1 and rep.out_dir == os.path.join(os.getcwd(), "results")
    assert Path(rep.results[0].output_dir, "result.txt").read_text() == "6.0"  # the client's file
    assert list((tmp_path / "worker" / "results").iterdir()) == []


def test_relative_path_through_a_link_and_dotdot_names_the_file_the_kernel_opens(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "real" / "deep").mkdir(parents=True)
    (tmp_path / "real" / "s1.txt").write_text("3")  # link/../s1.txt: next to the link's target
    (tmp_path / "here").mkdir()
    (tmp_path / "here" / "s1.txt").write_text("5")  # what removing 'link/..' as text would name
    os.symlink(tmp_path / "real" / "deep", tmp_path / "here" / "link")
    monkeypatch.chdir(tmp_path / "here")
    assert Path("link/../s1.txt").read_text() == "3"
    for jobs in (1, 2):
        rep = batch.run_batch(["link/../s1.txt", "s1.txt"], nested_copy_task, "link/../out", jobs=jobs,
                              progress=False, force=True)
        assert [r.status for r in rep.results] == ["ok", "ok"], [r.error for r in rep.results]  # two files
        assert rep.results[0].input == os.path.join(os.getcwd(), "link", "..", "s1.txt")
        assert [Path(r.output_dir, "result.txt").read_text() for r in rep.results] == ["6.0", "10.0"]
        assert Path(rep.results[0].output_dir).name == batch.result_dir_name(tmp_path / "real" / "s1.txt")
        assert rep.out_dir == str(tmp_path / "real" / "out")  # resolved: tempfile would remove 'link/..' as text
        assert (tmp_path / "real" / "out" / "manifest.json").is_file() and not Path("out").exists()
        assert Path(rep.results[0].output_dir, "a", "b", "deep.txt").is_file()  # atomic writes in the work folder


def nested_copy_task(path: str, work_dir: str) -> dict:
    """:func:`copy_task`, plus a nested output written with the atomic writers."""
    batch.atomic_write_text(Path(work_dir, "a", "b", "deep.txt"), "x")
    return copy_task(path, work_dir)


def limits_task(path: str, work_dir: str) -> dict:
    """'spin': loop in the interpreter for ever; 'hog': ask for 8 GB; 'exit': kill the worker;
    anything else: succeed."""
    kind = Path(path).read_text().strip()
    if kind == "spin":
        while True:
            pass
    if kind == "hog":
        blob = bytearray(8 * 1024**3)
        return {"n": len(blob)}
    if kind == "exit":
        os._exit(3)
    Path(work_dir, "out.txt").write_text(kind)
    return {}


@pytest.mark.skipif(os.name != "posix", reason="per-file limits use POSIX setrlimit")
def test_per_file_cpu_and_memory_limits(tmp_path: Path) -> None:
    inputs = []
    for i, kind in enumerate(["ok", "spin", "hog", "exit", "ok"]):
        p = tmp_path / f"in{i}.txt"
        p.write_text(kind)
        inputs.append(str(p))
    t0 = time.perf_counter()
    rep = batch.run_batch(inputs, limits_task, tmp_path / "out", jobs=1, cpu_limit_s=1.0, memory_limit_mb=2048,
                          progress=False)
    status = {Path(r.input).name: (r.status, r.error or "") for r in rep.results}
    assert status["in0.txt"][0] == status["in4.txt"][0] == "ok"
    assert status["in1.txt"][0] == "failed" and "CPU time limit" in status["in1.txt"][1]   # ended, not hung
    assert status["in2.txt"][0] == "failed" and "MemoryError" in status["in2.txt"][1]      # refused, not allocated
    assert status["in3.txt"][0] == "failed" and "worker process died" in status["in3.txt"][1]
    assert time.perf_counter() - t0 < 60
    with pytest.raises(ValueError, match="cpu_limit_s"):
        batch.run_batch(inputs, limits_task, tmp_path / "o2", cpu_limit_s=0.0)


@pytest.mark.skipif(not os.environ.get("KINEMYO_LONG"), reason="heavy variant (~1 min): KINEMYO_LONG=1")
def test_fuzz_findings_fail_cleanly_in_a_batch(tmp_path: Path) -> None:
    """The two reader findings of docs/reliability.md (a C3D file that makes ezc3d allocate 12.6 GB,
    an HDF5 file that hangs libhdf5) end as failed files, not as a stalled or exhausted machine."""
    from click.testing import CliRunner

    from kinemyo.cli import main

    root = Path(__file__).resolve().parent.parent / "fuzz" / "findings"
    files = []
    for name, ext in (("c3d_ezc3d_12GB_oom", ".c3d"), ("h5_libhdf5_hang", ".h5")):
        p = tmp_path / f"bad{ext}"
        p.write_bytes((root / name).read_bytes()[1:])  # the first byte chose the format in the fuzzer
        files.append(str(p))
    res = CliRunner().invoke(main, ["process", *files, "--out", str(tmp_path / "out"), "--quiet",
                                    "--max-cpu-s", "15", "--max-memory-mb", "4096"])
    assert res.exit_code == 1
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [f["status"] for f in manifest["files"]] == ["failed", "failed"]


def test_a_pre_cap_result_that_is_a_symbolic_link_is_not_adopted(tmp_path: Path) -> None:
    """Third review: adopting a linked pre-cap folder renamed the link to the result's name, and
    every later re-run then failed (rmtree refuses links)."""
    import shutil

    inp = tmp_path / ("x" * 150 + ".txt")
    inp.write_text("data")
    out, elsewhere = tmp_path / "out", tmp_path / "otherdisk"
    elsewhere.mkdir()

    def task(path: str, work: str) -> dict[str, int]:
        batch.atomic_write_text(os.path.join(work, "r.txt"), "ok")
        return {"n": 1}

    batch.run_batch([str(inp)], task, out, jobs=1)
    final = out / batch.result_dir_name(inp)
    old = out / batch._uncapped_result_dir_name(str(inp))
    shutil.move(str(final), str(elsewhere / "res"))
    os.symlink(elsewhere / "res", old)
    r = batch.run_batch([str(inp)], task, out, jobs=1)
    assert [x.status for x in r.results] == ["ok"] and not final.is_symlink() and final.is_dir()
    r = batch.run_batch([str(inp)], task, out, jobs=1, force=True)
    assert [x.status for x in r.results] == ["ok"]

"""Batch execution of one task over many files: local processes, any Executor, or a Dask cluster.

The engine behind ``kinemyo process``. Its promises:

* **One bad file never stops the batch.** A task that raises is recorded with its error in the
  run's manifest; a task that kills its worker process (segfault, ``os._exit``, out of memory) is
  found, recorded as ``"worker process died"``, and the rest go on.
* **Nothing half-written.** Each input's outputs are written by the task into a private temporary
  folder that is renamed into place only when the task has finished (a folder rename is atomic on
  POSIX file systems). A result folder therefore exists only when it is complete.
* **Resumable.** A result folder holds a ``_done.json`` marker with the input's size and
  modification time and the configuration's fingerprint; a re-run skips inputs whose marker
  matches (``force=True`` redoes them), so an interrupted batch resumes with nothing lost or
  duplicated. A result folder named by a release before the 100-byte cap on the file-name part
  (names of 101 to ~218 bytes) is found too and renamed to today's name.
* **Manifest.** ``manifest.json`` and ``manifest.csv`` in the output folder list every input with
  its status (``ok``, ``skipped``, ``failed``), error, outputs and time, written atomically.
* **One batch per output folder.** A batch holds an exclusive lock on its output folder (the file
  ``.kinemyo-batch.lock``, ``fcntl.flock`` on POSIX) from start to end; a second batch started on
  the same folder fails at once with :class:`OutputFolderInUseError` instead of deleting the first
  one's temporary folders.

Tasks are plain picklable callables ``task(input_path, work_dir) -> dict`` (the dict, e.g. a few
metrics, goes into the manifest). Use :func:`run_batch`.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import glob
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, as_completed, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Literal

__all__ = ["BatchReport", "FileResult", "OutputFolderInUseError", "atomic_write_bytes", "atomic_write_text",
           "result_dir_name", "run_batch"]

Status = Literal["ok", "skipped", "failed"]
DONE_MARKER = "_done.json"
LOCK_FILE = ".kinemyo-batch.lock"
_NAME_MAX_BYTES = 100  # the file-name part of a result folder's name, in bytes of UTF-8


class OutputFolderInUseError(RuntimeError):
    """Another batch holds the output folder: one output folder serves one batch at a time. Also
    raised when the folder's lock file, left by another user, may not even be read by this one."""


@dataclasses.dataclass
class FileResult:
    """Outcome of one input file."""

    input: str
    status: Status
    output_dir: str | None = None
    outputs: list[str] = dataclasses.field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    info: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class BatchReport:
    """Outcome of a batch: one :class:`FileResult` per input, in input order."""

    results: list[FileResult]
    out_dir: str
    seconds: float

    @property
    def n_ok(self) -> int:
        return sum(r.status == "ok" for r in self.results)

    @property
    def n_skipped(self) -> int:
        return sum(r.status == "skipped" for r in self.results)

    @property
    def n_failed(self) -> int:
        return sum(r.status == "failed" for r in self.results)

    @property
    def ok(self) -> bool:
        """True if no input failed."""
        return self.n_failed == 0


# ---------------------------------------------------------------------------------------------
# atomic writes


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, fsync, rename.
    An interrupted write leaves either the old file or none, never a truncated one. The file gets
    the usual permissions (0666 minus the umask), not the temporary file's private ones.

    Missing parent folders are created, except inside the work folder of a running batch task:
    there only the subfolders below the work folder are, and a work folder that has disappeared
    makes the write fail (``FileNotFoundError``) instead of being silently recreated half empty."""
    path = Path(path)
    work = _work_dir_of(path)
    if work is None:
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        _make_subfolders(work, path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except FileNotFoundError:
        if work is not None and not os.path.isdir(work):
            raise FileNotFoundError(_vanished(work)) from None
        raise
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if work is not None:
        with _work_lock:
            written = _work_dirs.get(work)
            if written is not None:
                written.add(_absolute(path))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))


# The work folders of the tasks running in this process (several with a thread pool), each with the
# files written into it by atomic_write_bytes: the outputs that must still be there at the end.
_work_dirs: dict[str, set[str]] = {}
_work_lock = threading.Lock()


def _work_dir_of(path: Path) -> str | None:
    """The running task's work folder that holds ``path``, if any."""
    if not _work_dirs:
        return None
    p = _absolute(path)
    with _work_lock:
        for work in _work_dirs:
            if p.startswith(work + os.sep):
                return work
    return None


def _make_subfolders(work: str, folder: Path) -> None:
    """Create the missing folders from ``work`` (exclusive) down to ``folder``, one level at a time,
    so that a removed work folder is never recreated."""
    rel = os.path.relpath(_absolute(folder), work)
    d = work
    for part in ([] if rel == os.curdir else Path(rel).parts):
        d = os.path.join(d, part)
        try:
            os.mkdir(d)
        except FileExistsError:
            pass
        except FileNotFoundError:
            raise FileNotFoundError(_vanished(work)) from None


def _absolute(path: str | os.PathLike[str]) -> str:
    """``path`` made absolute against the current folder, naming the same file for the kernel: only
    ``.`` components and repeated separators are dropped, never ``..`` (``os.path.abspath`` removes
    ``link/..`` textually, while the kernel resolves it from the link's target: another file)."""
    return str(Path(os.getcwd(), os.fspath(path)))


def _vanished(work: str) -> str:
    return (f"{work}: the temporary result folder disappeared while the file was processed (was another "
            "batch using the same output folder?); the result is discarded")


# ---------------------------------------------------------------------------------------------
# naming and resume markers


def result_dir_name(input_path: str | os.PathLike[str]) -> str:
    """Folder name of an input's results: its file name plus a short hash of its absolute path, so
    that equal names in different folders never collide. A name longer than 100 bytes (UTF-8) is
    cut to 100 bytes on a character boundary, keeping a short extension (the hash keeps it unique):
    the temporary folder's name is 27 bytes longer and must stay within the file system's limit
    (255 bytes) for every legal input name."""
    p = Path(input_path)
    return f"{_cap_name(p.name, _NAME_MAX_BYTES)}-{_path_digest(p)}"


def _path_digest(p: Path) -> str:
    return hashlib.sha1(os.fsencode(str(p.resolve()))).hexdigest()[:8]


def _uncapped_result_dir_name(input_path: str | os.PathLike[str]) -> str | None:
    """The name that releases before the 100-byte cap gave the result folder of ``input_path`` (the
    whole file name), when it differs from :func:`result_dir_name`'s; else None."""
    p = Path(input_path)
    if _cap_name(p.name, _NAME_MAX_BYTES) == p.name:
        return None
    return f"{p.name}-{_path_digest(p)}"


def _adopt_uncapped_result(out: Path, input_path: str, final: Path, signature: dict[str, Any]) -> dict[str, Any] | None:
    """Resume across the 100-byte cap: a complete result folder of ``input_path`` made by a release
    before it (whole file name) whose marker matches ``signature`` is renamed to ``final`` (today's
    name; whatever is there has no matching marker: an outdated or incomplete result) and its
    record returned, so the input is skipped. None when there is no such folder or it cannot be
    renamed (then the input is processed again, and the old folder removed when that succeeds).
    Called only while holding the output folder's lock."""
    name = _uncapped_result_dir_name(input_path)
    if name is None:
        return None
    old = out / name
    # only a real folder is adopted (a symbolic link renamed to `final` would make every later
    # re-run fail: rmtree refuses links; review)
    if old.is_symlink() or not old.is_dir():
        return None
    record = _is_done(old, signature)
    if record is None:
        return None
    try:
        if final.is_symlink() or final.is_file():
            final.unlink()
        elif os.path.lexists(final):
            shutil.rmtree(final)
        os.replace(old, final)
    except OSError:
        return None
    return record


def _cap_name(name: str, limit: int) -> str:
    """``name`` cut to at most ``limit`` bytes on a character boundary, its extension kept when short;
    names within the limit are returned unchanged (so existing result folders are recognised)."""
    def size(s: str) -> int:
        return len(s.encode("utf-8", "surrogateescape"))

    if size(name) <= limit:
        return name
    suffix = Path(name).suffix
    if size(suffix) > 16:
        suffix = ""
    stem = name[: len(name) - len(suffix)] if suffix else name
    budget = limit - size(suffix)
    n = 0
    for i, ch in enumerate(stem):
        n += size(ch)
        if n > budget:
            stem = stem[:i]
            break
    return stem + suffix


def _signature(input_path: str, fingerprint: str) -> dict[str, Any]:
    st = os.stat(input_path)
    return {"input": str(Path(input_path).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "config": fingerprint}


def _is_done(result_dir: Path, signature: dict[str, Any]) -> dict[str, Any] | None:
    marker = result_dir / DONE_MARKER
    try:
        record = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if record.get("signature") != signature:
        return None
    return record


# ---------------------------------------------------------------------------------------------
# one file (runs in the worker)


def _run_one(task: Callable[[str, str], dict[str, Any] | None], input_path: str, out_dir: str,
             fingerprint: str) -> FileResult:
    """Run ``task`` for one input inside a private temporary folder and move it into place."""
    t0 = time.perf_counter()
    tmp: Path | None = None
    work = ""
    try:
        final = Path(out_dir) / result_dir_name(input_path)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=out_dir))
        work = _absolute(tmp)
        created = os.stat(work)
        with _work_lock:
            _work_dirs[work] = set()
        if not os.path.exists(input_path):
            raise FileNotFoundError(f"{input_path}: no such file")
        signature = _signature(input_path, fingerprint)
        info = task(input_path, str(tmp)) or {}
        _check_work_dir(work, created)
        outputs = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
        record = {"signature": signature, "outputs": outputs, "info": _jsonable(info)}
        atomic_write_text(tmp / DONE_MARKER, json.dumps(record, indent=2))
        if final.is_symlink() or final.is_file():  # (not a folder kinemyo made: rmtree refuses links)
            final.unlink()
        elif final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        uncapped = _uncapped_result_dir_name(input_path)
        if uncapped is not None:  # this input's result from a release before the 100-byte cap: replaced
            shutil.rmtree(Path(out_dir) / uncapped, ignore_errors=True)
        return FileResult(input_path, "ok", str(final), outputs, None, time.perf_counter() - t0,
                          record["info"])
    except Exception as exc:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        return FileResult(input_path, "failed", None, [], _describe(exc), time.perf_counter() - t0)
    finally:
        with _work_lock:
            _work_dirs.pop(work, None)


def _check_work_dir(work: str, created: os.stat_result) -> None:
    """Before the done-marker: the work folder is still the one made for this file (not removed, nor
    removed and recreated) and holds every file the task wrote into it with the atomic writers."""
    try:
        same = os.path.samestat(os.stat(work), created)
    except FileNotFoundError:
        same = False
    if not same:
        raise RuntimeError(_vanished(work))
    with _work_lock:
        written = sorted(_work_dirs.get(work, ()))
    missing = [os.path.relpath(p, work) for p in written if not os.path.isfile(p)]
    if missing:
        raise RuntimeError(f"{work}: outputs written by the task are missing from the temporary result folder "
                           f"({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''}); the result is "
                           "discarded")


def _describe(exc: BaseException) -> str:
    msg = f"{type(exc).__name__}: {exc}"
    return msg if len(msg) < 2000 else msg[:2000] + "..."


def _jsonable(obj: Any) -> Any:
    try:
        json.dumps(obj)
        return obj
    except TypeError:
        return json.loads(json.dumps(obj, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


# ---------------------------------------------------------------------------------------------
# progress


class _Progress:
    """tqdm when installed (the ``batch`` extra), otherwise a plain status line on stderr."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.enabled = enabled
        self.done = 0
        self.total = total
        self.failed = 0
        self._bar = None
        if enabled:
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=total, unit="file", dynamic_ncols=True, file=sys.stderr)
            except ImportError:
                self._bar = None

    def update(self, result: FileResult) -> None:
        self.done += 1
        self.failed += result.status == "failed"
        if not self.enabled:
            return
        name = Path(result.input).name
        if self._bar is not None:
            self._bar.set_postfix_str(f"{name}: {result.status}, failed {self.failed}")
            self._bar.update(1)
        else:
            print(f"[{self.done}/{self.total}] {result.status:7s} {name}"
                  + (f" -- {result.error}" if result.error else ""), file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


# ---------------------------------------------------------------------------------------------
# executors


def _die_with_parent(parent: int) -> None:
    """Pool worker initializer: end this worker when the batch process dies (e.g. SIGKILL), instead
    of leaving it orphaned, blocked on its task queue, or finishing a task that a restarted batch
    is also running. Linux: the kernel sends SIGKILL at the parent's death (PR_SET_PDEATHSIG);
    elsewhere a daemon thread polls the parent's pid."""
    import signal

    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        armed = libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        armed = False
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    if not armed:
        import threading

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, name="kinemyo-batch-parent-watch", daemon=True).start()


def _pool(jobs: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=jobs, initializer=_die_with_parent, initargs=(os.getpid(),))


def _run_one_limited(limits: tuple[float | None, float | None], task: Callable[[str, str], dict[str, Any] | None],
                     input_path: str, out_dir: str, fingerprint: str) -> FileResult:
    """:func:`_run_one` in a pool worker under per-file resource limits (POSIX ``setrlimit``, soft
    limits only, lifted again after the file): ``cpu_s`` seconds of CPU time for this file -- past it
    the kernel ends the worker (SIGXCPU), which the pool records as a dead worker, so a reader stuck
    in a C library loop cannot hang the batch -- and ``memory_mb`` of address space, so a corrupt
    file that makes a library ask for gigabytes fails with MemoryError instead of exhausting the
    machine."""
    cpu_s, memory_mb = limits
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX: no limits
        return _run_one(task, input_path, out_dir, fingerprint)
    saved = {}
    if cpu_s is not None:
        used = resource.getrusage(resource.RUSAGE_SELF)
        spent = used.ru_utime + used.ru_stime
        saved[resource.RLIMIT_CPU] = resource.getrlimit(resource.RLIMIT_CPU)
        hard = saved[resource.RLIMIT_CPU][1]
        soft = int(spent + cpu_s) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    if memory_mb is not None:
        saved[resource.RLIMIT_AS] = resource.getrlimit(resource.RLIMIT_AS)
        hard = saved[resource.RLIMIT_AS][1]
        soft = int(memory_mb * 1024 * 1024)
        resource.setrlimit(resource.RLIMIT_AS, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    try:
        return _run_one(task, input_path, out_dir, fingerprint)
    finally:
        for what, lim in saved.items():
            resource.setrlimit(what, lim)


def _run_local_pool(task, todo: list[str], out_dir: str, fingerprint: str, jobs: int,
                    on_result: Callable[[FileResult], None],
                    limits: tuple[float | None, float | None] = (None, None)) -> None:
    """Process pool with crash isolation. At most ``jobs`` inputs are in flight; when a worker dies
    the pool breaks, the inputs that were in flight are re-run one at a time in single-worker pools
    (only the real culprit dies again and is recorded), and a fresh pool takes the rest."""
    queue = list(todo)
    suspects: list[str] = []
    while queue or suspects:
        while suspects:
            path = suspects.pop(0)
            with _pool(1) as solo:
                try:
                    result = solo.submit(_run_one_limited, limits, task, path, out_dir, fingerprint).result()
                except BrokenProcessPool:
                    _cleanup_partials(out_dir, path)
                    result = FileResult(path, "failed", error="worker process died while processing this "
                                        "file (crash, os._exit, out of memory or over the per-file CPU "
                                        "time limit)")
                except Exception as exc:
                    result = _worker_failed(out_dir, path, exc)
                on_result(result)
        if not queue:
            break
        with _pool(jobs) as pool:
            inflight: dict[Future[FileResult], str] = {}
            broken = False
            while (queue or inflight) and not broken:
                while queue and len(inflight) < jobs:
                    try:
                        fut = pool.submit(_run_one_limited, limits, task, queue[0], out_dir, fingerprint)
                    except BrokenProcessPool:  # a worker died since the last wait: the next pool takes it
                        broken = True
                        break
                    inflight[fut] = queue.pop(0)
                if broken:
                    break
                done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                for fut in done:
                    path = inflight.pop(fut)
                    try:
                        result = fut.result()
                    except BrokenProcessPool:
                        suspects.append(path)
                        broken = True
                        continue
                    except Exception as exc:  # e.g. the task or its result could not be pickled
                        result = _worker_failed(out_dir, path, exc)
                    on_result(result)
            if broken:
                suspects.extend(inflight.values())


def _worker_failed(out_dir: str, path: str, exc: BaseException) -> FileResult:
    """The record of a file whose worker raised outside the task (never the end of the batch)."""
    _cleanup_partials(out_dir, path)
    return FileResult(path, "failed", error=f"worker failed: {_describe(exc)}")


def _remove_stale_partials(out: Path) -> None:
    """Remove temporary folders left by killed workers or an interrupted earlier run. Called only
    while holding the output folder's lock: no other batch can be writing into it."""
    for p in out.glob(".*.partial"):
        shutil.rmtree(p, ignore_errors=True)


def _cleanup_partials(out_dir: str, input_path: str) -> None:
    prefix = "." + glob.escape(result_dir_name(input_path)) + "."
    for p in Path(out_dir).glob(prefix + "*.partial"):
        shutil.rmtree(p, ignore_errors=True)


def _run_executor(submit: Callable[..., Any], wait: Callable[[list[Any]], Iterable[Any]],
                  task, todo: list[str], out_dir: str, fingerprint: str,
                  on_result: Callable[[FileResult], None]) -> None:
    futures: dict[Any, str] = {}
    for p in todo:
        try:
            futures[submit(_run_one, task, p, out_dir, fingerprint)] = p
        except Exception as exc:  # e.g. the task cannot be pickled for a Dask cluster
            on_result(_worker_failed(out_dir, p, exc))
    for fut in wait(list(futures)):
        try:
            result = fut.result()
        except Exception as exc:
            result = _worker_failed(out_dir, futures[fut], exc)
        on_result(result)


# ---------------------------------------------------------------------------------------------
# the output folder's lock


_held_locks: set[int] = set()
_fork_hook_registered = False


def _close_held_locks_in_child() -> None:
    """After a fork: drop the child's copies of the lock descriptors, so that a pool worker that
    outlives its batch (an executor created by the caller) does not keep the folder locked."""
    for fd in _held_locks:
        with contextlib.suppress(OSError):
            os.close(fd)
    _held_locks.clear()


def _lock_output_folder(out: Path) -> int | None:
    """Take the exclusive lock of ``out`` (``fcntl.flock`` on ``out/.kinemyo-batch.lock``, held until
    :func:`_unlock_output_folder` or the end of the process, also a killed one). Raises
    OutputFolderInUseError at once when another batch holds it. Returns the lock's descriptor, or
    None where the platform or file system has no locks (then a warning says so)."""
    global _fork_hook_registered
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        warnings.warn(f"{out}: output folder not locked (no fcntl on this platform): make sure no other batch "
                      "uses it at the same time", RuntimeWarning, stacklevel=3)
        return None
    path = out / LOCK_FILE
    while True:
        fd, writable = _open_lock_file(out, path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip()
            os.close(fd)
            raise OutputFolderInUseError(
                f"output folder {out} is in use by another batch{f' ({holder})' if holder else ''}: one output "
                "folder serves one batch at a time; wait for that batch to end or choose another output "
                "folder") from None
        except OSError as exc:  # a file system without locks
            os.close(fd)
            warnings.warn(f"{out}: output folder not locked ({exc}): make sure no other batch uses it at the "
                          "same time", RuntimeWarning, stacklevel=3)
            return None
        except BaseException:
            os.close(fd)
            raise
        # the batch before us removes the lock file when it ends: keep the lock only on the file
        # that is still at the path, else another batch could lock a new file there at the same time
        try:
            current = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            current = False
        if current:
            break
        os.close(fd)
    if writable:
        with contextlib.suppress(OSError):
            import socket

            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
    _held_locks.add(fd)
    if not _fork_hook_registered and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_close_held_locks_in_child)
        _fork_hook_registered = True
    return fd


def _open_lock_file(out: Path, path: Path) -> tuple[int, bool]:
    """Open ``path``, the lock file of ``out``, creating it (mode 0666 minus the umask) if missing;
    returns the descriptor and whether it is writable. In a shared output folder the file may have
    been left by another user (a killed batch's: the lock is gone, the file stays) and not be
    writable for this one: ``flock`` works on a read-only descriptor, so it is then opened read-only
    (the holder's pid is not written). Raises OutputFolderInUseError if it may not even be read, and
    the PermissionError of creating it if it is missing and the folder is not writable."""
    denied: PermissionError | None = None
    for _ in range(3):
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT, 0o666), True
        except PermissionError as exc:  # not ours and not writable (or O_CREAT refused: fs.protected_regular)
            denied = exc
        try:
            try:
                return os.open(path, os.O_RDWR), True
            except PermissionError:
                return os.open(path, os.O_RDONLY), False
        except FileNotFoundError:  # removed meanwhile (its batch ended), or the folder is not writable
            continue
        except PermissionError as exc:
            raise OutputFolderInUseError(
                f"output folder {out} cannot be locked: its lock file {LOCK_FILE} belongs to another user and may "
                f"not be read ({exc.strerror}); another user's batch may be using the folder (one output folder "
                "serves one batch at a time): choose another output folder, or, if no batch is running, ask "
                "the file's owner to remove it") from None
    assert denied is not None
    raise denied


def _unlock_output_folder(out: Path, fd: int | None) -> None:
    """Remove the lock file (while still holding the lock) and release the lock."""
    if fd is None:
        return
    try:
        path = out / LOCK_FILE
        with contextlib.suppress(OSError):
            if os.path.samestat(os.fstat(fd), os.stat(path)):
                os.unlink(path)
    finally:
        _held_locks.discard(fd)
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# the entry point


def run_batch(inputs: Sequence[str | os.PathLike[str]], task: Callable[[str, str], dict[str, Any] | None],
              out_dir: str | os.PathLike[str], *, jobs: int = 1, scheduler: str | None = None,
              executor: Executor | None = None, force: bool = False, fingerprint: str = "",
              progress: bool = True, isolate: bool = False, cpu_limit_s: float | None = None,
              memory_limit_mb: float | None = None) -> BatchReport:
    """Run ``task`` over ``inputs``, writing each input's outputs under ``out_dir``.

    Parameters
    ----------
    inputs : sequence of paths
        Input files; duplicates (the same file under any spelling, through symbolic links too) are
        processed once, under the first spelling. Relative paths are made absolute here, before any
        work is sent to a worker (whose working folder may differ); the manifest lists them absolute.
        ``..`` is kept (``link/../a.edf`` is the file the kernel opens, next to the link's target).
    task : callable ``(input_path, work_dir) -> dict | None``
        Reads the input and writes its outputs into ``work_dir`` (a private temporary folder that
        becomes ``out_dir/<result_dir_name(input)>`` on success). Must be picklable (a module-level
        function or a ``functools.partial`` of one) for ``jobs > 1``, executors and Dask. The dict
        it returns goes into the manifest. Before the result is marked done, the work folder must
        still be the one made for it and hold every file the task wrote with
        :func:`atomic_write_bytes` / :func:`atomic_write_text` (which never recreate a removed work
        folder), else the input is recorded as failed.
    out_dir : path
        Output folder (created; a relative path is made absolute here, and one with ``..`` resolved
        as the kernel does, through symbolic links). One output folder serves one batch at a time:
        the batch locks it from start to end, and a batch started on a folder that another batch
        holds raises :class:`OutputFolderInUseError` before doing anything.
    jobs : int
        Number of local worker processes; 1 runs in this process (no crash isolation).
    scheduler : str, optional
        Address of an existing Dask distributed scheduler (``tcp://host:port``); the work runs on
        its workers, which must be able to import kinemyo and read the inputs.
    executor : concurrent.futures.Executor, optional
        Any executor (thread pool, process pool, a Dask ``Client.get_executor()``, ...).
    force : bool
        Redo inputs whose results are already complete.
    fingerprint : str
        Identifies the configuration: results made with another fingerprint are redone.
    progress : bool
        Show a progress bar (tqdm if installed) with per-file status on stderr.
    isolate : bool
        With ``jobs == 1``, still run each input in a worker process (crash isolation), not in this
        process. Implied by the limits below.
    cpu_limit_s, memory_limit_mb : float, optional
        Per-file limits in the local worker processes (POSIX): CPU seconds (past them the worker
        is ended and the file recorded as failed: a reader hung in a library loop cannot stall the
        batch) and address space in MB (a corrupt file that makes a library allocate gigabytes fails
        with MemoryError). Not applied with ``scheduler`` or ``executor``.

    Returns
    -------
    BatchReport
        Also written as ``manifest.json`` / ``manifest.csv`` in ``out_dir``.

    Raises
    ------
    OutputFolderInUseError
        Another batch is using ``out_dir``.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1; got {jobs}")
    for name, v in (("cpu_limit_s", cpu_limit_s), ("memory_limit_mb", memory_limit_mb)):
        if v is not None and not v > 0:
            raise ValueError(f"{name} must be > 0; got {v}")
    if sum(x is not None for x in (scheduler, executor)) > 1:
        raise ValueError("give at most one of scheduler and executor")
    t0 = time.perf_counter()
    out = Path(_absolute(out_dir))
    if os.pardir in out.parts:  # tempfile and os.path.relpath would remove 'link/..' as text: resolve it
        out = Path(os.path.realpath(out))
    out.mkdir(parents=True, exist_ok=True)
    lock = _lock_output_folder(out)
    try:
        return _run_locked(inputs, task, out, t0, jobs=jobs, scheduler=scheduler, executor=executor, force=force,
                           fingerprint=fingerprint, progress=progress, isolate=isolate, cpu_limit_s=cpu_limit_s,
                           memory_limit_mb=memory_limit_mb)
    finally:
        _unlock_output_folder(out, lock)


def _run_locked(inputs: Sequence[str | os.PathLike[str]], task: Callable[[str, str], dict[str, Any] | None],
                out: Path, t0: float, *, jobs: int, scheduler: str | None, executor: Executor | None, force: bool,
                fingerprint: str, progress: bool, isolate: bool, cpu_limit_s: float | None,
                memory_limit_mb: float | None) -> BatchReport:
    """:func:`run_batch` once the output folder is locked."""
    _remove_stale_partials(out)
    seen: set[str] = set()
    paths: list[str] = []
    for p in inputs:
        s = _absolute(p)
        real = os.path.realpath(s)
        if real not in seen:
            seen.add(real)
            paths.append(s)

    results: dict[str, FileResult] = {}
    todo: list[str] = []
    for p in paths:
        final = out / result_dir_name(p)
        record = None
        if not force and os.path.exists(p):
            signature = _signature(p, fingerprint)
            record = _is_done(final, signature) or _adopt_uncapped_result(out, p, final, signature)
        if record is not None:
            results[p] = FileResult(p, "skipped", str(final), record.get("outputs", []), None, 0.0,
                                    record.get("info", {}))
        else:
            todo.append(p)

    bar = _Progress(len(paths), progress)
    for p in paths:
        if p in results:
            bar.update(results[p])

    def on_result(r: FileResult) -> None:
        results[r.input] = r
        bar.update(r)

    try:
        if scheduler is not None:
            from distributed import Client
            from distributed import as_completed as dask_as_completed

            with Client(scheduler) as client:
                _run_executor(lambda fn, *a: client.submit(fn, *a, pure=False), dask_as_completed,
                              task, todo, str(out), fingerprint, on_result)
        elif executor is not None:
            _run_executor(executor.submit, as_completed, task, todo, str(out), fingerprint, on_result)
        elif (jobs > 1 and len(todo) > 1) or isolate or cpu_limit_s is not None or memory_limit_mb is not None:
            _run_local_pool(task, todo, str(out), fingerprint, max(1, min(jobs, len(todo))), on_result,
                            (cpu_limit_s, memory_limit_mb))
        else:
            for p in todo:
                on_result(_run_one(task, p, str(out), fingerprint))
    finally:
        bar.close()
        _remove_stale_partials(out)
        ordered = [results[p] for p in paths if p in results]
        report = BatchReport(ordered, str(out), time.perf_counter() - t0)
        _write_manifest(report)
    return report


def _write_manifest(report: BatchReport) -> None:
    out = Path(report.out_dir)
    doc = {"n_inputs": len(report.results), "n_ok": report.n_ok, "n_skipped": report.n_skipped,
           "n_failed": report.n_failed, "seconds": report.seconds,
           "files": [r.to_dict() for r in report.results]}
    atomic_write_text(out / "manifest.json", json.dumps(_jsonable(doc), indent=2))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["input", "status", "output_dir", "n_outputs", "seconds", "error"])
    for r in report.results:
        w.writerow([r.input, r.status, r.output_dir or "", len(r.outputs), f"{r.seconds:.3f}", r.error or ""])
    # surrogateescape: a file name that is not valid UTF-8 is written as the bytes it has on disk
    atomic_write_bytes(out / "manifest.csv", buf.getvalue().encode("utf-8", "surrogateescape"))


def format_exception(exc: BaseException) -> str:  # pragma: no cover - debugging aid
    return "".join(traceback.format_exception(exc))

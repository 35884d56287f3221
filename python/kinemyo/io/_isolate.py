"""Read a file in a child process: a reader that crashes, stalls or allocates without bound costs a
:class:`~kinemyo.io.ReadError`, not the calling process (``kinemyo.io.read(path, isolate=True)``).

The child is a fresh interpreter (``python -m kinemyo.io._isolate``), not a fork: the caller may
hold threads and locks, and a fresh interpreter does not re-run the caller's ``__main__`` (as
``multiprocessing``'s spawn would for an unguarded script). The request (path, reader options,
memory limit) goes in on stdin and the outcome (the pickled :class:`Recording` or the error) comes
back on stdout.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from ._model import MissingDependencyError, ReadError, Recording
from ._util import check_input

__all__ = ["read_isolated"]


def _default_memory_mb() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20 / 2
    except (ValueError, OSError, AttributeError):
        return None


def _limit_memory(memory_mb: float | None) -> None:
    if memory_mb is None:
        return
    try:
        import resource

        soft = int(memory_mb * 2**20)
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        resource.setrlimit(resource.RLIMIT_AS, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    except (ImportError, ValueError, OSError):
        pass  # no address-space limit where the platform has none


def _child_main() -> None:
    """In the child: read the request, limit the memory, read the file, write the outcome."""
    path, options, memory_mb = pickle.load(sys.stdin.buffer)
    _limit_memory(memory_mb)
    from . import read

    out: tuple[str, Any]
    try:
        out = ("ok", read(path, **options))
    except MissingDependencyError as e:
        msg = str(e)
        if memory_mb and any(k in msg.lower() for k in ("failed to map segment", "cannot allocate memory",
                                                         "memoryerror")):
            # the library is there but could not be loaded within the memory limit
            out = ("read", f"the reader ran out of memory loading its library (limit {memory_mb:.0f} MiB)")
        else:
            out = ("missing", msg)
    except ReadError as e:
        out = ("read", e.reason)
    except MemoryError:
        out = ("read", "the reader ran out of memory" + (f" (limit {memory_mb:.0f} MiB)" if memory_mb else ""))
    except TypeError as e:
        out = ("type", str(e))
    except Exception as e:  # whatever a library raises on a corrupt file
        out = ("read", f"{type(e).__name__}: {e}")
    sys.stdout.buffer.write(pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()


def read_isolated(path: str | os.PathLike[str], options: dict[str, Any], *, timeout: float,
                  memory_mb: float | None) -> Recording:
    """:func:`kinemyo.io.read` in a child interpreter under a wall-clock and a memory limit."""
    p = Path(path)
    check_input(p)
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
    if memory_mb is None:
        memory_mb = _default_memory_mb()
    elif not memory_mb > 0:
        raise ValueError(f"memory_mb must be > 0, got {memory_mb}")
    request = pickle.dumps((str(p), dict(options), memory_mb))
    env = dict(os.environ)
    # the child must import this kinemyo, wherever it was imported from
    pkg_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        done = subprocess.run([sys.executable, "-m", "kinemyo.io._isolate"], input=request, capture_output=True,
                              timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise ReadError(p, f"the reader did not finish within {timeout:g} s (child process ended)") from None
    try:
        kind, value = pickle.loads(done.stdout)
    except Exception:  # no (or a partial) outcome: the child died
        code = done.returncode
        how = f"exit status {code}"
        if code < 0:
            try:
                how = f"signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"signal {-code}"
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] if done.stderr else []
        raise ReadError(p, f"the reader crashed ({how}) on this file" + (f": {tail[0]}" if tail else "")) from None
    if kind == "ok":
        rec: Recording = value
        return rec
    if kind == "missing":
        raise MissingDependencyError(value)
    if kind == "type":
        raise TypeError(value)
    raise ReadError(p, value)


if __name__ == "__main__":
    _child_main()

"""Shared helpers: optional imports, input-path checks, atomic output files."""

from __future__ import annotations

import contextlib
import importlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from ._model import MissingDependencyError, ReadError

__all__ = ["atomic_path", "check_input", "require"]


def require(module: str, what: str, extra: str) -> ModuleType:
    """Import an optional library or raise :class:`MissingDependencyError` naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        pkg = module.split(".")[0]
        raise MissingDependencyError(
            f"{what} needs the optional package {pkg!r}, which is not installed ({e}); "
            f"install it with: pip install 'kinemyo[{extra}]'") from None


def check_input(path: str | os.PathLike[str], extensions: tuple[str, ...] | None = None) -> Path:
    """Check that ``path`` is an existing, readable, non-empty file (with one of ``extensions``)."""
    p = Path(path)
    if extensions is not None and not p.name.lower().endswith(extensions):
        raise ReadError(p, f"wrong extension {p.suffix!r} for this reader; expected one of {list(extensions)}")
    if not p.exists():
        raise ReadError(p, "no such file")
    if not p.is_file():
        raise ReadError(p, "not a regular file")
    if not os.access(p, os.R_OK):
        raise ReadError(p, "permission denied (file is not readable)")
    if p.stat().st_size == 0:
        raise ReadError(p, "file is empty (0 bytes)")
    return p


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    The temporary file lives in the same folder (so ``os.replace`` is an atomic rename on POSIX and
    Windows), has a hidden name that does not end with the target's extension, is flushed to disk
    (``fsync``) before the rename, and is removed if the body raises. A crash at any moment therefore
    leaves either the old ``path`` (or none) or the complete new one, never a half-written file.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        # mkstemp makes the file 0600; give it the old file's mode, or the usual 0644
        mode = target.stat().st_mode & 0o7777 if target.exists() else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX only)
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

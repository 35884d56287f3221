"""The base class of every streaming processor of the Python API.

A processor wraps one object of the C++ core (``self._core``) and adds names, defaults, docs and
the pickling record. The hot path, ``process``, goes straight to the core: shapes and dtypes are
checked in the binding, the GIL is released for chunks of more than 4096 values, and a chunk of
one sample costs well under a microsecond of overhead.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

__all__ = ["IDENTITY", "Processor", "StatefulCore", "identity_of", "split_identity"]

_FORMAT = 1


def _check_dtype(dtype: Any) -> np.dtype[Any]:
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64; got {dt}")
    return dt


def _suffix(dtype: np.dtype[Any]) -> str:
    return "_f32" if dtype == np.float32 else "_f64"


#: Key of the identity entry of a state dict (see :meth:`StatefulCore.state`).
IDENTITY = "identity"


def _canon(v: Any) -> Any:
    """A JSON-able, process-independent form of constructor parameters (arrays by their bytes;
    numbers as floats, so that 50 and 50.0 are the same parameter; stateful objects, e.g. the
    stages of a Chain, by their own identity)."""
    if isinstance(v, StatefulCore) or (hasattr(v, "_params") and hasattr(v, "_core")):
        return ["object", identity_of(v)]
    if isinstance(v, bool):
        return repr(v)
    if isinstance(v, (int, float)):
        return repr(float(v))
    if isinstance(v, np.ndarray):
        return ["ndarray", str(v.dtype), list(v.shape), np.ascontiguousarray(v).tobytes().hex()]
    if isinstance(v, np.generic):
        return _canon(v.item())
    if isinstance(v, (list, tuple)):
        return [_canon(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _canon(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
    return repr(v)


def identity_of(obj: Any) -> float:
    """Fingerprint of a stateful object's kind: its class, dtype and constructor parameters, as a
    float64 holding a 52-bit hash (blake2b of a canonical text, so it is the same in every process
    and after pickling). Two objects with the same fingerprint interpret a state the same way."""
    import hashlib
    import json

    text = json.dumps([type(obj).__name__, str(getattr(obj, "_dtype", "")), _canon(getattr(obj, "_params", {}))],
                      sort_keys=True)
    h = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
    return float(h >> 12)  # 52 bits: exact in a float64


def split_identity(obj: Any, value: dict[str, Any]) -> dict[str, Any]:
    """``value`` without its identity entry, after checking that entry (when present: states of
    earlier versions have none) against ``obj``: a state taken from an object of another class,
    dtype or parameters is refused instead of continuing with silently wrong output."""
    if IDENTITY not in value:
        return value
    rest = {k: v for k, v in value.items() if k != IDENTITY}
    got = np.asarray(value[IDENTITY], dtype=np.float64).ravel()
    if got.shape != (1,) or got[0] != identity_of(obj):
        raise ValueError(f"this state was taken from another kind of object (class, dtype or parameters differ "
                         f"from this {type(obj).__name__}); a state restores only an object built the same way")
    return rest


class StatefulCore:
    """What every wrapper of a stateful core object shares: ``reset``, ``params``, the ``state``
    property and the versioned pickling record ``{"format": 1, "class", "params", "state"}``
    (unpickling calls ``__init__(**params)`` and then restores the state)."""

    _core: Any
    _params: dict[str, Any]

    def reset(self) -> None:
        """Return to the state right after construction."""
        self._core.reset()

    @property
    def params(self) -> dict[str, Any]:
        """The constructor parameters (a copy)."""
        return dict(self._params)

    @property
    def state(self) -> dict[str, np.ndarray]:
        """A copy of the full evolving state, as named float64 arrays. Assigning a dict taken from
        an object built the same way (class, dtype, parameters) restores it (validated: a wrong
        field or size is a ``ValueError``; so is a state of another kind of object, recognised by
        its ``"identity"`` entry, a fingerprint of class, dtype and parameters — a state without
        it, from an earlier version, is taken on its fields alone)."""
        st = dict(self._core.get_state())
        st[IDENTITY] = np.array([identity_of(self)])
        return st

    @state.setter
    def state(self, value: dict[str, Any]) -> None:
        if not isinstance(value, dict):
            raise TypeError(f"state must be a dict; got {type(value).__name__}")
        self._core.set_state(split_identity(self, value))

    def __getstate__(self) -> dict[str, Any]:
        return {"format": _FORMAT, "class": type(self).__name__, "params": self._params,
                "state": self.state}

    def __setstate__(self, record: dict[str, Any]) -> None:
        fmt = record.get("format")
        if fmt != _FORMAT:
            raise ValueError(f"unsupported pickle format {fmt!r} for {type(self).__name__}; "
                             f"this version reads format {_FORMAT}")
        self.__init__(**record["params"])  # type: ignore[misc]
        self.state = record["state"]


class Processor(StatefulCore):
    """Common behaviour of streaming processors.

    Streaming contract: ``process(chunk)`` (also ``p(chunk)``) takes any number of samples,
    including zero, and returns the output for exactly those samples; any split of a signal gives
    output bit-identical to one call. ``reset()`` returns to the initial state; ``copy.deepcopy``
    and ``pickle`` keep the full state. Chunks are ``(n_samples, n_channels)`` arrays (time-major);
    for one channel a 1-D array is accepted and gives 1-D output. The object's ``dtype`` (float32
    or float64) is fixed at construction; other numeric input is converted to it.
    """

    _core: Any
    _params: dict[str, Any]
    _class_params: ClassVar[tuple[str, ...]] = ()

    def _init_core(self, core: Any, params: dict[str, Any], dtype: np.dtype[Any]) -> None:
        self._core = core
        self._params = params
        self._dtype = dtype
        # Bind the core's method on the instance: no Python frame on the hot path.
        self.process = core.process  # type: ignore[method-assign]

    def process(self, x: npt.ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        """Process a chunk ``(n_samples, n_channels)`` (or 1-D for one channel).

        Returns a new array of the object's dtype and the same shape, or ``out`` when given (a
        C-contiguous array of the object's dtype and ``x``'s shape; it may be ``x`` itself for
        in-place processing, and saves the allocation in real-time loops)."""
        return self._core.process(x, out)  # pragma: no cover - replaced per instance by the core method

    def __call__(self, x: npt.ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        return self._core.process(x, out)

    @property
    def n_channels(self) -> int:
        """Number of channels, fixed at construction."""
        return int(self._core.n_channels)

    @property
    def dtype(self) -> np.dtype[Any]:
        """Sample dtype of input and output (float32 or float64)."""
        return self._dtype

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items() if k not in ("sos", "stages"))
        return f"{type(self).__name__}({args})"

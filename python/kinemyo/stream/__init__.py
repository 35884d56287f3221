"""Real-time processing: the online pipeline, and Lab Streaming Layer (LSL) in and out.

:class:`OnlinePipeline` runs a pipeline configuration causally on pushed chunks (no LSL needed:
embed it in an app and push arrays). :class:`LSLRunner` pulls chunks from LSL inlets (EMG, IMUs,
found by name or type), runs the online pipeline and pushes results to LSL outlets: envelopes and
angles as regular streams, events as an irregular marker stream (JSON strings). :func:`replay`
plays a recording to LSL outlets at its real rate (for tests, demos and dry runs).
``kinemyo stream`` is the command line of :class:`LSLRunner`. LSL needs pylsl
(``pip install 'kinemyo[stream]'``), imported only when an LSL function is used. See docs/stream.md.
"""

from __future__ import annotations

from typing import Any

from ._measures import OnlineHolds, OnlineMovementOnsets, OnlineRepetitions
from ._online import OnlineOutput, OnlinePipeline

__all__ = ["LSLRunner", "OnlineHolds", "OnlineMovementOnsets", "OnlineOutput", "OnlinePipeline",
           "OnlineRepetitions", "replay"]


def __getattr__(name: str) -> Any:  # LSL parts load pylsl lazily
    if name in ("LSLRunner", "replay"):
        from . import _lsl

        return getattr(_lsl, name)
    raise AttributeError(f"module 'kinemyo.stream' has no attribute {name!r}")

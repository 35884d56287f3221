"""
kinemyo C++ core (private: use the kinemyo package)
"""
from __future__ import annotations

import collections.abc
import typing

import numpy
import numpy.typing

__all__: list[str] = ['Chain_f32', 'Chain_f64', 'Envelope_f32', 'Envelope_f64', 'MovingWindow_f32', 'MovingWindow_f64', 'Processor_f32', 'Processor_f64', 'SosFilter_f32', 'SosFilter_f64', 'TKEO_f32', 'TKEO_f64', 'butter', 'lumbar_angles', 'notch', 'simd_level', 'sosfilt_f32', 'sosfilt_f64', 'sosfilt_zi', 'sosfiltfilt_f32', 'sosfiltfilt_f64', 'sosfiltfilt_padlen']
class Processor_f32:
    def clone(self) -> Processor_f32:
        ...
    def get_state(self) -> dict:
        ...
    def process(self, x: typing.Any) -> numpy.typing.NDArray[numpy.float32]:
        """
        Process a chunk (n_samples, n_channels) (or 1-D for one channel); returns a new array.
        """
    def reset(self) -> None:
        ...
    def set_state(self, arg0: dict) -> None:
        ...
    @property
    def n_channels(self) -> int:
        ...
class SosFilter_f32(Processor_f32):
    def __init__(self, sos: typing.Any, n_channels: typing.SupportsInt | typing.SupportsIndex, init: str = 'zero') -> None:
        ...
    @property
    def n_nonfinite(self) -> list[int]:
        ...
    @property
    def sos(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
class MovingWindow_f32(Processor_f32):
    def __init__(self, fs: typing.SupportsFloat | typing.SupportsIndex, n_channels: typing.SupportsInt | typing.SupportsIndex, window_s: typing.SupportsFloat | typing.SupportsIndex, rms: bool) -> None:
        ...
    @property
    def window_samples(self) -> int:
        ...
class TKEO_f32(Processor_f32):
    def __init__(self, n_channels: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class Envelope_f32(Processor_f32):
    def __init__(self, fs: typing.SupportsFloat | typing.SupportsIndex, n_channels: typing.SupportsInt | typing.SupportsIndex, cutoff: typing.SupportsFloat | typing.SupportsIndex, order: typing.SupportsInt | typing.SupportsIndex, highpass: typing.SupportsFloat | typing.SupportsIndex | None, highpass_order: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class Chain_f32(Processor_f32):
    def __init__(self, stages: collections.abc.Sequence[Processor_f32]) -> None:
        ...
class Processor_f64:
    def clone(self) -> Processor_f64:
        ...
    def get_state(self) -> dict:
        ...
    def process(self, x: typing.Any) -> numpy.typing.NDArray[numpy.float64]:
        """
        Process a chunk (n_samples, n_channels) (or 1-D for one channel); returns a new array.
        """
    def reset(self) -> None:
        ...
    def set_state(self, arg0: dict) -> None:
        ...
    @property
    def n_channels(self) -> int:
        ...
class SosFilter_f64(Processor_f64):
    def __init__(self, sos: typing.Any, n_channels: typing.SupportsInt | typing.SupportsIndex, init: str = 'zero') -> None:
        ...
    @property
    def n_nonfinite(self) -> list[int]:
        ...
    @property
    def sos(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
class MovingWindow_f64(Processor_f64):
    def __init__(self, fs: typing.SupportsFloat | typing.SupportsIndex, n_channels: typing.SupportsInt | typing.SupportsIndex, window_s: typing.SupportsFloat | typing.SupportsIndex, rms: bool) -> None:
        ...
    @property
    def window_samples(self) -> int:
        ...
class TKEO_f64(Processor_f64):
    def __init__(self, n_channels: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class Envelope_f64(Processor_f64):
    def __init__(self, fs: typing.SupportsFloat | typing.SupportsIndex, n_channels: typing.SupportsInt | typing.SupportsIndex, cutoff: typing.SupportsFloat | typing.SupportsIndex, order: typing.SupportsInt | typing.SupportsIndex, highpass: typing.SupportsFloat | typing.SupportsIndex | None, highpass_order: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class Chain_f64(Processor_f64):
    def __init__(self, stages: collections.abc.Sequence[Processor_f64]) -> None:
        ...
def _set_max_simd_level(level: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Testing only: cap the SOS kernel's instruction set for the whole process.
    """
def butter(order: typing.SupportsInt | typing.SupportsIndex, cutoff: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], fs: typing.SupportsFloat | typing.SupportsIndex, btype: str) -> numpy.typing.NDArray[numpy.float64]:
    ...
def lumbar_angles(upper_mount: typing.Annotated[collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], "FixedSize(4)"], lower_mount: typing.Annotated[collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], "FixedSize(4)"], neutral_offset: typing.Annotated[collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], "FixedSize(4)"], heading: str, up: typing.Annotated[collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], "FixedSize(3)"], q_upper: typing.Any, q_lower: typing.Any) -> numpy.typing.NDArray[numpy.float64]:
    ...
def notch(freq: typing.SupportsFloat | typing.SupportsIndex, fs: typing.SupportsFloat | typing.SupportsIndex, q: typing.SupportsFloat | typing.SupportsIndex, harmonics: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float64]:
    ...
def simd_level() -> int:
    """
    Instruction set of the SOS kernel: 0 baseline x86-64, 1 AVX2+FMA, 2 AVX-512F.
    """
def sosfilt_f32(sos: typing.Any, x: typing.Any) -> numpy.typing.NDArray[numpy.float32]:
    ...
def sosfilt_f64(sos: typing.Any, x: typing.Any) -> numpy.typing.NDArray[numpy.float64]:
    ...
def sosfilt_zi(sos: typing.Any) -> numpy.typing.NDArray[numpy.float64]:
    ...
def sosfiltfilt_f32(sos: typing.Any, x: typing.Any, padlen: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    ...
def sosfiltfilt_f64(sos: typing.Any, x: typing.Any, padlen: typing.Any = None) -> numpy.typing.NDArray[numpy.float64]:
    ...
def sosfiltfilt_padlen(sos: typing.Any) -> int:
    ...
__version__: str = '0.1.0'

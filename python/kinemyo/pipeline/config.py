"""Pipeline configuration: a TOML file, validated up front against a documented schema.

Every key has a type, a default and (where it matters) an allowed range; unknown sections or keys,
wrong types and out-of-range values are reported together, each naming the file, the key and what
is allowed — before any data is read. ``kinemyo config`` prints the full default file (every key
documented, :func:`default_toml`); ``kinemyo config --check FILE`` validates a file.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from .. import fusion, onset

__all__ = ["SCHEMA", "ConfigError", "PipelineConfig", "default_toml", "load_config", "parse_config"]


class ConfigError(ValueError):
    """Invalid pipeline configuration; ``problems`` lists every problem found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: invalid pipeline configuration:\n  - " + "\n  - ".join(problems))


@dataclasses.dataclass(frozen=True)
class Key:
    """One configuration key: its type(s), default, check and documentation."""

    types: tuple[type, ...]
    default: Any
    doc: str
    check: Callable[[Any], str | None] | None = None


def _positive(v: Any) -> str | None:
    return None if v > 0 else "must be > 0"


def _non_negative(v: Any) -> str | None:
    return None if v >= 0 else "must be >= 0"


def _is_number(t: Any) -> bool:
    """An int or float, not a bool (TOML ``true`` is not a time)."""
    return isinstance(t, (int, float)) and not isinstance(t, bool)


def _window(v: Any) -> str | None:
    if v is None:
        return None
    if not (isinstance(v, list) and len(v) == 2 and all(_is_number(t) for t in v)):
        return "must be [t0_s, t1_s]"
    return None if 0 <= v[0] < v[1] else "must satisfy 0 <= t0 < t1"


def _band(v: Any) -> str | None:
    if not (isinstance(v, list) and len(v) == 2 and all(_is_number(t) for t in v)):
        return "must be [low_hz, high_hz]"
    return None if 0 < v[0] < v[1] else "must satisfy 0 < low < high"


def _one_of(*allowed: str) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if v in allowed else "must be one of " + ", ".join(repr(a) for a in allowed)

    return check


def _int_range(lo: int, hi: int) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if lo <= v <= hi else f"must be in {lo}..{hi}"

    return check


def _axes(v: Any) -> str | None:
    ok = {"x", "y", "z", "-x", "-y", "-z", "+x", "+y", "+z"}
    if not (isinstance(v, list) and len(v) == 2 and all(isinstance(a, str) and a in ok for a in v)):
        return "must be [up_axis, out_axis], e.g. ['x', 'z']"
    if v[0][-1] == v[1][-1]:
        return "must name two different (perpendicular) sensor axes, e.g. ['x', 'z']"
    return None


def _notch(v: Any) -> str | None:
    if isinstance(v, str):
        return None if v == "auto" else "must be a number >= 0 or 'auto'"
    return None if v >= 0 else "must be >= 0 (or 'auto')"


NUM = (float,)  # integers are accepted and widened
WINDOW = (list, type(None))

# the methods the modules accept, from the modules themselves (the pipeline imports them anyway)
_ONSET_METHODS: tuple[str, ...] = tuple(onset.METHODS)
_FUSION_METHODS: tuple[str, ...] = tuple(fusion._METHODS)

#: The schema: section -> key -> Key. Documented in docs/pipeline.md.
SCHEMA: dict[str, dict[str, Key]] = {
    "streams": {
        "emg": Key((str,), "emg", "name of the EMG stream in the recording"),
        "imu_upper": Key((str,), "imu_upper", "name of the upper-trunk IMU stream (L1/T12)"),
        "imu_lower": Key((str,), "imu_lower", "name of the lower-trunk IMU stream (S1)"),
    },
    "emg": {
        "enabled": Key((bool,), True, "process the EMG stream"),
        "notch_hz": Key((float, str), 50.0, "power-line frequency to notch out (0 disables; 'auto': 50 or 60 "
                        "when kinemyo.onset.estimate_mains finds hum in the recording, offline only)", _notch),
        "notch_harmonics": Key((int,), 3, "number of notches (fundamental included)", _int_range(1, 20)),
        "bandpass_hz": Key((list,), [20.0, 450.0], "band-pass of the raw EMG in Hz", _band),
        "bandpass_order": Key((int,), 4, "Butterworth order of the band-pass", _int_range(1, 10)),
        "envelope_cutoff_hz": Key(NUM, 6.0, "low-pass cut-off of the linear envelope", _positive),
        "rms_window_s": Key(NUM, 0.1, "moving-RMS window (its peak, evaluated at ~100 Hz, is emg_rms_max)", _positive),
        "zero_phase": Key((bool,), True, "offline zero-phase filtering (sosfiltfilt) instead of causal"),
    },
    "onset": {
        "enabled": Key((bool,), True, "detect muscle-activation onsets"),
        "method": Key((str,), "default", f"onset detector (see kinemyo.onset): {', '.join(_ONSET_METHODS)}",
                      _one_of(*_ONSET_METHODS)),
        "rest_s": Key(WINDOW, None, "rest window [t0, t1] in s for the baseline (default: automatic)", _window),
        "ecg": Key((str,), "highpass", "ECG handling", _one_of("none", "highpass", "template")),
        "min_duration_s": Key(NUM, 0.05, "minimum active duration", _non_negative),
        "min_gap_s": Key(NUM, 0.05, "bursts closer than this are merged", _non_negative),
    },
    "fusion": {
        "enabled": Key((bool,), True, "estimate sensor orientations from the IMU streams"),
        "method": Key((str,), "default", f"orientation filter (see kinemyo.fusion): {', '.join(_FUSION_METHODS)}",
                      _one_of(*_FUSION_METHODS)),
        "offline": Key((bool,), True, "non-causal forward-backward estimation for recorded files"),
        "magnetometer": Key((bool,), False, "use the magnetometer (9D) when the streams have one"),
    },
    "kinematics": {
        "enabled": Key((bool,), True, "compute lumbar angles"),
        "neutral_s": Key(WINDOW, None, "static neutral standing window [t0, t1] in s (required for calibration)",
                         _window),
        "flexion_s": Key(WINDOW, None, "functional forward-flexion window [t0, t1] in s (optional)", _window),
        "mounting": Key((list,), ["x", "z"], "sensor axes pointing up the spine and out of the back", _axes),
        "heading": Key((str,), "auto", "heading handling", _one_of("auto", "align", "absolute")),
    },
    "metrics": {
        "enabled": Key((bool,), True, "compute the clinical measures"),
        "hold_tolerance_deg": Key(NUM, 3.0, "a hold stays within this band of its mean angle", _positive),
        "hold_min_s": Key(NUM, 2.0, "shortest hold reported", _positive),
        "hold_limit_s": Key(NUM, 30.0, "holds longer than this are flagged", _positive),
        "rep_min_amplitude_deg": Key(NUM, 10.0, "smallest flexion-extension excursion counted as a repetition",
                                     _positive),
        "movement_threshold_deg_s": Key(NUM, 10.0, "smallest trunk angular speed that counts as movement "
                                        "(0: from the rest noise alone)", _non_negative),
    },
    "output": {
        "formats": Key((list,), ["csv"], "table formats to write besides the JSON summary: csv, parquet",
                       lambda v: None if all(f in ("csv", "parquet") for f in v) else "items must be csv or parquet"),
        "report": Key((bool,), True, "write the PNG and HTML report"),
        "signals": Key((bool,), True, "write the processed signals (angles, envelopes), not only events and metrics"),
    },
}


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """A validated configuration: ``cfg["emg"]["notch_hz"]``; ``source`` names where it came from."""

    sections: Mapping[str, Mapping[str, Any]]
    source: str = "<defaults>"

    def __getitem__(self, section: str) -> Mapping[str, Any]:
        return self.sections[section]

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {s: dict(v) for s, v in self.sections.items()}

    def fingerprint(self) -> str:
        """Stable hash of the effective configuration (batch resume compares it)."""
        import hashlib
        import json

        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def _type_name(types: tuple[type, ...]) -> str:
    names = {int: "integer", float: "number", bool: "true/false", str: "string", list: "array",
             type(None): "omitted"}
    return " or ".join(dict.fromkeys(names.get(t, t.__name__) for t in types))


def parse_config(data: Mapping[str, Any], source: str = "<dict>") -> PipelineConfig:
    """Validate a configuration mapping (a parsed TOML file, or a dict such as
    ``{"kinematics": {"neutral_s": [1, 9]}}``) and return it as a :class:`PipelineConfig` with every
    omitted key at its default. Integers are accepted where numbers are. ``source`` names the
    configuration in the errors.

    Raises :class:`ConfigError` (a ``ValueError``) listing every problem: unknown sections or keys,
    wrong types, values out of range."""
    problems: list[str] = []
    out: dict[str, dict[str, Any]] = {}
    for section in data:
        if section not in SCHEMA:
            problems.append(f"unknown section [{section}]; allowed: {', '.join(SCHEMA)}")
    for section, keys in SCHEMA.items():
        given = data.get(section, {})
        if not isinstance(given, Mapping):
            problems.append(f"[{section}] must be a table")
            given = {}
        values: dict[str, Any] = {}
        for k in given:
            if k not in keys:
                problems.append(f"unknown key {section}.{k}; allowed: {', '.join(keys)}")
        for k, spec in keys.items():
            v = given.get(k, spec.default)
            if isinstance(v, bool) and bool not in spec.types:
                ok = False
            elif isinstance(v, int) and float in spec.types and int not in spec.types:
                v, ok = float(v), True
            else:
                ok = isinstance(v, spec.types)
            if not ok:
                problems.append(f"{section}.{k} must be {_type_name(spec.types)} ({spec.doc}); got {v!r}")
                continue
            if spec.check is not None and v is not None:
                msg = spec.check(v)
                if msg:
                    problems.append(f"{section}.{k} {msg}; got {v!r}")
                    continue
            values[k] = v
        out[section] = values
    if problems:
        raise ConfigError(source, problems)
    return PipelineConfig(out, source)


def load_config(path: str | os.PathLike[str] | None) -> PipelineConfig:
    """Read and validate a TOML pipeline file (``None``: the defaults) with :func:`parse_config`.

    Raises :class:`ConfigError` naming the file for a missing or unreadable file, invalid TOML or
    an invalid configuration."""
    if path is None:
        return parse_config({}, "<defaults>")
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    src = os.fspath(path)
    try:
        with open(src, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(src, ["file not found"]) from None
    except OSError as exc:
        raise ConfigError(src, [f"cannot read: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(src, [f"not valid TOML: {exc}"]) from None
    except UnicodeDecodeError as exc:  # TOML files are UTF-8 (a Latin-1 "ü" in a comment, say)
        raise ConfigError(src, [f"not valid UTF-8 text (TOML files must be UTF-8; save it as UTF-8): byte "
                                f"{exc.object[exc.start:exc.start + 1]!r} at offset {exc.start}"]) from None
    return parse_config(data, src)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


def default_toml() -> str:
    """The default configuration as a commented TOML file."""
    lines = ["# kinemyo pipeline configuration (all keys optional; these are the defaults)", ""]
    for section, keys in SCHEMA.items():
        lines.append(f"[{section}]")
        for k, spec in keys.items():
            if spec.default is None:
                lines.append(f"# {k} = [t0_s, t1_s]    # {spec.doc}")
            else:
                lines.append(f"{k} = {_toml_value(spec.default)}    # {spec.doc}")
        lines.append("")
    return "\n".join(lines)

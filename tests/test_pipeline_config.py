"""Pipeline configuration: defaults round-trip, every bad input named with file and key."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kinemyo.pipeline import ConfigError, default_toml, load_config, parse_config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_defaults_round_trip(tmp_path: Path) -> None:
    text = default_toml()
    cfg = parse_config(tomllib.loads(text))
    assert cfg.to_dict() == load_config(None).to_dict()
    p = tmp_path / "p.toml"
    p.write_text(text)
    assert load_config(p).fingerprint() == cfg.fingerprint()


def test_values_are_typed_and_ints_widen() -> None:
    cfg = parse_config({"emg": {"notch_hz": 60, "bandpass_hz": [10, 400]}})
    assert cfg["emg"]["notch_hz"] == 60.0 and isinstance(cfg["emg"]["notch_hz"], float)
    assert cfg["kinematics"]["neutral_s"] is None


@pytest.mark.parametrize("data,fragment", [
    ({"nope": {}}, "unknown section [nope]"),
    ({"emg": {"notchhz": 50}}, "unknown key emg.notchhz"),
    ({"emg": {"notch_hz": "fifty"}}, "emg.notch_hz must be a number >= 0 or 'auto'"),
    ({"emg": {"notch_hz": True}}, "emg.notch_hz must be number or string"),
    ({"emg": {"notch_hz": -50}}, "emg.notch_hz must be >= 0 (or 'auto')"),
    ({"emg": {"bandpass_hz": [450, 20]}}, "emg.bandpass_hz must satisfy 0 < low < high"),
    ({"emg": {"bandpass_order": 11}}, "emg.bandpass_order must be in 1..10"),
    ({"onset": {"ecg": "magic"}}, "onset.ecg must be one of"),
    ({"kinematics": {"neutral_s": [3]}}, "kinematics.neutral_s must be [t0_s, t1_s]"),
    # review: TOML true passed as a time (bool is an int in Python)
    ({"kinematics": {"neutral_s": [True, 5]}}, "kinematics.neutral_s must be [t0_s, t1_s]"),
    ({"emg": {"bandpass_hz": [20, True]}}, "emg.bandpass_hz must be [low_hz, high_hz]"),
    ({"kinematics": {"mounting": ["x", "q"]}}, "kinematics.mounting must be [up_axis, out_axis]"),
    # review: these passed `kinemyo config --check` and then failed every file
    ({"kinematics": {"mounting": ["x", "x"]}}, "kinematics.mounting must name two different (perpendicular)"),
    ({"kinematics": {"mounting": ["-z", "z"]}}, "kinematics.mounting must name two different (perpendicular)"),
    ({"onset": {"method": "bogus"}}, "onset.method must be one of 'default', 'cusum', 'hodges_bui'"),
    ({"fusion": {"method": "nope"}}, "fusion.method must be one of 'default', 'robust', 'madgwick'"),
    ({"metrics": {"hold_limit_s": 0}}, "metrics.hold_limit_s must be > 0"),
    ({"output": {"formats": ["xlsx"]}}, "output.formats items must be csv or parquet"),
    ({"emg": 5}, "[emg] must be a table"),
])
def test_bad_values_are_named(data, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "session.toml")
    assert "session.toml" in str(info.value)
    assert fragment in str(info.value)


def test_all_problems_reported_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"emg": {"notch_hz": -1, "x": 1}, "y": {}})
    assert len(info.value.problems) == 3


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[emg\nnotch_hz = ")
    with pytest.raises(ConfigError, match=r"(?s)bad\.toml.*not valid TOML"):
        load_config(bad)


def test_methods_are_the_modules_own() -> None:
    """The allowed methods come from kinemyo.onset and kinemyo.fusion (one list each), and every one
    of them passes."""
    from kinemyo import fusion, onset

    for m in onset.METHODS:
        assert parse_config({"onset": {"method": m}})["onset"]["method"] == m
    for m in fusion._METHODS:
        assert parse_config({"fusion": {"method": m}})["fusion"]["method"] == m
    assert parse_config({"kinematics": {"mounting": ["-y", "+x"]}})["kinematics"]["mounting"] == ["-y", "+x"]


def test_config_file_that_is_not_utf8(tmp_path: Path) -> None:
    """Review: a Latin-1 file (an umlaut in a comment) gave a UnicodeDecodeError traceback."""
    bad = tmp_path / "latin1.toml"
    bad.write_bytes("# Konfiguration f\u00fcr Patient M\u00fcller\n[emg]\nnotch_hz = 50.0\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"(?s)latin1\.toml.*not valid UTF-8 text.*offset 17"):
        load_config(bad)

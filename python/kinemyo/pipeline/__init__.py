"""The processing pipeline: a validated TOML configuration applied to a recording."""

from .config import SCHEMA, ConfigError, PipelineConfig, default_toml, load_config, parse_config
from .run import Result, run, write_result

__all__ = ["SCHEMA", "ConfigError", "PipelineConfig", "Result", "default_toml", "load_config", "parse_config", "run",
           "write_result"]

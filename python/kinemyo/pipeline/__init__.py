"""The processing pipeline: a validated TOML configuration applied to a recording."""

from .config import SCHEMA, ConfigError, PipelineConfig, default_toml, load_config, parse_config

__all__ = ["SCHEMA", "ConfigError", "PipelineConfig", "default_toml", "load_config", "parse_config"]

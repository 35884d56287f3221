"""The ``kinemyo`` command line."""

from __future__ import annotations

import sys
import time

import click

from . import __version__

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kinemyo")
def main() -> None:
    """kinemyo: wearable IMU and surface-EMG processing (lumbar kinematics, muscle onsets)."""


@main.command()
@click.option("--seconds", default=60.0, show_default=True, type=click.FloatRange(min=1.0),
              help="Length of the generated example in seconds.")
@click.option("--channels", default=8, show_default=True, type=click.IntRange(min=1, max=256),
              help="Number of EMG channels.")
@click.option("--seed", default=7, show_default=True, type=int, help="Random seed of the example.")
def demo(seconds: float, channels: int, seed: int) -> None:
    """Filter a generated multi-channel EMG example and print what each step did."""
    from ._demo import run_demo

    run_demo(seconds=seconds, n_channels=channels, seed=seed, out=sys.stdout, clock=time.perf_counter)


if __name__ == "__main__":  # pragma: no cover
    main()

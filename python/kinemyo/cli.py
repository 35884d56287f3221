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


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON instead of text.")
@click.option("--gaps/--no-gaps", default=True, show_default=True,
              help="Also report gaps and drop-outs found from the timestamps.")
@click.option("--fs", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="CSV without a time column: sampling rate in Hz.")
@click.option("--time-column", default=None, help="CSV: name of the time column (default: detected).")
def info(file: str, as_json: bool, gaps: bool, fs: float | None, time_column: str | None) -> None:
    """Show the streams of a recording FILE: rates, durations, channel names.

    Reads CSV/TSV, EDF/BDF, C3D, XDF, HDF5 and Parquet (by extension). Exits with status 1 and
    the reason when the file cannot be read.
    """
    import json

    from . import io as kio

    options: dict[str, object] = {}
    if fs is not None:
        options["fs"] = fs
    if time_column is not None:
        options["time_column"] = time_column
    try:
        rec = kio.read(file, **options)
    except (kio.ReadError, kio.MissingDependencyError) as e:
        raise click.ClickException(str(e)) from None
    except TypeError as e:  # a CSV-only option given for another format
        raise click.UsageError(f"{file}: {e}") from None
    found = kio.find_gaps(rec) if gaps else []
    if as_json:
        doc = rec.summary()
        if gaps:
            doc["gaps"] = [g.to_dict() for g in found]
        click.echo(json.dumps(doc, indent=2, default=str))
        return
    click.echo(rec.describe())
    if gaps:
        if not found:
            click.echo("no gaps or drop-outs found")
        for g in found[:20]:
            what = "missing samples" if g.kind == "time" else "non-finite samples"
            click.echo(f"  gap in {g.stream}: {g.n_missing} {what}, {g.start:.4f} s to {g.end:.4f} s")
        if len(found) > 20:
            click.echo(f"  ... and {len(found) - 20} more (use --json for all)")


if __name__ == "__main__":  # pragma: no cover
    main()

"""``mujun synth``: write synthetic enterprise tables (stage before the engine) for tests, demos and benchmarks.

The command only parses options, calls :func:`mujun.synth.generate` and writes the tables; the format
follows the file extension so the same command feeds CSV-minded officials and Parquet pipelines.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import typer

from mujun.synth import generate

__all__ = ["register", "write_table"]

_FORMATS = (".parquet", ".csv", ".jsonl")


def register(app: typer.Typer) -> None:
    """Add the ``synth`` command to the app."""
    app.command("synth")(synth)


def synth(
    output: Path = typer.Option(..., "--output", "-o", help="Current-year table: .parquet, .csv or .jsonl."),
    n: int = typer.Option(10_000, "--n", min=0, help="Number of enterprises in the current year."),
    regions: int = typer.Option(10, "--regions", min=1, help="Number of counties (six-digit region codes)."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives the same tables."),
    bad_fraction: float = typer.Option(0.02, "--bad-fraction", min=0.0, max=0.5, help="Share of faulty rows."),
    prior: Path | None = typer.Option(None, "--prior", help="Also write the prior-year table here."),
) -> None:
    """Write realistic synthetic enterprise records (money in 万元) for a current and a prior year."""
    for path in (output, prior):
        if path is not None and path.suffix.lower() not in _FORMATS:
            raise typer.BadParameter(f"{path}: use one of {', '.join(_FORMATS)}", param_hint="--output/--prior")
    current_year, prior_year = generate(n, regions, seed, bad_fraction=bad_fraction)
    write_table(current_year, output)
    if prior is not None:
        write_table(prior_year, prior)
    typer.echo(f"wrote {current_year.height} enterprises to {output}" + (f", {prior_year.height} to {prior}" if prior else ""))


def write_table(table: pl.DataFrame, path: Path) -> None:
    """Write by extension; CSV has no list type, so ``flags`` becomes a ``;``-joined string there."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        table.write_parquet(path)
    elif suffix == ".csv":
        table.with_columns(pl.col(pl.List(pl.String)).list.join(";")).write_csv(path)
    else:
        table.write_ndjson(path)

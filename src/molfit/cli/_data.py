"""``molfit data ...``: list and show the built-in datasets, check a user file for bad rows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from molfit.cli._app import app
from molfit.cli._examples import epilog

data_app = typer.Typer(
    name="data",
    help="Built-in datasets and checks of your own data files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)


@data_app.command("list", epilog=epilog("data list"))
def list_command() -> None:
    """List the built-in datasets: name, size, task, targets with units."""
    from molfit.data import list_datasets

    rows = [
        [d.name, f"{d.n_molecules:,}", d.task, d.targets_text(limit=4), d.package]
        for d in list_datasets()
    ]
    typer.echo(_table(rows, ["name", "size", "task", "targets [unit]", "package"]))


@data_app.command("show", epilog=epilog("data show"))
def show_command(
    name: Annotated[str, typer.Argument(help="dataset name, see `molfit data list`")],
    rows: Annotated[int, typer.Option("--rows", "-n", help="rows of the table to print")] = 5,
) -> None:
    """Describe a built-in dataset: source, licence, targets and units, first rows, label stats."""
    import pandas as pd

    from molfit.data import load

    ds = load(name)
    info = ds.info
    if info is not None:
        typer.echo(f"{info.name}: {info.title}")
        typer.echo(f"  source:   {info.source}")
        typer.echo(f"  license:  {info.license}")
        typer.echo(f"  cite:     {info.citation}")
        task = "unlabelled (a library to screen)" if ds.task == "unlabelled" else ds.task
        typer.echo(f"  size:     {len(ds):,} molecules, task: {task}")
        if ds.structures is not None:
            typer.echo(f"  3D:       {ds.structures}  (positions in Å)")
        typer.echo("  targets:" if info.targets else "  targets:  none")
        for t in info.targets.values():
            unit = f" [{t.unit}]" if t.unit else ""
            typer.echo(f"    {t.name}{unit}: {t.description}")
        typer.echo(f"  notes:    {info.description}")
    typer.echo("")
    with pd.option_context("display.max_columns", 12, "display.width", 120):
        typer.echo(ds.frame.head(max(rows, 0)).to_string(max_colwidth=40))
    if ds.task == "unlabelled":
        return
    typer.echo("")
    typer.echo("label statistics:")
    typer.echo(ds.label_stats().to_string(index=False, float_format=lambda v: f"{v:.4g}"))


@data_app.command("check", epilog=epilog("data check"))
def check_command(
    file: Annotated[Path, typer.Argument(help="CSV, TSV, Parquet, .smi, SDF, XYZ or extxyz file")],
    smiles_column: Annotated[
        str | None,
        typer.Option("--smiles-column", "-s", help="the SMILES column (default: detect)"),
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option("--target", "-t", help="a label column (repeat for several)"),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="fail on the first bad row")] = False,
) -> None:
    """Read a data file and report how many rows are usable and why the others are not.

    Exit code 0 when every row is fine, 1 when some rows were skipped, 2 on an error
    (missing file or column, or the first bad row with --strict).
    """
    import numpy as np

    from molfit.data import read

    suffix = file.suffix.lower()
    options: dict[str, object] = {"strict": strict}
    if suffix not in (".xyz", ".extxyz"):
        options.update(smiles_column=smiles_column, target_columns=target or None)
    ds = read(file, **options)
    report = ds.report
    typer.echo(report.summary(max_issues=50) if report is not None else f"{file}: {len(ds)} rows")
    if ds.target_columns:
        typer.echo(f"targets: {', '.join(ds.target_columns)} (task: {ds.task})")
    if ds.structures is not None:
        typer.echo(f"structures: {ds.structures}")
    if ds.target_columns:
        y = ds.y
        for t, name in enumerate(ds.target_columns):
            missing = int((~np.isfinite(y[:, t])).sum())
            if missing:
                typer.echo(
                    f"{name}: {len(ds) - missing} of {len(ds)} rows labelled, "
                    f"{missing} without a label"
                )
    if report is not None and not report.ok:
        raise typer.Exit(code=1)

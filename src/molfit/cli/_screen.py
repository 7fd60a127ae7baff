"""``molfit screen``: a saved run over a library of any size, streamed, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from molfit.cli._app import app
from molfit.cli._common import RunDirArg, run_path, warn


@app.command("screen")
def screen_command(
    run_dir: RunDirArg,
    library: Annotated[
        str,
        typer.Argument(
            help="A .smi/.csv/.tsv/.parquet/.sdf file (plain or .gz) or a built-in dataset "
            "name, e.g. moses."
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder (an unfinished screen resumes).")
    ],
    top: Annotated[int, typer.Option("--top", help="Rows in top.csv.", min=0)] = 100,
    diverse: Annotated[
        bool, typer.Option("--diverse", help="MaxMin pick of the top on ECFP4 fingerprints.")
    ] = False,
    filter_: Annotated[
        str | None,
        typer.Option(
            "--filter", help="Comma-separated: pains, brenk, lipinski (flags; not in top)."
        ),
    ] = None,
    dedupe: Annotated[
        bool, typer.Option("--dedupe", help="Flag repeated canonical SMILES; keep the first.")
    ] = False,
    lowest: Annotated[bool, typer.Option("--lowest", help="Rank the lowest scores first.")] = False,
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", help="Library rows per part.", min=1)
    ] = 2_000,
    workers: Annotated[
        int, typer.Option("--workers", help="Processes predicting chunks.", min=1)
    ] = 1,
    smiles_column: Annotated[
        str | None, typer.Option("--smiles-column", "-s", help="SMILES column of a table.")
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")
    ] = True,
    dask: Annotated[
        bool, typer.Option("--dask", help="A Dask LocalCluster of --workers processes.")
    ] = False,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786."),
    ] = None,
) -> None:
    """Predict every library row into Parquet parts, then summary.json and top.csv."""
    from molfit.errors import InputError
    from molfit.screen import screen

    try:
        summary = screen(
            run_path(run_dir),
            library,
            out,
            chunk_size=chunk_size,
            top=top,
            diverse=diverse,
            filters=filter_,
            dedupe=dedupe,
            workers=workers,
            smiles_column=smiles_column,
            lowest=lowest,
            progress=progress,
            dask=dask,
            scheduler=scheduler,
        )
    except InputError as exc:
        if (out / "summary.json").is_file() and "truncated" in str(exc):
            typer.echo(f"partial screen (library unreadable past a point) -> {out}")
        raise
    resumed = f" (resumed after {summary.resumed_parts} part(s))" if summary.resumed_parts else ""
    typer.echo(
        f"screened {summary.n_rows} rows, {summary.n_predicted} predicted in "
        f"{summary.seconds:.1f} s{resumed} -> {out}"
    )
    if summary.n_outside_domain:
        typer.echo(f"{summary.n_outside_domain} predicted row(s) outside the applicability domain")
    if summary.n_duplicates:
        typer.echo(f"{summary.n_duplicates} duplicate row(s) (duplicate_of)")
    for name, n in summary.n_flagged.items():
        typer.echo(f"{n} row(s) flagged by {name}")
    typer.echo(f"top {summary.n_top} by {summary.score_column or 'score'} -> {summary.top}")
    if summary.n_rows and not summary.n_predicted:
        warn(f"no row of {library} could be predicted (see the error column)")
    for message in summary.errors[:10]:
        warn(message)
    if summary.n_failed > min(len(summary.errors), 10):
        warn(f"... and {summary.n_failed - min(len(summary.errors), 10)} more rows with errors")

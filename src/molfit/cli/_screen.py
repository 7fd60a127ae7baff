"""``molfit screen``: a saved run over a library of any size, streamed, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from molfit.cli._app import app
from molfit.cli._common import run_path, warn
from molfit.cli._examples import epilog


@app.command("screen", epilog=epilog("screen"))
def screen_command(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(
            help="Run directory written by `molfit train`, or a shipped pretrained model by "
            "name (`molfit models list`); several share one pass over the library (columns "
            "prefixed with each run's folder name).",
            show_default=False,
        ),
    ],
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
        str | None,
        typer.Option(
            "--dedupe",
            help="Flag repeated molecules by canonical SMILES (smiles) or InChIKey (inchikey); "
            "keep the first.",
        ),
    ] = None,
    lowest: Annotated[
        bool, typer.Option("--lowest", help="Rank the lowest scores first (every run).")
    ] = False,
    minimize: Annotated[
        list[str] | None,
        typer.Option(
            "--minimize",
            help="A run (as given, or its folder name) whose lowest scores rank first; "
            "repeat for several. The others: highest first.",
        ),
    ] = None,
    rank: Annotated[
        str,
        typer.Option(
            "--rank",
            help="Several runs: ensemble (mean z-score) or pareto (non-dominated fronts).",
        ),
    ] = "ensemble",
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
    """Predict every library row into Parquet parts, then summary.json, summary.html and
    top.csv (usage: molfit screen RUN [RUN ...] LIBRARY -o DIR)."""
    from molfit.errors import InputError
    from molfit.screen import screen

    try:
        summary = screen(
            str(run_path(run_dirs[0]))
            if len(run_dirs) == 1
            else [str(run_path(d)) for d in run_dirs],
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
            minimize=minimize,
            rank=rank,
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
    ranked = summary.ranking or summary.score_column or "score"
    typer.echo(f"top {summary.n_top} by {ranked} -> {summary.top}; report -> {summary.report}")
    if summary.n_rows and not summary.n_predicted:
        warn(f"no row of {library} could be predicted (see the error column)")
    for message in summary.errors[:10]:
        warn(message)
    if summary.n_failed > min(len(summary.errors), 10):
        warn(f"... and {summary.n_failed - min(len(summary.errors), 10)} more rows with errors")

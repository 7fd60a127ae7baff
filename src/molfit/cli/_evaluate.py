"""``molfit evaluate``: score a trained run on labelled data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from molfit.cli._app import app
from molfit.cli._common import RunDirArg, print_metrics, run_path, warn
from molfit.cli._examples import epilog


@app.command("evaluate", epilog=epilog("evaluate"))
def evaluate(
    run_dir: RunDirArg,
    data: Annotated[str, typer.Argument(help="A labelled file or a built-in dataset.")],
    smiles_column: Annotated[
        str | None, typer.Option("--smiles-column", "-s", help="SMILES column of a file.")
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option("--target", "-t", help="Target column(s), default: the model's."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Also write the metrics as JSON.")
    ] = None,
) -> None:
    """Accuracy, interval coverage and calibration of a run's model on new labelled data; rows
    the model was trained on are counted and flagged."""
    from molfit.workflows import evaluate_run

    result = evaluate_run(
        run_path(run_dir), data, smiles_column=smiles_column, targets=target or None
    )
    for message in result.warnings:
        warn(f"warning: {message}")
    print_metrics(result.metrics, result.task)
    if result.n_overlap:
        typer.echo(f"overlap with training set: {result.n_overlap} of {result.n_rows} rows")
    if out is not None:
        out.write_text(json.dumps(result.metrics, indent=2))
        typer.echo(f"metrics: {out}")

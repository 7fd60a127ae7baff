"""``molfit evaluate``: score a trained run on labelled data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from molfit.cli._app import app


@app.command("evaluate")
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="Run directory written by `molfit train`.")],
    data: Annotated[str, typer.Argument(help="A labelled file or a built-in dataset.")],
    smiles_column: Annotated[
        str | None, typer.Option("--smiles-column", help="SMILES column of a file.")
    ] = None,
    target: Annotated[
        list[str] | None, typer.Option("--target", help="Target column(s), default: the model's.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the metrics as JSON.")] = None,
) -> None:
    """Accuracy, interval coverage and calibration of a run's model on new labelled data."""
    from molfit.cli._train import print_metrics
    from molfit.workflows import evaluate_run, load_run_model

    task = load_run_model(run_dir).task_
    metrics = evaluate_run(run_dir, data, smiles_column=smiles_column, targets=target or None)
    print_metrics(metrics, task)
    if out is not None:
        out.write_text(json.dumps(metrics, indent=2))
        typer.echo(f"metrics: {out}")

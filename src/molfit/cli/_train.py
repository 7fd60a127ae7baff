"""``molfit train``: fit, calibrate and test a model; write a run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from molfit.cli._app import app
from molfit.cli._common import (
    bf16_warning,
    devices_value,
    parse_params,
    print_metrics,
    warn,
)
from molfit.cli._examples import epilog
from molfit.errors import InputError

# kept importable from here: `molfit evaluate` and older scripts use it
__all__ = ["print_metrics", "train"]


def _list_models(value: bool) -> None:
    if value:
        from molfit.cli._models import model_names

        typer.echo("\n".join(model_names()))
        raise typer.Exit()


@app.command("train", epilog=epilog("train"))
def train(
    data: Annotated[
        str, typer.Argument(help="A CSV/TSV/Parquet/SDF/XYZ file or a built-in dataset.")
    ],
    smiles_column: Annotated[
        str | None, typer.Option("--smiles-column", "-s", help="SMILES column of a file.")
    ] = None,
    target: Annotated[
        list[str] | None, typer.Option("--target", "-t", help="Target column (repeatable).")
    ] = None,
    task: Annotated[
        str | None, typer.Option(help="regression or classification (default: from the data).")
    ] = None,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model name (see --list-models).")
    ] = "extratrees",
    list_models: Annotated[
        bool,
        typer.Option(
            "--list-models",
            help="Print the model names and exit.",
            callback=_list_models,
            is_eager=True,
        ),
    ] = False,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="Model hyper-parameter KEY=VALUE (JSON value), repeatable."),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(
            help="scaffold, random, cluster, stratified, temporal or predefined "
            "(default: scaffold; random for 3D models)."
        ),
    ] = None,
    split_file: Annotated[
        Path | None,
        typer.Option("--split-file", help="A split JSON written by `molfit data split --out`."),
    ] = None,
    time_column: Annotated[
        str | None, typer.Option("--time-column", help="Date or number column (--split temporal).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    coverage: Annotated[float, typer.Option(help="Coverage of intervals / sets.")] = 0.9,
    conformal: Annotated[
        str,
        typer.Option(
            help="auto, split, cv+, jackknife+ (one refit per molecule, small data) or mondrian "
            "(per similarity-to-train bin; per class for classification)."
        ),
    ] = "auto",
    domain_neighbours: Annotated[
        int,
        typer.Option(
            "--domain-neighbours",
            help="Applicability domain: mean Tanimoto similarity to this many nearest training "
            "molecules (1: the nearest only).",
            min=1,
        ),
    ] = 1,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Run directory (default runs/<data>-<model>-<time>)."),
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Deep models: training epochs.")] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="Deep models: molecules per batch.")
    ] = None,
    ensemble: Annotated[
        int | None, typer.Option(help="Deep models: independently seeded members (std).")
    ] = None,
    accelerator: Annotated[
        str | None, typer.Option(help="Deep models: cpu, gpu or auto (Lightning).")
    ] = None,
    devices: Annotated[
        str | None, typer.Option(help="Deep models: devices per node (Lightning), e.g. 2.")
    ] = None,
    num_nodes: Annotated[
        int | None, typer.Option("--num-nodes", help="Deep models: machines (Lightning DDP).")
    ] = None,
    strategy: Annotated[
        str | None, typer.Option(help="Deep models: Lightning strategy, e.g. ddp.")
    ] = None,
    precision: Annotated[
        str | None,
        typer.Option(help="Deep models: 32 (default) or bf16-mixed (bfloat16 matrix products)."),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(help="Use a seeded random subset of N labelled rows (quick looks)."),
    ] = None,
    standardize: Annotated[
        bool,
        typer.Option("--standardize", help="Standardize every SMILES first (molfit.chem)."),
    ] = False,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bars on stderr.")
    ] = True,
) -> None:
    """Train a model with calibrated uncertainty: `molfit train b3db`."""
    if task is not None and task not in ("regression", "classification"):
        raise InputError(f"--task must be regression or classification, got {task!r}")
    if split is not None and split_file is not None:
        raise InputError("give --split or --split-file, not both")
    from molfit.cli._models import model_names

    names = model_names()
    if model.lower() not in names:
        raise InputError(f"unknown model {model!r}; available: {', '.join(names)}")
    params = parse_params(param)
    for key in ("accelerator", "devices", "num_nodes", "strategy", "progress_bar"):
        if key in params:
            raise InputError(
                f"--param {key}=...: a runtime setting, not a hyper-parameter; use "
                + ("--no-progress" if key == "progress_bar" else f"--{key.replace('_', '-')}")
            )
    deep = {
        "epochs": epochs,
        "batch_size": batch_size,
        "ensemble": ensemble,
        "precision": precision,
    }
    params.update({k: v for k, v in deep.items() if v is not None})
    message = bf16_warning(precision, accelerator)
    if message:
        warn(message)
    runtime = None
    if any(v is not None for v in (accelerator, devices, num_nodes, strategy)) or not progress:
        from molfit.train import Runtime

        runtime = Runtime(
            accelerator=accelerator or "cpu",
            devices=devices_value(devices) or 1,
            num_nodes=num_nodes or 1,
            strategy=strategy or "auto",
            progress_bar=progress,
        )
    from molfit.train import global_rank
    from molfit.workflows import train_run

    result = train_run(
        data,
        smiles_column=smiles_column,
        targets=target or None,
        task=task,
        model=model,
        model_params=params,
        runtime=runtime,
        split=split,
        split_file=split_file,
        time_column=time_column,
        seed=seed,
        coverage=coverage,
        method=conformal,
        domain_neighbours=domain_neighbours,
        out=out,
        limit=limit,
        progress=progress,
        standardize=standardize,
    )
    if global_rank() != 0:
        return
    for note in result.notes:
        warn(note)
    rows = result.rows
    how = "from " + str(split_file) if split_file else f"{result.split_method} split"
    typer.echo(
        f"rows: {rows['used']} of {rows['read']} used; "
        + ", ".join(f"{t}: {c['used']} labelled" for t, c in rows["targets"].items())
    )
    typer.echo(f"test metrics ({result.task}, {how}, seed {seed}):")
    print_metrics(result.metrics, result.task)
    typer.echo(f"fit {result.fit_seconds:.1f} s, predict {result.predict_seconds:.2f} s")
    typer.echo(f"run directory: {result.run_dir}")
    typer.echo(f"report: {result.run_dir / 'report.html'}")

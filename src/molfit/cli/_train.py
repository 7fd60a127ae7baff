"""``molfit train``: fit, calibrate and evaluate a QSAR model; write a run directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from molfit.cli._app import app
from molfit.errors import InputError


def print_metrics(metrics: dict[str, dict[str, float]], task: str) -> None:
    """A short metrics table, one line per target."""
    keys = (
        ["roc_auc", "pr_auc", "accuracy", "mcc", "brier", "ece", "set_coverage"]
        if task == "classification"
        else ["mae", "rmse", "r2", "spearman", "coverage", "mean_width", "miscalibration_area"]
    )
    keys = [k for k in keys if any(k in m for m in metrics.values())]
    width = {k: max(len(k), 7) + 2 for k in ["n", *keys]}
    name_width = max(8, *(len(t) for t in metrics)) + 2
    typer.echo(f"{'target':<{name_width}}" + "".join(f"{k:>{width[k]}}" for k in ["n", *keys]))
    for target, m in metrics.items():
        cells = "".join(
            f"{m.get(k, float('nan')):>{width[k]}.3f}"
            if k != "n"
            else f"{m.get('n', 0):>{width[k]}d}"
            for k in ["n", *keys]
        )
        typer.echo(f"{target:<{name_width}}{cells}")


def _devices(value: str | None) -> int | str | None:
    """Lightning's ``devices``: a count (``2``), ``auto`` or a list such as ``0,1``."""
    if value is None:
        return None
    return int(value) if value.strip().isdigit() else value


@app.command("train")
def train(
    data: Annotated[str, typer.Argument(help="A CSV/TSV/Parquet/SDF file or a built-in dataset.")],
    smiles_column: Annotated[
        str | None, typer.Option("--smiles-column", help="SMILES column of a file.")
    ] = None,
    target: Annotated[
        list[str] | None, typer.Option("--target", help="Target column (repeatable).")
    ] = None,
    task: Annotated[
        str | None, typer.Option(help="regression or classification (default: from the data).")
    ] = None,
    model: Annotated[str, typer.Option(help="Model name (see --list-models).")] = "extratrees",
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
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    coverage: Annotated[float, typer.Option(help="Coverage of intervals / sets.")] = 0.9,
    conformal: Annotated[str, typer.Option(help="auto, split or cv+.")] = "auto",
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default runs/<data>-<model>-<time>).")
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
) -> None:
    """Train a model with calibrated uncertainty: `molfit train b3db`."""
    from molfit.workflows import train_run

    if task is not None and task not in ("regression", "classification"):
        raise InputError(f"--task must be regression or classification, got {task!r}")
    params = {}
    for item in param or []:
        if "=" not in item:
            raise InputError(f"--param expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    deep = {
        "epochs": epochs,
        "batch_size": batch_size,
        "ensemble": ensemble,
        "accelerator": accelerator,
        "devices": _devices(devices),
        "num_nodes": num_nodes,
        "strategy": strategy,
        "precision": precision,
    }
    params.update({k: v for k, v in deep.items() if v is not None})
    result = train_run(
        data,
        smiles_column=smiles_column,
        targets=target or None,
        task=task,
        model=model,
        model_params=params,
        split=split,
        seed=seed,
        coverage=coverage,
        method=conformal,
        out=out,
        limit=limit,
    )
    if split is None:
        from molfit.workflows import is_structure_model

        split = "random" if is_structure_model(model) else "scaffold"
    typer.echo(f"test metrics ({result.task}, {split} split, seed {seed}):")
    print_metrics(result.metrics, result.task)
    for name, m in result.metrics.items():
        if "mae_meV" in m:
            typer.echo(f"{name}: MAE {m['mae_meV']:.1f} meV, RMSE {m['rmse_meV']:.1f} meV")
    typer.echo(f"fit {result.fit_seconds:.1f} s, predict {result.predict_seconds:.2f} s")
    typer.echo(f"run directory: {result.run_dir}")
    typer.echo(f"report: {result.run_dir / 'report.html'}")

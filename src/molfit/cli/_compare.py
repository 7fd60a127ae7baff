"""``molfit compare``: several models on the same splits and seeds, with confidence intervals,
the equally good set and their disagreement, in one HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from molfit.cli._app import app
from molfit.cli._examples import epilog


def load_labelled(
    data: str,
    smiles_column: str | None,
    target: str | None,
    limit: int | None = None,
    classification: bool = False,
) -> tuple[list[str], object, str, str]:
    """``(smiles, y (n,), target name, unit)`` of a built-in dataset or a labelled file
    (regression only unless ``classification``). ``limit`` keeps the first N molecules, or a
    seeded random N for classification (so that a file sorted by class keeps both)."""
    import numpy as np
    from rdkit import Chem, RDLogger

    from molfit.cli._common import warn
    from molfit.data import list_datasets, load, read
    from molfit.errors import InputError

    names = {d.name for d in list_datasets()}
    ds = (
        load(data)
        if data in names
        else read(data, smiles_column=smiles_column, target_columns=[target] if target else None)
    )
    columns = list(ds.target_columns)
    name = target or columns[0]
    if name not in columns:
        raise InputError(f"{data}: no target {name!r}; targets: {', '.join(columns)}")
    if ds.task != "regression" and not classification:
        raise InputError(f"{data}: target {name!r} is {ds.task}; this verb needs regression")
    y = np.asarray(ds.y, dtype=np.float64)[:, columns.index(name)]
    smiles = list(ds.smiles)
    RDLogger.DisableLog("rdApp.*")
    keep = np.flatnonzero(np.isfinite(y))
    parsed = np.array([Chem.MolFromSmiles(smiles[i]) is not None for i in keep], dtype=bool)
    if not parsed.all():
        bad = keep[~parsed]
        warn(
            f"{data}: {len(bad)} row(s) with a SMILES RDKit cannot parse left out "
            f"(first: row {bad[0] + 1}, {smiles[bad[0]]!r})"
        )
        keep = keep[parsed]
    if limit is not None and limit < len(keep):
        if classification:  # a random subset keeps both classes of a sorted file
            keep = np.sort(np.random.default_rng(0).choice(keep, size=limit, replace=False))
        else:
            keep = keep[:limit]
    unit = ""
    if ds.info is not None and name in ds.info.targets:
        unit = ds.info.targets[name].unit
    return [smiles[i] for i in keep], y[keep], name, unit


@app.command("compare", epilog=epilog("compare"))
def compare(
    data: Annotated[str, typer.Argument(help="A labelled file or a built-in dataset.")],
    models: Annotated[
        str | None,
        typer.Option(
            "--models",
            "-m",
            help="Comma-separated registered model names (default extratrees,rf,gp-tanimoto; "
            "classification: extratrees,rf,ridge).",
        ),
    ] = None,
    seeds: Annotated[int, typer.Option("--seeds", help="Seeds (one split each).", min=2)] = 5,
    split: Annotated[
        str, typer.Option("--split", help="Comma-separated split methods, shown side by side.")
    ] = "random,scaffold",
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("compare"),
    smiles_column: Annotated[
        str | None, typer.Option("--smiles-column", "-s", help="SMILES column of a file.")
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", "-t", help="Target column (default: the first).")
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            help="Use only the first N molecules (classification: a seeded random N).",
            min=10,
        ),
    ] = None,
) -> None:
    """Train each model on the same splits and seeds; metrics with 95 % confidence intervals, a
    paired test against the best, the equally good set, and how much those models disagree;
    regression (RMSE) or 0/1 classification (ROC-AUC, PR-AUC, Brier; disagreement = spread of
    P(class 1))
    (report.html, comparison.json, molecules.csv; resumable: finished fits are kept in
    OUT/fits)."""
    import pandas as pd

    from molfit.models import infer_task
    from molfit.trust import (
        compare_models,
        comparison_json,
        write_comparison_report,
        write_json_atomic,
    )
    from molfit.workflows import write_table_atomic

    smiles, y, name, unit = load_labelled(data, smiles_column, target, limit, classification=True)
    task = infer_task(y[:, None])
    if models is None:
        models = "extratrees,rf,ridge" if task == "classification" else "extratrees,rf,gp-tanimoto"
    out.mkdir(parents=True, exist_ok=True)
    result = compare_models(
        smiles,
        y,
        [m.strip() for m in models.split(",") if m.strip()],
        seeds=seeds,
        splits=[s.strip() for s in split.split(",") if s.strip()],
        target=name,
        unit=unit,
        task=task,
        work_dir=out / "fits",
        progress=typer.echo,
    )
    key = result.primary
    for method, c in result.splits.items():
        what = "ROC-AUC" if key == "roc_auc" else f"RMSE ({unit or 'target units'})"
        typer.echo(f"\n{method} split: {what} mean [95% CI]")
        for model, row in c.summary().items():
            mark = "  equally good" if row["equally_good"] else ""
            typer.echo(
                f"  {model:<16} {row[key]:.4g} [{row[key + '_lo']:.4g}, "
                f"{row[key + '_hi']:.4g}]  p={row['p_vs_best']:.3g}{mark}"
            )
        sig = c.signal_summary()
        own = "own min(p, 1-p)" if task == "classification" else "own std"
        err = "misclassification" if task == "classification" else "|error|"
        typer.echo(
            f"  error signal (Spearman with {err}): disagreement "
            f"{sig['spearman_disagreement']:.3f}, {own} {sig['spearman_own_std']:.3f}"
        )
    write_json_atomic(comparison_json(result), out / "comparison.json")
    rows = [dict(split=m, **r) for m, c in result.splits.items() for r in c.molecules]
    write_table_atomic(pd.DataFrame(rows), out / "molecules.csv")
    report = write_comparison_report(result, out / "report.html")
    typer.echo(f"report: {report}")

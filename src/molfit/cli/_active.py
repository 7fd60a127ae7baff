"""``molfit suggest`` and ``molfit learn``: the next molecules to measure, and a simulated
active-learning campaign against random selection."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from molfit.cli._app import app
from molfit.cli._common import RunDirArg, run_path
from molfit.cli._compare import load_labelled

STRATEGY_HELP = "max-std, ei, ucb or diverse (batch without near-duplicates)."


def _pool_smiles(pool: str, smiles_column: str | None) -> list[str]:
    from rdkit import Chem

    from molfit.data import find_smiles_column, list_datasets, load, read_input_table
    from molfit.errors import InputError

    if pool in {d.name for d in list_datasets()}:
        return list(load(pool).smiles)
    frame = read_input_table(pool)
    column = find_smiles_column(frame, smiles_column, pool)
    smiles = [str(s) for s in frame[column]]
    for i, s in enumerate(smiles):
        if Chem.MolFromSmiles(s) is None:
            raise InputError(f"{pool}: row {i + 1}, column {column!r}: cannot parse SMILES {s!r}")
    return smiles


@app.command("suggest")
def suggest(
    run_dir: RunDirArg,
    pool: Annotated[str, typer.Argument(help="Candidates: a SMILES file or a built-in dataset.")],
    n: Annotated[int, typer.Option("--n", help="Molecules to suggest.", min=1)] = 10,
    strategy: Annotated[str, typer.Option("--strategy", help=STRATEGY_HELP)] = "max-std",
    best: Annotated[
        float | None, typer.Option("--best", help="Best value measured so far (for ei).")
    ] = None,
    minimize: Annotated[
        bool, typer.Option("--minimize", help="Lower values are better (ei, ucb).")
    ] = False,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .csv.")] = Path(
        "suggestions.csv"
    ),
    smiles_column: Annotated[
        str | None, typer.Option("--smiles-column", "-s", help="SMILES column of the pool.")
    ] = None,
) -> None:
    """The next molecules to measure, with why (σ, expected improvement, novelty)."""
    from molfit.active import suggest as suggest_api
    from molfit.workflows import load_run_model, write_table_atomic

    model = load_run_model(run_path(run_dir))
    table = suggest_api(
        model,
        _pool_smiles(pool, smiles_column),
        n=n,
        strategy=strategy,
        best=best,
        maximize=not minimize,
    )
    write_table_atomic(table, out)
    for row in table.itertuples():
        typer.echo(
            f"{row.rank:>3}  {row.smiles:<50} {row.prediction:.4g} ± {row.std:.3g}  {row.why}"
        )
    typer.echo(f"suggestions: {out}")


@app.command("learn")
def learn(
    data: Annotated[str, typer.Argument(help="A labelled file or a built-in dataset.")],
    start: Annotated[int, typer.Option("--start", help="Random labels to begin with.")] = 50,
    batch: Annotated[int, typer.Option("--batch", help="Molecules per round.", min=1)] = 10,
    rounds: Annotated[int, typer.Option("--rounds", help="Rounds.", min=1)] = 20,
    strategy: Annotated[str, typer.Option("--strategy", help=STRATEGY_HELP)] = "max-std",
    seeds: Annotated[int, typer.Option("--seeds", help="Seeds.", min=1)] = 5,
    model: Annotated[
        str, typer.Option("--model", help="Model with a std (extratrees, rf, gp-tanimoto).")
    ] = "extratrees",
    minimize: Annotated[
        bool, typer.Option("--minimize", help="The optimisation goal is the lowest values.")
    ] = False,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("learn"),
    smiles_column: Annotated[
        str | None, typer.Option("--smiles-column", "-s", help="SMILES column of a file.")
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", "-t", help="Target column (default: the first).")
    ] = None,
) -> None:
    """Simulate a campaign on labelled data (labels revealed only when selected), next to random
    selection: test error, best value and top-1 % molecules found against labels used
    (campaign.json, campaign.png; resumable: finished runs are kept in OUT/runs)."""
    import base64

    from molfit.active import campaign_figure
    from molfit.active import learn as learn_api
    from molfit.trust import write_json_atomic

    smiles, y, _, unit = load_labelled(data, smiles_column, target)
    out.mkdir(parents=True, exist_ok=True)
    result = learn_api(
        smiles,
        y,
        start=start,
        batch=batch,
        rounds=rounds,
        strategy=strategy,
        seeds=seeds,
        model=model,
        maximize=not minimize,
        work_dir=out / "runs",
        progress=typer.echo,
    )
    summary = result.summary()
    for key, value in summary.items():
        typer.echo(f"{key}: {value}")
    write_json_atomic(result.to_json(), out / "campaign.json")
    png = out / "campaign.png"
    tmp = png.with_name(png.name + ".tmp")
    tmp.write_bytes(base64.b64decode(campaign_figure(result, unit)))
    tmp.replace(png)
    typer.echo(f"campaign: {out / 'campaign.json'}")

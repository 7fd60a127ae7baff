"""``molfit suggest`` and ``molfit learn``: the next molecules to measure, and a simulated
active-learning campaign against random selection."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from molfit.cli._app import app
from molfit.cli._common import RunDirArg, run_path, warn
from molfit.cli._compare import load_labelled
from molfit.cli._examples import epilog

STRATEGY_HELP = (
    "max-std, ei, ucb, diverse (σ × novelty), variance (GP integrated-variance reduction: "
    "representative molecules) or density (σ × representativeness)."
)


def _pool_smiles(pool: str, smiles_column: str | None) -> tuple[list[str], list[int]]:
    """The pool's parseable SMILES and their 0-based rows in the pool.

    Rows RDKit cannot parse are left out with one warning that counts them and names the
    first few (a vendor file or a dataset with a broken row still gets its suggestions).

    Raises:
        InputError: no row of the pool is a molecule.
    """
    from molfit.chem import parse_many
    from molfit.data import find_smiles_column, list_datasets, load, read_input_table
    from molfit.errors import InputError

    if pool in {d.name for d in list_datasets()}:
        smiles, column = [str(s) for s in load(pool).smiles], "smiles"
    else:
        frame = read_input_table(pool)
        column = find_smiles_column(frame, smiles_column, pool)
        smiles = [str(s) for s in frame[column]]
    mols, issues = parse_many(smiles, source=pool)
    bad = [issue.row - 1 for issue in issues]
    if len(bad) == len(smiles):
        raise InputError(f"{pool}: no row of column {column!r} is a SMILES RDKit can parse")
    if bad:
        named = ", ".join(f"row {i + 1} {smiles[i]!r}" for i in bad[:3])
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        warn(f"{pool}: left out {len(bad)} of {len(smiles)} rows that are not molecules "
             f"({named}{more}); pool_index counts every row")  # fmt: skip
    kept = [i for i, mol in enumerate(mols) if mol is not None]
    return [smiles[i] for i in kept], kept


@app.command("suggest", epilog=epilog("suggest"))
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
    smiles, rows = _pool_smiles(pool, smiles_column)
    table = suggest_api(
        model,
        smiles,
        n=n,
        strategy=strategy,
        best=best,
        maximize=not minimize,
    )
    table["pool_index"] = [rows[i] for i in table["pool_index"]]  # rows of the pool as given
    write_table_atomic(table, out)
    for row in table.itertuples():
        typer.echo(
            f"{row.rank:>3}  {row.smiles:<50} {row.prediction:.4g} ± {row.std:.3g}  {row.why}"
        )
    typer.echo(f"suggestions: {out}")


@app.command("learn", epilog=epilog("learn"))
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

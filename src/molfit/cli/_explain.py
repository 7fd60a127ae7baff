"""``molfit explain``: which atoms drive a graph model's prediction, drawn as a similarity map."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from molfit.cli._app import app
from molfit.cli._common import run_path
from molfit.cli._examples import epilog


@app.command("explain", epilog=epilog("explain"))
def explain(
    run_dir: Annotated[
        Path, typer.Argument(help="Run directory of a graph model (`molfit train --model dmpnn`).")
    ],
    smiles: Annotated[str, typer.Argument(help="The molecule to explain, as SMILES.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Image to write: .png or .svg.")] = Path(
        "atoms.png"
    ),
    target: Annotated[
        str, typer.Option("--target", "-t", help="Target name or index for multi-task models.")
    ] = "0",
    steps: Annotated[int, typer.Option(help="Integrated-gradients interpolation steps.")] = 64,
) -> None:
    """Atom attributions (integrated gradients) of one prediction: `molfit explain RUN "CCO"`."""
    from molfit.chem import to_mol
    from molfit.explain import explain as explain_molecule

    model = _load(run_path(run_dir))
    weights, value = explain_molecule(
        model, smiles, out, target=int(target) if target.isdigit() else target, steps=steps
    )
    mol = to_mol(smiles)
    typer.echo(f"prediction: {value:.4g}")
    typer.echo("atom  element  attribution")
    for atom, w in zip(mol.GetAtoms(), weights, strict=True):
        typer.echo(f"{atom.GetIdx():>4}  {atom.GetSymbol():<7}  {w:+.4f}")
    typer.echo(f"attribution map: {out}")


def _load(run_dir: Path):
    """The model of a run directory (``molfit train``'s), or of a saved model directory."""
    from molfit.errors import InputError
    from molfit.workflows import RunDirectory, load_run_model

    run = RunDirectory(run_dir).check()
    if run.input_kind == "structures":
        model = run.run_config.get("model") or run.config().get("model", "a 3D model")
        raise InputError(
            f"{run_dir}: a 3D run ({model}); `molfit explain` attributes atoms of graph models "
            "on SMILES (train one with `molfit train DATA --model dmpnn`)"
        )
    return load_run_model(run_dir)

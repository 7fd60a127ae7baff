"""``molfit properties``: crystal properties of a trained potential (or an oracle) beside the
oracle's own values on the same cell."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from molfit.cli._app import app
from molfit.cli._examples import epilog

_WHICH = "eos,elastic,vacancy,rdf"


def _calculator(name: str) -> object:
    """A run/model directory as molfit's calculator, or an oracle by name."""
    from molfit.atomistic import ORACLES, load_calculator, make_oracle

    if name.lower() in ORACLES and not Path(name).is_dir():
        return make_oracle(name)
    from molfit.cli._common import run_path

    return load_calculator(run_path(name))


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return "nan"
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"


@app.command("properties", epilog=epilog("properties"))
def properties_command(
    run: Annotated[str, typer.Argument(help="Run or model directory, or an oracle name (emt...).")],
    structure: Annotated[Path, typer.Argument(help="Crystal (CIF, POSCAR or extxyz).")],
    oracle: Annotated[
        str,
        typer.Option("--oracle", help="Oracle computed beside it (emt, chgnet, sevenn), or none."),
    ] = "none",
    which: Annotated[str, typer.Option("--which", help=f"Comma-separated from {_WHICH}.")] = _WHICH,
    md_steps: Annotated[int, typer.Option("--md-steps", help="Langevin steps for the RDF.")] = 1000,
    temperature: Annotated[float, typer.Option("--temperature", "-T", help="K (RDF MD).")] = 300.0,
    relax_cell: Annotated[
        bool, typer.Option("--relax/--no-relax", help="Relax positions and cell first.")
    ] = True,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="JSON file with every number.")
    ] = None,
) -> None:
    """Lattice constant and bulk modulus (EOS), C11/C12/C44 (strain–stress), vacancy formation
    energy and the RDF from MD, in Å, GPa and eV; with --oracle, the oracle's values beside."""
    from molfit.errors import InputError
    from molfit.materials import SCALARS, compare_properties, crystal_properties, read_crystal

    atoms = read_crystal(structure)
    chosen = tuple(w.strip() for w in which.split(",") if w.strip())
    workdir = None if out is None else out.with_suffix("")
    calcs = {"model": _calculator(run)}
    if oracle.lower() != "none":
        calcs["oracle"] = _calculator(oracle)
    results = {}
    for name, calc in calcs.items():
        try:
            results[name] = crystal_properties(
                atoms,
                calc,
                which=chosen,
                relax_cell=relax_cell,
                md_steps=md_steps,
                md_temperature=temperature,
                workdir=None if workdir is None else workdir / name,
            )
        except InputError as exc:
            who = run if name == "model" else oracle
            raise InputError(f"{structure} ({name} {who}): {exc}") from None

    if "oracle" in results:
        rows = compare_properties(results["model"], results["oracle"])
        results["comparison"] = rows
        typer.echo(f"{'property':<18}{'unit':<9}{'model':>11}{oracle:>11}{'diff %':>9}")
        for r in rows:
            rel = "" if not math.isfinite(r["relative"]) else f"{100 * r['relative']:+.1f}"
            typer.echo(f"{r['property']:<18}{r['unit']:<9}{_fmt(r['model']):>11}"
                       f"{_fmt(r['reference']):>11}{rel:>9}")  # fmt: skip
    else:
        typer.echo(f"{'property':<18}{'unit':<9}{'value':>11}")
        for key, unit in SCALARS.items():
            if key in results["model"]:
                typer.echo(f"{key:<18}{unit:<9}{_fmt(float(results['model'][key])):>11}")
    if out is not None:
        import os
        import tempfile

        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
        with os.fdopen(fd, "w") as fh:
            json.dump(results, fh, indent=1)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
        typer.echo(f"written to {out}")

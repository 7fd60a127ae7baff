"""``molfit build`` and ``molfit perturb``: crystal cells from the command line, and the
strained / rattled / vacancy cells a potential is trained on (label them with ``molfit label``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from molfit.cli._app import app
from molfit.cli._examples import epilog


def _repeat(text: str) -> tuple[int, int, int]:
    parts = text.lower().replace("x", ",").split(",")
    try:
        values = [int(p) for p in parts if p.strip()]
    except ValueError:
        raise typer.BadParameter(f"--repeat takes n or n1xn2xn3, got {text!r}") from None
    if len(values) == 1:
        values *= 3
    if len(values) != 3 or min(values) < 1:
        raise typer.BadParameter(f"--repeat takes n or n1xn2xn3 (positive), got {text!r}")
    return values[0], values[1], values[2]


@app.command("build", epilog=epilog("build"))
def build_command(
    element: Annotated[str, typer.Argument(help="Element (Cu) or formula (NaCl, with rocksalt).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="CIF, POSCAR (.vasp) or extxyz.")],
    structure: Annotated[
        str | None, typer.Option("--structure", help="fcc, bcc, hcp, diamond, rocksalt...")
    ] = None,
    a: Annotated[float | None, typer.Option("--a", help="Lattice constant, Å.")] = None,
    cubic: Annotated[bool, typer.Option("--cubic", help="Conventional cubic cell.")] = False,
    repeat: Annotated[str, typer.Option("--repeat", help="Supercell: n or n1xn2xn3.")] = "1",
    strain: Annotated[float, typer.Option("--strain", help="Isotropic strain (0.01 = 1 %).")] = 0.0,
    vacancy: Annotated[
        int | None, typer.Option("--vacancy", help="Remove atom K (1-based).")
    ] = None,
    substitute: Annotated[
        str | None, typer.Option("--substitute", help="Random alloy, e.g. Au:0.25.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Build a bulk crystal (optionally a supercell, strained, alloyed, with a vacancy)."""
    from molfit.errors import InputError
    from molfit.materials import bulk, supercell, write_crystal
    from molfit.materials import strain as apply_strain
    from molfit.materials import substitute as alloy
    from molfit.materials import vacancy as remove

    atoms = supercell(bulk(element, structure, a=a, cubic=cubic), _repeat(repeat))
    if strain:
        atoms = apply_strain(atoms, strain)
    if substitute:
        if ":" not in substitute:
            raise InputError(f"--substitute takes ELEMENT:FRACTION, got {substitute!r}")
        name, fraction = substitute.split(":", 1)
        try:
            value = float(fraction)
        except ValueError:
            raise InputError(f"--substitute fraction {fraction!r} is not a number") from None
        atoms = alloy(atoms, name, value, seed=seed)
    if vacancy is not None:
        atoms = remove(atoms, vacancy - 1)
    write_crystal(atoms, out)
    typer.echo(
        f"{atoms.get_chemical_formula()}: {len(atoms)} atoms, volume {atoms.get_volume():.2f} Å³; "
        f"written to {out}"
    )


@app.command("perturb", epilog=epilog("perturb"))
def perturb_command(
    start: Annotated[Path, typer.Argument(help="Crystal to perturb (CIF, POSCAR, extxyz).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="extxyz of unlabelled cells.")],
    strained: Annotated[int, typer.Option("--strained", help="Randomly strained cells.")] = 20,
    rattled: Annotated[int, typer.Option("--rattled", help="Rattled cells.")] = 20,
    vacancies: Annotated[int, typer.Option("--vacancies", help="One-vacancy cells.")] = 5,
    max_strain: Annotated[float, typer.Option("--max-strain", help="±, e.g. 0.03.")] = 0.03,
    rattle: Annotated[float, typer.Option("--rattle", help="Displacement σ, Å.")] = 0.05,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Strained, rattled and vacancy cells around a crystal, for `molfit label --oracle ...`."""
    from molfit.materials import perturbed_cells, read_crystal, write_crystal

    cells = perturbed_cells(
        read_crystal(start), n_strained=strained, n_rattled=rattled, n_vacancy=vacancies,
        max_strain=max_strain, rattle_stdev=rattle, seed=seed,
    )  # fmt: skip
    write_crystal(cells, out, fmt="extxyz")
    typer.echo(f"{len(cells)} cells written to {out}; label them with `molfit label`")

"""``molfit label``, ``molfit sample`` and ``molfit md``: labelled structures from real oracles,
and molecular dynamics with an oracle or a trained potential."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from molfit.cli._app import app
from molfit.cli._common import run_path
from molfit.cli._examples import epilog

_ORACLE_HELP = (
    "xtb (GFN2-xTB, tblite), dft (pyscf; B3LYP/def2-SVP by default), emt (ASE), chgnet or "
    "sevenn (universal potentials, periodic cells)."
)


def _options(pairs: list[str] | None) -> dict[str, object]:
    """``--oracle-option key=value`` pairs; values parsed as JSON when they can be."""
    out: dict[str, object] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise typer.BadParameter(f"expected key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


OracleOpt = Annotated[str, typer.Option("--oracle", help=_ORACLE_HELP)]
OracleOptions = Annotated[
    list[str] | None,
    typer.Option("--oracle-option", help="key=value for the oracle, e.g. basis=def2-tzvp."),
]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="extxyz file, appended as frames come.")]


@app.command("label", epilog=epilog("label"))
def label_command(
    source: Annotated[Path, typer.Argument(help="Structures to label (extxyz, XYZ, CIF...).")],
    out: OutOpt,
    oracle: OracleOpt = "xtb",
    oracle_option: OracleOptions = None,
) -> None:
    """Label every frame with the oracle's energy (eV), forces (eV/Å) and, for periodic cells,
    stress (eV/Å³). Resumes after an interruption; frames the oracle fails on are reported."""
    from molfit.atomistic import label

    result = label(source, out, oracle=oracle, oracle_options=_options(oracle_option))
    for issue in result.issues:
        typer.echo(f"skipped: {issue}", err=True)
    resumed = f" ({result.n_resumed} were already there)" if result.n_resumed else ""
    typer.echo(f"{result.n_frames} labelled frames in {out}{resumed}; {result.seconds:.1f} s")


@app.command("sample", epilog=epilog("sample"))
def sample_command(
    start: Annotated[str, typer.Argument(help="Start structure file, or a SMILES.")],
    out: OutOpt,
    oracle: OracleOpt = "xtb",
    temperature: Annotated[float, typer.Option("--temperature", "-T", help="K.")] = 300.0,
    steps: Annotated[int, typer.Option("--steps", help="MD steps in total.")] = 1000,
    every: Annotated[int, typer.Option("--every", help="Write a frame every K steps.")] = 10,
    dt: Annotated[float, typer.Option("--dt", help="Time step, fs.")] = 0.5,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    oracle_option: OracleOptions = None,
    active: Annotated[
        bool,
        typer.Option(
            "--active",
            help="Committee-driven active sampling: --out is a directory; each round trains a "
            "committee, runs MD with it and labels only the frames with the largest force σ.",
        ),
    ] = False,
    rounds: Annotated[int, typer.Option("--rounds", help="--active: rounds.")] = 5,
    per_round: Annotated[
        int | None, typer.Option("--per-round", help="--active: at most K labels per round.")
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option("--threshold", help="--active: label frames whose force σ exceeds it (eV/Å)."),
    ] = None,
    initial: Annotated[
        int, typer.Option("--initial", help="--active: initial labelled frames.")
    ] = 8,
    committee: Annotated[int, typer.Option("--committee", help="--active: members.")] = 3,
    model: Annotated[str, typer.Option("--model", help="--active: potential.")] = "painn",
    replicas: Annotated[int, typer.Option("--replicas", help="--active: MD copies.")] = 4,
    max_sigma: Annotated[
        float, typer.Option("--max-sigma", help="--active: stop a round's MD above (eV/Å).")
    ] = 2.0,
    test: Annotated[
        Path | None, typer.Option("--test", help="--active: labelled frames for errors.")
    ] = None,
) -> None:
    """Oracle-driven Langevin MD: labelled frames (energy, forces) for training a potential.
    Written frame by frame; after a kill, the same command carries on. With --active, MD runs
    with a committee potential and the oracle labels only the frames it is unsure of."""
    from molfit.atomistic import sample

    if active:
        from molfit.cli._active_sample import run_active

        run_active(
            start, out, oracle=oracle, oracle_options=_options(oracle_option), rounds=rounds,
            per_round=per_round, threshold=threshold, initial=initial, committee=committee,
            model=model, replicas=replicas, max_sigma=max_sigma, test=test,
            temperature=temperature, steps=steps, every=every, dt=dt, seed=seed,
        )  # fmt: skip
        return
    result = sample(
        start, out, oracle=oracle, oracle_options=_options(oracle_option),
        temperature=temperature, steps=steps, every=every, dt=dt, seed=seed,
    )  # fmt: skip
    _report_md(result, out)


def _report_md(result: object, out: Path) -> None:
    r = result
    resumed = f" ({r.n_resumed} were already there)" if r.n_resumed else ""
    typer.echo(f"{r.n_frames} frames in {out}{resumed}")
    typer.echo(
        f"{r.steps_per_second:.1f} steps/s this run; mean temperature {r.mean_temperature:.0f} K; "
        f"total-energy drift {r.energy_drift:+.3f} meV/atom/ps"
    )
    if r.stopped:
        typer.echo(f"stopped early: {r.stopped}", err=True)
        raise typer.Exit(1)


RunArg = Annotated[
    Path,
    typer.Argument(
        help="Run (or model) directory of a trained potential, or a shipped one by name "
        "(ethanol-xtb)."
    ),
]
StartArg = Annotated[str, typer.Argument(help="Start structure file (first frame), or a SMILES.")]


@app.command("md", epilog=epilog("md"))
def md_command(
    run: RunArg,
    start: StartArg,
    out: OutOpt,
    ensemble: Annotated[
        str, typer.Option("--ensemble", help="nve, langevin, nose-hoover or npt (periodic cells).")
    ] = "nve",
    temperature: Annotated[float, typer.Option("--temperature", "-T", help="K.")] = 300.0,
    dt: Annotated[float, typer.Option("--dt", help="Time step, fs.")] = 0.5,
    steps: Annotated[int, typer.Option("--steps")] = 1000,
    every: Annotated[int, typer.Option("--every", help="Write a frame every K steps.")] = 10,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    max_sigma: Annotated[
        float | None,
        typer.Option(
            "--max-sigma", help="Stop when the committee σ of a force exceeds this (eV/Å)."
        ),
    ] = None,
    float64: Annotated[
        bool, typer.Option("--float64", help="Double precision (long NVE).")
    ] = False,
    replicas: Annotated[
        int,
        typer.Option(
            "--replicas",
            help="Integrate N copies together, one batched network call per step (nve or "
            "langevin); replica r starts from frame r of START when it has that many, else "
            "from its first frame with velocities seeded by (seed, r).",
        ),
    ] = 1,
    pressure: Annotated[float, typer.Option("--pressure", help="GPa, for --ensemble npt.")] = 0.0,
) -> None:
    """Molecular dynamics with a trained potential; the trajectory is written as it goes and a
    killed run carries on. Prints steps per second and the energy drift."""
    from molfit.atomistic import load_calculator, run_md, start_structure

    calc = load_calculator(run_path(run), dtype="float64" if float64 else "float32")
    atoms, _ = start_structure(start)
    if replicas != 1:
        _md_replicas(calc, atoms, start, out, replicas, ensemble=ensemble,
                     temperature=temperature, dt=dt, steps=steps, every=every, seed=seed,
                     max_sigma=max_sigma)  # fmt: skip
        return
    result = run_md(
        atoms, calc, out, ensemble=ensemble, temperature=temperature, dt=dt, steps=steps,
        every=every, seed=seed, max_sigma=max_sigma, pressure=pressure,
    )  # fmt: skip
    _report_md(result, out)


def _md_replicas(calc: object, atoms: object, start: str, out: Path, replicas: int,
                 **options: object) -> None:  # fmt: skip
    from molfit.atomistic import read_frames, run_replicas

    starts = [atoms]
    path = Path(start)
    if path.is_file() and path.suffix.lower() in (".xyz", ".extxyz"):
        starts = read_frames(path, index=slice(0, replicas))
    result = run_replicas(starts, calc, out, n_replicas=replicas, **options)
    resumed = f" ({result.n_resumed} were already there)" if result.n_resumed else ""
    typer.echo(f"{result.n_frames} frames x {replicas} replicas in {out}{resumed}")
    drift = max(result.energy_drift, key=abs) if result.energy_drift else float("nan")
    temps = [t for t in result.mean_temperature if t == t]
    typer.echo(
        f"{result.steps_per_second:.1f} steps/s this run ({result.atom_steps_per_second:,.0f} "
        f"atom-steps/s); mean temperature {sum(temps) / max(len(temps), 1):.0f} K; largest "
        f"total-energy drift {drift:+.3f} meV/atom/ps"
    )
    if result.stopped:
        typer.echo(f"stopped early: {result.stopped}", err=True)
        raise typer.Exit(1)


@app.command("relax", epilog=epilog("relax"))
def relax_command(
    run: RunArg,
    start: StartArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Relaxed structure (any ASE format).")],
    cell: Annotated[bool, typer.Option("--cell", help="Relax the cell too.")] = False,
    fmax: Annotated[float, typer.Option("--fmax", help="eV/Å.")] = 0.01,
    steps: Annotated[int, typer.Option("--steps")] = 500,
) -> None:
    """Relax a structure (positions, and the cell with --cell) with a trained potential."""
    from ase.io import write

    from molfit.atomistic import load_calculator, relax, start_structure

    atoms, _ = start_structure(start)
    result = relax(atoms, load_calculator(run_path(run)), cell=cell, fmax=fmax, steps=steps)
    write(out, result.atoms)
    state = "converged" if result.converged else "NOT converged"
    typer.echo(
        f"{state} in {result.steps} steps: energy {result.energy:.4f} eV, "
        f"largest force {result.fmax:.4f} eV/Å; written to {out}"
    )
    if not result.converged:
        raise typer.Exit(1)

"""``molfit label``, ``molfit sample`` and ``molfit md``: labelled structures from real oracles,
and molecular dynamics with an oracle or a trained potential."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from molfit.cli._app import app

_ORACLE_HELP = "xtb (GFN2-xTB, tblite), dft (pyscf; B3LYP/def2-SVP by default) or emt (ASE)."


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


@app.command("label")
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


@app.command("sample")
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
) -> None:
    """Oracle-driven Langevin MD: labelled frames (energy, forces) for training a potential.
    Written frame by frame; after a kill, the same command carries on."""
    from molfit.atomistic import sample

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

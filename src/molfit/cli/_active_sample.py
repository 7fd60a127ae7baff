"""``molfit sample --active``: committee-driven active sampling of potentials (the options are
declared on ``molfit sample`` in :mod:`molfit.cli._atomistic`; this module runs and reports)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer


def run_active(start: str, out: Path, *, per_round: int | None, threshold: float | None,
               **options: Any) -> None:  # fmt: skip
    """Run :func:`molfit.active.active_sample` and print one line per round."""
    from molfit.active import active_sample

    if per_round is None and threshold is None:
        per_round = 10  # the default budget when neither is given
    result = active_sample(start, out, per_round=per_round, threshold=threshold, **options)
    for m in result.rounds:
        test = m.get("test", {})
        error = f"; test force MAE {test['force_mae_meV_A']:.0f} meV/Å" if test else ""
        sigma = m["sigma_max_eV_A"]
        peak = f"{sigma:.3f}" if not math.isnan(sigma) else "-"
        stop = " (MD stopped early: σ or force too large)" if m["md_stopped"] else ""
        typer.echo(
            f"round {m['round']}: {m['n_labels']} labels, {m['md_frames']} MD frames per "
            f"replica{stop}, largest σ {peak} eV/Å, {m['n_selected']} selected{error}"
        )
    state = "converged (nothing above --threshold)" if result.converged else "done"
    typer.echo(
        f"{state}: {result.n_labels} labelled frames in {out / 'data.extxyz'} "
        f"({result.n_oracle_calls} oracle calls); final committee in {result.model}"
    )
    if result.test:
        typer.echo(
            f"test: force MAE {result.test['force_mae_meV_A']:.1f} meV/Å, energy MAE "
            f"{result.test['energy_mae_meV']:.1f} meV"
        )
    if result.stopped:
        typer.echo(f"stopped early: {result.stopped}", err=True)
        raise typer.Exit(1)

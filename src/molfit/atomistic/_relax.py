"""Geometry optimisation with any ASE calculator: positions, and optionally the cell.

The optimiser is one of ASE's (``bfgs``, ``lbfgs``, ``fire``); relaxing the cell wraps the
structure in ASE's ``FrechetCellFilter``, so the lattice vectors move with the stress as well.
Each optimiser step can be written to an extxyz trajectory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from molfit.atomistic._trajectory import FrameWriter
from molfit.errors import InputError

OPTIMIZERS = ("bfgs", "lbfgs", "fire")


@dataclass
class RelaxResult:
    """What :func:`relax` did.

    Attributes:
        atoms: the relaxed structure (positions Å, cell Å), with its final energy and forces.
        converged: the largest force fell below ``fmax`` (and the stress, for ``cell=True``).
        steps: optimiser steps taken.
        energy: final energy, eV. fmax: final largest force, eV/Å.
        seconds: wall time.
    """

    atoms: Any
    converged: bool
    steps: int
    energy: float
    fmax: float
    seconds: float


def relax(
    atoms: Any,
    calculator: Any,
    *,
    fmax: float = 0.01,
    steps: int = 500,
    cell: bool = False,
    optimizer: str = "bfgs",
    trajectory: str | Path | None = None,
) -> RelaxResult:
    """Relax ``atoms`` (not modified) with ``calculator`` until every force is below ``fmax``.

    Args:
        fmax: eV/Å (for ``cell=True`` also the stress criterion, in ASE's eV/Å³ scaled form).
        steps: at most this many optimiser steps.
        cell: relax the cell too (periodic structures only).
        optimizer: ``bfgs``, ``lbfgs`` or ``fire``.
        trajectory: extxyz file receiving every step (energy, forces, stress when known).

    Raises:
        InputError: unknown optimiser, or ``cell=True`` for a structure without a periodic cell.
    """
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS, FIRE, LBFGS

    key = optimizer.lower()
    if key not in OPTIMIZERS:
        raise InputError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    if cell and not (atoms.pbc.all() and atoms.cell.rank == 3):
        raise InputError("--cell needs a periodic structure with a full 3D cell")
    atoms = atoms.copy()
    atoms.calc = calculator
    target = FrechetCellFilter(atoms) if cell else atoms
    opt = {"bfgs": BFGS, "lbfgs": LBFGS, "fire": FIRE}[key](target, logfile=None)
    writer = FrameWriter(trajectory) if trajectory is not None else None

    def record() -> None:
        results = {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces()}
        if cell:
            results["stress"] = atoms.get_stress(voigt=False)
        writer.write(atoms, results, {"step": opt.nsteps})

    if writer is not None:
        opt.attach(record, interval=1)
    t0 = time.perf_counter()
    try:
        converged = bool(opt.run(fmax=fmax, steps=steps))
    finally:
        if writer is not None:
            writer.close()
    forces = atoms.get_forces()
    return RelaxResult(
        atoms=atoms,
        converged=converged,
        steps=int(opt.nsteps),
        energy=float(atoms.get_potential_energy()),
        fmax=float(np.sqrt((forces**2).sum(axis=1)).max()) if len(atoms) else 0.0,
        seconds=time.perf_counter() - t0,
    )

"""Shared pieces of the materials tests: EMT-labelled copper cells and a small periodic
potential trained on them (energy, forces and stress), built once per session."""

from __future__ import annotations

import numpy as np
import pytest
from ase.calculators.emt import EMT

from molfit.materials import bulk, perturbed_cells, supercell
from molfit.train import Runtime

QUIET = Runtime(progress_bar=False)
TINY = dict(n_features=16, n_interactions=2, n_rbf=8, batch_size=8, cutoff=4.5)


def emt_labelled(cells: list) -> list:
    """The cells with EMT's energy, forces and stress attached (single-point results)."""
    from ase.calculators.singlepoint import SinglePointCalculator

    out = []
    for cell in cells:
        atoms = cell.copy()
        atoms.calc = EMT()
        results = {
            "energy": atoms.get_potential_energy(),
            "forces": atoms.get_forces(),
            "stress": atoms.get_stress(),
        }
        atoms.calc = SinglePointCalculator(atoms, **results)
        out.append(atoms)
    return out


@pytest.fixture(scope="session")
def copper_cells() -> list:
    """40 EMT-labelled 2x2x2 (32-atom) Cu cells: strained, rattled and with a vacancy."""
    base = supercell(bulk("Cu", "fcc", a=3.6, cubic=True), 2)
    cells = perturbed_cells(base, n_strained=16, n_rattled=16, n_vacancy=8, seed=3)
    return emt_labelled(cells)


@pytest.fixture(scope="session")
def trained_copper(copper_cells):
    """A small SchNet trained a few epochs on energy, forces and stress (not accurate: a
    trained, non-trivial function for the physics checks)."""
    from molfit.models import SchNetModel
    from molfit.structures import Structures

    structures = Structures.from_atoms(copper_cells)
    model = SchNetModel(
        **TINY,
        epochs=3,
        lr=2e-3,
        val_fraction=0.0,
        energy_per_atom=True,
        stress_weight=100.0,
        seed=0,
    )
    return model.fit(structures, runtime=QUIET)


@pytest.fixture(scope="session")
def triclinic():
    """``triclinic(seed)``: a rattled two-atom triclinic Cu cell (see :func:`rattled_triclinic`)."""
    return rattled_triclinic


def rattled_triclinic(seed: int = 0):
    """A small two-atom triclinic cell (its widths are below the 4.5 Å cutoff)."""
    from ase import Atoms

    cell = np.array([[2.6, 0.1, 0.0], [1.2, 2.4, 0.2], [0.3, 1.1, 2.5]])
    atoms = Atoms("Cu2", scaled_positions=[[0, 0, 0], [0.45, 0.52, 0.48]], cell=cell, pbc=True)
    atoms.rattle(0.05, seed=seed)
    return atoms

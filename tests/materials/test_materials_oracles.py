"""Oracles for crystals: EMT alloys, CHGNet (the universal potential, weights in its wheel) with
stress in eV/Å³; a trained potential relaxes copper to EMT's lattice constant."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from molfit.atomistic import evaluate, label, make_oracle, read_frames
from molfit.materials import bulk, equation_of_state, strain, substitute, supercell


def _strain_derivative(calc, atoms, h: float = 1e-4) -> float:
    """(1/V) dE/dε_xx by central differences, eV/Å³."""
    e = [evaluate(calc, strain(atoms, [s * h, 0, 0, 0, 0, 0]))["energy"] for s in (1, -1)]
    return (e[0] - e[1]) / (2 * h * atoms.get_volume())


def test_emt_labels_a_cu_au_alloy_with_consistent_stress():
    alloy = substitute(supercell(bulk("Cu", "fcc", a=3.75, cubic=True), 2), "Au", 0.25, seed=0)
    alloy.rattle(0.02, seed=1)
    out = evaluate(make_oracle("emt"), alloy)
    assert out["stress"].shape == (3, 3)
    assert out["stress"][0, 0] == pytest.approx(
        _strain_derivative(make_oracle("emt"), alloy), rel=1e-3
    )


@pytest.fixture(scope="module")
def chgnet():
    pytest.importorskip("chgnet")
    return make_oracle("chgnet")


def test_chgnet_gives_energy_forces_and_stress_in_molfit_units(chgnet):
    cu = bulk("Cu", "fcc", a=3.55, cubic=True)
    cu.rattle(0.03, seed=2)
    out = evaluate(chgnet, cu)
    assert -4.5 < out["energy"] / len(cu) < -3.5  # eV/atom, Materials Project's copper scale
    assert out["forces"].shape == (4, 3) and np.abs(out["forces"]).max() > 1e-3
    # stress in eV/Å³ (not GPa): equal to the strain derivative of the energy
    assert out["stress"][0, 0] == pytest.approx(_strain_derivative(chgnet, cu), rel=0.02)
    assert out["stress"][0, 0] < 0  # compressed below CHGNet's lattice constant


def test_chgnet_refuses_a_molecule_and_label_reports_it(chgnet, tmp_path: Path):
    from ase.build import molecule
    from ase.io import write

    write(tmp_path / "in.extxyz", [bulk("Cu", cubic=True), molecule("H2O")])
    result = label(tmp_path / "in.extxyz", tmp_path / "out.extxyz", oracle="chgnet", progress=False)
    assert len(read_frames(tmp_path / "out.extxyz")) == 1
    assert [i.row for i in result.issues] == [2] and "periodic" in result.issues[0].reason


@pytest.fixture(scope="module")
def sevenn():
    pytest.importorskip("sevenn")
    return make_oracle("sevenn")


def test_sevenn_gives_energy_forces_and_stress_in_molfit_units(sevenn):
    cu = bulk("Cu", "fcc", a=3.55, cubic=True)
    cu.rattle(0.03, seed=2)
    out = evaluate(sevenn, cu)
    assert -4.5 < out["energy"] / len(cu) < -3.5  # eV/atom, SevenNet-0's (MPtrj) copper scale
    assert out["forces"].shape == (4, 3) and np.abs(out["forces"]).max() > 1e-3
    assert np.abs(out["forces"].sum(axis=0)).max() < 1e-4  # no net force on a periodic cell
    # stress in eV/Å³, equal to the strain derivative of the energy
    assert out["stress"][0, 0] == pytest.approx(_strain_derivative(sevenn, cu), rel=0.02)


def test_sevenn_refuses_molecules_and_unknown_elements(sevenn, tmp_path: Path):
    from ase.build import molecule
    from ase.io import write

    og = bulk("Cu", cubic=True)
    og[0].symbol = "Og"  # element 118: not in SevenNet-0's training set
    write(tmp_path / "in.extxyz", [bulk("Cu", cubic=True), molecule("H2O"), og])
    result = label(tmp_path / "in.extxyz", tmp_path / "out.extxyz", oracle="sevenn", progress=False)
    assert len(read_frames(tmp_path / "out.extxyz")) == 1
    assert [i.row for i in result.issues] == [2, 3]
    assert "periodic" in result.issues[0].reason and "Og" in result.issues[1].reason


@pytest.mark.slow
def test_trained_potential_relaxes_to_emts_lattice_constant(copper_cells):
    from ase.calculators.emt import EMT

    from molfit.atomistic import Calculator, relax
    from molfit.models import SchNetModel
    from molfit.structures import Structures
    from molfit.train import Runtime

    model = SchNetModel(
        n_features=32,
        n_interactions=2,
        n_rbf=12,
        cutoff=4.5,
        batch_size=4,
        epochs=40,
        lr=2e-3,
        lr_ratio=0.05,
        energy_per_atom=True,
        stress_weight=1000.0,
        val_fraction=0.0,
        seed=0,
    )
    model.fit(Structures.from_atoms(copper_cells), runtime=Runtime(progress_bar=False))
    a0 = equation_of_state(bulk("Cu", "fcc", a=3.6, cubic=True), EMT()).a0
    start = bulk("Cu", "fcc", a=3.68, cubic=True)
    result = relax(start, Calculator(model, dtype="float64"), cell=True, fmax=1e-3, steps=300)
    assert result.converged
    assert result.atoms.cell.lengths() == pytest.approx([a0] * 3, rel=0.005)

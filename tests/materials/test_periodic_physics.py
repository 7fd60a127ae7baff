"""Periodic potentials as physics: stress is the strain derivative of the energy, supercells are
extensive, a molecule in a big box is the isolated molecule, and equivalent cell choices of one
crystal give one answer. Checked on molfit's own models, untrained and trained, in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms

from molfit.atomistic import Calculator
from molfit.materials import bulk, rattle, supercell
from molfit.models import EquivariantModel, PaiNNModel, SchNetModel
from molfit.train import Runtime

QUIET = Runtime(progress_bar=False)
TINY = dict(n_features=16, n_interactions=2, n_rbf=8, batch_size=8, cutoff=4.5)


def _energy(model, atoms: Atoms) -> float:
    return float(model.predict_energy_forces([atoms], dtype=torch.float64)[0][0])


def _props(model, atoms: Atoms) -> dict:
    out = model.predict_properties([atoms], forces=True, stress=True, dtype=torch.float64)
    return {
        "energy": float(out["energy"][0]),
        "forces": out["forces"][0],
        "stress": out["stress"][0],
    }


def _strained(atoms: Atoms, eps: np.ndarray) -> Atoms:
    out = atoms.copy()
    deform = np.eye(3) + eps
    out.set_cell(np.asarray(atoms.cell[:]) @ deform, scale_atoms=False)
    out.positions = atoms.positions @ deform
    return out


def _numeric_stress(model, atoms: Atoms, h: float = 1e-5) -> np.ndarray:
    """(1/V) dE/dε by central differences over each symmetric strain component."""
    volume = atoms.get_volume()
    out = np.zeros((3, 3))
    for a in range(3):
        for b in range(a, 3):
            eps = np.zeros((3, 3))
            eps[a, b] = eps[b, a] = h / 2 if a != b else h
            plus = _energy(model, _strained(atoms, eps))
            minus = _energy(model, _strained(atoms, -eps))
            # off-diagonal: dE/dε_ab + dE/dε_ba = 2 dE/dε_ab for a symmetric ε of h/2 each
            out[a, b] = out[b, a] = (plus - minus) / (2 * h * volume)
    return out


@pytest.fixture(scope="module")
def untrained(copper_cells):
    """Three architectures after one epoch on the EMT cells (weights barely moved)."""
    from molfit.structures import Structures

    structures = Structures.from_atoms(copper_cells[:8])
    common = dict(epochs=1, val_fraction=0.0, cutoff=4.5, batch_size=8, seed=1)
    return {
        "schnet": SchNetModel(n_features=16, n_interactions=2, n_rbf=8, **common),
        "painn": PaiNNModel(n_features=16, n_interactions=2, n_rbf=8, **common),
        "equivariant": EquivariantModel(n_features=8, n_interactions=1, n_rbf=6, l_max=1, **common),
    }, structures


@pytest.mark.parametrize("kind", ["schnet", "painn", "equivariant"])
def test_stress_is_the_strain_derivative_for_each_architecture(untrained, kind, triclinic):
    models, structures = untrained
    model = models[kind].fit(structures, runtime=QUIET)
    atoms = triclinic(seed=2)  # cell widths below the cutoff: many self-images
    got = _props(model, atoms)["stress"]
    np.testing.assert_allclose(got, got.T, atol=1e-12)
    np.testing.assert_allclose(got, _numeric_stress(model, atoms), rtol=1e-5, atol=1e-9)
    assert np.abs(got).max() > 1e-6  # a real, non-zero stress was compared


def test_trained_potential_stress_is_the_strain_derivative(trained_copper, triclinic):
    assert trained_copper.uses_stress_
    for atoms in (triclinic(seed=5), rattle(bulk("Cu", "fcc", a=3.7, cubic=True), 0.05)):
        got = _props(trained_copper, atoms)["stress"]
        np.testing.assert_allclose(
            got, _numeric_stress(trained_copper, atoms), rtol=1e-5, atol=1e-8
        )


@pytest.mark.parametrize("repeat", [(2, 2, 2), (3, 1, 2), (1, 1, 4)])
def test_supercell_energy_is_n_times_the_cell(trained_copper, repeat, triclinic):
    cell = triclinic(seed=1)
    big = supercell(cell, repeat)
    n = int(np.prod(repeat))
    small, large = _props(trained_copper, cell), _props(trained_copper, big)
    assert large["energy"] == pytest.approx(n * small["energy"], rel=1e-10, abs=1e-9)
    np.testing.assert_allclose(large["forces"], np.tile(small["forces"], (n, 1)), atol=1e-9)
    np.testing.assert_allclose(large["stress"], small["stress"], atol=1e-10)  # intensive


def test_molecule_in_a_big_box_is_the_isolated_molecule(trained_copper):
    # a Cu4 cluster: every periodic image is 25 Å away, far beyond the 4.5 Å cutoff
    cluster = Atoms("Cu4", positions=[[0, 0, 0], [2.5, 0, 0], [0.3, 2.4, 0], [1.2, 0.9, 2.2]])
    isolated = trained_copper.predict_properties([cluster], dtype=torch.float64)
    boxed = cluster.copy()
    boxed.set_cell(np.eye(3) * 28.0)
    boxed.center()
    boxed.pbc = True
    periodic = _props(trained_copper, boxed)
    shifted = cluster.copy()
    shifted.positions = boxed.positions
    isolated = trained_copper.predict_properties([shifted], dtype=torch.float64)
    assert periodic["energy"] == pytest.approx(float(isolated["energy"][0]), abs=1e-10)
    np.testing.assert_allclose(periodic["forces"], isolated["forces"][0], atol=1e-10)


def test_lattice_equivalent_cells_give_one_answer(trained_copper, triclinic):
    """The same crystal described by another basis (a unimodular integer change of lattice
    vectors), with atoms wrapped or not: same energy, stress, forces per atom."""
    atoms = triclinic(seed=3)
    ref = _props(trained_copper, atoms)
    for m in ([[1, 1, 0], [0, 1, 0], [0, 0, 1]], [[1, 0, 0], [-1, 1, 2], [0, 0, 1]]):
        other = atoms.copy()
        other.set_cell(np.array(m) @ np.asarray(atoms.cell[:]), scale_atoms=False)
        other.wrap()
        got = _props(trained_copper, other)
        assert got["energy"] == pytest.approx(ref["energy"], abs=1e-9)
        np.testing.assert_allclose(got["stress"], ref["stress"], atol=1e-10)
        np.testing.assert_allclose(got["forces"], ref["forces"], atol=1e-9)
    translated = atoms.copy()
    translated.positions += [3.3, -7.1, 12.0]  # far outside the cell, unwrapped
    assert _props(trained_copper, translated)["energy"] == pytest.approx(ref["energy"], abs=1e-9)


def test_calculator_gives_the_models_stress(trained_copper):
    atoms = rattle(bulk("Cu", "fcc", a=3.55, cubic=True).repeat(2), 0.03, seed=4)
    atoms.calc = Calculator(trained_copper, dtype="float64")
    from ase.stress import voigt_6_to_full_3x3_stress

    ref = _props(trained_copper, atoms)
    np.testing.assert_allclose(
        voigt_6_to_full_3x3_stress(atoms.get_stress()), ref["stress"], atol=1e-10
    )
    assert atoms.get_potential_energy() == pytest.approx(ref["energy"], abs=1e-9)


def test_stress_is_trained_only_when_asked(copper_cells):
    from molfit.structures import Structures

    structures = Structures.from_atoms(copper_cells[:10])
    common = dict(**TINY, epochs=1, val_fraction=0.3, seed=0)
    with_stress = SchNetModel(**common, stress_weight=10.0).fit(structures, runtime=QUIET)
    without = SchNetModel(**common).fit(structures, runtime=QUIET)
    assert with_stress.uses_stress_ and not without.uses_stress_
    assert "val_stress_mae" in with_stress.history_[0]["last_metrics"]
    assert "val_stress_mae" not in without.history_[0]["last_metrics"]


def test_properties_refuse_an_element_outside_the_training_set(trained_copper):
    from molfit.errors import InputError
    from molfit.materials import crystal_properties, substitute

    alloy = substitute(bulk("Cu", "fcc", a=3.7, cubic=True), "Au", 0.25, seed=0)
    with pytest.raises(InputError, match="Au never occur"):
        crystal_properties(alloy, Calculator(trained_copper), which=("eos",))

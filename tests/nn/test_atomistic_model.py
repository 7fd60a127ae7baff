"""AtomisticModel as physics: forces and stress are derivatives of its energy, checked by finite
differences; symmetry; per-element references summed in float64 inside the model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase.build import bulk

from molfit.keys import ENERGY, FORCES, STRESS, TARGETS
from molfit.nn.atomistic import AtomisticModel, DimeNetPP, PaiNN, ScalarFeatures, SchNet
from molfit.structures import Structures, collate_structures, conformer_geometry, structure_items

CUTOFF = 4.0


def _model(kind: str, seed: int = 0, references=None) -> AtomisticModel:
    torch.manual_seed(seed)
    if kind == "schnet":
        net, width = SchNet(n_features=16, n_interactions=2, n_rbf=8, cutoff=CUTOFF), 16
    elif kind == "painn":
        net, width = PaiNN(n_features=16, n_interactions=2, n_rbf=8, cutoff=CUTOFF), 16
    else:
        net = DimeNetPP(n_features=16, n_blocks=2, n_radial=6, cutoff=CUTOFF)
        width = net.n_out
    model = AtomisticModel(
        ScalarFeatures(net), width, cutoff=CUTOFF, atom_scale=[0.7], atom_shift=[-0.2],
        references=references, activation="silu",
    )  # fmt: skip
    return model.double().eval()


def _batch(structures: list[tuple]):
    return collate_structures(structure_items(structures, CUTOFF), dtype=torch.float64)


def _energy(model: AtomisticModel, structures: list[tuple]) -> np.ndarray:
    with torch.no_grad():
        return model(_batch(structures))[ENERGY].numpy()


@pytest.fixture(scope="module")
def aspirin_np():
    numbers, positions = conformer_geometry("CC(=O)Oc1ccccc1C(=O)O")
    return np.asarray(numbers), np.asarray(positions)


def _copper(cubic: bool, seed: int = 0):
    atoms = bulk("Cu", "fcc", a=3.6, cubic=cubic)
    atoms.rattle(0.08, seed=seed)
    return (atoms.numbers, atoms.positions.copy(), np.asarray(atoms.cell[:]), np.ones(3, bool))


@pytest.mark.parametrize("kind", ["schnet", "painn", "dimenet++"])
def test_forces_are_minus_the_energy_gradient(kind, aspirin_np):
    numbers, positions = aspirin_np
    model = _model(kind)
    out = model(_batch([(numbers, positions)]), compute_forces=True)
    forces = out[FORCES].detach().numpy()
    assert forces.shape == (len(numbers), 3)
    assert np.abs(forces).max() > 1e-3  # a real test: the forces are not all zero
    h = 1e-5
    rng = np.random.default_rng(1)
    for atom, axis in zip(rng.integers(0, len(numbers), 5), rng.integers(0, 3, 5), strict=True):
        plus, minus = positions.copy(), positions.copy()
        plus[atom, axis] += h
        minus[atom, axis] -= h
        e = _energy(model, [(numbers, plus), (numbers, minus)])
        numeric = -(e[0] - e[1]) / (2 * h)
        assert forces[atom, axis] == pytest.approx(numeric, abs=1e-6, rel=1e-5)
    np.testing.assert_allclose(forces.sum(axis=0), 0.0, atol=1e-9)  # no net force


@pytest.mark.parametrize("kind", ["schnet", "painn", "dimenet++"])
@pytest.mark.parametrize("cubic", [False, True])  # 1 atom (2.5 Å cell) and 4 atoms (3.6 Å)
def test_stress_is_the_strain_derivative_of_a_periodic_cell(kind, cubic):
    numbers, positions, cell, pbc = _copper(cubic)
    assert np.linalg.norm(cell, axis=1).min() < 2 * CUTOFF  # images of an atom interact
    model = _model(kind, seed=2)
    out = model(_batch([(numbers, positions, cell, pbc)]), compute_forces=True, compute_stress=True)
    stress = out[STRESS].detach().numpy()[0]
    np.testing.assert_allclose(stress, stress.T, atol=1e-10)
    volume = abs(np.linalg.det(cell))
    h = 1e-5
    numeric = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            eps = np.zeros((3, 3))
            eps[i, j] += h / 2
            eps[j, i] += h / 2
            strained = []
            for sign in (1, -1):
                deform = np.eye(3) + sign * eps
                strained.append((numbers, positions @ deform, cell @ deform, pbc))
            e = _energy(model, strained)
            numeric[i, j] = (e[0] - e[1]) / (2 * h * volume)
    assert np.abs(numeric).max() > 1e-5
    np.testing.assert_allclose(stress, numeric, atol=1e-7, rtol=1e-5)
    # forces of the periodic cell are derivatives too
    forces = out[FORCES].detach().numpy()
    plus, minus = positions.copy(), positions.copy()
    plus[0, 1] += h
    minus[0, 1] -= h
    e = _energy(model, [(numbers, plus, cell, pbc), (numbers, minus, cell, pbc)])
    assert forces[0, 1] == pytest.approx(-(e[0] - e[1]) / (2 * h), abs=1e-6, rel=1e-5)


@pytest.mark.parametrize("kind", ["schnet", "painn", "dimenet++"])
def test_energy_invariant_forces_equivariant(kind, aspirin_np, random_rotation):
    numbers, positions = aspirin_np
    model = _model(kind, seed=3)
    rotation = random_rotation(7).numpy()
    perm = np.random.default_rng(7).permutation(len(numbers))
    variants = [
        (numbers, positions),
        (numbers, positions @ rotation.T + np.array([4.0, -2.0, 9.0])),
        (numbers[perm], positions[perm]),
    ]
    out = model(_batch(variants), compute_forces=True)
    e = out[ENERGY].detach().numpy()
    f = out[FORCES].detach().numpy().reshape(3, len(numbers), 3)
    assert e[1] == pytest.approx(e[0], abs=1e-9)
    assert e[2] == pytest.approx(e[0], abs=1e-9)
    np.testing.assert_allclose(f[1], f[0] @ rotation.T, atol=1e-9)
    np.testing.assert_allclose(f[2], f[0][perm], atol=1e-9)


def test_periodic_energy_invariant_under_translation_and_wrapping():
    numbers, positions, cell, pbc = _copper(True, seed=4)
    model = _model("schnet", seed=4)
    shifted = positions + np.array([0.3, -1.1, 0.7])
    wrapped = shifted - np.floor(shifted @ np.linalg.inv(cell)) @ cell
    e = _energy(model, [(numbers, positions, cell, pbc), (numbers, wrapped, cell, pbc)])
    assert e[1] == pytest.approx(e[0], abs=1e-9)


def test_references_are_summed_in_float64_inside_the_model(aspirin_np):
    numbers, positions = aspirin_np  # C9H8O4, 21 atoms
    refs = np.zeros((119, 1))
    refs[1], refs[6], refs[8] = -13.61312172, -1029.86312267, -2042.61123593  # QM9-sized, eV
    with_refs = _model("schnet", seed=5, references=refs).float()  # network in float32
    without = _model("schnet", seed=5).float()
    assert with_refs.references.dtype == torch.float64  # .float() kept the buffer's precision
    batch = collate_structures(structure_items([(numbers, positions)], CUTOFF))
    with torch.no_grad():
        total = with_refs(batch)[ENERGY]
        network = without(batch)[ENERGY]
    assert total.dtype == torch.float64
    exact = float(np.sum(refs[numbers, 0]))  # about -1.07e4 eV
    assert float(total[0] - network[0]) == pytest.approx(exact, abs=1e-9)
    # float32 summation of the same references is off by more than a meV-scale tolerance
    float32_sum = float(torch.tensor(refs[numbers, 0], dtype=torch.float32).sum())
    assert abs(float32_sum - exact) > 1e-5
    # saved and restored: the references stay float64 in the state dict
    state = with_refs.state_dict()
    assert state["references"].dtype == torch.float64


def test_mean_and_dipole_readouts_and_flags(aspirin_np):
    numbers, positions = aspirin_np
    torch.manual_seed(0)
    net = SchNet(n_features=8, n_interactions=1, n_rbf=4, cutoff=CUTOFF)
    mean = AtomisticModel(ScalarFeatures(net), 8, cutoff=CUTOFF, n_outputs=2, readout="mean")
    dipole = AtomisticModel(ScalarFeatures(net), 8, cutoff=CUTOFF, readout="dipole")
    batch = collate_structures(structure_items([(numbers, positions)], CUTOFF))
    out = mean(batch)
    assert out[TARGETS].shape == (1, 2) and ENERGY not in out
    with pytest.raises(ValueError, match="energy model"):
        mean(batch, compute_forces=True)
    d = dipole(batch)[TARGETS]
    assert d.shape == (1, 1) and float(d[0, 0].detach()) > 0
    with pytest.raises(ValueError, match="periodic"):
        _model("schnet")(_batch([(numbers, positions)]), compute_stress=True)


def test_structures_labels_drive_a_batch():
    """Structures from ASE keep energy/forces/stress and feed the model as one batch."""
    numbers, positions, cell, pbc = _copper(True)
    s = Structures(numbers, positions, np.array([0, len(numbers)]), cells=cell[None], pbc=pbc[None])
    model = _model("painn", seed=6)
    out = model(
        collate_structures(structure_items(s, CUTOFF), dtype=torch.float64),
        compute_forces=True,
        compute_stress=True,
    )
    assert out[STRESS].shape == (1, 3, 3) and out[FORCES].shape == (len(numbers), 3)

"""Neighbour lists against a brute-force image enumeration and ASE, molecules and periodic cells."""

import itertools

import numpy as np
import pytest
import torch
from ase.build import bulk
from ase.neighborlist import primitive_neighbor_list

from molfit.errors import InputError
from molfit.structures import NeighborList, conformer_geometry, neighbor_list

QM9_SMILES = ["OC1COC1C#N", "CC(=O)C#N", "CC1=CNC(=O)N1", "C1CC2CC1O2"]
TRICLINIC = np.array([[4.1, 0.0, 0.0], [1.3, 3.7, 0.0], [-0.9, 0.8, 4.4]])


def brute_force(positions, cutoff, cell=None, pbc=(False, False, False), self_interaction=False):
    """Every (i, j, shift) with |r_j - r_i + shift @ cell| < cutoff, by enumerating images.

    The image range comes from the lattice-plane spacings (volume / area of the opposite face),
    plus the spread of the unwrapped atoms, plus a safety margin of one cell.
    """
    positions = np.asarray(positions, dtype=np.float64)
    pbc = np.asarray(pbc, dtype=bool)
    ranges = np.zeros(3, dtype=int)
    if pbc.any():
        cell = np.asarray(cell, dtype=np.float64)
        volume = abs(np.linalg.det(cell))
        fractional = positions @ np.linalg.inv(cell)
        for k in range(3):
            if pbc[k]:
                m, n = [x for x in range(3) if x != k]
                spacing = volume / np.linalg.norm(np.cross(cell[m], cell[n]))
                spread = np.ptp(fractional[:, k])
                ranges[k] = int(np.ceil(cutoff / spacing + spread)) + 1
    else:
        cell = np.zeros((3, 3))
    shifts = np.array(list(itertools.product(*[range(-r, r + 1) for r in ranges])))
    offsets = shifts @ cell
    found = set()
    for i in range(len(positions)):
        for j in range(len(positions)):
            d = np.linalg.norm(positions[j] - positions[i] + offsets, axis=1)
            for s in np.flatnonzero(d < cutoff):
                if i == j and not shifts[s].any() and not self_interaction:
                    continue
                found.add((i, j, tuple(int(x) for x in shifts[s])))
    return found


def as_set(nl: NeighborList, offset: int = 0) -> set:
    return {
        (int(a) - offset, int(b) - offset, tuple(int(x) for x in s))
        for a, b, s in zip(nl.i, nl.j, nl.shifts, strict=True)
    }


def ase_set(positions, cutoff, cell, pbc, self_interaction=False) -> set:
    i, j, s = primitive_neighbor_list(
        "ijS", pbc, cell, positions, cutoff, self_interaction=self_interaction
    )
    return {(int(a), int(b), tuple(int(x) for x in t)) for a, b, t in zip(i, j, s, strict=True)}


def check_vectors(nl: NeighborList, positions, cell=None):
    positions = torch.as_tensor(positions, dtype=torch.float64)
    expected = positions[nl.j] - positions[nl.i]
    if cell is not None:
        expected = expected + nl.shifts.double() @ torch.as_tensor(cell, dtype=torch.float64)
    torch.testing.assert_close(nl.vectors, expected)
    torch.testing.assert_close(nl.distances, expected.norm(dim=1))
    assert torch.all(nl.i[1:] >= nl.i[:-1])  # sorted by centre


@pytest.fixture(scope="module")
def qm9_molecule():
    return conformer_geometry(QM9_SMILES[0])


def test_molecule_from_a_conformer_equals_brute_force_and_ase(qm9_molecule):
    _, positions = qm9_molecule
    for cutoff in (1.2, 2.5, 5.0):
        nl = neighbor_list(torch.tensor(positions), cutoff)
        expected = brute_force(positions, cutoff)
        assert as_set(nl) == expected
        assert as_set(nl) == ase_set(positions, cutoff, np.zeros((3, 3)), (False,) * 3)
        assert (nl.shifts == 0).all()
        check_vectors(nl, positions)
    # a C-H bond is ~1.09 Å: every hydrogen has exactly one neighbour within 1.2 Å
    numbers = qm9_molecule[0]
    nl = neighbor_list(torch.tensor(positions), 1.2)
    hydrogens = np.flatnonzero(numbers == 1)
    assert np.bincount(nl.i.numpy(), minlength=len(numbers))[hydrogens].tolist() == [1] * len(
        hydrogens
    )


def test_both_directions_of_every_pair(qm9_molecule):
    nl = neighbor_list(torch.tensor(qm9_molecule[1]), 3.0)
    pairs = {(a, b) for a, b, _ in as_set(nl)}
    assert pairs == {(b, a) for a, b in pairs}


@pytest.mark.parametrize("cutoff", [3.0, 5.0, 8.0])
def test_fcc_copper_beyond_minimum_image(cutoff):
    atoms = bulk("Cu", "fcc", a=3.61)  # one atom, primitive cell: every neighbour is an image
    positions, cell = atoms.positions, atoms.cell.array
    nl = neighbor_list(torch.tensor(positions), cutoff, cell=torch.tensor(cell))
    expected = brute_force(positions, cutoff, cell, (True,) * 3)
    assert as_set(nl) == expected == ase_set(positions, cutoff, cell, (True,) * 3)
    # fcc coordination shells: 12 at 2.55 Å, +6 at 3.61, +24 at 4.42, +12 at 5.11 ... Å
    assert len(nl) == {3.0: 12, 5.0: 42, 8.0: 176}[cutoff]
    check_vectors(nl, positions, cell)


@pytest.mark.parametrize("pbc", [(True, True, True), (True, False, True), (False, True, False)])
@pytest.mark.parametrize("cutoff", [2.0, 6.5])
def test_random_triclinic_cell_with_unwrapped_atoms(pbc, cutoff):
    rng = np.random.default_rng(7)
    positions = rng.uniform(-3.0, 9.0, size=(14, 3))  # many atoms outside the cell
    nl = neighbor_list(
        torch.tensor(positions), cutoff, cell=torch.tensor(TRICLINIC), pbc=torch.tensor(pbc)
    )
    expected = brute_force(positions, cutoff, TRICLINIC, pbc)
    assert as_set(nl) == expected == ase_set(positions, cutoff, TRICLINIC, pbc)
    check_vectors(nl, positions, TRICLINIC)
    # no shift along a non-periodic direction
    assert (nl.shifts[:, ~torch.tensor(pbc)] == 0).all()


def test_self_interaction_adds_one_zero_pair_per_atom():
    atoms = bulk("NaCl", "rocksalt", a=5.64)
    positions, cell = atoms.positions, atoms.cell.array
    without = neighbor_list(torch.tensor(positions), 4.5, cell=torch.tensor(cell))
    with_self = neighbor_list(
        torch.tensor(positions), 4.5, cell=torch.tensor(cell), self_interaction=True
    )
    added = as_set(with_self) - as_set(without)
    assert added == {(0, 0, (0, 0, 0)), (1, 1, (0, 0, 0))}
    assert as_set(with_self) == ase_set(positions, 4.5, cell, (True,) * 3, self_interaction=True)


def test_batch_of_molecules_never_pairs_across_molecules():
    geometries = [conformer_geometry(s)[1] for s in QM9_SMILES]
    positions = np.concatenate(geometries)
    batch = np.concatenate([np.full(len(g), k) for k, g in enumerate(geometries)])
    # put all molecules on top of each other: a naive global list would pair them
    nl = neighbor_list(torch.tensor(positions), 4.0, batch=torch.tensor(batch))
    assert (batch[nl.i.numpy()] == batch[nl.j.numpy()]).all()
    offset = 0
    for k, g in enumerate(geometries):
        mine = nl.i.numpy()[batch[nl.i.numpy()] == k]
        assert len(mine) > 0
        block = NeighborList(*(t[batch[nl.i.numpy()] == k] for t in nl.__dict__.values()))
        assert as_set(block, offset) == brute_force(g, 4.0)
        offset += len(g)
    check_vectors(nl, positions)


def test_shuffled_batch_order_gives_the_same_pairs():
    geometries = [conformer_geometry(s)[1] for s in QM9_SMILES[:3]]
    positions = np.concatenate(geometries)
    batch = np.concatenate([np.full(len(g), k) for k, g in enumerate(geometries)])
    perm = np.random.default_rng(0).permutation(len(positions))
    nl = neighbor_list(torch.tensor(positions), 3.0, batch=torch.tensor(batch))
    nl_perm = neighbor_list(torch.tensor(positions[perm]), 3.0, batch=torch.tensor(batch[perm]))
    assert {(int(perm[a]), int(perm[b])) for a, b, _ in as_set(nl_perm)} == {
        (a, b) for a, b, _ in as_set(nl)
    }


def test_batch_of_periodic_cells_each_with_its_own_cell():
    cu = bulk("Cu", "fcc", a=3.61)
    nacl = bulk("NaCl", "rocksalt", a=5.64)
    rng = np.random.default_rng(3)
    loose = rng.uniform(0, 4, size=(5, 3))
    structures = [
        (cu.positions, cu.cell.array, (True,) * 3),
        (nacl.positions, nacl.cell.array, (True,) * 3),
        (loose, TRICLINIC, (True, False, True)),
    ]
    positions = np.concatenate([p for p, _, _ in structures])
    batch = np.concatenate([np.full(len(p), k) for k, (p, _, _) in enumerate(structures)])
    cells = torch.tensor(np.stack([c for _, c, _ in structures]))
    pbc = torch.tensor([p for _, _, p in structures])
    nl = neighbor_list(torch.tensor(positions), 5.0, cell=cells, pbc=pbc, batch=torch.tensor(batch))
    offset = 0
    for k, (p, c, periodic) in enumerate(structures):
        mask = torch.tensor(batch)[nl.i] == k
        block = NeighborList(*(t[mask] for t in nl.__dict__.values()))
        assert as_set(block, offset) == brute_force(p, 5.0, c, periodic)
        torch.testing.assert_close(
            block.vectors,
            torch.tensor(positions)[block.j]
            - torch.tensor(positions)[block.i]
            + block.shifts.double() @ torch.tensor(c),
        )
        offset += len(p)


def test_vesin_backend_gives_the_same_list_with_gradients():
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 2, 3))
    atoms.rattle(0.1, seed=2)
    positions = torch.tensor(atoms.positions, requires_grad=True)
    cell = torch.tensor(atoms.cell.array)
    fast = neighbor_list(positions, 6.0, cell=cell, backend="vesin")
    slow = neighbor_list(positions, 6.0, cell=cell, backend="torch")
    assert as_set(fast) == as_set(slow) == ase_set(atoms.positions, 6.0, atoms.cell.array, (1,) * 3)
    assert fast.vectors.requires_grad
    (g_fast,) = torch.autograd.grad(fast.distances.pow(2).sum(), positions)
    (g_slow,) = torch.autograd.grad(slow.distances.pow(2).sum(), positions)
    torch.testing.assert_close(g_fast, g_slow)


def test_distances_are_differentiable_by_finite_differences(qm9_molecule):
    positions = torch.tensor(qm9_molecule[1], requires_grad=True)

    def energy(p):
        nl = neighbor_list(p, 3.0)
        return torch.exp(-nl.distances).sum()

    assert torch.autograd.gradcheck(energy, (positions,), eps=1e-6, atol=1e-6)


def test_cell_gradient_gives_stress_like_derivative():
    atoms = bulk("Cu", "fcc", a=3.61)
    positions = torch.tensor(atoms.positions)
    cell = torch.tensor(atoms.cell.array, requires_grad=True)

    def energy(c):
        return torch.exp(-neighbor_list(positions, 5.0, cell=c).distances).sum()

    assert torch.autograd.gradcheck(energy, (cell,), eps=1e-6, atol=1e-6)


def test_self_interaction_pairs_have_finite_gradients():
    positions = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 1.5]], requires_grad=True)
    nl = neighbor_list(positions, 2.0, self_interaction=True)
    (grad,) = torch.autograd.grad(nl.distances.sum(), positions)
    assert torch.isfinite(grad).all()
    torch.testing.assert_close(grad, torch.tensor([[0.0, 0.0, -2.0], [0.0, 0.0, 2.0]]))


def test_float32_positions_work():
    atoms = bulk("Cu", "fcc", a=3.61)
    nl = neighbor_list(
        torch.tensor(atoms.positions, dtype=torch.float32),
        5.0,
        cell=torch.tensor(atoms.cell.array, dtype=torch.float32),
    )
    assert len(nl) == 42 and nl.vectors.dtype == torch.float32


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"positions": torch.zeros(4, 2)}, "positions must be a \\(n_atoms, 3\\)"),
        ({"cutoff": -1.0}, "cutoff must be a positive"),
        ({"pbc": (True, True, True)}, "no cell was given"),
        ({"cell": torch.zeros(3, 3)}, "singular"),
        ({"cell": torch.eye(3).expand(2, 3, 3)}, "n_structures"),
        ({"batch": torch.tensor([0, 0, 1])}, "batch must be"),
    ],
)
def test_bad_input_is_reported(kwargs, message):
    args = {"positions": torch.rand(4, 3), "cutoff": 2.0} | kwargs
    with pytest.raises(InputError, match=message):
        neighbor_list(args.pop("positions"), args.pop("cutoff"), **args)

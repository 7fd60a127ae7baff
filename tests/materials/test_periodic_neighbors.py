"""The compiled neighbour lists (vesin, vesin.torch) against ASE on real cells: small cells where
the cutoff exceeds the cell, triclinic cells, partly periodic slabs, and a large cell where the
automatic choice hands the work to vesin."""

from __future__ import annotations

import pytest
import torch
from ase.build import bulk, fcc111
from ase.neighborlist import primitive_neighbor_list

from molfit.structures import neighbor_list


def _ase(atoms, cutoff: float) -> set:
    i, j, s = primitive_neighbor_list(
        "ijS", atoms.pbc, atoms.cell[:], atoms.positions, cutoff, self_interaction=False
    )
    return {(int(a), int(b), tuple(int(x) for x in t)) for a, b, t in zip(i, j, s, strict=True)}


def _ours(atoms, cutoff: float, backend: str) -> set:
    nl = neighbor_list(
        torch.tensor(atoms.positions),
        cutoff,
        cell=torch.tensor(atoms.cell[:]),
        pbc=torch.tensor(atoms.pbc),
        backend=backend,
    )
    expected = (
        torch.tensor(atoms.positions)[nl.j]
        - torch.tensor(atoms.positions)[nl.i]
        + nl.shifts.double() @ torch.tensor(atoms.cell[:])
    )
    torch.testing.assert_close(nl.vectors, expected)
    assert (nl.distances < cutoff).all()
    return {
        (int(a), int(b), tuple(int(x) for x in s))
        for a, b, s in zip(nl.i, nl.j, nl.shifts, strict=True)
    }


def _cells():
    tri = bulk("Cu", "fcc", a=3.61)  # one atom, 2.55 Å primitive vectors: all images
    mg = bulk("Mg", "hcp", a=3.21, c=5.21)
    si = bulk("Si", "diamond", a=5.43)
    skew = bulk("Cu", "fcc", a=3.61).repeat((2, 1, 1))
    shear = [[0, 0, 0], [1.1, 0, 0], [0.4, -0.7, 0]]
    skew.set_cell(skew.cell.array + shear, scale_atoms=True)
    skew.rattle(0.1, seed=1)
    slab = fcc111("Cu", size=(2, 2, 3), vacuum=6.0)  # periodic in x, y only
    return {"fcc-primitive": tri, "hcp": mg, "diamond": si, "triclinic": skew, "slab": slab}


@pytest.mark.parametrize("name", list(_cells()))
@pytest.mark.parametrize("cutoff", [3.0, 6.0])
@pytest.mark.parametrize("backend", ["vesin", "torch"])
def test_backends_equal_ase_on_small_and_triclinic_cells(name, cutoff, backend):
    atoms = _cells()[name]
    assert _ours(atoms, cutoff, backend) == _ase(atoms, cutoff)


def test_vesin_torch_gives_the_same_pairs():
    """The GPU path (vesin.torch), run here on CPU tensors."""
    pytest.importorskip("vesin.torch")
    from molfit.structures._neighbors import _pairs_vesin_torch

    atoms = _cells()["triclinic"]
    positions = torch.tensor(atoms.positions)
    i, j, s = _pairs_vesin_torch(
        positions,
        6.0,
        torch.tensor(atoms.cell[:])[None],
        torch.ones(1, 3, dtype=torch.bool),
        torch.zeros(len(atoms), dtype=torch.long),
        1,
    )
    got = {(int(a), int(b), tuple(int(x) for x in t)) for a, b, t in zip(i, j, s, strict=True)}
    assert got == _ase(atoms, 6.0)


def test_large_cell_goes_to_vesin_automatically_and_agrees():
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((6, 6, 4))  # 576 atoms
    atoms.rattle(0.05, seed=3)
    auto = _ours(atoms, 5.0, "auto")
    assert auto == _ase(atoms, 5.0)
    from molfit.structures import _neighbors

    assert _neighbors._use_vesin(
        "auto", torch.tensor(atoms.positions), torch.zeros(len(atoms), dtype=torch.long), 1
    )
    n_pairs = len(auto)
    assert n_pairs == pytest.approx(42 * len(atoms), rel=0.05)  # 12 + 6 + 24 neighbours < 5 Å

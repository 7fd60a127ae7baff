"""Ragged 3D storage: indexing, ASE round trip, subsets."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk, molecule

from molfit.data import Structures
from molfit.errors import InputError


def test_round_trip_and_subset():
    mols = [molecule("CH4"), molecule("H2O"), molecule("C6H6")]
    s = Structures.from_atoms(mols)
    assert len(s) == 3
    assert s.offsets.tolist() == [0, 5, 8, 20]
    assert s.cells is None and s.forces is None
    numbers, positions = s[1]
    assert numbers.tolist() == mols[1].numbers.tolist()
    assert np.allclose(positions, mols[1].positions)
    assert s.structure_index.tolist()[:9] == [0, 0, 0, 0, 0, 1, 1, 1, 2]
    sub = s.subset([2, 0])
    assert sub.n_atoms.tolist() == [12, 5]
    assert sub.to_atoms(0).get_chemical_formula() == "C6H6"
    assert np.allclose(sub.to_atoms(1).positions, mols[0].positions)
    with pytest.raises(IndexError):
        s[3]


def test_periodic_cells_are_kept():
    cu = bulk("Cu", "fcc", a=3.6, cubic=True)
    s = Structures.from_atoms([cu, molecule("H2O")])
    assert s.cells.shape == (2, 3, 3) and s.pbc.shape == (2, 3)
    back = s.to_atoms(0)
    assert back.pbc.all() and np.allclose(back.cell[:], cu.cell[:])
    assert not s.to_atoms(1).pbc.any()


def test_bad_offsets_raise():
    with pytest.raises(InputError, match="offsets"):
        Structures(np.array([1, 1]), np.zeros((2, 3)), np.array([0, 3]))

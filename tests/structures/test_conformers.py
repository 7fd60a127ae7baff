"""Conformers: seeded ETKDGv3 + MMFF94, UFF fallback, lowest-energy geometry, embedding errors."""

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import rdForceFieldHelpers

from molfit.errors import EmbeddingError, InputError
from molfit.structures import conformer_energies, conformer_geometry, embed_molecule

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"


def _pairwise(positions: np.ndarray) -> np.ndarray:
    return np.linalg.norm(positions[:, None] - positions[None], axis=-1)


def test_ethanol_geometry_has_hydrogens_and_chemical_bond_lengths():
    numbers, positions = conformer_geometry("CCO")
    assert numbers.dtype == np.int64 and positions.dtype == np.float64
    assert sorted(numbers.tolist()) == [1] * 6 + [6, 6, 8]
    assert positions.shape == (9, 3)
    d = _pairwise(positions)
    # heavy atoms first in RDKit order: C0-C1 single bond, C1-O2 single bond (MMFF94 values)
    assert d[0, 1] == pytest.approx(1.51, abs=0.03)
    assert d[1, 2] == pytest.approx(1.42, abs=0.03)
    np.fill_diagonal(d, np.inf)
    assert d.min() > 0.9  # no two atoms on top of each other (O-H is the shortest, ~0.97 Å)


def test_same_seed_same_coordinates_other_seed_other_coordinates():
    _, a = conformer_geometry("CCCCCCCCO", seed=3, optimize=None)
    _, b = conformer_geometry("CCCCCCCCO", seed=3, optimize=None)
    _, c = conformer_geometry("CCCCCCCCO", seed=4, optimize=None)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0.1


def test_conformers_are_distinct_and_lowest_energy_is_returned():
    mol = embed_molecule("CCCCCCCCO", n_conformers=4, seed=0)
    assert mol.GetNumConformers() == 4
    positions = [c.GetPositions() for c in mol.GetConformers()]
    # RDKit's own EmbedMultipleConfs with randomSeed=0 gives identical copies; ours must not
    assert all(np.abs(positions[0] - p).max() > 0.05 for p in positions[1:])
    energies = conformer_energies(mol)
    assert energies.shape == (4,) and np.isfinite(energies).all()
    _, best = conformer_geometry("CCCCCCCCO", n_conformers=4, seed=0)
    np.testing.assert_allclose(best, positions[int(np.argmin(energies))])


def test_mmff_energy_property_matches_a_fresh_mmff_evaluation_in_ev():
    mol = embed_molecule(ASPIRIN, seed=1)
    assert mol.GetProp("forcefield") == "MMFF94"
    props = rdForceFieldHelpers.MMFFGetMoleculeProperties(mol)
    ff = rdForceFieldHelpers.MMFFGetMoleculeForceField(mol, props)
    kcal = ff.CalcEnergy()
    assert conformer_energies(mol)[0] == pytest.approx(kcal * 0.0433641, rel=1e-5)
    grad = np.asarray(ff.CalcGrad())
    assert np.abs(grad).max() < 0.1  # relaxed: near-zero gradient (kcal/mol/Å)


def test_uff_fallback_for_atoms_mmff_cannot_type():
    # MMFF94 has no parameters for boron; UFF does
    mol = embed_molecule("OB(O)c1ccccc1")
    assert not rdForceFieldHelpers.MMFFHasAllMoleculeParams(mol)
    assert mol.GetProp("forcefield") == "UFF"
    assert np.isfinite(conformer_energies(mol)).all()


def test_no_optimization_keeps_etkdg_geometry_without_energies():
    mol = embed_molecule("CCO", optimize=None)
    assert mol.GetProp("forcefield") == "none"
    assert np.isnan(conformer_energies(mol)).all()


def test_accepts_an_rdkit_molecule_and_keeps_its_atoms():
    mol = Chem.MolFromSmiles("c1ccncc1")
    numbers, _ = conformer_geometry(mol)
    assert sorted(numbers.tolist()) == [1] * 5 + [6] * 5 + [7]


def test_propellane_cannot_be_embedded_and_the_error_names_it():
    # [1.1.1]propellane is a real, isolable molecule whose bridgehead carbons are "inverted":
    # ETKDG's tetrahedral-centre check rejects every attempt, with any seed.
    with pytest.raises(EmbeddingError) as info:
        embed_molecule("C1C23CC1(C2)C3")
    message = str(info.value)
    assert "C1C23CC1(C2)C3" in message
    assert "tetrahedral" in message


def test_impossible_stereochemistry_is_an_embedding_error():
    # trans-fused bicyclo[2.1.0]pentane: the requested configuration has no 3D realisation
    with pytest.raises(EmbeddingError, match="stereocentre"):
        conformer_geometry("C1C[C@H]2C[C@H]12")


def test_unparseable_smiles_is_an_input_error():
    with pytest.raises(InputError, match="unclosed ring"):
        embed_molecule("C1CC")

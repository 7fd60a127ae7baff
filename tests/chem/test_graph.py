"""Molecular graphs: features of real molecules, directed-edge layout, batching, parallel runs."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from rdkit import Chem

from molfit.chem._graph import (
    ATOM_FEATURES,
    GraphFeaturizer,
    MolGraph,
    collate_graphs,
    mol_to_graph,
)
from molfit.errors import InputError, InvalidMoleculeError

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"


@pytest.fixture(scope="module")
def polar_smiles() -> list[str]:
    """The first 1,000 SMILES of chemml's polarizability set (read by path, chemml not imported)."""
    spec = importlib.util.find_spec("chemml")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("chemml is not installed")
    path = Path(spec.submodule_search_locations[0]) / "published/RI/input_files/properties.csv"
    with path.open(newline="") as handle:
        rows = csv.DictReader(handle)
        return [row["Mol_Smiles"] for _, row in zip(range(1000), rows, strict=False)]


FEATURIZER = GraphFeaturizer()
ATOM = FEATURIZER.feature_names()["atom"]
BOND = FEATURIZER.feature_names()["bond"]


def col(name: str) -> int:
    return ATOM.index(name)


def bcol(name: str) -> int:
    return BOND.index(name)


def same(a: MolGraph, b: MolGraph) -> bool:
    return (
        np.array_equal(a.x, b.x)
        and np.array_equal(a.edge_index, b.edge_index)
        and np.array_equal(a.edge_attr, b.edge_attr)
    )


def test_aspirin_shapes_and_dtypes() -> None:
    g = mol_to_graph(ASPIRIN)
    assert (g.n_atoms, g.n_edges) == (13, 26)
    assert g.x.shape == (13, FEATURIZER.atom_dim) and g.x.dtype == np.float32
    assert g.edge_index.shape == (2, 26) and g.edge_index.dtype == np.int64
    assert g.edge_attr.shape == (26, FEATURIZER.bond_dim) and g.edge_attr.dtype == np.float32
    assert len(ATOM) == FEATURIZER.atom_dim and len(BOND) == FEATURIZER.bond_dim


def test_edge_2k_is_bond_k_and_reverse_is_xor_one() -> None:
    mol = Chem.MolFromSmiles(ASPIRIN)
    g = FEATURIZER(mol)
    for bond in mol.GetBonds():
        k = bond.GetIdx()
        assert tuple(g.edge_index[:, 2 * k]) == (bond.GetBeginAtomIdx(), bond.GetEndAtomIdx())
    e = np.arange(g.n_edges)
    rev = g.rev_index
    assert np.array_equal(rev, e ^ 1)
    assert np.array_equal(g.edge_index[0, rev], g.edge_index[1])
    assert np.array_equal(g.edge_index[1, rev], g.edge_index[0])
    assert np.array_equal(g.edge_attr[rev], g.edge_attr)


def test_aspirin_atom_features() -> None:
    mol = Chem.MolFromSmiles(ASPIRIN)
    g = FEATURIZER(mol)
    # every one-hot group has exactly one column set per atom
    for group in ("atomic_num", "total_degree", "total_num_hs", "formal_charge",
                  "hybridization", "chiral_tag"):  # fmt: skip
        cols = [i for i, name in enumerate(ATOM) if name.startswith(group + "=")]
        assert np.all(g.x[:, cols].sum(axis=1) == 1), group
    acid_o = 12  # the OH oxygen of the carboxylic acid
    assert g.x[acid_o, col("atomic_num=8")] == 1
    assert g.x[acid_o, col("total_num_hs=1")] == 1
    assert g.x[acid_o, col("total_degree=2")] == 1  # one C neighbour + one H
    methyl = 0
    assert g.x[methyl, col("total_num_hs=3")] == 1 and g.x[methyl, col("total_degree=4")] == 1
    assert g.x[methyl, col("hybridization=SP3")] == 1
    aromatic = [a.GetIdx() for a in mol.GetAtoms() if a.GetIsAromatic()]
    assert aromatic == [4, 5, 6, 7, 8, 9]
    assert np.all(g.x[aromatic, col("is_aromatic")] == 1)
    assert np.all(g.x[aromatic, col("is_in_ring")] == 1)
    assert np.all(g.x[aromatic, col("hybridization=SP2")] == 1)
    assert g.x[:, col("is_aromatic")].sum() == 6 and g.x[:, col("is_in_ring")].sum() == 6
    assert np.all(g.x[:, col("formal_charge=0")] == 1)
    assert np.all(g.x[:, col("delta_mass")] == 0)


def test_aspirin_bond_features() -> None:
    mol = Chem.MolFromSmiles(ASPIRIN)
    g = FEATURIZER(mol)
    for bond in mol.GetBonds():
        row = g.edge_attr[2 * bond.GetIdx()]
        expected = {1.0: "SINGLE", 2.0: "DOUBLE", 1.5: "AROMATIC"}[bond.GetBondTypeAsDouble()]
        assert row[bcol(f"bond_type={expected}")] == 1
        assert row[bcol("is_in_ring")] == bond.IsInRing()
        assert row[bcol("is_conjugated")] == bond.GetIsConjugated()
        assert row[bcol("stereo=STEREONONE")] == 1
    assert g.edge_attr[:, bcol("bond_type=AROMATIC")].sum() == 12  # 6 bonds, both directions


def test_charge_isotope_chirality_and_stereo() -> None:
    quat = mol_to_graph("C[N+](C)(C)C")
    assert quat.x[1, col("formal_charge=1")] == 1 and quat.x[1, col("atomic_num=7")] == 1
    assert quat.x[1, col("total_degree=4")] == 1 and quat.x[1, col("total_num_hs=0")] == 1
    assert quat.x[0, col("formal_charge=0")] == 1

    c13 = mol_to_graph("[13CH4]")
    assert c13.x[0, col("delta_mass")] == pytest.approx(13.00335 - 12.011, abs=1e-4)
    assert c13.n_edges == 0 and c13.edge_index.shape == (2, 0)
    deuterium = mol_to_graph("[2H]C")
    assert deuterium.x[0, col("delta_mass")] == pytest.approx(2.01410 - 1.008, abs=1e-3)
    assert deuterium.x[1, col("delta_mass")] == 0
    # from an RDKit molecule (no SMILES to look at): isotopes found on the atoms themselves
    labelled = mol_to_graph(Chem.MolFromSmiles("[2H]C[13CH3]"))
    assert labelled.x[0, col("delta_mass")] == pytest.approx(2.01410 - 1.008, abs=1e-3)
    assert labelled.x[1, col("delta_mass")] == 0
    assert labelled.x[2, col("delta_mass")] == pytest.approx(13.00335 - 12.011, abs=1e-4)

    alanine = mol_to_graph("C[C@H](N)C(=O)O")
    assert alanine.x[1, col("chiral_tag=CHI_TETRAHEDRAL_CCW")] == 1
    assert alanine.x[0, col("chiral_tag=CHI_UNSPECIFIED")] == 1

    butene = mol_to_graph("C/C=C/C")
    double = butene.edge_attr[2]  # bond 1 is the double bond
    assert double[bcol("bond_type=DOUBLE")] == 1 and double[bcol("stereo=STEREOE")] == 1
    assert mol_to_graph("C/C=C\\C").edge_attr[2, bcol("stereo=STEREOZ")] == 1


def test_rare_values_land_in_other_slots() -> None:
    dative = mol_to_graph("[NH3]->[Cu+2]")
    assert dative.edge_attr[0, bcol("bond_type=other")] == 1
    assert dative.x[1, col("atomic_num=other")] == 0  # Cu (29) has its own column
    assert dative.x[1, col("formal_charge=2")] == 1
    gold = mol_to_graph("[Au]")
    assert gold.x[0, col("atomic_num=other")] == 1
    sf6 = mol_to_graph("FS(F)(F)(F)(F)F")
    assert sf6.x[1, col("total_degree=other")] == 1
    assert mol_to_graph("[O-2]").x[0, col("formal_charge=-2")] == 1
    assert mol_to_graph("[C-3]").x[0, col("formal_charge=other")] == 1


def test_smiles_shortcuts_equal_the_full_path_on_real_molecules(polar_smiles: list[str]) -> None:
    extra = ["C/C=C/C", "C[C@H](N)C(=O)O", "[13CH4]", "[NH3]->[Cu+2]", "C[N+](=O)[O-]",
             "F/C=C\\F", "[2H]OC", "C1CC2CCC1C2", "[Na+].[Cl-]"]  # fmt: skip
    smiles = polar_smiles[:300] + extra
    from_smiles = FEATURIZER.many(smiles)
    from_mols = FEATURIZER.many([Chem.MolFromSmiles(s) for s in smiles])
    assert all(same(a, b) for a, b in zip(from_smiles, from_mols, strict=True))
    one_by_one = [FEATURIZER(s) for s in smiles]
    assert all(same(a, b) for a, b in zip(from_smiles, one_by_one, strict=True))
    # total degree and ring membership derived from the bonds agree with RDKit's atom getters
    for s, g in zip(smiles, from_smiles, strict=True):
        mol = Chem.MolFromSmiles(s)
        deg = [min(a.GetTotalDegree(), 6) for a in mol.GetAtoms()]
        deg_cols = [col(f"total_degree={d}") if d < 6 else col("total_degree=other") for d in deg]
        assert np.all(g.x[np.arange(g.n_atoms), deg_cols] == 1), s
        ring = [a.IsInRing() for a in mol.GetAtoms()]
        assert np.array_equal(g.x[:, col("is_in_ring")], np.array(ring, dtype=np.float32)), s


def test_explicit_hydrogens_count_in_total_degree() -> None:
    mol = Chem.AddHs(Chem.MolFromSmiles("C[NH3+]"))
    g = FEATURIZER(mol)
    assert g.n_atoms == 8 and g.n_edges == 14
    deg = [col(f"total_degree={a.GetTotalDegree()}") for a in mol.GetAtoms()]
    assert np.all(g.x[np.arange(8), deg] == 1)
    assert g.x[1, col("total_degree=4")] == 1 and g.x[1, col("total_num_hs=0")] == 1
    assert g.x[1, col("formal_charge=1")] == 1
    empty = FEATURIZER(Chem.Mol())
    assert empty.n_atoms == 0 and empty.x.shape == (0, FEATURIZER.atom_dim)


def test_feature_subsets_and_options() -> None:
    small = GraphFeaturizer(
        atom_features=("atomic_num", "is_in_ring"), bond_features=("bond_type",), elements=(6, 8)
    )
    names = small.feature_names()
    assert names["atom"] == ["atomic_num=6", "atomic_num=8", "atomic_num=other", "is_in_ring"]
    assert small.atom_dim == 4 and small.bond_dim == 5
    g = small("c1ccncc1")
    assert g.x[:, 2].sum() == 1 and g.x[:, 3].sum() == 6  # the N is "other"
    assert set(ATOM_FEATURES) >= set(small.atom_features)
    with pytest.raises(InputError, match="unknown atom features"):
        GraphFeaturizer(atom_features=("atomic_number",))
    with pytest.raises(InputError, match="distinct atomic numbers"):
        GraphFeaturizer(elements=(6, 6, 8))


def test_bad_inputs_name_the_row() -> None:
    with pytest.raises(InvalidMoleculeError, match="row 3"):
        FEATURIZER.many(["CCO", "CCN", "C1CC", "CC"])
    with pytest.raises(InvalidMoleculeError):
        FEATURIZER("not a smiles")
    with pytest.raises(InvalidMoleculeError, match="got int"):
        FEATURIZER.many(["CCO", 5])  # type: ignore[list-item]


def test_collate_offsets_and_reverse_edges() -> None:
    ethanol, benzene = mol_to_graph("CCO"), mol_to_graph("c1ccccc1")
    batch = collate_graphs([ethanol, benzene])
    assert batch.num_graphs == 2 and batch.num_nodes == 9 and batch.num_edges == 4 + 12
    assert batch.ptr.tolist() == [0, 3, 9]
    assert batch.batch.tolist() == [0, 0, 0, 1, 1, 1, 1, 1, 1]
    assert torch.equal(batch.edge_index[:, :4], torch.from_numpy(ethanol.edge_index))
    assert torch.equal(batch.edge_index[:, 4:], torch.from_numpy(benzene.edge_index) + 3)
    assert torch.equal(batch.x[3:], torch.from_numpy(benzene.x))
    ei, rev = batch.edge_index, batch.rev_index
    assert torch.equal(ei[0, rev], ei[1]) and torch.equal(ei[1, rev], ei[0])
    assert torch.equal(batch.edge_attr[rev], batch.edge_attr)
    # no edge crosses molecules
    assert torch.equal(batch.batch[ei[0]], batch.batch[ei[1]])
    assert batch.to("cpu").x.data_ptr() == batch.x.data_ptr()
    with pytest.raises(InputError, match="empty"):
        collate_graphs([])


def test_collate_molecule_without_bonds() -> None:
    batch = collate_graphs([mol_to_graph("C"), mol_to_graph("O")])
    assert batch.edge_index.shape == (2, 0) and batch.edge_attr.shape == (0, FEATURIZER.bond_dim)
    assert batch.ptr.tolist() == [0, 1, 2]


def test_to_pyg_round_trip() -> None:
    graphs = FEATURIZER.many(["CCO", ASPIRIN, "C"])
    pyg = collate_graphs(graphs).to_pyg()
    assert pyg.num_graphs == 3
    assert pyg.ptr.tolist() == [0, 3, 16, 17]
    for data, g in zip(pyg.to_data_list(), graphs, strict=True):
        assert torch.equal(data.edge_index, torch.from_numpy(g.edge_index))
        assert torch.equal(data.x, torch.from_numpy(g.x))
        assert torch.equal(data.edge_attr, torch.from_numpy(g.edge_attr))


def test_parallel_equals_serial(polar_smiles: list[str]) -> None:
    smiles = polar_smiles[:600]
    featurizer = GraphFeaturizer(chunk_size=64)
    serial = featurizer.many(smiles)
    parallel = featurizer.many(smiles, n_jobs=2)
    assert len(parallel) == len(serial)
    assert all(same(a, b) for a, b in zip(serial, parallel, strict=True))
    with pytest.raises(InvalidMoleculeError, match="row 200"):
        featurizer.many([*smiles[:199], "C1CC", *smiles[199:300]], n_jobs=2)

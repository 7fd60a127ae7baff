"""SMILES parsing and standardization on real molecules, with reasons a chemist can act on."""

from __future__ import annotations

import pytest
from rdkit import Chem

from molfit.chem._smiles import (
    canonical_smiles,
    parse_many,
    parse_smiles,
    standardize,
    standardize_smiles,
    to_mols,
)
from molfit.errors import InvalidMoleculeError


def test_parse_aspirin() -> None:
    mol = parse_smiles("  CC(=O)Oc1ccccc1C(=O)O \n")
    assert mol.GetNumAtoms() == 13 and mol.GetNumBonds() == 13
    assert canonical_smiles(mol) == Chem.MolToSmiles(Chem.MolFromSmiles("CC(=O)Oc1ccccc1C(=O)O"))


@pytest.mark.parametrize(
    ("smiles", "reason"),
    [
        ("C1CC", "unclosed ring"),
        ("CC(C", "unclosed parenthesis"),
        ("C[C(C)(C)(C)C", "bracket"),
        ("c1cccc1", "kekulize"),
        ("C(C)(C)(C)(C)C", "valence"),
        ("", "empty"),
    ],
)
def test_bad_smiles_give_reasons(smiles: str, reason: str) -> None:
    with pytest.raises(InvalidMoleculeError, match=reason):
        parse_smiles(smiles)


def test_parse_many_collects_row_issues() -> None:
    mols, issues = parse_many(["CCO", "C1CC", "c1ccccc1", "nope"], source="demo.csv")
    assert [m is None for m in mols] == [False, True, False, True]
    assert [i.row for i in issues] == [2, 4]
    assert str(issues[0]).startswith("demo.csv row 2: ") and "unclosed ring" in str(issues[0])
    with pytest.raises(InvalidMoleculeError, match="row 2"):
        parse_many(["CCO", "C1CC"], strict=True)
    with pytest.raises(InvalidMoleculeError, match="row 3"):
        to_mols(["CCO", "CCN", "C1CC"])


def test_standardize_strips_salt_and_neutralizes() -> None:
    assert standardize_smiles("CC(=O)[O-].[Na+]") == "CC(=O)O"
    kept = standardize("CC(=O)[O-].[Na+]", neutralize=False)
    assert Chem.MolToSmiles(kept) == "CC(=O)[O-]"
    # a quaternary ammonium has no neutral form and keeps its charge
    assert standardize_smiles("C[N+](C)(C)C.[Cl-]") == "C[N+](C)(C)C"
    assert standardize_smiles("Oc1ccccn1", canonical_tautomer=True) == "O=c1cccc[nH]1"

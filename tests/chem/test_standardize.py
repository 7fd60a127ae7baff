"""Standardization keeps coordination compounds whole and says what it changed per molecule."""

from __future__ import annotations

import pytest
from rdkit import Chem

from molfit.chem import (
    StandardizeResult,
    coordination_metals,
    standardize,
    standardize_many,
    standardize_smiles,
)


def _heavy(smiles: str) -> list[str]:
    return sorted(
        a.GetSymbol() for a in Chem.MolFromSmiles(smiles).GetAtoms() if a.GetAtomicNum() > 1
    )


@pytest.mark.parametrize("smiles", ["N.N.Cl[Pt]Cl", "[NH3][Pt]([NH3])(Cl)Cl"])
def test_cisplatin_is_not_reduced_to_ammonia(smiles: str) -> None:
    result = standardize(smiles, report=True)
    assert _heavy(result.smiles) == ["Cl", "Cl", "N", "N", "Pt"]
    assert result.smiles == Chem.MolToSmiles(Chem.MolFromSmiles(smiles))
    assert standardize_smiles(smiles) != "N"
    assert any("Pt" in w and "kept as written" in w for w in result.warnings)


def test_ferrocene_keeps_iron_and_both_rings() -> None:
    ferrocene = "[cH-]1cccc1.[cH-]1cccc1.[Fe+2]"
    result = standardize(ferrocene, report=True)
    assert _heavy(result.smiles) == sorted(["C"] * 10 + ["Fe"])
    assert not result.changed
    assert coordination_metals(Chem.MolFromSmiles(ferrocene)) == ["Fe"]


def test_sodium_salt_becomes_the_acid_and_that_is_reported() -> None:
    result = standardize("CC(=O)[O-].[Na+]", report=True)
    assert isinstance(result, StandardizeResult)
    assert result.smiles == "CC(=O)O"
    assert result.changed
    assert "removed salt/solvent fragment(s): [Na+]" in result.changes
    assert "neutralized charges" in result.changes
    assert result.warnings == ()  # Na+ is a known salt: the composition change is expected
    # a covalently written sodium salt is disconnected (ionic bond), then stripped
    assert standardize_smiles("CC(=O)O[Na]") == "CC(=O)O"


@pytest.mark.parametrize("smiles", ["CCN.Cl", "CC[NH3+].[Cl-]"])
def test_hydrochloride_loses_hcl_only(smiles: str) -> None:
    result = standardize(smiles, report=True)
    assert result.smiles == "CCN"
    assert any(c.startswith("removed salt/solvent fragment(s)") for c in result.changes)
    assert result.warnings == ()


def test_zwitterions() -> None:
    glycine = standardize("[NH3+]CC(=O)[O-]", report=True)
    assert glycine.smiles == "NCC(=O)O"
    assert glycine.changes == ("neutralized charges",)
    betaine = standardize("C[N+](C)(C)CC(=O)[O-]", report=True)  # no neutral form
    assert betaine.smiles == "C[N+](C)(C)CC(=O)[O-]"
    assert betaine.changes == () and not betaine.changed


def test_aspirin_unchanged() -> None:
    result = standardize("CC(=O)Oc1ccccc1C(=O)O", report=True)
    assert result.smiles == result.input_smiles == "CC(=O)Oc1ccccc1C(=O)O"
    assert result.changes == () and result.warnings == ()


def test_dropping_an_unknown_fragment_is_a_warning() -> None:
    # ethylamine fumarate: fumaric acid is not in the salt list, so the amine is dropped by size
    result = standardize("CCN.OC(=O)/C=C/C(=O)O", report=True)
    assert result.smiles == "O=C(O)/C=C/C(=O)O"
    assert len(result.warnings) == 1
    assert "heavy-atom composition changed" in result.warnings[0]
    assert "lost C2N" in result.warnings[0]


def test_standardize_many_reports_rows() -> None:
    results, issues = standardize_many(
        ["CCO", "C1CC", "CCN.OC(=O)/C=C/C(=O)O", "N.N.Cl[Pt]Cl"], source="x.csv"
    )
    assert results[1] is None
    assert results[0] is not None and results[0].smiles == "CCO"
    assert [i.row for i in issues] == [2, 3, 4]
    assert "unclosed ring" in issues[0].reason
    assert issues[1].field == "standardize" and "x.csv row 3" in str(issues[1])

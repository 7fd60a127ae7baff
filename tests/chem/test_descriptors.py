"""RDKit 2D descriptors: the full list, known values, NaN safety and parallel runs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import Descriptors

from molfit.chem._descriptors import RDKitDescriptors, descriptor_names, rdkit_descriptors
from molfit.errors import InputError, InvalidMoleculeError

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"


def test_full_descriptor_list() -> None:
    names = descriptor_names()
    assert names == [name for name, _ in Descriptors.descList]
    assert len(names) > 200 and {"MolWt", "TPSA", "MolLogP", "NumHDonors"} <= set(names)
    assert rdkit_descriptors(ASPIRIN).shape == (len(names),)


def test_known_values_of_aspirin() -> None:
    names = descriptor_names()
    values = dict(zip(names, rdkit_descriptors(ASPIRIN), strict=True))
    assert values["MolWt"] == pytest.approx(180.159, abs=0.01)
    assert values["NumHDonors"] == 1 and values["NumHAcceptors"] == 3
    assert values["TPSA"] == pytest.approx(63.6, abs=0.1)
    assert values["RingCount"] == 1 and values["NumAromaticRings"] == 1
    assert values["HeavyAtomCount"] == 13
    assert not np.isnan(list(values.values())).any()


def test_subset_in_given_order() -> None:
    out = rdkit_descriptors(["CCO", ASPIRIN], names=["TPSA", "MolWt"])
    assert out.shape == (2, 2) and out.dtype == np.float64
    assert out[0].round(2).tolist() == [20.23, 46.07]
    assert RDKitDescriptors(("MolWt",)).feature_names() == ["MolWt"]
    with pytest.raises(InputError, match="did you mean 'MolWt'"):
        rdkit_descriptors("CCO", names=["molwt"])


def test_nan_safe_on_odd_molecules() -> None:
    names = descriptor_names()
    # iron has no Gasteiger parameters: the BCUT2D descriptors fail, everything else is computed
    iron = rdkit_descriptors("[Fe]")
    failed = {names[j] for j in np.flatnonzero(np.isnan(iron))}
    assert failed and all(name.startswith("BCUT2D") for name in failed)
    assert iron[names.index("MolWt")] == pytest.approx(55.845, abs=0.01)
    # a dummy atom and a salt do not crash either
    odd = rdkit_descriptors(["*C", "[Na+].[Cl-]"])
    assert np.isfinite(odd[:, names.index("MolWt")]).all()
    assert not np.isinf(odd).any()


def test_non_finite_values_become_nan() -> None:
    def explodes(mol: Chem.Mol) -> float:
        raise ZeroDivisionError

    from molfit.chem import _descriptors

    table = _descriptors._table()
    table["_test_inf"] = lambda mol: math.inf
    table["_test_raises"] = explodes
    try:
        out = rdkit_descriptors(["CCO"], names=["MolWt", "_test_inf", "_test_raises"])
    finally:
        del table["_test_inf"], table["_test_raises"]
    assert out[0, 0] == pytest.approx(46.07, abs=0.01)
    assert np.isnan(out[0, 1]) and np.isnan(out[0, 2])


def test_bad_smiles_and_parallel() -> None:
    with pytest.raises(InvalidMoleculeError, match="row 2"):
        rdkit_descriptors(["CCO", "C1CC"])
    smiles = ["CCO", ASPIRIN, "[Fe]", "c1ccncc1", "CC(C)CC(=O)O"] * 30
    serial = RDKitDescriptors()(smiles)
    parallel = RDKitDescriptors()(smiles, n_jobs=2)
    assert serial.shape == (150, len(descriptor_names()))
    assert np.array_equal(serial, parallel, equal_nan=True)

"""ECFP: equal to RDKit's own generator, counts, and identical results from several processes."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from molfit.chem._fingerprints import ECFP, ecfp
from molfit.errors import InvalidMoleculeError

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


def test_aspirin_ecfp6_equals_rdkit_bit_for_bit() -> None:
    mol = Chem.MolFromSmiles(ASPIRIN)
    expected = rdFingerprintGenerator.GetMorganGenerator(radius=3, fpSize=1024)
    reference = np.array(expected.GetFingerprintAsNumPy(mol), dtype=np.uint8)
    assert reference.sum() > 20  # a real fingerprint, not an empty one
    assert np.array_equal(ecfp(ASPIRIN), reference)
    assert np.array_equal(ecfp(mol), reference)
    assert np.array_equal(ECFP()([ASPIRIN, mol]), np.stack([reference, reference]))
    bits = list(expected.GetFingerprint(mol).GetOnBits())
    assert np.flatnonzero(ecfp(ASPIRIN)).tolist() == bits


def test_counts_mode() -> None:
    counts = ecfp(ASPIRIN, counts=True)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=3, fpSize=1024)
    reference = gen.GetCountFingerprintAsNumPy(Chem.MolFromSmiles(ASPIRIN))
    assert counts.dtype == np.uint8 and np.array_equal(counts, reference)
    assert counts.max() > 1  # aspirin repeats aromatic CH environments
    assert np.array_equal(counts > 0, ecfp(ASPIRIN) > 0)
    # counts saturate at 255 instead of wrapping around
    long_chain = "C" * 600
    assert ecfp(long_chain, counts=True, radius=0, n_bits=64).max() == 255
    many = ECFP(counts=True)([ASPIRIN, "CCO"])
    assert np.array_equal(many[0], counts)


def test_radius_and_length_options() -> None:
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    reference = gen.GetFingerprintAsNumPy(Chem.MolFromSmiles(ASPIRIN))
    assert np.array_equal(ecfp(ASPIRIN, radius=2, n_bits=2048), reference)
    with pytest.raises(ValueError):
        ECFP(n_bits=0)


def test_bad_smiles_named_by_row() -> None:
    with pytest.raises(InvalidMoleculeError, match="row 2"):
        ECFP()(["CCO", "C1CC", "CCN"])
    assert ECFP()([]).shape == (0, 1024)


def test_parallel_equals_serial(polar_smiles: list[str]) -> None:
    featurizer = ECFP()
    serial = featurizer(polar_smiles)
    parallel = featurizer(polar_smiles, n_jobs=2)
    assert serial.shape == (1000, 1024) and np.array_equal(serial, parallel)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=3, fpSize=1024)
    for i in (0, 517, 999):
        reference = gen.GetFingerprintAsNumPy(Chem.MolFromSmiles(polar_smiles[i]))
        assert np.array_equal(serial[i], reference)
    with pytest.raises(InvalidMoleculeError, match="row 700"):
        featurizer([*polar_smiles[:699], "C1CC"], n_jobs=2)
    assert np.array_equal(ECFP(counts=True)(polar_smiles[:50], n_jobs=-1),
                          ECFP(counts=True)(polar_smiles[:50]))  # fmt: skip

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


def _moses_and_b3db(n_query: int, n_reference: int) -> tuple[list[Chem.Mol], list[Chem.Mol]]:
    import gzip
    import itertools

    from molfit.data import load, moses_file

    with gzip.open(moses_file(), "rt") as fh:
        next(fh)
        query = [Chem.MolFromSmiles(line.split(",")[0]) for line in itertools.islice(fh, n_query)]
    reference = [Chem.MolFromSmiles(s) for s in load("b3db").smiles[:n_reference]]
    return query, [m for m in reference if m is not None]


def test_max_tanimoto_equals_rdkit_bulk_tanimoto_on_real_molecules_in_any_blocking() -> None:
    from rdkit import DataStructs

    from molfit.chem import PackedBits, max_tanimoto

    query, reference = _moses_and_b3db(120, 700)
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=3, fpSize=1024)
    ref_vectors = [generator.GetFingerprint(m) for m in reference]
    expected = np.array(
        [
            max(DataStructs.BulkTanimotoSimilarity(generator.GetFingerprint(m), ref_vectors))
            for m in query
        ],
        dtype=np.float64,
    ).astype(np.float32)  # RDKit's double ratio rounded once: the float32 nearest the exact ratio
    q_bits, r_bits = ECFP()(query), ECFP()(reference)
    assert 0.2 < expected.mean() < 0.9 and len(set(expected.tolist())) > 20
    packed = PackedBits.from_bits(r_bits, chunk=64)
    assert packed.counts.tolist() == r_bits.sum(axis=1).tolist()
    for q_chunk, r_chunk in [(16, 8192), (1, 1), (7, 130), (500, 333)]:
        got = max_tanimoto(q_bits, packed, query_chunk=q_chunk, reference_chunk=r_chunk)
        assert got.dtype == np.float32
        assert np.array_equal(got, expected), (q_chunk, r_chunk)
    import scipy.sparse as sp

    assert np.array_equal(max_tanimoto(sp.csr_matrix(q_bits), sp.csr_matrix(r_bits)), expected)


def test_max_tanimoto_of_odd_lengths_empty_rows_and_mismatched_lengths() -> None:
    from molfit.chem import max_tanimoto, tanimoto_matrix

    query, reference = _moses_and_b3db(30, 200)
    q_bits, r_bits = ECFP(radius=2, n_bits=100)(query), ECFP(radius=2, n_bits=100)(reference)
    # 100 bits: not a multiple of 64, the padding must count as unset
    assert np.array_equal(max_tanimoto(q_bits, r_bits), tanimoto_matrix(q_bits, r_bits).max(axis=1))
    empty = np.zeros((2, 100), dtype=np.uint8)
    assert max_tanimoto(empty, empty).tolist() == [0.0, 0.0]
    assert max_tanimoto(q_bits[:3], r_bits[:0]).tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="100 and 1024 bits"):
        max_tanimoto(q_bits, ECFP()(reference))


def test_packed_rows_and_concatenation_keep_the_similarities() -> None:
    from molfit.chem import PackedBits, max_tanimoto

    query, reference = _moses_and_b3db(40, 300)
    q_bits, r_bits = ECFP()(query), ECFP()(reference)
    whole = PackedBits.from_bits(r_bits)
    parts = [PackedBits.from_bits(r_bits[i : i + 128]) for i in range(0, len(r_bits), 128)]
    joined = PackedBits.concatenate(parts, r_bits.shape[1])
    assert np.array_equal(joined.words, whole.words) and np.array_equal(joined.counts, whole.counts)
    picked = np.array([5, 0, 250, 17])
    sub = whole.rows(picked)
    assert len(sub) == 4 and np.array_equal(sub.counts, r_bits[picked].sum(axis=1))
    assert np.array_equal(max_tanimoto(q_bits, sub), max_tanimoto(q_bits, r_bits[picked]))
    empty = PackedBits.concatenate([], 1024)
    assert len(empty) == 0 and empty.n_bits == 1024

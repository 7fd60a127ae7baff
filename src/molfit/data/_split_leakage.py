"""Leakage figures: how close a split's test (and validation) molecules are to its training set.

For each test molecule we take its maximum Tanimoto similarity to any training molecule (ECFP4,
i.e. Morgan radius 2, folded to 2048 bits, by default) and summarize the distribution: median,
mean, 10th and 90th percentile, and the fraction of near-duplicates (max similarity >= 0.8). We
also count the test scaffolds (Bemis–Murcko) that occur in train. A random split typically has a
median near 0.6-0.7 on drug-like sets; a scaffold or cluster split should be clearly lower.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem.Scaffolds import MurckoScaffold

from molfit.chem import ECFP, MolLike, PackedBits, max_tanimoto, to_mols

if TYPE_CHECKING:  # SciPy is imported where the sparse matrices are built (0.3 s)
    import scipy.sparse as sp

LEAKAGE_RADIUS = 2
LEAKAGE_BITS = 2048
NEAR_DUPLICATE = 0.8


def murcko_scaffold(mol: Chem.Mol, *, include_chirality: bool = False) -> str:
    """Bemis–Murcko scaffold SMILES of a molecule; ``""`` for an acyclic molecule."""
    return MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=include_chirality)


def bitvects_to_csr(fps: Sequence[DataStructs.ExplicitBitVect]) -> sp.csr_matrix:
    """RDKit bit vectors as a sparse 0/1 matrix ``(n_molecules, n_bits)`` float32."""
    import scipy.sparse as sp

    on = [list(fp.GetOnBits()) for fp in fps]
    indptr = np.zeros(len(on) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(o) for o in on])
    indices = np.fromiter((b for o in on for b in o), dtype=np.int32, count=int(indptr[-1]))
    n_bits = fps[0].GetNumBits() if len(fps) else 0
    data = np.ones(len(indices), dtype=np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(len(on), n_bits))


def leakage_fingerprints(
    mols: Sequence[Chem.Mol], *, radius: int = LEAKAGE_RADIUS, n_bits: int = LEAKAGE_BITS
) -> PackedBits:
    """Bit fingerprints used for the leakage figures, packed 64 bits a word (``n_bits / 8``
    bytes a molecule).

    Built in blocks of 8,192 molecules through the dense featurizer (faster than reading
    on-bits one molecule at a time), so 100k molecules never hold a dense 200 MB matrix.
    """
    featurizer = ECFP(radius=radius, n_bits=n_bits)
    blocks = [
        PackedBits.from_bits(featurizer(mols[i : i + 8192])) for i in range(0, len(mols), 8192)
    ]
    return PackedBits.concatenate(blocks, n_bits)


def _similarity_summary(max_sim: np.ndarray, threshold: float) -> dict[str, Any]:
    if len(max_sim) == 0:
        return {"n": 0}
    return {
        "n": len(max_sim),
        "median": round(float(np.median(max_sim)), 4),
        "mean": round(float(np.mean(max_sim)), 4),
        "p10": round(float(np.percentile(max_sim, 10)), 4),
        "p90": round(float(np.percentile(max_sim, 90)), 4),
        "near_duplicate_fraction": round(float(np.mean(max_sim >= threshold)), 4),
    }


def leakage_from_arrays(
    fps: PackedBits | sp.csr_matrix | np.ndarray,
    scaffolds: Sequence[str] | None,
    parts: dict[str, np.ndarray],
    *,
    near_duplicate: float = NEAR_DUPLICATE,
    fingerprint: str = f"ECFP4 (Morgan radius {LEAKAGE_RADIUS}), {LEAKAGE_BITS} bits",
) -> dict[str, Any]:
    """Leakage figures from precomputed fingerprints ``(n, n_bits)`` and per-row scaffolds.

    Args:
        fps: bit fingerprints of every input row, packed, sparse or dense ``(n, n_bits)``
            (rows not in a part are ignored).
        scaffolds: Bemis–Murcko scaffold SMILES per row, or ``None`` to skip scaffold counts.
        parts: ``{"train": idx, "valid": idx, "test": idx}``.
        near_duplicate: similarity at or above which a molecule counts as a near-duplicate.
        fingerprint: description stored in the report.

    Returns:
        ``{"fingerprint", "similarity", "near_duplicate_threshold", "test": {...},
        "valid": {...}}``; each part's dict holds ``n``, ``median``, ``mean``, ``p10``, ``p90``,
        ``near_duplicate_fraction`` of the max Tanimoto similarity to train and, with scaffolds,
        ``scaffolds`` (distinct scaffolds in the part), ``shared_scaffolds`` (of those, how many
        occur in train) and ``molecules_with_train_scaffold``. The empty scaffold of acyclic
        molecules counts as one scaffold. Parts that are empty are left out.
    """
    report: dict[str, Any] = {
        "fingerprint": fingerprint,
        "similarity": "max Tanimoto similarity of each molecule to the training set",
        "near_duplicate_threshold": near_duplicate,
    }
    train = parts["train"]
    fps = fps if isinstance(fps, PackedBits) else PackedBits.from_bits(fps)
    train_scaffolds = {scaffolds[i] for i in train} if scaffolds is not None else set()
    for name in ("test", "valid"):
        idx = parts.get(name, np.zeros(0, dtype=np.int64))
        if len(idx) == 0:
            continue
        if len(train) == 0:
            max_sim = np.zeros(len(idx), dtype=np.float32)
        else:
            max_sim = max_tanimoto(fps.rows(idx), fps.rows(train))
        entry = _similarity_summary(max_sim, near_duplicate)
        if scaffolds is not None:
            part_scaffolds = [scaffolds[i] for i in idx]
            distinct = set(part_scaffolds)
            entry["scaffolds"] = len(distinct)
            entry["shared_scaffolds"] = len(distinct & train_scaffolds)
            entry["molecules_with_train_scaffold"] = sum(
                s in train_scaffolds for s in part_scaffolds
            )
        report[name] = entry
    return report


def leakage_report(
    smiles: Sequence[MolLike],
    split: Any,
    *,
    radius: int = LEAKAGE_RADIUS,
    n_bits: int = LEAKAGE_BITS,
    near_duplicate: float = NEAR_DUPLICATE,
) -> dict[str, Any]:
    """How close a split's test and validation molecules are to its training molecules.

    Args:
        smiles: SMILES strings or RDKit molecules, in the order the split indexes.
        split: a :class:`~molfit.data.split.Split` (or anything with ``train``/``valid``/``test``
            index arrays).
        radius: Morgan radius of the fingerprint (2 = ECFP4, the default).
        n_bits: fingerprint length (2048 by default).
        near_duplicate: threshold of the near-duplicate fraction (0.8 by default).

    Returns:
        The dict described in :func:`leakage_from_arrays`.

    Raises:
        InvalidMoleculeError: a SMILES that does not parse, naming its 1-based row.
    """
    mols = to_mols(smiles)
    fps = leakage_fingerprints(mols, radius=radius, n_bits=n_bits)
    scaffolds = [murcko_scaffold(m) for m in mols]
    parts = {p: np.asarray(getattr(split, p), dtype=np.int64) for p in ("train", "valid", "test")}
    return leakage_from_arrays(
        fps,
        scaffolds,
        parts,
        near_duplicate=near_duplicate,
        fingerprint=f"ECFP{2 * radius} (Morgan radius {radius}), {n_bits} bits",
    )

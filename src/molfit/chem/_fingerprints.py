"""Extended-connectivity fingerprints (ECFP, Morgan) as bit or count vectors.

ECFP*d* uses a Morgan radius of *d*/2: ECFP6, the talk's default, is radius 3. Vectors are folded
to ``n_bits`` by RDKit's generator, so ``ecfp(mol)`` equals
``rdFingerprintGenerator.GetMorganGenerator(radius=3, fpSize=1024).GetFingerprintAsNumPy(mol)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from molfit.chem._smiles import MolLike, parse_smiles, to_mol
from molfit.errors import InvalidMoleculeError, RowIssue
from molfit.parallel import parallel_map

_CHUNK = 512  # molecules per unit of work sent to a worker process


@lru_cache(maxsize=32)
def _generator(radius: int, n_bits: int, chirality: bool) -> object:
    return rdFingerprintGenerator.GetMorganGenerator(
        radius=radius, fpSize=n_bits, includeChirality=chirality
    )


@dataclass(frozen=True)
class ECFP:
    """ECFP featurizer settings; call it on molecules to get a matrix.

    Attributes:
        radius: Morgan radius (ECFP6 = radius 3).
        n_bits: length of the folded vector.
        counts: count occurrences (``uint8``, saturating at 255) instead of bits.
        chirality: include chirality in the atom invariants.
    """

    radius: int = 3
    n_bits: int = 1024
    counts: bool = False
    chirality: bool = False

    def __post_init__(self) -> None:
        if self.radius < 0:
            raise ValueError(f"radius must be >= 0, got {self.radius}")
        if self.n_bits <= 0:
            raise ValueError(f"n_bits must be > 0, got {self.n_bits}")

    def one(self, x: MolLike) -> np.ndarray:
        """Fingerprint of one molecule: ``(n_bits,)`` uint8."""
        gen = _generator(self.radius, self.n_bits, self.chirality)
        mol = to_mol(x)
        if self.counts:
            return np.minimum(gen.GetCountFingerprintAsNumPy(mol), 255).astype(np.uint8)  # type: ignore[attr-defined]
        return gen.GetFingerprintAsNumPy(mol).astype(np.uint8)  # type: ignore[attr-defined]

    def __call__(self, xs: Sequence[MolLike], n_jobs: int = 1) -> np.ndarray:
        """Fingerprints of many molecules: ``(n_molecules, n_bits)`` uint8.

        Args:
            xs: SMILES strings and/or RDKit molecules.
            n_jobs: worker processes (``-1``: all cores); the result equals ``n_jobs=1`` exactly.

        Raises:
            InvalidMoleculeError: a SMILES cannot be parsed; the message names its 1-based row.
        """
        if len(xs) == 0:
            return np.zeros((0, self.n_bits), dtype=np.uint8)
        return parallel_map(
            self._chunk, xs, n_jobs=n_jobs, chunk_size=_CHUNK, combine=np.concatenate
        )

    def _chunk(self, xs: Sequence[MolLike]) -> np.ndarray:
        """Fingerprints of one chunk; errors name the 1-based row within the chunk."""
        gen = _generator(self.radius, self.n_bits, self.chirality)
        fingerprint = gen.GetCountFingerprintAsNumPy if self.counts else gen.GetFingerprintAsNumPy  # type: ignore[attr-defined]
        out = np.empty((len(xs), self.n_bits), dtype=np.uint8)
        for row, x in enumerate(xs):
            try:
                mol = x if isinstance(x, Chem.Mol) else parse_smiles(x)
            except InvalidMoleculeError as exc:
                issue = RowIssue(reason=str(exc), row=row + 1)
                raise InvalidMoleculeError(str(issue), issue) from None
            if self.counts:
                np.minimum(fingerprint(mol), 255, out=out[row], casting="unsafe")
            else:
                out[row] = fingerprint(mol)
        return out

    def bitvects(self, xs: Sequence[MolLike]) -> list[DataStructs.ExplicitBitVect]:
        """RDKit bit vectors, for RDKit's fast bulk Tanimoto similarity."""
        gen = _generator(self.radius, self.n_bits, self.chirality)
        return [gen.GetFingerprint(to_mol(x)) for x in xs]  # type: ignore[attr-defined]


def ecfp(
    xs: MolLike | Sequence[MolLike],
    *,
    radius: int = 3,
    n_bits: int = 1024,
    counts: bool = False,
    chirality: bool = False,
    n_jobs: int = 1,
) -> np.ndarray:
    """ECFP of one molecule ``(n_bits,)`` or many ``(n_molecules, n_bits)``, dtype uint8.

    Args:
        xs: a SMILES string or RDKit molecule, or a sequence of them.
        radius: Morgan radius; ECFP6 (the default) is radius 3.
        n_bits: folded length (1024 by default, as in the talk).
        counts: count vectors instead of bits (counts saturate at 255).
        chirality: include chirality in the atom invariants.
        n_jobs: worker processes for many molecules (``-1``: all cores).
    """
    featurizer = ECFP(radius=radius, n_bits=n_bits, counts=counts, chirality=chirality)
    if isinstance(xs, str) or not isinstance(xs, Sequence):
        return featurizer.one(xs)  # type: ignore[arg-type]
    return featurizer(xs, n_jobs=n_jobs)


def tanimoto_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Tanimoto similarity between rows of two bit (0/1) matrices: ``(len(a), len(b))`` float32.

    For count vectors this is the MinMax (generalized Tanimoto) similarity would be the analogue;
    this function treats any non-zero entry as a set bit.
    """
    a = (np.asarray(a) > 0).astype(np.float32)
    b = (np.asarray(b) > 0).astype(np.float32)
    inter = a @ b.T
    na = a.sum(axis=1)[:, None]
    nb = b.sum(axis=1)[None, :]
    union = na + nb - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = np.where(union > 0, inter / union, 1.0)
    return sim.astype(np.float32)


def max_tanimoto(
    query: np.ndarray,
    reference: np.ndarray,
    *,
    query_chunk: int = 2048,
    reference_chunk: int = 8192,
) -> np.ndarray:
    """Each query row's maximum Tanimoto similarity to any reference row: ``(n_query,)`` float32.

    Inputs are bit fingerprints (any non-zero entry is a set bit), dense or ``scipy.sparse``. The
    intersections come from a sparse-by-dense product: a fingerprint sets ~50 of 2048 bits, so
    this is about 2x faster than a dense float product (0.33 s against 0.62 s for 780 x 6,245
    B3DB molecules on one core) with the same numbers. Both sides are processed in chunks, so
    memory stays below ~150 MB whatever the sizes. Two empty fingerprints have similarity 0.
    """
    import scipy.sparse as sp

    q = sp.csr_matrix(query).astype(np.float32)  # copies: the caller's matrix stays as is
    r = sp.csr_matrix(reference).astype(np.float32)
    q.data[:] = 1.0
    r.data[:] = 1.0
    out = np.zeros(q.shape[0], dtype=np.float32)
    q_counts = np.asarray(q.sum(axis=1), dtype=np.float32)
    for r0 in range(0, r.shape[0], reference_chunk):
        dense = np.ascontiguousarray(r[r0 : r0 + reference_chunk].T.toarray())  # (n_bits, chunk)
        r_counts = dense.sum(axis=0)
        for q0 in range(0, q.shape[0], query_chunk):
            inter = q[q0 : q0 + query_chunk] @ dense
            union = q_counts[q0 : q0 + query_chunk] + r_counts[None, :]
            union -= inter
            np.maximum(union, 1.0, out=union)
            inter /= union
            part = out[q0 : q0 + query_chunk]
            np.maximum(part, inter.max(axis=1), out=part)
    return out

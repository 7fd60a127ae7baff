"""Extended-connectivity fingerprints (ECFP, Morgan) as bit or count vectors.

ECFP*d* uses a Morgan radius of *d*/2: ECFP6, the talk's default, is radius 3. Vectors are folded
to ``n_bits`` by RDKit's generator, so ``ecfp(mol)`` equals
``rdFingerprintGenerator.GetMorganGenerator(radius=3, fpSize=1024).GetFingerprintAsNumPy(mol)``.
"""

from __future__ import annotations

import sys
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


@dataclass(frozen=True, eq=False)
class PackedBits:
    """Bit fingerprints packed 64 bits per word, with their bit counts, for fast Tanimoto.

    Attributes:
        words: ``(n, ceil(n_bits / 64))`` uint64; bit ``j`` of a row is bit ``j % 64`` of word
            ``j // 64`` (little-endian).
        counts: ``(n,)`` set bits per row (uint16; uint32 from 32,768 bits on, so that the
            union of two rows never overflows).
        n_bits: the unpacked length.
    """

    words: np.ndarray
    counts: np.ndarray
    n_bits: int

    def __len__(self) -> int:
        return int(self.words.shape[0])

    def rows(self, index: np.ndarray) -> PackedBits:
        """The fingerprints of rows ``index`` (an integer or boolean index array)."""
        return PackedBits(words=self.words[index], counts=self.counts[index], n_bits=self.n_bits)

    @classmethod
    def concatenate(cls, parts: Sequence[PackedBits], n_bits: int) -> PackedBits:
        """Rows of ``parts`` one after the other; ``n_bits`` gives the length when empty."""
        if not parts:
            return cls.from_bits(np.zeros((0, n_bits), dtype=np.uint8))
        counts = np.concatenate([p.counts for p in parts])
        return cls(np.concatenate([p.words for p in parts]), counts, parts[0].n_bits)

    @classmethod
    def from_bits(cls, bits: np.ndarray, *, chunk: int = 65536) -> PackedBits:
        """Pack a ``(n, n_bits)`` bit matrix (dense or ``scipy.sparse``; any non-zero entry is a
        set bit), ``chunk`` rows at a time (so a sparse matrix is never densified whole)."""
        sp = sys.modules.get("scipy.sparse")  # a sparse matrix means SciPy is loaded

        n, n_bits = bits.shape
        n_words = (n_bits + 63) // 64
        words = np.zeros((n, n_words), dtype=np.uint64)
        for lo in range(0, n, chunk):
            block = bits[lo : lo + chunk]
            sparse = sp is not None and sp.issparse(block)
            block = block.toarray() if sparse else np.asarray(block)
            packed = np.packbits(block != 0, axis=1, bitorder="little")
            padded = np.zeros((len(packed), n_words * 8), dtype=np.uint8)
            padded[:, : packed.shape[1]] = packed
            words[lo : lo + chunk] = padded.view(np.uint64)
        counts = np.bitwise_count(words).sum(axis=1, dtype=_count_dtype(int(n_bits)))
        return cls(words=words, counts=counts, n_bits=int(n_bits))


def _count_dtype(n_bits: int) -> type:
    return np.uint16 if n_bits < 32768 else np.uint32


def _packed(x: np.ndarray | PackedBits) -> PackedBits:
    return x if isinstance(x, PackedBits) else PackedBits.from_bits(x)


def max_tanimoto(
    query: np.ndarray | PackedBits,
    reference: np.ndarray | PackedBits,
    *,
    query_chunk: int = 16,
    reference_chunk: int = 8192,
) -> np.ndarray:
    """Each query row's maximum Tanimoto similarity to any reference row: ``(n_query,)`` float32.

    Inputs are bit fingerprints (any non-zero entry is a set bit), dense, ``scipy.sparse`` or
    already :class:`PackedBits` (pack a reference used again and again once). Intersections are
    popcounts of 64-bit words (``np.bitwise_count``), accumulated in uint16, so the similarity is
    ``float32(|a & b|) / float32(|a | b|)``: the float32 nearest to the exact ratio, the same
    value RDKit's ``BulkTanimotoSimilarity`` gives once rounded to float32. A block of
    ``query_chunk`` x ``reference_chunk`` pairs is computed at a time (about 17 bytes a pair:
    2.2 MB by default, in cache), whatever the sizes. Two empty fingerprints have similarity 0.
    """
    q, r = _packed(query), _packed(reference)
    if q.n_bits != r.n_bits:
        raise ValueError(f"fingerprint lengths differ: {q.n_bits} and {r.n_bits} bits")
    out = np.zeros(len(q), dtype=np.float32)
    if not len(q) or not len(r):
        return out
    n_words = q.words.shape[1]
    qb = max(1, min(query_chunk, len(q)))
    rb = max(1, min(reference_chunk, len(r)))
    word = np.empty((qb, rb), dtype=np.uint64)
    count = np.empty((qb, rb), dtype=np.uint8)
    inter = np.empty((qb, rb), dtype=_count_dtype(q.n_bits))
    union = np.empty((qb, rb), dtype=_count_dtype(q.n_bits))
    ratio = np.empty((qb, rb), dtype=np.float32)
    for r0 in range(0, len(r), rb):
        r_words = np.ascontiguousarray(r.words[r0 : r0 + rb].T)  # (n_words, chunk)
        r_counts = r.counts[r0 : r0 + rb]
        m = r_words.shape[1]
        for q0 in range(0, len(q), qb):
            q_words = q.words[q0 : q0 + qb]
            n = len(q_words)
            w, c, i, u, s = word[:n, :m], count[:n, :m], inter[:n, :m], union[:n, :m], ratio[:n, :m]
            i[:] = 0
            for k in range(n_words):
                np.bitwise_and(q_words[:, k, None], r_words[k][None, :], out=w)
                np.bitwise_count(w, out=c)
                np.add(i, c, out=i)
            np.add(q.counts[q0 : q0 + n, None], r_counts[None, :], out=u)
            np.subtract(u, i, out=u)
            np.maximum(u, 1, out=u)
            np.divide(i, u, out=s, dtype=np.float32)
            part = out[q0 : q0 + n]
            np.maximum(part, s.max(axis=1), out=part)
    return out

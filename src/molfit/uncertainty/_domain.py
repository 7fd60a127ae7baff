"""Applicability domain: is a molecule close enough to the training set to trust a prediction?

Three checks, each cheap and explainable:

1. Similarity: the maximum Tanimoto similarity (ECFP6, 1024 bits) of the molecule to any training
   molecule must reach a threshold. The threshold is the ``percentile``-th percentile (5 by
   default) of the nearest-neighbour similarities *within* the training set (each training
   molecule against all others): a query less similar to the training set than 95 % of training
   molecules are to each other is out of domain.
2. Elements: every element of the molecule must occur in the training set. A model trained on
   small organics knows nothing about platinum, whatever the fingerprint overlap says.
3. Size: the molecule's heavy-atom count must lie within the training set's range. A molecule
   larger (or smaller) than every training molecule is an extrapolation in size, which
   fingerprints cannot see: a large molecule made of familiar fragments shares most of its
   bits with the training set. Under the B3DB by-weight shift (train on the lightest 70 %,
   test on the heaviest 20 %) the similarity flag caught 38 % of the 10 % largest errors;
   with the size check 96 % of the test molecules are flagged, all of them larger than any
   training molecule (benchmarks/RESULTS.md §11b). Models saved before this check keep the
   first two.

With ``neighbours=k > 1`` the similarity is the *mean* Tanimoto similarity to the ``k`` most
similar training molecules (and the threshold the same percentile of that within training): one
close analogue no longer makes a molecule "known". Under the B3DB by-weight shift it ranked the
large errors somewhat better than the nearest neighbour alone (a third of them among the 20 %
least similar, against a quarter), under the QM9 size shift about the same; the default stays 1
(benchmarks/RESULTS.md §14).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdMolDescriptors

from molfit.chem import ECFP, PackedBits, max_tanimoto, tanimoto_matrix
from molfit.errors import InputError

AD_FINGERPRINT = ECFP(radius=3, n_bits=1024)
_CHUNK = 2048


_ELEMENT = re.compile(r"[A-Z][a-z]?|\*")


def elements(mol: Chem.Mol) -> set[str]:
    """Element symbols of a molecule (implicit hydrogens count as H; isotopes as their element).

    Read from RDKit's molecular formula (one C++ call instead of a Python loop over atoms, about
    9x faster); the same set as ``{atom.GetSymbol() for atom in mol.GetAtoms()}`` plus ``"H"``
    when any atom carries a hydrogen.
    """
    return set(_ELEMENT.findall(rdMolDescriptors.CalcMolFormula(mol)))


def nearest_neighbour_similarity(bits: np.ndarray, k: int = 1) -> np.ndarray:
    """Each row's maximum Tanimoto similarity to any *other* row ``(n,)``; with ``k > 1`` the
    mean over its ``k`` most similar other rows."""
    out = np.zeros(len(bits), dtype=np.float32)
    if len(bits) < 2:
        return out
    k = max(1, min(int(k), len(bits) - 1))
    for lo in range(0, len(bits), _CHUNK):
        sim = tanimoto_matrix(bits[lo : lo + _CHUNK], bits)
        rows = np.arange(sim.shape[0])
        sim[rows, lo + rows] = -1.0
        out[lo : lo + _CHUNK] = _top_k_mean(sim, k)
    return out


def _top_k_mean(sim: np.ndarray, k: int) -> np.ndarray:
    if k == 1:
        return sim.max(axis=1)
    return -np.partition(-sim, k - 1, axis=1)[:, :k].mean(axis=1)


def knn_tanimoto(query: np.ndarray, reference: np.ndarray, k: int, chunk: int = 512) -> np.ndarray:
    """Mean Tanimoto similarity ``(n_query,)`` of each query row to its ``k`` most similar
    reference rows (the maximum for ``k = 1``)."""
    k = max(1, min(int(k), len(reference)))
    if k == 1:
        return max_tanimoto(query, reference)
    out = np.zeros(len(query), dtype=np.float32)
    for lo in range(0, len(query), chunk):
        out[lo : lo + chunk] = _top_k_mean(tanimoto_matrix(query[lo : lo + chunk], reference), k)
    return out


class ApplicabilityDomain:
    """Similarity, elements and size applicability domain fitted on the training molecules.

    Attributes (after :meth:`fit`):
        bits_: training fingerprints ``(n_train, 1024)`` uint8.
        elements_: element symbols seen in training.
        threshold_: similarity threshold (Tanimoto, 0..1).
        train_nn_similarity_: within-train nearest-neighbour similarities ``(n_train,)``.
        heavy_atoms_range_: ``(fewest, most)`` heavy atoms of a training molecule (``None``
            for a domain saved before the size check).
    """

    #: ``None`` until fitted with molecules, and in domains saved before the size check
    heavy_atoms_range_: tuple[int, int] | None = None

    def __init__(self, percentile: float = 5.0, neighbours: int = 1) -> None:
        if int(neighbours) < 1:
            raise InputError(f"domain neighbours must be at least 1, got {neighbours}")
        self.percentile = percentile
        self.neighbours = int(neighbours)

    def fit(self, mols: Sequence[Chem.Mol], bits: np.ndarray | None = None) -> ApplicabilityDomain:
        """Fit on RDKit molecules; ``bits`` may pass precomputed ECFP6/1024 bit vectors."""
        self.bits_ = (AD_FINGERPRINT(mols) if bits is None else np.asarray(bits) > 0).astype(
            np.uint8
        )
        self.elements_ = sorted(set().union(*(elements(m) for m in mols)))
        heavy = [m.GetNumHeavyAtoms() for m in mols]
        self.heavy_atoms_range_ = (int(min(heavy)), int(max(heavy))) if heavy else None
        self._set_threshold()
        return self

    def _set_threshold(self) -> None:
        self.train_nn_similarity_ = nearest_neighbour_similarity(self.bits_, self.neighbours)
        self.threshold_ = float(np.percentile(self.train_nn_similarity_, self.percentile))

    def with_neighbours(self, k: int) -> ApplicabilityDomain:
        """A copy on the same training fingerprints and elements with ``k`` neighbours (the
        threshold recomputed)."""
        ad = ApplicabilityDomain(self.percentile, k)
        ad.bits_, ad.elements_ = self.bits_, list(self.elements_)
        ad.heavy_atoms_range_ = self.heavy_atoms_range_
        ad._set_threshold()
        return ad

    def score(
        self, mols: Sequence[Chem.Mol], bits: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(similarity, in_domain, note)`` for each molecule, each ``(n,)``."""
        bits = AD_FINGERPRINT(mols) if bits is None else (np.asarray(bits) > 0).astype(np.uint8)
        if not len(bits):
            sim = np.zeros(0, np.float32)
        elif self.neighbours == 1:  # the packed, blocked popcount path (screening's hot loop)
            sim = max_tanimoto(bits, self.packed_bits())
        else:
            sim = knn_tanimoto(bits, self.bits_, self.neighbours)
        what = (
            "similarity to training set"
            if self.neighbours == 1
            else f"mean similarity to the {self.neighbours} nearest training molecules"
        )
        known = set(self.elements_)
        size = self.heavy_atoms_range_
        in_domain = np.zeros(len(mols), dtype=bool)
        notes = np.empty(len(mols), dtype=object)
        for i, mol in enumerate(mols):
            unseen = sorted(elements(mol) - known)
            reasons = []
            if unseen:
                reasons.append(f"elements not in training data: {', '.join(unseen)}")
            if size is not None:
                heavy = mol.GetNumHeavyAtoms()
                if heavy > size[1]:
                    reasons.append(
                        f"{heavy} heavy atoms, more than any training molecule ({size[1]})"
                    )
                elif heavy < size[0]:
                    reasons.append(
                        f"{heavy} heavy atoms, fewer than any training molecule ({size[0]})"
                    )
            if sim[i] < self.threshold_:
                reasons.append(f"{what} {sim[i]:.2f} < threshold {self.threshold_:.2f}")
            in_domain[i] = not reasons
            notes[i] = "; ".join(reasons)
        return sim.astype(np.float64), in_domain, notes.astype(str)

    def packed_bits(self) -> PackedBits:
        """The training fingerprints packed for :func:`molfit.chem.max_tanimoto` (packed once,
        then kept: a screen scores thousands of chunks against them)."""
        cached = getattr(self, "_packed", None)
        if cached is None or len(cached) != len(self.bits_):
            cached = self._packed = PackedBits.from_bits(self.bits_)
        return cached

    def state(self) -> dict[str, np.ndarray]:
        """Plain arrays for saving (fingerprints packed 8 bits per byte)."""
        return {
            "bits": np.packbits(self.bits_, axis=1),
            "n_bits": np.array(self.bits_.shape[1]),
            "threshold": np.array(self.threshold_),
            "percentile": np.array(self.percentile),
            "neighbours": np.array(self.neighbours),
            "elements": np.array(self.elements_, dtype="U3"),
            "train_nn_similarity": self.train_nn_similarity_,
            **(
                {"heavy_atoms_range": np.array(self.heavy_atoms_range_, dtype=np.int64)}
                if self.heavy_atoms_range_ is not None
                else {}
            ),
        }

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> ApplicabilityDomain:
        """Rebuild from :meth:`state`."""
        k = int(state["neighbours"]) if "neighbours" in state else 1
        ad = cls(percentile=float(state["percentile"]), neighbours=k)
        ad.bits_ = np.unpackbits(state["bits"], axis=1, count=int(state["n_bits"]))
        ad.threshold_ = float(state["threshold"])
        ad.elements_ = [str(e) for e in state["elements"]]
        ad.train_nn_similarity_ = state["train_nn_similarity"]
        if "heavy_atoms_range" in state:
            lo, hi = (int(v) for v in np.asarray(state["heavy_atoms_range"]).reshape(2))
            ad.heavy_atoms_range_ = (lo, hi)
        return ad

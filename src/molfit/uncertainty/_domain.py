"""Applicability domain: is a molecule close enough to the training set to trust a prediction?

Two checks, both cheap and explainable:

1. Similarity: the maximum Tanimoto similarity (ECFP6, 1024 bits) of the molecule to any training
   molecule must reach a threshold. The threshold is the ``percentile``-th percentile (5 by
   default) of the nearest-neighbour similarities *within* the training set (each training
   molecule against all others): a query less similar to the training set than 95 % of training
   molecules are to each other is out of domain.
2. Elements: every element of the molecule must occur in the training set. A model trained on
   small organics knows nothing about platinum, whatever the fingerprint overlap says.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdMolDescriptors

from molfit.chem import ECFP, PackedBits, max_tanimoto, tanimoto_matrix

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


def nearest_neighbour_similarity(bits: np.ndarray) -> np.ndarray:
    """Each row's maximum Tanimoto similarity to any *other* row ``(n,)``."""
    out = np.zeros(len(bits), dtype=np.float32)
    for lo in range(0, len(bits), _CHUNK):
        sim = tanimoto_matrix(bits[lo : lo + _CHUNK], bits)
        rows = np.arange(sim.shape[0])
        sim[rows, lo + rows] = -1.0
        out[lo : lo + _CHUNK] = sim.max(axis=1) if len(bits) > 1 else 0.0
    return out


class ApplicabilityDomain:
    """Similarity-and-elements applicability domain fitted on the training molecules.

    Attributes (after :meth:`fit`):
        bits_: training fingerprints ``(n_train, 1024)`` uint8.
        elements_: element symbols seen in training.
        threshold_: similarity threshold (Tanimoto, 0..1).
        train_nn_similarity_: within-train nearest-neighbour similarities ``(n_train,)``.
    """

    def __init__(self, percentile: float = 5.0) -> None:
        self.percentile = percentile

    def fit(self, mols: Sequence[Chem.Mol], bits: np.ndarray | None = None) -> ApplicabilityDomain:
        """Fit on RDKit molecules; ``bits`` may pass precomputed ECFP6/1024 bit vectors."""
        self.bits_ = (AD_FINGERPRINT(mols) if bits is None else np.asarray(bits) > 0).astype(
            np.uint8
        )
        self.elements_ = sorted(set().union(*(elements(m) for m in mols)))
        self.train_nn_similarity_ = nearest_neighbour_similarity(self.bits_)
        self.threshold_ = float(np.percentile(self.train_nn_similarity_, self.percentile))
        return self

    def score(
        self, mols: Sequence[Chem.Mol], bits: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(similarity, in_domain, note)`` for each molecule, each ``(n,)``."""
        bits = AD_FINGERPRINT(mols) if bits is None else (np.asarray(bits) > 0).astype(np.uint8)
        sim = max_tanimoto(bits, self.packed_bits()) if len(bits) else np.zeros(0, np.float32)
        known = set(self.elements_)
        in_domain = np.zeros(len(mols), dtype=bool)
        notes = np.empty(len(mols), dtype=object)
        for i, mol in enumerate(mols):
            unseen = sorted(elements(mol) - known)
            reasons = []
            if unseen:
                reasons.append(f"elements not in training data: {', '.join(unseen)}")
            if sim[i] < self.threshold_:
                reasons.append(
                    f"similarity to training set {sim[i]:.2f} < threshold {self.threshold_:.2f}"
                )
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
            "elements": np.array(self.elements_, dtype="U3"),
            "train_nn_similarity": self.train_nn_similarity_,
        }

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> ApplicabilityDomain:
        """Rebuild from :meth:`state`."""
        ad = cls(percentile=float(state["percentile"]))
        ad.bits_ = np.unpackbits(state["bits"], axis=1, count=int(state["n_bits"]))
        ad.threshold_ = float(state["threshold"])
        ad.elements_ = [str(e) for e in state["elements"]]
        ad.train_nn_similarity_ = state["train_nn_similarity"]
        return ad

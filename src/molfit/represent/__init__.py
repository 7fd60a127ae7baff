"""Molecular representations: SMILES, fingerprints, descriptors, graphs and 3D geometry."""

from molfit.represent._fingerprints import ECFP, ecfp, max_tanimoto, tanimoto_matrix
from molfit.represent._smiles import (
    MolLike,
    canonical_smiles,
    parse_many,
    parse_smiles,
    standardize,
    standardize_smiles,
    to_mol,
    to_mols,
)

__all__ = [
    "ECFP",
    "MolLike",
    "canonical_smiles",
    "ecfp",
    "max_tanimoto",
    "parse_many",
    "parse_smiles",
    "standardize",
    "standardize_smiles",
    "tanimoto_matrix",
    "to_mol",
    "to_mols",
]

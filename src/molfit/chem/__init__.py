"""Molecules as data: SMILES parsing and standardization, ECFP, RDKit descriptors, molecular graphs.

Nothing here is 3D (conformers and neighbour lists live in :mod:`molfit.structures`) and nothing
imports torch, so SMILES, fingerprint and dataset commands start fast.
"""

from molfit.chem._descriptors import RDKitDescriptors, descriptor_names, rdkit_descriptors
from molfit.chem._fingerprints import ECFP, PackedBits, ecfp, max_tanimoto, tanimoto_matrix
from molfit.chem._graph import (
    ATOM_FEATURES,
    BOND_FEATURES,
    GraphBatch,
    GraphFeaturizer,
    MolGraph,
    collate_graphs,
    mol_to_graph,
)
from molfit.chem._smiles import (
    MolLike,
    StandardizeResult,
    canonical_smiles,
    coordination_metals,
    parse_many,
    parse_smiles,
    standardize,
    standardize_many,
    standardize_smiles,
    to_mol,
    to_mols,
)

__all__ = [
    "ATOM_FEATURES",
    "BOND_FEATURES",
    "ECFP",
    "GraphBatch",
    "GraphFeaturizer",
    "MolGraph",
    "MolLike",
    "PackedBits",
    "RDKitDescriptors",
    "StandardizeResult",
    "canonical_smiles",
    "collate_graphs",
    "coordination_metals",
    "descriptor_names",
    "ecfp",
    "max_tanimoto",
    "mol_to_graph",
    "parse_many",
    "parse_smiles",
    "rdkit_descriptors",
    "standardize",
    "standardize_many",
    "standardize_smiles",
    "tanimoto_matrix",
    "to_mol",
    "to_mols",
]

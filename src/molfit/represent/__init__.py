"""Molecular representations: SMILES, fingerprints, descriptors, graphs and 3D geometry."""

from molfit.represent._conformers import conformer_energies, conformer_geometry, embed_molecule
from molfit.represent._descriptors import RDKitDescriptors, descriptor_names, rdkit_descriptors
from molfit.represent._fingerprints import ECFP, ecfp, max_tanimoto, tanimoto_matrix
from molfit.represent._graph import (
    ATOM_FEATURES,
    BOND_FEATURES,
    GraphBatch,
    GraphFeaturizer,
    MolGraph,
    collate_graphs,
    mol_to_graph,
)
from molfit.represent._parallel import parallel_map, resolve_n_jobs
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

# Neighbour lists need torch (~2 s to import): load them on first use so that SMILES, fingerprint
# and dataset commands start fast.
_LAZY = {
    "NeighborList": "molfit.represent._neighbors",
    "neighbor_list": "molfit.represent._neighbors",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'molfit.represent' has no attribute {name!r}")


__all__ = [
    "ATOM_FEATURES",
    "BOND_FEATURES",
    "ECFP",
    "GraphBatch",
    "GraphFeaturizer",
    "MolGraph",
    "MolLike",
    "NeighborList",
    "RDKitDescriptors",
    "canonical_smiles",
    "collate_graphs",
    "conformer_energies",
    "conformer_geometry",
    "descriptor_names",
    "ecfp",
    "embed_molecule",
    "max_tanimoto",
    "mol_to_graph",
    "neighbor_list",
    "parallel_map",
    "parse_many",
    "parse_smiles",
    "rdkit_descriptors",
    "resolve_n_jobs",
    "standardize",
    "standardize_smiles",
    "tanimoto_matrix",
    "to_mol",
    "to_mols",
]

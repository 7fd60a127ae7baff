"""3D structures: molecules and periodic cells, their I/O, conformers, neighbour lists, batches.

``Structures`` stores many structures in flat arrays (positions Å, cells Å) with their labels
(energy eV, forces eV/Å, stress eV/Å^3; names in :mod:`molfit.keys`); :func:`read_frames` and
:func:`write_extxyz` read and write them as extended XYZ; :func:`as_structures` turns whatever
a user hands a 3D model (ASE ``Atoms``, XYZ files, RDKit molecules, SMILES) into structures and
says where each geometry came from.

Neighbour lists and batches need torch (~2 s to import): they load on first use, so SMILES,
fingerprint and dataset commands start fast.
"""

from molfit.structures._conformers import conformer_energies, conformer_geometry, embed_molecule
from molfit.structures._inputs import (
    XYZ_SUFFIXES,
    StructureInputs,
    as_structures,
    describe_issues,
    is_xyz_path,
)
from molfit.structures._read_xyz import read_frames, write_extxyz
from molfit.structures._structures import Structures

_LAZY = {
    "NeighborList": "molfit.structures._neighbors",
    "neighbor_list": "molfit.structures._neighbors",
    "Batch3D": "molfit.structures._batch",
    "StructureItem": "molfit.structures._batch",
    "collate_structures": "molfit.structures._batch",
    "structure_items": "molfit.structures._batch",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'molfit.structures' has no attribute {name!r}")


__all__ = [
    "XYZ_SUFFIXES",
    "Batch3D",
    "NeighborList",
    "StructureInputs",
    "StructureItem",
    "Structures",
    "as_structures",
    "collate_structures",
    "conformer_energies",
    "conformer_geometry",
    "describe_issues",
    "embed_molecule",
    "is_xyz_path",
    "neighbor_list",
    "read_frames",
    "structure_items",
    "write_extxyz",
]

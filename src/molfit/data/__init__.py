"""Datasets: built-in real data sets, readers of user files with row-level reports, 3D storage.

    >>> from molfit.data import load
    >>> ds = load("b3db")            # 7,807 molecules, target "bbb"
    >>> ds.smiles[:2], ds.y.shape

Units follow docs/design.md: positions Å, energies eV, dipoles Debye, polarizability Bohr³.
"""

from molfit.data._cache import cache_dir
from molfit.data._dataset import Dataset, DatasetInfo, TargetInfo, Task
from molfit.data._datasets import moses_file
from molfit.data._qm9 import ATOMREF_HARTREE
from molfit.data._readers import (
    find_smiles_column,
    read,
    read_input_table,
    read_structures,
    read_table,
    validate_smiles,
)
from molfit.data._registry import info, list_datasets, load
from molfit.errors import InputReport
from molfit.structures import Structures

__all__ = [
    "ATOMREF_HARTREE",
    "Dataset",
    "DatasetInfo",
    "InputReport",
    "Structures",
    "TargetInfo",
    "Task",
    "cache_dir",
    "find_smiles_column",
    "info",
    "list_datasets",
    "load",
    "moses_file",
    "read",
    "read_input_table",
    "read_structures",
    "read_table",
    "validate_smiles",
]

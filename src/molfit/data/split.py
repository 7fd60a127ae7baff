"""Train/validation/test splits of molecule sets, each with figures that show leakage.

Methods: :func:`random_split`, :func:`scaffold_split` (Bemis–Murcko, balanced, seeded),
:func:`temporal_split` (by a date or number column), :func:`cluster_split` (Butina on Tanimoto
distance) and :func:`stratified_split` (classification); :func:`make_split` picks one by name.
Each returns a :class:`Split` whose ``leakage`` says how close the test and validation molecules
are to the training set (see :func:`leakage_report`).
"""

from molfit.data._split_cluster import butina_clusters
from molfit.data._split_core import Split, normalize_fractions, target_sizes
from molfit.data._split_leakage import leakage_report, murcko_scaffold
from molfit.data._split_methods import (
    METHODS,
    cluster_split,
    make_split,
    random_split,
    scaffold_split,
    stratified_split,
    temporal_split,
)

__all__ = [
    "METHODS",
    "Split",
    "butina_clusters",
    "cluster_split",
    "leakage_report",
    "make_split",
    "murcko_scaffold",
    "normalize_fractions",
    "random_split",
    "scaffold_split",
    "stratified_split",
    "target_sizes",
    "temporal_split",
]

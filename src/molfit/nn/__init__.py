"""Torch layers for molfit's deep models: message passing, graph convolutions, heads, and
:mod:`molfit.nn.atomistic` (3D representations and atomistic outputs)."""

from molfit.nn._gcn import GCN
from molfit.nn._heads import FeedForward, MeanVarianceHead, make_head
from molfit.nn._mpnn import AGGREGATIONS, DMPNN, BondMessagePassing, aggregate, bucket_size
from molfit.nn.atomistic import (
    Atomwise,
    BesselRBF,
    CFConv,
    CosineCutoff,
    DimeNetPP,
    GaussianRBF,
    PaiNN,
    SchNet,
    ShiftedSoftplus,
    as_neighbor_list,
    cosine_cutoff,
    forces,
)

__all__ = [
    "AGGREGATIONS",
    "DMPNN",
    "GCN",
    "Atomwise",
    "BesselRBF",
    "BondMessagePassing",
    "CFConv",
    "CosineCutoff",
    "DimeNetPP",
    "FeedForward",
    "GaussianRBF",
    "MeanVarianceHead",
    "PaiNN",
    "SchNet",
    "ShiftedSoftplus",
    "aggregate",
    "as_neighbor_list",
    "bucket_size",
    "cosine_cutoff",
    "forces",
    "make_head",
]

"""Torch layers for molfit's deep models: message passing, graph convolutions, 3D nets, heads."""

from molfit.nn._atomistic import Atomwise, ShiftedSoftplus, as_neighbor_list, forces
from molfit.nn._dimenet import DimeNetPP
from molfit.nn._gcn import GCN
from molfit.nn._heads import FeedForward, MeanVarianceHead, make_head
from molfit.nn._mpnn import AGGREGATIONS, DMPNN, BondMessagePassing, aggregate
from molfit.nn._painn import PaiNN
from molfit.nn._radial import BesselRBF, CosineCutoff, GaussianRBF, cosine_cutoff
from molfit.nn._schnet import CFConv, SchNet

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
    "cosine_cutoff",
    "forces",
    "make_head",
]

"""Atomistic networks: representations (atoms -> per-atom features) and output modules.

Representations: :class:`SchNet`, :class:`PaiNN`, :class:`DimeNetPP` and
:class:`EquivariantNet` (l <= 2, three-body messages). Outputs:
:class:`Atomwise` (per-atom readout summed or averaged per structure) and :func:`forces`
(``F = -dE/dr`` by autograd). :class:`AtomisticModel` puts a representation and its outputs
into one deployable module (energy with float64 per-element references, forces and stress by
autograd, mean and dipole readouts). Radial bases and cutoffs are shared building blocks.
"""

from molfit.nn.atomistic._atomistic import (
    Atomwise,
    ShiftedSoftplus,
    as_neighbor_list,
    forces,
    xavier_init_,
)
from molfit.nn.atomistic._dimenet import DimeNetPP
from molfit.nn.atomistic._equivariant import EquivariantNet
from molfit.nn.atomistic._model import MAX_Z, READOUTS, AtomisticModel, ScalarFeatures
from molfit.nn.atomistic._painn import PaiNN
from molfit.nn.atomistic._radial import BesselRBF, CosineCutoff, GaussianRBF, cosine_cutoff
from molfit.nn.atomistic._schnet import CFConv, SchNet

__all__ = [
    "MAX_Z",
    "READOUTS",
    "AtomisticModel",
    "Atomwise",
    "BesselRBF",
    "CFConv",
    "CosineCutoff",
    "DimeNetPP",
    "EquivariantNet",
    "GaussianRBF",
    "PaiNN",
    "ScalarFeatures",
    "SchNet",
    "ShiftedSoftplus",
    "as_neighbor_list",
    "cosine_cutoff",
    "forces",
    "xavier_init_",
]

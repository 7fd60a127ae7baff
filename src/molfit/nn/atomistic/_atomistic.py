"""Atomistic outputs: per-atom readout to energies (``Atomwise``), forces by autograd.

Also :func:`as_neighbor_list`, which lets the 3D representations take either a ready
:class:`~molfit.chem.NeighborList` or raw positions (then the pairs are found here).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from molfit.structures import NeighborList, neighbor_list


def as_neighbor_list(
    geometry: Tensor | NeighborList,
    cutoff: float,
    batch: Tensor | None = None,
    cell: Tensor | None = None,
    pbc: Tensor | None = None,
) -> NeighborList:
    """The neighbour list of ``geometry``: returned as is, or built from ``(n_atoms, 3)`` Å."""
    if isinstance(geometry, NeighborList):
        return geometry
    return neighbor_list(geometry, cutoff, cell=cell, pbc=pbc, batch=batch)


def xavier_init_(module: nn.Module) -> nn.Module:
    """Glorot-uniform weights and zero biases for every ``nn.Linear`` inside ``module``.

    SchNetPack initialises its SchNet and PaiNN layers this way. PyTorch's default
    (``U(±1/sqrt(fan_in))``, a third of the variance for square layers) trains SchNet markedly
    slower: on 2,000 QM9 molecules, 30 epochs, test MAE of U0 fell from 361 / 327 meV to
    255 / 312 meV (seeds 0 / 1) with this initialisation.
    """
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return module


class ShiftedSoftplus(nn.Module):
    """``softplus(x) - ln 2``: SchNet's activation, zero at zero, smooth everywhere."""

    def forward(self, x: Tensor) -> Tensor:
        return nn.functional.softplus(x) - 0.6931471805599453


class Atomwise(nn.Module):
    """Per-atom MLP, scaled and shifted, summed (or averaged) per structure.

    ``E = agg_i [ std * mlp(x_i) + mean + atomref[Z_i] ]``, with ``agg`` a sum (extensive targets:
    energies; ``mean`` is then a per-atom mean) or a mean (intensive targets: HOMO, gap).

    Args:
        n_in: width of the per-atom features.
        n_hidden: hidden width of the two-layer MLP (default ``n_in // 2``).
        aggregation: ``"sum"`` or ``"mean"``.
        mean, std: output scaling (target units, per atom for ``"sum"``).
        atomref: ``(max_z + 1,)`` per-element reference values (e.g. free-atom energies, eV),
            added per atom; a fixed buffer, not trained.
        activation: ``"ssp"`` (shifted softplus, SchNet) or ``"silu"`` (PaiNN).
    """

    def __init__(
        self,
        n_in: int,
        n_hidden: int | None = None,
        aggregation: Literal["sum", "mean"] = "sum",
        mean: float = 0.0,
        std: float = 1.0,
        atomref: Tensor | None = None,
        activation: Literal["ssp", "silu"] = "ssp",
    ) -> None:
        super().__init__()
        if aggregation not in ("sum", "mean"):
            raise ValueError(f"aggregation must be 'sum' or 'mean', got {aggregation!r}")
        hidden = n_hidden or max(1, n_in // 2)
        act = ShiftedSoftplus() if activation == "ssp" else nn.SiLU()
        self.mlp = xavier_init_(nn.Sequential(nn.Linear(n_in, hidden), act, nn.Linear(hidden, 1)))
        self.aggregation = aggregation
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))
        self.register_buffer("atomref", None if atomref is None else torch.as_tensor(atomref))

    def per_atom(self, features: Tensor, numbers: Tensor) -> Tensor:
        """``(n_atoms,)`` per-atom contributions in target units (before aggregation)."""
        out = self.mlp(features).squeeze(-1) * self.std + self.mean
        if self.atomref is not None:
            out = out + self.atomref.to(out.dtype)[numbers]
        return out

    def forward(
        self,
        features: Tensor,
        numbers: Tensor,
        batch: Tensor | None = None,
        n_structures: int | None = None,
    ) -> Tensor:
        """Per-structure outputs.

        Args:
            features: ``(n_atoms, n_in)`` per-atom features.
            numbers: ``(n_atoms,)`` atomic numbers.
            batch: ``(n_atoms,)`` structure index (``None``: one structure).
            n_structures: number of structures (default ``batch.max() + 1``).

        Returns:
            ``(n_structures,)`` in target units (eV for energies).
        """
        per_atom = self.per_atom(features, numbers)
        if batch is None:
            batch = torch.zeros_like(numbers)
        if n_structures is None:
            n_structures = int(batch.max()) + 1 if batch.numel() else 0
        out = per_atom.new_zeros(n_structures).index_add(0, batch, per_atom)
        if self.aggregation == "mean":
            counts = torch.bincount(batch, minlength=n_structures).clamp(min=1)
            out = out / counts.to(out.dtype)
        return out


def forces(energy: Tensor, positions: Tensor, *, training: bool | None = None) -> Tensor:
    """Forces ``F = -dE/dr`` by autograd.

    Args:
        energy: ``(n_structures,)`` eV, computed from ``positions`` (which must require grad).
        positions: ``(n_atoms, 3)`` Å.
        training: keep the graph so a force loss can be backpropagated (default:
            ``torch.is_grad_enabled()`` and ``energy.requires_grad``, i.e. whenever possible).

    Returns:
        ``(n_atoms, 3)`` eV/Å.
    """
    if not positions.requires_grad:
        raise ValueError("positions must require grad: call positions.requires_grad_() first")
    create_graph = torch.is_grad_enabled() if training is None else training
    (grad,) = torch.autograd.grad(
        energy.sum(), positions, create_graph=create_graph, allow_unused=True
    )
    if grad is None:  # an isolated atom set: energy does not depend on positions
        return torch.zeros_like(positions)
    return -grad

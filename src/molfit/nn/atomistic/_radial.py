"""Radial building blocks of 3D networks: a smooth cosine cutoff and Gaussian / Bessel bases.

All take distances in Å, shape ``(n_pairs,)``, and return ``(n_pairs, n_rbf)`` (bases) or
``(n_pairs,)`` (cutoff). Every basis here is meant to be multiplied by the cutoff, which goes to
zero with zero slope at the cutoff radius, so an atom crossing it changes energies continuously.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def cosine_cutoff(distances: Tensor, cutoff: float) -> Tensor:
    """``0.5 (cos(pi d / rc) + 1)`` for ``d < rc``, else 0: smooth, with zero slope at ``rc``.

    Args:
        distances: ``(n_pairs,)`` Å.
        cutoff: ``rc`` in Å.

    Returns:
        ``(n_pairs,)`` weights in [0, 1].
    """
    inside = distances < cutoff
    return torch.where(inside, 0.5 * (torch.cos(distances * (math.pi / cutoff)) + 1.0), 0.0)


class CosineCutoff(nn.Module):
    """Module form of :func:`cosine_cutoff` (``cutoff`` in Å)."""

    def __init__(self, cutoff: float) -> None:
        super().__init__()
        self.cutoff = float(cutoff)

    def forward(self, distances: Tensor) -> Tensor:
        return cosine_cutoff(distances, self.cutoff)

    def extra_repr(self) -> str:
        return f"cutoff={self.cutoff}"


class GaussianRBF(nn.Module):
    """Gaussians ``exp(-(d - mu_k)^2 / (2 w^2))`` with centres evenly spaced on [start, cutoff].

    As in SchNet: the width ``w`` equals the spacing of the centres (0.1 Å in the paper, with 300
    Gaussians up to 30 Å).

    Args:
        n_rbf: number of Gaussians.
        cutoff: last centre, Å.
        start: first centre, Å.
        trainable: learn centres and widths.
    """

    def __init__(
        self, n_rbf: int, cutoff: float, start: float = 0.0, trainable: bool = False
    ) -> None:
        super().__init__()
        if n_rbf < 2:
            raise ValueError(f"n_rbf must be >= 2, got {n_rbf}")
        centres = torch.linspace(start, cutoff, n_rbf)
        widths = torch.full((n_rbf,), float(centres[1] - centres[0]))
        if trainable:
            self.centres = nn.Parameter(centres)
            self.widths = nn.Parameter(widths)
        else:
            self.register_buffer("centres", centres)
            self.register_buffer("widths", widths)
        self.n_rbf = n_rbf

    def forward(self, distances: Tensor) -> Tensor:
        diff = distances.unsqueeze(-1) - self.centres.to(distances.dtype)
        return torch.exp(-0.5 * (diff / self.widths.to(distances.dtype)) ** 2)


class BesselRBF(nn.Module):
    """Radial Bessel functions ``sin(k pi d / rc) / d``, k = 1..n_rbf (DimeNet, PaiNN).

    At ``d = 0`` the limit ``k pi / rc`` is returned (self pairs, coincident atoms).

    Args:
        n_rbf: number of functions.
        cutoff: ``rc``, Å.
        trainable: learn the frequencies.
    """

    def __init__(self, n_rbf: int, cutoff: float, trainable: bool = False) -> None:
        super().__init__()
        frequencies = torch.arange(1, n_rbf + 1, dtype=torch.get_default_dtype()) * (
            math.pi / cutoff
        )
        if trainable:
            self.frequencies = nn.Parameter(frequencies)
        else:
            self.register_buffer("frequencies", frequencies)
        self.n_rbf = n_rbf

    def forward(self, distances: Tensor) -> Tensor:
        frequencies = self.frequencies.to(distances.dtype)
        d = distances.unsqueeze(-1)
        zero = d == 0
        safe = torch.where(zero, 1.0, d)
        return torch.where(zero, frequencies, torch.sin(frequencies * safe) / safe)

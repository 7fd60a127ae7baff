"""PaiNN: equivariant message passing with scalar and vector features (Schütt et al., 2021).

Each atom carries scalars ``s (F,)`` and vectors ``v (3, F)``. A message block mixes neighbours:
``phi(s_j) * W(r_ij)`` (Bessel basis times cosine cutoff) is split into a scalar update, a gate on
the neighbour's vectors and a gate on the unit vector ``r_ij / |r_ij|``. An update block mixes each
atom's own channels: ``U v`` and ``V v``, their scalar product and the norm ``|V v|`` feed an MLP
that gates the vectors and updates the scalars. Scalars are invariant and vectors rotate with the
molecule.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from molfit.nn.atomistic._atomistic import as_neighbor_list
from molfit.nn.atomistic._radial import BesselRBF, cosine_cutoff
from molfit.structures import NeighborList


class PaiNNMessage(nn.Module):
    """Message block: scalar and vector updates gathered from the neighbours."""

    def __init__(self, n_features: int, n_rbf: int) -> None:
        super().__init__()
        self.n_features = n_features
        self.phi = nn.Sequential(
            nn.Linear(n_features, n_features), nn.SiLU(), nn.Linear(n_features, 3 * n_features)
        )
        self.filter = nn.Linear(n_rbf, 3 * n_features)

    def forward(
        self,
        s: Tensor,
        v: Tensor,
        radial: Tensor,
        weight: Tensor,
        unit: Tensor,
        i: Tensor,
        j: Tensor,
    ) -> tuple[Tensor, Tensor]:
        # the cutoff multiplies the filter *after* its bias: zero at the cutoff, so smooth
        x = self.phi(s)[j] * (self.filter(radial) * weight.unsqueeze(-1))
        ds, gate_v, gate_r = torch.split(x, self.n_features, dim=-1)
        dv = v[j] * gate_v.unsqueeze(1) + unit.unsqueeze(-1) * gate_r.unsqueeze(1)
        s = s + s.new_zeros(s.shape).index_add(0, i, ds)
        v = v + v.new_zeros(v.shape).index_add(0, i, dv)
        return s, v


class PaiNNUpdate(nn.Module):
    """Update block: per-atom mixing of scalar and vector channels."""

    def __init__(self, n_features: int, epsilon: float = 1e-8) -> None:
        super().__init__()
        self.n_features = n_features
        self.epsilon = epsilon
        self.mix = nn.Linear(n_features, 2 * n_features, bias=False)  # U and V
        self.mlp = nn.Sequential(
            nn.Linear(2 * n_features, n_features), nn.SiLU(), nn.Linear(n_features, 3 * n_features)
        )

    def forward(self, s: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        uv, vv = torch.split(self.mix(v), self.n_features, dim=-1)
        # epsilon keeps the gradient of |Vv| finite at Vv = 0 (the first block: v starts at 0)
        norm = torch.sqrt((vv * vv).sum(dim=1) + self.epsilon)
        a = self.mlp(torch.cat([s, norm], dim=-1))
        a_vv, a_sv, a_ss = torch.split(a, self.n_features, dim=-1)
        v = v + a_vv.unsqueeze(1) * uv
        s = s + a_sv * (uv * vv).sum(dim=1) + a_ss
        return s, v


class PaiNN(nn.Module):
    """PaiNN representation: atoms and neighbour pairs -> scalar and vector features.

    Args:
        n_features: width of the scalar and vector channels (128 in the paper).
        n_interactions: message + update blocks (3 in the paper).
        n_rbf: Bessel functions (20 in the paper).
        cutoff: Å (5 in the paper).
        max_z: largest atomic number embedded.
    """

    def __init__(
        self,
        n_features: int = 128,
        n_interactions: int = 3,
        n_rbf: int = 20,
        cutoff: float = 5.0,
        max_z: int = 100,
    ) -> None:
        super().__init__()
        self.cutoff = float(cutoff)
        self.n_features = n_features
        self.embedding = nn.Embedding(max_z + 1, n_features, padding_idx=0)
        self.rbf = BesselRBF(n_rbf, self.cutoff)
        self.messages = nn.ModuleList(
            PaiNNMessage(n_features, n_rbf) for _ in range(n_interactions)
        )
        self.updates = nn.ModuleList(PaiNNUpdate(n_features) for _ in range(n_interactions))

    def forward(
        self,
        numbers: Tensor,
        geometry: Tensor | NeighborList,
        batch: Tensor | None = None,
        cell: Tensor | None = None,
        pbc: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Scalar and vector features.

        Args:
            numbers: ``(n_atoms,)`` int64 atomic numbers.
            geometry: ``(n_atoms, 3)`` positions in Å, or a ready
                :class:`~molfit.chem.NeighborList` (zero-length self pairs are ignored).
            batch, cell, pbc: see :func:`molfit.chem.neighbor_list`.

        Returns:
            ``(scalars (n_atoms, n_features), vectors (n_atoms, 3, n_features))``.
        """
        nl = as_neighbor_list(geometry, self.cutoff, batch, cell, pbc)
        d = nl.distances
        zero = d == 0
        safe = torch.where(zero, 1.0, d).unsqueeze(-1)
        unit = torch.where(zero.unsqueeze(-1), 0.0, nl.vectors / safe)
        weight = cosine_cutoff(d, self.cutoff) * (~zero).to(d.dtype)
        radial = self.rbf(d)
        s = self.embedding(numbers)
        v = s.new_zeros(s.shape[0], 3, s.shape[1])
        for message, update in zip(self.messages, self.updates, strict=True):
            s, v = message(s, v, radial, weight, unit, nl.i, nl.j)
            s, v = update(s, v)
        return s, v

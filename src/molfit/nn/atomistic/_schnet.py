"""SchNet: continuous-filter convolutions on interatomic distances (Schütt et al., 2017/2018).

``x_i <- x_i + v_i`` with ``v_i = Dense(ssp(Dense(sum_j x_j W(r_ij))))`` in each of
``n_interactions`` residual blocks; the filter ``W(r) = Dense(ssp(Dense(rbf(r)))) * f_cut(r)`` is
generated from a Gaussian expansion of the distance and tapered by a cosine cutoff, so features
are invariant to rotation, translation and permutation and smooth in the positions.
"""

from __future__ import annotations

from torch import Tensor, nn

from molfit.nn.atomistic._atomistic import ShiftedSoftplus, as_neighbor_list, xavier_init_
from molfit.nn.atomistic._radial import GaussianRBF, cosine_cutoff
from molfit.structures import NeighborList


class CFConv(nn.Module):
    """Continuous-filter convolution: ``y_i = sum_j x_j * W(r_ij)`` over the neighbour pairs."""

    def __init__(self, n_features: int, n_filters: int, n_rbf: int, cutoff: float) -> None:
        super().__init__()
        self.cutoff = cutoff
        self.into_filters = nn.Linear(n_features, n_filters, bias=False)
        self.filter_net = nn.Sequential(
            nn.Linear(n_rbf, n_filters), ShiftedSoftplus(), nn.Linear(n_filters, n_filters)
        )
        self.out = nn.Sequential(
            nn.Linear(n_filters, n_features), ShiftedSoftplus(), nn.Linear(n_features, n_features)
        )

    def forward(self, x: Tensor, rbf: Tensor, distances: Tensor, i: Tensor, j: Tensor) -> Tensor:
        weights = self.filter_net(rbf) * cosine_cutoff(distances, self.cutoff).unsqueeze(-1)
        messages = self.into_filters(x)[j] * weights
        pooled = messages.new_zeros(x.shape[0], messages.shape[1]).index_add(0, i, messages)
        return self.out(pooled)


class SchNet(nn.Module):
    """SchNet representation: atoms and neighbour pairs -> per-atom features.

    Args:
        n_features: atom feature width (``n_atom_basis`` in SchNetPack; 64 in the paper for QM9,
            128 in SchNetPack's defaults).
        n_interactions: residual interaction blocks (3 in the paper for QM9, 6 in SchNetPack).
        n_rbf: Gaussians on [0, cutoff].
        cutoff: Å; pairs beyond it contribute nothing.
        n_filters: filter width (default ``n_features``).
        max_z: largest atomic number embedded.
        shared_filters: one filter network for all blocks (fewer parameters).
    """

    def __init__(
        self,
        n_features: int = 128,
        n_interactions: int = 6,
        n_rbf: int = 20,
        cutoff: float = 5.0,
        n_filters: int | None = None,
        max_z: int = 100,
        shared_filters: bool = False,
    ) -> None:
        super().__init__()
        self.cutoff = float(cutoff)
        self.n_features = n_features
        n_filters = n_filters or n_features
        self.embedding = nn.Embedding(max_z + 1, n_features, padding_idx=0)
        self.rbf = GaussianRBF(n_rbf, self.cutoff)
        blocks = [CFConv(n_features, n_filters, n_rbf, self.cutoff) for _ in range(n_interactions)]
        if shared_filters:
            for block in blocks[1:]:
                block.filter_net = blocks[0].filter_net
        self.interactions = nn.ModuleList(blocks)
        xavier_init_(self.interactions)  # as SchNetPack: see xavier_init_

    def forward(
        self,
        numbers: Tensor,
        geometry: Tensor | NeighborList,
        batch: Tensor | None = None,
        cell: Tensor | None = None,
        pbc: Tensor | None = None,
    ) -> Tensor:
        """Per-atom features.

        Args:
            numbers: ``(n_atoms,)`` int64 atomic numbers.
            geometry: ``(n_atoms, 3)`` positions in Å (pairs are then found within ``cutoff``,
                using ``batch``, ``cell`` and ``pbc``), or a ready
                :class:`~molfit.chem.NeighborList`.
            batch, cell, pbc: see :func:`molfit.chem.neighbor_list`.

        Returns:
            ``(n_atoms, n_features)``.
        """
        nl = as_neighbor_list(geometry, self.cutoff, batch, cell, pbc)
        x = self.embedding(numbers)
        rbf = self.rbf(nl.distances)
        for block in self.interactions:
            x = x + block(x, rbf, nl.distances, nl.i, nl.j)
        return x

"""ChemProp's directed message-passing neural network (D-MPNN), in pure PyTorch.

The model reads in one line as ``predictor(aggregate(message_passing(G)))``. With atoms
``v, w``, atom features ``x_v``, bond features ``e_vw`` and the directed bond ``v -> w``:

.. math::

    h^0_{vw} &= \\mathrm{ReLU}(W_i [x_v \\,\\|\\, e_{vw}])                        \\\\
    m^{t+1}_{vw} &= \\sum_{k \\in N(v) \\setminus \\{w\\}} h^t_{kv}
                 = \\Big(\\sum_{k \\to v} h^t_{kv}\\Big) - h^t_{wv}                     \\\\
    h^{t+1}_{vw} &= \\mathrm{ReLU}(h^0_{vw} + W_h m^{t+1}_{vw}),
                    \\quad t = 0 \\ldots \\mathrm{depth} - 2                          \\\\
    h_v &= \\mathrm{ReLU}(W_o [x_v \\,\\|\\, \\textstyle\\sum_{k \\to v} h^{T}_{kv}])  \\\\
    z_G &= \\mathrm{aggregate}_{v \\in G}(h_v) \\;\\|\\; d_G                          \\\\
    \\hat y &= \\mathrm{FFN}(z_G)

Messages live on directed bonds so a message never flows straight back to the atom it came from
(the ``- h_{wv}`` term, using ``rev_index``: edge ``e``'s reverse). ``aggregate`` is the mean, the
sum, or the sum divided by a constant (``norm``, 100 by default); ``d_G`` are optional
molecule-level descriptors (already scaled) concatenated before the feed-forward head. Sums use
``Tensor.index_add_`` so no compiled scatter library is needed.

Graph inputs follow :class:`molfit.represent.GraphBatch`: ``x (n_atoms, atom_dim)``,
``edge_index (2, n_edges)`` (row 0 source, row 1 target), ``edge_attr (n_edges, bond_dim)``,
``rev_index (n_edges,)``, ``batch (n_atoms,)`` (molecule of each atom) and ``num_graphs``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from molfit.nn._heads import make_head

AGGREGATIONS = ("mean", "sum", "norm")


def aggregate(
    h: torch.Tensor, batch: torch.Tensor, num_graphs: int, how: str = "mean", norm: float = 100.0
) -> torch.Tensor:
    """Pool atom vectors ``h (n_atoms, d)`` into molecule vectors ``(num_graphs, d)``.

    ``how``: ``"mean"`` (average over the atoms), ``"sum"``, or ``"norm"`` (sum / ``norm``).
    """
    out = h.new_zeros(num_graphs, h.shape[1]).index_add_(0, batch, h)
    if how == "sum":
        return out
    if how == "norm":
        return out / norm
    if how == "mean":
        counts = torch.bincount(batch, minlength=num_graphs).clamp_(min=1).to(h.dtype)
        return out / counts[:, None]
    raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {how!r}")


class BondMessagePassing(nn.Module):
    """Directed-bond message passing: graph -> atom hidden vectors ``(n_atoms, hidden)``.

    Args:
        atom_dim, bond_dim: widths of the atom and bond feature vectors.
        hidden: width of the messages and atom vectors (ChemProp: 300).
        depth: message-passing depth (ChemProp: 3, i.e. ``depth - 1`` message updates).
        dropout: dropout on messages and atom vectors.
    """

    def __init__(
        self, atom_dim: int, bond_dim: int, hidden: int = 300, depth: int = 3, dropout: float = 0.0
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.W_i = nn.Linear(atom_dim + bond_dim, hidden, bias=False)
        self.W_h = nn.Linear(hidden, hidden, bias=False)
        self.W_o = nn.Linear(atom_dim + hidden, hidden)
        self.dropout = nn.Dropout(dropout)
        self.depth = depth
        self.hidden = hidden

    def forward(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        edge_attr: torch.Tensor,
        rev_index: torch.Tensor,
    ) -> torch.Tensor:
        """Atom hidden vectors ``(n_atoms, hidden)``; shapes as in the module docstring."""
        src, dst = edge_index[0], edge_index[1]
        n_atoms, n_atom = x.shape
        # W_i [x_v || e_vw] = (W_x x)_v + W_e e_vw: the atom part is computed once per atom,
        # not once per directed bond (~2x fewer rows in the widest input product)
        w_atom, w_bond = self.W_i.weight[:, :n_atom], self.W_i.weight[:, n_atom:]
        h0 = torch.relu(torch.addmm(torch.index_select(x @ w_atom.T, 0, src), edge_attr, w_bond.T))
        h = h0
        w_h = self.W_h.weight.T
        for _ in range(self.depth - 1):
            incoming = h.new_zeros(n_atoms, h.shape[1]).index_add_(0, dst, h)
            # index_select rather than fancy indexing: its backward is an index_add, where
            # ``tensor[index]`` backpropagates through a slower sorting index_put
            m = torch.index_select(incoming, 0, src) - torch.index_select(h, 0, rev_index)
            h = self.dropout(torch.relu(torch.addmm(h0, m, w_h)))  # h0 + W_h m in one call
        incoming = h.new_zeros(n_atoms, h.shape[1]).index_add_(0, dst, h)
        return self.dropout(torch.relu(self.W_o(torch.cat([x, incoming], dim=1))))


class DMPNN(nn.Module):
    """``predictor(aggregate(message_passing(G)))``: the full ChemProp-style model.

    Args:
        atom_dim, bond_dim: featurizer widths (``GraphFeaturizer.atom_dim`` / ``bond_dim``).
        n_tasks: number of targets.
        hidden, depth, dropout: message passing settings (see :class:`BondMessagePassing`).
        aggregation: ``"mean"``, ``"sum"`` or ``"norm"``; ``norm`` divides the sum for ``"norm"``.
        n_descriptors: width of molecule-level descriptors concatenated before the head (0: none).
        ffn_hidden, ffn_layers: feed-forward head width and number of linear layers.
        mean_variance: predict ``(mean, variance)`` per task (output ``(n, n_tasks, 2)``).
    """

    def __init__(
        self,
        atom_dim: int,
        bond_dim: int,
        n_tasks: int = 1,
        hidden: int = 300,
        depth: int = 3,
        dropout: float = 0.0,
        aggregation: str = "mean",
        norm: float = 100.0,
        n_descriptors: int = 0,
        ffn_hidden: int = 300,
        ffn_layers: int = 2,
        mean_variance: bool = False,
    ) -> None:
        super().__init__()
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
        self.message_passing = BondMessagePassing(atom_dim, bond_dim, hidden, depth, dropout)
        self.aggregation = aggregation
        self.norm = norm
        self.n_descriptors = n_descriptors
        self.predictor = make_head(
            hidden + n_descriptors,
            n_tasks,
            hidden=ffn_hidden,
            n_layers=ffn_layers,
            dropout=dropout,
            mean_variance=mean_variance,
        )

    def atom_embeddings(self, graph: Any) -> torch.Tensor:
        """Atom hidden vectors ``(n_atoms, hidden)`` after message passing."""
        return self.message_passing(graph.x, graph.edge_index, graph.edge_attr, graph.rev_index)

    def embed(self, graph: Any, descriptors: torch.Tensor | None = None) -> torch.Tensor:
        """Molecule vectors ``(num_graphs, hidden + n_descriptors)`` fed to the head."""
        h = self.atom_embeddings(graph)
        z = aggregate(h, graph.batch, int(graph.num_graphs), self.aggregation, self.norm)
        if self.n_descriptors:
            if descriptors is None:
                raise ValueError(f"this model needs {self.n_descriptors} descriptors per molecule")
            z = torch.cat([z, descriptors.to(z.dtype)], dim=1)
        return z

    def forward(self, graph: Any, descriptors: torch.Tensor | None = None) -> torch.Tensor:
        """Predictions ``(num_graphs, n_tasks)`` (or ``(num_graphs, n_tasks, 2)``)."""
        return self.predictor(self.embed(graph, descriptors))

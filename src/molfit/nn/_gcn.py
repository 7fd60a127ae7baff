"""A graph convolutional network (Kipf & Welling) on molecular graphs, as in the primer's PyG demo.

``y = head(mean_pool(ReLU(GCNConv(... ReLU(GCNConv(x, A)) ..., A))))``: each layer averages the
features of an atom and its bonded neighbours with symmetric degree normalisation
``D^{-1/2} (A + I) D^{-1/2}``, then applies a shared linear map. Bond features are not used (a plain
GCN sees only connectivity); the D-MPNN is the model that reads bonds.

Uses :class:`torch_geometric.nn.GCNConv` (imported when a GCN is built), which runs on PyTorch
alone (no ``pyg-lib`` or ``torch-scatter``), directly on the ``edge_index`` of a
:class:`molfit.chem.GraphBatch`.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
from torch import nn

from molfit.nn._heads import make_head
from molfit.nn._mpnn import AGGREGATIONS, aggregate, pooled_width


class GCN(nn.Module):
    """Stacked ``GCNConv`` layers, pooling over atoms and a feed-forward head.

    Args:
        atom_dim: atom feature width.
        n_tasks: number of targets.
        hidden: width of every graph convolution (the primer: 64).
        n_layers: number of graph convolutions (the primer: 2).
        dropout: dropout after each convolution.
        aggregation: ``"mean"`` (the primer's ``global_mean_pool``), ``"sum"``, ``"norm"`` or
            ``"mean+norm"``.
        ffn_layers: linear layers in the head (1 = the primer's linear head).
        mean_variance: predict ``(mean, variance)`` per task (output ``(n, n_tasks, 2)``).
    """

    def __init__(
        self,
        atom_dim: int,
        n_tasks: int = 1,
        hidden: int = 64,
        n_layers: int = 2,
        dropout: float = 0.0,
        aggregation: str = "mean",
        ffn_layers: int = 1,
        mean_variance: bool = False,
    ) -> None:
        super().__init__()
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
        # imported here, not at module level: torch_geometric adds ~0.3-0.4 s of CPU and ~700
        # modules (its datasets, LLM and explain packages) to every D-MPNN run otherwise
        from torch_geometric.nn import GCNConv

        dims = [atom_dim] + [hidden] * n_layers
        # cached=False: every batch is a different graph
        self.convs = nn.ModuleList(GCNConv(a, b) for a, b in itertools.pairwise(dims))
        self.dropout = nn.Dropout(dropout)
        self.aggregation = aggregation
        self.predictor = make_head(
            pooled_width(aggregation, hidden),
            n_tasks,
            hidden=hidden,
            n_layers=ffn_layers,
            mean_variance=mean_variance,
        )

    def atom_embeddings(self, graph: Any) -> torch.Tensor:
        """Atom vectors ``(n_atoms, hidden)`` after the convolutions."""
        h = graph.x
        for conv in self.convs:
            h = self.dropout(torch.relu(conv(h, graph.edge_index)))
        return h

    def embed(self, graph: Any, descriptors: torch.Tensor | None = None) -> torch.Tensor:
        """Molecule vectors ``(num_graphs, hidden)``; ``descriptors`` is accepted and ignored."""
        h = self.atom_embeddings(graph)
        return aggregate(h, graph.batch, int(graph.num_graphs), self.aggregation)

    def forward(self, graph: Any, descriptors: torch.Tensor | None = None) -> torch.Tensor:
        """Predictions ``(num_graphs, n_tasks)`` (or ``(num_graphs, n_tasks, 2)``)."""
        return self.predictor(self.embed(graph))

"""The GCN estimator: the primer's graph convolutional network with scikit-learn's contract.

``GCNModel().fit(smiles, y).predict(smiles)``; registered as ``gcn`` (``molfit train ...
--model gcn``). The network is :class:`molfit.nn.GCN` (``GCNConv`` x ``n_layers``, mean pooling,
linear head); training is :class:`molfit.models._deep.DeepGraphModel`'s.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from molfit.models._deep import DeepGraphModel, legacy_runtime


class GCNModel(DeepGraphModel):
    """Graph convolutional network (the primer: two ``GCNConv`` of width 64, mean pool, linear).

    Args:
        hidden: width of the graph convolutions.
        n_layers: number of graph convolutions.
        aggregation: ``"mean"``, ``"sum"`` or ``"norm"``.
        ffn_layers: linear layers in the head (1: linear).
        dropout: dropout after each convolution.
        Other arguments: see :class:`~molfit.models._deep.DeepGraphModel`; runtime settings
        (``accelerator``, ``devices``, ...) go to ``fit(..., runtime=Runtime(...))``.
    """

    def __init__(
        self,
        task: str = "auto",
        hidden: int = 64,
        n_layers: int = 2,
        aggregation: str = "mean",
        ffn_layers: int = 1,
        dropout: float = 0.0,
        epochs: int = 50,
        batch_size: int = 64,
        lr: float = 1e-3,
        patience: int | None = 10,
        val_fraction: float = 0.1,
        ensemble: int = 1,
        mean_variance: bool = False,
        seed: int = 0,
        deterministic: bool = True,
        precision: str = "32",
        **runtime: Any,
    ) -> None:
        self.task = task
        self.hidden = hidden
        self.n_layers = n_layers
        self.aggregation = aggregation
        self.ffn_layers = ffn_layers
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.patience = patience
        self.val_fraction = val_fraction
        self.ensemble = ensemble
        self.mean_variance = mean_variance
        self.seed = seed
        self.deterministic = deterministic
        self.precision = precision
        # old-style runtime settings (accelerator=, devices=...): used by fit, never saved
        self._legacy_runtime = legacy_runtime(type(self).__name__, runtime)

    def _build_network(self, atom_dim: int, bond_dim: int, n_tasks: int, n_desc: int) -> nn.Module:
        from molfit.nn import GCN

        return GCN(
            atom_dim,
            n_tasks,
            hidden=self.hidden,
            n_layers=self.n_layers,
            dropout=self.dropout,
            aggregation=self.aggregation,
            ffn_layers=self.ffn_layers,
            mean_variance=self.mean_variance,
        )

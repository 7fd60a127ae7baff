"""The D-MPNN estimator: ChemProp's directed message passing network with scikit-learn's contract.

``DMPNNModel().fit(smiles, y).predict(smiles)``; registered as ``dmpnn`` (``molfit train ...
--model dmpnn``). The network is :class:`molfit.nn.DMPNN`; training is
:class:`molfit.models._deep.DeepGraphModel`'s (Lightning, early stopping, ensembles).
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import nn

from molfit.errors import InputError
from molfit.models._deep import DeepGraphModel, legacy_runtime

# Revision of the network's equations, saved with every model. Revision 2: the update's skip term
# is W_i's output before its ReLU (ChemProp's code); revision 1 (molfit before 2026-12-01) added
# the rectified h0, so its weights mean something else under today's equations.
NETWORK_REVISION = 2


class DMPNNModel(DeepGraphModel):
    """Directed message passing network (ChemProp's: hidden 300, depth 3; pooling mean + sum/100).

    Args:
        hidden: message / atom vector width.
        depth: message passing depth.
        aggregation: ``"mean+norm"`` (default: the mean and the sum / 100 side by side, so the
            head sees composition and size), ``"mean"``, ``"sum"`` or ``"norm"`` (sum / 100,
            ChemProp's CLI default). Measured against chemprop in ``docs/gnn.md``.
        ffn_hidden, ffn_layers: feed-forward head width and number of linear layers.
        dropout: dropout in message passing and head.
        descriptors: concatenate standardized RDKit 2D descriptors before the head.
        Other arguments: see :class:`~molfit.models._deep.DeepGraphModel`; runtime settings
        (``accelerator``, ``devices``, ...) go to ``fit(..., runtime=Runtime(...))``.
    """

    uses_descriptors: ClassVar[bool] = True

    def __init__(
        self,
        task: str = "auto",
        hidden: int = 300,
        depth: int = 3,
        aggregation: str = "mean+norm",
        ffn_hidden: int = 300,
        ffn_layers: int = 2,
        dropout: float = 0.0,
        descriptors: bool = False,
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
        self.depth = depth
        self.aggregation = aggregation
        self.ffn_hidden = ffn_hidden
        self.ffn_layers = ffn_layers
        self.dropout = dropout
        self.descriptors = descriptors
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

    def _fitted_meta(self) -> dict[str, Any]:
        return {**super()._fitted_meta(), "network_revision": NETWORK_REVISION}

    def _restore_fitted(self, meta: dict[str, Any]) -> None:
        revision = meta.get("network_revision", 1)
        if revision != NETWORK_REVISION:
            raise InputError(
                f"this D-MPNN was saved with network revision {revision}; this molfit computes "
                f"revision {NETWORK_REVISION} (the update's skip term changed), so its weights "
                "would give different predictions: train it again"
            )
        super()._restore_fitted(meta)

    def _build_network(self, atom_dim: int, bond_dim: int, n_tasks: int, n_desc: int) -> nn.Module:
        from molfit.nn import DMPNN

        return DMPNN(
            atom_dim,
            bond_dim,
            n_tasks,
            hidden=self.hidden,
            depth=self.depth,
            dropout=self.dropout,
            aggregation=self.aggregation,
            n_descriptors=n_desc,
            ffn_hidden=self.ffn_hidden,
            ffn_layers=self.ffn_layers,
            mean_variance=self.mean_variance,
        )

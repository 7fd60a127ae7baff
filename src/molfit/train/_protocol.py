"""What the training engines share: the module contract and the result of a fit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

BEST_WEIGHTS_FILE = "best.safetensors"

Gather = Callable[[torch.Tensor], torch.Tensor]


class TrainableModule(nn.Module):
    """What an engine needs of a module: losses, validation metrics, an optimizer.

    Subclasses implement :meth:`training_loss`, :meth:`validation_loss` (which also keeps what
    :meth:`validation_metrics` needs) and :meth:`validation_metrics`, and set ``lr``,
    ``warmup_epochs``, ``lr_ratio`` and ``weight_decay`` for :meth:`make_optimizer`.
    """

    def training_loss(self, batch: Any) -> tuple[torch.Tensor, int]:
        """``(loss, batch size)`` of one training batch (the loss is backpropagated)."""
        raise NotImplementedError

    def validation_loss(self, batch: Any) -> tuple[torch.Tensor, int]:
        """``(loss, batch size)`` of one validation batch; keeps rows for the epoch metrics."""
        raise NotImplementedError

    def validation_metrics(self, gather: Gather | None = None) -> dict[str, float]:
        """Metrics of the rows kept since the last call (then forgotten), named ``val_*``.

        ``gather``: concatenates a tensor's rows over all processes of a distributed run, so
        that metrics such as RMSE or ROC-AUC are computed on the whole validation set.
        """
        raise NotImplementedError

    def make_optimizer(
        self, total_steps: int, epochs: int, *, torch_optim: bool = True
    ) -> tuple[Any, Any]:
        """``(optimizer, per-step scheduler or None)`` for ``total_steps`` over ``epochs``:
        Adam with the warm-up/decay schedule of the module's ``lr``, ``warmup_epochs``,
        ``lr_ratio`` and ``weight_decay`` (``torch_optim``: see
        :func:`~molfit.train.configure_warmup_decay`)."""
        from molfit.train._optim import configure_warmup_decay

        return configure_warmup_decay(
            self.parameters(),
            self.lr,
            self.warmup_epochs,
            self.lr_ratio,
            self.weight_decay,
            total_steps=total_steps,
            epochs=epochs,
            torch_optim=torch_optim,
        )


@dataclass
class FitResult:
    """What a fit did.

    Attributes:
        epochs_run: epochs completed (fewer than asked when early stopping stopped it).
        best_epoch: 0-based epoch of the kept weights (``-1``: no validation, last weights).
        best_score: the lowest ``val_loss`` (``None`` without validation).
        metrics: the last epoch's logged values (``train_loss``, ``val_loss``, ``val_*``...).
        engine: ``"torch"`` or ``"lightning"``.
        world_size: processes that trained.
    """

    epochs_run: int
    best_epoch: int
    best_score: float | None
    metrics: dict[str, float] = field(default_factory=dict)
    engine: str = "torch"
    world_size: int = 1

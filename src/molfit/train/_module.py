"""The module every molecular predictor (D-MPNN, GCN) trains as.

:class:`PredictorModule` wraps any ``torch.nn.Module`` that maps a batch's inputs to predictions and
adds what training needs: the loss for the task (masked, so missing labels are skipped), target
standardization (the network learns ``(y - mean) / std``; predictions come back in target units),
the optimizer with ChemProp's warm-up-then-decay learning-rate schedule, and validation metrics.
It is a plain ``torch.nn.Module`` (a :class:`~molfit.train.TrainableModule`): the torch engine
trains it without importing Lightning, the Lightning engine wraps it for DDP.

Batches are ``(inputs, targets)``: ``inputs`` is a tuple of positional arguments for the model
(``model(*inputs)``; e.g. ``(graph_batch,)`` or ``(graph_batch, descriptors)``) and ``targets``
is ``(n, n_tasks)`` float with ``NaN`` for a missing label (``None`` when predicting).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from molfit.train._losses import default_loss, masked_loss, task_metrics
from molfit.train._protocol import Gather, TrainableModule

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class PredictorModule(TrainableModule):
    """Train ``model`` for regression or classification, with optional mean-variance output.

    Args:
        model: maps ``*inputs`` to ``(n, n_tasks)`` predictions (regression values in scaled
            units, or logits), or ``(n, n_tasks, 2)`` (mean, variance) for a mean-variance head.
        task: ``"regression"`` or ``"classification"``.
        n_tasks: number of targets.
        loss: ``"mse"``, ``"bce"``, ``"gaussian_nll"``, a callable ``(pred, targets) -> scalar``
            (scaled units), or ``None`` for the task's default.
        target_mean, target_std: per-task scaling ``(n_tasks,)`` in target units (regression);
            ``None`` means no scaling.
        lr: peak learning rate (Adam).
        warmup_epochs: linear warm-up from ``lr * lr_ratio`` to ``lr``, then exponential decay to
            ``lr * lr_ratio`` at the last epoch (ChemProp's schedule); ``lr_ratio=1`` keeps it flat.
        weight_decay: Adam weight decay.
    """

    def __init__(
        self,
        model: nn.Module,
        task: str = "regression",
        n_tasks: int = 1,
        loss: str | LossFn | None = None,
        target_mean: Sequence[float] | None = None,
        target_std: Sequence[float] | None = None,
        lr: float = 1e-3,
        warmup_epochs: float = 2.0,
        lr_ratio: float = 0.1,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__()
        self.model = model
        self.task = task
        self.n_tasks = n_tasks
        self.loss = default_loss(task) if loss is None else loss
        mean = torch.zeros(n_tasks) if target_mean is None else torch.as_tensor(target_mean)
        std = torch.ones(n_tasks) if target_std is None else torch.as_tensor(target_std)
        self.register_buffer("target_mean", mean.float().reshape(n_tasks))
        self.register_buffer("target_std", std.float().reshape(n_tasks))
        self.lr = lr
        self.warmup_epochs = warmup_epochs
        self.lr_ratio = lr_ratio
        self.weight_decay = weight_decay
        self._val_pred: list[torch.Tensor] = []
        self._val_true: list[torch.Tensor] = []

    # -- forward and scaling ------------------------------------------------------------------
    def forward(self, *inputs: Any) -> torch.Tensor:
        """Raw network output (scaled units / logits)."""
        return self.model(*inputs)

    def scale_targets(self, y: torch.Tensor) -> torch.Tensor:
        """Target units -> the units the network learns."""
        return (y - self.target_mean) / self.target_std

    def unscale(self, out: torch.Tensor) -> torch.Tensor:
        """Network output -> predictions in target units.

        Regression: values ``(n, n_tasks)`` or (mean, variance) ``(n, n_tasks, 2)``;
        classification: P(class 1) ``(n, n_tasks)``.
        """
        if self.task == "classification":
            return torch.sigmoid(out)
        if out.dim() == 3:
            mean = out[..., 0] * self.target_std + self.target_mean
            var = out[..., 1] * self.target_std**2
            return torch.stack([mean, var], dim=-1)
        return out * self.target_std + self.target_mean

    def _loss(self, out: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        scaled = self.scale_targets(targets.to(out.dtype))
        if callable(self.loss):
            return self.loss(out, scaled)
        return masked_loss(out, scaled, self.loss)

    # -- the engine's hooks (molfit.train.TrainableModule) -------------------------------------
    def training_loss(self, batch: tuple[tuple, torch.Tensor]) -> tuple[torch.Tensor, int]:
        inputs, targets = batch
        return self._loss(self(*inputs), targets), len(targets)

    def validation_loss(self, batch: tuple[tuple, torch.Tensor]) -> tuple[torch.Tensor, int]:
        inputs, targets = batch
        out = self(*inputs)
        loss = self._loss(out, targets)
        pred = self.unscale(out)
        self._val_pred.append((pred[..., 0] if pred.dim() == 3 else pred).detach().float().cpu())
        self._val_true.append(targets.detach().cpu())
        return loss, len(targets)

    def validation_metrics(self, gather: Gather | None = None) -> dict[str, float]:
        width = self.n_tasks
        pred_t = torch.cat(self._val_pred) if self._val_pred else torch.zeros(0, width)
        true_t = torch.cat(self._val_true) if self._val_true else torch.zeros(0, width)
        self._val_pred.clear()
        self._val_true.clear()
        if gather is not None:
            # metrics such as ROC-AUC and RMSE do not average over ranks: gather every rank's
            # rows and score the whole validation set once, identically on every rank
            pred_t, true_t = gather(pred_t), gather(true_t)
        if len(pred_t) == 0:
            return {}
        pred, true = pred_t.double().numpy(), true_t.double().numpy()
        return {f"val_{name}": value for name, value in task_metrics(pred, true, self.task).items()}

    def predict_step(self, batch: Any, batch_idx: int = 0) -> torch.Tensor:
        """Predictions in target units for a batch ``(inputs, targets_or_None)``."""
        inputs = batch[0]
        return self.unscale(self(*inputs))


@torch.inference_mode()
def predict_batches(
    module: PredictorModule, batches: Any, device: str | torch.device = "cpu"
) -> np.ndarray:
    """Run ``module.predict_step`` over an iterable of batches without a Trainer.

    Returns predictions in target units stacked over batches: ``(n, n_tasks)`` or
    ``(n, n_tasks, 2)`` (float64).
    """
    was_training = module.training
    module.eval()
    module.to(device)
    outs = []
    for batch in batches:
        inputs = tuple(x.to(device) if hasattr(x, "to") else x for x in batch[0])
        outs.append(module.predict_step((inputs, None)).double().cpu().numpy())
    module.train(was_training)
    if not outs:
        return np.zeros((0, module.n_tasks))
    return np.concatenate(outs)

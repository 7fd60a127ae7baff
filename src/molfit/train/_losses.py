"""Losses with missing labels and validation metrics, for every deep model molfit trains.

Targets are ``(n, n_tasks)`` float tensors with ``NaN`` where a label is missing; the loss of a
batch is the mean over its labelled entries only, so multi-task data with gaps needs no imputation
and a missing label never pushes the model anywhere.

Prediction shapes: ``(n, n_tasks)`` point predictions (regression values or classification
logits), or ``(n, n_tasks, 2)`` mean and variance from a mean-variance head.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

LOSSES = ("mse", "bce", "gaussian_nll")


def default_loss(task: str, mean_variance: bool = False) -> str:
    """The loss for a task: ``mse`` (regression), ``gaussian_nll`` (mean-variance), ``bce``."""
    if task == "classification":
        if mean_variance:
            raise ValueError("a mean-variance head is for regression; classification uses bce")
        return "bce"
    if task != "regression":
        raise ValueError(f"task must be 'regression' or 'classification', got {task!r}")
    return "gaussian_nll" if mean_variance else "mse"


def masked_loss(pred: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean loss over the labelled (non-``NaN``) entries of ``target (n, n_tasks)``.

    ``kind``: ``"mse"`` and ``"bce"`` (logits) take ``pred (n, n_tasks)``; ``"gaussian_nll"``
    takes ``pred (n, n_tasks, 2)`` (mean, variance). A batch without labels gives a zero loss
    that is still connected to the graph (so DDP sees a gradient for every parameter).
    """
    mask = ~torch.isnan(target)
    y = torch.where(mask, target, torch.zeros_like(target))
    if kind == "mse":
        per = (pred - y) ** 2
    elif kind == "bce":
        per = F.binary_cross_entropy_with_logits(pred, y, reduction="none")
    elif kind == "gaussian_nll":
        per = F.gaussian_nll_loss(pred[..., 0], y, pred[..., 1], reduction="none", full=True)
    else:
        raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")
    per = torch.where(mask, per, torch.zeros_like(per))
    return per.sum() / mask.sum().clamp(min=1)


def task_metrics(pred: np.ndarray, target: np.ndarray, task: str) -> dict[str, float]:
    """Validation metrics averaged over tasks, on labelled entries only (original units).

    Regression (``pred`` = predicted values ``(n, n_tasks)``): ``rmse``, ``mae``, ``r2``.
    Classification (``pred`` = P(class 1)): ``auroc`` (tasks with both classes), ``accuracy``.
    """
    scores: dict[str, list[float]] = {}
    for t in range(target.shape[1]):
        mask = ~np.isnan(target[:, t])
        if not mask.any():
            continue
        p, y = pred[mask, t], target[mask, t]
        if task == "regression":
            err = p - y
            scores.setdefault("rmse", []).append(float(np.sqrt(np.mean(err**2))))
            scores.setdefault("mae", []).append(float(np.mean(np.abs(err))))
            var = float(np.var(y))
            if var > 0:
                scores.setdefault("r2", []).append(1.0 - float(np.mean(err**2)) / var)
        else:
            scores.setdefault("accuracy", []).append(float(np.mean((p >= 0.5) == (y == 1))))
            if 0 < y.sum() < len(y):
                scores.setdefault("auroc", []).append(_auroc(p, y))
    return {k: float(np.mean(v)) for k, v in scores.items()}


def _auroc(p: np.ndarray, y: np.ndarray) -> float:
    """Area under the ROC curve by the rank-sum formula (ties get average ranks)."""
    from scipy.stats import rankdata

    ranks = rankdata(p)
    n_pos = float(y.sum())
    n_neg = float(len(y) - n_pos)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))

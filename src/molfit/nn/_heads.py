"""Feed-forward output heads shared by molfit's deep models: point predictions or mean and variance.

A head maps a per-molecule embedding ``(n_molecules, in_dim)`` to predictions. Two kinds:

* :class:`FeedForward`: ``(n_molecules, n_tasks)`` values (regression in scaled units, or logits
  for classification).
* :class:`MeanVarianceHead`: ``(n_molecules, n_tasks, 2)`` holding the mean and a positive variance
  (softplus + 1e-6), trained with the Gaussian negative log-likelihood so each molecule gets its own
  aleatoric uncertainty.
"""

from __future__ import annotations

import torch
from torch import nn

_ACTIVATIONS = {"relu": nn.ReLU, "leakyrelu": nn.LeakyReLU, "tanh": nn.Tanh, "elu": nn.ELU}


def activation(name: str) -> nn.Module:
    """A fresh activation module by name (``relu``, ``leakyrelu``, ``tanh``, ``elu``)."""
    try:
        return _ACTIVATIONS[name.lower()]()
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; choose from {sorted(_ACTIVATIONS)}"
        ) from None


class FeedForward(nn.Module):
    """Multilayer perceptron ``in_dim -> hidden x (n_layers - 1) -> out_dim``.

    Args:
        in_dim: input width.
        out_dim: output width (number of tasks).
        hidden: width of the hidden layers.
        n_layers: number of linear layers (1 = a linear head).
        dropout: dropout probability before every linear layer after the first.
        act: activation between layers.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden: int = 300,
        n_layers: int = 2,
        dropout: float = 0.0,
        act: str = "relu",
    ) -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {n_layers}")
        layers: list[nn.Module] = []
        width = in_dim
        for _ in range(n_layers - 1):
            layers += [nn.Dropout(dropout), nn.Linear(width, hidden), activation(act)]
            width = hidden
        layers += [nn.Dropout(dropout), nn.Linear(width, out_dim)]
        self.net = nn.Sequential(*layers)
        self.out_dim = out_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``z``: ``(n, in_dim)`` -> ``(n, out_dim)``."""
        return self.net(z)


class MeanVarianceHead(nn.Module):
    """Predicts a mean and a variance per task: ``(n, in_dim) -> (n, n_tasks, 2)``.

    ``[..., 0]`` is the mean, ``[..., 1]`` the variance (softplus of a raw output plus 1e-6, so it
    is strictly positive). Train with :func:`torch.nn.functional.gaussian_nll_loss`.
    """

    def __init__(
        self,
        in_dim: int,
        n_tasks: int,
        hidden: int = 300,
        n_layers: int = 2,
        dropout: float = 0.0,
        act: str = "relu",
    ) -> None:
        super().__init__()
        self.ffn = FeedForward(in_dim, 2 * n_tasks, hidden, n_layers, dropout, act)
        self.n_tasks = n_tasks

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``z``: ``(n, in_dim)`` -> ``(n, n_tasks, 2)`` (mean, variance)."""
        out = self.ffn(z).view(-1, self.n_tasks, 2)
        mean = out[..., 0]
        var = nn.functional.softplus(out[..., 1]) + 1e-6
        return torch.stack([mean, var], dim=-1)


def make_head(
    in_dim: int,
    n_tasks: int,
    *,
    hidden: int = 300,
    n_layers: int = 2,
    dropout: float = 0.0,
    act: str = "relu",
    mean_variance: bool = False,
) -> nn.Module:
    """A :class:`FeedForward` (``mean_variance=False``) or :class:`MeanVarianceHead`."""
    if mean_variance:
        return MeanVarianceHead(in_dim, n_tasks, hidden, n_layers, dropout, act)
    return FeedForward(in_dim, n_tasks, hidden, n_layers, dropout, act)

"""Adam, ChemProp's warm-up/decay schedule, and their torch-free twins for the torch engine.

``torch.optim.Optimizer`` imports ``torch._dynamo`` the first time an optimizer is built (its
``add_param_group`` and ``step`` are wrapped for ``torch.compile``): about 1.5 s of CPU, more
than the whole training of a 600-molecule D-MPNN for five epochs. :class:`Adam` computes exactly
what ``torch.optim.Adam`` computes on one device (its single-tensor path: the same operations in
the same order, bias corrections in double precision; ``tests/train`` compares them step by
step); :class:`StepSchedule` is ``torch.optim.lr_scheduler.LambdaLR``'s rule. The Lightning
engine keeps using ``torch.optim``, which Lightning requires.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch


class Adam:
    """Adam with L2 weight decay (added to the gradient, as ``torch.optim.Adam``).

    Args:
        params: the parameters to optimise (those without ``requires_grad`` are skipped).
        lr: learning rate; ``param_groups[0]["lr"]`` may be changed between steps.
        betas: decay rates of the first and second moment estimates.
        eps: added to the denominator.
        weight_decay: L2 penalty factor.
    """

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self.param_groups: list[dict[str, Any]] = [
            {
                "params": [p for p in params if p.requires_grad],
                "lr": float(lr),
                "initial_lr": float(lr),
                "betas": betas,
                "eps": eps,
                "weight_decay": weight_decay,
            }
        ]
        self.state: dict[torch.nn.Parameter, dict[str, Any]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (``None``, or zeros with ``set_to_none=False``)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_().zero_()

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, decay = group["lr"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = {
                        "step": 0,
                        "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                        "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format),
                    }
                state["step"] += 1
                step = state["step"]
                if decay != 0:
                    grad = grad.add(p, alpha=decay)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.lerp_(grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                bias_correction1 = 1 - beta1**step
                bias_correction2 = 1 - beta2**step
                step_size = lr / bias_correction1
                denom = (exp_avg_sq.sqrt() / bias_correction2**0.5).add_(eps)
                p.addcdiv_(exp_avg, denom, value=-step_size)


class StepSchedule:
    """Learning rate ``initial_lr * factor(step)``, updated by every :meth:`step` (one per
    batch); ``factor(0)`` applies from the start (``LambdaLR``'s rule)."""

    def __init__(self, optimizer: Adam, factor: Callable[[int], float]) -> None:
        self.optimizer, self.factor = optimizer, factor
        self.last_step = 0
        self._apply()

    def _apply(self) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = group["initial_lr"] * self.factor(self.last_step)

    def step(self) -> None:
        """Advance one step and set the new learning rate."""
        self.last_step += 1
        self._apply()

    def get_last_lr(self) -> list[float]:
        """The learning rate of each parameter group now."""
        return [group["lr"] for group in self.optimizer.param_groups]


class WarmupDecay:
    """Learning-rate factor: linear ``ratio -> 1`` over ``warmup`` steps, then ``1 -> ratio``
    exponentially until step ``total`` (ChemProp's schedule; a picklable callable, so DDP
    spawn can send it)."""

    def __init__(self, warmup: int, total: int, ratio: float) -> None:
        self.warmup, self.total, self.ratio = warmup, total, ratio

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return self.ratio + (1.0 - self.ratio) * step / self.warmup
        span = max(1, self.total - self.warmup)
        frac = min(1.0, (step - self.warmup) / span)
        return math.exp(math.log(self.ratio) * frac)


def configure_warmup_decay(
    parameters: Any,
    lr: float,
    warmup_epochs: float,
    lr_ratio: float,
    weight_decay: float = 0.0,
    *,
    total_steps: int,
    epochs: int,
    torch_optim: bool = True,
) -> tuple[Any, Any]:
    """Adam with ChemProp's schedule, stepped per batch: linear warm-up ``lr * lr_ratio -> lr``
    over ``warmup_epochs``, then exponential decay to ``lr * lr_ratio`` at step ``total_steps``.

    Returns ``(optimizer, scheduler)``; the scheduler is ``None`` when ``lr_ratio == 1`` (flat).
    ``torch_optim``: ``torch.optim.Adam`` and ``LambdaLR`` (what Lightning needs), else
    molfit's :class:`~molfit.train._optim.Adam` and ``StepSchedule``, the same arithmetic
    without importing ``torch._dynamo``.
    """
    total = max(1, int(total_steps))
    per_epoch = max(1, total // max(1, int(epochs)))
    warmup = max(1, int(warmup_epochs * per_epoch))
    schedule = WarmupDecay(warmup, total, lr_ratio)
    if torch_optim:
        optimizer = torch.optim.Adam(parameters, lr=lr, weight_decay=weight_decay)
        if lr_ratio == 1.0:
            return optimizer, None
        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    native = Adam(parameters, lr=lr, weight_decay=weight_decay)
    return native, None if lr_ratio == 1.0 else StepSchedule(native, schedule)

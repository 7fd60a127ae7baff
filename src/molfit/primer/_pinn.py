"""The primer's physics-informed network: fit ``u(x)`` to a few sin(x) points and ``u'' = −u``.

The loss mixes a data term and a physics term,
``ℒ = λd · mean((u(xᵢ) − u*ᵢ)²) + λp · mean((u''(cⱼ) + u(cⱼ))²)``,
with ``u''`` from torch autograd at collocation points ``cⱼ`` spread over ``[0, 2π]``. The data
points cover only ``[0, 1.6]``: data alone cannot say what happens further right, the ODE can.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from molfit.errors import InputError

PINN_DOMAIN = (0.0, 2.0 * math.pi)
PINN_N_DATA = 6
PINN_DATA_RANGE = (0.0, 1.6)
PINN_N_COLLOCATION = 48


class _MLP(torch.nn.Module):
    def __init__(self, width: int = 24) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Linear(1, width),
            torch.nn.Tanh(),
            torch.nn.Linear(width, width),
            torch.nn.Tanh(),
            torch.nn.Linear(width, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Rescale [0, 2π] to [-1, 1] inside the graph so autograd sees d/dx of the real input.
        return self.body(x / math.pi - 1.0)


def pinn_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The training points: ``PINN_N_DATA`` noisy samples of sin(x) on ``PINN_DATA_RANGE``."""
    rng = np.random.default_rng(seed)
    x = np.linspace(*PINN_DATA_RANGE, PINN_N_DATA)
    return x, np.sin(x) + rng.normal(0.0, 0.02, x.size)


def pinn_fit(physics_weight: float, steps: int = 400, seed: int = 0) -> dict[str, Any]:
    """Train the small MLP with ``λp = physics_weight`` and ``λd = 1 − physics_weight``.

    Args:
        physics_weight: the mix ``λp`` in ``[0, 1]``; 0 is data only, 1 is physics only.
        steps: Adam steps (learning rate 0.01), a few hundred; about a second on one CPU core.
        seed: initialises the network and draws the data noise.

    Returns:
        JSON-ready dict: ``x`` grid, ``u`` (the network), ``truth`` (sin x), the ``data`` points,
        ``history`` (step, data loss, physics loss, every 10 steps), the final ``data_loss`` and
        ``physics_loss``, and ``max_error`` = max |u − sin x| over the grid.
    """
    if not (isinstance(physics_weight, int | float) and 0.0 <= physics_weight <= 1.0):
        raise InputError(f"physics_weight must be a number in [0, 1], got {physics_weight!r}")
    if not (isinstance(steps, int) and 1 <= steps <= 5000):
        raise InputError(f"steps must be an integer in 1..5000, got {steps!r}")
    return dict(_pinn_fit_cached(round(float(physics_weight), 4), steps, seed))


@lru_cache(maxsize=64)
def _pinn_fit_cached(lam_p: float, steps: int, seed: int) -> dict[str, Any]:
    lam_d = 1.0 - lam_p
    x_np, y_np = pinn_data(seed)
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _MLP().double()
    x_data = torch.tensor(x_np[:, None])
    y_data = torch.tensor(y_np[:, None])
    lo, hi = PINN_DOMAIN
    base = torch.linspace(lo, hi, PINN_N_COLLOCATION, dtype=torch.float64)[:, None]
    spacing = (hi - lo) / (PINN_N_COLLOCATION - 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    history = []
    data_loss = phys_loss = torch.tensor(0.0)
    for step in range(steps + 1):
        # Jittered collocation points: a fresh sample each step, so the ODE holds between them too.
        jitter = (torch.rand(base.shape, generator=generator, dtype=torch.float64) - 0.5) * spacing
        c = (base + jitter).clamp(lo, hi).requires_grad_(True)
        u = model(c)
        (du,) = torch.autograd.grad(u.sum(), c, create_graph=True)
        (d2u,) = torch.autograd.grad(du.sum(), c, create_graph=True)
        phys_loss = torch.mean((d2u + u) ** 2)
        data_loss = torch.mean((model(x_data) - y_data) ** 2)
        if step % 10 == 0:
            history.append([step, data_loss.item(), phys_loss.item()])
        if step == steps:
            break
        loss = lam_d * data_loss + lam_p * phys_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    grid = np.linspace(lo, hi, 200)
    with torch.no_grad():
        u_grid = model(torch.tensor(grid[:, None])).numpy().reshape(-1)
    truth = np.sin(grid)
    return {
        "physics_weight": lam_p,
        "data_weight": lam_d,
        "x": grid.tolist(),
        "u": u_grid.tolist(),
        "truth": truth.tolist(),
        "data": {"x": x_np.tolist(), "y": y_np.tolist()},
        "history": history,
        "data_loss": data_loss.item(),
        "physics_loss": phys_loss.item(),
        "max_error": float(np.max(np.abs(u_grid - truth))),
        "steps": steps,
    }

"""The primer's server-side fits: the polynomial degree sweep and the 1D Gaussian process.

These run in molfit's Python behind the primer's JSON API (``/api/poly``, ``/api/gp``; the
PINN of ``/api/pinn`` lives in ``_pinn.py``); the page only draws what they return. Units are
the demos' abstract plot units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from molfit.errors import InputError

# --- 6. under- and overfitting -------------------------------------------------------------------

POLY_MAX_DEGREE = 12
POLY_N_TRAIN = 14
POLY_N_TEST = 60
POLY_NOISE = 0.25


def true_function(x: np.ndarray) -> np.ndarray:
    """The dashed curve of the under/overfitting demo: ``sin(3x) + 0.5x`` on ``[-1, 1]``."""
    return np.sin(3.0 * x) + 0.5 * x


@lru_cache(maxsize=4)
def poly_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Noisy samples of :func:`true_function`: ``(x_train, y_train, x_test, y_test)``."""
    rng = np.random.default_rng(seed)
    x_train = np.sort(rng.uniform(-1.0, 1.0, POLY_N_TRAIN))
    x_test = np.sort(rng.uniform(-1.0, 1.0, POLY_N_TEST))
    y_train = true_function(x_train) + rng.normal(0.0, POLY_NOISE, POLY_N_TRAIN)
    y_test = true_function(x_test) + rng.normal(0.0, POLY_NOISE, POLY_N_TEST)
    return x_train, y_train, x_test, y_test


def _poly_coef(x: np.ndarray, y: np.ndarray, degree: int) -> np.ndarray:
    # Legendre basis: the same polynomials as the monomials, but well conditioned on [-1, 1].
    design = np.polynomial.legendre.legvander(x, degree)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return coef


def polynomial_fit(degree: int, seed: int = 0, n_grid: int = 200) -> dict[str, Any]:
    """Least-squares polynomial of ``degree`` on the demo's train points, and its losses.

    Args:
        degree: polynomial degree, 0 to :data:`POLY_MAX_DEGREE`.
        seed: draws the noisy samples.
        n_grid: number of points of the returned curves on ``[-1, 1]``.

    Returns:
        A JSON-ready dict: ``degree``, ``x`` (grid), ``fit`` and ``truth`` on the grid, the
        ``train`` and ``test`` points, ``train_loss`` and ``test_loss`` (mean squared errors) and
        ``sweep``: both losses for every degree 0..max, for the loss-vs-degree plot.
    """
    if not isinstance(degree, int) or not 0 <= degree <= POLY_MAX_DEGREE:
        raise InputError(f"degree must be an integer in 0..{POLY_MAX_DEGREE}, got {degree!r}")
    x_tr, y_tr, x_te, y_te = poly_data(seed)
    grid = np.linspace(-1.0, 1.0, n_grid)
    sweep = []
    for d in range(POLY_MAX_DEGREE + 1):
        coef = _poly_coef(x_tr, y_tr, d)
        tr = float(np.mean((np.polynomial.legendre.legval(x_tr, coef) - y_tr) ** 2))
        te = float(np.mean((np.polynomial.legendre.legval(x_te, coef) - y_te) ** 2))
        sweep.append({"degree": d, "train_loss": tr, "test_loss": te})
    coef = _poly_coef(x_tr, y_tr, degree)
    return {
        "degree": degree,
        "x": grid.tolist(),
        "fit": np.polynomial.legendre.legval(grid, coef).tolist(),
        "truth": true_function(grid).tolist(),
        "train": {"x": x_tr.tolist(), "y": y_tr.tolist()},
        "test": {"x": x_te.tolist(), "y": y_te.tolist()},
        "train_loss": sweep[degree]["train_loss"],
        "test_loss": sweep[degree]["test_loss"],
        "sweep": sweep,
    }


# --- 7. Gaussian process -----------------------------------------------------------------------


def _rbf_gp_posterior(
    x: np.ndarray, y: np.ndarray, x_new: np.ndarray, length_scale: float, noise: float
) -> tuple[np.ndarray, np.ndarray]:
    """Exact zero-mean GP posterior with ``k = exp(−(x−x')²/2ℓ²)`` and noise variance ``noise``."""

    def k(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.exp(-((a[:, None] - b[None, :]) ** 2) / (2.0 * length_scale**2))

    chol = np.linalg.cholesky(k(x, x) + noise * np.eye(len(x)))
    alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, y))
    k_star = k(x_new, x)
    mean = k_star @ alpha
    v = np.linalg.solve(chol, k_star.T)
    var = np.clip(1.0 - np.sum(v * v, axis=0), 0.0, None)
    return mean, np.sqrt(var)


def _molfit_gp(length_scale: float, noise: float) -> Any:
    """molfit's own GP regressor with a fixed RBF kernel."""
    from molfit.models import ExactGP

    # The slide's GP: zero prior mean, unit signal variance, the band of the latent function.
    return ExactGP(
        kernel="rbf",
        length_scale=length_scale,
        noise=noise,
        optimize=False,
        normalize_y=False,
        include_noise=False,
    )


def gp_fit(
    x: Sequence[float],
    y: Sequence[float],
    length_scale: float,
    noise: float = 1.0e-2,
    x_new: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Posterior mean and standard deviation of a zero-mean RBF Gaussian process in 1D.

    Args:
        x, y: observations (any number, including none: the prior).
        length_scale: the RBF length-scale ``ℓ`` (> 0), in the units of ``x``.
        noise: observation noise variance ``σ²`` added to the kernel's diagonal.
        x_new: where to predict; default 200 points on ``[-5, 5]``.

    Returns:
        ``x``, ``mean``, ``std`` (latent function, without the noise), ``lower``/``upper``
        (``mean ∓ 2·std``) and ``engine`` (``"molfit.models"`` or ``"primer"``).
    """
    xs = np.asarray(x, dtype=float).reshape(-1)
    ys = np.asarray(y, dtype=float).reshape(-1)
    if xs.shape != ys.shape:
        raise InputError(f"gp: x and y differ in length ({xs.size} vs {ys.size})")
    if not (math.isfinite(length_scale) and length_scale > 0):
        raise InputError(f"gp: length_scale must be a positive number, got {length_scale!r}")
    if not (math.isfinite(noise) and noise > 0):
        raise InputError(f"gp: noise must be a positive number, got {noise!r}")
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        raise InputError("gp: observations must be finite numbers")
    grid = np.linspace(-5.0, 5.0, 200) if x_new is None else np.asarray(x_new, float).reshape(-1)
    engine = "primer"
    if xs.size == 0:
        mean, std = np.zeros_like(grid), np.ones_like(grid)
    else:
        # molfit.models wants two labelled rows; one observation is the same formula done here.
        if xs.size >= 2:
            model = _molfit_gp(length_scale, noise)
            model.fit(xs[:, None], ys)
            mean, std = model.predict(grid[:, None], return_std=True)
            mean, std = np.asarray(mean, float).reshape(-1), np.asarray(std, float).reshape(-1)
            engine = "molfit.models"
        else:
            mean, std = _rbf_gp_posterior(xs, ys, grid, length_scale, noise)
    return {
        "x": grid.tolist(),
        "mean": mean.tolist(),
        "std": std.tolist(),
        "lower": (mean - 2.0 * std).tolist(),
        "upper": (mean + 2.0 * std).tolist(),
        "engine": engine,
    }

"""Conformal prediction and probability calibration.

* Split conformal regression: on a calibration set, scores ``|y - μ| / (σ + β)`` with σ the
  model's std and β the median absolute calibration residual (plain ``|y - μ|`` for models
  without a std); the interval is ``μ ± q (σ + β)`` with ``q`` the ``⌈(n+1)(1-α)⌉``-th smallest
  score. Coverage ≥ 1 - α on exchangeable data.
* CV+ (Barber et al., 2021) for small data: K fold models, out-of-fold scores ``R_i``; the
  interval for ``x`` runs from the ``⌊α(n+1)⌋``-th smallest of ``μ_{-k(i)}(x) - R_i s_{-k(i)}(x)``
  to the ``⌈(1-α)(n+1)⌉``-th smallest of ``μ_{-k(i)}(x) + R_i s_{-k(i)}(x)``: every training
  molecule calibrates, at the cost of K extra fits.
* Jackknife+ (Barber et al., 2021): CV+ with one fold per training molecule (``n`` leave-one-out
  fits); the same order statistics, coverage ≥ 1 - 2α in theory and ≈ 1 - α in practice.
* Mondrian conformal (Vovk et al., 2005): one split-conformal quantile per group (a class, a
  similarity bin, an element set); coverage ≥ 1 - α holds *within each group*, which plain
  split conformal does not promise when the error size differs between groups.
* Classification: Platt scaling or isotonic regression of P(1) on held-out data, then conformal
  prediction sets from scores ``1 - p(true class)``.
"""

from __future__ import annotations

import math

import numpy as np

_EPS = 1e-6


def conformal_quantile(scores: np.ndarray, coverage: float) -> float:
    """The ``⌈(n+1) coverage⌉``-th smallest score (``inf`` when n is too small)."""
    scores = np.sort(np.asarray(scores, dtype=np.float64))
    k = math.ceil((len(scores) + 1) * coverage - 1e-9)
    return float(scores[k - 1]) if 0 < k <= len(scores) else float("inf")


def scale_of(std: np.ndarray | None, n: int, offset: float) -> np.ndarray:
    """The normalizing scale ``σ(x) + β`` (ones without a std).

    The offset β (see :func:`std_offset`) keeps molecules with a near-zero std — training
    look-alikes on which every tree agrees — from blowing up the conformal quantile.
    """
    if std is None:
        return np.ones(n)
    return np.asarray(std, dtype=np.float64) + offset


def std_offset(std: np.ndarray | None, abs_residuals: np.ndarray) -> float:
    """β for :func:`scale_of`: the median absolute calibration residual (≥ 1e-6), 0 without a std.

    With β of the size of a typical error, molecules with a tiny std get intervals about as wide
    as plain conformal ones, and a large std widens them. On FreeSolv and B3DB slices this gave
    narrower intervals at the same coverage than β = median std or no normalization.
    """
    if std is None:
        return 0.0
    return max(float(np.median(abs_residuals)), _EPS)


def cv_plus_interval(
    fold_mean: np.ndarray,
    fold_scale: np.ndarray,
    residuals: np.ndarray,
    folds: np.ndarray,
    coverage: float,
    chunk: int = 2048,
) -> tuple[np.ndarray, np.ndarray]:
    """CV+ interval bounds for ``n_query`` points.

    Args:
        fold_mean: ``(n_query, K)`` predictions of the K fold models.
        fold_scale: ``(n_query, K)`` their normalizing scales (ones when unnormalized).
        residuals: ``(n_cal,)`` out-of-fold scores ``R_i`` of the training points.
        folds: ``(n_cal,)`` fold index ``k(i)`` of each training point.
        coverage: 1 - α.
    """
    n = len(residuals)
    alpha = 1.0 - coverage
    # the 1e-9 guards against 1 - 0.9 = 0.0999...98 turning floor(2.0) into 1
    k_lo = math.floor(alpha * (n + 1) + 1e-9)
    k_hi = math.ceil((1 - alpha) * (n + 1) - 1e-9)
    lower = np.full(len(fold_mean), -np.inf)
    upper = np.full(len(fold_mean), np.inf)
    for lo in range(0, len(fold_mean), chunk):
        mu = fold_mean[lo : lo + chunk][:, folds]  # (q, n)
        sc = fold_scale[lo : lo + chunk][:, folds] * residuals[None, :]
        if k_lo >= 1:
            lower[lo : lo + chunk] = np.partition(mu - sc, k_lo - 1, axis=1)[:, k_lo - 1]
        if k_hi <= n:
            upper[lo : lo + chunk] = np.partition(mu + sc, k_hi - 1, axis=1)[:, k_hi - 1]
    return lower, upper


def jackknife_plus_interval(
    loo_mean: np.ndarray,
    loo_scale: np.ndarray,
    residuals: np.ndarray,
    coverage: float,
    chunk: int = 2048,
) -> tuple[np.ndarray, np.ndarray]:
    """Jackknife+ interval bounds for ``n_query`` points.

    Args:
        loo_mean: ``(n_query, n)`` predictions of the n leave-one-out models.
        loo_scale: ``(n_query, n)`` their normalizing scales (ones when unnormalized).
        residuals: ``(n,)`` leave-one-out scores ``R_i = |y_i - μ_{-i}(x_i)| / s_{-i}(x_i)``.
        coverage: 1 - α.

    Returns:
        ``(lower, upper)``, each ``(n_query,)`` in target units (``∓inf`` when n is too small
        for the asked coverage).
    """
    n = len(residuals)
    if loo_mean.shape[1] != n or loo_scale.shape != loo_mean.shape:
        raise ValueError(
            f"jackknife+ needs one model per training point: loo_mean {loo_mean.shape}, "
            f"loo_scale {loo_scale.shape}, {n} residuals"
        )
    return cv_plus_interval(loo_mean, loo_scale, residuals, np.arange(n), coverage, chunk)


def mondrian_quantiles(
    scores: np.ndarray, groups: np.ndarray, coverage: float
) -> dict[object, float]:
    """One conformal quantile per group: ``{group: ⌈(n_g+1)(1-α)⌉-th smallest score of group g}``.

    Args:
        scores: ``(n_cal,)`` calibration nonconformity scores (e.g. ``|y - μ| / s``).
        groups: ``(n_cal,)`` group label of each calibration point (any hashable values).
        coverage: 1 - α.

    A group with fewer than ``⌈1/α⌉ - 1`` calibration points gets ``inf`` (an unbounded
    interval): conformal cannot promise the coverage with so few.
    """
    scores = np.asarray(scores, dtype=np.float64)
    groups = np.asarray(groups)
    if scores.shape != groups.shape:
        raise ValueError(f"scores {scores.shape} and groups {groups.shape} differ in shape")
    return {
        g.item() if hasattr(g, "item") else g: conformal_quantile(scores[groups == g], coverage)
        for g in np.unique(groups)
    }


def mondrian_interval(
    mean: np.ndarray,
    scale: np.ndarray,
    groups: np.ndarray,
    quantiles: dict[object, float],
    fallback: float = float("inf"),
) -> tuple[np.ndarray, np.ndarray]:
    """Group-conditional intervals ``μ ± q_g s`` for ``n`` query points (all ``(n,)``).

    ``quantiles`` from :func:`mondrian_quantiles`; a query group absent from calibration gets
    ``fallback`` (``inf`` by default: no calibration data, no promise).
    """
    mean = np.asarray(mean, dtype=np.float64)
    q = np.array(
        [
            quantiles.get(g.item() if hasattr(g, "item") else g, fallback)
            for g in np.asarray(groups)
        ],
        dtype=np.float64,
    )
    half = q * np.asarray(scale, dtype=np.float64)
    return mean - half, mean + half


def similarity_bins(similarity: np.ndarray, edges: tuple[float, ...] = (0.3, 0.5)) -> np.ndarray:
    """Bin index ``(n,)`` int of each Tanimoto similarity to the training set, for Mondrian
    conformal by distance to the training data: ``0`` below ``edges[0]``, ``1`` up to
    ``edges[1]``, ... (edges must increase)."""
    edges_a = np.asarray(edges, dtype=np.float64)
    if np.any(np.diff(edges_a) <= 0):
        raise ValueError(f"similarity bin edges must increase, got {edges}")
    return np.searchsorted(edges_a, np.asarray(similarity, dtype=np.float64), side="right")


class ProbabilityCalibrator:
    """Map raw P(1) to calibrated P(1) with Platt scaling or isotonic regression.

    ``method="auto"`` uses isotonic regression with at least 1000 calibration labels (it needs
    data), Platt scaling below.
    """

    def __init__(self, method: str = "auto") -> None:
        self.method = method

    def fit(self, proba: np.ndarray, y: np.ndarray) -> ProbabilityCalibrator:
        p, y = np.asarray(proba, float), np.asarray(y, float).astype(int)
        method = self.method
        if method == "auto":
            method = "isotonic" if len(y) >= 1000 else "platt"
        self.method_ = method
        if method == "platt":  # scikit-learn's estimators load here, for classifiers only
            from sklearn.linear_model import LogisticRegression

            lr = LogisticRegression(C=1e4).fit(_logit(p)[:, None], y)
            self.params_ = np.array([lr.coef_[0, 0], lr.intercept_[0]])
        elif method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
            self.params_ = np.stack([iso.X_thresholds_, iso.y_thresholds_])
        elif method == "none":
            self.params_ = np.zeros(0)
        else:
            raise ValueError(f"calibration must be auto, platt, isotonic or none, got {method!r}")
        return self

    def transform(self, proba: np.ndarray) -> np.ndarray:
        """Calibrated P(1), same shape as ``proba``; ``NaN`` stays ``NaN``."""
        p = np.asarray(proba, float)
        if self.method_ == "platt":
            a, b = self.params_
            return 1.0 / (1.0 + np.exp(-(a * _logit(p) + b)))
        if self.method_ == "isotonic":
            return np.interp(p, self.params_[0], self.params_[1])
        return p

    def state(self) -> dict[str, np.ndarray]:
        return {"method": np.array(self.method_), "params": self.params_}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> ProbabilityCalibrator:
        cal = cls(method=str(state["method"]))
        cal.method_ = str(state["method"])
        cal.params_ = state["params"]
        return cal


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def prediction_sets(proba1: np.ndarray, threshold: float) -> np.ndarray:
    """Binary conformal sets ``(n, 2)`` bool: class c is in when ``1 - p(c) <= threshold``."""
    p = np.asarray(proba1, float)
    both = np.stack([1.0 - p, p], axis=-1)
    return (1.0 - both) <= threshold + 1e-12

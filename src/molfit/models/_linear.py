"""Ridge regression and logistic regression on fingerprints or descriptors."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge, RidgeCV

from molfit.models._base import MoleculeModel

_RIDGE_ALPHAS = np.logspace(-3, 3, 13)


def fit_scaler(F: np.ndarray, standardize: bool) -> tuple[np.ndarray, np.ndarray]:
    """Column means and scales for standardization (``NaN``-aware; zero spread gets scale 1)."""
    F = np.asarray(F, dtype=np.float64)
    F = np.where(np.isfinite(F), F, np.nan)
    mean = np.nanmean(F, axis=0) if len(F) else np.zeros(F.shape[1])
    mean = np.nan_to_num(mean, nan=0.0)
    if not standardize:
        return np.zeros_like(mean), np.ones_like(mean)
    scale = np.nan_to_num(np.nanstd(F, axis=0), nan=0.0)
    scale[scale < 1e-12] = 1.0
    return mean, scale


def apply_scaler(F: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Standardize ``F``; missing or infinite entries become the training mean (0 after scaling)."""
    F = np.asarray(F, dtype=np.float64)
    F = np.where(np.isfinite(F), F, mean)
    return (F - mean) / scale


class LinearModel(MoleculeModel):
    """Ridge (regression) or L2 logistic regression (classification) on ECFP or descriptors.

    Args:
        task: ``"regression"`` (ridge), ``"classification"`` (logistic) or ``"auto"``.
        alpha: ridge penalty; ``None`` picks it from 1e-3..1e3 by efficient leave-one-out CV.
        C: inverse logistic penalty.
        featurizer: ``"ecfp"`` or ``"descriptors"``.
        radius, n_bits, counts: ECFP settings.
        standardize: scale features to zero mean, unit variance; ``"auto"``: only descriptors.
        n_jobs: parallel featurization jobs.
        seed: random seed (logistic solver).

    Ridge gives no standard deviation: conformal intervals on top of it have constant width.
    """

    def __init__(
        self,
        task: str = "auto",
        alpha: float | None = None,
        C: float = 1.0,
        featurizer: str = "ecfp",
        radius: int = 3,
        n_bits: int = 1024,
        counts: bool = False,
        standardize: bool | str = "auto",
        n_jobs: int | None = None,
        seed: int = 0,
    ) -> None:
        self.task = task
        self.alpha = alpha
        self.C = C
        self.featurizer = featurizer
        self.radius = radius
        self.n_bits = n_bits
        self.counts = counts
        self.standardize = standardize
        self.n_jobs = n_jobs
        self.seed = seed

    def _standardize(self) -> bool:
        if self.standardize == "auto":
            return self.featurizer == "descriptors" or self.input_kind_ == "array"
        return bool(self.standardize)

    def _fit_task(self, F: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        mean, scale = fit_scaler(F, self._standardize())
        Z = apply_scaler(F, mean, scale)
        if self.task_ == "classification":
            est = LogisticRegression(C=self.C, max_iter=2000, random_state=self.seed)
            est.fit(Z, y.astype(np.int64))
            coef, intercept = est.coef_[0], est.intercept_[0]
        else:
            est = Ridge(alpha=self.alpha) if self.alpha is not None else RidgeCV(_RIDGE_ALPHAS)
            est.fit(Z, y)
            coef, intercept = est.coef_, est.intercept_
        return {
            "coef": np.asarray(coef, dtype=np.float64),
            "intercept": np.asarray(intercept, dtype=np.float64),
            "x_mean": mean,
            "x_scale": scale,
        }

    def _linear(self, state: dict[str, Any], F: np.ndarray) -> np.ndarray:
        return apply_scaler(F, state["x_mean"], state["x_scale"]) @ state["coef"] + float(
            state["intercept"]
        )

    def _predict_task(self, state: dict[str, Any], F: np.ndarray) -> tuple[np.ndarray, None]:
        return self._linear(state, F), None

    def _proba_task(self, state: dict[str, Any], F: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self._linear(state, F)))

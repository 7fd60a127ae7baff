"""Metrics: regression accuracy, classification quality, and calibration of uncertainty.

Every function ignores rows whose label is ``NaN`` (missing), so multi-task data with gaps can be
scored per task without extra bookkeeping.
"""

from __future__ import annotations

from itertools import pairwise
from math import nan
from statistics import NormalDist
from typing import Any

import numpy as np

# Regression metrics need neither SciPy nor scikit-learn (half a second of imports on a small
# training run); the classification metrics import scikit-learn's where they are computed.


def _mask(*arrays: np.ndarray | None) -> np.ndarray:
    keep = np.ones(len(arrays[0]), dtype=bool)
    for a in arrays:
        if a is not None:
            keep &= np.isfinite(np.asarray(a, dtype=np.float64))
    return keep


def average_ranks(a: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``a`` ``(n,)``, ties given the mean of the ranks they span (the ranks of
    Spearman's ρ)."""
    a = np.asarray(a, dtype=np.float64)
    order = np.argsort(a, kind="stable")
    ordered = a[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1], True])
    mean_rank = (starts[:-1] + starts[1:] + 1) / 2.0  # ranks starts[k]+1 .. starts[k+1]
    ranks = np.empty(len(a))
    ranks[order] = np.repeat(mean_rank, np.diff(starts))
    return ranks


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation of ``x`` and ``y`` ``(n,)`` (ties averaged); ``NaN`` when
    either is constant or fewer than 2 values."""
    if len(x) < 2:
        return float("nan")
    rx, ry = average_ranks(x), average_ranks(y)
    rx -= rx.mean()
    ry -= ry.mean()
    denom = np.sqrt((rx**2).sum() * (ry**2).sum())
    return float((rx * ry).sum() / denom) if denom > 0 else float("nan")


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MAE, RMSE, R² and Spearman ρ for one task ``(n,)`` (target units for MAE/RMSE)."""
    y, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    keep = _mask(y, p)
    y, p = y[keep], p[keep]
    if len(y) == 0:
        return {"n": 0}
    err = p - y
    ss_tot = ((y - y.mean()) ** 2).sum()
    rho = spearman(y, p) if len(y) > 2 else float("nan")
    return {
        "n": len(y),
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "r2": float(1 - (err**2).sum() / ss_tot) if ss_tot > 0 else float("nan"),
        "spearman": float(rho),
    }


def expected_calibration_error(y_true: np.ndarray, proba: np.ndarray, n_bins: int = 10) -> float:
    """ECE: mean |observed frequency - mean predicted P(1)| over equal-width bins, weighted by
    bin size."""
    y, p = np.asarray(y_true, float), np.asarray(proba, float)
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        sel = bins == b
        if sel.any():
            ece += sel.mean() * abs(y[sel].mean() - p[sel].mean())
    return float(ece)


def classification_metrics(
    y_true: np.ndarray, proba: np.ndarray, threshold: float = 0.5
) -> dict[str, float]:
    """ROC-AUC, PR-AUC, accuracy, MCC, Brier score and ECE for a binary task.

    Args:
        y_true: labels 0/1 ``(n,)`` (``NaN`` = missing).
        proba: predicted P(class 1) ``(n,)``.
        threshold: probability above which the predicted class is 1.
    """
    from sklearn.metrics import (
        accuracy_score,
        average_precision_score,
        matthews_corrcoef,
        roc_auc_score,
    )

    y, p = np.asarray(y_true, float), np.asarray(proba, float)
    keep = _mask(y, p)
    y, p = y[keep].astype(int), p[keep]
    if len(y) == 0:
        return {"n": 0}
    pred = (p >= threshold).astype(int)
    both = len(np.unique(y)) == 2
    return {
        "n": len(y),
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "accuracy": float(accuracy_score(y, pred)),
        "mcc": float(matthews_corrcoef(y, pred)),
        "brier": float(((p - y) ** 2).mean()),
        "ece": expected_calibration_error(y, p),
    }


def interval_coverage(y_true: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Fraction of labelled rows with ``lower <= y <= upper``."""
    y = np.asarray(y_true, float)
    keep = _mask(y, lower, upper)
    return float(((y[keep] >= lower[keep]) & (y[keep] <= upper[keep])).mean())


def mean_interval_width(lower: np.ndarray, upper: np.ndarray) -> float:
    """Mean ``upper - lower`` (target units)."""
    keep = _mask(lower, upper)
    return float((np.asarray(upper)[keep] - np.asarray(lower)[keep]).mean())


def gaussian_nll(y_true: np.ndarray, mean: np.ndarray, std: np.ndarray) -> float:
    """Mean negative log-likelihood of ``y`` under ``N(mean, std²)`` (nats; lower is better)."""
    y, m, s = (np.asarray(a, float) for a in (y_true, mean, std))
    keep = _mask(y, m, s)
    s = np.maximum(s[keep], 1e-9)
    return float((0.5 * np.log(2 * np.pi * s**2) + 0.5 * ((y[keep] - m[keep]) / s) ** 2).mean())


def regression_calibration_curve(
    y_true: np.ndarray, mean: np.ndarray, std: np.ndarray, n_levels: int = 19
) -> tuple[np.ndarray, np.ndarray]:
    """Expected vs observed coverage of central Gaussian intervals ``mean ± z(p) std``.

    Returns:
        ``(expected, observed)``, both ``(n_levels,)``, expected levels 0.05 ... 0.95.
    """
    y, m, s = (np.asarray(a, float) for a in (y_true, mean, std))
    keep = _mask(y, m, s)
    z_obs = np.abs(y[keep] - m[keep]) / np.maximum(s[keep], 1e-12)
    expected = np.linspace(0.05, 0.95, n_levels)
    z = NormalDist().inv_cdf
    observed = np.array([(z_obs <= z(0.5 + p / 2)).mean() for p in expected])
    return expected, observed


def miscalibration_area(y_true: np.ndarray, mean: np.ndarray, std: np.ndarray) -> float:
    """Area between the regression calibration curve and the diagonal (0 = calibrated, ≤ 0.5)."""
    expected, observed = regression_calibration_curve(y_true, mean, std, n_levels=99)
    return float(np.trapezoid(np.abs(observed - expected), expected))


def uncertainty_metrics(
    y_true: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray | None,
    lower: np.ndarray | None,
    upper: np.ndarray | None,
) -> dict[str, float]:
    """Coverage and mean width of intervals; NLL and miscalibration area when a std exists."""
    out: dict[str, float] = {}
    if lower is not None and upper is not None:
        out["coverage"] = interval_coverage(y_true, lower, upper)
        out["mean_width"] = mean_interval_width(lower, upper)
    if std is not None:
        out["nll"] = gaussian_nll(y_true, mean, std)
        out["miscalibration_area"] = miscalibration_area(y_true, mean, std)
    return out


def set_metrics(y_true: np.ndarray, sets: np.ndarray) -> dict[str, float]:
    """Conformal prediction sets ``(n, n_classes)`` bool: coverage, mean size, singleton rate."""
    y = np.asarray(y_true, float)
    keep = np.isfinite(y)
    sets, y = sets[keep], y[keep].astype(int)
    return {
        "set_coverage": float(sets[np.arange(len(y)), y].mean()),
        "mean_set_size": float(sets.sum(axis=1).mean()),
        "singleton_rate": float((sets.sum(axis=1) == 1).mean()),
    }


def force_metrics(
    numbers: np.ndarray, reference: np.ndarray, predicted: np.ndarray
) -> dict[str, Any]:
    """Force errors over all atoms and per element.

    Args:
        numbers: ``(n_atoms,)`` atomic numbers.
        reference, predicted: ``(n_atoms, 3)`` forces, eV/Å (atoms with a non-finite reference
            are skipped).

    Returns:
        ``{"forces_mae_meV_per_A", "forces_rmse_meV_per_A", "forces_n_atoms",
        "forces_per_element": {symbol: {"mae_meV_per_A", "rmse_meV_per_A", "n_atoms"}}}``:
        MAE and RMSE over the Cartesian components, meV/Å.
    """
    from ase.data import chemical_symbols

    numbers = np.asarray(numbers)
    ref = np.asarray(reference, dtype=float).reshape(-1, 3)
    pred = np.asarray(predicted, dtype=float).reshape(-1, 3)
    if not (numbers.shape[0] == ref.shape[0] == pred.shape[0]):
        raise ValueError(
            f"numbers, reference and predicted forces disagree in length: "
            f"{numbers.shape[0]}, {ref.shape[0]}, {pred.shape[0]}"
        )
    keep = np.isfinite(ref).all(axis=1) & np.isfinite(pred).all(axis=1)
    err = (pred - ref)[keep] * 1000.0
    z = numbers[keep]
    per = {}
    for element in sorted(set(z.tolist())):
        e = err[z == element]
        per[chemical_symbols[element]] = {
            "mae_meV_per_A": float(np.abs(e).mean()),
            "rmse_meV_per_A": float(np.sqrt((e**2).mean())),
            "n_atoms": int(e.shape[0]),
        }
    return {
        "forces_mae_meV_per_A": float(np.abs(err).mean()) if err.size else float("nan"),
        "forces_rmse_meV_per_A": float(np.sqrt((err**2).mean())) if err.size else float("nan"),
        "forces_n_atoms": int(keep.sum()),
        "forces_per_element": per,
    }


def coverage_by_similarity(
    y_true: np.ndarray,
    similarity: np.ndarray,
    *,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    sets: np.ndarray | None = None,
    edges: tuple[float, ...] = (0.3, 0.5),
) -> dict[str, dict[str, float]]:
    """Coverage of intervals (``lower``/``upper``) or prediction sets (``sets``, ``(n, 2)``
    bool) per bin of similarity to the training set (max Tanimoto, 0..1).

    Returns:
        ``{"< 0.3": {"n", "coverage"}, "0.3–0.5": ..., "≥ 0.5": ...}`` (labelled rows only;
        a bin without molecules has ``n = 0`` and coverage ``nan``); interval bins also carry
        ``mean_width`` (target units).
    """
    y = np.asarray(y_true, float)
    sim = np.asarray(similarity, float)
    keep = np.isfinite(y) & np.isfinite(sim)
    if lower is not None and upper is not None:
        keep &= np.isfinite(lower) & np.isfinite(upper)
        hit = (y >= lower) & (y <= upper)
        width = np.asarray(upper, float) - np.asarray(lower, float)
    elif sets is not None:
        labels = np.where(np.isfinite(y), y, 0).astype(int)
        hit = np.asarray(sets, bool)[np.arange(len(y)), labels]
        width = None
    else:
        raise ValueError("give lower and upper, or sets")
    bins = np.searchsorted(np.asarray(edges, float), sim, side="right")
    names = (
        [f"< {edges[0]:g}"] + [f"{a:g}–{b:g}" for a, b in pairwise(edges)] + [f"≥ {edges[-1]:g}"]
    )
    out: dict[str, dict[str, float]] = {}
    for b, name in enumerate(names):
        rows = keep & (bins == b)
        entry = {"n": int(rows.sum()), "coverage": float(hit[rows].mean()) if rows.any() else nan}
        if width is not None:
            entry["mean_width"] = float(width[rows].mean()) if rows.any() else nan
        out[name] = entry
    return out

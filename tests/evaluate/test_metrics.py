"""Metrics computed without SciPy or scikit-learn, checked against theirs on real predictions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm, rankdata, spearmanr
from sklearn.metrics import r2_score

from molfit.data import load
from molfit.evaluate import miscalibration_area, regression_metrics, spearman
from molfit.evaluate._metrics import average_ranks


@pytest.fixture(scope="module")
def freesolv_pair() -> tuple[np.ndarray, np.ndarray]:
    """FreeSolv's measured hydration free energies and the calculated ones shipped with them
    (eV; many ties: the measured values have two decimals in kcal/mol)."""
    frame = load("freesolv").frame
    return frame["dG_hydration"].to_numpy(float), frame["calc_eV"].to_numpy(float)


def test_ranks_and_spearman_equal_scipy_with_ties(freesolv_pair) -> None:
    y, p = freesolv_pair
    assert len(np.unique(y)) < len(y)  # ties present
    assert np.array_equal(average_ranks(y), rankdata(y))
    assert spearman(y, p) == pytest.approx(spearmanr(y, p).statistic, abs=1e-12)
    rounded = np.round(p)  # heavy ties on one side
    assert spearman(y, rounded) == pytest.approx(spearmanr(y, rounded).statistic, abs=1e-12)
    assert np.isnan(spearman(y, np.ones_like(y))) and np.isnan(spearman(y[:1], p[:1]))


def test_regression_metrics_match_scikit_learn_and_ignore_missing_rows(freesolv_pair) -> None:
    y, p = freesolv_pair
    y = y.copy()
    y[[3, 17]] = np.nan
    m = regression_metrics(y, p)
    keep = ~np.isnan(y)
    assert m["n"] == keep.sum()
    assert m["r2"] == pytest.approx(r2_score(y[keep], p[keep]), abs=1e-12)
    assert m["rmse"] == pytest.approx(np.sqrt(np.mean((y[keep] - p[keep]) ** 2)), abs=1e-12)
    assert m["spearman"] == pytest.approx(spearmanr(y[keep], p[keep]).statistic, abs=1e-12)


def test_calibration_area_uses_the_normal_quantiles(freesolv_pair) -> None:
    """A std that is the residuals' true scale is calibrated (area near 0); one ten times too
    small is not."""
    rng = np.random.default_rng(0)
    y, _ = freesolv_pair
    std = np.full(len(y), 0.5)
    pred = y + rng.normal(0, 0.5, len(y))
    assert miscalibration_area(y, pred, std) < 0.03
    assert miscalibration_area(y, pred, std / 10) > 0.35
    # the same curve SciPy's quantiles give
    from molfit.evaluate import regression_calibration_curve

    expected, observed = regression_calibration_curve(y, pred, std)
    z = np.abs(y - pred) / std
    assert np.array_equal(observed, [(z <= norm.ppf(0.5 + e / 2)).mean() for e in expected])

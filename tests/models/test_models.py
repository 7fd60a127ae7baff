"""Every classical model fits and predicts real molecules, saves without pickle, reloads exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import spearmanr

from molfit.data import load
from molfit.errors import InputError
from molfit.models import (
    ExactGP,
    ExtraTreesModel,
    GaussianProcessModel,
    LinearModel,
    RandomForestModel,
    available_models,
    get_model,
    load_model,
    register_model,
    save_model,
)


@pytest.fixture(scope="session")
def freesolv() -> tuple[list[str], np.ndarray]:
    ds = load("freesolv")
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(ds))[:300]
    return [ds.smiles[i] for i in idx], ds.y[idx, 0]


@pytest.fixture(scope="session")
def b3db() -> tuple[list[str], np.ndarray]:
    ds = load("b3db", validate=True)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(ds))[:300]
    return [ds.smiles[i] for i in idx], ds.y[idx, 0]


REGRESSORS = {
    "extratrees": {"n_estimators": 30},
    "rf": {"n_estimators": 30},
    "ridge": {},
    "gp-tanimoto": {},
    "gp-rbf": {"featurizer": "ecfp"},
}
CLASSIFIERS = {"extratrees": {"n_estimators": 30}, "rf": {"n_estimators": 30}, "logistic": {}}


@pytest.mark.parametrize("name", REGRESSORS)
def test_regressors_learn_freesolv(name: str, freesolv) -> None:
    smiles, y = freesolv
    model = get_model(name, **REGRESSORS[name]).fit(smiles[:240], y[:240])
    mean, std = model.predict(smiles[240:], return_std=True)
    assert mean.shape == (60,)
    # better than predicting the training mean, and ranks molecules sensibly
    assert np.abs(mean - y[240:]).mean() < np.abs(y[:240].mean() - y[240:]).mean()
    assert spearmanr(mean, y[240:]).statistic > 0.5
    if model.has_std:
        assert std.shape == (60,) and (std >= 0).all() and std.max() > 0


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_classifiers_learn_b3db(name: str, b3db) -> None:
    smiles, y = b3db
    model = get_model(name, **CLASSIFIERS[name]).fit(smiles[:240], y[:240])
    assert model.task_ == "classification"
    proba = model.predict_proba(smiles[240:])
    assert proba.shape == (60, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y[240:], proba[:, 1]) > 0.7
    assert set(np.unique(model.predict(smiles[240:]))) <= {0, 1}


@pytest.mark.parametrize("name", ["extratrees", "rf", "ridge", "gp-tanimoto", "gp-rbf"])
def test_save_load_gives_identical_predictions(name: str, freesolv, tmp_path) -> None:
    smiles, y = freesolv
    params = {**REGRESSORS[name]}
    model = get_model(name, **params).fit(smiles[:150], y[:150])
    save_model(model, tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["model"] == name
    # weights are plain arrays: loading must work without pickle
    np.load(tmp_path / "m" / "weights.npz", allow_pickle=False).close()
    loaded = load_model(tmp_path / "m")
    a = model.predict(smiles[150:], return_std=True)
    b = loaded.predict(smiles[150:], return_std=True)
    if name in ("extratrees", "rf", "ridge"):
        assert np.array_equal(a[0], b[0])
        assert (a[1] is None and b[1] is None) or np.array_equal(a[1], b[1])
    else:  # the GP rebuilds its inverse kernel matrix on load: equal to rounding
        np.testing.assert_allclose(a[0], b[0], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-7, atol=1e-9)


def test_tree_classifier_reload_is_exact(b3db, tmp_path) -> None:
    smiles, y = b3db
    model = ExtraTreesModel(n_estimators=20).fit(smiles[:200], y[:200])
    save_model(model, tmp_path / "c")
    loaded = load_model(tmp_path / "c")
    assert np.array_equal(model.predict_proba(smiles[200:]), loaded.predict_proba(smiles[200:]))


def test_trees_match_scikit_learn(freesolv) -> None:
    """The rebuilt-tree prediction path gives scikit-learn's own forest prediction."""
    from sklearn.ensemble import ExtraTreesRegressor

    from molfit.chem import ecfp

    smiles, y = freesolv
    ours = ExtraTreesModel(n_estimators=10, seed=3).fit(smiles[:200], y[:200])
    ref = ExtraTreesRegressor(n_estimators=10, max_features="sqrt", random_state=3)
    ref.fit(ecfp(smiles[:200]), y[:200])
    np.testing.assert_array_equal(ours.predict(smiles[200:]), ref.predict(ecfp(smiles[200:])))


def test_multitask_with_missing_labels(freesolv) -> None:
    smiles, y = freesolv
    Y = np.column_stack([y, -2 * y + 1]).copy()
    Y[::3, 0] = np.nan  # task 0 misses every third label
    Y[1::4, 1] = np.nan
    model = RandomForestModel(n_estimators=20).fit(smiles[:240], Y[:240])
    mean, std = model.predict(smiles[240:], return_std=True)
    assert mean.shape == std.shape == (60, 2)
    # the second task is a linear map of the first: predictions must follow it
    assert np.corrcoef(mean[:, 0], mean[:, 1])[0, 1] < -0.8


def test_multitask_classification(b3db) -> None:
    smiles, y = b3db
    Y = np.column_stack([y, 1 - y])
    Y[::5, 1] = np.nan
    model = LinearModel(task="classification").fit(smiles[:240], Y[:240])
    proba = model.predict_proba(smiles[240:])
    assert proba.shape == (60, 2, 2)
    assert np.corrcoef(proba[:, 0, 1], proba[:, 1, 1])[0, 1] < -0.8


def test_gp_on_plain_arrays_with_fixed_hyperparameters() -> None:
    x = np.linspace(0, 5, 25)
    y = np.sin(x)
    gp = ExactGP(kernel="rbf", length_scale=0.5, noise=0.01, optimize=False)
    mean, std = gp.fit(x[:, None], y).predict(np.array([[1.3], [2.6], [9.0]]), return_std=True)
    np.testing.assert_allclose(mean[:2], np.sin([1.3, 2.6]), atol=0.05)
    # far from the data the posterior reverts to the prior: mean → mean(y), std grows
    assert std[2] > 5 * std[0]
    assert abs(mean[2] - y.mean()) < 0.05


def test_gp_marginal_likelihood_fits_noise() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 200)
    y = np.sin(x) + rng.normal(0, 0.3, 200)
    gp = ExactGP(kernel="rbf").fit(x[:, None], y)
    noise_var = gp.hyperparameters_[0]["noise"] * y.var()  # back to target units
    assert 0.03 < noise_var < 0.2  # true noise variance 0.09


def test_gp_inducing_mode_close_to_exact(freesolv) -> None:
    smiles, y = freesolv
    exact = GaussianProcessModel().fit(smiles[:250], y[:250])
    approx = GaussianProcessModel(max_exact=100, n_inducing=200).fit(smiles[:250], y[:250])
    m1, _ = exact.predict(smiles[250:], return_std=True)
    m2, s2 = approx.predict(smiles[250:], return_std=True)
    assert np.corrcoef(m1, m2)[0, 1] > 0.9
    assert (s2 > 0).all()


def test_gp_refuses_classification(b3db) -> None:
    smiles, y = b3db
    with pytest.raises(InputError, match="regression only"):
        GaussianProcessModel(task="classification").fit(smiles[:50], y[:50])


def test_bad_inputs_are_named(freesolv) -> None:
    smiles, y = freesolv
    with pytest.raises(InputError, match="row 2"):
        ExtraTreesModel(n_estimators=5).fit([smiles[0], "C1CC", smiles[2]], y[:3])
    with pytest.raises(InputError, match="single class"):
        LinearModel(task="classification").fit(smiles[:10], np.ones(10))
    with pytest.raises(InputError, match="unknown model"):
        get_model("deep-magic")


def test_registry_accepts_new_models() -> None:
    class Shifted(LinearModel):
        pass

    register_model("shifted-test", Shifted, alpha=2.0)
    assert "shifted-test" in available_models()
    model = get_model("shifted-test")
    assert isinstance(model, Shifted) and model.alpha == 2.0
    assert {"extratrees", "rf", "ridge", "logistic", "gp-tanimoto", "gp-rbf"} <= set(
        available_models()
    )


def test_estimator_contract() -> None:
    from sklearn.base import clone

    model = RandomForestModel(n_estimators=7, radius=2)
    assert clone(model).get_params() == model.get_params()
    assert not hasattr(model, "states_")


@pytest.mark.parametrize("name", ["ridge", "gp-rbf", "extratrees"])
def test_models_on_rdkit_descriptors(name: str, freesolv) -> None:
    smiles, y = freesolv
    model = get_model(name, featurizer="descriptors").fit(smiles[:240], y[:240])
    mean = model.predict(smiles[240:])
    # descriptors (logP, polar surface...) carry hydration free energy well
    assert spearmanr(mean, y[240:]).statistic > 0.7
    assert model.n_features_in_ > 100

"""Conformal intervals, CV+, calibrated probabilities, prediction sets and domain, on real data."""

from __future__ import annotations

import numpy as np
import pytest

from molfit.chem import to_mols
from molfit.data import load
from molfit.evaluate import (
    classification_metrics,
    expected_calibration_error,
    gaussian_nll,
    interval_coverage,
    miscalibration_area,
    regression_metrics,
)
from molfit.models import get_model
from molfit.uncertainty import (
    ApplicabilityDomain,
    CalibratedModel,
    ProbabilityCalibrator,
    conformal_quantile,
    cv_plus_interval,
)


@pytest.fixture(scope="module")
def b3db_regression() -> tuple[list[str], np.ndarray]:
    ds = load("b3db-regression", validate=True)
    idx = np.random.default_rng(1).permutation(len(ds))
    return [ds.smiles[i] for i in idx], ds.y[idx, 0]


@pytest.fixture(scope="module")
def b3db() -> tuple[list[str], np.ndarray]:
    ds = load("b3db", validate=True)
    idx = np.random.default_rng(2).permutation(len(ds))[:1500]
    return [ds.smiles[i] for i in idx], ds.y[idx, 0]


def test_split_conformal_covers_near_nominal(b3db_regression) -> None:
    smiles, y = b3db_regression  # ~1000 molecules, random order: exchangeable
    cm = CalibratedModel(get_model("ridge"), coverage=0.9, method="split")
    cm.fit(smiles[:500], y[:500], X_calib=smiles[500:750], y_calib=y[500:750])
    pred = cm.predict(smiles[750:])
    coverage = interval_coverage(y[750:], pred.lower, pred.upper)
    assert 0.82 <= coverage <= 0.97
    assert (pred.lower <= pred.mean).all() and (pred.mean <= pred.upper).all()
    # a higher nominal coverage gives wider intervals on the same points
    wide = CalibratedModel(get_model("ridge"), coverage=0.97, method="split")
    wide.fit(smiles[:500], y[:500], X_calib=smiles[500:750], y_calib=y[500:750])
    wp = wide.predict(smiles[750:])
    assert (wp.upper - wp.lower).mean() > (pred.upper - pred.lower).mean()


def test_normalized_intervals_adapt_to_the_std(b3db_regression) -> None:
    smiles, y = b3db_regression
    cm = CalibratedModel(get_model("gp-tanimoto"), method="split")
    cm.fit(smiles[:500], y[:500], X_calib=smiles[500:750], y_calib=y[500:750])
    pred = cm.predict(smiles[750:])
    width = pred.upper - pred.lower
    assert np.corrcoef(width, pred.raw_std)[0, 1] > 0.99  # width = 2 q (σ_raw + β)
    assert 0.82 <= interval_coverage(y[750:], pred.lower, pred.upper) <= 0.97


def test_cv_plus_for_small_data(b3db_regression) -> None:
    smiles, y = b3db_regression
    cm = CalibratedModel(get_model("ridge"), coverage=0.9).fit(smiles[:300], y[:300])
    assert cm.method_ == "cv+" and len(cm.fold_models_) == 5
    pred = cm.predict(smiles[300:700])
    assert 0.82 <= interval_coverage(y[300:700], pred.lower, pred.upper) <= 0.98
    assert (pred.lower < pred.upper).all()


def test_cv_plus_interval_formula() -> None:
    # two folds, four calibration points; query predicted 0 by fold 0 and 10 by fold 1
    residuals = np.array([1.0, 2.0, 3.0, 4.0])
    folds = np.array([0, 1, 0, 1])
    lo, hi = cv_plus_interval(
        np.array([[0.0, 10.0]]), np.ones((1, 2)), residuals, folds, coverage=0.6
    )
    # lower values: 0-1, 10-2, 0-3, 10-4 -> sorted -3,-1,6,8; k_lo = floor(0.4*5) = 2 -> -1
    # upper values: 1, 12, 3, 14 -> sorted 1,3,12,14; k_hi = ceil(0.6*5) = 3 -> 12
    assert lo[0] == -1.0 and hi[0] == 12.0


def test_conformal_quantile_rank() -> None:
    scores = np.arange(1, 10, dtype=float)  # n = 9
    assert conformal_quantile(scores, 0.9) == 9.0  # ceil(10 * 0.9) = 9th smallest
    assert conformal_quantile(scores, 0.5) == 5.0
    assert conformal_quantile(scores[:3], 0.9) == float("inf")


def test_classification_calibration_and_sets(b3db) -> None:
    smiles, y = b3db
    model = get_model("extratrees", n_estimators=50)
    cm = CalibratedModel(model, coverage=0.9, method="split")
    cm.fit(smiles[:800], y[:800], X_calib=smiles[800:1150], y_calib=y[800:1150])
    pred = cm.predict(smiles[1150:])
    assert pred.proba.shape == (350,) and pred.sets.shape == (350, 2)
    covered = pred.sets[np.arange(350), y[1150:].astype(int)].mean()
    assert 0.83 <= covered <= 0.97
    assert pred.sets.any(axis=1).all()  # 90 % sets are never empty here
    m = classification_metrics(y[1150:], pred.proba)
    assert m["roc_auc"] > 0.8 and m["ece"] < 0.12


def test_platt_and_isotonic_fix_miscalibrated_probabilities() -> None:
    rng = np.random.default_rng(0)
    true_p = rng.uniform(0, 1, 4000)
    y = (rng.uniform(0, 1, 4000) < true_p).astype(float)
    overconfident = np.clip(0.5 + 1.8 * (true_p - 0.5), 0.001, 0.999)
    before = expected_calibration_error(y[2000:], overconfident[2000:])
    for method in ("platt", "isotonic"):
        cal = ProbabilityCalibrator(method).fit(overconfident[:2000], y[:2000])
        after = expected_calibration_error(y[2000:], cal.transform(overconfident[2000:]))
        assert after < before / 2
        back = ProbabilityCalibrator.from_state(cal.state())
        assert np.array_equal(back.transform(overconfident), cal.transform(overconfident))


def test_domain_flags_a_platinum_complex(b3db_regression) -> None:
    smiles, _ = b3db_regression
    ad = ApplicabilityDomain().fit(to_mols(smiles[:400]))
    queries = [smiles[0], "N.N.Cl[Pt]Cl", "[Fe+2].c1cc[cH-]c1.c1cc[cH-]c1"]
    sim, inside, notes = ad.score(to_mols(queries))
    assert sim[0] == pytest.approx(1.0) and inside[0] and notes[0] == ""
    assert not inside[1] and "Pt" in notes[1]
    assert not inside[2] and "Fe" in notes[2]
    # the threshold is the 5th percentile of within-train nearest-neighbour similarities
    assert (ad.train_nn_similarity_ >= ad.threshold_).mean() == pytest.approx(0.95, abs=0.01)


def test_domain_flags_molecules_outside_the_training_size_range(b3db_regression, tmp_path) -> None:
    smiles, _ = b3db_regression
    mols = to_mols(smiles[:400])
    heavy = [m.GetNumHeavyAtoms() for m in mols]
    ad = ApplicabilityDomain().fit(mols)
    assert ad.heavy_atoms_range_ == (min(heavy), max(heavy))
    # a dimer of the largest training molecule: made of familiar fragments, twice the size
    big = max(range(len(mols)), key=heavy.__getitem__)
    dimer = f"{smiles[big]}.{smiles[big]}"
    sim, inside, notes = ad.score(to_mols([smiles[big], dimer, "C"]))
    assert inside[0] and notes[0] == ""
    assert sim[1] == pytest.approx(1.0)  # the fingerprint sees nothing new
    assert not inside[1] and f"{2 * max(heavy)} heavy atoms, more than any" in notes[1]
    if min(heavy) > 1:
        assert not inside[2] and "1 heavy atoms, fewer than any" in notes[2]
    # saved and loaded, the range is kept; a domain saved without it (older runs) skips it
    state = ad.state()
    again = ApplicabilityDomain.from_state(state)
    assert again.heavy_atoms_range_ == ad.heavy_atoms_range_
    older = ApplicabilityDomain.from_state(
        {k: v for k, v in state.items() if k != "heavy_atoms_range"}
    )
    assert older.heavy_atoms_range_ is None
    assert older.score(to_mols([dimer]))[1][0]


def test_unparseable_rows_get_errors_and_the_rest_is_predicted(b3db_regression, tmp_path) -> None:
    smiles, y = b3db_regression
    cm = CalibratedModel(get_model("ridge"), method="split").fit(
        smiles[:300], y[:300], X_calib=smiles[300:500], y_calib=y[300:500], targets=["logBB"]
    )
    pred = cm.predict([smiles[600], "C1CC", "not a smiles", smiles[601]])
    assert np.isfinite(pred.mean[[0, 3]]).all() and np.isnan(pred.mean[[1, 2]]).all()
    assert "unclosed ring" in pred.error[1] and pred.error[0] == ""
    frame = pred.to_frame()
    assert list(frame.columns[:5]) == ["prediction", "std", "lower", "upper", "raw_std"]
    cm.save(tmp_path / "cm")
    again = CalibratedModel.load(tmp_path / "cm").predict([smiles[600], smiles[601]])
    assert np.array_equal(again.lower, pred.lower[[0, 3]])
    assert np.array_equal(again.upper, pred.upper[[0, 3]])


def test_metrics_on_known_values() -> None:
    y = np.array([1.0, 2.0, 3.0, np.nan])
    m = regression_metrics(y, np.array([1.0, 2.0, 5.0, 0.0]))
    assert (
        m["n"] == 3
        and m["mae"] == pytest.approx(2 / 3)
        and m["rmse"] == pytest.approx(np.sqrt(4 / 3))
    )
    rng = np.random.default_rng(0)
    yy = rng.normal(size=5000)
    assert miscalibration_area(yy, np.zeros(5000), np.ones(5000)) < 0.02
    assert miscalibration_area(yy, np.zeros(5000), 0.3 * np.ones(5000)) > 0.2
    assert gaussian_nll(yy, np.zeros(5000), np.ones(5000)) == pytest.approx(
        0.5 * np.log(2 * np.pi) + 0.5, abs=0.05
    )


@pytest.fixture(scope="module")
def b3db_scaffold() -> dict[str, tuple[list[str], np.ndarray]]:
    """A 700-molecule slice of B3DB logBB, scaffold split 60/20/20 (not exchangeable)."""
    from molfit.data.split import make_split

    ds = load("b3db-regression", validate=True)
    idx = np.random.default_rng(3).permutation(len(ds))[:700]
    smiles, y = [ds.smiles[i] for i in idx], ds.y[idx, 0]
    split = make_split("scaffold", smiles=smiles, fractions=(0.6, 0.2, 0.2), seed=0)
    return {
        part: ([smiles[i] for i in rows], y[np.asarray(rows)])
        for part, rows in (("train", split.train), ("valid", split.valid), ("test", split.test))
    }


@pytest.mark.parametrize("name", ["extratrees", "ridge"])
def test_std_is_the_calibrated_scale_for_every_model(name: str, b3db_scaffold) -> None:
    from scipy.stats import norm

    (tr, y_tr), (va, y_va), (te, y_te) = (b3db_scaffold[p] for p in ("train", "valid", "test"))
    params = {"n_estimators": 50} if name == "extratrees" else {}
    cm = CalibratedModel(get_model(name, **params), coverage=0.9, method="split")
    pred = cm.fit(tr, y_tr, X_calib=va, y_calib=y_va).predict(te)
    z = norm.ppf(0.95)
    interval = interval_coverage(y_te, pred.lower, pred.upper)
    gaussian = interval_coverage(y_te, pred.mean - z * pred.std, pred.mean + z * pred.std)
    assert abs(gaussian - interval) <= 0.02 and 0.75 <= interval <= 0.98
    frame = pred.to_frame(te)
    assert np.allclose(frame["std"], pred.std) and "raw_std" in frame.columns
    if name == "ridge":  # no spread of its own, still a calibrated std
        assert pred.raw_std is None and frame["raw_std"].isna().all()
        assert np.ptp(pred.std) < 1e-9 and pred.std[0] > 0
    else:  # raw_std is the model's own per-tree spread, std the interval's scale
        _, own = cm.estimator_.predict(te, return_std=True)
        assert np.array_equal(pred.raw_std, own)
        half = (pred.upper - pred.lower) / 2
        np.testing.assert_allclose(pred.std * z, half, rtol=1e-12)
        assert not np.allclose(pred.std, pred.raw_std)


def test_cv_plus_std_matches_its_interval(b3db_regression) -> None:
    from scipy.stats import norm

    smiles, y = b3db_regression
    cm = CalibratedModel(get_model("gp-tanimoto"), coverage=0.8).fit(smiles[:200], y[:200])
    assert cm.method_ == "cv+"
    pred = cm.predict(smiles[200:500])
    z = norm.ppf(0.9)
    lo, hi = pred.mean - z * pred.std, pred.mean + z * pred.std
    assert np.allclose(hi - lo, pred.upper - pred.lower)
    assert abs(interval_coverage(y[200:500], lo, hi) - 0.8) < 0.1
    assert pred.raw_std is not None and (pred.raw_std > 0).all()


def test_domain_elements_from_the_formula_equal_the_atoms_and_their_hydrogens() -> None:
    from rdkit import Chem

    from molfit.data import load
    from molfit.uncertainty._domain import elements

    smiles = [
        *load("b3db").smiles[:400],
        "[2H]C([3H])Cl",
        "[H][H]",
        "*CC",
        "[Pt+2]",
        "[13CH4]",
        "C[Si](C)(C)[Se]",
        "[Na+].[Cl-]",
        "[U]",
        "[Hg]",
    ]
    seen = set()
    for s in smiles:
        mol = Chem.MolFromSmiles(s)
        if mol is None:
            continue
        atoms = {a.GetSymbol() for a in mol.GetAtoms()}
        if any(a.GetTotalNumHs() for a in mol.GetAtoms()):
            atoms.add("H")
        assert elements(mol) == atoms, s
        seen |= atoms
    assert {"Pt", "U", "Hg", "Na", "Cl", "*", "Si", "Se"} <= seen
    assert "H" not in elements(Chem.MolFromSmiles("[Hg]"))


def test_predict_uses_the_features_it_is_given(b3db_regression, monkeypatch) -> None:
    # a screen featurizes each chunk once and hands the matrix over; predict must use it, not
    # featurize the molecules again (it did, and so discarded what it was given)
    smiles, y = b3db_regression
    model = CalibratedModel(get_model("extratrees", n_estimators=20)).fit(smiles[:200], y[:200])
    mols = to_mols(smiles[200:230])
    features = model.featurize(mols)
    reference = model.predict(mols)

    def no_featurizing(*args, **kwargs):
        raise AssertionError("featurized again although features were given")

    monkeypatch.setattr(model.estimator_, "featurize", no_featurizing)
    given = model.predict(mols, features=features)
    np.testing.assert_array_equal(given.mean, reference.mean)
    np.testing.assert_array_equal(given.similarity, reference.similarity)
    # other features, other predictions (and the domain's bits are the same matrix)
    empty = model.predict(mols, features=np.zeros_like(features))
    assert not np.array_equal(empty.mean, reference.mean)
    assert np.all(empty.similarity == 0)

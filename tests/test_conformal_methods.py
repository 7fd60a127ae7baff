"""Jackknife+ and Mondrian as CalibratedModel methods and `molfit train --conformal`: coverage on
real data (FreeSolv, B3DB slices), per-bin / per-class quantiles, and a saved run that reloads
and predicts with the same method."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from molfit.chem import max_tanimoto
from molfit.cli import app
from molfit.data import load
from molfit.errors import InputError
from molfit.evaluate import coverage_by_similarity
from molfit.models import get_model
from molfit.uncertainty import AD_FINGERPRINT, CalibratedModel, conformal_quantile


@pytest.fixture(scope="module")
def freesolv() -> tuple[list[str], np.ndarray]:
    ds = load("freesolv")
    return list(ds.smiles), ds.y[:, 0].astype(np.float64)


def _covered(y: np.ndarray, pred) -> np.ndarray:  # type: ignore[no-untyped-def]
    return (y >= pred.lower) & (y <= pred.upper)


def test_jackknife_plus_model_covers_freesolv_and_reloads(freesolv, tmp_path) -> None:
    smiles, y = freesolv
    coverages = []
    for seed in range(2):
        order = np.random.default_rng(seed).permutation(len(smiles))
        tr, te = order[:100], order[100:]
        model = CalibratedModel(get_model("ridge"), method="jackknife+", seed=seed).fit(
            [smiles[i] for i in tr], y[tr]
        )
        assert model.method_ == "jackknife+"
        assert len(model.fold_models_) == 100  # one leave-one-out model per molecule
        pred = model.predict([smiles[i] for i in te])
        coverages.append(_covered(y[te], pred).mean())
    assert np.mean(coverages) >= 0.86
    # the saved model reloads as jackknife+ and gives the same intervals
    model.save(tmp_path / "jk")
    again = CalibratedModel.load(tmp_path / "jk")
    assert again.method_ == "jackknife+" and len(again.fold_models_) == 100
    p2 = again.predict([smiles[i] for i in te[:40]])
    np.testing.assert_allclose(p2.lower, pred.lower[:40])
    np.testing.assert_allclose(p2.upper, pred.upper[:40])


def test_jackknife_plus_is_tighter_than_five_fold_cv_plus_on_small_data(freesolv) -> None:
    smiles, y = freesolv
    order = np.random.default_rng(7).permutation(len(smiles))
    tr, te = order[:60], order[60:]
    X, Xt = [smiles[i] for i in tr], [smiles[i] for i in te]
    jk = CalibratedModel(get_model("ridge"), method="jackknife+").fit(X, y[tr]).predict(Xt)
    cv = CalibratedModel(get_model("ridge"), method="cv+").fit(X, y[tr]).predict(Xt)
    # leave-one-out models are trained on 59 molecules, 5-fold ones on 48: narrower intervals
    assert np.median(jk.upper - jk.lower) < np.median(cv.upper - cv.lower)
    assert _covered(y[te], jk).mean() >= 0.85


def test_jackknife_plus_refusals(freesolv) -> None:
    smiles, y = freesolv
    with pytest.raises(InputError, match="jackknife_max"):
        CalibratedModel(get_model("ridge"), method="jackknife+", jackknife_max=50).fit(
            smiles[:80], y[:80]
        )
    b3db = load("b3db")
    with pytest.raises(InputError, match="regression"):
        CalibratedModel(get_model("extratrees", n_estimators=5), method="jackknife+").fit(
            b3db.smiles[:60], b3db.y[:60, 0]
        )
    with pytest.raises(InputError, match="bin_edges"):
        CalibratedModel(get_model("ridge"), method="mondrian", bin_edges=(0.5, 0.3)).fit(
            smiles[:80], y[:80]
        )
    with pytest.raises(InputError, match="mondrian"):
        CalibratedModel(get_model("ridge"), method="per-bin").fit(smiles[:80], y[:80])


def test_mondrian_regression_uses_one_quantile_per_similarity_bin(freesolv) -> None:
    smiles, y = freesolv
    order = np.random.default_rng(0).permutation(len(smiles))
    tr, cal, te = order[:250], order[250:450], order[450:]
    S = lambda idx: [smiles[i] for i in idx]  # noqa: E731
    model = CalibratedModel(get_model("ridge"), method="mondrian", bin_edges=(0.35, 0.55)).fit(
        S(tr), y[tr], X_calib=S(cal), y_calib=y[cal]
    )
    entry = model.tasks_[0]
    # the per-bin quantile is the conformal quantile of that bin's calibration scores
    bits = AD_FINGERPRINT(smiles)
    sim_cal = max_tanimoto(bits[cal], bits[tr])
    bins = np.searchsorted([0.35, 0.55], sim_cal, side="right")
    raw = model.estimator_.predict(S(cal))
    scores = np.abs(y[cal] - raw)  # ridge has no std: unnormalized scores
    assert not bool(entry["normalized"])
    for b in range(3):
        assert entry["n_calib_bins"][b] == (bins == b).sum()
        if (bins == b).sum() >= 9:
            assert entry["q_bins"][b] == pytest.approx(conformal_quantile(scores[bins == b], 0.9))
    assert np.ptp(entry["q_bins"]) > 0  # the bins differ, so the intervals do
    pred = model.predict(S(te))
    half = (pred.upper - pred.lower) / 2
    test_bins = np.searchsorted([0.35, 0.55], pred.similarity, side="right")
    np.testing.assert_allclose(half, entry["q_bins"][test_bins], rtol=1e-9)
    assert _covered(y[te], pred).mean() >= 0.85


def test_mondrian_classification_covers_each_class_on_b3db(tmp_path) -> None:
    ds = load("b3db")
    smiles, y = list(ds.smiles), ds.y[:, 0]
    order = np.random.default_rng(0).permutation(len(smiles))
    tr, te = order[:900], order[900:2100]
    S = lambda idx: [smiles[i] for i in idx]  # noqa: E731
    est = get_model("extratrees", n_estimators=50)
    split = CalibratedModel(est, method="split").fit(S(tr), y[tr])
    mond = CalibratedModel(est, method="mondrian").fit(S(tr), y[tr])
    yt = y[te].astype(int)
    cov = {}
    for name, model in (("split", split), ("mondrian", mond)):
        sets = model.predict(S(te)).sets
        hit = sets[np.arange(len(yt)), yt]
        cov[name] = [hit[yt == c].mean() for c in (0, 1)]
    # B3DB is 37 % BBB-: one threshold undercovers the minority class, one per class does not
    assert min(cov["mondrian"]) >= 0.85
    assert cov["split"][0] < cov["mondrian"][0]
    thr = mond.tasks_[0]["class_threshold"]
    assert thr[0] != thr[1]
    mond.save(tmp_path / "m")
    again = CalibratedModel.load(tmp_path / "m")
    assert again.method_ == "mondrian"
    np.testing.assert_array_equal(again.predict(S(te[:100])).sets, mond.predict(S(te[:100])).sets)


def test_coverage_by_similarity_counts_per_bin() -> None:
    y = np.array([0.0, 1.0, 2.0, 3.0, 0.0])
    lo, hi = y - 0.5, y + 0.5
    hi[1] = 0.9  # the second molecule is missed
    sim = np.array([0.1, 0.2, 0.4, 0.8, np.nan])
    out = coverage_by_similarity(y, sim, lower=lo, upper=hi)
    assert list(out) == ["< 0.3", "0.3–0.5", "≥ 0.5"]
    assert out["< 0.3"] == {"n": 2, "coverage": 0.5, "mean_width": pytest.approx(0.7)}
    assert out["0.3–0.5"]["coverage"] == 1.0 and out["≥ 0.5"]["n"] == 1
    sets = np.array([[True, False], [True, False], [False, True], [True, True], [True, True]])
    out = coverage_by_similarity(np.array([0, 1, 1, 0, 0.0]), sim, sets=sets, edges=(0.5,))
    assert out["< 0.5"] == {"n": 3, "coverage": pytest.approx(2 / 3)}


def test_train_cli_mondrian_run_reloads_for_predict(tmp_path) -> None:
    run = tmp_path / "run"
    args = ["train", "freesolv", "--model", "ridge", "--conformal", "mondrian", "--out", str(run)]
    result = CliRunner().invoke(app, [*args, "--no-progress"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["conformal_method"] == "mondrian"
    bins = metrics["coverage_by_similarity"]["dG_hydration"]
    test = pd.read_csv(run / "test_predictions.csv")
    assert sum(b["n"] for b in bins.values()) == len(test)
    assert "per similarity-to-train bin" in (run / "report.html").read_text()
    config = json.loads((run / "model" / "config.json").read_text())
    assert config["method"] == "mondrian" and config["bin_edges"] == [0.3, 0.5]
    # molfit predict on the test molecules gives the run's own Mondrian intervals
    inp = tmp_path / "in.csv"
    test[["smiles"]].to_csv(inp, index=False)
    out = tmp_path / "pred.csv"
    result = CliRunner().invoke(app, ["predict", str(run), str(inp), "--out", str(out)])
    assert result.exit_code == 0, result.output
    pred = pd.read_csv(out)
    np.testing.assert_allclose(pred["lower [eV]"], test["lower [eV]"], rtol=1e-9)
    np.testing.assert_allclose(pred["upper [eV]"], test["upper [eV]"], rtol=1e-9)


def test_domain_over_k_nearest_training_molecules(freesolv, tmp_path) -> None:
    from molfit.chem import tanimoto_matrix, to_mols
    from molfit.uncertainty import ApplicabilityDomain

    smiles, y = freesolv
    train, query = smiles[:200], smiles[200:260]
    ad = ApplicabilityDomain(neighbours=5).fit(to_mols(train))
    sim, flag, notes = ad.score(to_mols(query))
    full = tanimoto_matrix(AD_FINGERPRINT(query), AD_FINGERPRINT(train))
    np.testing.assert_allclose(sim, np.sort(full, axis=1)[:, -5:].mean(axis=1), atol=1e-6)
    within = tanimoto_matrix(AD_FINGERPRINT(train), AD_FINGERPRINT(train))
    np.fill_diagonal(within, -1)
    assert ad.threshold_ == pytest.approx(
        np.percentile(np.sort(within, axis=1)[:, -5:].mean(axis=1), 5.0), rel=1e-5
    )
    assert (flag == (sim >= ad.threshold_)).all()  # FreeSolv: no unseen elements here
    assert all("5 nearest" in n for n in notes[~flag])
    one = ad.with_neighbours(1)
    np.testing.assert_allclose(one.score(to_mols(query))[0], full.max(axis=1), atol=1e-6)
    model = CalibratedModel(get_model("ridge"), domain_neighbours=5).fit(train, y[:200])
    model.save(tmp_path / "m")
    again = CalibratedModel.load(tmp_path / "m")
    assert again.domain_.neighbours == 5
    np.testing.assert_allclose(again.predict(query).similarity, sim, atol=1e-6)
    with pytest.raises(InputError, match="domain_neighbours"):
        CalibratedModel(get_model("ridge"), domain_neighbours=0).fit(train, y[:200])


def test_train_cli_jackknife_and_domain_neighbours(tmp_path) -> None:
    run = tmp_path / "run"
    args = ["train", "freesolv", "--model", "ridge", "--limit", "90", "--out", str(run)]
    args += ["--conformal", "jackknife+", "--domain-neighbours", "3", "--no-progress"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    config = json.loads((run / "model" / "config.json").read_text())
    assert config["method"] == "jackknife+" and config["domain_neighbours"] == 3
    assert config["n_folds_saved"] == config["n_train"]  # train + valid, one model each
    assert "3 nearest training molecules" in (run / "report.html").read_text()

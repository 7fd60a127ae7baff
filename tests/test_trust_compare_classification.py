"""`compare` on a classification target (B3DB blood-brain barrier, 0/1): ROC-AUC / PR-AUC /
Brier with confidence intervals, the equally good set on a constructed case, disagreement as
the spread of P(class 1) among the equally good models, the report and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from molfit.cli import app
from molfit.data import load
from molfit.errors import InputError
from molfit.trust import compare_models, comparison_json, write_comparison_report


@pytest.fixture(scope="module")
def b3db() -> tuple[list[str], np.ndarray]:
    ds = load("b3db")
    rows = np.sort(np.random.default_rng(0).choice(len(ds.smiles), size=500, replace=False))
    return [ds.smiles[i] for i in rows], ds.y[rows, 0].astype(np.float64)


@pytest.fixture(scope="module")
def comparison(b3db, tmp_path_factory):
    smiles, y = b3db
    models = {
        "et": ("extratrees", {"n_estimators": 60}),
        "et-more-trees": ("extratrees", {"n_estimators": 80}),
        # leaves of 300 molecules: P(1) is close to the base rate for every molecule
        "stump": ("extratrees", {"n_estimators": 20, "min_samples_leaf": 300}),
    }
    work = tmp_path_factory.mktemp("fits")
    result = compare_models(
        smiles, y, models, seeds=4, splits=("random", "scaffold"), target="bbb", work_dir=work
    )
    return result, work


def test_classification_compare_names_the_equally_good_models(comparison, b3db) -> None:
    result, work = comparison
    smiles, y = b3db
    assert result.task == "classification" and result.primary == "roc_auc"
    for method in ("random", "scaffold"):
        c = result.splits[method]
        assert sorted(c.equally_good) == ["et", "et-more-trees"], method
        assert c.p_values["stump"] < 0.05
        summ = c.summary()
        assert summ["stump"]["roc_auc"] < summ["et"]["roc_auc"]
        assert summ["stump"]["brier"] > summ["et"]["brier"]
        for metric in ("roc_auc", "pr_auc", "brier"):
            assert summ["et"][f"{metric}_lo"] < summ["et"][metric] < summ["et"][f"{metric}_hi"]
        assert 0.5 < summ["et"]["roc_auc"] <= 1.0
        sig = c.signal_summary()
        assert np.isfinite(sig["spearman_disagreement"]) and np.isfinite(sig["spearman_own_std"])
    # disagreement = std of the equally good models' P(1), molecule by molecule
    c = result.splits["random"]
    rows = [m for m in c.molecules if m["seed"] == 0]
    p = np.stack([np.load(work / f"random-0-{k}-cls.npz")["mean"] for k in c.equally_good])
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose([m["disagreement"] for m in rows], p.std(axis=0), atol=1e-12)
    ref = np.load(work / f"random-0-{c.reference}-cls.npz")["mean"]
    np.testing.assert_allclose([m["prediction"] for m in rows], ref)
    truth = {s: v for s, v in zip(smiles, y, strict=True)}
    assert all(m["y"] == truth[m["smiles"]] for m in rows)


def test_classification_report_and_json(comparison, tmp_path) -> None:
    result, _ = comparison
    text = write_comparison_report(result, tmp_path / "r.html").read_text()
    for word in ("ROC-AUC", "PR-AUC", "Brier", "P(class 1)", "<svg", "scaffold"):
        assert word in text
    data = comparison_json(result)
    assert data["task"] == "classification" and data["primary_metric"] == "roc_auc"
    assert data["splits"]["scaffold"]["models"]["stump"]["equally_good"] is False


def test_classification_compare_refusals(b3db) -> None:
    smiles, y = b3db
    with pytest.raises(InputError, match="regression only"):
        compare_models(smiles[:60], y[:60], ["extratrees", "gp-tanimoto"], seeds=2)
    with pytest.raises(InputError, match="0 or 1"):
        compare_models(
            smiles[:3], np.array([0.0, 1.0, 2.0]), ["ridge", "rf"], task="classification"
        )


def test_compare_cli_on_b3db_classification(tmp_path) -> None:
    out = tmp_path / "cmp"
    args = ["compare", "b3db", "--seeds", "2", "--limit", "200", "--split", "random,scaffold"]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "ROC-AUC" in result.output and "misclassification" in result.output
    data = json.loads((out / "comparison.json").read_text())
    assert set(data["models"]) == {"extratrees", "rf", "ridge"}  # the classification default
    assert "ROC-AUC" in (out / "report.html").read_text()


def test_labelled_rows_rdkit_cannot_parse_are_left_out_with_a_warning(capsys) -> None:
    from molfit.cli._compare import load_labelled

    bad = "C[N+]1(C)CCC[C@H](OC(=O)[C+](O)(c2ccccc2)c2ccccc2)C1"  # one B3DB row
    smiles, y, name, _ = load_labelled("b3db", None, None, classification=True)
    assert bad in load("b3db").smiles and bad not in smiles
    # that row and its non-stereo twin (a carbocation RDKit refuses) are the two left out
    assert len(y) == len(smiles) == len(load("b3db").smiles) - 2 and name == "bbb"
    assert "2 row(s)" in capsys.readouterr().err

"""molfit.trust: statistics of model comparison, the equally good set on a constructed case on
FreeSolv, the HTML report, and shift splits on real molecules."""

from __future__ import annotations

import numpy as np
import pytest

from molfit.data import load
from molfit.errors import InputError
from molfit.trust import (
    compare_models,
    comparison_json,
    equally_good,
    mean_ci,
    paired_test,
    shift_report,
    shift_split,
    write_comparison_report,
)


def test_mean_ci_is_student_t() -> None:
    m, lo, hi = mean_ci([1.0, 2.0, 3.0])
    # t(0.975, 2) = 4.3027; std = 1; half = 4.3027 / sqrt(3)
    assert m == 2.0
    assert hi - m == pytest.approx(4.302653 / np.sqrt(3), rel=1e-5)
    assert m - lo == pytest.approx(hi - m)


def test_paired_test_and_equally_good_on_constructed_scores() -> None:
    base = np.array([1.00, 1.20, 0.90, 1.10, 0.95])
    noisy = base + np.array([0.01, -0.02, 0.015, -0.01, 0.0])  # same within noise
    worse = base + np.array([0.20, 0.25, 0.18, 0.22, 0.21])  # consistently worse
    assert paired_test(base, base) == 1.0
    assert paired_test(worse, base) < 0.001
    assert paired_test(noisy, base) > 0.3
    assert equally_good({"a": base, "b": noisy, "c": worse}) == ["b", "a"]  # b has the lower mean
    # R²: higher is better
    assert equally_good({"a": -base, "c": -worse}, lower_is_better=False) == ["a"]


@pytest.fixture(scope="module")
def comparison():
    ds = load("freesolv")
    models = {
        "et": ("extratrees", {"n_estimators": 60}),
        "et-more-trees": ("extratrees", {"n_estimators": 80}),
        # a forest whose leaves hold 200 molecules predicts close to the mean: clearly worse
        "stump": ("extratrees", {"n_estimators": 20, "min_samples_leaf": 200}),
    }
    return compare_models(
        ds.smiles[:260],
        ds.y[:260],
        models,
        seeds=4,
        splits=("random", "scaffold"),
        target="dG_hydration",
        unit="eV",
    )


def test_compare_names_the_equally_good_models(comparison) -> None:
    for method in ("random", "scaffold"):
        c = comparison.splits[method]
        assert sorted(c.equally_good) == ["et", "et-more-trees"], method
        assert c.p_values["stump"] < 0.05
        summ = c.summary()
        assert summ["stump"]["rmse"] > summ["et"]["rmse"]
        assert summ["et"]["rmse_lo"] < summ["et"]["rmse"] < summ["et"]["rmse_hi"]
        assert {m["seed"] for m in c.molecules} == {0, 1, 2, 3}
        sims = np.array([m["similarity"] for m in c.molecules])
        assert np.all((sims >= 0) & (sims <= 1))
        assert np.isfinite(c.signal_summary()["spearman_disagreement"])
    # the leakage lesson: scaffold test molecules are less similar to training than random ones
    sim = {m: np.mean([r["similarity"] for r in c.molecules]) for m, c in comparison.splits.items()}
    assert sim["scaffold"] < sim["random"]


def test_compare_report_and_json(comparison, tmp_path) -> None:
    path = write_comparison_report(comparison, tmp_path / "report.html")
    text = path.read_text()
    assert "random" in text and "scaffold" in text and "<svg" in text
    assert "data:image/png;base64," in text
    data = comparison_json(comparison)
    assert data["splits"]["random"]["models"]["stump"]["equally_good"] is False


def test_compare_resumes_from_work_dir(tmp_path) -> None:
    ds = load("freesolv")
    models = {"a": ("extratrees", {"n_estimators": 10}), "b": ("ridge", {})}
    first = compare_models(
        ds.smiles[:120], ds.y[:120], models, seeds=2, splits=("random",), work_dir=tmp_path
    )
    assert len(list(tmp_path.glob("*.npz"))) == 4
    # ridge has no std: the error signals are ranked against the forest, whichever is best
    assert first.splits["random"].reference == "a"
    assert np.isfinite(first.splits["random"].signal_summary()["spearman_own_std"])
    lines: list[str] = []
    again = compare_models(
        ds.smiles[:120],
        ds.y[:120],
        models,
        seeds=2,
        splits=("random",),
        work_dir=tmp_path,
        progress=lines.append,
    )
    assert len(lines) == 4
    assert again.splits["random"].scores == first.splits["random"].scores


def test_compare_rejects_bad_input() -> None:
    with pytest.raises(InputError, match="at least two models"):
        compare_models(["CCO", "CCC"], np.array([1.0, 2.0]), ["ridge"])
    with pytest.raises(InputError, match="one target per molecule"):
        compare_models(["CCO", "CCC"], np.zeros((2, 2)), ["ridge", "rf"])


def test_shift_splits_on_real_molecules() -> None:
    ds = load("b3db-regression")
    from rdkit import Chem
    from rdkit.Chem import Descriptors

    smiles = ds.smiles[:400]
    train, test = shift_split(smiles, "weight")
    mw = np.array([Descriptors.MolWt(Chem.MolFromSmiles(s)) for s in smiles])
    assert mw[train].max() <= mw[test].min()
    assert not set(train) & set(test)
    train, test = shift_split(smiles, "elements")
    train_elems = {a.GetSymbol() for i in train for a in Chem.MolFromSmiles(smiles[i]).GetAtoms()}
    test_elems = {a.GetSymbol() for i in test for a in Chem.MolFromSmiles(smiles[i]).GetAtoms()}
    assert test_elems - train_elems  # some test molecules carry an element never trained on
    assert 0 < len(test) <= 0.15 * len(smiles)
    train, test = shift_split(["C", "CC", "CCCCCCCCC", "CCCCCCCCCO"], "size", test_heavy=9)
    assert list(train) == [0, 1] and list(test) == [2]
    with pytest.raises(InputError, match="row 1"):
        shift_split(["CC", "not a smiles"], "weight")


def test_shift_report_counts_flagged_large_errors() -> None:
    y = np.zeros(10)
    mean = np.array([0.1] * 8 + [5.0, 6.0])
    flag = np.array([True] * 8 + [False, True])
    r = shift_report(y, mean, mean - 1, mean + 1, flag, large_error_quantile=0.8)
    assert r["large_errors_flagged"] == 0.5
    assert r["n_out"] == 1 and r["coverage_in"] == pytest.approx(8 / 9)
    assert r["flagged_fraction"] == 0.1

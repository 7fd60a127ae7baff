"""molfit.active: acquisition scores, batch selection without near-duplicates, suggestions on
FreeSolv following the strategy, and the simulated campaign revealing labels only when selected."""

from __future__ import annotations

import numpy as np
import pytest

from molfit.active import (
    Oracle,
    acquisition,
    campaign_figure,
    expected_improvement,
    learn,
    select_batch,
    suggest,
)
from molfit.chem import tanimoto_matrix
from molfit.data import load
from molfit.errors import InputError
from molfit.models import get_model
from molfit.uncertainty import AD_FINGERPRINT


def test_expected_improvement_closed_form() -> None:
    # gain 0, σ 1: EI = φ(0) = 0.39894; far below best with σ→0: 0
    np.testing.assert_allclose(
        expected_improvement(np.array([1.0]), np.array([1.0]), 1.0), [0.3989423], rtol=1e-6
    )
    assert expected_improvement(np.array([0.0]), np.array([0.0]), 1.0)[0] == pytest.approx(0.0)
    ucb = acquisition("ucb", np.array([1.0, 0.0]), np.array([0.0, 1.0]), kappa=2.0)
    np.testing.assert_allclose(ucb, [1.0, 2.0])
    low = acquisition("ucb", np.array([1.0, 0.0]), np.array([0.0, 0.0]), maximize=False)
    np.testing.assert_allclose(low, [-1.0, 0.0])
    with pytest.raises(InputError, match="best value"):
        acquisition("ei", np.zeros(2), np.ones(2))


def test_batch_skips_near_duplicates() -> None:
    smiles = ["CCCCCCCCO", "CCCCCCCCO", "c1ccccc1O", "CC(=O)O"]
    bits = AD_FINGERPRINT(smiles)
    picked, _ = select_batch(np.array([3.0, 2.9, 1.0, 0.5]), bits, 3)
    assert list(picked) == [0, 2, 3]  # the copy of the first pick is skipped


@pytest.fixture(scope="module")
def fitted():
    ds = load("freesolv")
    smiles, y = ds.smiles, ds.y[:, 0]
    model = get_model("extratrees", n_estimators=50).fit(smiles[:150], y[:150])
    return model, smiles[150:450], smiles[:150], float(y[:150].max())


def test_suggestions_follow_the_strategy(fitted) -> None:
    model, pool, train, best = fitted
    mean, std = model.predict(pool, return_std=True)
    top_std = suggest(model, pool, n=5, strategy="max-std")
    assert list(top_std["pool_index"]) == list(np.argsort(-std)[:5])  # no duplicates among them
    ucb = suggest(model, pool, n=5, strategy="ucb", kappa=0.0)
    assert list(ucb["pool_index"]) == list(np.argsort(-mean)[:5])
    ei = suggest(model, pool, n=5, strategy="ei", best=best)
    all_ei = expected_improvement(mean, std, best)
    assert ei["score"].iloc[0] == pytest.approx(all_ei.max())
    assert (np.diff(ei["score"]) <= 1e-12).all()
    div = suggest(model, pool, n=8, strategy="diverse", train_smiles=train)
    sim = tanimoto_matrix(AD_FINGERPRINT(list(div["smiles"])), AD_FINGERPRINT(list(div["smiles"])))
    np.fill_diagonal(sim, 0)
    plain = suggest(model, pool, n=8, strategy="max-std")
    sim_plain = tanimoto_matrix(
        AD_FINGERPRINT(list(plain["smiles"])), AD_FINGERPRINT(list(plain["smiles"]))
    )
    np.fill_diagonal(sim_plain, 0)
    assert sim.max() < 0.9
    assert sim.mean() <= sim_plain.mean()
    assert div["why"].str.contains("novelty").all()
    assert (div["novelty"] > 0).all()


def test_oracle_reveals_once() -> None:
    oracle = Oracle(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(oracle.measure([2, 0]), [3.0, 1.0])
    assert oracle.revealed == [2, 0]
    with pytest.raises(InputError, match="twice"):
        oracle.measure([0])


def test_campaign_sees_only_selected_labels(tmp_path) -> None:
    ds = load("freesolv")
    smiles, y = ds.smiles[:200], ds.y[:200, 0].copy()
    kw = dict(start=20, batch=5, rounds=3, strategy="ucb", seeds=[0], params={"n_estimators": 20})
    first = learn(smiles, y, **kw)
    assert first.rmse["ucb"].shape == (1, 4)
    assert list(first.labels) == [20, 25, 30, 35]
    # rewrite the labels of every pool molecule the campaign never measured (test set kept)
    order = np.random.default_rng(0).permutation(len(smiles))
    pool = order[40:]  # order[:40] is the test set
    seen = set(first.selected["ucb"][0]) | set(first.selected["random"][0])
    assert len(first.selected["ucb"][0]) == 35
    hidden = [pool[i] for i in range(len(pool)) if i not in seen]
    y2 = y.copy()
    y2[hidden] = 1e3
    second = learn(smiles, y2, **kw)
    np.testing.assert_allclose(second.rmse["ucb"], first.rmse["ucb"])
    assert second.selected == first.selected
    # ... whereas changing a measured label changes the campaign
    y3 = y.copy()
    y3[pool[first.selected["ucb"][0][0]]] += 5.0
    assert not np.allclose(learn(smiles, y3, **kw).rmse["ucb"], first.rmse["ucb"])
    # resumable: a rerun from work_dir reproduces the curves without refitting
    a = learn(smiles, y, work_dir=tmp_path, **kw)
    lines: list[str] = []
    b = learn(smiles, y, work_dir=tmp_path, progress=lines.append, **kw)
    np.testing.assert_allclose(a.rmse["ucb"], b.rmse["ucb"])
    assert len(list(tmp_path.glob("*.json"))) == 2
    assert campaign_figure(b)[:4] == "iVBO"  # PNG
    s = b.summary()
    assert set(s) >= {"label_fraction_vs_random", "top_found_ratio_vs_random"}


def test_learn_rejects_too_many_labels() -> None:
    with pytest.raises(InputError, match="pool holds"):
        learn(["CCO"] * 10, np.arange(10.0), start=5, batch=5, rounds=2)
    with pytest.raises(InputError, match="strategy"):
        learn(["CCO"] * 10, np.arange(10.0), strategy="greedy")

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
    representativeness,
    select_batch,
    suggest,
    variance_reduction_batch,
)
from molfit.chem import tanimoto_matrix
from molfit.data import load
from molfit.errors import InputError
from molfit.models import MoleculeModel, get_model
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


def _gp_gain(pool_bits: np.ndarray, train_bits: np.ndarray | None, noise: float) -> np.ndarray:
    """Integrated variance reduction from scratch: Σ_r C(r, x)² / (C(x, x) + λ)."""
    k = tanimoto_matrix(pool_bits, pool_bits).astype(np.float64)
    if train_bits is not None:
        ks = tanimoto_matrix(train_bits, train_bits).astype(np.float64)
        kc = tanimoto_matrix(train_bits, pool_bits).astype(np.float64)
        k = k - kc.T @ np.linalg.solve(ks + noise * np.eye(len(ks)), kc)
    return (k**2).sum(axis=0) / (np.diag(k) + noise)


def test_variance_reduction_matches_the_gp_posterior() -> None:
    smiles = load("freesolv").smiles[:80]
    bits = AD_FINGERPRINT(smiles)
    pool, train = bits[20:], bits[:20]
    picks, gains = variance_reduction_batch(
        pool, 3, train_bits=train, noise=0.1, duplicate_similarity=1.01
    )
    first = _gp_gain(pool, train, 0.1)
    assert picks[0] == np.argmax(first) and gains[0] == pytest.approx(first.max())
    # the greedy rank-1 updates equal conditioning on the earlier picks from scratch
    for step in (1, 2):
        exact = _gp_gain(pool, np.concatenate([train, pool[picks[:step]]]), 0.1)
        exact[picks[:step]] = -np.inf
        assert picks[step] == np.argmax(exact)
        assert gains[step] == pytest.approx(exact.max(), rel=1e-9)


def test_variance_reduction_prefers_representative_molecules() -> None:
    # nine alcohols and an isolated organometallic: every prior variance is 1, but only a
    # central alcohol lowers the variance of the others
    smiles = [f"{'C' * n}O" for n in range(2, 11)] + ["[Fe+2].c1cc[cH-]c1.c1cc[cH-]c1"]
    bits = AD_FINGERPRINT(smiles)
    picks, _ = variance_reduction_batch(bits, 2)
    assert 9 not in picks
    table = suggest(_Const(), smiles, n=2, strategy="variance")
    assert list(table["pool_index"]) == list(picks)
    assert table["why"].str.contains("variance").all()
    dens = suggest(_Const(), smiles, n=3, strategy="density", duplicate_similarity=1.01)
    rep = representativeness(bits)
    assert list(dens["pool_index"]) == list(np.argsort(-rep)[:3])  # equal σ: density decides
    assert 9 not in list(dens["pool_index"])


class _Const(MoleculeModel):
    """A fitted stand-in with μ = 0 and σ = 1 for every molecule."""

    def predict(self, X, return_std=False):  # type: ignore[no-untyped-def]
        z = np.zeros(len(X))
        return (z, z + 1.0) if return_std else z


def test_variance_campaign_selection_ignores_the_labels() -> None:
    ds = load("freesolv")
    smiles, y = ds.smiles[:200], ds.y[:200, 0].copy()
    kw = dict(start=20, batch=5, rounds=2, strategy="variance", seeds=[0])
    kw["params"] = {"n_estimators": 10}
    a = learn(smiles, y, **kw)
    b = learn(smiles, -3.0 * y, **kw)  # other labels, same fingerprints: the same design
    assert a.selected["variance"] == b.selected["variance"]
    assert len(set(a.selected["variance"][0])) == 30
    d = learn(smiles, y, **{**kw, "strategy": "density"})
    assert d.selected["density"][0][:20] == a.selected["variance"][0][:20]  # same random start
    assert d.selected["density"] != a.selected["variance"]

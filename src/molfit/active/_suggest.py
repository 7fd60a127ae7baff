"""Which molecules to measure next: acquisition scores and batch selection.

Strategies (``y`` is to be maximized; pass ``maximize=False`` to minimize):

* ``max-std``: the largest predictive σ (learn the model where it knows least).
* ``ei``: expected improvement over the best label so far, ``(μ - y* - ξ) Φ(z) + σ φ(z)`` with
  ``z = (μ - y* - ξ) / σ``.
* ``ucb``: upper confidence bound ``μ + κ σ``.
* ``diverse``: greedy batch by σ times novelty, where novelty is ``1 -`` the maximum Tanimoto
  similarity (ECFP6, 1024 bits) to the training set *and* to the molecules already picked for the
  batch, so a batch holds no near-duplicates.
* ``variance``: greedy integrated-variance reduction under a Tanimoto-kernel GP (see
  :mod:`molfit.active._design`): the molecules whose measurement shrinks the predictive variance
  over the whole pool most. It uses the fingerprints only (no labels, no model σ): a
  representative, space-filling design.
* ``density``: σ times representativeness (mean Tanimoto similarity to the 10 nearest pool
  molecules).

Every strategy skips candidates whose similarity to an already picked molecule reaches
``duplicate_similarity`` (0.9 by default): ten copies of one scaffold are one experiment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from molfit.active._design import representativeness, variance_reduction_batch
from molfit.chem import max_tanimoto, tanimoto_matrix
from molfit.errors import InputError
from molfit.models import MoleculeModel
from molfit.uncertainty import AD_FINGERPRINT

STRATEGIES = ("max-std", "ei", "ucb", "diverse", "variance", "density", "random")


def mean_std(model: Any, smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(μ, σ)`` ``(n,)`` of a fitted molfit model (own spread) or of a
    :class:`~molfit.uncertainty.CalibratedModel` (calibrated σ)."""
    if isinstance(model, MoleculeModel):
        mean, std = model.predict(list(smiles), return_std=True)
        if std is None:
            raise InputError(
                f"model {type(model).__name__} gives no standard deviation; active learning "
                "needs one (use extratrees, rf, a GP, or a calibrated run)"
            )
    else:
        pred = model.predict(list(smiles))
        mean, std = pred.mean, pred.std if pred.std is not None else pred.raw_std
        if std is None:
            raise InputError("the run's model gives no standard deviation")
    mean, std = np.asarray(mean, float), np.asarray(std, float)
    if mean.ndim == 2:
        if mean.shape[1] != 1:
            raise InputError(f"suggest works on one target, the model predicts {mean.shape[1]}")
        mean, std = mean[:, 0], std[:, 0]
    return mean, std


def expected_improvement(
    mean: np.ndarray, std: np.ndarray, best: float, xi: float = 0.0
) -> np.ndarray:
    """EI ``(n,)`` of maximization over ``best`` (target units); 0 where σ = 0 and μ ≤ best."""
    mean, std = np.asarray(mean, float), np.maximum(np.asarray(std, float), 1e-12)
    gain = mean - best - xi
    z = gain / std
    return gain * stats.norm.cdf(z) + std * stats.norm.pdf(z)


def acquisition(
    strategy: str,
    mean: np.ndarray,
    std: np.ndarray,
    *,
    best: float | None = None,
    kappa: float = 2.0,
    xi: float = 0.0,
    maximize: bool = True,
) -> np.ndarray:
    """The score ``(n,)`` each candidate is ranked by (higher first); see the module docstring."""
    sign = 1.0 if maximize else -1.0
    mu = sign * np.asarray(mean, float)
    if strategy in ("max-std", "diverse"):
        return np.asarray(std, float)
    if strategy == "ucb":
        return mu + kappa * np.asarray(std, float)
    if strategy == "ei":
        if best is None:
            raise InputError("--strategy ei needs the best value measured so far (--best)")
        return expected_improvement(mu, std, sign * best, xi)
    raise InputError(f"acquisition scores exist for max-std, ei, ucb and diverse, got {strategy!r}")


def select_batch(
    score: np.ndarray,
    bits: np.ndarray,
    n: int,
    *,
    train_bits: np.ndarray | None = None,
    diverse: bool = False,
    duplicate_similarity: float = 0.9,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy batch of ``n`` candidate positions, and the novelty of each pick at the time.

    Args:
        score: ``(m,)`` acquisition scores (higher first).
        bits: ``(m, n_bits)`` candidate fingerprints.
        train_bits: fingerprints of the labelled molecules (novelty counts them too).
        diverse: rank by ``score × novelty`` instead of score alone.
        duplicate_similarity: a candidate this similar to an already picked one is skipped.
    """
    m = len(score)
    sim_seen = (
        max_tanimoto(bits, train_bits).astype(np.float64)
        if train_bits is not None and len(train_bits)
        else np.zeros(m)
    )
    sim_batch = np.zeros(m)
    free = np.ones(m, bool)
    picked, novelty = [], []
    score = np.asarray(score, float)
    for _ in range(min(n, m)):
        nov = 1.0 - np.maximum(sim_seen, sim_batch)
        key = score * nov if diverse else score.copy()
        key[~free | (sim_batch >= duplicate_similarity)] = -np.inf
        j = int(np.argmax(key))
        if not np.isfinite(key[j]):
            break
        picked.append(j)
        novelty.append(float(nov[j]))
        free[j] = False
        sim_batch = np.maximum(sim_batch, tanimoto_matrix(bits[j : j + 1], bits)[0])
    return np.asarray(picked, dtype=np.int64), np.asarray(novelty)


def suggest(
    model: Any,
    pool: Sequence[str],
    n: int = 10,
    strategy: str = "max-std",
    *,
    best: float | None = None,
    maximize: bool = True,
    kappa: float = 2.0,
    xi: float = 0.0,
    train_smiles: Sequence[str] | None = None,
    duplicate_similarity: float = 0.9,
    seed: int = 0,
) -> pd.DataFrame:
    """The next ``n`` molecules of ``pool`` to measure, with why.

    Args:
        model: a fitted molfit model with a std, or a run's :class:`CalibratedModel`.
        pool: candidate SMILES.
        strategy: ``max-std``, ``ei``, ``ucb``, ``diverse``, ``variance``, ``density`` (or
            ``random``, the baseline).
        best: best label so far (target units; needed by ``ei``).
        train_smiles: the labelled molecules, for novelty (default: the training fingerprints
            of a calibrated run's applicability domain, else none known).

    Returns:
        One row per pick, best first: ``rank, pool_index, smiles, prediction, std, score,
        expected_improvement, novelty, why``.
    """
    if strategy not in STRATEGIES:
        raise InputError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if n < 1:
        raise InputError(f"--n must be at least 1, got {n}")
    pool = list(pool)
    mean, std = mean_std(model, pool)
    bits = AD_FINGERPRINT(pool)
    train_bits = AD_FINGERPRINT(list(train_smiles)) if train_smiles else None
    domain = getattr(model, "domain_", None)
    if train_bits is None and domain is not None and hasattr(domain, "bits_"):
        train_bits = domain.bits_
    if strategy == "variance":
        picked, score_picked = variance_reduction_batch(
            bits,
            n,
            train_bits=train_bits,
            duplicate_similarity=duplicate_similarity,
            seed=seed,
        )
        score = np.full(len(pool), np.nan)
        score[picked] = score_picked
        seen = max_tanimoto(bits[picked], train_bits) if train_bits is not None else 0.0
        novelty = 1.0 - np.asarray(seen, dtype=np.float64) * np.ones(len(picked))
    else:
        if strategy == "random":
            score = np.random.default_rng(seed).random(len(pool))
        elif strategy == "density":
            score = std * representativeness(bits)
        else:
            score = acquisition(
                strategy, mean, std, best=best, kappa=kappa, xi=xi, maximize=maximize
            )
        picked, novelty = select_batch(
            score,
            bits,
            n,
            train_bits=train_bits,
            diverse=strategy == "diverse",
            duplicate_similarity=duplicate_similarity,
        )
    sign = 1.0 if maximize else -1.0
    ei = (
        expected_improvement(sign * mean[picked], std[picked], sign * best)
        if best is not None
        else np.full(len(picked), np.nan)
    )
    why = []
    for k, j in enumerate(picked):
        text = {
            "max-std": f"σ = {std[j]:.3g}, the least certain",
            "ucb": f"μ {'+' if maximize else '-'} {kappa:g}σ = {sign * score[j]:.3g}",
            "ei": f"expected improvement {score[j]:.3g} over best {best}",
            "diverse": f"σ = {std[j]:.3g} × novelty {novelty[k]:.2f}",
            "variance": f"removes {score[j]:.3g} of the pool's predictive variance (GP units)",
            "density": f"σ = {std[j]:.3g} × representativeness {score[j] / std[j]:.2f}"
            if std[j] > 0
            else "σ = 0",
            "random": "random pick (baseline)",
        }[strategy]
        why.append(text)
    return pd.DataFrame(
        {
            "rank": np.arange(1, len(picked) + 1),
            "pool_index": picked,
            "smiles": [pool[j] for j in picked],
            "prediction": mean[picked],
            "std": std[picked],
            "score": score[picked],
            "expected_improvement": ei,
            "novelty": novelty,
            "why": why,
        }
    )

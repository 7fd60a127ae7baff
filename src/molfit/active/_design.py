"""Batch strategies that look at the whole pool, not one candidate at a time.

* ``variance``: greedy integrated-variance reduction (Cohn's "ALC") under a Gaussian process
  with the Tanimoto kernel on ECFP6/1024 bits. A candidate ``x`` is worth
  ``Σ_r C(r, x)² / (C(x, x) + λ)``: how much measuring it would shrink the posterior variance
  summed over the pool (the molecules the model will be asked about), given everything measured
  so far and the molecules already picked for this batch. It prefers molecules that are both
  uncertain *and* representative: an isolated outlier has a large σ but lowers the variance of
  nothing but itself, which is what plain max-σ keeps buying.
* ``density``: the model's σ times representativeness, the mean Tanimoto similarity of a
  candidate to its ``k`` nearest neighbours in the pool (information density, Settles & Craven
  2008).

The Tanimoto kernel has ``k(x, x) = 1``; λ is the noise variance in those units (0.1: a measured
molecule keeps about a tenth of its prior variance).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from molfit.chem import tanimoto_matrix
from molfit.errors import InputError

MAX_CELLS = 60_000_000  # float64 matrix cells kept at once (~480 MB)


def representativeness(bits: np.ndarray, k: int = 10, chunk: int = 2048) -> np.ndarray:
    """Mean Tanimoto similarity of each row to its ``k`` most similar *other* rows ``(m,)``."""
    m = len(bits)
    out = np.zeros(m)
    k = max(1, min(k, m - 1))
    if m < 2:
        return out
    for lo in range(0, m, chunk):
        sim = tanimoto_matrix(bits[lo : lo + chunk], bits).astype(np.float64)
        rows = np.arange(sim.shape[0])
        sim[rows, lo + rows] = -1.0
        out[lo : lo + chunk] = -np.partition(-sim, k - 1, axis=1)[:, :k].mean(axis=1)
    return out


def variance_reduction_batch(
    pool_bits: np.ndarray,
    n: int,
    *,
    train_bits: np.ndarray | None = None,
    noise: float = 0.1,
    reference: int = 2000,
    duplicate_similarity: float = 0.9,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy batch of ``n`` pool positions by integrated variance reduction, and each pick's
    gain (the pool variance it removes, kernel units, summed over the reference molecules).

    Args:
        pool_bits: ``(m, n_bits)`` candidate fingerprints (ECFP6/1024 bits in molfit).
        train_bits: ``(s, n_bits)`` fingerprints of the molecules measured so far.
        noise: λ, the measurement noise variance in kernel units (k(x, x) = 1).
        reference: the variance is summed over all candidates, or over a seeded random
            ``reference`` of them when the pool is larger.
        duplicate_similarity: a candidate this similar to an already picked one is skipped.

    Raises:
        InputError: the pool and training set are too large for the dense matrices this needs.
    """
    pool_bits = np.asarray(pool_bits)
    m = len(pool_bits)
    s = 0 if train_bits is None else len(train_bits)
    ref = np.arange(m)
    if m > reference:
        ref = np.sort(np.random.default_rng(seed).choice(m, size=reference, replace=False))
    if (s + len(ref) + n) * m > MAX_CELLS:
        raise InputError(
            f"strategy 'variance' needs ({s} measured + {len(ref)} reference) x {m} candidates "
            "of kernel values; use a smaller pool (or --strategy diverse)"
        )
    cross = tanimoto_matrix(pool_bits[ref], pool_bits).astype(np.float64)  # (R, m)
    diag = np.ones(m)
    if s:
        k_ss = tanimoto_matrix(train_bits, train_bits).astype(np.float64)
        k_sc = tanimoto_matrix(train_bits, pool_bits).astype(np.float64)  # (s, m)
        factor = cho_factor(k_ss + noise * np.eye(s))
        w = cho_solve(factor, k_sc)  # (s, m): (K_ss + λI)^-1 K_sc
        cross -= k_sc[:, ref].T @ w
        diag -= np.einsum("ij,ij->j", k_sc, w)
    else:
        k_sc = w = None
    diag = np.maximum(diag, 0.0)
    updates: list[np.ndarray] = []
    sim_batch = np.zeros(m)
    free = np.ones(m, bool)
    picked, gains = [], []
    for _ in range(min(n, m)):
        gain = np.einsum("ij,ij->j", cross, cross) / (diag + noise)
        gain[~free | (sim_batch >= duplicate_similarity)] = -np.inf
        j = int(np.argmax(gain))
        if not np.isfinite(gain[j]):
            break
        picked.append(j)
        gains.append(float(gain[j]))
        free[j] = False
        row_k = tanimoto_matrix(pool_bits[j : j + 1], pool_bits)[0].astype(np.float64)
        sim_batch = np.maximum(sim_batch, row_k)
        row = row_k.copy()  # posterior covariance of pick j with every candidate
        if k_sc is not None:
            row -= k_sc[:, j] @ w
        for u in updates:
            row -= u[j] * u
        u = row / np.sqrt(diag[j] + noise)
        updates.append(u)
        cross -= np.outer(u[ref], u)
        diag = np.maximum(diag - u**2, 0.0)
    return np.asarray(picked, dtype=np.int64), np.asarray(gains)

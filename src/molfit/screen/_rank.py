"""Ranking across several models: mean z-score (ensemble) and Pareto fronts.

Scores are oriented first (a minimized model's score is negated), so that higher is better for
every column; then

- the ensemble score of a row is the mean over models of ``(score - mean) / std``, mean and
  (population) standard deviation taken over the ranked rows (a model whose scores are all
  equal contributes 0);
- Pareto fronts are peeled: front 1 is the rows no other row dominates (at least as good for
  every model and better for one), front 2 those of the rest, and so on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RANKINGS = ("ensemble", "pareto")


def oriented(scores: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """``scores`` ``(n, k)`` with the columns of minimized models negated (higher is better)."""
    signs = np.where(np.asarray(maximize, dtype=bool), 1.0, -1.0)
    return np.asarray(scores, dtype=np.float64) * signs[None, :]


def ensemble_score(points: np.ndarray) -> np.ndarray:
    """Mean z-score per row of oriented ``points`` ``(n, k)``: ``(n,)`` float64."""
    points = np.asarray(points, dtype=np.float64)
    if not len(points):
        return np.zeros(0)
    mean = points.mean(axis=0)
    std = points.std(axis=0)
    z = np.divide(points - mean, std, out=np.zeros_like(points), where=std > 0)
    return z.mean(axis=1)


def _dominated_by(candidates: np.ndarray, by: np.ndarray, block: int = 2048) -> np.ndarray:
    """Which ``candidates`` rows some ``by`` row dominates: ``(len(candidates),)`` bool."""
    out = np.zeros(len(candidates), dtype=bool)
    for lo in range(0, len(by), block):
        b = by[lo : lo + block][None, :, :]
        c = candidates[:, None, :]
        out |= ((b >= c).all(axis=2) & (b > c).any(axis=2)).any(axis=1)
    return out


def non_dominated(points: np.ndarray, block: int = 1024) -> np.ndarray:
    """Rows of oriented ``points`` ``(n, k)`` that no other row dominates: ``(n,)`` bool.

    Rows are visited by decreasing sum (a dominating row never has a smaller sum), ``block`` at
    a time, against the front found so far; the front is pruned again when a later row with an
    equal (rounded) sum dominates one of its members. Cost about ``n * |front| * k``.
    """
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    keep = np.zeros(n, dtype=bool)
    if not n:
        return keep
    order = np.lexsort((np.arange(n), -points.sum(axis=1)))
    front = np.zeros(0, dtype=np.int64)
    for lo in range(0, n, block):
        idx = order[lo : lo + block]
        cand = points[idx]
        alive = ~_dominated_by(cand, points[front]) if len(front) else np.ones(len(idx), bool)
        alive &= ~_dominated_by(cand, cand)
        new = idx[alive]
        if len(new) and len(front):
            front = front[~_dominated_by(points[front], points[new])]
        front = np.concatenate([front, new])
    keep[front] = True
    return keep


def pareto_fronts(points: np.ndarray, limit: int | None = None) -> np.ndarray:
    """Front number (1 = non-dominated) of every row of oriented ``points`` ``(n, k)``.

    Fronts are peeled until at least ``limit`` rows have one (all rows when ``None``); the rows
    left have front 0. Returns ``(n,)`` int64.
    """
    points = np.asarray(points, dtype=np.float64)
    fronts = np.zeros(len(points), dtype=np.int64)
    rest = np.arange(len(points))
    number = 0
    target = len(points) if limit is None else min(limit, len(points))
    while len(rest) and (fronts > 0).sum() < target:
        number += 1
        mask = non_dominated(points[rest])
        fronts[rest[mask]] = number
        rest = rest[~mask]
    return fronts


def ranking_order(
    rows: np.ndarray, points: np.ndarray, how: str, limit: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``limit`` best rows: ``(positions, ensemble, fronts)`` of the chosen rows, best first.

    ``ensemble``: by mean z-score (ties by ``rows``, the library row). ``pareto``: by front,
    then mean z-score, then row. ``fronts`` is 0 for every row under ``ensemble``.
    """
    if how not in RANKINGS:
        raise ValueError(f"ranking {how!r} is not one of {', '.join(RANKINGS)}")
    ensemble = ensemble_score(points)
    if how == "pareto":
        fronts = pareto_fronts(points, limit)
        ranked = np.flatnonzero(fronts > 0)
        order = ranked[np.lexsort((rows[ranked], -ensemble[ranked], fronts[ranked]))]
    else:
        fronts = np.zeros(len(points), dtype=np.int64)
        order = np.lexsort((rows, -ensemble))
    chosen = order[:limit]
    return chosen, ensemble[chosen], fronts[chosen]

"""A simulated active-learning campaign on labelled data.

The labels of the pool sit behind an :class:`Oracle`; a campaign sees a label only when it
selects the molecule ("measures" it). Each round trains a model on the labels revealed so far,
records the error on a held-out test set (never selectable) and the best value found, then picks
the next batch. Random selection from the same start is run next to it, over several seeds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from molfit.active._design import representativeness, variance_reduction_batch
from molfit.active._suggest import STRATEGIES, acquisition, select_batch
from molfit.errors import InputError
from molfit.models import get_model
from molfit.uncertainty import AD_FINGERPRINT


class Oracle:
    """Labels revealed one molecule at a time.

    Attributes:
        revealed: pool positions measured so far, in order.
    """

    def __init__(self, y: np.ndarray) -> None:
        self._y = np.asarray(y, dtype=np.float64)
        self.revealed: list[int] = []

    def __len__(self) -> int:
        return len(self._y)

    def measure(self, idx: Sequence[int]) -> np.ndarray:
        """The labels of pool positions ``idx`` (each may be measured once)."""
        idx = [int(i) for i in idx]
        again = set(idx) & set(self.revealed)
        if again or len(set(idx)) != len(idx):
            raise InputError(f"molecules measured twice: {sorted(again) or idx}")
        self.revealed += idx
        return self._y[idx]


@dataclass
class Campaign:
    """:func:`learn` result.

    Attributes:
        labels: ``(rounds + 1,)`` number of labels used at each evaluation.
        rmse: ``{strategy: (n_seeds, rounds + 1)}`` test RMSE (target units).
        best: ``{strategy: (n_seeds, rounds + 1)}`` best label found so far.
        top_found: ``{strategy: (n_seeds, rounds + 1)}`` how many of the pool's top
            ``top_fraction`` molecules have been measured.
        selected: ``{strategy: [pool positions measured, per seed]}``.
        n_top: size of the top set per seed.
    """

    strategy: str
    labels: np.ndarray
    rmse: dict[str, np.ndarray]
    best: dict[str, np.ndarray]
    top_found: dict[str, np.ndarray]
    selected: dict[str, list[list[int]]] = field(repr=False)
    n_top: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Final figures, and the goals of the issue: labels the strategy needs to reach random
        selection's final mean RMSE (as a fraction of random's labels) and how many more top
        molecules it found than random with the same labels."""
        s, r = self.strategy, "random"
        out: dict[str, Any] = {}
        for k in (s, r):
            out[f"rmse_final_{k}"] = float(self.rmse[k][:, -1].mean())
            out[f"top_found_final_{k}"] = float(self.top_found[k][:, -1].mean())
            out[f"best_final_{k}"] = float(self.best[k][:, -1].mean())
        target = self.rmse[r].mean(axis=0)[-1]
        curve = self.rmse[s].mean(axis=0)
        reached = np.flatnonzero(curve <= target)
        out["labels_to_reach_random_final_rmse"] = (
            int(self.labels[reached[0]]) if len(reached) else None
        )
        out["label_fraction_vs_random"] = (
            float(self.labels[reached[0]] / self.labels[-1]) if len(reached) else None
        )
        rt = out[f"top_found_final_{r}"]
        out["top_found_ratio_vs_random"] = (
            float(out[f"top_found_final_{s}"] / rt) if rt > 0 else None
        )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "labels": self.labels.tolist(),
            "rmse": {k: v.tolist() for k, v in self.rmse.items()},
            "best": {k: v.tolist() for k, v in self.best.items()},
            "top_found": {k: v.tolist() for k, v in self.top_found.items()},
            "n_top": self.n_top,
            "summary": self.summary(),
        }


def _one_run(
    smiles: list[str],
    y: np.ndarray,
    bits: np.ndarray,
    pool: np.ndarray,
    test: np.ndarray,
    start: np.ndarray,
    strategy: str,
    batch: int,
    rounds: int,
    model: str,
    params: dict[str, Any],
    seed: int,
    maximize: bool,
    top: set[int],
) -> dict[str, Any]:
    oracle = Oracle(y[pool])
    labelled = list(start)
    ys = list(oracle.measure(start))
    rmse, best, found = [], [], []
    rng = np.random.default_rng(10_000 + seed)
    density = representativeness(bits[pool]) if strategy == "density" else None
    for r in range(rounds + 1):
        m = get_model(model, **params)
        if "seed" in m.get_params():
            m.set_params(seed=seed)
        m.fit([smiles[pool[i]] for i in labelled], np.asarray(ys))
        pred = np.asarray(m.predict([smiles[i] for i in test]), float).reshape(-1)
        rmse.append(float(np.sqrt(np.mean((pred - y[test]) ** 2))))
        best.append(float(max(ys) if maximize else min(ys)))
        found.append(len(top & set(labelled)))
        if r == rounds:
            break
        free = np.setdiff1d(np.arange(len(pool)), labelled)
        if strategy == "random":
            pick = rng.choice(free, size=min(batch, len(free)), replace=False)
        elif strategy == "variance":
            j, _ = variance_reduction_batch(
                bits[pool[free]], batch, train_bits=bits[pool[labelled]], seed=seed
            )
            pick = free[j]
        else:
            mu, sd = m.predict([smiles[pool[i]] for i in free], return_std=True)
            score = acquisition(
                "max-std" if strategy == "density" else strategy,
                np.ravel(mu),
                np.ravel(sd),
                best=best[-1],
                maximize=maximize,
            )
            if density is not None:
                score = score * density[free]
            j, _ = select_batch(
                score,
                bits[pool[free]],
                batch,
                train_bits=bits[pool[labelled]],
                diverse=strategy == "diverse",
            )
            pick = free[j]
        ys += list(oracle.measure(pick))
        labelled += [int(i) for i in pick]
    return {"rmse": rmse, "best": best, "found": found, "selected": oracle.revealed}


def learn(
    smiles: Sequence[str],
    y: np.ndarray,
    *,
    start: int = 50,
    batch: int = 10,
    rounds: int = 20,
    strategy: str = "max-std",
    seeds: int | Sequence[int] = 5,
    model: str = "extratrees",
    params: dict[str, Any] | None = None,
    test_fraction: float = 0.2,
    top_fraction: float = 0.01,
    maximize: bool = True,
    work_dir: str | os.PathLike[str] | None = None,
    progress: Any = None,
) -> Campaign:
    """Simulate a campaign with ``strategy`` and with random selection, over ``seeds``.

    Args:
        smiles, y: the labelled set ``(n,)`` (target units); per seed, ``test_fraction`` of it
            is a held-out test set, the rest the pool.
        start: labels measured at random before the first round.
        batch, rounds: molecules per round and number of rounds.
        strategy: ``max-std``, ``ei``, ``ucb``, ``diverse``, ``variance`` or ``density``
            (see :mod:`molfit.active`).
        top_fraction: the optimisation goal: the pool's best ``top_fraction`` molecules
            (highest ``y`` when ``maximize``, at least one).
        work_dir: each finished (strategy, seed) run is saved there and reused on a rerun.

    Raises:
        InputError: unknown strategy, or start + batch × rounds larger than the pool.
    """
    if strategy not in STRATEGIES or strategy == "random":
        raise InputError(f"strategy must be one of {', '.join(STRATEGIES[:-1])}, got {strategy!r}")
    y = np.asarray(y, dtype=np.float64).reshape(len(smiles), -1)
    if y.shape[1] != 1:
        raise InputError(f"learn works on one regression target, got {y.shape[1]}")
    y = y[:, 0]
    smiles = list(smiles)
    n_test = round(test_fraction * len(smiles))
    need = start + batch * rounds
    if need > len(smiles) - n_test:
        raise InputError(
            f"start {start} + batch {batch} x rounds {rounds} = {need} labels, but the pool holds "
            f"only {len(smiles) - n_test} molecules"
        )
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    bits = AD_FINGERPRINT(smiles)
    cache = Path(work_dir) if work_dir is not None else None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict[str, Any]]] = {strategy: [], "random": []}
    n_top = []
    for seed in seed_list:
        order = np.random.default_rng(seed).permutation(len(smiles))
        test, pool = order[:n_test], order[n_test:]
        k = max(1, round(top_fraction * len(pool)))
        ranked = np.argsort(-y[pool] if maximize else y[pool], kind="stable")
        top = {int(i) for i in ranked[:k]}
        n_top.append(k)
        first = np.random.default_rng(seed + 1).choice(len(pool), size=start, replace=False)
        for strat in (strategy, "random"):
            file = cache / f"{strat}-{seed}.json" if cache is not None else None
            if file is not None and file.exists():
                run = json.loads(file.read_text())
            else:
                run = _one_run(
                    smiles,
                    y,
                    bits,
                    pool,
                    test,
                    first,
                    strat,
                    batch,
                    rounds,
                    model,
                    dict(params or {}),
                    seed,
                    maximize,
                    top,
                )
                if file is not None:
                    tmp = file.with_name(file.name + ".tmp")
                    tmp.write_text(json.dumps(run))
                    os.replace(tmp, file)
            if progress is not None:
                progress(
                    f"seed {seed} {strat}: final rmse {run['rmse'][-1]:.4g}, "
                    f"top found {run['found'][-1]}/{k}"
                )
            runs[strat].append(run)
    labels = start + batch * np.arange(rounds + 1)

    def arr(key: str, s: str) -> np.ndarray:
        return np.array([r[key] for r in runs[s]], dtype=np.float64)

    return Campaign(
        strategy=strategy,
        labels=labels,
        rmse={s: arr("rmse", s) for s in runs},
        best={s: arr("best", s) for s in runs},
        top_found={s: arr("found", s) for s in runs},
        selected={s: [r["selected"] for r in runs[s]] for s in runs},
        n_top=n_top,
    )


def campaign_figure(campaign: Campaign, unit: str = "") -> str:
    """Base64 PNG: test RMSE and top molecules found against labels used, mean ± std over
    seeds, strategy next to random."""
    import base64
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for s, curves in campaign.rmse.items():
        for ax, data in ((axes[0], curves), (axes[1], campaign.top_found[s])):
            m, sd = data.mean(axis=0), data.std(axis=0)
            ax.plot(campaign.labels, m, label=s)
            ax.fill_between(campaign.labels, m - sd, m + sd, alpha=0.2)
    axes[0].set_ylabel(f"test RMSE{f' ({unit})' if unit else ''}")
    axes[1].set_ylabel("top molecules found")
    for ax in axes:
        ax.set_xlabel("labels used")
        ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()

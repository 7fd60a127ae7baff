"""The Rashomon effect in numbers: several models trained on the same splits and seeds, metrics
with confidence intervals across seeds, a paired test against the best model, the set of models
that are equally good within noise, and how much those equally good models disagree.

Conventions: RMSE and MAE in target units; similarity is the maximum Tanimoto similarity
(ECFP6, 1024 bits) of a test molecule to its training set; disagreement is the standard deviation
(target units) of the equally good models' predictions for a molecule.

Classification (0/1 labels): ROC-AUC, PR-AUC and the Brier score per seed; "equally good" by the
paired test of ROC-AUC (higher is better); disagreement is the standard deviation of the equally
good models' P(class 1) for a molecule; the model's own uncertainty is ``min(p, 1 - p)`` (the
probability it gives the other class); the error both are ranked against is whether the
reference model misclassifies the molecule (``|y - p|`` would be ``min(p, 1 - p)`` itself on
every correct prediction).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from molfit.chem import max_tanimoto
from molfit.data.split import make_split
from molfit.errors import InputError
from molfit.models import get_model, infer_task
from molfit.uncertainty import AD_FINGERPRINT, ApplicabilityDomain

ModelSpec = str | tuple[str, dict[str, Any]]


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, lower, upper)``: Student-t confidence interval of the mean over seeds (one value
    gives an interval of zero width is not claimed: ``lower = upper = nan``)."""
    v = np.asarray(values, dtype=np.float64)
    m = float(v.mean())
    if len(v) < 2:
        return m, float("nan"), float("nan")
    half = stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
    return m, m - float(half), m + float(half)


def paired_test(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided paired t-test p-value of seed-wise scores ``a`` vs ``b`` (same splits).

    Identical scores give ``p = 1``; fewer than 2 pairs give ``nan``.
    """
    x, y = np.asarray(a, float), np.asarray(b, float)
    if x.shape != y.shape:
        raise ValueError(f"paired scores need equal lengths, got {x.shape} and {y.shape}")
    if len(x) < 2:
        return float("nan")
    d = x - y
    if np.allclose(d, 0.0):
        return 1.0
    if np.allclose(d, d[0]):  # a constant non-zero difference: infinitely significant
        return 0.0
    return float(stats.ttest_rel(x, y).pvalue)


def equally_good(
    scores: Mapping[str, Sequence[float]], lower_is_better: bool = True, alpha: float = 0.05
) -> list[str]:
    """Models not significantly worse than the best (paired t-test, two-sided, level ``alpha``).

    Args:
        scores: seed-wise scores per model (the same seeds and splits for every model).
        lower_is_better: True for RMSE/MAE, False for R²/AUC.

    Returns:
        Names, best first, then in order of mean score.
    """
    if not scores:
        return []
    sign = 1.0 if lower_is_better else -1.0
    order = sorted(scores, key=lambda k: sign * float(np.mean(scores[k])))
    best = order[0]
    return [best] + [k for k in order[1:] if not paired_test(scores[k], scores[best]) < alpha]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (``nan`` when either side is constant or n < 3)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(stats.spearmanr(a, b).statistic)


@dataclass
class SplitComparison:
    """One split method's results.

    Attributes:
        method: split name (random, scaffold, cluster...).
        scores: ``{model: {metric: [value per seed]}}`` (rmse, mae in target units; r2; for
            classification roc_auc, pr_auc, brier).
        equally_good: models not significantly worse than the best in the primary metric.
        p_values: paired-test p-value of each model's primary metric against the best model's.
        signals: per seed, rank correlation with the reference model's absolute error of the
            equally good models' disagreement (``disagreement``) and of the reference model's
            own std (``own_std``; ``nan`` when no model has one).
        molecules: per test molecule of every seed: smiles, seed, y, the reference model's
            prediction, its own std, the disagreement, similarity to train and the domain flag.
        reference: the best model that has a std of its own (the best model if none has).
        primary: the metric that ranks models (``rmse``; ``roc_auc`` for classification).
    """

    method: str
    scores: dict[str, dict[str, list[float]]]
    equally_good: list[str]
    p_values: dict[str, float]
    signals: list[dict[str, float]]
    molecules: list[dict[str, Any]] = field(repr=False)
    reference: str = ""
    primary: str = "rmse"

    def summary(self) -> dict[str, dict[str, float | bool]]:
        """``{model: {metric, metric_lo, metric_hi (every metric), p_vs_best, equally_good}}``,
        e.g. ``rmse, rmse_lo, rmse_hi, mae, ...``."""
        out: dict[str, dict[str, float | bool]] = {}
        for name, block in self.scores.items():
            row: dict[str, float | bool] = {}
            for metric, values in block.items():
                m, lo, hi = mean_ci(values)
                row[metric], row[f"{metric}_lo"], row[f"{metric}_hi"] = m, lo, hi
            row["p_vs_best"] = self.p_values[name]
            row["equally_good"] = name in self.equally_good
            out[name] = row
        return out

    def signal_summary(self) -> dict[str, float]:
        """Mean over seeds of each error signal's rank correlation, and disagreement in vs out of
        the applicability domain (target units)."""
        out: dict[str, float] = {}
        for k in ("disagreement", "own_std"):
            vals = np.array([s[k] for s in self.signals], dtype=np.float64)
            out[f"spearman_{k}"] = (
                float(vals[np.isfinite(vals)].mean()) if np.isfinite(vals).any() else float("nan")
            )
        flags = np.array([m["in_domain"] for m in self.molecules], bool)
        dis = np.array([m["disagreement"] for m in self.molecules], float)
        sim = np.array([m["similarity"] for m in self.molecules], float)
        out["disagreement_in_domain"] = float(dis[flags].mean()) if flags.any() else float("nan")
        out["disagreement_out_of_domain"] = (
            float(dis[~flags].mean()) if (~flags).any() else float("nan")
        )
        out["n_out_of_domain"] = int((~flags).sum())
        out["spearman_disagreement_similarity"] = spearman(dis, sim)
        return out


@dataclass
class Comparison:
    """:func:`compare_models` result: one :class:`SplitComparison` per split method."""

    target: str
    unit: str
    models: list[str]
    seeds: list[int]
    splits: dict[str, SplitComparison]
    task: str = "regression"

    @property
    def primary(self) -> str:
        """The metric that ranks models: ``rmse`` (regression) or ``roc_auc``."""
        return "roc_auc" if self.task == "classification" else "rmse"


def _spec(spec: ModelSpec) -> tuple[str, dict[str, Any]]:
    return (spec, {}) if isinstance(spec, str) else (spec[0], dict(spec[1]))


def _fit_predict(
    name: str,
    params: dict[str, Any],
    seed: int,
    train_smiles: list[str],
    y_train: np.ndarray,
    test_smiles: list[str],
    task: str = "regression",
) -> tuple[np.ndarray, np.ndarray | None]:
    """Test predictions and own std (regression), or P(class 1) and ``None``."""
    model = get_model(name, **params)
    if "seed" in model.get_params():
        model.set_params(seed=seed)
    if task == "classification":
        if "task" not in model.get_params():
            raise InputError(f"model {name!r} does not classify; pick a classifier")
        model.set_params(task="classification")
        model.fit(train_smiles, y_train)
        proba = np.asarray(model.predict_proba(test_smiles), float)
        return proba.reshape(len(test_smiles), -1)[:, -1], None
    model.fit(train_smiles, y_train)
    mean, std = model.predict(test_smiles, return_std=True)
    mean = np.asarray(mean, float).reshape(len(test_smiles))
    return mean, None if std is None else np.asarray(std, float).reshape(len(test_smiles))


def compare_models(
    smiles: Sequence[str],
    y: np.ndarray,
    models: Sequence[ModelSpec] | Mapping[str, ModelSpec],
    *,
    seeds: int | Sequence[int] = 5,
    splits: Sequence[str] = ("random", "scaffold"),
    target: str = "y",
    unit: str = "",
    task: str = "auto",
    alpha: float = 0.05,
    work_dir: str | os.PathLike[str] | None = None,
    progress: Any = None,
) -> Comparison:
    """Train every model on the same splits and seeds and compare them.

    Args:
        smiles: ``n`` molecules.
        y: ``(n,)`` or ``(n, 1)`` labels: regression values (target units) or 0/1 classes.
        task: ``regression``, ``classification`` or ``auto`` (classification for 0/1 labels).
        models: registry names (``"extratrees"``), ``(name, params)`` pairs, or a mapping
            label → either (to compare two settings of one model).
        seeds: number of seeds (0..k-1) or the seeds themselves; each seed is one split.
        splits: split methods, compared side by side (the leakage lesson).
        alpha: level of the paired test that defines "equally good".
        work_dir: when given, each (split, seed, model) prediction is saved there as it is
            made and reused on a rerun: an interrupted comparison resumes.
        progress: optional callable receiving one line of text per fit.

    Raises:
        InputError: fewer than two models, non-numeric or multi-column labels.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != len(smiles):
        raise InputError(f"compare needs one target per molecule, got y {y.shape}")
    if task == "auto":
        task = infer_task(y[:, None])
    if task not in ("regression", "classification"):
        raise InputError(f"task must be regression, classification or auto, got {task!r}")
    if task == "classification" and not np.isin(y, (0.0, 1.0)).all():
        raise InputError("classification labels must be 0 or 1 (two classes)")
    if isinstance(models, Mapping):
        specs = {str(k): _spec(v) for k, v in models.items()}
    else:
        specs = {}
        for m in models:
            name, params = _spec(m)
            specs[name if not params else f"{name}{sorted(params.items())}"] = (name, params)
    if len(specs) < 2:
        raise InputError(f"compare needs at least two models, got {list(specs)}")
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    smiles = list(smiles)
    bits = AD_FINGERPRINT(smiles)
    cache = Path(work_dir) if work_dir is not None else None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    out: dict[str, SplitComparison] = {}
    for method in splits:
        preds: dict[str, list[tuple[np.ndarray, np.ndarray | None]]] = {k: [] for k in specs}
        parts = []
        for seed in seed_list:
            split = make_split(method, smiles=smiles, seed=seed)
            train = np.concatenate([split.train, split.valid]).astype(np.int64)
            test = np.asarray(split.test, dtype=np.int64)
            parts.append((train, test))
            for label, (name, params) in specs.items():
                file = None
                if cache is not None:
                    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in label)
                    kind = "-cls" if task == "classification" else ""
                    file = cache / f"{method}-{seed}-{safe}{kind}.npz"
                if file is not None and file.exists():
                    z = np.load(file)
                    mean, std = z["mean"], (z["std"] if z["has_std"] else None)
                else:
                    mean, std = _fit_predict(
                        name,
                        params,
                        seed,
                        [smiles[i] for i in train],
                        y[train],
                        [smiles[i] for i in test],
                        task,
                    )
                    if file is not None:
                        tmp = file.with_suffix(".tmp.npz")
                        np.savez(
                            tmp,
                            mean=mean,
                            std=mean * 0 if std is None else std,
                            has_std=std is not None,
                        )
                        os.replace(tmp, file)
                if progress is not None:
                    progress(f"{method} seed {seed} {label}: {_headline(y[test], mean, task)}")
                preds[label].append((mean, std))
        scores = {
            label: _seed_scores([p for p, _ in preds[label]], [y[t] for _, t in parts], task)
            for label in specs
        }
        primary = "roc_auc" if task == "classification" else "rmse"
        sign = -1.0 if task == "classification" else 1.0  # rank lower-is-better
        main = {k: v[primary] for k, v in scores.items()}
        good = equally_good(main, lower_is_better=task != "classification", alpha=alpha)
        best = good[0]
        p_values = {k: (1.0 if k == best else paired_test(main[k], main[best])) for k in specs}
        by_score = sorted(specs, key=lambda k: sign * float(np.nanmean(main[k])))
        committee = good if len(good) >= 2 else good + [k for k in by_score if k not in good][:1]
        # the error both signals are ranked against: the best model that has a std of its own
        # (a classifier's own uncertainty is min(p, 1 - p), which every classifier has)
        ranked = good + [k for k in by_score if k not in good]
        reference = next(
            (k for k in ranked if preds[k][0][1] is not None or task == "classification"), best
        )
        signals, molecules = [], []
        for s, (seed, (train, test)) in enumerate(zip(seed_list, parts, strict=True)):
            stack = np.stack([preds[k][s][0] for k in committee])
            dis = stack.std(axis=0)
            best_mean, best_std = preds[reference][s]
            abs_err = np.abs(best_mean - y[test])
            ranked_err = abs_err
            if task == "classification":
                best_std = np.minimum(best_mean, 1.0 - best_mean)
                # |y - p| is min(p, 1 - p) itself when right: rank against "misclassified"
                ranked_err = ((best_mean >= 0.5) != (y[test] == 1)).astype(np.float64)
            signals.append(
                {
                    "disagreement": spearman(dis, ranked_err),
                    "own_std": spearman(best_std, ranked_err)
                    if best_std is not None
                    else float("nan"),
                }
            )
            sim = max_tanimoto(bits[test], bits[train]).astype(np.float64)
            domain = _domain(smiles, bits, train, test)
            for j, i in enumerate(test):
                molecules.append(
                    {
                        "smiles": smiles[i],
                        "seed": seed,
                        "y": float(y[i]),
                        "prediction": float(best_mean[j]),
                        "own_std": float(best_std[j]) if best_std is not None else float("nan"),
                        "disagreement": float(dis[j]),
                        "abs_error": float(abs_err[j]),
                        "similarity": float(sim[j]),
                        "in_domain": bool(domain[j]),
                    }
                )
        out[method] = SplitComparison(
            method, scores, good, p_values, signals, molecules, reference, primary
        )
    return Comparison(target, unit, list(specs), seed_list, out, task)


def _headline(y: np.ndarray, pred: np.ndarray, task: str) -> str:
    if task == "classification":
        return f"roc_auc {_seed_scores([pred], [y], task)['roc_auc'][0]:.4g}"
    return f"rmse {np.sqrt(np.mean((pred - y) ** 2)):.4g}"


def _seed_scores(
    preds: list[np.ndarray], labels: list[np.ndarray], task: str
) -> dict[str, list[float]]:
    """Per-seed metrics: rmse, mae, r2 (regression) or roc_auc, pr_auc, brier (P(1))."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    if task == "classification":
        block: dict[str, list[float]] = {"roc_auc": [], "pr_auc": [], "brier": []}
        for p, y in zip(preds, labels, strict=True):
            both = len(np.unique(y)) == 2  # AUCs need both classes in the test set
            block["roc_auc"].append(float(roc_auc_score(y, p)) if both else float("nan"))
            block["pr_auc"].append(float(average_precision_score(y, p)) if both else float("nan"))
            block["brier"].append(float(np.mean((p - y) ** 2)))
        return block
    block = {"rmse": [], "mae": [], "r2": []}
    for mean, y in zip(preds, labels, strict=True):
        err = mean - y
        block["rmse"].append(float(np.sqrt(np.mean(err**2))))
        block["mae"].append(float(np.mean(np.abs(err))))
        ss = float(np.sum((y - y.mean()) ** 2))
        block["r2"].append(1.0 - float(np.sum(err**2)) / ss if ss > 0 else float("nan"))
    return block


def _domain(smiles: list[str], bits: np.ndarray, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    from molfit.chem import to_mols

    ad = ApplicabilityDomain().fit(to_mols([smiles[i] for i in train]), bits=bits[train])
    _, in_domain, _ = ad.score(to_mols([smiles[i] for i in test]), bits=bits[test])
    return in_domain


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    """Plain-JSON summary (no per-molecule rows)."""
    return {
        "target": comparison.target,
        "unit": comparison.unit,
        "task": comparison.task,
        "primary_metric": comparison.primary,
        "models": comparison.models,
        "seeds": comparison.seeds,
        "splits": {
            m: {
                "equally_good": c.equally_good,
                "reference": c.reference,
                "models": c.summary(),
                "signals": c.signal_summary(),
            }
            for m, c in comparison.splits.items()
        },
    }


def write_json_atomic(data: Any, path: str | os.PathLike[str]) -> Path:
    """Write JSON through a temporary file and rename (never half-written)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=float))
    os.replace(tmp, path)
    return path

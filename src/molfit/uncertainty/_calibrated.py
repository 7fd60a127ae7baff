"""A trained QSAR model with honest uncertainty: estimator + conformal calibration + domain.

:class:`CalibratedModel` is a scikit-learn meta-estimator around any registered estimator
(``clone`` works; ``__init__`` only stores parameters). Regression predictions get a conformal
interval at the chosen coverage and ``std``, the calibrated scale of that interval
(``(upper - lower) / (2 z)``, ``z`` the standard normal quantile at ``0.5 + coverage / 2``), with
the model's own spread kept as ``raw_std``; models without a spread of their own (ridge, one deep
network) still get a calibrated ``std`` from the conformal residuals. Classification predictions
get calibrated probabilities and conformal prediction sets; every prediction gets its similarity
to the training set and an in-domain flag. Rows whose SMILES cannot be parsed come back with
``NaN`` and an error message; the others are still predicted.

Calibration method (``method``):

* ``"split"``: fit the estimator on the training rows, calibrate on a separate calibration set:
  ``X_calib`` (e.g. the validation part of a scaffold split) or, without one, a seeded random
  ``calib_fraction`` of the rows given.
* ``"cv+"``: K-fold CV+ on all rows given (training + calibration): for small data, where holding
  out a calibration set would cost too much.
* ``"jackknife+"``: CV+ with one fold per molecule (``n`` leave-one-out refits, all kept for
  prediction): the tightest use of very small data, for cheap models. Regression only; refused
  above ``jackknife_max`` molecules.
* ``"mondrian"``: split conformal with one quantile per group: per similarity-to-training bin
  (``bin_edges``, max Tanimoto ECFP6/1024 to the training rows) for regression, per true class
  for classification. Coverage then holds within each bin / class, not only on average. A bin
  with too few calibration molecules for the coverage (fewer than ``⌈1/α⌉ - 1``) borrows the
  largest quantile of the other bins and of all molecules pooled (wider, never narrower).
* ``"auto"`` (default): CV+ when fewer than ``small_data`` (500) molecules are available in
  total, split conformal otherwise.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
from rdkit import Chem
from tqdm.auto import tqdm

from molfit.chem import parse_many, to_mols
from molfit.errors import InputError
from molfit.models import (
    Estimator,
    Prediction,
    as_targets,
    clone,
    infer_task,
    load_model,
    not_fitted_error,
    save_model,
    seal_model_dir,
    verify_model_dir,
)
from molfit.uncertainty._conformal import (
    ProbabilityCalibrator,
    conformal_quantile,
    cv_plus_interval,
    mondrian_quantiles,
    prediction_sets,
    scale_of,
    similarity_bins,
    std_offset,
)
from molfit.uncertainty._domain import AD_FINGERPRINT, ApplicabilityDomain

_AD_SETTINGS = {"featurizer": "ecfp", "radius": 3, "n_bits": 1024, "counts": False}
FORMAT = "molfit.CalibratedModel/2"
_READABLE = ("molfit.CalibratedModel/1", FORMAT)
METHODS = ("auto", "split", "cv+", "jackknife+", "mondrian")
BIN_EDGES = (0.3, 0.5)


def _raw_predict(model: Any, mols: Sequence[Chem.Mol]) -> tuple[np.ndarray, np.ndarray | None]:
    """Model output ``(n, n_tasks)`` (P(1) for classifiers) and its own std or ``None``."""
    if hasattr(model, "predict_features"):
        return model.predict_features(model.featurize(list(mols)))
    record: Prediction = model.predict_record(list(mols))
    values = record.proba if record.task == "classification" else record.mean
    values = np.asarray(values, float).reshape(len(mols), -1)
    own = record.raw_std if record.raw_std is not None else record.std
    std = None if own is None else np.asarray(own, float).reshape(len(mols), -1)
    return values, std


def calibrated_std(lower: np.ndarray, upper: np.ndarray, coverage: float) -> np.ndarray:
    """The Gaussian scale of a central interval at ``coverage``: ``(upper - lower) / (2 z)``,
    ``z = Φ⁻¹(0.5 + coverage / 2)`` (1.645 at 90 %); same shape and units as the bounds."""
    z = NormalDist().inv_cdf(0.5 + coverage / 2.0)
    return (np.asarray(upper) - np.asarray(lower)) / (2.0 * z)


class CalibratedModel(Estimator):
    """Estimator + conformal calibration + applicability domain (a cloneable meta-estimator).

    ``X`` are SMILES strings or RDKit molecules (the domain needs molecules).

    Args:
        estimator: an unfitted estimator (e.g. ``get_model("extratrees")``); cloned at fit.
        coverage: nominal coverage of intervals and prediction sets (0.9 = 90 %).
        method: ``"auto"``, ``"split"``, ``"cv+"``, ``"jackknife+"`` or ``"mondrian"`` (see
            module docs).
        calibration: probability calibration for classifiers: ``"auto"``, ``"platt"``,
            ``"isotonic"`` or ``"none"``.
        n_folds: folds for CV+.
        small_data: below this many molecules, ``method="auto"`` uses CV+.
        calib_fraction: share of the rows held out (seeded) for split calibration when ``fit``
            gets no ``X_calib``.
        normalize: divide conformal scores by the model's std (adaptive interval widths).
        domain_percentile: percentile of within-train nearest-neighbour similarity used as the
            applicability-domain threshold.
        seed: random seed (folds, hold-out).
        bin_edges: Tanimoto similarity edges of the Mondrian bins (``(0.3, 0.5)``: below 0.3,
            0.3 to 0.5, from 0.5), used by ``method="mondrian"`` for regression.
        jackknife_max: ``method="jackknife+"`` refuses more molecules than this (it keeps one
            fitted model per molecule).
        domain_neighbours: the domain similarity is the mean Tanimoto similarity to this many
            nearest training molecules (1: the nearest one only).

    Its scikit-learn estimator type is the inner estimator's.
    """

    def __init__(
        self,
        estimator: Any,
        coverage: float = 0.9,
        method: str = "auto",
        calibration: str = "auto",
        n_folds: int = 5,
        small_data: int = 500,
        calib_fraction: float = 0.2,
        normalize: bool = True,
        domain_percentile: float = 5.0,
        seed: int = 0,
        bin_edges: tuple[float, ...] = BIN_EDGES,
        jackknife_max: int = 1000,
        domain_neighbours: int = 1,
    ) -> None:
        self.estimator = estimator
        self.coverage = coverage
        self.method = method
        self.calibration = calibration
        self.n_folds = n_folds
        self.small_data = small_data
        self.calib_fraction = calib_fraction
        self.normalize = normalize
        self.domain_percentile = domain_percentile
        self.seed = seed
        self.bin_edges = bin_edges
        self.jackknife_max = jackknife_max
        self.domain_neighbours = domain_neighbours

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.regressor_tags = inner.regressor_tags
        tags.classifier_tags = inner.classifier_tags
        tags.target_tags.required = True
        tags.input_tags.string = True
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "estimator_")

    @property
    def model_(self) -> Any:
        """The fitted inner estimator (same as ``estimator_``)."""
        return self.estimator_

    def _check_params(self) -> None:
        if not 0.0 < float(self.coverage) < 1.0:
            raise InputError(f"coverage must lie between 0 and 1, got {self.coverage}")
        if self.method not in METHODS:
            raise InputError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if not 0.0 < float(self.calib_fraction) < 1.0:
            raise InputError(f"calib_fraction must lie between 0 and 1, got {self.calib_fraction}")
        if int(self.n_folds) < 2:
            raise InputError(f"n_folds must be at least 2, got {self.n_folds}")
        if int(self.domain_neighbours) < 1:
            raise InputError(f"domain_neighbours must be at least 1, got {self.domain_neighbours}")
        edges = np.asarray(self.bin_edges, dtype=np.float64)
        if edges.ndim != 1 or np.any(np.diff(edges) <= 0) or np.any((edges <= 0) | (edges >= 1)):
            raise InputError(
                f"bin_edges must increase strictly within (0, 1), got {tuple(self.bin_edges)}"
            )

    # -- fitting --------------------------------------------------------------------------------
    def fit(
        self,
        X: Sequence[Any],
        y: Any,
        *,
        X_calib: Sequence[Any] | None = None,
        y_calib: Any = None,
        targets: list[str] | None = None,
        progress: bool = False,
        **fit_params: Any,
    ) -> CalibratedModel:
        """Fit estimator, calibration and domain; returns ``self``.

        Args:
            X: training molecules (SMILES or RDKit; every one must parse), ``(n,)``.
            y: targets ``(n,)`` or ``(n, n_tasks)``, ``NaN`` for missing labels.
            X_calib, y_calib: a calibration set (e.g. a scaffold split's validation part);
                without one, split calibration holds out ``calib_fraction`` of ``X``.
            targets: target names (``y0``, ``y1``... by default).
            progress: show progress bars (stderr).
            **fit_params: passed to the inner estimator's ``fit`` (e.g. ``runtime=``), for the
                main model and every CV+ fold model.

        Raises:
            InputError: bad parameters, labels or molecules.
        """
        self._check_params()
        if (X_calib is None) != (y_calib is None):
            raise InputError("give both X_calib and y_calib, or neither")
        mols = to_mols(list(X))
        Y = as_targets(y)
        if len(Y) != len(mols):
            raise InputError(f"X has {len(mols)} rows but y has {len(Y)}")
        cal_mols = to_mols(list(X_calib)) if X_calib is not None else None
        Y_cal = as_targets(y_calib) if X_calib is not None else None
        if cal_mols is not None and len(Y_cal) != len(cal_mols):
            raise InputError(f"X_calib has {len(cal_mols)} rows but y_calib has {len(Y_cal)}")
        if Y_cal is not None and Y_cal.shape[1] != Y.shape[1]:
            raise InputError(f"y has {Y.shape[1]} targets but y_calib has {Y_cal.shape[1]}")
        n_total = len(mols) + (len(cal_mols) if cal_mols is not None else 0)
        method = self.method
        if method == "auto":
            method = "cv+" if n_total < self.small_data else "split"
        if method in ("cv+", "jackknife+") and cal_mols is not None:  # every molecule trains
            mols, Y = mols + cal_mols, np.concatenate([Y, Y_cal])
            cal_mols = Y_cal = None
        if method in ("split", "mondrian") and cal_mols is None:
            mols, Y, cal_mols, Y_cal = self._hold_out(mols, Y)
        self.method_ = method
        task = getattr(self.estimator, "task", "auto")
        self.task_ = infer_task(Y) if task in (None, "auto") else task
        if method == "jackknife+":
            if self.task_ != "regression":
                raise InputError(
                    "method 'jackknife+' is for regression; use cv+ or mondrian for classification"
                )
            if len(mols) > int(self.jackknife_max):
                raise InputError(
                    f"method 'jackknife+' refits once per molecule and keeps every model; "
                    f"{len(mols)} molecules is more than jackknife_max={self.jackknife_max} "
                    "(use cv+, or raise jackknife_max)"
                )
        self.targets_ = list(targets) if targets else [f"y{t}" for t in range(Y.shape[1])]
        if len(self.targets_) != Y.shape[1]:
            raise InputError(f"{len(self.targets_)} target names for {Y.shape[1]} targets")
        self.single_task_ = bool(np.asarray(y).ndim == 1)
        steps = tqdm(total=3, desc="train", disable=not progress, leave=False)
        steps.set_postfix_str("fit model")
        self.estimator_ = clone(self.estimator).fit(mols, self._y(Y), **fit_params)
        self.task_ = getattr(self.estimator_, "task_", self.task_)
        steps.update()
        self.domain_ = ApplicabilityDomain(self.domain_percentile, self.domain_neighbours).fit(mols)
        steps.set_postfix_str(f"calibrate ({method})")
        if method in ("split", "mondrian"):
            values, std = _raw_predict(self.estimator_, cal_mols)
            groups = None
            if method == "mondrian":
                groups = self._groups(self.domain_.score(cal_mols)[0])
            self._calibrate(values, std, Y_cal, folds=None, groups=groups)
            self.fold_models_ = []
        else:
            n_folds = len(mols) if method == "jackknife+" else int(self.n_folds)
            values, std, folds = self._cross_val(mols, Y, progress, fit_params, n_folds)
            self._calibrate(values, std, Y, folds=folds)
        steps.update()
        steps.set_postfix_str("applicability domain")
        steps.update()
        steps.close()
        self.n_train_ = len(mols)
        return self

    def _y(self, Y: np.ndarray) -> np.ndarray:
        return Y[:, 0] if self.single_task_ else Y

    def _hold_out(
        self, mols: list[Chem.Mol], Y: np.ndarray
    ) -> tuple[list[Chem.Mol], np.ndarray, list[Chem.Mol], np.ndarray]:
        """A seeded random ``calib_fraction`` of the rows as the calibration set."""
        n_cal = round(len(mols) * float(self.calib_fraction))
        if n_cal < 2 or len(mols) - n_cal < 2:
            raise InputError(
                f"{len(mols)} molecules are too few to hold out a calibration set; "
                "use method='cv+' or pass X_calib"
            )
        order = np.random.default_rng(self.seed).permutation(len(mols))
        cal, train = np.sort(order[:n_cal]), np.sort(order[n_cal:])
        return [mols[i] for i in train], Y[train], [mols[i] for i in cal], Y[cal]

    def _groups(self, similarity: np.ndarray) -> np.ndarray:
        """Mondrian bin ``(n,)`` of each similarity to the training set."""
        return similarity_bins(similarity, tuple(float(e) for e in self.bin_edges))

    def _cross_val(
        self,
        mols: list[Chem.Mol],
        Y: np.ndarray,
        progress: bool,
        fit_params: dict[str, Any],
        n_folds: int,
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        folds = rng.permutation(len(mols)) % n_folds
        values = np.full(Y.shape, np.nan)
        std = np.full(Y.shape, np.nan)
        self.fold_models_ = []
        has_std = True
        desc = "jackknife+ refits" if n_folds == len(mols) else "CV+ folds"
        for k in tqdm(range(n_folds), desc=desc, disable=not progress, leave=False):
            tr, te = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
            fold_model = clone(self.estimator).fit(
                [mols[i] for i in tr], self._y(Y[tr]), **fit_params
            )
            v, s = _raw_predict(fold_model, [mols[i] for i in te])
            values[te] = v
            if s is None:
                has_std = False
            else:
                std[te] = s
            if self.task_ == "regression":
                self.fold_models_.append(fold_model)
        return values, (std if has_std else None), folds

    def _calibrate(
        self,
        values: np.ndarray,
        std: np.ndarray | None,
        Y: np.ndarray,
        folds: np.ndarray | None,
        groups: np.ndarray | None = None,
    ) -> None:
        """Per task: conformal quantile (split; per similarity bin with ``groups``), CV+
        residuals, or calibrator + set threshold (per class for Mondrian)."""
        self.tasks_: list[dict[str, np.ndarray]] = []
        self.calibrators_: list[ProbabilityCalibrator] = []
        for t in range(Y.shape[1]):
            rows = np.isfinite(Y[:, t]) & np.isfinite(values[:, t])
            y, v = Y[rows, t], values[rows, t]
            if self.task_ == "classification":
                cal = ProbabilityCalibrator(self.calibration).fit(v, y)
                p = cal.transform(v)
                p_true = np.where(y == 1, p, 1 - p)
                self.calibrators_.append(cal)
                q = conformal_quantile(1 - p_true, self.coverage)
                entry = {"set_threshold": np.array(q)}
                if groups is not None:  # Mondrian: one threshold per true class
                    per_class = mondrian_quantiles(1 - p_true, y.astype(int), self.coverage)
                    entry["class_threshold"] = np.array(
                        [per_class.get(c, 1.0) for c in (0, 1)], dtype=np.float64
                    )
                    entry["n_calib_class"] = np.array([(y == c).sum() for c in (0, 1)])
                self.tasks_.append(entry)
                continue
            s_t = None if std is None or not self.normalize else std[rows, t]
            offset = std_offset(s_t, np.abs(y - v))
            scores = np.abs(y - v) / scale_of(s_t, len(y), offset)
            entry = {"offset": np.array(offset), "normalized": np.array(s_t is not None)}
            if folds is None:
                entry["q"] = np.array(conformal_quantile(scores, self.coverage))
                if groups is not None:
                    entry.update(self._bin_quantiles(scores, groups[rows], float(entry["q"])))
            else:
                entry["residuals"] = scores
                entry["folds"] = folds[rows]
            self.tasks_.append(entry)

    def _bin_quantiles(self, scores: np.ndarray, groups: np.ndarray, pooled: float) -> dict:
        """Mondrian quantile per similarity bin; bins too small to promise the coverage borrow
        the largest finite quantile (the pooled one included)."""
        n_bins = len(self.bin_edges) + 1
        per_bin = mondrian_quantiles(scores, groups, self.coverage)
        q = np.array([per_bin.get(b, np.inf) for b in range(n_bins)], dtype=np.float64)
        finite = [v for v in [*q, pooled] if np.isfinite(v)]
        fallback = max(finite) if finite else np.inf
        counts = np.array([(groups == b).sum() for b in range(n_bins)])
        return {"q_bins": np.where(np.isfinite(q), q, fallback), "n_calib_bins": counts}

    # -- prediction -----------------------------------------------------------------------------
    def feature_key(self) -> str | None:
        """The estimator's featurizer settings as a JSON string when it predicts from a feature
        matrix of molecules (ECFP, descriptors), else ``None`` (graph models). Two models with the
        same key take the same :meth:`featurize` matrix (a screen featurizes once for both)."""
        model = self.estimator_
        if not hasattr(model, "predict_features") or model.input_kind_ != "molecules":
            return None
        settings = model._featurizer_settings()
        if settings.get("featurizer") == "graph":  # molecular graphs, not a feature matrix
            return None
        return json.dumps(settings, sort_keys=True, default=str)

    def featurize(self, mols: Sequence[Chem.Mol]) -> np.ndarray:
        """The estimator's feature matrix of RDKit molecules ``(n, n_features)`` (for
        :meth:`predict`'s ``features``); only for a model with a :meth:`feature_key`."""
        if self.feature_key() is None:
            raise InputError("this model does not predict from a feature matrix")
        return self.estimator_.featurize(list(mols))

    def predict(
        self,
        X: Sequence[Any],
        progress: bool = False,
        chunk: int = 50_000,
        features: np.ndarray | None = None,
    ) -> Prediction:
        """Predict every row of ``X`` (SMILES or RDKit molecules) as a :class:`Prediction`.

        ``features``: :meth:`featurize` of ``X`` computed once already (rows of ``X`` that are
        not molecules may hold anything), so that models sharing a :meth:`feature_key` share it.

        Regression: ``mean``, ``lower``/``upper`` (conformal, at ``coverage``), ``std`` (the
        calibrated scale of that interval) and ``raw_std`` (the model's own spread, or ``None``).
        Unparseable SMILES give ``NaN`` values and a message in ``error``.

        Raises:
            NotFittedError: the model is not fitted.
        """
        self._check_fitted()
        items = list(X)
        n = len(items)
        if features is not None and (self.feature_key() is None or len(features) != n):
            raise InputError(
                f"features: {len(features)} rows for {n} molecules, or a model without a "
                "feature matrix"
            )
        mols: list[Chem.Mol | None] = [None] * n
        errors = np.array([""] * n, dtype=object)
        strings = [i for i, x in enumerate(items) if not isinstance(x, Chem.Mol)]
        parsed, issues = parse_many([items[i] for i in strings])
        for i, m in zip(strings, parsed, strict=True):
            mols[i] = m
        for issue in issues:
            errors[strings[issue.row - 1]] = issue.reason
        for i, x in enumerate(items):
            if isinstance(x, Chem.Mol):
                mols[i] = x
        ok = np.array([m is not None for m in mols], dtype=bool)
        idx = np.flatnonzero(ok)
        n_tasks = len(self.targets_)
        keys = ("mean", "raw_std", "lower", "upper")
        out = {k: np.full((n, n_tasks), np.nan) for k in keys}
        sets = np.zeros((n, n_tasks, 2), dtype=bool)
        sim = np.full(n, np.nan)
        in_domain = np.zeros(n, dtype=bool)
        notes = np.array([""] * n, dtype=object)
        has_raw = False
        for lo in tqdm(range(0, len(idx), chunk), desc="predict", disable=not progress):
            sel = idx[lo : lo + chunk]
            part = [mols[i] for i in sel]
            res = self._predict_valid(part, None if features is None else features[sel])
            for key in keys:
                if res[key] is not None:
                    out[key][sel] = res[key]
            has_raw = has_raw or res["raw_std"] is not None
            if res["sets"] is not None:
                sets[sel] = res["sets"]
            sim[sel], in_domain[sel], notes[sel] = res["domain"]
        if not len(idx):  # nothing predicted: the model's kind decides whether it has a spread
            has_raw = bool(getattr(self.estimator_, "has_std", False))
        return self._record(out, sets, sim, in_domain, notes, errors, has_raw)

    def _predict_valid(self, mols: list[Chem.Mol], F: np.ndarray | None = None) -> dict[str, Any]:
        model = self.estimator_
        bits = None
        if hasattr(model, "predict_features"):
            if F is None:
                F = model.featurize(mols)
            values, std = model.predict_features(F)
            settings = model._featurizer_settings()
            if settings == _AD_SETTINGS and model.input_kind_ == "molecules":
                bits = F
        else:
            values, std = _raw_predict(model, mols)
        res: dict[str, Any] = {"raw_std": None, "lower": None, "upper": None, "sets": None}
        res["domain"] = self.domain_.score(mols, bits if bits is not None else AD_FINGERPRINT(mols))
        if self.task_ == "classification":
            proba = np.column_stack(
                [c.transform(values[:, t]) for t, c in enumerate(self.calibrators_)]
            )
            res["mean"] = proba
            res["sets"] = np.stack(
                [self._sets(proba[:, t], e) for t, e in enumerate(self.tasks_)], axis=1
            )
            return res
        res["mean"], res["raw_std"] = values, std
        lower, upper = np.empty_like(values), np.empty_like(values)
        fold_out = []
        if self.method_ in ("cv+", "jackknife+"):
            # fold models are clones of one estimator: featurize the queries once for all
            shared = F if hasattr(model, "predict_features") else None
            fold_out = [
                m.predict_features(shared) if shared is not None else _raw_predict(m, mols)
                for m in self.fold_models_
            ]
        for t, e in enumerate(self.tasks_):
            normalized = bool(e["normalized"])
            offset = float(e["offset"])
            if self.method_ in ("split", "mondrian"):
                scale = scale_of(std[:, t] if normalized else None, len(mols), offset)
                q = float(e["q"])
                if "q_bins" in e:
                    q = e["q_bins"][self._groups(res["domain"][0])]
                lower[:, t] = values[:, t] - q * scale
                upper[:, t] = values[:, t] + q * scale
            else:
                fm = np.column_stack([v[:, t] for v, _ in fold_out])
                fs = np.column_stack(
                    [
                        scale_of(s[:, t] if normalized else None, len(mols), offset)
                        for _, s in fold_out
                    ]
                )
                lower[:, t], upper[:, t] = cv_plus_interval(
                    fm, fs, e["residuals"], e["folds"], self.coverage
                )
        res["lower"], res["upper"] = lower, upper
        return res

    @staticmethod
    def _sets(proba1: np.ndarray, entry: dict[str, np.ndarray]) -> np.ndarray:
        """Prediction sets ``(n, 2)``: one threshold, or one per class (Mondrian)."""
        if "class_threshold" not in entry:
            return prediction_sets(proba1, float(entry["set_threshold"]))
        q0, q1 = (float(v) for v in entry["class_threshold"])
        p = np.asarray(proba1, float)
        return np.stack([p <= q0 + 1e-12, 1.0 - p <= q1 + 1e-12], axis=-1)

    def _record(self, out, sets, sim, in_domain, notes, errors, has_raw: bool) -> Prediction:
        def shape(a: np.ndarray | None) -> np.ndarray | None:
            if a is None:
                return None
            return a[:, 0] if self.single_task_ else a

        common = {
            "targets": self.targets_,
            "coverage": self.coverage,
            "similarity": sim,
            "in_domain": in_domain,
            "domain_note": notes.astype(str),
            "error": errors.astype(str),
        }
        if self.task_ == "classification":
            proba = out["mean"]
            label = np.where(np.isnan(proba), np.nan, (proba >= 0.5).astype(float))
            return Prediction(
                mean=shape(label),
                proba=shape(proba),
                sets=sets[:, 0, :] if self.single_task_ else sets,
                task="classification",
                **common,
            )
        return Prediction(
            mean=shape(out["mean"]),
            std=shape(calibrated_std(out["lower"], out["upper"], self.coverage)),
            raw_std=shape(out["raw_std"]) if has_raw else None,
            lower=shape(out["lower"]),
            upper=shape(out["upper"]),
            task="regression",
            **common,
        )

    def score(self, X: Sequence[Any], y: Any) -> float:
        """R² (regression) or accuracy (classification) on ``X``, ``y``; mean over targets,
        each on its labelled and predicted rows."""
        from sklearn.metrics import accuracy_score, r2_score

        pred = self.predict(X)
        Y = as_targets(y)
        values = np.asarray(pred.mean, dtype=np.float64).reshape(len(Y), -1)
        scores = []
        for t in range(Y.shape[1]):
            rows = np.isfinite(Y[:, t]) & np.isfinite(values[:, t])
            metric = accuracy_score if self.task_ == "classification" else r2_score
            scores.append(metric(Y[rows, t], values[rows, t]))
        return float(np.mean(scores))

    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise not_fitted_error("this CalibratedModel is not fitted yet; call fit first")

    # -- persistence ----------------------------------------------------------------------------
    def save(self, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Write the model directory: ``estimator/``, ``folds/k/`` (CV+ regression),
        ``calibration.npz``, ``domain.npz`` and ``config.json`` (with the format version and
        the SHA-256 of every file, checked by :meth:`load`). No pickle anywhere."""
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_model(self.estimator_, directory / "estimator")
        for k, m in enumerate(self.fold_models_):
            save_model(m, directory / "folds" / str(k))
        arrays = {f"task{t}.{k}": v for t, e in enumerate(self.tasks_) for k, v in e.items()}
        for t, c in enumerate(self.calibrators_):
            arrays.update({f"calibrator{t}.{k}": v for k, v in c.state().items()})
        np.savez(directory / "calibration.npz", **arrays)
        np.savez_compressed(directory / "domain.npz", **self.domain_.state())
        config = {
            "format": FORMAT,
            "coverage": self.coverage,
            "method": self.method_,
            "bin_edges": [float(e) for e in self.bin_edges],
            "jackknife_max": int(self.jackknife_max),
            "domain_neighbours": int(self.domain_neighbours),
            "calibration": self.calibration,
            "n_folds": self.n_folds,
            "small_data": self.small_data,
            "calib_fraction": self.calib_fraction,
            "normalize": self.normalize,
            "domain_percentile": self.domain_percentile,
            "seed": self.seed,
            "task": self.task_,
            "targets": self.targets_,
            "single_task": bool(self.single_task_),
            "n_train": self.n_train_,
            "n_folds_saved": len(self.fold_models_),
            "domain_threshold": self.domain_.threshold_,
            "domain_elements": self.domain_.elements_,
            **(extra or {}),
        }
        (directory / "config.json").write_text(json.dumps(config, indent=2, default=str))
        return seal_model_dir(directory)

    @classmethod
    def load(cls, directory: str | Path) -> CalibratedModel:
        """Load a directory written by :meth:`save` (``allow_pickle=False`` throughout).

        Raises:
            InputError: no model here, an unknown format, or a file edited, truncated or
                removed since it was saved.
        """
        directory = Path(directory)
        if not (directory / "config.json").is_file():
            raise InputError(f"{directory}: no trained model here (missing config.json)")
        config = verify_model_dir(directory)
        if config.get("format") not in _READABLE:
            raise InputError(
                f"{directory / 'config.json'}: unknown format {config.get('format')!r}; "
                f"this molfit reads {', '.join(_READABLE)}"
            )
        try:
            return cls._from_saved(directory, config)
        except InputError:
            raise
        except (
            KeyError,
            TypeError,
            ValueError,
            IndexError,
            OSError,
            EOFError,
            zipfile.BadZipFile,
        ) as exc:
            raise InputError(
                f"{directory}: cannot read the saved model (missing, truncated or edited "
                f"file): {type(exc).__name__}: {exc}"
            ) from None

    @classmethod
    def _from_saved(cls, directory: Path, config: dict[str, Any]) -> CalibratedModel:
        estimator = load_model(directory / "estimator")
        self = cls(
            estimator,
            coverage=config["coverage"],
            method=config["method"],
            calibration=config["calibration"],
            n_folds=config["n_folds"],
            small_data=config.get("small_data", 500),
            calib_fraction=config.get("calib_fraction", 0.2),
            normalize=config["normalize"],
            domain_percentile=config["domain_percentile"],
            seed=config["seed"],
            bin_edges=tuple(config.get("bin_edges", BIN_EDGES)),
            jackknife_max=config.get("jackknife_max", 1000),
            domain_neighbours=config.get("domain_neighbours", 1),
        )
        self.estimator_ = estimator
        self.method_ = config["method"]
        self.task_ = config["task"]
        self.targets_ = config["targets"]
        self.single_task_ = config["single_task"]
        self.n_train_ = config["n_train"]
        folds_dir = directory / "folds"
        n_saved = config.get("n_folds_saved")
        if n_saved is None:
            n_saved = len(list(folds_dir.iterdir())) if folds_dir.is_dir() else 0
        self.fold_models_ = [load_model(folds_dir / str(k)) for k in range(int(n_saved))]
        n_tasks = len(self.targets_)
        self.tasks_ = [{} for _ in range(n_tasks)]
        calibrators: dict[int, dict[str, np.ndarray]] = {}
        with np.load(directory / "calibration.npz", allow_pickle=False) as data:
            for key in data.files:
                head, name = key.split(".", 1)
                if head.startswith("task"):
                    self.tasks_[int(head[4:])][name] = data[key]
                else:
                    calibrators.setdefault(int(head[10:]), {})[name] = data[key]
        self.calibrators_ = [
            ProbabilityCalibrator.from_state(calibrators[t]) for t in sorted(calibrators)
        ]
        with np.load(directory / "domain.npz", allow_pickle=False) as data:
            self.domain_ = ApplicabilityDomain.from_state({k: data[k] for k in data.files})
        return self

"""A trained QSAR model with honest uncertainty: estimator + conformal calibration + domain.

:class:`CalibratedModel` wraps any registered estimator. Regression predictions get a std (from
the model) and a conformal interval at the chosen coverage; classification predictions get
calibrated probabilities and conformal prediction sets; every prediction gets its similarity to
the training set and an in-domain flag. Rows whose SMILES cannot be parsed come back with ``NaN``
and an error message; the others are still predicted.

Calibration method (``method``):

* ``"split"``: fit the estimator on the training rows, calibrate on a separate calibration set
  (``X_cal``, e.g. the validation part of a scaffold split).
* ``"cv+"``: K-fold CV+ on all rows given (training + calibration): for small data, where holding
  out a calibration set would cost too much.
* ``"auto"`` (default): CV+ when fewer than ``small_data`` (500) molecules are available in total
  or no calibration set is given, split conformal otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rdkit import Chem
from sklearn.base import clone
from tqdm.auto import tqdm

from molfit.chem import parse_many, to_mols
from molfit.errors import InputError
from molfit.models import Prediction, as_targets, infer_task, load_model, save_model
from molfit.uncertainty._conformal import (
    ProbabilityCalibrator,
    conformal_quantile,
    cv_plus_interval,
    prediction_sets,
    scale_of,
    std_offset,
)
from molfit.uncertainty._domain import AD_FINGERPRINT, ApplicabilityDomain

_AD_SETTINGS = {"featurizer": "ecfp", "radius": 3, "n_bits": 1024, "counts": False}


def _raw_predict(model: Any, mols: Sequence[Chem.Mol]) -> tuple[np.ndarray, np.ndarray | None]:
    """Model output ``(n, n_tasks)`` (P(1) for classifiers) and std or ``None``."""
    if hasattr(model, "predict_features"):
        return model.predict_features(model.featurize(list(mols)))
    record: Prediction = model.predict_record(list(mols))
    values = record.proba if record.task == "classification" else record.mean
    values = np.asarray(values, float).reshape(len(mols), -1)
    std = None if record.std is None else np.asarray(record.std, float).reshape(len(mols), -1)
    return values, std


class CalibratedModel:
    """Estimator + conformal calibration + applicability domain.

    Args:
        model: an unfitted estimator (e.g. ``get_model("extratrees")``).
        coverage: nominal coverage of intervals and prediction sets (0.9 = 90 %).
        method: ``"auto"``, ``"split"`` or ``"cv+"`` (see module docs).
        calibration: probability calibration for classifiers: ``"auto"``, ``"platt"``,
            ``"isotonic"`` or ``"none"``.
        n_folds: folds for CV+.
        small_data: below this many molecules, ``method="auto"`` uses CV+.
        normalize: divide conformal scores by the model's std (adaptive interval widths).
        domain_percentile: percentile of within-train nearest-neighbour similarity used as the
            applicability-domain threshold.
        seed: random seed (folds, hold-out).
    """

    def __init__(
        self,
        model: Any,
        coverage: float = 0.9,
        method: str = "auto",
        calibration: str = "auto",
        n_folds: int = 5,
        small_data: int = 500,
        normalize: bool = True,
        domain_percentile: float = 5.0,
        seed: int = 0,
    ) -> None:
        if not 0.0 < coverage < 1.0:
            raise InputError(f"coverage must lie between 0 and 1, got {coverage}")
        if method not in ("auto", "split", "cv+"):
            raise InputError(f"method must be auto, split or cv+, got {method!r}")
        self.model = model
        self.coverage = coverage
        self.method = method
        self.calibration = calibration
        self.n_folds = n_folds
        self.small_data = small_data
        self.normalize = normalize
        self.domain_percentile = domain_percentile
        self.seed = seed

    # -- fitting --------------------------------------------------------------------------------
    def fit(
        self,
        X: Sequence[Any],
        y: Any,
        X_cal: Sequence[Any] | None = None,
        y_cal: Any = None,
        targets: list[str] | None = None,
        progress: bool = False,
    ) -> CalibratedModel:
        """Fit estimator, calibration and domain. ``X`` are SMILES/molecules (must all parse)."""
        mols = to_mols(list(X))
        Y = as_targets(y)
        cal_mols = to_mols(list(X_cal)) if X_cal is not None else None
        Y_cal = as_targets(y_cal) if X_cal is not None else None
        n_total = len(mols) + (len(cal_mols) if cal_mols is not None else 0)
        method = self.method
        if method == "auto":
            method = "cv+" if cal_mols is None or n_total < self.small_data else "split"
        if method == "split" and cal_mols is None:
            raise InputError("method='split' needs a calibration set (X_cal, y_cal)")
        if method == "cv+" and cal_mols is not None:  # small data: every molecule trains
            mols, Y = mols + cal_mols, np.concatenate([Y, Y_cal])
            cal_mols = Y_cal = None
        self.method_ = method
        self.task_ = getattr(self.model, "task", "auto")
        if self.task_ in (None, "auto"):
            self.task_ = infer_task(Y)
        self.targets_ = list(targets) if targets else [f"y{t}" for t in range(Y.shape[1])]
        self.single_task_ = np.ndim(y) == 1
        steps = tqdm(total=3, desc="train", disable=not progress, leave=False)
        steps.set_postfix_str("fit model")
        self.model_ = clone(self.model).fit(mols, Y if not self.single_task_ else Y[:, 0])
        steps.update()
        steps.set_postfix_str(f"calibrate ({method})")
        if method == "split":
            values, std = _raw_predict(self.model_, cal_mols)
            self._calibrate(values, std, Y_cal, folds=None)
            self.fold_models_ = []
        else:
            values, std, folds = self._cross_val(mols, Y, progress)
            self._calibrate(values, std, Y, folds=folds)
        steps.update()
        steps.set_postfix_str("applicability domain")
        self.domain_ = ApplicabilityDomain(self.domain_percentile).fit(mols)
        steps.update()
        steps.close()
        self.n_train_ = len(mols)
        return self

    def _cross_val(
        self, mols: list[Chem.Mol], Y: np.ndarray, progress: bool
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        folds = rng.permutation(len(mols)) % self.n_folds
        values = np.full(Y.shape, np.nan)
        std = np.full(Y.shape, np.nan)
        self.fold_models_ = []
        has_std = True
        for k in tqdm(range(self.n_folds), desc="CV+ folds", disable=not progress, leave=False):
            tr, te = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
            Yk = Y[tr] if not self.single_task_ else Y[tr, 0]
            fold_model = clone(self.model).fit([mols[i] for i in tr], Yk)
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
        self, values: np.ndarray, std: np.ndarray | None, Y: np.ndarray, folds: np.ndarray | None
    ) -> None:
        """Per task: conformal quantile (split), CV+ residuals, or calibrator + set threshold."""
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
                self.tasks_.append({"set_threshold": np.array(q)})
                continue
            s_t = None if std is None or not self.normalize else std[rows, t]
            offset = std_offset(s_t, np.abs(y - v))
            scores = np.abs(y - v) / scale_of(s_t, len(y), offset)
            entry = {"offset": np.array(offset), "normalized": np.array(s_t is not None)}
            if folds is None:
                entry["q"] = np.array(conformal_quantile(scores, self.coverage))
            else:
                entry["residuals"] = scores
                entry["folds"] = folds[rows]
            self.tasks_.append(entry)

    # -- prediction -----------------------------------------------------------------------------
    def predict(self, X: Sequence[Any], progress: bool = False, chunk: int = 50_000) -> Prediction:
        """Predict every row; unparseable SMILES give ``NaN`` values and a message in ``error``."""
        self._check_fitted()
        items = list(X)
        n = len(items)
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
        out = {k: np.full((n, n_tasks), np.nan) for k in ("mean", "std", "lower", "upper")}
        sets = np.zeros((n, n_tasks, 2), dtype=bool)
        sim = np.full(n, np.nan)
        in_domain = np.zeros(n, dtype=bool)
        notes = np.array([""] * n, dtype=object)
        for lo in tqdm(range(0, len(idx), chunk), desc="predict", disable=not progress):
            sel = idx[lo : lo + chunk]
            part = [mols[i] for i in sel]
            res = self._predict_valid(part)
            for key in ("mean", "std", "lower", "upper"):
                if res[key] is not None:
                    out[key][sel] = res[key]
            if res["sets"] is not None:
                sets[sel] = res["sets"]
            sim[sel], in_domain[sel], notes[sel] = res["domain"]
        return self._record(out, sets, sim, in_domain, notes, errors)

    def _predict_valid(self, mols: list[Chem.Mol]) -> dict[str, Any]:
        model = self.model_
        bits = None
        if hasattr(model, "predict_features"):
            F = model.featurize(mols)
            values, std = model.predict_features(F)
            settings = model._featurizer_settings()
            if settings == _AD_SETTINGS and model.input_kind_ == "molecules":
                bits = F
        else:
            values, std = _raw_predict(model, mols)
        res: dict[str, Any] = {"std": None, "lower": None, "upper": None, "sets": None}
        res["domain"] = self.domain_.score(mols, bits if bits is not None else AD_FINGERPRINT(mols))
        if self.task_ == "classification":
            proba = np.column_stack(
                [c.transform(values[:, t]) for t, c in enumerate(self.calibrators_)]
            )
            res["mean"] = proba
            res["sets"] = np.stack(
                [
                    prediction_sets(proba[:, t], float(e["set_threshold"]))
                    for t, e in enumerate(self.tasks_)
                ],
                axis=1,
            )
            return res
        res["mean"], res["std"] = values, std
        lower, upper = np.empty_like(values), np.empty_like(values)
        fold_out = (
            [_raw_predict(m, mols) for m in self.fold_models_] if self.method_ == "cv+" else []
        )
        for t, e in enumerate(self.tasks_):
            normalized = bool(e["normalized"])
            offset = float(e["offset"])
            if self.method_ == "split":
                scale = scale_of(std[:, t] if normalized else None, len(mols), offset)
                lower[:, t] = values[:, t] - float(e["q"]) * scale
                upper[:, t] = values[:, t] + float(e["q"]) * scale
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

    def _record(self, out, sets, sim, in_domain, notes, errors) -> Prediction:
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
        has_std = not np.isnan(out["std"]).all() or not len(out["std"])
        return Prediction(
            mean=shape(out["mean"]),
            std=shape(out["std"]) if has_std else None,
            lower=shape(out["lower"]),
            upper=shape(out["upper"]),
            task="regression",
            **common,
        )

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise InputError("this CalibratedModel is not fitted yet; call fit first")

    # -- persistence ----------------------------------------------------------------------------
    def save(self, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Write the model directory: ``estimator/``, ``folds/k/`` (CV+ regression),
        ``calibration.npz``, ``domain.npz`` and ``config.json``. No pickle anywhere."""
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_model(self.model_, directory / "estimator")
        for k, m in enumerate(self.fold_models_):
            save_model(m, directory / "folds" / str(k))
        arrays = {f"task{t}.{k}": v for t, e in enumerate(self.tasks_) for k, v in e.items()}
        for t, c in enumerate(self.calibrators_):
            arrays.update({f"calibrator{t}.{k}": v for k, v in c.state().items()})
        np.savez(directory / "calibration.npz", **arrays)
        np.savez_compressed(directory / "domain.npz", **self.domain_.state())
        config = {
            "format": "molfit.CalibratedModel/1",
            "coverage": self.coverage,
            "method": self.method_,
            "calibration": self.calibration,
            "n_folds": self.n_folds,
            "normalize": self.normalize,
            "domain_percentile": self.domain_percentile,
            "seed": self.seed,
            "task": self.task_,
            "targets": self.targets_,
            "single_task": bool(self.single_task_),
            "n_train": self.n_train_,
            "domain_threshold": self.domain_.threshold_,
            "domain_elements": self.domain_.elements_,
            **(extra or {}),
        }
        (directory / "config.json").write_text(json.dumps(config, indent=2, default=str))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> CalibratedModel:
        """Load a directory written by :meth:`save` (``allow_pickle=False`` throughout)."""
        directory = Path(directory)
        path = directory / "config.json"
        if not path.is_file():
            raise InputError(f"{directory}: no trained model here (missing config.json)")
        config = json.loads(path.read_text())
        estimator = load_model(directory / "estimator")
        self = cls(
            estimator,
            coverage=config["coverage"],
            method=config["method"],
            calibration=config["calibration"],
            n_folds=config["n_folds"],
            normalize=config["normalize"],
            domain_percentile=config["domain_percentile"],
            seed=config["seed"],
        )
        self.model_ = estimator
        self.method_ = config["method"]
        self.task_ = config["task"]
        self.targets_ = config["targets"]
        self.single_task_ = config["single_task"]
        self.n_train_ = config["n_train"]
        folds_dir = directory / "folds"
        n_saved = len(list(folds_dir.iterdir())) if folds_dir.is_dir() else 0
        self.fold_models_ = [load_model(folds_dir / str(k)) for k in range(n_saved)]
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

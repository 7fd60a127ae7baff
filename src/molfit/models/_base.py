"""Shared machinery of molfit's classical estimators: targets, tasks, featurization, saving.

Every estimator follows scikit-learn's contract. ``X`` is a list of SMILES / RDKit molecules (or a
numeric array of precomputed features); ``y`` is ``(n,)`` or ``(n, n_tasks)`` with ``NaN`` for a
missing label. One sub-model is fitted per task on the rows labelled for that task, so multi-task
data with gaps needs no imputation.

A subclass implements four hooks per task: ``_fit_task(F, y)`` returns a state dict of NumPy
arrays, ``_predict_task(state, F)`` returns ``(mean, std or None)`` for regression,
``_proba_task(state, F)`` returns P(class 1) for classification, and ``_prepare_state(state)``
rebuilds fast objects from loaded arrays. The state dicts are what :meth:`save` writes to
``weights.npz`` — plain arrays, never pickle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from molfit.errors import InputError
from molfit.models._featurize import featurize, is_numeric_array
from molfit.models._prediction import Prediction

TASKS = ("regression", "classification")
WEIGHTS_FILE = "weights.npz"
CONFIG_FILE = "config.json"


def as_targets(y: Any) -> np.ndarray:
    """Targets as a float ``(n, n_tasks)`` array (``NaN`` = missing)."""
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise InputError(f"y must be (n,) or (n, n_tasks), got shape {np.shape(y)}")
    return arr


def infer_task(y: np.ndarray) -> str:
    """``"classification"`` when every label is 0 or 1, else ``"regression"``."""
    labelled = y[~np.isnan(y)]
    if labelled.size and np.isin(labelled, (0.0, 1.0)).all():
        return "classification"
    return "regression"


class MoleculeModel(BaseEstimator):
    """Base class: featurize, then fit one sub-model per task on its labelled rows."""

    supports_classification: ClassVar[bool] = True
    supports_regression: ClassVar[bool] = True
    has_std: ClassVar[bool] = False

    # -- hooks ----------------------------------------------------------------------------------
    def _featurizer_settings(self) -> dict[str, Any]:
        """Featurizer of ``X`` from the model's own parameters (ECFP6/1024 bits by default)."""
        return {
            "featurizer": getattr(self, "featurizer", "ecfp"),
            "radius": getattr(self, "radius", 3),
            "n_bits": getattr(self, "n_bits", 1024),
            "counts": getattr(self, "counts", False),
        }

    def _fit_task(self, F: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _predict_task(
        self, state: dict[str, Any], F: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError

    def _proba_task(self, state: dict[str, Any], F: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _prepare_state(self, state: dict[str, Any]) -> dict[str, Any]:
        return state

    # -- featurization --------------------------------------------------------------------------
    def featurize(self, X: Any) -> np.ndarray:
        """Feature matrix of ``X`` with this model's featurizer settings."""
        settings = self._featurizer_settings()
        return featurize(X, n_jobs=getattr(self, "n_jobs", None), **settings)

    def _features(self, X: Any, *, fitting: bool) -> np.ndarray:
        kind = "array" if is_numeric_array(X) else "molecules"
        if fitting:
            self.input_kind_ = kind
        elif kind != self.input_kind_:
            raise InputError(
                f"this model was fitted on {self.input_kind_} and cannot predict from {kind}"
            )
        F = self.featurize(X)
        if not fitting and F.shape[1] != self.n_features_in_:
            raise InputError(f"expected {self.n_features_in_} features, got {F.shape[1]}")
        return F

    # -- scikit-learn API -----------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> MoleculeModel:
        """Fit on molecules ``X`` (n) and targets ``y`` (n,) or (n, n_tasks); returns ``self``."""
        Y = as_targets(y)
        if len(Y) != len(X):
            raise InputError(f"X has {len(X)} rows but y has {len(Y)}")
        task = getattr(self, "task", "auto")
        task = infer_task(Y) if task in (None, "auto") else task
        if task not in TASKS:
            raise InputError(f"task must be 'regression' or 'classification', got {task!r}")
        if task == "classification" and not self.supports_classification:
            raise InputError(f"{type(self).__name__} supports regression only")
        if task == "regression" and not self.supports_regression:
            raise InputError(f"{type(self).__name__} supports classification only")
        F = self._features(X, fitting=True)
        self.task_ = task
        self.n_features_in_ = int(F.shape[1])
        self.n_tasks_ = int(Y.shape[1])
        self.single_task_ = bool(np.ndim(y) == 1)
        states = []
        for t in range(Y.shape[1]):
            rows = ~np.isnan(Y[:, t])
            if rows.sum() < 2:
                raise InputError(f"task {t} has {int(rows.sum())} labelled rows; need at least 2")
            yt = Y[rows, t]
            if task == "classification":
                if not np.isin(yt, (0.0, 1.0)).all():
                    raise InputError(f"classification labels must be 0 or 1 (task {t})")
                if len(np.unique(yt)) < 2:
                    raise InputError(f"task {t} has a single class among its labelled rows")
            states.append(self._prepare_state(self._fit_task(F[rows], yt)))
        self.states_ = states
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "states_"):
            raise InputError(f"this {type(self).__name__} is not fitted yet; call fit first")

    def _shape(self, a: np.ndarray) -> np.ndarray:
        return a[:, 0] if self.single_task_ else a

    def predict_features(self, F: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Mean ``(n, n_tasks)`` and std (or ``None``) of a feature matrix (P(1) if classifier)."""
        self._check_fitted()
        means, stds = [], []
        for state in self.states_:
            if self.task_ == "classification":
                means.append(self._proba_task(state, F))
                stds.append(None)
            else:
                m, s = self._predict_task(state, F)
                means.append(m)
                stds.append(s)
        mean = np.column_stack(means).astype(np.float64)
        std = None if any(s is None for s in stds) else np.column_stack(stds).astype(np.float64)
        return mean, std

    def predict(self, X: Any, return_std: bool = False):
        """Predicted values (regression) or classes 0/1 (classification): ``(n,)`` or ``(n, t)``.

        With ``return_std=True`` (regression), returns ``(mean, std)``; std is ``None`` for
        models without one (ridge).
        """
        self._check_fitted()
        mean, std = self.predict_features(self._features(X, fitting=False))
        if self.task_ == "classification":
            labels = self._shape((mean >= 0.5).astype(np.int64))
            return (labels, None) if return_std else labels
        if return_std:
            return self._shape(mean), None if std is None else self._shape(std)
        return self._shape(mean)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities: ``(n, 2)`` for one task, ``(n, n_tasks, 2)`` for several."""
        self._check_fitted()
        if self.task_ != "classification":
            raise InputError("predict_proba needs a model fitted for classification")
        p1, _ = self.predict_features(self._features(X, fitting=False))
        proba = np.stack([1.0 - p1, p1], axis=-1)
        return proba[:, 0, :] if self.single_task_ else proba

    def predict_record(self, X: Any, targets: list[str] | None = None) -> Prediction:
        """A :class:`Prediction` with mean, std (regression) or probabilities (classification)."""
        self._check_fitted()
        mean, std = self.predict_features(self._features(X, fitting=False))
        names = targets or [f"y{t}" for t in range(self.n_tasks_)]
        if self.task_ == "classification":
            return Prediction(
                mean=self._shape((mean >= 0.5).astype(np.float64)),
                task="classification",
                targets=names,
                proba=self._shape(mean),
            )
        return Prediction(
            mean=self._shape(mean),
            std=None if std is None else self._shape(std),
            task="regression",
            targets=names,
        )

    # -- persistence ----------------------------------------------------------------------------
    def _fitted_meta(self) -> dict[str, Any]:
        return {
            "task": self.task_,
            "n_features_in": self.n_features_in_,
            "n_tasks": self.n_tasks_,
            "single_task": self.single_task_,
            "input_kind": self.input_kind_,
        }

    def _raw_state(self, state: dict[str, Any]) -> dict[str, np.ndarray]:
        """The arrays of a task state worth saving (drops rebuilt helper objects)."""
        return {k: v for k, v in state.items() if isinstance(v, np.ndarray)}

    def save(self, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Write ``config.json`` and ``weights.npz`` (plain arrays) to ``directory``."""
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {}
        for t, state in enumerate(self.states_):
            for key, value in self._raw_state(state).items():
                arrays[f"task{t}.{key}"] = value
        np.savez_compressed(directory / WEIGHTS_FILE, **arrays)
        config = {
            "class": f"{type(self).__module__}.{type(self).__name__}",
            "params": _jsonable(self.get_params()),
            "fitted": self._fitted_meta(),
            **(extra or {}),
        }
        (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> MoleculeModel:
        """Rebuild a model written by :meth:`save` (``np.load(allow_pickle=False)``)."""
        directory = Path(directory)
        config = json.loads((directory / CONFIG_FILE).read_text())
        model = cls(**config["params"])
        meta = config["fitted"]
        model.task_ = meta["task"]
        model.n_features_in_ = meta["n_features_in"]
        model.n_tasks_ = meta["n_tasks"]
        model.single_task_ = meta["single_task"]
        model.input_kind_ = meta["input_kind"]
        states: list[dict[str, Any]] = [{} for _ in range(model.n_tasks_)]
        with np.load(directory / WEIGHTS_FILE, allow_pickle=False) as data:
            for key in data.files:
                task, name = key.split(".", 1)
                states[int(task.removeprefix("task"))][name] = data[key]
        model.states_ = [model._prepare_state(s) for s in states]
        return model


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in params.items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out
